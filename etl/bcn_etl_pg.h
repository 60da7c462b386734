/*
 * bcn_etl_pg.h - beacon-etl's PostgreSQL state sink: likes, bookmarks,
 * reviews and viewing progress of registered users, applied to the read
 * side's current-state tables (etl/pg/V*.sql) that beacon-api answers from.
 *
 * Why this exists: ClickHouse keeps the raw events for the analysts; the
 * site's point reads ("my bookmarks", "continue watching", a film's rating)
 * need the current state, one index range read per answer
 * (docs/storage-research.md).  The sink is one more consumer of the same
 * topics (ugc.actions and ugc.views), in its own thread and consumer group,
 * so a slow or absent PostgreSQL never delays the ClickHouse streams.
 *
 * Guarantee: at-least-once delivery (Kafka offsets are committed only after
 * the batch's transaction committed) + idempotent last-write-wins apply
 * (apply_* fold a batch to the newest write per key and never let an equal
 * or older write replace a row) = exactly-once effect.  See etl/README.md.
 *
 * The pure parts (a record -> its row fields, JSON string unescaping,
 * PostgreSQL text-array encoding) are exported for the unit tests.
 */
#ifndef BCN_ETL_PG_H
#define BCN_ETL_PG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a record becomes (label kind of beacon_etl_pg_records_applied_total). */
enum bcn_etl_pg_kind {
	BCN_ETL_PG_LIKE = 0, /* -> apply_likes                       */
	BCN_ETL_PG_BOOKMARK, /* -> apply_bookmarks                   */
	BCN_ETL_PG_REVIEW,   /* -> apply_reviews                     */
	BCN_ETL_PG_VIEW,     /* view heartbeat -> apply_progress     */
	BCN_ETL_PG_FINISH,   /* player "finish" -> apply_progress    */
	BCN_ETL_PG__NKINDS
};
const char *bcn_etl_pg_kind_name(unsigned k);

/* Why a record is not applied (label reason of
 * beacon_etl_pg_records_skipped_total).  Append only. */
enum bcn_etl_pg_skip {
	BCN_ETL_PG_OK = 0,
	BCN_ETL_PG_S_ANONYMOUS,    /* user_id is the nil UUID (not a registered user) */
	BCN_ETL_PG_S_PLAYER_EVENT, /* a player event other than "finish"              */
	BCN_ETL_PG_S_OTHER_TYPE,   /* page, action: not state the read API serves     */
	BCN_ETL_PG_S_BAD_JSON,     /* not one flat JSON object                        */
	BCN_ETL_PG_S_NO_TYPE,      /* no usable "type"                                */
	BCN_ETL_PG_S_BAD_FIELD,    /* a field missing, twice, of the wrong JSON type or out of range */
	BCN_ETL_PG_S_BAD_UUID,     /* a UUID that is not 8-4-4-4-12 hex, or nil where one is needed */
	BCN_ETL_PG_S_BAD_TEXT,     /* review text: bad UTF-8, NUL, lone surrogate     */
	BCN_ETL_PG_S_TOO_LARGE,    /* over postgres.max_record_bytes                  */
	BCN_ETL_PG_S__COUNT
};
const char *bcn_etl_pg_skip_name(unsigned r);

/* A record's row fields.  UUIDs are canonical lowercase text, NUL-ended. */
struct bcn_etl_pg_rec {
	unsigned type;             /* BCN_T_* (BCN_T_NONE if not routable)    */
	unsigned kind;             /* BCN_ETL_PG_* (when OK)                  */
	char user_id[37], film_id[37], event_id[37];
	int64_t ts, recv_ts;
	int64_t score;             /* like: 1, -1, 0 (removed)                */
	int active;                /* bookmark: op == "add"                   */
	char review_id[37];        /* review                                  */
	int deleted;               /* review: op == "delete"                  */
	int64_t rating;            /* review: 1..10, 0 on a delete            */
	const char *text;          /* review: unescaped UTF-8 ("" on a delete) */
	size_t text_len;
	int64_t position_ms, duration_ms; /* view, finish                     */
};

