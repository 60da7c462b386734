/*
 * test_http.c - unit tests of the HTTP/1.1 server engine
 * (drivers/socket/bcn_http.c) over real loopback sockets.
 *
 * Why this way: the engine's job is what happens on the wire (framing,
 * keep-alive, pipelining, limits, partial writes, timeouts), so each test
 * opens a listening socket on 127.0.0.1 port 0 and talks to it through
 * ordinary non-blocking client sockets, in the same thread: the test drives
 * the server with bcn_http_server_poll between client writes and reads.
 * Every wait has a deadline (WAIT_MS); a test that times out fails instead
 * of hanging.  Responses are parsed here by hand, independently of the
 * engine and of http-parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include "bcn_http.h"

#define WAIT_MS 3000
#define W_EOF   1 /* cl_wait: also wait for the server to close */
#define W_HEAD  2 /* cl_wait/cl_next: responses to HEAD (no body) */

/* The fixture: one server, and what its handler saw last. */
static struct {
	int lfd;
	unsigned short port;
	struct bcn_http_server *srv;
	int calls;
	enum bcn_http_method method;
	int has_query, has_auth, keep_alive, length_known;
	char path[256], query[256], auth[256], ctype[128];
	size_t body_len;
	char body[300 << 10];
} F;

struct cl {
	int fd;
	int eof, reset;
	size_t len, pos;
	char buf[1 << 19];
};
static struct cl CL[4];

struct rsp {
	int status, has_clen;
	size_t clen;
	char conn[32], ctype[64], extra[64];
	unsigned retry;
	const char *body;
	size_t body_len;
};

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void cp(char *dst, size_t cap, const char *s, size_t n)
{
	if (!s)
		n = 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = 0;
}

static void handler(void *ctx, const struct bcn_http_req *q, struct bcn_http_resp *r)
{
	(void)ctx;
	F.calls++;
	F.method = q->method;
	cp(F.path, sizeof(F.path), q->path, q->path_len);
	F.has_query = q->query != NULL;
	cp(F.query, sizeof(F.query), q->query, q->query_len);
	F.has_auth = q->auth != NULL;
	cp(F.auth, sizeof(F.auth), q->auth, q->auth_len);
	cp(F.ctype, sizeof(F.ctype), q->content_type, q->content_type_len);
	F.body_len = q->body_len;
	memcpy(F.body, q->body, q->body_len < sizeof(F.body) ? q->body_len : sizeof(F.body));
	F.keep_alive = q->keep_alive;
	F.length_known = q->length_known;

#define IS(p) (q->path_len == strlen(p) && !memcmp(q->path, p, q->path_len))
	if (IS("/hello")) {
		r->status = 200;
		r->content_type = "text/plain";
		memcpy(r->body, "hello\n", 6);
		r->body_len = 6;
	} else if (IS("/echo")) {
		r->status = 200;
		r->content_type = "application/octet-stream";
		r->body_len = q->body_len < r->body_cap ? q->body_len : r->body_cap;
		memcpy(r->body, q->body, r->body_len);
	} else if (IS("/204")) {
		r->status = 204;
		memcpy(r->body, "zz", 2); /* must not be sent */
		r->body_len = 2;
	} else if (IS("/big")) {
		size_t n = strtoul(F.query + 2, NULL, 10); /* ?n=N */
		if (n > r->body_cap)
			n = r->body_cap;
		for (size_t i = 0; i < n; i++)
			r->body[i] = (char)('a' + (i * 7 + i / 26) % 26);
		r->status = 200;
		r->body_len = n;
	} else if (IS("/retry")) {
		r->status = 429;
		r->retry_after_s = 7;
		r->extra_header = "X-Test: yes";
	} else if (IS("/close")) {
		r->status = 200;
		r->close = 1;
	} else if (IS("/bad")) {
		r->status = 99; /* invalid: the engine answers 500 */
	} else if (IS("/inject")) {
		r->status = 200; /* a header line that would split the response */
		r->extra_header = "X-Test: a\r\nSet-Cookie: x";
	} else {
		r->status = 404;
	}
#undef IS
}

static int big_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)('a' + (i * 7 + i / 26) % 26))
			return 0;
	return 1;
}

/* ---- server and client helpers ------------------------------------------ */

/* Start a server; lim NULL: defaults.  sndbuf > 0: the listening socket's
 * SO_SNDBUF (inherited by accepted sockets). */
