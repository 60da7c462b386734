/*
 * bcn_etl_sort.c - RowBinary rows in the table's sorting-key order.  See
 * bcn_etl_sort.h for why.
 *
 * How: each row's key is laid out as big-endian 64-bit words whose unsigned
 * order is ClickHouse's order of the key (a UUID as its two halves, second
 * half first, see push_uuid; a signed integer with its sign bit flipped),
 * zero-padded to whole words.  The rows are then sorted by their first
 * word with a stable LSD radix sort (16-bit digits for big ranges, 8-bit
 * for smaller ones; digits that are the same in every row skipped), and
 * each run of equal words by the next word the same way, down to the last;
 * a short run is finished by insertion sort on the remaining words.  Every step is
 * stable, so equal keys keep their batch order.  No comparison callback,
 * no recursion deeper than BCN_SORT_MAX_WORDS, no allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_etl_sort.h"

struct bcn_sort_ent {
	uint64_t w;  /* the key word being sorted on */
	uint32_t i;  /* row number                   */
	uint32_t pad;
};

#define NIL_UUID "toUUID('00000000-0000-0000-0000-000000000000')"
#define SHORT_RUN 48

static int width_of(unsigned t)
{
	switch (t) {
	case BCN_RB_UUID: return 16;
	case BCN_RB_INT8: case BCN_RB_UINT8: return 1;
	case BCN_RB_INT16: case BCN_RB_UINT16: return 2;
	case BCN_RB_INT32: case BCN_RB_UINT32: return 4;
	case BCN_RB_INT64: case BCN_RB_UINT64: return 8;
	default: return 0; /* String: not in a key here */
	}
}

static int is_signed(unsigned t)
{
	return t == BCN_RB_INT8 || t == BCN_RB_INT16 || t == BCN_RB_INT32 || t == BCN_RB_INT64;
}

static int ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The plan's column named s[0..n), or -1. */
static int col_of(const struct bcn_rb_plan *p, const char *s, size_t n)
{
	for (int c = 0; c < p->ncols; c++)
		if (p->col[c].len == n && !memcmp(p->col[c].name, s, n))
			return c;
	return -1;
}

/* An identifier at *s (advanced past it) into its column number of type t,
 * or -1. */
static int take_col(const struct bcn_rb_plan *p, const char **s, unsigned t)
{
	const char *a = *s;
	while (ident_char(**s))
		(*s)++;
	int c = col_of(p, a, (size_t)(*s - a));
	return c >= 0 && p->col[c].type == t ? c : -1;
}

static int lit(const char **s, const char *l)
{
	size_t n = strlen(l);
	if (strncmp(*s, l, n))
		return 0;
	*s += n;
	return 1;
}

/* A MATERIALIZED column's expression (unescaped, NUL-terminated) as a key
 * part, if it is one of the two known forms.  Returns 0 or -1. */
static int expr_part(const struct bcn_rb_plan *p, const char *e, struct bcn_sort_part *pt)
{
	const char *s = e;
	int a, a2, b;
	if (lit(&s, "if(") && (a = take_col(p, &s, BCN_RB_UUID)) >= 0 &&
	    lit(&s, " != " NIL_UUID ", ") && (a2 = take_col(p, &s, BCN_RB_UUID)) == a &&
	    lit(&s, ", ") && (b = take_col(p, &s, BCN_RB_UUID)) >= 0 && lit(&s, ")") && !*s) {
		*pt = (struct bcn_sort_part){ BCN_SK_IFNIL, BCN_RB_UUID, (uint8_t)a, (uint8_t)b };
		return 0;
	}
	s = e;
	if (lit(&s, "toDate(toDateTime(intDiv(") && (a = take_col(p, &s, BCN_RB_INT64)) >= 0 &&
	    lit(&s, ", 1000), 'UTC'))") && !*s) {
		*pt = (struct bcn_sort_part){ BCN_SK_DAY_MS, BCN_RB_UINT16, (uint8_t)a, 0 };
		return 0;
	}
	return -1;
}

/* DESCRIBE's line for column s[0..n): its default type and expression
 * (unescaped into ex, cap bytes, NUL-terminated).  Returns 0, or -1 if
 * there is no such line or the expression does not fit. */
