/*
 * test_sort.c - rows in the sorting key's order (etl/bcn_etl_sort.c): sort
 * plans from system.tables' sorting_key and DESCRIBE, ClickHouse 18.16's
 * own order of crafted view rows (tests/vectors/etl-sort-views.*), every
 * key type against an independent reference comparator, stability, and
 * the rows that leave a batch unsorted.  Registered by test_etl.c's main.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "bcn_etl_rowbin.h"
#include "bcn_etl_sort.h"

static size_t slurp(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	*out = malloc((size_t)n + 1);
	size_t got = *out ? fread(*out, 1, (size_t)n, f) : 0;
	fclose(f);
	return got;
}

static const char *views_key = "user_key, film_id, ts, event_id";

/* A table with every key type: k and day are MATERIALIZED (k = a, else h). */
static const char gen_desc[] =
	"a\tUUID\t\t\nb\tInt8\t\t\nc\tUInt16\t\t\nd\tInt32\t\t\ne\tInt64\t\t\nf\tString\t\t\n"
	"g\tUInt64\t\t\nh\tUUID\t\t\n"
	"k\tUUID\tMATERIALIZED\tif(a != toUUID(\\'00000000-0000-0000-0000-000000000000\\'), a, h)\n"
	"day\tDate\tMATERIALIZED\ttoDate(toDateTime(intDiv(e, 1000), \\'UTC\\'))\n";

static int plan_of(struct bcn_rb_plan *p, struct bcn_sort_plan *sp, const char *desc, size_t dl,
		   const char *key)
{
	CU_ASSERT(bcn_rb_plan_parse(p, desc, dl) > 0);
	return bcn_sort_plan_parse(sp, p, desc, dl, key, strlen(key));
}

