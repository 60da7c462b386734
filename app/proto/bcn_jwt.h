/*
 * bcn_jwt.h - HS256 JWT verification with a per-worker cache of verified
 * tokens.
 *
 * Why this exists: user_id is never taken from the client's word; it comes
 * only from a token signed with a key we hold.  An HMAC-SHA256 costs about as
 * much as parsing ten beacons, and a player sends the same token with every
 * heartbeat, so each worker keeps a fixed-size, direct-mapped cache of tokens
 * it has already verified (compared byte for byte, never by hash alone).  The
 * `exp` claim is re-checked on every hit.
 *
 * Keys: up to BCN_JWT_MAX_KEYS may be active at once so that a key can be
 * rotated without a flag day.  A key set has a generation number; a cache
 * notices a new generation and drops everything it verified under the old one.
 */
#ifndef BCN_JWT_H
#define BCN_JWT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BCN_JWT_MAX_KEYS   4
#define BCN_JWT_MAX_KEYLEN 128
#define BCN_JWT_CACHE_TOK  480   /* longer tokens are verified every time */

struct bcn_jwt_keys {
	uint32_t gen;   /* bump on every change */
	int n;
	struct {
		uint8_t key[BCN_JWT_MAX_KEYLEN];
		size_t len;
	} k[BCN_JWT_MAX_KEYS];
};

struct bcn_jwt_cache_entry {
	uint32_t gen;           /* key generation it was verified under; 0 = empty */
	uint16_t len;
	int64_t exp_ms;
	uint8_t user_id[16];
	char tok[BCN_JWT_CACHE_TOK];
};

struct bcn_jwt_stats {
	uint64_t hits, misses, verified, rejected;
};

/* Opaque per-worker state: the cache plus preallocated HMAC contexts. */
struct bcn_jwt_cache;

/*
 * Parse a comma-separated list of keys ("secret1,secret2"; a key given as
 * "hex:0a1b..." is hex-decoded) into *keys with generation `gen`.
 * Returns 0, or -1 if the list is empty or a key is too long or bad hex
 * (then *keys is unchanged).
 */
int bcn_jwt_keys_parse(struct bcn_jwt_keys *keys, const char *list, uint32_t gen);

/*
 * Create a per-worker cache with 2^order entries verifying against *keys
 * (which must outlive the cache; swap it with bcn_jwt_cache_set_keys).
 * Returns NULL on allocation or OpenSSL failure.  Called at start-up only.
 */
struct bcn_jwt_cache *bcn_jwt_cache_new(const struct bcn_jwt_keys *keys,
					unsigned order);
void bcn_jwt_cache_free(struct bcn_jwt_cache *c);

/* Point the cache at a new key set (SIGHUP reload).  Entries from the old
 * generation stop matching.  Returns 0, or -1 on OpenSSL failure (then the
 * cache keeps the old keys).  Called by the cache's owner thread only. */
int bcn_jwt_cache_set_keys(struct bcn_jwt_cache *c, const struct bcn_jwt_keys *keys);

/*
 * Key rotation without a restart (SIGHUP in beacond and beacon-api): two
 * key slots, the one in force named by `slot`, its generation in `gen`.
 * The main thread fills the other slot and publishes it; each worker
 * follows between requests.  A slot is refilled only once every worker has
 * left it, so a worker never reads a key set while it is rewritten.
 */
struct bcn_jwt_ring {
	struct bcn_jwt_keys keys[2];
	_Atomic uint32_t slot, gen;
};

/* Parse list into slot 0 as generation 1 (start-up).  Returns 0, or -1 if
 * the list is bad (bcn_jwt_keys_parse; the ring is then unusable). */
int bcn_jwt_ring_init(struct bcn_jwt_ring *r, const char *list);

/* The key set in force (for bcn_jwt_cache_new).  Can't fail. */
const struct bcn_jwt_keys *bcn_jwt_ring_current(struct bcn_jwt_ring *r);

/*
 * Main thread: wait (up to ~0.5 s, polling behind(arg, gen)) until no
 * worker still uses the slot about to be refilled, then parse list into it
 * and publish it as the next generation.  behind returns 1 while some
 * running worker's generation differs from gen.  Returns the new
 * generation, or 0 if the list is bad (on error nothing is changed and
 * the running keys stay).
 */
uint32_t bcn_jwt_ring_reload(struct bcn_jwt_ring *r, const char *list,
			     int (*behind)(void *arg, uint32_t gen), void *arg);

/* Worker thread, between requests: if a new generation is out, point its
 * cache at it and store the generation in *mine.  Costs one atomic load
 * when nothing changed.  On OpenSSL failure the cache keeps the old keys
 * and the next call tries again. */
void bcn_jwt_ring_follow(struct bcn_jwt_ring *r, struct bcn_jwt_cache *c, _Atomic uint32_t *mine);

/*
 * Verify a compact JWT: header {"alg":"HS256"} (typ optional, must be "JWT"
 * when present), signature under any active key, payload with `sub` a UUID
 * and numeric `exp` (seconds) > now.  On success writes the user id and
 * returns BCN_OK; else BCN_R_BAD_TOKEN or BCN_R_EXPIRED_TOKEN and user_id is
 * unchanged.  No allocation on the hit path.
 */
int bcn_jwt_verify(struct bcn_jwt_cache *c, const char *tok, size_t n,
		   int64_t now_ms, uint8_t user_id[16]);

/* Counters of this cache.  Can't fail. */
void bcn_jwt_stats(const struct bcn_jwt_cache *c, struct bcn_jwt_stats *out);

/*
 * Sign a token for `sub` (36-char UUID) expiring at exp_s (seconds since
 * epoch) with the given key.  For tests, beacon-blast and dev tools.  Returns
 * the token length (NUL-terminated in out), or 0 if cap is too small.
 */
size_t bcn_jwt_sign(const uint8_t *key, size_t key_len, const char *sub,
		    int64_t exp_s, char *out, size_t cap);

#endif
