/*
 * bcn_http.c - the epoll HTTP/1.1 server engine.  See bcn_http.h.
 *
 * Input: each connection has one input buffer (its own, or a lent large
 * one) that holds the current request from its first byte (offset msg) and
 * any pipelined bytes after it.  http-parser is fed from in_pos; what it
 * reports (the URL, the three headers we keep, the body) is stored as
 * offsets from msg, so the buffer may be compacted or swapped between two
 * parser calls.  Body bytes are moved down in place as they are decoded
 * (chunk framing is dropped), so the handler gets one contiguous body and a
 * chunked request needs no more room than its decoded size.
 *
 * Output: the parser pauses at the end of each message; the request goes to
 * the handler and its response is appended to the connection's output
 * buffer and sent.  A new message is parsed only once the output is empty,
 * so at most one response (plus a 100 Continue) is ever pending: that
 * bounds the output buffer, keeps responses in order, and pushes back on a
 * client that pipelines without reading (we stop reading it until EPOLLOUT).
 *
 * Timers: every open connection is on exactly one of three FIFO lists, each
 * with one timeout, so expiry is a walk from the head:
 *   REQ     a request has started, or a new connection has not yet been
 *           answered: stamped when that began; request_ms -> close (with
 *           a 408 if any byte of a request came);
 *   IDLE    between requests, or waiting for the client to read our output
 *           (restamped whenever a send makes progress); idle_ms -> close;
 *   LINGER  half-closed after the last response; linger_ms -> close.
 * Stamps come from CLOCK_MONOTONIC_COARSE once per poll; the lists are
 * walked every tick (100 ms, or a quarter of the shortest timeout), which a
 * timerfd in the epoll set makes sure happens while connections are open.
 * Latency uses CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <http_parser.h>
#include "bcn_http.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

#define HDR_ROOM     1024u  /* status line + headers of one response        */
#define CTYPE_MAX    128u
#define EXTRA_MAX    256u
#define CONTINUE     "HTTP/1.1 100 Continue\r\n\r\n"
#define CONTINUE_LEN (sizeof(CONTINUE) - 1)
#define NEVENTS      64
#define ACCEPT_BURST 64
#define TICK_MS      100u
#define GIB          ((size_t)1 << 30)
#define NONE         UINT32_MAX
#define TAG_LISTEN   UINT64_MAX
#define TAG_TIMER    (UINT64_MAX - 1)

enum { L_REQ, L_IDLE, L_LINGER, L_COUNT, L_NONE = L_COUNT };
enum { C_FREE, C_OPEN, C_LINGER };
enum { HS_NONE, HS_FIELD, HS_VALUE };

struct span {
	uint32_t off, len; /* from the message's first byte; off NONE: absent */
};

struct conn {
	struct bcn_http_server *srv;
	struct conn *prev, *next; /* timer list; next also links the free list */
	int fd;
	uint32_t gen;             /* bumped on close: stale epoll events        */
	uint32_t events;          /* registered with epoll                      */
	uint8_t state, list;
	uint8_t close_after;      /* end once the output is sent                */
	uint8_t served;           /* answered at least one request              */
	uint8_t headers_done, keep, framed, hstate;
	int large;                /* lent large buffer, or -1                   */
	int err;                  /* status a callback wants answered instead   */
	int64_t t_list;           /* coarse ms: when it joined its list         */
	int64_t t_read;           /* ns: last read                              */
	int64_t t0;               /* ns: first byte of the current message      */
	int64_t lat_t0;           /* ns: t0 of the pending final response, or 0 */
	http_parser hp;
	char *own, *in;           /* own input buffer; the one in use           */
	uint32_t in_cap, in_len, in_pos, msg;
	struct span url, field, auth, ctype, expect;
	struct span *cur;         /* header value being collected, or NULL      */
	uint32_t body_off, body_len;
	char *out;
	uint32_t out_len, out_off;
	uint64_t drained;         /* bytes discarded while lingering            */
};

#define NSTATS (sizeof(struct bcn_http_stats) / sizeof(uint64_t))
#define ST(f)  (offsetof(struct bcn_http_stats, f) / sizeof(uint64_t))
_Static_assert(sizeof(struct bcn_http_stats) % sizeof(uint64_t) == 0, "stats are u64");

