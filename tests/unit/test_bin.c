/*
 * test_bin.c - the binary form v1: encode/parse round trip for every type,
 * JSON/binary equivalence, encoder limits, exhaustive header-byte checks,
 * truncation, and the published vectors in tests/vectors/binary-v1.txt.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define J_TS   "\"ts\":" T_TS_S
#define J_ANON "\"anon_id\":\"" U_ANON "\""
#define J_SESS "\"session_id\":\"" U_SESSION "\""
#define J_FILM "\"film_id\":\"" U_FILM "\""
#define J_REV  "\"review_id\":\"" U_REVIEW "\""

static char tok_valid[512];

static int init(void)
{
	return bcn_jwt_sign((const uint8_t *)T_KEY, 8, T_SUB, T_EXP, tok_valid, sizeof(tok_valid)) ? 0 : -1;
}

/* Type-consistent JSON beacons (the fields the binary form always carries
 * are present, so `has` survives a round trip unchanged). */
static const char *const rt_json[] = {
	"{\"type\":\"view\"," J_TS "," J_ANON "," J_SESS "," J_FILM ",\"position_ms\":120000,\"duration_ms\":5400000}",
	"{\"type\":\"view\"," J_TS "," J_FILM ",\"position_ms\":0,\"duration_ms\":1}",
	"{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"audio_change\",\"from\":\"ru\",\"to\":\"en\",\"position_ms\":5000,\"duration_ms\":5400000}",
	"{\"type\":\"player\"," J_TS "," J_FILM ",\"event\":\"close\",\"position_ms\":604800000}",
	"{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/films/\\u0444\",\"referrer\":\"https://r.example/\"}",
	"{\"type\":\"page\"," J_TS "," J_SESS ",\"url\":\"/\"}",
	"{\"type\":\"action\"," J_TS "," J_ANON ",\"key\":\"share\",\"value\":\"telegram\"}",
	"{\"type\":\"action\"," J_TS ",\"key\":\"k\"}",
	"{\"type\":\"like\"," J_TS "," J_FILM ",\"score\":1}",
	"{\"type\":\"like\"," J_TS "," J_ANON "," J_FILM ",\"score\":-1}",
	"{\"type\":\"like\"," J_TS "," J_FILM ",\"score\":0}",
	"{\"type\":\"review\"," J_TS ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":10,\"text\":\"\\ud83c\\udfac \\\"ok\\\"\"}",
	"{\"type\":\"review\"," J_TS ",\"op\":\"delete\"," J_FILM "," J_REV ",\"text\":\"\"}",
	"{\"type\":\"bookmark\"," J_TS ",\"op\":\"add\"," J_FILM "}",
	"{\"type\":\"bookmark\"," J_TS ",\"op\":\"remove\"," J_SESS "," J_FILM "}",
};

static int same_client_fields(const struct bcn_record *a, const struct bcn_record *b)
{
	if (a->type != b->type || a->event != b->event || a->op != b->op || a->score != b->score ||
	    a->rating != b->rating || a->has != b->has || a->ts != b->ts ||
	    a->position_ms != b->position_ms || a->duration_ms != b->duration_ms ||
	    memcmp(a->anon_id, b->anon_id, 16) || memcmp(a->session_id, b->session_id, 16) ||
	    memcmp(a->film_id, b->film_id, 16) || memcmp(a->review_id, b->review_id, 16))
		return 0;
	const struct bcn_sref *sa = &a->from, *sb = &b->from;
	for (int i = 0; i < 7; i++)
		if (sa[i].len != sb[i].len || memcmp(a->arena + sa[i].off, b->arena + sb[i].off, sa[i].len))
			return 0;
	return 1;
}

