/*
 * test_etl.c - beacon-etl's unit suite (build/test-etl, its own CUnit
 * runner): the config table, record routing by type, ClickHouse error-body
 * parsing and classification, the retry schedule, batch building and the
 * bisection of refused batches against a simulated ClickHouse; with
 * test_rowbin.c the RowBinary encoder, with test_pg.c the PostgreSQL sink's
 * pure parts (record -> row, unescaping, text-array literals), with
 * test_consume.c the consumer poll against librdkafka's mock cluster.
 *
 * Why its own binary: the ETL links librdkafka, libcurl and the HTTP engine
 * but none of beacond's app code; keeping it apart keeps both link lines
 * honest.  Exit status 0 only if every assert passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "bcn_ch.h"
#include "bcn_etl_batch.h"
#include "bcn_etl_conf.h"
#include "bcn_etl_route.h"
#include "bcn_record.h"

/* ---- config ---- */

static void test_conf_defaults(void)
{
	struct bcn_etl_cfg c;
	char err[256];
	bcn_etl_cfg_defaults(&c);
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.s[BCN_ETL_VIEWS].topic, "ugc.views");
	CU_ASSERT_STRING_EQUAL(c.s[BCN_ETL_ACTIONS].topic, "ugc.actions");
	CU_ASSERT_STRING_EQUAL(c.topic_dlq, "ugc.dlq");
	CU_ASSERT_EQUAL(c.metrics_port, 9471);
	CU_ASSERT_EQUAL(c.s[BCN_ETL_VIEWS].batch_bytes, 40 << 20);
	CU_ASSERT_EQUAL(c.s[BCN_ETL_VIEWS].batch_rows, 100000);
	CU_ASSERT_STRING_EQUAL(c.t_player, "player_events");
	/* every default is valid for its own row */
	char v[64];
	for (size_t i = 0; i < bcn_etl_cfg_table_len; i++) {
		const struct bcn_conf_item *it = &bcn_etl_cfg_table[i];
		snprintf(v, sizeof(v), "%s", it->def);
		CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, it->name, v,
					     err, sizeof(err)), 0);
	}
}

static void test_conf_set_check(void)
{
	struct bcn_etl_cfg c;
	char err[256];
	bcn_etl_cfg_defaults(&c);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, "views.batch_rows",
				     "2000000", err, sizeof(err)), -1); /* over one CH block */
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, "views.batch_bytes",
				     "32M", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.s[BCN_ETL_VIEWS].batch_bytes, 32 << 20);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, "nope.key", "1", err,
				     sizeof(err)), -1);
	bcn_etl_cfg_defaults(&c);
	c.backoff_min_ms = 20000;
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
	bcn_etl_cfg_defaults(&c);
	strcpy(c.t_like, "likes; DROP");
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
	bcn_etl_cfg_defaults(&c);
	c.s[0].enabled = c.s[1].enabled = c.s[2].enabled = 0;
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
	bcn_etl_cfg_defaults(&c);
	strcpy(c.endpoints, "https://x:8443");
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
}

static void test_endpoints(void)
{
	char ep[BCN_ETL_MAX_ENDPOINTS][256];
	CU_ASSERT_EQUAL(bcn_etl_endpoints("http://a:8123/, b:8124 ,http://c:1", ep, 8), 3);
	CU_ASSERT_STRING_EQUAL(ep[0], "http://a:8123");
	CU_ASSERT_STRING_EQUAL(ep[1], "http://b:8124");
	CU_ASSERT_STRING_EQUAL(ep[2], "http://c:1");
	CU_ASSERT_EQUAL(bcn_etl_endpoints("", ep, 8), -1);
	CU_ASSERT_EQUAL(bcn_etl_endpoints("a:1,,b:2", ep, 8), -1);
	CU_ASSERT_EQUAL(bcn_etl_endpoints("a:1,b:2,c:3", ep, 2), -1);
}

/* ---- routing ---- */

#define ROUTE(s, t) bcn_etl_route(s, strlen(s), t)