static void test_plans(void)
{
	struct bcn_rb_plan p;
	struct bcn_sort_plan sp;
	char *d;
	size_t dl = slurp("tests/vectors/etl-sort-views.desc", &d);
	CU_ASSERT_FATAL(dl > 0);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, views_key), 4);
	CU_ASSERT_EQUAL(sp.nwords, 7); /* 16 + 16 + 8 + 16 bytes */
	CU_ASSERT_EQUAL(sp.part[0].kind, BCN_SK_IFNIL);
	CU_ASSERT_STRING_EQUAL(p.col[sp.part[0].a].name, "user_id");
	CU_ASSERT_STRING_EQUAL(p.col[sp.part[0].b].name, "anon_id");
	CU_ASSERT_EQUAL(sp.part[2].kind, BCN_SK_COL);
	CU_ASSERT_EQUAL(sp.part[2].type, BCN_RB_INT64);
	CU_ASSERT_STRING_EQUAL(p.col[sp.lastcol].name, "film_id");
	/* page_views' and actions' keys hold a String: no plan, a reason */
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "event_date, source, event_id"), 0);
	CU_ASSERT(strstr(sp.why, "source") && strstr(sp.why, "String"));
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "event_date, event_id"), 2);
	CU_ASSERT_EQUAL(sp.part[0].kind, BCN_SK_DAY_MS);
	CU_ASSERT_EQUAL(sp.nwords, 3);
	/* not computable here: an unknown name, an expression, a function */
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "nope, event_id"), 0);
	CU_ASSERT(strstr(sp.why, "nope") != NULL);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "event_time, event_id"), 0); /* toDateTime(...) */
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "toYYYYMM(event_date), event_id"), 0);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "film_id,ts"), 0);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "film_id, "), 0);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, ""), 0);
	CU_ASSERT(strstr(sp.why, "no sorting key") != NULL);
	/* more than 64 bytes, more than 8 parts */
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "event_id, user_id, anon_id, session_id, film_id"), 0);
	CU_ASSERT(strstr(sp.why, "wider") != NULL);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, d, dl, "ts, ts, ts, ts, ts, ts, ts, ts, ts"), 0);
	CU_ASSERT(strstr(sp.why, "more than") != NULL);
	/* the same expression as ALIAS (a Distributed table's column) counts;
	 * another expression, or DEFAULT, does not */
	const char *al = "user_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
			 "user_key\tUUID\tALIAS\tif(user_id != toUUID(\\'00000000-0000-0000-0000-"
			 "000000000000\\'), user_id, anon_id)\n";
	CU_ASSERT_EQUAL(plan_of(&p, &sp, al, strlen(al), "user_key"), 1);
	const char *other = "user_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
			    "user_key\tUUID\tMATERIALIZED\tif(user_id != toUUID(\\'0\\'), user_id, anon_id)\n";
	CU_ASSERT_EQUAL(plan_of(&p, &sp, other, strlen(other), "user_key"), 0);
	const char *swapped = "user_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
			      "user_key\tUUID\tMATERIALIZED\tif(user_id != toUUID(\\'00000000-0000-0000-"
			      "0000-000000000000\\'), anon_id, user_id)\n";
	CU_ASSERT_EQUAL(plan_of(&p, &sp, swapped, strlen(swapped), "user_key"), 0);
	/* an escaped NUL after a known expression is not that expression */
	const char *nul = "user_id\tUUID\t\t\nanon_id\tUUID\t\t\n"
			  "user_key\tUUID\tMATERIALIZED\tif(user_id != toUUID(\\'00000000-0000-0000-"
			  "0000-000000000000\\'), user_id, anon_id)\\0x\n";
	CU_ASSERT_EQUAL(plan_of(&p, &sp, nul, strlen(nul), "user_key"), 0);
	const char *dflt = "ts\tInt64\t\t\nday\tDate\tDEFAULT\ttoDate(toDateTime(intDiv(ts, 1000), "
			   "\\'UTC\\'))\n";
	struct bcn_rb_plan p2;
	CU_ASSERT_EQUAL(bcn_rb_plan_parse(&p2, dflt, strlen(dflt)), 0); /* Date is not encoded */
	CU_ASSERT_EQUAL(bcn_sort_plan_parse(&sp, &p2, dflt, strlen(dflt), "day", 3), 0);
	CU_ASSERT_EQUAL(plan_of(&p, &sp, gen_desc, strlen(gen_desc), "k, b, c, day, d, g"), 6);
	CU_ASSERT_EQUAL(sp.nwords, 5); /* 16 + 1 + 2 + 2 + 4 + 8 = 33 bytes */
	free(d);
}

