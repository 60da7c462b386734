/*
 * bcn_ops.c - the shared control-plane server.  See bcn_ops.h.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bcn_http.h"
#include "bcn_ops.h"

#define PAGE_MAX_DEFAULT (1u << 20) /* the largest /metrics page, by default */

struct bcn_ops {
	struct bcn_ops_cb cb;
	char name[32];
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

/* 200 with ok_text, or 503 with the callback's reason. */
static void probe(struct bcn_http_resp *resp, int (*check)(void *, char *, size_t), void *ctx,
		  const char *ok_text)
{
	char why[160] = "", line[192];
	if (!check || check(ctx, why, sizeof(why))) {
		reply(resp, 200, ok_text);
		return;
	}
	snprintf(line, sizeof(line), "%s\n", why[0] ? why : "not ok");
	reply(resp, 503, line);
}

/* The engine's handler: runs where bcn_http_server_poll runs. */
static void handle(void *ctx, const struct bcn_http_req *req, struct bcn_http_resp *resp)
{
	struct bcn_ops *o = ctx;
#define IS(p) (req->path_len == sizeof(p) - 1 && !memcmp(req->path, p, sizeof(p) - 1))
	if (req->method != BCN_HTTP_GET && req->method != BCN_HTTP_HEAD) {
		reply(resp, 405, "method not allowed\n");
		resp->extra_header = "Allow: GET, HEAD";
		return;
	}
	if (IS("/metrics")) {
		struct bcn_mbuf mb;
		bcn_mb_init(&mb, resp->body, resp->body_cap);
		o->cb.metrics(o->cb.ctx, &mb);
		if (mb.overflow) {
			reply(resp, 500, "metrics page larger than its buffer\n");
			return;
		}
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		resp->body_len = mb.len;
	} else if (IS("/healthz")) {
		probe(resp, o->cb.healthy, o->cb.ctx, "ok\n");
	} else if (IS("/readyz")) {
		probe(resp, o->cb.ready, o->cb.ctx, "ready\n");
	} else {
		reply(resp, 404, "not found: /metrics, /healthz, /readyz\n");
	}
#undef IS
}

struct bcn_ops *bcn_ops_new(const char *name, const char *addr, long long port, size_t page_max,
			    const struct bcn_ops_cb *cb, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct bcn_ops *o = calloc(1, sizeof(*o));
	char ps[24];
	int one = 1, rc;

	if (!o) {
		snprintf(err, errlen, "%s: control plane: out of memory", name);
		return NULL;
	}
	o->cb = *cb;
	snprintf(o->name, sizeof(o->name), "%s", name);
	snprintf(ps, sizeof(ps), "%lld", port);
	if ((rc = getaddrinfo(addr, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "metrics.address %s: %s", addr, gai_strerror(rc));
		free(o);
		return NULL;
	}
	o->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (o->fd < 0 || setsockopt(o->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(o->fd, ai->ai_addr, ai->ai_addrlen) || listen(o->fd, 64)) {
		snprintf(err, errlen, "metrics %s:%s: %s", addr, ps, strerror(errno));
		freeaddrinfo(ai);
		if (o->fd >= 0)
			close(o->fd);
		free(o);
		return NULL;
	}
	freeaddrinfo(ai);
	struct bcn_http_limits lim;
	bcn_http_limits_defaults(&lim);
	lim.max_conns = 8; /* each holds page_max of output space */
	lim.body_max = 4096;
	lim.large_bufs = 0;
	lim.resp_max = page_max ? page_max : PAGE_MAX_DEFAULT;
	o->http = bcn_http_server_new(o->fd, &lim, handle, o);
	if (!o->http) {
		snprintf(err, errlen, "metrics http server: %s", strerror(errno));
		close(o->fd);
		free(o);
		return NULL;
	}
	return o;
}

int bcn_ops_poll(struct bcn_ops *o, int timeout_ms)
{
	return bcn_http_server_poll(o->http, timeout_ms);
}

/* The ops thread: serve until bcn_ops_free. */
static void *ops_main(void *arg)
{
	struct bcn_ops *o = arg;
	char tn[16];
	snprintf(tn, sizeof(tn), "%.11s-ops", o->name);
	pthread_setname_np(pthread_self(), tn);
	while (!atomic_load(&o->stop))
		if (bcn_http_server_poll(o->http, 100) < 0) {
			fprintf(stderr, "%s: control plane: epoll failed: %s\n", o->name, strerror(errno));
			break;
		}
	return NULL;
}

int bcn_ops_start(struct bcn_ops *o)
{
	if (pthread_create(&o->th, NULL, ops_main, o))
		return -1;
	o->started = 1;
	return 0;
}

void bcn_ops_free(struct bcn_ops *o)
{
	if (!o)
		return;
	atomic_store(&o->stop, 1);
	if (o->started)
		pthread_join(o->th, NULL);
	bcn_http_server_free(o->http);
	close(o->fd);
	free(o);
}
