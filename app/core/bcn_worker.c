/*
 * bcn_worker.c - a fast-path worker: its ring, its token cache, its loop.
 * See bcn_app.h.
 *
 * The ring is mapped and made resident at start-up, so that its pages are
 * there before the first beacon (memory is fixed from the start, and the
 * first burst does not pay page faults), and it asks for transparent huge
 * pages: the worker writes its ring front to back, megabytes ahead of any
 * line still cached, and with 4 KiB pages every sixteenth record or so also
 * missed the TLB (perf/RESULTS.md, "## DPDK fast path").
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "bcn_app.h"

const char *bcn_drop_name(unsigned d)
{
	static const char *const n[BCN_D__COUNT] = { "ring_full", "http_busy" };
	return d < BCN_D__COUNT ? n[d] : "?";
}

int64_t bcn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define RING_HUGE (2u << 20) /* x86-64 and arm64 (4 KiB granule) PMD size */

/* size bytes of anonymous memory for a ring, resident, on 2 MiB boundaries
 * when size allows (so that every page of it can be huge), with
 * MADV_HUGEPAGE (honoured when THP is "madvise" or "always"; without THP
 * the ring simply stays on small pages).  Returns NULL with errno set.
 * Unmapped with munmap(p, size). */
static void *ring_map(size_t size)
{
	size_t extra = size >= RING_HUGE ? RING_HUGE : 0;
	uint8_t *m = mmap(NULL, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = m;
	if (extra) {
		p = (uint8_t *)(((uintptr_t)m + RING_HUGE - 1) & ~(uintptr_t)(RING_HUGE - 1));
		if (p > m)
			munmap(m, (size_t)(p - m));
		if (p + size < m + size + extra)
			munmap(p + size, (size_t)(m + size + extra - (p + size)));
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE); /* a hint: EINVAL without THP */
#endif
	/* resident now: MADV_POPULATE_WRITE (Linux 5.14), else touch each page */
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, size, MADV_POPULATE_WRITE) == 0)
		return p;
	if (errno != EINVAL) { /* ENOMEM, ...: fail now, not at the first burst */
		int e = errno;
		munmap(p, size);
		errno = e;
		return NULL;
	}
#endif
	for (size_t o = 0; o < size; o += 4096)
		((volatile uint8_t *)p)[o] = 0;
	return p;
}

int bcn_worker_setup(struct bcn_app *app, struct bcn_worker *w, unsigned id, char *err, size_t errlen)
{
	size_t size = (size_t)app->cfg.ring_bytes;

	memset(w, 0, sizeof(*w));
	w->app = app;
	w->id = id;
	w->cpu = -1;
	w->ring_mem = ring_map(size);
	if (!w->ring_mem) {
		snprintf(err, errlen, "worker %u: ring of %zu bytes: %s", id, size, strerror(errno));
		return -1;
	}
	if (bcn_ring_init(&w->ring, w->ring_mem, size)) {
		snprintf(err, errlen, "worker %u: ring.bytes %zu is not usable", id, size);
		return -1;
	}
	w->jwt = bcn_jwt_cache_new(bcn_jwt_ring_current(&app->keys), (unsigned)app->cfg.jwt_cache_order);
	if (!w->jwt) {
		snprintf(err, errlen, "worker %u: token cache: out of memory or OpenSSL failure", id);
		return -1;
	}
	w->keys_gen = atomic_load(&app->keys.gen);
	bcn_ingest_init(&w->in, &app->icfg, w->jwt, (uint8_t)id);
	return 0;
}

void bcn_worker_fini(struct bcn_worker *w)
{
	if (w->jwt)
		bcn_jwt_cache_free(w->jwt);
	if (w->ring_mem)
		munmap(w->ring_mem, (size_t)w->app->cfg.ring_bytes);
	w->jwt = NULL;
	w->ring_mem = NULL;
}

int bcn_worker_has_room(struct bcn_worker *w, size_t n, size_t bytes)
{
	const size_t fixed = offsetof(struct bcn_record, arena);
	/* per record: header + fixed part + arena (<= its input bytes) + align;
	 * plus one wrap-around pad and the last reservation's full size */
	uint64_t need = (uint64_t)n * (8 + fixed + 8) + bytes + 2 * (8 + sizeof(struct bcn_record));
	return w->ring.size - bcn_ring_used(&w->ring) >= need;
}

int bcn_worker_ring_high(const struct bcn_worker *w)
{
	return bcn_ring_used(&w->ring) * 100 > w->ring.size * (uint64_t)w->app->cfg.ring_hwm_pct;
}

void *bcn_worker_main(void *arg)
{
	struct bcn_worker *w = arg;
	struct bcn_app *app = w->app;
	const struct bcn_driver_ops *d = app->drv;
	char name[16];

	snprintf(name, sizeof(name), "bcn-worker-%u", w->id);
	pthread_setname_np(pthread_self(), name);
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			fprintf(stderr, "beacond: worker %u: cannot pin to CPU %d (running unpinned)\n",
				w->id, w->cpu);
	}
	if (d->worker_init(w, w->err, sizeof(w->err))) {
		fprintf(stderr, "beacond: worker %u: %s\n", w->id, w->err);
		atomic_store(&w->running, 0);
		atomic_store(&app->stopping, 1);
		return NULL;
	}
	while (!atomic_load_explicit(&app->stopping, memory_order_relaxed)) {
		bcn_jwt_ring_follow(&app->keys, w->jwt, &w->keys_gen); /* SIGHUP */
		BCN_INC(w->st.loops, 1);
		if (unlikely(d->poll(w, 100) < 0)) {
			fprintf(stderr, "beacond: worker %u: driver poll failed; stopping\n", w->id);
			atomic_store(&app->stopping, 1);
			break;
		}
	}
	/* shutdown: stop taking input, let requests in flight finish (they were
	 * read, so their clients are owed an answer), then leave */
	d->quiesce(w);
	int64_t end = bcn_now_ms() + app->cfg.shutdown_deadline_ms / 2;
	while (!d->idle(w) && bcn_now_ms() < end)
		if (d->poll(w, 10) < 0)
			break;
	d->worker_fini(w);
	atomic_store(&w->running, 0);
	return NULL;
}
