/*
 * test_pg.c - the PostgreSQL sink's pure parts (etl/bcn_etl_pg.c): a record
 * -> its kind and row fields or the reason it is skipped, JSON string
 * unescaping, and the text-array literals that carry the batch (checked by
 * decoding them again with PostgreSQL's array-input rules).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "bcn_etl_conf.h"
#include "bcn_etl_pg.h"
#include "bcn_record.h"

#define U1 "5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6b"
#define F1 "6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"
#define E1 "01935314-b87c-7005-8001-c0c3cac855df"
#define R1 "c0ffee00-1234-4abc-8def-0123456789ab"
#define NIL "00000000-0000-0000-0000-000000000000"
#define HEAD(type, user)                                                                         \
	"{\"event_id\":\"" E1 "\",\"type\":\"" type "\",\"ts\":1732265687123,"                   \
	"\"recv_ts\":1732265687164,\"node\":\"bcn-msk-1\",\"source\":\"http\",\"user_id\":\"" user \
	"\",\"anon_id\":\"" NIL "\",\"session_id\":\"" NIL "\",\"film_id\":\"" F1 "\""

static char text[4096];

static int parse(const char *j, struct bcn_etl_pg_rec *r)
{
	return bcn_etl_pg_parse(j, strlen(j), r, text, sizeof(text));
}

static void test_parse_kinds(void)
{
	struct bcn_etl_pg_rec r;
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":-1}", &r), BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.kind, BCN_ETL_PG_LIKE);
	CU_ASSERT_EQUAL(r.type, BCN_T_LIKE);
	CU_ASSERT_EQUAL(r.score, -1);
	CU_ASSERT_STRING_EQUAL(r.user_id, U1);
	CU_ASSERT_STRING_EQUAL(r.film_id, F1);
	CU_ASSERT_STRING_EQUAL(r.event_id, E1);
	CU_ASSERT_EQUAL(r.ts, 1732265687123ll);
	CU_ASSERT_EQUAL(r.recv_ts, 1732265687164ll);
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":0}", &r), BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.score, 0);

	CU_ASSERT_EQUAL(parse(HEAD("bookmark", U1) ",\"op\":\"add\"}", &r), BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.kind, BCN_ETL_PG_BOOKMARK);
	CU_ASSERT_EQUAL(r.active, 1);
	CU_ASSERT_EQUAL(parse(HEAD("bookmark", U1) ",\"op\":\"remove\"}", &r), BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.active, 0);

	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"post\",\"review_id\":\"" R1
						 "\",\"rating\":9,\"text\":\"Визуально: \\\"Дюна\\\" \\\\ ok\\n\"}",
			      &r),
			BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.kind, BCN_ETL_PG_REVIEW);
	CU_ASSERT_EQUAL(r.deleted, 0);
	CU_ASSERT_EQUAL(r.rating, 9);
	CU_ASSERT_STRING_EQUAL(r.review_id, R1);
	CU_ASSERT_EQUAL(r.text_len, strlen("Визуально: \"Дюна\" \\ ok\n"));
	CU_ASSERT(r.text_len == strlen("Визуально: \"Дюна\" \\ ok\n") &&
		  !memcmp(r.text, "Визуально: \"Дюна\" \\ ok\n", r.text_len));
	/* a delete: rating 0 and text "" whatever came */
	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"delete\",\"review_id\":\"" R1
						 "\",\"rating\":0,\"text\":\"\"}",
			      &r),
			BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.deleted, 1);
	CU_ASSERT_EQUAL(r.rating, 0);
	CU_ASSERT_EQUAL(r.text_len, 0);

	CU_ASSERT_EQUAL(parse(HEAD("view", U1) ",\"position_ms\":754000,\"duration_ms\":7200000}", &r),
			BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.kind, BCN_ETL_PG_VIEW);
	CU_ASSERT_EQUAL(r.position_ms, 754000);
	CU_ASSERT_EQUAL(r.duration_ms, 7200000);
	CU_ASSERT_EQUAL(parse(HEAD("player", U1) ",\"event\":\"finish\",\"position_ms\":7100000,"
						 "\"duration_ms\":0,\"from\":\"\",\"to\":\"\"}",
			      &r),
			BCN_ETL_PG_OK);
	CU_ASSERT_EQUAL(r.kind, BCN_ETL_PG_FINISH);
	CU_ASSERT_EQUAL(r.position_ms, 7100000);
	CU_ASSERT_EQUAL(r.duration_ms, 0);
	/* keys in another order, uppercase UUIDs (lowercased) */
	CU_ASSERT_EQUAL(parse("{\"score\":1,\"film_id\":\"6B1F0A2C-3D4E-4F5A-8B6C-7D8E9F0A1B2C\","
			      "\"user_id\":\"" U1 "\",\"recv_ts\":2,\"ts\":1,\"type\":\"like\","
			      "\"event_id\":\"" E1 "\"}",
			      &r),
			BCN_ETL_PG_OK);
	CU_ASSERT_STRING_EQUAL(r.film_id, F1);
}

