/*
 * test_ingest.c - bcn_ingest end to end with a real JWT cache: the table of
 * input -> reason covering every reason in enum bcn_reason, per-type rules,
 * identity, clock-skew window edges, the Authorization header, truncation,
 * and accepted records checked field by field.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define J_TS   "\"ts\":" T_TS_S
#define J_ANON "\"anon_id\":\"" U_ANON "\""
#define J_SESS "\"session_id\":\"" U_SESSION "\""
#define J_FILM "\"film_id\":\"" U_FILM "\""
#define J_REV  "\"review_id\":\"" U_REVIEW "\""
#define J_TOK  "\"token\":\"@TOK@\""
#define J_PD   "\"position_ms\":1,\"duration_ms\":2"

/* tokens, made once in init() */
static char tok_valid[512], tok_expired[512], tok_badsig[512], tok_none[512],
	tok_nonesig[512], tok_hs512[512], tok_tamper[512], tok_typ[512], tok_other_sub[512];
static const char *tok_names[] = {
	"@TOK@", "@EXPIRED@", "@BADSIG@", "@NONE@", "@NONESIG@", "@HS512@", "@TAMPER@",
	"@TYP@", "@OTHERSUB@",
};
static const char *tok_vals[] = {
	tok_valid, tok_expired, tok_badsig, tok_none, tok_nonesig, tok_hs512, tok_tamper,
	tok_typ, tok_other_sub,
};
#define NTOK ((int)(sizeof(tok_names) / sizeof(tok_names[0])))

static unsigned covered[BCN_R__COUNT];

static int init(void)
{
	char pl[128], b[256];
	snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"exp\":%lld}", T_SUB, (long long)T_EXP);
	if (!bcn_jwt_sign((const uint8_t *)T_KEY, 8, T_SUB, T_EXP, tok_valid, sizeof(tok_valid)) ||
	    !bcn_jwt_sign((const uint8_t *)T_KEY, 8, T_SUB, T_NOW / 1000 - 1, tok_expired, sizeof(tok_expired)) ||
	    !bcn_jwt_sign((const uint8_t *)"other-key", 9, T_SUB, T_EXP, tok_badsig, sizeof(tok_badsig)) ||
	    !bcn_jwt_sign((const uint8_t *)T_KEY, 8, "7f9c1e2a-0000-4000-8000-0000000000ff", T_EXP,
			  tok_other_sub, sizeof(tok_other_sub)))
		return -1;
	/* alg none, empty signature */
	size_t o = t_b64url((const uint8_t *)"{\"alg\":\"none\",\"typ\":\"JWT\"}", 26, tok_none);
	tok_none[o++] = '.';
	o += t_b64url((const uint8_t *)pl, strlen(pl), tok_none + o);
	tok_none[o++] = '.';
	tok_none[o] = '\0';
	/* alg none / HS512 / typ JWS headers with a signature that is right for
	 * HS256 under our key: only the header check can stop them */
	if (!t_craft(T_KEY, "{\"alg\":\"none\"}", pl, tok_nonesig, sizeof(tok_nonesig)) ||
	    !t_craft(T_KEY, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl, tok_hs512, sizeof(tok_hs512)) ||
	    !t_craft(T_KEY, "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", pl, tok_typ, sizeof(tok_typ)))
		return -1;
	/* valid header and signature, payload swapped for another subject */
	const char *d1 = strchr(tok_valid, '.'), *d2 = strrchr(tok_valid, '.');
	snprintf(b, sizeof(b), "{\"sub\":\"%s\",\"exp\":%lld}", "7f9c1e2a-0000-4000-8000-0000000000ff",
		 (long long)T_EXP);
	o = (size_t)(d1 - tok_valid) + 1;
	memcpy(tok_tamper, tok_valid, o);
	o += t_b64url((const uint8_t *)b, strlen(b), tok_tamper + o);
	snprintf(tok_tamper + o, sizeof(tok_tamper) - o, "%s", d2);
	memset(covered, 0, sizeof(covered));
	return 0;
}

/* Run one beacon through bcn_ingest and compare the reason. */
static int check(struct tfx *f, enum bcn_format fmt, const void *buf, size_t len,
		 const char *auth, int want, const char *what)
{
	int rc = tfx_ingest(f, fmt, buf, len, auth, T_NOW, BCN_SRC_UDP);
	EXPECT(rc == want, "%s: got %s, want %s", what, bcn_reason_name((unsigned)rc),
	       bcn_reason_name((unsigned)want));
	if (rc == want && want >= 0 && want < BCN_R__COUNT)
		covered[want]++;
	return rc;
}

static int check_json(struct tfx *f, const char *tmpl, int want, const char *what)
{
	char *s = t_subst(tmpl, tok_names, tok_vals, NTOK);
	int rc = check(f, BCN_FMT_JSON, s, strlen(s), NULL, want, what);
	free(s);
	return rc;
}

struct row {
	const char *json;
	int want;
	const char *what;
};

