/*
 * bcn_ctl.c - beacond's control plane: /metrics, /healthz, /readyz on the
 * metrics port, served by its own thread with the same HTTP engine as the
 * beacon API (bcn_http.h).
 *
 * Why a thread of its own: a scrape or a health probe must be answered even
 * when every worker is saturated, and must never run on a fast-path core.
 *   GET /metrics  Prometheus text format 0.0.4 (rendered into a buffer
 *                 allocated at start-up: scrapes allocate nothing)
 *   GET /healthz  200 "ok": the process is alive and its threads run
 *   GET /readyz   200 "ready", or 503 with the reason: Kafka unreachable, a
 *                 ring above ring.high_water_pct, or shutting down
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bcn_app.h"
#include "bcn_http.h"
#include "bcn_mbuf.h"

#define METRICS_MAX (1u << 20)

struct bcn_ctl {
	struct bcn_app *app;
	int fd;
	struct bcn_http_server *http;
	pthread_t th;
	_Atomic int stop;
	int started;
};

static void reply(struct bcn_http_resp *resp, int status, const char *text)
{
	size_t n = strlen(text);
	if (n > resp->body_cap)
		n = resp->body_cap;
	memcpy(resp->body, text, n);
	resp->body_len = n;
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
}

/* Handler: runs on the control thread, once per request. */
static void handle(void *ctx, const struct bcn_http_req *req, struct bcn_http_resp *resp)
{
	struct bcn_ctl *c = ctx;
#define IS(p) (req->path_len == sizeof(p) - 1 && !memcmp(req->path, p, sizeof(p) - 1))
	if (req->method != BCN_HTTP_GET && req->method != BCN_HTTP_HEAD) {
		reply(resp, 405, "method not allowed\n");
		resp->extra_header = "Allow: GET, HEAD";
		return;
	}
	if (IS("/metrics")) {
		struct bcn_mbuf mb;
		bcn_mb_init(&mb, resp->body, resp->body_cap);
		bcn_app_metrics(c->app, &mb);
		if (mb.overflow) {
			reply(resp, 500, "metrics page larger than its buffer\n");
			return;
		}
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		resp->body_len = mb.len;
	} else if (IS("/healthz")) {
		for (unsigned i = 0; i < c->app->nworkers; i++)
			if (!atomic_load(&c->app->w[i].running) && !atomic_load(&c->app->stopping)) {
				reply(resp, 503, "a worker has stopped\n");
				return;
			}
		reply(resp, 200, "ok\n");
	} else if (IS("/readyz")) {
		char why[160], line[192];
		int ok = bcn_app_ready(c->app, why, sizeof(why));
		snprintf(line, sizeof(line), "%s\n", ok ? "ready" : why);
		reply(resp, ok ? 200 : 503, line);
	} else {
		reply(resp, 404, "not found: /metrics, /healthz, /readyz\n");
	}
#undef IS
}

struct bcn_ctl *bcn_ctl_new(struct bcn_app *app, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct bcn_ctl *c = calloc(1, sizeof(*c));
	char ps[16];
	int one = 1, rc;

	if (!c) {
		snprintf(err, errlen, "control plane: out of memory");
		return NULL;
	}
	c->app = app;
	c->fd = -1;
	snprintf(ps, sizeof(ps), "%lld", (long long)app->cfg.metrics_port);
	if ((rc = getaddrinfo(app->cfg.metrics_addr, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "metrics.address %s: %s", app->cfg.metrics_addr, gai_strerror(rc));
		free(c);
		return NULL;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(c->fd, ai->ai_addr, ai->ai_addrlen) || listen(c->fd, 64)) {
		snprintf(err, errlen, "metrics %s:%s: %s", app->cfg.metrics_addr, ps, strerror(errno));
		freeaddrinfo(ai);
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	freeaddrinfo(ai);
	struct bcn_http_limits lim;
	bcn_http_limits_defaults(&lim);
	lim.max_conns = 8; /* each holds METRICS_MAX of output space */
	lim.body_max = 4096;
	lim.large_bufs = 0;
	lim.resp_max = METRICS_MAX;
	c->http = bcn_http_server_new(c->fd, &lim, handle, c);
	if (!c->http) {
		snprintf(err, errlen, "metrics http server: %s", strerror(errno));
		close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

/* The control thread: serve until bcn_ctl_stop. */
static void *ctl_main(void *arg)
{
	struct bcn_ctl *c = arg;
	pthread_setname_np(pthread_self(), "bcn-ctl");
	while (!atomic_load(&c->stop))
		if (bcn_http_server_poll(c->http, 100) < 0) {
			fprintf(stderr, "beacond: control plane: epoll failed: %s\n", strerror(errno));
			break;
		}
	return NULL;
}

int bcn_ctl_start(struct bcn_ctl *c)
{
	if (pthread_create(&c->th, NULL, ctl_main, c))
		return -1;
	c->started = 1;
	return 0;
}

void bcn_ctl_stop(struct bcn_ctl *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, 1);
	if (c->started)
		pthread_join(c->th, NULL);
	bcn_http_server_free(c->http);
	close(c->fd);
	free(c);
}
