/*
 * ingest_instr.c - a fixed workload for counting bcn_ingest's instructions
 * under callgrind, on the beacons of one of perf/bench_dpdk.sh's pcaps (the
 * VM has no hardware counters and its wall-clock rates move with the
 * neighbours' load; instruction counts do not).  Takes the UDP payloads of
 * the first 64 beacon frames to port 7070 (perf/pcap_payloads.h, as
 * bench-dpdk --ingest-only does), ingests N of them in turn as the fast path
 * does (format sniffed, no token, source udp) and exits 0 if all were
 * accepted.
 *
 *   gcc -O2 -march=corei7 -Iapp/proto -Idrivers/dpdk -o build/ingest-instr \
 *       perf/ingest_instr.c build/libbcnproto.a -lcrypto -linih -lm
 *   NOW=$(date +%s%3N)   # the pcaps' beacons carry the time they were made
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg build/ingest-instr \
 *       build/perf/dpdk/bin200.pcap 100000 $NOW
 *   (instructions per beacon ~ "I refs" / N; reading the pcap is ~2 % of it)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "bcn_proto.h"
#include "pcap_payloads.h"

#define NPAY 64

static struct bcn_record rec;

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: ingest-instr PCAP N NOW_MS\n");
		return 2;
	}
	long n = atol(argv[2]);
	int64_t now = atoll(argv[3]);
	struct payloads pl;
	if (payloads_load(argv[1], 7070, NPAY, &pl)) {
		fprintf(stderr, "ingest-instr: %s: no beacon frames to port 7070\n", argv[1]);
		payloads_free(&pl);
		return 2;
	}
	struct bcn_ingest_cfg cfg;
	bcn_ingest_cfg_defaults(&cfg);
	cfg.node_id = 1;
	struct bcn_ingest in;
	bcn_ingest_init(&in, &cfg, NULL, 0);
	long ok = 0;
	int first = BCN_OK;
	for (long i = 0; i < n; i++) {
		const uint8_t *b = pl.buf + pl.off[i % pl.n];
		size_t l = pl.len[i % pl.n];
		int rc = bcn_ingest(&in, bcn_format_of(b, l), b, l, NULL, 0, now, BCN_SRC_UDP, &rec);
		if (rc == BCN_OK)
			ok++;
		else if (first == BCN_OK)
			first = rc;
	}
	printf("ingested %ld of %ld (%u payloads, first %u bytes)%s%s\n", ok, n, pl.n, pl.len[0],
	       first == BCN_OK ? "" : "; first reject: ", first == BCN_OK ? "" : bcn_reason_name((unsigned)first));
	payloads_free(&pl);
	return ok != n;
}