/* The row boundaries of RowBinary rows of plan p in buf[0..len). */
static uint32_t rows_of(const struct bcn_rb_plan *p, const uint8_t *buf, size_t len, uint32_t *off,
			uint32_t max)
{
	uint32_t n = 0;
	size_t o = 0;
	while (o < len && n < max) {
		off[n++] = (uint32_t)o;
		for (int c = 0; c < p->ncols; c++) {
			switch (p->col[c].type) {
			case BCN_RB_STRING: {
				uint64_t l = 0;
				int sh = 0;
				uint8_t x;
				do {
					x = buf[o++];
					l |= (uint64_t)(x & 0x7f) << sh;
					sh += 7;
				} while (x & 0x80);
				o += l;
				break;
			}
			case BCN_RB_UUID: o += 16; break;
			case BCN_RB_INT64: case BCN_RB_UINT64: o += 8; break;
			case BCN_RB_INT32: case BCN_RB_UINT32: o += 4; break;
			case BCN_RB_INT16: case BCN_RB_UINT16: o += 2; break;
			default: o += 1; break;
			}
		}
	}
	off[n] = (uint32_t)o;
	return n;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ClickHouse 18.16 sorted these 400 rows (SELECT ... ORDER BY the key):
 * shuffled, then sorted here, they must come back as the same bytes. */
static void test_clickhouse_order(void)
{
	char *d, *v;
	size_t dl = slurp("tests/vectors/etl-sort-views.desc", &d),
	       vl = slurp("tests/vectors/etl-sort-views.bin", &v);
	CU_ASSERT_FATAL(dl > 0 && vl > 0);
	struct bcn_rb_plan p;
	struct bcn_sort_plan sp;
	CU_ASSERT_FATAL(plan_of(&p, &sp, d, dl, views_key) == 4);
	uint32_t off[512], n = rows_of(&p, (uint8_t *)v, vl, off, 511);
	CU_ASSERT_EQUAL_FATAL(n, 400);
	CU_ASSERT_EQUAL_FATAL(off[n], vl);
	/* shuffle into sh, with its own offsets */
	uint32_t idx[400], soff[401], perm[400];
	for (uint32_t i = 0; i < n; i++)
		idx[i] = i;
	uint64_t seed = 88172645463325252ull;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd(&seed) % (i + 1)), t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	uint8_t *sh = malloc(vl), *out = calloc(1, vl);
	uint32_t w = 0;
	for (uint32_t i = 0; i < n; i++) {
		soff[i] = w;
		memcpy(sh + w, v + off[idx[i]], off[idx[i] + 1] - off[idx[i]]);
		w += off[idx[i] + 1] - off[idx[i]];
	}
	soff[n] = w;
	struct bcn_sort_buf b;
	CU_ASSERT_FATAL(bcn_sort_buf_init(&b, 400) == 0);
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, sh, soff, n, &b, perm), 0);
	w = 0;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(out + w, sh + soff[perm[i]], soff[perm[i] + 1] - soff[perm[i]]);
		w += soff[perm[i] + 1] - soff[perm[i]];
	}
	CU_ASSERT_EQUAL(w, vl);
	CU_ASSERT(memcmp(out, v, vl) == 0);
	/* ClickHouse's order sorted again: unchanged */
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, (uint8_t *)v, off, n, &b, perm), 0);
	uint32_t moved = 0;
	for (uint32_t i = 0; i < n; i++)
		moved += perm[i] != i;
	CU_ASSERT_EQUAL(moved, 0);
	/* too many rows for the buffer, a row that ends inside its film_id
	 * (a key column; one cut after the key's columns is still keyed): not
	 * sorted */
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, (uint8_t *)v, off, 401, &b, perm), -1);
	uint32_t cut[3] = { 0, off[1], off[1] + 100 };
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, (uint8_t *)v, cut, 2, &b, perm), -1);
	cut[2] = off[2] - 8; /* without duration_ms */
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, (uint8_t *)v, cut, 2, &b, perm), 0);
	bcn_sort_buf_free(&b);
	bcn_sort_buf_free(&b); /* freed twice: a no-op */
	free(sh);
	free(out);
	free(d);
	free(v);
}

/* gen_desc rows: a b c d e f g h. */
struct grow {
	uint8_t a[16], h[16];
	int8_t b;
	uint16_t c;
	int32_t d;
	int64_t e;
	uint64_t g;
	char f[8];
	uint32_t i; /* its position in the input */
};

static size_t put_le(uint8_t *o, uint64_t v, int w)
{
	for (int k = 0; k < w; k++, v >>= 8)
		o[k] = (uint8_t)v;
	return (size_t)w;
}

static size_t grow_rb(const struct grow *r, uint8_t *o)
{
	size_t w = 0, fl = strlen(r->f);
	memcpy(o, r->a, 16), w += 16;
	w += put_le(o + w, (uint8_t)r->b, 1);
	w += put_le(o + w, r->c, 2);
	w += put_le(o + w, (uint32_t)r->d, 4);
	w += put_le(o + w, (uint64_t)r->e, 8);
	o[w++] = (uint8_t)fl;
	memcpy(o + w, r->f, fl), w += fl;
	w += put_le(o + w, r->g, 8);
	memcpy(o + w, r->h, 16), w += 16;
	return w;
}

static uint64_t ld_le(const uint8_t *s)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = v << 8 | s[k];
	return v;
}

