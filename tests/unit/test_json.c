/*
 * test_json.c - the JSON beacon parser (bcn_json_parse) on its own: syntax,
 * JSON value types per field, escapes and UTF-8, numbers, duplicates, nesting,
 * truncation, size limit; and bcn_json_encode_beacon round trips.
 * Per-type rules and identity are in test_ingest.c.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

static struct bcn_record *R;
static struct bcn_token TOK;

static int init(void)
{
	R = calloc(1, sizeof(*R));
	return R ? 0 : -1;
}

static int fini(void)
{
	free(R);
	R = NULL;
	return 0;
}

static int parse(const char *s)
{
	return bcn_json_parse(s, strlen(s), R, &TOK);
}

static int parse_n(const char *s, size_t n)
{
	return bcn_json_parse(s, n, R, &TOK);
}

static int str_is(struct bcn_sref s, const char *want, size_t n)
{
	return s.len == n && memcmp(bcn_str(R, s), want, n) == 0;
}
#define STR_IS(sref, lit) str_is(sref, lit, sizeof(lit) - 1)

static int uuid_is(const uint8_t u[16], const char *s)
{
	uint8_t w[16];
	t_uuid(s, w);
	return memcmp(u, w, 16) == 0;
}

#define ALL_FIELDS                                                             \
	"{\"type\":\"review\",\"ts\":" T_TS_S ",\"anon_id\":\"" U_ANON "\","    \
	"\"session_id\":\"" U_SESSION "\",\"film_id\":\"" U_FILM "\","          \
	"\"review_id\":\"" U_REVIEW "\",\"position_ms\":5,\"duration_ms\":10,"  \
	"\"event\":\"seek\",\"from\":\"ru\",\"to\":\"en\",\"url\":\"/u\","      \
	"\"referrer\":\"/r\",\"key\":\"k\",\"value\":\"v\",\"score\":-1,"       \
	"\"text\":\"t\",\"rating\":10,\"op\":\"delete\",\"token\":\"abc.def.ghi\"}"

static void test_every_field(void)
{
	static const char all[] = ALL_FIELDS;
	CU_ASSERT_EQUAL_FATAL(parse_n(all, sizeof(all) - 1), BCN_OK);
	CU_ASSERT_EQUAL(R->type, BCN_T_REVIEW);
	CU_ASSERT_EQUAL(R->ts, T_TS);
	CU_ASSERT_TRUE(uuid_is(R->anon_id, U_ANON));
	CU_ASSERT_TRUE(uuid_is(R->session_id, U_SESSION));
	CU_ASSERT_TRUE(uuid_is(R->film_id, U_FILM));
	CU_ASSERT_TRUE(uuid_is(R->review_id, U_REVIEW));
	CU_ASSERT_EQUAL(R->position_ms, 5);
	CU_ASSERT_EQUAL(R->duration_ms, 10);
	CU_ASSERT_EQUAL(R->event, BCN_E_SEEK);
	CU_ASSERT_TRUE(STR_IS(R->from, "ru"));
	CU_ASSERT_TRUE(STR_IS(R->to, "en"));
	CU_ASSERT_TRUE(STR_IS(R->url, "/u"));
	CU_ASSERT_TRUE(STR_IS(R->referrer, "/r"));
	CU_ASSERT_TRUE(STR_IS(R->key, "k"));
	CU_ASSERT_TRUE(STR_IS(R->value, "v"));
	CU_ASSERT_EQUAL(R->score, -1);
	CU_ASSERT_TRUE(STR_IS(R->text, "t"));
	CU_ASSERT_EQUAL(R->rating, 10);
	CU_ASSERT_EQUAL(R->op, BCN_OP_DELETE);
	CU_ASSERT_EQUAL(TOK.n, 11);
	CU_ASSERT_PTR_NOT_NULL(TOK.p);
	if (TOK.p)
		CU_ASSERT_EQUAL(memcmp(TOK.p, "abc.def.ghi", 11), 0);
	CU_ASSERT_EQUAL(R->has, BCN_HAS_ANON | BCN_HAS_SESSION | BCN_HAS_FILM | BCN_HAS_REVIEW |
				BCN_HAS_POSITION | BCN_HAS_DURATION | BCN_HAS_SCORE |
				BCN_HAS_RATING | BCN_HAS_TS | BCN_HAS_URL | BCN_HAS_KEY |
				BCN_HAS_TEXT);
	CU_ASSERT_EQUAL(R->arena_used, 2 + 2 + 2 + 2 + 1 + 1 + 1);
	/* the parser stamps nothing */
	CU_ASSERT_TRUE(bcn_uuid_is_nil(R->event_id));
	CU_ASSERT_TRUE(bcn_uuid_is_nil(R->user_id));
	CU_ASSERT_EQUAL(R->recv_ts, 0);
	/* the token points into the caller's buffer */
	CU_ASSERT_TRUE(TOK.p > all && TOK.p + TOK.n < all + sizeof(all));
}

static void test_reparse_clears(void)
{
	/* a second parse into the same record starts from zero */
	CU_ASSERT_EQUAL_FATAL(parse(ALL_FIELDS), BCN_OK);
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"page\",\"url\":\"/\"}"), BCN_OK);
	CU_ASSERT_EQUAL(R->has, BCN_HAS_URL);
	CU_ASSERT_EQUAL(R->ts, 0);
	CU_ASSERT_EQUAL(R->score, 0);
	CU_ASSERT_EQUAL(R->rating, 0);
	CU_ASSERT_EQUAL(R->op, 0);
	CU_ASSERT_EQUAL(R->event, 0);
	CU_ASSERT_EQUAL(R->position_ms, 0);
	CU_ASSERT_TRUE(bcn_uuid_is_nil(R->anon_id));
	CU_ASSERT_TRUE(bcn_uuid_is_nil(R->film_id));
	CU_ASSERT_EQUAL(R->text.len, 0);
	CU_ASSERT_EQUAL(R->arena_used, 1);
	CU_ASSERT_PTR_NULL(TOK.p);
	CU_ASSERT_EQUAL(TOK.n, 0);
}

