/*
 * bcn_dpdk.c - the DPDK driver: beacond's fast path on NIC queues.
 *
 * Why this exists: on NIC-equipped hosts the appliance takes beacon traffic
 * at line rate with memory fixed at start-up.  It is the same ops struct as
 * the kernel-socket driver (drivers/bcn_driver.h), chosen by driver.name =
 * dpdk; nothing else in beacond changes.  docs/dpdk.md has the design and
 * the host set-up; in short:
 *
 *   setup (main thread): EAL init from [dpdk] (eal_args, main_lcore, ports
 *     as PCI addresses or vdev strings, exception TAPs), one mbuf pool sized
 *     for every descriptor and cache and checked, each port configured with
 *     RSS over its RX queues (queues spread over the workers), per-worker TX
 *     queues, started.  The HTTP listeners (kernel sockets, served through
 *     the exception interface) are bound here too.
 *   workers: beacond's own worker threads stay plain pthreads; each one
 *     registers itself with EAL (rte_thread_register, worker_init) so that
 *     it has an lcore id and a per-lcore mempool cache.  The per-packet path:
 *     rte_eth_rx_burst, classify in place (bcn_pkt.h: Ethernet, VLAN, IPv4,
 *     IPv6, UDP, checksums in software unless the NIC verified them), UDP
 *     payloads to the beacon port go to bcn_worker_ingest (parse, auth,
 *     validate, into the worker's ring), the rest is counted by class and
 *     either dropped or sent to the kernel; mbufs are freed in bulk.  No
 *     lock, syscall or allocation per packet (a TX queue shared by workers,
 *     only when a port has fewer TX queues than workers, takes a spinlock
 *     per burst of exception packets).
 *   exception path: ARP, ICMP, NDP, TCP, UDP to other ports go to a TAP
 *     (net_tap) per port with the port's MAC; what the kernel sends on the
 *     TAP goes out of the port.  So the host answers ARP/ping and its kernel
 *     sockets (beacond's HTTP listeners) work on the port's address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_spinlock.h>

#include "bcn_app.h"
#include "bcn_driver.h"
#include "bcn_dpdk_conf.h"
#include "bcn_http.h"
#include "bcn_mbuf.h"
#include "bcn_pkt.h"

#define DP_MAX_BURST   128
#define DP_MAX_Q       BCN_MAX_WORKERS
#define DP_MAX_RXQ     (BCN_DP_MAX_PORTS * DP_MAX_Q)
#define DP_PREFETCH    3                  /* frames ahead whose bytes are asked for */
#define DP_PF_BYTES    512                /* ... up to this many of each frame */
#define DP_SCRATCH     65536              /* a multi-segment frame, linearized */
#define DP_KERNEL_US   100                /* poll the TAPs this often when busy */
#define DP_HTTP_US     1000               /* poll the HTTP listeners this often when busy */
#define DP_IDLE_POLLS  256                /* empty polls before idle_sleep_us */

/* One DPDK device: a wire port or its exception TAP. */
struct dp_dev {
	char spec[BCN_DP_TOKEN_MAX];
	char name[BCN_DP_TOKEN_MAX];
	char ifname[IF_NAMESIZE];          /* TAP: the kernel's interface     */
	char driver[32];
	uint16_t id;
	int found, configured, started;
	uint16_t nrxq, ntxq, nrxd, ntxd;
	uint64_t rx_offloads;              /* enabled */
	unsigned csum_trust;               /* BCN_PKT_F_* the NIC may report */
	struct rte_ether_addr mac;
	int tx_shared;                     /* fewer TX queues than workers */
	rte_spinlock_t txlock[DP_MAX_Q];
};

struct dp_port {
	struct dp_dev wire;
	struct dp_dev exc;
	int has_exc;
};

struct dp_rxq {
	uint16_t port;   /* index in st->port[] */
	uint16_t dev;    /* DPDK port id        */
	uint16_t q;
};

/* Counters of one worker on one port: written by that worker only. */
struct dp_pstat {
	bcn_ctr cls[BCN_PKT__COUNT];       /* every received frame, by class   */
	bcn_ctr rx_bytes;
	bcn_ctr multiseg;                  /* frames copied out of a chain     */
	bcn_ctr to_kernel, to_kernel_nopath, to_kernel_full;
	bcn_ctr to_wire, to_wire_full;
} __attribute__((aligned(64)));

struct dp_state;

struct dp_worker {
	struct dp_state *st;
	struct bcn_worker *w;
	unsigned id;
	unsigned nrx, nexc;
	struct dp_rxq rx[DP_MAX_RXQ];
	struct dp_rxq excrx[BCN_DP_MAX_PORTS];
	uint16_t txq[BCN_DP_MAX_PORTS];    /* this worker's TX queue, per port */
	uint16_t exc_txq[BCN_DP_MAX_PORTS];
	int http_fd;
	struct bcn_http_server *http;
	int registered, quiesced;
	unsigned lcore;
	uint64_t next_kernel, next_http, kernel_period, http_period;
	unsigned idle;
	/* busy time: TSC cycles of the polls that received frames, each from
	 * the end of the poll before (so the loop's own overhead counts) unless
	 * that one slept; last_tsc is where the next interval starts */
	uint64_t last_tsc;
	bcn_ctr busy_tsc;
	uint8_t *scratch;
	_Alignas(64) struct dp_pstat ps[BCN_DP_MAX_PORTS];
};

struct dp_state {
	struct bcn_app *app;
	int eal_ok;
	unsigned nports, nworkers, burst;
	uint16_t udp_port;
	unsigned idle_sleep_us;
	struct dp_port port[BCN_DP_MAX_PORTS];
	struct rte_mempool *pool;
	unsigned pool_size;
	struct dp_worker *dw;
	int eal_argc;
	char *eal_argv[BCN_DP_MAX_TOKENS + 3 * BCN_DP_MAX_PORTS + 8];
	char eal_words[BCN_DP_MAX_TOKENS + 3 * BCN_DP_MAX_PORTS + 8][BCN_DP_TOKEN_MAX];
};

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* strlcpy: s cut to n - 1 bytes (callers checked the length already). */
static void cpy(char *d, size_t n, const char *s)
{
	size_t l = strlen(s);
	if (l >= n)
		l = n - 1;
	memcpy(d, s, l);
	d[l] = '\0';
}

