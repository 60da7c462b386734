/*
 * bcn_etl.h - beacon-etl's process state: three streams (views, events,
 * actions), each a thread with its own consumer group, batches, ClickHouse
 * connection and DLQ producer, plus the counters that /metrics reads.
 *
 * Why this exists: the stream thread (bcn_etl_stream.c), the DLQ producer
 * (bcn_etl_dlq.c), the metrics page (bcn_etl_metrics.c) and main.c share
 * these structs and nothing else.  Every counter has one writer (its stream
 * thread) and is read by the main thread with relaxed atomics (bcn_stat.h).
 */
#ifndef BCN_ETL_H
#define BCN_ETL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "bcn_ch.h"
#include "bcn_etl_batch.h"
#include "bcn_etl_conf.h"
#include "bcn_etl_route.h"
#include "bcn_record.h"
#include "bcn_stat.h"

#define BCN_ETL_MAX_TABLES 3 /* per stream */

/* Insert latency buckets (upper bounds, seconds). */
#define BCN_ETL_NLAT 12
extern const double bcn_etl_lat_bounds[BCN_ETL_NLAT]; /* last = +Inf */

/* Errors by kind (label values of beacon_etl_errors_total). */
enum bcn_etl_err {
	BCN_ETL_E_CH_DATA = 0,   /* ClickHouse refused rows (bisected)       */
	BCN_ETL_E_CH_CONFIG,     /* unknown table, auth, ...                  */
	BCN_ETL_E_CH_TRANSIENT,  /* ClickHouse error worth a retry            */
	BCN_ETL_E_CH_TRANSPORT,  /* no answer: connect, reset, timeout        */
	BCN_ETL_E_KAFKA_CONSUME, /* consumer errors (brokers down, ...)       */
	BCN_ETL_E_KAFKA_COMMIT,  /* offset commit failed (retried)            */
	BCN_ETL_E_DLQ,           /* DLQ produce refused or not delivered      */
	BCN_ETL_E__COUNT
};
const char *bcn_etl_err_name(unsigned e);

/* Per target table: its name and counters (the rows are in the slots). */
struct bcn_etl_table {
	const char *name;
	bcn_ctr batches, rows, bytes, rejected;
	bcn_ctr lat_le[BCN_ETL_NLAT]; /* cumulative, Prometheus-style */
	bcn_ctr lat_sum_us;
};

/* Per partition (index = partition number). */
struct bcn_etl_part {
	_Atomic int64_t committed;  /* our committed offset (next to read), -1 unknown */
	_Atomic int64_t hwm;        /* high watermark (cached), -1 unknown            */
	_Atomic int64_t commit_ts;  /* Kafka timestamp (ms) of the last committed record */
	_Atomic int assigned;
	int64_t rewind;             /* stream thread: re-read from here, -1 none  */
};

/* Where a batch's records came from, per partition: [first, next). */
struct bcn_etl_range {
	int64_t first;              /* offset of the batch's first record, -1 none */
	int64_t next;               /* its last record's offset + 1               */
	int64_t last_ts;            /* that record's Kafka timestamp              */
};

/*
 * A batch: one buffer per table and the offset ranges it covers.  Two per
 * stream: the stream thread fills one while the inserter thread inserts and
 * commits the other, so consuming and inserting overlap.  A slot belongs to
 * exactly one of the two threads at a time (handed over under s->mu).
 */
struct bcn_etl_slot {
	struct bcn_etl_tbatch tb[BCN_ETL_MAX_TABLES];
	int done[BCN_ETL_MAX_TABLES];  /* table inserted (during its flush)  */
	struct bcn_etl_range *r;       /* [nparts]                           */
	uint32_t msgs;                 /* records, DLQ'd ones included       */
	int64_t start_ms;              /* monotonic ms of the first record   */
	unsigned gen;                  /* stream's generation at that time   */
};

struct bcn_etl;

struct bcn_etl_stream {
	struct bcn_etl *etl;
	unsigned sid;
	const char *name;
	const struct bcn_etl_stream_cfg *cfg;
	rd_kafka_t *rk;             /* consumer                  */
	rd_kafka_queue_t *q;        /* its consumer queue        */
	rd_kafka_t *dlq;            /* DLQ producer              */
	struct bcn_ch *ch;
	int ntab;
	int tab_of[BCN_T__COUNT];   /* BCN_T_* -> table index, -1 */
	struct bcn_etl_table t[BCN_ETL_MAX_TABLES];
	struct bcn_etl_part *parts;
	int nparts;
	pthread_t th, ith;          /* stream thread, inserter thread */
	uint64_t rng;               /* inserter thread: backoff jitter */

