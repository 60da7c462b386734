/*
 * bcn_bin.c - the compact binary beacon form v1: parser and encoder.
 *
 * Why this exists: players on constrained devices and our own load
 * generators can send a beacon as ~100 bytes of fixed-offset fields instead
 * of ~250 bytes of JSON, and the fast path reads it with bounds checks and
 * no scanning.  The layout is in bcn_proto.h and docs/beacon-protocol.md;
 * tests/vectors/binary-v1.txt holds the published test vectors.
 */
#include <string.h>
#include "bcn_proto.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

/* The string fields each type carries, in wire order. */
struct strspec {
	uint8_t n;
	struct { size_t off; size_t limit; long max_cps; } f[2];
};

#define SREF(name) offsetof(struct bcn_record, name)
static const struct strspec strs_of[BCN_T__COUNT] = {
	[BCN_T_PLAYER] = { 2, { { SREF(from), BCN_MAX_SHORT, BCN_MAX_SHORT },
				{ SREF(to), BCN_MAX_SHORT, BCN_MAX_SHORT } } },
	[BCN_T_PAGE] = { 2, { { SREF(url), BCN_MAX_URL, BCN_MAX_URL },
			      { SREF(referrer), BCN_MAX_URL, BCN_MAX_URL } } },
	[BCN_T_ACTION] = { 2, { { SREF(key), BCN_MAX_KEY, BCN_MAX_KEY },
				{ SREF(value), BCN_MAX_VALUE, BCN_MAX_VALUE } } },
	[BCN_T_REVIEW] = { 1, { { SREF(text), BCN_MAX_TEXT, BCN_MAX_TEXT_CHARS } } },
};

static struct bcn_sref *sref_at(struct bcn_record *r, size_t off)
{
	return (struct bcn_sref *)((char *)r + off);
}

int bcn_bin_parse(const uint8_t *b, size_t len, struct bcn_record *r, struct bcn_token *tok)
{
	if (unlikely(len > BCN_MAX_BEACON))
		return BCN_R_TOO_LARGE;
	if (unlikely(len < BCN_BIN_FIXED || b[0] != BCN_BIN_MAGIC0 || b[1] != BCN_BIN_MAGIC1))
		return BCN_R_MALFORMED;
	if (unlikely(b[2] != BCN_BIN_VERSION))
		return BCN_R_UNSUPPORTED_VERSION;
	if (unlikely(b[7] != 0 || b[17] != 0 || (b[16] & ~BCN_BF__ALL)))
		return BCN_R_MALFORMED;

	memset(r, 0, offsetof(struct bcn_record, node));
	tok->p = NULL;
	tok->n = 0;

	unsigned type = b[3], flags = b[16];
	if (unlikely(type == BCN_T_NONE || type >= BCN_T__COUNT))
		return BCN_R_UNKNOWN_TYPE;
	r->type = (uint8_t)type;

	unsigned eo = b[4];
	if (type == BCN_T_PLAYER) {
		if (eo == 0 || eo >= BCN_E__COUNT)
			return BCN_R_BAD_ENUM;
		r->event = (uint8_t)eo;
	} else if (type == BCN_T_REVIEW) {
		if (eo != BCN_OP_POST && eo != BCN_OP_DELETE)
			return BCN_R_BAD_ENUM;
		r->op = (uint8_t)eo;
	} else if (type == BCN_T_BOOKMARK) {
		if (eo != BCN_OP_ADD && eo != BCN_OP_REMOVE)
			return BCN_R_BAD_ENUM;
		r->op = (uint8_t)eo;
	} else if (eo != 0) {
		return BCN_R_MALFORMED;
	}

	if (type == BCN_T_LIKE) {
		int8_t sc = (int8_t)b[5];
		if (sc < -1 || sc > 1)
			return BCN_R_OUT_OF_RANGE;
		r->score = sc;
		r->has |= BCN_HAS_SCORE;
	} else if (b[5] != 0) {
		return BCN_R_MALFORMED;
	}
	if (type == BCN_T_REVIEW && r->op == BCN_OP_POST) {
		if (b[6] < 1 || b[6] > 10)
			return BCN_R_OUT_OF_RANGE;
		r->rating = b[6];
		r->has |= BCN_HAS_RATING;
	} else if (b[6] != 0) {
		return BCN_R_MALFORMED;
	}

	int64_t ts = (int64_t)rd64(b + 8);
	if (ts < 0 || ts > BCN_TS_MAX_MS)
		return BCN_R_OUT_OF_RANGE;
	r->ts = ts;
	r->has |= BCN_HAS_TS;

	size_t toklen = rd16(b + 18);
	if (toklen > BCN_MAX_TOKEN)
		return BCN_R_TOO_LONG;
	if (flags & BCN_BF_POSITION) {
		r->position_ms = rd32(b + 20);
		r->has |= BCN_HAS_POSITION;
	} else if (rd32(b + 20)) {
		return BCN_R_MALFORMED;
	}
	if (flags & BCN_BF_DURATION) {
		r->duration_ms = rd32(b + 24);
		r->has |= BCN_HAS_DURATION;
	} else if (rd32(b + 24)) {
		return BCN_R_MALFORMED;
	}
	if (r->position_ms > BCN_MAX_POSITION_MS || r->duration_ms > BCN_MAX_POSITION_MS)
		return BCN_R_OUT_OF_RANGE;

	size_t o = BCN_BIN_FIXED;
	static const struct { unsigned flag; size_t off; uint16_t has; } uuids[4] = {
		{ BCN_BF_ANON, offsetof(struct bcn_record, anon_id), BCN_HAS_ANON },
		{ BCN_BF_SESSION, offsetof(struct bcn_record, session_id), BCN_HAS_SESSION },
		{ BCN_BF_FILM, offsetof(struct bcn_record, film_id), BCN_HAS_FILM },
		{ BCN_BF_REVIEW, offsetof(struct bcn_record, review_id), BCN_HAS_REVIEW },
	};
	for (unsigned i = 0; i < 4; i++) {
		if (!(flags & uuids[i].flag))
			continue;
		if (len - o < 16)
			return BCN_R_MALFORMED;
		memcpy((uint8_t *)r + uuids[i].off, b + o, 16);
		r->has |= uuids[i].has;
		o += 16;
	}

	/* in this form a type's strings are always present (length 0: empty) */
	r->has |= type == BCN_T_PAGE ? BCN_HAS_URL : type == BCN_T_ACTION ? BCN_HAS_KEY
		  : type == BCN_T_REVIEW ? BCN_HAS_TEXT : 0;
	const struct strspec *ss = &strs_of[type];
	for (unsigned i = 0; i < ss->n; i++) {
		if (len - o < 2)
			return BCN_R_MALFORMED;
		size_t n = rd16(b + o);
		o += 2;
		if (len - o < n)
			return BCN_R_MALFORMED;
		int rc = bcn_put_str(r, sref_at(r, ss->f[i].off), (const char *)b + o, n,
				     ss->f[i].limit, ss->f[i].max_cps);
		if (rc)
			return rc;
		o += n;
	}
	if (len - o != toklen)
		return BCN_R_MALFORMED; /* truncated token or trailing bytes */
	if (toklen) {
		tok->p = (const char *)b + o;
		tok->n = toklen;
	}
	return BCN_OK;
}

