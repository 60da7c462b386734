/*
 * test_jwt.c - HS256 JWT: signing (known answer), verification of every kind
 * of bad token, the per-worker cache (hits, expiry on hits, byte-for-byte
 * comparison, long tokens), key sets and rotation, bcn_jwt_keys_parse.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

/* bcn_jwt_sign("test-key", T_SUB, 4102444799), computed independently with
 * python3's hmac/hashlib/base64. */
#define KAT_TOKEN                                                              \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                 \
	"eyJzdWIiOiI3ZjljMWUyYS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ3OTl9." \
	"0pf3kVOaeBKwdLaPIl2dtTGect4PSLnSqc--sDUkxxY"
/* The same claims signed with the binary key 00 01 fe ff "secret". */
#define KAT_HEXKEY_TOKEN                                                       \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                 \
	"eyJzdWIiOiI3ZjljMWUyYS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ3OTl9." \
	"c2ZW5kvGm27JJfBuENk6QE4JUuMCYvJ8a5tExz47CWk"

static const uint8_t SUB_BYTES[16] = {
	0x7f, 0x9c, 0x1e, 0x2a, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

struct kc {
	struct bcn_jwt_keys keys;
	struct bcn_jwt_cache *c;
};

static int kc_init(struct kc *k, const char *list, unsigned order)
{
	memset(k, 0, sizeof(*k));
	if (bcn_jwt_keys_parse(&k->keys, list, 1)) {
		CU_FAIL("bcn_jwt_keys_parse");
		return -1;
	}
	k->c = bcn_jwt_cache_new(&k->keys, order);
	if (!k->c) {
		CU_FAIL("bcn_jwt_cache_new");
		return -1;
	}
	return 0;
}

static int verify(struct kc *k, const char *tok, int64_t now, uint8_t uid[16])
{
	return bcn_jwt_verify(k->c, tok, strlen(tok), now, uid);
}

static void test_sign_known_answer(void)
{
	char out[512];
	size_t n = t_sign(T_KEY, T_SUB, T_EXP, out, sizeof(out));
	CU_ASSERT_EQUAL(n, strlen(KAT_TOKEN));
	CU_ASSERT_STRING_EQUAL(out, KAT_TOKEN);
	CU_ASSERT_EQUAL(strlen(out), n);
	/* a binary key (with a NUL in it) */
	n = bcn_jwt_sign((const uint8_t *)"\x00\x01\xfe\xff" "secret", 10, T_SUB, T_EXP, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, KAT_HEXKEY_TOKEN);
	/* independent signer agrees */
	char pl[128], out2[512];
	snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"exp\":%lld}", T_SUB, (long long)T_EXP);
	t_craft(T_KEY, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, out2, sizeof(out2));
	CU_ASSERT_STRING_EQUAL(out2, KAT_TOKEN);
}

static void test_sign_cap(void)
{
	char out[512];
	size_t n = t_sign(T_KEY, T_SUB, T_EXP, out, sizeof(out));
	CU_ASSERT_FATAL(n > 0);
	/* too small: 0, never an overflow (guard bytes stay) */
	for (size_t cap = 0; cap < n + 1; cap++) {
		char *b = malloc(cap + 16);
		memset(b, 'G', cap + 16);
		size_t m = bcn_jwt_sign((const uint8_t *)T_KEY, 8, T_SUB, T_EXP, b, cap);
		EXPECT(m == 0 || (m < cap && b[m] == '\0'), "cap %zu: %zu", cap, m);
		int guard = 1;
		for (size_t i = cap; i < cap + 16; i++)
			guard &= b[i] == 'G';
		EXPECT(guard, "cap %zu: wrote past cap", cap);
		free(b);
	}
	/* generous cap works */
	CU_ASSERT_EQUAL(bcn_jwt_sign((const uint8_t *)T_KEY, 8, T_SUB, T_EXP, out, n + 1 + 64), n);
}

