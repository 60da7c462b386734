/*
 * bcn_etl_rowbin.c - record JSON -> ClickHouse RowBinary.  See
 * bcn_etl_rowbin.h.
 *
 * Tokenizing is jsmn's (strict); what this file adds is the value
 * conversion, kept deliberately narrow so that every accepted value has one
 * obvious meaning that ClickHouse's JSONEachRow parser gives it too:
 *   UUID    a 36-byte string 8-4-4-4-12 of hex digits (either case), no
 *           escapes -> 16 bytes: the first 8 bytes reversed, then the last
 *           8 reversed (ClickHouse's two little-endian UInt64 halves;
 *           checked against the server at start-up, bcn_rb_uuid_probe)
 *   [U]IntN an integer literal (JSON grammar: no leading zero, no fraction,
 *           no exponent, no '-' for unsigned) within the type's range ->
 *           N/8 bytes little-endian
 *   String  a JSON string -> varint length + the unescaped bytes: \" \\ \/
 *           \b \f \n \r \t and \uXXXX outside the surrogate range (UTF-8,
 *           \u0000 -> one 0 byte, as ClickHouse does); raw bytes >= 0x20 are
 *           copied as they are (ClickHouse does not check UTF-8 either)
 * Anything else -- a surrogate escape, a number for a string, a string or
 * null or true for a number, an out-of-range integer, a missing column, a
 * key given twice or written with escapes -- is BCN_RB_FALLBACK, and the
 * record goes to ClickHouse as JSONEachRow, byte for byte.
 */
#include <stdio.h>
#include <string.h>
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#include "bcn_etl_rowbin.h"
#include "bcn_stat.h"
#include "bcn_uuid.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

const uint8_t bcn_rb_uuid_probe[16] = { 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00,
					0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88 };

static const struct {
	const char *name;
	enum bcn_rb_type t;
} types[] = {
	{ "String", BCN_RB_STRING }, { "UUID", BCN_RB_UUID },	  { "Int8", BCN_RB_INT8 },
	{ "Int16", BCN_RB_INT16 },   { "Int32", BCN_RB_INT32 },	  { "Int64", BCN_RB_INT64 },
	{ "UInt8", BCN_RB_UINT8 },   { "UInt16", BCN_RB_UINT16 }, { "UInt32", BCN_RB_UINT32 },
	{ "UInt64", BCN_RB_UINT64 },
};

