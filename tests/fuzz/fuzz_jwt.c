/*
 * fuzz_jwt.c - libFuzzer target for the HS256 verifier (bcn_jwt_verify) and
 * its per-worker cache.
 *
 * Fixed keys: "fuzz-key-one" and hex:00..1f are active (generation 1);
 * "wrong-key" is never active.  Two persistent caches (4 and 1024 slots, so
 * one evicts constantly and one mostly hits) verify every token; a third is
 * used for key rotation.  All three are freed in a destructor.
 *
 * Input: byte 0 selects the mode, the rest is mode data.
 *   mode 0  the rest is the token itself (raw).
 *   mode 1  fuzzer-chosen header and payload JSON, signed with key b0>>2&3
 *           (0,1: active keys, 2: wrong key, 3: active key 0): exercises the
 *           claim parsing behind a valid signature.
 *   mode 2  bcn_jwt_sign(sub from 16 bytes, exp from 8 bytes), then up to
 *           four fuzzer-chosen byte substitutions or a truncation.
 *   mode 3  like mode 2 without mutation, plus a key rotation that removes
 *           the signing key and puts it back.
 * Invariants:
 *   - result is ok, bad_token or expired_token; both caches agree with each
 *     other and with a second call (the hit path);
 *   - ok or expired only if the third part is the HMAC of the first two
 *     under an active key (checked with one-shot HMAC, not the verifier's
 *     code), and on ok the user id is a UUID written in the payload;
 *   - a well-formed token signed by an active key for exp in [0, 2100]
 *     verifies to exactly (sub, ok/expired by now), and is bad_token for a
 *     negative exp or one beyond 2100 (4102444800); any change of its bytes
 *     makes it bad_token; after rotation away from its key it is bad_token
 *     even though it was cached.
 */
#include "fuzz_common.h"

#define NOW_MS 1700000000000ll

static const char key0[] = "fuzz-key-one";
static uint8_t key1[32];
static const char wrong_key[] = "wrong-key";
static struct bcn_jwt_keys keys_both, keys_only0;
static struct bcn_jwt_cache *c_small, *c_big, *c_rot;
static char tokbuf[8192];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char list[128];
	for (unsigned i = 0; i < 32; i++)
		key1[i] = (uint8_t)i;
	snprintf(list, sizeof(list), "%s,hex:000102030405060708090a0b0c0d0e0f"
		 "101112131415161718191a1b1c1d1e1f", key0);
	if (bcn_jwt_keys_parse(&keys_both, list, 1) ||
	    bcn_jwt_keys_parse(&keys_only0, key0, 2))
		abort();
	if (keys_both.n != 2 || keys_both.k[1].len != 32 || memcmp(keys_both.k[1].key, key1, 32))
		abort();
	c_small = bcn_jwt_cache_new(&keys_both, 2);
	c_big = bcn_jwt_cache_new(&keys_both, 10);
	c_rot = bcn_jwt_cache_new(&keys_both, 4);
	if (!c_small || !c_big || !c_rot)
		abort();
	return 0;
}

__attribute__((destructor)) static void fini(void)
{
	bcn_jwt_cache_free(c_small);
	bcn_jwt_cache_free(c_big);
	bcn_jwt_cache_free(c_rot);
	c_small = c_big = c_rot = NULL;
}

static int sig_ok_active(const char *tok, size_t n)
{
	return fz_ref_sig_ok((const uint8_t *)key0, sizeof(key0) - 1, tok, n) ||
	       fz_ref_sig_ok(key1, sizeof(key1), tok, n);
}

/* Verify with both caches, twice each; all must agree.  Returns rc, uid. */
static int verify_all(const char *tok, size_t n, uint8_t uid[16])
{
	uint8_t u[4][16];
	int rc[4];
	char *t = fz_dup(tok, n); /* exact-size copy for ASan */
	memset(u, 0xee, sizeof(u));
	rc[0] = bcn_jwt_verify(c_small, t, n, NOW_MS, u[0]);
	rc[1] = bcn_jwt_verify(c_big, t, n, NOW_MS, u[1]);
	rc[2] = bcn_jwt_verify(c_small, t, n, NOW_MS, u[2]);
	rc[3] = bcn_jwt_verify(c_big, t, n, NOW_MS, u[3]);
	free(t);
	for (int i = 0; i < 4; i++) {
		FZ_CHECK(rc[i] == BCN_OK || rc[i] == BCN_R_BAD_TOKEN || rc[i] == BCN_R_EXPIRED_TOKEN);
		FZ_CHECK(rc[i] == rc[0]);
		if (rc[0] == BCN_OK)
			FZ_CHECK(memcmp(u[i], u[0], 16) == 0);
		else
			FZ_CHECK(u[i][0] == 0xee && memcmp(u[i], u[i] + 1, 15) == 0);
	}
	if (rc[0] != BCN_R_BAD_TOKEN) {
		/* no token passes the signature check unless it is signed */
		FZ_CHECK(sig_ok_active(tok, n));
		FZ_CHECK(n >= 16 && n <= BCN_MAX_TOKEN);
	}
	if (rc[0] == BCN_OK)
		FZ_CHECK(fz_payload_has_uuid(tok, n, u[0]));
	memcpy(uid, u[0], 16);
	FZ_LOG("jwt: %s (%zu bytes)\n", bcn_reason_name((unsigned)rc[0]), n);
	return rc[0];
}

