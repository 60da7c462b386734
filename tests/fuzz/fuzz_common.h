/*
 * fuzz_common.h - invariants shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Why this exists: "it did not crash" says little about a parser.  Every
 * target therefore also checks what the contract promises about an accepted
 * beacon: the record is self-consistent (every string inside the used arena,
 * valid UTF-8, within its limit), the encoders reproduce it, the two wire
 * forms agree, and a user id only ever comes from a correctly signed token.
 * A violated invariant prints what failed and abort()s, which libFuzzer
 * reports as a crash and saves the input.
 *
 * Header-only and static: each target is one translation unit (see the
 * Makefile's build/fuzz/% rule).  NOTE: that rule does not list this header
 * as a prerequisite; after editing it, `rm -rf build/fuzz` or touch the
 * targets.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "bcn_proto.h"

#define FZ_UNUSED __attribute__((unused))

static FZ_UNUSED void fz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "\n*** fuzz invariant violated: %s (%s:%d)\n", what, file, line);
	abort();
}
#define FZ_CHECK(c) do { if (!(c)) fz_fail(#c, __FILE__, __LINE__); } while (0)

/* FUZZ_VERBOSE=1 in the environment: print each input's verdict (for
 * replaying a crash or checking what the seeds reach). */
static FZ_UNUSED int fz_verbose(void)
{
	static int v = -1;
	if (v < 0)
		v = getenv("FUZZ_VERBOSE") != NULL;
	return v;
}
#define FZ_LOG(...) do { if (fz_verbose()) fprintf(stderr, __VA_ARGS__); } while (0)

/* All defined BCN_HAS_* bits. */
#define FZ_HAS_ALL 0x1fffu

/* The record's string fields: where, byte limit, code-point limit. */
static const struct {
	size_t off;
	size_t limit;
	long max_cps;
	uint16_t has; /* BCN_HAS_* bit that goes with a non-empty value, or 0 */
} fz_strs[7] = {
	{ offsetof(struct bcn_record, from), BCN_MAX_SHORT, BCN_MAX_SHORT, 0 },
	{ offsetof(struct bcn_record, to), BCN_MAX_SHORT, BCN_MAX_SHORT, 0 },
	{ offsetof(struct bcn_record, url), BCN_MAX_URL, BCN_MAX_URL, BCN_HAS_URL },
	{ offsetof(struct bcn_record, referrer), BCN_MAX_URL, BCN_MAX_URL, 0 },
	{ offsetof(struct bcn_record, key), BCN_MAX_KEY, BCN_MAX_KEY, BCN_HAS_KEY },
	{ offsetof(struct bcn_record, value), BCN_MAX_VALUE, BCN_MAX_VALUE, 0 },
	{ offsetof(struct bcn_record, text), BCN_MAX_TEXT, BCN_MAX_TEXT_CHARS, BCN_HAS_TEXT },
};

static FZ_UNUSED struct bcn_sref fz_sref(const struct bcn_record *r, unsigned i)
{
	struct bcn_sref s;
	memcpy(&s, (const char *)r + fz_strs[i].off, sizeof(s));
	return s;
}

static FZ_UNUSED void fz_check_reason(int rc)
{
	FZ_CHECK(rc >= 0 && rc < BCN_R__COUNT);
	FZ_CHECK(strcmp(bcn_reason_name((unsigned)rc), "?") != 0);
}

/*
 * What every accepted (BCN_OK) record must satisfy, whichever parser made it.
 */
static FZ_UNUSED void fz_check_record(const struct bcn_record *r)
{
	FZ_CHECK(r->arena_used <= BCN_ARENA_SIZE);
	FZ_CHECK(r->type > BCN_T_NONE && r->type < BCN_T__COUNT);
	FZ_CHECK(r->event < BCN_E__COUNT);
	FZ_CHECK(r->op < BCN_OP__COUNT);
	FZ_CHECK(r->source < BCN_SRC__COUNT);
	FZ_CHECK(r->score >= -1 && r->score <= 1);
	FZ_CHECK(r->rating <= 10);
	FZ_CHECK(!(r->has & BCN_HAS_RATING) || r->rating >= 1);
	FZ_CHECK((r->has & ~FZ_HAS_ALL) == 0);
	FZ_CHECK(r->position_ms <= BCN_MAX_POSITION_MS);
	FZ_CHECK(r->duration_ms <= BCN_MAX_POSITION_MS);
	FZ_CHECK((r->has & BCN_HAS_POSITION) || r->position_ms == 0);
	FZ_CHECK((r->has & BCN_HAS_DURATION) || r->duration_ms == 0);
	if (r->has & BCN_HAS_TS)
		FZ_CHECK(r->ts >= 0 && r->ts <= BCN_TS_MAX_MS);
	else
		FZ_CHECK(r->ts == 0);

	size_t sum = 0;
	for (unsigned i = 0; i < 7; i++) {
		struct bcn_sref s = fz_sref(r, i);
		/* every sref inside the used part of the arena */
		FZ_CHECK((size_t)s.off + s.len <= r->arena_used);
		FZ_CHECK(s.len <= fz_strs[i].limit);
		if (s.len) {
			long cps = bcn_utf8_count(bcn_str(r, s), s.len);
			FZ_CHECK(cps > 0 && cps <= fz_strs[i].max_cps);
			FZ_CHECK(!fz_strs[i].has || (r->has & fz_strs[i].has));
		}
		/* no two strings share arena bytes */
		for (unsigned k = 0; k < i; k++) {
			struct bcn_sref t = fz_sref(r, k);
			if (s.len && t.len)
				FZ_CHECK(s.off + s.len <= t.off || t.off + t.len <= s.off);
		}
		sum += s.len;
	}
	FZ_CHECK(sum <= r->arena_used);
	FZ_CHECK(bcn_record_size(r) <= sizeof(*r));
}

