/*
 * main.c - beacond: the beacon ingestion appliance.
 *
 *   beacond --config FILE      run
 *   beacond --print-config     every key with its default and meaning (INI)
 *   beacond --config-markdown  the same as a Markdown table (for the docs)
 *   beacond --check-config     load and validate FILE, then exit
 *
 * Start-up allocates everything (rings, token caches, socket buffers, HTTP
 * slots, Kafka producers), then starts the threads: workers (fast path),
 * slow path (rings → Kafka), control plane (/metrics, /healthz, /readyz).
 * The main thread then only handles signals and probes Kafka for /readyz:
 *   SIGTERM/SIGINT  stop accepting, finish requests in flight, drain the
 *                   rings, flush Kafka within shutdown.deadline_ms, report
 *                   anything not delivered (exit status 3 if so);
 *   SIGHUP          reload the JWT keys from the config file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bcn_app.h"

#ifndef BCN_VERSION
#define BCN_VERSION "dev"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: beacond --config FILE [--check-config]\n"
		   "       beacond [--config FILE] --print-config | --config-markdown\n"
		   "  Ingests UDP and HTTP beacons, validates and authenticates them, and\n"
		   "  produces normalized records to Kafka.  See docs/beacond.md.\n");
}

static int load_config(void *cfgp, const char *path, char *err, size_t errlen)
{
	struct bcn_cfg *cfg = cfgp;
	struct bcn_cfg tmp;
	bcn_cfg_defaults(&tmp);
	if (path && bcn_conf_load(bcn_cfg_table, bcn_cfg_table_len, &tmp, path, err, errlen))
		return -1;
	if (bcn_cfg_check(&tmp, err, errlen))
		return -1;
	*cfg = tmp;
	return 0;
}

/* bcn_jwt_ring_reload's question: is a running worker not on gen yet?
 * (keys_gen of a worker is written by that worker.) */
static int workers_behind(void *arg, uint32_t gen)
{
	struct bcn_app *app = arg;
	for (unsigned i = 0; i < app->nworkers; i++)
		if (atomic_load(&app->w[i].running) && atomic_load(&app->w[i].keys_gen) != gen)
			return 1;
	return 0;
}

/* SIGHUP: re-read the file, take only the JWT keys.  Main thread.  On any
 * error the running keys stay. */
static void reload(struct bcn_app *app, const char *path)
{
	struct bcn_cfg c;
	char err[512];
	if (!path) {
		fprintf(stderr, "beacond: SIGHUP: no config file to reload\n");
		return;
	}
	if (load_config(&c, path, err, sizeof(err))) {
		BCN_INC(app->reload_errors, 1);
		fprintf(stderr, "beacond: SIGHUP: %s (keeping the running keys)\n", err);
		return;
	}
	uint32_t gen = bcn_jwt_ring_reload(&app->keys, c.jwt_keys, workers_behind, app);
	if (!gen) {
		BCN_INC(app->reload_errors, 1);
		fprintf(stderr, "beacond: SIGHUP: auth.jwt_keys: bad key list (keeping the running keys)\n");
		return;
	}
	BCN_INC(app->reloads, 1);
	fprintf(stderr, "beacond: SIGHUP: JWT keys reloaded (%d key(s), generation %u)\n",
		bcn_jwt_ring_current(&app->keys)->n, gen);
}

static int setup(struct bcn_app *app, char *err, size_t errlen)
{
	const struct bcn_cfg *c = &app->cfg;
	int cpus[BCN_MAX_WORKERS];
	int ncpu = bcn_cfg_cpu_list(c->worker_cpus, cpus, BCN_MAX_WORKERS);

	app->started_ms = bcn_now_ms();
	bcn_ingest_cfg_defaults(&app->icfg);
	app->icfg.skew_past_ms = c->skew_past_s * 1000;
	app->icfg.skew_future_ms = c->skew_future_s * 1000;
	snprintf(app->icfg.node, sizeof(app->icfg.node), "%s", c->node_name);
	app->icfg.node_id = (uint16_t)c->node_id;
	if (bcn_jwt_ring_init(&app->keys, c->jwt_keys)) {
		snprintf(err, errlen, "auth.jwt_keys: empty, too long or bad hex");
		return -1;
	}
	app->drv = bcn_driver_find(c->driver);
	if (!app->drv) {
		snprintf(err, errlen, "driver.name: '%s' is not built into this beacond", c->driver);
		return -1;
	}
	app->nworkers = (unsigned)c->workers;
	app->nslow = (unsigned)c->kafka_threads;
	app->w = aligned_alloc(64, sizeof(*app->w) * app->nworkers);
	app->slow = aligned_alloc(64, sizeof(*app->slow) * app->nslow);
	if (!app->w || !app->slow) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(app->w, 0, sizeof(*app->w) * app->nworkers);
	memset(app->slow, 0, sizeof(*app->slow) * app->nslow);
	for (unsigned i = 0; i < app->nworkers; i++) {
		if (bcn_worker_setup(app, &app->w[i], i, err, errlen))
			return -1;
		app->w[i].cpu = ncpu > 0 ? cpus[i] : -1;
	}
	for (unsigned i = 0; i < app->nslow; i++)
		if (bcn_slow_setup(app, &app->slow[i], i, err, errlen))
			return -1;
	return app->drv->setup(app, err, errlen);
}

