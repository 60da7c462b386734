/*
 * bcn_api_app.h - beacon-api's process state shared by its files: the
 * workers, their counters, the pool, the cache, the ops listener.
 *
 * Threads: N workers (bcn_api_worker_main: one SO_REUSEPORT listener, one
 * HTTP engine, one JWT cache each; handlers run synchronously on them), the
 * pool's thread (bcn_api_pg.c), the ops thread (/metrics, /healthz,
 * /readyz) and the main thread (signals).
 */
#ifndef BCN_API_APP_H
#define BCN_API_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "bcn_api_cache.h"
#include "bcn_api_conf.h"
#include "bcn_api_pg.h"
#include "bcn_api_route.h"
#include "bcn_http.h"
#include "bcn_jwt.h"
#include "bcn_mbuf.h"
#include "bcn_stat.h"

/* Statuses counted per endpoint ("other": anything else). */
enum { BCN_API_S200, BCN_API_S400, BCN_API_S401, BCN_API_S404, BCN_API_S405, BCN_API_S500,
       BCN_API_S503, BCN_API_SOTHER, BCN_API_NSTATUS };
/* Handler latency buckets: the HTTP engine's bounds (bcn_http_lat_label). */
#define BCN_API_NLAT BCN_HTTP_NLAT

/* Why a request did not get a 200 (errors_total{kind}). */
enum bcn_api_err {
	BCN_API_E_BAD_REQUEST,     /* malformed id, limit, cursor, query       */
	BCN_API_E_NOT_FOUND,       /* no such route                            */
	BCN_API_E_METHOD,          /* not GET/HEAD                             */
	BCN_API_E_MISSING_TOKEN,   /* /v1/me/... without Authorization         */
	BCN_API_E_BAD_TOKEN,       /* malformed, wrong key, wrong alg          */
	BCN_API_E_EXPIRED_TOKEN,
	BCN_API_E_POOL_TIMEOUT,    /* no pooled connection free in time        */
	BCN_API_E_STORE_UNAVAILABLE, /* no usable connection (store down)      */
	BCN_API_E_STORE_TIMEOUT,   /* statement_timeout or client deadline     */
	BCN_API_E_STORE_CONNECTION, /* connection lost mid-query               */
	BCN_API_E_STORE_QUERY,     /* SQL error                                */
	BCN_API_E_INTERNAL,        /* response did not fit, bad result shape   */
	BCN_API_E__COUNT
};
const char *bcn_api_err_name(unsigned e);
const char *bcn_api_status_label(unsigned s);

struct bcn_api_wstats {
	bcn_ctr req[BCN_API_EP__COUNT][BCN_API_NSTATUS];
	bcn_ctr lat[BCN_API_EP__COUNT][BCN_API_NLAT];   /* per bucket, not cumulative */
	bcn_ctr lat_sum_ns[BCN_API_EP__COUNT];
	bcn_ctr err[BCN_API_E__COUNT];
	bcn_ctr truncated;                              /* pages cut short to fit */
	bcn_ctr jwt_hits, jwt_misses;
};

struct bcn_api_app;

struct bcn_api_worker {
	struct bcn_api_app *app;
	unsigned id;
	int fd;
	struct bcn_http_server *http;
	struct bcn_jwt_cache *jwt;
	_Atomic uint32_t keys_gen;  /* key generation its cache uses (written by the worker) */
	pthread_t th;
	_Atomic int running;
	_Alignas(64) struct bcn_api_wstats st;
};

struct bcn_api_app {
	struct bcn_api_cfg cfg;
	struct bcn_jwt_ring keys;   /* SIGHUP reloads auth.jwt_keys into the other slot */
	bcn_ctr reloads, reload_errors; /* main thread */
	struct bcn_api_pool *pool;
	struct bcn_api_cache *cache;
	struct bcn_api_worker *w;
	unsigned nw;
	_Atomic int stopping;
	int64_t started_ms;        /* wall clock */
};

/* ---- bcn_api_read.c: the SQL and the JSON of each endpoint --------------- */

enum { BCN_API_Q_RATING, BCN_API_Q_REVIEWS, BCN_API_Q_LIKE, BCN_API_Q_BOOKMARKS,
       BCN_API_Q_BOOKMARK, BCN_API_Q_HISTORY, BCN_API_Q_CONTINUE, BCN_API_Q_PROGRESS,
       BCN_API_Q__COUNT };
extern const struct bcn_api_stmt bcn_api_stmts[BCN_API_Q__COUNT];

/* Statement and text parameters of a routed request (user may be NULL for
 * public endpoints).  p points into bufs.  Returns the parameter count. */
struct bcn_api_params {
	const char *p[4];
	char b[4][40];
};
int bcn_api_params(const struct bcn_api_req *rq, const uint8_t *user, unsigned *stmt,
		   struct bcn_api_params *out);

/* The film_stats row of a rating query (zeros when absent).  0, or -1 if
 * the result has an unexpected shape. */
int bcn_api_rating_from(const PGresult *res, struct bcn_api_rating *v);
void bcn_api_render_rating(const uint8_t film[16], const struct bcn_api_rating *v,
			   struct bcn_mbuf *mb);
/* Render the answer of a non-rating endpoint from its result into mb.
 * Returns 0; 1 if a page was cut short to fit (next_cursor continues it);
 * -1 if the result has an unexpected shape or not even one item fits. */
int bcn_api_render(const struct bcn_api_req *rq, const PGresult *res, struct bcn_mbuf *mb);

/* ---- bcn_api_http.c: the request handler (a worker's bcn_http handler) --- */
void bcn_api_serve(void *ctx, const struct bcn_http_req *req, struct bcn_http_resp *resp);
void *bcn_api_worker_main(void *arg);

/* ---- bcn_api_ops.c: /metrics, /healthz, /readyz on metrics.port ---------- */
/* The listener (bcn_ops.h), bound, its buffers allocated; NULL with err
 * on failure.  Run it with bcn_ops_start, close it with bcn_ops_free. */
struct bcn_ops;
struct bcn_ops *bcn_api_ops_new(struct bcn_api_app *app, char *err, size_t errlen);
void bcn_api_metrics(struct bcn_api_app *app, struct bcn_mbuf *mb);

#endif
