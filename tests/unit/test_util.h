/*
 * test_util.h - shared fixtures and helpers of the CUnit unit tier.
 *
 * Why this exists: every suite needs the same fixed clock, the same JWT key
 * and subject, the same UUIDs and a real bcn_ingest with a real token cache;
 * keeping them in one place keeps the suites (and the published binary
 * vectors, which use the same values) in step.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <CUnit/CUnit.h>
#include "bcn_proto.h"

/* The fixed clock: 2025-11-22T08:26:40Z.  Beacons use ts = now - 10 s. */
#define T_NOW   1763800000000LL
#define T_TS    1763799990000LL
#define T_TS_S  "1763799990000"

#define T_KEY   "test-key"
#define T_SUB   "7f9c1e2a-0000-4000-8000-000000000001"
#define T_EXP   4102444799LL            /* 2099-12-31T23:59:59Z */

#define U_ANON    "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
#define U_SESSION "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
#define U_FILM    "11111111-2222-4333-8444-555555555555"
#define U_REVIEW  "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

#define VECTORS_PATH "tests/vectors/binary-v1.txt"

/* The worked examples of docs/beacon-protocol.md (sections 3-6), so that the
 * document and the code are checked against each other. */
#define DOC_NOW   1732265687164LL
#define DOC_KEY   "dev-secret-change-me"
#define DOC_SUB   "5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6b"
#define DOC_TOKEN                                                              \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                 \
	"eyJzdWIiOiI1ZTJhOWQ0MS04YzNiLTRmN2UtYjZhMC0xZDJjM2U0ZjVhNmIiLCJleHAiOjE3MzIyNjkyODd9." \
	"vhQYeO3iDaOcVncii-t7oA2a7FnembYYqah3Yy33n44"
#define DOC_VIEW                                                               \
	"{\"type\":\"view\",\"ts\":1732265687123,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10\"," \
	"\"session_id\":\"8d1e4c2a-7b3f-4e69-a5d0-2f1c3b4a5e6d\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"," \
	"\"position_ms\":754000,\"duration_ms\":5820000}"
#define DOC_PLAYER                                                             \
	"{\"type\":\"player\",\"ts\":1732265687123,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10\"," \
	"\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"event\":\"quality_change\"," \
	"\"position_ms\":1312500,\"from\":\"720p\",\"to\":\"1080p\"}"
#define DOC_PAGE                                                               \
	"{\"type\":\"page\",\"ts\":1732265687123,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10\"," \
	"\"url\":\"https://cinema.example/films/6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"," \
	"\"referrer\":\"https://cinema.example/search?q=dune\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"}"
#define DOC_ACTION                                                             \
	"{\"type\":\"action\",\"ts\":1732265687123,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10\"," \
	"\"key\":\"trailer_click\",\"value\":\"hero_banner\"}"
#define DOC_LIKE                                                               \
	"{\"type\":\"like\",\"ts\":1732265687123,\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"," \
	"\"score\":1,\"token\":\"" DOC_TOKEN "\"}"
#define DOC_REVIEW_TEXT                                                        \
	"\xd0\x92\xd0\xb8\xd0\xb7\xd1\x83\xd0\xb0\xd0\xbb\xd1\x8c\xd0\xbd\xd0\xbe " /* Визуально */ \
	"\xd0\xb1\xd0\xb5\xd0\xb7\xd1\x83\xd0\xbf\xd1\x80\xd0\xb5\xd1\x87\xd0\xbd\xd0\xbe: " /* безупречно */ \
	"\\\"\xd0\x94\xd1\x8e\xd0\xbd\xd0\xb0\\\" " /* \"Дюна\" */ \
	"\xd1\x81\xd1\x82\xd0\xbe\xd0\xb8\xd1\x82 " /* стоит */ \
	"\xd0\xb1\xd0\xbe\xd0\xbb\xd1\x8c\xd1\x88\xd0\xbe\xd0\xb3\xd0\xbe " /* большого */ \
	"\xd1\x8d\xd0\xba\xd1\x80\xd0\xb0\xd0\xbd\xd0\xb0." /* экрана. */
#define DOC_REVIEW_POST                                                        \
	"{\"type\":\"review\",\"ts\":1732265687123,\"op\":\"post\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"," \
	"\"review_id\":\"c0ffee00-1234-4abc-8def-0123456789ab\",\"rating\":9,\"text\":\"" DOC_REVIEW_TEXT "\"}"
