/*
 * test_rowbin.c - the RowBinary encoder (etl/bcn_etl_rowbin.c): plans from
 * DESCRIBE answers, exact bytes for every column type, what falls back to
 * JSONEachRow, the router's pairs against jsmn's, and every record beacond
 * can write (app/proto's encoder, all seven types, hostile strings)
 * converting, with the batch's RowBinary buffer.  Registered by
 * test_etl.c's main (one CUnit binary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "bcn_etl_batch.h"
#include "bcn_etl_route.h"
#include "bcn_etl_rowbin.h"
#include "bcn_proto.h"
#include "bcn_record.h"

static const char views_desc[] =
	"event_id\tUUID\t\t\ntype\tString\t\t\nts\tInt64\t\t\nrecv_ts\tInt64\t\t\n"
	"node\tString\t\t\nsource\tString\t\t\nuser_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
	"session_id\tUUID\t\t\nfilm_id\tUUID\t\t\nposition_ms\tUInt32\t\t\nduration_ms\tUInt32\t\t\n"
	"user_key\tUUID\tMATERIALIZED\tif(user_id != toUUID(\\'0\\'), user_id, anon_id)\n"
	"event_time\tDateTime(\\'UTC\\')\tMATERIALIZED\ttoDateTime(intDiv(ts, 1000), \\'UTC\\')\n";

/* encode via the router's pairs; also via jsmn, which must agree (the
 * records need a "type" for the router: an unknown key to the plans here) */
static int enc(const struct bcn_rb_plan *p, const char *j, uint8_t *out, size_t cap, size_t *ol)
{
	struct bcn_etl_tok tok[128];
	int nt = -1;
	unsigned ty;
	uint8_t out2[4096];
	size_t ol2 = 0;
	int r = bcn_etl_route_tok(j, strlen(j), &ty, tok, 128, &nt);
	CU_ASSERT_EQUAL(r, BCN_ETL_R_OK);
	int e = r == BCN_ETL_R_OK ? bcn_rb_encode_tok(p, j, tok, nt, out, cap, ol) : -1;
	int e2 = bcn_rb_encode(p, j, strlen(j), out2, cap < sizeof(out2) ? cap : sizeof(out2), &ol2);
	if (r == BCN_ETL_R_OK) {
		CU_ASSERT_EQUAL(e, e2);
		if (e == BCN_RB_OK && e2 == BCN_RB_OK) {
			CU_ASSERT_EQUAL(*ol, ol2);
			CU_ASSERT(!memcmp(out, out2, *ol));
		}
	}
	return e;
}

static void test_plan(void)
{
	struct bcn_rb_plan p;
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, views_desc, strlen(views_desc)), 12);
	CU_ASSERT_STRING_EQUAL(p.col[0].name, "event_id");
	CU_ASSERT_EQUAL(p.col[0].type, BCN_RB_UUID);
	CU_ASSERT_EQUAL(p.col[2].type, BCN_RB_INT64);
	CU_ASSERT_EQUAL(p.col[11].type, BCN_RB_UINT32);
	CU_ASSERT(!strncmp(p.collist, "(%60event_id%60,%60type%60,", 27));
	CU_ASSERT_EQUAL(p.collist[strlen(p.collist) - 1], ')');
	/* DEFAULT columns are sent, ALIAS ones not */
	const char *d = "a\tString\tDEFAULT\t'x'\nb\tUInt8\tALIAS\t1\nc\tInt8\t\t\n";
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, d, strlen(d)), 2);
	CU_ASSERT_STRING_EQUAL(p.collist, "(%60a%60,%60c%60)");
	/* no plan: an unsupported type, a strange name, nothing */
	d = "a\tString\t\t\nb\tNullable(String)\t\t\n";
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, d, strlen(d)), 0);
	CU_ASSERT(strstr(p.why, "Nullable") != NULL);
	d = "a\tDateTime\t\t\n";
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, d, strlen(d)), 0);
	d = "a b\tString\t\t\n";
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, d, strlen(d)), 0);
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, "", 0), 0);
	d = "x\tUInt8\tMATERIALIZED\t1\n";
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, d, strlen(d)), 0);
	/* the same plan struct, reused: a good answer after a bad one */
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p, views_desc, strlen(views_desc)), 12);
}