static void test_parse_skips(void)
{
	struct bcn_etl_pg_rec r;
	/* normal traffic */
	CU_ASSERT_EQUAL(parse(HEAD("view", NIL) ",\"position_ms\":1,\"duration_ms\":2}", &r),
			BCN_ETL_PG_S_ANONYMOUS);
	CU_ASSERT_EQUAL(r.type, BCN_T_VIEW);
	CU_ASSERT_EQUAL(parse(HEAD("player", U1) ",\"event\":\"pause\",\"position_ms\":1,"
						 "\"duration_ms\":2,\"from\":\"\",\"to\":\"\"}",
			      &r),
			BCN_ETL_PG_S_PLAYER_EVENT);
	CU_ASSERT_EQUAL(parse(HEAD("page", U1) ",\"url\":\"/\",\"referrer\":\"\"}", &r),
			BCN_ETL_PG_S_OTHER_TYPE);
	/* malformed */
	CU_ASSERT_EQUAL(parse("{\"type\":\"like\",", &r), BCN_ETL_PG_S_BAD_JSON);
	CU_ASSERT_EQUAL(r.type, BCN_T_NONE);
	CU_ASSERT_EQUAL(parse("{\"type\":\"like\",\"x\":{\"a\":1}}", &r), BCN_ETL_PG_S_BAD_JSON);
	CU_ASSERT_EQUAL(parse("{\"score\":1}", &r), BCN_ETL_PG_S_NO_TYPE);
	CU_ASSERT_EQUAL(parse("{\"type\":\"click\"}", &r), BCN_ETL_PG_S_NO_TYPE);
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) "}", &r), BCN_ETL_PG_S_BAD_FIELD); /* no score */
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":2}", &r), BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":1.0}", &r), BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":\"1\"}", &r), BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":1,\"score\":-1}", &r), BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("like", U1) ",\"score\":1,\"ts\":5}", &r), BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("like", "5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6") ",\"score\":1}", &r),
			BCN_ETL_PG_S_BAD_UUID);
	CU_ASSERT_EQUAL(parse(HEAD("like", "5e2a9d418c3b4f7eb6a01d2c3e4f5a6b0000") ",\"score\":1}", &r),
			BCN_ETL_PG_S_BAD_UUID);
	CU_ASSERT_EQUAL(parse(HEAD("like", "5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6g") ",\"score\":1}", &r),
			BCN_ETL_PG_S_BAD_UUID);
	CU_ASSERT_EQUAL(parse(HEAD("bookmark", U1) ",\"op\":\"post\"}", &r), BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"post\",\"review_id\":\"" NIL
						 "\",\"rating\":9,\"text\":\"x\"}",
			      &r),
			BCN_ETL_PG_S_BAD_UUID);
	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"post\",\"review_id\":\"" R1
						 "\",\"rating\":11,\"text\":\"x\"}",
			      &r),
			BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"post\",\"review_id\":\"" R1
						 "\",\"rating\":5,\"text\":\"a\\u0000b\"}",
			      &r),
			BCN_ETL_PG_S_BAD_TEXT);
	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"post\",\"review_id\":\"" R1
						 "\",\"rating\":5,\"text\":\"\\ud800\"}",
			      &r),
			BCN_ETL_PG_S_BAD_TEXT);
	CU_ASSERT_EQUAL(parse(HEAD("review", U1) ",\"op\":\"post\",\"review_id\":\"" R1
						 "\",\"rating\":5,\"text\":\"\xc0\xaf\"}",
			      &r),
			BCN_ETL_PG_S_BAD_TEXT);
	CU_ASSERT_EQUAL(parse(HEAD("view", U1) ",\"position_ms\":-1,\"duration_ms\":2}", &r),
			BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("view", U1) ",\"position_ms\":1e3,\"duration_ms\":2}", &r),
			BCN_ETL_PG_S_BAD_FIELD);
	CU_ASSERT_EQUAL(parse(HEAD("view", U1) ",\"position_ms\":1234567890123456789,\"duration_ms\":2}", &r),
			BCN_ETL_PG_S_BAD_FIELD); /* 19 digits */
	/* nil film */
	CU_ASSERT_EQUAL(parse("{\"event_id\":\"" E1 "\",\"type\":\"like\",\"ts\":1,\"recv_ts\":1,"
			      "\"user_id\":\"" U1 "\",\"film_id\":\"" NIL "\",\"score\":1}",
			      &r),
			BCN_ETL_PG_S_BAD_UUID);
	/* names */
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_skip_name(BCN_ETL_PG_S_ANONYMOUS), "anonymous");
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_skip_name(BCN_ETL_PG_S_TOO_LARGE), "too_large");
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_skip_name(99), "?");
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_kind_name(BCN_ETL_PG_FINISH), "finish");
}

