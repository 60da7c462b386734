/*
 * bcn_kafka.h - the Kafka side of beacond's slow path: one librdkafka
 * idempotent producer, the record → topic/key/value mapping, and delivery
 * accounting.
 *
 * Why this exists: a record that left a worker's ring is beacond's
 * responsibility until Kafka has it.  This module is the only place that
 * decides where a record goes (topic by type, key = user_id else anon_id,
 * value = the record's JSON) and the only place that learns whether it got
 * there (delivery reports: persisted / possibly persisted / not persisted).
 * Its memory is bounded by queue.buffering.max.kbytes; when that is full,
 * bcn_kafka_send says BUSY and the caller leaves the record in its ring,
 * which is how back-pressure reaches the fast path.
 *
 * Threads: one struct bcn_kafka belongs to one slow-path thread, which is the
 * only one that calls send/poll/flush (so delivery callbacks run on it).
 * Stats may be read by any thread; bcn_kafka_probe may be called by any one
 * other thread (the main thread does, for /readyz).
 */
#ifndef BCN_KAFKA_H
#define BCN_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_record.h"
#include "bcn_stat.h"

enum bcn_topic { BCN_TOPIC_VIEWS = 0, BCN_TOPIC_EVENTS, BCN_TOPIC_ACTIONS, BCN_TOPIC__COUNT };

struct bcn_kafka_conf {
	const char *brokers;
	const char *topics[BCN_TOPIC__COUNT];
	const char *compression;    /* none|gzip|snappy|lz4|zstd        */
	int64_t queue_kbytes;       /* queue.buffering.max.kbytes       */
	int64_t linger_ms;
	int64_t message_timeout_ms; /* 0 = retry forever                */
	const char *extra;          /* "k=v;k=v", may be NULL            */
	const char *client_id;
};

struct bcn_kafka_topic_stats {
	bcn_ctr produced;        /* handed to librdkafka                  */
	bcn_ctr persisted;       /* delivery report: acked by all ISRs    */
	bcn_ctr possibly;        /* failed, may have been written          */
	bcn_ctr not_persisted;   /* failed, certainly not written          */
	bcn_ctr bytes;           /* value bytes produced                  */
};

struct bcn_kafka_stats {
	struct bcn_kafka_topic_stats t[BCN_TOPIC__COUNT];
	bcn_ctr busy;            /* send refused: local queue full         */
	bcn_ctr unencodable;     /* record could not be encoded (a bug)    */
	bcn_ctr errors;          /* error callbacks                        */
	bcn_ctr outq;            /* messages in flight, last poll          */
	bcn_ctr last_delivery_ms;/* wall clock of the last persisted DR    */
	bcn_ctr last_error;      /* rd_kafka_resp_err_t of the last error  */
};

struct bcn_kafka;

/* Which topic a record of type t goes to.  Can't fail (unknown: views). */
enum bcn_topic bcn_kafka_topic_of(unsigned type);

/*
 * Create a producer.  Returns NULL with a message in err on a bad property
 * or librdkafka failure (nothing is left allocated then).  Does not wait for
 * brokers: librdkafka connects in the background.
 */
struct bcn_kafka *bcn_kafka_new(const struct bcn_kafka_conf *c, char *err, size_t errlen);

enum { BCN_KAFKA_OK = 0, BCN_KAFKA_BUSY = 1, BCN_KAFKA_FAILED = -1 };

/*
 * Produce one validated record.  Returns BCN_KAFKA_OK (queued: its fate is
 * reported later by poll), BCN_KAFKA_BUSY (queue full: nothing changed, try
 * again after bcn_kafka_poll) or BCN_KAFKA_FAILED (this record can never be
 * sent, e.g. larger than message.max.bytes: counted as not persisted).
 */
int bcn_kafka_send(struct bcn_kafka *k, const struct bcn_record *r);

/* Serve delivery reports and errors, waiting up to timeout_ms.  Can't fail. */
void bcn_kafka_poll(struct bcn_kafka *k, int timeout_ms);

/* Wait until everything queued is delivered or failed, at most timeout_ms.
 * Returns the number of messages still not delivered (0 = all done). */
int bcn_kafka_flush(struct bcn_kafka *k, int timeout_ms);

/* Ask the cluster for metadata within timeout_ms: 1 if a broker answered,
 * 0 if none did.  Blocks; call from a thread that may block. */
int bcn_kafka_probe(struct bcn_kafka *k, int timeout_ms);

const struct bcn_kafka_stats *bcn_kafka_stats(const struct bcn_kafka *k);

/* Destroy (does not flush: call bcn_kafka_flush first).  Can't fail. */
void bcn_kafka_free(struct bcn_kafka *k);

#endif
