/*
 * bcn_api_ops.c - beacon-api's ops listener: what /metrics, /healthz and
 * /readyz report on metrics.address:metrics.port, served by the control-
 * plane server the three binaries share (app/core/bcn_ops.h) on a thread of
 * its own (so a scrape or probe is answered while every worker waits on
 * PostgreSQL, and the site's backend never sees these paths).
 *   GET /metrics  Prometheus text 0.0.4, rendered into the engine's
 *                 preallocated buffer (a scrape allocates nothing)
 *   GET /healthz  200 "ok" while every worker runs
 *   GET /readyz   200 "ready" when PostgreSQL answered the pool's last probe
 *                 and a pooled connection is open; else 503 with the reason
 *
 * The page only reads counters: workers' single-writer ones (relaxed loads),
 * the pool's and the cache's atomics.  Label values come from closed lists
 * (endpoint, status, kind, worker number), so the series count is bounded.
 */
#include <stdio.h>
#include <string.h>
#include "bcn_api_app.h"
#include "bcn_ops.h"

#ifndef BCN_VERSION
#define BCN_VERSION "dev"
#endif

#define METRICS_MAX (512u << 10)
#define U(x) ((unsigned long long)(x))


static void requests(struct bcn_api_app *app, struct bcn_mbuf *mb)
{
	bcn_mb_family(mb, "beacon_api_requests_total", "counter",
		      "Requests answered by the handler, by endpoint and status (endpoint other: no such route).");
	for (unsigned e = 0; e < BCN_API_EP__COUNT; e++)
		for (unsigned s = 0; s < BCN_API_NSTATUS; s++) {
			uint64_t v = 0;
			for (unsigned i = 0; i < app->nw; i++)
				v += BCN_GET(app->w[i].st.req[e][s]);
			bcn_mb_printf(mb, "beacon_api_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
				      bcn_api_ep_name(e), bcn_api_status_label(s), U(v));
		}
	bcn_mb_family(mb, "beacon_api_request_duration_seconds", "histogram",
		      "Handler time per request (routing, auth, cache, pool wait, query, JSON), by endpoint.");
	const char *le[BCN_API_NLAT];
	for (unsigned b = 0; b < BCN_API_NLAT; b++)
		le[b] = bcn_http_lat_label(b);
	for (unsigned e = 0; e < BCN_API_EP__COUNT; e++) {
		uint64_t cum[BCN_API_NLAT], c = 0, sum = 0;
		char labels[64];
		for (unsigned b = 0; b < BCN_API_NLAT; b++) {
			for (unsigned i = 0; i < app->nw; i++)
				c += BCN_GET(app->w[i].st.lat[e][b]);
			cum[b] = c;
		}
		for (unsigned i = 0; i < app->nw; i++)
			sum += BCN_GET(app->w[i].st.lat_sum_ns[e]);
		snprintf(labels, sizeof(labels), "endpoint=\"%s\"", bcn_api_ep_name(e));
		bcn_mb_histogram(mb, "beacon_api_request_duration_seconds", labels, le, cum, BCN_API_NLAT,
				 (double)sum / 1e9);
	}
	bcn_mb_family(mb, "beacon_api_errors_total", "counter",
		      "Requests not answered 200, by kind (bad_request, auth, store failures...).");
	for (unsigned k = 0; k < BCN_API_E__COUNT; k++) {
		uint64_t v = 0;
		for (unsigned i = 0; i < app->nw; i++)
			v += BCN_GET(app->w[i].st.err[k]);
		bcn_mb_printf(mb, "beacon_api_errors_total{kind=\"%s\"} %llu\n", bcn_api_err_name(k), U(v));
	}
	uint64_t tr = 0, jh = 0, jm = 0;
	for (unsigned i = 0; i < app->nw; i++) {
		tr += BCN_GET(app->w[i].st.truncated);
		jh += BCN_GET(app->w[i].st.jwt_hits);
		jm += BCN_GET(app->w[i].st.jwt_misses);
	}
	bcn_mb_family(mb, "beacon_api_pages_truncated_total", "counter",
		      "Pages cut short to fit http.response_max (next_cursor continues them).");
	bcn_mb_printf(mb, "beacon_api_pages_truncated_total %llu\n", U(tr));
	bcn_mb_family(mb, "beacon_api_token_cache_total", "counter",
		      "Token verifications by result of the per-worker verified-token cache.");
	bcn_mb_printf(mb, "beacon_api_token_cache_total{result=\"hit\"} %llu\n"
			  "beacon_api_token_cache_total{result=\"miss\"} %llu\n", U(jh), U(jm));
}

