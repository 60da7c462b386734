/*
 * bcn_json.c - the JSON beacon parser.
 *
 * Why our own parser and not jsmn (which Debian ships): a beacon is one flat
 * object of at most twenty known keys.  jsmn would give us token offsets and
 * we would then walk every token a second time to decode escapes, validate
 * UTF-8, convert numbers, check duplicates and copy strings; in non-strict
 * mode it also accepts unquoted primitives and in strict mode it still leaves
 * number and escape syntax to us.  This parser does all of that in one pass
 * straight into the caller's fixed-size record, with exact reject reasons,
 * no allocation and no recursion (nesting is rejected at the first '{' or
 * '[' inside the object, so deep nesting costs nothing).  It is fuzzed by
 * tests/fuzz/fuzz_json.c.
 */
#include <string.h>
#include "bcn_proto.h"
#include "bcn_uuid.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum fld {
	F_TYPE, F_TS, F_ANON, F_SESSION, F_FILM, F_REVIEW_ID, F_POSITION,
	F_DURATION, F_EVENT, F_FROM, F_TO, F_URL, F_REFERRER, F_KEY, F_VALUE,
	F_SCORE, F_TEXT, F_RATING, F_OP, F_TOKEN, F_UNKNOWN
};

/*
 * The known keys.  key_pat[f + 1] is key f as a 16-byte pattern: the key, its
 * closing quote, zeros (key_pat[0] matches nothing).  key_slot[length][second
 * byte & 31] is f + 1 for the key of that length and second byte, else 0: no
 * two known keys share both, so a key is found with one look-up and checked
 * with one compare (perf: this replaced a switch on the length and memcmp
 * calls; see the SSE2 path in bcn_json_parse).  field_of() reads the same
 * tables, so the fast and the general path cannot disagree.
 */
static const char key_pat[F_UNKNOWN + 1][16] __attribute__((aligned(16))) = {
	[F_TYPE + 1] = "type\"", [F_TS + 1] = "ts\"", [F_ANON + 1] = "anon_id\"",
	[F_SESSION + 1] = "session_id\"", [F_FILM + 1] = "film_id\"",
	[F_REVIEW_ID + 1] = "review_id\"", [F_POSITION + 1] = "position_ms\"",
	[F_DURATION + 1] = "duration_ms\"", [F_EVENT + 1] = "event\"", [F_FROM + 1] = "from\"",
	[F_TO + 1] = "to\"", [F_URL + 1] = "url\"", [F_REFERRER + 1] = "referrer\"",
	[F_KEY + 1] = "key\"", [F_VALUE + 1] = "value\"", [F_SCORE + 1] = "score\"",
	[F_TEXT + 1] = "text\"", [F_RATING + 1] = "rating\"", [F_OP + 1] = "op\"",
	[F_TOKEN + 1] = "token\"",
};

#define KS(len, c1, f) [len][(c1) & 31] = (f) + 1
static const uint8_t key_slot[16][32] = {
	KS(4, 'y', F_TYPE), KS(2, 's', F_TS), KS(7, 'n', F_ANON), KS(10, 'e', F_SESSION),
	KS(7, 'i', F_FILM), KS(9, 'e', F_REVIEW_ID), KS(11, 'o', F_POSITION),
	KS(11, 'u', F_DURATION), KS(5, 'v', F_EVENT), KS(4, 'r', F_FROM), KS(2, 'o', F_TO),
	KS(3, 'r', F_URL), KS(8, 'e', F_REFERRER), KS(3, 'e', F_KEY), KS(5, 'a', F_VALUE),
	KS(5, 'c', F_SCORE), KS(4, 'e', F_TEXT), KS(6, 'a', F_RATING), KS(2, 'p', F_OP),
	KS(5, 'o', F_TOKEN),
};
#undef KS

