/*
 * test_encode.c - bcn_record_to_json: the exact Kafka message value for a
 * fixed record of each type, string escaping, and the cap contract.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define J_TS   "\"ts\":" T_TS_S
#define J_ANON "\"anon_id\":\"" U_ANON "\""
#define J_SESS "\"session_id\":\"" U_SESSION "\""
#define J_FILM "\"film_id\":\"" U_FILM "\""
#define J_REV  "\"review_id\":\"" U_REVIEW "\""

#define EID "01234567-89ab-7cde-8f01-23456789abcd"
#define NIL "00000000-0000-0000-0000-000000000000"
#define HEAD(type, src, user, anon, sess, film)                                 \
	"{\"event_id\":\"" EID "\",\"type\":\"" type "\",\"ts\":1763799990000,"  \
	"\"recv_ts\":1763800000000,\"node\":\"local\",\"source\":\"" src "\","   \
	"\"user_id\":\"" user "\",\"anon_id\":\"" anon "\",\"session_id\":\""    \
	sess "\",\"film_id\":\"" film "\""

static char tok_valid[512];

static int init(void)
{
	return bcn_jwt_sign((const uint8_t *)T_KEY, 8, T_SUB, T_EXP, tok_valid, sizeof(tok_valid)) ? 0 : -1;
}

/* Ingest a beacon (token substituted for @TOK@) and pin its event_id. */
static int make_record(struct tfx *f, const char *tmpl, enum bcn_source src)
{
	static const char *const names[] = { "@TOK@" };
	const char *vals[] = { tok_valid };
	char *s = t_subst(tmpl, names, vals, 1);
	int rc = tfx_ingest(f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW, src);
	EXPECT(rc == BCN_OK, "%s: %s", s, bcn_reason_name((unsigned)rc));
	free(s);
	if (rc == BCN_OK)
		t_uuid(EID, f->r->event_id);
	return rc;
}

/* Encode and compare; also check the cap contract on the same record. */
static void expect_json(const struct bcn_record *r, const char *want, const char *what)
{
	size_t wl = strlen(want);
	char *out = malloc(BCN_RECORD_JSON_MAX);
	size_t n = bcn_record_to_json(r, out, BCN_RECORD_JSON_MAX);
	EXPECT(n == wl && memcmp(out, want, wl) == 0, "%s:\n got  %.*s\n want %s", what, (int)n, out, want);
	/* cap too small -> 0 and nothing written past cap; cap == n -> n */
	for (size_t cap = 0; cap < wl; cap++) {
		char *b = malloc(cap + 8);
		memset(b, 'G', cap + 8);
		size_t m = bcn_record_to_json(r, b, cap);
		int guard = 1;
		for (size_t i = cap; i < cap + 8; i++)
			guard &= b[i] == 'G';
		EXPECT(m == 0 && guard, "%s: cap %zu gave %zu%s", what, cap, m, guard ? "" : " and overflowed");
		free(b);
	}
	char *exact = malloc(wl ? wl : 1);
	EXPECT(bcn_record_to_json(r, exact, wl) == wl && memcmp(exact, want, wl) == 0, "%s: cap == len", what);
	free(exact);
	free(out);
}

