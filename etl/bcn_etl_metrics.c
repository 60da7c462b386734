/*
 * bcn_etl_metrics.c - beacon-etl's /metrics page (Prometheus text 0.0.4),
 * /healthz and /readyz, served on metrics.port (9471) by the control-plane
 * server the three binaries share (app/core/bcn_ops.h).
 *
 * Why this exists: the ETL's promises (nothing lost, nothing duplicated,
 * bounded memory, lag that recovers) must be observable from outside:
 * consumer lag per partition, rows and batches inserted per table, insert
 * latency, retries, errors by kind, DLQ counts, batch pool capacity and use,
 * jemalloc's and the kernel's view of memory.
 *
 * Runs on the main thread (bcn_etl_ctl_poll) and only reads counters
 * (relaxed atomic loads of single-writer counters, bcn_stat.h).  Every label
 * value comes from a closed list (stream, table, partition < max_partitions,
 * kind, reason), so the number of series is bounded.  The page is rendered
 * into the server's preallocated response buffer: a scrape allocates nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_etl.h"
#include "bcn_etl_ctl.h"
#include "bcn_mbuf.h"

#ifndef BCN_VERSION
#define BCN_VERSION "dev"
#endif

const double bcn_etl_lat_bounds[BCN_ETL_NLAT] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
						  0.5,   1,    2.5,   5,    10,  0 };
const char *const bcn_etl_lat_labels[BCN_ETL_NLAT] = { "0.005", "0.01", "0.025", "0.05",
						     "0.1",   "0.25", "0.5",   "1",
						     "2.5",   "5",    "10",    "+Inf" };

const char *bcn_etl_err_name(unsigned e)
{
	static const char *const n[BCN_ETL_E__COUNT] = { "ch_data",       "ch_config",
							 "ch_transient",  "ch_transport",
							 "kafka_consume", "kafka_commit", "dlq" };
	return e < BCN_ETL_E__COUNT ? n[e] : "?";
}

#define U(x) ((unsigned long long)(x))
#define FOR_STREAMS(E, V)                                                                     \
	for (struct bcn_etl_stream *V = (E)->s; V < (E)->s + BCN_ETL__NSTREAMS; V++)          \
		if (V->etl)

static void lag(struct bcn_etl *etl, struct bcn_mbuf *mb)
{
	int64_t now = bcn_etl_wall_ms();
	bcn_mb_family(mb, "beacon_etl_consumer_lag_records", "gauge",
		      "High watermark minus our committed offset, per assigned partition.");
	FOR_STREAMS(etl, s)
	for (int p = 0; p < s->nparts; p++) {
		struct bcn_etl_part *pt = &s->parts[p];
		int64_t hwm = atomic_load(&pt->hwm), c = atomic_load(&pt->committed);
		if (!atomic_load(&pt->assigned) || hwm < 0)
			continue;
		int64_t l = c >= 0 ? hwm - c : hwm;
		bcn_mb_printf(mb, "beacon_etl_consumer_lag_records{stream=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n",
			      s->name, s->cfg->topic, p, (long long)(l > 0 ? l : 0));
	}
	bcn_mb_family(mb, "beacon_etl_consumer_lag_seconds", "gauge",
		      "While a partition lags: age of its last committed record (Kafka timestamp); 0 when caught up.");
	FOR_STREAMS(etl, s)
	for (int p = 0; p < s->nparts; p++) {
		struct bcn_etl_part *pt = &s->parts[p];
		int64_t hwm = atomic_load(&pt->hwm), c = atomic_load(&pt->committed),
			ts = atomic_load(&pt->commit_ts);
		if (!atomic_load(&pt->assigned) || hwm < 0)
			continue;
		double sec = 0;
		if (hwm > c && ts > 0 && now > ts)
			sec = (double)(now - ts) / 1000.0;
		bcn_mb_printf(mb, "beacon_etl_consumer_lag_seconds{stream=\"%s\",topic=\"%s\",partition=\"%d\"} %.3f\n",
			      s->name, s->cfg->topic, p, sec);
	}
	bcn_mb_family(mb, "beacon_etl_committed_offset", "gauge",
		      "Offset committed by the ETL (next record to read), per assigned partition.");
	FOR_STREAMS(etl, s)
	for (int p = 0; p < s->nparts; p++) {
		struct bcn_etl_part *pt = &s->parts[p];
		int64_t c = atomic_load(&pt->committed);
		if (atomic_load(&pt->assigned) && c >= 0)
			bcn_mb_printf(mb, "beacon_etl_committed_offset{stream=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n",
				      s->name, s->cfg->topic, p, (long long)c);
	}
	bcn_mb_family(mb, "beacon_etl_partitions_assigned", "gauge",
		      "Partitions assigned to this ETL, per stream.");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_partitions_assigned{stream=\"%s\"} %d\n", s->name,
		      atomic_load(&s->assigned_n));
}

/* A field of table i's batch summed over the stream's slots: size 8 =
 * size_t, 4 = uint32_t, 0 = a counter. */