static int ident(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int bcn_rb_tsv_fields(const char *s, size_t n, const char **f, size_t *fl, int max)
{
	int nf = 0;
	for (size_t a = 0; a <= n && nf < max;) {
		size_t b = a;
		while (b < n && s[b] != '\t')
			b++;
		f[nf] = s + a;
		fl[nf++] = b - a;
		a = b + 1;
	}
	return nf;
}

int bcn_rb_plan_parse(struct bcn_rb_plan *p, const char *tsv, size_t len)
{
	memset(p, 0, sizeof(*p));
	size_t i = 0, cl = 1;
	p->collist[0] = '(';
	while (i < len) {
		const char *f[4] = { 0 };
		size_t fl[4] = { 0 };
		size_t ls = i;
		while (i < len && tsv[i] != '\n')
			i++;
		size_t le = i++;
		if (le == ls)
			continue;
		int nf = bcn_rb_tsv_fields(tsv + ls, le - ls, f, fl, 4);
		if (nf < 2) {
			snprintf(p->why, sizeof(p->why), "DESCRIBE answer not understood");
			goto none;
		}
		/* MATERIALIZED and ALIAS columns are not sent */
		if (nf >= 3 && fl[2] && !(fl[2] == 7 && !memcmp(f[2], "DEFAULT", 7)))
			continue;
		if (!ident(f[0], fl[0]) || fl[0] >= sizeof(p->col[0].name)) {
			snprintf(p->why, sizeof(p->why), "column '%.*s': not a plain name",
				 (int)(fl[0] > 40 ? 40 : fl[0]), f[0]);
			goto none;
		}
		if (p->ncols >= BCN_RB_MAX_COLS) {
			snprintf(p->why, sizeof(p->why), "more than %d columns", BCN_RB_MAX_COLS);
			goto none;
		}
		struct bcn_rb_col *c = &p->col[p->ncols];
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			if (strlen(types[k].name) == fl[1] && !memcmp(types[k].name, f[1], fl[1]))
				c->type = (uint8_t)types[k].t;
		if (!c->type) {
			snprintf(p->why, sizeof(p->why), "column %.*s: type %.*s is not encoded here",
				 (int)fl[0], f[0], (int)(fl[1] > 40 ? 40 : fl[1]), f[1]);
			goto none;
		}
		memcpy(c->name, f[0], fl[0]);
		c->name[fl[0]] = 0;
		c->len = (uint8_t)fl[0];
		/* `name`, URL-encoded backquotes */
		int w = snprintf(p->collist + cl, sizeof(p->collist) - cl, "%s%%60%s%%60",
				 p->ncols ? "," : "", c->name);
		if (w < 0 || (size_t)w >= sizeof(p->collist) - cl - 1) {
			snprintf(p->why, sizeof(p->why), "column list too long");
			goto none;
		}
		cl += (size_t)w;
		p->ncols++;
	}
	if (!p->ncols) {
		snprintf(p->why, sizeof(p->why), "no insertable columns");
		goto none;
	}
	p->collist[cl++] = ')';
	p->collist[cl] = 0;
	return p->ncols;
none:
	p->ncols = 0;
	p->collist[0] = 0;
	return 0;
}

/* hex digit -> value, anything else -> 0xff */
static const uint8_t hexv[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 10, 11, 12, 13, 14, 15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 10, 11, 12, 13, 14, 15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 130, 131, 0xff, 0xff, 0xff, 0xff, 0xff, 137, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static inline int hexval(unsigned char c)
{
	return hexv[c] == 0xff ? -1 : hexv[c];
}

/* 36-byte canonical UUID text -> 16 bytes in ClickHouse's RowBinary order
 * (byte k of the UUID at position 7 - k, resp. 23 - k for the second half).
 * perf: bcn_uuid_parse36 (SSE2, the same parser as beacond's) and two byte
 * swaps; it was ~250 instructions a UUID as a table loop, five UUIDs a
 * record (perf/etl_rb_bench.c). */
static int put_uuid(const char *s, size_t n, uint8_t *o)
{
	uint8_t b[16];
	if (n != 36 || bcn_uuid_parse36(s, b))
		return -1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t h, l;
	memcpy(&h, b, 8);
	memcpy(&l, b + 8, 8);
	h = __builtin_bswap64(h);
	l = __builtin_bswap64(l);
	memcpy(o, &h, 8);
	memcpy(o + 8, &l, 8);
#else
	for (int k = 0; k < 16; k++)
		o[k < 8 ? 7 - k : 23 - k] = b[k];
#endif
	return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RB_LE 1
/* The value of 8 ASCII digits loaded little-endian (the first digit in the
 * low byte): pairs, then quads, then the eight, by multiplications (the
 * well-known SWAR conversion; every intermediate lane stays below its
 * width, so no lane carries into the next). */
static inline uint64_t eight_digits(uint64_t v)
{
	v -= 0x3030303030303030ull;
	v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;      /* 4 pairs, 0..99   */
	v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;    /* 2 quads, 0..9999 */
	return (v * 10000 + (v >> 32)) & 0xffffffffull;       /* 0..99999999       */
}
#else
#define RB_LE 0
#endif

/* An integer literal (JSON grammar) into the type's bytes.  Returns the
 * width, or -1. */
static int put_int(const char *s, size_t n, unsigned type, uint8_t *o)
{
	int neg = 0;
	size_t i = 0;
	if (n && s[0] == '-')
		neg = 1, i = 1;
	if (i >= n || n - i > 20 || (s[i] == '0' && n - i > 1))
		return -1;
	uint64_t v = 0;
	if (n - i <= 19) {
		/* perf: 19 digits cannot overflow 64 bits (10^19 - 1 < 2^64);
		 * 8 at a time while 8 are left (a ts has 13) */
#if RB_LE
		while (n - i >= 8) {
			uint64_t c;
			memcpy(&c, s + i, 8);
			if (bcn_etl_not_digits(c))
				return -1;
			v = v * 100000000u + eight_digits(c);
			i += 8;
		}
#endif
		for (; i < n; i++) {
			unsigned d = (unsigned)(unsigned char)s[i] - '0';
			if (d > 9)
				return -1;
			v = v * 10 + d;
		}
	}
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	int w;
	uint64_t bits;
	switch (type) {
	case BCN_RB_UINT8: w = 1; break;
	case BCN_RB_UINT16: w = 2; break;
	case BCN_RB_UINT32: w = 4; break;
	case BCN_RB_UINT64: w = 8; break;
	case BCN_RB_INT8: w = -1; break;
	case BCN_RB_INT16: w = -2; break;
	case BCN_RB_INT32: w = -4; break;
	case BCN_RB_INT64: w = -8; break;
	default: return -1;
	}
	if (w > 0) {
		if (neg && v) /* "-0" is 0 */
			return -1;
		if (w < 8 && v >> (8 * w))
			return -1;
		bits = v;
	} else {
		w = -w;
		uint64_t lim = (uint64_t)1 << (8 * w - 1); /* |min| */
		if (neg ? v > lim : v >= lim)
			return -1;
		bits = neg ? (uint64_t)0 - v : v;
	}
#if RB_LE
	/* perf: one store (the loop below cost ~50 instructions an integer) */
	switch (w) {
	case 1: o[0] = (uint8_t)bits; break;
	case 2: { uint16_t b = (uint16_t)bits; memcpy(o, &b, 2); break; }
	case 4: { uint32_t b = (uint32_t)bits; memcpy(o, &b, 4); break; }
	default: memcpy(o, &bits, 8); break;
	}
#else
	for (int k = 0; k < w; k++)
		o[k] = (uint8_t)(bits >> (8 * k));
#endif
	return w;
}

/* Bytes of the digit run at s, up to end.  perf: 8 at a time. */
static inline size_t digit_run(const char *s, const char *end)
{
	const char *p = s;
#if RB_LE
	while (end - p >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		uint64_t nd = bcn_etl_not_digits(v);
		if (nd)
			return (size_t)(p - s) + (size_t)(__builtin_ctzll(nd) >> 3);
		p += 8;
	}
#endif
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return (size_t)(p - s);
}

static inline size_t varint_len(size_t v)
{
	size_t k = 1;
	while (v >= 0x80)
		v >>= 7, k++;
	return k;
}

static inline size_t put_varint(uint8_t *o, size_t v)
{
	size_t k = 0;
	while (v >= 0x80) {
		o[k++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[k++] = (uint8_t)v;
	return k;
}

/* Unescape JSON string content s[0..n) into o (room for n bytes: an escape
 * never grows).  Returns the length, or (size_t)-1 to fall back. */
static size_t unescape(const char *s, size_t n, uint8_t *o)
{
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\\') {
			if (c < 0x20)
				return (size_t)-1;
			o[w++] = c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return (size_t)-1;
		switch (s[i + 1]) {
		case '"': o[w++] = '"'; break;
		case '\\': o[w++] = '\\'; break;
		case '/': o[w++] = '/'; break;
		case 'b': o[w++] = '\b'; break;
		case 'f': o[w++] = '\f'; break;
		case 'n': o[w++] = '\n'; break;
		case 'r': o[w++] = '\r'; break;
		case 't': o[w++] = '\t'; break;
		case 'u': {
			if (i + 6 > n)
				return (size_t)-1;
			unsigned cp = 0;
			for (int k = 2; k < 6; k++) {
				int h = hexval((unsigned char)s[i + k]);
				if (h < 0)
					return (size_t)-1;
				cp = cp << 4 | (unsigned)h;
			}
			if (cp >= 0xD800 && cp <= 0xDFFF)
				return (size_t)-1; /* surrogates: ClickHouse decides */
			if (cp < 0x80) {
				o[w++] = (uint8_t)cp;
			} else if (cp < 0x800) {
				o[w++] = (uint8_t)(0xC0 | cp >> 6);
				o[w++] = (uint8_t)(0x80 | (cp & 0x3F));
			} else {
				o[w++] = (uint8_t)(0xE0 | cp >> 12);
				o[w++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
				o[w++] = (uint8_t)(0x80 | (cp & 0x3F));
			}
			i += 6;
			continue;
		}
		default:
			return (size_t)-1;
		}
		i += 2;
	}
	return w;
}

/* a[0..n) == b[0..n), reading no byte outside either.  perf: inline
 * overlapping word compares instead of a memcmp call per key (12 keys a
 * record). */
static inline int key_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y, x2, y2;
	if (n >= 8) {
		while (n > 16) {
			memcpy(&x, a, 8);
			memcpy(&y, b, 8);
			if (x != y)
				return 0;
			a += 8, b += 8, n -= 8;
		}
		/* 8..16: the first and the last 8 bytes */
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&x2, a + n - 8, 8);
		memcpy(&y2, b + n - 8, 8);
		return ((x ^ y) | (x2 ^ y2)) == 0;
	}
	if (n >= 4) {
		uint32_t u, v, u2, v2;
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		memcpy(&u2, a + n - 4, 4);
		memcpy(&v2, b + n - 4, 4);
		return ((u ^ v) | (u2 ^ v2)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* The column writers of both encoders: one value at out + *w, *w advanced.
 * Each returns BCN_RB_OK, BCN_RB_FALLBACK (the value does not convert) or
 * BCN_RB_NOROOM (not within cap). */

/* A string without escapes or control characters: varint length, bytes. */
static inline int col_plain_string(const char *vs, size_t vl, uint8_t *out, size_t cap, size_t *w)
{
	size_t vn = varint_len(vl);
	if (unlikely(cap - *w < vn + vl))
		return BCN_RB_NOROOM;
	*w += put_varint(out + *w, vl);
	memcpy(out + *w, vs, vl);
	*w += vl;
	return BCN_RB_OK;
}

static inline int col_uuid(const char *vs, size_t vl, uint8_t *out, size_t cap, size_t *w)
{
	if (unlikely(cap - *w < 16))
		return BCN_RB_NOROOM;
	if (unlikely(put_uuid(vs, vl, out + *w)))
		return BCN_RB_FALLBACK;
	*w += 16;
	return BCN_RB_OK;
}

static inline int col_int(const char *vs, size_t vl, unsigned type, uint8_t *out, size_t cap, size_t *w)
{
	uint8_t tmp[8];
	int iw = put_int(vs, vl, type, tmp);
	if (unlikely(iw < 0))
		return BCN_RB_FALLBACK;
	if (unlikely(cap - *w < (size_t)iw))
		return BCN_RB_NOROOM;
	memcpy(out + *w, tmp, (size_t)iw);
	*w += (size_t)iw;
	return BCN_RB_OK;
}

int bcn_rb_encode_tok(const struct bcn_rb_plan *p, const char *json,
		      const struct bcn_etl_tok *tok, int ntok, uint8_t *out, size_t cap,
		      size_t *outlen)
{
	int16_t at[BCN_RB_MAX_COLS];
	*outlen = 0;
	if (unlikely(p->ncols <= 0 || p->ncols > BCN_RB_MAX_COLS || ntok < 0 ||
		     ntok > INT16_MAX))
		return BCN_RB_FALLBACK;
	for (int c = 0; c < p->ncols; c++)
		at[c] = -1;
	int next = 0;
	for (int t = 0; t < ntok; t++) {
		const struct bcn_etl_tok *kt = &tok[t];
		const char *ks = json + kt->ko;
		size_t kl = kt->kl;
		if (unlikely(kt->kesc))
			return BCN_RB_FALLBACK; /* an escaped key: ClickHouse decides */
		/* keys usually come in column order: try the next one first */
		int c = next < p->ncols && p->col[next].len == kl && key_eq(p->col[next].name, ks, kl)
				? next
				: -1;
		for (int j = 0; c < 0 && j < p->ncols; j++)
			if (p->col[j].len == kl && key_eq(p->col[j].name, ks, kl))
				c = j;
		/* an unknown key is skipped, as input_format_skip_unknown_fields=1 does */
		if (c >= 0) {
			if (unlikely(at[c] >= 0))
				return BCN_RB_FALLBACK; /* twice */
			at[c] = (int16_t)t;
			next = c + 1;
		}
	}
	size_t w = 0;
	for (int c = 0; c < p->ncols; c++) {
		if (unlikely(at[c] < 0))
			return BCN_RB_FALLBACK; /* absent: ClickHouse decides the default */
		const struct bcn_etl_tok *vt = &tok[at[c]];
		const char *vs = json + vt->vo;
		size_t vl = vt->vl;
		unsigned ty = p->col[c].type;
		int e;
		if (ty == BCN_RB_STRING) {
			if (unlikely(vt->vkind != BCN_ETL_V_STRING))
				return BCN_RB_FALLBACK;
			if (likely(!vt->vesc)) {
				/* no raw control characters: the router (and
				 * bcn_rb_encode) refused those already */
				if (unlikely((e = col_plain_string(vs, vl, out, cap, &w))))
					return e;
			} else {
				size_t vn = varint_len(vl);
				if (unlikely(cap - w < vn + vl))
					return BCN_RB_NOROOM;
				size_t ul = unescape(vs, vl, out + w + vn);
				if (unlikely(ul == (size_t)-1))
					return BCN_RB_FALLBACK;
				size_t un = varint_len(ul);
				if (un < vn)
					memmove(out + w + un, out + w + vn, ul);
				w += put_varint(out + w, ul);
				w += ul;
			}
		} else if (ty == BCN_RB_UUID) {
			if (unlikely(vt->vkind != BCN_ETL_V_STRING || vt->vesc))
				return BCN_RB_FALLBACK;
			if (unlikely((e = col_uuid(vs, vl, out, cap, &w))))
				return e;
		} else {
			if (unlikely(vt->vkind != BCN_ETL_V_NUMBER))
				return BCN_RB_FALLBACK;
			if (unlikely((e = col_int(vs, vl, ty, out, cap, &w))))
				return e;
		}
	}
	*outlen = w;
	return BCN_RB_OK;
}

/* The closing quote of a string whose content starts at s, if the content
 * holds no backslash and no control character; else (or if end comes
 * first) NULL.  Reads nothing at or past end. */
static inline const char *plain_str_end(const char *s, const char *end)
{
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x1f);
	while (end - s >= 16) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)s);
		/* control: w <= 0x1f unsigned, i.e. min(w, 0x1f) == w */
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, q), _mm_cmpeq_epi8(w, bs)),
					   _mm_cmpeq_epi8(_mm_min_epu8(w, sp), w));
		unsigned m = (unsigned)_mm_movemask_epi8(hit);
		if (m) {
			s += __builtin_ctz(m);
			return *s == '"' ? s : NULL;
		}
		s += 16;
	}
