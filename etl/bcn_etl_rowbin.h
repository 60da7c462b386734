/*
 * bcn_etl_rowbin.h - a record (flat JSON object, docs/beacon-protocol.md §6)
 * to one ClickHouse RowBinary row, by a column plan read from the table
 * itself (DESCRIBE TABLE).
 *
 * Why this exists: ClickHouse 18.16 parses a JSONEachRow INSERT on one
 * thread at ~2.3 s per million of our rows, RowBinary at ~0.8 s
 * (docs/etl.md, "Insert format").  The ETL already holds every record's
 * bytes, so it converts them on its own threads and sends RowBinary.
 *
 * The conversion is an optimisation, never a judge: a record is converted
 * only when every value maps exactly onto its column (a canonical UUID
 * string, an integer in the column's range, a string with standard JSON
 * escapes, every column present, no key twice).  Anything else is
 * BCN_RB_FALLBACK: the caller inserts that record as JSONEachRow, unchanged,
 * so ClickHouse decides about it exactly as it did before this module
 * existed (and refused rows reach the DLQ with ClickHouse's error).
 *
 * The plan: DESCRIBE's columns in table order, without MATERIALIZED and
 * ALIAS ones.  A table with a column of a type this module does not encode
 * (anything but String, UUID, [U]Int8..64), or a name that is not a plain
 * identifier, has no plan (the caller uses JSONEachRow for it).
 *
 * Pure functions, no allocation: callable from any thread.
 *
 * Tokenizing: the hot path reuses the pairs the router (bcn_etl_route.c)
 * found while checking the record, so each record is scanned once (a
 * second tokenizer, jsmn, cost 0.5 us of the 0.9 us per record that the
 * conversion took in perf/RESULTS.md's measurement).  The router is our
 * own scanner, fuzzed against jsmn since it was written; the conversion from
 * its pairs is fuzzed against the conversion from jsmn's tokens
 * (tests/fuzz/fuzz_etl_rowbin.c): same outcome, same bytes.
 */
#ifndef BCN_ETL_ROWBIN_H
#define BCN_ETL_ROWBIN_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_etl_route.h"

#define BCN_RB_MAX_COLS 64
#define BCN_RB_MAX_TOKENS 257 /* 1 object + 128 key/value pairs */

enum bcn_rb_type {
	BCN_RB_STRING = 1,
	BCN_RB_UUID,
	BCN_RB_INT8, BCN_RB_INT16, BCN_RB_INT32, BCN_RB_INT64,
	BCN_RB_UINT8, BCN_RB_UINT16, BCN_RB_UINT32, BCN_RB_UINT64,
};

struct bcn_rb_col {
	char name[64];
	uint8_t len;      /* strlen(name) */
	uint8_t type;     /* enum bcn_rb_type */
};

struct bcn_rb_plan {
	int ncols;                        /* 0: no plan (use JSONEachRow)     */
	struct bcn_rb_col col[BCN_RB_MAX_COLS];
	char why[160];                    /* when ncols == 0: the reason      */
	char collist[1024];               /* "(%60a%60,%60b%60)" for the URL  */
};

/* Outcomes of bcn_rb_encode. */
enum { BCN_RB_OK = 0, BCN_RB_FALLBACK = 1, BCN_RB_NOROOM = 2 };

/* Split one TabSeparated line s[0..n) (no '\n') at its tabs: f[i], fl[i]
 * are field i's start and length, for the first max fields (any after
 * them are not looked at).  Returns the number of fields found (>= 1 when
 * max >= 1).  Can't fail; pure. */
int bcn_rb_tsv_fields(const char *s, size_t n, const char **f, size_t *fl, int max);

/*
 * Build a plan from DESCRIBE TABLE's TabSeparated answer (name, type,
 * default_type, default_expression[, ...] per line).  Returns the number of
 * columns (> 0), or 0 with the reason in p->why (an unsupported type, a
 * name that is not [A-Za-z0-9_]+, no columns, too many).
 */
int bcn_rb_plan_parse(struct bcn_rb_plan *p, const char *tsv, size_t len);

/*
 * Encode one record as one RowBinary row of plan p into out[0..cap), from
 * its pairs as the router found them (bcn_etl_route_tok: tok[0..ntok) of
 * json; its strings hold no raw control characters, which this relies on).  Returns BCN_RB_OK with *outlen set; BCN_RB_FALLBACK if the record
 * must go as JSON (see above; also ntok < 0); BCN_RB_NOROOM if the row does
 * not fit in cap (out then holds garbage).  Never reads outside the pairs'
 * spans nor writes past out[cap - 1].  The ETL's hot path.
 */
int bcn_rb_encode_tok(const struct bcn_rb_plan *p, const char *json,
		      const struct bcn_etl_tok *tok, int ntok, uint8_t *out, size_t cap,
		      size_t *outlen);

/*
 * The fast path for the common case, without the router: a record laid out
 * exactly as plan p's columns -- '{', then every column's "name":value in
 * plan order, separated by ',', then '}' and nothing after; no whitespace,
 * no other key; strings without escapes or control characters; integers as
 * bcn_rb_encode_tok takes them -- whose column number type_col (a String)
 * holds exactly `type` (a record type's name, e.g. "view").  beacond writes
 * its records that way.  Returns BCN_RB_OK: then bcn_etl_route_tok accepts
 * the record with that type, and bcn_rb_encode_tok would write the same
 * bytes (the fuzz target holds it to that); BCN_RB_FALLBACK: not that
 * layout, route it and use bcn_rb_encode_tok (nothing is implied about the
 * record); BCN_RB_NOROOM as there.  Never reads outside json[0..n) nor
 * writes past out[cap - 1].  perf: one pass, no pairs (perf/RESULTS.md).
 */
int bcn_rb_encode_flat(const struct bcn_rb_plan *p, int type_col, const char *type,
		       const char *json, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/*
 * The same from the record's bytes json[0..n), tokenized by jsmn (strict)
 * instead of the router: the reference the fuzz target and the unit tests
 * hold the hot path to (same outcome, same bytes, for any input the router
 * accepts).  Also usable on its own.
 */
int bcn_rb_encode(const struct bcn_rb_plan *p, const char *json, size_t n, uint8_t *out,
		  size_t cap, size_t *outlen);

/*
 * The RowBinary bytes of toUUID('00112233-4455-6677-8899-aabbccddeeff') that
 * this module writes (16 bytes).  beacon-etl compares them with the server's
 * own answer at start-up and uses JSONEachRow if they differ.
 */
extern const uint8_t bcn_rb_uuid_probe[16];
#define BCN_RB_UUID_PROBE_TEXT "00112233-4455-6677-8899-aabbccddeeff"

#endif