static int srv_start(const struct bcn_http_limits *lim, int sndbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;

	F.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (F.lfd < 0)
		return -1;
	setsockopt(F.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sndbuf > 0)
		setsockopt(F.lfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (bind(F.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(F.lfd, 64) < 0 ||
	    getsockname(F.lfd, (struct sockaddr *)&a, &al) < 0) {
		close(F.lfd);
		return -1;
	}
	F.port = ntohs(a.sin_port);
	F.calls = 0;
	F.srv = bcn_http_server_new(F.lfd, lim, handler, NULL);
	if (!F.srv) {
		close(F.lfd);
		return -1;
	}
	return 0;
}

static void srv_stop(void)
{
	for (unsigned i = 0; i < 4; i++)
		if (CL[i].fd >= 0) {
			close(CL[i].fd);
			CL[i].fd = -1;
		}
	bcn_http_server_free(F.srv);
	F.srv = NULL;
	close(F.lfd);
}

static struct bcn_http_stats stats(void)
{
	struct bcn_http_stats s;
	bcn_http_stats_read(F.srv, &s);
	return s;
}

static void pump(int ms)
{
	int64_t end = now_ms() + ms;
	do
		bcn_http_server_poll(F.srv, 1);
	while (now_ms() < end);
}

/* Poll the server until cond() or the deadline.  Returns 0 / -1. */
#define PUMP_UNTIL(cond)                                                      \
	({                                                                     \
		int64_t end_ = now_ms() + WAIT_MS;                             \
		while (!(cond) && now_ms() < end_)                             \
			bcn_http_server_poll(F.srv, 1);                        \
		(cond) ? 0 : -1;                                               \
	})

static struct cl *cl_open(int i, int rcvbuf)
{
	struct cl *c = &CL[i];
	int one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(F.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (c->fd >= 0)
		close(c->fd);
	c->len = c->pos = 0;
	c->eof = c->reset = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* no Nagle: a small write must not wait for the server's delayed ACK */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* loopback: completes from the backlog, before the server accepts */
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) {
		CU_FAIL("client connect");
		return NULL;
	}
	return c;
}

static void cl_close(struct cl *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Read what is there (at most max bytes; 0: no limit). */
static void cl_pull(struct cl *c, size_t max)
{
	while (!c->eof && c->len < sizeof(c->buf)) {
		size_t room = sizeof(c->buf) - c->len;
		if (max && room > max)
			room = max;
		ssize_t n = recv(c->fd, c->buf + c->len, room, 0);
		if (n > 0) {
			c->len += (size_t)n;
			if (max)
				return;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof = 1;
			c->reset = n < 0;
		} else {
			return;
		}
	}
}

/* Send all of p, polling the server (and reading our side) when the socket
 * is full.  Returns 0, or -1 on error/deadline. */
static int cl_sendn(struct cl *c, const void *p, size_t n)
{
	int64_t end = now_ms() + WAIT_MS;
	while (n) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p = (const char *)p + k;
			n -= (size_t)k;
		} else if (k < 0 && (errno == EAGAIN || errno == EINTR) && now_ms() < end) {
			bcn_http_server_poll(F.srv, 1);
			cl_pull(c, 0);
		} else {
			return -1;
		}
	}
	return 0;
}

static int cl_send(struct cl *c, const char *s)
{
	return cl_sendn(c, s, strlen(s));
}

static void hdr_copy(char *dst, size_t cap, const char *v, const char *le)
{
	while (v < le && *v == ' ')
		v++;
	cp(dst, cap, v, (size_t)(le - v));
}

/* Parse one response at p[0..n).  Returns its length, 0 if incomplete, -1
 * if malformed. */
static long rsp_parse(const char *p, size_t n, struct rsp *r, int head)
{
	const char *e = memmem(p, n, "\r\n\r\n", 4), *l;
	memset(r, 0, sizeof(*r));
	if (!e)
		return n > 16384 ? -1 : 0;
	if (e - p < 12 || memcmp(p, "HTTP/1.1 ", 9) || p[12] != ' ')
		return -1;
	r->status = atoi(p + 9);
	l = memchr(p, '\n', (size_t)(e - p));
	for (l = l ? l + 1 : e + 4; l < e + 2;) {
		const char *le = memchr(l, '\r', (size_t)(e + 2 - l));
		if (!le || le[1] != '\n')
			return -1;
		if (!strncasecmp(l, "Content-Length:", 15)) {
			r->has_clen = 1;
			r->clen = strtoul(l + 15, NULL, 10);
		} else if (!strncasecmp(l, "Connection:", 11)) {
			hdr_copy(r->conn, sizeof(r->conn), l + 11, le);
		} else if (!strncasecmp(l, "Content-Type:", 13)) {
			hdr_copy(r->ctype, sizeof(r->ctype), l + 13, le);
		} else if (!strncasecmp(l, "Retry-After:", 12)) {
			r->retry = (unsigned)strtoul(l + 12, NULL, 10);
		} else if (!strncasecmp(l, "X-Test:", 7)) {
			hdr_copy(r->extra, sizeof(r->extra), l + 7, le);
		}
		l = le + 2;
	}
	size_t hl = (size_t)(e + 4 - p), bl = (head || !r->has_clen) ? 0 : r->clen;
	if (n < hl + bl)
		return 0;
	r->body = e + 4;
	r->body_len = bl;
	return (long)(hl + bl);
}

static int cl_count(struct cl *c, int head)
{
	struct rsp r;
	size_t pos = c->pos;
	long k;
	int n = 0;
	while ((k = rsp_parse(c->buf + pos, c->len - pos, &r, head)) > 0) {
		pos += (size_t)k;
		n++;
	}
	return k < 0 ? -1 : n;
}

/* Poll the server and read until n complete responses are buffered (and,
 * with W_EOF, the server closed).  Returns 0, or -1 (deadline, malformed,
 * or closed too early). */
static int cl_wait(struct cl *c, int n, int flags)
{
	int64_t end = now_ms() + WAIT_MS;
	for (;;) {
		bcn_http_server_poll(F.srv, 1);
		cl_pull(c, 0);
		int k = cl_count(c, flags & W_HEAD);
		if (k < 0)
			return -1;
		if (k >= n && (!(flags & W_EOF) || c->eof))
			return 0;
		if ((c->eof && k < n) || now_ms() > end)
			return -1;
	}
}

static int cl_next(struct cl *c, struct rsp *r, int head)
{
	long k = rsp_parse(c->buf + c->pos, c->len - c->pos, r, head);
	if (k <= 0)
		return -1;
	c->pos += (size_t)k;
	return 0;
}

/* One request, one response. */
static int roundtrip(struct cl *c, const char *req, struct rsp *r)
{
	if (cl_send(c, req) < 0 || cl_wait(c, 1, 0) < 0)
		return -1;
	return cl_next(c, r, 0);
}

#define BODY_IS(r, s) ((r).body_len == strlen(s) && !memcmp((r).body, s, strlen(s)))

/* ---- tests ------------------------------------------------------------------ */

static void t_new_bad_limits(void)
{
	struct bcn_http_limits l;
	bcn_http_limits_defaults(&l);
	l.header_max = 100 << 10; /* over http-parser's 80 KiB */
	errno = 0;
	CU_ASSERT_PTR_NULL(bcn_http_server_new(0, &l, handler, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	bcn_http_limits_defaults(&l);
	l.idle_ms = 0;
	CU_ASSERT_PTR_NULL(bcn_http_server_new(0, &l, handler, NULL));
	CU_ASSERT_PTR_NULL(bcn_http_server_new(-1, NULL, handler, NULL));
	CU_ASSERT_PTR_NULL(bcn_http_server_new(0, NULL, NULL, NULL));
}

static void t_get_post_head(void)
{
	struct rsp r;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	CU_ASSERT(bcn_http_server_mem_bytes(F.srv) > 256u * (16u << 10));
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /hello?x=1&y=2#frag HTTP/1.1\r\nHost: t\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(BODY_IS(r, "hello\n"));
	CU_ASSERT_STRING_EQUAL(r.ctype, "text/plain");
	CU_ASSERT_STRING_EQUAL(r.conn, "keep-alive");
	CU_ASSERT_EQUAL(F.method, BCN_HTTP_GET);
	CU_ASSERT_STRING_EQUAL(F.path, "/hello");
	CU_ASSERT(F.has_query);
	CU_ASSERT_STRING_EQUAL(F.query, "x=1&y=2");
	CU_ASSERT(!F.has_auth);
	CU_ASSERT_EQUAL(F.body_len, 0);
	CU_ASSERT(!F.length_known);
	CU_ASSERT(F.keep_alive);

	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
					   "authorization: Bearer abc.def  \r\n"
					   "Content-Type: application/json\r\n"
					   "Content-Length: 7\r\n\r\n{\"a\":1}", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(BODY_IS(r, "{\"a\":1}"));
	CU_ASSERT_EQUAL(F.method, BCN_HTTP_POST);
	CU_ASSERT(!F.has_query);
	CU_ASSERT(F.has_auth);
	CU_ASSERT_STRING_EQUAL(F.auth, "Bearer abc.def");
	CU_ASSERT_STRING_EQUAL(F.ctype, "application/json");
	CU_ASSERT(F.length_known);

	/* 204: no body, no Content-Length even though the handler wrote one */
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "POST /204 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", &r), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT(!r.has_clen);
	CU_ASSERT_STRING_EQUAL(r.conn, "keep-alive");

	/* HEAD: the length of the body, not the body; the next response
	 * starts right after the headers */
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "HEAD /hello HTTP/1.1\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_HEAD), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 1), 0);
	CU_ASSERT_EQUAL(F.method, BCN_HTTP_HEAD);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(r.has_clen && r.clen == 6);
	/* absolute-form target: the path and query only */
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET http://cinema.example:8080/hello?q=1 HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(F.path, "/hello");
	CU_ASSERT_STRING_EQUAL(F.query, "q=1");
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "DELETE /nothing HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_EQUAL(F.method, BCN_HTTP_OTHER);
	CU_ASSERT_EQUAL(c->pos, c->len); /* nothing stray */

	/* the handler's extras, and an invalid answer */
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /retry HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 429);
	CU_ASSERT_EQUAL(r.retry, 7);
	CU_ASSERT_STRING_EQUAL(r.extra, "yes");
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /bad HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT(r.has_clen && r.clen == 0);
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /inject HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT_STRING_EQUAL(r.extra, "");
	CU_ASSERT_EQUAL(F.calls, 9);
	srv_stop();
}

static void t_keepalive(void)
{
	struct rsp r[3];
	int rc[3];
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", &r[0]), 0); /* warm up */

	/* no allocation after bcn_http_server_new: the heap does not move
	 * while requests are served (no CUnit asserts in between) */
	struct mallinfo2 m0 = mallinfo2();
	rc[0] = roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", &r[0]);
	rc[1] = roundtrip(c, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &r[1]);
	rc[2] = roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", &r[2]);
	struct mallinfo2 m1 = mallinfo2();
	CU_ASSERT_EQUAL(m0.uordblks, m1.uordblks);

	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(rc[i], 0);
		CU_ASSERT_EQUAL(r[i].status, 200);
		CU_ASSERT_STRING_EQUAL(r[i].conn, "keep-alive");
	}
	CU_ASSERT(BODY_IS(r[1], "abc"));
	CU_ASSERT_EQUAL(stats().conns_accepted, 1);
	CU_ASSERT_EQUAL(bcn_http_server_open_conns(F.srv), 1);
	srv_stop();
}