struct jcase {
	const char *json;
	int want;
};

static void run_cases(const struct jcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = parse(c[i].json);
		EXPECT(rc == c[i].want, "case %zu %s: got %s, want %s", i, c[i].json,
		       bcn_reason_name((unsigned)rc), bcn_reason_name((unsigned)c[i].want));
	}
}

static void test_syntax(void)
{
	static const struct jcase c[] = {
		{ "{\"type\":\"view\"}", BCN_OK },
		{ " \t\r\n{ \"type\" : \"view\" , \"ts\" : 1 } \n\t\r ", BCN_OK },
		{ "{\"type\":\"view\"}\n", BCN_OK },
		{ "", BCN_R_MALFORMED },
		{ " ", BCN_R_MALFORMED },
		{ "{", BCN_R_MALFORMED },
		{ "}", BCN_R_MALFORMED },
		{ "{}", BCN_R_MISSING_FIELD },
		{ "{ }", BCN_R_MISSING_FIELD },
		{ "[]", BCN_R_MALFORMED },
		{ "null", BCN_R_MALFORMED },
		{ "\"type\"", BCN_R_MALFORMED },
		{ "42", BCN_R_MALFORMED },
		{ "{\"type\":\"view\"}}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\"}{}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\"} x", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",}", BCN_R_MALFORMED },
		{ "{,\"type\":\"view\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",,\"ts\":1}", BCN_R_MALFORMED },
		{ "{\"type\" \"view\"}", BCN_R_MALFORMED },
		{ "{\"type\":}", BCN_R_MALFORMED },
		{ "{\"type\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\" \"ts\":1}", BCN_R_MALFORMED },
		{ "{type:\"view\"}", BCN_R_MALFORMED },
		{ "{'type':'view'}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\"", BCN_R_MALFORMED },
		{ "{\"type\":\"view", BCN_R_MALFORMED },
		{ "{\"type", BCN_R_MALFORMED },
		{ "{\"type\":\"view\";\"ts\":1}", BCN_R_MALFORMED },
		{ "\xef\xbb\xbf{\"type\":\"view\"}", BCN_R_MALFORMED }, /* BOM */
		{ "{\"type\":\"view\",\"x\":tru}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":truex}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":nul}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":True}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":NaN}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":Infinity}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":undefined}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\"\v}", BCN_R_MALFORMED },  /* \v is not JSON ws */
		{ "{\"type\":\"view\"\f}", BCN_R_MALFORMED },
		/* unknown keys of every scalar kind are ignored, and may repeat
	 * (docs: only a known key twice is duplicate_field) */
		{ "{\"type\":\"view\",\"x\":1,\"x\":\"2\",\"x\":null}", BCN_OK },
		{ "{\"type\":\"view\",\"x\":\"s\",\"y\":1,\"z\":-1.5e-3,\"a\":true,\"b\":false,\"c\":null}", BCN_OK },
		{ "{\"x\":\"\\u00e9\\n\",\"type\":\"view\"}", BCN_OK },
		{ "{\"\":1,\"type\":\"view\"}", BCN_OK },
		{ "{\"TYPE\":\"view\"}", BCN_R_MISSING_FIELD }, /* keys are case-sensitive */
		/* nested values, even under unknown keys, are rejected */
		{ "{\"type\":\"view\",\"x\":[]}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":{}}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"x\":{\"a\":1}}", BCN_R_MALFORMED },
		{ "{\"type\":[\"view\"]}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"ts\":[1]}", BCN_R_MALFORMED },
		{ "[{\"type\":\"view\"}]", BCN_R_MALFORMED },
	};
	run_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_type_field(void)
{
	static const struct jcase c[] = {
		{ "{\"ts\":1}", BCN_R_MISSING_FIELD },
		{ "{\"type\":null}", BCN_R_MISSING_FIELD },
		{ "{\"type\":\"\"}", BCN_R_UNKNOWN_TYPE },
		{ "{\"type\":\"rate\"}", BCN_R_UNKNOWN_TYPE },
		{ "{\"type\":\"VIEW\"}", BCN_R_UNKNOWN_TYPE },
		{ "{\"type\":\"view \"}", BCN_R_UNKNOWN_TYPE },
		{ "{\"type\":\"?\"}", BCN_R_UNKNOWN_TYPE },
		{ "{\"type\":\"\\u0076iew\"}", BCN_OK },   /* escaped 'v' */
		{ "{\"type\":\"v\\u0000iew\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
		  BCN_R_UNKNOWN_TYPE }, /* escaped, decodes to > 64 bytes */
		{ "{\"type\":1}", BCN_R_BAD_FIELD_TYPE },
		{ "{\"type\":true}", BCN_R_BAD_FIELD_TYPE },
		{ "{\"type\":\"view\",\"type\":\"view\"}", BCN_R_DUPLICATE_FIELD },
		{ "{\"type\":null,\"type\":\"view\"}", BCN_R_DUPLICATE_FIELD },
		{ "{\"type\":\"view\",\"t\\u0079pe\":\"page\"}", BCN_R_DUPLICATE_FIELD },
	};
	run_cases(c, sizeof(c) / sizeof(c[0]));
	CU_ASSERT_EQUAL(parse("{\"ts\":1,\"type\":\"bookmark\"}"), BCN_OK);
	CU_ASSERT_EQUAL(R->type, BCN_T_BOOKMARK);
}