static uint64_t slot_sum(const struct bcn_etl_stream *s, int i, size_t off, int size)
{
	uint64_t v = 0;
	for (int k = 0; k < s->nslots; k++) {
		const char *p = (const char *)&s->slot[k].tb[i] + off;
		v += size == 8 ? *(const size_t *)p : size == 4 ? *(const uint32_t *)p
							  : BCN_GET(*(bcn_ctr *)p);
	}
	return v;
}

static void tables(struct bcn_etl *etl, struct bcn_mbuf *mb)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
		{ "beacon_etl_batches_inserted_total", "INSERTs ClickHouse accepted, per table.",
		  offsetof(struct bcn_etl_table, batches) },
		{ "beacon_etl_rows_inserted_total", "Rows ClickHouse accepted, per table.",
		  offsetof(struct bcn_etl_table, rows) },
		{ "beacon_etl_bytes_inserted_total",
		  "INSERT body bytes ClickHouse accepted (RowBinary or JSONEachRow), per table.",
		  offsetof(struct bcn_etl_table, bytes) },
		{ "beacon_etl_rows_json_total",
		  "With clickhouse.format=rowbinary: rows inserted as JSONEachRow instead (records that do "
		  "not convert exactly, or a table without a usable plan), per table.",
		  offsetof(struct bcn_etl_table, json_rows) },
		{ "beacon_etl_rows_rejected_total",
		  "Rows ClickHouse refused as bad data (sent to the DLQ), per table.",
		  offsetof(struct bcn_etl_table, rejected) },
		{ "beacon_etl_rows_sorted_total",
		  "With clickhouse.sort: RowBinary rows sent in the table's ORDER BY order (ClickHouse "
		  "then skips its own sort), per table.",
		  offsetof(struct bcn_etl_table, sorted_rows) },
	};
	for (size_t k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		bcn_mb_family(mb, ctr[k].name, "counter", ctr[k].help);
		FOR_STREAMS(etl, s)
		for (int i = 0; i < s->ntab; i++)
			bcn_mb_printf(mb, "%s{stream=\"%s\",table=\"%s\"} %llu\n", ctr[k].name, s->name,
				      s->t[i].name,
				      U(BCN_GET(*(bcn_ctr *)((char *)&s->t[i] + ctr[k].off))));
	}
	bcn_mb_family(mb, "beacon_etl_table_rowbinary", "gauge",
		      "1 while the table is inserted as RowBinary (its DESCRIBE gave a usable plan), else 0.");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++)
		bcn_mb_printf(mb, "beacon_etl_table_rowbinary{stream=\"%s\",table=\"%s\"} %d\n", s->name,
			      s->t[i].name, atomic_load(&s->t[i].rowbinary));
	bcn_mb_family(mb, "beacon_etl_table_sorted", "gauge",
		      "1 while the table's RowBinary rows are sent in its ORDER BY order (clickhouse.sort "
		      "and a key the ETL can compute: see its log), else 0.");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++)
		bcn_mb_printf(mb, "beacon_etl_table_sorted{stream=\"%s\",table=\"%s\"} %d\n", s->name,
			      s->t[i].name, atomic_load(&s->t[i].sorted));
	bcn_mb_family(mb, "beacon_etl_sort_buffer_bytes", "gauge",
		      "Preallocated sort buffers of the stream's inserters (clickhouse.sort; fixed at "
		      "start-up).");
	FOR_STREAMS(etl, s) {
		uint64_t v = 0;
		for (int k = 0; s->ins && k < s->nins; k++)
			v += s->ins[k].srtcap + s->ins[k].sb.bytes +
			     (s->ins[k].prow2 ? (2 * (uint64_t)s->ins[k].sb.max + 1) * sizeof(uint32_t) : 0);
		bcn_mb_printf(mb, "beacon_etl_sort_buffer_bytes{stream=\"%s\"} %llu\n", s->name, U(v));
	}
	bcn_mb_family(mb, "beacon_etl_insert_duration_seconds", "histogram",
		      "Wall time of successful INSERTs (request sent to answer read), per table.");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++) {
		const struct bcn_etl_table *t = &s->t[i];
		uint64_t cum[BCN_ETL_NLAT];
		char labels[96];
		for (int b = 0; b < BCN_ETL_NLAT; b++)
			cum[b] = BCN_GET(t->lat_le[b]);
		snprintf(labels, sizeof(labels), "stream=\"%s\",table=\"%s\"", s->name, t->name);
		bcn_mb_histogram(mb, "beacon_etl_insert_duration_seconds", labels, bcn_etl_lat_labels, cum,
				 BCN_ETL_NLAT, (double)BCN_GET(t->lat_sum_us) / 1e6);
	}
	bcn_mb_family(mb, "beacon_etl_pool_capacity_bytes", "gauge",
		      "Preallocated batch buffers per table, all slots (fixed at start-up).");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++)
		bcn_mb_printf(mb, "beacon_etl_pool_capacity_bytes{stream=\"%s\",table=\"%s\"} %llu\n",
			      s->name, s->t[i].name, U(slot_sum(s, i, offsetof(struct bcn_etl_tbatch, cap), 8)));
	bcn_mb_family(mb, "beacon_etl_pool_in_use_bytes", "gauge",
		      "Bytes of batches (filling and in flight) in each table's buffers.");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++)
		bcn_mb_printf(mb, "beacon_etl_pool_in_use_bytes{stream=\"%s\",table=\"%s\"} %llu\n",
			      s->name, s->t[i].name, U(slot_sum(s, i, offsetof(struct bcn_etl_tbatch, in_use), 0)));
	bcn_mb_family(mb, "beacon_etl_pool_capacity_rows", "gauge",
		      "Preallocated row slots per table, all slots (fixed at start-up).");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++)
		bcn_mb_printf(mb, "beacon_etl_pool_capacity_rows{stream=\"%s\",table=\"%s\"} %llu\n",
			      s->name, s->t[i].name, U(slot_sum(s, i, offsetof(struct bcn_etl_tbatch, max), 4)));
	bcn_mb_family(mb, "beacon_etl_pool_in_use_rows", "gauge", "Rows of batches (filling and in flight) per table.");
	FOR_STREAMS(etl, s)
	for (int i = 0; i < s->ntab; i++)
		bcn_mb_printf(mb, "beacon_etl_pool_in_use_rows{stream=\"%s\",table=\"%s\"} %llu\n",
			      s->name, s->t[i].name, U(slot_sum(s, i, offsetof(struct bcn_etl_tbatch, nrows), 0)));
}

