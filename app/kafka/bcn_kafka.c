/*
 * bcn_kafka.c - librdkafka producer for beacond's slow path.  See bcn_kafka.h.
 *
 * The producer is idempotent (enable.idempotence=true: acks=all, retries
 * without reordering or duplicates within a producer session), so a record
 * handed to it is written at most once per partition even across broker
 * failovers.  By default message.timeout.ms is 0 (infinite): a record is
 * retried until Kafka takes it, and the bounded queue turns an outage into
 * back-pressure instead of silent loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include "bcn_kafka.h"
#include "bcn_proto.h"

struct bcn_kafka {
	rd_kafka_t *rk;
	rd_kafka_topic_t *topic[BCN_TOPIC__COUNT];
	struct bcn_kafka_stats st;
	char json[BCN_RECORD_JSON_MAX]; /* the value being produced */
};

enum bcn_topic bcn_kafka_topic_of(unsigned type)
{
	switch (type) {
	case BCN_T_PAGE:
	case BCN_T_ACTION:
		return BCN_TOPIC_EVENTS;
	case BCN_T_LIKE:
	case BCN_T_REVIEW:
	case BCN_T_BOOKMARK:
		return BCN_TOPIC_ACTIONS;
	default:
		return BCN_TOPIC_VIEWS;
	}
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Delivery report callback: runs on the slow-path thread inside
 * rd_kafka_poll/flush, once per message, after librdkafka has given up on it
 * or the leader (and, with acks=all, the ISRs) acknowledged it.  The message's
 * opaque is its topic index. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct bcn_kafka *k = opaque;
	uintptr_t t = (uintptr_t)m->_private;
	(void)rk;
	if (t >= BCN_TOPIC__COUNT)
		t = BCN_TOPIC_VIEWS;
	if (!m->err) {
		BCN_INC(k->st.t[t].persisted, 1);
		BCN_SET(k->st.last_delivery_ms, (uint64_t)wall_ms());
		return;
	}
	if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
		BCN_INC(k->st.t[t].possibly, 1);
	else
		BCN_INC(k->st.t[t].not_persisted, 1);
	BCN_SET(k->st.last_error, (uint64_t)m->err);
	fprintf(stderr, "beacond: kafka: delivery to %s failed: %s\n",
		rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

/* Error callback: runs on the slow-path thread inside rd_kafka_poll, for
 * client-level errors (all brokers down, authentication...).  Most are
 * transient; librdkafka keeps retrying. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct bcn_kafka *k = opaque;
	BCN_INC(k->st.errors, 1);
	BCN_SET(k->st.last_error, (uint64_t)(unsigned)err);
	if (rd_kafka_fatal_error(rk, NULL, 0))
		fprintf(stderr, "beacond: kafka: FATAL: %s\n", reason);
	else
		fprintf(stderr, "beacond: kafka: %s: %s\n", rd_kafka_err2name(err), reason);
}

/* Log callback: runs on librdkafka's internal threads. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	fprintf(stderr, "beacond: kafka[%d] %s: %s\n", level, fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
	char e[256];
	if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka: %s=%s: %s", k, v, e);
		return -1;
	}
	return 0;
}

static int set_extra(rd_kafka_conf_t *conf, const char *extra, char *err, size_t errlen)
{
	char buf[1024], *save = NULL;
	if (!extra || !*extra)
		return 0;
	if (strlen(extra) >= sizeof(buf)) {
		snprintf(err, errlen, "kafka.extra: too long");
		return -1;
	}
	strcpy(buf, extra);
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "kafka.extra: '%s' is not key=value", kv);
			return -1;
		}
		*eq = 0;
		if (set(conf, kv, eq + 1, err, errlen))
			return -1;
	}
	return 0;
}

struct bcn_kafka *bcn_kafka_new(const struct bcn_kafka_conf *c, char *err, size_t errlen)
{
	struct bcn_kafka *k = calloc(1, sizeof(*k));
	char num[32], e[256];
	if (!k) {
		snprintf(err, errlen, "kafka: out of memory");
		return NULL;
	}
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	snprintf(num, sizeof(num), "%lld", (long long)c->queue_kbytes);
	int bad = set(conf, "bootstrap.servers", c->brokers, err, errlen) ||
		  set(conf, "client.id", c->client_id ? c->client_id : "beacond", err, errlen) ||
		  set(conf, "enable.idempotence", "true", err, errlen) ||
		  set(conf, "compression.type", c->compression, err, errlen) ||
		  set(conf, "queue.buffering.max.kbytes", num, err, errlen) ||
		  set(conf, "queue.buffering.max.messages", "10000000", err, errlen);
	if (!bad) {
		snprintf(num, sizeof(num), "%lld", (long long)c->linger_ms);
		bad = set(conf, "linger.ms", num, err, errlen);
	}
	if (!bad) {
		snprintf(num, sizeof(num), "%lld", (long long)c->message_timeout_ms);
		bad = set(conf, "message.timeout.ms", num, err, errlen) ||
		      set(conf, "log_level", "4", err, errlen) ||
		      set_extra(conf, c->extra, err, errlen);
	}
	if (bad) {
		rd_kafka_conf_destroy(conf);
		free(k);
		return NULL;
	}
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!k->rk) {
		snprintf(err, errlen, "kafka: %s", e);
		rd_kafka_conf_destroy(conf);
		free(k);
		return NULL;
	}
	for (int t = 0; t < BCN_TOPIC__COUNT; t++) {
		k->topic[t] = rd_kafka_topic_new(k->rk, c->topics[t], NULL);
		if (!k->topic[t]) {
			snprintf(err, errlen, "kafka: topic %s: %s", c->topics[t],
				 rd_kafka_err2str(rd_kafka_last_error()));
			bcn_kafka_free(k);
			return NULL;
		}
	}
	return k;
}

int bcn_kafka_send(struct bcn_kafka *k, const struct bcn_record *r)
{
	enum bcn_topic t = bcn_kafka_topic_of(r->type);
	char key[36];
	size_t n = bcn_record_to_json(r, k->json, sizeof(k->json));

	if (unlikely(n == 0)) {
		BCN_INC(k->st.unencodable, 1);
		BCN_INC(k->st.t[t].not_persisted, 1);
		return BCN_KAFKA_FAILED;
	}
	bcn_uuid_format((r->has & BCN_HAS_USER) ? r->user_id : r->anon_id, key);
	if (unlikely(rd_kafka_produce(k->topic[t], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
				      k->json, n, key, sizeof(key), (void *)(uintptr_t)t) == -1)) {
		rd_kafka_resp_err_t e = rd_kafka_last_error();
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			BCN_INC(k->st.busy, 1);
			return BCN_KAFKA_BUSY;
		}
		BCN_SET(k->st.last_error, (uint64_t)e);
		BCN_INC(k->st.t[t].not_persisted, 1);
		fprintf(stderr, "beacond: kafka: produce to %s refused: %s\n",
			rd_kafka_topic_name(k->topic[t]), rd_kafka_err2str(e));
		return BCN_KAFKA_FAILED;
	}
	BCN_INC(k->st.t[t].produced, 1);
	BCN_INC(k->st.t[t].bytes, n);
	return BCN_KAFKA_OK;
}

void bcn_kafka_poll(struct bcn_kafka *k, int timeout_ms)
{
	rd_kafka_poll(k->rk, timeout_ms);
	BCN_SET(k->st.outq, (uint64_t)rd_kafka_outq_len(k->rk));
}

int bcn_kafka_flush(struct bcn_kafka *k, int timeout_ms)
{
	rd_kafka_flush(k->rk, timeout_ms);
	rd_kafka_poll(k->rk, 0);
	int n = rd_kafka_outq_len(k->rk);
	BCN_SET(k->st.outq, (uint64_t)n);
	return n;
}

int bcn_kafka_probe(struct bcn_kafka *k, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	/* only_rkt = the views topic: a cheap request that needs a live broker */
	rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 0, k->topic[BCN_TOPIC_VIEWS], &md, timeout_ms);
	int up = e == RD_KAFKA_RESP_ERR_NO_ERROR && md && md->broker_cnt > 0;
	if (md)
		rd_kafka_metadata_destroy(md);
	return up;
}

const struct bcn_kafka_stats *bcn_kafka_stats(const struct bcn_kafka *k)
{
	return &k->st;
}

void bcn_kafka_free(struct bcn_kafka *k)
{
	if (!k)
		return;
	for (int t = 0; t < BCN_TOPIC__COUNT; t++)
		if (k->topic[t])
			rd_kafka_topic_destroy(k->topic[t]);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	free(k);
}
