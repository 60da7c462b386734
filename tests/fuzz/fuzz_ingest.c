/*
 * fuzz_ingest.c - libFuzzer target for the whole contract (bcn_ingest:
 * parse + authenticate + validate + stamp) in both formats, with a real
 * per-worker JWT cache (64 slots, freed in a destructor).
 *
 * Input: byte 0 = control, byte 1 = parameter, the rest is the beacon.
 *   control bits 0-1  format: 0 JSON, 1 binary, 2-3 sniffed (bcn_format_of)
 *   control bits 2-4  auth header: 0-3 none, 4 fuzzer bytes (parameter =
 *                     length, taken from the front of the rest),
 *                     5-7 pool token (parameter % NPOOL)
 *   control bit 5     source: 0 udp, 1 http
 *   control bit 6     binary only: append pool token (parameter>>4) % NPOOL
 *                     as the beacon's token and fix the length field
 * In a JSON body, "$T0".."$T5" are replaced by pool tokens, so the fuzzer
 * (and the seeds) can put correctly signed tokens inside a beacon.
 * Pool: valid (key 0, users A and B), valid under key 1 (user C), expired,
 * signed with an inactive key, and a valid ~980-byte token (longer than
 * BCN_JWT_CACHE_TOK: verified every time, never cached).
 * The clock is fixed at NOW_MS = 1700000000000 (2023-11-14T22:13:20Z).
 *
 * Invariants:
 *   - the reason is in the closed list and is exactly what a reference
 *     model predicts: the parser's reason if it rejects, else the token's
 *     verdict (known for pool tokens; any token whose signature is not the
 *     HMAC under an active key must be bad_token), else auth_required /
 *     no_identity, else bcn_validate()'s verdict;
 *   - an accepted record: fz_check_record, the parser's fields unchanged,
 *     user id set iff a token was used and equal to the pool token's sub,
 *     bcn_validate() OK, recv_ts = now, source, node, a UUIDv7-shaped
 *     event_id carrying node_id and worker, strictly increasing per worker;
 *     bcn_record_to_json fits BCN_RECORD_JSON_MAX and is one JSON object;
 *   - an accepted JSON beacon that the binary form can carry is accepted in
 *     binary form too, with the same fields and user.
 */
#include "fuzz_common.h"

#define NOW_MS 1700000000000ll
#define NPOOL 6
#define NODE_ID 0xbeefu
#define WORKER 7u

static const char key0[] = "fuzz-key-one";
static const char key1[] = "fuzz-key-two";
static struct bcn_jwt_keys keys;
static struct bcn_jwt_cache *cache;
static struct bcn_ingest_cfg cfg;
static struct bcn_ingest worker;

static struct {
	char tok[2048];
	size_t n;
	int verdict;       /* what bcn_jwt_verify must say */
	uint8_t user[16];
} pool[NPOOL];

static struct bcn_record rec, rp, rb, pj, pb;
static char jbuf[BCN_RECORD_JSON_MAX];
static uint8_t bbuf[BCN_MAX_BEACON + 4096];
static uint8_t last_hi[8];

static void uuid_of(uint8_t u[16], unsigned seed)
{
	for (unsigned i = 0; i < 16; i++)
		u[i] = (uint8_t)(seed * 37u + i * 11u + 1u);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static void make_pool(unsigned i, const char *key, int64_t exp, const char *pad, int verdict)
{
	char sub[37], pl[900];
	uuid_of(pool[i].user, i + 1);
	bcn_uuid_format(pool[i].user, sub);
	sub[36] = '\0';
	int pn = snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"exp\":%lld%s%s%s}", sub,
			  (long long)exp, pad ? ",\"pad\":\"" : "", pad ? pad : "", pad ? "\"" : "");
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	pool[i].n = fz_sign_raw((const uint8_t *)key, strlen(key), (const uint8_t *)hdr,
				sizeof(hdr) - 1, (const uint8_t *)pl, (size_t)pn, pool[i].tok);
	pool[i].verdict = verdict;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char list[64], pad[600];
	snprintf(list, sizeof(list), "%s,%s", key0, key1);
	if (bcn_jwt_keys_parse(&keys, list, 1))
		abort();
	cache = bcn_jwt_cache_new(&keys, 6);
	if (!cache)
		abort();
	bcn_ingest_cfg_defaults(&cfg);
	memcpy(cfg.node, "fuzz-node", 10);
	cfg.node_id = NODE_ID;
	bcn_ingest_init(&worker, &cfg, cache, WORKER);

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	make_pool(0, key0, 4000000000ll, NULL, BCN_OK);
	make_pool(1, key0, NOW_MS / 1000 + 60, NULL, BCN_OK);
	make_pool(2, key1, 4000000000ll, NULL, BCN_OK);
	make_pool(3, key0, NOW_MS / 1000 - 1, NULL, BCN_R_EXPIRED_TOKEN);
	make_pool(4, "not-active", 4000000000ll, NULL, BCN_R_BAD_TOKEN);
	make_pool(5, key1, 4000000000ll, pad, BCN_OK);
	if (pool[5].n <= BCN_JWT_CACHE_TOK)
		abort();
	return 0;
}

