/*
 * bcn_sock.c - the kernel-socket driver: beacond on any Linux host.
 *
 * Why this exists: hosts without a DPDK NIC (development, CI, small sites)
 * run the same appliance on kernel sockets.  Per worker: one UDP socket and
 * one HTTP listening socket, both bound with SO_REUSEPORT so the kernel
 * spreads flows across workers (no shared accept queue, no lock), one epoll
 * set holding the UDP socket and the worker's HTTP engine (bcn_http.h).
 * UDP is drained with recvmmsg in bursts of udp.burst datagrams straight
 * into preallocated buffers; each datagram is one beacon.  SO_RXQ_OVFL makes
 * the kernel tell us how many datagrams it dropped because the socket
 * buffer was full, which /metrics reports as socket_overflow.
 *
 * Everything (sockets, datagram buffers, HTTP slots) is made in setup, on
 * the main thread, before the workers start.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sock_diag.h>
#include "bcn_app.h"
#include "bcn_driver.h"
#include "bcn_http.h"
#include "bcn_mbuf.h"

#define UDP_BUF    BCN_MAX_BEACON            /* longer datagrams: too_large */
#define CTRL_SPACE CMSG_SPACE(sizeof(uint32_t))
#define BURSTS_PER_EVENT 16                  /* then give HTTP a turn        */
enum { TAG_UDP = 1, TAG_HTTP = 2 };

struct sock_worker {
	int udp_fd, http_fd, ep;
	int udp_live;                 /* still in the epoll set */
	struct bcn_http_server *http;
	unsigned burst;
	struct mmsghdr *msgs;
	struct iovec *iov;
	uint8_t *bufs;
	char *ctrl;
	_Alignas(64) bcn_ctr datagrams, truncated, recv_calls, recv_errors;
	bcn_ctr kernel_drops;         /* SO_RXQ_OVFL: total since the socket opened */
};

struct sock_state {
	unsigned n;
	struct sock_worker *sw;
};

/* Bind a non-blocking socket with SO_REUSEPORT.  SO_RCVBUFFORCE (root, or
 * CAP_NET_ADMIN) lets udp.rcvbuf exceed net.core.rmem_max; without the
 * privilege the kernel caps SO_RCVBUF silently.  Returns the fd, or -1 with
 * err (nothing left open). */
