/*
 * bcn_jwt.c - HS256 JWT verification (OpenSSL libcrypto) with a per-worker
 * cache of verified tokens.  See bcn_jwt.h for why.
 *
 * The token's header and payload are small JSON documents of arbitrary shape
 * (claims such as "aud" may be arrays), so here we use jsmn, Debian's proven
 * tokenizer, in strict mode; the beacon itself has its own one-pass parser.
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "bcn_proto.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

struct bcn_jwt_cache {
	const struct bcn_jwt_keys *keys;
	uint32_t gen;
	uint32_t mask;
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx[BCN_JWT_MAX_KEYS];
	struct bcn_jwt_stats st;
	struct bcn_jwt_cache_entry *e;
};

/* ---- base64url ---------------------------------------------------------- */

static int8_t b64v(uint8_t c)
{
	if (c >= 'A' && c <= 'Z') return (int8_t)(c - 'A');
	if (c >= 'a' && c <= 'z') return (int8_t)(c - 'a' + 26);
	if (c >= '0' && c <= '9') return (int8_t)(c - '0' + 52);
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

/* Decode unpadded base64url; returns length or -1. */
static long b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int8_t v = b64v((uint8_t)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return -1; /* non-canonical trailing bits */
	return (long)o;
}

static size_t b64url_encode(const uint8_t *in, size_t n, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = al[(v >> 6) & 63];
		out[o++] = al[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = al[(v >> 6) & 63];
	}
	return o;
}

/* ---- keys --------------------------------------------------------------- */

int bcn_jwt_keys_parse(struct bcn_jwt_keys *keys, const char *list, uint32_t gen)
{
	struct bcn_jwt_keys k;
	memset(&k, 0, sizeof(k));
	k.gen = gen;
	const char *p = list;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || k.n == BCN_JWT_MAX_KEYS)
			return -1;
		if (n > 4 && memcmp(p, "hex:", 4) == 0) {
			size_t hn = n - 4;
			if (hn % 2 || hn / 2 > BCN_JWT_MAX_KEYLEN)
				return -1;
			for (size_t i = 0; i < hn / 2; i++) {
				int hi = OPENSSL_hexchar2int((unsigned char)p[4 + 2 * i]);
				int lo = OPENSSL_hexchar2int((unsigned char)p[5 + 2 * i]);
				if (hi < 0 || lo < 0)
					return -1;
				k.k[k.n].key[i] = (uint8_t)(hi << 4 | lo);
			}
			k.k[k.n].len = hn / 2;
		} else {
			if (n > BCN_JWT_MAX_KEYLEN)
				return -1;
			memcpy(k.k[k.n].key, p, n);
			k.k[k.n].len = n;
		}
		k.n++;
		p = comma ? comma + 1 : NULL;
	}
	if (k.n == 0)
		return -1;
	*keys = k;
	return 0;
}

/* ---- cache -------------------------------------------------------------- */

static int make_ctxs(EVP_MAC *mac, const struct bcn_jwt_keys *keys, EVP_MAC_CTX *out[BCN_JWT_MAX_KEYS])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	memset(out, 0, sizeof(EVP_MAC_CTX *) * BCN_JWT_MAX_KEYS);
	for (int i = 0; i < keys->n; i++) {
		out[i] = EVP_MAC_CTX_new(mac);
		if (!out[i] || !EVP_MAC_init(out[i], keys->k[i].key, keys->k[i].len, params)) {
			for (int j = 0; j <= i; j++)
				EVP_MAC_CTX_free(out[j]);
			return -1;
		}
	}
	return 0;
}

struct bcn_jwt_cache *bcn_jwt_cache_new(const struct bcn_jwt_keys *keys, unsigned order)
{
	if (order > 20)
		return NULL;
	struct bcn_jwt_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->mask = (1u << order) - 1;
	c->e = calloc((size_t)c->mask + 1, sizeof(*c->e));
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!c->e || !c->mac || make_ctxs(c->mac, keys, c->ctx)) {
		free(c->e);
		EVP_MAC_free(c->mac);
		free(c);
		return NULL;
	}
	c->keys = keys;
	c->gen = keys->gen;
	return c;
}

void bcn_jwt_cache_free(struct bcn_jwt_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < BCN_JWT_MAX_KEYS; i++)
		EVP_MAC_CTX_free(c->ctx[i]);
	EVP_MAC_free(c->mac);
	free(c->e);
	free(c);
}

int bcn_jwt_cache_set_keys(struct bcn_jwt_cache *c, const struct bcn_jwt_keys *keys)
{
	EVP_MAC_CTX *n[BCN_JWT_MAX_KEYS];
	if (make_ctxs(c->mac, keys, n))
		return -1;
	for (int i = 0; i < BCN_JWT_MAX_KEYS; i++) {
		EVP_MAC_CTX_free(c->ctx[i]);
		c->ctx[i] = n[i];
	}
	c->keys = keys;
	c->gen = keys->gen ? keys->gen : 1;
	/* old entries carry the old generation and stop matching; if the new
	 * generation number collides with an entry's, wipe to be safe */
	for (uint32_t i = 0; i <= c->mask; i++)
		if (c->e[i].gen == c->gen)
			c->e[i].gen = 0;
	return 0;
}