static int unesc(const char *s, char *out, size_t cap)
{
	return (int)bcn_etl_pg_unescape(s, strlen(s), out, cap);
}

static void test_unescape(void)
{
	char o[64];
	CU_ASSERT_EQUAL(unesc("plain", o, sizeof(o)), 5);
	CU_ASSERT_EQUAL(unesc("a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t", o, sizeof(o)), 12);
	CU_ASSERT(!memcmp(o, "a\"b\\c/d\b\f\n\r\t", 12));
	CU_ASSERT_EQUAL(unesc("\\u00e9\\u20AC", o, sizeof(o)), 5);
	CU_ASSERT(!memcmp(o, "é€", 5));
	CU_ASSERT_EQUAL(unesc("\\ud83d\\ude00!", o, sizeof(o)), 5); /* a pair -> U+1F600 */
	CU_ASSERT(!memcmp(o, "\xf0\x9f\x98\x80!", 5));
	CU_ASSERT_EQUAL(unesc("Дюна", o, sizeof(o)), 8); /* raw UTF-8 kept */
	CU_ASSERT_EQUAL(unesc("", o, sizeof(o)), 0);
	/* refused */
	CU_ASSERT_EQUAL(unesc("\\ud83d", o, sizeof(o)), -1);         /* lone high */
	CU_ASSERT_EQUAL(unesc("\\ud83dx\\ude00", o, sizeof(o)), -1); /* not followed by low */
	CU_ASSERT_EQUAL(unesc("\\ude00", o, sizeof(o)), -1);         /* lone low */
	CU_ASSERT_EQUAL(unesc("\\ud83d\\u0041", o, sizeof(o)), -1);  /* high + non-low */
	CU_ASSERT_EQUAL(unesc("\\u0000", o, sizeof(o)), -1);
	CU_ASSERT_EQUAL(unesc("\\u12", o, sizeof(o)), -1);
	CU_ASSERT_EQUAL(unesc("\\u12g4", o, sizeof(o)), -1);
	CU_ASSERT_EQUAL(unesc("\\x", o, sizeof(o)), -1);
	CU_ASSERT_EQUAL(unesc("abc\\", o, sizeof(o)), -1);
	CU_ASSERT_EQUAL(unesc("\xff", o, sizeof(o)), -1);
	CU_ASSERT_EQUAL(unesc("\xed\xa0\x80", o, sizeof(o)), -1); /* encoded surrogate */
	CU_ASSERT_EQUAL(bcn_etl_pg_unescape("a\0b", 3, o, sizeof(o)), -1); /* raw NUL */
	/* the output never needs more than the input; a short buffer fails */
	CU_ASSERT_EQUAL(unesc("abcdef", o, 5), -1);
	CU_ASSERT_EQUAL(unesc("\\u20ac", o, 2), -1);
	CU_ASSERT_EQUAL(unesc("\\u20ac", o, 3), 3);
}

