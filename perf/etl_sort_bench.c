/*
 * perf/etl_sort_bench.c - beacon-etl's row sort on the inserter thread: the
 * rows of one views batch keyed and sorted (bcn_sort_rows) and copied into
 * the sort buffer in that order, as flush_table does.  A benchmark, not a
 * test.
 *
 *   build/etl-sort-bench FILE [ROWS] [PASSES]
 *
 * FILE: key<TAB>json lines as perf/bench_etl.sh produces them
 * (tests/integration/etl/gen_records.py --mix view=1); the first ROWS
 * records (default 100000, the views batch) are converted to RowBinary by
 * the ugc.views plan (bcn_rb_encode_flat) in arrival order, then sorted
 * PASSES times (default 5).  Prints CPU ns/row of the best pass and checks
 * that the order is the key's (non-decreasing, by a comparison of the key
 * words).  Under callgrind, PASSES=1 gives instructions per row:
 *   valgrind --tool=callgrind build/etl-sort-bench FILE 100000 1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_etl_rowbin.h"
#include "bcn_etl_sort.h"

static const char views_describe[] =
	"event_id\tUUID\t\t\ntype\tString\t\t\nts\tInt64\t\t\nrecv_ts\tInt64\t\t\n"
	"node\tString\t\t\nsource\tString\t\t\nuser_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
	"session_id\tUUID\t\t\nfilm_id\tUUID\t\t\nposition_ms\tUInt32\t\t\nduration_ms\tUInt32\t\t\n"
	"user_key\tUUID\tMATERIALIZED\tif(user_id != toUUID(\\'00000000-0000-0000-0000-000000000000\\'), "
	"user_id, anon_id)\n"
	"event_date\tDate\tMATERIALIZED\ttoDate(toDateTime(intDiv(ts, 1000), \\'UTC\\'))\n";
static const char views_key[] = "user_key, film_id, ts, event_id";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [ROWS] [PASSES]\n", argv[0]);
		return 2;
	}
	uint32_t want = argc > 2 ? (uint32_t)atoi(argv[2]) : 100000;
	int passes = argc > 3 ? atoi(argv[3]) : 5;
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	static struct bcn_rb_plan plan;
	static struct bcn_sort_plan sp;
	if (bcn_rb_plan_parse(&plan, views_describe, sizeof(views_describe) - 1) != 12 ||
	    bcn_sort_plan_parse(&sp, &plan, views_describe, sizeof(views_describe) - 1, views_key,
				sizeof(views_key) - 1) != 4) {
		fprintf(stderr, "plan: %s%s\n", plan.why, sp.why);
		return 1;
	}
	size_t cap = (size_t)want * 256 + 4096;
	uint8_t *rb = malloc(cap), *srt = malloc(cap);
	uint32_t *off = malloc(((size_t)want + 1) * sizeof(uint32_t)), *perm = malloc((size_t)want * sizeof(uint32_t));
	char *line = NULL;
	size_t lcap = 0, w = 0;
	uint32_t n = 0;
	ssize_t ll;
	while (n < want && (ll = getline(&line, &lcap, f)) > 0) {
		char *tab = memchr(line, '\t', (size_t)ll), *rec = tab ? tab + 1 : line;
		size_t rl = (size_t)(line + ll - rec) - (line[ll - 1] == '\n'), ol;
		if (bcn_rb_encode_flat(&plan, 1, "view", rec, rl, rb + w, cap - w, &ol) != BCN_RB_OK) {
			fprintf(stderr, "record %u did not convert\n", n);
			return 1;
		}
		off[n++] = (uint32_t)w;
		w += ol;
	}
	off[n] = (uint32_t)w;
	fclose(f);
	free(line);
	struct bcn_sort_buf b;
	if (bcn_sort_buf_init(&b, n)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	double best = 1e9;
	for (int ps = 0; ps < passes; ps++) {
		clock_t t0 = clock(); /* the process's CPU time: one thread here */
		if (bcn_sort_rows(&sp, &plan, rb, off, n, &b, perm)) {
			fprintf(stderr, "rows could not be keyed\n");
			return 1;
		}
		size_t o = 0;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t len = off[perm[k] + 1] - off[perm[k]];
			memcpy(srt + o, rb + off[perm[k]], len);
			o += len;
		}
		double t = (double)(clock() - t0) / CLOCKS_PER_SEC;
		if (t < best)
			best = t;
	}
	/* the keys in perm order never decrease (b.keys is indexed by row) */
	for (uint32_t k = 1; k < n; k++) {
		const uint64_t *x = b.keys + (size_t)perm[k - 1] * BCN_SORT_MAX_WORDS,
			       *y = b.keys + (size_t)perm[k] * BCN_SORT_MAX_WORDS;
		int c = 0;
		for (int q = 0; q < sp.nwords && !c; q++)
			c = x[q] < y[q] ? -1 : x[q] > y[q];
		if (c > 0) {
			fprintf(stderr, "out of order at %u\n", k);
			return 1;
		}
	}
	printf("%u rows (%zu bytes): key + sort + copy %.1f ms, %.0f ns/row (best of %d)\n", n, w,
	       best * 1e3, best * 1e9 / (double)n, passes);
	bcn_sort_buf_free(&b);
	free(rb);
	free(srt);
	free(off);
	free(perm);
	return 0;
}
