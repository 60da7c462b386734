/*
 * perf/api_load.c - build/api-load: a paced (open-loop) HTTP/1.1 GET load
 * generator for beacon-api (perf/bench_api.sh).
 *
 *   api-load --port P --targets FILE --rate R --seconds S [--conns C]
 *            [--timeout-ms T] [--host 127.0.0.1]
 *
 * Why: wrk and ab are closed-loop (a slow answer delays the next request,
 * so a stalled server looks fast: coordinated omission).  Here request k is
 * due at t0 + k/R whatever happened before; its latency is measured from
 * that intended time to the last byte of its response, so queueing in the
 * server (or in this client, when every connection is busy) is counted.
 * Requests still not sent when the run ends are reported as unsent.
 *
 * Targets file: one request per line, "PATH" or "PATH<TAB>TOKEN" (sent as
 * Authorization: Bearer TOKEN); request k uses line k mod N.  One thread,
 * epoll, C keep-alive connections with one request in flight each, a
 * timerfd armed at the next due time (no millisecond rounding).  Bounded:
 * at most R*S requests, and the run ends S seconds + the timeout after its
 * start.  Loopback only: the host must be 127.0.0.0/8 or ::1.
 *
 * Output: a summary on stderr and one JSON object on stdout: offered and
 * achieved rates, counts by status, errors, unsent, latency percentiles (ms).
 * Exit 0, or 1 on errors (bad usage: 2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RBUF (256 * 1024)

struct target {
	char *req;      /* the whole request text */
	size_t len;
};

struct conn {
	int fd;
	int busy;
	uint64_t k;           /* request in flight */
	size_t sent;
	size_t rlen;
	char *rbuf;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: api-load --port P --targets FILE --rate R --seconds S [--conns C] "
			"[--timeout-ms T] [--host 127.0.0.1]\n");
	exit(2);
}

static struct sockaddr_storage addr;
static socklen_t addrlen;