/* Every known key: wrong JSON kinds, duplicates, null. */
static void test_field_kinds(void)
{
	static const char *const num_fields[] = { "ts", "position_ms", "duration_ms", "score", "rating" };
	static const char *const str_fields[] = {
		"anon_id", "session_id", "film_id", "review_id", "event", "from", "to",
		"url", "referrer", "key", "value", "text", "op", "token",
	};
	static const char *const good_num[] = { "0", "0", "0", "0", "1" };
	static const char *const good_str[] = {
		"\"" U_ANON "\"", "\"" U_SESSION "\"", "\"" U_FILM "\"", "\"" U_REVIEW "\"",
		"\"play\"", "\"a\"", "\"b\"", "\"/\"", "\"/r\"", "\"k\"", "\"v\"", "\"t\"",
		"\"add\"", "\"a.b.c\"",
	};
	char buf[512];

	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = {
			"\"1\"", "\"\"", "true", "false", "1.0", "1.5", "1e0", "1E2", "-0.0",
			"0e0", "1e-1", "2E+1",
		};
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s}", num_fields[i], bad[k]);
			int rc = parse(buf);
			EXPECT(rc == BCN_R_BAD_FIELD_TYPE, "%s: got %s", buf, bcn_reason_name((unsigned)rc));
		}
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s,\"%s\":%s}", num_fields[i],
			 good_num[i], num_fields[i], good_num[i]);
		EXPECT_RC(parse(buf), BCN_R_DUPLICATE_FIELD, buf);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":null}", num_fields[i]);
		EXPECT_RC(parse(buf), BCN_OK, buf);
		EXPECT(R->has == 0, "%s: has %#x", buf, R->has);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":null,\"%s\":%s}", num_fields[i],
			 num_fields[i], good_num[i]);
		EXPECT_RC(parse(buf), BCN_R_DUPLICATE_FIELD, buf);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s}", num_fields[i], good_num[i]);
		EXPECT_RC(parse(buf), BCN_OK, buf);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":{}}", num_fields[i]);
		EXPECT_RC(parse(buf), BCN_R_MALFORMED, buf);
	}
	for (size_t i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++) {
		static const char *const bad[] = { "1", "0", "-1", "1.5", "1e3", "true", "false" };
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s}", str_fields[i], bad[k]);
			EXPECT_RC(parse(buf), BCN_R_BAD_FIELD_TYPE, buf);
		}
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s}", str_fields[i], good_str[i]);
		EXPECT_RC(parse(buf), BCN_OK, buf);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s,\"%s\":%s}", str_fields[i],
			 good_str[i], str_fields[i], good_str[i]);
		EXPECT_RC(parse(buf), BCN_R_DUPLICATE_FIELD, buf);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":null}", str_fields[i]);
		EXPECT_RC(parse(buf), BCN_OK, buf);
		EXPECT(R->has == 0 && R->arena_used == 0 && TOK.p == NULL, "%s: not absent", buf);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":[%s]}", str_fields[i], good_str[i]);
		EXPECT_RC(parse(buf), BCN_R_MALFORMED, buf);
	}
}

static void test_uuid_fields(void)
{
	static const char *const f[] = { "anon_id", "session_id", "film_id", "review_id" };
	static const char *const bad[] = {
		"\"\"", "\"x\"", "\"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5\"",
		"\"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5bb\"",
		"\"3f1c2a4b5d6e4f708a9b0c1d2e3f4a5b\"",
		"\"{3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b}\"",
		"\"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5z\"",
		"\"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5\xc3\xa9\"",
		"\"urn:uuid:3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b\"",
		/* escaped form decoding to > 64 bytes */
		"\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
	};
	static const uint16_t bit[] = { BCN_HAS_ANON, BCN_HAS_SESSION, BCN_HAS_FILM, BCN_HAS_REVIEW };
	char buf[768];
	for (size_t i = 0; i < 4; i++) {
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s}", f[i], bad[k]);
			EXPECT_RC(parse(buf), BCN_R_BAD_UUID, buf);
		}
		/* upper case and escaped hex digits are fine */
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":\"3F1C2A4B-5D6E-4F70-8A9B-0C1D2E3F4A5B\"}", f[i]);
		EXPECT_RC(parse(buf), BCN_OK, buf);
		EXPECT(R->has == bit[i], "%s: has %#x", buf, R->has);
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":\"\\u0033f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b\"}", f[i]);
		EXPECT_RC(parse(buf), BCN_OK, buf);
	}
	CU_ASSERT_EQUAL(parse("{\"type\":\"view\",\"film_id\":\"3F1C2A4B-5D6E-4F70-8A9B-0C1D2E3F4A5B\"}"), BCN_OK);
	CU_ASSERT_TRUE(uuid_is(R->film_id, U_ANON));
}

static void test_enum_fields(void)
{
	char buf[256];
	for (unsigned e = 1; e < BCN_E__COUNT; e++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"player\",\"event\":\"%s\"}", bcn_event_name(e));
		EXPECT_RC(parse(buf), BCN_OK, buf);
		EXPECT(R->event == e, "%s: event %u", buf, R->event);
	}
	for (unsigned o = 1; o < BCN_OP__COUNT; o++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"review\",\"op\":\"%s\"}", bcn_op_name(o));
		EXPECT_RC(parse(buf), BCN_OK, buf);
		EXPECT(R->op == o, "%s: op %u", buf, R->op);
	}
	static const struct jcase c[] = {
		{ "{\"type\":\"player\",\"event\":\"stop\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"player\",\"event\":\"\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"player\",\"event\":\"?\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"player\",\"event\":\"Play\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"player\",\"event\":\"post\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"player\",\"event\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"review\",\"op\":\"edit\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"review\",\"op\":\"play\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"review\",\"op\":\"\"}", BCN_R_BAD_ENUM },
		{ "{\"type\":\"review\",\"op\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", BCN_R_BAD_ENUM },
		/* an escaped numeric field value that is long: still the wrong JSON type */
		{ "{\"type\":\"view\",\"ts\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", BCN_R_BAD_FIELD_TYPE },
	};
	run_cases(c, sizeof(c) / sizeof(c[0]));
}

