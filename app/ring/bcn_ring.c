/*
 * bcn_ring.c - SPSC ring of variable-length entries.  See bcn_ring.h.
 *
 * Memory ordering: the producer writes an entry and then publishes head with
 * a release store; the consumer reads head with an acquire load before it
 * reads the entry, and publishes tail with a release store after it is done
 * with the entry; the producer reads tail with an acquire load before it
 * reuses those bytes.  Each side caches the other's index and refreshes it
 * only when the cached value says "full" or "empty".
 */
#include <string.h>
#include "bcn_ring.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

#define HDR      8u
#define KIND_REC 1u
#define KIND_PAD 2u
#define RING_PREFETCH 1024u /* bytes ahead of head kept asked for, for writing */

static inline uint64_t align8(uint64_t v) { return (v + 7) & ~(uint64_t)7; }

int bcn_ring_init(struct bcn_ring *r, void *mem, size_t size)
{
	if (size < 4096 || (size & (size - 1)) || ((uintptr_t)mem & 7))
		return -1;
	memset(r, 0, sizeof(*r));
	r->buf = mem;
	r->size = size;
	r->mask = size - 1;
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	return 0;
}

static inline void put_hdr(uint8_t *p, uint32_t len, uint32_t kind)
{
	memcpy(p, &len, 4);
	memcpy(p + 4, &kind, 4);
}

void *bcn_ring_reserve(struct bcn_ring *r, size_t len)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t need = HDR + align8(len);
	uint64_t pos = head & r->mask;
	uint64_t room_to_end = r->size - pos;
	uint64_t pad = need > room_to_end ? room_to_end : 0;

	if (unlikely(len > BCN_RING_MAX_ENTRY(r->size)))
		return NULL;
	if (r->size - (head - r->tail_cache) < pad + need) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->size - (head - r->tail_cache) < pad + need)
			return NULL;
	}
	if (pad) {
		/* room_to_end is a multiple of 8 and >= 8: a header fits */
		put_hdr(r->buf + pos, (uint32_t)(pad - HDR), KIND_PAD);
		pos = 0;
	}
	r->resv_at = head + pad;
	return r->buf + pos + HDR;
}

void bcn_ring_commit(struct bcn_ring *r, size_t len)
{
	uint64_t at = r->resv_at;

	if (len == 0) {
		/* abandoned: a padding we may have written stays unpublished */
		return;
	}
	put_hdr(r->buf + (at & r->mask), (uint32_t)len, KIND_REC);
	uint64_t next = at + HDR + align8(len);
	atomic_store_explicit(&r->head, next, memory_order_release);
	/* the next records go here: keep the lines of the next RING_PREFETCH
	 * bytes asked for, for writing, so that the worker's stores into them
	 * (a large ring's lines are long out of cache) do not wait on memory.
	 * Each commit asks only for the lines that entered that window, and
	 * none the consumer may still be reading.  perf: 256 bytes of the next
	 * slot only left a ~300-byte page beacon's URL to a store miss
	 * (perf/RESULTS.md, DPDK ninth round) */
	uint64_t want = next + RING_PREFETCH, lim = r->tail_cache + r->size;
	uint64_t p = r->pf_at > next ? r->pf_at : next & ~(uint64_t)63;
	if (want > lim)
		want = lim;
	for (; p < want; p += 64)
		__builtin_prefetch(r->buf + (p & r->mask), 1, 3);
	r->pf_at = p;
}

const void *bcn_ring_peek(struct bcn_ring *r, size_t *len)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	for (;;) {
		if (tail == r->head_cache) {
			r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
			if (tail == r->head_cache)
				return NULL;
			if (r->head_cache - tail > r->hwm)
				r->hwm = r->head_cache - tail;
		}
		const uint8_t *p = r->buf + (tail & r->mask);
		uint32_t l, kind;
		memcpy(&l, p, 4);
		memcpy(&kind, p + 4, 4);
		if (kind == KIND_PAD) {
			tail += HDR + l;
			atomic_store_explicit(&r->tail, tail, memory_order_release);
			continue;
		}
		r->peek_at = tail;
		*len = l;
		return p + HDR;
	}
}

uint64_t bcn_ring_discard(struct bcn_ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	r->head_cache = head;
	if (head - tail > r->hwm)
		r->hwm = head - tail;
	atomic_store_explicit(&r->tail, head, memory_order_release);
	return head - tail;
}

void bcn_ring_release(struct bcn_ring *r)
{
	const uint8_t *p = r->buf + (r->peek_at & r->mask);
	uint32_t l;
	memcpy(&l, p, 4);
	atomic_store_explicit(&r->tail, r->peek_at + HDR + align8(l), memory_order_release);
}