static int desc_of(const char *d, size_t dl, const char *s, size_t n, char *kind, size_t kcap,
		   char *ex, size_t cap)
{
	size_t i = 0;
	while (i < dl) {
		size_t ls = i;
		while (i < dl && d[i] != '\n')
			i++;
		size_t le = i++;
		const char *f[4] = { 0 };
		size_t fl[4] = { 0 };
		int nf = bcn_rb_tsv_fields(d + ls, le - ls, f, fl, 4);
		if (nf < 4 || fl[0] != n || memcmp(f[0], s, n))
			continue;
		if (fl[2] >= kcap)
			return -1;
		memcpy(kind, f[2], fl[2]);
		kind[fl[2]] = 0;
		size_t o = 0;
		for (size_t k = 0; k < fl[3]; k++) {
			char c = f[3][k];
			if (c == '\\' && k + 1 < fl[3]) {
				c = f[3][++k];
				c = c == 't' ? '\t' : c == 'n' ? '\n' : c == '0' ? '\0' : c;
			}
			if (o + 1 >= cap || c == '\0') /* no known expression holds a NUL */
				return -1;
			ex[o++] = c;
		}
		ex[o] = 0;
		return 0;
	}
	return -1;
}

int bcn_sort_plan_parse(struct bcn_sort_plan *sp, const struct bcn_rb_plan *p, const char *desc,
			size_t dlen, const char *key, size_t klen)
{
	int width = 0;
	memset(sp, 0, sizeof(*sp));
	if (!p->ncols) {
		snprintf(sp->why, sizeof(sp->why), "no RowBinary plan");
		goto none;
	}
	size_t i = 0;
	while (i < klen && key[i] == ' ')
		i++;
	if (i == klen) {
		snprintf(sp->why, sizeof(sp->why), "no sorting key");
		goto none;
	}
	while (i < klen) {
		size_t s = i;
		while (i < klen && ident_char(key[i]))
			i++;
		size_t n = i - s;
		/* then ", " and the next part, or the end */
		if (!n || (i < klen && (klen - i < 3 || key[i] != ',' || key[i + 1] != ' ' ||
					!ident_char(key[i + 2])))) {
			snprintf(sp->why, sizeof(sp->why), "sorting key '%.*s' is not a list of columns",
				 (int)(klen > 60 ? 60 : klen), key);
			goto none;
		}
		if (i < klen)
			i += 2;
		if (sp->nparts == BCN_SORT_MAX_PARTS) {
			snprintf(sp->why, sizeof(sp->why), "more than %d key parts", BCN_SORT_MAX_PARTS);
			goto none;
		}
		struct bcn_sort_part *pt = &sp->part[sp->nparts];
		int c = col_of(p, key + s, n);
		if (c >= 0) {
			*pt = (struct bcn_sort_part){ BCN_SK_COL, p->col[c].type, (uint8_t)c, 0 };
		} else {
			char kind[16], ex[256];
			/* ALIAS: a Distributed table's stand-in for its local
			 * table's MATERIALIZED column (etl/schema/migrate.sh) */
			if (desc_of(desc, dlen, key + s, n, kind, sizeof(kind), ex, sizeof(ex)) ||
			    (strcmp(kind, "MATERIALIZED") && strcmp(kind, "ALIAS")) ||
			    expr_part(p, ex, pt)) {
				snprintf(sp->why, sizeof(sp->why),
					 "key part %.*s is not a column sent or a known expression",
					 (int)(n > 40 ? 40 : n), key + s);
				goto none;
			}
		}
		int w = width_of(pt->type);
		if (!w) {
			snprintf(sp->why, sizeof(sp->why), "key part %.*s is a String",
				 (int)(n > 40 ? 40 : n), key + s);
			goto none;
		}
		if (width + w > 8 * BCN_SORT_MAX_WORDS) {
			snprintf(sp->why, sizeof(sp->why), "key wider than %d bytes",
				 8 * BCN_SORT_MAX_WORDS);
			goto none;
		}
		width += w;
		if (pt->a > sp->lastcol)
			sp->lastcol = pt->a;
		if (pt->kind == BCN_SK_IFNIL && pt->b > sp->lastcol)
			sp->lastcol = pt->b;
		sp->nparts++;
	}
	sp->nwords = (width + 7) / 8;
	for (int c = 0; c <= sp->lastcol; c++)
		sp->cw[c] = (uint8_t)width_of(p->col[c].type);
	return sp->nparts;
none:
	sp->nparts = 0;
	sp->nwords = 0;
	return 0;
}