/* PostgreSQL's array input, for one-dimensional arrays: elements split at
 * ',' outside quotes; a quoted element keeps everything, with \x -> x;
 * an unquoted one is trimmed (we never write unquoted text).  Returns the
 * element count, or -1 if not {...}. */
static int pg_array_decode(const char *s, char el[][256], int max)
{
	size_t n = strlen(s), i = 1;
	int k = 0;
	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return -1;
	if (n == 2)
		return 0;
	while (i < n - 1 && k < max) {
		size_t o = 0;
		if (s[i] == '"') {
			i++;
			while (i < n - 1 && s[i] != '"') {
				if (s[i] == '\\')
					i++;
				el[k][o++] = s[i++];
			}
			if (s[i] != '"')
				return -1;
			i++;
		} else {
			while (i < n - 1 && s[i] != ',')
				el[k][o++] = s[i++];
		}
		el[k++][o] = 0;
		if (s[i] == ',')
			i++;
		else if (i != n - 1)
			return -1;
	}
	return k;
}

static void test_array(void)
{
	char buf[256], el[16][256];
	struct bcn_etl_pg_arr a;
	bcn_etl_pg_arr_init(&a, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_arr_end(&a), "{}");
	bcn_etl_pg_arr_reset(&a);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_plain(&a, F1, 36), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_plain(&a, U1, 36), 0);
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_arr_end(&a), "{" F1 "," U1 "}");
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_arr_end(&a), "{" F1 "," U1 "}"); /* idempotent */
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_plain(&a, "x", 1), -1);               /* closed */
	bcn_etl_pg_arr_reset(&a);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_i64(&a, 0), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_i64(&a, -1), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_i64(&a, 1732265687164ll), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_i64(&a, INT64_MIN), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_i64(&a, INT64_MAX), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_bool(&a, 1), 0);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_bool(&a, 0), 0);
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_arr_end(&a),
			       "{0,-1,1732265687164,-9223372036854775808,9223372036854775807,t,f}");
	CU_ASSERT_EQUAL(a.n, 7);

	/* text: always quoted; " and \ escaped; the rest as is */
	static const char *const texts[] = {
		"plain", "", "NULL", "with, comma", "{braces}", "quote \" here", "back\\slash",
		"\\\"", "  spaces  ", "line\nbreak\ttab", "Визуально безупречно 🎬", "\"", "\\",
	};
	int nt = (int)(sizeof(texts) / sizeof(texts[0]));
	bcn_etl_pg_arr_reset(&a);
	for (int i = 0; i < nt; i++)
		CU_ASSERT_EQUAL(bcn_etl_pg_arr_text(&a, texts[i], strlen(texts[i])), 0);
	const char *lit = bcn_etl_pg_arr_end(&a);
	CU_ASSERT_EQUAL(pg_array_decode(lit, el, 16), nt);
	for (int i = 0; i < nt; i++)
		CU_ASSERT_STRING_EQUAL(el[i], texts[i]);
	CU_ASSERT(strstr(lit, "\"quote \\\" here\"") != NULL);
	CU_ASSERT(strstr(lit, ",\"NULL\",") != NULL);
	CU_ASSERT(strstr(lit, ",\"\",") != NULL);
	bcn_etl_pg_arr_reset(&a);
	bcn_etl_pg_arr_text(&a, "a", 1);
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_arr_end(&a), "{\"a\"}");

	/* capacity: a full array refuses the element and stays well formed */
	char small[16];
	bcn_etl_pg_arr_init(&a, small, sizeof(small)); /* "{" + 13 bytes + "}\0" */
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_text(&a, "12345678", 8), 0); /* {"12345678" = 11 */
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_text(&a, "x", 1), -1);       /* ,"x" = 4 more */
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_plain(&a, "abc", 3), -1);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_plain(&a, "ab", 2), 0);      /* ,ab = 14: full */
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_i64(&a, 1), -1);
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_bool(&a, 1), -1);
	CU_ASSERT_STRING_EQUAL(bcn_etl_pg_arr_end(&a), "{\"12345678\",ab}");
	CU_ASSERT_EQUAL(a.n, 2);
	bcn_etl_pg_arr_init(&a, small, sizeof(small));
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_text(&a, "\"\"\"\"\"", 5), 0); /* 1 + 2 + 10 = 13 */
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_text(&a, "\"\"\"\"\"\"", 6), -1);
	CU_ASSERT(bcn_etl_pg_text_need(5) >= 12);
	/* worst case per element: all quotes, plus a separator */
	bcn_etl_pg_arr_init(&a, buf, sizeof(buf));
	bcn_etl_pg_arr_text(&a, "x", 1);
	size_t before = a.len;
	CU_ASSERT_EQUAL(bcn_etl_pg_arr_text(&a, "\"\"\"\"", 4), 0);
	CU_ASSERT(a.len - before <= bcn_etl_pg_text_need(4));
}

