/*
 * bcn_ch.h - beacon-etl's ClickHouse client: INSERT ... FORMAT JSONEachRow
 * or RowBinary over the HTTP interface with libcurl, several endpoints with failover,
 * and the reading of ClickHouse's answers.
 *
 * Why this exists: ClickHouse says "no" in several ways -- an HTTP status,
 * an exception text in the body ("Code: 27, e.displayText() = DB::Exception:
 * ..." in 18.x, "Code: 27. DB::Exception: ..." later), sometimes after a
 * 200 when the answer was streamed, or an X-ClickHouse-Exception-Code
 * header -- and each "no" needs a different reaction: bad data (find the
 * poison rows, send them to the DLQ), a configuration problem (retry, an
 * operator must act), or a transient failure (retry the same bytes, maybe on
 * another endpoint).  This module turns an answer into one of those kinds.
 *
 * Threads: one struct bcn_ch per inserter thread (one curl easy handle and
 * its keep-alive connection); never shared.  The parsing functions are pure.
 * Memory: the URLs, the response buffers and the curl handle are allocated
 * by bcn_ch_new; an insert allocates only inside libcurl (bounded, reused
 * connection).  The request body is sent from the caller's buffer (no copy).
 */
#ifndef BCN_CH_H
#define BCN_CH_H

#include <stddef.h>
#include <stdint.h>

/* What an INSERT's answer means (label values of beacon_etl_errors_total). */
enum bcn_ch_kind {
	BCN_CH_OK = 0,
	BCN_CH_DATA,      /* the rows are bad: bisect, DLQ the poison rows         */
	BCN_CH_CONFIG,    /* table/database/user/query wrong: retry, alert         */
	BCN_CH_TRANSIENT, /* server busy, too many parts, memory, replica...: retry */
	BCN_CH_TRANSPORT, /* no HTTP answer (connect, reset, timeout): retry, next
			     endpoint; the outcome of a timed-out insert is unknown */
	BCN_CH__NKINDS
};

/* "ok", "data", "config", "transient", "transport". */
const char *bcn_ch_kind_name(unsigned k);

/*
 * Look for a ClickHouse exception in an answer body: "Code: N" followed by
 * ',' or '.' (both server generations), anywhere in body[0..len).  Returns
 * N (> 0), or 0 if there is none.  If row is not NULL, *row is set to N of
 * the first "(at row N)" after it (1-based, as ClickHouse counts the rows of
 * the insert), or 0.  Never reads past len.
 */
int bcn_ch_parse_exception(const char *body, size_t len, int *row);

/*
 * Classify an answer: curl_ok = 0 means no HTTP answer (transport).  Then an
 * exception code (from the header or the body; 0 if none) decides: known
 * data-error codes -> DATA; unknown table/database/column, auth, syntax ->
 * CONFIG; anything else -> TRANSIENT.  Without a code: 2xx -> OK; 5xx, 429,
 * 408 -> TRANSIENT; other statuses -> CONFIG.
 */
enum bcn_ch_kind bcn_ch_classify(int curl_ok, long http_status, int code);

/* One insert's outcome. */
struct bcn_ch_result {
	enum bcn_ch_kind kind;
	long status;       /* HTTP status, 0 if none                              */
	int code;          /* ClickHouse exception code, 0 if none                */
	int row;           /* "(at row N)" hint, 0 if none                        */
	int endpoint;      /* index of the endpoint that answered (or failed)     */
	double seconds;    /* wall time of the request                            */
	char msg[256];     /* first line of the error, or curl's message          */
};

struct bcn_ch_conf {
	const char *const *endpoints; /* "http://host:port"                       */
	int nendpoints;
	const char *database;
	const char *const *tables;   /* every table this client inserts into     */
	int ntables;
	const char *user, *password;
	const char *settings;        /* extra "k=v&k=v", may be ""               */
	int64_t connect_timeout_ms, timeout_ms;
};

struct bcn_ch;

/* Build the client: one curl handle, one prebuilt URL per (endpoint,
 * table).  Returns NULL with a message in err (out of memory, curl init). */
struct bcn_ch *bcn_ch_new(const struct bcn_ch_conf *c, char *err, size_t errlen);

/*
 * INSERT body[0..len) into table number `table` (index in conf.tables) on
 * the current endpoint.  timeout_ms > 0 overrides conf.timeout_ms (used
 * under a shutdown or revocation deadline).  Fills *r and returns r->kind.
 * On TRANSPORT, and on TRANSIENT answers without a code (a proxy's 502/503),
 * the next call goes to the next endpoint (round robin).  Never retries by
 * itself: the caller owns the retry policy.
 */
enum bcn_ch_kind bcn_ch_insert(struct bcn_ch *ch, int table, const char *body, size_t len,
			       int64_t timeout_ms, struct bcn_ch_result *r);

/*
 * The same, as INSERT INTO db.table COLLIST FORMAT RowBinary (collist is
 * "(%60a%60,%60b%60)", URL-encoded: bcn_rb_plan.collist).  The body is
 * RowBinary rows of exactly those columns.
 */
enum bcn_ch_kind bcn_ch_insert_rowbinary(struct bcn_ch *ch, int table, const char *collist,
					 const void *body, size_t len, int64_t timeout_ms,
					 struct bcn_ch_result *r);

/*
 * Run one query (DESCRIBE, SELECT) on the current endpoint; its answer's
 * first cap bytes go to out (*outlen).  An answer longer than cap is
 * TRANSIENT.  Same failover and classification as an insert.
 */
enum bcn_ch_kind bcn_ch_query(struct bcn_ch *ch, const char *sql, char *out, size_t cap,
			      size_t *outlen, int64_t timeout_ms, struct bcn_ch_result *r);

/* Index of the endpoint the next insert will use. */
int bcn_ch_endpoint(const struct bcn_ch *ch);

/* Free everything; NULL is a no-op. */
void bcn_ch_free(struct bcn_ch *ch);

#endif