struct ncase {
	const char *field, *num;
	int want;
	int64_t val;
};

static void test_numbers(void)
{
	static const struct ncase c[] = {
		{ "ts", "0", BCN_OK, 0 },
		{ "ts", "-0", BCN_OK, 0 },            /* negative zero is zero */
		{ "ts", "4102444800000", BCN_OK, 4102444800000ll },
		{ "ts", "4102444800001", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "-1", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "9223372036854775807", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "9223372036854775808", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "-9223372036854775808", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "18446744073709551615", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "18446744073709551616", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "99999999999999999999999", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "-99999999999999999999999", BCN_R_OUT_OF_RANGE, 0 },
		{ "ts", "1763799990000.0", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "ts", "1.76379999e12", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "ts", "99999999999999999999999.5", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "ts", "01", BCN_R_MALFORMED, 0 },
		{ "ts", "00", BCN_R_MALFORMED, 0 },
		{ "ts", "-01", BCN_R_MALFORMED, 0 },
		{ "ts", "+1", BCN_R_MALFORMED, 0 },
		{ "ts", "-", BCN_R_MALFORMED, 0 },
		{ "ts", "--1", BCN_R_MALFORMED, 0 },
		{ "ts", ".5", BCN_R_MALFORMED, 0 },
		{ "ts", "1.", BCN_R_MALFORMED, 0 },
		{ "ts", "1.e3", BCN_R_MALFORMED, 0 },
		{ "ts", "1e", BCN_R_MALFORMED, 0 },
		{ "ts", "1e+", BCN_R_MALFORMED, 0 },
		{ "ts", "0x10", BCN_R_MALFORMED, 0 },
		{ "ts", "1_000", BCN_R_MALFORMED, 0 },
		{ "ts", "- 1", BCN_R_MALFORMED, 0 },
		{ "position_ms", "0", BCN_OK, 0 },
		{ "position_ms", "-0", BCN_OK, 0 },
		{ "position_ms", "604800000", BCN_OK, 604800000 },
		{ "position_ms", "604800001", BCN_R_OUT_OF_RANGE, 0 },
		{ "position_ms", "-1", BCN_R_OUT_OF_RANGE, 0 },
		{ "position_ms", "4294967296", BCN_R_OUT_OF_RANGE, 0 },
		{ "position_ms", "99999999999999999999999", BCN_R_OUT_OF_RANGE, 0 },
		{ "position_ms", "1.5", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "position_ms", "1e3", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "duration_ms", "604800000", BCN_OK, 604800000 },
		{ "duration_ms", "604800001", BCN_R_OUT_OF_RANGE, 0 },
		{ "duration_ms", "-5", BCN_R_OUT_OF_RANGE, 0 },
		{ "duration_ms", "5400000.0", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "score", "1", BCN_OK, 1 },
		{ "score", "0", BCN_OK, 0 },
		{ "score", "-0", BCN_OK, 0 },
		{ "score", "-1", BCN_OK, -1 },
		{ "score", "2", BCN_R_OUT_OF_RANGE, 0 },
		{ "score", "-2", BCN_R_OUT_OF_RANGE, 0 },
		{ "score", "256", BCN_R_OUT_OF_RANGE, 0 },   /* no int8 wrap */
		{ "score", "255", BCN_R_OUT_OF_RANGE, 0 },
		{ "score", "18446744073709551615", BCN_R_OUT_OF_RANGE, 0 },
		{ "score", "1.0", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "score", "-1e0", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "rating", "1", BCN_OK, 1 },
		{ "rating", "10", BCN_OK, 10 },
		{ "rating", "0", BCN_R_OUT_OF_RANGE, 0 },
		{ "rating", "-0", BCN_R_OUT_OF_RANGE, 0 },
		{ "rating", "11", BCN_R_OUT_OF_RANGE, 0 },
		{ "rating", "257", BCN_R_OUT_OF_RANGE, 0 },  /* no uint8 wrap */
		{ "rating", "-1", BCN_R_OUT_OF_RANGE, 0 },
		{ "rating", "5.5", BCN_R_BAD_FIELD_TYPE, 0 },
		{ "rating", "1e1", BCN_R_BAD_FIELD_TYPE, 0 },
	};
	char buf[256];
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"%s\":%s}", c[i].field, c[i].num);
		int rc = parse(buf);
		EXPECT(rc == c[i].want, "%s: got %s, want %s", buf, bcn_reason_name((unsigned)rc),
		       bcn_reason_name((unsigned)c[i].want));
		if (rc || c[i].want)
			continue;
		int64_t got = !strcmp(c[i].field, "ts") ? R->ts
			    : !strcmp(c[i].field, "position_ms") ? (int64_t)R->position_ms
			    : !strcmp(c[i].field, "duration_ms") ? (int64_t)R->duration_ms
			    : !strcmp(c[i].field, "score") ? R->score : R->rating;
		EXPECT(got == c[i].val, "%s: value %lld", buf, (long long)got);
	}
	/* every digit count, against strtoull: a ts of 1..13 digits (the
	 * parser's 8-byte and byte-wise paths; 14+ digits are out of range) */
	uint64_t seed = 12345;
	for (int nd = 1; nd <= 20; nd++) {
		for (int k = 0; k < 200; k++) {
			char num[32];
			for (int d = 0; d < nd; d++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				num[d] = (char)('0' + (seed >> 33) % 10);
			}
			if (num[0] == '0')
				num[0] = (char)('1' + k % 9);
			num[nd] = 0;
			/* what follows the number varies: '}', ',', ' ', more bytes */
			snprintf(buf, sizeof(buf), "{\"type\":\"view\",\"ts\":%s%s", num,
				 k % 3 == 0 ? "}" : k % 3 == 1 ? ",\"position_ms\":7}" : " }   ");
			int rc = parse(buf);
			unsigned long long want = strtoull(num, NULL, 10);
			int ok = nd <= 13 && want <= 4102444800000ull;
			EXPECT(rc == (ok ? BCN_OK : BCN_R_OUT_OF_RANGE), "%s: got %s", buf,
			       bcn_reason_name((unsigned)rc));
			if (ok && rc == BCN_OK)
				EXPECT((unsigned long long)R->ts == want, "%s: value %lld", buf, (long long)R->ts);
		}
	}
	/* numbers in unknown fields: any valid JSON number is skipped */
	static const struct jcase u[] = {
		{ "{\"type\":\"view\",\"n\":99999999999999999999999}", BCN_OK },
		{ "{\"type\":\"view\",\"n\":-0}", BCN_OK },
		{ "{\"type\":\"view\",\"n\":-0.0e-0}", BCN_OK },
		{ "{\"type\":\"view\",\"n\":1E+400}", BCN_OK },
		{ "{\"type\":\"view\",\"n\":01}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"n\":1.}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"n\":-}", BCN_R_MALFORMED },
		{ "{\"type\":\"view\",\"n\":+1}", BCN_R_MALFORMED },
	};
	run_cases(u, sizeof(u) / sizeof(u[0]));
	/* a number running into the end of input */
	CU_ASSERT_EQUAL(parse("{\"type\":\"view\",\"ts\":1"), BCN_R_MALFORMED);
	CU_ASSERT_EQUAL(parse("{\"type\":\"view\",\"ts\":-"), BCN_R_MALFORMED);
	CU_ASSERT_EQUAL(parse("{\"type\":\"view\",\"ts\":1e"), BCN_R_MALFORMED);
}