static void test_verify_ok(void)
{
	struct kc k;
	if (kc_init(&k, T_KEY, 4))
		return;
	uint8_t uid[16];
	struct bcn_jwt_stats st;
	CU_ASSERT_EQUAL(verify(&k, KAT_TOKEN, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(memcmp(uid, SUB_BYTES, 16), 0);
	bcn_jwt_stats(k.c, &st);
	CU_ASSERT_EQUAL(st.misses, 1);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.hits, 0);
	memset(uid, 0, 16);
	CU_ASSERT_EQUAL(verify(&k, KAT_TOKEN, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(memcmp(uid, SUB_BYTES, 16), 0);
	bcn_jwt_stats(k.c, &st);
	CU_ASSERT_EQUAL(st.hits, 1);
	CU_ASSERT_EQUAL(st.misses, 1);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.rejected, 0);
	/* typ is optional; extra claims (arrays, objects) are fine */
	char pl[256], tok[1024];
	snprintf(pl, sizeof(pl), "{\"iss\":\"x\",\"aud\":[\"a\",{\"b\":[1,2]}],\"sub\":\"%s\",\"n\":{\"sub\":1},"
		 "\"exp\":%lld,\"iat\":1}", T_SUB, (long long)T_EXP);
	t_craft(T_KEY, "{\"alg\":\"HS256\"}", pl, tok, sizeof(tok));
	CU_ASSERT_EQUAL(verify(&k, tok, T_NOW, uid), BCN_OK);
	t_craft(T_KEY, "{\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", pl, tok, sizeof(tok));
	CU_ASSERT_EQUAL(verify(&k, tok, T_NOW, uid), BCN_OK);
	/* sub in upper case */
	snprintf(pl, sizeof(pl), "{\"sub\":\"7F9C1E2A-0000-4000-8000-000000000001\",\"exp\":%lld}", (long long)T_EXP);
	t_craft(T_KEY, "{\"alg\":\"HS256\"}", pl, tok, sizeof(tok));
	memset(uid, 0, 16);
	CU_ASSERT_EQUAL(verify(&k, tok, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(memcmp(uid, SUB_BYTES, 16), 0);
	bcn_jwt_cache_free(k.c);
}

struct tcase {
	const char *hdr, *payload, *key;
	int want;
	const char *what;
};

#define PL_OK "{\"sub\":\"" T_SUB "\",\"exp\":4102444799}"

static void test_verify_crafted(void)
{
	static const struct tcase c[] = {
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", PL_OK, T_KEY, BCN_OK, "reference" },
		{ "{\"alg\":\"none\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg none" },
		{ "{\"alg\":\"None\",\"typ\":\"JWT\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg None" },
		{ "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg HS512" },
		{ "{\"alg\":\"HS384\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg HS384" },
		{ "{\"alg\":\"RS256\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg RS256" },
		{ "{\"alg\":\"hs256\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg lower case" },
		{ "{\"alg\":\"HS256 \"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg with a space" },
		{ "{\"alg\":[\"HS256\"]}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg array" },
		{ "{\"alg\":256}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg number" },
		{ "{\"typ\":\"JWT\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "no alg" },
		{ "{\"x\":{\"alg\":\"HS256\"}}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "alg only nested" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "typ JWS" },
		{ "{\"alg\":\"HS256\",\"typ\":1}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "typ number" },
		{ "[\"alg\",\"HS256\"]", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "header is an array" },
		{ "\"HS256\"", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "header is a string" },
		{ "{\"alg\":\"HS256\"", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "header truncated JSON" },
		{ "{alg:HS256}", PL_OK, T_KEY, BCN_R_BAD_TOKEN, "header not strict JSON" },
		{ "{\"alg\":\"HS256\"}", PL_OK, "other-key", BCN_R_BAD_TOKEN, "wrong key" },
		{ "{\"alg\":\"HS256\"}", PL_OK, "test-ke", BCN_R_BAD_TOKEN, "key prefix" },
		{ "{\"alg\":\"HS256\"}", "{\"exp\":4102444799}", T_KEY, BCN_R_BAD_TOKEN, "no sub" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"exp\":4102444799}", T_KEY, BCN_R_BAD_TOKEN, "sub not a UUID" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":7,\"exp\":4102444799}", T_KEY, BCN_R_BAD_TOKEN, "sub a number" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":[\"" T_SUB "\"],\"exp\":4102444799}", T_KEY, BCN_R_BAD_TOKEN, "sub an array" },
		{ "{\"alg\":\"HS256\"}", "{\"x\":{\"sub\":\"" T_SUB "\"},\"exp\":4102444799}", T_KEY, BCN_R_BAD_TOKEN, "sub only nested" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\"}", T_KEY, BCN_R_BAD_TOKEN, "no exp" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":\"4102444799\"}", T_KEY, BCN_R_BAD_TOKEN, "exp a string" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":-1}", T_KEY, BCN_R_BAD_TOKEN, "exp negative" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":true}", T_KEY, BCN_R_BAD_TOKEN, "exp true" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":null}", T_KEY, BCN_R_BAD_TOKEN, "exp null" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":99999999999999999999}", T_KEY, BCN_R_BAD_TOKEN, "exp huge" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":4102444800}", T_KEY, BCN_OK, "exp 2100-01-01" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":4102444801}", T_KEY, BCN_R_BAD_TOKEN, "exp after 2100" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":41024448001}", T_KEY, BCN_R_BAD_TOKEN, "exp far after 2100" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":0}", T_KEY, BCN_R_EXPIRED_TOKEN, "exp 0" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":1763800000}", T_KEY, BCN_R_EXPIRED_TOKEN, "exp == now" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":1763800001}", T_KEY, BCN_OK, "exp == now + 1 s" },
		{ "{\"alg\":\"HS256\"}", "[\"" T_SUB "\",4102444799]", T_KEY, BCN_R_BAD_TOKEN, "payload an array" },
		{ "{\"alg\":\"HS256\"}", "{\"sub\":\"" T_SUB "\",\"exp\":4102444799", T_KEY, BCN_R_BAD_TOKEN, "payload truncated JSON" },
	};
	struct kc k;
	if (kc_init(&k, T_KEY, 4))
		return;
	char tok[1024];
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t uid[16];
		memset(uid, 0xee, 16);
		if (!t_craft(c[i].key, c[i].hdr, c[i].payload, tok, sizeof(tok)))
			continue;
		/* twice: the second time may come from the cache, same answer */
		for (int pass = 0; pass < 2; pass++) {
			int rc = verify(&k, tok, T_NOW, uid);
			EXPECT(rc == c[i].want, "%s (pass %d): got %s, want %s", c[i].what, pass,
			       bcn_reason_name((unsigned)rc), bcn_reason_name((unsigned)c[i].want));
			if (c[i].want == BCN_OK)
				EXPECT(memcmp(uid, SUB_BYTES, 16) == 0, "%s: user id", c[i].what);
			else {
				int untouched = 1;
				for (int b = 0; b < 16; b++)
					untouched &= uid[b] == 0xee;
				EXPECT(untouched, "%s: user id written on failure", c[i].what);
			}
		}
	}
	bcn_jwt_cache_free(k.c);
}

static void test_verify_mangled(void)
{
	struct kc k;
	if (kc_init(&k, T_KEY, 4))
		return;
	const char *good = KAT_TOKEN;
	size_t n = strlen(good);
	const char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
	char t[1024];
	uint8_t uid[16];

	/* every single-character change anywhere is caught */
	static const char repl[] = "AQw_-.=+/ ";
	for (size_t i = 0; i < n; i++) {
		for (size_t r = 0; r < sizeof(repl) - 1; r++) {
			if (good[i] == repl[r])
				continue;
			memcpy(t, good, n + 1);
			t[i] = repl[r];
			int rc = verify(&k, t, T_NOW, uid);
			EXPECT(rc == BCN_R_BAD_TOKEN, "byte %zu -> '%c': %s", i, repl[r], bcn_reason_name((unsigned)rc));
		}
	}
	/* tampered payload with the original signature */
	char pl[128], enc[256];
	snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"exp\":%lld}", "7f9c1e2a-0000-4000-8000-000000000002", (long long)T_EXP);
	t_b64url((const uint8_t *)pl, strlen(pl), enc);
	snprintf(t, sizeof(t), "%.*s.%s%s", (int)(d1 - good), good, enc, d2);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* tampered header (alg none) with the original signature */
	t_b64url((const uint8_t *)"{\"alg\":\"none\"}", 14, enc);
	snprintf(t, sizeof(t), "%s%s", enc, d1);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* alg none, signature stripped */
	snprintf(t, sizeof(t), "%s%.*s.", enc, (int)(d2 - d1), d1);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* signature stripped from a good token */
	snprintf(t, sizeof(t), "%.*s.", (int)(d2 - good), good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	snprintf(t, sizeof(t), "%.*s", (int)(d2 - good), good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* padding, extra segments, whitespace */
	snprintf(t, sizeof(t), "%s=", good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	snprintf(t, sizeof(t), "%s.", good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	snprintf(t, sizeof(t), "%s.x", good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	snprintf(t, sizeof(t), " %s", good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	snprintf(t, sizeof(t), "%s\n", good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	snprintf(t, sizeof(t), "Bearer %s", good);
	CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* every truncation */
	for (size_t i = 0; i < n; i++) {
		char *p = malloc(i ? i : 1);
		memcpy(p, good, i);
		int rc = bcn_jwt_verify(k.c, p, i, T_NOW, uid);
		EXPECT(rc == BCN_R_BAD_TOKEN, "prefix %zu: %s", i, bcn_reason_name((unsigned)rc));
		free(p);
	}
	/* degenerate sizes */
	CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, "", 0, T_NOW, uid), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, "..", 2, T_NOW, uid), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, "................", 16, T_NOW, uid), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, "aaaaaa.aaaaaa.aaaaaa", 20, T_NOW, uid), BCN_R_BAD_TOKEN);
	char *big = t_repeat("a", 2049);
	CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, big, 2049, T_NOW, uid), BCN_R_BAD_TOKEN);
	free(big);
	/* no cache at all */
	CU_ASSERT_EQUAL(bcn_jwt_verify(NULL, good, n, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* the good token still verifies after all that */
	CU_ASSERT_EQUAL(verify(&k, good, T_NOW, uid), BCN_OK);
	bcn_jwt_cache_free(k.c);
}

static void test_cache_expiry_on_hit(void)
{
	struct kc k;
	if (kc_init(&k, T_KEY, 4))
		return;
	char tok[512];
	uint8_t uid[16];
	struct bcn_jwt_stats a, b;
	int64_t exp_s = T_NOW / 1000 + 60;
	t_sign(T_KEY, T_SUB, exp_s, tok, sizeof(tok));
	CU_ASSERT_EQUAL(verify(&k, tok, T_NOW, uid), BCN_OK);           /* miss, cached */
	bcn_jwt_stats(k.c, &a);
	CU_ASSERT_EQUAL(verify(&k, tok, exp_s * 1000 - 1, uid), BCN_OK); /* hit */
	CU_ASSERT_EQUAL(verify(&k, tok, exp_s * 1000, uid), BCN_R_EXPIRED_TOKEN); /* hit, expired */
	CU_ASSERT_EQUAL(verify(&k, tok, exp_s * 1000 + 86400000, uid), BCN_R_EXPIRED_TOKEN);
	bcn_jwt_stats(k.c, &b);
	CU_ASSERT_EQUAL(b.hits - a.hits, 3);
	CU_ASSERT_EQUAL(b.misses, a.misses);
	CU_ASSERT_EQUAL(b.verified, a.verified);
	CU_ASSERT_EQUAL(b.rejected - a.rejected, 2);
	/* clocks do not run backwards in the cache: earlier now is fine again */
	CU_ASSERT_EQUAL(verify(&k, tok, T_NOW, uid), BCN_OK);
	/* an expired token first seen expired: expired_token (and cached) */
	char old[512];
	t_sign(T_KEY, T_SUB, T_NOW / 1000 - 1, old, sizeof(old));
	CU_ASSERT_EQUAL(verify(&k, old, T_NOW, uid), BCN_R_EXPIRED_TOKEN);
	CU_ASSERT_EQUAL(verify(&k, old, T_NOW, uid), BCN_R_EXPIRED_TOKEN);
	bcn_jwt_cache_free(k.c);
}

/* A one-entry cache: every token lands in the same slot; tokens are compared
 * byte for byte, so each still gets its own subject. */
static void test_cache_collisions(void)
{
	struct kc k;
	if (kc_init(&k, T_KEY, 0))
		return;
	char t1[512], t2[512];
	uint8_t u1[16], u2[16], uid[16];
	t_sign(T_KEY, "00000000-0000-4000-8000-000000000001", T_EXP, t1, sizeof(t1));
	t_sign(T_KEY, "00000000-0000-4000-8000-000000000002", T_EXP, t2, sizeof(t2));
	t_uuid("00000000-0000-4000-8000-000000000001", u1);
	t_uuid("00000000-0000-4000-8000-000000000002", u2);
	for (int i = 0; i < 6; i++) {
		const char *t = i % 2 ? t2 : t1;
		CU_ASSERT_EQUAL(verify(&k, t, T_NOW, uid), BCN_OK);
		CU_ASSERT_EQUAL(memcmp(uid, i % 2 ? u2 : u1, 16), 0);
	}
	/* same last 8 bytes (the slot hash) but a different token: not a hit */
	char t3[512];
	memcpy(t3, t1, strlen(t1) + 1);
	CU_ASSERT_EQUAL(verify(&k, t1, T_NOW, uid), BCN_OK);
	t3[40] = t3[40] == 'A' ? 'B' : 'A'; /* inside the payload */
	CU_ASSERT_EQUAL(verify(&k, t3, T_NOW, uid), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(verify(&k, t1, T_NOW, uid), BCN_OK);
	struct bcn_jwt_stats st;
	bcn_jwt_stats(k.c, &st);
	CU_ASSERT_EQUAL(st.hits + st.misses, 9);
	/* larger cache: the two tokens are both cached after one pass */
	bcn_jwt_cache_free(k.c);
	if (kc_init(&k, T_KEY, 10))
		return;
	verify(&k, t1, T_NOW, uid);
	verify(&k, t2, T_NOW, uid);
	bcn_jwt_stats(k.c, &st);
	uint64_t m = st.misses;
	CU_ASSERT_EQUAL(verify(&k, t1, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(verify(&k, t2, T_NOW, uid), BCN_OK);
	bcn_jwt_stats(k.c, &st);
	/* unless the two collide in 1024 slots, no new misses */
	CU_ASSERT_TRUE(st.misses - m <= 2);
	bcn_jwt_cache_free(k.c);
	CU_ASSERT_PTR_NULL(bcn_jwt_cache_new(&k.keys, 21));
}

static void test_long_token_not_cached(void)
{
	struct kc k;
	if (kc_init(&k, T_KEY, 4))
		return;
	char *pad = t_repeat("p", 700), pl[1024], tok[2048];
	snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"exp\":%lld,\"pad\":\"%s\"}", T_SUB, (long long)T_EXP, pad);
	size_t n = t_craft(T_KEY, "{\"alg\":\"HS256\"}", pl, tok, sizeof(tok));
	CU_ASSERT_FATAL(n > BCN_JWT_CACHE_TOK && n <= BCN_MAX_TOKEN);
	uint8_t uid[16];
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(verify(&k, tok, T_NOW, uid), BCN_OK);
		CU_ASSERT_EQUAL(memcmp(uid, SUB_BYTES, 16), 0);
	}
	struct bcn_jwt_stats st;
	bcn_jwt_stats(k.c, &st);
	CU_ASSERT_EQUAL(st.hits, 0);
	CU_ASSERT_EQUAL(st.misses, 3);
	CU_ASSERT_EQUAL(st.verified, 3);
	/* a token over BCN_MAX_TOKEN is refused before any decoding */
	free(pad);
	pad = t_repeat("p", 1500);
	char *pl2 = malloc(2048), *tok2 = malloc(4096);
	snprintf(pl2, 2048, "{\"sub\":\"%s\",\"exp\":%lld,\"pad\":\"%s\"}", T_SUB, (long long)T_EXP, pad);
	n = t_craft(T_KEY, "{\"alg\":\"HS256\"}", pl2, tok2, 4096);
	CU_ASSERT_TRUE(n > BCN_MAX_TOKEN);
	CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, tok2, n, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* many claims (more tokens than the tokenizer's table): bad, no crash */
	{
		size_t o = (size_t)snprintf(pl2, 2048, "{\"sub\":\"%s\",\"exp\":%lld,\"a\":[", T_SUB, (long long)T_EXP);
		for (int i = 0; i < 100; i++)
			o += (size_t)snprintf(pl2 + o, 2048 - o, "%s1", i ? "," : "");
		snprintf(pl2 + o, 2048 - o, "]}");
		n = t_craft(T_KEY, "{\"alg\":\"HS256\"}", pl2, tok2, 4096);
		CU_ASSERT_EQUAL(bcn_jwt_verify(k.c, tok2, n, T_NOW, uid), BCN_R_BAD_TOKEN);
	}
	free(pl2);
	free(tok2);
	free(pad);
	bcn_jwt_cache_free(k.c);
}

static void test_multiple_keys(void)
{
	struct kc k;
	if (kc_init(&k, "k1,k2,k3,k4", 4))
		return;
	CU_ASSERT_EQUAL(k.keys.n, 4);
	uint8_t uid[16];
	static const char *const keys[] = { "k1", "k2", "k3", "k4", "k5" };
	for (int i = 0; i < 5; i++) {
		char tok[512];
		t_sign(keys[i], T_SUB, T_EXP, tok, sizeof(tok));
		EXPECT(verify(&k, tok, T_NOW, uid) == (i < 4 ? BCN_OK : BCN_R_BAD_TOKEN), "signed with %s", keys[i]);
	}
	bcn_jwt_cache_free(k.c);
}

static void test_rotation(void)
{
	struct kc k;
	if (kc_init(&k, "old-key", 4))
		return;
	struct bcn_jwt_keys both, only_new, same_gen;
	char t_old[512], t_new[512];
	uint8_t uid[16];
	t_sign("old-key", T_SUB, T_EXP, t_old, sizeof(t_old));
	t_sign("new-key", T_SUB, T_EXP, t_new, sizeof(t_new));
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_keys_parse(&both, "new-key,old-key", 2), 0);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_keys_parse(&only_new, "new-key", 3), 0);

	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_OK); /* cached */
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_R_BAD_TOKEN);

	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(k.c, &both), 0);
	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_OK);

	struct bcn_jwt_stats a, b;
	bcn_jwt_stats(k.c, &a);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(k.c, &only_new), 0);
	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_R_BAD_TOKEN); /* was cached: not a hit now */
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_OK);
	bcn_jwt_stats(k.c, &b);
	CU_ASSERT_EQUAL(b.misses - a.misses, 2);
	CU_ASSERT_EQUAL(b.hits - a.hits, 1);

	/* a new key set that reuses the current generation number must still
	 * drop what was verified under the old keys */
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_keys_parse(&same_gen, "third-key", 3), 0);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(k.c, &same_gen), 0);
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* going back to an old generation number does not revive old entries */
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(k.c, &both), 0); /* gen 2 */
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(k.c, &same_gen), 0); /* gen 3 */
	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_R_BAD_TOKEN);
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_R_BAD_TOKEN);
	/* generation 0 */
	struct bcn_jwt_keys zero;
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_keys_parse(&zero, "old-key", 0), 0);
	CU_ASSERT_EQUAL_FATAL(bcn_jwt_cache_set_keys(k.c, &zero), 0);
	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(verify(&k, t_old, T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(verify(&k, t_new, T_NOW, uid), BCN_R_BAD_TOKEN);
	bcn_jwt_cache_free(k.c);

	/* a cache created with generation 0 keys works and caches */
	struct bcn_jwt_cache *c = bcn_jwt_cache_new(&zero, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(bcn_jwt_verify(c, t_old, strlen(t_old), T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(bcn_jwt_verify(c, t_old, strlen(t_old), T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(bcn_jwt_cache_set_keys(c, &only_new), 0);
	CU_ASSERT_EQUAL(bcn_jwt_verify(c, t_old, strlen(t_old), T_NOW, uid), BCN_R_BAD_TOKEN);
	bcn_jwt_cache_free(c);
	bcn_jwt_cache_free(NULL);
}

static void test_keys_parse(void)
{
	struct bcn_jwt_keys k;
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, "secret", 7), 0);
	CU_ASSERT_EQUAL(k.gen, 7);
	CU_ASSERT_EQUAL(k.n, 1);
	CU_ASSERT_EQUAL(k.k[0].len, 6);
	CU_ASSERT_EQUAL(memcmp(k.k[0].key, "secret", 6), 0);

	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, "a,bb,ccc,dddd", 1), 0);
	CU_ASSERT_EQUAL(k.n, 4);
	CU_ASSERT_EQUAL(k.k[0].len, 1);
	CU_ASSERT_EQUAL(k.k[1].len, 2);
	CU_ASSERT_EQUAL(k.k[2].len, 3);
	CU_ASSERT_EQUAL(k.k[3].len, 4);
	CU_ASSERT_EQUAL(memcmp(k.k[3].key, "dddd", 4), 0);

	/* hex: keys */
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, "hex:746573742d6b6579", 1), 0);
	CU_ASSERT_EQUAL(k.k[0].len, 8);
	CU_ASSERT_EQUAL(memcmp(k.k[0].key, "test-key", 8), 0);
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, "plain,hex:0001FEff736563726574", 1), 0);
	CU_ASSERT_EQUAL(k.n, 2);
	CU_ASSERT_EQUAL(k.k[1].len, 10);
	CU_ASSERT_EQUAL(memcmp(k.k[1].key, "\x00\x01\xfe\xff" "secret", 10), 0);
	/* a hex key verifies a token signed with the same bytes */
	struct bcn_jwt_cache *c = bcn_jwt_cache_new(&k, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	uint8_t uid[16];
	CU_ASSERT_EQUAL(bcn_jwt_verify(c, KAT_HEXKEY_TOKEN, strlen(KAT_HEXKEY_TOKEN), T_NOW, uid), BCN_OK);
	CU_ASSERT_EQUAL(bcn_jwt_verify(c, KAT_TOKEN, strlen(KAT_TOKEN), T_NOW, uid), BCN_R_BAD_TOKEN);
	bcn_jwt_cache_free(c);
	struct bcn_jwt_keys hk;
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&hk, "hex:746573742d6b6579", 1), 0);
	c = bcn_jwt_cache_new(&hk, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(bcn_jwt_verify(c, KAT_TOKEN, strlen(KAT_TOKEN), T_NOW, uid), BCN_OK);
	bcn_jwt_cache_free(c);

	/* limits: 128 bytes ok, 129 not; same for hex */
	char *s128 = t_repeat("k", 128), *s129 = t_repeat("k", 129);
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, s128, 1), 0);
	CU_ASSERT_EQUAL(k.k[0].len, 128);
	char *h128 = malloc(4 + 256 + 1), *h129 = malloc(4 + 258 + 1);
	memcpy(h128, "hex:", 4);
	memset(h128 + 4, 'a', 256);
	h128[260] = '\0';
	memcpy(h129, "hex:", 4);
	memset(h129 + 4, 'b', 258);
	h129[262] = '\0';
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, h128, 1), 0);
	CU_ASSERT_EQUAL(k.k[0].len, 128);
	CU_ASSERT_EQUAL(k.k[0].key[127], 0xaa);

	/* errors leave *keys unchanged */
	struct bcn_jwt_keys before;
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, "keep-me", 42), 0);
	before = k;
	const char *bad[] = {
		"", ",", "a,,b", ",a", "a,b,c,d,e", "hex:abc", "hex:zz", "hex:0g", "hex:12 4",
		"ok,hex:1", s129, h129,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = bcn_jwt_keys_parse(&k, bad[i], 99);
		EXPECT(rc == -1, "accepted key list \"%.40s\"", bad[i]);
		EXPECT(memcmp(&k, &before, sizeof(k)) == 0, "keys changed by \"%.40s\"", bad[i]);
	}
	CU_ASSERT_EQUAL(bcn_jwt_keys_parse(&k, NULL, 1), -1);
	CU_ASSERT_EQUAL(memcmp(&k, &before, sizeof(k)), 0);
	free(s128);
	free(s129);
	free(h128);
	free(h129);
}

int suite_jwt(void)
{
	CU_pSuite s = CU_add_suite("JWT", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "sign: known answer", test_sign_known_answer) ||
	    !CU_add_test(s, "sign: cap too small", test_sign_cap) ||
	    !CU_add_test(s, "verify: good tokens, cache hit", test_verify_ok) ||
	    !CU_add_test(s, "verify: crafted headers and payloads", test_verify_crafted) ||
	    !CU_add_test(s, "verify: mangled, truncated, tampered", test_verify_mangled) ||
	    !CU_add_test(s, "cache: exp re-checked on hits", test_cache_expiry_on_hit) ||
	    !CU_add_test(s, "cache: slot collisions compare bytes", test_cache_collisions) ||
	    !CU_add_test(s, "cache: long tokens verified every time", test_long_token_not_cached) ||
	    !CU_add_test(s, "several active keys", test_multiple_keys) ||
	    !CU_add_test(s, "key rotation with bcn_jwt_cache_set_keys", test_rotation) ||
	    !CU_add_test(s, "bcn_jwt_keys_parse incl. hex: keys", test_keys_parse))
		return -1;
	return 0;
}