/* One argument of engine_full at *s: spaces, an identifier, maybe in
 * quotes (escaped in TabSeparated as \'), then ',' or ')'.  Copies it to
 * out (cap bytes with its NUL); 0, or -1 if it is not that. */
static int dist_arg(const char **s, const char *e, char *out, size_t cap)
{
	const char *p = *s;
	int q = 0;
	while (p < e && *p == ' ')
		p++;
	if (p + 1 < e && p[0] == '\\' && p[1] == '\'')
		p += 2, q = 2;
	else if (p < e && *p == '\'')
		p++, q = 1;
	const char *a = p;
	while (p < e && ident_char(*p))
		p++;
	size_t n = (size_t)(p - a);
	if (!n || n >= cap)
		return -1;
	if (q == 2 && !(p + 1 < e && p[0] == '\\' && p[1] == '\''))
		return -1;
	if (q == 1 && !(p < e && *p == '\''))
		return -1;
	p += q;
	if (p >= e || (*p != ',' && *p != ')'))
		return -1;
	memcpy(out, a, n);
	out[n] = 0;
	*s = p + 1;
	return 0;
}

int bcn_sort_dist_target(const char *ef, size_t n, char *db, size_t dbcap, char *table,
			 size_t tcap)
{
	const char *s = ef, *e = ef + n;
	char cluster[128];
	static const char pre[] = "Distributed(";
	if (n < sizeof(pre) - 1 || memcmp(s, pre, sizeof(pre) - 1))
		return -1;
	s += sizeof(pre) - 1;
	if (dist_arg(&s, e, cluster, sizeof(cluster)) || s[-1] != ',' ||
	    dist_arg(&s, e, db, dbcap) || s[-1] != ',' || dist_arg(&s, e, table, tcap))
		return -1;
	return 0;
}

int bcn_sort_buf_init(struct bcn_sort_buf *b, uint32_t max_rows)
{
	memset(b, 0, sizeof(*b));
	size_t ne = (size_t)max_rows * sizeof(struct bcn_sort_ent);
	size_t nk = (size_t)max_rows * BCN_SORT_MAX_WORDS * sizeof(uint64_t);
	b->e = malloc(ne ? ne : 1);
	b->t = malloc(ne ? ne : 1);
	b->keys = malloc(nk ? nk : 1);
	b->hist = malloc(BCN_SORT_HIST * sizeof(uint32_t));
	if (!b->e || !b->t || !b->keys || !b->hist) {
		free(b->e);
		free(b->t);
		free(b->keys);
		free(b->hist);
		memset(b, 0, sizeof(*b));
		return -1;
	}
	/* touch every page now, as the batch buffers */
	memset(b->e, 0, ne);
	memset(b->t, 0, ne);
	memset(b->keys, 0, nk);
	memset(b->hist, 0, BCN_SORT_HIST * sizeof(uint32_t));
	b->max = max_rows;
	b->bytes = 2 * ne + nk + BCN_SORT_HIST * sizeof(uint32_t);
	return 0;
}

void bcn_sort_buf_free(struct bcn_sort_buf *b)
{
	free(b->e);
	free(b->t);
	free(b->keys);
	free(b->hist);
	memset(b, 0, sizeof(*b));
}

/* Where columns 0..last start in row r[0..len) (pos[c]); 0, or -1 if the
 * row ends before column last does. */
static int row_cols(const struct bcn_sort_plan *sp, const uint8_t *r, size_t len, uint32_t *pos)
{
	size_t o = 0;
	for (int c = 0; c <= sp->lastcol; c++) {
		pos[c] = (uint32_t)o;
		size_t w = sp->cw[c];
		if (!w) { /* String */
			uint64_t n = 0;
			for (int sh = 0;; sh += 7) {
				if (o >= len || sh > 63)
					return -1;
				uint8_t x = r[o++];
				n |= (uint64_t)(x & 0x7f) << sh;
				if (!(x & 0x80))
					break;
			}
			if (n > len - o)
				return -1;
			w = (size_t)n;
		}
		if (w > len - o)
			return -1;
		o += w;
	}
	return 0;
}

