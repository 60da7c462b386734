/*
 * bcn_etl_batch.h - a table's batch: the record values joined by '\n' in one
 * preallocated buffer, with a preallocated slot per row; the retry schedule;
 * and the bisection of a batch that ClickHouse refused for bad data.
 *
 * Why this exists: a retry must send the same rows in the same order (so a
 * re-sent block is recognised as a duplicate by Replicated tables), and the
 * ETL's memory must not depend on traffic.  Rows are therefore copied once
 * from librdkafka's message into a buffer of fixed capacity and stay there,
 * byte for byte, until the batch is inserted (or dropped); any contiguous
 * range of rows is itself a valid JSONEachRow body, so bisecting needs no
 * copy either.
 *
 * Threads: a batch belongs to one stream thread.  in_use/nrows are also
 * read by the metrics thread (relaxed atomics, see bcn_stat.h).
 */
#ifndef BCN_ETL_BATCH_H
#define BCN_ETL_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_stat.h"

/* Where a row came from, and where its bytes are in the buffer. */
struct bcn_etl_row {
	uint32_t off;    /* first byte in buf                 */
	uint32_t len;    /* bytes, without the '\n'            */
	int32_t part;    /* Kafka partition                    */
	uint32_t rb;     /* its RowBinary bytes start at rb[this] (they end
			    where the next converted row's start, or at rblen);
			    BCN_ETL_NO_RB: not converted, goes as JSON */
	int64_t offset;  /* Kafka offset                       */
};

#define BCN_ETL_NO_RB UINT32_MAX

struct bcn_etl_tbatch {
	char *buf;                 /* cap bytes, preallocated          */
	size_t cap;
	uint8_t *rb;               /* rbcap bytes: the rows as RowBinary (NULL: none) */
	size_t rbcap, rblen;
	uint32_t nrb;              /* rows converted                   */
	struct bcn_etl_row *rows;  /* max slots, preallocated          */
	uint32_t max;
	uint32_t n;                /* rows now                          */
	size_t len;                /* bytes now                         */
	bcn_ctr in_use;            /* = len, for /metrics               */
	bcn_ctr nrows;             /* = n, for /metrics                 */
};

enum { BCN_ETL_TB_OK = 0, BCN_ETL_TB_FULL, BCN_ETL_TB_TOO_BIG, BCN_ETL_TB_NOT_FLAT };

/* Allocate and pre-fault (touch every page of) the buffer and the row
 * slots, so that RSS reaches its final size at start-up.  cap must be below
 * 4 GiB.  rbcap > 0 also allocates the RowBinary buffer.  Returns 0, or -1
 * (out of memory; nothing to free). */
int bcn_etl_tb_init(struct bcn_etl_tbatch *b, size_t cap, uint32_t max_rows, size_t rbcap);

/* Free both; a zeroed or freed batch is a no-op. */
void bcn_etl_tb_free(struct bcn_etl_tbatch *b);

/* Append one record and its origin.  Returns BCN_ETL_TB_OK; BCN_ETL_TB_FULL
 * when it does not fit now (no slot or no room: flush, then append again);
 * BCN_ETL_TB_TOO_BIG when it would not fit even in an empty batch. */
int bcn_etl_tb_append(struct bcn_etl_tbatch *b, const void *v, size_t len, int32_t part,
		      int64_t offset);

/*
 * Append one record as bcn_etl_tb_append does and, if plan is usable, its
 * RowBinary row (bcn_rb_encode_tok from the router's pairs).  A record that
 * does not convert is kept as JSON only (row.rb = BCN_ETL_NO_RB), and so is
 * one whose row alone would not fit in rbcap; FULL also when the RowBinary
 * buffer has no room for it now.
 */
struct bcn_rb_plan;
struct bcn_etl_tok;
int bcn_etl_tb_append_rb(struct bcn_etl_tbatch *b, const void *v, size_t len, int32_t part,
			 int64_t offset, const struct bcn_rb_plan *plan,
			 const struct bcn_etl_tok *tok, int ntok);

/*
 * The fast path of bcn_etl_tb_append_rb for a record laid out exactly as
 * plan's columns, whose column type_col holds `type` (bcn_rb_encode_flat):
 * no router, no pairs.  Returns BCN_ETL_TB_NOT_FLAT, with nothing changed,
 * if the record is not such a one (or its row alone would not fit in
 * rbcap): the caller routes it and uses bcn_etl_tb_append_rb.  Otherwise
 * as bcn_etl_tb_append_rb, the row always converted.  When the RowBinary
 * buffer's room runs out before the record's end, it is FULL (if the batch
 * has rows) whether the record is flat or not: the next batch decides.
 */
int bcn_etl_tb_append_flat(struct bcn_etl_tbatch *b, const void *v, size_t len, int32_t part,
			   int64_t offset, const struct bcn_rb_plan *plan, int type_col,
			   const char *type);

/* Forget every row (the buffer is reused).  Can't fail. */
void bcn_etl_tb_reset(struct bcn_etl_tbatch *b);

/* The body of rows [a, z): a pointer into buf and its length (the rows and
 * their '\n's).  a < z <= n. */
const char *bcn_etl_tb_body(const struct bcn_etl_tbatch *b, uint32_t a, uint32_t z, size_t *len);

/*
 * Retry delay number `attempt` (0 = first retry): d = min_ms * 2^attempt,
 * capped at max_ms, then "equal jitter": uniform in [d/2, d] from rnd (any
 * 64-bit random value).  Always within [min_ms/2, max_ms].
 */
int64_t bcn_etl_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t rnd);

/*
 * Bisect rows [a, z) that ClickHouse refused as bad data: insert(ctx, x, y,
 * &hint) is called on sub-ranges and returns 0 (inserted), 1 (refused for
 * bad data; hint = ClickHouse's "(at row N)", 1-based within [x, y), or 0)
 * or -1 (give up: shutdown or revocation).  A refused single row is passed
 * to reject(ctx, row), which returns 0, or -1 to give up.  Each row of
 * [a, z) ends up inserted exactly once or rejected exactly once, in order,
 * unless -1 was returned.  With a valid hint h the range is split as
 * [x, x+h-1), [x+h-1], [x+h, y) (one insert per poison row when the hint is
 * right); otherwise in halves (depth <= log2(z - a) + 1).  The first call is
 * on [a, z) itself only if first_insert is set (else [a, z) is known bad
 * with the given hint).  Returns 0 or -1.
 */
typedef int (*bcn_etl_insert_fn)(void *ctx, uint32_t x, uint32_t y, int *hint);
typedef int (*bcn_etl_reject_fn)(void *ctx, uint32_t row);
int bcn_etl_bisect(uint32_t a, uint32_t z, int first_insert, int hint, bcn_etl_insert_fn insert,
		   bcn_etl_reject_fn reject, void *ctx);

#endif
