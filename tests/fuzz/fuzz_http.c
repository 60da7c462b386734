/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 server engine
 * (drivers/socket/bcn_http.c).
 *
 * Input: byte 0 says how the rest is cut into client writes (0: one write;
 * else pieces of 2^(b0 % 16) bytes, at most 256 pieces: the last takes what
 * is left); the rest is what one client sends on one loopback connection,
 * after which it half-closes and reads until the server closes.  The server
 * is created once (small limits, so that inputs reach them; small socket
 * buffers, so that responses are written in parts) and serves every input;
 * the handler picks its answer from the request (see fz_handler).
 * Besides "no crash, no UB, no leak":
 *   - the server closes every connection once the client has half-closed
 *     (bounded number of polls), and has no connection left afterwards, so
 *     nothing leaks from one input to the next;
 *   - what the client receives is a well-formed sequence of HTTP/1.1
 *     responses (http-parser, response mode): 100 Continue only as interim,
 *     Content-Length on every final response but 204 (never on 204),
 *     nothing after a Connection: close response, nothing cut short;
 *   - response i answers handler call i: same status (500 if the handler's
 *     answer was invalid) and, but for HEAD, the very bytes of its body;
 *     at most one more response follows, an engine error (400, 413, 417,
 *     431, 503) with Connection: close;
 *   - the counters agree: bytes_out = bytes received, requests = handler
 *     calls, responses by status, latency count, parse errors, shortages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <http_parser.h>
#include "fuzz_common.h"
#include "bcn_http.h"

#define MAX_POLLS  200000
#define MAX_WRITES 256
#define NCALLS     4096
#define BIG_BODY   7000

static struct bcn_http_server *srv;
static struct sockaddr_in addr;
static struct bcn_http_limits lim;

/* what the handler answered, per call, for the client-side checks */
static struct {
	int status, head;
	size_t blen;
	uint64_t hash;
} calls[NCALLS];
static unsigned ncalls;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
	return h;
}
#define FNV0 0xcbf29ce484222325ull

static int has(const struct bcn_http_req *q, const char *w)
{
	return q->query && memmem(q->query, q->query_len, w, strlen(w));
}

/*
 * Path "/NNN" answers status NNN (the engine must turn an invalid one into
 * 500); the query adds: big (a 7000-byte body, else the request body is
 * echoed), ct (Content-Type), ra (Retry-After), x (an extra header), bad (an
 * invalid extra header: 500), cl (close after).
 */
static void fz_handler(void *ctx, const struct bcn_http_req *q, struct bcn_http_resp *r)
{
	const char *p = q->path;
	int st = 200, ok = 1;
	(void)ctx;
	FZ_CHECK(q->path && q->body && q->path_len <= lim.header_max);
	FZ_CHECK(q->body_len <= lim.body_max);
	FZ_CHECK(q->auth_len <= lim.header_max && q->content_type_len <= lim.header_max);
	FZ_CHECK(!q->query || q->query == q->path + q->path_len + 1);
	FZ_CHECK(r->body && r->body_cap == lim.resp_max);
	for (size_t i = 0; i < q->path_len; i++)
		FZ_CHECK(p[i] != '?' && p[i] != '#');
	if (q->path_len >= 4 && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    p[3] >= '0' && p[3] <= '9')
		st = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	r->status = st;
	if (has(q, "big")) {
		r->body_len = BIG_BODY;
		for (size_t i = 0; i < BIG_BODY; i++)
			r->body[i] = (char)('a' + i % 23);
	} else {
		r->body_len = q->body_len < r->body_cap ? q->body_len : r->body_cap;
		memcpy(r->body, q->body, r->body_len);
	}
	if (has(q, "ct"))
		r->content_type = "text/plain";
	if (has(q, "ra"))
		r->retry_after_s = 5;
	if (has(q, "x"))
		r->extra_header = "X-F: 1";
	if (has(q, "bad")) {
		r->extra_header = "X-F: 1\r\nX-Smuggled: 1";
		ok = 0;
	}
	if (has(q, "cl"))
		r->close = 1;
	if (st < 200 || st > 599)
		ok = 0;
	FZ_CHECK(ncalls < NCALLS);
	calls[ncalls].status = ok ? st : 500;
	calls[ncalls].head = q->method == BCN_HTTP_HEAD;
	calls[ncalls].blen = ok && st != 204 && st != 304 ? r->body_len : 0;
	calls[ncalls].hash = fnv(FNV0, r->body, calls[ncalls].blen);
	ncalls++;
}