static void test_bytes(void)
{
	struct bcn_rb_plan p;
	const char *d = "u\tUUID\t\t\ns\tString\t\t\ni8\tInt8\t\t\nu16\tUInt16\t\t\ni64\tInt64\t\t\n"
			"u64\tUInt64\t\t\n";
	CU_ASSERT_EQUAL_FATAL(bcn_rb_plan_parse(&p, d, strlen(d)), 6);
	uint8_t o[256];
	size_t n;
	/* keys in any order, unknown keys skipped, whitespace allowed */
	const char *j = "{\"type\":\"view\", \"x\":null, \"s\":\"h\\u00e9\\n\\\"\\/\", \"u64\":18446744073709551615,"
			"\"u\":\"00112233-4455-6677-8899-AABBccddeeff\",\"i8\":-128,\"u16\":65535,"
			"\"i64\":-9223372036854775808 }";
	CU_ASSERT_EQUAL_FATAL(enc(&p, j, o, sizeof(o), &n), BCN_RB_OK);
	static const uint8_t want[] = {
		0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
		6, 'h', 0xc3, 0xa9, '\n', '"', '/',
		0x80,
		0xff, 0xff,
		0, 0, 0, 0, 0, 0, 0, 0x80,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	CU_ASSERT_EQUAL(n, sizeof(want));
	CU_ASSERT(!memcmp(o, want, sizeof(want)));
	CU_ASSERT(!memcmp(bcn_rb_uuid_probe, want, 16));
	/* \u0000, a 3-byte code point, raw UTF-8 and DEL kept as they are; -0 */
	j = "{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\\u0000\\u20ac\xd0\x94\x7f\","
	    "\"i8\":-0,\"u16\":0,\"i64\":0,\"u64\":0}";
	CU_ASSERT_EQUAL_FATAL(enc(&p, j, o, sizeof(o), &n), BCN_RB_OK);
	static const uint8_t want2[] = { 7, 0, 0xe2, 0x82, 0xac, 0xd0, 0x94, 0x7f };
	CU_ASSERT(!memcmp(o + 16, want2, sizeof(want2)));
	CU_ASSERT_EQUAL(n, 16 + sizeof(want2) + 1 + 2 + 8 + 8);
	/* a string of 200 bytes: a two-byte varint */
	char big[400];
	int k = snprintf(big, sizeof(big), "{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"");
	memset(big + k, 'a', 200);
	snprintf(big + k + 200, sizeof(big) - (size_t)k - 200, "\",\"i8\":1,\"u16\":2,\"i64\":3,\"u64\":4}");
	CU_ASSERT_EQUAL_FATAL(enc(&p, big, o, sizeof(o), &n), BCN_RB_OK);
	CU_ASSERT_EQUAL(o[16], 0xc8);
	CU_ASSERT_EQUAL(o[17], 0x01);
	/* no room */
	CU_ASSERT_EQUAL(enc(&p, big, o, 100, &n), BCN_RB_NOROOM);
}

static void test_fallback(void)
{
	struct bcn_rb_plan p;
	const char *d = "u\tUUID\t\t\ns\tString\t\t\ni8\tInt8\t\t\nu32\tUInt32\t\t\n";
	CU_ASSERT_EQUAL_FATAL(bcn_rb_plan_parse(&p, d, strlen(d)), 4);
	uint8_t o[256];
	size_t n;
	static const char *const fb[] = {
		/* what ClickHouse decides about, not us */
		"{\"type\":\"view\",\"u\":\"not-a-uuid\",\"s\":\"\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-00000000000g\",\"s\":\"\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000+0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":1,\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":128,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":-129,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":4294967296}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":-1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":1.0}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":1e3}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":\"1\"}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":true,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":null,\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1}",         /* absent */
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":1,\"s\":\"\"}",
		"{\"type\":\"view\",\"\\u0075\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\\ud83c\\udfac\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\\udfac\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"0000000\\u0030-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":1}",
		"{\"type\":\"view\",\"u\":\"00000000-0000-0000-0000-000000000000\",\"s\":\"\",\"i8\":1,\"u32\":99999999999999999999999}",
	};
	for (size_t i = 0; i < sizeof(fb) / sizeof(fb[0]); i++) {
		int e = enc(&p, fb[i], o, sizeof(o), &n);
		if (e != BCN_RB_FALLBACK)
			fprintf(stderr, "\nshould fall back: %s\n", fb[i]);
		CU_ASSERT_EQUAL(e, BCN_RB_FALLBACK);
	}
	/* the router gives -1 pairs when there are too many: fall back */
	struct bcn_etl_tok tok[2];
	int nt;
	unsigned ty;
	const char *j = "{\"type\":\"view\",\"a\":1,\"b\":2}";
	CU_ASSERT_EQUAL(bcn_etl_route_tok(j, strlen(j), &ty, tok, 2, &nt), BCN_ETL_R_OK);
	CU_ASSERT_EQUAL(nt, -1);
	CU_ASSERT_EQUAL(bcn_rb_encode_tok(&p, j, tok, nt, o, sizeof(o), &n), BCN_RB_FALLBACK);
	/* no plan */
	struct bcn_rb_plan none;
	memset(&none, 0, sizeof(none));
	CU_ASSERT_EQUAL(bcn_rb_encode(&none, j, strlen(j), o, sizeof(o), &n), BCN_RB_FALLBACK);
}

/* every record app/proto writes converts, per table, with the real schema's
 * column lists; and the batch keeps both forms */
static int flat_is_routed(const struct bcn_rb_plan *p, const char *j, size_t n, unsigned want);

static void test_records(void)
{
	static const char *const descs[BCN_T__COUNT] = {
		[BCN_T_VIEW] = "position_ms\tUInt32\t\t\nduration_ms\tUInt32\t\t\n",
		[BCN_T_PLAYER] = "event\tString\t\t\nposition_ms\tUInt32\t\t\nduration_ms\tUInt32\t\t\n"
				 "from\tString\t\t\nto\tString\t\t\n",
		[BCN_T_PAGE] = "url\tString\t\t\nreferrer\tString\t\t\n",
		[BCN_T_ACTION] = "key\tString\t\t\nvalue\tString\t\t\n",
		[BCN_T_LIKE] = "score\tInt8\t\t\n",
		[BCN_T_REVIEW] = "op\tString\t\t\nreview_id\tUUID\t\t\nrating\tUInt8\t\t\ntext\tString\t\t\n",
		[BCN_T_BOOKMARK] = "op\tString\t\t\n",
	};
	const char *common = "event_id\tUUID\t\t\ntype\tString\t\t\nts\tInt64\t\t\nrecv_ts\tInt64\t\t\n"
			     "node\tString\t\t\nsource\tString\t\t\nuser_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
			     "session_id\tUUID\t\t\nfilm_id\tUUID\t\t\n";
	static const char *const strs[] = { "", "plain", "quote \" backslash \\ slash /",
					    "ctl \x01\x1f\t\n\r end", "Визуально 🎬 \xe2\x82\xac" };
	struct bcn_etl_tbatch tb;
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&tb, 1 << 16, 64, 1 << 14), 0);
	for (unsigned t = BCN_T_VIEW; t < BCN_T__COUNT; t++)
		for (size_t si = 0; si < sizeof(strs) / sizeof(strs[0]); si++) {
			char d[1024];
			snprintf(d, sizeof(d), "%s%s", common, descs[t]);
			struct bcn_rb_plan p;
			CU_ASSERT_FATAL(bcn_rb_plan_parse(&p, d, strlen(d)) > 10);
			static struct bcn_record r;
			memset(&r, 0, sizeof(r));
			r.type = (uint8_t)t;
			r.event = 1;
			r.op = t == BCN_T_BOOKMARK ? 3 : 1;
			r.source = 1;
			r.score = -1;
			r.rating = 10;
			r.ts = -1;
			r.recv_ts = INT64_MAX;
			r.position_ms = UINT32_MAX;
			r.duration_ms = 0;
			for (int k = 0; k < 16; k++)
				r.event_id[k] = (uint8_t)(k * 17), r.review_id[k] = (uint8_t)(255 - k);
			snprintf(r.node, sizeof(r.node), "n-1");
			size_t sl = strlen(strs[si]);
			memcpy(r.arena, strs[si], sl);
			r.arena_used = (uint16_t)sl;
			struct bcn_sref sr = { .off = 0, .len = (uint16_t)sl };
			r.from = r.to = r.url = r.referrer = r.key = r.value = r.text = sr;
			char js[4096];
			size_t jl = bcn_record_to_json(&r, js, sizeof(js));
			CU_ASSERT_FATAL(jl > 0);
			js[jl] = 0;
			uint8_t o[4096];
			size_t n;
			int e = enc(&p, js, o, sizeof(o), &n);
			if (e != BCN_RB_OK)
				fprintf(stderr, "\ndid not convert: %s\n", js);
			CU_ASSERT_EQUAL(e, BCN_RB_OK);
			/* beacond's view records take the flat fast path */
			if (t == BCN_T_VIEW)
				CU_ASSERT_EQUAL(flat_is_routed(&p, js, jl, t), BCN_RB_OK);
			/* the string columns hold the bytes themselves */
			if (sl && e == BCN_RB_OK && (t == BCN_T_PLAYER || t == BCN_T_PAGE || t == BCN_T_ACTION || t == BCN_T_REVIEW))
				CU_ASSERT(memmem(o, n, strs[si], sl) != NULL);
			/* into a batch: both forms kept */
			struct bcn_etl_tok tok[128];
			int nt;
			unsigned ty;
			CU_ASSERT_EQUAL(bcn_etl_route_tok(js, jl, &ty, tok, 128, &nt), BCN_ETL_R_OK);
			bcn_etl_tb_reset(&tb);
			CU_ASSERT_EQUAL(bcn_etl_tb_append_rb(&tb, js, jl, 0, 7, &p, tok, nt), BCN_ETL_TB_OK);
			CU_ASSERT_EQUAL(bcn_etl_tb_append(&tb, js, jl, 0, 8), BCN_ETL_TB_OK);
			CU_ASSERT_EQUAL(bcn_etl_tb_append_rb(&tb, js, jl, 0, 9, &p, tok, nt), BCN_ETL_TB_OK);
			CU_ASSERT_EQUAL(tb.nrb, 2);
			CU_ASSERT_EQUAL(tb.rows[0].rb, 0);
			CU_ASSERT_EQUAL(tb.rows[1].rb, BCN_ETL_NO_RB);
			CU_ASSERT_EQUAL(tb.rows[2].rb, n);
			CU_ASSERT_EQUAL(tb.rblen, 2 * n);
			CU_ASSERT(!memcmp(tb.rb + n, o, n));
			CU_ASSERT(!memcmp(tb.buf + tb.rows[2].off, js, jl));
		}
	/* the RowBinary buffer full: FULL while it has rows, JSON only when a
	 * row alone would not fit */
	struct bcn_etl_tbatch small;
	struct bcn_rb_plan p;
	CU_ASSERT_FATAL(bcn_rb_plan_parse(&p, views_desc, strlen(views_desc)) == 12);
	const char *v = "{\"event_id\":\"00000000-0000-0000-0000-000000000001\",\"type\":\"view\","
			"\"ts\":1,\"recv_ts\":2,\"node\":\"n\",\"source\":\"udp\","
			"\"user_id\":\"00000000-0000-0000-0000-000000000000\","
			"\"anon_id\":\"00000000-0000-0000-0000-000000000000\","
			"\"session_id\":\"00000000-0000-0000-0000-000000000000\","
			"\"film_id\":\"00000000-0000-0000-0000-000000000000\",\"position_ms\":3,\"duration_ms\":4}";
	struct bcn_etl_tok tok[128];
	int nt;
	unsigned ty;
	CU_ASSERT_EQUAL(bcn_etl_route_tok(v, strlen(v), &ty, tok, 128, &nt), BCN_ETL_R_OK);
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&small, 4096, 64, 200), 0);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_rb(&small, v, strlen(v), 0, 1, &p, tok, nt), BCN_ETL_TB_OK);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_rb(&small, v, strlen(v), 0, 2, &p, tok, nt), BCN_ETL_TB_FULL);
	CU_ASSERT_EQUAL(small.n, 1);
	bcn_etl_tb_free(&small);
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&small, 4096, 64, 64), 0);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_rb(&small, v, strlen(v), 0, 1, &p, tok, nt), BCN_ETL_TB_OK);
	CU_ASSERT_EQUAL(small.rows[0].rb, BCN_ETL_NO_RB);
	CU_ASSERT_EQUAL(small.nrb, 0);
	bcn_etl_tb_free(&small);
	bcn_etl_tb_free(&tb);
}