static void t_pipelining(void)
{
	struct rsp r;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\na"
					 "\r\n" /* stray CRLF between messages is allowed */
					 "GET /204 HTTP/1.1\r\n\r\n"
					 "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nccc"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 3, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT(r.status == 200 && BODY_IS(r, "a"));
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT(r.status == 200 && BODY_IS(r, "ccc"));
	CU_ASSERT_EQUAL(c->pos, c->len);
	CU_ASSERT_EQUAL(F.calls, 3);
	srv_stop();
}

static void t_chunked(void)
{
	static const char req[] = "POST /echo HTTP/1.1\r\nAuthorization: Bearer tok-123\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"
				  "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer-X: y\r\n\r\n";
	struct rsp r;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, req, &r), 0);
	CU_ASSERT(r.status == 200 && BODY_IS(r, "hello world"));
	CU_ASSERT(F.length_known);

	/* the same, one byte per write: every field, value and chunk comes
	 * in pieces */
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		CU_ASSERT_EQUAL_FATAL(cl_sendn(c, req + i, 1), 0);
		pump(0);
	}
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT(r.status == 200 && BODY_IS(r, "hello world"));
	CU_ASSERT_STRING_EQUAL(F.auth, "Bearer tok-123");
	CU_ASSERT_EQUAL(F.calls, 2);
	srv_stop();
}

