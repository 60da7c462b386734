/*
 * bcn_api_http.c - the read API's request handler and worker loop.
 *
 * One request, on the worker that read it, synchronously:
 *   1. route and parse (bcn_api_route: 404, 405, 400);
 *   2. authenticate: a token, when sent, must be valid everywhere (401);
 *      /v1/me/... needs one (401 missing_token); the user is its `sub`;
 *   3. a film's rating from the cache if fresh enough (bcn_api_cache.h);
 *   4. else take a pooled connection (deadline pg.acquire_timeout_ms), run
 *      the endpoint's prepared statement (deadline pg.query_timeout_ms),
 *      give the connection back, write the JSON (bcn_api_read.c);
 *   5. any store failure is a 503 with Retry-After: 1 and the reason.
 * Counters are this worker's (single writer, bcn_stat.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "bcn_api_app.h"
#include "bcn_api_json.h"
#include "bcn_proto.h"

const char *bcn_api_err_name(unsigned e)
{
	static const char *const n[BCN_API_E__COUNT] = {
		"bad_request", "not_found", "method_not_allowed", "missing_token", "bad_token",
		"expired_token", "pool_timeout", "store_unavailable", "store_timeout",
		"store_connection", "store_query", "internal",
	};
	return e < BCN_API_E__COUNT ? n[e] : NULL;
}

const char *bcn_api_status_label(unsigned s)
{
	static const char *const n[BCN_API_NSTATUS] = { "200", "400", "401", "404", "405",
							"500", "503", "other" };
	return s < BCN_API_NSTATUS ? n[s] : NULL;
}

static unsigned status_idx(int st)
{
	switch (st) {
	case 200: return BCN_API_S200;
	case 400: return BCN_API_S400;
	case 401: return BCN_API_S401;
	case 404: return BCN_API_S404;
	case 405: return BCN_API_S405;
	case 500: return BCN_API_S500;
	case 503: return BCN_API_S503;
	default: return BCN_API_SOTHER;
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* upper bounds of the latency buckets, ns (the last is +Inf) */
static const int64_t lat_ns[BCN_API_NLAT - 1] = {
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};

/* {"error":"...","reason":"..."}: both are static JSON-safe strings */
static void reply_error(struct bcn_http_resp *resp, int status, const char *reason)
{
	static const struct { int st; const char *name; } names[] = {
		{ 400, "bad_request" }, { 401, "unauthorized" }, { 404, "not_found" },
		{ 405, "method_not_allowed" }, { 500, "internal" }, { 503, "unavailable" },
	};
	const char *e = "error";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].st == status)
			e = names[i].name;
	struct bcn_mbuf mb;
	bcn_mb_init(&mb, resp->body, resp->body_cap);
	bcn_mb_printf(&mb, "{\"error\":\"%s\",\"reason\":\"%s\"}\n", e, reason);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body_len = mb.len;
}

static unsigned store_err(int rc)
{
	switch (rc) {
	case BCN_API_PG_POOL_TIMEOUT: return BCN_API_E_POOL_TIMEOUT;
	case BCN_API_PG_UNAVAILABLE: return BCN_API_E_STORE_UNAVAILABLE;
	case BCN_API_PG_TIMEOUT: return BCN_API_E_STORE_TIMEOUT;
	case BCN_API_PG_CONN: return BCN_API_E_STORE_CONNECTION;
	default: return BCN_API_E_STORE_QUERY;
	}
}

/* Steps 3-5.  Returns the status; *err the error kind when not 200. */
static int answer(struct bcn_api_worker *w, const struct bcn_api_req *rq, const uint8_t *user,
		  struct bcn_http_resp *resp, unsigned *err)
{
	struct bcn_api_app *app = w->app;
	struct bcn_api_params prm;
	struct bcn_api_conn *conn;
	struct bcn_api_rating rating;
	struct bcn_mbuf mb;
	PGresult *res = NULL;
	unsigned stmt;
	int64_t now = bcn_api_mono_ms();