static void test_each_type(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	if (make_record(&f, "{\"type\":\"view\"," J_TS "," J_ANON "," J_SESS "," J_FILM
			",\"position_ms\":120000,\"duration_ms\":5400000}", BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("view", "udp", NIL, U_ANON, U_SESSION, U_FILM)
			    ",\"position_ms\":120000,\"duration_ms\":5400000}", "view");
	if (make_record(&f, "{\"type\":\"player\"," J_TS ",\"token\":\"@TOK@\"," J_FILM ",\"event\":\"audio_change\","
			"\"from\":\"ru\",\"to\":\"en\",\"position_ms\":5000}", BCN_SRC_HTTP) == BCN_OK)
		expect_json(f.r, HEAD("player", "http", T_SUB, NIL, NIL, U_FILM)
			    ",\"event\":\"audio_change\",\"position_ms\":5000,\"duration_ms\":0,"
			    "\"from\":\"ru\",\"to\":\"en\"}", "player");
	if (make_record(&f, "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/films\"}", BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("page", "udp", NIL, U_ANON, NIL, NIL)
			    ",\"url\":\"/films\",\"referrer\":\"\"}", "page");
	if (make_record(&f, "{\"type\":\"action\"," J_TS ",\"token\":\"@TOK@\"," J_SESS
			",\"key\":\"share\",\"value\":\"telegram\"}", BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("action", "udp", T_SUB, NIL, U_SESSION, NIL)
			    ",\"key\":\"share\",\"value\":\"telegram\"}", "action");
	if (make_record(&f, "{\"type\":\"like\"," J_TS ",\"token\":\"@TOK@\"," J_ANON "," J_FILM ",\"score\":-1}",
			BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("like", "udp", T_SUB, U_ANON, NIL, U_FILM) ",\"score\":-1}", "like");
	if (make_record(&f, "{\"type\":\"like\"," J_TS ",\"token\":\"@TOK@\"," J_FILM ",\"score\":0}",
			BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("like", "udp", T_SUB, NIL, NIL, U_FILM) ",\"score\":0}", "like 0");
	if (make_record(&f, "{\"type\":\"review\"," J_TS ",\"token\":\"@TOK@\",\"op\":\"post\"," J_FILM "," J_REV
			",\"rating\":9,\"text\":\"\xd0\x9e\xd1\x82\xd0\xbb\xd0\xb8\xd1\x87\xd0\xbd\xd1\x8b\xd0\xb9 \\ud83c\\udfac\"}",
			BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("review", "udp", T_SUB, NIL, NIL, U_FILM)
			    ",\"op\":\"post\",\"review_id\":\"" U_REVIEW "\",\"rating\":9,"
			    "\"text\":\"\xd0\x9e\xd1\x82\xd0\xbb\xd0\xb8\xd1\x87\xd0\xbd\xd1\x8b\xd0\xb9 \xf0\x9f\x8e\xac\"}",
			    "review post");
	if (make_record(&f, "{\"type\":\"review\"," J_TS ",\"token\":\"@TOK@\",\"op\":\"delete\"," J_FILM "," J_REV "}",
			BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("review", "udp", T_SUB, NIL, NIL, U_FILM)
			    ",\"op\":\"delete\",\"review_id\":\"" U_REVIEW "\",\"rating\":0,\"text\":\"\"}",
			    "review delete");
	if (make_record(&f, "{\"type\":\"bookmark\"," J_TS ",\"token\":\"@TOK@\",\"op\":\"add\"," J_FILM "}",
			BCN_SRC_HTTP) == BCN_OK)
		expect_json(f.r, HEAD("bookmark", "http", T_SUB, NIL, NIL, U_FILM) ",\"op\":\"add\"}", "bookmark");
	tfx_free(&f);
}

static void test_escaping(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	/* every control character, quote, backslash, slash, DEL, multi-byte */
	char tmpl[1024], want[2048];
	size_t o = (size_t)snprintf(tmpl, sizeof(tmpl), "{\"type\":\"action\"," J_TS "," J_ANON ",\"key\":\"k\",\"value\":\"");
	size_t w = (size_t)snprintf(want, sizeof(want), HEAD("action", "udp", NIL, U_ANON, NIL, NIL) ",\"key\":\"k\",\"value\":\"");
	for (unsigned c = 1; c < 0x20; c++) {
		o += (size_t)snprintf(tmpl + o, sizeof(tmpl) - o, "\\u%04x", c);
		const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		if (e)
			w += (size_t)snprintf(want + w, sizeof(want) - w, "%s", e);
		else
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\u%04x", c);
	}
	o += (size_t)snprintf(tmpl + o, sizeof(tmpl) - o,
			      "\\\"q\\\"\\\\/\\u007f\xc3\xa9\\u2028\\ud83c\\udfac<script>\"}");
	w += (size_t)snprintf(want + w, sizeof(want) - w,
			      "\\\"q\\\"\\\\/\x7f\xc3\xa9\xe2\x80\xa8\xf0\x9f\x8e\xac<script>\"}");
	(void)o;
	(void)w;
	if (make_record(&f, tmpl, BCN_SRC_UDP) == BCN_OK) {
		expect_json(f.r, want, "escaping");
		/* and what we wrote decodes back to the same bytes */
		char *out = malloc(BCN_RECORD_JSON_MAX);
		size_t n = bcn_record_to_json(f.r, out, BCN_RECORD_JSON_MAX);
		struct bcn_record *back = calloc(1, sizeof(*back));
		struct bcn_token t;
		CU_ASSERT_EQUAL(bcn_json_parse(out, n, back, &t), BCN_OK);
		CU_ASSERT_EQUAL(back->value.len, f.r->value.len);
		CU_ASSERT_EQUAL(memcmp(bcn_str(back, back->value), bcn_str(f.r, f.r->value), f.r->value.len), 0);
		free(back);
		free(out);
	}
	/* strings of other types too: from/to, url/referrer, text, and the node */
	snprintf(f.cfg.node, sizeof(f.cfg.node), "n\"1\\");
	if (make_record(&f, "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/a\\\"b\",\"referrer\":\"\\\\\\n\"}",
			BCN_SRC_UDP) == BCN_OK) {
		char *out = malloc(BCN_RECORD_JSON_MAX);
		size_t n = bcn_record_to_json(f.r, out, BCN_RECORD_JSON_MAX);
		out[n] = '\0';
		CU_ASSERT_PTR_NOT_NULL(strstr(out, ",\"node\":\"n\\\"1\\\\\","));
		CU_ASSERT_PTR_NOT_NULL(strstr(out, ",\"url\":\"/a\\\"b\",\"referrer\":\"\\\\\\n\"}"));
		free(out);
	}
	snprintf(f.cfg.node, sizeof(f.cfg.node), "local");
	if (make_record(&f, "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"error\","
			"\"from\":\"\\t\",\"to\":\"\\u001b[0m\",\"position_ms\":0}", BCN_SRC_UDP) == BCN_OK)
		expect_json(f.r, HEAD("player", "udp", NIL, U_ANON, NIL, U_FILM)
			    ",\"event\":\"error\",\"position_ms\":0,\"duration_ms\":0,"
			    "\"from\":\"\\t\",\"to\":\"\\u001b[0m\"}", "player escapes");
	tfx_free(&f);
}

static void test_worst_case_fits(void)
{
	/* a review whose 16000-byte text is all control characters: the
	 * longest record; BCN_RECORD_JSON_MAX must hold it */
	struct bcn_record *r = calloc(1, sizeof(*r));
	r->type = BCN_T_REVIEW;
	r->op = BCN_OP_POST;
	r->rating = 10;
	r->ts = INT64_MAX;
	r->recv_ts = INT64_MIN;
	memset(r->node, 'n', sizeof(r->node)); /* not NUL-terminated: bounded by size */
	memset(r->arena, 0x01, BCN_MAX_TEXT);
	r->text = (struct bcn_sref){ 0, (uint16_t)BCN_MAX_TEXT };
	r->arena_used = (uint16_t)BCN_MAX_TEXT;
	char *out = malloc(BCN_RECORD_JSON_MAX);
	size_t n = bcn_record_to_json(r, out, BCN_RECORD_JSON_MAX);
	CU_ASSERT_TRUE(n > BCN_MAX_TEXT * 6);
	CU_ASSERT_TRUE(n <= BCN_RECORD_JSON_MAX);
	if (n) {
		CU_ASSERT_NSTRING_EQUAL(out + n - 8, "\\u0001\"}", 8);
		char want[128];
		int wl = snprintf(want, sizeof(want), "\"ts\":%lld,\"recv_ts\":%lld,\"node\":\"%.32s\",",
				  (long long)INT64_MAX, (long long)INT64_MIN, r->node);
		char *hay = malloc(n + 1);
		memcpy(hay, out, n);
		hay[n] = '\0';
		CU_ASSERT_PTR_NOT_NULL(strstr(hay, want));
		(void)wl;
		free(hay);
	}
	/* one byte short: 0 */
	CU_ASSERT_EQUAL(bcn_record_to_json(r, out, n - 1), 0);
	/* out-of-range enums print as "?" rather than crash */
	r->text.len = 0;
	r->type = 200;
	r->source = 9;
	n = bcn_record_to_json(r, out, BCN_RECORD_JSON_MAX);
	CU_ASSERT_TRUE(n > 0);
	out[n < BCN_RECORD_JSON_MAX ? n : n - 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"type\":\"?\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"source\":\"?\""));
	free(out);
	free(r);
}

/* docs/beacon-protocol.md section 6: the review post of section 3 over HTTP
 * to node bcn-msk-1 (node id 7, worker 3), sixth beacon of its millisecond. */
static void test_docs_record(void)
{
	struct tfx f;
	if (tfx_init(&f, DOC_KEY))
		return;
	snprintf(f.cfg.node, sizeof(f.cfg.node), "bcn-msk-1");
	f.cfg.node_id = 7;
	bcn_ingest_init(&f.in, &f.cfg, f.jwt, 3);
	static const char *const before[] = { DOC_VIEW, DOC_PLAYER, DOC_PAGE, DOC_ACTION, DOC_LIKE };
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, before[i], strlen(before[i]), NULL, DOC_NOW, BCN_SRC_UDP),
				BCN_OK);
	int rc = tfx_ingest(&f, BCN_FMT_JSON, DOC_REVIEW_POST, strlen(DOC_REVIEW_POST), DOC_TOKEN, DOC_NOW,
			    BCN_SRC_HTTP);
	CU_ASSERT_EQUAL_FATAL(rc, BCN_OK);
	/* "01935314b87c is 1732265687164 ms, 7 the version, 005 sequence 5,
	 * 8001c0c3... the variant, node 7, worker 3 and 38 random bits" */
	uint8_t doc_id[16];
	t_uuid("01935314-b87c-7005-8001-c0c3cac855df", doc_id);
	CU_ASSERT_EQUAL(memcmp(f.r->event_id, doc_id, 8), 0);
	CU_ASSERT_EQUAL(f.r->event_id[8], doc_id[8]);
	CU_ASSERT_EQUAL(f.r->event_id[9], doc_id[9]);
	CU_ASSERT_EQUAL(f.r->event_id[10], doc_id[10]);
	CU_ASSERT_EQUAL(f.r->event_id[11] & 0xc0, doc_id[11] & 0xc0);
	/* with the document's random tail, the message is byte for byte the one shown */
	memcpy(f.r->event_id, doc_id, 16);
	expect_json(f.r,
		"{\"event_id\":\"01935314-b87c-7005-8001-c0c3cac855df\",\"type\":\"review\",\"ts\":1732265687123,"
		"\"recv_ts\":1732265687164,\"node\":\"bcn-msk-1\",\"source\":\"http\","
		"\"user_id\":\"5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6b\","
		"\"anon_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"session_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"op\":\"post\","
		"\"review_id\":\"c0ffee00-1234-4abc-8def-0123456789ab\",\"rating\":9,"
		"\"text\":\"" DOC_REVIEW_TEXT "\"}", "docs record example");
	tfx_free(&f);
}

int suite_encode(void)
{
	CU_pSuite s = CU_add_suite("record JSON encoder", init, NULL);
	if (!s ||
	    !CU_add_test(s, "exact output for each type", test_each_type) ||
	    !CU_add_test(s, "escaping of quotes, control characters, unicode", test_escaping) ||
	    !CU_add_test(s, "worst case fits BCN_RECORD_JSON_MAX, bad enums", test_worst_case_fits) ||
	    !CU_add_test(s, "docs/beacon-protocol.md record example", test_docs_record))
		return -1;
	return 0;
}