static void t_expect_continue(void)
{
	static char body[2000];
	struct rsp r;
	struct cl *c;
	memset(body, 'x', sizeof(body));
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* like curl: headers, wait for 100, then the body */
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 2000\r\n"
					 "Expect: 100-continue\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 100);
	CU_ASSERT_EQUAL(F.calls, 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(c, body, sizeof(body)), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(r.body_len == sizeof(body) && !memcmp(r.body, body, sizeof(body)));
	CU_ASSERT_EQUAL(stats().responses[0], 1); /* "100" */

	/* too large: 413 at once, no 100 */
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 999999\r\n"
					 "Expect: 100-continue\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT_EQUAL(stats().responses[0], 1);

	/* an expectation we do not know: 417 */
	c = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n"
					 "Expect: something\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 417);
	CU_ASSERT_EQUAL(F.calls, 1);
	srv_stop();
}

static void t_body_limit(void)
{
	static char body[5000];
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *c;
	bcn_http_limits_defaults(&l);
	l.body_max = 1000;
	memset(body, 'y', sizeof(body));
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);

	/* Content-Length over the limit: 413 before the body, then close
	 * (the body the client still sends is drained, not a reset) */
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(c, body, sizeof(body)), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT(!c->reset);

	/* exactly the limit is fine */
	c = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(c, body, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.body_len, 1000);

	/* chunked: the decoded body counts */
	c = cl_open(2, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(cl_send(c, "190\r\n"), 0); /* 400 bytes */
		CU_ASSERT_EQUAL_FATAL(cl_sendn(c, body, 400), 0);
		CU_ASSERT_EQUAL_FATAL(cl_send(c, "\r\n"), 0);
	}
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_EQUAL(stats().responses[9], 2); /* "413" */
	CU_ASSERT_EQUAL(F.calls, 1);
	srv_stop();
}

static void t_error_linger(void)
{
	static char body[3000];
	struct rsp r;
	struct cl *c;
	memset(body, 'w', sizeof(body));
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* 413 goes out before the body; the client sends it anyway (as a
	 * client without Expect does): the server must drain it, not reset */
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0); /* half-closed */
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(c, body, sizeof(body)), 0);
	pump(20);
	CU_ASSERT_EQUAL(bcn_http_server_open_conns(F.srv), 1); /* still draining */
	CU_ASSERT_EQUAL(recv(c->fd, body, sizeof(body), 0), 0); /* EOF, no reset */
	cl_close(c);
	CU_ASSERT_EQUAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 0), 0);
	CU_ASSERT_EQUAL(stats().bytes_in, strlen("POST /echo HTTP/1.1\r\nContent-Length: 999999\r\n\r\n") + sizeof(body));
	srv_stop();
}

