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
#include "bcn_uuid.h"


int bcn_uuid_parse(const char *s, size_t n, uint8_t out[16])
{
	return n == 36 ? bcn_uuid_parse36(s, out) : -1;
}

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

#ifdef __SSE2__
	/* Pure ASCII without NUL, the common case (URLs, referrers, names):
	 * whole 16-byte blocks and one overlapping last block, then the count
	 * is n.  Anything else goes through the loop below from the start.
	 * perf: the loop alone took a third of a binary page beacon's
	 * instructions (perf/RESULTS.md, DPDK eighth round) */
	if (n >= 16) {
		const __m128i z = _mm_setzero_si128();
		unsigned bad = 0;
		for (size_t j = 0; j + 16 <= n; j += 16) {
			__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
			bad |= (unsigned)(_mm_movemask_epi8(w) | _mm_movemask_epi8(_mm_cmpeq_epi8(w, z)));
		}
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
		bad |= (unsigned)(_mm_movemask_epi8(w) | _mm_movemask_epi8(_mm_cmpeq_epi8(w, z)));
		if (!bad)
			return (long)n;
	}
#endif
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