static void streams(struct bcn_etl *etl, struct bcn_mbuf *mb)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
		{ "beacon_etl_records_consumed_total", "Records taken from Kafka, per stream.",
		  offsetof(struct bcn_etl_stream, consumed) },
		{ "beacon_etl_consumed_bytes_total", "Record bytes taken from Kafka, per stream.",
		  offsetof(struct bcn_etl_stream, consumed_bytes) },
		{ "beacon_etl_flushes_total", "Batch flushes started, per stream.",
		  offsetof(struct bcn_etl_stream, flushes) },
		{ "beacon_etl_commits_total", "Offset commits that succeeded, per stream.",
		  offsetof(struct bcn_etl_stream, commits) },
		{ "beacon_etl_retries_total",
		  "Retries of an INSERT after a failure (same bytes, after a backoff), per stream.",
		  offsetof(struct bcn_etl_stream, retries) },
	};
	for (size_t k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		bcn_mb_family(mb, ctr[k].name, "counter", ctr[k].help);
		FOR_STREAMS(etl, s)
		bcn_mb_printf(mb, "%s{stream=\"%s\"} %llu\n", ctr[k].name, s->name,
			      U(BCN_GET(*(bcn_ctr *)((char *)s + ctr[k].off))));
	}
	bcn_mb_family(mb, "beacon_etl_errors_total", "counter",
		      "Failures by kind: ch_data (bad rows, bisected), ch_config, ch_transient, "
		      "ch_transport (each retried), kafka_consume, kafka_commit, dlq.");
	FOR_STREAMS(etl, s)
	for (unsigned e = 0; e < BCN_ETL_E__COUNT; e++)
		bcn_mb_printf(mb, "beacon_etl_errors_total{stream=\"%s\",kind=\"%s\"} %llu\n", s->name,
			      bcn_etl_err_name(e), U(BCN_GET(s->errors[e])));
	bcn_mb_family(mb, "beacon_etl_dlq_records_total", "counter",
		      "Records sent to the dead-letter topic, by reason.");
	FOR_STREAMS(etl, s)
	for (unsigned r = 1; r < BCN_ETL_R__COUNT; r++)
		bcn_mb_printf(mb, "beacon_etl_dlq_records_total{stream=\"%s\",reason=\"%s\"} %llu\n",
			      s->name, bcn_etl_reason_name(r), U(BCN_GET(s->dlq_n[r])));
	bcn_mb_family(mb, "beacon_etl_dlq_queue_messages", "gauge",
		      "DLQ records handed to the producer and not yet acknowledged.");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_dlq_queue_messages{stream=\"%s\"} %llu\n", s->name,
		      U(BCN_GET(s->dlq_outq)));
	bcn_mb_family(mb, "beacon_etl_batches_dropped_total", "counter",
		      "Batches given up uncommitted (they are read again), by cause.");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_batches_dropped_total{stream=\"%s\",cause=\"revoke\"} %llu\n"
			  "beacon_etl_batches_dropped_total{stream=\"%s\",cause=\"shutdown\"} %llu\n"
			  "beacon_etl_batches_dropped_total{stream=\"%s\",cause=\"other\"} %llu\n",
		      s->name, U(BCN_GET(s->dropped_revoke)), s->name, U(BCN_GET(s->dropped_shutdown)),
		      s->name, U(BCN_GET(s->dropped_other)));
	bcn_mb_family(mb, "beacon_etl_rebalances_total", "counter",
		      "Consumer group rebalance callbacks, by kind (assign, revoke).");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_rebalances_total{stream=\"%s\",kind=\"assign\"} %llu\n"
			  "beacon_etl_rebalances_total{stream=\"%s\",kind=\"revoke\"} %llu\n",
		      s->name, U(BCN_GET(s->assigns)), s->name, U(BCN_GET(s->revokes)));
	bcn_mb_family(mb, "beacon_etl_fetch_kicks_total", "counter",
		      "Times the stream restarted librdkafka's fetchers after its prefetch queue had "
		      "filled and drained (librdkafka < 2.3 would wait up to 1 s).");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_fetch_kicks_total{stream=\"%s\"} %llu\n", s->name,
		      U(BCN_GET(s->fetch_kicks)));
	bcn_mb_family(mb, "beacon_etl_paused", "gauge",
		      "1 while the stream's partitions are paused because a flush is retrying.");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_paused{stream=\"%s\"} %d\n", s->name, atomic_load(&s->failing) > 0);
	bcn_mb_family(mb, "beacon_etl_clickhouse_endpoint", "gauge",
		      "Index (in clickhouse.endpoints) of the endpoint each stream uses now.");
	FOR_STREAMS(etl, s)
	bcn_mb_printf(mb, "beacon_etl_clickhouse_endpoint{stream=\"%s\"} %d\n", s->name,
		      s->ch ? bcn_ch_endpoint(s->ch) : 0);
}

