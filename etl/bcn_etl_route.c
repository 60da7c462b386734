/*
 * bcn_etl_route.c - one-pass flat-JSON check and "type" lookup.  See
 * bcn_etl_route.h.
 *
 * Speed: the record is ~250-1000 bytes, mostly UUID and number characters;
 * strings are skipped 16 bytes at a time with SSE2 where there is SSE2,
 * else 8 at a time (SWAR: the exact "has a byte equal to" test for '"' and
 * '\\', and "has a byte < 0x20" for control characters), straight to the
 * first flagged byte, then byte by byte.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "bcn_etl_conf.h"
#include "bcn_etl_route.h"
#include "bcn_record.h"
#include "bcn_stat.h"

const char *bcn_etl_reason_name(unsigned r)
{
	static const char *const n[BCN_ETL_R__COUNT] = { "ok", "bad_json", "no_type", "unknown_type",
							 "wrong_topic", "too_large", "rejected" };
	return r < BCN_ETL_R__COUNT ? n[r] : "?";
}

int bcn_etl_stream_of(unsigned t)
{
	switch (t) {
	case BCN_T_VIEW:
	case BCN_T_PLAYER:
		return BCN_ETL_VIEWS;
	case BCN_T_PAGE:
	case BCN_T_ACTION:
		return BCN_ETL_EVENTS;
	case BCN_T_LIKE:
	case BCN_T_REVIEW:
	case BCN_T_BOOKMARK:
		return BCN_ETL_ACTIONS;
	default:
		return -1;
	}
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t has_zero(uint64_t v) { return (v - ONES) & ~v & HIGHS; }
static inline uint64_t has_less(uint64_t v, unsigned n) { return (v - ONES * n) & ~v & HIGHS; }


static inline int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static inline int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* p points just after an opening quote.  Returns the index of the closing
 * quote, or (size_t)-1 on a bad string.  *esc is set if it had escapes.
 * perf: always inline (24 strings a view record; as a call, its set-up and
 * the escape flag through memory were a third of its cost). */
static inline __attribute__((always_inline)) size_t scan_string(const char *p, size_t i, size_t n, int *esc)
{
	*esc = 0;
	for (;;) {
#ifdef __SSE2__
		/* 16 bytes at a time: '"', '\\', or a byte <= 0x1f (unsigned) */
		const __m128i dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
			      ctl = _mm_set1_epi8(0x1f);
		while (i + 16 <= n) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_cmpeq_epi8(v, bs)),
						   _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
			unsigned m = (unsigned)_mm_movemask_epi8(hit);
			if (m) {
				i += (unsigned)__builtin_ctz(m);
				goto flagged;
			}
			i += 16;
		}
#endif
		while (i + 8 <= n) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			uint64_t m = has_zero(v ^ (ONES * '"')) | has_zero(v ^ (ONES * '\\')) | has_less(v, 0x20);
			if (m) {
				/* the lowest flagged byte is exact (a borrow only runs upwards) */
				i += (size_t)(__builtin_ctzll(m) >> 3);
				break;
			}
			i += 8;
		}
#ifdef __SSE2__
	flagged:
#endif
		if (i >= n)
			return (size_t)-1;
		unsigned char c = (unsigned char)p[i];
		if (c == '"')
			return i;
		if (c < 0x20)
			return (size_t)-1;
		if (c == '\\') {
			*esc = 1;
			if (i + 1 >= n)
				return (size_t)-1;
			switch (p[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				i += 2;
				break;
			case 'u':
				if (i + 6 > n || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) || !is_hex(p[i + 4]) ||
				    !is_hex(p[i + 5]))
					return (size_t)-1;
				i += 6;
				break;
			default:
				return (size_t)-1;
			}
			continue;
		}
		i++;
	}
}

/* A JSON number (RFC 8259 grammar) at p[i]; returns the index after it or
 * (size_t)-1. */
static size_t scan_number(const char *p, size_t i, size_t n)
{
	if (i < n && p[i] == '-')
		i++;
	if (i >= n)
		return (size_t)-1;
	if (p[i] == '0') {
		i++;
	} else if (p[i] >= '1' && p[i] <= '9') {
		/* perf: 8 bytes at a time to the first non-digit (SWAR,
		 * bcn_etl_not_digits); a ts has 13 digits */
		while (i + 8 <= n) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			uint64_t nd = bcn_etl_not_digits(v);
			if (nd) {
				i += (size_t)(__builtin_ctzll(nd) >> 3);
				goto digits_done;
			}
			i += 8;
		}
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	digits_done:;
	} else {
		return (size_t)-1;
	}
	if (i < n && p[i] == '.') {
		size_t s = ++i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == s)
			return (size_t)-1;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		size_t s = i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == s)
			return (size_t)-1;
	}
	return i;
}