/*
 * perf: in compact JSON the first four bytes of a key (with '":' after a
 * two-letter key, '"' after a three-letter one) differ between all the known
 * keys, and a multiply by KEY_HASH_MUL puts them in 20 of 32 slots:
 * key_hash[slot] is f + 1 (0: none), and key_len[f + 1] says how many bytes
 * of key_pat (the key and its closing quote) must match.  So a compact known key is found and checked without
 * first searching for its closing quote (~10 instructions instead of ~26 a
 * key under callgrind); anything else takes the key_slot path.  The slots are
 * computed by the compiler from the same bytes: two keys in one slot would be
 * a duplicate initializer, an error under -Werror (-Woverride-init).
 */
#if defined(__SSE2__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define KEY_HASH_MUL 0x3b3bbe73u
#define KH(a, b, c, d) ((uint32_t)(((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | \
				   (uint32_t)(uint8_t)(c) << 16 | (uint32_t)(uint8_t)(d) << 24) * \
				  KEY_HASH_MUL) >> 27)
static const uint8_t key_hash[32] = {
	[KH('t', 'y', 'p', 'e')] = F_TYPE + 1, [KH('t', 's', '"', ':')] = F_TS + 1,
	[KH('a', 'n', 'o', 'n')] = F_ANON + 1, [KH('s', 'e', 's', 's')] = F_SESSION + 1,
	[KH('f', 'i', 'l', 'm')] = F_FILM + 1, [KH('r', 'e', 'v', 'i')] = F_REVIEW_ID + 1,
	[KH('p', 'o', 's', 'i')] = F_POSITION + 1, [KH('d', 'u', 'r', 'a')] = F_DURATION + 1,
	[KH('e', 'v', 'e', 'n')] = F_EVENT + 1, [KH('f', 'r', 'o', 'm')] = F_FROM + 1,
	[KH('t', 'o', '"', ':')] = F_TO + 1, [KH('u', 'r', 'l', '"')] = F_URL + 1,
	[KH('r', 'e', 'f', 'e')] = F_REFERRER + 1, [KH('k', 'e', 'y', '"')] = F_KEY + 1,
	[KH('v', 'a', 'l', 'u')] = F_VALUE + 1, [KH('s', 'c', 'o', 'r')] = F_SCORE + 1,
	[KH('t', 'e', 'x', 't')] = F_TEXT + 1, [KH('r', 'a', 't', 'i')] = F_RATING + 1,
	[KH('o', 'p', '"', ':')] = F_OP + 1, [KH('t', 'o', 'k', 'e')] = F_TOKEN + 1,
};
#undef KH
/* key_len[f + 1]: key f's length */
#define KL(f, s) [(f) + 1] = sizeof(s) - 1
static const uint8_t key_len[F_UNKNOWN + 1] = {
	KL(F_TYPE, "type"), KL(F_TS, "ts"), KL(F_ANON, "anon_id"), KL(F_SESSION, "session_id"),
	KL(F_FILM, "film_id"), KL(F_REVIEW_ID, "review_id"), KL(F_POSITION, "position_ms"),
	KL(F_DURATION, "duration_ms"), KL(F_EVENT, "event"), KL(F_FROM, "from"), KL(F_TO, "to"),
	KL(F_URL, "url"), KL(F_REFERRER, "referrer"), KL(F_KEY, "key"), KL(F_VALUE, "value"),
	KL(F_SCORE, "score"), KL(F_TEXT, "text"), KL(F_RATING, "rating"), KL(F_OP, "op"),
	KL(F_TOKEN, "token"),
};
#undef KL
#endif

/* The field named by the n bytes at k (a decoded key), or F_UNKNOWN. */
static enum fld field_of(const char *k, size_t n)
{
	if (n < 2 || n > 15)
		return F_UNKNOWN;
	unsigned slot = key_slot[n][(uint8_t)k[1] & 31];
	if (slot && memcmp(key_pat[slot], k, n) == 0)
		return (enum fld)(slot - 1);
	return F_UNKNOWN;
}

struct jp {
	const char *p, *end;
};

