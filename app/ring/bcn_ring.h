/*
 * bcn_ring.h - a lock-free single-producer single-consumer ring of
 * variable-length entries, in memory preallocated by the caller.
 *
 * Why this exists: each fast-path worker hands its records to the Kafka slow
 * path through its own ring, so the hot path never takes a lock or makes a
 * syscall.  Records are variable-length (a heartbeat is ~250 bytes, a review
 * up to ~21 KB), so slots of the largest size would waste two orders of
 * magnitude of memory; this ring stores entries back to back instead.  A
 * worker reserves room for the largest record, parses straight into it and
 * commits only the bytes used, so a record is never copied on the way in.
 * The same ring serves the socket and DPDK drivers.
 *
 * Layout: each entry is an 8-byte header {u32 len, u32 kind} followed by the
 * payload, padded to 8 bytes.  An entry never wraps: when the tail of the
 * buffer is too short, the producer writes a PAD header there and starts at
 * offset 0.  head and tail count bytes ever written/consumed (64-bit, never
 * wrap in practice).  Producer and consumer each own one cache line.
 */
#ifndef BCN_RING_H
#define BCN_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BCN_CACHE_LINE 64

struct bcn_ring {
	/* producer's line */
	_Alignas(BCN_CACHE_LINE) _Atomic uint64_t head;
	uint64_t tail_cache;   /* producer's last view of tail           */
	uint64_t resv_at;      /* head after padding, for the open reservation */
	uint64_t pf_at;        /* lines before this position were prefetched */
	/* consumer's line */
	_Alignas(BCN_CACHE_LINE) _Atomic uint64_t tail;
	uint64_t head_cache;   /* consumer's last view of head            */
	uint64_t peek_at;      /* start of the peeked entry               */
	uint64_t hwm;          /* highest occupancy the consumer has seen, bytes
				  (sampled whenever it refreshes head)     */
	/* read-only after init */
	_Alignas(BCN_CACHE_LINE) uint8_t *buf;
	uint64_t size;         /* power of two                            */
	uint64_t mask;
};

/* Largest payload an entry may have in a ring of `size` bytes. */
#define BCN_RING_MAX_ENTRY(size) ((size) / 4)

/*
 * Set up a ring over `mem` (size bytes, a power of two >= 4096, 8-aligned).
 * Returns 0, or -1 if size or alignment is wrong (then *r is unchanged).
 */
int bcn_ring_init(struct bcn_ring *r, void *mem, size_t size);

/*
 * Producer: reserve room for a payload of up to `len` bytes.  Returns a
 * pointer to write into, or NULL if the ring has no room (nothing changed:
 * the caller counts the drop or pushes back).  At most one reservation may
 * be open.  len must be <= BCN_RING_MAX_ENTRY(size).
 */
void *bcn_ring_reserve(struct bcn_ring *r, size_t len);

/* Producer: publish the open reservation with its actual length
 * (<= the reserved length; 0 abandons it).  Can't fail. */
void bcn_ring_commit(struct bcn_ring *r, size_t len);

/*
 * Consumer: the oldest entry, or NULL if the ring is empty.  Calling it
 * again before bcn_ring_release returns the same entry.
 */
const void *bcn_ring_peek(struct bcn_ring *r, size_t *len);

/* Consumer: drop the entry returned by the last bcn_ring_peek.  Can't fail. */
void bcn_ring_release(struct bcn_ring *r);

/*
 * Consumer: drop every entry published so far without reading any (a null
 * sink's shortcut, perf/bench_dpdk.c: it costs one load and one store, where
 * peek + release read each entry's header line from the producer's core).
 * An entry peeked and not released is dropped too.  Returns the bytes
 * dropped.  Can't fail.
 */
uint64_t bcn_ring_discard(struct bcn_ring *r);

/* Bytes in use (either side may call; a snapshot). */
static inline uint64_t bcn_ring_used(const struct bcn_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

#endif