static void test_string_limits(void)
{
	static const struct { const char *f; size_t limit; } lim[] = {
		{ "from", 32 }, { "to", 32 }, { "url", 2048 }, { "referrer", 2048 },
		{ "key", 64 }, { "value", 1024 }, { "text", 16000 },
	};
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		for (int extra = 0; extra <= 1; extra++) {
			size_t n = lim[i].limit + (size_t)extra;
			/* text's limit is 4000 code points: use 4-byte characters there */
			char *v = strcmp(lim[i].f, "text") ? t_repeat("a", n)
				  : t_repeat("\xf0\x9f\x8e\xac", n / 4 + (size_t)extra);
			size_t cap = strlen(v) + 64;
			char *buf = malloc(cap);
			snprintf(buf, cap, "{\"type\":\"view\",\"%s\":\"%s\"}", lim[i].f, v);
			int rc = parse(buf);
			EXPECT(rc == (extra ? BCN_R_TOO_LONG : BCN_OK), "%s at limit%s: %s", lim[i].f,
			       extra ? "+1" : "", bcn_reason_name((unsigned)rc));
			/* the same with an escape in it (decoded in place) */
			snprintf(buf, cap, "{\"type\":\"view\",\"%s\":\"\\u0041%s\"}", lim[i].f,
				 v + (strcmp(lim[i].f, "text") ? 1 : 4));
			rc = parse(buf);
			if (strcmp(lim[i].f, "text"))
				EXPECT(rc == (extra ? BCN_R_TOO_LONG : BCN_OK), "escaped %s at limit%s: %s",
				       lim[i].f, extra ? "+1" : "", bcn_reason_name((unsigned)rc));
			free(buf);
			free(v);
		}
	}
	/* empty strings are accepted by the parser (the validator decides) */
	CU_ASSERT_EQUAL(parse("{\"type\":\"page\",\"url\":\"\",\"key\":\"\",\"text\":\"\"}"), BCN_OK);
	CU_ASSERT_EQUAL(R->has, BCN_HAS_URL | BCN_HAS_KEY | BCN_HAS_TEXT);
	CU_ASSERT_EQUAL(R->url.len, 0);
	/* token: 2048 bytes ok, 2049 too long */
	char *t = t_repeat("a", 2049);
	char *buf = malloc(2200);
	snprintf(buf, 2200, "{\"type\":\"view\",\"token\":\"%.2048s\"}", t);
	CU_ASSERT_EQUAL(parse(buf), BCN_OK);
	CU_ASSERT_EQUAL(TOK.n, 2048);
	snprintf(buf, 2200, "{\"type\":\"view\",\"token\":\"%s\"}", t);
	CU_ASSERT_EQUAL(parse(buf), BCN_R_TOO_LONG);
	/* a token with an escape can't be base64url */
	CU_ASSERT_EQUAL(parse("{\"type\":\"view\",\"token\":\"a\\u002eb.c\"}"), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(parse("{\"type\":\"view\",\"token\":\"\"}"), BCN_OK);
	CU_ASSERT_EQUAL(TOK.n, 0);
	CU_ASSERT_PTR_NOT_NULL(TOK.p); /* present, empty: bcn_ingest rejects it */
	free(buf);
	free(t);
}