static inline void skip_ws(struct jp *j)
{
	/* perf: compact beacons have no whitespace between tokens */
	if (likely(j->p < j->end && (uint8_t)*j->p > ' '))
		return;
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

#ifdef __SSE2__
/* Bit i set if p[i] is '"', '\\' or a control byte (< 0x20: max_epu8(x,
 * 0x1f) == 0x1f), for the 16 bytes at p (SSE2 is part of x86-64). */
static inline unsigned special_bits(__m128i w)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bslash)),
				 _mm_cmpeq_epi8(_mm_max_epu8(w, ctl), ctl));
	return (unsigned)_mm_movemask_epi8(m);
}

static inline unsigned special16(const char *p)
{
	return special_bits(_mm_loadu_si128((const __m128i *)(const void *)p));
}
#endif

/*
 * Scan a JSON string; j->p is just past the opening quote.  Without escapes
 * the value is returned as a slice of the input (*out = start); with escapes
 * it is decoded into dst (at most cap bytes) and *out = dst.  dst == NULL
 * means "skip": escapes are only syntax-checked.  Returns BCN_OK,
 * BCN_R_MALFORMED, BCN_R_BAD_UTF8 (escaped NUL / lone surrogate) or
 * BCN_R_TOO_LONG (decoded value longer than cap).  A raw slice is not checked
 * against cap; the caller does that.
 */
static int scan_string_ool(struct jp *j, char *dst, size_t cap, const char **out, size_t *outlen)
{
	const char *start = j->p, *p = j->p, *end = j->end;

#ifdef __SSE2__
	/* perf: 16 bytes at a time, jumping to the first special byte */
	while (end - p >= 16) {
		unsigned bits = special16(p);
		if (bits) {
			p += __builtin_ctz(bits);
			goto found;
		}
		p += 16;
	}
#endif
	/* perf: skip 8 bytes at a time while none is '"', '\\' or < 0x20
	 * (exact "has a zero byte" / "has a byte < n" tests); the byte loop
	 * below then finds which one it was */
	while (end - p >= 8) {
		uint64_t w, q, b, m;
		memcpy(&w, p, 8);
		q = w ^ 0x2222222222222222ull;
		b = w ^ 0x5c5c5c5c5c5c5c5cull;
		m = (((q - 0x0101010101010101ull) & ~q) | ((b - 0x0101010101010101ull) & ~b) |
		     ((w - 0x2020202020202020ull) & ~w)) & 0x8080808080808080ull;
		if (m) {
			/* the lowest flagged byte is always a true match */
			if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
				p += __builtin_ctzll(m) >> 3;
			break;
		}
		p += 8;
	}
	while (p < end && *p != '"' && *p != '\\' && (uint8_t)*p >= 0x20)
		p++;
#ifdef __SSE2__
found:
#endif
	if (unlikely(p >= end))
		return BCN_R_MALFORMED;
	if (likely(*p == '"')) {
		*out = start;
		*outlen = (size_t)(p - start);
		j->p = p + 1;
		return BCN_OK;
	}
	if (*p != '\\')
		return BCN_R_MALFORMED; /* raw control character */

	/* Slow path: escapes present. */
	size_t o = (size_t)(p - start);
	if (dst) {
		if (o > cap)
			return BCN_R_TOO_LONG;
		memcpy(dst, start, o);
	}
	while (p < end) {
		char c = *p;
		if (c == '"') {
			j->p = p + 1;
			*out = dst;
			*outlen = o;
			return BCN_OK;
		}
		if ((uint8_t)c < 0x20)
			return BCN_R_MALFORMED;
		char buf[4];
		size_t bl = 1;
		if (c != '\\') {
			buf[0] = c;
			p++;
		} else {
			if (p + 1 >= end)
				return BCN_R_MALFORMED;
			switch (p[1]) {
			case '"': buf[0] = '"'; break;
			case '\\': buf[0] = '\\'; break;
			case '/': buf[0] = '/'; break;
			case 'b': buf[0] = '\b'; break;
			case 'f': buf[0] = '\f'; break;
			case 'n': buf[0] = '\n'; break;
			case 'r': buf[0] = '\r'; break;
			case 't': buf[0] = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				if (end - p < 6 || hex4(p + 2, &cp))
					return BCN_R_MALFORMED;
				p += 6;
				if (cp == 0)
					return BCN_R_BAD_UTF8;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return BCN_R_BAD_UTF8; /* lone low surrogate */
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
						return BCN_R_BAD_UTF8;
					if (hex4(p + 2, &lo))
						return BCN_R_MALFORMED;
					if (lo < 0xdc00 || lo > 0xdfff)
						return BCN_R_BAD_UTF8;
					p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp < 0x80) {
					buf[0] = (char)cp;
				} else if (cp < 0x800) {
					buf[0] = (char)(0xc0 | (cp >> 6));
					buf[1] = (char)(0x80 | (cp & 0x3f));
					bl = 2;
				} else if (cp < 0x10000) {
					buf[0] = (char)(0xe0 | (cp >> 12));
					buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
					buf[2] = (char)(0x80 | (cp & 0x3f));
					bl = 3;
				} else {
					buf[0] = (char)(0xf0 | (cp >> 18));
					buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
					buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
					buf[3] = (char)(0x80 | (cp & 0x3f));
					bl = 4;
				}
				goto emit;
			}
			default:
				return BCN_R_MALFORMED;
			}
			p += 2;
		}
