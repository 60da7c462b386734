/*
 * bcn_etl_conf.c - beacon-etl's configuration table.  See bcn_etl_conf.h.
 *
 * One row per key: name, type, default, field, size, range, help.  The help
 * text is what `--print-config` shows, so it says what the key does and its
 * unit.  Sizes bound memory: see "Memory" in docs/etl.md.
 */
#include <stdio.h>
#include <string.h>
#include "bcn_etl_conf.h"

#define O(f) offsetof(struct bcn_etl_cfg, f)
#define S(f) sizeof(((struct bcn_etl_cfg *)0)->f)

/* ClickHouse parses one INSERT as one block up to max_insert_block_size
 * (1048576 rows): staying under it keeps every insert atomic, which the
 * bisection of a rejected batch relies on. */
#define ROWS_MAX 1000000

#define STREAM(SEC, I, TOPIC, ROWS, BYTES)                                                       \
	{ SEC ".enabled", BCN_CONF_BOOL, "yes", O(s[I].enabled), 0, 0, 0,                        \
	  "consume this stream (its own thread, consumer group, batches, HTTP connection)" },   \
	{ SEC ".topic", BCN_CONF_STR, TOPIC, O(s[I].topic), S(s[I].topic), 0, 0,                \
	  "Kafka topic of this stream" },                                                        \
	{ SEC ".batch_rows", BCN_CONF_INT, ROWS, O(s[I].batch_rows), 0, 1, ROWS_MAX,             \
	  "flush the stream's batch when one table holds this many rows (row slots, preallocated)" }, \
	{ SEC ".batch_bytes", BCN_CONF_INT, BYTES, O(s[I].batch_bytes), 0, 64 * 1024,            \
	  1ll << 30, "each table's batch buffer, bytes (preallocated); flush when the next record does not fit" }, \
	{ SEC ".batch_ms", BCN_CONF_INT, "1000", O(s[I].batch_ms), 0, 1, 3600000,                \
	  "flush this long after the batch's first record, ms" }