static void test_pg_conf(void)
{
	struct bcn_etl_cfg c;
	char err[256];
	bcn_etl_cfg_defaults(&c);
	CU_ASSERT_EQUAL(c.pg_enabled, 0); /* off unless asked for */
	CU_ASSERT_STRING_EQUAL(c.pg_group, "beacon-etl-pg");
	CU_ASSERT_EQUAL(c.pg_batch_rows, 5000);
	CU_ASSERT_EQUAL(c.pg_flush_ms, 200);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, "postgres.enabled",
				     "yes", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, "postgres.conninfo",
				     "host=db port=5432 dbname=ugc", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &c, "postgres.batch_rows",
				     "0", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), 0);
	/* the sink alone is something to do */
	c.s[0].enabled = c.s[1].enabled = c.s[2].enabled = 0;
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), 0);
	c.pg_backoff_min_ms = c.pg_backoff_max_ms + 1;
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
	bcn_etl_cfg_defaults(&c);
	c.pg_enabled = 1;
	c.pg_text_kbytes = 64;
	c.pg_max_record_bytes = 65536; /* one escaped review would not fit */
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
	bcn_etl_cfg_defaults(&c);
	c.pg_enabled = 1;
	c.pg_statement_timeout_ms = c.max_poll_interval_ms;
	CU_ASSERT_EQUAL(bcn_etl_cfg_check(&c, err, sizeof(err)), -1);
}

int test_pg_register(CU_pSuite s)
{
	if (!CU_add_test(s, "pg: config keys and checks", test_pg_conf))
		return 1;
	return !CU_add_test(s, "pg: record kinds and fields", test_parse_kinds) ||
	       !CU_add_test(s, "pg: skip reasons", test_parse_skips) ||
	       !CU_add_test(s, "pg: JSON string unescaping", test_unescape) ||
	       !CU_add_test(s, "pg: text-array literals", test_array);
}