/* ---- the client's view: a response parser -------------------------------- */

static struct {
	http_parser p;
	http_parser_settings s;
	unsigned finals, interims, in_msg, last_field, has_clen, errors;
	int err_status;
	char field[16];
	size_t flen, blen;
	uint64_t hash;
} R;

static int r_begin(http_parser *p)
{
	(void)p;
	R.in_msg = 1;
	R.has_clen = 0;
	R.flen = R.blen = 0;
	R.last_field = 0;
	R.hash = FNV0;
	return 0;
}

static int r_field(http_parser *p, const char *at, size_t n)
{
	(void)p;
	if (!R.last_field)
		R.flen = 0;
	R.last_field = 1;
	for (size_t i = 0; i < n && R.flen < sizeof(R.field); i++)
		R.field[R.flen++] = (char)(at[i] | 0x20);
	return 0;
}

static int r_value(http_parser *p, const char *at, size_t n)
{
	(void)p, (void)at, (void)n;
	if (R.last_field && R.flen == 14 && !memcmp(R.field, "content-length", 14))
		R.has_clen++;
	R.last_field = 0;
	return 0;
}

static int r_headers(http_parser *p)
{
	unsigned st = p->status_code;
	FZ_CHECK(st >= 100 && st <= 599);
	if (st == 100) {
		FZ_CHECK(!R.has_clen);
		return 0;
	}
	FZ_CHECK(st == 204 || st == 304 ? !R.has_clen : R.has_clen == 1);
	/* response i answers call i; a HEAD response has no body */
	return R.finals < ncalls && calls[R.finals].head;
}

static int r_body(http_parser *p, const char *at, size_t n)
{
	(void)p;
	R.hash = fnv(R.hash, at, n);
	R.blen += n;
	return 0;
}

static int r_complete(http_parser *p)
{
	unsigned st = p->status_code;
	R.in_msg = 0;
	if (st == 100) {
		R.interims++;
		return 0;
	}
	if (R.finals < ncalls) {
		FZ_CHECK((int)st == calls[R.finals].status);
		if (!calls[R.finals].head)
			FZ_CHECK(R.blen == calls[R.finals].blen && R.hash == calls[R.finals].hash);
	} else {
		/* the engine's own answer: one, last, and closing */
		FZ_CHECK(R.finals == ncalls);
		FZ_CHECK(st == 400 || st == 413 || st == 417 || st == 431 || st == 503);
		FZ_CHECK(!http_should_keep_alive(p));
		FZ_CHECK(R.blen == 0);
		R.err_status = (int)st;
	}
	R.finals++;
	return 0;
}