/* ---- set-up ------------------------------------------------------------- */

static void add_arg(struct dp_state *st, const char *a)
{
	cpy(st->eal_words[st->eal_argc], BCN_DP_TOKEN_MAX, a);
	st->eal_argv[st->eal_argc] = st->eal_words[st->eal_argc];
	st->eal_argc++;
}

/* EAL pins the calling thread to the main lcore; beacond's main thread (and
 * every thread it starts later: slow path, control, workers before they pin)
 * must keep the CPUs it had, so the affinity is put back afterwards. */
static int eal_init(struct dp_state *st, const struct bcn_cfg *c, char *err, size_t errlen)
{
	char words[BCN_DP_MAX_TOKENS][BCN_DP_TOKEN_MAX];
	char ports[BCN_DP_MAX_PORTS][BCN_DP_TOKEN_MAX], exc[BCN_DP_MAX_PORTS][BCN_DP_TOKEN_MAX];
	char buf[32];
	cpu_set_t before;
	int nw = bcn_dp_split(c->dpdk_eal_args, words, BCN_DP_MAX_TOKENS);
	int np = bcn_dp_split(c->dpdk_ports, ports, BCN_DP_MAX_PORTS);
	int ne = bcn_dp_split(c->dpdk_exception, exc, BCN_DP_MAX_PORTS);
	int any_pci = 0, no_pci = 0, has_l = 0;

	if (nw < 0)
		return ERR("dpdk.eal_args: more than %d words, or one over %d bytes", BCN_DP_MAX_TOKENS,
			   BCN_DP_TOKEN_MAX - 1);
	if (np <= 0)
		return ERR("dpdk.ports: %s", np == 0 ? "no port" : "more than 8 ports, or one too long");
	if (ne < 0 || (ne && ne != np))
		return ERR("dpdk.exception: give one exception interface per port (%d port(s), %d given)",
			   np, ne);
	st->nports = (unsigned)np;
	for (int i = 0; i < np; i++) {
		struct dp_port *p = &st->port[i];
		cpy(p->wire.spec, sizeof(p->wire.spec), ports[i]);
		if (bcn_dp_dev_name(ports[i], p->wire.name, sizeof(p->wire.name)))
			return ERR("dpdk.ports: '%s' is not a PCI address or vdev string", ports[i]);
		any_pci |= bcn_dp_is_pci(p->wire.name);
		if (ne) {
			p->has_exc = 1;
			cpy(p->exc.spec, sizeof(p->exc.spec), exc[i]);
			if (bcn_dp_dev_name(exc[i], p->exc.name, sizeof(p->exc.name)) ||
			    bcn_dp_is_pci(p->exc.name))
				return ERR("dpdk.exception: '%s' is not a vdev string", exc[i]);
		}
	}
	for (int i = 0; i < nw; i++) {
		no_pci |= !strcmp(words[i], "--no-pci");
		has_l |= !strcmp(words[i], "-l") || !strcmp(words[i], "--lcores") ||
			 !strcmp(words[i], "-c") || !strncmp(words[i], "--lcores=", 9);
	}
	if (any_pci && no_pci)
		return ERR("dpdk.eal_args has --no-pci but dpdk.ports names a PCI device");

	add_arg(st, "beacond");
	if (!has_l) {
		long main_lcore = (long)c->dpdk_main_lcore;
		if (main_lcore < 0) {
			cpu_set_t s;
			main_lcore = 0;
			if (!sched_getaffinity(0, sizeof(s), &s))
				for (int i = 0; i < CPU_SETSIZE; i++)
					if (CPU_ISSET(i, &s)) {
						main_lcore = i;
						break;
					}
		}
		snprintf(buf, sizeof(buf), "%ld", main_lcore);
		add_arg(st, "-l");
		add_arg(st, buf);
	}
	for (int i = 0; i < nw; i++)
		add_arg(st, words[i]);
	if (!any_pci && !no_pci)
		add_arg(st, "--no-pci"); /* vdevs only: do not probe the host's PCI devices */
	for (unsigned i = 0; i < st->nports; i++) {
		add_arg(st, bcn_dp_is_pci(st->port[i].wire.name) ? "-a" : "--vdev");
		add_arg(st, st->port[i].wire.spec);
		if (st->port[i].has_exc) {
			add_arg(st, "--vdev");
			add_arg(st, st->port[i].exc.spec);
		}
	}
	st->eal_argv[st->eal_argc] = NULL;

	int have_aff = !pthread_getaffinity_np(pthread_self(), sizeof(before), &before);
	int rc = rte_eal_init(st->eal_argc, st->eal_argv);
	if (have_aff)
		pthread_setaffinity_np(pthread_self(), sizeof(before), &before);
	if (rc < 0)
		return ERR("EAL init failed: %s (EAL arguments from dpdk.eal_args, dpdk.ports, dpdk.exception)",
			   rte_strerror(rte_errno));
	st->eal_ok = 1;
	return 0;
}

/* Find the device, read what it can do, configure its queues.  nrxq is what
 * we want (capped by the device); ntxq = one per worker (capped). */
