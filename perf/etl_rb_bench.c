/*
 * perf/etl_rb_bench.c - beacon-etl's per-record CPU on the stream thread:
 * route (bcn_etl_route_tok) + RowBinary (bcn_rb_encode_tok) over real
 * records, the part of the ETL that is ours (librdkafka's and ClickHouse's
 * are not).  A benchmark, not a test.
 *
 *   build/etl-rb-bench FILE [PASSES] [flat]
 *
 * FILE: key<TAB>json lines as perf/bench_etl.sh produces them
 * (tests/integration/etl/gen_records.py --mix view=1); the plan is the
 * ugc.views DESCRIBE answer of etl/schema (12 sent columns, 3 MATERIALIZED).
 * Prints records/s and ns/record (best of PASSES, default 5) and checks that
 * every record converted.  "flat": time the stream thread's fast path,
 * bcn_rb_encode_flat (no router), instead; every record is first checked
 * to give the same bytes both ways.  Under callgrind, PASSES=1 gives
 * instructions per record: valgrind --tool=callgrind build/etl-rb-bench FILE 1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_etl_rowbin.h"

static const char views_describe[] =
	"event_id\tUUID\t\t\n"
	"type\tString\t\t\n"
	"ts\tInt64\t\t\n"
	"recv_ts\tInt64\t\t\n"
	"node\tString\t\t\n"
	"source\tString\t\t\n"
	"user_id\tUUID\t\t\n"
	"anon_id\tUUID\t\t\n"
	"session_id\tUUID\t\t\n"
	"film_id\tUUID\t\t\n"
	"position_ms\tUInt32\t\t\n"
	"duration_ms\tUInt32\t\t\n"
	"user_key\tUUID\tMATERIALIZED\tif(user_id != toUUID('00000000-0000-0000-0000-000000000000'), user_id, anon_id)\n"
	"event_time\tDateTime('UTC')\tMATERIALIZED\ttoDateTime(intDiv(ts, 1000), 'UTC')\n"
	"event_date\tDate\tMATERIALIZED\ttoDate(toDateTime(intDiv(ts, 1000), 'UTC'))\n";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [PASSES]\n", argv[0]);
		return 2;
	}
	int passes = argc > 2 ? atoi(argv[2]) : 5;
	int flat = argc > 3 && !strcmp(argv[3], "flat");
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)sz + 1);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		return 1;
	fclose(f);
	size_t nrec = 0;
	for (long i = 0; i < sz; i++)
		nrec += buf[i] == '\n';
	const char **rec = malloc(nrec * sizeof(*rec));
	size_t *len = malloc(nrec * sizeof(*len));
	size_t k = 0;
	for (char *p = buf, *end = buf + sz; p < end && k < nrec;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *tab = memchr(p, '\t', (size_t)(nl - p));
		rec[k] = tab ? tab + 1 : p;
		len[k] = (size_t)(nl - rec[k]);
		k++;
		p = nl + 1;
	}
	nrec = k;
	static struct bcn_rb_plan plan;
	if (bcn_rb_plan_parse(&plan, views_describe, sizeof(views_describe) - 1) != 12) {
		fprintf(stderr, "plan: %s\n", plan.why);
		return 1;
	}
	size_t cap = 64u << 20;
	uint8_t *out = malloc(cap);
	if (flat) {
		/* the same bytes both ways, for every record */
		uint8_t a[4096], b[4096];
		for (size_t i = 0; i < nrec; i++) {
			struct bcn_etl_tok tok[BCN_RB_MAX_TOKENS / 2];
			unsigned type;
			int ntok;
			size_t la, lb;
			if (bcn_rb_encode_flat(&plan, 1, "view", rec[i], len[i], a, sizeof(a), &la) != BCN_RB_OK ||
			    bcn_etl_route_tok(rec[i], len[i], &type, tok, BCN_RB_MAX_TOKENS / 2, &ntok) != BCN_ETL_R_OK ||
			    bcn_rb_encode_tok(&plan, rec[i], tok, ntok, b, sizeof(b), &lb) != BCN_RB_OK ||
			    la != lb || memcmp(a, b, la)) {
				fprintf(stderr, "record %zu: the flat path is not the routed one\n", i);
				return 1;
			}
		}
	}
	double best = 1e9;
	size_t bytes = 0;
	for (int ps = 0; ps < passes; ps++) {
		size_t w = 0, bad = 0;
		double t0 = now();
		for (size_t i = 0; i < nrec; i++) {
			struct bcn_etl_tok tok[BCN_RB_MAX_TOKENS / 2];
			unsigned type;
			int ntok;
			size_t ol;
			if (flat ? bcn_rb_encode_flat(&plan, 1, "view", rec[i], len[i], out + w, cap - w, &ol) != BCN_RB_OK
				 : (bcn_etl_route_tok(rec[i], len[i], &type, tok, BCN_RB_MAX_TOKENS / 2, &ntok) != BCN_ETL_R_OK ||
				    bcn_rb_encode_tok(&plan, rec[i], tok, ntok, out + w, cap - w, &ol) != BCN_RB_OK)) {
				bad++;
				continue;
			}
			w += ol;
			if (cap - w < 4096)
				w = 0;
		}
		double t = now() - t0;
		if (bad) {
			fprintf(stderr, "%zu of %zu records did not convert\n", bad, nrec);
			return 1;
		}
		if (t < best)
			best = t;
		bytes = w;
	}
	printf("%zu records, %s: %.0f records/s, %.0f ns/record (best of %d)\n", nrec,
	       flat ? "flat fast path" : "route + rowbinary", (double)nrec / best, best * 1e9 / (double)nrec, passes);
	(void)bytes;
	free(out);
	free(rec);
	free(len);
	free(buf);
	return 0;
}