__attribute__((destructor)) static void fini(void)
{
	bcn_jwt_cache_free(cache);
	cache = NULL;
}

static int pool_index(const char *t, size_t n)
{
	for (int i = 0; i < NPOOL; i++)
		if (pool[i].n == n && memcmp(pool[i].tok, t, n) == 0)
			return i;
	return -1;
}

/* Expected verdict for a token, or -1 if the model cannot tell. */
static int token_verdict(const char *t, size_t n, const uint8_t **user)
{
	int i = pool_index(t, n);
	*user = NULL;
	if (i >= 0) {
		*user = pool[i].user;
		return pool[i].verdict;
	}
	if (!fz_ref_sig_ok((const uint8_t *)key0, sizeof(key0) - 1, t, n) &&
	    !fz_ref_sig_ok((const uint8_t *)key1, sizeof(key1) - 1, t, n))
		return BCN_R_BAD_TOKEN;
	return -1;
}

static int parse(enum bcn_format f, const void *b, size_t n, struct bcn_record *r,
		 struct bcn_token *t)
{
	return f == BCN_FMT_BINARY ? bcn_bin_parse(b, n, r, t) : bcn_json_parse(b, n, r, t);
}

/* Reference model of bcn_ingest's verdict given the parser's output. */
static int model(const struct bcn_record *r, const struct bcn_token *t, const char *auth,
		 size_t auth_len, const uint8_t **user)
{
	*user = NULL;
	const char *tp = auth ? auth : t->p;
	size_t tn = auth ? auth_len : t->n;
	if (tp) {
		int v = token_verdict(tp, tn, user);
		if (v != BCN_OK)
			return v;
	} else if (bcn_type_needs_user(r->type)) {
		return BCN_R_AUTH_REQUIRED;
	} else if (!(r->has & BCN_HAS_ANON)) {
		return BCN_R_NO_IDENTITY;
	}
	return bcn_validate(r, NOW_MS, cfg.skew_past_ms, cfg.skew_future_ms);
}

static void check_accepted(const struct bcn_record *r, const struct bcn_record *parsed,
			   const uint8_t *user, int has_token, enum bcn_source src)
{
	fz_check_record(r);
	FZ_CHECK(fz_same_fields(r, parsed, 0));
	FZ_CHECK(bcn_validate(r, NOW_MS, cfg.skew_past_ms, cfg.skew_future_ms) == BCN_OK);
	FZ_CHECK(!!(r->has & BCN_HAS_USER) == has_token);
	if (has_token) {
		if (user)
			FZ_CHECK(memcmp(r->user_id, user, 16) == 0);
	} else {
		FZ_CHECK(bcn_uuid_is_nil(r->user_id));
		FZ_CHECK(!bcn_type_needs_user(r->type) && (r->has & BCN_HAS_ANON));
	}
	FZ_CHECK(r->recv_ts == NOW_MS && r->source == src);
	FZ_CHECK(memcmp(r->node, cfg.node, sizeof(r->node)) == 0);
	/* event id: 48-bit ms | 7 | seq || 10 | node | worker | random */
	const uint8_t *id = r->event_id;
	FZ_CHECK((id[6] >> 4) == 7 && (id[8] >> 6) == 2);
	uint64_t lo = 0;
	for (int i = 8; i < 16; i++)
		lo = lo << 8 | id[i];
	FZ_CHECK(((lo >> 46) & 0xffff) == NODE_ID && ((lo >> 38) & 0xff) == WORKER);
	uint64_t ms = 0;
	for (int i = 0; i < 6; i++)
		ms = ms << 8 | id[i];
	FZ_CHECK((int64_t)ms >= NOW_MS);
	FZ_CHECK(memcmp(id, last_hi, 8) > 0); /* time-ordered, never repeats */
	memcpy(last_hi, id, 8);

	size_t n = bcn_record_to_json(r, jbuf, BCN_RECORD_JSON_MAX);
	FZ_CHECK(n > 0 && fz_is_json_object(jbuf, n));
	FZ_CHECK(n > 14 && memcmp(jbuf, "{\"event_id\":\"", 13) == 0);
}