static void setup(void)
{
	int lfd, one = 1, small = 4096;
	socklen_t al = sizeof(addr);
	if (srv)
		return;
	bcn_http_limits_defaults(&lim);
	lim.max_conns = 4;
	lim.header_max = 1024;
	lim.body_max = 4096;
	lim.conn_buf = 1024;
	lim.large_bufs = 1;
	lim.resp_max = 8192;
	lim.idle_ms = lim.request_ms = lim.linger_ms = 600000; /* no timers here */
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FZ_CHECK(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	FZ_CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	FZ_CHECK(listen(lfd, 16) == 0);
	FZ_CHECK(getsockname(lfd, (struct sockaddr *)&addr, &al) == 0);
	srv = bcn_http_server_new(lfd, &lim, fz_handler, NULL);
	FZ_CHECK(srv != NULL);
	http_parser_settings_init(&R.s);
	R.s.on_message_begin = r_begin;
	R.s.on_header_field = r_field;
	R.s.on_header_value = r_value;
	R.s.on_headers_complete = r_headers;
	R.s.on_body = r_body;
	R.s.on_message_complete = r_complete;
	/* the listening socket and the server live as long as the process */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char rbuf[65536];
	struct bcn_http_stats a, b;
	size_t step, off = 0, received = 0, sent = 0;
	int fd, one = 1, small = 4096, eof = 0, shut = 0, dead = 0;
	long polls = 0;

	setup();
	if (size == 0)
		return 0;
	step = data[0] ? (size_t)1 << (data[0] % 16) : size;
	data++, size--;
	if (step * MAX_WRITES < size)
		step = (size + MAX_WRITES - 1) / MAX_WRITES;
	ncalls = 0;
	R.finals = R.interims = R.in_msg = 0;
	R.err_status = 0;
	http_parser_init(&R.p, HTTP_RESPONSE);
	bcn_http_stats_read(srv, &a);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FZ_CHECK(fd >= 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* Each input is a new connection that the server closes first, so its
	 * end lingers in TIME_WAIT for 60 s and keeps that client port: at
	 * thousands of inputs a second one source address runs out of its
	 * ~28,000 ephemeral ports (connect: EADDRNOTAVAIL).  Rotating the source
	 * over 127.0.0.2-201 (all loopback) gives 200 times the room. */
	{
		static unsigned src;
		struct sockaddr_in me = { .sin_family = AF_INET };
		me.sin_addr.s_addr = htonl(0x7f000002u + src++ % 200u);
		FZ_CHECK(bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0);
	}
	int crc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (crc != 0 && errno == EINTR) {
		/* a signal (libFuzzer's own timers) interrupted the blocking
		 * connect: the handshake goes on (POSIX), so wait for it to
		 * finish and take its result, bounded at 5 s */
		struct pollfd pw = { .fd = fd, .events = POLLOUT };
		int pr, soerr = 0;
		socklen_t sl = sizeof(soerr);
		while ((pr = poll(&pw, 1, 5000)) < 0 && errno == EINTR)
			;
		crc = pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0 ? 0 : -1;
		if (crc != 0)
			errno = soerr ? soerr : ETIMEDOUT;
	}
	if (crc != 0)
		fprintf(stderr, "fuzz_http: connect to the server: %s\n", strerror(errno));
	FZ_CHECK(crc == 0);
	FZ_CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);

	while (!eof) {
		FZ_CHECK(++polls < MAX_POLLS); /* the server must close, and soon */
		if (off < size && !dead) {
			size_t n = size - off < step ? size - off : step;
			ssize_t k = send(fd, data + off, n, MSG_NOSIGNAL);
			if (k > 0)
				off += (size_t)k, sent += (size_t)k;
			else if (k < 0 && errno != EAGAIN && errno != EINTR)
				dead = errno; /* the server closed: fine, it may */
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		FZ_CHECK(bcn_http_server_poll(srv, 0) >= 0);
		ssize_t k = recv(fd, rbuf, sizeof(rbuf), 0);
		if (k > 0) {
			received += (size_t)k;
			size_t used = http_parser_execute(&R.p, &R.s, rbuf, (size_t)k);
			if (HTTP_PARSER_ERRNO(&R.p) != HPE_OK || used != (size_t)k)
				FZ_LOG("response stream: %s\n",
				       http_errno_name(HTTP_PARSER_ERRNO(&R.p)));
			FZ_CHECK(HTTP_PARSER_ERRNO(&R.p) == HPE_OK && used == (size_t)k);
		} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
			eof = 1;
		}
	}
	close(fd);
	FZ_LOG("http: sent %zu/%zu (%s), %u calls, %u responses (+%u interim), error %d\n",
	       sent, size, dead ? strerror(dead) : "ok", ncalls, R.finals, R.interims,
	       R.err_status);
	/* it may not have seen our close yet (e.g. draining after an error) */
	while (bcn_http_server_open_conns(srv) && ++polls < MAX_POLLS)
		bcn_http_server_poll(srv, 0);

	FZ_CHECK(!R.in_msg); /* nothing cut short */
	FZ_CHECK(R.finals == ncalls || R.finals == ncalls + 1);
	FZ_CHECK(bcn_http_server_open_conns(srv) == 0);
	bcn_http_stats_read(srv, &b);
	uint64_t nresp = 0;
	for (unsigned i = 0; i < BCN_HTTP_NSTATUS; i++)
		nresp += b.responses[i] - a.responses[i];
	FZ_CHECK(nresp == R.finals + R.interims);
	FZ_CHECK(b.responses[0] - a.responses[0] == R.interims);
	FZ_CHECK(b.requests - a.requests == ncalls);
	FZ_CHECK(b.bytes_out - a.bytes_out == received);
	FZ_CHECK(b.bytes_in - a.bytes_in <= sent);
	FZ_CHECK(b.lat_count - a.lat_count == R.finals);
	FZ_CHECK(b.conns_accepted - a.conns_accepted == 1 && b.conns_open == 0);
	FZ_CHECK(b.parse_errors - a.parse_errors == (R.err_status == 400));
	FZ_CHECK(b.large_shortages - a.large_shortages == (R.err_status == 503));
	FZ_CHECK(b.io_errors == a.io_errors || dead);
	return 0;
}