/* Little-endian value of w bytes at s. */
static inline uint64_t le(const uint8_t *s, int w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (w == 8) { /* perf: UUID halves and Int64, the common parts */
		uint64_t v;
		memcpy(&v, s, 8);
		return v;
	}
#endif
	uint64_t v = 0;
	for (int k = w - 1; k >= 0; k--)
		v = v << 8 | s[k];
	return v;
}

/* The key being laid out: whole words in w[], the bytes of the next one in
 * acc (fill bytes of it so far). */
struct kacc {
	uint64_t *w;
	uint64_t acc;
	int n, fill;
};

/* Append v's low nb bytes, most significant first. */
static inline void push(struct kacc *k, uint64_t v, int nb)
{
	if (nb == 8 && k->fill == 0) { /* perf: UUID halves and Int64, word-aligned */
		k->w[k->n++] = v;
		return;
	}
	for (int i = nb - 1; i >= 0; i--) {
		k->acc = k->acc << 8 | ((v >> (8 * i)) & 0xff);
		if (++k->fill == 8) {
			k->w[k->n++] = k->acc;
			k->acc = 0;
			k->fill = 0;
		}
	}
}

/* A RowBinary UUID (two little-endian halves, high first) in ClickHouse's
 * order: the low half (text bytes 8..15), then the high half.  ClickHouse
 * compares UUIDs by their second half first (18.16 as current releases;
 * its UUID documentation says so): with it,
 * toUUID('00000000-0000-0001-0000-000000000000') <
 * toUUID('00000000-0000-0000-0000-000000000001'). */
static inline void push_uuid(struct kacc *k, const uint8_t *s)
{
	push(k, le(s + 8, 8), 8);
	push(k, le(s, 8), 8);
}

/* Row r's key words into kw.  0, or -1 if it cannot be keyed exactly. */
static int make_key(const struct bcn_sort_plan *sp, const struct bcn_rb_plan *p, const uint8_t *r,
		    size_t len, uint64_t *kw)
{
	uint32_t pos[BCN_RB_MAX_COLS];
	struct kacc k = { kw, 0, 0, 0 };
	(void)p;
	if (row_cols(sp, r, len, pos))
		return -1;
	for (int i = 0; i < sp->nparts; i++) {
		const struct bcn_sort_part *pt = &sp->part[i];
		const uint8_t *a = r + pos[pt->a];
		switch (pt->kind) {
		case BCN_SK_IFNIL:
			push_uuid(&k, (le(a, 8) | le(a + 8, 8)) ? a : r + pos[pt->b]);
			break;
		case BCN_SK_DAY_MS: {
			/* exact for 0 <= ts < 2^32 s: intDiv truncates, toDateTime
			 * is UInt32 seconds, toDate in UTC is seconds / 86400 */
			int64_t ts = (int64_t)le(a, 8);
			if (ts < 0 || ts / 1000 > (int64_t)UINT32_MAX)
				return -1;
			push(&k, (uint64_t)(ts / 1000) / 86400, 2);
			break;
		}
		default: {
			int w = width_of(pt->type);
			if (pt->type == BCN_RB_UUID) {
				push_uuid(&k, a);
			} else {
				uint64_t v = le(a, w);
				if (is_signed(pt->type))
					v ^= 1ull << (8 * w - 1);
				push(&k, v, w);
			}
			break;
		}
		}
	}
	if (k.fill) /* zero-padded */
		kw[k.n++] = k.acc << (8 * (8 - k.fill));
	return 0;
}

/* Stable LSD radix sort of e[0..n) by w, t as scratch (n entries), in
 * digits of `bits` bits (8 or 16) counted in h (64 / bits rows of 1 << bits
 * counters).  Digits that are the same in every entry are skipped. */