int bcn_jwt_ring_init(struct bcn_jwt_ring *r, const char *list)
{
	if (bcn_jwt_keys_parse(&r->keys[0], list, 1))
		return -1;
	atomic_store(&r->slot, 0);
	atomic_store(&r->gen, 1);
	return 0;
}

const struct bcn_jwt_keys *bcn_jwt_ring_current(struct bcn_jwt_ring *r)
{
	return &r->keys[atomic_load_explicit(&r->slot, memory_order_acquire)];
}

uint32_t bcn_jwt_ring_reload(struct bcn_jwt_ring *r, const char *list,
			     int (*behind)(void *arg, uint32_t gen), void *arg)
{
	uint32_t gen = atomic_load(&r->gen);
	/* the other slot may still be read by a worker that has not switched
	 * to the current one yet: wait for them (they follow every poll); a
	 * stale read of a worker's generation only makes this wait longer */
	for (int tries = 0; tries < 50 && behind && behind(arg, gen); tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	unsigned next = 1 - atomic_load(&r->slot);
	if (bcn_jwt_keys_parse(&r->keys[next], list, gen + 1))
		return 0;
	atomic_store_explicit(&r->slot, next, memory_order_release);
	atomic_store_explicit(&r->gen, gen + 1, memory_order_release);
	return gen + 1;
}

void bcn_jwt_ring_follow(struct bcn_jwt_ring *r, struct bcn_jwt_cache *c, _Atomic uint32_t *mine)
{
	uint32_t gen = atomic_load_explicit(&r->gen, memory_order_acquire);
	if (__builtin_expect(gen == atomic_load_explicit(mine, memory_order_relaxed), 1))
		return;
	/* slot was stored before gen (release): this load sees it */
	unsigned slot = atomic_load_explicit(&r->slot, memory_order_acquire);
	if (bcn_jwt_cache_set_keys(c, &r->keys[slot]) == 0)
		atomic_store(mine, gen);
}

void bcn_jwt_stats(const struct bcn_jwt_cache *c, struct bcn_jwt_stats *out)
{
	*out = c->st;
}

/* The signature (last 43 chars) is uniformly random: 8 of its bytes are a
 * good enough hash for a direct-mapped index. */
static inline uint32_t slot_of(const struct bcn_jwt_cache *c, const char *tok, size_t n)
{
	uint64_t h;
	memcpy(&h, tok + n - 8, 8);
	h *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 40) & c->mask;
}

static int tok_eq(const jsmntok_t *t, const char *js, const char *s)
{
	size_t n = strlen(s);
	return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
	       memcmp(js + t->start, s, n) == 0;
}

/* Index of the value of top-level key `key` in a parsed object, or -1. */
static int find_key(const jsmntok_t *t, int nt, const char *js, const char *key)
{
	if (nt < 1 || t[0].type != JSMN_OBJECT)
		return -1;
	/* walk top-level pairs, skipping nested values by their end offsets */
	int i = 1;
	for (int pair = 0; pair < t[0].size && i + 1 < nt; pair++) {
		if (tok_eq(&t[i], js, key))
			return i + 1;
		int end = t[i + 1].end;
		i += 2;
		while (i < nt && t[i].start < end)
			i++;
	}
	return -1;
}