/*
 * Client-side fields of a and b equal (not event_id/user_id/recv_ts/node/
 * source, not arena offsets).  ignore_has: BCN_HAS_* bits not compared.
 */
static FZ_UNUSED int fz_same_fields(const struct bcn_record *a, const struct bcn_record *b,
				    unsigned ignore_has)
{
	if (a->type != b->type || a->event != b->event || a->op != b->op ||
	    a->score != b->score || a->rating != b->rating ||
	    ((a->has ^ b->has) & ~ignore_has & ~(unsigned)BCN_HAS_USER) ||
	    a->ts != b->ts || a->position_ms != b->position_ms ||
	    a->duration_ms != b->duration_ms ||
	    memcmp(a->anon_id, b->anon_id, 16) || memcmp(a->session_id, b->session_id, 16) ||
	    memcmp(a->film_id, b->film_id, 16) || memcmp(a->review_id, b->review_id, 16))
		return 0;
	for (unsigned i = 0; i < 7; i++) {
		struct bcn_sref s = fz_sref(a, i), t = fz_sref(b, i);
		if (s.len != t.len || memcmp(bcn_str(a, s), bcn_str(b, t), s.len))
			return 0;
	}
	return 1;
}

/*
 * Same token bytes.  The encoders take token_len 0 as "no token", so an
 * empty token ("token":"", which bcn_ingest rejects as bad_token) does not
 * survive encoding: unless strict, empty and absent compare equal.
 */
static FZ_UNUSED int fz_same_token(const struct bcn_token *a, const struct bcn_token *b,
				   int strict)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0) &&
	       (!strict || (a->p == NULL) == (b->p == NULL));
}

/*
 * bcn_json_encode_beacon() omits empty strings and always writes "ts", so a
 * JSON round trip legitimately loses BCN_HAS_URL/KEY/TEXT of an empty
 * string and gains BCN_HAS_TS (ts stays 0).  These bits are not compared.
 */
static FZ_UNUSED unsigned fz_json_lossy_bits(const struct bcn_record *r)
{
	unsigned m = 0;
	if (!r->url.len) m |= BCN_HAS_URL;
	if (!r->key.len) m |= BCN_HAS_KEY;
	if (!r->text.len) m |= BCN_HAS_TEXT;
	if (!(r->has & BCN_HAS_TS)) m |= BCN_HAS_TS;
	return m;
}

/* Heap copy of exactly n bytes, so ASan sees any read past the end. */
static FZ_UNUSED void *fz_dup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	FZ_CHECK(q != NULL);
	if (n)
		memcpy(q, p, n);
	return q;
}

/* A JSON document jsmn (strict) accepts as exactly one object. */
static FZ_UNUSED int fz_is_json_object(const char *s, size_t n)
{
	static jsmntok_t t[256];
	jsmn_parser p;
	jsmn_init(&p);
	int nt = jsmn_parse(&p, s, n, t, 256);
	return nt >= 1 && t[0].type == JSMN_OBJECT && t[0].start == 0 && (size_t)t[0].end == n;
}

/*
 * A record as the binary form can carry it: the fields the binary form does
 * not have for the type are dropped, and what it always has is set.
 * bin_ok says whether bcn_bin_encode()+bcn_bin_parse() must accept it.
 */
