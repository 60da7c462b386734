/*
 * ingest_instr.c - a fixed workload for counting bcn_ingest's instructions
 * under callgrind, on the beacons of one of perf/bench_dpdk.sh's pcaps (the
 * VM has no hardware counters and its wall-clock rates move with the
 * neighbours' load; instruction counts do not).  Takes the UDP payloads of
 * the first 64 frames (Ethernet + IPv4 without options, as bench_dpdk.sh
 * writes them), ingests N of them in turn as the fast path does (format
 * sniffed, no token, source udp) and exits 0 if all were accepted.
 *
 *   gcc -O2 -march=corei7 -Iapp/proto -o build/ingest-instr perf/ingest_instr.c \
 *       build/libbcnproto.a -lcrypto -linih -lm
 *   NOW=$(date +%s%3N)   # the pcaps' beacons carry the time they were made
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg build/ingest-instr \
 *       build/perf/dpdk/bin200.pcap 100000 $NOW
 *   (instructions per beacon ~ "I refs" / N; reading the pcap is ~2 % of it)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_proto.h"

#define NPAY 64
#define L2L3 42 /* Ethernet 14 + IPv4 20 + UDP 8 */

static struct bcn_record rec;
static uint8_t pay[NPAY][2048];
static size_t plen[NPAY];

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: ingest-instr PCAP N NOW_MS\n");
		return 2;
	}
	long n = atol(argv[2]);
	int64_t now = atoll(argv[3]);
	FILE *f = fopen(argv[1], "rb");
	uint8_t gh[24], ph[16], fr[4096];
	if (!f || fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		fprintf(stderr, "ingest-instr: cannot read %s\n", argv[1]);
		return 2;
	}
	int k = 0;
	while (k < NPAY && fread(ph, 1, sizeof(ph), f) == sizeof(ph)) {
		uint32_t incl;
		memcpy(&incl, ph + 8, 4); /* little-endian pcap, as pkt.py writes */
		if (incl > sizeof(fr) || incl <= L2L3 || incl - L2L3 > sizeof(pay[0]) ||
		    fread(fr, 1, incl, f) != incl) {
			fprintf(stderr, "ingest-instr: bad frame %d in %s\n", k, argv[1]);
			return 2;
		}
		plen[k] = incl - L2L3;
		memcpy(pay[k], fr + L2L3, plen[k]);
		k++;
	}
	fclose(f);
	if (k == 0)
		return 2;
	struct bcn_ingest_cfg cfg;
	bcn_ingest_cfg_defaults(&cfg);
	cfg.node_id = 1;
	struct bcn_ingest in;
	bcn_ingest_init(&in, &cfg, NULL, 0);
	long ok = 0;
	int first = BCN_OK;
	for (long i = 0; i < n; i++) {
		const uint8_t *b = pay[i % k];
		size_t l = plen[i % k];
		int rc = bcn_ingest(&in, bcn_format_of(b, l), b, l, NULL, 0, now, BCN_SRC_UDP, &rec);
		if (rc == BCN_OK)
			ok++;
		else if (first == BCN_OK)
			first = rc;
	}
	printf("ingested %ld of %ld (%d payloads, first %zu bytes)%s%s\n", ok, n, k, plen[0],
	       first == BCN_OK ? "" : "; first reject: ", first == BCN_OK ? "" : bcn_reason_name(first));
	return ok != n;
}
