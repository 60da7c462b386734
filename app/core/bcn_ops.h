/*
 * bcn_ops.h - the control-plane HTTP server that beacond, beacon-etl and
 * beacon-api share: GET /metrics, /healthz and /readyz on the metrics port,
 * on the fixed-memory HTTP engine (drivers/socket/bcn_http.h).
 *
 * Why this exists: each of the three processes had its own copy of the
 * listening socket, the engine's limits, the method check, the metrics
 * buffer and its overflow answer, and the 404; only what they report
 * differs.  The owner gives three callbacks and either runs the server on
 * a thread of its own (bcn_ops_start: a scrape or a probe is answered even
 * when every worker is busy) or polls it from a loop it already has
 * (bcn_ops_poll).
 *   GET /metrics  200 with the page the metrics callback writes (Prometheus
 *                 text 0.0.4, into a buffer allocated at start-up: scrapes
 *                 allocate nothing), or 500 if it did not fit
 *   GET /healthz  200 "ok", or 503 with the callback's reason
 *   GET /readyz   200 "ready", or 503 with the callback's reason
 *   other paths   404; other methods 405
 */
#ifndef BCN_OPS_H
#define BCN_OPS_H
#include <stddef.h>
#include "bcn_mbuf.h"

/* What the server asks its owner.  Each callback runs on the thread that
 * serves the request (the ops thread, or the caller of bcn_ops_poll), once
 * per request. */
struct bcn_ops_cb {
	void *ctx;
	/* write the whole /metrics page into mb (can't fail: an overflow is
	 * noted in mb and answered 500) */
	void (*metrics)(void *ctx, struct bcn_mbuf *mb);
	/* 1 if healthy (/healthz) or ready (/readyz); else 0 with the reason,
	 * one line without a newline, in why */
	int (*healthy)(void *ctx, char *why, size_t whylen);
	int (*ready)(void *ctx, char *why, size_t whylen);
};

struct bcn_ops;

/* Listen on addr:port (numeric; port 0 picks one) and get ready to serve:
 * 8 connection slots, each with page_max bytes for the /metrics page (0:
 * 1 MiB), allocated now.  name prefixes the messages (and names the thread
 * of bcn_ops_start).  Returns the server, or NULL with the reason in err
 * (nothing is left open). */
struct bcn_ops *bcn_ops_new(const char *name, const char *addr, long long port, size_t page_max,
			    const struct bcn_ops_cb *cb, char *err, size_t errlen);

/* Serve for up to timeout_ms.  Returns requests handled (>= 0), or -1 if
 * epoll failed (errno set). */
int bcn_ops_poll(struct bcn_ops *o, int timeout_ms);

/* Serve on a thread of its own until bcn_ops_free.  Returns 0, or -1 if
 * the thread could not be created (the server can still be polled). */
int bcn_ops_start(struct bcn_ops *o);

/* Stop the thread if started, close everything.  NULL is a no-op. */
void bcn_ops_free(struct bcn_ops *o);
#endif
