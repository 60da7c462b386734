/*
 * bcn_api_cache.c - fixed-size rating cache.  See bcn_api_cache.h.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_api_cache.h"

#define WAYS 4

struct entry {
	uint8_t film[16];
	int64_t stored_ms;
	int used;
	struct bcn_api_rating v;
};

struct set {
	atomic_flag lock;
	struct entry e[WAYS];
} __attribute__((aligned(64)));

struct bcn_api_cache {
	struct set *sets;
	uint64_t mask;     /* sets - 1 */
	uint64_t nsets;
	int64_t ttl_ms;
	_Atomic uint64_t hits, misses, expired, evictions;
};

struct bcn_api_cache *bcn_api_cache_new(uint64_t entries, int64_t ttl_ms)
{
	struct bcn_api_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ttl_ms = ttl_ms;
	if (entries == 0 || ttl_ms <= 0)
		return c;
	uint64_t nsets = 1;
	while (nsets * WAYS < entries)
		nsets <<= 1;
	c->sets = aligned_alloc(64, nsets * sizeof(struct set));
	if (!c->sets) {
		free(c);
		return NULL;
	}
	memset(c->sets, 0, nsets * sizeof(struct set)); /* touch it all now */
	for (uint64_t i = 0; i < nsets; i++)
		atomic_flag_clear(&c->sets[i].lock);
	c->nsets = nsets;
	c->mask = nsets - 1;
	return c;
}

void bcn_api_cache_free(struct bcn_api_cache *c)
{
	if (!c)
		return;
	free(c->sets);
	free(c);
}

static struct set *set_of(struct bcn_api_cache *c, const uint8_t film[16])
{
	uint64_t a, b;
	memcpy(&a, film, 8);
	memcpy(&b, film + 8, 8);
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return &c->sets[(h >> 29) & c->mask];
}

static void lock(struct set *s)
{
	while (atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire))
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#else
		;
#endif
}

static void unlock(struct set *s)
{
	atomic_flag_clear_explicit(&s->lock, memory_order_release);
}

#define ADD(x) atomic_fetch_add_explicit(&c->x, 1, memory_order_relaxed)

int bcn_api_cache_get(struct bcn_api_cache *c, const uint8_t film[16], int64_t now_ms,
		      struct bcn_api_rating *out)
{
	if (!c->sets) {
		ADD(misses);
		return 0;
	}
	struct set *s = set_of(c, film);
	int hit = 0, stale = 0;
	lock(s);
	for (int i = 0; i < WAYS; i++) {
		struct entry *e = &s->e[i];
		if (e->used && !memcmp(e->film, film, 16)) {
			if (now_ms - e->stored_ms <= c->ttl_ms && now_ms >= e->stored_ms) {
				*out = e->v;
				hit = 1;
			} else {
				stale = 1;
			}
			break;
		}
	}
	unlock(s);
	if (hit) {
		ADD(hits);
	} else {
		ADD(misses);
		if (stale)
			ADD(expired);
	}
	return hit;
}

void bcn_api_cache_put(struct bcn_api_cache *c, const uint8_t film[16], int64_t now_ms,
		       const struct bcn_api_rating *v)
{
	if (!c->sets)
		return;
	struct set *s = set_of(c, film);
	struct entry *victim = NULL;
	int evict = 0;
	lock(s);
	for (int i = 0; i < WAYS && !victim; i++)
		if (s->e[i].used && !memcmp(s->e[i].film, film, 16))
			victim = &s->e[i];
	for (int i = 0; i < WAYS && !victim; i++)
		if (!s->e[i].used || now_ms - s->e[i].stored_ms > c->ttl_ms)
			victim = &s->e[i];
	if (!victim) {
		victim = &s->e[0];
		for (int i = 1; i < WAYS; i++)
			if (s->e[i].stored_ms < victim->stored_ms)
				victim = &s->e[i];
		evict = 1;
	}
	memcpy(victim->film, film, 16);
	victim->stored_ms = now_ms;
	victim->used = 1;
	victim->v = *v;
	unlock(s);
	if (evict)
		ADD(evictions);
}

void bcn_api_cache_stats(const struct bcn_api_cache *cc, struct bcn_api_cache_stats *out)
{
	struct bcn_api_cache *c = (struct bcn_api_cache *)cc; /* atomic loads only */
	out->hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
	out->misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
	out->expired = atomic_load_explicit(&c->expired, memory_order_relaxed);
	out->evictions = atomic_load_explicit(&c->evictions, memory_order_relaxed);
	out->capacity = c->nsets * WAYS;
}
