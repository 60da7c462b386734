/*
 * bcn_etl_sort.h - a batch's RowBinary rows put in the table's ORDER BY
 * order before they are sent, so that ClickHouse need not sort them.
 *
 * Why this exists: a MergeTree INSERT sorts each block by the table's
 * sorting key before it writes the part, unless the block already is in
 * that order (MergeTreeDataWriter checks, and counts the skip as the event
 * MergeTreeDataWriterBlocksAlreadySorted; ClickHouse 18.16 does it too).
 * On this VM that sort is about a quarter of ClickHouse's insert CPU for
 * view rows (perf/RESULTS.md, "Rows sorted before they are sent"), and it
 * shares two cores with the ETL, so the ETL sorts instead, for less.
 *
 * Sorting is an optimisation, never a change of what is stored: the rows
 * are the same bytes, only their order changes.  A key the ETL cannot
 * compute exactly -- a column it does not send, an expression it does not
 * know, a String part -- gives no sort plan, and a value outside the range
 * where its computation is exact (a ts before 1970 or after 2106 in a day
 * part) leaves that one batch unsorted: ClickHouse then sorts as before.  If
 * the ETL's order ever differed from ClickHouse's, ClickHouse would sort
 * the block itself; the integration test reads the event to hold the ETL to
 * ClickHouse's order.
 *
 * The order is total and deterministic: rows with equal keys keep their
 * batch order, so a retry of the same rows sends the same bytes
 * (identical-block deduplication still recognises it).
 *
 * What the ETL can compute (the only forms our schema uses):
 *   a column it sends of type UUID or [U]Int8..64;
 *   user_key-style MATERIALIZED UUIDs: if(A != toUUID('00000000-0000-0000-
 *     0000-000000000000'), A, B) with A, B UUID columns it sends;
 *   event_date-style MATERIALIZED Dates: toDate(toDateTime(intDiv(T, 1000),
 *     'UTC')) with T an Int64 column it sends (milliseconds).
 *
 * Threads: a plan is built and read under the stream's lock like the
 * RowBinary plan; a bcn_sort_buf belongs to one inserter thread.
 */
#ifndef BCN_ETL_SORT_H
#define BCN_ETL_SORT_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_etl_rowbin.h"

#define BCN_SORT_MAX_PARTS 8
#define BCN_SORT_MAX_WORDS 8 /* a key is at most 64 bytes */

enum bcn_sort_kind {
	BCN_SK_COL = 1, /* column a as it is                        */
	BCN_SK_IFNIL,   /* if(a != nil UUID, a, b)                  */
	BCN_SK_DAY_MS,  /* toDate(toDateTime(intDiv(a, 1000), 'UTC')) */
};

struct bcn_sort_part {
	uint8_t kind;  /* enum bcn_sort_kind                     */
	uint8_t type;  /* the value's bcn_rb_type (DAY_MS: UINT16) */
	uint8_t a, b;  /* column numbers in the RowBinary plan    */
};

struct bcn_sort_plan {
	int nparts;                 /* 0: the rows go in batch order      */
	int nwords;                 /* 64-bit words of a key              */
	int lastcol;                /* the highest column a key reads     */
	uint8_t cw[BCN_RB_MAX_COLS]; /* bytes of columns 0..lastcol (0: String) */
	struct bcn_sort_part part[BCN_SORT_MAX_PARTS];
	char why[160];              /* nparts == 0: the reason             */
};

/*
 * Build the sort plan of a table from its sorting key as system.tables
 * gives it ("user_key, film_id, ts, event_id"), its DESCRIBE answer (for the
 * MATERIALIZED columns' expressions; TabSeparated, escaped) and its
 * RowBinary plan p.  Returns the number of key parts (> 0), or 0 with the
 * reason in sp->why (an empty key, a part the ETL cannot compute, a key
 * wider than 64 bytes, p without columns).  Pure; never reads outside its
 * arguments.
 */
int bcn_sort_plan_parse(struct bcn_sort_plan *sp, const struct bcn_rb_plan *p, const char *desc,
			size_t dlen, const char *key, size_t klen);

#define BCN_SORT_HIST (4 * 65536)

/*
 * The table a Distributed table writes to, from its system.tables
 * engine_full (TabSeparated, escaped): "Distributed(cluster, db, table[,
 * sharding key])", each name bare or in quotes (ClickHouse 18.16 prints
 * them as written, current releases quoted).  Its sorting key is the one
 * whose order makes each shard's part of a block already sorted: the
 * Distributed engine splits a block by shard keeping the rows' order.
 * Returns 0 with db and table set (NUL-terminated), or -1 (not that form,
 * or a name longer than its buffer).  Pure.
 */
int bcn_sort_dist_target(const char *engine_full, size_t n, char *db, size_t dbcap, char *table,
			 size_t tcap);

/* An inserter's scratch memory for sorting up to max rows. */
struct bcn_sort_ent;
struct bcn_sort_buf {
	struct bcn_sort_ent *e, *t; /* max entries each                    */
	uint64_t *keys;             /* max * BCN_SORT_MAX_WORDS             */
	uint32_t *hist;             /* BCN_SORT_HIST radix counters         */
	uint32_t max;
	size_t bytes;               /* all of it, for /metrics             */
};

/* Allocate and touch the scratch memory.  Returns 0, or -1 (out of memory;
 * nothing to free). */
int bcn_sort_buf_init(struct bcn_sort_buf *b, uint32_t max_rows);

/* Free it; a zeroed or freed buffer is a no-op. */
void bcn_sort_buf_free(struct bcn_sort_buf *b);

/*
 * Order n rows of plan p by sort plan sp: row i is rb[off[i] .. off[i + 1]).
 * On success perm[0..n) holds the row numbers in key order (equal keys in
 * their given order) and 0 is returned.  Returns -1, with perm unchanged in
 * meaning (not filled), if n > b->max, sp has no parts, or a row cannot be
 * keyed exactly (a row shorter than its columns, a day part out of range):
 * the caller sends the rows as they are.  Never reads outside the rows.
 */
int bcn_sort_rows(const struct bcn_sort_plan *sp, const struct bcn_rb_plan *p, const uint8_t *rb,
		  const uint32_t *off, uint32_t n, struct bcn_sort_buf *b, uint32_t *perm);

#endif