static void test_round_trip(void)
{
	struct bcn_record *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint8_t *buf = malloc(BCN_MAX_BEACON), *buf2 = malloc(BCN_MAX_BEACON);
	struct bcn_token ta, tb;

	for (size_t i = 0; i < sizeof(rt_json) / sizeof(rt_json[0]); i++) {
		int rc = bcn_json_parse(rt_json[i], strlen(rt_json[i]), a, &ta);
		EXPECT(rc == BCN_OK, "json %zu: %s", i, bcn_reason_name((unsigned)rc));
		if (rc)
			continue;
		for (int with_tok = 0; with_tok <= 1; with_tok++) {
			size_t tl = with_tok ? strlen(tok_valid) : 0;
			size_t n = bcn_bin_encode(a, with_tok ? tok_valid : NULL, tl, buf, BCN_MAX_BEACON);
			EXPECT(n >= BCN_BIN_FIXED, "encode %zu/%d", i, with_tok);
			if (n < BCN_BIN_FIXED)
				continue;
			EXPECT(bcn_format_of(buf, n) == BCN_FMT_BINARY, "format_of %zu", i);
			rc = bcn_bin_parse(buf, n, b, &tb);
			EXPECT(rc == BCN_OK, "parse %zu/%d: %s", i, with_tok, bcn_reason_name((unsigned)rc));
			if (rc)
				continue;
			EXPECT(same_client_fields(a, b), "fields differ after round trip of %s", rt_json[i]);
			EXPECT(tb.n == tl && (!tl || memcmp(tb.p, tok_valid, tl) == 0), "token %zu/%d", i, with_tok);
			EXPECT(with_tok || tb.p == NULL, "token pointer without token %zu", i);
			size_t n2 = bcn_bin_encode(b, tb.p, tb.n, buf2, BCN_MAX_BEACON);
			EXPECT(n2 == n && memcmp(buf, buf2, n) == 0, "re-encode differs %zu/%d", i, with_tok);
			/* every cap below n fails, n itself works */
			for (size_t cap = 0; cap < n; cap++)
				EXPECT(bcn_bin_encode(a, with_tok ? tok_valid : NULL, tl, buf2, cap) == 0,
				       "cap %zu of %zu accepted (%zu)", cap, n, i);
			EXPECT(bcn_bin_encode(a, with_tok ? tok_valid : NULL, tl, buf2, n) == n, "cap == n (%zu)", i);
			/* every proper prefix is rejected */
			for (size_t k = 0; k < n; k++) {
				uint8_t *p = malloc(k ? k : 1);
				memcpy(p, buf, k);
				EXPECT(bcn_bin_parse(p, k, b, &tb) != BCN_OK, "prefix %zu of %zu accepted (%zu)", k, n, i);
				free(p);
			}
			/* one trailing byte is rejected */
			buf[n] = 0;
			EXPECT(bcn_bin_parse(buf, n + 1, b, &tb) == BCN_R_MALFORMED, "trailing byte (%zu)", i);
		}
	}
	free(a);
	free(b);
	free(buf);
	free(buf2);
}

/* The same beacon as JSON and as binary gives the same record. */
static void test_json_binary_equivalence(void)
{
	struct tfx fj, fb;
	if (tfx_init(&fj, T_KEY) || tfx_init(&fb, T_KEY))
		return;
	uint8_t *buf = malloc(BCN_MAX_BEACON);
	struct bcn_token t;
	for (size_t i = 0; i < sizeof(rt_json) / sizeof(rt_json[0]); i++) {
		if (bcn_json_parse(rt_json[i], strlen(rt_json[i]), fj.r, &t) != BCN_OK)
			continue;
		size_t n = bcn_bin_encode(fj.r, tok_valid, strlen(tok_valid), buf, BCN_MAX_BEACON);
		/* the JSON with the token as an Authorization header */
		int rj = tfx_ingest(&fj, BCN_FMT_JSON, rt_json[i], strlen(rt_json[i]), tok_valid, T_NOW, BCN_SRC_UDP);
		int rb = tfx_ingest(&fb, BCN_FMT_BINARY, buf, n, NULL, T_NOW, BCN_SRC_UDP);
		EXPECT(rj == BCN_OK && rb == BCN_OK, "%s: json %s, binary %s", rt_json[i],
		       bcn_reason_name((unsigned)rj), bcn_reason_name((unsigned)rb));
		if (rj || rb)
			continue;
		EXPECT(same_client_fields(fj.r, fb.r), "records differ: %s", rt_json[i]);
		EXPECT(memcmp(fj.r->user_id, fb.r->user_id, 16) == 0 && fj.r->recv_ts == fb.r->recv_ts &&
		       fj.r->source == fb.r->source && strcmp(fj.r->node, fb.r->node) == 0,
		       "stamps differ: %s", rt_json[i]);
		/* same worker id and clock: the two sequences are in step */
		EXPECT(memcmp(fj.r->event_id, fb.r->event_id, 8) == 0, "event_id time/seq differ: %s", rt_json[i]);
	}
	free(buf);
	tfx_free(&fj);
	tfx_free(&fb);
}

