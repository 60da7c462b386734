/*
 * bcn_stat.h - counters written by one thread and read by another.
 *
 * Why this exists: every fast-path counter has exactly one writer (the worker
 * or slow-path thread that owns it) and one occasional reader (the metrics
 * thread).  A relaxed load + relaxed store compiles to a plain add on x86 (no
 * locked instruction, no fence) and is still free of data races in C11, so
 * counting costs the hot path next to nothing.  Never use BCN_INC on a
 * counter with two writers: use atomic_fetch_add there.
 */
#ifndef BCN_STAT_H
#define BCN_STAT_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t bcn_ctr;

#define BCN_INC(c, n) \
	atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n), \
			      memory_order_relaxed)
#define BCN_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)
#define BCN_SET(c, v) atomic_store_explicit(&(c), (v), memory_order_relaxed)

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#endif