struct bcn_http_server {
	int ep, lfd, tfd;
	uint8_t listening, stopping;
	struct bcn_http_limits lim;
	bcn_http_handler_fn handler;
	void *ctx;
	http_parser_settings hs;
	struct conn *conns, *free;
	unsigned nopen;
	char *large_base;
	size_t large_size;
	unsigned *large_free, nlarge_free;
	char *scratch;
	size_t out_cap;
	struct conn *head[L_COUNT], *tail[L_COUNT];
	int64_t tmo[L_COUNT];
	int64_t now_ms, last_tick, tick_ms;
	int handled;
	size_t mem;
	_Atomic uint64_t st[NSTATS];
	struct epoll_event ev[NEVENTS];
};

static const uint16_t status_codes[BCN_HTTP_NSTATUS - 1] = {
	100, 200, 204, 400, 401, 404, 405, 408, 411, 413, 429, 431, 500, 503
};
static const char *const status_labels[BCN_HTTP_NSTATUS] = {
	"100", "200", "204", "400", "401", "404", "405", "408", "411", "413", "429", "431",
	"500", "503", "other"
};
static const int64_t lat_bounds_ns[BCN_HTTP_NLAT - 1] = {
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
	50000000, 100000000, 250000000, 500000000, 1000000000
};
static const char *const lat_labels[BCN_HTTP_NLAT] = {
	"0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"
};

/* ---- small helpers --------------------------------------------------- */

/* Single writer: a relaxed load and store, no locked instruction. */
static inline void st_add(struct bcn_http_server *s, size_t i, uint64_t n)
{
	atomic_store_explicit(&s->st[i], atomic_load_explicit(&s->st[i], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static int64_t clock_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t clock_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void lat_observe(struct bcn_http_server *s, int64_t ns)
{
	unsigned i = 0;
	if (ns < 0)
		ns = 0;
	while (i < BCN_HTTP_NLAT - 1 && ns > lat_bounds_ns[i])
		i++;
	st_add(s, ST(lat_le) + i, 1);
	st_add(s, ST(lat_count), 1);
	st_add(s, ST(lat_sum_ns), (uint64_t)ns);
}

static unsigned status_ix(int status)
{
	for (unsigned i = 0; i < BCN_HTTP_NSTATUS - 1; i++)
		if (status_codes[i] == status)
			return i;
	return BCN_HTTP_NSTATUS - 1;
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define PUT(p, lit) put(p, lit, sizeof(lit) - 1)

static char *put_u(char *p, uint64_t v)
{
	char t[20];
	unsigned n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = t[--n];
	return p;
}

/* ---- timer lists, epoll interest, closing ------------------------------ */

static void list_del(struct bcn_http_server *s, struct conn *c)
{
	if (c->list == L_NONE)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->head[c->list] = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->tail[c->list] = c->prev;
	c->prev = c->next = NULL;
	c->list = L_NONE;
}

/* Append c to list l, stamped now (stamps never decrease: FIFO = by age). */
static void list_put(struct bcn_http_server *s, struct conn *c, int l)
{
	list_del(s, c);
	c->list = (uint8_t)l;
	c->t_list = s->now_ms;
	c->prev = s->tail[l];
	c->next = NULL;
	if (c->prev)
		c->prev->next = c;
	else
		s->head[l] = c;
	s->tail[l] = c;
}

static void timer_arm(struct bcn_http_server *s, int on)
{
	struct itimerspec it = { { 0, 0 }, { 0, 0 } };
	if (on)
		it.it_value.tv_nsec = it.it_interval.tv_nsec = s->tick_ms * 1000000;
	/* if this fails, timers still run on every poll; nesting callers
	 * merely wake later */
	timerfd_settime(s->tfd, 0, &it, NULL);
}

static void listen_set(struct bcn_http_server *s, int on)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = TAG_LISTEN };
	if (on && !s->listening && !s->stopping) {
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &e) == 0)
			s->listening = 1;
	} else if (!on && s->listening) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, &e);
		s->listening = 0;
	}
}

static void conn_close(struct bcn_http_server *s, struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	if (c->large >= 0)
		s->large_free[s->nlarge_free++] = (unsigned)c->large;
	c->large = -1;
	list_del(s, c);
	c->state = C_FREE;
	c->fd = -1;
	c->gen++;
	c->next = s->free;
	s->free = c;
	st_add(s, ST(conns_closed), 1);
	st_add(s, ST(conns_open), (uint64_t)-1);
	if (--s->nopen == 0)
		timer_arm(s, 0);
}

/* Switch c's epoll interest.  Returns 0, or -1 if that failed (c closed). */
static int conn_watch(struct bcn_http_server *s, struct conn *c, uint32_t events)
{
	struct epoll_event e = { .events = events,
				 .data.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - s->conns) };
	if (c->events == events)
		return 0;
	if (unlikely(epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) < 0)) {
		st_add(s, ST(io_errors), 1);
		conn_close(s, c);
		return -1;
	}
	c->events = events;
	return 0;
}

