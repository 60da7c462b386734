/*
 * bench_dpdk.c - the DPDK fast path's beacons/s per lcore (build/bench-dpdk).
 *
 * Why this exists: the appliance's budget is beacons/s per fast-path lcore
 * (issue 4: >= 5 M JSON, >= 10 M binary ~200-byte beacons).  beacond itself
 * cannot show it on a small host: its slow path (record -> JSON -> Kafka)
 * drains far fewer records per second than a fast-path lcore fills, so the
 * rings fill and UDP beacons are dropped before they are parsed.  This
 * harness runs exactly beacond's fast path -- the DPDK driver's ops
 * (drivers/dpdk), bcn_worker_main, bcn_worker_ingest (parse, auth, validate,
 * stamp into the ring) -- with the same config file, and puts a null sink
 * in place of the Kafka slow path: one thread that releases every record
 * from the rings as soon as it is committed.  Nothing in beacond is changed
 * for it (no Kafka, no slow path, no control plane are started).
 *
 *   bench-dpdk --config FILE [--seconds S] [--warmup S] [--tail S] [--sink-cpu N]
 *   bench-dpdk --config FILE --ingest-only PCAP [--seconds S] [--sink-cpu N]
 *
 * FILE is a beacond config with driver.name = dpdk (kafka.* is ignored).
 * Workers are pinned by driver.worker_cpus / dpdk.lcores.  After --warmup
 * seconds (default 2) it measures for --seconds (default 10) and prints,
 * per worker and in total: beacons accepted per second (into the ring),
 * frames received, rejects, ring-full drops, and the port's imissed and
 * rx_nombuf; --tail keeps the ports open S more seconds after the workers
 * stopped, before closing them (so that a memif generator disconnects
 * while nothing polls, and stops while its peer is still there).  It also reads the worker thread's CPU clock: on a shared
 * host (a VM, other load on the worker's CPU) the wall-clock rate is what
 * the thread got; "beacons per CPU-second" is the rate of a dedicated,
 * isolated lcore (the thread busy-polls, so it would use 100%).  Exit 0, or 1 on a start-up error, or 3 if any beacon was
 * dropped for lack of ring room or rejected (the measured rate would then
 * not be the rate of the success path).
 *
 * --ingest-only PCAP is the baseline: no DPDK at all; one thread on worker
 * 0's CPU takes the UDP payloads of the pcap's beacon frames (classified by
 * the driver's bcn_pkt_classify once, before timing) and calls
 * bcn_worker_ingest on them in a loop, into worker 0's ring, with the same
 * null sink.  Run next to the DPDK cases, it tells how much of a fast-path
 * lcore's time the driver itself takes (RX, classification, checksums,
 * mbuf handling) on top of parsing, in the same conditions.
 */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bcn_app.h"
#include "bcn_mbuf.h"
#include "bcn_pkt.h"
#include "pcap_payloads.h"

#define METRICS_BUF (1u << 20)

static _Atomic int sink_stop;
static _Atomic uint64_t sink_bytes;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The null sink: drop every record as soon as it is in a ring, without
 * reading it (bcn_ring_discard).  It shares its core with EAL's main lcore
 * and, in the memif case, with the generator; peek + release per record
 * read each record's header line from the worker's core, and at ~9 M
 * records/s that took the generator's time (perf/RESULTS.md, DPDK tenth
 * round).  It sleeps 50 us between rounds: a sink that never yields takes
 * half of that core in scheduler slices of milliseconds, while the memif
 * ring (1024 frames) runs dry in a quarter of one; 50 us at ~5 GB/s of
 * records is ~250 KB, and the ring holds 256 MiB. */
static void *sink_main(void *arg)
{
	struct bcn_app *app = arg;
	uint64_t bytes = 0;
	pthread_setname_np(pthread_self(), "bcn-null-sink");
	while (!atomic_load_explicit(&sink_stop, memory_order_relaxed)) {
		for (unsigned i = 0; i < app->nworkers; i++)
			bytes += bcn_ring_discard(&app->w[i].ring);
		atomic_store_explicit(&sink_bytes, bytes, memory_order_relaxed);
		usleep(50);
	}
	return NULL;
}