#endif
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"')
			return s;
		if (c == '\\' || c < 0x20)
			return NULL;
	}
	return NULL;
}

int bcn_rb_encode_flat(const struct bcn_rb_plan *p, int type_col, const char *type,
		       const char *json, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	const char *j = json, *end = json + n;
	size_t w = 0, tlen = strlen(type);
	*outlen = 0;
	if (unlikely(p->ncols <= 0 || type_col < 0 || type_col >= p->ncols ||
		     p->col[type_col].type != BCN_RB_STRING || n < 2 || *j++ != '{'))
		return BCN_RB_FALLBACK;
	for (int c = 0; c < p->ncols; c++) {
		const struct bcn_rb_col *col = &p->col[c];
		/* "name": -- the key, exactly, in column order */
		if (unlikely((size_t)(end - j) < (size_t)col->len + 4 || j[0] != '"' ||
			     !key_eq(j + 1, col->name, col->len) || j[1 + col->len] != '"' ||
			     j[2 + col->len] != ':'))
			return BCN_RB_FALLBACK;
		j += col->len + 3;
		if (col->type == BCN_RB_STRING || col->type == BCN_RB_UUID) {
			if (unlikely(*j != '"'))
				return BCN_RB_FALLBACK;
			const char *vs = j + 1, *ve = plain_str_end(vs, end);
			if (unlikely(!ve))
				return BCN_RB_FALLBACK;
			size_t vl = (size_t)(ve - vs);
			int e;
			if (col->type == BCN_RB_UUID) {
				e = col_uuid(vs, vl, out, cap, &w);
			} else {
				if (c == type_col && (vl != tlen || memcmp(vs, type, tlen)))
					return BCN_RB_FALLBACK; /* another type's record */
				e = col_plain_string(vs, vl, out, cap, &w);
			}
			if (unlikely(e))
				return e;
			j = ve + 1;
		} else {
			/* an integer: '-'? and digits; put_int holds it to the
			 * JSON grammar and the type's range, and the separator
			 * check below refuses anything else after it (".5", "e3") */
			const char *vs = j;
			if (j < end && *j == '-')
				j++;
			j += digit_run(j, end);
			int e = col_int(vs, (size_t)(j - vs), col->type, out, cap, &w);
			if (unlikely(e))
				return e;
		}
		if (unlikely(j >= end || *j != (c + 1 < p->ncols ? ',' : '}')))
			return BCN_RB_FALLBACK;
		j++;
	}
	if (unlikely(j != end))
		return BCN_RB_FALLBACK; /* anything after the object: the router decides */
	*outlen = w;
	return BCN_RB_OK;
}

