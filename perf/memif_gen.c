/*
 * memif_gen.c - traffic generator for the DPDK fast path's benchmark
 * (build/memif-gen): replays the frames of a pcap file, round-robin and as
 * fast as it can, into a net_memif interface.  By default it is the memif
 * client and beacond's side (bench-dpdk) the server, in copy mode: the
 * worker's rx_burst copies every frame out of the shared ring.  With
 * --server it is the server and bench-dpdk a zero-copy client
 * (zero-copy=yes): the worker posts its own mbufs and this process writes
 * the frames into them, as a NIC's DMA would.  Two processes, two cores:
 * the generator's cost does not count against the fast path's lcore.
 *
 *   memif-gen --pcap FILE --socket NAME [--cpu N] [--seconds S] [--burst N]
 *             [--server] [--count N] [--eal "extra EAL args"]
 *
 * --count N (tests/integration/test_dpdk_memif.sh): send the first N frames
 * of the replay exactly once each, in order (a frame the ring had no room
 * for is offered again), then stay connected until the other end goes away;
 * exits 1 if --seconds ran out first.
 *
 * NAME is the memif control socket (an abstract socket name, as net_memif
 * uses by default); the server must use the same.  The frames are copied
 * into mbufs once; each burst sends the next `burst` of them with their
 * reference count raised, so the PMD's free after its copy into the shared
 * ring does not return them to the pool (no per-packet allocation or copy
 * here).  Stops after --seconds or when the other end disconnects.  Prints
 * frames/s offered and accepted by the memif ring.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define MAX_FRAMES 65536

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Classic pcap (either byte order, microsecond or nanosecond). */
static int load_pcap(const char *path, uint8_t **data, uint32_t *len, unsigned max)
{
	FILE *f = fopen(path, "rb");
	uint32_t gh[6], rh[4];
	unsigned n = 0;
	if (!f || fread(gh, 4, 6, f) != 6) {
		fprintf(stderr, "memif-gen: %s: cannot read a pcap header\n", path);
		return -1;
	}
	int swap = gh[0] == 0xd4c3b2a1 || gh[0] == 0x4d3cb2a1;
	while (n < max && fread(rh, 4, 4, f) == 4) {
		uint32_t incl = swap ? __builtin_bswap32(rh[2]) : rh[2];
		if (incl > 9000)
			return -1;
		data[n] = malloc(incl);
		if (!data[n] || fread(data[n], 1, incl, f) != incl)
			break;
		len[n++] = incl;
	}
	fclose(f);
	return (int)n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pcap", required_argument, NULL, 'p' }, { "socket", required_argument, NULL, 's' },
		{ "cpu", required_argument, NULL, 'c' }, { "seconds", required_argument, NULL, 't' },
		{ "burst", required_argument, NULL, 'b' }, { "eal", required_argument, NULL, 'e' },
		{ "server", no_argument, NULL, 'S' }, { "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pcap = NULL, *sock = NULL, *extra = "";
	int cpu = 0, burst = 32, c, server = 0;
	long count = 0;
	double secs = 10;
	while ((c = getopt_long(argc, argv, "p:s:c:t:b:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pcap = optarg; break;
		case 's': sock = optarg; break;
		case 'c': cpu = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'b': burst = atoi(optarg); break;
		case 'e': extra = optarg; break;
		case 'S': server = 1; break;
		case 'n': count = atol(optarg); break;
		default: return 2;
		}
	}
	if (!pcap || !sock || burst < 1 || burst > 256 || count < 0) {
		fprintf(stderr, "usage: memif-gen --pcap FILE --socket NAME [--cpu N] [--seconds S] [--burst N] [--server] [--count N] [--eal ARGS]\n");
		return 2;
	}
	static uint8_t *fd[MAX_FRAMES];
	static uint32_t fl[MAX_FRAMES];
	int nf = load_pcap(pcap, fd, fl, MAX_FRAMES);
	if (nf <= 0)
		return 1;

	char cpus[16], vdev[512], words[1024];
	char *av[64];
	int ac = 0;
	snprintf(cpus, sizeof(cpus), "%d", cpu);
	snprintf(vdev, sizeof(vdev), "net_memif0,role=%s,id=0,socket=%s", server ? "server" : "client", sock);
	av[ac++] = "memif-gen";
	av[ac++] = "-l";
	av[ac++] = cpus;
	av[ac++] = "--no-huge";
	av[ac++] = "--no-shconf";
	av[ac++] = "--no-pci";
	av[ac++] = "-m";
	av[ac++] = "512";
	av[ac++] = "--log-level=*:warning";
	av[ac++] = "--vdev";
	av[ac++] = vdev;
	snprintf(words, sizeof(words), "%s", extra);
	for (char *t = strtok(words, " \t"); t && ac < 62; t = strtok(NULL, " \t"))
		av[ac++] = t;
	av[ac] = NULL;
	if (rte_eal_init(ac, av) < 0) {
		fprintf(stderr, "memif-gen: EAL init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	uint16_t port;
	if (rte_eth_dev_get_port_by_name("net_memif0", &port)) {
		fprintf(stderr, "memif-gen: no net_memif0\n");
		return 1;
	}
	unsigned npool = (unsigned)nf + 4096;
	struct rte_mempool *mp = rte_pktmbuf_pool_create("gen", npool, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
							 (int)rte_socket_id());
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (!mp || rte_eth_dev_configure(port, 1, 1, &conf) ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, mp) ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL) || rte_eth_dev_start(port)) {
		fprintf(stderr, "memif-gen: port set-up failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	struct rte_mbuf **tm = calloc((size_t)nf, sizeof(*tm));
	for (int i = 0; i < nf; i++) {
		tm[i] = rte_pktmbuf_alloc(mp);
		if (!tm[i] || !rte_pktmbuf_append(tm[i], (uint16_t)fl[i])) {
			fprintf(stderr, "memif-gen: frame %d does not fit an mbuf\n", i);
			return 1;
		}
		memcpy(rte_pktmbuf_mtod(tm[i], void *), fd[i], fl[i]);
	}
	fprintf(stderr, "memif-gen: port started as %s, waiting for the other end\n", server ? "server" : "client");
	/* wait for the other end (bench-dpdk) to connect */
	struct rte_eth_link link;
	double t0 = now_s();
	do {
		rte_eth_link_get_nowait(port, &link);
		if (link.link_status)
			break;
		usleep(10000);
	} while (now_s() - t0 < 30);
	if (!link.link_status) {
		fprintf(stderr, "memif-gen: memif %s not connected after 30 s\n", sock);
		return 1;
	}
	fprintf(stderr, "memif-gen: connected; %d frames, burst %d, %.0f s\n", nf, burst, secs);
	uint64_t offered = 0, sent = 0;
	int at = 0;
	struct rte_mbuf *b[256];
	double start = now_s(), end = start + secs;
	for (uint64_t loop = 0;; loop++) {
		if ((loop & 1023) == 0 || (count && (long)sent >= count)) {
			if (now_s() >= end)
				break;
			rte_eth_link_get_nowait(port, &link);
			if (!link.link_status) /* the other end went away: stop sending */
				break;
		}
		if (count) { /* each of the first `count` frames once */
			if ((long)sent >= count) {
				usleep(1000);
				continue;
			}
			int k = (int)RTE_MIN((long)burst, count - (long)sent);
			for (int i = 0; i < k; i++) {
				b[i] = tm[(sent + (uint64_t)i) % (uint64_t)nf];
				rte_mbuf_refcnt_update(b[i], 1);
			}
			uint16_t s = rte_eth_tx_burst(port, 0, b, (uint16_t)k);
			for (int i = s; i < k; i++)
				rte_mbuf_refcnt_update(b[i], -1);
			offered += (uint64_t)k;
			sent += s;
			continue;
		}
		for (int i = 0; i < burst; i++) {
			b[i] = tm[at];
			rte_mbuf_refcnt_update(b[i], 1);
			if (++at == nf)
				at = 0;
		}
		uint16_t s = rte_eth_tx_burst(port, 0, b, (uint16_t)burst);
		for (int i = s; i < burst; i++)
			rte_mbuf_refcnt_update(b[i], -1);
		offered += (uint64_t)burst;
		sent += s;
	}
	double dt = now_s() - start;
	if (count && (long)sent < count) {
		fprintf(stderr, "memif-gen: sent %" PRIu64 " of %ld frames before the end (%.1f s)\n", sent, count, dt);
		return 1;
	}
	printf("memif-gen: %.3f M frames/s sent (%.3f M/s offered) for %.1f s\n", sent / dt / 1e6,
	       offered / dt / 1e6, dt);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return 0;
}