/* ---- responses --------------------------------------------------------- */

static int hdr_ok(const char *v, size_t max, int need_colon)
{
	if (!v)
		return 1;
	size_t n = strnlen(v, max + 1);
	return n <= max && strcspn(v, "\r\n") == n && (!need_colon || (n && memchr(v, ':', n)));
}

static int resp_ok(const struct bcn_http_server *s, const struct bcn_http_resp *r)
{
	return r->status >= 200 && r->status <= 599 && r->body_len <= s->lim.resp_max &&
	       (r->body || !r->body_len) && hdr_ok(r->content_type, CTYPE_MAX, 0) &&
	       hdr_ok(r->extra_header, EXTRA_MAX, 1);
}

/*
 * Append a response (valid: resp_ok) to c's output, with Connection: close
 * if c->close_after.  head: send the body's length but not the body.
 * Returns 0, or -1 if it does not fit (then nothing was written; only an
 * engine 408 on a connection whose output is stuck can meet that).
 */
static int out_response(struct bcn_http_server *s, struct conn *c, const struct bcn_http_resp *r,
			int head)
{
	int nobody = r->status == 204 || r->status == 304;
	size_t blen = nobody ? 0 : r->body_len;
	const char *reason = http_status_str((enum http_status)r->status);
	char *p0 = c->out + c->out_len, *p = p0;

	if (unlikely(s->out_cap - c->out_len < HDR_ROOM + (head ? 0 : blen)))
		return -1;
	if (reason[0] == '<') /* "<unknown>" */
		reason = "Unknown";
	p = PUT(p, "HTTP/1.1 ");
	p = put_u(p, (uint64_t)r->status);
	*p++ = ' ';
	p = put(p, reason, strlen(reason));
	if (r->content_type) {
		p = PUT(p, "\r\nContent-Type: ");
		p = put(p, r->content_type, strlen(r->content_type));
	}
	if (!nobody) {
		p = PUT(p, "\r\nContent-Length: ");
		p = put_u(p, blen);
	}
	if (r->retry_after_s) {
		p = PUT(p, "\r\nRetry-After: ");
		p = put_u(p, r->retry_after_s);
	}
	if (r->extra_header) {
		p = PUT(p, "\r\n");
		p = put(p, r->extra_header, strlen(r->extra_header));
	}
	p = c->close_after ? PUT(p, "\r\nConnection: close\r\n\r\n")
			   : PUT(p, "\r\nConnection: keep-alive\r\n\r\n");
	if (!head && blen)
		p = put(p, r->body, blen);
	c->out_len += (uint32_t)(p - p0);
	st_add(s, ST(responses) + status_ix(r->status), 1);
	return 0;
}

/* Answer status ourselves (empty body) and end the connection after it. */
static void conn_fail(struct bcn_http_server *s, struct conn *c, int status, unsigned retry_after)
{
	struct bcn_http_resp r = { .status = status, .retry_after_s = retry_after };
	if (status == 400)
		st_add(s, ST(parse_errors), 1);
	c->close_after = 1;
	if (out_response(s, c, &r, 0) == 0) /* no message begun: from the read */
		c->lat_t0 = c->t0 ? c->t0 : c->t_read;
}

/*
 * Send pending output.  Returns 0 when everything is sent, 1 when the
 * socket is full (EPOLLOUT armed), -1 when c was closed (send failed).
 */
static int conn_flush(struct bcn_http_server *s, struct conn *c)
{
	int moved = 0;
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (uint32_t)n;
			st_add(s, ST(bytes_out), (uint64_t)n);
			moved = 1;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (moved && c->list == L_IDLE)
				list_put(s, c, L_IDLE); /* the client reads: not stuck */
			return conn_watch(s, c, EPOLLOUT) < 0 ? -1 : 1;
		} else {
			st_add(s, ST(io_errors), 1);
			conn_close(s, c);
			return -1;
		}
	}
	c->out_off = c->out_len = 0;
	if (c->lat_t0) {
		lat_observe(s, clock_ns() - c->lat_t0);
		c->lat_t0 = 0;
	}
	return 0;
}

/*
 * The last response is handed to the kernel: half-close, and drain what the
 * client still sends until it closes too (or linger_ms).  Closing at once
 * would make the kernel answer any unread or late input (a pipelined
 * request, the body after a 413) with a reset, which throws away the part
 * of our response still in its send queue.
 */