static int dev_configure(struct dp_state *st, struct dp_dev *d, unsigned want_rxq, int wire,
			 char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int rc;

	if (rte_eth_dev_get_port_by_name(d->name, &d->id))
		return ERR("dpdk: no device '%s' after EAL init (spec '%s')%s", d->name, d->spec,
			   bcn_dp_is_pci(d->name) ? ": is it bound to vfio-pci? (docs/dpdk.md)" : "");
	d->found = 1;
	if ((rc = rte_eth_dev_info_get(d->id, &info)))
		return ERR("dpdk: %s: dev_info: %s", d->name, rte_strerror(-rc));
	snprintf(d->driver, sizeof(d->driver), "%s", info.driver_name ? info.driver_name : "?");
	if (!wire && info.if_index)
		if_indextoname(info.if_index, d->ifname);
	d->nrxq = (uint16_t)RTE_MIN(want_rxq, (unsigned)info.max_rx_queues);
	d->ntxq = (uint16_t)RTE_MIN(st->nworkers, (unsigned)info.max_tx_queues);
	if (!d->nrxq)
		return ERR("dpdk: %s has no RX queue", d->name);
	d->tx_shared = d->ntxq < st->nworkers;
	for (unsigned q = 0; q < DP_MAX_Q; q++)
		rte_spinlock_init(&d->txlock[q]);

	memset(&conf, 0, sizeof(conf));
	if (wire && d->nrxq > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = NULL; /* the PMD's default key */
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	if (wire) {
		uint64_t want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		d->rx_offloads = want & info.rx_offload_capa;
		conf.rxmode.offloads = d->rx_offloads;
		if (d->rx_offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
			d->csum_trust |= BCN_PKT_F_IP_GOOD | BCN_PKT_F_IP_BAD;
		if (d->rx_offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
			d->csum_trust |= BCN_PKT_F_L4_GOOD | BCN_PKT_F_L4_BAD;
	}
	if ((rc = rte_eth_dev_configure(d->id, d->nrxq, d->ntxq, &conf)))
		return ERR("dpdk: %s: configure %u rx / %u tx queue(s): %s", d->name, d->nrxq, d->ntxq,
			   rte_strerror(-rc));
	d->configured = 1;
	d->nrxd = (uint16_t)st->app->cfg.dpdk_rx_desc;
	d->ntxd = (uint16_t)st->app->cfg.dpdk_tx_desc;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(d->id, &d->nrxd, &d->ntxd)))
		return ERR("dpdk: %s: descriptors: %s", d->name, rte_strerror(-rc));
	rte_eth_macaddr_get(d->id, &d->mac);
	return 0;
}

static int dev_queues(struct dp_state *st, struct dp_dev *d, char *err, size_t errlen)
{
	int sock = rte_eth_dev_socket_id(d->id), rc;
	if (sock < 0)
		sock = SOCKET_ID_ANY;
	for (uint16_t q = 0; q < d->nrxq; q++)
		if ((rc = rte_eth_rx_queue_setup(d->id, q, d->nrxd, (unsigned)sock, NULL, st->pool)))
			return ERR("dpdk: %s: RX queue %u: %s", d->name, q, rte_strerror(-rc));
	for (uint16_t q = 0; q < d->ntxq; q++)
		if ((rc = rte_eth_tx_queue_setup(d->id, q, d->ntxd, (unsigned)sock, NULL)))
			return ERR("dpdk: %s: TX queue %u: %s", d->name, q, rte_strerror(-rc));
	return 0;
}

/* dpdk.exception_addrs: give the TAPs their addresses (ioctl; a TAP is
 * created fresh by EAL, so EEXIST only means "listed twice"). */
struct dp_in6_ifreq { /* struct in6_ifreq of <linux/ipv6.h> */
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int set_addrs(struct dp_state *st, const char *list, char *err, size_t errlen)
{
	char words[BCN_DP_MAX_ADDRS][BCN_DP_TOKEN_MAX];
	int n = bcn_dp_split(list, words, BCN_DP_MAX_ADDRS);
	if (n < 0)
		return ERR("dpdk.exception_addrs: more than %d addresses", BCN_DP_MAX_ADDRS);
	for (int i = 0; i < n; i++) {
		struct bcn_dp_addr a;
		char e[160];
		if (bcn_dp_parse_addr(words[i], &a, e, sizeof(e)))
			return ERR("dpdk.exception_addrs: %s", e);
		if (a.exc >= st->nports || !st->port[a.exc].has_exc || !st->port[a.exc].exc.ifname[0])
			return ERR("dpdk.exception_addrs: '%s': no exception interface %u with a kernel side",
				   words[i], a.exc);
		const char *ifn = st->port[a.exc].exc.ifname;
		int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
		if (fd < 0)
			return ERR("dpdk.exception_addrs: socket: %s", strerror(errno));
		if (a.family == AF_INET) {
			struct ifreq ifr;
			struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifn);
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, a.addr, 4);
			rc = ioctl(fd, SIOCSIFADDR, &ifr);
			if (!rc) {
				uint32_t m = a.prefix ? htonl(~0u << (32 - a.prefix)) : 0;
				memcpy(&sin->sin_addr, &m, 4);
				rc = ioctl(fd, SIOCSIFNETMASK, &ifr);
			}
		} else {
			struct dp_in6_ifreq r;
			memset(&r, 0, sizeof(r));
			memcpy(&r.addr, a.addr, 16);
			r.prefixlen = a.prefix;
			r.ifindex = (int)if_nametoindex(ifn);
			rc = ioctl(fd, SIOCSIFADDR, &r);
		}
		if (rc && errno != EEXIST) {
			rc = errno;
			close(fd);
			return ERR("dpdk.exception_addrs: %s on %s: %s", words[i], ifn, strerror(rc));
		}
		close(fd);
	}
	return 0;
}

/* The HTTP listener of one worker: as the socket driver's, plus
 * IP_FREEBIND so that it can bind to the exception interface's address
 * before the host (or dpdk.exception_addrs) has put it there. */