static int bind_socket(int type, const char *addr, int64_t port, int rcvbuf, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = type }, *ai = NULL;
	char ps[16];
	int one = 1, fd = -1, rc;

	snprintf(ps, sizeof(ps), "%lld", (long long)port);
	if ((rc = getaddrinfo(addr, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: not a numeric address: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) &&
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) ||
	    (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one))) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) ||
	    (type == SOCK_STREAM && listen(fd, 4096))) {
		snprintf(err, errlen, "%s %s:%lld: %s", type == SOCK_DGRAM ? "udp" : "http", addr,
			 (long long)port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int sk_setup(struct bcn_app *app, char *err, size_t errlen)
{
	const struct bcn_cfg *c = &app->cfg;
	struct sock_state *st = calloc(1, sizeof(*st));
	if (!st)
		goto oom;
	app->drv_state = st;
	st->n = app->nworkers;
	st->sw = aligned_alloc(64, sizeof(*st->sw) * st->n);
	if (!st->sw)
		goto oom;
	memset(st->sw, 0, sizeof(*st->sw) * st->n);
	for (unsigned i = 0; i < st->n; i++)
		st->sw[i].udp_fd = st->sw[i].http_fd = st->sw[i].ep = -1;

	struct bcn_http_limits lim;
	bcn_http_limits_defaults(&lim);
	lim.max_conns = (unsigned)c->http_max_conns;
	lim.header_max = (size_t)c->http_header_max;
	lim.body_max = (size_t)c->http_body_max;
	lim.conn_buf = (size_t)c->http_conn_buf;
	lim.large_bufs = (unsigned)c->http_large_bufs;
	lim.idle_ms = (unsigned)c->http_idle_ms;
	lim.request_ms = (unsigned)c->http_request_timeout_ms;
	/* answers are 204 or a list of rejected lines: 8 KiB names ~200 of
	 * them (then "truncated":true), and every connection holds this much
	 * output space, so it stays small */
	lim.resp_max = 8192;

	for (unsigned i = 0; i < st->n; i++) {
		struct sock_worker *s = &st->sw[i];
		struct epoll_event ev = { .events = EPOLLIN };
		s->ep = epoll_create1(EPOLL_CLOEXEC);
		if (s->ep < 0) {
			snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
			return -1;
		}
		if (c->udp_enabled) {
			s->burst = (unsigned)c->udp_burst;
			s->udp_fd = bind_socket(SOCK_DGRAM, c->udp_addr, c->udp_port, (int)c->udp_rcvbuf,
						err, errlen);
			if (s->udp_fd < 0)
				return -1;
			s->msgs = calloc(s->burst, sizeof(*s->msgs));
			s->iov = calloc(s->burst, sizeof(*s->iov));
			s->ctrl = calloc(s->burst, CTRL_SPACE);
			s->bufs = aligned_alloc(64, (size_t)s->burst * UDP_BUF);
			if (!s->msgs || !s->iov || !s->ctrl || !s->bufs)
				goto oom;
			for (unsigned m = 0; m < s->burst; m++) {
				s->iov[m].iov_base = s->bufs + (size_t)m * UDP_BUF;
				s->iov[m].iov_len = UDP_BUF;
				s->msgs[m].msg_hdr.msg_iov = &s->iov[m];
				s->msgs[m].msg_hdr.msg_iovlen = 1;
			}
			ev.data.u32 = TAG_UDP;
			if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->udp_fd, &ev)) {
				snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
				return -1;
			}
			s->udp_live = 1;
		}
		if (c->http_enabled) {
			s->http_fd = bind_socket(SOCK_STREAM, c->http_addr, c->http_port, 0, err, errlen);
			if (s->http_fd < 0)
				return -1;
			s->http = bcn_http_server_new(s->http_fd, &lim, bcn_api_handle, &app->w[i]);
			if (!s->http) {
				snprintf(err, errlen, "http server: %s", strerror(errno));
				return -1;
			}
			ev.data.u32 = TAG_HTTP;
			if (epoll_ctl(s->ep, EPOLL_CTL_ADD, bcn_http_server_fd(s->http), &ev)) {
				snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
				return -1;
			}
		}
		app->w[i].drv = s;
	}
	return 0;
oom:
	snprintf(err, errlen, "socket driver: out of memory");
	return -1;
}

static int sk_worker_init(struct bcn_worker *w, char *err, size_t errlen)
{
	(void)w, (void)err, (void)errlen;
	return 0;
}

/* The kernel's running count of datagrams dropped on this socket. */
static inline void note_overflow(struct sock_worker *s, struct msghdr *h)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			BCN_SET(s->kernel_drops, v);
		}
}

/* Receive up to BURSTS_PER_EVENT bursts.  Returns datagrams handled, or -1
 * on a socket error other than "nothing there". */
static int udp_drain(struct bcn_worker *w, struct sock_worker *s, int max_bursts)
{
	int total = 0;
	for (int b = 0; b < max_bursts; b++) {
		for (unsigned m = 0; m < s->burst; m++) {
			s->msgs[m].msg_hdr.msg_control = s->ctrl + (size_t)m * CTRL_SPACE;
			s->msgs[m].msg_hdr.msg_controllen = CTRL_SPACE;
			s->msgs[m].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(s->udp_fd, s->msgs, s->burst, MSG_DONTWAIT, NULL);
		BCN_INC(s->recv_calls, 1);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				BCN_INC(s->recv_errors, 1);
				return -1;
			}
			break;
		}
		bcn_worker_clock(w);
		for (int m = 0; m < n; m++) {
			const uint8_t *p = s->iov[m].iov_base;
			size_t len = s->msgs[m].msg_len;
			if (m + 1 < n)
				__builtin_prefetch(s->iov[m + 1].iov_base);
			if (unlikely(s->msgs[m].msg_hdr.msg_flags & MSG_TRUNC)) {
				BCN_INC(s->truncated, 1);
				BCN_INC(w->st.rx[BCN_SRC_UDP], 1);
				BCN_INC(w->st.rejected[BCN_SRC_UDP][BCN_R_TOO_LARGE], 1);
				continue;
			}
			bcn_worker_ingest(w, bcn_format_of(p, len), p, len, NULL, 0, BCN_SRC_UDP);
		}
		if (unlikely(s->msgs[n - 1].msg_hdr.msg_controllen))
			note_overflow(s, &s->msgs[n - 1].msg_hdr);
		BCN_INC(s->datagrams, (uint64_t)n);
		BCN_INC(w->st.bursts, 1);
		total += n;
		if ((unsigned)n < s->burst)
			break;
	}
	return total;
}