static void conn_end(struct bcn_http_server *s, struct conn *c)
{
	if (c->large >= 0) {
		s->large_free[s->nlarge_free++] = (unsigned)c->large;
		c->large = -1;
		c->in = c->own;
		c->in_cap = (uint32_t)s->lim.conn_buf;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	c->drained = 0;
	if (conn_watch(s, c, EPOLLIN) == 0)
		list_put(s, c, L_LINGER);
}

static void conn_drain(struct bcn_http_server *s, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in, c->in_cap, 0);
		if (n > 0) {
			st_add(s, ST(bytes_in), (uint64_t)n);
			c->drained += (uint64_t)n;
			if (c->drained <= s->lim.header_max + s->lim.body_max)
				return;
			break; /* enough: it does not stop */
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break; /* EOF or reset */
	}
	conn_close(s, c);
}

/* ---- parser callbacks ---------------------------------------------------- */

static void msg_reset(struct conn *c)
{
	static const struct span none = { NONE, 0 };
	c->url = c->field = c->auth = c->ctype = c->expect = none;
	c->cur = NULL;
	c->hstate = HS_NONE;
	c->headers_done = c->keep = c->framed = 0;
	c->body_off = NONE;
	c->body_len = 0;
	c->err = 0;
	c->t0 = 0;
}

static inline uint32_t off_in(const struct conn *c, const char *at)
{
	return (uint32_t)(at - (c->in + c->msg));
}

static int cb_fail(struct conn *c, int status)
{
	c->err = status;
	return -1;
}

static int on_begin(http_parser *p)
{
	struct conn *c = p->data;
	msg_reset(c);
	c->t0 = c->t_read;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	uint32_t off = off_in(c, at);
	if (unlikely(off + n > c->srv->lim.header_max))
		return cb_fail(c, 431);
	if (c->url.off == NONE) /* pieces are contiguous in the buffer */
		c->url.off = off;
	c->url.len = off + (uint32_t)n - c->url.off;
	return 0;
}

static struct span *hdr_slot(struct conn *c)
{
	const char *f = c->in + c->msg + c->field.off;
	size_t n = c->field.len;
	if (n == 13 && !strncasecmp(f, "authorization", 13))
		return &c->auth;
	if (n == 12 && !strncasecmp(f, "content-type", 12))
		return &c->ctype;
	if (n == 6 && !strncasecmp(f, "expect", 6))
		return &c->expect;
	return NULL;
}

/* A field or value may come in pieces (one per parser call); a piece that
 * starts where the last one ended continues it. */
static int on_field(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	uint32_t off = off_in(c, at);
	if (c->headers_done) /* chunked trailers: ignored */
		return 0;
	if (unlikely(off + n > c->srv->lim.header_max))
		return cb_fail(c, 431);
	if (c->hstate == HS_FIELD && off == c->field.off + c->field.len) {
		c->field.len += (uint32_t)n;
	} else {
		c->field.off = off;
		c->field.len = (uint32_t)n;
		c->hstate = HS_FIELD;
	}
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	uint32_t off = off_in(c, at);
	if (c->headers_done)
		return 0;
	if (unlikely(off + n > c->srv->lim.header_max))
		return cb_fail(c, 431);
	if (c->hstate == HS_VALUE) {
		if (!c->cur)
			return 0;
		if (unlikely(off != c->cur->off + c->cur->len))
			return cb_fail(c, 400); /* folded: not one string */
		c->cur->len += (uint32_t)n;
		return 0;
	}
	c->hstate = HS_VALUE;
	c->cur = hdr_slot(c);
	if (!c->cur)
		return 0;
	if (unlikely(c->cur->off != NONE))
		return cb_fail(c, 400); /* duplicate: which one counts? */
	c->cur->off = off;
	c->cur->len = (uint32_t)n;
	return 0;
}

/* The span's bytes without trailing blanks (http-parser drops leading ones). */
static const char *span_str(const struct conn *c, const struct span *sp, size_t *n)
{
	const char *v = c->in + c->msg + sp->off;
	size_t l = sp->len;
	if (sp->off == NONE) {
		*n = 0;
		return NULL;
	}
	while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
		l--;
	*n = l;
	return v;
}

