/*
 * bcn_api_pg.c - the read API's PostgreSQL pool.  See bcn_api_pg.h.
 *
 * Slot states, all changed under the pool mutex:
 *   BROKEN -> CONNECTING (pool thread, back-off expired) -> READY or BROKEN
 *   READY -> BUSY (acquire) -> READY, or BROKEN (release of a failed one)
 * Only the pool thread opens connections; only the holder of a BUSY slot
 * uses its PGconn.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_api_pg.h"

enum { S_BROKEN, S_CONNECTING, S_READY, S_BUSY };

struct bcn_api_conn {
	struct bcn_api_pool *pool;
	PGconn *pg;
	PGcancel *cancel;
	int state;
	int failed;            /* set by exec: close it on release */
	int64_t retry_ms;      /* BROKEN: next attempt */
	int64_t backoff_ms;
};

struct bcn_api_pool {
	struct bcn_api_pool_cfg cfg;
	pthread_mutex_t mu;
	pthread_cond_t freed;  /* a slot became READY */
	pthread_cond_t wake;   /* the pool thread has work (a slot broke, stop) */
	struct bcn_api_conn *c;
	unsigned n;
	pthread_t th;
	int started, stop;
	PGconn *probe;
	/* cancels handed over by workers at their client deadline: PQcancel
	 * blocks until the server closes the cancel connection (no timeout in
	 * libpq 15), so a thread of its own sends them, never a worker */
	PGcancel **cq;
	unsigned cq_cap, cq_head, cq_len;
	pthread_cond_t cq_cond;
	pthread_t cth;
	int cstarted;
	_Atomic int up;
	_Atomic uint64_t acquires, waits, timeouts, unavailable, connects_ok, connects_failed,
		resets, cancels, cancels_dropped, probes_ok, probes_failed;
};

#define ADD(p, x) atomic_fetch_add_explicit(&(p)->x, 1, memory_order_relaxed)
#define GET(p, x) atomic_load_explicit(&(p)->x, memory_order_relaxed)

int64_t bcn_api_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *bcn_api_pg_rc_name(int rc)
{
	static const char *const n[BCN_API_PG__COUNT] = { "ok", "pool_timeout", "unavailable",
							  "timeout", "connection", "query" };
	return rc >= 0 && rc < BCN_API_PG__COUNT ? n[rc] : "?";
}

static void abs_deadline(int64_t deadline_ms, struct timespec *ts)
{
	ts->tv_sec = deadline_ms / 1000;
	ts->tv_nsec = (deadline_ms % 1000) * 1000000;
}