static int sk_poll(struct bcn_worker *w, int timeout_ms)
{
	struct sock_worker *s = w->drv;
	struct epoll_event ev[4];
	int n = epoll_wait(s->ep, ev, 4, timeout_ms), handled = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		int r;
		if (ev[i].data.u32 == TAG_UDP) {
			r = udp_drain(w, s, BURSTS_PER_EVENT);
			if (r < 0) {
				fprintf(stderr, "beacond: worker %u: recvmmsg: %s\n", w->id, strerror(errno));
				r = 0; /* counted; a UDP error is not fatal */
			}
		} else {
			r = bcn_http_server_poll(s->http, 0);
			if (r < 0)
				return -1;
		}
		handled += r;
	}
	return handled;
}

static void sk_quiesce(struct bcn_worker *w)
{
	struct sock_worker *s = w->drv;
	if (s->udp_live) {
		/* what the kernel already holds was sent to us: take it */
		while (udp_drain(w, s, 1) > 0)
			;
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->udp_fd, NULL);
		s->udp_live = 0;
	}
	if (s->http)
		bcn_http_server_stop_accepting(s->http);
}

static int sk_idle(struct bcn_worker *w)
{
	struct sock_worker *s = w->drv;
	return !s->http || bcn_http_server_open_conns(s->http) == 0;
}

static void sk_worker_fini(struct bcn_worker *w)
{
	(void)w;
}

static void sk_teardown(struct bcn_app *app)
{
	struct sock_state *st = app->drv_state;
	if (!st)
		return;
	for (unsigned i = 0; st->sw && i < st->n; i++) {
		struct sock_worker *s = &st->sw[i];
		bcn_http_server_free(s->http);
		if (s->udp_fd >= 0)
			close(s->udp_fd);
		if (s->http_fd >= 0)
			close(s->http_fd);
		if (s->ep >= 0)
			close(s->ep);
		free(s->msgs);
		free(s->iov);
		free(s->ctrl);
		free(s->bufs);
	}
	free(st->sw);
	free(st);
	app->drv_state = NULL;
}

#define U(x) ((unsigned long long)(x))

/* The kernel's count of datagrams dropped on a worker's socket.  SO_MEMINFO
 * reads it now (metrics thread; a getsockopt on another thread's socket is
 * safe); the SO_RXQ_OVFL value the worker saw with its last datagram can lag
 * behind it, since drops after the last datagram taken are only reported with
 * the next one.  Falls back to that value if SO_MEMINFO fails. */
static uint64_t udp_drops(struct sock_worker *s)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);
	uint64_t seen = BCN_GET(s->kernel_drops);
	if (s->udp_fd >= 0 && getsockopt(s->udp_fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(uint32_t) && mi[SK_MEMINFO_DROPS] > seen)
		return mi[SK_MEMINFO_DROPS];
	return seen;
}

