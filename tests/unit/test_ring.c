/*
 * test_ring.c - unit tests of the SPSC ring (app/ring/bcn_ring.c): bounds,
 * FIFO order, wrap-around padding, full/empty, and a two-thread run that
 * checks every entry's sequence number and content.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <CUnit/CUnit.h>
#include "../../app/ring/bcn_ring.h"

static _Alignas(64) uint8_t mem[1 << 16];

static void t_init_bounds(void)
{
	struct bcn_ring r;
	CU_ASSERT_EQUAL(bcn_ring_init(&r, mem, 1000), -1);   /* not a power of two */
	CU_ASSERT_EQUAL(bcn_ring_init(&r, mem, 2048), -1);   /* too small */
	CU_ASSERT_EQUAL(bcn_ring_init(&r, mem + 1, 4096), -1); /* misaligned */
	CU_ASSERT_EQUAL(bcn_ring_init(&r, mem, 4096), 0);
	size_t len;
	CU_ASSERT_PTR_NULL(bcn_ring_peek(&r, &len));
	CU_ASSERT_PTR_NULL(bcn_ring_reserve(&r, BCN_RING_MAX_ENTRY(4096) + 1));
	CU_ASSERT_PTR_NOT_NULL(bcn_ring_reserve(&r, BCN_RING_MAX_ENTRY(4096)));
	bcn_ring_commit(&r, 0);
	CU_ASSERT_PTR_NULL(bcn_ring_peek(&r, &len)); /* abandoned reservation */
	CU_ASSERT_EQUAL(bcn_ring_used(&r), 0);
}

static void t_fifo_and_shrink(void)
{
	struct bcn_ring r;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(bcn_ring_init(&r, mem, 4096), 0);
	static const size_t lens[] = { 1, 7, 8, 9, 100 };
	for (unsigned i = 0; i < 5; i++) {
		uint8_t *p = bcn_ring_reserve(&r, 512);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memset(p, (int)(0xa0 + i), lens[i]);
		bcn_ring_commit(&r, lens[i]); /* commit less than reserved */
	}
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t *p = bcn_ring_peek(&r, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(len, lens[i]);
		CU_ASSERT_EQUAL(p[0], 0xa0 + i);
		CU_ASSERT_EQUAL(p[len - 1], 0xa0 + i);
		CU_ASSERT_PTR_EQUAL(bcn_ring_peek(&r, &len), p); /* stable until release */
		bcn_ring_release(&r);
	}
	CU_ASSERT_PTR_NULL(bcn_ring_peek(&r, &len));
	CU_ASSERT_EQUAL(bcn_ring_used(&r), 0);
}

static void t_discard(void)
{
	struct bcn_ring r;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(bcn_ring_init(&r, mem, 4096), 0);
	CU_ASSERT_EQUAL(bcn_ring_discard(&r), 0); /* empty: nothing */
	unsigned n = 0;
	/* fill it, wrapping several times: discard after every 7 entries */
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned k = 0; k < 7; k++) {
			uint8_t *p = bcn_ring_reserve(&r, 100 + k);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			memcpy(p, &n, sizeof(n));
			bcn_ring_commit(&r, 100 + k);
			n++;
		}
		if (round % 2) /* one peeked and not released: dropped too */
			CU_ASSERT_PTR_NOT_NULL(bcn_ring_peek(&r, &len));
		/* (after the peek: a peek steps over a wrap's padding) */
		uint64_t used = bcn_ring_used(&r);
		CU_ASSERT(used >= 7 * 108);
		CU_ASSERT_EQUAL(bcn_ring_discard(&r), used);
		CU_ASSERT_EQUAL(bcn_ring_used(&r), 0);
		CU_ASSERT_PTR_NULL(bcn_ring_peek(&r, &len));
	}
	/* and the ring works on: the next entry is the next one written */
	uint8_t *p = bcn_ring_reserve(&r, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, &n, sizeof(n));
	bcn_ring_commit(&r, 8);
	const uint8_t *q = bcn_ring_peek(&r, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	unsigned got;
	memcpy(&got, q, sizeof(got));
	CU_ASSERT_EQUAL(got, n);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT(r.hwm >= 7 * 108 && r.hwm <= 4096);
}

