/*
 * bcn_etl_route.h - which table a record goes to, found cheaply and safely.
 *
 * Why this exists: a batch body is the records joined by '\n' and sent as
 * JSONEachRow, so one record that is not a complete flat JSON object (an
 * unterminated string, a raw newline, a nested value) could make ClickHouse
 * read two records as one row or shift every row after it.  Before a record
 * enters a batch it is therefore checked in one pass to be exactly one flat
 * JSON object (strings, numbers, true/false/null values; strict string
 * escapes; no control characters), and its top-level "type" is read on the
 * way.  Anything else goes to the dead-letter topic with a reason, never to
 * ClickHouse.  Whether the values fit the columns is ClickHouse's to say (a
 * rejected batch is bisected: bcn_etl_batch.h).
 *
 * Pure functions, no allocation: callable from any thread.
 */
#ifndef BCN_ETL_ROUTE_H
#define BCN_ETL_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* Why a record went to the DLQ (label values of beacon_etl_dlq_records_total
 * and the "reason" header).  Append only. */
enum bcn_etl_dlq_reason {
	BCN_ETL_R_OK = 0,
	BCN_ETL_R_BAD_JSON,     /* not exactly one flat JSON object           */
	BCN_ETL_R_NO_TYPE,      /* no top-level "type" string                 */
	BCN_ETL_R_UNKNOWN_TYPE, /* "type" is not one of the seven             */
	BCN_ETL_R_WRONG_TOPIC,  /* a known type, read from another stream's topic */
	BCN_ETL_R_TOO_LARGE,    /* larger than the table's batch buffer       */
	BCN_ETL_R_REJECTED,     /* ClickHouse refused this one row (data error) */
	BCN_ETL_R__COUNT
};

/* Wire name of a reason ("bad_json", ...); "?" out of range. */
const char *bcn_etl_reason_name(unsigned r);

/*
 * Check that p[0..n) is one flat JSON object (whitespace around it allowed)
 * and find its top-level "type".  On success returns BCN_ETL_R_OK and sets
 * *type to a BCN_T_* value (bcn_record.h).  Otherwise returns BCN_ETL_R_BAD_JSON
 * (syntax, nesting, a duplicate "type" key, a control character or a bad
 * escape in a string), BCN_ETL_R_NO_TYPE (absent, or not a string) or
 * BCN_ETL_R_UNKNOWN_TYPE; *type is then BCN_T_NONE.  Reads nothing beyond
 * p[n - 1].
 */
int bcn_etl_route(const char *p, size_t n, unsigned *type);

/*
 * One key/value pair of the record, as the router saw it: offsets into the
 * record, without the quotes of strings; esc = the string had a backslash.
 */
enum { BCN_ETL_V_STRING = 1, BCN_ETL_V_NUMBER, BCN_ETL_V_LITERAL /* true false null */ };
struct bcn_etl_tok {
	uint32_t ko, kl;  /* key   */
	uint32_t vo, vl;  /* value */
	uint8_t kesc, vkind, vesc, pad;
};

/*
 * bcn_etl_route, also giving the record's pairs in tok[0..*ntok) (in their
 * order) for the RowBinary encoder, which so needs no second tokenizer.
 * *ntok = -1 if the record has more than maxtok pairs (or was not routed).
 */
int bcn_etl_route_tok(const char *p, size_t n, unsigned *type, struct bcn_etl_tok *tok, int maxtok,
		      int *ntok);

/* The bytes of v (little-endian order) that are not ASCII digits, as their
 * bit 7 set (the router's and the RowBinary encoder's digit scans, 8 bytes
 * at a time).  A byte's low 7 bits plus 0x50 reach bit 7 iff they are
 * >= 0x30, plus 0x46 iff they are >= 0x3a; a byte with bit 7 already set is
 * no digit either.  Each sum stays below 0x100, so no lane carries into the
 * next.  Can't fail. */
static inline uint64_t bcn_etl_not_digits(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t lo = v & ~highs;                           /* low 7 bits of each byte */
	uint64_t ge30 = (lo + ones * (0x80 - 0x30)) & highs; /* low7 >= 0x30 */
	uint64_t gt39 = (lo + ones * (0x80 - 0x3a)) & highs; /* low7 >= 0x3a */
	return (~ge30 | gt39 | v) & highs;                  /* or bit 7 already set */
}

/* Stream (BCN_ETL_VIEWS...) whose topic carries records of type t
 * (view/player: views, page/action: events, like/review/bookmark:
 * actions); -1 for BCN_T_NONE or out of range. */
int bcn_etl_stream_of(unsigned t);

#endif
