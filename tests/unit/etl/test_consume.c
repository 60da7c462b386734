/*
 * test_consume.c - bcn_etl_consume (etl/bcn_etl_stream.c) against
 * librdkafka's in-process mock cluster (a producer's test.mock.num.brokers;
 * real Kafka protocol over loopback TCP, no broker to start).
 *
 * What it pins down: a poll takes what is queued and returns, even when
 * that is fewer records than asked (rd_kafka_consume_batch_queue alone
 * waits out its whole timeout for a full batch: the last records of a
 * backlog sat there for up to 100 ms a poll); it waits for the first record
 * only when nothing is queued, and returns 0 after its timeout when nothing
 * comes.  The bounds below are half the timeouts asked, far from what a
 * correct poll takes (milliseconds): they catch a poll that waits out its
 * timeout, not a slow machine.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "bcn_etl.h"

#define TOPIC "consume.t"
#define N 1500

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_t *mk(rd_kafka_type_t type, const char *const *kv)
{
	char err[256];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	for (; *kv; kv += 2)
		if (rd_kafka_conf_set(c, kv[0], kv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
			fprintf(stderr, "test_consume: %s: %s\n", kv[0], err);
			rd_kafka_conf_destroy(c);
			return NULL;
		}
	rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "test_consume: rd_kafka_new: %s\n", err);
		rd_kafka_conf_destroy(c);
	}
	return rk;
}

static int produce(rd_kafka_t *p, int from, int n)
{
	char v[32];
	for (int i = from; i < from + n; i++) {
		int len = snprintf(v, sizeof(v), "record %d", i);
		if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(0),
				      RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_END))
			return -1;
	}
	return rd_kafka_flush(p, 10000) ? -1 : 0;
}

static void test_consume(void)
{
	static const char *const pconf[] = { "test.mock.num.brokers", "1", "log_level", "3", NULL };
	rd_kafka_t *p = mk(RD_KAFKA_PRODUCER, pconf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mc);
	CU_ASSERT_EQUAL_FATAL(rd_kafka_mock_topic_create(mc, TOPIC, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	CU_ASSERT_EQUAL_FATAL(produce(p, 0, N), 0);

	const char *const cconf[] = { "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc),
				      "group.id", "test-consume", "enable.auto.commit", "false",
				      "log_level", "3", NULL };
	rd_kafka_t *c = mk(RD_KAFKA_CONSUMER, cconf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	rd_kafka_poll_set_consumer(c);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, TOPIC, 0)->offset = 0;
	CU_ASSERT_EQUAL(rd_kafka_assign(c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c);

	/* every record, in order, in polls of at most 1024; no poll waits
	 * out its 5 s, not even the last (fewer than asked) */
	rd_kafka_message_t *msgs[1024];
	int got = 0, polls = 0, in_order = 1, errs = 0;
	int64_t slowest = 0;
	while (got < N && polls < 200) {
		int64_t t0 = now_ms();
		ssize_t n = bcn_etl_consume(q, 5000, msgs, 1024);
		int64_t dt = now_ms() - t0;
		polls++;
		CU_ASSERT(n >= 0 && n <= 1024);
		if (n > 0 && dt > slowest)
			slowest = dt;
		for (ssize_t i = 0; i < n; i++) {
			if (msgs[i]->err)
				errs++;
			else if (msgs[i]->offset != got++)
				in_order = 0;
			rd_kafka_message_destroy(msgs[i]);
		}
		if (n <= 0)
			break;
	}
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(errs, 0);
	CU_ASSERT(in_order);
	CU_ASSERT(slowest < 2500);

	/* nothing queued: 0 after waiting (about) the timeout */
	int64_t t0 = now_ms();
	CU_ASSERT_EQUAL(bcn_etl_consume(q, 400, msgs, 1024), 0);
	CU_ASSERT(now_ms() - t0 >= 200);
	CU_ASSERT_EQUAL(bcn_etl_consume(q, 400, msgs, 0), 0);

	/* max 1: one record, the next one */
	CU_ASSERT_EQUAL_FATAL(produce(p, N, 3), 0);
	ssize_t n = bcn_etl_consume(q, 5000, msgs, 1);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1) {
		CU_ASSERT_EQUAL(msgs[0]->offset, N);
		rd_kafka_message_destroy(msgs[0]);
	}
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	rd_kafka_destroy(p);
}

int test_consume_register(CU_pSuite s)
{
	return !CU_add_test(s, "consume: take what is queued, wait only on empty", test_consume);
}