void bcn_etl_metrics(struct bcn_etl *etl, struct bcn_mbuf *mb)
{
	bcn_mb_family(mb, "beacon_etl_build_info", "gauge", "Version of this beacon-etl.");
	bcn_mb_printf(mb, "beacon_etl_build_info{version=\"%s\",format=\"JSONEachRow\"} 1\n", BCN_VERSION);
	bcn_mb_family(mb, "beacon_etl_start_time_seconds", "gauge", "Unix time the process started.");
	bcn_mb_printf(mb, "beacon_etl_start_time_seconds %.3f\n", (double)etl->started_ms / 1000.0);
	char why[160];
	bcn_mb_family(mb, "beacon_etl_ready", "gauge", "1 when /readyz answers 200.");
	bcn_mb_printf(mb, "beacon_etl_ready %d\n", bcn_etl_ready(etl, why, sizeof(why)));
	lag(etl, mb);
	streams(etl, mb);
	tables(etl, mb);
	if (etl->pg)
		bcn_etl_pg_metrics(etl->pg, mb);
	bcn_mb_process_memory(mb, "beacon_etl");
}

int bcn_etl_ready(struct bcn_etl *etl, char *why, size_t whylen)
{
	if (atomic_load(&etl->stop)) {
		snprintf(why, whylen, "shutting down");
		return 0;
	}
	FOR_STREAMS(etl, s)
	{
		if (!atomic_load(&s->running)) {
			snprintf(why, whylen, "stream %s: thread stopped", s->name);
			return 0;
		}
		if (atomic_load(&s->failing)) {
			snprintf(why, whylen, "stream %s: inserts failing, consumption paused", s->name);
			return 0;
		}
	}
	if (etl->pg && !bcn_etl_pg_ready(etl->pg, why, whylen))
		return 0;
	snprintf(why, whylen, "ok");
	return 1;
}