int bcn_rb_encode(const struct bcn_rb_plan *p, const char *json, size_t n, uint8_t *out,
		  size_t cap, size_t *outlen)
{
	jsmn_parser jp;
	jsmntok_t jt[BCN_RB_MAX_TOKENS];
	struct bcn_etl_tok tok[BCN_RB_MAX_TOKENS / 2];
	*outlen = 0;
	if (n > UINT32_MAX)
		return BCN_RB_FALLBACK;
	jsmn_init(&jp);
	int k = jsmn_parse(&jp, json, n, jt, BCN_RB_MAX_TOKENS);
	if (k < 1 || jt[0].type != JSMN_OBJECT || k != 2 * jt[0].size + 1)
		return BCN_RB_FALLBACK;
	for (size_t e = (size_t)jt[0].end; e < n; e++)
		if (json[e] != ' ' && json[e] != '\t' && json[e] != '\n' && json[e] != '\r')
			return BCN_RB_FALLBACK;
	int nt = 0;
	for (int t = 1; t < k; t += 2, nt++) {
		const jsmntok_t *kt = &jt[t], *vt = &jt[t + 1];
		if (kt->type != JSMN_STRING || vt->type == JSMN_OBJECT || vt->type == JSMN_ARRAY)
			return BCN_RB_FALLBACK;
		struct bcn_etl_tok *o = &tok[nt];
		o->ko = (uint32_t)kt->start;
		o->kl = (uint32_t)(kt->end - kt->start);
		o->kesc = memchr(json + kt->start, '\\', o->kl) != NULL;
		o->vo = (uint32_t)vt->start;
		o->vl = (uint32_t)(vt->end - vt->start);
		o->vesc = 0;
		if (vt->type == JSMN_STRING) {
			o->vkind = BCN_ETL_V_STRING;
			o->vesc = memchr(json + vt->start, '\\', o->vl) != NULL;
			/* what the router refuses, jsmn lets through */
			for (uint32_t i = 0; i < o->vl; i++)
				if ((unsigned char)json[o->vo + i] < 0x20)
					return BCN_RB_FALLBACK;
		} else {
			char c0 = json[vt->start];
			o->vkind = c0 == 't' || c0 == 'f' || c0 == 'n' ? BCN_ETL_V_LITERAL : BCN_ETL_V_NUMBER;
		}
	}
	return bcn_rb_encode_tok(p, json, tok, nt, out, cap, outlen);
}