static const struct row table[] = {
	/* ---- accepted: every type, with and without token */
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_SESS "," J_FILM ",\"position_ms\":120000,\"duration_ms\":5400000}", BCN_OK, "view, anonymous" },
	{ "{\"type\":\"view\"," J_TS "," J_TOK "," J_FILM "," J_PD "}", BCN_OK, "view, token only" },
	{ "{\"type\":\"view\"," J_TS "," J_TOK "," J_ANON "," J_FILM ",\"position_ms\":2,\"duration_ms\":2}", BCN_OK, "view, token + anon, position == duration" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"audio_change\",\"from\":\"ru\",\"to\":\"en\",\"position_ms\":5000,\"duration_ms\":5400000}", BCN_OK, "player, anonymous" },
	{ "{\"type\":\"player\"," J_TS "," J_TOK "," J_FILM ",\"event\":\"play\",\"position_ms\":0}", BCN_OK, "player, token, no duration" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"seek\",\"position_ms\":50,\"duration_ms\":0}", BCN_OK, "player, duration 0 means unknown" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/films\",\"referrer\":\"https://search.example/?q=\\u0444\"}", BCN_OK, "page, anonymous" },
	{ "{\"type\":\"page\"," J_TS "," J_TOK ",\"url\":\"/\"}", BCN_OK, "page, token, no referrer" },
	{ "{\"type\":\"action\"," J_TS "," J_TOK ",\"key\":\"share\",\"value\":\"telegram\"}", BCN_OK, "action, token" },
	{ "{\"type\":\"action\"," J_TS "," J_ANON ",\"key\":\"k\"}", BCN_OK, "action, anonymous, no value" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":1}", BCN_OK, "like +1" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":-1}", BCN_OK, "like -1" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_ANON "," J_FILM ",\"score\":0}", BCN_OK, "like 0 (remove), anon too" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":9,\"text\":\"\xd0\x9e\xd1\x82\xd0\xbb\xd0\xb8\xd1\x87\xd0\xbd\xd1\x8b\xd0\xb9 \\ud83c\\udfac\"}", BCN_OK, "review post" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"delete\"," J_FILM "," J_REV "}", BCN_OK, "review delete" },
	{ "{\"type\":\"bookmark\"," J_TS "," J_TOK ",\"op\":\"add\"," J_FILM "}", BCN_OK, "bookmark add" },
	{ "{\"type\":\"bookmark\"," J_TS "," J_TOK ",\"op\":\"remove\"," J_FILM "}", BCN_OK, "bookmark remove" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD ",\"extra\":\"ignored\",\"n\":1.5}", BCN_OK, "unknown fields ignored" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD ",\"score\":1,\"url\":\"/x\"}", BCN_OK, "known fields of other types are checked, then dropped" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD ",\"score\":5}", BCN_R_OUT_OF_RANGE, "docs: score 5 on a view" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\",\"from\":\"012345678901234567890123456789012\"}", BCN_R_TOO_LONG, "unused field still length-checked" },
	/* ---- malformed */
	{ "", BCN_R_MALFORMED, "empty input" },
	{ "not json", BCN_R_MALFORMED, "not json" },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", BCN_R_MALFORMED, "nested arrays" },
	{ "{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", BCN_R_MALFORMED, "nested objects" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD "", BCN_R_MALFORMED, "missing closing brace" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD "}x", BCN_R_MALFORMED, "trailing garbage" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD ",}", BCN_R_MALFORMED, "trailing comma" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"a\nb\"}", BCN_R_MALFORMED, "raw newline in a string" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"\\x\"}", BCN_R_MALFORMED, "bad escape" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":01,\"duration_ms\":2}", BCN_R_MALFORMED, "leading zero" },
	/* ---- unknown_type */
	{ "{\"type\":\"rate\"," J_TS "," J_ANON "}", BCN_R_UNKNOWN_TYPE, "type rate" },
	{ "{\"type\":\"\"," J_TS "," J_ANON "}", BCN_R_UNKNOWN_TYPE, "type empty" },
	{ "{\"type\":\"Like\"," J_TS "," J_TOK "," J_FILM ",\"score\":1}", BCN_R_UNKNOWN_TYPE, "type case" },
	/* ---- missing_field */
	{ "{" J_TS "," J_ANON "," J_FILM "," J_PD "}", BCN_R_MISSING_FIELD, "no type" },
	{ "{\"type\":null," J_TS "," J_ANON "," J_FILM "," J_PD "}", BCN_R_MISSING_FIELD, "type null" },
	{ "{\"type\":\"view\"," J_ANON "," J_FILM "," J_PD "}", BCN_R_MISSING_FIELD, "view without ts" },
	{ "{\"type\":\"view\",\"ts\":null," J_ANON "," J_FILM "," J_PD "}", BCN_R_MISSING_FIELD, "view ts null" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_PD "}", BCN_R_MISSING_FIELD, "view without film_id" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"duration_ms\":2}", BCN_R_MISSING_FIELD, "view without position" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":1}", BCN_R_MISSING_FIELD, "view without duration" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":1}", BCN_R_MISSING_FIELD, "player without event" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"play\"}", BCN_R_MISSING_FIELD, "player without position" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON ",\"event\":\"play\",\"position_ms\":1}", BCN_R_MISSING_FIELD, "player without film" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"referrer\":\"/r\"}", BCN_R_MISSING_FIELD, "page without url" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":null}", BCN_R_MISSING_FIELD, "page url null" },
	{ "{\"type\":\"action\"," J_TS "," J_ANON ",\"value\":\"v\"}", BCN_R_MISSING_FIELD, "action without key" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK ",\"score\":1}", BCN_R_MISSING_FIELD, "like without film" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM "}", BCN_R_MISSING_FIELD, "like without score" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK "," J_FILM "," J_REV ",\"rating\":9,\"text\":\"t\"}", BCN_R_MISSING_FIELD, "review without op" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_REV ",\"rating\":9,\"text\":\"t\"}", BCN_R_MISSING_FIELD, "review without film" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"delete\"," J_FILM "}", BCN_R_MISSING_FIELD, "review delete without review_id" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"text\":\"t\"}", BCN_R_MISSING_FIELD, "review post without rating" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":9}", BCN_R_MISSING_FIELD, "review post without text" },
	{ "{\"type\":\"bookmark\"," J_TS "," J_TOK "," J_FILM "}", BCN_R_MISSING_FIELD, "bookmark without op" },
	{ "{\"type\":\"bookmark\"," J_TS "," J_TOK ",\"op\":\"add\"}", BCN_R_MISSING_FIELD, "bookmark without film" },
	/* ---- duplicate_field */
	{ "{\"type\":\"view\",\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD "}", BCN_R_DUPLICATE_FIELD, "type twice" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_FILM "," J_PD "}", BCN_R_DUPLICATE_FIELD, "film_id twice" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_TOK "," J_FILM ",\"score\":1}", BCN_R_DUPLICATE_FIELD, "token twice" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":1,\"score\":-1}", BCN_R_DUPLICATE_FIELD, "score twice" },
	{ "{\"type\":\"view\"," J_TS ",\"\\u0074s\":1," J_ANON "," J_FILM "," J_PD "}", BCN_R_DUPLICATE_FIELD, "ts twice, once escaped" },
	/* ---- bad_field_type */
	{ "{\"type\":\"view\",\"ts\":\"" T_TS_S "\"," J_ANON "," J_FILM "," J_PD "}", BCN_R_BAD_FIELD_TYPE, "ts as string" },
	{ "{\"type\":\"view\",\"ts\":1763799990000.0," J_ANON "," J_FILM "," J_PD "}", BCN_R_BAD_FIELD_TYPE, "ts with fraction" },
	{ "{\"type\":\"view\",\"ts\":1.76379999e12," J_ANON "," J_FILM "," J_PD "}", BCN_R_BAD_FIELD_TYPE, "ts with exponent" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":\"1\"}", BCN_R_BAD_FIELD_TYPE, "score as string" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":true}", BCN_R_BAD_FIELD_TYPE, "score as bool" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":42}", BCN_R_BAD_FIELD_TYPE, "url as number" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON ",\"film_id\":1," J_PD "}", BCN_R_BAD_FIELD_TYPE, "film_id as number" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":1e3,\"duration_ms\":2000}", BCN_R_BAD_FIELD_TYPE, "position with exponent" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":9.0,\"text\":\"t\"}", BCN_R_BAD_FIELD_TYPE, "rating with fraction" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":7," J_FILM ",\"score\":1}", BCN_R_BAD_FIELD_TYPE, "token as number" },
	/* ---- bad_uuid */
	{ "{\"type\":\"view\"," J_TS ",\"anon_id\":\"xyz\"," J_FILM "," J_PD "}", BCN_R_BAD_UUID, "anon_id xyz" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON ",\"session_id\":\"9a8b7c6d5e4f4a3b9c2d1e0f9a8b7c6d\"," J_FILM "," J_PD "}", BCN_R_BAD_UUID, "session_id without dashes" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON ",\"film_id\":\"11111111-2222-4333-8444-55555555555g\"," J_PD "}", BCN_R_BAD_UUID, "film_id non-hex" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"delete\"," J_FILM ",\"review_id\":\"\"}", BCN_R_BAD_UUID, "review_id empty" },
	/* ---- bad_enum */
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"jump\",\"position_ms\":1}", BCN_R_BAD_ENUM, "player event jump" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"add\"," J_FILM "," J_REV "}", BCN_R_BAD_ENUM, "review op add" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"edit\"," J_FILM "," J_REV "}", BCN_R_BAD_ENUM, "review op edit" },
	{ "{\"type\":\"bookmark\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "}", BCN_R_BAD_ENUM, "bookmark op post" },
	{ "{\"type\":\"bookmark\"," J_TS "," J_TOK ",\"op\":\"delete\"," J_FILM "}", BCN_R_BAD_ENUM, "bookmark op delete" },
	/* ---- out_of_range */
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":3,\"duration_ms\":2}", BCN_R_OUT_OF_RANGE, "view position > duration" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":0,\"duration_ms\":0}", BCN_R_OUT_OF_RANGE, "view duration 0" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"seek\",\"position_ms\":3,\"duration_ms\":2}", BCN_R_OUT_OF_RANGE, "player position > duration" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":604800001,\"duration_ms\":604800001}", BCN_R_OUT_OF_RANGE, "position > 7 days" },
	{ "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM ",\"position_ms\":99999999999999999999999,\"duration_ms\":2}", BCN_R_OUT_OF_RANGE, "huge position" },
	{ "{\"type\":\"view\",\"ts\":99999999999999999999999," J_ANON "," J_FILM "," J_PD "}", BCN_R_OUT_OF_RANGE, "huge ts" },
	{ "{\"type\":\"view\",\"ts\":-1," J_ANON "," J_FILM "," J_PD "}", BCN_R_OUT_OF_RANGE, "negative ts" },
	{ "{\"type\":\"view\",\"ts\":4102444800001," J_ANON "," J_FILM "," J_PD "}", BCN_R_OUT_OF_RANGE, "ts after 2100" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":2}", BCN_R_OUT_OF_RANGE, "score 2" },
	{ "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":-2}", BCN_R_OUT_OF_RANGE, "score -2" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":11,\"text\":\"t\"}", BCN_R_OUT_OF_RANGE, "rating 11" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":0,\"text\":\"t\"}", BCN_R_OUT_OF_RANGE, "rating 0" },
	/* ---- too_long */
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"seek\",\"position_ms\":1,\"from\":\"012345678901234567890123456789012\"}", BCN_R_TOO_LONG, "from 33 bytes" },
	{ "{\"type\":\"player\"," J_TS "," J_ANON "," J_FILM ",\"event\":\"seek\",\"position_ms\":1,\"to\":\"\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84\xd1\x84x\"}", BCN_R_TOO_LONG, "to 33 bytes (16 two-byte chars + 1)" },
	{ "{\"type\":\"action\"," J_TS "," J_ANON ",\"key\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"}", BCN_R_TOO_LONG, "key 65 bytes" },
	/* ---- empty_field */
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"\"}", BCN_R_EMPTY_FIELD, "page url empty" },
	{ "{\"type\":\"action\"," J_TS "," J_ANON ",\"key\":\"\",\"value\":\"v\"}", BCN_R_EMPTY_FIELD, "action key empty" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":9,\"text\":\"\"}", BCN_R_EMPTY_FIELD, "review post text empty" },
	/* ---- bad_utf8 */
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\xc0\x80\"}", BCN_R_BAD_UTF8, "overlong C0 80" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\xed\xa0\x80\"}", BCN_R_BAD_UTF8, "surrogate ED A0 80" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\xf5\x80\x80\x80\"}", BCN_R_BAD_UTF8, "F5 lead byte" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\xe2\x82\"}", BCN_R_BAD_UTF8, "truncated 3-byte sequence" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\\u0000\"}", BCN_R_BAD_UTF8, "escaped NUL" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\\ud83c\"}", BCN_R_BAD_UTF8, "lone high surrogate escape" },
	{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\\udfac\"}", BCN_R_BAD_UTF8, "lone low surrogate escape" },
	{ "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV ",\"rating\":9,\"text\":\"\xff\"}", BCN_R_BAD_UTF8, "review text FF" },
	/* ---- clock_skew (edges are in test_clock_skew) */
	{ "{\"type\":\"view\",\"ts\":0," J_ANON "," J_FILM "," J_PD "}", BCN_R_CLOCK_SKEW, "ts 0" },
	{ "{\"type\":\"view\",\"ts\":4102444800000," J_ANON "," J_FILM "," J_PD "}", BCN_R_CLOCK_SKEW, "ts 2100" },
	/* ---- auth_required */
	{ "{\"type\":\"like\"," J_TS "," J_ANON "," J_FILM ",\"score\":1}", BCN_R_AUTH_REQUIRED, "like with anon only" },
	{ "{\"type\":\"review\"," J_TS "," J_ANON ",\"op\":\"delete\"," J_FILM "," J_REV "}", BCN_R_AUTH_REQUIRED, "review with anon only" },
	{ "{\"type\":\"bookmark\"," J_TS ",\"op\":\"add\"," J_FILM "}", BCN_R_AUTH_REQUIRED, "bookmark with nothing" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":null," J_FILM ",\"score\":1}", BCN_R_AUTH_REQUIRED, "like token null" },
	{ "{\"type\":\"like\"," J_TS "}", BCN_R_AUTH_REQUIRED, "identity is checked before the type's fields" },
	/* ---- bad_token: on authenticated and anonymous types alike */
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@BADSIG@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "like, token from another key" },
	{ "{\"type\":\"view\"," J_TS ",\"token\":\"@BADSIG@\"," J_ANON "," J_FILM "," J_PD "}", BCN_R_BAD_TOKEN, "view with anon and a bad token" },
	{ "{\"type\":\"page\"," J_TS ",\"token\":\"not-a-token\"," J_ANON ",\"url\":\"/\"}", BCN_R_BAD_TOKEN, "page, garbage token" },
	{ "{\"type\":\"action\"," J_TS ",\"token\":\"\"," J_ANON ",\"key\":\"k\"}", BCN_R_BAD_TOKEN, "action, empty token" },
	{ "{\"type\":\"player\"," J_TS ",\"token\":\"a.b.c\"," J_ANON "," J_FILM ",\"event\":\"play\",\"position_ms\":1}", BCN_R_BAD_TOKEN, "player, token a.b.c" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@NONE@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "alg none, no signature" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@NONESIG@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "alg none with an HS256 signature" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@HS512@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "alg HS512 header" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@TYP@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "typ JWS header" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@TAMPER@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "tampered payload" },
	{ "{\"type\":\"view\"," J_TS ",\"token\":\"@TAMPER@\"," J_ANON "," J_FILM "," J_PD "}", BCN_R_BAD_TOKEN, "view, tampered payload" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@TOK@.x\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "four segments" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@TOK@x\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "signature one char longer" },
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"\\u0061@TOK@\"," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN, "escaped token" },
	/* ---- expired_token */
	{ "{\"type\":\"like\"," J_TS ",\"token\":\"@EXPIRED@\"," J_FILM ",\"score\":1}", BCN_R_EXPIRED_TOKEN, "like, expired token" },
	{ "{\"type\":\"view\"," J_TS ",\"token\":\"@EXPIRED@\"," J_ANON "," J_FILM "," J_PD "}", BCN_R_EXPIRED_TOKEN, "view with anon and an expired token" },
	{ "{\"type\":\"view\",\"ts\":1000,\"token\":\"@EXPIRED@\"," J_ANON "," J_FILM ",\"position_ms\":3,\"duration_ms\":2}", BCN_R_EXPIRED_TOKEN, "the token is checked before the type's rules and the clock" },
	{ "{\"type\":\"view\",\"ts\":1000,\"token\":\"@BADSIG@\"," J_FILM "}", BCN_R_BAD_TOKEN, "a bad token is never downgraded to anonymous" },
	/* ---- no_identity */
	{ "{\"type\":\"view\"," J_TS "," J_FILM "," J_PD "}", BCN_R_NO_IDENTITY, "view without anon or token" },
	{ "{\"type\":\"view\"," J_TS "," J_SESS "," J_FILM "," J_PD "}", BCN_R_NO_IDENTITY, "a session is not an identity" },
	{ "{\"type\":\"player\"," J_TS "," J_FILM ",\"event\":\"play\",\"position_ms\":1}", BCN_R_NO_IDENTITY, "player without identity" },
	{ "{\"type\":\"page\"," J_TS ",\"url\":\"/\"}", BCN_R_NO_IDENTITY, "page without identity" },
	{ "{\"type\":\"action\"," J_TS ",\"anon_id\":null,\"key\":\"k\"}", BCN_R_NO_IDENTITY, "action anon null" },
	{ "{\"type\":\"view\",\"ts\":0}", BCN_R_NO_IDENTITY, "identity is checked before validation" },
};