static int on_headers(http_parser *p)
{
	struct conn *c = p->data;
	struct bcn_http_server *s = c->srv;
	int has_len = (p->flags & F_CONTENTLENGTH) != 0;

	c->headers_done = 1;
	c->keep = (uint8_t)http_should_keep_alive(p);
	c->framed = has_len || (p->flags & F_CHUNKED);
	if (unlikely(p->http_major != 1))
		return cb_fail(c, 400);
	if (unlikely(has_len && p->content_length > s->lim.body_max))
		return cb_fail(c, 413);
	if (c->expect.off != NONE && p->http_minor >= 1) {
		size_t n;
		const char *v = span_str(c, &c->expect, &n);
		if (n != 12 || strncasecmp(v, "100-continue", 12))
			return cb_fail(c, 417);
		if ((p->flags & F_CHUNKED) || (has_len && p->content_length > 0)) {
			/* room: the output was empty when this message began */
			memcpy(c->out + c->out_len, CONTINUE, CONTINUE_LEN);
			c->out_len += (uint32_t)CONTINUE_LEN;
			st_add(s, ST(responses) + status_ix(100), 1);
		}
	}
	return 0;
}

/* Move each piece down to the end of the body so far: in place, since
 * decoded bytes never outrun the raw ones. */
static int on_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	char *dst;
	if (c->body_off == NONE)
		c->body_off = off_in(c, at);
	if (unlikely(c->body_len + n > c->srv->lim.body_max))
		return cb_fail(c, 413);
	dst = c->in + c->msg + c->body_off + c->body_len;
	if (dst != at)
		memmove(dst, at, n);
	c->body_len += (uint32_t)n;
	return 0;
}

static int on_complete(http_parser *p)
{
	http_parser_pause(p, 1); /* one message at a time: see conn_process */
	return 0;
}

/* ---- requests ------------------------------------------------------------ */

/* The current message was answered: drop its bytes, give back a large
 * buffer if what follows fits in our own, and restart the request timer. */
static void msg_done(struct bcn_http_server *s, struct conn *c)
{
	uint32_t rest = c->in_len - c->in_pos;
	if (c->large >= 0 && rest <= s->lim.conn_buf) {
		memcpy(c->own, c->in + c->in_pos, rest);
		s->large_free[s->nlarge_free++] = (unsigned)c->large;
		c->large = -1;
		c->in = c->own;
		c->in_cap = (uint32_t)s->lim.conn_buf;
		c->in_len = rest;
		c->in_pos = 0;
	} else if (!rest) {
		c->in_len = c->in_pos = 0;
	}
	c->msg = c->in_pos;
	c->served = 1;
	msg_reset(c);
	list_del(s, c); /* conn_retime puts it back, stamped now */
}

static void conn_dispatch(struct bcn_http_server *s, struct conn *c)
{
	const char *b = c->in + c->msg;
	struct bcn_http_req q = { .method = BCN_HTTP_OTHER };
	struct bcn_http_resp r = { .status = 500, .body = s->scratch, .body_cap = s->lim.resp_max };
	const char *u = c->url.off != NONE ? b + c->url.off : b;
	size_t un = c->url.off != NONE ? c->url.len : 0, pl = 0;

	switch (c->hp.method) {
	case HTTP_GET: q.method = BCN_HTTP_GET; break;
	case HTTP_POST: q.method = BCN_HTTP_POST; break;
	case HTTP_HEAD: q.method = BCN_HTTP_HEAD; break;
	default: break;
	}
	if (un && u[0] != '/') { /* absolute-form: skip scheme and authority */
		const char *sep = memmem(u, un, "://", 3), *end = u + un;
		if (sep) {
			for (sep += 3; sep < end && *sep != '/' && *sep != '?' && *sep != '#';)
				sep++;
			un = (size_t)(end - sep);
			u = sep;
		}
	}
	while (pl < un && u[pl] != '?' && u[pl] != '#')
		pl++;
	q.path = u;
	q.path_len = pl;
	if (pl < un && u[pl] == '?') {
		size_t qe = pl + 1;
		while (qe < un && u[qe] != '#')
			qe++;
		q.query = u + pl + 1;
		q.query_len = qe - pl - 1;
	}
	q.auth = span_str(c, &c->auth, &q.auth_len);
	q.content_type = span_str(c, &c->ctype, &q.content_type_len);
	q.body = b + (c->body_off != NONE ? c->body_off : 0);
	q.body_len = c->body_len;
	q.length_known = c->framed;
	q.keep_alive = c->keep && !s->stopping && !c->hp.upgrade;
	q.http_minor = c->hp.http_minor ? 1 : 0;

	s->handler(s->ctx, &q, &r);
	s->handled++;
	st_add(s, ST(requests), 1);
	if (unlikely(!resp_ok(s, &r)))
		r = (struct bcn_http_resp){ .status = 500 };
	c->close_after = !q.keep_alive || r.close;
	/* fits: the output held at most a 100 Continue */
	out_response(s, c, &r, q.method == BCN_HTTP_HEAD);
	c->lat_t0 = c->t0;
	msg_done(s, c);
}

