/*
 * bcn_slow.c - the slow path: drain worker rings into Kafka.  See bcn_app.h.
 *
 * Each slow-path thread owns one producer and the consumer side of rings
 * id, id + nslow, ...  It takes records in order and releases each from its
 * ring only once librdkafka has queued it; when librdkafka's bounded queue
 * is full it leaves the record where it is and serves delivery reports until
 * there is room.  So a Kafka outage fills librdkafka's queue, then the rings,
 * and only then does the fast path start refusing (UDP: counted drops, HTTP:
 * 503).  A record is never dropped here.
 */
#include <stdio.h>
#include <string.h>
#include "bcn_app.h"

#define DRAIN_BATCH 512

int bcn_slow_setup(struct bcn_app *app, struct bcn_slow *s, unsigned id, char *err, size_t errlen)
{
	const struct bcn_cfg *c = &app->cfg;
	char client[64];
	struct bcn_kafka_conf kc = {
		.brokers = c->kafka_brokers,
		.topics = { c->topic_views, c->topic_events, c->topic_actions },
		.compression = c->kafka_compression,
		.queue_kbytes = c->kafka_queue_kbytes,
		.linger_ms = c->kafka_linger_ms,
		.message_timeout_ms = c->kafka_message_timeout_ms,
		.extra = c->kafka_extra,
		.client_id = client,
	};
	memset(s, 0, sizeof(*s));
	s->app = app;
	s->id = id;
	snprintf(client, sizeof(client), "beacond-%s-%u", c->node_name, id);
	s->k = bcn_kafka_new(&kc, err, errlen);
	return s->k ? 0 : -1;
}

void bcn_slow_fini(struct bcn_slow *s)
{
	bcn_kafka_free(s->k);
	s->k = NULL;
}

/* Move up to DRAIN_BATCH records of one ring into Kafka.  Returns how many
 * moved; sets *blocked when Kafka's queue refused one. */
static unsigned drain(struct bcn_slow *s, struct bcn_ring *ring, int *blocked)
{
	unsigned n = 0;
	size_t len;
	const void *e;

	while (n < DRAIN_BATCH && (e = bcn_ring_peek(ring, &len)) != NULL) {
		int rc = bcn_kafka_send(s->k, (const struct bcn_record *)e);
		if (unlikely(rc == BCN_KAFKA_BUSY)) {
			*blocked = 1;
			break;
		}
		/* OK, or FAILED (counted as not persisted by bcn_kafka_send) */
		bcn_ring_release(ring);
		n++;
	}
	return n;
}

void *bcn_slow_main(void *arg)
{
	struct bcn_slow *s = arg;
	struct bcn_app *app = s->app;
	char name[16];

	snprintf(name, sizeof(name), "bcn-slow-%u", s->id);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		unsigned moved = 0;
		int blocked = 0;
		/* read before draining: if the workers were done before this pass,
		 * an empty pass means the rings are empty for good */
		int done = atomic_load_explicit(&app->workers_done, memory_order_acquire);
		for (unsigned i = s->id; i < app->nworkers; i += app->nslow)
			moved += drain(s, &app->w[i].ring, &blocked);
		BCN_INC(s->drained, moved);
		if (blocked)
			BCN_INC(s->blocked, 1);
		if (done && !moved && !blocked)
			break;
		if (done && bcn_now_ms() > atomic_load(&app->stop_deadline_ms)) {
			/* Kafka never came back before the deadline: say what is lost */
			size_t len;
			for (unsigned i = s->id; i < app->nworkers; i += app->nslow)
				while (bcn_ring_peek(&app->w[i].ring, &len)) {
					bcn_ring_release(&app->w[i].ring);
					s->undelivered++;
				}
			break;
		}
		/* serve delivery reports; sleep a little only when there was
		 * nothing to move, or when Kafka pushed back */
		bcn_kafka_poll(s->k, (moved && !blocked) ? 0 : 1);
	}
	int64_t left_ms = atomic_load(&app->stop_deadline_ms) - bcn_now_ms();
	s->undelivered += bcn_kafka_flush(s->k, left_ms > 0 ? (int)left_ms : 0);
	atomic_store(&s->running, 0);
	return NULL;
}