static void test_table(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char what[160];
		snprintf(what, sizeof(what), "row %zu (%s)", i, table[i].what);
		check_json(&f, table[i].json, table[i].want, what);
	}
	tfx_free(&f);
}

/* Reasons that need a generated or binary input. */
static void test_table_generated(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	/* unsupported_version: only the binary form has a version */
	uint8_t b[64];
	/* view: magic, version 2, type 1, ts T_TS, flags anon|film|position|
	 * duration, position 1, duration 2, anon, film */
	static const char hex[] = "4243" "02" "01" "00" "00" "00" "00" "f0feabaa9a010000"
				  "35" "00" "0000" "01000000" "02000000"
				  "3f1c2a4b5d6e4f708a9b0c1d2e3f4a5b"
				  "11111111222243338444555555555555";
	size_t hl = t_unhex(hex, sizeof(hex) - 1, b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(hl, 60);
	check(&f, BCN_FMT_BINARY, b, hl, NULL, BCN_R_UNSUPPORTED_VERSION, "binary version 2");
	b[2] = 1;
	check(&f, BCN_FMT_BINARY, b, hl, NULL, BCN_OK, "the same with version 1");
	/* an empty buffer given as (NULL, 0): malformed in both forms, no UB */
	check(&f, BCN_FMT_JSON, NULL, 0, NULL, BCN_R_MALFORMED, "JSON (NULL, 0)");
	check(&f, BCN_FMT_BINARY, NULL, 0, NULL, BCN_R_MALFORMED, "binary (NULL, 0)");
	/* JSON sent as binary and binary sent as JSON */
	check(&f, BCN_FMT_JSON, b, hl, NULL, BCN_R_MALFORMED, "binary parsed as JSON");
	check(&f, BCN_FMT_BINARY, "{\"type\":\"view\"}", 15, NULL, BCN_R_MALFORMED, "JSON parsed as binary");

	/* too_large: one byte over, in both forms; exactly at the limit is fine */
	char *buf = malloc(BCN_MAX_BEACON + 2);
	int head = snprintf(buf, 128, "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\",\"pad\":\"");
	memset(buf + head, 'x', BCN_MAX_BEACON - (size_t)head - 2);
	memcpy(buf + BCN_MAX_BEACON - 2, "\"}", 2);
	check(&f, BCN_FMT_JSON, buf, BCN_MAX_BEACON, NULL, BCN_OK, "JSON of exactly 20480 bytes");
	memcpy(buf + BCN_MAX_BEACON - 2, "x\"}", 3);
	check(&f, BCN_FMT_JSON, buf, BCN_MAX_BEACON + 1, NULL, BCN_R_TOO_LARGE, "JSON of 20481 bytes");
	memset(buf, 0, BCN_MAX_BEACON + 1);
	memcpy(buf, b, hl);
	check(&f, BCN_FMT_BINARY, buf, BCN_MAX_BEACON + 1, NULL, BCN_R_TOO_LARGE, "binary of 20481 bytes");
	free(buf);

	/* hostile sizes: 100k-deep nesting is rejected by size, quickly */
	size_t deep = 100000;
	buf = malloc(2 * deep);
	memset(buf, '[', deep);
	memset(buf + deep, ']', deep);
	check(&f, BCN_FMT_JSON, buf, 2 * deep, NULL, BCN_R_TOO_LARGE, "[[[...]]] 100k deep");
	check(&f, BCN_FMT_JSON, buf, BCN_MAX_BEACON, NULL, BCN_R_MALFORMED, "[[[... at the size limit");
	size_t o = 0;
	while (o + 5 <= 2 * deep) {
		memcpy(buf + o, "{\"a\":", 5);
		o += 5;
	}
	check(&f, BCN_FMT_JSON, buf, o, NULL, BCN_R_TOO_LARGE, "{\"a\":{\"a\":... 40k deep");
	check(&f, BCN_FMT_JSON, buf, BCN_MAX_BEACON, NULL, BCN_R_MALFORMED, "{\"a\":{... at the size limit");
	free(buf);

	/* too_long on the long fields (generated) */
	static const struct { const char *fmt; size_t n; } longs[] = {
		{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"%s\"}", 2049 },
		{ "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/\",\"referrer\":\"%s\"}", 2049 },
		{ "{\"type\":\"action\"," J_TS "," J_ANON ",\"key\":\"k\",\"value\":\"%s\"}", 1025 },
		{ "{\"type\":\"like\"," J_TS "," J_FILM ",\"score\":1,\"token\":\"%s\"}", 2049 },
	};
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		for (int over = 0; over <= 1; over++) {
			char *v = t_repeat("a", longs[i].n - 1 + (size_t)over);
			size_t cap = strlen(v) + 256;
			char *s = malloc(cap);
			snprintf(s, cap, longs[i].fmt, v);
			/* at the limit the token is just bad; the strings are fine */
			int want = over ? BCN_R_TOO_LONG : i == 3 ? BCN_R_BAD_TOKEN : BCN_OK;
			char what[64];
			snprintf(what, sizeof(what), "long field %zu, %s", i, over ? "limit + 1" : "at limit");
			check(&f, BCN_FMT_JSON, s, strlen(s), NULL, want, what);
			free(s);
			free(v);
		}
	}
	tfx_free(&f);
}

