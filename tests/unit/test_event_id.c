/*
 * test_event_id.c - the event id stamped by bcn_ingest: UUIDv7 layout
 * (48-bit ms, version 7, 12-bit sequence, variant 10, node, worker, random),
 * strictly increasing per worker within one millisecond and when the clock
 * goes backwards.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

static const char VIEW[] = "{\"type\":\"view\",\"ts\":" T_TS_S ",\"anon_id\":\"" U_ANON
			   "\",\"film_id\":\"" U_FILM "\",\"position_ms\":1,\"duration_ms\":2}";

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int stamp(struct tfx *f, int64_t now, uint8_t id[16])
{
	int rc = tfx_ingest(f, BCN_FMT_JSON, VIEW, sizeof(VIEW) - 1, NULL, now, BCN_SRC_UDP);
	if (rc == BCN_OK)
		memcpy(id, f->r->event_id, 16);
	return rc;
}

static void check_layout(const uint8_t id[16], const char *what)
{
	EXPECT((id[6] >> 4) == 7, "%s: version nibble %x", what, id[6] >> 4);
	EXPECT((id[8] & 0xc0) == 0x80, "%s: variant bits %x", what, id[8] >> 6);
	EXPECT(!bcn_uuid_is_nil(id), "%s: nil", what);
}

static void test_layout(void)
{
	struct tfx f;
	if (tfx_init(&f, NULL))
		return;
	f.cfg.node_id = 0xbeef;
	bcn_ingest_init(&f.in, &f.cfg, NULL, 0x5a);
	uint8_t id[16];
	CU_ASSERT_EQUAL_FATAL(stamp(&f, T_NOW, id), BCN_OK);
	check_layout(id, "first");
	uint64_t hi = be64(id), lo = be64(id + 8);
	CU_ASSERT_EQUAL(hi >> 16, (uint64_t)T_NOW);          /* 48-bit unix ms */
	CU_ASSERT_EQUAL((hi >> 12) & 0xf, 7);                /* version */
	CU_ASSERT_EQUAL(hi & 0xfff, 0);                      /* first of this ms */
	CU_ASSERT_EQUAL(lo >> 62, 2);                        /* variant 10 */
	CU_ASSERT_EQUAL((lo >> 46) & 0xffff, 0xbeef);        /* node */
	CU_ASSERT_EQUAL((lo >> 38) & 0xff, 0x5a);            /* worker */
	CU_ASSERT_EQUAL(f.r->recv_ts, T_NOW);
	/* the formatted form is a v7 UUID string */
	char s[37];
	bcn_uuid_format(id, s);
	s[36] = '\0';
	CU_ASSERT_EQUAL(s[14], '7');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", s[19]));
	/* second in the same ms: sequence 1, same ms */
	CU_ASSERT_EQUAL_FATAL(stamp(&f, T_NOW, id), BCN_OK);
	hi = be64(id);
	CU_ASSERT_EQUAL(hi >> 16, (uint64_t)T_NOW);
	CU_ASSERT_EQUAL(hi & 0xfff, 1);
	/* a later ms resets the sequence */
	CU_ASSERT_EQUAL_FATAL(stamp(&f, T_NOW + 5, id), BCN_OK);
	hi = be64(id);
	CU_ASSERT_EQUAL(hi >> 16, (uint64_t)(T_NOW + 5));
	CU_ASSERT_EQUAL(hi & 0xfff, 0);
	tfx_free(&f);
}

static void test_monotonic_same_ms(void)
{
	struct tfx f;
	if (tfx_init(&f, NULL))
		return;
	enum { N = 10000 };
	uint8_t (*ids)[16] = malloc(sizeof(uint8_t[16]) * N);
	unsigned bad_rc = 0, not_increasing = 0, bad_layout = 0;
	for (int i = 0; i < N; i++) {
		if (stamp(&f, T_NOW, ids[i]) != BCN_OK) {
			bad_rc++;
			continue;
		}
		if ((ids[i][6] >> 4) != 7 || (ids[i][8] & 0xc0) != 0x80)
			bad_layout++;
		if (i && memcmp(ids[i - 1], ids[i], 16) >= 0)
			not_increasing++;
	}
	CU_ASSERT_EQUAL(bad_rc, 0);
	CU_ASSERT_EQUAL(bad_layout, 0);
	CU_ASSERT_EQUAL(not_increasing, 0);
	/* 4096 ids per ms, then it borrows from the next ms */
	CU_ASSERT_EQUAL(be64(ids[0]) >> 16, (uint64_t)T_NOW);
	CU_ASSERT_EQUAL(be64(ids[4095]) >> 16, (uint64_t)T_NOW);
	CU_ASSERT_EQUAL(be64(ids[4095]) & 0xfff, 0xfff);
	CU_ASSERT_EQUAL(be64(ids[4096]) >> 16, (uint64_t)T_NOW + 1);
	CU_ASSERT_EQUAL(be64(ids[4096]) & 0xfff, 0);
	CU_ASSERT_EQUAL(be64(ids[N - 1]) >> 16, (uint64_t)T_NOW + (N - 1) / 4096);
	/* the real clock catches up with the borrowed ms: still increasing */
	uint8_t a[16], b[16];
	CU_ASSERT_EQUAL(stamp(&f, T_NOW + 1, a), BCN_OK);
	CU_ASSERT_TRUE(memcmp(ids[N - 1], a, 16) < 0);
	CU_ASSERT_EQUAL(stamp(&f, T_NOW + 2, b), BCN_OK);
	CU_ASSERT_TRUE(memcmp(a, b, 16) < 0);
	CU_ASSERT_EQUAL(stamp(&f, T_NOW + 3, a), BCN_OK);
	CU_ASSERT_TRUE(memcmp(b, a, 16) < 0);
	CU_ASSERT_EQUAL(be64(a) >> 16, (uint64_t)T_NOW + 3);
	free(ids);
	tfx_free(&f);
}