static int64_t rd_i64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (int64_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t uid[16];
	if (size < 1)
		return 0;
	unsigned mode = data[0] & 3, ksel = (data[0] >> 2) & 3;
	const uint8_t *d = data + 1;
	size_t dn = size - 1;

	/* no cache: always bad_token */
	FZ_CHECK(bcn_jwt_verify(NULL, (const char *)d, dn, NOW_MS, uid) == BCN_R_BAD_TOKEN);

	const uint8_t *key = ksel == 1 ? key1 : ksel == 2 ? (const uint8_t *)wrong_key
				: (const uint8_t *)key0;
	size_t klen = ksel == 1 ? sizeof(key1) : ksel == 2 ? sizeof(wrong_key) - 1 : sizeof(key0) - 1;

	if (mode == 0) {
		if (dn > BCN_MAX_TOKEN + 16)
			return 0;
		verify_all((const char *)d, dn, uid);
		return 0;
	}
	if (mode == 1) {
		if (dn < 1 || dn > 3000)
			return 0;
		size_t hn = d[0] < dn - 1 ? d[0] : dn - 1;
		size_t n = fz_sign_raw(key, klen, d + 1, hn, d + 1 + hn, dn - 1 - hn, tokbuf);
		int rc = verify_all(tokbuf, n, uid);
		if (ksel == 2)
			FZ_CHECK(rc == BCN_R_BAD_TOKEN);
		return 0;
	}

	/* modes 2 and 3: a token from bcn_jwt_sign */
	if (dn < 25)
		return 0;
	char sub[37];
	uint8_t want[16];
	memcpy(want, d, 16);
	bcn_uuid_format(want, sub);
	sub[36] = '\0';
	int64_t exp = rd_i64(d + 16);
	switch (d[24] & 3) { /* steer towards the interesting range */
	case 0: exp = NOW_MS / 1000 + (exp & 0xffffff); break;
	case 1: exp = NOW_MS / 1000 - (exp & 0xffffff); break;
	case 2: exp = exp % 5000000000ll; break;
	default: break;
	}
	size_t n = bcn_jwt_sign(key, klen, sub, exp, tokbuf, sizeof(tokbuf));
	FZ_CHECK(n > 0 && tokbuf[n] == '\0' && strlen(tokbuf) == n);
	FZ_CHECK(fz_ref_sig_ok(key, klen, tokbuf, n));

	int rc = verify_all(tokbuf, n, uid);
	if (ksel == 2 || exp < 0) {
		FZ_CHECK(rc == BCN_R_BAD_TOKEN);
	} else if (exp <= 4102444800ll) {
		FZ_CHECK(rc == (exp * 1000 > NOW_MS ? BCN_OK : BCN_R_EXPIRED_TOKEN));
		if (rc == BCN_OK)
			FZ_CHECK(memcmp(uid, want, 16) == 0);
	} else {
		FZ_CHECK(rc == BCN_R_BAD_TOKEN); /* beyond 2100: nonsense */
	}
	const uint8_t *m = d + 25;
	size_t mn = dn - 25;

	if (mode == 2 && mn >= 1) {
		char orig[sizeof(tokbuf)];
		memcpy(orig, tokbuf, n + 1);
		size_t nn = n;
		if (m[0] & 0x80) {
			nn = m[0] % n; /* truncation */
		} else {
			for (size_t i = 1; i + 1 < mn && i < 9; i += 2)
				tokbuf[m[i] % n] = (char)m[i + 1];
		}
		if (nn != n || memcmp(orig, tokbuf, n) != 0) {
			FZ_CHECK(verify_all(tokbuf, nn, uid) == BCN_R_BAD_TOKEN);
		}
	} else if (mode == 3 && rc == BCN_OK) {
		/* cached under generation 1; rotate to a set without key1 */
		uint8_t u2[16];
		FZ_CHECK(bcn_jwt_verify(c_rot, tokbuf, n, NOW_MS, u2) == BCN_OK);
		FZ_CHECK(bcn_jwt_cache_set_keys(c_rot, &keys_only0) == 0);
		int rc2 = bcn_jwt_verify(c_rot, tokbuf, n, NOW_MS, u2);
		FZ_CHECK(rc2 == (ksel == 1 ? BCN_R_BAD_TOKEN : BCN_OK));
		FZ_CHECK(bcn_jwt_cache_set_keys(c_rot, &keys_both) == 0);
		FZ_CHECK(bcn_jwt_verify(c_rot, tokbuf, n, NOW_MS, u2) == BCN_OK);
		FZ_CHECK(memcmp(u2, want, 16) == 0);
	}
	return 0;
}