/* The reference order of key (k, b, c, day, d, g), written from the
 * definitions, not from bcn_etl_sort.c's layout: k is a unless a is the
 * nil UUID, else h; a UUID compares by its second half (RowBinary bytes
 * 8..15 as a little-endian UInt64), then its first; then equal keys by
 * input position (stable). */
static int ref_cmp(const void *x, const void *y)
{
	const struct grow *p = x, *q = y;
	static const uint8_t nil[16];
	const uint8_t *kp = memcmp(p->a, nil, 16) ? p->a : p->h,
		      *kq = memcmp(q->a, nil, 16) ? q->a : q->h;
#define CMP(u, v)                                   \
	do {                                        \
		if ((u) != (v))                     \
			return (u) < (v) ? -1 : 1;  \
	} while (0)
	CMP(ld_le(kp + 8), ld_le(kq + 8));
	CMP(ld_le(kp), ld_le(kq));
	CMP(p->b, q->b);
	CMP(p->c, q->c);
	CMP((uint32_t)(p->e / 1000) / 86400, (uint32_t)(q->e / 1000) / 86400);
	CMP(p->d, q->d);
	CMP(p->g, q->g);
	CMP(p->i, q->i);
#undef CMP
	return 0;
}

/* Random rows from small value sets (many ties, long runs of equal words)
 * and extremes of every type, against the reference, at several sizes
 * (insertion sort only; 8-bit and 16-bit digits). */
static void test_reference(void)
{
	static const uint64_t halves[] = { 0, 1, 0x7fffffffffffffffull, 0x8000000000000000ull,
					   0xffffffffffffffffull, 0x0123456789abcdefull };
	static const int8_t bs[] = { -128, -1, 0, 1, 127 };
	static const uint16_t cs[] = { 0, 1, 255, 256, 65535 };
	static const int32_t ds[] = { INT32_MIN, -1, 0, 1, INT32_MAX };
	static const uint64_t gs[] = { 0, 1, 0x8000000000000000ull, UINT64_MAX };
	static const uint32_t sizes[] = { 0, 1, 2, 47, 48, 49, 5000, 20000 };
	struct bcn_rb_plan p;
	struct bcn_sort_plan sp;
	CU_ASSERT_FATAL(plan_of(&p, &sp, gen_desc, strlen(gen_desc), "k, b, c, day, d, g") == 6);
	struct bcn_sort_buf b;
	CU_ASSERT_FATAL(bcn_sort_buf_init(&b, 20000) == 0);
	struct grow *r = calloc(20000, sizeof(*r));
	uint8_t *rb = malloc(20000 * 80);
	uint32_t *off = malloc(20001 * sizeof(uint32_t)), *perm = malloc(20000 * sizeof(uint32_t));
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		uint32_t n = sizes[z], w = 0;
		/* the few-values sets: each size once with 2 choices, once with all */
		for (int narrow = 0; narrow < 2; narrow++) {
			w = 0;
			for (uint32_t i = 0; i < n; i++) {
				struct grow *g = &r[i];
				unsigned m = narrow ? 2 : 6;
				memset(g, 0, sizeof(*g));
				if (rnd(&seed) % 3) { /* else a is nil: k = h */
					put_le(g->a, halves[rnd(&seed) % m], 8);
					put_le(g->a + 8, halves[rnd(&seed) % m], 8);
				}
				put_le(g->h, halves[rnd(&seed) % m], 8);
				put_le(g->h + 8, halves[rnd(&seed) % m], 8);
				g->b = bs[rnd(&seed) % (narrow ? 2 : 5)];
				g->c = cs[rnd(&seed) % (narrow ? 2 : 5)];
				g->d = ds[rnd(&seed) % (narrow ? 2 : 5)];
				g->e = (int64_t)(rnd(&seed) % (narrow ? 3 : 4294967296000ull));
				g->g = gs[rnd(&seed) % (narrow ? 2 : 4)];
				snprintf(g->f, sizeof(g->f), "s%u", (unsigned)(rnd(&seed) % 100));
				g->i = i;
				off[i] = w;
				w += (uint32_t)grow_rb(g, rb + w);
			}
			off[n] = w;
			CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, rb, off, n, &b, perm), 0);
			qsort(r, n, sizeof(*r), ref_cmp);
			uint32_t bad = 0;
			for (uint32_t i = 0; i < n; i++)
				bad += perm[i] != r[i].i;
			CU_ASSERT_EQUAL(bad, 0);
		}
	}
	/* a day part outside 0 <= ts < 2^32 s: this batch is not sorted */
	struct grow g[2];
	memset(g, 0, sizeof(g));
	g[1].e = -1000;
	uint32_t w = 0;
	for (int i = 0; i < 2; i++) {
		off[i] = w;
		w += (uint32_t)grow_rb(&g[i], rb + w);
	}
	off[2] = w;
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, rb, off, 2, &b, perm), -1);
	g[1].e = 4294967296000ll; /* 2^32 s */
	w = (uint32_t)grow_rb(&g[0], rb);
	off[1] = w;
	off[2] = w + (uint32_t)grow_rb(&g[1], rb + w);
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, rb, off, 2, &b, perm), -1);
	g[1].e = 4294967295999ll; /* the last exact one */
	off[2] = w + (uint32_t)grow_rb(&g[1], rb + w);
	CU_ASSERT_EQUAL(bcn_sort_rows(&sp, &p, rb, off, 2, &b, perm), 0);
	bcn_sort_buf_free(&b);
	free(r);
	free(rb);
	free(off);
	free(perm);
}