#define DOC_REVIEW_DELETE                                                      \
	"{\"type\":\"review\",\"ts\":1732265687123,\"op\":\"delete\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"," \
	"\"review_id\":\"c0ffee00-1234-4abc-8def-0123456789ab\"}"
#define DOC_BOOKMARK                                                           \
	"{\"type\":\"bookmark\",\"ts\":1732265687123,\"op\":\"add\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\"}"

/*
 * EXPECT(cond, fmt, ...): a non-fatal CUnit assertion whose failure message
 * is formatted (so table-driven tests say which row failed).  Counts as one
 * assert either way.
 */
#define EXPECT(cond, ...)                                                      \
	do {                                                                   \
		if (cond) {                                                    \
			CU_assertImplementation(CU_TRUE, __LINE__, "", __FILE__, \
						"", CU_FALSE);                 \
		} else {                                                       \
			char m_[768];                                          \
			snprintf(m_, sizeof(m_), __VA_ARGS__);                 \
			CU_assertImplementation(CU_FALSE, __LINE__, m_,        \
						__FILE__, "", CU_FALSE);       \
		}                                                              \
	} while (0)

/* Expect a reason code, printing both names on failure. */
#define EXPECT_RC(got, want, what)                                             \
	do {                                                                   \
		int g_ = (got), w_ = (want);                                   \
		EXPECT(g_ == w_, "%s: got %s, want %s", (what),                \
		       bcn_reason_name((unsigned)g_), bcn_reason_name((unsigned)w_)); \
	} while (0)

/* A bcn_ingest with a real token cache holding the given key list. */
struct tfx {
	struct bcn_jwt_keys keys;
	struct bcn_jwt_cache *jwt;
	struct bcn_ingest_cfg cfg;
	struct bcn_ingest in;
	struct bcn_record *r; /* heap: the record is ~22 KB */
};

/* Set up with default config and keys `keylist` (NULL: no cache at all).
 * Returns 0, or -1 (then a CUnit failure has been recorded). */
int tfx_init(struct tfx *f, const char *keylist);
void tfx_free(struct tfx *f);
/* bcn_ingest of a NUL-terminated JSON beacon at T_NOW over UDP, no auth. */
int tfx_json(struct tfx *f, const char *json);
/* The general form. */
int tfx_ingest(struct tfx *f, enum bcn_format fmt, const void *buf, size_t len,
	       const char *auth, int64_t now_ms, enum bcn_source src);

/* Tokens.  t_sign: bcn_jwt_sign with a string key; a failure to sign is
 * recorded as a CUnit failure and returns 0 (out is then ""). */
size_t t_sign(const char *key, const char *sub, int64_t exp_s, char *out, size_t cap);
/* A token with arbitrary header and payload JSON, HMAC-SHA256 signed with key
 * (independent of bcn_jwt_sign: OpenSSL's one-shot HMAC + our own base64url). */
size_t t_craft(const char *key, const char *hdr, const char *payload, char *out, size_t cap);
/* Unpadded base64url of n bytes; returns the length written (NUL added). */
size_t t_b64url(const uint8_t *in, size_t n, char *out);

/* Hex helpers.  t_unhex returns the byte count or (size_t)-1. */
size_t t_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t cap);
void t_uuid(const char *s, uint8_t out[16]);

/* Replace every "@NAME@" in tmpl by the matching value of names[]/vals[]
 * (n pairs).  Returns a malloc'ed string; the caller frees. */
char *t_subst(const char *tmpl, const char *const *names, const char *const *vals, int n);

/* A malloc'ed string of `count` copies of `unit`. */
char *t_repeat(const char *unit, size_t count);

/* Reason / type code for a name, or -1. */
int t_reason_of(const char *name);
int t_type_of(const char *name);

/* Slurp a file; returns malloc'ed NUL-terminated data or NULL. */
char *t_read_file(const char *path, size_t *len);

/* Suites, one per file.  Each returns 0, or -1 if registration failed. */
int suite_names(void);
int suite_json(void);
int suite_ingest(void);
int suite_bin(void);
int suite_jwt(void);
int suite_encode(void);
int suite_event_id(void);

#endif