/* A hand-built binary view, checked byte for byte and field by field. */
static void test_parse_fields(void)
{
	static const uint8_t v[] = {
		'B', 'C', 1, BCN_T_PLAYER, BCN_E_SEEK, 0, 0, 0,
		0xf0, 0xfe, 0xab, 0xaa, 0x9a, 0x01, 0x00, 0x00,       /* ts 1763799990000 */
		BCN_BF_ANON | BCN_BF_SESSION | BCN_BF_FILM | BCN_BF_POSITION | BCN_BF_DURATION, 0,
		5, 0,                                                 /* token length 5 */
		0x10, 0x27, 0x00, 0x00,                               /* position 10000 */
		0x20, 0x4e, 0x00, 0x00,                               /* duration 20000 */
		0x3f, 0x1c, 0x2a, 0x4b, 0x5d, 0x6e, 0x4f, 0x70, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b,
		0x9a, 0x8b, 0x7c, 0x6d, 0x5e, 0x4f, 0x4a, 0x3b, 0x9c, 0x2d, 0x1e, 0x0f, 0x9a, 0x8b, 0x7c, 0x6d,
		0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33, 0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
		2, 0, 'r', 'u',
		3, 0, 0xd1, 0x84, 'x',
		'a', '.', 'b', '.', 'c',
	};
	struct bcn_record *r = calloc(1, sizeof(*r));
	struct bcn_token t;
	uint8_t u[16];
	CU_ASSERT_EQUAL_FATAL(bcn_bin_parse(v, sizeof(v), r, &t), BCN_OK);
	CU_ASSERT_EQUAL(r->type, BCN_T_PLAYER);
	CU_ASSERT_EQUAL(r->event, BCN_E_SEEK);
	CU_ASSERT_EQUAL(r->ts, T_TS);
	CU_ASSERT_EQUAL(r->position_ms, 10000);
	CU_ASSERT_EQUAL(r->duration_ms, 20000);
	t_uuid(U_ANON, u);
	CU_ASSERT_EQUAL(memcmp(r->anon_id, u, 16), 0);
	t_uuid(U_SESSION, u);
	CU_ASSERT_EQUAL(memcmp(r->session_id, u, 16), 0);
	t_uuid(U_FILM, u);
	CU_ASSERT_EQUAL(memcmp(r->film_id, u, 16), 0);
	CU_ASSERT_TRUE(bcn_uuid_is_nil(r->review_id));
	CU_ASSERT_EQUAL(r->from.len, 2);
	CU_ASSERT_EQUAL(memcmp(bcn_str(r, r->from), "ru", 2), 0);
	CU_ASSERT_EQUAL(r->to.len, 3);
	CU_ASSERT_EQUAL(memcmp(bcn_str(r, r->to), "\xd1\x84x", 3), 0);
	CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_ANON | BCN_HAS_SESSION | BCN_HAS_FILM |
			       BCN_HAS_POSITION | BCN_HAS_DURATION);
	CU_ASSERT_EQUAL(t.n, 5);
	CU_ASSERT_PTR_EQUAL(t.p, (const char *)v + sizeof(v) - 5);
	CU_ASSERT_EQUAL(r->score, 0);
	CU_ASSERT_EQUAL(r->rating, 0);
	CU_ASSERT_EQUAL(r->op, 0);
	/* re-encodes to the same bytes */
	uint8_t out[sizeof(v)];
	CU_ASSERT_EQUAL(bcn_bin_encode(r, t.p, t.n, out, sizeof(out)), sizeof(v));
	CU_ASSERT_EQUAL(memcmp(out, v, sizeof(v)), 0);
	free(r);
}