/* Review text: exactly 4000 code points of multi-byte characters is fine,
 * 4001 is too_long, whether the bytes or the code points overflow. */
static void test_text_limit(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	static const char *const units[] = { "\xd1\x84", "\xe2\x82\xac", "\xf0\x9f\x8e\xac" };
	for (size_t u = 0; u < 3; u++) {
		for (int over = 0; over <= 1; over++) {
			char *v = t_repeat(units[u], 4000 + (size_t)over);
			size_t cap = strlen(v) + 1024;
			char *s = malloc(cap);
			snprintf(s, cap, "{\"type\":\"review\"," J_TS ",\"token\":\"%s\",\"op\":\"post\","
				 J_FILM "," J_REV ",\"rating\":7,\"text\":\"%s\"}", tok_valid, v);
			char what[64];
			snprintf(what, sizeof(what), "text of %d x %zu-byte chars", 4000 + over, u + 2);
			int rc = check(&f, BCN_FMT_JSON, s, strlen(s), NULL, over ? BCN_R_TOO_LONG : BCN_OK, what);
			if (rc == BCN_OK) {
				EXPECT(f.r->text.len == 4000 * (u + 2), "%s: len %u", what, f.r->text.len);
				EXPECT(memcmp(bcn_str(f.r, f.r->text), v, f.r->text.len) == 0, "%s: bytes", what);
				EXPECT(bcn_utf8_count(bcn_str(f.r, f.r->text), f.r->text.len) == 4000, "%s: cps", what);
			}
			free(s);
			free(v);
		}
	}
	tfx_free(&f);
}