static void test_escapes(void)
{
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"action\",\"key\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
				    "\"value\":\"a\\u0041\\u00e9\\u20ac\\ud83c\\udfac\\uD83C\\uDFACz\"}"),
			      BCN_OK);
	CU_ASSERT_TRUE(STR_IS(R->key, "\"\\/\b\f\n\r\t"));
	CU_ASSERT_TRUE(STR_IS(R->value, "aA\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xacz"));
	/* surrogate pairs at the edges of the range */
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"page\",\"url\":\"\\ud800\\udc00\\udbff\\udfff\\uffff\\u0080\\u07ff\\u0800\"}"), BCN_OK);
	CU_ASSERT_TRUE(STR_IS(R->url, "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf\xc2\x80\xdf\xbf\xe0\xa0\x80"));
	/* escaped control characters other than NUL are allowed */
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"page\",\"url\":\"\\u0001\\u001f\\u007f\"}"), BCN_OK);
	CU_ASSERT_TRUE(STR_IS(R->url, "\x01\x1f\x7f"));
	/* raw multi-byte mixed with escapes */
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"page\",\"url\":\"\xd1\x84\\n\xd1\x84\"}"), BCN_OK);
	CU_ASSERT_TRUE(STR_IS(R->url, "\xd1\x84\n\xd1\x84"));
	/* an escaped key is the same key */
	CU_ASSERT_EQUAL(parse("{\"\\u0074ype\":\"page\",\"\\u0075rl\":\"/x\"}"), BCN_OK);
	CU_ASSERT_EQUAL(R->type, BCN_T_PAGE);
	CU_ASSERT_TRUE(STR_IS(R->url, "/x"));
	/* a very long escaped key is just an unknown key */
	CU_ASSERT_EQUAL(parse("{\"type\":\"page\",\"\\u0041aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}"), BCN_OK);

	static const struct jcase c[] = {
		/* NUL: raw is a control character (malformed JSON), escaped is bad_utf8 */
		{ "{\"type\":\"page\",\"url\":\"a\\u0000b\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\u0000\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"\\u0000\":1}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"x\":\"\\u0000\"}", BCN_R_BAD_UTF8 },
		/* lone surrogates */
		{ "{\"type\":\"page\",\"url\":\"\\ud83c\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\ud83cx\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\ud83cxxxxxx\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\udfac\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\udc00\\ud800\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\ud83c\\ud83c\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\ud83c\\u0041\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\ud83c\\n\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"x\":\"\\ud83c\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\\ud83c\\udfa\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\ud83c\\uzzzz\"}", BCN_R_MALFORMED },
		/* bad escapes */
		{ "{\"type\":\"page\",\"url\":\"\\x41\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\a\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\'\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\U0041\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\u004\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\u00g1\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\u\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\u00", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"a\\n", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"x\":\"\\q\"}", BCN_R_MALFORMED },
		/* raw control characters in strings, keys and unknown values */
		{ "{\"type\":\"page\",\"url\":\"a\nb\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"a\tb\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"a\x1f\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"url\":\"\\n\x01\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"u\x01rl\":\"/\"}", BCN_R_MALFORMED },
		{ "{\"type\":\"page\",\"x\":\"\x01\"}", BCN_R_MALFORMED },
		/* invalid UTF-8 in stored strings */
		{ "{\"type\":\"page\",\"url\":\"\xc0\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xed\xa0\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xed\xbf\xbf\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xf5\x80\x80\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xf4\x90\x80\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xe0\x80\xaf\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xff\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"a\xe2\x82\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"a\xf0\x9f\x8e\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xc3\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"url\":\"\xc3\\n\"}", BCN_R_BAD_UTF8 },  /* escape can't finish a sequence */
		{ "{\"type\":\"page\",\"url\":\"\xed\\u00a0\\u0080\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"player\",\"from\":\"\xc0\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"player\",\"to\":\"\xed\xa0\x80\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"page\",\"referrer\":\"\xf8\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"action\",\"key\":\"\xc1\xbf\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"action\",\"value\":\"\xe2\x28\xa1\"}", BCN_R_BAD_UTF8 },
		{ "{\"type\":\"review\",\"text\":\"ok\xed\xb0\x80\"}", BCN_R_BAD_UTF8 },
		/* invalid UTF-8 in a UUID / enum is a bad UUID / enum */
		{ "{\"type\":\"view\",\"film_id\":\"\xc0\x80\"}", BCN_R_BAD_UUID },
		{ "{\"type\":\"\xc0\x80\"}", BCN_R_UNKNOWN_TYPE },
		{ "{\"type\":\"player\",\"event\":\"\xff\"}", BCN_R_BAD_ENUM },
	};
	run_cases(c, sizeof(c) / sizeof(c[0]));

	/* raw NUL inside a string value, key and unknown value: malformed JSON */
	static const char nul1[] = "{\"type\":\"page\",\"url\":\"a\0b\"}";
	static const char nul2[] = "{\"type\":\"page\",\"ur\0l\":\"/\"}";
	static const char nul3[] = "{\"type\":\"page\",\"url\":\"/\",\"x\":\"\0\"}";
	static const char nul4[] = "{\"type\":\"page\",\"url\":\"/\"}\0";
	static const char nul5[] = "{\"type\":\"page\",\"url\":\"\\n\0\"}";
	CU_ASSERT_EQUAL(parse_n(nul1, sizeof(nul1) - 1), BCN_R_MALFORMED);
	CU_ASSERT_EQUAL(parse_n(nul2, sizeof(nul2) - 1), BCN_R_MALFORMED);
	CU_ASSERT_EQUAL(parse_n(nul3, sizeof(nul3) - 1), BCN_R_MALFORMED);
	CU_ASSERT_EQUAL(parse_n(nul4, sizeof(nul4) - 1), BCN_R_MALFORMED);
	CU_ASSERT_EQUAL(parse_n(nul5, sizeof(nul5) - 1), BCN_R_MALFORMED);
}