static int bind_http(const char *addr, int64_t port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char ps[16];
	int one = 1, fd = -1, rc;

	snprintf(ps, sizeof(ps), "%lld", (long long)port);
	if ((rc = getaddrinfo(addr, ps, &hints, &ai)) != 0)
		return ERR("http.address %s: not a numeric address: %s", addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ai->ai_family == AF_INET6
		     ? setsockopt(fd, SOL_IPV6, IPV6_FREEBIND, &one, sizeof(one))
		     : setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one))) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
		snprintf(err, errlen, "http %s:%lld: %s", addr, (long long)port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int http_setup(struct dp_state *st, char *err, size_t errlen)
{
	const struct bcn_cfg *c = &st->app->cfg;
	struct bcn_http_limits lim;
	if (!c->http_enabled)
		return 0;
	bcn_http_limits_defaults(&lim);
	lim.max_conns = (unsigned)c->http_max_conns;
	lim.header_max = (size_t)c->http_header_max;
	lim.body_max = (size_t)c->http_body_max;
	lim.conn_buf = (size_t)c->http_conn_buf;
	lim.large_bufs = (unsigned)c->http_large_bufs;
	lim.idle_ms = (unsigned)c->http_idle_ms;
	lim.request_ms = (unsigned)c->http_request_timeout_ms;
	lim.resp_max = 8192; /* as the socket driver: 204 or the rejected lines */
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct dp_worker *d = &st->dw[i];
		d->http_fd = bind_http(c->http_addr, c->http_port, err, errlen);
		if (d->http_fd < 0)
			return -1;
		d->http = bcn_http_server_new(d->http_fd, &lim, bcn_api_handle, &st->app->w[i]);
		if (!d->http)
			return ERR("http server: %s", strerror(errno));
	}
	return 0;
}

/* Every mbuf that can be held at once: descriptors of every queue, the
 * per-lcore caches (up to 1.5 x cache size each), a burst in flight per
 * worker and per direction. */
static unsigned mbufs_needed(const struct dp_state *st, unsigned cache)
{
	unsigned n = 0;
	for (unsigned i = 0; i < st->nports; i++) {
		const struct dp_dev *ds[2] = { &st->port[i].wire, st->port[i].has_exc ? &st->port[i].exc : NULL };
		for (int k = 0; k < 2; k++)
			if (ds[k])
				n += (unsigned)ds[k]->nrxq * ds[k]->nrxd + (unsigned)ds[k]->ntxq * ds[k]->ntxd;
	}
	return n + (st->nworkers + 1) * (cache + cache / 2) + st->nworkers * 3 * st->burst;
}

/* Spread RX queues over workers: queue q of every port goes to worker
 * q % nworkers; the TAP's queue q to worker q % nworkers too.  TX: worker
 * w uses queue w % ntxq (shared, with a lock, when ntxq < nworkers). */
static void assign_queues(struct dp_state *st)
{
	for (unsigned p = 0; p < st->nports; p++) {
		struct dp_port *pt = &st->port[p];
		for (uint16_t q = 0; q < pt->wire.nrxq; q++) {
			struct dp_worker *d = &st->dw[q % st->nworkers];
			d->rx[d->nrx++] = (struct dp_rxq){ .port = (uint16_t)p, .dev = pt->wire.id, .q = q };
		}
		if (pt->has_exc)
			for (uint16_t q = 0; q < pt->exc.nrxq; q++) {
				struct dp_worker *d = &st->dw[q % st->nworkers];
				d->excrx[d->nexc++] = (struct dp_rxq){ .port = (uint16_t)p, .dev = pt->exc.id, .q = q };
			}
		for (unsigned w = 0; w < st->nworkers; w++) {
			st->dw[w].txq[p] = pt->wire.ntxq ? (uint16_t)(w % pt->wire.ntxq) : 0;
			st->dw[w].exc_txq[p] = pt->has_exc && pt->exc.ntxq ? (uint16_t)(w % pt->exc.ntxq) : 0;
		}
	}
}

