/*
 * bcn_etl_dlq.c - the dead-letter topic: records that can never be inserted
 * go to kafka.topic_dlq (ugc.dlq) unchanged, with why and where from in
 * Kafka headers:
 *   reason            bad_json | no_type | unknown_type | wrong_topic |
 *                     too_large | rejected (ClickHouse refused the row)
 *   error             ClickHouse's error line (rejected only)
 *   source_topic, source_partition, source_offset, etl_stream
 * The key is the original key when the record never reached a batch
 * (routing); rows refused by ClickHouse are sent without a key (the source
 * coordinates find the original).
 *
 * Why this exists: one poison record must not block a stream, and must not
 * vanish either.  A DLQ record is part of its batch: the batch's offsets
 * are committed only after the DLQ producer has every record acknowledged
 * (idempotent producer, acks=all, message.timeout.ms=0: retried until Kafka
 * takes it), so a crash before that re-reads and re-sends it (at least once
 * in the DLQ; consumers of ugc.dlq dedupe by source coordinates).
 *
 * Threads: one producer per stream, used by its stream thread (records
 * that cannot be routed) and its inserter thread (rows ClickHouse refused,
 * and the drain before a commit); librdkafka's producer is thread-safe.
 */
#include <stdio.h>
#include <string.h>
#include "bcn_etl.h"

/* Delivery report: runs on the stream or inserter thread inside
 * rd_kafka_poll/flush of s->dlq, once per DLQ record, when Kafka
 * acknowledged it or librdkafka gave up (only on a fatal producer error,
 * since message.timeout.ms=0).  A lost DLQ record would be a lost record:
 * the process stops without committing, and a restart re-reads it. */
static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct bcn_etl_stream *s = opaque;
	(void)rk;
	if (unlikely(m->err)) {
		atomic_fetch_add(&s->errors[BCN_ETL_E_DLQ], 1);
		fprintf(stderr, "beacon-etl: %s: DLQ delivery failed: %s (exiting uncommitted)\n",
			s->name, rd_kafka_err2str(m->err));
		atomic_store(&s->etl->fatal, 1);
	}
}

/* Error callback: runs on the stream or inserter thread inside
 * rd_kafka_poll of s->dlq (brokers down, ...: librdkafka keeps retrying). */
static void on_dlq_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct bcn_etl_stream *s = opaque;
	if (rd_kafka_fatal_error(rk, NULL, 0)) {
		fprintf(stderr, "beacon-etl: %s: DLQ producer FATAL: %s (exiting)\n", s->name, reason);
		atomic_store(&s->etl->fatal, 1);
	} else if (err != RD_KAFKA_RESP_ERR__TRANSPORT && err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		fprintf(stderr, "beacon-etl: %s: DLQ producer: %s\n", s->name, reason);
	}
}

int bcn_etl_dlq_new(struct bcn_etl_stream *s, char *err, size_t errlen)
{
	const struct bcn_etl_cfg *c = &s->etl->cfg;
	char v[64], e[512];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	struct { const char *k, *v; } kv[] = {
		{ "bootstrap.servers", c->brokers },
		{ "enable.idempotence", "true" },
		{ "message.timeout.ms", "0" },
		{ "linger.ms", "5" },
		{ "log_level", "3" },
		{ "queue.buffering.max.kbytes", NULL },
		{ "client.id", NULL },
	};
	snprintf(v, sizeof(v), "%lld", (long long)c->dlq_queue_kbytes);
	kv[5].v = v;
	char id[64];
	snprintf(id, sizeof(id), "beacon-etl-dlq-%s", s->name);
	kv[6].v = id;
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (rd_kafka_conf_set(kc, kv[i].k, kv[i].v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "DLQ producer: %s=%s: %s", kv[i].k, kv[i].v, e);
			rd_kafka_conf_destroy(kc);
			return -1;
		}
	rd_kafka_conf_set_opaque(kc, s);
	rd_kafka_conf_set_dr_msg_cb(kc, on_dlq_delivery);
	rd_kafka_conf_set_error_cb(kc, on_dlq_error);
	s->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
	if (!s->dlq) {
		snprintf(err, errlen, "DLQ producer: %s", e);
		rd_kafka_conf_destroy(kc);
		return -1;
	}
	return 0;
}

int bcn_etl_dlq_send(struct bcn_etl_stream *s, unsigned reason, const char *error, const void *v,
		     size_t len, const void *key, size_t keylen, int32_t part, int64_t offset,
		     int64_t deadline_ms, int may_poll)
{
	char ps[16], os[24];
	const char *rs = bcn_etl_reason_name(reason);
	snprintf(ps, sizeof(ps), "%d", (int)part);
	snprintf(os, sizeof(os), "%lld", (long long)offset);
	if (reason < BCN_ETL_R__COUNT)
		BCN_ADD(s->dlq_n[reason], 1); /* stream and inserter threads */
	for (unsigned attempt = 0;; attempt++) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
			s->dlq, RD_KAFKA_V_TOPIC(s->etl->cfg.topic_dlq),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)v, len),
			RD_KAFKA_V_KEY(key, key ? keylen : 0),
			RD_KAFKA_V_HEADER("reason", rs, -1),
			RD_KAFKA_V_HEADER("error", error ? error : "", -1),
			RD_KAFKA_V_HEADER("source_topic", s->cfg->topic, -1),
			RD_KAFKA_V_HEADER("source_partition", ps, -1),
			RD_KAFKA_V_HEADER("source_offset", os, -1),
			RD_KAFKA_V_HEADER("etl_stream", s->name, -1), RD_KAFKA_V_END);
		if (likely(!e))
			return 0;
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			atomic_fetch_add(&s->errors[BCN_ETL_E_DLQ], 1);
			fprintf(stderr, "beacon-etl: %s: DLQ produce refused: %s\n", s->name,
				rd_kafka_err2str(e));
			return -1;
		}
		/* queue full (Kafka slow or down): serve it and wait */
		rd_kafka_poll(s->dlq, 0);
		if (bcn_etl_wait(s, bcn_etl_backoff_ms(attempt, 10, 1000, (uint64_t)attempt * 7919u),
				 deadline_ms, may_poll))
			return -1;
	}
}

int bcn_etl_dlq_drain(struct bcn_etl_stream *s, int64_t deadline_ms, int may_poll)
{
	for (unsigned attempt = 0;; attempt++) {
		rd_kafka_poll(s->dlq, 0);
		if (atomic_load(&s->etl->fatal))
			return -1;
		int n = rd_kafka_outq_len(s->dlq);
		BCN_SET(s->dlq_outq, (uint64_t)n);
		if (likely(n == 0))
			return 0;
		rd_kafka_flush(s->dlq, 50);
		rd_kafka_poll(s->dlq, 0);
		if (!rd_kafka_outq_len(s->dlq) && !atomic_load(&s->etl->fatal))
			return 0;
		if (bcn_etl_wait(s, attempt < 20 ? 10 : 200, deadline_ms, may_poll))
			return -1;
	}
}
