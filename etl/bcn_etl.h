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
#include "bcn_etl_pg.h"
#include "bcn_etl_route.h"
#include "bcn_etl_rowbin.h"
#include "bcn_etl_sort.h"
#include "bcn_record.h"
#include "bcn_stat.h"

#define BCN_ETL_MAX_TABLES 3 /* per stream */
#define BCN_ETL_MAX_SLOTS (BCN_ETL_MAX_INFLIGHT + 1)

/* Counters written by more than one thread (the inserters): a real atomic
 * add (BCN_INC is a single writer's load + store). */
#define BCN_ADD(c, n) atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)

/* Insert latency buckets (upper bounds, seconds). */
#define BCN_ETL_NLAT 12
extern const double bcn_etl_lat_bounds[BCN_ETL_NLAT]; /* last = +Inf */
extern const char *const bcn_etl_lat_labels[BCN_ETL_NLAT]; /* the bounds as le="" labels */

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
	bcn_ctr json_rows;           /* rows sent as JSONEachRow in rowbinary mode */
	_Atomic int rowbinary;       /* 1 while the table's plan is in use (gauge) */
	_Atomic int sorted;          /* 1 while its rows are sent in key order (gauge) */
	bcn_ctr sorted_rows;         /* rows sent in key order */
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
 * A batch: one buffer per table and the offset ranges it covers.  A stream
 * has clickhouse.inflight + 1 of them: the stream thread fills one while up
 * to `inflight` inserter threads insert the others; they are committed in
 * the order they were handed over (seq).  A slot belongs to exactly one
 * thread at a time (its state changes under s->mu).
 */
enum { BCN_ETL_SLOT_FREE = 0, BCN_ETL_SLOT_QUEUED, BCN_ETL_SLOT_BUSY, BCN_ETL_SLOT_DONE };

struct bcn_etl_slot {
	struct bcn_etl_tbatch tb[BCN_ETL_MAX_TABLES];
	int done[BCN_ETL_MAX_TABLES];  /* table inserted (during its flush)  */
	struct bcn_etl_range *r;       /* [nparts]                           */
	uint32_t msgs;                 /* records, DLQ'd ones included       */
	int64_t start_ms;              /* monotonic ms of the first record   */
	unsigned gen;                  /* stream's generation at that time   */
	int st;                        /* BCN_ETL_SLOT_*, under s->mu        */
	uint64_t seq;                  /* hand-over order = commit order     */
	int rc;                        /* DONE: 0 committed, -1 gave up      */
	unsigned plan_gen[BCN_ETL_MAX_TABLES]; /* the plan its rows were encoded by */
};

/*
 * One inserter thread: its own ClickHouse connection, and a scratch buffer
 * for the rows that go as JSONEachRow in rowbinary mode (copied there in
 * chunks: a chunk, one INSERT).
 */
struct bcn_etl_ins {
	struct bcn_etl_stream *s;
	int idx;
	pthread_t th;
	int started;
	struct bcn_ch *ch;
	uint64_t rng;                  /* backoff jitter                      */
	int failing;                   /* this inserter is retrying           */
	uint8_t *rb;                   /* rbcap bytes: a JSON chunk's body    */
	size_t rbcap;
	uint32_t *prow;                /* [max_rows]: position -> row         */
	uint32_t *poff;                /* [max_rows + 1]: position -> offset  */
	uint32_t *fb;                  /* [max_rows]: rows to send as JSON    */
	uint32_t nfb;
	char collist[1024];            /* the slot's plan's, for the URL      */
	char tmp[4096];                /* a DESCRIBE answer                   */
	char key[1024];                /* a system.tables answer (sorting key) */
	/* clickhouse.sort: the flush's rows in key order (bcn_etl_sort.h) */
	struct bcn_sort_buf sb;
	uint8_t *srt;                  /* srtcap bytes: the sorted rows       */
	size_t srtcap;
	uint32_t *prow2, *poff2;       /* [max_rows (+ 1)]: swapped with prow, poff */
	struct bcn_rb_plan pl;         /* copies of the table's plans         */
	struct bcn_sort_plan sp;
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
	pthread_t th;               /* stream thread */
	struct bcn_etl_ins *ins;    /* [nins] inserter threads */
	int nins;
	int rowbinary;              /* clickhouse.format = rowbinary */
	/* RowBinary plans.  The inserters re-read each table's DESCRIBE before
	 * they insert it and publish a changed plan here (pgen + 1), under mu;
	 * the stream thread adopts it (cplan) when it starts a new batch, and
	 * a batch encoded by an older plan is inserted as JSONEachRow. */
	struct bcn_rb_plan plan[BCN_ETL_MAX_TABLES];
	struct bcn_sort_plan splan[BCN_ETL_MAX_TABLES]; /* usable while sgen == pgen */
	unsigned sgen[BCN_ETL_MAX_TABLES];
	char desc[BCN_ETL_MAX_TABLES][4096];
	size_t desc_len[BCN_ETL_MAX_TABLES];
	unsigned pgen[BCN_ETL_MAX_TABLES];
	int uuid_ok;                /* server's RowBinary UUID layout is ours: -1 unknown */
	struct bcn_rb_plan cplan[BCN_ETL_MAX_TABLES]; /* stream thread's copy */
	unsigned cgen[BCN_ETL_MAX_TABLES];
	/* the flat fast path (bcn_etl_tb_append_flat) for table 0's records:
	 * its type's name, and the "type" column of cplan[0] (-1: none, or
	 * not rowbinary: every record is routed) */
	const char *ftype;
	int ftc;

