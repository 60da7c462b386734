/*
 * bcn_proto.h - parsers, validator and encoders of the beacon contract v1.
 *
 * Why this exists: the one entry point (bcn_ingest) that turns bytes from the
 * wire into a validated, authenticated, stamped struct bcn_record.  The
 * appliance's workers, beacon-lint and the fuzz targets all call exactly this,
 * so the reference check and production can never disagree.
 *
 * Nothing here allocates: every function works on caller buffers and
 * fixed-size structs.  Per-core state (token cache, event-id sequence) lives
 * in struct bcn_ingest, one per worker; it is not shared between threads.
 *
 * Binary form v1 (all integers little-endian), see docs/beacon-protocol.md:
 *   0  u8[2] magic 'B','C'         8  i64 ts (ms since epoch)
 *   2  u8    version (1)           16 u8  flags (BCN_BF_*): which UUIDs follow
 *   3  u8    type (enum bcn_type)  17 u8  reserved, must be 0
 *   4  u8    event (player) / op   18 u16 token length T (0: no token)
 *   5  i8    score (like)          20 u32 position_ms
 *   6  u8    rating (review)       24 u32 duration_ms
 *   7  u8    reserved, must be 0   28 UUIDs, 16 raw bytes each, in flag order
 *                                     anon, session, film, review
 *   then the type's strings as u16 length + bytes, in this order:
 *     player: from, to   page: url, referrer   action: key, value
 *     review: text       (view, like, bookmark: none)
 *   then T bytes of token.  Nothing may follow.
 */
#ifndef BCN_PROTO_H
#define BCN_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_record.h"
#include "bcn_jwt.h"

#define BCN_BIN_MAGIC0   'B'
#define BCN_BIN_MAGIC1   'C'
#define BCN_BIN_VERSION  1u
#define BCN_BIN_FIXED    28u
enum {
	BCN_BF_ANON    = 1u << 0,
	BCN_BF_SESSION = 1u << 1,
	BCN_BF_FILM    = 1u << 2,
	BCN_BF_REVIEW  = 1u << 3,
	BCN_BF_POSITION = 1u << 4, /* position_ms field is meaningful */
	BCN_BF_DURATION = 1u << 5, /* duration_ms field is meaningful */
	BCN_BF__ALL    = 0x3f
};

/* A token found in a beacon: points into the caller's input buffer. */
struct bcn_token {
	const char *p;
	size_t n;
};

/*
 * Parse one JSON beacon (a flat object) into *r and *tok.  Only syntax, JSON
 * types, per-field formats (UUID, enums, ranges, lengths, UTF-8) and
 * duplicates are checked here; bcn_validate() does the per-type rules.
 * Returns BCN_OK or a reason; on error *r is partially written and must not
 * be used.
 */
int bcn_json_parse(const char *buf, size_t len, struct bcn_record *r,
		   struct bcn_token *tok);

/* Same for the binary form v1. */
int bcn_bin_parse(const uint8_t *buf, size_t len, struct bcn_record *r,
		  struct bcn_token *tok);

/*
 * Encode the client-side fields of *r (not event_id/recv_ts/node/source/
 * user_id) plus an optional token as a binary v1 beacon.  Returns the length
 * written, or 0 if cap is too small or a field exceeds its limit (nothing
 * useful is written then).
 */
size_t bcn_bin_encode(const struct bcn_record *r, const char *token,
		      size_t token_len, uint8_t *out, size_t cap);

/*
 * Encode the client-side fields of *r plus an optional token as a JSON
 * beacon (what a player sends).  Returns the length, or 0 if cap is too
 * small.  Used by the load generator and the tests.
 */
size_t bcn_json_encode_beacon(const struct bcn_record *r, const char *token,
			      size_t token_len, char *out, size_t cap);

/*
 * Serialise a validated record as the Kafka message value: one JSON object
 * whose keys are exactly the ClickHouse column names (docs/beacon-protocol.md,
 * "The record").  Returns the length written (no NUL), or 0 if cap is too
 * small.  BCN_RECORD_JSON_MAX is always enough.
 */