static void test_route_ok(void)
{
	unsigned t;
	static const char rec[] =
		"{\"event_id\":\"01935314-b87c-7005-8001-c0c3cac855df\",\"type\":\"review\",\"ts\":1732265687123,"
		"\"recv_ts\":1732265687164,\"node\":\"bcn-msk-1\",\"source\":\"http\",\"rating\":9,"
		"\"text\":\"\xd0\x92\xd0\xb8\xd0\xb7 \\\"x\\\" \\u00e9 \\n\"}";
	CU_ASSERT_EQUAL(ROUTE(rec, &t), BCN_ETL_R_OK);
	CU_ASSERT_EQUAL(t, BCN_T_REVIEW);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(t), BCN_ETL_ACTIONS);
	CU_ASSERT_EQUAL(ROUTE(" {\"type\" : \"view\" , \"a\":-1.5e3,\"b\":true,\"c\":null,\"d\":0} \n", &t),
			BCN_ETL_R_OK);
	CU_ASSERT_EQUAL(t, BCN_T_VIEW);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_VIEW), BCN_ETL_VIEWS);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_PLAYER), BCN_ETL_VIEWS);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_PAGE), BCN_ETL_EVENTS);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_ACTION), BCN_ETL_EVENTS);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_LIKE), BCN_ETL_ACTIONS);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_BOOKMARK), BCN_ETL_ACTIONS);
	CU_ASSERT_EQUAL(bcn_etl_stream_of(BCN_T_NONE), -1);
	/* the type's position does not matter */
	CU_ASSERT_EQUAL(ROUTE("{\"x\":\"type\",\"y\":\"\\\"type\\\":\\\"like\\\"\",\"type\":\"bookmark\"}", &t),
			BCN_ETL_R_OK);
	CU_ASSERT_EQUAL(t, BCN_T_BOOKMARK);
}

/* A number's end, found 8 bytes at a time: every byte value at every place
 * of a 16-digit number.  Inside it, only a digit, '.' or an exponent letter
 * (then followed by digits) leaves valid JSON; as the last byte, a digit or
 * whitespace before the '}'.  Anything else is bad JSON. */
static void test_route_number_bytes(void)
{
	char j[96];
	for (int at = 1; at < 16; at++)
		for (int b = 0; b < 256; b++) {
			char num[17];
			memcpy(num, "1234567890123456", 17);
			num[at] = (char)b;
			int n = snprintf(j, sizeof(j), "{\"type\":\"view\",\"n\":");
			memcpy(j + n, num, 16);
			j[n + 16] = '}';
			unsigned ty;
			int r = bcn_etl_route(j, (size_t)n + 17, &ty);
			int ws = b == ' ' || b == '\t' || b == '\n' || b == '\r';
			int ok = (b >= '0' && b <= '9') ||
				 (at < 15 ? b == '.' || b == 'e' || b == 'E' : ws);
			CU_ASSERT_EQUAL(r, ok ? BCN_ETL_R_OK : BCN_ETL_R_BAD_JSON);
			if ((r == BCN_ETL_R_OK) != ok)
				fprintf(stderr, "number byte 0x%02x at %d: route %d\n", b, at, r);
		}
}