static int dp_setup(struct bcn_app *app, char *err, size_t errlen)
{
	const struct bcn_cfg *c = &app->cfg;
	struct dp_state *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return ERR("dpdk driver: out of memory");
	app->drv_state = st;
	st->app = app;
	st->nworkers = app->nworkers;
	st->burst = (unsigned)c->dpdk_burst;
	st->udp_port = c->udp_enabled ? (uint16_t)c->udp_port : 0;
	st->idle_sleep_us = (unsigned)c->dpdk_idle_sleep_us;

	st->dw = aligned_alloc(64, sizeof(*st->dw) * st->nworkers);
	if (!st->dw)
		return ERR("dpdk driver: out of memory");
	memset(st->dw, 0, sizeof(*st->dw) * st->nworkers);
	for (unsigned i = 0; i < st->nworkers; i++) {
		st->dw[i].st = st;
		st->dw[i].w = &app->w[i];
		st->dw[i].id = i;
		st->dw[i].http_fd = -1;
		st->dw[i].scratch = malloc(DP_SCRATCH);
		if (!st->dw[i].scratch)
			return ERR("dpdk driver: out of memory");
	}
	/* fast-path lcores: dpdk.lcores, else driver.worker_cpus (main.c) */
	int cpus[BCN_MAX_WORKERS];
	int ncpu = bcn_cfg_cpu_list(c->dpdk_lcores, cpus, BCN_MAX_WORKERS);
	for (unsigned i = 0; ncpu > 0 && i < st->nworkers; i++)
		app->w[i].cpu = cpus[i];

	if (eal_init(st, c, err, errlen))
		return -1;
	unsigned want = c->dpdk_queues ? (unsigned)c->dpdk_queues : st->nworkers;
	for (unsigned i = 0; i < st->nports; i++) {
		struct dp_port *p = &st->port[i];
		if (dev_configure(st, &p->wire, want, 1, err, errlen))
			return -1;
		if (p->has_exc && dev_configure(st, &p->exc, st->nworkers, 0, err, errlen))
			return -1;
	}
	unsigned cache = (unsigned)c->dpdk_mbuf_cache;
	unsigned need = mbufs_needed(st, cache);
	if ((unsigned)c->dpdk_mbufs < need)
		return ERR("dpdk.mbufs = %lld is too small for these ports, queues and descriptors: "
			   "use at least %u", (long long)c->dpdk_mbufs, need);
	int sock = rte_eth_dev_socket_id(st->port[0].wire.id);
	st->pool_size = (unsigned)c->dpdk_mbufs;
	st->pool = rte_pktmbuf_pool_create("bcn_mbufs", st->pool_size, cache, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, sock < 0 ? SOCKET_ID_ANY : sock);
	if (!st->pool)
		return ERR("dpdk: mbuf pool of %u: %s (more memory: -m/--socket-mem in dpdk.eal_args, "
			   "or hugepages)", st->pool_size, rte_strerror(rte_errno));

	for (unsigned i = 0; i < st->nports; i++) {
		struct dp_port *p = &st->port[i];
		if (dev_queues(st, &p->wire, err, errlen))
			return -1;
		if (c->dpdk_promiscuous && (rc = rte_eth_promiscuous_enable(p->wire.id)))
			return ERR("dpdk: %s: promiscuous: %s", p->wire.name, rte_strerror(-rc));
		/* NDP and other multicast must reach the exception path */
		rte_eth_allmulticast_enable(p->wire.id);
		if ((rc = rte_eth_dev_start(p->wire.id)))
			return ERR("dpdk: %s: start: %s", p->wire.name, rte_strerror(-rc));
		p->wire.started = 1;
		rte_eth_macaddr_get(p->wire.id, &p->wire.mac);
		if (!p->has_exc)
			continue;
		if (dev_queues(st, &p->exc, err, errlen))
			return -1;
		/* the kernel answers for the port: same MAC */
		if ((rc = rte_eth_dev_default_mac_addr_set(p->exc.id, &p->wire.mac)))
			return ERR("dpdk: %s: set MAC: %s", p->exc.name, rte_strerror(-rc));
		if ((rc = rte_eth_dev_start(p->exc.id)))
			return ERR("dpdk: %s: start: %s", p->exc.name, rte_strerror(-rc));
		p->exc.started = 1;
		rte_eth_macaddr_get(p->exc.id, &p->exc.mac);
	}
	if (set_addrs(st, c->dpdk_exception_addrs, err, errlen))
		return -1;
	assign_queues(st);
	if (http_setup(st, err, errlen))
		return -1;
	for (unsigned i = 0; i < st->nworkers; i++)
		app->w[i].drv = &st->dw[i];
	for (unsigned i = 0; i < st->nports; i++) {
		struct dp_port *p = &st->port[i];
		fprintf(stderr, "beacond: dpdk port %u: %s (%s) mac " RTE_ETHER_ADDR_PRT_FMT
				", %u rx / %u tx queue(s), %u/%u descriptors, checksum offload %s\n",
			i, p->wire.name, p->wire.driver, RTE_ETHER_ADDR_BYTES(&p->wire.mac), p->wire.nrxq,
			p->wire.ntxq, p->wire.nrxd, p->wire.ntxd, p->wire.csum_trust ? "on" : "off (software)");
		if (p->has_exc)
			fprintf(stderr, "beacond: dpdk port %u: exception interface %s (kernel: %s), %u queue(s)\n",
				i, p->exc.name, p->exc.ifname[0] ? p->exc.ifname : "?", p->exc.nrxq);
	}
	fprintf(stderr, "beacond: dpdk: %u mbufs (%u needed), cache %u, burst %u, beacon port %u\n",
		st->pool_size, need, cache, st->burst, st->udp_port);
	return 0;
}

/* ---- the worker's side --------------------------------------------------------- */

static int dp_worker_init(struct bcn_worker *w, char *err, size_t errlen)
{
	struct dp_worker *d = w->drv;
	if (rte_thread_register())
		return ERR("rte_thread_register: %s (no free lcore slot?)", rte_strerror(rte_errno));
	d->registered = 1;
	d->lcore = rte_lcore_id();
	uint64_t hz = rte_get_tsc_hz();
	d->kernel_period = hz / 1000000 * DP_KERNEL_US;
	d->http_period = hz / 1000000 * DP_HTTP_US;
	d->last_tsc = rte_rdtsc();
	return 0;
}

static inline unsigned csum_flags(uint64_t ol, unsigned trust)
{
	unsigned f = 0;
	uint64_t ip = ol & RTE_MBUF_F_RX_IP_CKSUM_MASK, l4 = ol & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= BCN_PKT_F_IP_GOOD;
	else if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		f |= BCN_PKT_F_IP_BAD;
	/* L4 NONE: "the data is intact, the checksum field is not": good */
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		f |= BCN_PKT_F_L4_GOOD;
	else if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		f |= BCN_PKT_F_L4_BAD;
	return f & trust;
}

static inline void tx_locked(struct dp_dev *dev, uint16_t q, struct rte_mbuf **m, unsigned n,
			     bcn_ctr *sent, bcn_ctr *full)
{
	uint16_t s;
	if (unlikely(!dev->ntxq)) {
		s = 0;
	} else if (dev->tx_shared) {
		rte_spinlock_lock(&dev->txlock[q]);
		s = rte_eth_tx_burst(dev->id, q, m, (uint16_t)n);
		rte_spinlock_unlock(&dev->txlock[q]);
	} else {
		s = rte_eth_tx_burst(dev->id, q, m, (uint16_t)n);
	}
	if (unlikely(s < n)) {
		rte_pktmbuf_free_bulk(m + s, n - s);
		BCN_INC(*full, n - s);
	}
	BCN_INC(*sent, s);
}

/* Frames the fast path does not take: to the kernel through the TAP. */
static inline void to_kernel(struct dp_worker *d, unsigned p, struct rte_mbuf **m, unsigned n)
{
	struct dp_port *pt = &d->st->port[p];
	struct dp_pstat *ps = &d->ps[p];
	if (!pt->has_exc) {
		rte_pktmbuf_free_bulk(m, n);
		BCN_INC(ps->to_kernel_nopath, n);
		return;
	}
	for (unsigned i = 0; i < n; i++) /* RX flags mean nothing on TX */
		m[i]->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	tx_locked(&pt->exc, d->exc_txq[p], m, n, &ps->to_kernel, &ps->to_kernel_full);
}