static int dial(void)
{
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&addr, addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* A complete response in c->rbuf?  Returns its length (and *status,
 * *close), 0 if incomplete, -1 if malformed. */
static long complete(struct conn *c, int *status, int *cls)
{
	c->rbuf[c->rlen] = '\0';
	char *he = strstr(c->rbuf, "\r\n\r\n");
	if (!he)
		return c->rlen > RBUF - 2 ? -1 : 0;
	if (strncmp(c->rbuf, "HTTP/1.", 7) || c->rlen < 12)
		return -1;
	*status = atoi(c->rbuf + 9);
	long cl = 0;
	*cls = 0;
	for (char *l = strstr(c->rbuf, "\r\n") + 2; l < he; l = strstr(l, "\r\n") + 2) {
		if (!strncasecmp(l, "Content-Length:", 15))
			cl = atol(l + 15);
		else if (!strncasecmp(l, "Connection:", 11) && strstr(l, "close") && strstr(l, "close") < strstr(l, "\r\n"))
			*cls = 1;
	}
	long total = (long)(he + 4 - c->rbuf) + cl;
	if (total > RBUF - 1)
		return -1;
	return (long)c->rlen >= total ? total : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' }, { "port", required_argument, NULL, 'p' },
		{ "targets", required_argument, NULL, 'f' }, { "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' }, { "conns", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *file = NULL;
	int port = 0, nconns = 32, c;
	double rate = 0, secs = 0;
	int64_t timeout_ms = 2000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'f': file = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 't': timeout_ms = atoll(optarg); break;
		default: usage();
		}
	}
	if (!file || port <= 0 || port > 65535 || rate <= 0 || rate > 1e6 || secs <= 0 || secs > 3600 ||
	    nconns < 1 || nconns > 4096 || timeout_ms < 1)
		usage();
	struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "api-load: %s is not a loopback address\n", host);
			return 2;
		}
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		addrlen = sizeof(*a6);
	} else {
		fprintf(stderr, "api-load: %s is not a loopback address\n", host);
		return 2;
	}

	/* targets */
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		return 2;
	}
	size_t nt = 0, capt = 1024;
	struct target *tg = malloc(capt * sizeof(*tg));
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		char *tab = strchr(line, '\t');
		if (tab)
			*tab++ = '\0';
		if (nt == capt)
			tg = realloc(tg, (capt *= 2) * sizeof(*tg));
		char req[4608];
		int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s%s%sUser-Agent: api-load\r\n\r\n",
				 line, host, tab ? "Authorization: Bearer " : "", tab ? tab : "", tab ? "\r\n" : "");
		tg[nt].req = strdup(req);
		tg[nt].len = (size_t)n;
		nt++;
	}
	fclose(f);
	if (!nt) {
		fprintf(stderr, "api-load: %s: no targets\n", file);
		return 2;
	}

	uint64_t total = (uint64_t)(rate * secs);
	int64_t *lat = malloc(total * sizeof(*lat));
	struct conn *cs = calloc((size_t)nconns, sizeof(*cs));
	int ep = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!lat || !cs || ep < 0 || tfd < 0) {
		fprintf(stderr, "api-load: out of memory or epoll/timerfd failed\n");
		return 1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	for (int i = 0; i < nconns; i++) {
		cs[i].rbuf = malloc(RBUF);
		cs[i].fd = dial();
		if (cs[i].fd < 0) {
			perror("api-load: connect");
			return 1;
		}
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
		ev.data.u64 = (uint64_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	uint64_t next = 0, done = 0, errors = 0, reconnects = 0, st2xx = 0, st4xx = 0, st503 = 0, st5xx = 0;
	int64_t t0 = now_ns() + 10000000, period = (int64_t)(1e9 / rate);
	int64_t end = t0 + (int64_t)(secs * 1e9) + timeout_ms * 1000000;
	int inflight = 0;

	for (;;) {
		int64_t now = now_ns();
		uint64_t due = now < t0 ? 0 : (uint64_t)((now - t0) / period) + 1;
		if (due > total)
			due = total;
		/* give due requests to idle connections, oldest first */
		for (int i = 0; i < nconns && next < due; i++) {
			struct conn *k = &cs[i];
			if (k->busy || k->fd < 0)
				continue;
			k->busy = 1;
			k->k = next++;
			k->sent = 0;
			k->rlen = 0;
			inflight++;
			const struct target *t = &tg[k->k % nt];
			ssize_t w = send(k->fd, t->req, t->len, MSG_NOSIGNAL);
			if (w > 0)
				k->sent = (size_t)w;
		}
		if ((done + errors >= total) || now > end)
			break;
		/* sleep until the next due time (or an event) */
		if (next < total) {
			int64_t at = t0 + (int64_t)next * period;
			if (next < due)
				at = now + 1000000; /* all busy: look again in 1 ms at most */
			struct itimerspec its = { .it_value = { at / 1000000000, at % 1000000000 } };
			timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 100);
		for (int e = 0; e < n; e++) {
			if (evs[e].data.u64 == UINT64_MAX) {
				uint64_t x;
				if (read(tfd, &x, sizeof(x)) < 0) { /* nothing */ }
				continue;
			}
			struct conn *k = &cs[evs[e].data.u64];
			int broken = 0;
			if (k->busy && k->sent < tg[k->k % nt].len) {
				const struct target *t = &tg[k->k % nt];
				ssize_t w = send(k->fd, t->req + k->sent, t->len - k->sent, MSG_NOSIGNAL);
				if (w > 0)
					k->sent += (size_t)w;
				else if (w < 0 && errno != EAGAIN)
					broken = 1;
			}
			if (evs[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				for (;;) {
					ssize_t r = recv(k->fd, k->rbuf + k->rlen, RBUF - 1 - k->rlen, 0);
					if (r > 0) {
						k->rlen += (size_t)r;
						if (k->rlen >= RBUF - 1)
							break;
						continue;
					}
					if (r == 0 || errno != EAGAIN)
						broken = 1;
					break;
				}
			}
			int status = 0, cls = 0;
			long m = k->busy ? complete(k, &status, &cls) : 0;
			if (m > 0) {
				lat[done++] = now_ns() - (t0 + (int64_t)k->k * period);
				if (status >= 200 && status < 300) st2xx++;
				else if (status >= 400 && status < 500) st4xx++;
				else if (status == 503) st503++;
				else st5xx++;
				k->busy = 0;
				inflight--;
				memmove(k->rbuf, k->rbuf + m, k->rlen - (size_t)m);
				k->rlen -= (size_t)m;
				if (cls)
					broken = 1;
			} else if (m < 0) {
				broken = 1;
			}
			if (broken) {
				if (k->busy) {
					errors++;
					k->busy = 0;
					inflight--;
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
				close(k->fd);
				k->fd = dial();
				k->rlen = 0;
				reconnects++;
				if (k->fd >= 0) {
					ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
					ev.data.u64 = (uint64_t)(k - cs);
					epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev);
				}
			}
		}
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	uint64_t unsent = total - next, timed_out = (uint64_t)inflight;
	qsort(lat, done, sizeof(*lat), cmp_i64);
#define PCT(p) (done ? (double)lat[(size_t)((double)(done - 1) * (p))] / 1e6 : 0.0)
	double achieved = (double)done / (secs < elapsed ? secs : elapsed);
	fprintf(stderr, "api-load: offered %.0f req/s for %.0f s (%llu requests), completed %llu "
			"(%.0f req/s), 2xx %llu, 4xx %llu, 503 %llu, other 5xx %llu, errors %llu, unsent %llu, "
			"unanswered %llu\n"
			"api-load: latency from the intended send time, ms: p50 %.3f p90 %.3f p99 %.3f "
			"p99.9 %.3f max %.3f\n",
		rate, secs, (unsigned long long)total, (unsigned long long)done, achieved,
		(unsigned long long)st2xx, (unsigned long long)st4xx, (unsigned long long)st503,
		(unsigned long long)st5xx, (unsigned long long)errors, (unsigned long long)unsent,
		(unsigned long long)timed_out, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999), PCT(1.0));
	printf("{\"offered_rps\":%.0f,\"seconds\":%.0f,\"requests\":%llu,\"completed\":%llu,\"achieved_rps\":%.1f,"
	       "\"s2xx\":%llu,\"s4xx\":%llu,\"s503\":%llu,\"s5xx\":%llu,\"errors\":%llu,\"unsent\":%llu,"
	       "\"unanswered\":%llu,\"conns\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
	       rate, secs, (unsigned long long)total, (unsigned long long)done, achieved,
	       (unsigned long long)st2xx, (unsigned long long)st4xx, (unsigned long long)st503,
	       (unsigned long long)st5xx, (unsigned long long)errors, (unsigned long long)unsent,
	       (unsigned long long)timed_out, nconns, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999), PCT(1.0));
	return errors || unsent || timed_out ? 1 : 0;
}