static void test_monotonic_clock_backwards(void)
{
	struct tfx f;
	if (tfx_init(&f, NULL))
		return;
	uint8_t prev[16], id[16];
	/* a window wide enough that the beacon's ts fits every clock below */
	f.cfg.skew_future_ms = 2 * 86400000LL;
	CU_ASSERT_EQUAL_FATAL(stamp(&f, T_NOW, prev), BCN_OK);
	/* the clock jumps back, then wobbles; ids keep increasing and keep
	 * the highest ms seen */
	static const int64_t steps[] = { -1, -1000, -5000, 0, -1, +0, -86399000, -3, -2, -1 };
	unsigned not_increasing = 0;
	for (int round = 0; round < 1000; round++) {
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			if (stamp(&f, T_NOW + steps[i], id) != BCN_OK) {
				not_increasing++;
				continue;
			}
			not_increasing += memcmp(prev, id, 16) >= 0;
			not_increasing += (id[6] >> 4) != 7 || (id[8] & 0xc0) != 0x80;
			memcpy(prev, id, 16);
		}
	}
	CU_ASSERT_EQUAL(not_increasing, 0);
	CU_ASSERT_TRUE((be64(prev) >> 16) >= (uint64_t)T_NOW);
	/* 10001 ids within the ms T_NOW: at most 3 ms borrowed */
	CU_ASSERT_TRUE((be64(prev) >> 16) <= (uint64_t)T_NOW + 3);
	/* once the clock passes the borrowed ms, time is real again */
	CU_ASSERT_EQUAL_FATAL(stamp(&f, T_NOW + 1000, id), BCN_OK);
	CU_ASSERT_TRUE(memcmp(prev, id, 16) < 0);
	CU_ASSERT_EQUAL(be64(id) >> 16, (uint64_t)T_NOW + 1000);
	CU_ASSERT_EQUAL(be64(id) & 0xfff, 0);
	tfx_free(&f);
}

static void test_workers_and_nodes_differ(void)
{
	struct tfx a, b;
	if (tfx_init(&a, NULL) || tfx_init(&b, NULL))
		return;
	bcn_ingest_init(&b.in, &b.cfg, NULL, 4); /* a is worker 3 */
	uint8_t ia[16], ib[16];
	unsigned same = 0;
	for (int i = 0; i < 100; i++) {
		if (stamp(&a, T_NOW, ia) || stamp(&b, T_NOW, ib)) {
			same++;
			continue;
		}
		same += memcmp(ia, ib, 16) == 0;
		same += memcmp(ia, ib, 8) != 0; /* same ms and seq... */
		same += ((be64(ia + 8) >> 38) & 0xff) != 3 || ((be64(ib + 8) >> 38) & 0xff) != 4;
	}
	CU_ASSERT_EQUAL(same, 0);
	/* another node, same worker number */
	b.cfg.node_id = 1;
	bcn_ingest_init(&b.in, &b.cfg, NULL, 3);
	bcn_ingest_init(&a.in, &a.cfg, NULL, 3);
	CU_ASSERT_EQUAL(stamp(&a, T_NOW, ia), BCN_OK);
	CU_ASSERT_EQUAL(stamp(&b, T_NOW, ib), BCN_OK);
	CU_ASSERT_EQUAL((be64(ia + 8) >> 46) & 0xffff, 0);
	CU_ASSERT_EQUAL((be64(ib + 8) >> 46) & 0xffff, 1);
	CU_ASSERT_NOT_EQUAL(memcmp(ia, ib, 16), 0);
	tfx_free(&a);
	tfx_free(&b);
}

int suite_event_id(void)
{
	CU_pSuite s = CU_add_suite("event_id", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "UUIDv7 layout: ms, version, seq, variant, node, worker", test_layout) ||
	    !CU_add_test(s, "10,000 ids in one ms strictly increase", test_monotonic_same_ms) ||
	    !CU_add_test(s, "strictly increasing when the clock goes backwards", test_monotonic_clock_backwards) ||
	    !CU_add_test(s, "workers and nodes never collide", test_workers_and_nodes_differ))
		return -1;
	return 0;
}