/* Wait for the socket until deadline.  1 ready, 0 timed out, -1 error. */
static int wait_sock(PGconn *pg, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - bcn_api_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pf = { .fd = PQsocket(pg), .events = events };
		if (pf.fd < 0)
			return -1;
		int r = poll(&pf, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * Collect every result of the command in flight until deadline.  The first
 * result that is not a success is kept in *bad (or the last success in
 * *ok).  Returns 1 done, 0 timed out, -1 connection failure.
 */
static int collect(PGconn *pg, int64_t deadline_ms, PGresult **ok, PGresult **bad)
{
	for (;;) {
		int fl = PQflush(pg);
		if (fl < 0)
			return -1;
		if (fl == 0) {
			while (!PQisBusy(pg)) {
				PGresult *r = PQgetResult(pg);
				if (!r)
					return 1;
				ExecStatusType st = PQresultStatus(r);
				if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
					if (*ok)
						PQclear(*ok);
					*ok = r;
				} else if (!*bad) {
					*bad = r;
				} else {
					PQclear(r);
				}
			}
		}
		int w = wait_sock(pg, (short)(POLLIN | (fl == 1 ? POLLOUT : 0)), deadline_ms);
		if (w <= 0)
			return w;
		if (!PQconsumeInput(pg))
			return -1;
	}
}

/* Run one command (already sent) to completion; 0 ok, -1 failed. */
static int finish_cmd(PGconn *pg, int64_t deadline_ms, char *err, size_t errlen)
{
	PGresult *ok = NULL, *bad = NULL;
	int r = collect(pg, deadline_ms, &ok, &bad);
	if (r == 1 && !bad) {
		PQclear(ok);
		return 0;
	}
	snprintf(err, errlen, "%s", r == 0 ? "timed out" : bad ? PQresultErrorMessage(bad) : PQerrorMessage(pg));
	PQclear(ok);
	PQclear(bad);
	return -1;
}

/* Open, configure and prepare a connection within cfg.connect_ms.  NULL on
 * failure (err says why). */
static PGconn *open_conn(struct bcn_api_pool *p, int prepare, char *err, size_t errlen)
{
	int64_t deadline = bcn_api_mono_ms() + p->cfg.connect_ms;
	PGconn *pg = PQconnectStart(p->cfg.conninfo);
	char sql[256];

	if (!pg || PQstatus(pg) == CONNECTION_BAD) {
		snprintf(err, errlen, "%s", pg ? PQerrorMessage(pg) : "out of memory");
		goto fail;
	}
	for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK;) {
		if (st == PGRES_POLLING_FAILED) {
			snprintf(err, errlen, "%s", PQerrorMessage(pg));
			goto fail;
		}
		int w = wait_sock(pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			snprintf(err, errlen, "connect: %s", w == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
		st = PQconnectPoll(pg);
	}
	if (PQsetnonblocking(pg, 1)) {
		snprintf(err, errlen, "PQsetnonblocking: %s", PQerrorMessage(pg));
		goto fail;
	}
	/* integers from the config, not from requests */
	snprintf(sql, sizeof(sql),
		 "SET statement_timeout = %lld; SET default_transaction_read_only = on; "
		 "SET application_name = 'beacon-api'",
		 (long long)p->cfg.statement_ms);
	if (!PQsendQuery(pg, sql) || finish_cmd(pg, deadline, err, errlen))
		goto fail;
	for (unsigned i = 0; prepare && i < p->cfg.nstmts; i++) {
		const struct bcn_api_stmt *s = &p->cfg.stmts[i];
		if (!PQsendPrepare(pg, s->name, s->sql, s->nparams, NULL) ||
		    finish_cmd(pg, deadline, err, errlen)) {
			char e2[256];
			snprintf(e2, sizeof(e2), "prepare %s: %s", s->name, err);
			snprintf(err, errlen, "%s", e2);
			goto fail;
		}
	}
	return pg;
fail:
	PQfinish(pg);
	return NULL;
}

static void close_conn(struct bcn_api_conn *c)
{
	if (c->cancel)
		PQfreeCancel(c->cancel);
	c->cancel = NULL;
	PQfinish(c->pg);
	c->pg = NULL;
}

/* ---- the pool thread ------------------------------------------------------- */

static void probe(struct bcn_api_pool *p)
{
	char err[512] = "";
	int ok = 0;
	if (!p->probe)
		p->probe = open_conn(p, 0, err, sizeof(err));
	if (p->probe) {
		ok = PQsendQuery(p->probe, "SELECT 1") &&
		     finish_cmd(p->probe, bcn_api_mono_ms() + p->cfg.connect_ms, err, sizeof(err)) == 0;
		if (!ok) {
			PQfinish(p->probe);
			p->probe = NULL;
		}
	}
	if (ok)
		ADD(p, probes_ok);
	else
		ADD(p, probes_failed);
	err[strcspn(err, "\n")] = '\0';
	int was = atomic_exchange(&p->up, ok);
	if (was != ok)
		fprintf(stderr, "beacon-api: PostgreSQL is %s%s%s\n", ok ? "reachable" : "unreachable",
			ok ? "" : ": ", ok ? "" : err);
	if (ok && !was) {
		/* back: retry every broken slot now */
		pthread_mutex_lock(&p->mu);
		for (unsigned i = 0; i < p->n; i++)
			if (p->c[i].state == S_BROKEN)
				p->c[i].retry_ms = 0;
		pthread_mutex_unlock(&p->mu);
	}
}

static void *pool_main(void *arg)
{
	struct bcn_api_pool *p = arg;
	int64_t next_probe = 0;
	char err[512], last_err[512] = "";
	pthread_setname_np(pthread_self(), "bcn-api-pool");

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		int64_t now = bcn_api_mono_ms(), wake_at = now + 1000;
		int failed_round = 0;
		int64_t round_retry = 0, round_backoff = 0;
		for (unsigned i = 0; i < p->n && !p->stop; i++) {
			struct bcn_api_conn *c = &p->c[i];
			if (c->state != S_BROKEN)
				continue;
			if (failed_round || now < c->retry_ms) {
				if (failed_round && c->retry_ms < round_retry) {
					c->retry_ms = round_retry;
					c->backoff_ms = round_backoff;
				}
				if (c->retry_ms < wake_at)
					wake_at = c->retry_ms;
				continue;
			}
			c->state = S_CONNECTING;
			pthread_mutex_unlock(&p->mu);
			PGconn *pg = open_conn(p, 1, err, sizeof(err));
			PGcancel *cn = pg ? PQgetCancel(pg) : NULL;
			pthread_mutex_lock(&p->mu);
			now = bcn_api_mono_ms();
			if (pg) {
				c->pg = pg;
				c->cancel = cn;
				c->failed = 0;
				c->backoff_ms = 0;
				c->state = S_READY;
				last_err[0] = '\0';
				ADD(p, connects_ok);
				pthread_cond_signal(&p->freed);
			} else {
				c->state = S_BROKEN;
				c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : p->cfg.reconnect_min_ms;
				if (c->backoff_ms > p->cfg.reconnect_max_ms)
					c->backoff_ms = p->cfg.reconnect_max_ms;
				c->retry_ms = now + c->backoff_ms;
				if (c->retry_ms < wake_at)
					wake_at = c->retry_ms;
				ADD(p, connects_failed);
				failed_round = 1; /* the others would fail the same way */
				round_retry = c->retry_ms;
				round_backoff = c->backoff_ms;
				/* say it once per distinct error, not once per attempt */
				strtok(err, "\n");
				if (strcmp(err, last_err)) {
					fprintf(stderr, "beacon-api: pool: connect failed (retrying with back-off): %s\n", err);
					snprintf(last_err, sizeof(last_err), "%s", err);
				}
			}
		}
		if (now >= next_probe && !p->stop) {
			pthread_mutex_unlock(&p->mu);
			probe(p);
			pthread_mutex_lock(&p->mu);
			now = bcn_api_mono_ms();
			next_probe = now + p->cfg.probe_ms;
		}
		if (next_probe < wake_at)
			wake_at = next_probe;
		if (wake_at > now && !p->stop) {
			struct timespec ts;
			abs_deadline(wake_at, &ts);
			pthread_cond_timedwait(&p->wake, &p->mu, &ts);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *cancel_main(void *arg)
{
	struct bcn_api_pool *p = arg;
	pthread_setname_np(pthread_self(), "bcn-api-cancel");
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->cq_len && !p->stop)
			pthread_cond_wait(&p->cq_cond, &p->mu);
		if (!p->cq_len)
			break;
		PGcancel *cn = p->cq[p->cq_head];
		p->cq_head = (p->cq_head + 1) % p->cq_cap;
		p->cq_len--;
		pthread_mutex_unlock(&p->mu);
		char eb[256];
		(void)PQcancel(cn, eb, sizeof(eb));
		PQfreeCancel(cn);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Queue a cancel for the canceller thread (takes cn).  When the queue is
 * full the cancel is dropped: the server's statement_timeout ends the
 * query anyway. */
static void cancel_later(struct bcn_api_pool *p, PGcancel *cn)
{
	if (!cn)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->cq_len < p->cq_cap) {
		p->cq[(p->cq_head + p->cq_len) % p->cq_cap] = cn;
		p->cq_len++;
		cn = NULL;
		pthread_cond_signal(&p->cq_cond);
	}
	pthread_mutex_unlock(&p->mu);
	if (cn) {
		PQfreeCancel(cn);
		ADD(p, cancels_dropped);
	} else {
		ADD(p, cancels);
	}
}

/* ---- API -------------------------------------------------------------------- */

struct bcn_api_pool *bcn_api_pool_new(const struct bcn_api_pool_cfg *cfg, char *err, size_t errlen)
{
	struct bcn_api_pool *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	if (!p || !(p->c = calloc(cfg->size, sizeof(*p->c))) ||
	    !(p->cq = calloc(2 * cfg->size, sizeof(*p->cq)))) {
		snprintf(err, errlen, "pool: out of memory");
		if (p)
			free(p->c);
		free(p);
		return NULL;
	}
	p->cq_cap = 2 * cfg->size;
	p->cfg = *cfg;
	p->n = cfg->size;
	for (unsigned i = 0; i < p->n; i++) {
		p->c[i].pool = p;
		p->c[i].state = S_BROKEN;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->freed, &ca);
	pthread_cond_init(&p->wake, &ca);
	pthread_cond_init(&p->cq_cond, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

int bcn_api_pool_start(struct bcn_api_pool *p, int64_t wait_ms)
{
	if (pthread_create(&p->cth, NULL, cancel_main, p))
		return -1;
	p->cstarted = 1;
	if (pthread_create(&p->th, NULL, pool_main, p))
		return -1;
	p->started = 1;
	int64_t end = bcn_api_mono_ms() + wait_ms;
	while (wait_ms > 0 && bcn_api_mono_ms() < end) {
		struct bcn_api_pool_stats st;
		bcn_api_pool_stats(p, &st);
		if (st.connected && st.up)
			break;
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

void bcn_api_pool_free(struct bcn_api_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_cond_signal(&p->cq_cond);
	pthread_mutex_unlock(&p->mu);
	if (p->started)
		pthread_join(p->th, NULL);
	if (p->cstarted) {
		/* a cancel to a hung server may never return: give it 1 s, then
		 * leave the thread (the process is exiting) */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (pthread_timedjoin_np(p->cth, NULL, &ts)) {
			pthread_detach(p->cth);
			return; /* it may still use the pool: keep it */
		}
	}
	while (p->cq_len) {
		PQfreeCancel(p->cq[p->cq_head]);
		p->cq_head = (p->cq_head + 1) % p->cq_cap;
		p->cq_len--;
	}
	free(p->cq);
	for (unsigned i = 0; i < p->n; i++)
		close_conn(&p->c[i]);
	PQfinish(p->probe);
	pthread_cond_destroy(&p->freed);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->cq_cond);
	pthread_mutex_destroy(&p->mu);
	free(p->c);
	free(p);
}

/* The server may have closed an idle connection (shutdown, restart,
 * idle_session_timeout, a killed backend): it then sends an error and the
 * end.  The server sends nothing else unasked to an idle connection of
 * ours but the rare ParameterStatus or NOTICE, so input waiting on an idle
 * connection means: don't use it (at worst one needless reconnect).  0
 * usable, -1 not. */
static int idle_check(struct bcn_api_conn *c)
{
	struct pollfd pf = { .fd = PQsocket(c->pg), .events = POLLIN };
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || pf.fd < 0)
		return -1;
	return poll(&pf, 1, 0) != 0 ? -1 : 0;
}

int bcn_api_pool_acquire(struct bcn_api_pool *p, int64_t deadline_ms, struct bcn_api_conn **out)
{
	int waited = 0;
	ADD(p, acquires);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct bcn_api_conn *c = NULL;
		int busy = 0;
		for (unsigned i = 0; i < p->n; i++) {
			if (p->c[i].state == S_READY) {
				c = &p->c[i];
				break;
			}
			busy |= p->c[i].state == S_BUSY;
		}
		if (c) {
			c->state = S_BUSY;
			pthread_mutex_unlock(&p->mu);
			if (idle_check(c) == 0) {
				*out = c;
				return BCN_API_PG_OK;
			}
			c->failed = 1;
			bcn_api_pool_release(p, c);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (!busy) {
			pthread_mutex_unlock(&p->mu);
			ADD(p, unavailable);
			return BCN_API_PG_UNAVAILABLE;
		}
		if (!waited) {
			waited = 1;
			ADD(p, waits);
		}
		struct timespec ts;
		abs_deadline(deadline_ms, &ts);
		if (bcn_api_mono_ms() >= deadline_ms ||
		    pthread_cond_timedwait(&p->freed, &p->mu, &ts) == ETIMEDOUT) {
			/* one last look: a slot freed just at the deadline */
			int ready = 0;
			for (unsigned i = 0; i < p->n; i++)
				ready |= p->c[i].state == S_READY;
			if (!ready) {
				pthread_mutex_unlock(&p->mu);
				ADD(p, timeouts);
				return BCN_API_PG_POOL_TIMEOUT;
			}
		}
	}
}

void bcn_api_pool_release(struct bcn_api_pool *p, struct bcn_api_conn *c)
{
	if (c->failed) {
		close_conn(c);
		ADD(p, resets);
	}
	pthread_mutex_lock(&p->mu);
	if (c->failed) {
		c->failed = 0;
		c->state = S_BROKEN;
		c->retry_ms = 0;  /* reconnect now; the back-off starts if that fails */
		pthread_cond_signal(&p->wake);
	} else {
		c->state = S_READY;
		pthread_cond_signal(&p->freed);
	}
	pthread_mutex_unlock(&p->mu);
}

int bcn_api_pg_exec(struct bcn_api_conn *c, unsigned stmt, const char *const *vals, int nparams,
		    int64_t deadline_ms, PGresult **res)
{
	struct bcn_api_pool *p = c->pool;
	PGresult *ok = NULL, *bad = NULL;
	*res = NULL;
	if (stmt >= p->cfg.nstmts || !PQsendQueryPrepared(c->pg, p->cfg.stmts[stmt].name, nparams, vals,
							   NULL, NULL, 0)) {
		c->failed = 1;
		return BCN_API_PG_CONN;
	}
	int r = collect(c->pg, deadline_ms, &ok, &bad);
	if (r == 1 && !bad && ok && PQresultStatus(ok) == PGRES_TUPLES_OK) {
		*res = ok;
		return BCN_API_PG_OK;
	}
	int rc;
	if (r == 0) {
		/* client deadline: have the server stop the query (by the
		 * canceller thread: PQcancel may block), then drop the
		 * connection (its protocol state is unknown) */
		cancel_later(p, c->cancel);
		c->cancel = NULL;
		c->failed = 1;
		rc = BCN_API_PG_TIMEOUT;
	} else if (r < 0 || PQstatus(c->pg) != CONNECTION_OK) {
		c->failed = 1;
		rc = BCN_API_PG_CONN;
	} else {
		const char *st = bad ? PQresultErrorField(bad, PG_DIAG_SQLSTATE) : NULL;
		if (st && !strcmp(st, "57014")) {
			rc = BCN_API_PG_TIMEOUT;          /* statement_timeout */
		} else if (st && (!strncmp(st, "57P", 3) || !strncmp(st, "08", 2) ||
				  !strcmp(st, "26000"))) {
			c->failed = 1;                    /* shutdown, connection, lost prepare */
			rc = BCN_API_PG_CONN;
		} else {
			rc = BCN_API_PG_QUERY;
		}
	}
	PQclear(ok);
	PQclear(bad);
	return rc;
}

void bcn_api_pool_stats(struct bcn_api_pool *p, struct bcn_api_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->mu);
	for (unsigned i = 0; i < p->n; i++) {
		out->connected += p->c[i].state == S_READY || p->c[i].state == S_BUSY;
		out->in_use += p->c[i].state == S_BUSY;
	}
	pthread_mutex_unlock(&p->mu);
	out->size = p->n;
	out->acquires = GET(p, acquires);
	out->waits = GET(p, waits);
	out->timeouts = GET(p, timeouts);
	out->unavailable = GET(p, unavailable);
	out->connects_ok = GET(p, connects_ok);
	out->connects_failed = GET(p, connects_failed);
	out->resets = GET(p, resets);
	out->cancels = GET(p, cancels);
	out->cancels_dropped = GET(p, cancels_dropped);
	out->probes_ok = GET(p, probes_ok);
	out->probes_failed = GET(p, probes_failed);
	out->up = atomic_load(&p->up);
}

int bcn_api_pool_ready(struct bcn_api_pool *p)
{
	struct bcn_api_pool_stats st;
	bcn_api_pool_stats(p, &st);
	return st.up && st.connected > 0;
}
