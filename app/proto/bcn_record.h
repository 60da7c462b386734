/*
 * bcn_record.h - the beacon contract v1: the normalized record and the closed
 * list of reject reasons.
 *
 * Why this exists: every part of the pipeline (UDP/HTTP fast path, the DPDK
 * driver, beacon-lint, the load generator, the ETL's field mapping) must agree
 * on exactly one definition of a beacon.  The record is a fixed-size struct so
 * that parsers can fill a caller-owned slot without allocating; variable
 * strings live in a small arena at the end of the struct, so only
 * bcn_record_size() bytes need to be copied into a ring.
 *
 * The full specification is docs/beacon-protocol.md; keep the two in step.
 */
#ifndef BCN_RECORD_H
#define BCN_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* ---- limits (bytes unless said otherwise) ------------------------------ */
#define BCN_MAX_BEACON      20480u /* one JSON or binary beacon, whole */
#define BCN_MAX_SHORT       32u    /* from / to                         */
#define BCN_MAX_URL         2048u  /* url / referrer                    */
#define BCN_MAX_KEY         64u    /* action key                        */
#define BCN_MAX_VALUE       1024u  /* action value                      */
#define BCN_MAX_TEXT_CHARS  4000u  /* review text, in code points       */
#define BCN_MAX_TEXT        (BCN_MAX_TEXT_CHARS * 4u)
#define BCN_MAX_TOKEN       2048u  /* JWT, compact form                 */
#define BCN_MAX_NODE        32u    /* node name in the record           */
#define BCN_MAX_POSITION_MS 604800000ull /* 7 days: longer is out_of_range */
#define BCN_TS_MAX_MS       4102444800000ll /* 2100-01-01                */
/* Arena: room for every string field at its limit at once, because a JSON
 * object may carry fields before its "type" tells which ones matter. */
#define BCN_ARENA_SIZE      (2u * BCN_MAX_SHORT + 2u * BCN_MAX_URL + \
			     BCN_MAX_KEY + BCN_MAX_VALUE + BCN_MAX_TEXT)

enum bcn_type {
	BCN_T_NONE = 0,
	BCN_T_VIEW,     /* progress heartbeat               -> ugc.views   */
	BCN_T_PLAYER,   /* player event                     -> ugc.views   */
	BCN_T_PAGE,     /* page view                        -> ugc.events  */
	BCN_T_ACTION,   /* generic key/value                -> ugc.events  */
	BCN_T_LIKE,     /* like / dislike / remove (auth)   -> ugc.actions */
	BCN_T_REVIEW,   /* post / delete review (auth)      -> ugc.actions */
	BCN_T_BOOKMARK, /* add / remove bookmark (auth)     -> ugc.actions */
	BCN_T__COUNT
};

enum bcn_event {
	BCN_E_NONE = 0,
	BCN_E_OPEN, BCN_E_PLAY, BCN_E_PAUSE, BCN_E_RESUME, BCN_E_SEEK,
	BCN_E_QUALITY_CHANGE, BCN_E_AUDIO_CHANGE, BCN_E_SUBTITLE_CHANGE,
	BCN_E_BUFFERING, BCN_E_ERROR, BCN_E_FINISH, BCN_E_CLOSE,
	BCN_E__COUNT
};

enum bcn_op {
	BCN_OP_NONE = 0,
	BCN_OP_POST, BCN_OP_DELETE, /* review   */
	BCN_OP_ADD, BCN_OP_REMOVE,  /* bookmark */
	BCN_OP__COUNT
};

enum bcn_source { BCN_SRC_UDP = 0, BCN_SRC_HTTP = 1, BCN_SRC__COUNT };

/* The closed list of reject reasons.  Order is ABI for metrics labels and the
 * binary form's test vectors: append only. */