/* Exhaustive header bytes on a valid base beacon of each type. */
static void test_header_bytes(void)
{
	struct bcn_record *r = calloc(1, sizeof(*r));
	struct bcn_token t;
	uint8_t b[256];
	size_t n;

	/* version: only 1 */
	n = bcn_bin_encode(&(struct bcn_record){ .type = BCN_T_VIEW, .ts = T_TS }, NULL, 0, b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(n, BCN_BIN_FIXED);
	for (unsigned v = 0; v < 256; v++) {
		b[2] = (uint8_t)v;
		int rc = bcn_bin_parse(b, n, r, &t);
		EXPECT(rc == (v == 1 ? BCN_OK : BCN_R_UNSUPPORTED_VERSION), "version %u: %s", v,
		       bcn_reason_name((unsigned)rc));
	}
	b[2] = 1;
	/* magic */
	for (unsigned m = 0; m < 256; m++) {
		b[0] = (uint8_t)m;
		EXPECT(bcn_bin_parse(b, n, r, &t) == (m == 'B' ? BCN_OK : BCN_R_MALFORMED), "magic0 %u", m);
		b[0] = 'B';
		b[1] = (uint8_t)m;
		EXPECT(bcn_bin_parse(b, n, r, &t) == (m == 'C' ? BCN_OK : BCN_R_MALFORMED), "magic1 %u", m);
		b[1] = 'C';
	}
	/* reserved bytes and unknown flags */
	for (unsigned x = 1; x < 256; x++) {
		b[7] = (uint8_t)x;
		EXPECT(bcn_bin_parse(b, n, r, &t) == BCN_R_MALFORMED, "byte 7 = %u", x);
		b[7] = 0;
		b[17] = (uint8_t)x;
		EXPECT(bcn_bin_parse(b, n, r, &t) == BCN_R_MALFORMED, "byte 17 = %u", x);
		b[17] = 0;
	}
	for (unsigned fl = 0x40; fl < 256; fl++) {
		b[16] = (uint8_t)fl;
		EXPECT(bcn_bin_parse(b, n, r, &t) == BCN_R_MALFORMED, "flags %#x", fl);
	}
	b[16] = 0;
	/* types */
	for (unsigned ty = 0; ty < 256; ty++) {
		b[3] = (uint8_t)ty;
		int rc = bcn_bin_parse(b, n, r, &t);
		if (ty == 0 || ty >= BCN_T__COUNT)
			EXPECT(rc == BCN_R_UNKNOWN_TYPE, "type %u: %s", ty, bcn_reason_name((unsigned)rc));
		else
			EXPECT(rc != BCN_R_UNKNOWN_TYPE, "type %u: unknown", ty);
	}
	/* byte 4 per type */
	for (unsigned ty = 1; ty < BCN_T__COUNT; ty++) {
		struct bcn_record base = { .type = (uint8_t)ty, .ts = T_TS };
		if (ty == BCN_T_PLAYER) base.event = BCN_E_PLAY;
		if (ty == BCN_T_REVIEW) base.op = BCN_OP_DELETE;
		if (ty == BCN_T_BOOKMARK) base.op = BCN_OP_ADD;
		n = bcn_bin_encode(&base, NULL, 0, b, sizeof(b));
		CU_ASSERT_FATAL(n >= BCN_BIN_FIXED);
		for (unsigned e = 0; e < 256; e++) {
			b[4] = (uint8_t)e;
			int want = ty == BCN_T_PLAYER ? (e >= 1 && e < BCN_E__COUNT ? BCN_OK : BCN_R_BAD_ENUM)
				 : ty == BCN_T_REVIEW ? (e == BCN_OP_POST ? BCN_R_OUT_OF_RANGE /* rating 0 */
							 : e == BCN_OP_DELETE ? BCN_OK : BCN_R_BAD_ENUM)
				 : ty == BCN_T_BOOKMARK ? (e == BCN_OP_ADD || e == BCN_OP_REMOVE ? BCN_OK : BCN_R_BAD_ENUM)
				 : (e == 0 ? BCN_OK : BCN_R_MALFORMED);
			int rc = bcn_bin_parse(b, n, r, &t);
			EXPECT(rc == want, "type %s byte4 %u: got %s want %s", bcn_type_name(ty), e,
			       bcn_reason_name((unsigned)rc), bcn_reason_name((unsigned)want));
			if (rc == BCN_OK && ty == BCN_T_PLAYER)
				EXPECT(r->event == e, "event %u", e);
		}
		b[4] = (uint8_t)(ty == BCN_T_PLAYER ? BCN_E_PLAY : ty == BCN_T_REVIEW ? BCN_OP_DELETE
				 : ty == BCN_T_BOOKMARK ? BCN_OP_ADD : 0);
		/* byte 5: score, like only */
		for (int s = -128; s < 128; s++) {
			b[5] = (uint8_t)s;
			int want = ty == BCN_T_LIKE ? (s >= -1 && s <= 1 ? BCN_OK : BCN_R_OUT_OF_RANGE)
				 : (s == 0 ? BCN_OK : BCN_R_MALFORMED);
			int rc = bcn_bin_parse(b, n, r, &t);
			EXPECT(rc == want, "type %s score %d: got %s", bcn_type_name(ty), s, bcn_reason_name((unsigned)rc));
			if (rc == BCN_OK && ty == BCN_T_LIKE)
				EXPECT(r->score == s && (r->has & BCN_HAS_SCORE), "score %d stored", s);
		}
		b[5] = 0;
		/* byte 6: rating, review post only (delete: must be 0) */
		for (unsigned rt = 0; rt < 256; rt++) {
			b[6] = (uint8_t)rt;
			int want = rt == 0 ? BCN_OK : BCN_R_MALFORMED;
			int rc = bcn_bin_parse(b, n, r, &t);
			EXPECT(rc == want, "type %s rating %u: got %s", bcn_type_name(ty), rt, bcn_reason_name((unsigned)rc));
		}
		b[6] = 0;
	}
	/* review post: ratings 1..10 */
	struct bcn_record post = { .type = BCN_T_REVIEW, .op = BCN_OP_POST, .rating = 1, .ts = T_TS };
	n = bcn_bin_encode(&post, NULL, 0, b, sizeof(b));
	for (unsigned rt = 0; rt < 256; rt++) {
		b[6] = (uint8_t)rt;
		int rc = bcn_bin_parse(b, n, r, &t);
		EXPECT(rc == (rt >= 1 && rt <= 10 ? BCN_OK : BCN_R_OUT_OF_RANGE), "post rating %u: %s", rt,
		       bcn_reason_name((unsigned)rc));
		if (rc == BCN_OK)
			EXPECT(r->rating == rt && (r->has & BCN_HAS_RATING), "rating %u stored", rt);
	}
	free(r);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void test_numbers_and_lengths(void)
{
	struct bcn_record *r = calloc(1, sizeof(*r));
	struct bcn_token t;
	uint8_t b[64];
	struct bcn_record base = { .type = BCN_T_VIEW, .ts = T_TS,
				   .has = BCN_HAS_POSITION | BCN_HAS_DURATION, .position_ms = 1, .duration_ms = 2 };
	size_t n = bcn_bin_encode(&base, NULL, 0, b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(n, BCN_BIN_FIXED);
	CU_ASSERT_EQUAL(b[16], BCN_BF_POSITION | BCN_BF_DURATION);

	/* position / duration around 7 days, and the full u32 */
	static const uint32_t pv[] = { 0, 1, 604800000u, 604800001u, 0x7fffffffu, 0xffffffffu };
	for (size_t i = 0; i < sizeof(pv) / sizeof(pv[0]); i++) {
		int want = pv[i] <= 604800000u ? BCN_OK : BCN_R_OUT_OF_RANGE;
		put32(b + 20, pv[i]);
		put32(b + 24, 1);
		EXPECT(bcn_bin_parse(b, n, r, &t) == want, "position %u", pv[i]);
		if (want == BCN_OK)
			EXPECT(r->position_ms == pv[i], "position %u stored", pv[i]);
		put32(b + 20, 1);
		put32(b + 24, pv[i]);
		EXPECT(bcn_bin_parse(b, n, r, &t) == want, "duration %u", pv[i]);
		if (want == BCN_OK)
			EXPECT(r->duration_ms == pv[i], "duration %u stored", pv[i]);
	}
	put32(b + 20, 1);
	put32(b + 24, 2);
	CU_ASSERT_EQUAL(bcn_bin_parse(b, n, r, &t), BCN_OK);
	/* ts range: [0, 2100-01-01] */
	static const struct { int64_t ts; int want; } tv[] = {
		{ 0, BCN_OK }, { T_TS, BCN_OK }, { BCN_TS_MAX_MS, BCN_OK }, { BCN_TS_MAX_MS + 1, BCN_R_OUT_OF_RANGE },
		{ -1, BCN_R_OUT_OF_RANGE }, { INT64_MIN, BCN_R_OUT_OF_RANGE }, { INT64_MAX, BCN_R_OUT_OF_RANGE },
	};
	for (size_t i = 0; i < sizeof(tv) / sizeof(tv[0]); i++) {
		put64(b + 8, (uint64_t)tv[i].ts);
		int rc = bcn_bin_parse(b, n, r, &t);
		EXPECT(rc == tv[i].want, "ts %lld: %s", (long long)tv[i].ts, bcn_reason_name((unsigned)rc));
		if (rc == BCN_OK)
			EXPECT(r->ts == tv[i].ts && (r->has & BCN_HAS_TS), "ts %lld stored", (long long)tv[i].ts);
	}
	/* token length: 2048 is a length, 2049 too long (checked before the body) */
	put64(b + 8, (uint64_t)T_TS);
	b[18] = 0x00; b[19] = 0x08;   /* 2048, body missing */
	CU_ASSERT_EQUAL(bcn_bin_parse(b, n, r, &t), BCN_R_MALFORMED);
	b[18] = 0x01; b[19] = 0x08;   /* 2049 */
	CU_ASSERT_EQUAL(bcn_bin_parse(b, n, r, &t), BCN_R_TOO_LONG);
	b[18] = 0xff; b[19] = 0xff;
	CU_ASSERT_EQUAL(bcn_bin_parse(b, n, r, &t), BCN_R_TOO_LONG);
	b[18] = b[19] = 0;

	/* string limits per type, at the limit and one over */
	static const struct { uint8_t type; int idx; size_t limit; } sl[] = {
		{ BCN_T_PLAYER, 0, 32 }, { BCN_T_PLAYER, 1, 32 }, { BCN_T_PAGE, 0, 2048 },
		{ BCN_T_PAGE, 1, 2048 }, { BCN_T_ACTION, 0, 64 }, { BCN_T_ACTION, 1, 1024 },
		{ BCN_T_REVIEW, 0, 16000 },
	};
	uint8_t *big = malloc(BCN_MAX_BEACON + 64);
	for (size_t i = 0; i < sizeof(sl) / sizeof(sl[0]); i++) {
		for (int over = 0; over <= 1; over++) {
			size_t len = sl[i].limit + (size_t)over;
			size_t o = 0;
			uint8_t hdr[28] = { 'B', 'C', 1, sl[i].type };
			if (sl[i].type == BCN_T_PLAYER) hdr[4] = BCN_E_PLAY;
			if (sl[i].type == BCN_T_REVIEW) hdr[4] = BCN_OP_DELETE;
			put64(hdr + 8, (uint64_t)T_TS);
			memcpy(big, hdr, 28);
			o = 28;
			int nstr = sl[i].type == BCN_T_REVIEW ? 1 : 2;
			for (int s = 0; s < nstr; s++) {
				size_t l = s == sl[i].idx ? len : 1;
				big[o++] = (uint8_t)l;
				big[o++] = (uint8_t)(l >> 8);
				if (sl[i].type == BCN_T_REVIEW && s == sl[i].idx) {
					/* 4-byte characters: 4000 code points is exactly 16000 bytes */
					for (size_t k = 0; k < l; k++)
						big[o + k] = k % 4 == 0 ? 0xf0 : k % 4 == 1 ? 0x9f : k % 4 == 2 ? 0x8e : 0xac;
				} else {
					memset(big + o, 'a', l);
				}
				o += l;
			}
			int rc = bcn_bin_parse(big, o, r, &t);
			int want = over ? BCN_R_TOO_LONG : BCN_OK;
			EXPECT(rc == want, "type %s string %d len %zu: %s", bcn_type_name(sl[i].type), sl[i].idx, len,
			       bcn_reason_name((unsigned)rc));
		}
	}
	/* review text: 4001 two-byte code points (8002 bytes) is too long too */
	{
		size_t o = 0;
		uint8_t hdr[28] = { 'B', 'C', 1, BCN_T_REVIEW, BCN_OP_DELETE };
		put64(hdr + 8, (uint64_t)T_TS);
		memcpy(big, hdr, 28);
		o = 28;
		for (int cps = 4000; cps <= 4001; cps++) {
			size_t l = (size_t)cps * 2;
			big[28] = (uint8_t)l;
			big[29] = (uint8_t)(l >> 8);
			for (size_t k = 0; k < l; k += 2) {
				big[30 + k] = 0xd1;
				big[31 + k] = 0x84;
			}
			o = 30 + l;
			int rc = bcn_bin_parse(big, o, r, &t);
			EXPECT(rc == (cps == 4000 ? BCN_OK : BCN_R_TOO_LONG), "text of %d 2-byte chars: %s", cps,
			       bcn_reason_name((unsigned)rc));
		}
	}
	free(big);
	free(r);
}

static void test_encode_limits(void)
{
	uint8_t b[256];
	struct bcn_record r = { .type = BCN_T_VIEW, .ts = T_TS };
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, sizeof(b)), BCN_BIN_FIXED);
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, BCN_BIN_FIXED - 1), 0);
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, 0), 0);
	r.type = BCN_T_NONE;
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, sizeof(b)), 0);
	r.type = BCN_T__COUNT;
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, sizeof(b)), 0);
	r.type = BCN_T_VIEW;
	r.has = BCN_HAS_POSITION;
	r.position_ms = 0x100000000ull;
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, sizeof(b)), 0);
	r.position_ms = 0;
	r.has = BCN_HAS_DURATION;
	r.duration_ms = 0x100000000ull;
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, NULL, 0, b, sizeof(b)), 0);
	r.duration_ms = 0;
	char *tok = t_repeat("t", 2049);
	uint8_t *big = malloc(4096);
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, tok, 2049, big, 4096), 0);
	CU_ASSERT_EQUAL(bcn_bin_encode(&r, tok, 2048, big, 4096), BCN_BIN_FIXED + 2048);
	free(big);
	free(tok);
	/* a string over its limit is not encoded (the parser would refuse it) */
	struct bcn_record *p = calloc(1, sizeof(*p));
	p->type = BCN_T_PLAYER;
	p->event = BCN_E_PLAY;
	p->ts = T_TS;
	memset(p->arena, 'a', 64);
	p->from = (struct bcn_sref){ 0, 33 };
	p->arena_used = 33;
	CU_ASSERT_EQUAL(bcn_bin_encode(p, NULL, 0, b, sizeof(b)), 0);
	p->from.len = 32;
	CU_ASSERT_EQUAL(bcn_bin_encode(p, NULL, 0, b, sizeof(b)), BCN_BIN_FIXED + 2 + 32 + 2);
	free(p);
}