struct snap {
	double t;
	uint64_t acc[BCN_MAX_WORKERS], rx[BCN_MAX_WORKERS], rej[BCN_MAX_WORKERS], drop[BCN_MAX_WORKERS];
	uint64_t frames[BCN_MAX_WORKERS], bursts[BCN_MAX_WORKERS], imissed, nombuf;
	double cpu[BCN_MAX_WORKERS];  /* the worker thread's CPU time, s */
	double busy[BCN_MAX_WORKERS]; /* beacond_dpdk_worker_busy_seconds_total */
};

/* Sum of the series of `name` in the metrics text whose labels contain
 * `label` (or all, if NULL). */
static double msumf(const char *text, const char *name, const char *label)
{
	double tot = 0;
	size_t nl = strlen(name);
	for (const char *p = text; (p = strstr(p, name)); p += nl) {
		if ((p != text && p[-1] != '\n') || (p[nl] != '{' && p[nl] != ' '))
			continue;
		const char *eol = strchr(p, '\n');
		const char *sp = eol ? eol : p + strlen(p);
		while (sp > p && sp[-1] != ' ')
			sp--;
		if (label) {
			const char *l = strstr(p, label);
			if (!l || (eol && l > eol))
				continue;
		}
		tot += strtod(sp, NULL);
	}
	return tot;
}

static uint64_t msum(const char *text, const char *name, const char *label)
{
	return (uint64_t)(msumf(text, name, label) + 0.5);
}

static void take(struct bcn_app *app, struct snap *s, char *buf)
{
	struct bcn_mbuf mb;
	s->t = now_s();
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct bcn_worker_stats *st = &app->w[i].st;
		s->acc[i] = s->rej[i] = 0;
		for (unsigned t = 0; t < BCN_T__COUNT; t++)
			s->acc[i] += BCN_GET(st->accepted[BCN_SRC_UDP][t]);
		for (unsigned r = 0; r < BCN_R__COUNT; r++)
			s->rej[i] += BCN_GET(st->rejected[BCN_SRC_UDP][r]);
		s->rx[i] = BCN_GET(st->rx[BCN_SRC_UDP]);
		s->drop[i] = BCN_GET(st->dropped[BCN_D_RING_FULL]);
		s->bursts[i] = BCN_GET(st->bursts);
		clockid_t cid;
		struct timespec ts = { 0, 0 };
		if (!pthread_getcpuclockid(app->w[i].th, &cid))
			clock_gettime(cid, &ts);
		s->cpu[i] = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	}
	bcn_mb_init(&mb, buf, METRICS_BUF);
	app->drv->metrics(app, &mb);
	buf[mb.len < METRICS_BUF ? mb.len : METRICS_BUF - 1] = '\0';
	for (unsigned i = 0; i < app->nworkers; i++) {
		char l[32];
		snprintf(l, sizeof(l), "worker=\"%u\"", i);
		s->frames[i] = msum(buf, "beacond_dpdk_rx_packets_total", l);
		s->busy[i] = msumf(buf, "beacond_dpdk_worker_busy_seconds_total", l);
	}
	s->imissed = msum(buf, "beacond_dpdk_port_rx_missed_total", NULL);
	s->nombuf = msum(buf, "beacond_dpdk_port_rx_nombuf_total", NULL);
}

/* ---- --ingest-only: bcn_worker_ingest alone, on the pcap's payloads ---- */

struct ingest_arg {
	struct bcn_worker *w;
	struct payloads *pl;
	double secs, cpu, wall;
	uint64_t accepted;
};