enum bcn_reason {
	BCN_OK = 0,
	BCN_R_MALFORMED,       /* not a JSON object / bad binary framing        */
	BCN_R_TOO_LARGE,       /* beacon larger than BCN_MAX_BEACON             */
	BCN_R_UNSUPPORTED_VERSION, /* binary version byte we do not speak       */
	BCN_R_UNKNOWN_TYPE,    /* "type" not one of the seven                   */
	BCN_R_MISSING_FIELD,   /* a field the type requires is absent           */
	BCN_R_DUPLICATE_FIELD, /* the same key twice in one object              */
	BCN_R_BAD_FIELD_TYPE,  /* e.g. a string where a number is required      */
	BCN_R_BAD_UUID,        /* not a canonical 8-4-4-4-12 UUID               */
	BCN_R_BAD_ENUM,        /* unknown player event / op                     */
	BCN_R_OUT_OF_RANGE,    /* number outside its documented range           */
	BCN_R_TOO_LONG,        /* string longer than its limit                  */
	BCN_R_EMPTY_FIELD,     /* a required string is empty                    */
	BCN_R_BAD_UTF8,        /* invalid UTF-8, or a NUL / lone surrogate      */
	BCN_R_CLOCK_SKEW,      /* ts outside [now - past window, now + future]  */
	BCN_R_AUTH_REQUIRED,   /* like/review/bookmark without a token          */
	BCN_R_BAD_TOKEN,       /* token malformed, wrong alg or bad signature   */
	BCN_R_EXPIRED_TOKEN,   /* token's exp is in the past                    */
	BCN_R_NO_IDENTITY,     /* neither a valid token nor anon_id             */
	BCN_R__COUNT
};

/* A string in the record's arena; len == 0 means absent/empty. */
struct bcn_sref {
	uint16_t off;
	uint16_t len;
};

/* Bits of bcn_record.has: which optional fields were present. */
enum {
	BCN_HAS_USER     = 1u << 0,
	BCN_HAS_ANON     = 1u << 1,
	BCN_HAS_SESSION  = 1u << 2,
	BCN_HAS_FILM     = 1u << 3,
	BCN_HAS_REVIEW   = 1u << 4,
	BCN_HAS_POSITION = 1u << 5,
	BCN_HAS_DURATION = 1u << 6,
	BCN_HAS_SCORE    = 1u << 7,
	BCN_HAS_RATING   = 1u << 8,
	BCN_HAS_TS       = 1u << 9,
	BCN_HAS_URL      = 1u << 10, /* present, possibly empty */
	BCN_HAS_KEY      = 1u << 11,
	BCN_HAS_TEXT     = 1u << 12,
};

/*
 * The normalized record.  Fields not meaningful for the type are zero.
 * Everything up to `arena` is fixed; bcn_record_size() tells how many bytes
 * of the arena are used.
 */
struct bcn_record {
	uint8_t  type;      /* enum bcn_type   */
	uint8_t  event;     /* enum bcn_event  (player)          */
	uint8_t  op;        /* enum bcn_op     (review/bookmark) */
	uint8_t  source;    /* enum bcn_source */
	int8_t   score;     /* like: 1, -1, 0  */
	uint8_t  rating;    /* review: 1..10   */
	uint16_t has;       /* BCN_HAS_* bits  */
	int64_t  ts;        /* client time, ms since epoch */
	int64_t  recv_ts;   /* server time, ms since epoch */
	uint64_t position_ms;
	uint64_t duration_ms;
	uint8_t  event_id[16];
	uint8_t  user_id[16];
	uint8_t  anon_id[16];
	uint8_t  session_id[16];
	uint8_t  film_id[16];
	uint8_t  review_id[16];
	struct bcn_sref from, to, url, referrer, key, value, text;
	uint16_t arena_used;
	char     node[BCN_MAX_NODE]; /* NUL-terminated */
	char     arena[BCN_ARENA_SIZE];
};

/* Bytes of *r that carry data (fixed part + used arena). Can't fail. */
static inline size_t bcn_record_size(const struct bcn_record *r)
{
	return offsetof(struct bcn_record, arena) + r->arena_used;
}

/* Pointer to a string in the record's arena (not NUL-terminated). */
static inline const char *bcn_str(const struct bcn_record *r, struct bcn_sref s)
{
	return r->arena + s.off;
}

/* Names used on the wire, in metrics labels and in the docs.
 * Each returns a static string; out-of-range values give "?". Can't fail. */
const char *bcn_type_name(unsigned t);
const char *bcn_event_name(unsigned e);
const char *bcn_op_name(unsigned op);
const char *bcn_source_name(unsigned s);
const char *bcn_reason_name(unsigned r);

/* Reverse look-ups: return the enum value, or 0 (NONE) if unknown. */
unsigned bcn_type_from(const char *s, size_t n);
unsigned bcn_event_from(const char *s, size_t n);
unsigned bcn_op_from(const char *s, size_t n);

/* Types that require a verified user (like, review, bookmark). */
static inline int bcn_type_needs_user(unsigned t)
{
	return t == BCN_T_LIKE || t == BCN_T_REVIEW || t == BCN_T_BOOKMARK;
}

#endif