static void radix_by(struct bcn_sort_ent *e, struct bcn_sort_ent *t, uint32_t n, uint32_t *h,
		     int bits)
{
	const int nd = 64 / bits;
	const uint32_t nb = 1u << bits, mask = nb - 1;
	memset(h, 0, (size_t)nd * nb * sizeof(*h));
	for (uint32_t i = 0; i < n; i++)
		for (int d = 0; d < nd; d++)
			h[(size_t)d * nb + ((e[i].w >> (bits * d)) & mask)]++;
	for (int d = 0; d < nd; d++) {
		uint32_t *c = h + (size_t)d * nb, sum = 0;
		if (c[(e[0].w >> (bits * d)) & mask] == n)
			continue; /* the same digit in every entry */
		for (uint32_t k = 0; k < nb; k++) {
			uint32_t x = c[k];
			c[k] = sum;
			sum += x;
		}
		for (uint32_t i = 0; i < n; i++)
			t[c[(e[i].w >> (bits * d)) & mask]++] = e[i];
		memcpy(e, t, n * sizeof(*e));
	}
}

/* perf: 16-bit digits (4 passes) from this many entries on, where clearing
 * and summing 4 x 65536 counters costs less than 4 more passes */
#define BIG_RANGE 8192

static void radix(struct bcn_sort_ent *e, struct bcn_sort_ent *t, uint32_t n, uint32_t *big)
{
	uint32_t h[8 * 256];
	if (n >= BIG_RANGE)
		radix_by(e, t, n, big, 16);
	else
		radix_by(e, t, n, h, 8);
}

/* Key of row i from word k on, against row j's: <0, 0, >0. */
static int cmp_from(const uint64_t *keys, int nw, uint32_t i, uint32_t j, int k)
{
	const uint64_t *a = keys + (size_t)i * BCN_SORT_MAX_WORDS,
		       *b = keys + (size_t)j * BCN_SORT_MAX_WORDS;
	for (; k < nw; k++)
		if (a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	return 0;
}

/* Sort e[0..n), whose words 0..k-1 are equal, by words k.. (e[].w holds
 * word k). */
static void sort_level(struct bcn_sort_ent *e, struct bcn_sort_ent *t, uint32_t n,
		       const uint64_t *keys, int nw, int k, uint32_t *big)
{
	if (n <= SHORT_RUN) {
		for (uint32_t a = 1; a < n; a++) {
			struct bcn_sort_ent x = e[a];
			uint32_t b = a;
			while (b > 0 && cmp_from(keys, nw, e[b - 1].i, x.i, k) > 0) {
				e[b] = e[b - 1];
				b--;
			}
			e[b] = x;
		}
		return;
	}
	uint32_t same = 1;
	while (same < n && e[same].w == e[0].w)
		same++;
	if (same < n) /* perf: a word equal in every row (a user's rows, by
		       * their user_key's second word) needs no pass */
		radix(e, t, n, big);
	if (k + 1 >= nw)
		return;
	for (uint32_t s = 0; s < n;) {
		uint32_t r = s + 1;
		while (r < n && e[r].w == e[s].w)
			r++;
		if (r - s > 1) {
			for (uint32_t q = s; q < r; q++)
				e[q].w = keys[(size_t)e[q].i * BCN_SORT_MAX_WORDS + k + 1];
			sort_level(e + s, t, r - s, keys, nw, k + 1, big);
		}
		s = r;
	}
}

int bcn_sort_rows(const struct bcn_sort_plan *sp, const struct bcn_rb_plan *p, const uint8_t *rb,
		  const uint32_t *off, uint32_t n, struct bcn_sort_buf *b, uint32_t *perm)
{
	if (!sp->nparts || n > b->max || sp->lastcol >= p->ncols)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t *kw = b->keys + (size_t)i * BCN_SORT_MAX_WORDS;
		if (off[i + 1] < off[i] || make_key(sp, p, rb + off[i], off[i + 1] - off[i], kw))
			return -1;
		b->e[i].w = kw[0];
		b->e[i].i = i;
	}
	if (n)
		sort_level(b->e, b->t, n, b->keys, sp->nwords, 0, b->hist);
	for (uint32_t i = 0; i < n; i++)
		perm[i] = b->e[i].i;
	return 0;
}