/* A Distributed table's target, from engine_full as 18.16 and current
 * releases print it (TabSeparated-escaped quotes). */
static void test_dist_target(void)
{
	char db[64], t[64];
#define DT(s) bcn_sort_dist_target(s, strlen(s), db, sizeof(db), t, sizeof(t))
	CU_ASSERT_EQUAL(DT("Distributed(beacon, ugc, views_local, cityHash64(user_id))"), 0);
	CU_ASSERT_STRING_EQUAL(db, "ugc");
	CU_ASSERT_STRING_EQUAL(t, "views_local");
	CU_ASSERT_EQUAL(DT("Distributed(\\'beacon\\', \\'ugc\\', \\'likes_local\\', rand())"), 0);
	CU_ASSERT_STRING_EQUAL(t, "likes_local");
	CU_ASSERT_EQUAL(DT("Distributed('c','d2','t2')"), 0);
	CU_ASSERT_STRING_EQUAL(db, "d2");
	CU_ASSERT_STRING_EQUAL(t, "t2");
	CU_ASSERT_EQUAL(DT("Distributed(c, d, t)"), 0);
	CU_ASSERT_EQUAL(DT("Distributed(c, d)"), -1);
	CU_ASSERT_EQUAL(DT("Distributed(c, currentDatabase(), t)"), -1);
	CU_ASSERT_EQUAL(DT("Distributed(c, 'd, t)"), -1);
	CU_ASSERT_EQUAL(DT("ReplicatedReplacingMergeTree('/p', '{replica}')"), -1);
	CU_ASSERT_EQUAL(DT("Distributed("), -1);
	CU_ASSERT_EQUAL(DT(""), -1);
	CU_ASSERT_EQUAL(bcn_sort_dist_target("Distributed(c, d, t)", 20, db, sizeof(db), t, 1), -1);
#undef DT
}

int test_sort_register(CU_pSuite s)
{
	return !CU_add_test(s, "sort: plans from sorting_key and DESCRIBE", test_plans) ||
	       !CU_add_test(s, "sort: ClickHouse 18.16's own order", test_clickhouse_order) ||
	       !CU_add_test(s, "sort: every key type against a reference", test_reference) ||
	       !CU_add_test(s, "sort: a Distributed table's target", test_dist_target);
}