static void http_metrics(struct sock_state *st, struct bcn_mbuf *mb)
{
	struct bcn_http_stats hs;
	bcn_mb_family(mb, "beacond_http_responses_total", "counter",
		      "HTTP beacon API responses by status code.");
	for (unsigned i = 0; i < st->n; i++) {
		if (!st->sw[i].http)
			continue;
		bcn_http_stats_read(st->sw[i].http, &hs);
		for (unsigned c = 0; c < BCN_HTTP_NSTATUS; c++)
			bcn_mb_printf(mb, "beacond_http_responses_total{worker=\"%u\",code=\"%s\"} %llu\n",
				      i, bcn_http_status_label(c), U(hs.responses[c]));
	}
	bcn_mb_family(mb, "beacond_http_request_duration_seconds", "histogram",
		      "HTTP beacon request latency: first byte in to last response byte out.");
	const char *le[BCN_HTTP_NLAT];
	for (unsigned b = 0; b < BCN_HTTP_NLAT; b++)
		le[b] = bcn_http_lat_label(b);
	for (unsigned i = 0; i < st->n; i++) {
		if (!st->sw[i].http)
			continue;
		char labels[32];
		bcn_http_stats_read(st->sw[i].http, &hs);
		snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
		bcn_mb_histogram(mb, "beacond_http_request_duration_seconds", labels, le, hs.lat_le, BCN_HTTP_NLAT,
				 (double)hs.lat_sum_ns / 1e9);
	}
	bcn_mb_family(mb, "beacond_http_connections_open", "gauge", "Open HTTP connections.");
	for (unsigned i = 0; i < st->n; i++)
		if (st->sw[i].http) {
			bcn_http_stats_read(st->sw[i].http, &hs);
			bcn_mb_printf(mb, "beacond_http_connections_open{worker=\"%u\"} %llu\n", i,
				      U(hs.conns_open));
		}
	bcn_mb_family(mb, "beacond_http_connection_events_total", "counter",
		      "HTTP connection events: accepted, refused (max_conns), closed_idle, "
		      "closed_timeout, accept_error, io_error, parse_error, large_buffer_lent, "
		      "large_buffer_shortage.");
	for (unsigned i = 0; i < st->n; i++) {
		if (!st->sw[i].http)
			continue;
		bcn_http_stats_read(st->sw[i].http, &hs);
		const struct { const char *k; uint64_t v; } ev[] = {
			{ "accepted", hs.conns_accepted }, { "refused", hs.conns_refused },
			{ "closed_idle", hs.conns_closed_idle }, { "closed_timeout", hs.conns_closed_timeout },
			{ "accept_error", hs.accept_errors }, { "io_error", hs.io_errors },
			{ "parse_error", hs.parse_errors }, { "large_buffer_lent", hs.large_lends },
			{ "large_buffer_shortage", hs.large_shortages },
		};
		for (size_t e = 0; e < sizeof(ev) / sizeof(ev[0]); e++)
			bcn_mb_printf(mb, "beacond_http_connection_events_total{worker=\"%u\",event=\"%s\"} %llu\n",
				      i, ev[e].k, U(ev[e].v));
	}
	bcn_mb_family(mb, "beacond_http_memory_bytes", "gauge",
		      "Bytes preallocated by each worker's HTTP engine (fixed).");
	for (unsigned i = 0; i < st->n; i++)
		if (st->sw[i].http)
			bcn_mb_printf(mb, "beacond_http_memory_bytes{worker=\"%u\"} %zu\n", i,
				      bcn_http_server_mem_bytes(st->sw[i].http));
}

static void sk_metrics(struct bcn_app *app, struct bcn_mbuf *mb)
{
	struct sock_state *st = app->drv_state;
	bcn_mb_family(mb, "beacond_udp_datagrams_total", "counter", "UDP datagrams received.");
	for (unsigned i = 0; i < st->n; i++)
		bcn_mb_printf(mb, "beacond_udp_datagrams_total{worker=\"%u\"} %llu\n", i,
			      U(BCN_GET(st->sw[i].datagrams)));
	bcn_mb_family(mb, "beacond_udp_recv_calls_total", "counter", "recvmmsg calls.");
	for (unsigned i = 0; i < st->n; i++)
		bcn_mb_printf(mb, "beacond_udp_recv_calls_total{worker=\"%u\"} %llu\n", i,
			      U(BCN_GET(st->sw[i].recv_calls)));
	bcn_mb_family(mb, "beacond_udp_recv_errors_total", "counter", "recvmmsg failures.");
	for (unsigned i = 0; i < st->n; i++)
		bcn_mb_printf(mb, "beacond_udp_recv_errors_total{worker=\"%u\"} %llu\n", i,
			      U(BCN_GET(st->sw[i].recv_errors)));
	bcn_mb_family(mb, "beacond_udp_socket_overflow_total", "counter",
		      "Datagrams the kernel dropped because the worker's socket buffer was full.");
	for (unsigned i = 0; i < st->n; i++)
		bcn_mb_printf(mb, "beacond_udp_socket_overflow_total{worker=\"%u\"} %llu\n", i,
			      U(udp_drops(&st->sw[i])));
	http_metrics(st, mb);
}

const struct bcn_driver_ops bcn_driver_socket = {
	.name = "socket",
	.setup = sk_setup,
	.worker_init = sk_worker_init,
	.poll = sk_poll,
	.quiesce = sk_quiesce,
	.idle = sk_idle,
	.worker_fini = sk_worker_fini,
	.teardown = sk_teardown,
	.metrics = sk_metrics,
};