static void test_text_code_points(void)
{
	/* 4000 code points of 2-byte characters: ok; 4001: too long */
	char *v = t_repeat("\xc3\xa9", 4001);
	size_t cap = BCN_MAX_BEACON + 128;
	char *buf = malloc(cap);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%.8000s\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_OK);
	CU_ASSERT_EQUAL(R->text.len, 8000);
	CU_ASSERT_EQUAL(bcn_utf8_count(bcn_str(R, R->text), R->text.len), 4000);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%s\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_R_TOO_LONG);
	free(v);
	/* 3-byte characters, 4000 ok, 4001 too long */
	v = t_repeat("\xe2\x82\xac", 4001);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%.12000s\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_OK);
	CU_ASSERT_EQUAL(R->text.len, 12000);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%s\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_R_TOO_LONG);
	free(v);
	/* 4000 ASCII then one more: too long; other fields are not counted */
	v = t_repeat("x", 4001);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%s\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_R_TOO_LONG);
	snprintf(buf, cap, "{\"type\":\"review\",\"url\":\"%.2000s\",\"text\":\"%.4000s\"}", v, v);
	CU_ASSERT_EQUAL(parse(buf), BCN_OK);
	free(v);
	/* escaped: 3999 raw + one \u00e9 escape = 4000 code points */
	v = t_repeat("y", 3999);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%s\\u00e9\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_OK);
	CU_ASSERT_EQUAL(R->text.len, 4001);
	snprintf(buf, cap, "{\"type\":\"review\",\"text\":\"%s\\u00e9\\u00e9\"}", v);
	CU_ASSERT_EQUAL(parse(buf), BCN_R_TOO_LONG);
	free(v);
	free(buf);
}

static void test_nesting(void)
{
	/* 100k deep: rejected (the size check comes first), quickly, no recursion */
	size_t deep = 100000;
	char *buf = malloc(2 * deep + 64);
	memset(buf, '[', deep);
	memset(buf + deep, ']', deep);
	CU_ASSERT_EQUAL(parse_n(buf, 2 * deep), BCN_R_TOO_LARGE);
	/* the same nesting within the size limit: malformed */
	CU_ASSERT_EQUAL(parse_n(buf, 20480), BCN_R_MALFORMED);
	memset(buf + 5000, ']', 5000);
	CU_ASSERT_EQUAL(parse_n(buf, 10000), BCN_R_MALFORMED);
	/* {"a":{"a":{... 100k deep */
	size_t o = 0;
	for (size_t i = 0; i < deep / 6; i++) {
		memcpy(buf + o, "{\"a\":", 5);
		o += 5;
	}
	buf[o] = '1';
	CU_ASSERT_EQUAL(parse_n(buf, o + 1), BCN_R_TOO_LARGE);
	CU_ASSERT_EQUAL(parse_n(buf, 20000), BCN_R_MALFORMED);
	/* nested under a known and an unknown key */
	o = (size_t)snprintf(buf, 64, "{\"type\":\"view\",\"x\":");
	for (size_t i = 0; i < 3000; i++) {
		memcpy(buf + o, "{\"b\":", 5);
		o += 5;
	}
	CU_ASSERT_EQUAL(parse_n(buf, o), BCN_R_MALFORMED);
	o = (size_t)snprintf(buf, 64, "{\"film_id\":");
	memset(buf + o, '[', 15000);
	CU_ASSERT_EQUAL(parse_n(buf, o + 15000), BCN_R_MALFORMED);
	free(buf);
}

static void test_size_limit(void)
{
	/* exactly 20480 bytes: parsed; 20481: too_large before anything else */
	char *buf = malloc(20482 + 1);
	int head = snprintf(buf, 64, "{\"type\":\"page\",\"url\":\"/\",\"pad\":\"");
	memset(buf + head, 'p', 20480 - (size_t)head - 2);
	memcpy(buf + 20480 - 2, "\"}", 3);
	CU_ASSERT_EQUAL(strlen(buf), 20480);
	CU_ASSERT_EQUAL(parse_n(buf, 20480), BCN_OK);
	memmove(buf + 1, buf, 20481);
	buf[0] = ' ';
	CU_ASSERT_EQUAL(strlen(buf), 20481);
	CU_ASSERT_EQUAL(parse_n(buf, 20481), BCN_R_TOO_LARGE);
	/* too_large wins over malformed */
	memset(buf, 'x', 20481);
	CU_ASSERT_EQUAL(parse_n(buf, 20481), BCN_R_TOO_LARGE);
	CU_ASSERT_EQUAL(parse_n(buf, 20480), BCN_R_MALFORMED);
	free(buf);
	/* a full review at the text limit fits in a beacon and in the arena */
	char *v = t_repeat("\xf0\x9f\x8e\xac", 4000);
	size_t cap = strlen(v) + 4096;
	buf = malloc(cap);
	char *u = t_repeat("u", 2048), *k = t_repeat("k", 64);
	snprintf(buf, cap, "{\"type\":\"review\",\"url\":\"%s\",\"key\":\"%s\",\"from\":\"%.32s\","
		 "\"to\":\"%.32s\",\"text\":\"%s\"}", u, k, u, u, v);
	CU_ASSERT_EQUAL(parse(buf), BCN_OK);
	CU_ASSERT_EQUAL(R->text.len, 16000);
	CU_ASSERT_EQUAL(R->arena_used, 2048 + 64 + 32 + 32 + 16000);
	free(u);
	free(k);
	free(v);
	free(buf);
}

static const char *const truncated_bases[] = {
	"{\"type\":\"review\",\"ts\":1763799990000,\"token\":\"a.b.c\",\"op\":\"post\","
	"\"film_id\":\"" U_FILM "\",\"review_id\":\"" U_REVIEW "\",\"rating\":9,"
	"\"text\":\"\xd0\x9e\xd1\x82 \\ud83c\\udfac \\\"q\\\" \\u00e9\"}",
	ALL_FIELDS,
};

static void test_truncation(void)
{
	for (size_t b = 0; b < sizeof(truncated_bases) / sizeof(truncated_bases[0]); b++) {
		const char *s = truncated_bases[b];
		size_t n = strlen(s);
		CU_ASSERT_EQUAL_FATAL(parse_n(s, n), BCN_OK);
		/* every proper prefix, copied to an exact-size heap buffer so that
		 * ASan catches any read past the end */
		for (size_t i = 0; i < n; i++) {
			char *p = malloc(i ? i : 1);
			memcpy(p, s, i);
			int rc = parse_n(p, i);
			EXPECT(rc != BCN_OK, "prefix of %zu bytes accepted", i);
			free(p);
		}
	}
}

