/*
 * bcn_api_pg.h - a bounded pool of PostgreSQL connections shared by the read
 * API's workers, with a deadline on everything a request waits for.
 *
 * Why this exists: the site gives the read API 200 ms; a store that is slow,
 * restarting or unreachable must turn into a quick 503 (+Retry-After), never
 * into a worker stuck in a blocking libpq call.  So:
 *   - acquire waits for a free connection until a deadline (pool timeout);
 *     when no connection is usable at all (every one broken: the store is
 *     down) it fails at once (unavailable) instead of waiting;
 *   - a query is sent with PQsendQueryPrepared on a non-blocking connection
 *     and awaited with poll() on PQsocket until its deadline; on expiry it
 *     is cancelled (PQcancel, sent by a canceller thread since it blocks
 *     until the server answers) and the connection closed and reopened,
 *     since its protocol state is unknown.  The server-side statement_timeout
 *     (shorter) normally fires first and then the connection is kept;
 *   - connecting is never done by a request: the pool's own thread opens
 *     broken connections again with an exponential back-off, prepares every
 *     statement on each new connection, and probes the server (SELECT 1) on
 *     a connection of its own for /readyz.
 * Every statement is prepared with parameters: no SQL is built from input.
 *
 * Thread model: acquire/exec/release from any worker (a connection is used
 * by one thread at a time, between its acquire and release); stats and up
 * from any thread.
 */
#ifndef BCN_API_PG_H
#define BCN_API_PG_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

struct bcn_api_stmt {
	const char *name;  /* prepared statement name */
	const char *sql;
	int nparams;
};

struct bcn_api_pool_cfg {
	const char *conninfo;
	unsigned size;
	int64_t statement_ms;     /* SET statement_timeout on every connection */
	int64_t connect_ms;
	int64_t reconnect_min_ms, reconnect_max_ms;
	int64_t probe_ms;
	const struct bcn_api_stmt *stmts;  /* prepared on every connection */
	unsigned nstmts;
};

enum bcn_api_pg_rc {
	BCN_API_PG_OK = 0,
	BCN_API_PG_POOL_TIMEOUT,  /* no connection became free in time          */
	BCN_API_PG_UNAVAILABLE,   /* no usable connection at all (store down)   */
	BCN_API_PG_TIMEOUT,       /* statement_timeout, or the client deadline  */
	BCN_API_PG_CONN,          /* connection lost                            */
	BCN_API_PG_QUERY,         /* the server refused the query (SQL error)   */
	BCN_API_PG__COUNT
};

struct bcn_api_pool_stats {
	unsigned size, connected, in_use;
	uint64_t acquires, waits, timeouts, unavailable;
	uint64_t connects_ok, connects_failed, resets, cancels, cancels_dropped;
	uint64_t probes_ok, probes_failed;
	int up;                   /* last probe succeeded */
};

struct bcn_api_pool;
struct bcn_api_conn;

/* Allocate every slot (connections are opened by the pool's thread, see
 * start).  cfg->conninfo and stmts must outlive the pool.  NULL + err on
 * failure. */
struct bcn_api_pool *bcn_api_pool_new(const struct bcn_api_pool_cfg *cfg, char *err, size_t errlen);
/* Start the pool's thread; it connects every slot at once.  Returns 0 or
 * -1.  wait_ms > 0: then wait up to that long for one connection. */
int bcn_api_pool_start(struct bcn_api_pool *p, int64_t wait_ms);
/* Stop the thread and close every connection.  No request may be in
 * flight.  NULL is a no-op. */
void bcn_api_pool_free(struct bcn_api_pool *p);

/* Take a connection, waiting until deadline_ms (CLOCK_MONOTONIC ms) for
 * one to become free.  BCN_API_PG_OK with *out, POOL_TIMEOUT or
 * UNAVAILABLE. */
int bcn_api_pool_acquire(struct bcn_api_pool *p, int64_t deadline_ms, struct bcn_api_conn **out);
/* Give it back (a connection that failed is closed and reopened later). */
void bcn_api_pool_release(struct bcn_api_pool *p, struct bcn_api_conn *c);

/* Run prepared statement `stmt` (index into cfg->stmts) with text
 * parameters vals[0..nparams) and text results, until deadline_ms.  OK with
 * *res (PGRES_TUPLES_OK; the caller PQclears it), or TIMEOUT, CONN, QUERY
 * (then *res is NULL). */
int bcn_api_pg_exec(struct bcn_api_conn *c, unsigned stmt, const char *const *vals, int nparams,
		    int64_t deadline_ms, PGresult **res);

void bcn_api_pool_stats(struct bcn_api_pool *p, struct bcn_api_pool_stats *out);
/* 1 if the last probe succeeded and a connection is open. */
int bcn_api_pool_ready(struct bcn_api_pool *p);

/* "ok", "pool_timeout", "unavailable", "timeout", "connection", "query". */
const char *bcn_api_pg_rc_name(int rc);

/* CLOCK_MONOTONIC in ms. */
int64_t bcn_api_mono_ms(void);

#endif