static void t_full_then_room(void)
{
	struct bcn_ring r;
	size_t len;
	unsigned n = 0;
	CU_ASSERT_EQUAL_FATAL(bcn_ring_init(&r, mem, 4096), 0);
	for (;;) {
		uint8_t *p = bcn_ring_reserve(&r, 56); /* 64 bytes with header */
		if (!p)
			break;
		memcpy(p, &n, sizeof(n));
		bcn_ring_commit(&r, 56);
		n++;
	}
	CU_ASSERT_EQUAL(n, 4096 / 64);
	CU_ASSERT_EQUAL(bcn_ring_used(&r), 4096);
	CU_ASSERT_PTR_NOT_NULL(bcn_ring_peek(&r, &len));
	CU_ASSERT_EQUAL(r.hwm, 4096);
	bcn_ring_release(&r);
	uint8_t *last = bcn_ring_reserve(&r, 56); /* one slot free again */
	CU_ASSERT_PTR_NOT_NULL_FATAL(last);
	memcpy(last, &n, sizeof(n));
	bcn_ring_commit(&r, 56);
	CU_ASSERT_PTR_NULL(bcn_ring_reserve(&r, 1));
	for (unsigned i = 1; i <= n; i++) {
		const uint8_t *p = bcn_ring_peek(&r, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		unsigned v;
		memcpy(&v, p, sizeof(v));
		CU_ASSERT_EQUAL(v, i);
		bcn_ring_release(&r);
	}
}

/* Entries of pseudo-random sizes force padding at the end of the buffer. */
static void t_wrap_padding(void)
{
	struct bcn_ring r;
	size_t len;
	uint32_t seed = 1, seq_in = 0, seq_out = 0;
	CU_ASSERT_EQUAL_FATAL(bcn_ring_init(&r, mem, 8192), 0);
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t l = 4 + (seed >> 16) % 1500;
		uint8_t *p = bcn_ring_reserve(&r, l);
		if (p) {
			memcpy(p, &seq_in, 4);
			memset(p + 4, (int)(seq_in & 0xff), l - 4);
			bcn_ring_commit(&r, l);
			seq_in++;
		}
		if (!p || (seed & 0x300)) {
			const uint8_t *q = bcn_ring_peek(&r, &len);
			if (q) {
				uint32_t s;
				memcpy(&s, q, 4);
				CU_ASSERT_EQUAL_FATAL(s, seq_out);
				CU_ASSERT_EQUAL(q[len - 1], (uint8_t)(len > 4 ? s & 0xff : q[len - 1]));
				bcn_ring_release(&r);
				seq_out++;
			}
		}
	}
	while (bcn_ring_peek(&r, &len)) {
		bcn_ring_release(&r);
		seq_out++;
	}
	CU_ASSERT_EQUAL(seq_in, seq_out);
	CU_ASSERT(seq_in > 10000);
	CU_ASSERT(bcn_ring_used(&r) == 0);
}

/* ---- two threads --------------------------------------------------------- */

#define N_ENTRIES 300000u
static struct bcn_ring tr;
static _Alignas(64) uint8_t tmem[1 << 15];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *producer(void *arg)
{
	double deadline = now_s() + 30.0;
	uint32_t i = 0;
	(void)arg;
	while (i < N_ENTRIES && now_s() < deadline) {
		size_t l = 8 + (i * 2654435761u >> 20) % 600;
		uint8_t *p = bcn_ring_reserve(&tr, l);
		if (!p)
			continue;
		memcpy(p, &i, 4);
		uint32_t x = i * 31u;
		memcpy(p + l - 4, &x, 4);
		bcn_ring_commit(&tr, l);
		i++;
	}
	return (void *)(uintptr_t)i;
}

static void t_two_threads(void)
{
	pthread_t th;
	uint32_t expect = 0, bad = 0;
	double deadline;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(bcn_ring_init(&tr, tmem, sizeof(tmem)), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, producer, NULL), 0);
	deadline = now_s() + 30.0; /* waits for: all N_ENTRIES entries consumed */
	while (expect < N_ENTRIES && now_s() < deadline) {
		const uint8_t *p = bcn_ring_peek(&tr, &len);
		if (!p)
			continue;
		uint32_t s, x;
		memcpy(&s, p, 4);
		memcpy(&x, p + len - 4, 4);
		if (s != expect || x != s * 31u || len != 8 + (s * 2654435761u >> 20) % 600)
			bad++;
		bcn_ring_release(&tr);
		expect++;
	}
	void *ret;
	pthread_join(th, &ret);
	CU_ASSERT_EQUAL((uint32_t)(uintptr_t)ret, N_ENTRIES);
	CU_ASSERT_EQUAL(expect, N_ENTRIES);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(tr.hwm > 0 && tr.hwm <= sizeof(tmem));
}

int test_ring_register(void)
{
	CU_pSuite s = CU_add_suite("ring", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "init and bounds", t_init_bounds) ||
	    !CU_add_test(s, "fifo, shrinking commits", t_fifo_and_shrink) ||
	    !CU_add_test(s, "full, then room after release", t_full_then_room) ||
	    !CU_add_test(s, "discard: everything published, none read", t_discard) ||
	    !CU_add_test(s, "wrap-around padding", t_wrap_padding) ||
	    !CU_add_test(s, "two threads, 300k entries", t_two_threads))
		return -1;
	return 0;
}