const struct bcn_conf_item bcn_etl_cfg_table[] = {
	{ "kafka.brokers", BCN_CONF_STR, "127.0.0.1:9092", O(brokers), S(brokers), 0, 0,
	  "bootstrap servers, host:port[,host:port...]" },
	{ "kafka.group_prefix", BCN_CONF_STR, "beacon-etl", O(group_prefix), S(group_prefix), 0, 0,
	  "consumer group of stream S is PREFIX-S" },
	{ "kafka.topic_dlq", BCN_CONF_STR, "ugc.dlq", O(topic_dlq), S(topic_dlq), 0, 0,
	  "dead-letter topic: records that can never be inserted, with the reason in headers" },
	{ "kafka.queue_kbytes", BCN_CONF_INT, "32768", O(queue_kbytes), 0, 256, 2097151,
	  "per consumer: librdkafka queued.max.messages.kbytes (prefetched records, KiB); it should "
	  "hold more than a batch (perf/RESULTS.md: 16 MiB starved the views stream); when it fills, "
	  "the consumer restarts the fetchers itself (docs/etl.md, Memory)" },
	{ "kafka.fetch_max_kbytes", BCN_CONF_INT, "8192", O(fetch_max_kbytes), 0, 64, 1048576,
	  "per consumer: librdkafka fetch.max.bytes, KiB" },
	{ "kafka.session_timeout_ms", BCN_CONF_INT, "10000", O(session_timeout_ms), 0, 1000, 3600000,
	  "consumer group session.timeout.ms (a dead ETL's partitions move after this)" },
	{ "kafka.max_poll_interval_ms", BCN_CONF_INT, "300000", O(max_poll_interval_ms), 0, 10000,
	  86400000, "max.poll.interval.ms; must exceed clickhouse.timeout_ms" },
	{ "kafka.max_partitions", BCN_CONF_INT, "256", O(max_partitions), 0, 1, 65536,
	  "partitions per topic the ETL can track (offsets, lag); more is a start-up error" },
	{ "kafka.dlq_queue_kbytes", BCN_CONF_INT, "4096", O(dlq_queue_kbytes), 0, 64, 2097151,
	  "per stream: DLQ producer's queue.buffering.max.kbytes" },
	{ "kafka.extra", BCN_CONF_STR, "", O(kafka_extra), S(kafka_extra), 0, 0,
	  "more librdkafka properties for the consumers, k=v;k=v (applied last)" },
	{ "clickhouse.endpoints", BCN_CONF_STR, "http://127.0.0.1:8123", O(endpoints), S(endpoints), 0, 0,
	  "ClickHouse HTTP interfaces, comma-separated; the next one is tried when one fails" },
	{ "clickhouse.database", BCN_CONF_STR, "ugc", O(database), S(database), 0, 0,
	  "database of the tables" },
	{ "clickhouse.user", BCN_CONF_STR, "default", O(user), S(user), 0, 0, "ClickHouse user" },
	{ "clickhouse.password", BCN_CONF_STR, "", O(password), S(password), 0, 0,
	  "ClickHouse password (sent as X-ClickHouse-Key)" },
	{ "clickhouse.connect_timeout_ms", BCN_CONF_INT, "2000", O(connect_timeout_ms), 0, 10, 600000,
	  "TCP connect timeout per attempt, ms" },
	{ "clickhouse.timeout_ms", BCN_CONF_INT, "30000", O(timeout_ms), 0, 100, 3600000,
	  "whole INSERT timeout, ms (an expired one has an unknown outcome: it is retried with the same bytes)" },
	{ "clickhouse.settings", BCN_CONF_STR, "", O(settings), S(settings), 0, 0,
	  "extra query settings appended to every INSERT URL, k=v&k=v" },
	{ "clickhouse.format", BCN_CONF_STR, "rowbinary", O(format), S(format), 0, 0,
	  "rowbinary: convert each record to RowBinary by the table's DESCRIBE (records that do not "
	  "convert exactly go as JSONEachRow); jsoneachrow: send the records unchanged" },
	/* 2: with rows sent sorted, ClickHouse's share of the CPU fell and one
	 * INSERT in flight left the consumer waiting for it (perf/RESULTS.md,
	 * "Rows sorted before they are sent") */
	{ "clickhouse.inflight", BCN_CONF_INT, "2", O(inflight), 0, 1, BCN_ETL_MAX_INFLIGHT,
	  "INSERTs in flight per stream (inserter threads; one batch slot more than this is "
	  "preallocated); offsets are still committed in order" },
	{ "clickhouse.sort", BCN_CONF_BOOL, "yes", O(sort), 0, 0, 0,
	  "rowbinary: send each batch's rows in the table's ORDER BY order where the ETL can compute "
	  "the key (etl/bcn_etl_sort.h), so that ClickHouse does not sort them; costs one more "
	  "batch-sized buffer per inserter" },
	{ "tables.view", BCN_CONF_STR, "views", O(t_view), S(t_view), 0, 0, "table of view records" },
	{ "tables.player", BCN_CONF_STR, "player_events", O(t_player), S(t_player), 0, 0,
	  "table of player records" },
	{ "tables.page", BCN_CONF_STR, "page_views", O(t_page), S(t_page), 0, 0, "table of page records" },
	{ "tables.action", BCN_CONF_STR, "actions", O(t_action), S(t_action), 0, 0,
	  "table of action records" },
	{ "tables.like", BCN_CONF_STR, "likes", O(t_like), S(t_like), 0, 0, "table of like records" },
	{ "tables.review", BCN_CONF_STR, "reviews", O(t_review), S(t_review), 0, 0,
	  "table of review records" },
	{ "tables.bookmark", BCN_CONF_STR, "bookmarks", O(t_bookmark), S(t_bookmark), 0, 0,
	  "table of bookmark records" },
	/* views: ~100,000 view records (~400 B) a batch when it backs up.
	 * ClickHouse merges what it is given: 14 INSERTs of 44k rows per 600k
	 * records cost ClickHouse + kafka-dev 1.0-1.3 CPU-s, 6 of 100k 0.7-0.8
	 * (perf/RESULTS.md, beacon-etl, "Fewer instructions per record, bigger
	 * views batches"); at normal rates batch_ms flushes first. */
	STREAM("views", BCN_ETL_VIEWS, "ugc.views", "100000", "40M"),
	STREAM("events", BCN_ETL_EVENTS, "ugc.events", "16384", "4M"),
	STREAM("actions", BCN_ETL_ACTIONS, "ugc.actions", "8192", "2M"),
	{ "retry.backoff_min_ms", BCN_CONF_INT, "100", O(backoff_min_ms), 0, 1, 600000,
	  "first retry delay after a failed insert, commit or DLQ flush, ms (doubles each time, with jitter)" },
	{ "retry.backoff_max_ms", BCN_CONF_INT, "10000", O(backoff_max_ms), 0, 1, 3600000,
	  "cap of the retry delay, ms" },
	{ "rebalance.revoke_flush_ms", BCN_CONF_INT, "5000", O(revoke_flush_ms), 0, 0, 600000,
	  "on partition revocation: time to insert and commit the open batch, else it is dropped (re-read by the next owner), ms" },
	{ "metrics.address", BCN_CONF_STR, "127.0.0.1", O(metrics_addr), S(metrics_addr), 0, 0,
	  "address of /metrics, /healthz and /readyz" },
	{ "metrics.port", BCN_CONF_INT, "9471", O(metrics_port), 0, 1, 65535, "metrics HTTP port" },
	{ "shutdown.deadline_ms", BCN_CONF_INT, "10000", O(shutdown_deadline_ms), 0, 0, 3600000,
	  "on SIGTERM: time to insert and commit the batch in flight before it is abandoned, ms" },
	{ "postgres.enabled", BCN_CONF_BOOL, "no", O(pg_enabled), 0, 0, 0,
	  "also apply likes, bookmarks, reviews and viewing progress of registered users to the "
	  "read side's PostgreSQL current-state tables (etl/pg/V*.sql; its own thread and consumer group)" },
	{ "postgres.conninfo", BCN_CONF_STR, "host=127.0.0.1 port=5432 user=postgres dbname=ugc",
	  O(pg_conninfo), S(pg_conninfo), 0, 0, "libpq connection string (key=value ... or postgresql:// URI)" },
	{ "postgres.group", BCN_CONF_STR, "beacon-etl-pg", O(pg_group), S(pg_group), 0, 0,
	  "consumer group of the sink (reads the views and actions topics)" },
	{ "postgres.batch_rows", BCN_CONF_INT, "5000", O(pg_batch_rows), 0, 1, 200000,
	  "records per transaction: flush when the batch holds this many (array buffers preallocated for it)" },
	{ "postgres.flush_ms", BCN_CONF_INT, "200", O(pg_flush_ms), 0, 1, 3600000,
	  "flush this long after the batch's first record, ms (bounds how soon a user sees their own "
	  "like or bookmark: docs/read-api.md)" },
	{ "postgres.text_kbytes", BCN_CONF_INT, "4096", O(pg_text_kbytes), 0, 64, 1048576,
	  "review text per batch, KiB, as encoded in the text[] parameter (preallocated); flush early "
	  "when the next review's does not fit" },
	{ "postgres.max_record_bytes", BCN_CONF_INT, "32768", O(pg_max_record_bytes), 0, 1024, 1048576,
	  "larger records are skipped (counted as too_large); also sizes the text decode buffer" },
	{ "postgres.connect_timeout_ms", BCN_CONF_INT, "5000", O(pg_connect_timeout_ms), 0, 1000, 600000,
	  "connect timeout, ms (libpq counts whole seconds, at least 2)" },
	{ "postgres.statement_timeout_ms", BCN_CONF_INT, "30000", O(pg_statement_timeout_ms), 0, 100,
	  3600000, "the session's statement_timeout, ms (an apply that runs longer is rolled back and retried)" },
	{ "postgres.backoff_min_ms", BCN_CONF_INT, "100", O(pg_backoff_min_ms), 0, 1, 600000,
	  "first retry delay after a failed transaction or connect, ms (doubles each time, with jitter)" },
	{ "postgres.backoff_max_ms", BCN_CONF_INT, "10000", O(pg_backoff_max_ms), 0, 1, 3600000,
	  "cap of the retry delay, ms" },
};
const size_t bcn_etl_cfg_table_len = sizeof(bcn_etl_cfg_table) / sizeof(bcn_etl_cfg_table[0]);

