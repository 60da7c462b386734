/*
 * parse_instr.c - a fixed workload for counting the JSON parser's
 * instructions under callgrind (the VM has no hardware counters, and its
 * wall-clock rates move 2x with the neighbours' load; instruction counts do
 * not).  Parses N view heartbeats (64 distinct ones, 227 bytes each, the
 * shape of bench-parse's "view heartbeat, anon") and exits 0 if all were
 * accepted.
 *
 *   gcc -O2 -Iapp/proto -o build/parse-instr perf/parse_instr.c build/libbcnproto.a -lcrypto -linih
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg build/parse-instr 100000
 *   (instructions per beacon = "I refs" / N; the start-up is under 0.1 % of it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_proto.h"

static struct bcn_record rec;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	static char buf[64][400];
	size_t len[64];
	for (int i = 0; i < 64; i++)
		len[i] = (size_t)snprintf(buf[i], sizeof(buf[i]),
			"{\"type\":\"view\",\"ts\":17322656871%02d,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a%02d\","
			"\"session_id\":\"8d1e4c2a-7b3f-4e69-a5d0-2f1c3b4a5e%02d\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b%02d\","
			"\"position_ms\":7540%02d,\"duration_ms\":5820000}", i, i, i, i, i);
	long ok = 0;
	struct bcn_token t;
	for (long k = 0; k < n; k++)
		ok += bcn_json_parse(buf[k & 63], len[k & 63], &rec, &t) == BCN_OK;
	printf("parsed %ld of %ld, %zu bytes each\n", ok, n, len[0]);
	return ok != n;
}