static void test_route_bad(void)
{
	unsigned t = 99;
	static const char *const bad[] = {
		"", "   ", "[]", "{", "{\"type\":\"view\"", "{\"type\":\"view\",}",
		"{\"type\":\"view\"}x", "{\"type\":\"view\"}{\"type\":\"view\"}",
		"{\"type\":\"view\",\"a\":{\"b\":1}}", "{\"type\":\"view\",\"a\":[1]}",
		"{\"type\":\"vi\nw\"}", "{\"type\":\"view\",\"a\":\"x\\q\"}", "{\"type\":\"view\",\"a\":01}",
		"{\"type\":\"view\",\"a\":1.}", "{\"type\":\"view\",\"a\":tru}", "{\"type\":\"view\",\"a\":\"\\u12\"}",
		"{\"type\":\"view\",\"type\":\"view\"}", "{type:\"view\"}", "{\"type\" \"view\"}",
		"{\"type\":\"view\",\"a\":\"raw\ttab\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = ROUTE(bad[i], &t);
		if (r != BCN_ETL_R_BAD_JSON)
			printf("\n  route(%s) = %d, want bad_json\n", bad[i], r);
		CU_ASSERT_EQUAL(r, BCN_ETL_R_BAD_JSON);
		CU_ASSERT_EQUAL(t, BCN_T_NONE);
	}
	CU_ASSERT_EQUAL(ROUTE("{}", &t), BCN_ETL_R_NO_TYPE);
	CU_ASSERT_EQUAL(ROUTE("{\"type\":null}", &t), BCN_ETL_R_NO_TYPE);
	CU_ASSERT_EQUAL(ROUTE("{\"type\":7}", &t), BCN_ETL_R_NO_TYPE);
	CU_ASSERT_EQUAL(ROUTE("{\"Type\":\"view\"}", &t), BCN_ETL_R_NO_TYPE);
	CU_ASSERT_EQUAL(ROUTE("{\"type\":\"click\"}", &t), BCN_ETL_R_UNKNOWN_TYPE);
	CU_ASSERT_EQUAL(ROUTE("{\"type\":\"VIEW\"}", &t), BCN_ETL_R_UNKNOWN_TYPE);
	CU_ASSERT_EQUAL(ROUTE("{\"type\":\"vi\\u0065w\"}", &t), BCN_ETL_R_UNKNOWN_TYPE);
	CU_ASSERT_EQUAL(t, BCN_T_NONE);
	/* the length is respected: no read past n */
	CU_ASSERT_EQUAL(bcn_etl_route("{\"type\":\"view\"}", 10, &t), BCN_ETL_R_BAD_JSON);
	CU_ASSERT_STRING_EQUAL(bcn_etl_reason_name(BCN_ETL_R_REJECTED), "rejected");
	CU_ASSERT_STRING_EQUAL(bcn_etl_reason_name(999), "?");
}

/* ---- ClickHouse answers ---- */

static void test_ch_parse(void)
{
	int row = -1;
	static const char old[] =
		"Code: 376, e.displayText() = DB::Exception: Cannot parse uuid bad\",\"type\":\"view\"}\n"
		": (while read the value of key event_id): (at row 17)\n, e.what() = DB::Exception\n";
	CU_ASSERT_EQUAL(bcn_ch_parse_exception(old, strlen(old), &row), 376);
	CU_ASSERT_EQUAL(row, 17);
	static const char neu[] = "Code: 27. DB::Exception: Cannot parse input: expected '\"' before: "
				  "'abc': (at row 1)\n: While executing ParallelParsingBlockInputFormat. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)";
	CU_ASSERT_EQUAL(bcn_ch_parse_exception(neu, strlen(neu), &row), 27);
	CU_ASSERT_EQUAL(row, 1);
	static const char tbl[] = "Code: 60, e.displayText() = DB::Exception: Table ugc.nope doesn't exist.";
	CU_ASSERT_EQUAL(bcn_ch_parse_exception(tbl, strlen(tbl), &row), 60);
	CU_ASSERT_EQUAL(row, 0);
	/* a streamed 200 with the exception at the end */
	static const char tail[] = "Ok.\nsome progress\nCode: 241, e.displayText() = DB::Exception: Memory limit";
	CU_ASSERT_EQUAL(bcn_ch_parse_exception(tail, strlen(tail), NULL), 241);
	CU_ASSERT_EQUAL(bcn_ch_parse_exception("", 0, &row), 0);
	CU_ASSERT_EQUAL(bcn_ch_parse_exception("Code: ", 6, &row), 0);
	CU_ASSERT_EQUAL(bcn_ch_parse_exception("Code: 12", 8, &row), 0); /* cut: no separator */
	CU_ASSERT_EQUAL(bcn_ch_parse_exception("Code: x1, ", 10, &row), 0);
	CU_ASSERT_EQUAL(bcn_ch_parse_exception("Codes: 1, Code: 5, y", 20, &row), 5);
	CU_ASSERT_EQUAL(bcn_ch_parse_exception("Code: 99999999999, ", 19, &row), 0);
}

static void test_ch_classify(void)
{
	CU_ASSERT_EQUAL(bcn_ch_classify(0, 0, 0), BCN_CH_TRANSPORT);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 200, 0), BCN_CH_OK);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 200, 241), BCN_CH_TRANSIENT); /* 200 + exception */
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 500, 27), BCN_CH_DATA);        /* 18.x: 500 */
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 400, 26), BCN_CH_DATA);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 500, 376), BCN_CH_DATA);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 500, 53), BCN_CH_DATA);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 404, 60), BCN_CH_CONFIG);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 500, 81), BCN_CH_CONFIG);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 403, 516), BCN_CH_CONFIG);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 500, 252), BCN_CH_TRANSIENT); /* too many parts */
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 503, 0), BCN_CH_TRANSIENT);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 502, 0), BCN_CH_TRANSIENT);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 429, 0), BCN_CH_TRANSIENT);
	CU_ASSERT_EQUAL(bcn_ch_classify(1, 401, 0), BCN_CH_CONFIG);
	CU_ASSERT_STRING_EQUAL(bcn_ch_kind_name(BCN_CH_DATA), "data");
}