static void t_small_buffer_stream(void)
{
	static const char one[] = "GET /hello HTTP/1.1\r\n\r\n";
	static char req[100 * (sizeof(one) - 1)];
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *c;
	int ok = 0;
	bcn_http_limits_defaults(&l);
	l.conn_buf = 1024;
	l.large_bufs = 0;
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* 100 pipelined requests, 2.3 KB, through a 1 KB buffer: compacted
	 * as it goes, never needs a large buffer */
	for (int i = 0; i < 100; i++)
		memcpy(req + i * (sizeof(one) - 1), one, sizeof(one) - 1);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(c, req, sizeof(req)), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 100, 0), 0);
	for (int i = 0; i < 100; i++)
		ok += cl_next(c, &r, 0) == 0 && r.status == 200 && BODY_IS(r, "hello\n");
	CU_ASSERT_EQUAL(ok, 100);
	CU_ASSERT_EQUAL(stats().large_lends, 0);
	CU_ASSERT_EQUAL(stats().large_shortages, 0);
	srv_stop();
}

static void t_header_limit(void)
{
	static char req[4096];
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *c;
	bcn_http_limits_defaults(&l);
	l.header_max = 1024;
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);

	/* just under: served */
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nX-Pad: %0900d\r\n\r\n", 0);
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, req, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);

	/* over, in one header: 431 */
	snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nX-Pad: %02000d\r\n\r\n", 0);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, req), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 431);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");

	/* over, in many small headers arriving slowly */
	c = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /hello HTTP/1.1\r\n"), 0);
	for (int i = 0; i < 100 && !c->eof; i++) {
		if (cl_send(c, "X-A: 0123456789\r\n") < 0)
			break;
		pump(0);
		cl_pull(c, 0);
	}
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 431);
	CU_ASSERT_EQUAL(stats().responses[11], 2); /* "431" */
	CU_ASSERT_EQUAL(F.calls, 1);
	srv_stop();
}

static void t_malformed(void)
{
	static const char *const bad[] = {
		"BLAH / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* TLS hello */
	};
	struct rsp r;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cl *c = cl_open(0, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL_FATAL(cl_send(c, bad[i]), 0);
		CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
		CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(r.conn, "close");
		cl_close(c);
	}
	CU_ASSERT_EQUAL(F.calls, 0);
	CU_ASSERT_EQUAL(stats().parse_errors, sizeof(bad) / sizeof(bad[0]));
	CU_ASSERT_EQUAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 0), 0);
	srv_stop();
}

