/*
 * fuzz_etl_sort.c - libFuzzer target for beacon-etl's row sort
 * (etl/bcn_etl_sort.c): the sort-plan parser and bcn_sort_rows.
 *
 * Input: byte 0 bit 0 picks the plan: 0, a table with a key part of every
 * kind (UUID, [U]IntN, the user_key-style if(), the event_date-style day);
 * 1, the input's own sorting key (up to the first '\n') and DESCRIBE answer
 * (up to the next "\n\n").  The rest is rows, each a length byte and that
 * many bytes (RowBinary, whatever the fuzzer makes of it).
 * Invariants beyond "no crash, no read outside the rows":
 *   - a plan with parts has 1..8 of them, key words 1..8, and every part's
 *     columns are columns of the RowBinary plan;
 *   - bcn_sort_rows returns 0 exactly when every row can be keyed, as a
 *     walk of the row written here (not the module's) finds: each key
 *     column inside the row, each day part's ts in [0, 2^32 s);
 *   - then perm is a permutation, and consecutive rows are in order by a
 *     comparator written from the definitions (a UUID by its second half,
 *     then its first; signed integers as signed; if(a != nil, a, b); the
 *     day from ms), equal keys in input order.
 * Built by etl/module.mk (build/fuzz/fuzz_etl_sort); run by `make
 * test-fuzz` through tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_etl_rowbin.h"
#include "bcn_etl_sort.h"

#define MAXROWS 256

static const char gen_desc[] =
	"a\tUUID\t\t\nb\tInt8\t\t\nc\tUInt16\t\t\nd\tInt32\t\t\ne\tInt64\t\t\nf\tString\t\t\n"
	"g\tUInt64\t\t\nh\tUUID\t\t\n"
	"k\tUUID\tMATERIALIZED\tif(a != toUUID(\\'00000000-0000-0000-0000-000000000000\\'), a, h)\n"
	"day\tDate\tMATERIALIZED\ttoDate(toDateTime(intDiv(e, 1000), \\'UTC\\'))\n";
static const char gen_key[] = "k, b, c, day, d, g";

static void fail(const char *what)
{
	fprintf(stderr, "fuzz invariant violated: %s\n", what);
	abort();
}

static int width(unsigned t)
{
	switch (t) {
	case BCN_RB_UUID: return 16;
	case BCN_RB_INT64: case BCN_RB_UINT64: return 8;
	case BCN_RB_INT32: case BCN_RB_UINT32: return 4;
	case BCN_RB_INT16: case BCN_RB_UINT16: return 2;
	case BCN_RB_INT8: case BCN_RB_UINT8: return 1;
	default: return -1;
	}
}

/* Column starts of row r[0..len) up to column last; 0 or -1 (too short). */
static int walk(const struct bcn_rb_plan *p, int last, const uint8_t *r, size_t len, size_t *pos)
{
	size_t o = 0;
	for (int c = 0; c <= last; c++) {
		pos[c] = o;
		if (p->col[c].type == BCN_RB_STRING) {
			uint64_t l = 0;
			int sh = 0;
			for (;;) {
				if (o >= len || sh > 63)
					return -1;
				uint8_t x = r[o++];
				l |= (uint64_t)(x & 0x7f) << sh;
				sh += 7;
				if (!(x & 0x80))
					break;
			}
			if (l > len - o)
				return -1;
			o += (size_t)l;
		} else {
			size_t w = (size_t)width(p->col[c].type);
			if (w > len - o)
				return -1;
			o += w;
		}
	}
	return 0;
}

static uint64_t lev(const uint8_t *s, int w)
{
	uint64_t v = 0;
	for (int k = w - 1; k >= 0; k--)
		v = v << 8 | s[k];
	return v;
}

static int64_t sev(const uint8_t *s, int w)
{
	uint64_t v = lev(s, w);
	if (w < 8 && (v >> (8 * w - 1)))
		v |= ~0ull << (8 * w);
	return (int64_t)v;
}

static const struct bcn_sort_plan *SP;

struct row {
	const uint8_t *r;
	size_t len;
	size_t pos[BCN_RB_MAX_COLS];
};