static void test_clock_skew(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	const int64_t past = f.cfg.skew_past_ms, fut = f.cfg.skew_future_ms;
	const struct { int64_t ts; int want; } c[] = {
		{ T_NOW, BCN_OK },
		{ T_NOW - past, BCN_OK },
		{ T_NOW - past - 1, BCN_R_CLOCK_SKEW },
		{ T_NOW + fut, BCN_OK },
		{ T_NOW + fut + 1, BCN_R_CLOCK_SKEW },
		{ T_NOW - past + 1, BCN_OK },
		{ T_NOW + fut - 1, BCN_OK },
	};
	char s[512], what[96];
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		/* an anonymous and an authenticated type */
		snprintf(s, sizeof(s), "{\"type\":\"view\",\"ts\":%lld," J_ANON "," J_FILM "," J_PD "}",
			 (long long)c[i].ts);
		snprintf(what, sizeof(what), "view ts = now %+lld ms", (long long)(c[i].ts - T_NOW));
		check_json(&f, s, c[i].want, what);
		snprintf(s, sizeof(s), "{\"type\":\"bookmark\",\"ts\":%lld," J_TOK ",\"op\":\"add\"," J_FILM "}",
			 (long long)c[i].ts);
		snprintf(what, sizeof(what), "bookmark ts = now %+lld ms", (long long)(c[i].ts - T_NOW));
		check_json(&f, s, c[i].want, what);
	}
	/* bcn_validate directly, with a custom window */
	struct bcn_record *r = calloc(1, sizeof(*r));
	static const char page[] = "{\"type\":\"page\",\"ts\":1000,\"url\":\"/\"}";
	struct bcn_token tk;
	CU_ASSERT_EQUAL_FATAL(bcn_json_parse(page, sizeof(page) - 1, r, &tk), BCN_OK);
	CU_ASSERT_EQUAL(bcn_validate(r, 1000, 0, 0), BCN_OK);
	CU_ASSERT_EQUAL(bcn_validate(r, 1001, 0, 0), BCN_R_CLOCK_SKEW);
	CU_ASSERT_EQUAL(bcn_validate(r, 999, 0, 0), BCN_R_CLOCK_SKEW);
	CU_ASSERT_EQUAL(bcn_validate(r, 1500, 500, 0), BCN_OK);
	CU_ASSERT_EQUAL(bcn_validate(r, 1501, 500, 0), BCN_R_CLOCK_SKEW);
	CU_ASSERT_EQUAL(bcn_validate(r, 500, 0, 500), BCN_OK);
	CU_ASSERT_EQUAL(bcn_validate(r, 499, 0, 500), BCN_R_CLOCK_SKEW);
	free(r);
	/* a custom config reaches bcn_ingest */
	f.cfg.skew_past_ms = 1000;
	f.cfg.skew_future_ms = 0;
	snprintf(s, sizeof(s), "{\"type\":\"page\",\"ts\":%lld," J_ANON ",\"url\":\"/\"}", (long long)(T_NOW - 1000));
	check_json(&f, s, BCN_OK, "custom window: now - 1000");
	snprintf(s, sizeof(s), "{\"type\":\"page\",\"ts\":%lld," J_ANON ",\"url\":\"/\"}", (long long)(T_NOW - 1001));
	check_json(&f, s, BCN_R_CLOCK_SKEW, "custom window: now - 1001");
	snprintf(s, sizeof(s), "{\"type\":\"page\",\"ts\":%lld," J_ANON ",\"url\":\"/\"}", (long long)(T_NOW + 1));
	check_json(&f, s, BCN_R_CLOCK_SKEW, "custom window: now + 1");
	tfx_free(&f);
}

/* Every reason of enum bcn_reason has been produced by bcn_ingest above.
 * Registered after the tests that fill `covered`. */
static void test_every_reason_covered(void)
{
	for (unsigned r = 0; r < BCN_R__COUNT; r++)
		EXPECT(covered[r] > 0, "reason %s never produced by bcn_ingest", bcn_reason_name(r));
}

static int uuid_is(const uint8_t u[16], const char *s)
{
	uint8_t w[16];
	t_uuid(s, w);
	return memcmp(u, w, 16) == 0;
}

static int str_is(const struct bcn_record *r, struct bcn_sref s, const char *want)
{
	return s.len == strlen(want) && memcmp(bcn_str(r, s), want, s.len) == 0;
}

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Common stamping checks of an accepted record. */
static void check_stamp(struct tfx *f, int64_t now, enum bcn_source src, int with_user, const char *what)
{
	const struct bcn_record *r = f->r;
	EXPECT(!bcn_uuid_is_nil(r->event_id), "%s: event_id nil", what);
	EXPECT((r->event_id[6] >> 4) == 7, "%s: event_id version", what);
	EXPECT((r->event_id[8] & 0xc0) == 0x80, "%s: event_id variant", what);
	EXPECT(r->recv_ts == now, "%s: recv_ts %lld", what, (long long)r->recv_ts);
	EXPECT(r->source == src, "%s: source %u", what, r->source);
	EXPECT(strcmp(r->node, f->cfg.node) == 0, "%s: node %.32s", what, r->node);
	if (with_user) {
		EXPECT(uuid_is(r->user_id, T_SUB), "%s: user_id is not the token's sub", what);
		EXPECT(r->has & BCN_HAS_USER, "%s: HAS_USER missing", what);
	} else {
		EXPECT(bcn_uuid_is_nil(r->user_id), "%s: user_id set", what);
		EXPECT(!(r->has & BCN_HAS_USER), "%s: HAS_USER set", what);
	}
}