/* Replace "$T<digit>" in a JSON body by pool tokens. */
static size_t substitute(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '$' && i + 2 < n && in[i + 1] == 'T' && in[i + 2] >= '0' &&
		    in[i + 2] < '0' + NPOOL) {
			unsigned k = (unsigned)(in[i + 2] - '0');
			if (o + pool[k].n > cap)
				return 0;
			memcpy(out + o, pool[k].tok, pool[k].n);
			o += pool[k].n;
			i += 2;
			continue;
		}
		if (o >= cap)
			return 0;
		out[o++] = in[i];
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned ctl = data[0], par = data[1];
	const uint8_t *body = data + 2;
	size_t bn = size - 2;
	enum bcn_source src = (ctl & 0x20) ? BCN_SRC_HTTP : BCN_SRC_UDP;
	const char *auth = NULL;
	size_t auth_len = 0;
	char *auth_copy = NULL;

	unsigned am = (ctl >> 2) & 7;
	if (am == 4) {
		auth_len = par < bn ? par : bn;
		auth_copy = fz_dup(body, auth_len);
		auth = auth_copy;
		body += auth_len;
		bn -= auth_len;
	} else if (am >= 5) {
		unsigned k = par % NPOOL;
		auth_copy = fz_dup(pool[k].tok, pool[k].n);
		auth = auth_copy;
		auth_len = pool[k].n;
	}

	enum bcn_format fmt = (ctl & 3) == 0 ? BCN_FMT_JSON : (ctl & 3) == 1 ? BCN_FMT_BINARY
			      : bcn_format_of(body, bn);
	size_t n;
	if (fmt == BCN_FMT_JSON) {
		n = substitute(body, bn, bbuf, sizeof(bbuf));
		if (n == 0 && bn != 0) {
			free(auth_copy);
			return 0;
		}
	} else {
		if (bn > BCN_MAX_BEACON + 64) {
			free(auth_copy);
			return 0;
		}
		memcpy(bbuf, body, bn);
		n = bn;
		if ((ctl & 0x40) && n >= BCN_BIN_FIXED) {
			unsigned k = (par >> 4) % NPOOL;
			size_t old = (size_t)bbuf[18] | (size_t)bbuf[19] << 8;
			if (old <= n - BCN_BIN_FIXED)
				n -= old; /* replace an existing token */
			memcpy(bbuf + n, pool[k].tok, pool[k].n);
			n += pool[k].n;
			bbuf[18] = (uint8_t)pool[k].n;
			bbuf[19] = (uint8_t)(pool[k].n >> 8);
		}
	}
	uint8_t *beacon = fz_dup(bbuf, n);

	struct bcn_token tok;
	int prc = parse(fmt, beacon, n, &rp, &tok);
	fz_check_reason(prc);
	int rc = bcn_ingest(&worker, fmt, beacon, n, auth, auth_len, NOW_MS, src, &rec);
	fz_check_reason(rc);
	FZ_LOG("ingest %s: parse=%s ingest=%s\n", fmt == BCN_FMT_BINARY ? "binary" : "json",
	       bcn_reason_name((unsigned)prc), bcn_reason_name((unsigned)rc));

	if (prc != BCN_OK) {
		FZ_CHECK(rc == prc);
		goto out;
	}
	const uint8_t *user;
	int want = model(&rp, &tok, auth, auth_len, &user);
	if (want >= 0)
		FZ_CHECK(rc == want);
	if (rc != BCN_OK)
		goto out;
	int has_token = auth != NULL || tok.p != NULL;
	check_accepted(&rec, &rp, user, has_token, src);

	/* the binary form of an accepted JSON beacon is accepted too */
	if (fmt == BCN_FMT_JSON) {
		int bin_ok;
		fz_bin_project(&rp, &pj, &bin_ok);
		size_t m = bcn_bin_encode(&rp, tok.p, tok.n, bbuf, sizeof(bbuf));
		FZ_CHECK(m > 0);
		if (bin_ok && m <= BCN_MAX_BEACON) {
			uint8_t *b2 = fz_dup(bbuf, m);
			int rc2 = bcn_ingest(&worker, BCN_FMT_BINARY, b2, m, auth, auth_len,
					     NOW_MS, src, &rb);
			FZ_CHECK(rc2 == BCN_OK);
			fz_bin_project(&rb, &pb, &bin_ok);
			FZ_CHECK(fz_same_fields(&pj, &pb, 0));
			FZ_CHECK(memcmp(rb.user_id, rec.user_id, 16) == 0);
			FZ_CHECK((rb.has & BCN_HAS_USER) == (rec.has & BCN_HAS_USER));
			FZ_CHECK(memcmp(rb.event_id, rec.event_id, 8) > 0);
			memcpy(last_hi, rb.event_id, 8);
			free(b2);
		}
	}
out:
	free(beacon);
	free(auth_copy);
	return 0;
}