static void *ingest_main(void *arg)
{
	struct ingest_arg *a = arg;
	struct bcn_worker *w = a->w;
	struct timespec c0, c1;
	uint64_t acc0 = 0, acc1 = 0;
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (unsigned t = 0; t < BCN_T__COUNT; t++)
		acc0 += BCN_GET(w->st.accepted[BCN_SRC_UDP][t]);
	double t0 = now_s(), end = t0 + a->secs;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	unsigned i = 0;
	for (uint64_t k = 0;; k++) {
		if ((k & 31) == 0) {
			bcn_worker_clock(w);
			if ((k & 8191) == 0 && now_s() >= end)
				break;
		}
		const uint8_t *p = a->pl->buf + a->pl->off[i];
		bcn_worker_ingest(w, bcn_format_of(p, a->pl->len[i]), p, a->pl->len[i], NULL, 0, BCN_SRC_UDP);
		if (++i == a->pl->n)
			i = 0;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	a->wall = now_s() - t0;
	a->cpu = (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9;
	for (unsigned t = 0; t < BCN_T__COUNT; t++)
		acc1 += BCN_GET(w->st.accepted[BCN_SRC_UDP][t]);
	a->accepted = acc1 - acc0;
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench-dpdk --config FILE [--seconds S] [--warmup S] [--tail S] [--sink-cpu N]\n"
		   "       bench-dpdk --config FILE --ingest-only PCAP [--seconds S] [--sink-cpu N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' }, { "sink-cpu", required_argument, NULL, 'k' },
		{ "ingest-only", required_argument, NULL, 'i' }, { "tail", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static struct bcn_app app;
	const char *path = NULL, *only = NULL;
	double secs = 10, warm = 2, tail = 0;
	int sink_cpu = -1, c;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:s:w:k:i:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 's': secs = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'k': sink_cpu = atoi(optarg); break;
		case 'i': only = optarg; break;
		case 't': tail = atof(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || secs <= 0 || warm < 0) {
		usage(stderr);
		return 2;
	}
	bcn_cfg_defaults(&app.cfg);
	if (bcn_conf_load(bcn_cfg_table, bcn_cfg_table_len, &app.cfg, path, err, sizeof(err)) ||
	    bcn_cfg_check(&app.cfg, err, sizeof(err))) {
		fprintf(stderr, "bench-dpdk: %s\n", err);
		return 2;
	}
	if (strcmp(app.cfg.driver, "dpdk")) {
		fprintf(stderr, "bench-dpdk: %s: driver.name must be dpdk\n", path);
		return 2;
	}
	/* what beacond's main does at start-up, minus Kafka and the control plane */
	const struct bcn_cfg *cfg = &app.cfg;
	int cpus[BCN_MAX_WORKERS];
	int ncpu = bcn_cfg_cpu_list(cfg->worker_cpus, cpus, BCN_MAX_WORKERS);
	app.started_ms = bcn_now_ms();
	bcn_ingest_cfg_defaults(&app.icfg);
	app.icfg.skew_past_ms = cfg->skew_past_s * 1000;
	app.icfg.skew_future_ms = cfg->skew_future_s * 1000;
	snprintf(app.icfg.node, sizeof(app.icfg.node), "%s", cfg->node_name);
	app.icfg.node_id = (uint16_t)cfg->node_id;
	if (bcn_jwt_ring_init(&app.keys, cfg->jwt_keys)) {
		fprintf(stderr, "bench-dpdk: auth.jwt_keys: bad key list\n");
		return 2;
	}
	atomic_store(&app.kafka_up, 1);
	app.drv = &bcn_driver_dpdk;
	app.nworkers = (unsigned)cfg->workers;
	app.w = aligned_alloc(64, sizeof(*app.w) * app.nworkers);
	if (!app.w)
		return 1;
	memset(app.w, 0, sizeof(*app.w) * app.nworkers);
	for (unsigned i = 0; i < app.nworkers; i++) {
		if (bcn_worker_setup(&app, &app.w[i], i, err, sizeof(err))) {
			fprintf(stderr, "bench-dpdk: %s\n", err);
			return 1;
		}
		app.w[i].cpu = ncpu > 0 ? cpus[i] : -1;
	}
	if (only) {
		struct payloads pl;
		struct ingest_arg ia = { .w = &app.w[0], .pl = &pl, .secs = secs };
		pthread_t th, sk;
		if (payloads_load(only, (uint16_t)cfg->udp_port, 1u << 20, &pl)) {
			fprintf(stderr, "bench-dpdk: %s: no beacon frames to port %lld\n", only,
				(long long)cfg->udp_port);
			return 1;
		}
		pthread_create(&sk, NULL, sink_main, &app);
		if (sink_cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(sink_cpu, &set);
			pthread_setaffinity_np(sk, sizeof(set), &set);
		}
		pthread_create(&th, NULL, ingest_main, &ia);
		pthread_join(th, NULL);
		atomic_store(&sink_stop, 1);
		pthread_join(sk, NULL);
		printf("ingest-only (cpu %d): %.3f M beacons/s accepted; thread on CPU %.0f%% of the time: "
		       "%.3f M beacons per CPU-second (%u distinct payloads, no DPDK)\n",
		       app.w[0].cpu, ia.accepted / ia.wall / 1e6, 100 * ia.cpu / ia.wall,
		       ia.cpu > 0 ? ia.accepted / ia.cpu / 1e6 : 0.0, pl.n);
		payloads_free(&pl);
		return 0;
	}
	if (app.drv->setup(&app, err, sizeof(err))) {
		fprintf(stderr, "bench-dpdk: start-up failed: %s\n", err);
		app.drv->teardown(&app);
		return 1;
	}
	pthread_t sink;
	if (pthread_create(&sink, NULL, sink_main, &app))
		return 1;
	if (sink_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(sink_cpu, &set);
		pthread_setaffinity_np(sink, sizeof(set), &set);
	}
	for (unsigned i = 0; i < app.nworkers; i++) {
		atomic_store(&app.w[i].running, 1);
		if (pthread_create(&app.w[i].th, NULL, bcn_worker_main, &app.w[i]))
			return 1;
	}
	char *buf = malloc(METRICS_BUF);
	struct snap *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	if (!buf || !a || !b)
		return 1;
	usleep((useconds_t)(warm * 1e6));
	take(&app, a, buf);
	usleep((useconds_t)(secs * 1e6));
	take(&app, b, buf);

	atomic_store(&app.stop_deadline_ms, bcn_now_ms() + 2000);
	atomic_store(&app.stopping, 1);
	for (unsigned i = 0; i < app.nworkers; i++)
		pthread_join(app.w[i].th, NULL);
	atomic_store(&app.workers_done, 1);
	atomic_store(&sink_stop, 1);
	pthread_join(sink, NULL);
	/* the workers no longer poll; keep the ports open while a generator
	 * finishes and disconnects (net_memif unmaps a peer's rings on
	 * disconnect, which a worker still polling them would not survive) */
	if (tail > 0)
		usleep((useconds_t)(tail * 1e6));

	double dt = b->t - a->t;
	uint64_t tacc = 0, tfr = 0, trej = 0, tdrop = 0;
	printf("bench-dpdk: %u worker(s), %.1f s measured after %.1f s warm-up, null sink (no Kafka)\n",
	       app.nworkers, dt, warm);
	for (unsigned i = 0; i < app.nworkers; i++) {
		uint64_t acc = b->acc[i] - a->acc[i], fr = b->frames[i] - a->frames[i];
		uint64_t rej = b->rej[i] - a->rej[i], drop = b->drop[i] - a->drop[i];
		double cpu = b->cpu[i] - a->cpu[i], busy = b->busy[i] - a->busy[i];
		printf("worker %u (cpu %d): %.3f M beacons/s accepted, %.3f M frames/s, %llu rejected, "
		       "%llu ring_full; thread on CPU %.0f%% of the time: %.3f M beacons per CPU-second; "
		       "busy %.1f%%: %.3f M beacons per busy second; %.1f frames per non-empty burst\n",
		       i, app.w[i].cpu, acc / dt / 1e6, fr / dt / 1e6, (unsigned long long)rej,
		       (unsigned long long)drop, 100 * cpu / dt, cpu > 0 ? acc / cpu / 1e6 : 0.0,
		       100 * busy / dt, busy > 0 ? acc / busy / 1e6 : 0.0,
		       b->bursts[i] > a->bursts[i] ? (double)fr / (double)(b->bursts[i] - a->bursts[i]) : 0.0);
		tacc += acc, tfr += fr, trej += rej, tdrop += drop;
	}
	printf("total: %.3f M beacons/s accepted (%.3f M per worker), %.3f M frames/s; "
	       "imissed %llu, rx_nombuf %llu, sink dropped %.1f MiB of records\n",
	       tacc / dt / 1e6, tacc / dt / 1e6 / app.nworkers, tfr / dt / 1e6,
	       (unsigned long long)(b->imissed - a->imissed), (unsigned long long)(b->nombuf - a->nombuf),
	       atomic_load(&sink_bytes) / 1048576.0);
	app.drv->teardown(&app);
	for (unsigned i = 0; i < app.nworkers; i++)
		bcn_worker_fini(&app.w[i]);
	free(app.w);
	free(buf);
	free(a);
	free(b);
	return (trej || tdrop) ? 3 : 0;
}