	struct bcn_etl_slot slot[BCN_ETL_MAX_SLOTS];
	int nslots;                 /* nins + 1 */
	int fill;                   /* stream thread: the slot being filled */
	/* the hand-over, under mu: slot states, the commit order */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_seq;          /* seq of the next slot handed over     */
	uint64_t commit_seq;        /* seq of the next slot that may commit */
	int broken;                 /* a job gave up: no later one commits  */
	int quit;
	_Atomic int abort;          /* revoked: the inserters give up       */
	_Atomic int64_t job_deadline_ms; /* monotonic, 0 = none             */
	/* stream thread only */
	int in_wait;                /* waiting for the inserters (revocation must abort them) */
	unsigned gen;               /* +1 at every revocation               */
	int paused;
	int backed_up;              /* a poll came back full (bcn_etl_poll_full) */
	int64_t last_hwm_ms;

	/* counters */
	bcn_ctr consumed, consumed_bytes, commits, retries, flushes;
	bcn_ctr errors[BCN_ETL_E__COUNT];
	bcn_ctr dlq_n[BCN_ETL_R__COUNT];
	bcn_ctr dropped_revoke, dropped_shutdown, dropped_other;
	bcn_ctr assigns, revokes;
	bcn_ctr fetch_kicks;        /* fetchers restarted after the prefetch queue filled */
	bcn_ctr dlq_outq;           /* gauge */
	_Atomic int running;        /* thread alive */
	_Atomic int failing;        /* inserters retrying right now (count) */
	_Atomic int assigned_n;     /* partitions assigned */
	_Atomic int64_t last_ok_ms; /* wall ms of the last successful flush or idle poll */
};

struct bcn_etl {
	struct bcn_etl_cfg cfg;
	char endpoints[BCN_ETL_MAX_ENDPOINTS][256];
	const char *ep[BCN_ETL_MAX_ENDPOINTS];
	int nep;
	struct bcn_etl_stream s[BCN_ETL__NSTREAMS];
	struct bcn_etl_pg *pg;      /* the PostgreSQL sink, NULL unless postgres.enabled */
	_Atomic int stop;           /* SIGTERM: finish up              */
	_Atomic int64_t stop_deadline_ms; /* monotonic                  */
	_Atomic int fatal;          /* a stream hit an unrecoverable error */
	int64_t started_ms;         /* wall */
};

/*
 * The timeout to pass to rd_kafka_seek_partitions for ms milliseconds.
 * librdkafka before 2.1.0 took that argument as microseconds (fixed by
 * librdkafka PR #4230), so Debian 12's 2.0.2 would give a 5000 ms seek 5 ms
 * and, on a loaded host, a spurious "seek failed" (which the stream treats
 * as fatal).  Can't fail.
 */
static inline int bcn_etl_seek_timeout_ms(int ms)
{
	return rd_kafka_version() < 0x020100ff ? ms * 1000 : ms;
}

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

/* ---- librdkafka configuration (bcn_etl_stream.c), shared by every consumer ---- */