/*
 * Read record p[0..n) (a flat JSON object as beacond writes it,
 * docs/beacon-protocol.md §6) into *r.  A review's text is unescaped into
 * text[0..textcap) (textcap >= n always suffices) and r->text points there.
 * Returns BCN_ETL_PG_OK or the reason to skip it.  Pure; no allocation.
 */
int bcn_etl_pg_parse(const char *p, size_t n, struct bcn_etl_pg_rec *r, char *text, size_t textcap);

/*
 * Decode the JSON string body s[0..n) (between the quotes, escapes as the
 * router checked them) into out[0..cap): \" \\ \/ \b \f \n \r \t and \uXXXX
 * (surrogate pairs joined) to UTF-8.  Returns the length, or -1 if the
 * result is not valid UTF-8 for PostgreSQL (a lone surrogate, \u0000 or a
 * raw NUL, bad UTF-8 bytes), an escape is bad, or it does not fit.  The
 * output is never longer than the input.
 */
ssize_t bcn_etl_pg_unescape(const char *s, size_t n, char *out, size_t cap);

/*
 * A PostgreSQL array literal in text format ("{a,b,"c d"}") built in a
 * fixed buffer: the parameter value of one apply_* argument.  Plain
 * elements (UUIDs, integers, t/f) go as they are; text is always quoted
 * with " and \ backslash-escaped, so commas, braces, spaces, the word NULL
 * and "" keep their meaning as data.
 */
struct bcn_etl_pg_arr {
	char *buf;
	size_t len, cap;           /* cap: 2 bytes are kept for "}\0"        */
	uint32_t n;                /* elements                               */
	int closed;                /* "}" written: no more elements          */
};
void bcn_etl_pg_arr_init(struct bcn_etl_pg_arr *a, char *buf, size_t cap);
void bcn_etl_pg_arr_reset(struct bcn_etl_pg_arr *a);
/* Append an element.  Return 0, or -1 (nothing appended) if it does not fit. */
int bcn_etl_pg_arr_plain(struct bcn_etl_pg_arr *a, const char *s, size_t n);
int bcn_etl_pg_arr_i64(struct bcn_etl_pg_arr *a, int64_t v);
int bcn_etl_pg_arr_bool(struct bcn_etl_pg_arr *a, int v);
int bcn_etl_pg_arr_text(struct bcn_etl_pg_arr *a, const char *s, size_t n);
/* Bytes an element of n text bytes may take, worst case (all quotes). */
static inline size_t bcn_etl_pg_text_need(size_t n) { return 2 * n + 3; }
/* Close the literal ("}" and a NUL; the array stays closed until reset).
 * Returns a->buf. */
const char *bcn_etl_pg_arr_end(struct bcn_etl_pg_arr *a);

/* ---- the sink (bcn_etl_pg.c), used by main.c and bcn_etl_metrics.c ---- */
struct bcn_etl;
struct bcn_etl_pg;
struct bcn_mbuf;

/* Allocate everything (batch arrays, text arena, partition slots), create
 * the consumer and subscribe.  Does not connect to PostgreSQL (the thread
 * does, and retries).  Returns NULL with a message in err. */
struct bcn_etl_pg *bcn_etl_pg_new(struct bcn_etl *etl, char *err, size_t errlen);
/* Start the thread.  Returns 0 or -1. */
int bcn_etl_pg_start(struct bcn_etl_pg *g);
/* 1 while the thread runs. */
int bcn_etl_pg_running(struct bcn_etl_pg *g);
/* Join the thread (once etl->stop is set) and free; NULL is a no-op. */
void bcn_etl_pg_free(struct bcn_etl_pg *g);
/* The beacon_etl_pg_* families (main thread). */
void bcn_etl_pg_metrics(struct bcn_etl_pg *g, struct bcn_mbuf *mb);
/* 1 if the sink is ready (thread running, PostgreSQL applying); else 0 and why. */
int bcn_etl_pg_ready(struct bcn_etl_pg *g, char *why, size_t whylen);
/* Records applied and batches abandoned at shutdown, for the exit line. */
void bcn_etl_pg_totals(struct bcn_etl_pg *g, uint64_t *applied, uint64_t *dropped);
/* Preallocated bytes (start-up line). */
size_t bcn_etl_pg_pool_bytes(struct bcn_etl_pg *g);

#endif