static FZ_UNUSED void fz_bin_project(const struct bcn_record *in, struct bcn_record *out,
				     int *bin_ok)
{
	unsigned t = in->type;
	memset(out, 0, offsetof(struct bcn_record, node));
	out->type = in->type;
	out->ts = in->ts;
	out->position_ms = in->position_ms;
	out->duration_ms = in->duration_ms;
	memcpy(out->anon_id, in->anon_id, 16);
	memcpy(out->session_id, in->session_id, 16);
	memcpy(out->film_id, in->film_id, 16);
	memcpy(out->review_id, in->review_id, 16);
	out->has = (uint16_t)(BCN_HAS_TS | (in->has & (BCN_HAS_ANON | BCN_HAS_SESSION |
			BCN_HAS_FILM | BCN_HAS_REVIEW | BCN_HAS_POSITION | BCN_HAS_DURATION)));
	int ok = 1;
	const struct bcn_sref *keep[2] = { NULL, NULL };
	struct bcn_sref *to[2] = { NULL, NULL };
	switch (t) {
	case BCN_T_PLAYER:
		out->event = in->event;
		ok = in->event != 0;
		keep[0] = &in->from; to[0] = &out->from;
		keep[1] = &in->to; to[1] = &out->to;
		break;
	case BCN_T_PAGE:
		out->has |= BCN_HAS_URL;
		keep[0] = &in->url; to[0] = &out->url;
		keep[1] = &in->referrer; to[1] = &out->referrer;
		break;
	case BCN_T_ACTION:
		out->has |= BCN_HAS_KEY;
		keep[0] = &in->key; to[0] = &out->key;
		keep[1] = &in->value; to[1] = &out->value;
		break;
	case BCN_T_LIKE:
		out->score = in->score;
		out->has |= BCN_HAS_SCORE;
		break;
	case BCN_T_REVIEW:
		out->op = in->op;
		out->has |= BCN_HAS_TEXT;
		if (in->op == BCN_OP_POST) {
			ok = in->rating != 0;
			out->rating = in->rating;
			out->has |= BCN_HAS_RATING;
		} else {
			ok = in->op == BCN_OP_DELETE && in->rating == 0;
		}
		keep[0] = &in->text; to[0] = &out->text;
		break;
	case BCN_T_BOOKMARK:
		out->op = in->op;
		ok = in->op == BCN_OP_ADD || in->op == BCN_OP_REMOVE;
		break;
	default:
		break;
	}
	for (unsigned i = 0; i < 2; i++) {
		if (!keep[i])
			continue;
		memcpy(out->arena + out->arena_used, bcn_str(in, *keep[i]), keep[i]->len);
		to[i]->off = out->arena_used;
		to[i]->len = keep[i]->len;
		out->arena_used = (uint16_t)(out->arena_used + keep[i]->len);
	}
	*bin_ok = ok;
}

/* ---- JWT reference ------------------------------------------------------ */

static FZ_UNUSED size_t fz_b64url(const uint8_t *in, size_t n, char *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n) v |= in[i + 2];
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		if (i + 1 < n) out[o++] = al[(v >> 6) & 63];
		if (i + 2 < n) out[o++] = al[v & 63];
	}
	return o;
}

/* Lenient base64url decoder (ignores what does not decode). */
static FZ_UNUSED size_t fz_unb64url(const char *s, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n && o < cap; i++) {
		char c = s[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
			: c >= '0' && c <= '9' ? c - '0' + 52 : c == '-' ? 62 : c == '_' ? 63 : -1;
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

/*
 * Independent signature check: the token has exactly two dots and its third
 * part is the canonical base64url of HMAC-SHA256(key, first two parts).
 */
static FZ_UNUSED int fz_ref_sig_ok(const uint8_t *key, size_t klen, const char *tok, size_t n)
{
	const char *d1 = memchr(tok, '.', n);
	if (!d1)
		return 0;
	const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 - tok) - 1);
	if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 - tok) - 1))
		return 0;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned ml = 0;
	char enc[64];
	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)tok, (size_t)(d2 - tok),
		  mac, &ml) || ml != 32)
		abort();
	size_t el = fz_b64url(mac, 32, enc);
	return (size_t)(tok + n - (d2 + 1)) == el && memcmp(d2 + 1, enc, el) == 0;
}

/* 1 if the token's decoded payload contains uid as a UUID (any case). */
static FZ_UNUSED int fz_payload_has_uuid(const char *tok, size_t n, const uint8_t uid[16])
{
	static uint8_t pl[4096];
	char u[36];
	const char *d1 = memchr(tok, '.', n);
	if (!d1)
		return 0;
	const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 - tok) - 1);
	if (!d2)
		return 0;
	size_t pn = fz_unb64url(d1 + 1, (size_t)(d2 - d1 - 1), pl, sizeof(pl));
	bcn_uuid_format(uid, u);
	for (size_t i = 0; i + 36 <= pn; i++)
		if (strncasecmp((const char *)pl + i, u, 36) == 0)
			return 1;
	return 0;
}

/* Sign arbitrary header and payload bytes: "b64(h).b64(p).b64(mac)". */
static FZ_UNUSED size_t fz_sign_raw(const uint8_t *key, size_t klen, const uint8_t *h, size_t hn,
				    const uint8_t *p, size_t pn, char *out)
{
	size_t o = fz_b64url(h, hn, out);
	out[o++] = '.';
	o += fz_b64url(p, pn, out + o);
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned ml = 0;
	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)out, o, mac, &ml))
		abort();
	out[o++] = '.';
	o += fz_b64url(mac, ml, out + o);
	out[o] = '\0';
	return o;
}

#endif