/* Log callback for rd_kafka_conf_set_log_cb: runs on librdkafka's internal
 * threads, writes one line to stderr.  Can't fail. */
void bcn_etl_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* rd_kafka_conf_set(c, k, v).  Returns 0, or -1 with "kafka: k=v: why" in
 * err (c unchanged). */
int bcn_etl_kset(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t errlen);

/* Apply kafka.extra ("k=v;k=v").  Returns 0, or -1 with a message in err
 * (the pairs before the bad one are set). */
int bcn_etl_kset_extra(rd_kafka_conf_t *c, const char *extra, char *err, size_t errlen);

/* A consumer's configuration as every consumer of beacon-etl has it (the
 * streams' and the PostgreSQL sink's): brokers, group and client id, manual
 * commits, earliest, roundrobin, prefetch and fetch sizes, session,
 * heartbeat and poll intervals from cfg, kafka.extra last, the log
 * callback.  Returns it (the caller adds opaque and rebalance callback),
 * or NULL with a message in err. */
rd_kafka_conf_t *bcn_etl_consumer_conf(const struct bcn_etl_cfg *c, const char *group,
				       const char *client_id, char *err, size_t errlen);

/* Assign parts to consumer rk (from its rebalance callback), each partition
 * at the group's committed offset, or, without one, at the first record in
 * its log (auto.offset.reset = earliest), handed to librdkafka as absolute
 * offsets (see start_positions in bcn_etl_stream.c for why).  Waits up to
 * 5 s for each look-up.  Returns a copy of parts holding the committed
 * offsets (for the lag gauges; the caller destroys it), with *committed_ok
 * 0 if they could not be read.  Can't fail otherwise: on any error, or when
 * auto.offset.reset is not earliest and a partition has no commit, parts is
 * assigned as given and librdkafka decides, as it would have. */
rd_kafka_topic_partition_list_t *bcn_etl_assign(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts,
						int *committed_ok);

/* Poll consumer queue q for up to max records: whatever is queued now, or,
 * if nothing is, the first record to arrive within ms and whatever came
 * with it.  Unlike rd_kafka_consume_batch_queue alone, which waits out ms
 * until max records are there, it does not hold back the last records of
 * a backlog (fewer than max) for ms.  Call on the consumer's polling
 * thread.  Returns the records put in msgs (0: none within ms); can't fail
 * otherwise (errors arrive as records with err set). */
ssize_t bcn_etl_consume(rd_kafka_queue_t *q, int ms, rd_kafka_message_t **msgs, size_t max);

/* Restart the fetchers of consumer rk after its prefetch queue filled and
 * drained (librdkafka < 2.3 would leave them idle for up to 1 s): seek each
 * assigned partition with a position, and for which skip (may be NULL)
 * returns 0, to that position, asynchronously.  Call on the consumer's
 * polling thread, right after a poll (bcn_etl_consume) that found the queue
 * empty and waited BCN_ETL_KICK_WAIT_MS in vain, when every record polled
 * before was taken.  Returns the
 * partitions moved (0: none), or -1 (nothing changed: the fetchers wake on
 * their own within 1 s). */
int bcn_etl_kick_fetchers(rd_kafka_t *rk, int (*skip)(void *arg, const char *topic, int32_t partition),
			  void *arg);

/* How long a consumer that saw its queue back up (bcn_etl_poll_full) waits
 * on an empty queue before it takes the fetchers for stalled and kicks
 * them: longer than a fetch round trip on a busy host, far shorter than
 * the up to 1 s librdkafka would idle. */
#define BCN_ETL_KICK_WAIT_MS 20

/* 1 if a poll that returned n records (max asked) of bytes payload+key
 * bytes says the prefetch queue may have reached its limit: n == max, or
 * half of queue_kbytes or more came at once (a queue too small to hold max
 * records).  Then the first poll to find nothing within BCN_ETL_KICK_WAIT_MS
 * kicks the fetchers (bcn_etl_kick_fetchers).  Can't fail. */
static inline int bcn_etl_poll_full(size_t n, size_t max, size_t bytes, long long queue_kbytes)
{
	return n >= max || (unsigned long long)bytes * 2 >= (unsigned long long)queue_kbytes * 1024;
}

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
 * records that still arrive are re-read later.  On an inserter thread
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