/* docs/beacon-protocol.md section 5, Examples 1-3: the hex dumps are what
 * bcn_bin_encode makes of the section 3 JSON examples, and they are accepted. */
static void test_docs_examples(void)
{
	static const char ex1[] =
		"4243010100000000" "53b8145393010000" "37000000" "50810b00" "60ce5800"
		"3f2b8c1e5a474d2e9b1a0c6e7f8d9a10" "8d1e4c2a7b3f4e69a5d02f1c3b4a5e6d"
		"6b1f0a2c3d4e4f5a8b6c7d8e9f0a1b2c";
	static const char ex2[] =
		"4243010206000000" "53b8145393010000" "15000000" "f4061400" "00000000"
		"3f2b8c1e5a474d2e9b1a0c6e7f8d9a10" "6b1f0a2c3d4e4f5a8b6c7d8e9f0a1b2c"
		"0400" "37323070" "0500" "3130383070";
	static const char ex3_head[] =
		"4243010500010000" "53b8145393010000" "0400a500" "00000000" "00000000"
		"6b1f0a2c3d4e4f5a8b6c7d8e9f0a1b2c";
	static const char *const json[] = { DOC_VIEW, DOC_PLAYER, DOC_LIKE };
	static const size_t want_len[] = { 76, 73, 209 };
	uint8_t want[256], got[256];
	struct bcn_record *r = calloc(1, sizeof(*r));
	struct bcn_token t;
	struct tfx f;
	if (tfx_init(&f, DOC_KEY)) {
		free(r);
		return;
	}
	for (int i = 0; i < 3; i++) {
		const char *hex = i == 0 ? ex1 : i == 1 ? ex2 : ex3_head;
		size_t n = t_unhex(hex, strlen(hex), want, sizeof(want));
		CU_ASSERT_FATAL(n != (size_t)-1);
		if (i == 2) {
			memcpy(want + n, DOC_TOKEN, strlen(DOC_TOKEN));
			n += strlen(DOC_TOKEN);
		}
		EXPECT(n == want_len[i], "docs example %d: %zu bytes", i + 1, n);
		CU_ASSERT_EQUAL_FATAL(bcn_json_parse(json[i], strlen(json[i]), r, &t), BCN_OK);
		size_t m = bcn_bin_encode(r, t.p, t.n, got, sizeof(got));
		EXPECT(m == n && memcmp(got, want, n) == 0, "docs example %d differs from bcn_bin_encode", i + 1);
		int rc = tfx_ingest(&f, BCN_FMT_BINARY, want, n, NULL, DOC_NOW, BCN_SRC_UDP);
		EXPECT(rc == BCN_OK, "docs example %d: %s", i + 1, bcn_reason_name((unsigned)rc));
	}
	free(r);
	tfx_free(&f);
}