/* What the kernel sent on the TAPs this worker polls: out of the port. */
static unsigned kernel_to_wire(struct dp_worker *d)
{
	struct rte_mbuf *m[DP_MAX_BURST];
	unsigned total = 0;
	for (unsigned i = 0; i < d->nexc; i++) {
		const struct dp_rxq *q = &d->excrx[i];
		uint16_t n = rte_eth_rx_burst(q->dev, q->q, m, (uint16_t)d->st->burst);
		if (!n)
			continue;
		for (unsigned k = 0; k < n; k++)
			m[k]->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
		struct dp_pstat *ps = &d->ps[q->port];
		tx_locked(&d->st->port[q->port].wire, d->txq[q->port], m, n, &ps->to_wire, &ps->to_wire_full);
		total += n;
	}
	return total;
}

/* Ask for every cache line of a frame's first DP_PF_BYTES, not only the
 * first (l3fwd's habit: it reads headers only).  The software checksum and
 * the parser read all of a beacon, and a frame a NIC wrote by DMA (or a
 * zero-copy memif peer from its core) is not in this core's cache: with
 * the first line only, the worker waited for the rest line by line
 * (perf/RESULTS.md, DPDK eleventh round).  Can't fail. */
static inline void dp_prefetch_frame(const struct rte_mbuf *m)
{
	const char *p = rte_pktmbuf_mtod(m, const char *);
	const char *e = p + RTE_MIN((unsigned)m->data_len, (unsigned)DP_PF_BYTES);
	for (p = RTE_PTR_ALIGN_FLOOR(p, RTE_CACHE_LINE_SIZE); p < e; p += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p);
}

/* One burst from one RX queue.  Returns frames received. */
static inline unsigned rx_queue(struct bcn_worker *w, struct dp_worker *d, const struct dp_rxq *q)
{
	struct rte_mbuf *pk[DP_MAX_BURST], *ex[DP_MAX_BURST];
	const struct dp_dev *dev = &d->st->port[q->port].wire;
	uint16_t n = rte_eth_rx_burst(q->dev, q->q, pk, (uint16_t)d->st->burst);
	if (!n)
		return 0;
	struct dp_pstat *ps = &d->ps[q->port];
	const uint16_t port = d->st->udp_port;
	const unsigned trust = dev->csum_trust;
	unsigned nf = 0, ne = 0, nb = 0;
	uint64_t bytes = 0;

	bcn_worker_clock(w);
	for (unsigned i = 0; i < DP_PREFETCH && i < n; i++)
		dp_prefetch_frame(pk[i]);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pk[i];
		if (i + DP_PREFETCH < n)
			dp_prefetch_frame(pk[i + DP_PREFETCH]);
		const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
		size_t len = m->data_len;
		bytes += m->pkt_len;
		if (unlikely(m->nb_segs > 1)) {
			len = RTE_MIN((size_t)m->pkt_len, (size_t)DP_SCRATCH);
			f = rte_pktmbuf_read(m, 0, (uint32_t)len, d->scratch);
			BCN_INC(ps->multiseg, 1);
		}
		struct bcn_pkt pp;
		enum bcn_pkt_class c = bcn_pkt_classify(f, len, port, csum_flags(m->ol_flags, trust), &pp);
		if (likely(c == BCN_PKT_BEACON)) {
			const uint8_t *pl = f + pp.payload_off;
			bcn_worker_ingest(w, bcn_format_of(pl, pp.payload_len), pl, pp.payload_len, NULL, 0,
					  BCN_SRC_UDP);
			nb++;
			pk[nf++] = m; /* nf <= i: the slot was read already */
		} else {
			BCN_INC(ps->cls[c], 1);
			if (bcn_pkt_is_exception(c))
				ex[ne++] = m;
			else
				pk[nf++] = m;
		}
	}
	BCN_INC(ps->cls[BCN_PKT_BEACON], nb);
	BCN_INC(ps->rx_bytes, bytes);
	BCN_INC(w->st.bursts, 1);
	if (nf)
		rte_pktmbuf_free_bulk(pk, nf);
	if (ne)
		to_kernel(d, q->port, ex, ne);
	return n;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static int dp_poll(struct bcn_worker *w, int timeout_ms)
{
	struct dp_worker *d = w->drv;
	unsigned got = 0;
	int handled = 0;

	/* also after quiesce: the exception path carries the TCP of the HTTP
	 * requests still in flight, and beacons that arrive meanwhile are
	 * taken (the slow path drains the rings after the workers exit) */
	for (unsigned i = 0; i < d->nrx; i++)
		got += rx_queue(w, d, &d->rx[i]);
	uint64_t now = rte_rdtsc();
	if (got) {
		d->idle = 0;
		BCN_INC(d->busy_tsc, now - d->last_tsc);
	} else {
		d->idle++;
	}
	d->last_tsc = now;
	if (d->nexc && (!got || now >= d->next_kernel)) {
		if (kernel_to_wire(d))
			d->next_kernel = 0; /* more may be coming: look again next time */
		else
			d->next_kernel = now + d->kernel_period;
	}
	if (d->http && (!got || now >= d->next_http)) {
		int r = bcn_http_server_poll(d->http, 0);
		if (r < 0)
			return -1;
		handled += r;
		d->next_http = now + d->http_period;
	}
	if (!got && !handled) {
		/* no RX queue: wait on HTTP (1 ms if there is a TAP to poll) */
		int wait = d->nrx ? 0 : (d->nexc ? 1 : timeout_ms);
		if (wait > 0) {
			if (d->http) {
				int r = bcn_http_server_poll(d->http, wait);
				if (r < 0)
					return -1;
				handled += r;
			} else {
				sleep_us((unsigned)wait * 1000);
			}
		} else if (d->st->idle_sleep_us && d->idle >= DP_IDLE_POLLS) {
			sleep_us(d->st->idle_sleep_us);
			d->last_tsc = rte_rdtsc(); /* the sleep is not busy time */
		}
	}
	return (int)got + handled;
}