/*
 * Parse and answer buffered requests while the output is empty and the
 * connection is not closing.  Returns -1 if c was closed, else 0 (an error
 * answer may be queued: conn_settle sends it).
 */
static int conn_process(struct bcn_http_server *s, struct conn *c)
{
	while (!c->close_after && !c->out_len && c->in_pos < c->in_len) {
		size_t len = c->in_len - c->in_pos;
		size_t n = http_parser_execute(&c->hp, &s->hs, c->in + c->in_pos, len);
		enum http_errno e = HTTP_PARSER_ERRNO(&c->hp);

		c->in_pos += (uint32_t)n;
		if (unlikely(c->err)) {
			conn_fail(s, c, c->err, 0);
		} else if (e == HPE_PAUSED) {
			http_parser_pause(&c->hp, 0);
			conn_dispatch(s, c);
			if (conn_flush(s, c) < 0)
				return -1;
		} else if (unlikely(e != HPE_OK || n != len)) {
			conn_fail(s, c, e == HPE_HEADER_OVERFLOW ? 431 : 400, 0);
		} else if (!c->headers_done && c->in_len - c->msg > s->lim.header_max) {
			conn_fail(s, c, 431, 0);
		} else if (c->body_off != NONE) {
			/* all parsed, the message goes on: drop chunk framing */
			c->in_len = c->in_pos = c->msg + c->body_off + c->body_len;
		}
	}
	return 0;
}

/*
 * Make room to read: compact, or lend a large buffer when the request alone
 * fills ours.  Returns 0, or -1 when the request may not grow (an error
 * answer is queued).
 */
static int conn_room(struct bcn_http_server *s, struct conn *c)
{
	if (c->msg && c->in_cap - c->in_len < c->in_cap / 4) {
		memmove(c->in, c->in + c->msg, c->in_len - c->msg);
		c->in_len -= c->msg;
		c->in_pos -= c->msg;
		c->msg = 0;
	}
	if (c->in_len < c->in_cap)
		return 0;
	if (c->large >= 0) { /* only if blank-padded headers outgrew header_max
			      * within one read: refuse like any oversize */
		conn_fail(s, c, c->headers_done ? 413 : 431, 0);
		return -1;
	}
	if (unlikely(!s->nlarge_free)) {
		st_add(s, ST(large_shortages), 1);
		conn_fail(s, c, 503, 1);
		return -1;
	}
	c->large = (int)s->large_free[--s->nlarge_free];
	memcpy(s->large_base + (size_t)c->large * s->large_size, c->in, c->in_len);
	c->in = s->large_base + (size_t)c->large * s->large_size;
	c->in_cap = (uint32_t)s->large_size;
	st_add(s, ST(large_lends), 1);
	return 0;
}

/* Read once and process.  Returns -1 if c was closed. */
static int conn_read(struct bcn_http_server *s, struct conn *c)
{
	ssize_t n;
	if (conn_room(s, c) < 0)
		return 0;
	do
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			st_add(s, ST(io_errors), 1);
		conn_close(s, c); /* EOF: nothing more to answer */
		return -1;
	}
	st_add(s, ST(bytes_in), (uint64_t)n);
	c->in_len += (uint32_t)n;
	c->t_read = clock_ns();
	return conn_process(s, c);
}

/* After any event: send, end if done, else watch the right event and keep
 * the connection on the right timer list. */
static void conn_settle(struct bcn_http_server *s, struct conn *c)
{
	int r = conn_flush(s, c);
	if (r < 0)
		return;
	if (r == 0 && c->close_after) {
		conn_end(s, c);
		return;
	}
	if (r == 0 && conn_watch(s, c, EPOLLIN) < 0)
		return;
	int l = (c->in_len > c->msg || !c->served) ? L_REQ : L_IDLE;
	if (c->list != l)
		list_put(s, c, l);
}

static void conn_event(struct bcn_http_server *s, struct conn *c, uint32_t ev)
{
	if (c->state == C_LINGER) {
		conn_drain(s, c);
		return;
	}
	if (c->out_len) { /* EPOLLOUT */
		if (conn_flush(s, c) != 0)
			return;
		if (!c->close_after && conn_process(s, c) < 0) /* pipelined ones */
			return;
	} else if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (conn_read(s, c) < 0)
			return;
	}
	conn_settle(s, c);
}