static void t_max_conns(void)
{
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *a, *b, *x;
	bcn_http_limits_defaults(&l);
	l.max_conns = 2;
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);
	a = cl_open(0, 0);
	b = cl_open(1, 0);
	CU_ASSERT_FATAL(a && b);
	CU_ASSERT_EQUAL_FATAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 2), 0);
	x = cl_open(2, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL_FATAL(cl_wait(x, 0, W_EOF), 0); /* closed at once */
	CU_ASSERT_EQUAL(stats().conns_refused, 1);
	CU_ASSERT_EQUAL_FATAL(roundtrip(a, "GET /hello HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL_FATAL(roundtrip(b, "GET /hello HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	/* a slot frees: the next connection is served */
	cl_close(a);
	CU_ASSERT_EQUAL_FATAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 1), 0);
	x = cl_open(2, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL_FATAL(roundtrip(x, "GET /hello HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(stats().conns_accepted, 3);
	srv_stop();
}

static void t_large_buffers(void)
{
	static char body[4000];
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *a, *b;
	const char *hdr = "POST /echo HTTP/1.1\r\nContent-Length: 4000\r\n\r\n";
	bcn_http_limits_defaults(&l);
	l.conn_buf = 1024;
	l.header_max = 1024;
	l.body_max = 8192;
	l.large_bufs = 1;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('0' + i % 10);
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);

	/* a request over conn_buf borrows the large buffer */
	a = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(cl_send(a, hdr), 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(a, body, sizeof(body)), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(a, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(a, &r, 0), 0);
	CU_ASSERT(r.status == 200 && r.body_len == sizeof(body) && !memcmp(r.body, body, sizeof(body)));
	CU_ASSERT_EQUAL(stats().large_lends, 1);

	/* a holds it (half its body sent); b needs it too: 503 */
	CU_ASSERT_EQUAL_FATAL(cl_send(a, hdr), 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(a, body, 2000), 0);
	pump(20);
	CU_ASSERT_EQUAL(stats().large_lends, 2);
	b = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(cl_send(b, hdr), 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(b, body, sizeof(body)), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(b, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(b, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_EQUAL(r.retry, 1);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT_EQUAL(stats().large_shortages, 1);

	/* a finishes; the buffer comes back and serves the next one */
	CU_ASSERT_EQUAL_FATAL(cl_sendn(a, body + 2000, 2000), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(a, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(a, &r, 0), 0);
	CU_ASSERT(r.status == 200 && r.body_len == sizeof(body) && !memcmp(r.body, body, sizeof(body)));
	b = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(cl_send(b, hdr), 0);
	CU_ASSERT_EQUAL_FATAL(cl_sendn(b, body, sizeof(body)), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(b, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(b, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(stats().large_lends, 3);
	CU_ASSERT_EQUAL(stats().large_shortages, 1);
	CU_ASSERT_EQUAL(F.calls, 3);
	srv_stop();
}

static void t_idle_timeout(void)
{
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *c;
	bcn_http_limits_defaults(&l);
	l.idle_ms = 200;
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", &r), 0);
	int64_t t0 = now_ms();
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 0, W_EOF), 0);
	CU_ASSERT(now_ms() - t0 >= 150); /* not before idle_ms (coarse clock) */
	CU_ASSERT(!c->reset);
	CU_ASSERT_EQUAL(stats().conns_closed_idle, 1);
	CU_ASSERT_EQUAL(bcn_http_server_open_conns(F.srv), 0);
	srv_stop();
}

static void t_request_timeout(void)
{
	struct bcn_http_limits l;
	struct rsp r;
	struct cl *a, *b;
	bcn_http_limits_defaults(&l);
	l.request_ms = 200;
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);
	a = cl_open(0, 0); /* slowloris: a request that never ends */
	b = cl_open(1, 0); /* connects and says nothing */
	CU_ASSERT_FATAL(a && b);
	CU_ASSERT_EQUAL_FATAL(cl_send(a, "GET /hello HTTP/1.1\r\nX-Slow: "), 0);
	/* trickling a byte every 20 ms must not extend the deadline: the
	 * answer comes while we still trickle (which would go on for 1 s) */
	int64_t t0 = now_ms();
	while (!a->eof && now_ms() - t0 < 1000) {
		pump(20);
		cl_pull(a, 0);
		if (!a->eof)
			send(a->fd, "z", 1, MSG_NOSIGNAL); /* may race the close */
	}
	CU_ASSERT(a->eof);
	CU_ASSERT(now_ms() - t0 >= 150 && now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL_FATAL(cl_wait(a, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(a, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 408);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT_EQUAL_FATAL(cl_wait(b, 0, W_EOF), 0);
	CU_ASSERT_EQUAL(b->len, 0); /* closed without an answer */
	CU_ASSERT_EQUAL(stats().conns_closed_timeout, 2);
	CU_ASSERT_EQUAL(F.calls, 0);
	srv_stop();
}

static void t_connection_close(void)
{
	struct rsp r;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	/* what follows a Connection: close request is not answered */
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
					 "GET /hello HTTP/1.1\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT(!F.keep_alive);
	CU_ASSERT_EQUAL(c->pos, c->len);
	CU_ASSERT_EQUAL(F.calls, 1);

	/* the handler may close too */
	c = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /close HTTP/1.1\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT(F.keep_alive);
	/* half-closed, they drain until their clients close */
	CU_ASSERT_EQUAL(bcn_http_server_open_conns(F.srv), 2);
	cl_close(&CL[0]);
	cl_close(&CL[1]);
	CU_ASSERT_EQUAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 0), 0);
	srv_stop();
}

static void t_http10(void)
{
	struct rsp r;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /hello HTTP/1.0\r\n\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	CU_ASSERT(!F.keep_alive);
	cl_close(c);
	CU_ASSERT_EQUAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 0), 0);

	/* HTTP/1.0 asking for keep-alive gets it */
	c = cl_open(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.conn, "keep-alive");
	CU_ASSERT_EQUAL_FATAL(roundtrip(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(bcn_http_server_open_conns(F.srv), 1);
	srv_stop();
}

static void t_partial_writes(void)
{
	struct rsp r;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 4096), 0);
	c = cl_open(0, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /big?n=60000 HTTP/1.1\r\n\r\n"), 0);
	pump(30); /* the client reads nothing yet: the server must be stuck */
	struct bcn_http_stats s = stats();
	CU_ASSERT(s.bytes_out > 0 && s.bytes_out < 60000);
	CU_ASSERT_EQUAL(s.lat_count, 0); /* not all handed to the kernel yet */
	/* now a slow reader: 1000 bytes at a time */
	int64_t end = now_ms() + WAIT_MS;
	while (cl_count(c, 0) < 1 && !c->eof && now_ms() < end) {
		bcn_http_server_poll(F.srv, 1);
		cl_pull(c, 1000);
	}
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT(r.status == 200 && r.body_len == 60000 && big_ok(r.body, 60000));

	/* pipelined behind a stuck response: read and answered in order */
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /big?n=50000 HTTP/1.1\r\n\r\n"
					 "GET /big?n=30000 HTTP/1.1\r\n\r\n"
					 "GET /big?n=10 HTTP/1.1\r\n\r\n"), 0);
	end = now_ms() + WAIT_MS;
	while (cl_count(c, 0) < 3 && !c->eof && now_ms() < end) {
		bcn_http_server_poll(F.srv, 1);
		cl_pull(c, 1000);
	}
	static const size_t n[3] = { 50000, 30000, 10 };
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
		CU_ASSERT(r.status == 200 && r.body_len == n[i] && big_ok(r.body, n[i]));
	}
	s = stats();
	CU_ASSERT_EQUAL(s.bytes_out, c->len);
	CU_ASSERT_EQUAL(s.lat_count, 4);
	CU_ASSERT_EQUAL(s.io_errors, 0);

	/* Connection: close on a stuck response, and the client sends more
	 * meanwhile: the end of the response must not be lost to a reset */
	c = cl_open(1, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /big?n=60000 HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
	pump(20);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /hello HTTP/1.1\r\n\r\n"), 0);
	end = now_ms() + WAIT_MS;
	while (!c->eof && now_ms() < end) {
		bcn_http_server_poll(F.srv, 1);
		cl_pull(c, 1000);
	}
	CU_ASSERT(c->eof && !c->reset);
	CU_ASSERT_EQUAL(cl_count(c, 0), 1);
	CU_ASSERT_EQUAL_FATAL(cl_next(c, &r, 0), 0);
	CU_ASSERT(r.status == 200 && r.body_len == 60000 && big_ok(r.body, 60000));
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	srv_stop();
}

static void t_stats(void)
{
	static const char *const reqs[] = {
		"GET /hello HTTP/1.1\r\n\r\n",
		"POST /204 HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		"GET /nope HTTP/1.1\r\n\r\n",
		"GET /hello HTTP/1.1\r\n\r\n",
	};
	struct bcn_http_stats s;
	struct rsp r;
	size_t sent = 0;
	struct cl *c;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(roundtrip(c, reqs[i], &r), 0);
		sent += strlen(reqs[i]);
	}
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "NOT HTTP\r\n\r\n"), 0);
	sent += 12;
	CU_ASSERT_EQUAL_FATAL(cl_wait(c, 1, W_EOF), 0);
	cl_close(c); /* ends the server's linger */
	CU_ASSERT_EQUAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 0), 0);
	s = stats();
	CU_ASSERT_EQUAL(s.responses[1], 2); /* 200 */
	CU_ASSERT_EQUAL(s.responses[2], 1); /* 204 */
	CU_ASSERT_EQUAL(s.responses[3], 1); /* 400 */
	CU_ASSERT_EQUAL(s.responses[5], 1); /* 404 */
	uint64_t total = 0;
	for (unsigned i = 0; i < BCN_HTTP_NSTATUS; i++)
		total += s.responses[i];
	CU_ASSERT_EQUAL(total, 5);
	CU_ASSERT_EQUAL(s.requests, 4);
	CU_ASSERT_EQUAL(s.parse_errors, 1);
	CU_ASSERT_EQUAL(s.conns_accepted, 1);
	CU_ASSERT_EQUAL(s.conns_closed, 1);
	CU_ASSERT_EQUAL(s.conns_open, 0);
	CU_ASSERT_EQUAL(s.bytes_in, sent);
	CU_ASSERT_EQUAL(s.bytes_out, c->len);
	CU_ASSERT_EQUAL(s.lat_count, 5);
	CU_ASSERT_EQUAL(s.lat_le[BCN_HTTP_NLAT - 1], s.lat_count);
	for (unsigned i = 1; i < BCN_HTTP_NLAT; i++)
		CU_ASSERT(s.lat_le[i] >= s.lat_le[i - 1]);
	CU_ASSERT(s.lat_sum_ns > 0);
	CU_ASSERT(s.lat_le[BCN_HTTP_NLAT - 2] == s.lat_count); /* all under 1 s */
	CU_ASSERT_STRING_EQUAL(bcn_http_status_label(0), "100");
	CU_ASSERT_STRING_EQUAL(bcn_http_status_label(9), "413");
	CU_ASSERT_STRING_EQUAL(bcn_http_status_label(BCN_HTTP_NSTATUS - 1), "other");
	CU_ASSERT_PTR_NULL(bcn_http_status_label(BCN_HTTP_NSTATUS));
	CU_ASSERT_STRING_EQUAL(bcn_http_lat_label(0), "0.00005");
	CU_ASSERT_STRING_EQUAL(bcn_http_lat_label(BCN_HTTP_NLAT - 1), "+Inf");
	CU_ASSERT_PTR_NULL(bcn_http_lat_label(BCN_HTTP_NLAT));
	srv_stop();
}

