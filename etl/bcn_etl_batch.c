/*
 * bcn_etl_batch.c - preallocated table batches, the retry schedule and the
 * bisection of refused batches.  See bcn_etl_batch.h.
 */
#include <stdlib.h>
#include <string.h>
#include "bcn_etl_batch.h"
#include "bcn_etl_rowbin.h"

int bcn_etl_tb_init(struct bcn_etl_tbatch *b, size_t cap, uint32_t max_rows, size_t rbcap)
{
	memset(b, 0, sizeof(*b));
	if (cap >= UINT32_MAX || rbcap >= UINT32_MAX || !max_rows)
		return -1;
	b->buf = malloc(cap);
	b->rows = malloc(sizeof(*b->rows) * max_rows);
	b->rb = rbcap ? malloc(rbcap) : NULL;
	if (!b->buf || !b->rows || (rbcap && !b->rb)) {
		free(b->buf);
		free(b->rows);
		free(b->rb);
		b->buf = NULL;
		b->rows = NULL;
		b->rb = NULL;
		return -1;
	}
	if (rbcap)
		memset(b->rb, 0x5a, rbcap);
	b->rbcap = rbcap;
	/* touch every page now (not 0: malloc + memset(0) may become calloc,
	 * which leaves fresh pages untouched) */
	memset(b->buf, '\n', cap);
	memset(b->rows, 0xff, sizeof(*b->rows) * max_rows);
	b->cap = cap;
	b->max = max_rows;
	return 0;
}

void bcn_etl_tb_free(struct bcn_etl_tbatch *b)
{
	free(b->buf);
	free(b->rows);
	free(b->rb);
	b->buf = NULL;
	b->rows = NULL;
	b->rb = NULL;
	b->cap = b->max = b->n = b->nrb = 0;
	b->len = b->rbcap = b->rblen = 0;
}

int bcn_etl_tb_append(struct bcn_etl_tbatch *b, const void *v, size_t len, int32_t part,
		      int64_t offset)
{
	if (unlikely(len + 1 > b->cap))
		return BCN_ETL_TB_TOO_BIG;
	if (unlikely(b->n >= b->max || b->len + len + 1 > b->cap))
		return BCN_ETL_TB_FULL;
	struct bcn_etl_row *r = &b->rows[b->n];
	r->off = (uint32_t)b->len;
	r->len = (uint32_t)len;
	r->part = part;
	r->rb = BCN_ETL_NO_RB;
	r->offset = offset;
	memcpy(b->buf + b->len, v, len);
	b->buf[b->len + len] = '\n';
	b->len += len + 1;
	b->n++;
	BCN_SET(b->in_use, b->len);
	BCN_SET(b->nrows, b->n);
	return BCN_ETL_TB_OK;
}

int bcn_etl_tb_append_rb(struct bcn_etl_tbatch *b, const void *v, size_t len, int32_t part,
			 int64_t offset, const struct bcn_rb_plan *plan,
			 const struct bcn_etl_tok *tok, int ntok)
{
	size_t ol = 0;
	int e = BCN_RB_FALLBACK;
	if (unlikely(len + 1 > b->cap))
		return BCN_ETL_TB_TOO_BIG;
	if (unlikely(b->n >= b->max || b->len + len + 1 > b->cap))
		return BCN_ETL_TB_FULL;
	if (b->rb && plan && plan->ncols > 0) {
		e = bcn_rb_encode_tok(plan, v, tok, ntok, b->rb + b->rblen, b->rbcap - b->rblen, &ol);
		if (unlikely(e == BCN_RB_NOROOM && b->nrb))
			return BCN_ETL_TB_FULL; /* the next batch has room */
	}
	int a = bcn_etl_tb_append(b, v, len, part, offset);
	if (likely(a == BCN_ETL_TB_OK && e == BCN_RB_OK)) {
		b->rows[b->n - 1].rb = (uint32_t)b->rblen;
		b->rblen += ol;
		b->nrb++;
	}
	return a;
}

