/*
 * bcn_etl_conf.h - beacon-etl's configuration: one struct and the one
 * declarative table (etl/bcn_etl_conf.c, in the style of app/core/bcn_cfg.c)
 * that gives every key its type, default, range and help.
 * `beacon-etl --print-config` prints it; docs/etl.md lists it.
 *
 * Why this exists: every size that bounds the ETL's memory (batch buffers,
 * row slots, librdkafka's fetch queue, the DLQ producer's queue) is a key
 * here, read once at start-up, so the process's footprint is decided by
 * this file and nothing else.
 */
#ifndef BCN_ETL_CONF_H
#define BCN_ETL_CONF_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_conf.h"

enum bcn_etl_sid { BCN_ETL_VIEWS = 0, BCN_ETL_EVENTS, BCN_ETL_ACTIONS, BCN_ETL__NSTREAMS };

#define BCN_ETL_MAX_ENDPOINTS 8
#define BCN_ETL_MAX_INFLIGHT 4

/* One stream's own keys ([views], [events], [actions]). */
struct bcn_etl_stream_cfg {
	int enabled;
	char topic[128];
	int64_t batch_rows;  /* per table: flush when one table holds this many */
	int64_t batch_bytes; /* per table buffer capacity: flush when full       */
	int64_t batch_ms;    /* flush this long after the batch's first record  */
};

struct bcn_etl_cfg {
	/* [kafka] */
	char brokers[512];
	char group_prefix[64];
	char topic_dlq[128];
	int64_t queue_kbytes;       /* consumer: queued.max.messages.kbytes */
	int64_t fetch_max_kbytes;   /* consumer: fetch.max.bytes / 1024 */
	int64_t session_timeout_ms;
	int64_t max_poll_interval_ms;
	int64_t max_partitions;     /* partition slots per stream (lag gauges) */
	int64_t dlq_queue_kbytes;   /* DLQ producer: queue.buffering.max.kbytes */
	char kafka_extra[1024];
	/* [clickhouse] */
	char endpoints[1024];       /* http://host:port[,http://host:port...] */
	char database[64];
	char user[64];
	char password[128];
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	char settings[512];         /* extra &k=v query settings */
	char format[16];            /* "rowbinary" | "jsoneachrow" */
	int64_t inflight;           /* inserts in flight per stream (inserter threads) */
	int sort;                   /* rowbinary: rows in ORDER BY order (bcn_etl_sort.h) */
	/* [tables] */
	char t_view[64], t_player[64], t_page[64], t_action[64], t_like[64], t_review[64],
		t_bookmark[64];
	/* [views] [events] [actions] */
	struct bcn_etl_stream_cfg s[BCN_ETL__NSTREAMS];
	/* [retry] */
	int64_t backoff_min_ms;
	int64_t backoff_max_ms;
	/* [rebalance] */
	int64_t revoke_flush_ms;
	/* [metrics] */
	char metrics_addr[64];
	int64_t metrics_port;
	/* [shutdown] */
	int64_t shutdown_deadline_ms;
	/* [postgres]: the current-state sink (etl/bcn_etl_pg.c) */
	int pg_enabled;
	char pg_conninfo[512];      /* libpq connection string */
	char pg_group[64];          /* its consumer group */
	int64_t pg_batch_rows;      /* records per transaction (preallocated) */
	int64_t pg_flush_ms;
	int64_t pg_text_kbytes;     /* review text per batch (preallocated) */
	int64_t pg_max_record_bytes;
	int64_t pg_connect_timeout_ms;
	int64_t pg_statement_timeout_ms;
	int64_t pg_backoff_min_ms;
	int64_t pg_backoff_max_ms;
};

extern const struct bcn_conf_item bcn_etl_cfg_table[];
extern const size_t bcn_etl_cfg_table_len;

/* Fill *c with the defaults.  Can't fail (the unit tests check the table). */
void bcn_etl_cfg_defaults(struct bcn_etl_cfg *c);

/* Cross-key checks (endpoint list parses, at least one stream enabled,
 * backoff_min <= backoff_max, topics and tables not empty).  Returns 0, or
 * -1 with a message in err. */
int bcn_etl_cfg_check(const struct bcn_etl_cfg *c, char *err, size_t errlen);

/* Split clickhouse.endpoints into out[] (each "http://host:port" without a
 * trailing slash; "host:port" gets "http://" prepended).  Returns the count
 * (1..max), or -1 if the list is empty, an entry is empty or too long
 * (over outlen - 1 bytes), or there are more than max. */
int bcn_etl_endpoints(const char *list, char out[][256], int max);

/* Name of stream sid ("views", "events", "actions"); NULL out of range. */
const char *bcn_etl_stream_name(unsigned sid);

#endif