#define BCN_RECORD_JSON_MAX (BCN_MAX_TEXT * 6u + 8192u)
size_t bcn_record_to_json(const struct bcn_record *r, char *out, size_t cap);

/* Per-type rules (required fields, score/rating ranges, position <= duration,
 * clock skew).  Identity is checked by bcn_ingest.  Returns BCN_OK or a reason. */
int bcn_validate(const struct bcn_record *r, int64_t now_ms,
		 int64_t skew_past_ms, int64_t skew_future_ms);

/* Configuration of ingestion, shared read-only by all workers. */
struct bcn_ingest_cfg {
	int64_t skew_past_ms;    /* how old ts may be          (default 24 h)  */
	int64_t skew_future_ms;  /* how far ahead ts may be    (default 10 min) */
	char node[BCN_MAX_NODE]; /* this appliance's name, copied into records */
	uint16_t node_id;        /* 16 bits of event_id, unique per node        */
};

/* Per-worker state.  Owned by one thread. */
struct bcn_ingest {
	const struct bcn_ingest_cfg *cfg;
	struct bcn_jwt_cache *jwt;  /* per-worker token cache, may be NULL: then
				       every token is rejected as bad_token */
	uint8_t worker;             /* 8 bits of event_id                      */
	int64_t last_ms;            /* event-id clock                          */
	uint32_t seq;               /* event-id sequence within last_ms        */
	uint64_t rnd;               /* xorshift state for the event id's tail  */
};

/* Initialise per-worker state.  Can't fail. */
void bcn_ingest_init(struct bcn_ingest *in, const struct bcn_ingest_cfg *cfg,
		     struct bcn_jwt_cache *jwt, uint8_t worker);

/* Defaults for a config (24 h past, 10 min future, node "local"). */
void bcn_ingest_cfg_defaults(struct bcn_ingest_cfg *cfg);

enum bcn_format { BCN_FMT_JSON = 0, BCN_FMT_BINARY = 1 };

/*
 * The whole contract: parse (JSON or binary), authenticate, validate, and
 * stamp event_id, recv_ts, node and source.  `auth`/`auth_len` is an HTTP
 * Authorization bearer token (without "Bearer "), or NULL; it takes precedence
 * over a token inside the beacon.  Returns BCN_OK with *r ready for the ring,
 * or a reason (then *r must not be used).
 */
int bcn_ingest(struct bcn_ingest *in, enum bcn_format fmt, const void *buf,
	       size_t len, const char *auth, size_t auth_len, int64_t now_ms,
	       enum bcn_source src, struct bcn_record *r);

/* Sniff the format of a UDP datagram: binary if it starts with the magic. */
static inline enum bcn_format bcn_format_of(const void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;
	return (len >= 2 && p[0] == BCN_BIN_MAGIC0 && p[1] == BCN_BIN_MAGIC1)
		       ? BCN_FMT_BINARY : BCN_FMT_JSON;
}

/* ---- helpers shared by the codecs (bcn_text.c) --------------------------- */

/* Parse a canonical lowercase-or-uppercase 8-4-4-4-12 UUID (36 chars).
 * Returns 0 on success, -1 on error (out unchanged). */
int bcn_uuid_parse(const char *s, size_t n, uint8_t out[16]);
/* Format 16 bytes as a 36-char lowercase UUID (no NUL).  Can't fail. */
void bcn_uuid_format(const uint8_t u[16], char out[36]);
/* 1 if all 16 bytes are zero. */
int bcn_uuid_is_nil(const uint8_t u[16]);
/* Validate UTF-8 (no overlongs, no surrogates, no NUL); on success returns
 * the number of code points, else -1. */
long bcn_utf8_count(const char *s, size_t n);

/* Append a string to r's arena as *dst after checking its byte length
 * (limit), UTF-8 validity and code points (max_cps).  Returns BCN_OK,
 * BCN_R_TOO_LONG or BCN_R_BAD_UTF8 (then the arena is unchanged).  s may
 * already lie at the arena's end (decoded in place). */
int bcn_put_str(struct bcn_record *r, struct bcn_sref *dst, const char *s,
		size_t n, size_t limit, long max_cps);

#endif