static void http(struct bcn_api_app *app, struct bcn_mbuf *mb)
{
	struct bcn_http_stats hs[BCN_API_MAX_WORKERS];
	for (unsigned i = 0; i < app->nw; i++)
		bcn_http_stats_read(app->w[i].http, &hs[i]);
	bcn_mb_family(mb, "beacon_api_http_responses_total", "counter",
		      "HTTP responses by status, including those the engine answers itself (408, 413, 431...).");
	for (unsigned s = 0; s < BCN_HTTP_NSTATUS; s++) {
		uint64_t v = 0;
		for (unsigned i = 0; i < app->nw; i++)
			v += hs[i].responses[s];
		if (v)
			bcn_mb_printf(mb, "beacon_api_http_responses_total{status=\"%s\"} %llu\n",
				      bcn_http_status_label(s), U(v));
	}
	bcn_mb_family(mb, "beacon_api_http_connections_open", "gauge", "Open client connections, per worker.");
	for (unsigned i = 0; i < app->nw; i++)
		bcn_mb_printf(mb, "beacon_api_http_connections_open{worker=\"%u\"} %llu\n", i, U(hs[i].conns_open));
	bcn_mb_family(mb, "beacon_api_http_connections_refused_total", "counter",
		      "Connections closed at once: the worker had http.max_conns open.");
	for (unsigned i = 0; i < app->nw; i++)
		bcn_mb_printf(mb, "beacon_api_http_connections_refused_total{worker=\"%u\"} %llu\n", i,
			      U(hs[i].conns_refused));
	bcn_mb_family(mb, "beacon_api_http_requests_total", "counter", "Requests passed to the handler, per worker.");
	for (unsigned i = 0; i < app->nw; i++)
		bcn_mb_printf(mb, "beacon_api_http_requests_total{worker=\"%u\"} %llu\n", i, U(hs[i].requests));
}

static void store(struct bcn_api_app *app, struct bcn_mbuf *mb)
{
	struct bcn_api_pool_stats ps;
	struct bcn_api_cache_stats cs;
	bcn_api_pool_stats(app->pool, &ps);
	bcn_api_cache_stats(app->cache, &cs);
	bcn_mb_family(mb, "beacon_api_pg_up", "gauge", "1 if PostgreSQL answered the pool's last probe.");
	bcn_mb_printf(mb, "beacon_api_pg_up %d\n", ps.up);
	bcn_mb_family(mb, "beacon_api_pg_pool_size", "gauge", "Pooled connections configured (pg.pool_size).");
	bcn_mb_printf(mb, "beacon_api_pg_pool_size %u\n", ps.size);
	bcn_mb_family(mb, "beacon_api_pg_pool_connected", "gauge", "Pooled connections open now.");
	bcn_mb_printf(mb, "beacon_api_pg_pool_connected %u\n", ps.connected);
	bcn_mb_family(mb, "beacon_api_pg_pool_in_use", "gauge", "Pooled connections held by a request now.");
	bcn_mb_printf(mb, "beacon_api_pg_pool_in_use %u\n", ps.in_use);
	bcn_mb_family(mb, "beacon_api_pg_pool_acquires_total", "counter", "Connection requests.");
	bcn_mb_printf(mb, "beacon_api_pg_pool_acquires_total %llu\n", U(ps.acquires));
	bcn_mb_family(mb, "beacon_api_pg_pool_waits_total", "counter",
		      "Connection requests that had to wait (every connection in use).");
	bcn_mb_printf(mb, "beacon_api_pg_pool_waits_total %llu\n", U(ps.waits));
	bcn_mb_family(mb, "beacon_api_pg_pool_timeouts_total", "counter",
		      "Connection requests that got none within pg.acquire_timeout_ms (503).");
	bcn_mb_printf(mb, "beacon_api_pg_pool_timeouts_total %llu\n", U(ps.timeouts));
	bcn_mb_family(mb, "beacon_api_pg_pool_unavailable_total", "counter",
		      "Connection requests refused at once: no connection open (PostgreSQL down; 503).");
	bcn_mb_printf(mb, "beacon_api_pg_pool_unavailable_total %llu\n", U(ps.unavailable));
	bcn_mb_family(mb, "beacon_api_pg_connects_total", "counter", "Pool (re)connections by result.");
	bcn_mb_printf(mb, "beacon_api_pg_connects_total{result=\"ok\"} %llu\n"
			  "beacon_api_pg_connects_total{result=\"error\"} %llu\n",
		      U(ps.connects_ok), U(ps.connects_failed));
	bcn_mb_family(mb, "beacon_api_pg_resets_total", "counter",
		      "Pooled connections closed after a failure (lost, timed out, unusable).");
	bcn_mb_printf(mb, "beacon_api_pg_resets_total %llu\n", U(ps.resets));
	bcn_mb_family(mb, "beacon_api_pg_cancels_total", "counter",
		      "Queries cancelled at the client deadline (pg.query_timeout_ms): sent, or dropped (queue full; statement_timeout ends them).");
	bcn_mb_printf(mb, "beacon_api_pg_cancels_total{result=\"sent\"} %llu\n"
			  "beacon_api_pg_cancels_total{result=\"dropped\"} %llu\n",
		      U(ps.cancels), U(ps.cancels_dropped));
	bcn_mb_family(mb, "beacon_api_pg_probes_total", "counter", "Readiness probes (SELECT 1) by result.");
	bcn_mb_printf(mb, "beacon_api_pg_probes_total{result=\"ok\"} %llu\n"
			  "beacon_api_pg_probes_total{result=\"error\"} %llu\n",
		      U(ps.probes_ok), U(ps.probes_failed));
	bcn_mb_family(mb, "beacon_api_cache_requests_total", "counter",
		      "Film rating cache lookups by result (miss includes expired).");
	bcn_mb_printf(mb, "beacon_api_cache_requests_total{result=\"hit\"} %llu\n"
			  "beacon_api_cache_requests_total{result=\"miss\"} %llu\n", U(cs.hits), U(cs.misses));
	bcn_mb_family(mb, "beacon_api_cache_expired_total", "counter",
		      "Misses that found the film cached but older than cache.ttl_ms.");
	bcn_mb_printf(mb, "beacon_api_cache_expired_total %llu\n", U(cs.expired));
	bcn_mb_family(mb, "beacon_api_cache_evictions_total", "counter",
		      "Fresh entries replaced by another film (the cache is too small for the working set).");
	bcn_mb_printf(mb, "beacon_api_cache_evictions_total %llu\n", U(cs.evictions));
	bcn_mb_family(mb, "beacon_api_cache_capacity_entries", "gauge", "Film ratings the cache holds at most.");
	bcn_mb_printf(mb, "beacon_api_cache_capacity_entries %llu\n", U(cs.capacity));
}

