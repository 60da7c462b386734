/*
 * bcn_uuid.h - the canonical UUID parser, inline for the parsers' hot paths.
 *
 * Why a header of its own: a JSON view beacon carries three UUIDs, and as a
 * call bcn_uuid_parse was a fifth of the JSON parser's time (perf, bench-parse);
 * bcn_json.c inlines bcn_uuid_parse36() and everything else calls
 * bcn_uuid_parse() (bcn_text.c), which is this same code.  The SSE2 form (part
 * of x86-64) and the portable byte loop accept exactly the same strings;
 * tests/unit/test_names.c checks every byte value at every position against
 * a reference parser.
 */
#ifndef BCN_UUID_H
#define BCN_UUID_H

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifdef __SSE2__
/*
 * perf: 16 hex digit pairs of a canonical UUID in SSE2: the four dashes are
 * checked with one 16-byte compare, the 32 digits are gathered without the
 * dashes (six unaligned loads), checked as a whole, turned into nibbles and
 * packed two by two.
 */
static inline __m128i bcn_uuid_nibbles(__m128i x, unsigned *bad)
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

static inline __m128i bcn_uuid_pack(__m128i nib)
{
	/* 16-bit lane = first digit | second digit << 8 -> first << 4 | second */
	__m128i t = _mm_or_si128(_mm_slli_epi16(nib, 4), _mm_srli_epi16(nib, 8));
	return _mm_and_si128(t, _mm_set1_epi16(0x00ff));
}

static inline uint64_t bcn_uuid_ld64(const char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t bcn_uuid_ld32(const char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Parse the 36 bytes at s as an 8-4-4-4-12 UUID into out.  Returns 0, or -1
 * with out unchanged (a byte that is not a hex digit or a dash out of place). */
static inline int bcn_uuid_parse36(const char *s, uint8_t out[16])
{
	unsigned bad = 0;
	/* s[8], s[13], s[18], s[23] are bytes 0, 5, 10 and 15 of s + 8 */
	__m128i mid = _mm_loadu_si128((const __m128i *)(const void *)(s + 8));
	unsigned dash = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(mid, _mm_set1_epi8('-')));

	if ((dash & 0x8421u) != 0x8421u)
		return -1;
	/* the 32 digits in two registers, in order, built from unaligned
	 * loads (not through memory: a 16-byte load of smaller stores would
	 * stall on store forwarding) */
	__m128i a = _mm_set_epi64x((long long)(bcn_uuid_ld32(s + 9) | bcn_uuid_ld32(s + 14) << 32),
				   (long long)bcn_uuid_ld64(s));
	__m128i b = _mm_set_epi64x((long long)bcn_uuid_ld64(s + 28),
				   (long long)(bcn_uuid_ld32(s + 19) | bcn_uuid_ld32(s + 24) << 32));
	a = bcn_uuid_nibbles(a, &bad);
	b = bcn_uuid_nibbles(b, &bad);
	if (bad)
		return -1;
	_mm_storeu_si128((__m128i *)(void *)out, _mm_packus_epi16(bcn_uuid_pack(a), bcn_uuid_pack(b)));
	return 0;
}
#else
/* Portable form: one table look-up per digit. */
static const int8_t bcn_uuid_hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static inline int bcn_uuid_parse36(const char *s, uint8_t out[16])
{
	/* where each byte's two hex digits start in 8-4-4-4-12 */
	static const uint8_t at[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };
	uint8_t tmp[16];
	unsigned bad = 0;

	if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return -1;
	/* perf: no branch per digit; a non-hex digit (hexval 0) becomes
	 * 0xffffffff here and is caught once after the loop */
	for (unsigned i = 0; i < 16; i++) {
		unsigned hi = (unsigned)bcn_uuid_hexval[(uint8_t)s[at[i]]] - 1u;
		unsigned lo = (unsigned)bcn_uuid_hexval[(uint8_t)s[at[i] + 1]] - 1u;
		bad |= hi | lo;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	if (bad > 15u)
		return -1;
	memcpy(out, tmp, 16);
	return 0;
}
#endif

#endif