emit:
		if (dst) {
			if (o + bl > cap)
				return BCN_R_TOO_LONG;
			memcpy(dst + o, buf, bl);
		}
		o += bl;
	}
	return BCN_R_MALFORMED;
}

/* scan_string_ool through a copy of *j (perf: bcn_json_parse's cursor then
 * never has its address taken, so it stays in a register instead of going
 * through the stack, and a store-to-load forwarding, on every field). */
static inline int scan_string(struct jp *j, char *dst, size_t cap, const char **out, size_t *outlen)
{
	struct jp t = *j;
	int rc = scan_string_ool(&t, dst, cap, out, outlen);
	j->p = t.p;
	return rc;
}

/* scan_string for the common case, inline: a plain string whose closing
 * quote is within 16 bytes (the type, event and op values) is a slice of the
 * input; anything else goes to scan_string.  Same contract. */
static inline int scan_string_short(struct jp *j, char *dst, size_t cap, const char **out,
				    size_t *outlen)
{
#ifdef __SSE2__
	if (likely(j->end - j->p >= 16)) {
		unsigned bits = special16(j->p);
		if (likely(bits) && j->p[__builtin_ctz(bits)] == '"') {
			*out = j->p;
			*outlen = (size_t)__builtin_ctz(bits);
			j->p += *outlen + 1;
			return BCN_OK;
		}
	}
#endif
	return scan_string(j, dst, cap, out, outlen);
}

/* Kinds of JSON value as seen by a field. */
enum jv { JV_STRING, JV_INT, JV_NUMBER, JV_BOOL, JV_NULL };

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static const uint64_t pow10_8[8] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000 };

/* How many of p[0..8) lead as ASCII digits (SWAR: a digit's high nibble is 3,
 * and stays 3 after adding 6).  A carry out of a non-digit byte can only
 * spoil the bytes after it, so the first non-digit is found exactly.  *w
 * gets the 8 bytes. */