/* ---- retry schedule ---- */

static void test_backoff(void)
{
	for (unsigned a = 0; a < 40; a++)
		for (uint64_t r = 0; r < 2000; r += 7) {
			int64_t d = bcn_etl_backoff_ms(a, 100, 10000, r * 2654435761u);
			int64_t base = 100;
			for (unsigned i = 0; i < a && base < 10000; i++)
				base *= 2;
			if (base > 10000)
				base = 10000;
			CU_ASSERT(d >= base / 2 && d <= base);
		}
	/* the cap is reached and kept */
	CU_ASSERT(bcn_etl_backoff_ms(7, 100, 10000, 0) >= 5000);
	CU_ASSERT(bcn_etl_backoff_ms(1000, 100, 10000, ~0ull) <= 10000);
	/* jitter: not all the same */
	int64_t a = bcn_etl_backoff_ms(3, 100, 10000, 1), b = bcn_etl_backoff_ms(3, 100, 10000, 401);
	CU_ASSERT(a != b);
	CU_ASSERT_EQUAL(bcn_etl_backoff_ms(0, 0, 0, 5), 1);
}

/* ---- batches ---- */

static void test_batch(void)
{
	struct bcn_etl_tbatch b;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&b, 64, 3, 0), 0);
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, "{\"a\":1}", 7, 0, 10), BCN_ETL_TB_OK);
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, "{\"a\":2}", 7, 1, 20), BCN_ETL_TB_OK);
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, "{\"a\":3}", 7, 0, 11), BCN_ETL_TB_OK);
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, "{}", 2, 0, 12), BCN_ETL_TB_FULL); /* rows */
	const char *p = bcn_etl_tb_body(&b, 0, 3, &len);
	CU_ASSERT_EQUAL(len, 24);
	CU_ASSERT_NSTRING_EQUAL(p, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 24);
	p = bcn_etl_tb_body(&b, 1, 2, &len);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_NSTRING_EQUAL(p, "{\"a\":2}\n", 8);
	CU_ASSERT_EQUAL(b.rows[2].part, 0);
	CU_ASSERT_EQUAL(b.rows[2].offset, 11);
	CU_ASSERT_EQUAL(BCN_GET(b.in_use), 24);
	bcn_etl_tb_reset(&b);
	CU_ASSERT_EQUAL(b.n, 0);
	char big[80];
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, big, 64, 0, 1), BCN_ETL_TB_TOO_BIG); /* + '\n' */
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, big, 63, 0, 1), BCN_ETL_TB_OK);
	CU_ASSERT_EQUAL(bcn_etl_tb_append(&b, big, 1, 0, 2), BCN_ETL_TB_FULL); /* bytes */
	bcn_etl_tb_free(&b);
	bcn_etl_tb_free(&b); /* idempotent */
}

/* A simulated ClickHouse: a range is refused (atomically) if it holds a
 * poison row; the hint points at the first one, or is wrong on purpose. */
struct sim {
	uint32_t n;
	const char *poison;  /* n flags */
	int *inserted;       /* per row */
	int *rejected;       /* per row */
	int calls, wrong_hint, give_up_after;
};

static int sim_insert(void *ctx, uint32_t x, uint32_t y, int *hint)
{
	struct sim *s = ctx;
	if (s->give_up_after && ++s->calls > s->give_up_after)
		return -1;
	if (!s->give_up_after)
		s->calls++;
	for (uint32_t i = x; i < y; i++)
		if (s->poison[i]) {
			*hint = s->wrong_hint ? (int)((y - x) + 5) : (int)(i - x + 1);
			return 1;
		}
	for (uint32_t i = x; i < y; i++)
		s->inserted[i]++;
	return 0;
}

static int sim_reject(void *ctx, uint32_t row)
{
	struct sim *s = ctx;
	s->rejected[row]++;
	return 0;
}