static void rt_one(const char *json, const char *token)
{
	struct bcn_record *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bcn_token ta, tb;
	char out[BCN_MAX_BEACON];
	int rc = bcn_json_parse(json, strlen(json), a, &ta);
	EXPECT(rc == BCN_OK, "%s: %s", json, bcn_reason_name((unsigned)rc));
	size_t n = bcn_json_encode_beacon(a, token, token ? strlen(token) : 0, out, sizeof(out));
	EXPECT(n > 0, "encode %s", json);
	rc = bcn_json_parse(out, n, b, &tb);
	EXPECT(rc == BCN_OK, "re-parse %.*s: %s", (int)n, out, bcn_reason_name((unsigned)rc));
	if (rc == BCN_OK) {
		EXPECT(a->type == b->type && a->ts == b->ts && a->has == b->has &&
		       a->event == b->event && a->op == b->op && a->score == b->score &&
		       a->rating == b->rating && a->position_ms == b->position_ms &&
		       a->duration_ms == b->duration_ms &&
		       !memcmp(a->anon_id, b->anon_id, 16) && !memcmp(a->session_id, b->session_id, 16) &&
		       !memcmp(a->film_id, b->film_id, 16) && !memcmp(a->review_id, b->review_id, 16),
		       "fixed fields differ after round trip of %s", json);
		const struct bcn_sref *sa[] = { &a->from, &a->to, &a->url, &a->referrer, &a->key, &a->value, &a->text };
		const struct bcn_sref *sb[] = { &b->from, &b->to, &b->url, &b->referrer, &b->key, &b->value, &b->text };
		for (int i = 0; i < 7; i++)
			EXPECT(sa[i]->len == sb[i]->len &&
			       !memcmp(a->arena + sa[i]->off, b->arena + sb[i]->off, sa[i]->len),
			       "string %d differs after round trip of %s", i, json);
		if (token)
			EXPECT(tb.n == strlen(token) && !memcmp(tb.p, token, tb.n), "token lost: %s", json);
		else
			EXPECT(tb.p == NULL, "token appeared: %s", json);
	}
	/* every cap below n fails cleanly, n itself works */
	for (size_t cap = 0; cap < n; cap++)
		EXPECT(bcn_json_encode_beacon(a, token, token ? strlen(token) : 0, out, cap) == 0,
		       "cap %zu of %zu accepted", cap, n);
	EXPECT(bcn_json_encode_beacon(a, token, token ? strlen(token) : 0, out, n) == n, "cap == n");
	free(a);
	free(b);
}

static void test_encode_beacon_round_trip(void)
{
	rt_one("{\"type\":\"view\",\"ts\":" T_TS_S ",\"anon_id\":\"" U_ANON "\",\"session_id\":\""
	       U_SESSION "\",\"film_id\":\"" U_FILM "\",\"position_ms\":120000,\"duration_ms\":5400000}", NULL);
	rt_one("{\"type\":\"player\",\"ts\":" T_TS_S ",\"film_id\":\"" U_FILM "\",\"event\":\"audio_change\","
	       "\"from\":\"ru\",\"to\":\"en\",\"position_ms\":0}", "aaa.bbb.ccc");
	rt_one("{\"type\":\"page\",\"ts\":" T_TS_S ",\"anon_id\":\"" U_ANON "\",\"url\":\"/q?\\\"a\\\"\\\\\","
	       "\"referrer\":\"\\u0001\\t\\n\\r\\u001f\xd1\x84\\ud83c\\udfac\"}", NULL);
	rt_one("{\"type\":\"action\",\"ts\":0,\"key\":\"k\",\"value\":\"v\"}", "x.y.z");
	rt_one("{\"type\":\"like\",\"ts\":" T_TS_S ",\"film_id\":\"" U_FILM "\",\"score\":-1}", "t.t.t");
	rt_one("{\"type\":\"review\",\"ts\":" T_TS_S ",\"op\":\"post\",\"film_id\":\"" U_FILM
	       "\",\"review_id\":\"" U_REVIEW "\",\"rating\":10,\"text\":\"\\\"great\\\"\\n\"}", "t.t.t");
	rt_one("{\"type\":\"bookmark\",\"ts\":" T_TS_S ",\"op\":\"remove\",\"film_id\":\"" U_FILM "\"}", "t.t.t");
}

int suite_json(void)
{
	CU_pSuite s = CU_add_suite("JSON parser", init, fini);
	if (!s ||
	    !CU_add_test(s, "every field parsed into the record", test_every_field) ||
	    !CU_add_test(s, "a re-parse starts from a clean record", test_reparse_clears) ||
	    !CU_add_test(s, "object syntax", test_syntax) ||
	    !CU_add_test(s, "the type field", test_type_field) ||
	    !CU_add_test(s, "JSON kinds, duplicates and null for every field", test_field_kinds) ||
	    !CU_add_test(s, "UUID fields", test_uuid_fields) ||
	    !CU_add_test(s, "event and op enums", test_enum_fields) ||
	    !CU_add_test(s, "numbers: ranges, -0, fractions, exponents, overflow", test_numbers) ||
	    !CU_add_test(s, "string length limits", test_string_limits) ||
	    !CU_add_test(s, "escapes, surrogates, NUL, invalid UTF-8", test_escapes) ||
	    !CU_add_test(s, "text limit in code points", test_text_code_points) ||
	    !CU_add_test(s, "deep nesting", test_nesting) ||
	    !CU_add_test(s, "beacon size limit", test_size_limit) ||
	    !CU_add_test(s, "every truncation rejected", test_truncation) ||
	    !CU_add_test(s, "bcn_json_encode_beacon round trips", test_encode_beacon_round_trip))
		return -1;
	return 0;
}