/* The rows' order by the definitions; 0 only for equal keys. */
static int ref_cmp(const struct row *x, const struct row *y)
{
	static const uint8_t nil[16];
#define CMP(u, v)                                  \
	do {                                       \
		if ((u) != (v))                    \
			return (u) < (v) ? -1 : 1; \
	} while (0)
	for (int i = 0; i < SP->nparts; i++) {
		const struct bcn_sort_part *pt = &SP->part[i];
		const uint8_t *a = x->r + x->pos[pt->a], *b = y->r + y->pos[pt->a];
		switch (pt->kind) {
		case BCN_SK_IFNIL:
			if (!memcmp(a, nil, 16))
				a = x->r + x->pos[pt->b];
			if (!memcmp(b, nil, 16))
				b = y->r + y->pos[pt->b];
			__attribute__((fallthrough)); /* a UUID */
		case BCN_SK_COL:
			if (pt->type == BCN_RB_UUID || pt->kind == BCN_SK_IFNIL) {
				CMP(lev(a + 8, 8), lev(b + 8, 8));
				CMP(lev(a, 8), lev(b, 8));
			} else if (pt->type == BCN_RB_INT8 || pt->type == BCN_RB_INT16 ||
				   pt->type == BCN_RB_INT32 || pt->type == BCN_RB_INT64) {
				CMP(sev(a, width(pt->type)), sev(b, width(pt->type)));
			} else {
				CMP(lev(a, width(pt->type)), lev(b, width(pt->type)));
			}
			break;
		case BCN_SK_DAY_MS:
			CMP((uint32_t)(sev(a, 8) / 1000) / 86400, (uint32_t)(sev(b, 8) / 1000) / 86400);
			break;
		default:
			fail("unknown part kind");
		}
	}
#undef CMP
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bcn_sort_buf buf;
	static struct row rows[MAXROWS];
	static uint32_t off[MAXROWS + 1], perm[MAXROWS];
	static uint8_t rb[MAXROWS * 256];
	struct bcn_rb_plan p;
	struct bcn_sort_plan sp;
	if (!buf.max && bcn_sort_buf_init(&buf, MAXROWS))
		abort();
	if (size < 1)
		return 0;
	const char *desc = gen_desc, *key = gen_key;
	size_t dl = sizeof(gen_desc) - 1, kl = sizeof(gen_key) - 1, i = 1;
	if (data[0] & 1) {
		const char *s = (const char *)data + 1, *e = (const char *)data + size;
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		if (!nl)
			return 0;
		key = s;
		kl = (size_t)(nl - s);
		desc = nl + 1;
		const char *q = desc;
		while (q + 1 < e && !(q[0] == '\n' && q[1] == '\n'))
			q++;
		if (q + 1 >= e)
			return 0;
		dl = (size_t)(q - desc) + 1;
		i = (size_t)(q + 2 - (const char *)data);
	}
	if (!bcn_rb_plan_parse(&p, desc, dl))
		return 0;
	int np = bcn_sort_plan_parse(&sp, &p, desc, dl, key, kl);
	if (!np)
		return 0;
	if (np > BCN_SORT_MAX_PARTS || sp.nwords < 1 || sp.nwords > BCN_SORT_MAX_WORDS ||
	    sp.lastcol >= p.ncols)
		fail("plan out of bounds");
	for (int k = 0; k < np; k++)
		if (sp.part[k].a >= p.ncols || (sp.part[k].kind == BCN_SK_IFNIL && sp.part[k].b >= p.ncols))
			fail("part column out of bounds");
	/* rows: a length byte, then that many bytes */
	uint32_t n = 0, w = 0;
	while (i < size && n < MAXROWS) {
		size_t l = data[i++];
		if (l > size - i)
			l = size - i;
		off[n++] = w;
		memcpy(rb + w, data + i, l);
		w += (uint32_t)l;
		i += l;
	}
	off[n] = w;
	int keyable = 1;
	for (uint32_t k = 0; k < n; k++) {
		struct row *r = &rows[k];
		r->r = rb + off[k];
		r->len = off[k + 1] - off[k];
		if (walk(&p, sp.lastcol, r->r, r->len, r->pos)) {
			keyable = 0;
			continue;
		}
		for (int q = 0; q < np; q++)
			if (sp.part[q].kind == BCN_SK_DAY_MS) {
				int64_t ts = sev(r->r + r->pos[sp.part[q].a], 8);
				if (ts < 0 || ts / 1000 > (int64_t)UINT32_MAX)
					keyable = 0;
			}
	}
	int rc = bcn_sort_rows(&sp, &p, rb, off, n, &buf, perm);
	if ((rc == 0) != keyable)
		fail(keyable ? "keyable rows refused" : "unkeyable rows sorted");
	if (rc)
		return 0;
	SP = &sp;
	static uint8_t seen[MAXROWS];
	memset(seen, 0, sizeof(seen));
	for (uint32_t k = 0; k < n; k++) {
		if (perm[k] >= n || seen[perm[k]]++)
			fail("not a permutation");
		if (k) {
			int c = ref_cmp(&rows[perm[k - 1]], &rows[perm[k]]);
			if (c > 0 || (c == 0 && perm[k - 1] > perm[k]))
				fail("out of order");
		}
	}
	return 0;
}