	bcn_mb_init(&mb, resp->body, resp->body_cap);
	if (rq->ep == BCN_API_EP_RATING && bcn_api_cache_get(app->cache, rq->film_id, now, &rating)) {
		bcn_api_render_rating(rq->film_id, &rating, &mb);
		goto ok;
	}
	int np = bcn_api_params(rq, user, &stmt, &prm);
	if (np < 0) {
		*err = BCN_API_E_INTERNAL;
		return 500;
	}
	int rc = bcn_api_pool_acquire(app->pool, now + app->cfg.pg_acquire_ms, &conn);
	if (rc == BCN_API_PG_OK) {
		rc = bcn_api_pg_exec(conn, stmt, prm.p, np, bcn_api_mono_ms() + app->cfg.pg_query_ms, &res);
		bcn_api_pool_release(app->pool, conn);
	}
	if (rc != BCN_API_PG_OK) {
		*err = store_err(rc);
		return 503;
	}
	int r;
	if (rq->ep == BCN_API_EP_RATING) {
		r = bcn_api_rating_from(res, &rating);
		if (r == 0) {
			bcn_api_cache_put(app->cache, rq->film_id, now, &rating);
			bcn_api_render_rating(rq->film_id, &rating, &mb);
		}
	} else {
		r = bcn_api_render(rq, res, &mb);
		if (r == 1)
			BCN_INC(w->st.truncated, 1);
	}
	PQclear(res);
	if (r < 0 || mb.overflow) {
		*err = BCN_API_E_INTERNAL;
		return 500;
	}
ok:
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body_len = mb.len;
	return 200;
}

void bcn_api_serve(void *ctx, const struct bcn_http_req *req, struct bcn_http_resp *resp)
{
	struct bcn_api_worker *w = ctx;
	int64_t t0 = now_ns();
	struct bcn_api_req rq;
	const char *why = "";
	unsigned err = BCN_API_E__COUNT;
	uint8_t uid[16];
	int have_user = 0;
	int st = bcn_api_route(req->method, req->path, req->path_len, req->query, req->query_len, &rq, &why);

	if (st) {
		err = st == 404 ? BCN_API_E_NOT_FOUND : st == 405 ? BCN_API_E_METHOD : BCN_API_E_BAD_REQUEST;
		reply_error(resp, st, why);
		if (st == 405)
			resp->extra_header = "Allow: GET, HEAD";
		goto done;
	}
	if (req->auth) {
		const char *tok;
		size_t tl;
		int rc = BCN_R_BAD_TOKEN;
		struct bcn_jwt_stats js;
		if (!bcn_api_bearer(req->auth, req->auth_len, &tok, &tl))
			rc = bcn_jwt_verify(w->jwt, tok, tl, wall_ms(), uid);
		bcn_jwt_stats(w->jwt, &js);
		BCN_SET(w->st.jwt_hits, js.hits);
		BCN_SET(w->st.jwt_misses, js.misses);
		if (rc != BCN_OK) {
			st = 401;
			err = rc == BCN_R_EXPIRED_TOKEN ? BCN_API_E_EXPIRED_TOKEN : BCN_API_E_BAD_TOKEN;
			reply_error(resp, 401, rc == BCN_R_EXPIRED_TOKEN ? "expired_token" : "bad_token");
			resp->extra_header = "WWW-Authenticate: Bearer error=\"invalid_token\"";
			goto done;
		}
		have_user = 1;
	} else if (bcn_api_ep_needs_user(rq.ep)) {
		st = 401;
		err = BCN_API_E_MISSING_TOKEN;
		reply_error(resp, 401, "missing_token");
		resp->extra_header = "WWW-Authenticate: Bearer";
		goto done;
	}
	st = answer(w, &rq, have_user ? uid : NULL, resp, &err);
	if (st == 503) {
		reply_error(resp, 503, bcn_api_err_name(err));
		resp->retry_after_s = 1;
	} else if (st == 500) {
		reply_error(resp, 500, "internal");
	}
done:;
	int64_t dt = now_ns() - t0;
	unsigned b = 0;
	while (b < BCN_API_NLAT - 1 && dt > lat_ns[b])
		b++;
	BCN_INC(w->st.req[rq.ep][status_idx(st)], 1);
	BCN_INC(w->st.lat[rq.ep][b], 1);
	BCN_INC(w->st.lat_sum_ns[rq.ep], (uint64_t)dt);
	if (err < BCN_API_E__COUNT)
		BCN_INC(w->st.err[err], 1);
}

/* The worker: serve until stopping, then stop accepting and finish what is
 * in flight (shutdown.deadline_ms). */
void *bcn_api_worker_main(void *arg)
{
	struct bcn_api_worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "bcn-api-w%u", w->id);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&w->app->stopping)) {
		bcn_jwt_ring_follow(&w->app->keys, w->jwt, &w->keys_gen); /* SIGHUP */
		if (bcn_http_server_poll(w->http, 100) < 0) {
			fprintf(stderr, "beacon-api: worker %u: epoll failed: %s\n", w->id, strerror(errno));
			atomic_store(&w->running, 0);
			return NULL;
		}
	}
	bcn_http_server_stop_accepting(w->http);
	int64_t end = bcn_api_mono_ms() + w->app->cfg.shutdown_ms;
	while (bcn_http_server_open_conns(w->http) > 0 && bcn_api_mono_ms() < end)
		if (bcn_http_server_poll(w->http, 50) < 0)
			break;
	atomic_store(&w->running, 0);
	return NULL;
}