static int ingest_fields(struct tfx *f, const char *tmpl, enum bcn_source src)
{
	char *s = t_subst(tmpl, tok_names, tok_vals, NTOK);
	/* a record full of garbage must come out clean */
	memset(f->r, 0xa5, sizeof(*f->r));
	int rc = tfx_ingest(f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW, src);
	EXPECT(rc == BCN_OK, "%s: %s", s, bcn_reason_name((unsigned)rc));
	free(s);
	return rc;
}

static void test_records_field_by_field(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	struct bcn_record *r = f.r;
	snprintf(f.cfg.node, sizeof(f.cfg.node), "edge-7");

	/* view, anonymous, over HTTP */
	if (ingest_fields(&f, "{\"type\":\"view\"," J_TS "," J_ANON "," J_SESS "," J_FILM
			  ",\"position_ms\":120000,\"duration_ms\":5400000}", BCN_SRC_HTTP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_VIEW);
		CU_ASSERT_EQUAL(r->ts, T_TS);
		CU_ASSERT_TRUE(uuid_is(r->anon_id, U_ANON));
		CU_ASSERT_TRUE(uuid_is(r->session_id, U_SESSION));
		CU_ASSERT_TRUE(uuid_is(r->film_id, U_FILM));
		CU_ASSERT_TRUE(bcn_uuid_is_nil(r->review_id));
		CU_ASSERT_EQUAL(r->position_ms, 120000);
		CU_ASSERT_EQUAL(r->duration_ms, 5400000);
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_ANON | BCN_HAS_SESSION | BCN_HAS_FILM |
				       BCN_HAS_POSITION | BCN_HAS_DURATION);
		CU_ASSERT_EQUAL(r->event, 0);
		CU_ASSERT_EQUAL(r->op, 0);
		CU_ASSERT_EQUAL(r->score, 0);
		CU_ASSERT_EQUAL(r->rating, 0);
		CU_ASSERT_EQUAL(r->arena_used, 0);
		CU_ASSERT_TRUE(is_zero(&r->from, 7 * sizeof(struct bcn_sref)));
		check_stamp(&f, T_NOW, BCN_SRC_HTTP, 0, "view");
		CU_ASSERT_STRING_EQUAL(r->node, "edge-7");
		CU_ASSERT_TRUE(is_zero(r->node + 7, sizeof(r->node) - 7));
	}
	/* player with token */
	if (ingest_fields(&f, "{\"type\":\"player\"," J_TS "," J_TOK "," J_FILM ",\"event\":\"quality_change\","
			  "\"from\":\"720p\",\"to\":\"1080p\",\"position_ms\":61000,\"duration_ms\":7200000}",
			  BCN_SRC_UDP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_PLAYER);
		CU_ASSERT_EQUAL(r->event, BCN_E_QUALITY_CHANGE);
		CU_ASSERT_TRUE(str_is(r, r->from, "720p"));
		CU_ASSERT_TRUE(str_is(r, r->to, "1080p"));
		CU_ASSERT_EQUAL(r->position_ms, 61000);
		CU_ASSERT_EQUAL(r->duration_ms, 7200000);
		CU_ASSERT_TRUE(uuid_is(r->film_id, U_FILM));
		CU_ASSERT_TRUE(bcn_uuid_is_nil(r->anon_id));
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_USER | BCN_HAS_FILM | BCN_HAS_POSITION |
				       BCN_HAS_DURATION);
		CU_ASSERT_EQUAL(r->arena_used, 9);
		check_stamp(&f, T_NOW, BCN_SRC_UDP, 1, "player");
	}
	/* page */
	if (ingest_fields(&f, "{\"type\":\"page\"," J_TS "," J_ANON ",\"url\":\"/films/1?a=\\\"b\\\"\","
			  "\"referrer\":\"https://search.example/?q=\\u0444\\u0438\\u043b\\u044c\\u043c\"}",
			  BCN_SRC_HTTP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_PAGE);
		CU_ASSERT_TRUE(str_is(r, r->url, "/films/1?a=\"b\""));
		CU_ASSERT_TRUE(str_is(r, r->referrer, "https://search.example/?q=\xd1\x84\xd0\xb8\xd0\xbb\xd1\x8c\xd0\xbc"));
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_ANON | BCN_HAS_URL);
		check_stamp(&f, T_NOW, BCN_SRC_HTTP, 0, "page");
	}
	/* action */
	if (ingest_fields(&f, "{\"type\":\"action\"," J_TS "," J_TOK "," J_SESS ",\"key\":\"share\",\"value\":\"telegram\"}",
			  BCN_SRC_UDP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_ACTION);
		CU_ASSERT_TRUE(str_is(r, r->key, "share"));
		CU_ASSERT_TRUE(str_is(r, r->value, "telegram"));
		CU_ASSERT_TRUE(uuid_is(r->session_id, U_SESSION));
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_USER | BCN_HAS_SESSION | BCN_HAS_KEY);
		check_stamp(&f, T_NOW, BCN_SRC_UDP, 1, "action");
	}
	/* like */
	if (ingest_fields(&f, "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":-1}", BCN_SRC_UDP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_LIKE);
		CU_ASSERT_EQUAL(r->score, -1);
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_USER | BCN_HAS_FILM | BCN_HAS_SCORE);
		check_stamp(&f, T_NOW, BCN_SRC_UDP, 1, "like");
	}
	/* review post */
	if (ingest_fields(&f, "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"post\"," J_FILM "," J_REV
			  ",\"rating\":10,\"text\":\"\\ud83c\\udfac ok\"}", BCN_SRC_UDP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_REVIEW);
		CU_ASSERT_EQUAL(r->op, BCN_OP_POST);
		CU_ASSERT_EQUAL(r->rating, 10);
		CU_ASSERT_TRUE(uuid_is(r->review_id, U_REVIEW));
		CU_ASSERT_TRUE(str_is(r, r->text, "\xf0\x9f\x8e\xac ok"));
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_USER | BCN_HAS_FILM | BCN_HAS_REVIEW |
				       BCN_HAS_RATING | BCN_HAS_TEXT);
		check_stamp(&f, T_NOW, BCN_SRC_UDP, 1, "review");
	}
	/* review delete */
	if (ingest_fields(&f, "{\"type\":\"review\"," J_TS "," J_TOK ",\"op\":\"delete\"," J_FILM "," J_REV "}",
			  BCN_SRC_UDP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->op, BCN_OP_DELETE);
		CU_ASSERT_EQUAL(r->rating, 0);
		CU_ASSERT_EQUAL(r->text.len, 0);
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_USER | BCN_HAS_FILM | BCN_HAS_REVIEW);
		check_stamp(&f, T_NOW, BCN_SRC_UDP, 1, "review delete");
	}
	/* bookmark: the token's sub wins over anything the client says */
	if (ingest_fields(&f, "{\"type\":\"bookmark\"," J_TS "," J_TOK ",\"op\":\"remove\"," J_FILM
			  ",\"user_id\":\"" U_ANON "\"}", BCN_SRC_UDP) == BCN_OK) {
		CU_ASSERT_EQUAL(r->type, BCN_T_BOOKMARK);
		CU_ASSERT_EQUAL(r->op, BCN_OP_REMOVE);
		CU_ASSERT_EQUAL(r->has, BCN_HAS_TS | BCN_HAS_USER | BCN_HAS_FILM);
		check_stamp(&f, T_NOW, BCN_SRC_UDP, 1, "bookmark");
	}
	/* another subject's token gives that subject */
	if (ingest_fields(&f, "{\"type\":\"like\"," J_TS ",\"token\":\"@OTHERSUB@\"," J_FILM ",\"score\":1}",
			  BCN_SRC_UDP) == BCN_OK)
		CU_ASSERT_TRUE(uuid_is(r->user_id, "7f9c1e2a-0000-4000-8000-0000000000ff"));
	tfx_free(&f);
}

