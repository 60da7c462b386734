/*
 * bcn_ctl.c - beacond's control plane: what /metrics, /healthz and /readyz
 * report, served on the metrics port by the shared control-plane server
 * (bcn_ops.h) on a thread of its own.
 *
 * Why a thread of its own: a scrape or a health probe must be answered even
 * when every worker is saturated, and must never run on a fast-path core.
 *   GET /metrics  Prometheus text format 0.0.4 (bcn_app_metrics, bcn_expo.c)
 *   GET /healthz  200 "ok": the process is alive and its workers run
 *   GET /readyz   200 "ready", or 503 with the reason: Kafka unreachable, a
 *                 ring above ring.high_water_pct, or shutting down
 */
#include <stdio.h>
#include "bcn_app.h"
#include "bcn_ops.h"

/* The callbacks run on the ops thread. */
static void metrics(void *ctx, struct bcn_mbuf *mb)
{
	bcn_app_metrics(ctx, mb);
}

static int healthy(void *ctx, char *why, size_t whylen)
{
	struct bcn_app *app = ctx;
	for (unsigned i = 0; i < app->nworkers; i++)
		if (!atomic_load(&app->w[i].running) && !atomic_load(&app->stopping)) {
			snprintf(why, whylen, "a worker has stopped");
			return 0;
		}
	return 1;
}

static int ready(void *ctx, char *why, size_t whylen)
{
	return bcn_app_ready(ctx, why, whylen);
}

struct bcn_ops *bcn_ctl_new(struct bcn_app *app, char *err, size_t errlen)
{
	const struct bcn_ops_cb cb = { app, metrics, healthy, ready };
	return bcn_ops_new("beacond", app->cfg.metrics_addr, app->cfg.metrics_port, 0, &cb, err, errlen);
}

int bcn_ctl_start(struct bcn_ops *c)
{
	return bcn_ops_start(c);
}

void bcn_ctl_stop(struct bcn_ops *c)
{
	bcn_ops_free(c);
}