static int verify_slow(struct bcn_jwt_cache *c, const char *tok, size_t n,
		       size_t d1, size_t d2, int64_t *exp_ms, uint8_t uid[16])
{
	uint8_t hdr[256], pl[1536], sig[64], mac[EVP_MAX_MD_SIZE];
	long hn, pn, sn;
	jsmntok_t t[64];
	jsmn_parser p;
	int nt, i;

	hn = b64url_decode(tok, d1, hdr, sizeof(hdr));
	pn = b64url_decode(tok + d1 + 1, d2 - d1 - 1, pl, sizeof(pl));
	sn = b64url_decode(tok + d2 + 1, n - d2 - 1, sig, sizeof(sig));
	if (hn <= 0 || pn <= 0 || sn != 32)
		return BCN_R_BAD_TOKEN;

	/* header: {"alg":"HS256"[,"typ":"JWT"]} - never "none", never RS/ES */
	jsmn_init(&p);
	nt = jsmn_parse(&p, (const char *)hdr, (size_t)hn, t, 64);
	if (nt < 1)
		return BCN_R_BAD_TOKEN;
	i = find_key(t, nt, (const char *)hdr, "alg");
	if (i < 0 || !tok_eq(&t[i], (const char *)hdr, "HS256"))
		return BCN_R_BAD_TOKEN;
	i = find_key(t, nt, (const char *)hdr, "typ");
	if (i >= 0 && !tok_eq(&t[i], (const char *)hdr, "JWT"))
		return BCN_R_BAD_TOKEN;

	/* signature under any active key, compared in constant time */
	int ok = 0;
	for (int k = 0; k < c->keys->n && !ok; k++) {
		size_t ml = 0;
		if (!EVP_MAC_init(c->ctx[k], NULL, 0, NULL) ||
		    !EVP_MAC_update(c->ctx[k], (const unsigned char *)tok, d2) ||
		    !EVP_MAC_final(c->ctx[k], mac, &ml, sizeof(mac)))
			return BCN_R_BAD_TOKEN;
		ok = ml == 32 && CRYPTO_memcmp(mac, sig, 32) == 0;
	}
	if (!ok)
		return BCN_R_BAD_TOKEN;

	/* payload: sub (UUID) and exp (NumericDate) */
	jsmn_init(&p);
	nt = jsmn_parse(&p, (const char *)pl, (size_t)pn, t, 64);
	if (nt < 1)
		return BCN_R_BAD_TOKEN;
	i = find_key(t, nt, (const char *)pl, "sub");
	if (i < 0 || t[i].type != JSMN_STRING ||
	    bcn_uuid_parse((const char *)pl + t[i].start, (size_t)(t[i].end - t[i].start), uid))
		return BCN_R_BAD_TOKEN;
	i = find_key(t, nt, (const char *)pl, "exp");
	if (i < 0 || t[i].type != JSMN_PRIMITIVE)
		return BCN_R_BAD_TOKEN;
	int64_t exp = 0;
	const char *e = (const char *)pl + t[i].start, *ee = (const char *)pl + t[i].end;
	if (e >= ee || *e < '0' || *e > '9')
		return BCN_R_BAD_TOKEN;
	for (; e < ee && *e >= '0' && *e <= '9'; e++) {
		exp = exp * 10 + (*e - '0');
		if (exp > 4102444800ll)
			return BCN_R_BAD_TOKEN; /* beyond 2100: nonsense */
	}
	if (e < ee && *e != '.' && *e != 'e' && *e != 'E')
		return BCN_R_BAD_TOKEN;
	*exp_ms = exp * 1000;
	return BCN_OK;
}

int bcn_jwt_verify(struct bcn_jwt_cache *c, const char *tok, size_t n,
		   int64_t now_ms, uint8_t user_id[16])
{
	if (unlikely(!c || n < 16 || n > BCN_MAX_TOKEN))
		goto bad;

	if (n <= BCN_JWT_CACHE_TOK) {
		struct bcn_jwt_cache_entry *e = &c->e[slot_of(c, tok, n)];
		if (e->gen == c->gen && e->len == n && memcmp(e->tok, tok, n) == 0) {
			c->st.hits++;
			if (unlikely(e->exp_ms <= now_ms)) {
				c->st.rejected++;
				return BCN_R_EXPIRED_TOKEN;
			}
			memcpy(user_id, e->user_id, 16);
			return BCN_OK;
		}
	}
	c->st.misses++;

	const char *d1 = memchr(tok, '.', n);
	if (!d1)
		goto bad;
	const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 - tok) - 1);
	if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 - tok) - 1))
		goto bad;

	uint8_t uid[16];
	int64_t exp_ms;
	int rc = verify_slow(c, tok, n, (size_t)(d1 - tok), (size_t)(d2 - tok), &exp_ms, uid);
	if (rc)
		goto bad;
	c->st.verified++;
	if (n <= BCN_JWT_CACHE_TOK) {
		struct bcn_jwt_cache_entry *e = &c->e[slot_of(c, tok, n)];
		e->gen = c->gen;
		e->len = (uint16_t)n;
		e->exp_ms = exp_ms;
		memcpy(e->user_id, uid, 16);
		memcpy(e->tok, tok, n);
	}
	if (exp_ms <= now_ms) {
		c->st.rejected++;
		return BCN_R_EXPIRED_TOKEN;
	}
	memcpy(user_id, uid, 16);
	return BCN_OK;
bad:
	if (c)
		c->st.rejected++;
	return BCN_R_BAD_TOKEN;
}

size_t bcn_jwt_sign(const uint8_t *key, size_t key_len, const char *sub,
		    int64_t exp_s, char *out, size_t cap)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char pl[128];
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned ml = 0;

	int pn = snprintf(pl, sizeof(pl), "{\"sub\":\"%.36s\",\"exp\":%lld}", sub, (long long)exp_s);
	if (pn <= 0 || (size_t)pn >= sizeof(pl))
		return 0;
	size_t need = (sizeof(hdr) - 1 + 2) / 3 * 4 + ((size_t)pn + 2) / 3 * 4 + 44 + 3;
	if (cap < need)
		return 0;
	size_t o = b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, out);
	out[o++] = '.';
	o += b64url_encode((const uint8_t *)pl, (size_t)pn, out + o);
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)out, o, mac, &ml))
		return 0;
	out[o++] = '.';
	o += b64url_encode(mac, ml, out + o);
	out[o] = '\0';
	return o;
}