/* The flat fast path: when it converts, the router takes the record with
 * that type and the routed path writes the same bytes; asserts both. */
static int flat_is_routed(const struct bcn_rb_plan *p, const char *j, size_t n, unsigned want)
{
	uint8_t a[4096], b[4096];
	size_t la = 0, lb = 0;
	int e = bcn_rb_encode_flat(p, 1, bcn_type_name(want), j, n, a, sizeof(a), &la);
	if (e != BCN_RB_OK)
		return e;
	struct bcn_etl_tok tok[128];
	int nt;
	unsigned ty;
	CU_ASSERT_EQUAL(bcn_etl_route_tok(j, n, &ty, tok, 128, &nt), BCN_ETL_R_OK);
	CU_ASSERT_EQUAL(ty, want);
	CU_ASSERT_EQUAL(bcn_rb_encode_tok(p, j, tok, nt, b, sizeof(b), &lb), BCN_RB_OK);
	CU_ASSERT(la == lb && !memcmp(a, b, la));
	return e;
}

static void test_flat(void)
{
	struct bcn_rb_plan p;
	CU_ASSERT_FATAL(bcn_rb_plan_parse(&p, views_desc, strlen(views_desc)) == 12);
	static const char head[] = "{\"event_id\":\"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"type\":\"view\",";
	char v[1024];
	/* records as beacond writes them, numbers at their limits */
	static const char *const nums[][4] = {
		{ "1732265687000", "1732265687041", "3236599", "8806685" },
		{ "0", "9223372036854775807", "4294967295", "0" },
		{ "-9223372036854775808", "-1", "-0", "12345678" },
		{ "12345678901234567", "1234567", "87654321", "1" },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(v, sizeof(v),
			 "%s\"ts\":%s,\"recv_ts\":%s,\"node\":\"node-7\",\"source\":\"http\","
			 "\"user_id\":\"00000000-0000-0000-0000-000000000000\","
			 "\"anon_id\":\"D9067E50-0A27-4D9F-9487-4937992045BD\","
			 "\"session_id\":\"6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5\","
			 "\"film_id\":\"73a26890-363f-49c2-a3bc-6601947678f5\",\"position_ms\":%s,"
			 "\"duration_ms\":%s}",
			 head, nums[i][0], nums[i][1], nums[i][2], nums[i][3]);
		CU_ASSERT_EQUAL(flat_is_routed(&p, v, strlen(v), BCN_T_VIEW), BCN_RB_OK);
	}
	/* what is not that layout falls back, and so does every prefix */
	size_t vl = strlen(v);
	for (size_t k = 0; k < vl; k++)
		CU_ASSERT_EQUAL(flat_is_routed(&p, v, k, BCN_T_VIEW), BCN_RB_FALLBACK);
	static const char *const from[][2] = {
		{ "{\"event_id\"", "{ \"event_id\"" },            /* whitespace */
		{ "\"ts\":", "\"ts\": " },
		{ "\"ts\":12345678901234567,\"recv_ts\":1234567,",
		  "\"recv_ts\":1234567,\"ts\":12345678901234567," }, /* order */
		{ "\"node\":\"node-7\"", "\"node\":\"node\\u002d7\"" }, /* an escape */
		{ "\"type\":\"view\"", "\"type\":\"player\"" },   /* another type */
		{ "\"type\":\"view\"", "\"type\":\"views\"" },
		{ "\"ts\":12345678901234567", "\"ts\":012345678901234567" }, /* JSON: no */
		{ "\"ts\":12345678901234567", "\"ts\":1.5" },
		{ "\"ts\":12345678901234567", "\"ts\":1e3" },
		{ "\"ts\":12345678901234567", "\"ts\":\"1\"" },
		{ "\"ts\":12345678901234567", "\"ts\":null" },
		{ "\"position_ms\":87654321", "\"position_ms\":-1" },
		{ "\"position_ms\":87654321", "\"position_ms\":4294967296" },
		{ "\"ts\":12345678901234567", "\"ts\":9223372036854775808" },
		{ "\"node\":\"node-7\"", "\"node\":\"node\t7\"" },        /* a control byte */
		{ "\"film_id\":\"73a26890-363f-49c2-a3bc-6601947678f5\"",
		  "\"film_id\":\"73a26890-363f-49c2-a3bc-6601947678f\"" },
		{ "\"duration_ms\":1}", "\"duration_ms\":1,\"x\":1}" },     /* a key more */
		{ "\"duration_ms\":1}", "\"duration_ms\":1} " },              /* after it */
		{ ",\"duration_ms\":1}", "}" },                                /* a key less */
	};
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		char w[1200];
		const char *at = strstr(v, from[i][0]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(at);
		snprintf(w, sizeof(w), "%.*s%s%s", (int)(at - v), v, from[i][1], at + strlen(from[i][0]));
		CU_ASSERT_EQUAL(flat_is_routed(&p, w, strlen(w), BCN_T_VIEW), BCN_RB_FALLBACK);
	}
	/* every byte value at every place: whatever converts is routed the
	 * same (most fall back; "-0", other digits, UUID case convert) */
	int ok = 0;
	for (size_t k = 0; k < vl; k++)
		for (unsigned c = 0; c < 256; c++) {
			char w[1024];
			memcpy(w, v, vl);
			w[k] = (char)c;
			ok += flat_is_routed(&p, w, vl, BCN_T_VIEW) == BCN_RB_OK;
		}
	CU_ASSERT(ok > 1000);
	/* no room */
	uint8_t o[64];
	size_t ol;
	CU_ASSERT_EQUAL(bcn_rb_encode_flat(&p, 1, "view", v, vl, o, sizeof(o), &ol), BCN_RB_NOROOM);
	CU_ASSERT_EQUAL(bcn_rb_encode_flat(&p, 0, "view", v, vl, o, sizeof(o), &ol), BCN_RB_FALLBACK);
	CU_ASSERT_EQUAL(bcn_rb_encode_flat(&p, -1, "view", v, vl, o, sizeof(o), &ol), BCN_RB_FALLBACK);
	/* into a batch */
	struct bcn_etl_tbatch tb;
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&tb, 4096, 64, 200), 0);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl - 1, 3, 9, &p, 1, "view"), BCN_ETL_TB_NOT_FLAT);
	CU_ASSERT_EQUAL(tb.n, 0);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl, 3, 10, &p, 1, "view"), BCN_ETL_TB_OK);
	/* no room for a second row: FULL, flat or not (decided on the next batch) */
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl, 3, 11, &p, 1, "view"), BCN_ETL_TB_FULL);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl - 1, 3, 11, &p, 1, "view"), BCN_ETL_TB_FULL);
	CU_ASSERT_EQUAL(tb.n, 1);
	CU_ASSERT_EQUAL(tb.nrb, 1);
	CU_ASSERT_EQUAL(tb.rows[0].rb, 0);
	CU_ASSERT_EQUAL(tb.rows[0].offset, 10);
	CU_ASSERT(!memcmp(tb.buf, v, vl));
	uint8_t ref[4096];
	CU_ASSERT_EQUAL(bcn_rb_encode_flat(&p, 1, "view", v, vl, ref, sizeof(ref), &ol), BCN_RB_OK);
	CU_ASSERT(tb.rblen == ol && !memcmp(tb.rb, ref, ol));
	bcn_etl_tb_free(&tb);
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&tb, 4096, 64, 64), 0); /* a row alone does not fit */
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl, 3, 10, &p, 1, "view"), BCN_ETL_TB_NOT_FLAT);
	CU_ASSERT_EQUAL(tb.n, 0);
	bcn_etl_tb_free(&tb);
	CU_ASSERT_EQUAL_FATAL(bcn_etl_tb_init(&tb, 65536, 64, 4096), 0);
	tb.cap = vl; /* a record larger than the batch */
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl, 3, 10, &p, 1, "view"), BCN_ETL_TB_TOO_BIG);
	tb.cap = 65536;
	bcn_etl_tb_free(&tb);
	CU_ASSERT_EQUAL(bcn_etl_tb_append_flat(&tb, v, vl, 3, 10, &p, 1, "view"), BCN_ETL_TB_NOT_FLAT);
}

int test_rowbin_register(CU_pSuite s)
{
	return !CU_add_test(s, "rowbinary: plans from DESCRIBE", test_plan) ||
	       !CU_add_test(s, "rowbinary: exact bytes", test_bytes) ||
	       !CU_add_test(s, "rowbinary: what falls back to JSON", test_fallback) ||
	       !CU_add_test(s, "rowbinary: every record beacond writes, into a batch", test_records) ||
	       !CU_add_test(s, "rowbinary: the flat fast path is the routed one", test_flat);
}