static void srv_accept(struct bcn_http_server *s)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct conn *c = s->free;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE, ENOBUFS...: the backlog stays readable, so
			 * stop listening until the next tick */
			st_add(s, ST(accept_errors), 1);
			listen_set(s, 0);
			return;
		}
		if (!c) {
			close(fd);
			st_add(s, ST(conns_refused), 1);
			continue;
		}
		struct epoll_event e = { .events = EPOLLIN,
					 .data.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - s->conns) };
		if (unlikely(epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0)) {
			close(fd);
			st_add(s, ST(accept_errors), 1);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
		s->free = c->next;
		c->fd = fd;
		c->state = C_OPEN;
		c->events = EPOLLIN;
		c->in = c->own;
		c->in_cap = (uint32_t)s->lim.conn_buf;
		c->in_len = c->in_pos = c->msg = 0;
		c->out_len = c->out_off = 0;
		c->close_after = c->served = 0;
		c->lat_t0 = c->t_read = 0;
		http_parser_init(&c->hp, HTTP_REQUEST);
		c->hp.data = c;
		msg_reset(c);
		c->next = NULL;
		list_put(s, c, L_REQ);
		if (s->nopen++ == 0)
			timer_arm(s, 1);
		st_add(s, ST(conns_accepted), 1);
		st_add(s, ST(conns_open), 1);
	}
}

static void run_timers(struct bcn_http_server *s)
{
	struct conn *c;
	while ((c = s->head[L_REQ]) && s->now_ms - c->t_list >= s->tmo[L_REQ]) {
		st_add(s, ST(conns_closed_timeout), 1);
		if (c->in_len > c->msg) { /* a request had started: 408, best effort */
			conn_fail(s, c, 408, 0);
			if (conn_flush(s, c) < 0)
				continue;
		}
		conn_close(s, c);
	}
	while ((c = s->head[L_IDLE]) && s->now_ms - c->t_list >= s->tmo[L_IDLE]) {
		st_add(s, c->out_len ? ST(conns_closed_timeout) : ST(conns_closed_idle), 1);
		conn_close(s, c);
	}
	while ((c = s->head[L_LINGER]) && s->now_ms - c->t_list >= s->tmo[L_LINGER])
		conn_close(s, c);
}

/* ---- API ------------------------------------------------------------------ */

void bcn_http_limits_defaults(struct bcn_http_limits *l)
{
	l->max_conns = 256;
	l->header_max = 8 << 10;
	l->body_max = 256 << 10;
	l->conn_buf = 16 << 10;
	l->large_bufs = 4;
	l->resp_max = 64 << 10;
	l->idle_ms = 30000;
	l->request_ms = 10000;
	l->linger_ms = 2000;
}

static int limits_ok(const struct bcn_http_limits *l)
{
	return l->max_conns >= 1 && l->max_conns <= (1u << 20) && l->header_max >= 256 &&
	       l->header_max <= HTTP_MAX_HEADER_SIZE && l->conn_buf >= 1024 && l->conn_buf <= GIB &&
	       l->body_max <= GIB && l->resp_max <= GIB && l->large_bufs <= 4096 && l->idle_ms &&
	       l->request_ms && l->linger_ms;
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

struct bcn_http_server *bcn_http_server_new(int listen_fd, const struct bcn_http_limits *limits,
					    bcn_http_handler_fn handler, void *ctx)
{
	struct bcn_http_limits lim;
	struct bcn_http_server *s;
	int fl, e;

	if (limits)
		lim = *limits;
	else
		bcn_http_limits_defaults(&lim);
	if (listen_fd < 0 || !handler || !limits_ok(&lim)) {
		errno = EINVAL;
		return NULL;
	}
	/* one block: server, slots, large-buffer stack, scratch, buffers */
	size_t nc = lim.max_conns, out_cap = lim.resp_max + HDR_ROOM + CONTINUE_LEN;
	size_t large_size = lim.header_max + lim.body_max;
	size_t o_conns = align64(sizeof(*s));
	size_t o_free = align64(o_conns + nc * sizeof(struct conn));
	size_t o_scratch = align64(o_free + lim.large_bufs * sizeof(unsigned));
	size_t o_in = align64(o_scratch + lim.resp_max);
	size_t o_out = align64(o_in + nc * lim.conn_buf);
	size_t o_large = align64(o_out + nc * out_cap);
	size_t total = o_large + lim.large_bufs * large_size;
	char *m = calloc(1, total);
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	s = (struct bcn_http_server *)m;
	s->lim = lim;
	s->mem = total;
	s->handler = handler;
	s->ctx = ctx;
	s->lfd = listen_fd;
	s->conns = (struct conn *)(m + o_conns);
	s->large_free = (unsigned *)(m + o_free);
	s->scratch = m + o_scratch;
	s->large_base = m + o_large;
	s->large_size = large_size;
	s->out_cap = out_cap;
	for (unsigned i = 0; i < lim.large_bufs; i++)
		s->large_free[i] = lim.large_bufs - 1 - i;
	s->nlarge_free = lim.large_bufs;
	for (size_t i = nc; i-- > 0;) {
		struct conn *c = &s->conns[i];
		c->srv = s;
		c->fd = -1;
		c->large = -1;
		c->list = L_NONE;
		c->own = m + o_in + i * lim.conn_buf;
		c->out = m + o_out + i * out_cap;
		c->next = s->free;
		s->free = c;
	}
	s->tmo[L_REQ] = lim.request_ms;
	s->tmo[L_IDLE] = lim.idle_ms;
	s->tmo[L_LINGER] = lim.linger_ms;
	s->tick_ms = TICK_MS;
	for (int l = 0; l < L_COUNT; l++)
		if (s->tmo[l] / 4 < s->tick_ms)
			s->tick_ms = s->tmo[l] / 4 ? s->tmo[l] / 4 : 1;
	s->now_ms = s->last_tick = clock_ms();

	http_parser_settings_init(&s->hs);
	s->hs.on_message_begin = on_begin;
	s->hs.on_url = on_url;
	s->hs.on_header_field = on_field;
	s->hs.on_header_value = on_value;
	s->hs.on_headers_complete = on_headers;
	s->hs.on_body = on_body;
	s->hs.on_message_complete = on_complete;

	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event te = { .events = EPOLLIN, .data.u64 = TAG_TIMER };
	if (s->ep < 0 || s->tfd < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tfd, &te) < 0)
		goto fail;
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	listen_set(s, 1);
	if (!s->listening)
		goto fail;
	return s;
fail:
	e = errno;
	if (s->ep >= 0)
		close(s->ep);
	if (s->tfd >= 0)
		close(s->tfd);
	free(m);
	errno = e;
	return NULL;
}