/* ---- the published vectors ---------------------------------------------- */

static void test_vectors(void)
{
	size_t flen = 0;
	char *file = t_read_file(VECTORS_PATH, &flen);
	if (!file) {
		CU_FAIL_FATAL("cannot open " VECTORS_PATH " (run the tests from the repository root)");
		return;
	}
	struct tfx f;
	if (tfx_init(&f, T_KEY)) {
		free(file);
		return;
	}
	uint8_t *bin = malloc(BCN_MAX_BEACON + 64), *enc = malloc(BCN_MAX_BEACON + 64);
	struct bcn_record *r2 = calloc(1, sizeof(*r2));
	unsigned nvec = 0, nok = 0, ok_per_type[BCN_T__COUNT] = { 0 }, rej_per_reason[BCN_R__COUNT] = { 0 };
	unsigned lineno = 0;

	for (char *line = file, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[--ll] = '\0';
		if (ll == 0 || line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		EXPECT(tab != NULL, VECTORS_PATH ":%u: no TAB", lineno);
		if (!tab)
			continue;
		*tab = '\0';
		const char *exp = tab + 1;
		size_t n = t_unhex(line, (size_t)(tab - line), bin, BCN_MAX_BEACON + 64);
		EXPECT(n != (size_t)-1, VECTORS_PATH ":%u: bad hex", lineno);
		if (n == (size_t)-1)
			continue;
		int want_ok = strncmp(exp, "ok ", 3) == 0;
		int want_rej = strncmp(exp, "reject ", 7) == 0;
		int want_type = want_ok ? t_type_of(exp + 3) : -1;
		int want_reason = want_rej ? t_reason_of(exp + 7) : -1;
		EXPECT((want_ok && want_type > 0) || (want_rej && want_reason > 0),
		       VECTORS_PATH ":%u: bad expectation \"%s\"", lineno, exp);
		if (!(want_ok && want_type > 0) && !(want_rej && want_reason > 0))
			continue;
		nvec++;

		/* exact-size copy so that ASan sees any over-read */
		uint8_t *in = malloc(n ? n : 1);
		memcpy(in, bin, n);
		int rc = tfx_ingest(&f, BCN_FMT_BINARY, in, n, NULL, T_NOW, BCN_SRC_UDP);
		if (want_rej) {
			EXPECT(rc == want_reason, VECTORS_PATH ":%u: got %s, want %s", lineno,
			       bcn_reason_name((unsigned)rc), exp + 7);
			if (rc == want_reason)
				rej_per_reason[rc]++;
		} else {
			EXPECT(rc == BCN_OK && f.r->type == want_type, VECTORS_PATH ":%u: got %s type %s, want %s",
			       lineno, bcn_reason_name((unsigned)rc), rc ? "-" : bcn_type_name(f.r->type), exp);
			if (rc == BCN_OK) {
				nok++;
				ok_per_type[want_type]++;
				EXPECT(!bcn_uuid_is_nil(f.r->event_id) && f.r->recv_ts == T_NOW,
				       VECTORS_PATH ":%u: not stamped", lineno);
				/* round trip: parse -> encode -> identical bytes */
				struct bcn_token t;
				int prc = bcn_bin_parse(in, n, r2, &t);
				size_t m = prc ? 0 : bcn_bin_encode(r2, t.p, t.n, enc, BCN_MAX_BEACON + 64);
				EXPECT(m == n && memcmp(enc, in, n) == 0, VECTORS_PATH ":%u: round trip differs "
				       "(%zu vs %zu bytes)", lineno, m, n);
				/* tokens in valid vectors are exactly what bcn_jwt_sign makes */
				if (t.n)
					EXPECT(t.n == strlen(tok_valid) && memcmp(t.p, tok_valid, t.n) == 0,
					       VECTORS_PATH ":%u: token is not bcn_jwt_sign(\"test-key\", sub, exp)",
					       lineno);
				EXPECT(t.n ? (f.r->has & BCN_HAS_USER) && memcmp(f.r->user_id,
					"\x7f\x9c\x1e\x2a\x00\x00\x40\x00\x80\x00\x00\x00\x00\x00\x00\x01", 16) == 0
				       : !(f.r->has & BCN_HAS_USER),
				       VECTORS_PATH ":%u: user_id", lineno);
			}
		}
		/* every proper prefix of a valid vector is rejected */
		if (want_ok) {
			for (size_t k = 0; k < n; k++) {
				uint8_t *p = malloc(k ? k : 1);
				memcpy(p, in, k);
				int prc = tfx_ingest(&f, BCN_FMT_BINARY, p, k, NULL, T_NOW, BCN_SRC_UDP);
				EXPECT(prc != BCN_OK, VECTORS_PATH ":%u: prefix %zu accepted", lineno, k);
				free(p);
			}
		}
		free(in);
	}
	EXPECT(nvec >= 25, VECTORS_PATH ": only %u vectors", nvec);
	for (unsigned ty = 1; ty < BCN_T__COUNT; ty++)
		EXPECT(ok_per_type[ty] > 0, VECTORS_PATH ": no valid %s vector", bcn_type_name(ty));
	/* the binary errors the contract lists are all represented */
	static const int need[] = {
		BCN_R_MALFORMED, BCN_R_TOO_LARGE, BCN_R_UNSUPPORTED_VERSION, BCN_R_UNKNOWN_TYPE,
		BCN_R_BAD_ENUM, BCN_R_OUT_OF_RANGE, BCN_R_TOO_LONG, BCN_R_BAD_UTF8,
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		EXPECT(rej_per_reason[need[i]] > 0, VECTORS_PATH ": no %s vector", bcn_reason_name((unsigned)need[i]));
	printf("[%u vectors, %u valid] ", nvec, nok);
	free(r2);
	free(bin);
	free(enc);
	free(file);
	tfx_free(&f);
}

int suite_bin(void)
{
	CU_pSuite s = CU_add_suite("binary form v1", init, NULL);
	if (!s ||
	    !CU_add_test(s, "encode/parse round trip for every type", test_round_trip) ||
	    !CU_add_test(s, "JSON and binary give the same record", test_json_binary_equivalence) ||
	    !CU_add_test(s, "hand-built beacon field by field", test_parse_fields) ||
	    !CU_add_test(s, "header bytes, exhaustively", test_header_bytes) ||
	    !CU_add_test(s, "numbers and string lengths", test_numbers_and_lengths) ||
	    !CU_add_test(s, "encoder limits", test_encode_limits) ||
	    !CU_add_test(s, "docs/beacon-protocol.md binary examples", test_docs_examples) ||
	    !CU_add_test(s, "published vectors " VECTORS_PATH, test_vectors))
		return -1;
	return 0;
}