int bcn_etl_tb_append_flat(struct bcn_etl_tbatch *b, const void *v, size_t len, int32_t part,
			   int64_t offset, const struct bcn_rb_plan *plan, int type_col,
			   const char *type)
{
	size_t ol = 0;
	if (unlikely(!b->rb || !plan || plan->ncols <= 0))
		return BCN_ETL_TB_NOT_FLAT;
	int e = bcn_rb_encode_flat(plan, type_col, type, v, len, b->rb + b->rblen,
				   b->rbcap - b->rblen, &ol);
	if (e == BCN_RB_FALLBACK)
		return BCN_ETL_TB_NOT_FLAT;
	if (unlikely(len + 1 > b->cap))
		return BCN_ETL_TB_TOO_BIG;
	if (unlikely(b->n >= b->max || b->len + len + 1 > b->cap))
		return BCN_ETL_TB_FULL;
	if (unlikely(e == BCN_RB_NOROOM))
		return b->nrb ? BCN_ETL_TB_FULL : BCN_ETL_TB_NOT_FLAT;
	int a = bcn_etl_tb_append(b, v, len, part, offset);
	if (likely(a == BCN_ETL_TB_OK)) {
		b->rows[b->n - 1].rb = (uint32_t)b->rblen;
		b->rblen += ol;
		b->nrb++;
	}
	return a;
}

void bcn_etl_tb_reset(struct bcn_etl_tbatch *b)
{
	b->n = 0;
	b->len = 0;
	b->nrb = 0;
	b->rblen = 0;
	BCN_SET(b->in_use, 0);
	BCN_SET(b->nrows, 0);
}

const char *bcn_etl_tb_body(const struct bcn_etl_tbatch *b, uint32_t a, uint32_t z, size_t *len)
{
	const struct bcn_etl_row *f = &b->rows[a], *l = &b->rows[z - 1];
	*len = (size_t)l->off + l->len + 1 - f->off;
	return b->buf + f->off;
}

int64_t bcn_etl_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t rnd)
{
	if (min_ms < 1)
		min_ms = 1;
	if (max_ms < min_ms)
		max_ms = min_ms;
	int64_t d = min_ms;
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	int64_t half = d / 2;
	return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}

/* Rows [x, y) are known bad (hint as ClickHouse said).  The last part of
 * each split is handled by looping, the others by recursion; depth (the
 * recursion's) limits the use of hints, so that wrong hints cannot make the
 * stack deep: past 24 levels only halves are used (log2 more levels). */
static int bisect_bad(uint32_t x, uint32_t y, int hint, unsigned depth, bcn_etl_insert_fn insert,
		      bcn_etl_reject_fn reject, void *ctx)
{
	for (;;) {
		if (y - x == 1)
			return reject(ctx, x);
		uint32_t lo[3], hi[3];
		int np = 0, next = 0;
		if (hint >= 1 && (uint32_t)hint <= y - x && depth < 24) {
			uint32_t h = x + (uint32_t)hint - 1; /* the suspect row */
			if (h > x)
				lo[np] = x, hi[np++] = h;
			lo[np] = h, hi[np++] = h + 1;
			if (h + 1 < y)
				lo[np] = h + 1, hi[np++] = y;
		} else {
			uint32_t m = x + (y - x) / 2;
			lo[0] = x, hi[0] = m;
			lo[1] = m, hi[1] = y;
			np = 2;
		}
		for (int i = 0; i < np; i++) {
			int h2 = 0, rc = insert(ctx, lo[i], hi[i], &h2);
			if (rc < 0)
				return -1;
			if (rc == 0)
				continue;
			if (i < np - 1) {
				if (bisect_bad(lo[i], hi[i], h2, depth + 1, insert, reject, ctx))
					return -1;
				continue;
			}
			x = lo[i];
			y = hi[i];
			hint = h2;
			next = 1;
		}
		if (!next)
			return 0;
	}
}

int bcn_etl_bisect(uint32_t a, uint32_t z, int first_insert, int hint, bcn_etl_insert_fn insert,
		   bcn_etl_reject_fn reject, void *ctx)
{
	if (a >= z)
		return 0;
	if (first_insert) {
		int rc = insert(ctx, a, z, &hint);
		if (rc <= 0)
			return rc;
	}
	return bisect_bad(a, z, hint, 0, insert, reject, ctx);
}