void bcn_etl_cfg_defaults(struct bcn_etl_cfg *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	(void)bcn_conf_defaults(bcn_etl_cfg_table, bcn_etl_cfg_table_len, c, err, sizeof(err));
}

const char *bcn_etl_stream_name(unsigned sid)
{
	static const char *const n[BCN_ETL__NSTREAMS] = { "views", "events", "actions" };
	return sid < BCN_ETL__NSTREAMS ? n[sid] : NULL;
}

int bcn_etl_endpoints(const char *list, char out[][256], int max)
{
	int n = 0;
	const char *p = list;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '/'))
			len--;
		if (!len || n >= max)
			return -1;
		int scheme = len > 7 && !strncmp(p, "http://", 7);
		if (!scheme && memchr(p, ':', len) && len > 3 && !memcmp(p, "htt", 3))
			return -1; /* https:// or a typo: we only speak plain HTTP */
		if (len + (scheme ? 0 : 7) >= 256)
			return -1;
		snprintf(out[n], 256, "%s%.*s", scheme ? "" : "http://", (int)len, p);
		n++;
		if (!e)
			break;
		p = e + 1;
	}
	return n;
}

/* A table or database name goes into the INSERT's URL as is: keep it plain. */
static int ident_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return 0;
	return 1;
}

int bcn_etl_cfg_check(const struct bcn_etl_cfg *c, char *err, size_t errlen)
{
	char eps[BCN_ETL_MAX_ENDPOINTS][256];
	int any = 0;
	if (bcn_etl_endpoints(c->endpoints, eps, BCN_ETL_MAX_ENDPOINTS) < 0) {
		snprintf(err, errlen, "clickhouse.endpoints: '%s' is not a list of 1..%d http://host:port",
			 c->endpoints, BCN_ETL_MAX_ENDPOINTS);
		return -1;
	}
	if (c->backoff_min_ms > c->backoff_max_ms) {
		snprintf(err, errlen, "retry.backoff_min_ms (%lld) exceeds retry.backoff_max_ms (%lld)",
			 (long long)c->backoff_min_ms, (long long)c->backoff_max_ms);
		return -1;
	}
	if (c->timeout_ms >= c->max_poll_interval_ms) {
		snprintf(err, errlen, "clickhouse.timeout_ms must be below kafka.max_poll_interval_ms");
		return -1;
	}
	if (!c->brokers[0] || !c->topic_dlq[0] || !c->group_prefix[0] || !c->database[0]) {
		snprintf(err, errlen, "kafka.brokers, kafka.topic_dlq, kafka.group_prefix and "
				      "clickhouse.database must not be empty");
		return -1;
	}
	const char *tables[] = { c->t_view, c->t_player, c->t_page, c->t_action,
				 c->t_like, c->t_review, c->t_bookmark, c->database };
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (!ident_ok(tables[i])) {
			snprintf(err, errlen, "tables/clickhouse.database: '%s' is not a plain identifier "
					      "[A-Za-z0-9_]+", tables[i]);
			return -1;
		}
	for (int i = 0; i < BCN_ETL__NSTREAMS; i++) {
		any |= c->s[i].enabled;
		if (c->s[i].enabled && !c->s[i].topic[0]) {
			snprintf(err, errlen, "%s.topic must not be empty", bcn_etl_stream_name(i));
			return -1;
		}
	}
	if (c->pg_enabled) {
		any = 1;
		if (c->pg_backoff_min_ms > c->pg_backoff_max_ms) {
			snprintf(err, errlen, "postgres.backoff_min_ms exceeds postgres.backoff_max_ms");
			return -1;
		}
		if (!c->pg_group[0] || !c->pg_conninfo[0]) {
			snprintf(err, errlen, "postgres.group and postgres.conninfo must not be empty");
			return -1;
		}
		if (c->pg_statement_timeout_ms + c->pg_connect_timeout_ms >= c->max_poll_interval_ms) {
			snprintf(err, errlen, "postgres.statement_timeout_ms + connect_timeout_ms must be "
					      "below kafka.max_poll_interval_ms");
			return -1;
		}
		if (c->pg_text_kbytes * 1024 < 2 * c->pg_max_record_bytes + 16) {
			snprintf(err, errlen, "postgres.text_kbytes must hold one review of "
					      "postgres.max_record_bytes escaped (2 x max_record_bytes)");
			return -1;
		}
		if (!c->s[BCN_ETL_VIEWS].topic[0] || !c->s[BCN_ETL_ACTIONS].topic[0]) {
			snprintf(err, errlen, "postgres: views.topic and actions.topic must not be empty");
			return -1;
		}
	}
	if (!any) {
		snprintf(err, errlen, "every stream is disabled: nothing to do");
		return -1;
	}
	if (strcmp(c->format, "rowbinary") && strcmp(c->format, "jsoneachrow")) {
		snprintf(err, errlen, "clickhouse.format: '%s' is not rowbinary or jsoneachrow", c->format);
		return -1;
	}
	if (strchr(c->settings, ' ') || strchr(c->settings, '#')) {
		snprintf(err, errlen, "clickhouse.settings: URL-encode it (k=v&k=v, no spaces or #)");
		return -1;
	}
	return 0;
}