static inline unsigned lead_digits(const char *p, uint64_t *w)
{
	uint64_t v, t, nz;
	memcpy(&v, p, 8);
	t = ((v & 0xf0f0f0f0f0f0f0f0ull) ^ 0x3030303030303030ull) |
	    (((v + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) ^ 0x3030303030303030ull);
	nz = (((t & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | t) & 0x8080808080808080ull;
	*w = v;
	return nz ? (unsigned)__builtin_ctzll(nz) >> 3 : 8u;
}

/* The value of the first n (1..8) digits of w: shifted up so that they end
 * the word (zeros lead), then pairs, quads and the whole, each a multiply. */
static inline uint64_t digits_value(uint64_t w, unsigned n)
{
	w = (w << (8 * (8 - n))) & 0x0f0f0f0f0f0f0f0full;
	w = w * 2561 >> 8;
	w = (w & 0x00ff00ff00ff00ffull) * 6553601 >> 16;
	return (w & 0x0000ffff0000ffffull) * 42949672960001ull >> 32;
}
#endif

/*
 * Parse a JSON number at j->p.  Integers that fit in int64 go to *iv with
 * kind JV_INT; a syntactically valid number with fraction or exponent is
 * JV_NUMBER; an integer too large is reported with *overflow = 1.
 */
static int scan_number(struct jp *j, enum jv *kind, int64_t *iv, int *overflow)
{
	const char *p = j->p, *end = j->end;
	int neg = 0;
	uint64_t v = 0;

	*overflow = 0;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return BCN_R_MALFORMED;
	if (*p == '0') {
		p++;
	} else {
		/* perf: 19 digits cannot overflow a uint64_t, check only past them */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* perf: up to 15 digits without a multiply-add chain per digit
		 * (a ts has 13): count the leading digits of 8 bytes, convert
		 * them at once; 16 digits or more, or 8 or more with under 16
		 * bytes left, take the loops below */
		if (end - p >= 8) {
			uint64_t w1, w2;
			unsigned l1 = lead_digits(p, &w1), l2;
			if (l1 < 8) {
				v = digits_value(w1, l1);
				p += l1;
				goto digits_done;
			}
			if (end - p >= 16) {
				l2 = lead_digits(p + 8, &w2);
				if (l2 < 8) {
					v = digits_value(w1, 8) * pow10_8[l2] +
					    (l2 ? digits_value(w2, l2) : 0);
					p += 8 + l2;
					goto digits_done;
				}
			}
		}
#endif
		const char *nocheck = end - p > 19 ? p + 19 : end;
		while (p < nocheck && *p >= '0' && *p <= '9')
			v = v * 10 + (unsigned)(*p++ - '0');
		while (p < end && *p >= '0' && *p <= '9') {
			unsigned d = (unsigned)(*p - '0');
			uint64_t t;
			/* perf: same test as v > (UINT64_MAX - d) / 10, no division */
			if (__builtin_mul_overflow(v, 10u, &t) || __builtin_add_overflow(t, d, &t))
				*overflow = 1;
			else
				v = t;
			p++;
		}
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
digits_done:
#endif
	*kind = JV_INT;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return BCN_R_MALFORMED;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		*kind = JV_NUMBER;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return BCN_R_MALFORMED;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		*kind = JV_NUMBER;
	}
	if (v > (uint64_t)INT64_MAX)
		*overflow = 1;
	*iv = *overflow ? 0 : (neg ? -(int64_t)v : (int64_t)v);
	j->p = p;
	return BCN_OK;
}

static int scan_literal(struct jp *j, const char *lit, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return BCN_R_MALFORMED;
	j->p += n;
	return BCN_OK;
}

static size_t limit_of(enum fld f)
{
	switch (f) {
	case F_FROM: case F_TO: return BCN_MAX_SHORT;
	case F_URL: case F_REFERRER: return BCN_MAX_URL;
	case F_KEY: return BCN_MAX_KEY;
	case F_VALUE: return BCN_MAX_VALUE;
	case F_TEXT: return BCN_MAX_TEXT;
	case F_TOKEN: return BCN_MAX_TOKEN;
	default: return 64; /* enums and UUIDs: longer is simply wrong */
	}
}

static struct bcn_sref *sref_of(struct bcn_record *r, enum fld f)
{
	switch (f) {
	case F_FROM: return &r->from;
	case F_TO: return &r->to;
	case F_URL: return &r->url;
	case F_REFERRER: return &r->referrer;
	case F_KEY: return &r->key;
	case F_VALUE: return &r->value;
	case F_TEXT: return &r->text;
	default: return NULL;
	}
}

static int set_uuid(uint8_t dst[16], uint16_t *has, uint16_t bit, const char *s, size_t n)
{
	if (bcn_uuid_parse(s, n, dst))
		return BCN_R_BAD_UUID;
	*has |= bit;
	return BCN_OK;
}

/* A string value for field f. */
static int field_string(struct bcn_record *r, struct bcn_token *tok, enum fld f,
			const char *s, size_t n)
{
	switch (f) {
	case F_TYPE:
		r->type = (uint8_t)bcn_type_from(s, n);
		return r->type ? BCN_OK : BCN_R_UNKNOWN_TYPE;
	case F_EVENT:
		r->event = (uint8_t)bcn_event_from(s, n);
		return r->event ? BCN_OK : BCN_R_BAD_ENUM;
	case F_OP:
		r->op = (uint8_t)bcn_op_from(s, n);
		return r->op ? BCN_OK : BCN_R_BAD_ENUM;
	case F_ANON: return set_uuid(r->anon_id, &r->has, BCN_HAS_ANON, s, n);
	case F_SESSION: return set_uuid(r->session_id, &r->has, BCN_HAS_SESSION, s, n);
	case F_FILM: return set_uuid(r->film_id, &r->has, BCN_HAS_FILM, s, n);
	case F_REVIEW_ID: return set_uuid(r->review_id, &r->has, BCN_HAS_REVIEW, s, n);
	case F_TOKEN:
		if (n > BCN_MAX_TOKEN)
			return BCN_R_TOO_LONG;
		tok->p = s;
		tok->n = n;
		return BCN_OK;
	case F_FROM: case F_TO: case F_URL: case F_REFERRER:
	case F_KEY: case F_VALUE: case F_TEXT:
		r->has |= f == F_URL ? BCN_HAS_URL : f == F_KEY ? BCN_HAS_KEY
			  : f == F_TEXT ? BCN_HAS_TEXT : 0;
		return bcn_put_str(r, sref_of(r, f), s, n, limit_of(f),
			       f == F_TEXT ? (long)BCN_MAX_TEXT_CHARS : (long)BCN_MAX_TEXT);
	default:
		return BCN_R_BAD_FIELD_TYPE; /* a string where a number belongs */
	}
}

static int field_int(struct bcn_record *r, enum fld f, int64_t v)
{
	switch (f) {
	case F_TS:
		if (v < 0 || v > BCN_TS_MAX_MS)
			return BCN_R_OUT_OF_RANGE;
		r->ts = v;
		r->has |= BCN_HAS_TS;
		return BCN_OK;
	case F_POSITION:
	case F_DURATION:
		if (v < 0 || (uint64_t)v > BCN_MAX_POSITION_MS)
			return BCN_R_OUT_OF_RANGE;
		if (f == F_POSITION) {
			r->position_ms = (uint64_t)v;
			r->has |= BCN_HAS_POSITION;
		} else {
			r->duration_ms = (uint64_t)v;
			r->has |= BCN_HAS_DURATION;
		}
		return BCN_OK;
	case F_SCORE:
		if (v < -1 || v > 1)
			return BCN_R_OUT_OF_RANGE;
		r->score = (int8_t)v;
		r->has |= BCN_HAS_SCORE;
		return BCN_OK;
	case F_RATING:
		if (v < 1 || v > 10)
			return BCN_R_OUT_OF_RANGE;
		r->rating = (uint8_t)v;
		r->has |= BCN_HAS_RATING;
		return BCN_OK;
	default:
		return BCN_R_BAD_FIELD_TYPE; /* a number where a string belongs */
	}
}

/* Where each UUID field goes in the record and its has-bit (off 0: not a
 * UUID field; offset 0 is the type byte, never a UUID). */
static const struct { uint16_t off, has; } uuid_at[F_UNKNOWN + 1] = {
	[F_ANON] = { offsetof(struct bcn_record, anon_id), BCN_HAS_ANON },
	[F_SESSION] = { offsetof(struct bcn_record, session_id), BCN_HAS_SESSION },
	[F_FILM] = { offsetof(struct bcn_record, film_id), BCN_HAS_FILM },
	[F_REVIEW_ID] = { offsetof(struct bcn_record, review_id), BCN_HAS_REVIEW },
};

/* The two bytes at p as stored; COMMA_QUOTE is ',' then '"' in memory. */
static inline uint16_t load16(const char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define COMMA_QUOTE ((uint16_t)(',' | '"' << 8))
#else
#define COMMA_QUOTE ((uint16_t)(',' << 8 | '"'))
#endif

static inline int is_numeric_field(enum fld f)
{
	return f == F_TS || f == F_POSITION || f == F_DURATION || f == F_SCORE || f == F_RATING;
}

int bcn_json_parse(const char *buf, size_t len, struct bcn_record *r, struct bcn_token *tok)
{
	struct jp j = { buf, buf ? buf + len : buf }; /* NULL + 0 is UB in C */
	uint32_t seen = 0;
	char keybuf[32];
	int rc;

	if (unlikely(len > BCN_MAX_BEACON))
		return BCN_R_TOO_LARGE;
	memset(r, 0, offsetof(struct bcn_record, node));
	tok->p = NULL;
	tok->n = 0;

	skip_ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return BCN_R_MALFORMED;
	j.p++;
	skip_ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto done;
	}
	for (;;) {
		const char *k, *v;
		size_t kn, vn;

		if (j.p >= j.end || *j.p != '"')
			return BCN_R_MALFORMED;
		j.p++;
next_key:;
		enum fld f;
#ifdef __SSE2__
		/* perf: a key of under 16 plain bytes (all the known ones) is
		 * found inline, without a call */
		if (likely(j.end - j.p >= 18)) {
			__m128i w = _mm_loadu_si128((const __m128i *)(const void *)j.p);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			{
				/* a compact known key, by its first four bytes */
				uint32_t u;
				memcpy(&u, j.p, 4);
				unsigned hs = key_hash[(u * KEY_HASH_MUL) >> 27];
				uint32_t want = hs ? (2u << key_len[hs]) - 1 : 1u << 16;
				__m128i pat = _mm_load_si128((const __m128i *)(const void *)key_pat[hs]);
				uint32_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(w, pat));
				if (likely((eq & want) == want)) {
					f = (enum fld)(hs - 1);
					j.p += key_len[hs] + 1;
					if (likely(j.p[0] == ':' && (uint8_t)j.p[1] > ' ')) {
						j.p++;
						goto have_value;
					}
					goto have_key;
				}
			}
#endif
			unsigned bits = special_bits(w);
			if (likely(bits) && j.p[__builtin_ctz(bits)] == '"') {
				/* the key's bytes and its closing quote, against the
				 * one known key of that length and second byte */
				kn = (size_t)__builtin_ctz(bits);
				unsigned slot = key_slot[kn][(uint8_t)j.p[1] & 31];
				__m128i pat = _mm_load_si128((const __m128i *)(const void *)key_pat[slot]);
				unsigned eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, pat));
				if (likely((~eq & ((2u << kn) - 1)) == 0)) {
					f = (enum fld)(slot - 1);
					j.p += kn + 1;
					/* two bytes are left (18 were): the colon and
					 * the value's first byte need no bounds check */
					if (likely(j.p[0] == ':' && (uint8_t)j.p[1] > ' ')) {
						j.p++;
						goto have_value;
					}
					goto have_key;
				}
				/* plain, unknown */
				f = F_UNKNOWN;
				j.p += kn + 1;
				goto have_key;
			}
		}
#endif
		rc = scan_string(&j, keybuf, sizeof(keybuf), &k, &kn);
		if (rc == BCN_R_TOO_LONG) {
			/* an escaped key longer than any we know: skip it */
			rc = scan_string(&j, NULL, 0, &k, &kn);
			if (rc)
				return rc;
			f = F_UNKNOWN;
		} else if (rc) {
			return rc;
		} else {
			f = field_of(k, kn);
		}
#ifdef __SSE2__
have_key:
#endif
		/* perf: compact JSON has the colon and the value right after
		 * the key; anything else takes the general path */
		if (likely(j.end - j.p >= 2 && j.p[0] == ':' && (uint8_t)j.p[1] > ' ')) {
			j.p++;
		} else {
			skip_ws(&j);
			if (j.p >= j.end || *j.p != ':')
				return BCN_R_MALFORMED;
			j.p++;
			skip_ws(&j);
			if (j.p >= j.end)
				return BCN_R_MALFORMED;
		}
#ifdef __SSE2__
have_value:;
#endif
		/* a known field once only (unknown ones may repeat: their bit
		 * is masked off) */
		uint32_t bit = (1u << f) & ~(1u << F_UNKNOWN);
		if (unlikely(seen & bit))
			return BCN_R_DUPLICATE_FIELD;
		seen |= bit;

		char c = *j.p;
		/* perf: a UUID field whose value is 36 bytes and a closing quote
		 * is parsed in place: bcn_uuid_parse accepts only hex digits and
		 * dashes, so the value cannot hide a quote, escape or control
		 * character, and scanning it as a string first would be wasted.
		 * Anything else (a bad UUID too) takes the general path, which
		 * gives the exact reject reason */
		if (c == '"' && uuid_at[f].off && j.end - j.p > 37 && j.p[37] == '"' &&
		    bcn_uuid_parse36(j.p + 1, (uint8_t *)r + uuid_at[f].off) == 0) {
			r->has |= uuid_at[f].has;
			j.p += 38;
		} else if (c == '"') {
			j.p++;
			if (f == F_UNKNOWN) {
				rc = scan_string(&j, NULL, 0, &v, &vn);
				if (rc)
					return rc;
			} else {
				struct bcn_sref *sr = sref_of(r, f);
				char small[64];
				char *dst = sr ? r->arena + r->arena_used : small;
				size_t cap = sr ? limit_of(f) : sizeof(small);
				if (f == F_TOKEN)
					dst = NULL; /* tokens are base64url: no escapes */
				rc = scan_string_short(&j, dst, cap, &v, &vn);
				if (rc == BCN_R_TOO_LONG && !sr)
					rc = f == F_TYPE ? BCN_R_UNKNOWN_TYPE
					     : (f == F_EVENT || f == F_OP) ? BCN_R_BAD_ENUM
					     : is_numeric_field(f) ? BCN_R_BAD_FIELD_TYPE
					     : BCN_R_BAD_UUID;
				if (rc)
					return rc;
				if (f == F_TOKEN && v == NULL)
					return BCN_R_BAD_TOKEN;
				rc = field_string(r, tok, f, v, vn);
				if (rc)
					return rc;
			}
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			enum jv kind;
			int64_t iv;
			int ovf;
			rc = scan_number(&j, &kind, &iv, &ovf);
			if (rc)
				return rc;
			if (f != F_UNKNOWN) {
				if (!is_numeric_field(f))
					return BCN_R_BAD_FIELD_TYPE;
				if (kind != JV_INT)
					return BCN_R_BAD_FIELD_TYPE;
				if (ovf)
					return BCN_R_OUT_OF_RANGE;
				rc = field_int(r, f, iv);
				if (rc)
					return rc;
			}
		} else if (c == 't' || c == 'f') {
			rc = c == 't' ? scan_literal(&j, "true", 4) : scan_literal(&j, "false", 5);
			if (rc)
				return rc;
			if (f != F_UNKNOWN)
				return BCN_R_BAD_FIELD_TYPE;
		} else if (c == 'n') {
			rc = scan_literal(&j, "null", 4);
			if (rc)
				return rc;
			/* null: the field is absent */
		} else {
			return BCN_R_MALFORMED; /* nested object/array or garbage */
		}

		/* perf: compact JSON goes on with the next key's quote */
		if (likely(j.end - j.p >= 2 && load16(j.p) == COMMA_QUOTE)) {
			j.p += 2;
			goto next_key;
		}
		skip_ws(&j);
		if (j.p >= j.end)
			return BCN_R_MALFORMED;
		if (*j.p == ',') {
			j.p++;
			skip_ws(&j);
			continue;
		}
		if (*j.p == '}') {
			j.p++;
			break;
		}
		return BCN_R_MALFORMED;
	}
done:
	skip_ws(&j);
	if (j.p != j.end)
		return BCN_R_MALFORMED;
	if (!(seen & (1u << F_TYPE)) || r->type == BCN_T_NONE)
		return BCN_R_MISSING_FIELD;
	return BCN_OK;
}