static void dp_quiesce(struct bcn_worker *w)
{
	struct dp_worker *d = w->drv;
	/* what the NIC already holds was sent to us: take it (bounded) */
	for (int round = 0; round < 64; round++) {
		unsigned got = 0;
		for (unsigned i = 0; i < d->nrx; i++)
			got += rx_queue(w, d, &d->rx[i]);
		if (!got)
			break;
	}
	d->quiesced = 1;
	if (d->http)
		bcn_http_server_stop_accepting(d->http);
}

static int dp_idle(struct bcn_worker *w)
{
	struct dp_worker *d = w->drv;
	return !d->http || bcn_http_server_open_conns(d->http) == 0;
}

static void dp_worker_fini(struct bcn_worker *w)
{
	struct dp_worker *d = w->drv;
	if (d && d->registered) {
		rte_thread_unregister();
		d->registered = 0;
	}
}

static void dev_close(struct dp_dev *d)
{
	if (d->started)
		rte_eth_dev_stop(d->id);
	if (d->found)
		rte_eth_dev_close(d->id);
	d->started = d->configured = d->found = 0;
}

static void dp_teardown(struct bcn_app *app)
{
	struct dp_state *st = app->drv_state;
	if (!st)
		return;
	for (unsigned i = 0; st->dw && i < st->nworkers; i++) {
		bcn_http_server_free(st->dw[i].http);
		if (st->dw[i].http_fd >= 0)
			close(st->dw[i].http_fd);
		free(st->dw[i].scratch);
		if (app->w && app->w[i].drv == &st->dw[i])
			app->w[i].drv = NULL;
	}
	if (st->eal_ok) {
		for (unsigned i = 0; i < st->nports; i++) {
			dev_close(&st->port[i].wire);
			dev_close(&st->port[i].exc);
		}
		rte_mempool_free(st->pool);
		rte_eal_cleanup();
	}
	free(st->dw);
	free(st);
	app->drv_state = NULL;
}

/* ---- metrics ------------------------------------------------------------------ */

#define U(x) ((unsigned long long)(x))

static void dev_label(const struct dp_state *st, const struct dp_dev *d, char *b, size_t n)
{
	for (unsigned i = 0; i < st->nports; i++) {
		if (d == &st->port[i].wire)
			snprintf(b, n, "%u", i);
		else if (d == &st->port[i].exc)
			snprintf(b, n, "exc%u", i);
	}
}

static void port_stats(struct dp_state *st, struct bcn_mbuf *mb)
{
	static const struct { const char *name, *help; } fam[] = {
		{ "beacond_dpdk_port_rx_packets_total", "Packets received by the port (rte_eth_stats ipackets)." },
		{ "beacond_dpdk_port_rx_missed_total", "Packets the NIC dropped for lack of RX descriptors (imissed)." },
		{ "beacond_dpdk_port_rx_errors_total", "Erroneous packets received (ierrors)." },
		{ "beacond_dpdk_port_rx_nombuf_total", "RX mbuf allocation failures (rx_nombuf)." },
		{ "beacond_dpdk_port_tx_packets_total", "Packets sent by the port (opackets)." },
		{ "beacond_dpdk_port_tx_errors_total", "Failed transmissions (oerrors)." },
	};
	struct rte_eth_stats s[2 * BCN_DP_MAX_PORTS];
	const struct dp_dev *devs[2 * BCN_DP_MAX_PORTS];
	unsigned nd = 0;
	for (unsigned i = 0; i < st->nports; i++) {
		devs[nd++] = &st->port[i].wire;
		if (st->port[i].has_exc)
			devs[nd++] = &st->port[i].exc;
	}
	for (unsigned k = 0; k < nd; k++)
		if (!devs[k]->found || rte_eth_stats_get(devs[k]->id, &s[k]))
			memset(&s[k], 0, sizeof(s[k]));
	for (unsigned f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		bcn_mb_family(mb, fam[f].name, "counter", fam[f].help);
		for (unsigned k = 0; k < nd; k++) {
			uint64_t v[] = { s[k].ipackets, s[k].imissed, s[k].ierrors, s[k].rx_nombuf,
					 s[k].opackets, s[k].oerrors };
			char l[16] = "";
			dev_label(st, devs[k], l, sizeof(l));
			bcn_mb_printf(mb, "%s{port=\"%s\"} %llu\n", fam[f].name, l, U(v[f]));
		}
	}
	bcn_mb_family(mb, "beacond_dpdk_port_info", "gauge",
		      "DPDK devices: wire ports (port=N) and their exception TAPs (port=excN).");
	for (unsigned k = 0; k < nd; k++) {
		char l[16] = "";
		dev_label(st, devs[k], l, sizeof(l));
		bcn_mb_printf(mb, "beacond_dpdk_port_info{port=\"%s\",name=\"%s\",driver=\"%s\",mac=\""
				  RTE_ETHER_ADDR_PRT_FMT "\",rx_queues=\"%u\",tx_queues=\"%u\",kernel_if=\"%s\"} 1\n",
			      l, devs[k]->name, devs[k]->driver, RTE_ETHER_ADDR_BYTES(&devs[k]->mac),
			      devs[k]->nrxq, devs[k]->ntxq, devs[k]->ifname);
	}
}