static void t_stop_accepting(void)
{
	struct rsp r;
	struct cl *idle, *busy, *late;
	CU_ASSERT_EQUAL_FATAL(srv_start(NULL, 0), 0);
	idle = cl_open(0, 0);
	busy = cl_open(1, 0);
	CU_ASSERT_FATAL(idle && busy);
	CU_ASSERT_EQUAL_FATAL(roundtrip(idle, "GET /hello HTTP/1.1\r\n\r\n", &r), 0);
	CU_ASSERT_EQUAL_FATAL(cl_send(busy, "GET /hello HTTP/1.1\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 2), 0);

	bcn_http_server_stop_accepting(F.srv);
	bcn_http_server_stop_accepting(F.srv); /* idempotent */
	CU_ASSERT_EQUAL(bcn_http_server_open_conns(F.srv), 1); /* idle one closed */
	CU_ASSERT_EQUAL_FATAL(cl_wait(idle, 0, W_EOF), 0);
	late = cl_open(2, 0); /* sits in the backlog, never accepted */
	CU_ASSERT_PTR_NOT_NULL_FATAL(late);
	CU_ASSERT_EQUAL_FATAL(cl_send(busy, "\r\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cl_wait(busy, 1, W_EOF), 0);
	CU_ASSERT_EQUAL_FATAL(cl_next(busy, &r, 0), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.conn, "close");
	cl_close(busy);
	CU_ASSERT_EQUAL(PUMP_UNTIL(bcn_http_server_open_conns(F.srv) == 0), 0);
	CU_ASSERT_EQUAL(stats().conns_accepted, 2);
	srv_stop();
}

static void t_nested_epoll(void)
{
	struct bcn_http_limits l;
	struct epoll_event ev = { .events = EPOLLIN };
	struct cl *c;
	int ep, handled = 0;
	bcn_http_limits_defaults(&l);
	l.idle_ms = 200;
	CU_ASSERT_EQUAL_FATAL(srv_start(&l, 0), 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CU_ASSERT_FATAL(ep >= 0);
	CU_ASSERT_EQUAL_FATAL(epoll_ctl(ep, EPOLL_CTL_ADD, bcn_http_server_fd(F.srv), &ev), 0);
	c = cl_open(0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(cl_send(c, "GET /hello HTTP/1.1\r\n\r\n"), 0);
	/* the caller's loop: wait on its own epoll, poll the server with 0 */
	int64_t end = now_ms() + WAIT_MS;
	while (!c->eof && now_ms() < end) {
		if (epoll_wait(ep, &ev, 1, 1000) == 1)
			handled += bcn_http_server_poll(F.srv, 0);
		cl_pull(c, 0);
	}
	/* the idle close came from the timer alone: nothing else woke us */
	CU_ASSERT(c->eof);
	CU_ASSERT_EQUAL(handled, 1);
	CU_ASSERT_EQUAL(cl_count(c, 0), 1);
	CU_ASSERT_EQUAL(stats().conns_closed_idle, 1);
	close(ep);
	srv_stop();
}

int test_http_register(void)
{
	CU_pSuite s = CU_add_suite("http", NULL, NULL);
	if (!s)
		return -1;
	for (unsigned i = 0; i < 4; i++)
		CL[i].fd = -1;
	if (!CU_add_test(s, "bad limits", t_new_bad_limits) ||
	    !CU_add_test(s, "GET, POST, 204, HEAD, handler extras", t_get_post_head) ||
	    !CU_add_test(s, "keep-alive, 3 requests, no allocation", t_keepalive) ||
	    !CU_add_test(s, "pipelining: 3 in one write", t_pipelining) ||
	    !CU_add_test(s, "chunked body, byte by byte", t_chunked) ||
	    !CU_add_test(s, "Expect: 100-continue", t_expect_continue) ||
	    !CU_add_test(s, "body over the limit: 413", t_body_limit) ||
	    !CU_add_test(s, "error answer, then drain (no reset)", t_error_linger) ||
	    !CU_add_test(s, "headers over the limit: 431", t_header_limit) ||
	    !CU_add_test(s, "100 pipelined requests through a 1 KB buffer", t_small_buffer_stream) ||
	    !CU_add_test(s, "malformed: 400", t_malformed) ||
	    !CU_add_test(s, "max connections", t_max_conns) ||
	    !CU_add_test(s, "large buffer lend and shortage (503)", t_large_buffers) ||
	    !CU_add_test(s, "idle timeout", t_idle_timeout) ||
	    !CU_add_test(s, "request timeout: 408", t_request_timeout) ||
	    !CU_add_test(s, "Connection: close", t_connection_close) ||
	    !CU_add_test(s, "HTTP/1.0", t_http10) ||
	    !CU_add_test(s, "partial writes, slow reader", t_partial_writes) ||
	    !CU_add_test(s, "stats", t_stats) ||
	    !CU_add_test(s, "stop accepting", t_stop_accepting) ||
	    !CU_add_test(s, "nested epoll fd, timer wakes it", t_nested_epoll))
		return -1;
	return 0;
}