static void test_auth_header(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	static const char like_notok[] = "{\"type\":\"like\"," J_TS "," J_FILM ",\"score\":1}";
	char *like_tok = t_subst("{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":1}",
				 tok_names, tok_vals, NTOK);
	char *like_garbage = t_subst("{\"type\":\"like\"," J_TS ",\"token\":\"garbage\"," J_FILM ",\"score\":1}",
				     tok_names, tok_vals, NTOK);

	/* header only */
	int rc = tfx_ingest(&f, BCN_FMT_JSON, like_notok, strlen(like_notok), tok_valid, T_NOW, BCN_SRC_HTTP);
	CU_ASSERT_EQUAL(rc, BCN_OK);
	if (rc == BCN_OK)
		check_stamp(&f, T_NOW, BCN_SRC_HTTP, 1, "auth header");
	/* header wins over a garbage token in the beacon */
	rc = tfx_ingest(&f, BCN_FMT_JSON, like_garbage, strlen(like_garbage), tok_valid, T_NOW, BCN_SRC_HTTP);
	CU_ASSERT_EQUAL(rc, BCN_OK);
	/* ... and a bad header loses even with a good token in the beacon */
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, like_tok, strlen(like_tok), tok_badsig, T_NOW, BCN_SRC_HTTP),
			BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, like_tok, strlen(like_tok), tok_expired, T_NOW, BCN_SRC_HTTP),
			BCN_R_EXPIRED_TOKEN);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, like_tok, strlen(like_tok), "", T_NOW, BCN_SRC_HTTP),
			BCN_R_BAD_TOKEN);
	/* a header over 2048 bytes is a bad token (not too_long) */
	char *longhdr = t_repeat("a", 2049);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, like_notok, strlen(like_notok), longhdr, T_NOW, BCN_SRC_HTTP),
			BCN_R_BAD_TOKEN);
	free(longhdr);
	/* auth_len bounds the header */
	char hdr[600];
	snprintf(hdr, sizeof(hdr), "%sTRAILING", tok_valid);
	rc = bcn_ingest(&f.in, BCN_FMT_JSON, like_notok, strlen(like_notok), hdr, strlen(tok_valid), T_NOW,
			BCN_SRC_HTTP, f.r);
	CU_ASSERT_EQUAL(rc, BCN_OK);
	/* a header on an anonymous type gives it a user */
	static const char view[] = "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD "}";
	rc = tfx_ingest(&f, BCN_FMT_JSON, view, strlen(view), tok_valid, T_NOW, BCN_SRC_HTTP);
	CU_ASSERT_EQUAL(rc, BCN_OK);
	if (rc == BCN_OK)
		check_stamp(&f, T_NOW, BCN_SRC_HTTP, 1, "view with auth header");
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, view, strlen(view), tok_tamper, T_NOW, BCN_SRC_HTTP),
			BCN_R_BAD_TOKEN);
	free(like_tok);
	free(like_garbage);
	tfx_free(&f);
}

static void test_no_cache(void)
{
	/* jwt == NULL: every token is bad_token; anonymous beacons still work */
	struct tfx f;
	if (tfx_init(&f, NULL))
		return;
	check_json(&f, "{\"type\":\"like\"," J_TS "," J_TOK "," J_FILM ",\"score\":1}", BCN_R_BAD_TOKEN,
		   "like with a good token but no key");
	check_json(&f, "{\"type\":\"view\"," J_TS "," J_TOK "," J_ANON "," J_FILM "," J_PD "}", BCN_R_BAD_TOKEN,
		   "view with a token but no key");
	check_json(&f, "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD "}", BCN_OK,
		   "view without token and no key");
	check_json(&f, "{\"type\":\"like\"," J_TS "," J_FILM ",\"score\":1}", BCN_R_AUTH_REQUIRED,
		   "like without token and no key");
	tfx_free(&f);
}

static void test_cache_through_ingest(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	/* a token that expires 60 s after T_NOW */
	char tok[512], s[1024];
	t_sign(T_KEY, T_SUB, T_NOW / 1000 + 60, tok, sizeof(tok));
	snprintf(s, sizeof(s), "{\"type\":\"like\"," J_TS ",\"token\":\"%s\"," J_FILM ",\"score\":1}", tok);
	struct bcn_jwt_stats st0, st1, st2;
	bcn_jwt_stats(f.jwt, &st0);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW, BCN_SRC_UDP), BCN_OK);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW + 1000, BCN_SRC_UDP), BCN_OK);
	bcn_jwt_stats(f.jwt, &st1);
	CU_ASSERT_EQUAL(st1.misses - st0.misses, 1);
	CU_ASSERT_EQUAL(st1.hits - st0.hits, 1);
	CU_ASSERT_EQUAL(st1.verified - st0.verified, 1);
	/* exp == now: expired (exp must be > now); a cache hit is still checked */
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW + 60000, BCN_SRC_UDP),
			BCN_R_EXPIRED_TOKEN);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW + 59999, BCN_SRC_UDP), BCN_OK);
	CU_ASSERT_EQUAL(tfx_ingest(&f, BCN_FMT_JSON, s, strlen(s), NULL, T_NOW + 3600000, BCN_SRC_UDP),
			BCN_R_EXPIRED_TOKEN);
	bcn_jwt_stats(f.jwt, &st2);
	CU_ASSERT_EQUAL(st2.hits - st1.hits, 3);
	CU_ASSERT_EQUAL(st2.misses, st1.misses);
	CU_ASSERT_EQUAL(st2.rejected - st1.rejected, 2);
	tfx_free(&f);
}