	struct bcn_etl_slot slot[2];
	int fill;                   /* stream thread: the slot being filled */
	/* the hand-over: job is the slot the inserter owns (-1: idle) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int job, job_rc, quit, started_ith;
	_Atomic int abort;          /* revoked: the inserter gives up       */
	_Atomic int64_t job_deadline_ms; /* monotonic, 0 = none             */
	int in_commit;              /* inserter: committing                 */
	/* stream thread only */
	int in_wait;                /* waiting for the inserter (revocation must abort it) */
	unsigned gen;               /* +1 at every revocation               */
	int paused;
	int64_t last_hwm_ms;

	/* counters */
	bcn_ctr consumed, consumed_bytes, commits, retries, flushes;
	bcn_ctr errors[BCN_ETL_E__COUNT];
	bcn_ctr dlq_n[BCN_ETL_R__COUNT];
	bcn_ctr dropped_revoke, dropped_shutdown, dropped_other;
	bcn_ctr assigns, revokes;
	bcn_ctr dlq_outq;           /* gauge */
	_Atomic int running;        /* thread alive */
	_Atomic int failing;        /* a flush is retrying right now */
	_Atomic int assigned_n;     /* partitions assigned */
	_Atomic int64_t last_ok_ms; /* wall ms of the last successful flush or idle poll */
};

struct bcn_etl {
	struct bcn_etl_cfg cfg;
	char endpoints[BCN_ETL_MAX_ENDPOINTS][256];
	const char *ep[BCN_ETL_MAX_ENDPOINTS];
	int nep;
	struct bcn_etl_stream s[BCN_ETL__NSTREAMS];
	_Atomic int stop;           /* SIGTERM: finish up              */
	_Atomic int64_t stop_deadline_ms; /* monotonic                  */
	_Atomic int fatal;          /* a stream hit an unrecoverable error */
	int64_t started_ms;         /* wall */
};

/* Monotonic and wall clocks, ms. */
int64_t bcn_etl_mono_ms(void);
int64_t bcn_etl_wall_ms(void);

/* Set up stream sid of etl (consumer, DLQ producer, ClickHouse client,
 * preallocated batches).  Returns 0, or -1 with a message in err; then
 * bcn_etl_stream_fini cleans up whatever was made. */
int bcn_etl_stream_setup(struct bcn_etl *etl, unsigned sid, char *err, size_t errlen);

/* The stream's thread: consume, batch, insert, commit until etl->stop, then
 * flush or abandon the open batch by etl->stop_deadline_ms and close the
 * consumer.  arg is the struct bcn_etl_stream. */
void *bcn_etl_stream_main(void *arg);

/* Free everything of a stream (after its thread ended, or if it never
 * started).  Idempotent. */
void bcn_etl_stream_fini(struct bcn_etl_stream *s);

/* ---- DLQ (bcn_etl_dlq.c) ---- */

/* Create s->dlq.  Returns 0, or -1 with a message in err. */
int bcn_etl_dlq_new(struct bcn_etl_stream *s, char *err, size_t errlen);

/* Hand one record to the DLQ producer (value copied) with headers naming the
 * reason, the ClickHouse error (may be NULL) and where it came from.  Waits
 * (serving the consumer, see bcn_etl_stream.c) while the producer's queue
 * is full.  Returns 0, or -1 if the flush must give up (revocation or
 * deadline), or the producer refused it for good. */
int bcn_etl_dlq_send(struct bcn_etl_stream *s, unsigned reason, const char *error, const void *v,
		     size_t len, const void *key, size_t keylen, int32_t part, int64_t offset,
		     int64_t deadline_ms, int may_poll);

/* Wait until everything handed to the DLQ producer is acknowledged.  Returns
 * 0, or -1 (deadline, revocation, or a delivery failed: the batch must not
 * be committed). */
int bcn_etl_dlq_drain(struct bcn_etl_stream *s, int64_t deadline_ms, int may_poll);

/* ---- waiting (bcn_etl_stream.c) ---- */

/* Wait ms before a retry.  On the stream thread (may_poll = 1): pause every
 * assigned partition and keep serving the consumer (rebalances, liveness);
 * records that still arrive are re-read later.  On the inserter thread
 * (may_poll = 0): sleep.  Returns 0, or -1 if the work must give up
 * (revoked, fatal error, or deadline_ms / the job's / the shutdown deadline
 * passed). */
int bcn_etl_wait(struct bcn_etl_stream *s, int64_t ms, int64_t deadline_ms, int may_poll);

/* ---- /metrics (bcn_etl_metrics.c) ---- */
struct bcn_mbuf;
void bcn_etl_metrics(struct bcn_etl *etl, struct bcn_mbuf *mb);
/* 1 if every enabled stream has partitions assigned... see bcn_etl_metrics.c */
int bcn_etl_ready(struct bcn_etl *etl, char *why, size_t whylen);

#endif
