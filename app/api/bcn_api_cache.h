/*
 * bcn_api_cache.h - the read API's cache of film ratings (film_stats rows):
 * fixed size, allocated at start-up, shared by the worker threads.
 *
 * Why this exists: a film's rating is the one public read every film page
 * makes, so the same few thousand films are asked for at page-view rate.
 * Semantics (docs/read-api.md): an answer may be up to ttl_ms old (measured
 * from when it was read from PostgreSQL); nothing else is cached, so a
 * user's own answers (/v1/me/...) are always read from PostgreSQL.  A film
 * that has no row is cached as zeros like any other answer.
 *
 * Layout: 4-way set-associative, 2^k sets, each set behind a spin lock held
 * for a few dozen instructions; a miss that finds its set full replaces an
 * expired entry if any, else the one stored longest ago (an eviction).
 * entries 0 or ttl 0 disables the cache (every call misses, nothing kept).
 */
#ifndef BCN_API_CACHE_H
#define BCN_API_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct bcn_api_rating {
	int64_t likes, dislikes, reviews, rating_sum;
};

struct bcn_api_cache_stats {
	uint64_t hits;
	uint64_t misses;     /* incl. expired */
	uint64_t expired;    /* the film was there, older than ttl */
	uint64_t evictions;  /* a fresh entry of another film replaced */
	uint64_t capacity;   /* entries */
};

struct bcn_api_cache;

/* entries is rounded up to a power of two (>= 4 unless 0).  Returns NULL
 * on allocation failure. */
struct bcn_api_cache *bcn_api_cache_new(uint64_t entries, int64_t ttl_ms);
void bcn_api_cache_free(struct bcn_api_cache *c);

/* 1 and *out if film is cached and stored at most ttl_ms before now_ms
 * (monotonic ms), else 0.  Any thread. */
int bcn_api_cache_get(struct bcn_api_cache *c, const uint8_t film[16], int64_t now_ms,
		      struct bcn_api_rating *out);
/* Store film's rating as read at now_ms.  Any thread. */
void bcn_api_cache_put(struct bcn_api_cache *c, const uint8_t film[16], int64_t now_ms,
		       const struct bcn_api_rating *v);
/* Counters (relaxed atomic reads).  Any thread. */
void bcn_api_cache_stats(const struct bcn_api_cache *c, struct bcn_api_cache_stats *out);

#endif