static int route(const char *p, size_t n, unsigned *type, struct bcn_etl_tok *tok, int maxtok,
		 int *ntok)
{
	size_t i = 0;
	int nt = 0;
	int seen_type = 0, type_bad = 0;
	*type = BCN_T_NONE;
	while (i < n && is_ws(p[i]))
		i++;
	if (unlikely(i >= n || p[i] != '{'))
		return BCN_ETL_R_BAD_JSON;
	i++;
	while (i < n && is_ws(p[i]))
		i++;
	if (i < n && p[i] == '}') {
		i++;
		goto tail;
	}
	for (;;) {
		int esc;
		if (unlikely(i >= n || p[i] != '"'))
			return BCN_ETL_R_BAD_JSON;
		size_t ks = i + 1, ke = scan_string(p, ks, n, &esc);
		if (unlikely(ke == (size_t)-1))
			return BCN_ETL_R_BAD_JSON;
		int is_type = !esc && ke - ks == 4 && !memcmp(p + ks, "type", 4);
		struct bcn_etl_tok *tk = nt < maxtok ? &tok[nt] : NULL;
		nt++;
		if (tk) {
			tk->ko = (uint32_t)ks;
			tk->kl = (uint32_t)(ke - ks);
			tk->kesc = (uint8_t)esc;
		}
		i = ke + 1;
		while (i < n && is_ws(p[i]))
			i++;
		if (unlikely(i >= n || p[i] != ':'))
			return BCN_ETL_R_BAD_JSON;
		i++;
		while (i < n && is_ws(p[i]))
			i++;
		if (unlikely(i >= n))
			return BCN_ETL_R_BAD_JSON;
		if (is_type && seen_type)
			return BCN_ETL_R_BAD_JSON; /* ClickHouse would refuse it anyway */
		switch (p[i]) {
		case '"': {
			size_t vs = i + 1, ve = scan_string(p, vs, n, &esc);
			if (unlikely(ve == (size_t)-1))
				return BCN_ETL_R_BAD_JSON;
			if (is_type) {
				seen_type = 1;
				*type = esc ? BCN_T_NONE : bcn_type_from(p + vs, ve - vs);
				type_bad = *type == BCN_T_NONE;
			}
			if (tk) {
				tk->vo = (uint32_t)vs;
				tk->vl = (uint32_t)(ve - vs);
				tk->vkind = BCN_ETL_V_STRING;
				tk->vesc = (uint8_t)esc;
			}
			i = ve + 1;
			break;
		}
		case 't':
		case 'f':
		case 'n': {
			static const char *const lit[] = { "true", "false", "null" };
			const char *l = lit[p[i] == 't' ? 0 : p[i] == 'f' ? 1 : 2];
			size_t ll = strlen(l);
			if (unlikely(n - i < ll || memcmp(p + i, l, ll)))
				return BCN_ETL_R_BAD_JSON;
			if (tk) {
				tk->vo = (uint32_t)i;
				tk->vl = (uint32_t)ll;
				tk->vkind = BCN_ETL_V_LITERAL;
				tk->vesc = 0;
			}
			i += ll;
			if (is_type)
				seen_type = 1, type_bad = 2;
			break;
		}
		default: {
			size_t vs = i;
			i = scan_number(p, i, n);
			if (unlikely(i == (size_t)-1))
				return BCN_ETL_R_BAD_JSON; /* also '{' and '[': flat only */
			if (tk) {
				tk->vo = (uint32_t)vs;
				tk->vl = (uint32_t)(i - vs);
				tk->vkind = BCN_ETL_V_NUMBER;
				tk->vesc = 0;
			}
			if (is_type)
				seen_type = 1, type_bad = 2;
			break;
		}
		}
		while (i < n && is_ws(p[i]))
			i++;
		if (unlikely(i >= n))
			return BCN_ETL_R_BAD_JSON;
		if (p[i] == ',') {
			i++;
			while (i < n && is_ws(p[i]))
				i++;
			continue;
		}
		if (unlikely(p[i] != '}'))
			return BCN_ETL_R_BAD_JSON;
		i++;
		break;
	}
tail:
	while (i < n && is_ws(p[i]))
		i++;
	if (unlikely(i != n)) {
		*type = BCN_T_NONE;
		return BCN_ETL_R_BAD_JSON;
	}
	if (!seen_type || type_bad == 2) {
		*type = BCN_T_NONE;
		return BCN_ETL_R_NO_TYPE;
	}
	if (type_bad)
		return BCN_ETL_R_UNKNOWN_TYPE;
	*ntok = nt <= maxtok && n <= UINT32_MAX ? nt : -1;
	return BCN_ETL_R_OK;
}

int bcn_etl_route(const char *p, size_t n, unsigned *type)
{
	int nt;
	int r = route(p, n, type, NULL, 0, &nt);
	if (r != BCN_ETL_R_OK)
		*type = BCN_T_NONE;
	return r;
}

int bcn_etl_route_tok(const char *p, size_t n, unsigned *type, struct bcn_etl_tok *tok, int maxtok,
		      int *ntok)
{
	*ntok = -1;
	int r = route(p, n, type, tok, maxtok, ntok);
	if (r != BCN_ETL_R_OK) {
		*type = BCN_T_NONE;
		*ntok = -1;
	}
	return r;
}