/* ---- the HTTP side ------------------------------------------------------- */

/* The control plane's callbacks (bcn_ops.h): main thread, inside
 * bcn_etl_ctl_poll, once per request. */
static void ops_metrics(void *ctx, struct bcn_mbuf *mb)
{
	bcn_etl_metrics(ctx, mb);
}

static int ops_healthy(void *ctx, char *why, size_t whylen)
{
	struct bcn_etl *etl = ctx;
	FOR_STREAMS(etl, s)
	if (!atomic_load(&s->running) && !atomic_load(&etl->stop)) {
		snprintf(why, whylen, "a stream thread has stopped");
		return 0;
	}
	if (etl->pg && !bcn_etl_pg_running(etl->pg) && !atomic_load(&etl->stop)) {
		snprintf(why, whylen, "the postgres sink thread has stopped");
		return 0;
	}
	return 1;
}

static int ops_ready(void *ctx, char *why, size_t whylen)
{
	return bcn_etl_ready(ctx, why, whylen);
}

struct bcn_ops *bcn_etl_ctl_new(struct bcn_etl *etl, char *err, size_t errlen)
{
	const struct bcn_ops_cb cb = { etl, ops_metrics, ops_healthy, ops_ready };
	return bcn_ops_new("beacon-etl", etl->cfg.metrics_addr, etl->cfg.metrics_port, 0, &cb, err, errlen);
}