static void test_rotation_through_ingest(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	char s_old[1024], s_new[1024], tok_new[512];
	struct bcn_jwt_keys both, only_new;
	t_sign("new-key", T_SUB, T_EXP, tok_new, sizeof(tok_new));
	snprintf(s_old, sizeof(s_old), "{\"type\":\"like\"," J_TS ",\"token\":\"%s\"," J_FILM ",\"score\":1}", tok_valid);
	snprintf(s_new, sizeof(s_new), "{\"type\":\"like\"," J_TS ",\"token\":\"%s\"," J_FILM ",\"score\":1}", tok_new);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_keys_parse(&both, "new-key," T_KEY, 2), 0);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_keys_parse(&only_new, "new-key", 3), 0);

	CU_ASSERT_EQUAL(tfx_json(&f, s_old), BCN_OK);          /* verified and cached */
	CU_ASSERT_EQUAL(tfx_json(&f, s_new), BCN_R_BAD_TOKEN);
	/* transition: both keys */
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(f.jwt, &both), 0);
	CU_ASSERT_EQUAL(tfx_json(&f, s_old), BCN_OK);
	CU_ASSERT_EQUAL(tfx_json(&f, s_new), BCN_OK);
	CU_ASSERT_EQUAL(tfx_json(&f, s_old), BCN_OK);          /* from cache */
	/* the old key rotated out: its token is refused although it was cached */
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(f.jwt, &only_new), 0);
	CU_ASSERT_EQUAL(tfx_json(&f, s_old), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(tfx_json(&f, s_old), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(tfx_json(&f, s_new), BCN_OK);
	CU_ASSERT_EQUAL(f.r->has & BCN_HAS_USER, BCN_HAS_USER);
	tfx_free(&f);
}

static void test_truncation(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].want != BCN_OK)
			continue;
		char *s = t_subst(table[i].json, tok_names, tok_vals, NTOK);
		size_t n = strlen(s);
		for (size_t k = 0; k < n; k++) {
			char *p = malloc(k ? k : 1);
			memcpy(p, s, k);
			int rc = tfx_ingest(&f, BCN_FMT_JSON, p, k, NULL, T_NOW, BCN_SRC_UDP);
			EXPECT(rc != BCN_OK, "row %zu: prefix of %zu bytes accepted", i, k);
			free(p);
		}
		free(s);
	}
	tfx_free(&f);
}

/* A rejected beacon does not advance the event-id sequence or touch the
 * per-worker state; an accepted one does. */
static void test_state_untouched_on_reject(void)
{
	struct tfx f;
	if (tfx_init(&f, T_KEY))
		return;
	static const char ok[] = "{\"type\":\"view\"," J_TS "," J_ANON "," J_FILM "," J_PD "}";
	static const char bad[] = "{\"type\":\"view\"," J_TS "," J_FILM "," J_PD "}";
	CU_ASSERT_EQUAL(tfx_json(&f, ok), BCN_OK);
	int64_t last_ms = f.in.last_ms;
	uint32_t seq = f.in.seq;
	uint64_t rnd = f.in.rnd;
	CU_ASSERT_EQUAL(tfx_json(&f, bad), BCN_R_NO_IDENTITY);
	CU_ASSERT_EQUAL(f.in.last_ms, last_ms);
	CU_ASSERT_EQUAL(f.in.seq, seq);
	CU_ASSERT_EQUAL(f.in.rnd, rnd);
	CU_ASSERT_EQUAL(tfx_json(&f, ok), BCN_OK);
	CU_ASSERT_EQUAL(f.in.seq, 1);
	tfx_free(&f);
}

/* The JSON examples of docs/beacon-protocol.md section 3 are accepted at the
 * document's `now` with its key; the section 7 expired example is not. */
static void test_docs_examples(void)
{
	struct tfx f;
	if (tfx_init(&f, DOC_KEY))
		return;
	static const char *const udp[] = { DOC_VIEW, DOC_PLAYER, DOC_PAGE, DOC_ACTION, DOC_LIKE };
	static const char *const http[] = { DOC_REVIEW_POST, DOC_REVIEW_DELETE, DOC_BOOKMARK };
	for (size_t i = 0; i < 5; i++) {
		int rc = tfx_ingest(&f, BCN_FMT_JSON, udp[i], strlen(udp[i]), NULL, DOC_NOW, BCN_SRC_UDP);
		EXPECT(rc == BCN_OK, "docs example %s: %s", udp[i], bcn_reason_name((unsigned)rc));
	}
	for (size_t i = 0; i < 3; i++) {
		int rc = tfx_ingest(&f, BCN_FMT_JSON, http[i], strlen(http[i]), DOC_TOKEN, DOC_NOW, BCN_SRC_HTTP);
		EXPECT(rc == BCN_OK, "docs example %s: %s", http[i], bcn_reason_name((unsigned)rc));
		if (rc == BCN_OK)
			EXPECT(uuid_is(f.r->user_id, DOC_SUB), "docs example %s: user", http[i]);
		if (rc == BCN_OK && i == 0) {
			/* "The review text above is 51 code points and 93 bytes." */
			CU_ASSERT_EQUAL(f.r->text.len, 93);
			CU_ASSERT_EQUAL(bcn_utf8_count(bcn_str(f.r, f.r->text), f.r->text.len), 51);
		}
	}
	/* without the token the authenticated ones are auth_required */
	for (size_t i = 0; i < 3; i++)
		EXPECT_RC(tfx_ingest(&f, BCN_FMT_JSON, http[i], strlen(http[i]), NULL, DOC_NOW, BCN_SRC_HTTP),
			  BCN_R_AUTH_REQUIRED, http[i]);
	/* section 7: exp = 1732265687 at now = 1732265687164 is expired */
	char tok[512];
	t_sign(DOC_KEY, DOC_SUB, 1732265687, tok, sizeof(tok));
	EXPECT_RC(tfx_ingest(&f, BCN_FMT_JSON, DOC_BOOKMARK, strlen(DOC_BOOKMARK), tok, DOC_NOW, BCN_SRC_HTTP),
		  BCN_R_EXPIRED_TOKEN, "docs expired example");
	/* the example token is what bcn_jwt_sign makes */
	t_sign(DOC_KEY, DOC_SUB, 1732269287, tok, sizeof(tok));
	CU_ASSERT_STRING_EQUAL(tok, DOC_TOKEN);
	CU_ASSERT_EQUAL(strlen(DOC_TOKEN), 165);
	tfx_free(&f);
}

int suite_ingest(void)
{
	CU_pSuite s = CU_add_suite("validation and ingest", init, NULL);
	if (!s ||
	    !CU_add_test(s, "reject table: input -> reason", test_table) ||
	    !CU_add_test(s, "generated inputs: version, sizes, long fields", test_table_generated) ||
	    !CU_add_test(s, "review text: 4000 code points ok, 4001 too_long", test_text_limit) ||
	    !CU_add_test(s, "clock skew window edges (inclusive)", test_clock_skew) ||
	    !CU_add_test(s, "every reason in enum bcn_reason covered", test_every_reason_covered) ||
	    !CU_add_test(s, "accepted records field by field", test_records_field_by_field) ||
	    !CU_add_test(s, "Authorization header precedence", test_auth_header) ||
	    !CU_add_test(s, "no JWT cache: tokens refused", test_no_cache) ||
	    !CU_add_test(s, "token cache through ingest, expiry on hits", test_cache_through_ingest) ||
	    !CU_add_test(s, "key rotation through ingest", test_rotation_through_ingest) ||
	    !CU_add_test(s, "every prefix of every valid beacon rejected", test_truncation) ||
	    !CU_add_test(s, "per-worker state untouched by rejects", test_state_untouched_on_reject) ||
	    !CU_add_test(s, "docs/beacon-protocol.md JSON examples", test_docs_examples))
		return -1;
	return 0;
}