static void dp_metrics(struct bcn_app *app, struct bcn_mbuf *mb)
{
	struct dp_state *st = app->drv_state;
	if (!st)
		return;
	bcn_mb_family(mb, "beacond_dpdk_rx_packets_total", "counter",
		      "Frames a worker received from a port, by class: beacon (to the parser), "
		      "not_ip/not_udp/wrong_port (exception path), fragment/bad_checksum/short/bad_header (dropped).");
	for (unsigned i = 0; i < st->nworkers; i++)
		for (unsigned p = 0; p < st->nports; p++)
			for (unsigned c = 0; c < BCN_PKT__COUNT; c++)
				bcn_mb_printf(mb, "beacond_dpdk_rx_packets_total{worker=\"%u\",port=\"%u\",class=\"%s\"} %llu\n",
					      i, p, bcn_pkt_class_name(c), U(BCN_GET(st->dw[i].ps[p].cls[c])));
	bcn_mb_family(mb, "beacond_dpdk_rx_bytes_total", "counter", "Bytes of the frames a worker received.");
	for (unsigned i = 0; i < st->nworkers; i++)
		for (unsigned p = 0; p < st->nports; p++)
			bcn_mb_printf(mb, "beacond_dpdk_rx_bytes_total{worker=\"%u\",port=\"%u\"} %llu\n", i, p,
				      U(BCN_GET(st->dw[i].ps[p].rx_bytes)));
	bcn_mb_family(mb, "beacond_dpdk_rx_multiseg_total", "counter",
		      "Frames in several mbufs, copied into one buffer before parsing.");
	for (unsigned i = 0; i < st->nworkers; i++)
		for (unsigned p = 0; p < st->nports; p++)
			bcn_mb_printf(mb, "beacond_dpdk_rx_multiseg_total{worker=\"%u\",port=\"%u\"} %llu\n", i, p,
				      U(BCN_GET(st->dw[i].ps[p].multiseg)));
	bcn_mb_family(mb, "beacond_dpdk_exception_packets_total", "counter",
		      "Exception path: frames to the kernel (direction=to_kernel) and from it out of the port "
		      "(to_wire), by result: sent, no_path (no exception interface), tx_full.");
	for (unsigned i = 0; i < st->nworkers; i++)
		for (unsigned p = 0; p < st->nports; p++) {
			const struct dp_pstat *s = &st->dw[i].ps[p];
			const struct { const char *dir, *res; uint64_t v; } e[] = {
				{ "to_kernel", "sent", BCN_GET(s->to_kernel) },
				{ "to_kernel", "no_path", BCN_GET(s->to_kernel_nopath) },
				{ "to_kernel", "tx_full", BCN_GET(s->to_kernel_full) },
				{ "to_wire", "sent", BCN_GET(s->to_wire) },
				{ "to_wire", "tx_full", BCN_GET(s->to_wire_full) },
			};
			for (size_t k = 0; k < sizeof(e) / sizeof(e[0]); k++)
				bcn_mb_printf(mb, "beacond_dpdk_exception_packets_total{worker=\"%u\",port=\"%u\","
						  "direction=\"%s\",result=\"%s\"} %llu\n",
					      i, p, e[k].dir, e[k].res, U(e[k].v));
		}
	bcn_mb_family(mb, "beacond_dpdk_worker_busy_seconds_total", "counter",
		      "Time a worker spent on polls that received frames (TSC; each from the end of the "
		      "poll before, sleeps excluded): its rate is the lcore's busy share; beacons accepted "
		      "per busy second estimate the lcore's capacity (high when frames come in spurts).");
	double hz = (double)rte_get_tsc_hz();
	for (unsigned i = 0; i < st->nworkers; i++)
		bcn_mb_printf(mb, "beacond_dpdk_worker_busy_seconds_total{worker=\"%u\"} %.6f\n", i,
			      hz > 0 ? (double)BCN_GET(st->dw[i].busy_tsc) / hz : 0.0);
	bcn_mb_family(mb, "beacond_dpdk_worker_queues", "gauge",
		      "RX queues a worker polls: wire ports (kind=wire) and exception TAPs (kind=exception).");
	for (unsigned i = 0; i < st->nworkers; i++)
		bcn_mb_printf(mb, "beacond_dpdk_worker_queues{worker=\"%u\",kind=\"wire\"} %u\n"
				  "beacond_dpdk_worker_queues{worker=\"%u\",kind=\"exception\"} %u\n",
			      i, st->dw[i].nrx, i, st->dw[i].nexc);
	port_stats(st, mb);
	bcn_mb_family(mb, "beacond_dpdk_mbufs", "gauge",
		      "The packet pool (fixed at start): mbufs available and in use (NIC rings, caches, in flight).");
	unsigned avail = st->pool ? rte_mempool_avail_count(st->pool) : 0;
	bcn_mb_printf(mb, "beacond_dpdk_mbufs{state=\"available\"} %u\nbeacond_dpdk_mbufs{state=\"in_use\"} %u\n",
		      avail, st->pool_size - avail);
	if (st->dw[0].http) {
		/* the HTTP listeners behind the exception path: as the socket driver's */
		struct bcn_http_stats hs;
		bcn_mb_family(mb, "beacond_http_responses_total", "counter",
			      "HTTP beacon API responses by status code.");
		for (unsigned i = 0; i < st->nworkers; i++) {
			bcn_http_stats_read(st->dw[i].http, &hs);
			for (unsigned c = 0; c < BCN_HTTP_NSTATUS; c++)
				bcn_mb_printf(mb, "beacond_http_responses_total{worker=\"%u\",code=\"%s\"} %llu\n",
					      i, bcn_http_status_label(c), U(hs.responses[c]));
		}
		bcn_mb_family(mb, "beacond_http_connections_open", "gauge", "Open HTTP connections.");
		for (unsigned i = 0; i < st->nworkers; i++) {
			bcn_http_stats_read(st->dw[i].http, &hs);
			bcn_mb_printf(mb, "beacond_http_connections_open{worker=\"%u\"} %llu\n", i,
				      U(hs.conns_open));
		}
	}
}

const struct bcn_driver_ops bcn_driver_dpdk = {
	.name = "dpdk",
	.setup = dp_setup,
	.worker_init = dp_worker_init,
	.poll = dp_poll,
	.quiesce = dp_quiesce,
	.idle = dp_idle,
	.worker_fini = dp_worker_fini,
	.teardown = dp_teardown,
	.metrics = dp_metrics,
};