void bcn_api_metrics(struct bcn_api_app *app, struct bcn_mbuf *mb)
{
	bcn_mb_family(mb, "beacon_api_build_info", "gauge", "Version of this beacon-api.");
	bcn_mb_printf(mb, "beacon_api_build_info{version=\"%s\"} 1\n", BCN_VERSION);
	bcn_mb_family(mb, "beacon_api_start_time_seconds", "gauge", "Unix time the process started.");
	bcn_mb_printf(mb, "beacon_api_start_time_seconds %.3f\n", (double)app->started_ms / 1000.0);
	bcn_mb_family(mb, "beacon_api_config_reloads_total", "counter",
		      "SIGHUP reloads of auth.jwt_keys, by result (error: the running keys stayed).");
	bcn_mb_printf(mb, "beacon_api_config_reloads_total{result=\"ok\"} %llu\n"
			  "beacon_api_config_reloads_total{result=\"error\"} %llu\n",
		      U(BCN_GET(app->reloads)), U(BCN_GET(app->reload_errors)));
	bcn_mb_family(mb, "beacon_api_jwt_key_generation", "gauge",
		      "Generation of the JWT key set in force (1 at start, +1 per successful reload).");
	bcn_mb_printf(mb, "beacon_api_jwt_key_generation %u\n", (unsigned)atomic_load(&app->keys.gen));
	bcn_mb_family(mb, "beacon_api_ready", "gauge", "1 when /readyz answers 200.");
	bcn_mb_printf(mb, "beacon_api_ready %d\n",
		      !atomic_load(&app->stopping) && bcn_api_pool_ready(app->pool));
	requests(app, mb);
	http(app, mb);
	store(app, mb);
	bcn_mb_process_memory(mb, "beacon_api");
}

/* The control plane's callbacks (bcn_ops.h): the ops thread, once per
 * request. */
static void ops_metrics(void *ctx, struct bcn_mbuf *mb)
{
	bcn_api_metrics(ctx, mb);
}

static int ops_healthy(void *ctx, char *why, size_t whylen)
{
	struct bcn_api_app *app = ctx;
	for (unsigned i = 0; i < app->nw; i++)
		if (!atomic_load(&app->w[i].running) && !atomic_load(&app->stopping)) {
			snprintf(why, whylen, "a worker has stopped");
			return 0;
		}
	return 1;
}

static int ops_ready(void *ctx, char *why, size_t whylen)
{
	struct bcn_api_app *app = ctx;
	struct bcn_api_pool_stats ps;
	bcn_api_pool_stats(app->pool, &ps);
	if (atomic_load(&app->stopping))
		snprintf(why, whylen, "shutting down");
	else if (!ps.up)
		snprintf(why, whylen, "postgresql unreachable (last probe failed)");
	else if (!ps.connected)
		snprintf(why, whylen, "no pooled postgresql connection open yet");
	else
		return 1;
	return 0;
}

struct bcn_ops *bcn_api_ops_new(struct bcn_api_app *app, char *err, size_t errlen)
{
	const struct bcn_ops_cb cb = { app, ops_metrics, ops_healthy, ops_ready };
	return bcn_ops_new("beacon-api", app->cfg.metrics_addr, app->cfg.metrics_port, METRICS_MAX, &cb, err,
			   errlen);
}
