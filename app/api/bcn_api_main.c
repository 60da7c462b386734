/*
 * bcn_api_main.c - beacon-api: the site's read API over the current-state
 * tables that beacon-etl keeps in PostgreSQL (docs/read-api.md).
 *
 *   beacon-api --config FILE      run
 *   beacon-api --print-config     every key with its default and meaning (INI)
 *   beacon-api --config-markdown  the same as a Markdown table (for the docs)
 *   beacon-api --check-config     load and validate FILE, then exit
 *
 * A program of its own, not a part of beacond: read load and store latency
 * never touch the ingestion fast path, it scales and restarts on its own,
 * and beacond stays free of libpq.
 *
 * Start-up allocates everything (HTTP slots, token caches, the rating
 * cache, the pool's slots), starts the pool's thread (it connects; a
 * PostgreSQL that is down at start only makes /readyz say so), the workers
 * and the ops thread.  The main thread then only takes signals:
 *   SIGTERM/SIGINT  stop accepting, finish the requests in flight (within
 *                   shutdown.deadline_ms), close the pool, exit 0.
 * Exit status: 0 after a clean stop, 1 on a start-up failure, 2 on usage or
 * configuration errors.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bcn_api_app.h"
#include "bcn_ops.h"

#ifndef BCN_VERSION
#define BCN_VERSION "dev"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: beacon-api --config FILE [--check-config]\n"
		   "       beacon-api [--config FILE] --print-config | --config-markdown\n"
		   "  Answers the site's reads (film ratings and reviews; a signed-in user's likes,\n"
		   "  bookmarks, history and progress) from PostgreSQL.  See docs/read-api.md.\n");
}

static int load_config(void *cfgp, const char *path, char *err, size_t errlen)
{
	struct bcn_api_cfg *cfg = cfgp;
	struct bcn_api_cfg tmp;
	bcn_api_cfg_defaults(&tmp);
	if (path && bcn_conf_load(bcn_api_cfg_table, bcn_api_cfg_table_len, &tmp, path, err, errlen))
		return -1;
	if (bcn_api_cfg_check(&tmp, err, errlen))
		return -1;
	*cfg = tmp;
	return 0;
}

/* A non-blocking SO_REUSEPORT listener.  -1 with err on failure. */
static int listen_on(const char *addr, int64_t port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char ps[16];
	int one = 1, fd, rc;
	snprintf(ps, sizeof(ps), "%lld", (long long)port);
	if ((rc = getaddrinfo(addr, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "api.address %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
		snprintf(err, errlen, "api %s:%s: %s", addr, ps, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* bcn_jwt_ring_reload's question: is a running worker not on gen yet? */
static int workers_behind(void *arg, uint32_t gen)
{
	struct bcn_api_app *app = arg;
	for (unsigned i = 0; i < app->nw; i++)
		if (atomic_load(&app->w[i].running) && atomic_load(&app->w[i].keys_gen) != gen)
			return 1;
	return 0;
}

/* SIGHUP: re-read the file and take only auth.jwt_keys (key rotation, the
 * same as beacond's); every other setting needs a restart.  Main thread.
 * On any error the running keys stay (counted in
 * beacon_api_config_reloads_total{result="error"}). */
static void reload(struct bcn_api_app *app, const char *path)
{
	struct bcn_api_cfg c;
	char err[512];
	if (load_config(&c, path, err, sizeof(err))) {
		BCN_INC(app->reload_errors, 1);
		fprintf(stderr, "beacon-api: SIGHUP: %s (keeping the running keys)\n", err);
		return;
	}
	uint32_t gen = bcn_jwt_ring_reload(&app->keys, c.jwt_keys, workers_behind, app);
	if (!gen) {
		BCN_INC(app->reload_errors, 1);
		fprintf(stderr, "beacon-api: SIGHUP: auth.jwt_keys: bad key list (keeping the running keys)\n");
		return;
	}
	BCN_INC(app->reloads, 1);
	fprintf(stderr, "beacon-api: SIGHUP: JWT keys reloaded (%d key(s), generation %u)\n",
		bcn_jwt_ring_current(&app->keys)->n, gen);
}

static int setup(struct bcn_api_app *app, char *err, size_t errlen)
{
	const struct bcn_api_cfg *c = &app->cfg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	app->started_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (bcn_jwt_ring_init(&app->keys, c->jwt_keys)) {
		snprintf(err, errlen, "auth.jwt_keys: empty, too long or bad hex");
		return -1;
	}
	app->cache = bcn_api_cache_new((uint64_t)c->cache_entries, c->cache_ttl_ms);
	struct bcn_api_pool_cfg pc = {
		.conninfo = c->pg_conninfo, .size = (unsigned)c->pg_pool_size,
		.statement_ms = c->pg_statement_ms, .connect_ms = c->pg_connect_ms,
		.reconnect_min_ms = c->pg_reconnect_min_ms, .reconnect_max_ms = c->pg_reconnect_max_ms,
		.probe_ms = c->pg_probe_ms, .stmts = bcn_api_stmts, .nstmts = BCN_API_Q__COUNT,
	};
	app->pool = bcn_api_pool_new(&pc, err, errlen);
	if (!app->cache || !app->pool) {
		if (!app->cache)
			snprintf(err, errlen, "rating cache: out of memory");
		return -1;
	}
	app->nw = (unsigned)c->workers;
	app->w = aligned_alloc(64, sizeof(*app->w) * app->nw);
	if (!app->w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(app->w, 0, sizeof(*app->w) * app->nw);
	struct bcn_http_limits lim;
	bcn_http_limits_defaults(&lim);
	lim.max_conns = (unsigned)c->http_max_conns;
	lim.header_max = (size_t)c->http_header_max;
	lim.body_max = 1024;              /* GET only: nothing to take */
	lim.conn_buf = lim.header_max + lim.body_max; /* never a large buffer */
	lim.large_bufs = 0;
	lim.resp_max = (size_t)c->http_resp_max;
	lim.idle_ms = (unsigned)c->http_idle_ms;
	lim.request_ms = (unsigned)c->http_request_ms;
	for (unsigned i = 0; i < app->nw; i++) {
		struct bcn_api_worker *w = &app->w[i];
		w->app = app;
		w->id = i;
		w->fd = listen_on(c->addr, c->port, err, errlen);
		if (w->fd < 0)
			return -1;
		w->jwt = bcn_jwt_cache_new(bcn_jwt_ring_current(&app->keys), (unsigned)c->jwt_cache_order);
		w->keys_gen = atomic_load(&app->keys.gen);
		w->http = bcn_http_server_new(w->fd, &lim, bcn_api_serve, w);
		if (!w->jwt || !w->http) {
			snprintf(err, errlen, "worker %u: %s", i, w->jwt ? strerror(errno) : "token cache: out of memory");
			return -1;
		}
	}
	return 0;
}

static void teardown(struct bcn_api_app *app)
{
	for (unsigned i = 0; app->w && i < app->nw; i++) {
		bcn_http_server_free(app->w[i].http);
		bcn_jwt_cache_free(app->w[i].jwt);
		if (app->w[i].fd > 0)
			close(app->w[i].fd);
	}
	free(app->w);
	bcn_api_pool_free(app->pool);
	bcn_api_cache_free(app->cache);
}

int main(int argc, char **argv)
{
	static struct bcn_api_app app;
	const struct bcn_conf_cli cli = { "beacon-api", bcn_api_cfg_table, bcn_api_cfg_table_len, &app.cfg,
					   load_config, usage };
	const char *path;
	char err[512];
	int exit_now = bcn_conf_main(&cli, argc, argv, &path);
	if (exit_now >= 0)
		return exit_now;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct bcn_ops *ops = NULL;
	if (setup(&app, err, sizeof(err)) || !(ops = bcn_api_ops_new(&app, err, sizeof(err)))) {
		fprintf(stderr, "beacon-api: start-up failed: %s\n", err);
		teardown(&app);
		return 1;
	}
	/* connect before taking requests, but start anyway if PostgreSQL is
	 * down: /readyz says so, requests get 503 until it is back */
	if (bcn_api_pool_start(app.pool, app.cfg.pg_connect_ms)) {
		fprintf(stderr, "beacon-api: cannot start the pool's thread\n");
		return 1;
	}
	for (unsigned i = 0; i < app.nw; i++) {
		atomic_store(&app.w[i].running, 1);
		if (pthread_create(&app.w[i].th, NULL, bcn_api_worker_main, &app.w[i])) {
			fprintf(stderr, "beacon-api: cannot start worker %u\n", i);
			return 1;
		}
	}
	if (bcn_ops_start(ops)) {
		fprintf(stderr, "beacon-api: cannot start the ops thread\n");
		return 1;
	}
	fprintf(stderr, "beacon-api: %s: %u worker(s) on %s:%lld, ops %s:%lld, pool %lld, cache %lld x %lld ms%s\n",
		BCN_VERSION, app.nw, app.cfg.addr, (long long)app.cfg.port, app.cfg.metrics_addr,
		(long long)app.cfg.metrics_port, (long long)app.cfg.pg_pool_size,
		(long long)app.cfg.cache_entries, (long long)app.cfg.cache_ttl_ms,
		bcn_api_pool_ready(app.pool) ? "" : " (PostgreSQL not reachable yet)");

	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGTERM || sig == SIGINT) {
			fprintf(stderr, "beacon-api: %s: shutting down\n", strsignal(sig));
			break;
		}
		if (sig == SIGHUP)
			reload(&app, path);
	}
	atomic_store(&app.stopping, 1);
	for (unsigned i = 0; i < app.nw; i++)
		pthread_join(app.w[i].th, NULL);
	bcn_ops_free(ops);
	uint64_t n = 0;
	for (unsigned i = 0; i < app.nw; i++)
		for (unsigned e = 0; e < BCN_API_EP__COUNT; e++)
			for (unsigned s = 0; s < BCN_API_NSTATUS; s++)
				n += BCN_GET(app.w[i].st.req[e][s]);
	teardown(&app);
	fprintf(stderr, "beacon-api: stopped after %llu request(s)\n", (unsigned long long)n);
	return 0;
}