size_t bcn_bin_encode(const struct bcn_record *r, const char *token, size_t token_len,
		      uint8_t *out, size_t cap)
{
	if (cap < BCN_BIN_FIXED || r->type == BCN_T_NONE || r->type >= BCN_T__COUNT ||
	    token_len > BCN_MAX_TOKEN || r->position_ms > UINT32_MAX || r->duration_ms > UINT32_MAX)
		return 0;
	unsigned flags = 0;
	if (r->has & BCN_HAS_ANON) flags |= BCN_BF_ANON;
	if (r->has & BCN_HAS_SESSION) flags |= BCN_BF_SESSION;
	if (r->has & BCN_HAS_FILM) flags |= BCN_BF_FILM;
	if (r->has & BCN_HAS_REVIEW) flags |= BCN_BF_REVIEW;
	if (r->has & BCN_HAS_POSITION) flags |= BCN_BF_POSITION;
	if (r->has & BCN_HAS_DURATION) flags |= BCN_BF_DURATION;

	memset(out, 0, BCN_BIN_FIXED);
	out[0] = BCN_BIN_MAGIC0;
	out[1] = BCN_BIN_MAGIC1;
	out[2] = BCN_BIN_VERSION;
	out[3] = r->type;
	out[4] = r->type == BCN_T_PLAYER ? r->event
		 : (r->type == BCN_T_REVIEW || r->type == BCN_T_BOOKMARK) ? r->op : 0;
	out[5] = r->type == BCN_T_LIKE ? (uint8_t)r->score : 0;
	out[6] = r->type == BCN_T_REVIEW ? r->rating : 0;
	wr64(out + 8, (uint64_t)r->ts);
	out[16] = (uint8_t)flags;
	wr16(out + 18, (uint16_t)token_len);
	wr32(out + 20, (flags & BCN_BF_POSITION) ? (uint32_t)r->position_ms : 0);
	wr32(out + 24, (flags & BCN_BF_DURATION) ? (uint32_t)r->duration_ms : 0);

	size_t o = BCN_BIN_FIXED;
	const uint8_t *ids[4] = { r->anon_id, r->session_id, r->film_id, r->review_id };
	for (unsigned i = 0; i < 4; i++) {
		if (!(flags & (1u << i)))
			continue;
		if (cap - o < 16)
			return 0;
		memcpy(out + o, ids[i], 16);
		o += 16;
	}
	const struct strspec *ss = &strs_of[r->type];
	for (unsigned i = 0; i < ss->n; i++) {
		const struct bcn_sref *sr = (const struct bcn_sref *)((const char *)r + ss->f[i].off);
		if (sr->len > ss->f[i].limit || cap - o < 2u + sr->len)
			return 0; /* over the field's limit: the parser would refuse it */
		wr16(out + o, sr->len);
		memcpy(out + o + 2, r->arena + sr->off, sr->len);
		o += 2u + sr->len;
	}
	if (cap - o < token_len)
		return 0;
	if (token_len)
		memcpy(out + o, token, token_len);
	return o + token_len;
}