static void run_sim(uint32_t n, unsigned npoison, int wrong_hint, unsigned seed)
{
	struct sim s = { .n = n, .wrong_hint = wrong_hint };
	char *poison = calloc(n, 1);
	s.inserted = calloc(n, sizeof(int));
	s.rejected = calloc(n, sizeof(int));
	srand(seed);
	for (unsigned k = 0; k < npoison; k++)
		poison[rand() % n] = 1;
	s.poison = poison;
	CU_ASSERT_EQUAL(bcn_etl_bisect(0, n, 1, 0, sim_insert, sim_reject, &s), 0);
	unsigned bad = 0;
	for (uint32_t i = 0; i < n; i++) {
		bad += poison[i];
		CU_ASSERT_EQUAL(s.inserted[i], poison[i] ? 0 : 1);
		CU_ASSERT_EQUAL(s.rejected[i], poison[i] ? 1 : 0);
	}
	/* with right hints: about 3 inserts per poison row; halving: ~2 log2 n each */
	if (!wrong_hint) {
		CU_ASSERT(s.calls <= (int)(1 + 3 * bad));
	} else {
		CU_ASSERT(s.calls <= (int)(1 + bad * 2 * 20));
	}
	free(poison);
	free(s.inserted);
	free(s.rejected);
}

static void test_bisect(void)
{
	run_sim(1, 0, 0, 1);
	run_sim(1, 1, 0, 1);
	run_sim(1000, 0, 0, 2);
	run_sim(1000, 1, 0, 3);
	run_sim(1000, 7, 0, 4);
	run_sim(1000, 7, 1, 5);
	run_sim(65536, 40, 0, 6);
	run_sim(65536, 40, 1, 7);
	run_sim(100, 100, 0, 8);
	run_sim(100, 100, 1, 9);
	/* giving up stops at once */
	struct sim s = { .n = 100, .give_up_after = 3 };
	char poison[100] = { 0 };
	int ins[100] = { 0 }, rej[100] = { 0 };
	poison[10] = poison[70] = 1;
	s.poison = poison;
	s.inserted = ins;
	s.rejected = rej;
	CU_ASSERT_EQUAL(bcn_etl_bisect(0, 100, 1, 0, sim_insert, sim_reject, &s), -1);
	CU_ASSERT_EQUAL(bcn_etl_bisect(5, 5, 1, 0, sim_insert, sim_reject, &s), 0); /* empty */
}

/* tests/unit/etl/test_rowbin.c */
int test_rowbin_register(CU_pSuite s);
/* tests/unit/etl/test_pg.c */
int test_pg_register(CU_pSuite s);
/* tests/unit/etl/test_sort.c */
int test_sort_register(CU_pSuite s);
/* tests/unit/etl/test_consume.c */
int test_consume_register(CU_pSuite s);

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite("etl", NULL, NULL);
	if (!s || !CU_add_test(s, "config defaults", test_conf_defaults) ||
	    !CU_add_test(s, "config set and check", test_conf_set_check) ||
	    !CU_add_test(s, "endpoint list", test_endpoints) ||
	    !CU_add_test(s, "route: valid records", test_route_ok) ||
	    !CU_add_test(s, "route: unusable records", test_route_bad) ||
	    !CU_add_test(s, "route: a number's end, every byte", test_route_number_bytes) ||
	    !CU_add_test(s, "clickhouse: exception parsing", test_ch_parse) ||
	    !CU_add_test(s, "clickhouse: classification", test_ch_classify) ||
	    !CU_add_test(s, "backoff schedule", test_backoff) ||
	    !CU_add_test(s, "batch building", test_batch) ||
	    !CU_add_test(s, "bisection against a simulated ClickHouse", test_bisect) ||
	    test_rowbin_register(s) || test_pg_register(s) || test_sort_register(s) ||
	    test_consume_register(s)) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode rc = CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	unsigned tests_failed = CU_get_number_of_tests_failed();
	printf("\ntest-etl: %u tests, %u asserts; %u asserts failed, %u tests failed\n",
	       CU_get_number_of_tests_run(), CU_get_number_of_asserts(), failures, tests_failed);
	CU_cleanup_registry();
	return (rc != CUE_SUCCESS || failures || tests_failed) ? 1 : 0;
}
