/*
 * bcn_text.c - UUID and UTF-8 helpers shared by the JSON and binary codecs.
 *
 * Why this exists: both forms carry the same UUIDs and strings and must
 * accept and reject exactly the same values.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "bcn_proto.h"


#ifdef __SSE2__
/*
 * perf: 16 hex digit pairs of a canonical UUID in SSE2 (part of x86-64):
 * the 32 digits are gathered without the dashes (six unaligned loads),
 * checked as a whole, turned into nibbles and packed two by two.  A JSON
 * beacon carries three or four UUIDs; this is a fifth of the byte loop's
 * instructions.
 */
static inline __m128i hex_nibbles(__m128i x, unsigned *bad)
{
	const __m128i nine = _mm_set1_epi8(9), five = _mm_set1_epi8(5);
	__m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));                 /* '0'..'9' -> 0..9  */
	__m128i l = _mm_sub_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)), _mm_set1_epi8('a')); /* a-f/A-F -> 0..5 */
	__m128i isd = _mm_cmpeq_epi8(_mm_min_epu8(d, nine), d);          /* d <= 9 unsigned   */
	__m128i isl = _mm_cmpeq_epi8(_mm_min_epu8(l, five), l);          /* l <= 5 unsigned   */
	*bad |= (unsigned)_mm_movemask_epi8(_mm_or_si128(isd, isl)) ^ 0xffffu;
	return _mm_or_si128(_mm_and_si128(isd, d),
			    _mm_andnot_si128(isd, _mm_add_epi8(l, _mm_set1_epi8(10))));
}

static inline __m128i hex_pack(__m128i nib)
{
	/* 16-bit lane = first digit | second digit << 8 -> first << 4 | second */
	__m128i t = _mm_or_si128(_mm_slli_epi16(nib, 4), _mm_srli_epi16(nib, 8));
	return _mm_and_si128(t, _mm_set1_epi16(0x00ff));
}

static inline uint64_t ld64(const char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t ld32(const char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

int bcn_uuid_parse(const char *s, size_t n, uint8_t out[16])
{
	unsigned bad = 0;

	if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return -1;
	/* the 32 digits in two registers, in order, built from unaligned
	 * loads (not through memory: a 16-byte load of smaller stores would
	 * stall on store forwarding) */
	__m128i a = _mm_set_epi64x((long long)(ld32(s + 9) | ld32(s + 14) << 32), (long long)ld64(s));
	__m128i b = _mm_set_epi64x((long long)ld64(s + 28), (long long)(ld32(s + 19) | ld32(s + 24) << 32));
	a = hex_nibbles(a, &bad);
	b = hex_nibbles(b, &bad);
	if (bad)
		return -1;
	_mm_storeu_si128((__m128i *)(void *)out, _mm_packus_epi16(hex_pack(a), hex_pack(b)));
	return 0;
}
#else
static const int8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

int bcn_uuid_parse(const char *s, size_t n, uint8_t out[16])
{
	/* where each byte's two hex digits start in 8-4-4-4-12 */
	static const uint8_t at[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };
	uint8_t tmp[16];
	unsigned bad = 0;

	if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return -1;
	/* perf: no branch per digit; a non-hex digit (hexval 0) becomes
	 * 0xffffffff here and is caught once after the loop */
	for (unsigned i = 0; i < 16; i++) {
		unsigned hi = (unsigned)hexval[(uint8_t)s[at[i]]] - 1u;
		unsigned lo = (unsigned)hexval[(uint8_t)s[at[i] + 1]] - 1u;
		bad |= hi | lo;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	if (bad > 15u)
		return -1;
	memcpy(out, tmp, 16);
	return 0;
}
#endif

void bcn_uuid_format(const uint8_t u[16], char out[36])
{
	static const char hx[] = "0123456789abcdef";
	unsigned o = 0;
	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[u[i] >> 4];
		out[o++] = hx[u[i] & 15];
	}
}

int bcn_uuid_is_nil(const uint8_t u[16])
{
	uint64_t a, b;
	memcpy(&a, u, 8);
	memcpy(&b, u + 8, 8);
	return (a | b) == 0;
}

long bcn_utf8_count(const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	long cps = 0;
	size_t i = 0;

	while (i < n) {
		/* ASCII fast path, 8 bytes at a time. */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			/* a zero byte anywhere? */
			if ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)
				return -1;
			i += 8;
			cps += 8;
		}
		if (i >= n)
			break;
		uint8_t c = s[i];
		if (c < 0x80) {
			if (c == 0)
				return -1;
			i++;
		} else if (c >= 0xc2 && c <= 0xdf) {
			if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80)
				return -1;
			i += 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			if (i + 2 >= n || (s[i + 1] & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80)
				return -1;
			if (c == 0xe0 && s[i + 1] < 0xa0)
				return -1; /* overlong */
			if (c == 0xed && s[i + 1] >= 0xa0)
				return -1; /* surrogate */
			i += 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			if (i + 3 >= n || (s[i + 1] & 0xc0) != 0x80 ||
			    (s[i + 2] & 0xc0) != 0x80 || (s[i + 3] & 0xc0) != 0x80)
				return -1;
			if (c == 0xf0 && s[i + 1] < 0x90)
				return -1; /* overlong */
			if (c == 0xf4 && s[i + 1] >= 0x90)
				return -1; /* > U+10FFFF */
			i += 4;
		} else {
			return -1;
		}
		cps++;
	}
	return cps;
}

/* Store a string field into the record's arena, checking length and UTF-8. */
int bcn_put_str(struct bcn_record *r, struct bcn_sref *dst, const char *s,
		   size_t n, size_t limit, long max_cps)
{
	if (n > limit || r->arena_used + n > BCN_ARENA_SIZE)
		return BCN_R_TOO_LONG;
	if (n) {
		long cps = bcn_utf8_count(s, n);
		if (cps < 0)
			return BCN_R_BAD_UTF8;
		if (cps > max_cps)
			return BCN_R_TOO_LONG;
	}
	if (s != r->arena + r->arena_used)
		memmove(r->arena + r->arena_used, s, n);
	dst->off = r->arena_used;
	dst->len = (uint16_t)n;
	r->arena_used = (uint16_t)(r->arena_used + n);
	return BCN_OK;
}