size_t bcn_http_server_mem_bytes(const struct bcn_http_server *srv)
{
	return srv->mem;
}

int bcn_http_server_fd(const struct bcn_http_server *srv)
{
	return srv->ep;
}

int bcn_http_server_poll(struct bcn_http_server *s, int timeout_ms)
{
	int n = epoll_wait(s->ep, s->ev, NEVENTS, timeout_ms);
	if (unlikely(n < 0)) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	s->now_ms = clock_ms();
	s->handled = 0;
	for (int i = 0; i < n; i++) {
		uint64_t tag = s->ev[i].data.u64;
		if (tag == TAG_LISTEN) {
			srv_accept(s);
		} else if (tag == TAG_TIMER) {
			uint64_t ticks;
			if (read(s->tfd, &ticks, sizeof(ticks)) < 0) {
				/* EAGAIN: already read; nothing to do */
			}
		} else {
			struct conn *c = &s->conns[(uint32_t)tag];
			if (c->state != C_FREE && c->gen == (uint32_t)(tag >> 32))
				conn_event(s, c, s->ev[i].events);
		}
	}
	if (s->now_ms - s->last_tick >= s->tick_ms) {
		s->last_tick = s->now_ms;
		listen_set(s, 1); /* after an accept error */
		run_timers(s);
	}
	return s->handled;
}

void bcn_http_server_stop_accepting(struct bcn_http_server *s)
{
	struct conn *c, *next;
	listen_set(s, 0);
	s->stopping = 1;
	for (c = s->head[L_IDLE]; c; c = next) {
		next = c->next;
		if (!c->out_len)
			conn_close(s, c);
	}
}

unsigned bcn_http_server_open_conns(const struct bcn_http_server *srv)
{
	return srv->nopen;
}

void bcn_http_server_free(struct bcn_http_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->lim.max_conns; i++)
		if (s->conns[i].state != C_FREE)
			close(s->conns[i].fd);
	close(s->ep);
	close(s->tfd);
	free(s);
}

void bcn_http_stats_read(const struct bcn_http_server *s, struct bcn_http_stats *out)
{
	for (size_t i = 0; i < NSTATS; i++) {
		uint64_t v = atomic_load_explicit(&s->st[i], memory_order_relaxed);
		memcpy((char *)out + i * sizeof(uint64_t), &v, sizeof(v));
	}
	for (unsigned i = 1; i < BCN_HTTP_NLAT; i++) /* per bucket -> cumulative */
		out->lat_le[i] += out->lat_le[i - 1];
}

const char *bcn_http_status_label(unsigned i)
{
	return i < BCN_HTTP_NSTATUS ? status_labels[i] : NULL;
}

const char *bcn_http_lat_label(unsigned i)
{
	return i < BCN_HTTP_NLAT ? lat_labels[i] : NULL;
}