static void teardown(struct bcn_app *app)
{
	if (app->drv)
		app->drv->teardown(app);
	for (unsigned i = 0; app->slow && i < app->nslow; i++)
		bcn_slow_fini(&app->slow[i]);
	for (unsigned i = 0; app->w && i < app->nworkers; i++)
		if (app->w[i].app)
			bcn_worker_fini(&app->w[i]);
	free(app->w);
	free(app->slow);
}

int main(int argc, char **argv)
{
	static struct bcn_app app; /* static: large, and zeroed */
	const struct bcn_conf_cli cli = { "beacond", bcn_cfg_table, bcn_cfg_table_len, &app.cfg,
					   load_config, usage };
	const char *path;
	char err[512];
	int exit_now = bcn_conf_main(&cli, argc, argv, &path);
	if (exit_now >= 0)
		return exit_now;

	/* Signals are taken synchronously by the main thread (sigtimedwait);
	 * every thread inherits this mask, so none is interrupted by them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct bcn_ops *ctl = NULL;
	if (setup(&app, err, sizeof(err)) || !(ctl = bcn_ctl_new(&app, err, sizeof(err)))) {
		fprintf(stderr, "beacond: start-up failed: %s\n", err);
		teardown(&app);
		return 1;
	}
	for (unsigned i = 0; i < app.nslow; i++) {
		atomic_store(&app.slow[i].running, 1);
		if (pthread_create(&app.slow[i].th, NULL, bcn_slow_main, &app.slow[i])) {
			fprintf(stderr, "beacond: cannot start slow-path thread %u\n", i);
			return 1;
		}
	}
	for (unsigned i = 0; i < app.nworkers; i++) {
		atomic_store(&app.w[i].running, 1);
		if (pthread_create(&app.w[i].th, NULL, bcn_worker_main, &app.w[i])) {
			fprintf(stderr, "beacond: cannot start worker %u\n", i);
			return 1;
		}
	}
	if (bcn_ctl_start(ctl)) {
		fprintf(stderr, "beacond: cannot start the control thread\n");
		return 1;
	}
	fprintf(stderr, "beacond: %s: %u worker(s), driver %s, udp %s:%lld%s, http %s:%lld%s, "
			"metrics %s:%lld, kafka %s\n",
		BCN_VERSION, app.nworkers, app.drv->name, app.cfg.udp_addr, (long long)app.cfg.udp_port,
		app.cfg.udp_enabled ? "" : " (off)", app.cfg.http_addr, (long long)app.cfg.http_port,
		app.cfg.http_enabled ? "" : " (off)", app.cfg.metrics_addr,
		(long long)app.cfg.metrics_port, app.cfg.kafka_brokers);

	int64_t next_probe = 0;
	while (!atomic_load(&app.stopping)) {
		struct timespec to = { 0, 200 * 1000000 };
		int sig = sigtimedwait(&set, NULL, &to);
		if (sig == SIGTERM || sig == SIGINT) {
			fprintf(stderr, "beacond: %s: shutting down\n", strsignal(sig));
			break;
		}
		if (sig == SIGHUP)
			reload(&app, path);
		if (bcn_now_ms() >= next_probe) {
			/* /readyz's view of Kafka; blocks this thread only */
			int up = bcn_kafka_probe(app.slow[0].k, 1000);
			if (up != atomic_load(&app.kafka_up))
				fprintf(stderr, "beacond: kafka is %s\n", up ? "reachable" : "unreachable");
			atomic_store(&app.kafka_up, up);
			BCN_SET(app.kafka_probe_ms, (uint64_t)bcn_now_ms());
			next_probe = bcn_now_ms() + 1000;
		}
	}

	/* shutdown: workers first (they stop reading and finish requests), then
	 * the slow path drains the rings and flushes Kafka */
	atomic_store(&app.stop_deadline_ms, bcn_now_ms() + app.cfg.shutdown_deadline_ms);
	atomic_store(&app.stopping, 1);
	for (unsigned i = 0; i < app.nworkers; i++)
		pthread_join(app.w[i].th, NULL);
	atomic_store_explicit(&app.workers_done, 1, memory_order_release);
	int64_t undelivered = 0;
	for (unsigned i = 0; i < app.nslow; i++) {
		pthread_join(app.slow[i].th, NULL);
		undelivered += app.slow[i].undelivered;
	}
	bcn_ctl_stop(ctl);
	uint64_t accepted = 0;
	for (unsigned i = 0; i < app.nworkers; i++)
		for (int s = 0; s < BCN_SRC__COUNT; s++)
			for (int t = 0; t < BCN_T__COUNT; t++)
				accepted += BCN_GET(app.w[i].st.accepted[s][t]);
	uint64_t persisted = 0, failed = 0;
	for (unsigned i = 0; i < app.nslow; i++) {
		const struct bcn_kafka_stats *ks = bcn_kafka_stats(app.slow[i].k);
		for (int t = 0; t < BCN_TOPIC__COUNT; t++) {
			persisted += BCN_GET(ks->t[t].persisted);
			failed += BCN_GET(ks->t[t].possibly) + BCN_GET(ks->t[t].not_persisted);
		}
	}
	fprintf(stderr, "beacond: stopped: %llu accepted, %llu delivered to Kafka, %llu failed, "
			"%lld not delivered at the deadline\n",
		(unsigned long long)accepted, (unsigned long long)persisted,
		(unsigned long long)failed, (long long)undelivered);
	teardown(&app);
	return (undelivered || failed) ? 3 : 0;
}
