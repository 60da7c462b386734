/*
 * bcn_expo.c - beacond's /metrics page and /readyz verdict.  See bcn_app.h.
 *
 * Runs on the control thread and only reads counters (relaxed atomic loads
 * of single-writer counters, see bcn_stat.h), so a scrape never slows the
 * fast path.  Every label value comes from a closed list (worker number,
 * type, reason, topic), so the series count is bounded.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bcn_app.h"
#include "bcn_mbuf.h"

#ifndef BCN_VERSION
#define BCN_VERSION "dev"
#endif

static const char *const topic_label[BCN_TOPIC__COUNT] = { "views", "events", "actions" };

static void workers(struct bcn_app *app, struct bcn_mbuf *mb)
{
	bcn_mb_family(mb, "beacond_beacons_received_total", "counter",
		      "Beacons seen by a worker, by source (udp, http).");
	for (unsigned i = 0; i < app->nworkers; i++)
		for (unsigned s = 0; s < BCN_SRC__COUNT; s++)
			bcn_mb_printf(mb, "beacond_beacons_received_total{worker=\"%u\",source=\"%s\"} %llu\n",
				      i, bcn_source_name(s),
				      (unsigned long long)BCN_GET(app->w[i].st.rx[s]));
	bcn_mb_family(mb, "beacond_beacons_accepted_total", "counter",
		      "Beacons validated and written to the worker's ring, by source and type.");
	for (unsigned i = 0; i < app->nworkers; i++)
		for (unsigned s = 0; s < BCN_SRC__COUNT; s++)
			for (unsigned t = 1; t < BCN_T__COUNT; t++)
				bcn_mb_printf(mb,
					      "beacond_beacons_accepted_total{worker=\"%u\",source=\"%s\",type=\"%s\"} %llu\n",
					      i, bcn_source_name(s), bcn_type_name(t),
					      (unsigned long long)BCN_GET(app->w[i].st.accepted[s][t]));
	bcn_mb_family(mb, "beacond_beacons_rejected_total", "counter",
		      "Beacons refused by the contract, by source and reason (docs/beacon-protocol.md).");
	for (unsigned i = 0; i < app->nworkers; i++)
		for (unsigned s = 0; s < BCN_SRC__COUNT; s++)
			for (unsigned r = 1; r < BCN_R__COUNT; r++)
				bcn_mb_printf(mb,
					      "beacond_beacons_rejected_total{worker=\"%u\",source=\"%s\",reason=\"%s\"} %llu\n",
					      i, bcn_source_name(s), bcn_reason_name(r),
					      (unsigned long long)BCN_GET(app->w[i].st.rejected[s][r]));
	bcn_mb_family(mb, "beacond_beacons_dropped_total", "counter",
		      "Beacons not taken for lack of room (ring_full: UDP while Kafka lags; "
		      "http_busy: in requests answered 503).");
	for (unsigned i = 0; i < app->nworkers; i++)
		for (unsigned d = 0; d < BCN_D__COUNT; d++)
			bcn_mb_printf(mb, "beacond_beacons_dropped_total{worker=\"%u\",reason=\"%s\"} %llu\n",
				      i, bcn_drop_name(d),
				      (unsigned long long)BCN_GET(app->w[i].st.dropped[d]));
	bcn_mb_family(mb, "beacond_ring_used_bytes", "gauge", "Bytes in the worker's ring now.");
	for (unsigned i = 0; i < app->nworkers; i++)
		bcn_mb_printf(mb, "beacond_ring_used_bytes{worker=\"%u\"} %llu\n", i,
			      (unsigned long long)bcn_ring_used(&app->w[i].ring));
	bcn_mb_family(mb, "beacond_ring_size_bytes", "gauge", "Capacity of the worker's ring.");
	for (unsigned i = 0; i < app->nworkers; i++)
		bcn_mb_printf(mb, "beacond_ring_size_bytes{worker=\"%u\"} %llu\n", i,
			      (unsigned long long)app->w[i].ring.size);
	bcn_mb_family(mb, "beacond_ring_high_water_bytes", "gauge",
		      "Highest ring occupancy the slow path has seen since start.");
	for (unsigned i = 0; i < app->nworkers; i++)
		bcn_mb_printf(mb, "beacond_ring_high_water_bytes{worker=\"%u\"} %llu\n", i,
			      (unsigned long long)__atomic_load_n(&app->w[i].ring.hwm, __ATOMIC_RELAXED));
	bcn_mb_family(mb, "beacond_worker_polls_total", "counter", "Driver poll calls per worker.");
	for (unsigned i = 0; i < app->nworkers; i++)
		bcn_mb_printf(mb, "beacond_worker_polls_total{worker=\"%u\"} %llu\n", i,
			      (unsigned long long)BCN_GET(app->w[i].st.loops));
}

static void kafka(struct bcn_app *app, struct bcn_mbuf *mb)
{
	bcn_mb_family(mb, "beacond_kafka_produced_total", "counter",
		      "Records handed to the Kafka producer, by topic.");
	for (unsigned t = 0; t < BCN_TOPIC__COUNT; t++) {
		uint64_t v = 0;
		for (unsigned i = 0; i < app->nslow; i++)
			v += BCN_GET(bcn_kafka_stats(app->slow[i].k)->t[t].produced);
		bcn_mb_printf(mb, "beacond_kafka_produced_total{topic=\"%s\"} %llu\n", topic_label[t],
			      (unsigned long long)v);
	}
	bcn_mb_family(mb, "beacond_kafka_produced_bytes_total", "counter",
		      "Bytes of record JSON handed to the Kafka producer, by topic.");
	for (unsigned t = 0; t < BCN_TOPIC__COUNT; t++) {
		uint64_t v = 0;
		for (unsigned i = 0; i < app->nslow; i++)
			v += BCN_GET(bcn_kafka_stats(app->slow[i].k)->t[t].bytes);
		bcn_mb_printf(mb, "beacond_kafka_produced_bytes_total{topic=\"%s\"} %llu\n",
			      topic_label[t], (unsigned long long)v);
	}
	bcn_mb_family(mb, "beacond_kafka_delivered_total", "counter",
		      "Delivery reports by topic and status: persisted (acked), possibly_persisted "
		      "or not_persisted (failed).");
	for (unsigned t = 0; t < BCN_TOPIC__COUNT; t++) {
		uint64_t p = 0, pp = 0, np = 0;
		for (unsigned i = 0; i < app->nslow; i++) {
			const struct bcn_kafka_stats *ks = bcn_kafka_stats(app->slow[i].k);
			p += BCN_GET(ks->t[t].persisted);
			pp += BCN_GET(ks->t[t].possibly);
			np += BCN_GET(ks->t[t].not_persisted);
		}
		bcn_mb_printf(mb,
			      "beacond_kafka_delivered_total{topic=\"%s\",status=\"persisted\"} %llu\n"
			      "beacond_kafka_delivered_total{topic=\"%s\",status=\"possibly_persisted\"} %llu\n"
			      "beacond_kafka_delivered_total{topic=\"%s\",status=\"not_persisted\"} %llu\n",
			      topic_label[t], (unsigned long long)p, topic_label[t],
			      (unsigned long long)pp, topic_label[t], (unsigned long long)np);
	}
	bcn_mb_family(mb, "beacond_kafka_queue_messages", "gauge",
		      "Messages in the producer's queue or in flight (librdkafka outq).");
	for (unsigned i = 0; i < app->nslow; i++)
		bcn_mb_printf(mb, "beacond_kafka_queue_messages{producer=\"%u\"} %llu\n", i,
			      (unsigned long long)BCN_GET(bcn_kafka_stats(app->slow[i].k)->outq));
	bcn_mb_family(mb, "beacond_kafka_queue_full_total", "counter",
		      "Times the producer's bounded queue refused a record (back-pressure).");
	for (unsigned i = 0; i < app->nslow; i++)
		bcn_mb_printf(mb, "beacond_kafka_queue_full_total{producer=\"%u\"} %llu\n", i,
			      (unsigned long long)BCN_GET(bcn_kafka_stats(app->slow[i].k)->busy));
	bcn_mb_family(mb, "beacond_kafka_errors_total", "counter",
		      "Client-level Kafka errors (brokers down, timeouts...).");
	for (unsigned i = 0; i < app->nslow; i++)
		bcn_mb_printf(mb, "beacond_kafka_errors_total{producer=\"%u\"} %llu\n", i,
			      (unsigned long long)BCN_GET(bcn_kafka_stats(app->slow[i].k)->errors));
	bcn_mb_family(mb, "beacond_kafka_up", "gauge",
		      "1 if the last metadata probe reached a broker.");
	bcn_mb_printf(mb, "beacond_kafka_up %d\n", atomic_load(&app->kafka_up));
	bcn_mb_family(mb, "beacond_slow_path_records_total", "counter",
		      "Records the slow-path thread took from rings.");
	for (unsigned i = 0; i < app->nslow; i++)
		bcn_mb_printf(mb, "beacond_slow_path_records_total{thread=\"%u\"} %llu\n", i,
			      (unsigned long long)BCN_GET(app->slow[i].drained));
}

void bcn_app_metrics(struct bcn_app *app, struct bcn_mbuf *mb)
{
	bcn_mb_family(mb, "beacond_build_info", "gauge", "Version, driver and node of this beacond.");
	bcn_mb_printf(mb, "beacond_build_info{version=\"%s\",driver=\"%s\",node=\"%s\"} 1\n",
		      BCN_VERSION, app->drv->name, app->cfg.node_name);
	bcn_mb_family(mb, "beacond_start_time_seconds", "gauge", "Unix time the process started.");
	bcn_mb_printf(mb, "beacond_start_time_seconds %.3f\n", (double)app->started_ms / 1000.0);
	bcn_mb_family(mb, "beacond_ready", "gauge", "1 when /readyz answers 200.");
	char why[128];
	bcn_mb_printf(mb, "beacond_ready %d\n", bcn_app_ready(app, why, sizeof(why)));
	bcn_mb_family(mb, "beacond_config_reloads_total", "counter", "SIGHUP reloads, by result.");
	bcn_mb_printf(mb, "beacond_config_reloads_total{result=\"ok\"} %llu\n"
			  "beacond_config_reloads_total{result=\"error\"} %llu\n",
		      (unsigned long long)BCN_GET(app->reloads),
		      (unsigned long long)BCN_GET(app->reload_errors));
	workers(app, mb);
	kafka(app, mb);
	app->drv->metrics(app, mb);
	bcn_mb_process_memory(mb, "beacond");
}

int bcn_app_ready(struct bcn_app *app, char *why, size_t whylen)
{
	if (atomic_load(&app->stopping)) {
		snprintf(why, whylen, "shutting down");
		return 0;
	}
	if (!atomic_load(&app->kafka_up)) {
		snprintf(why, whylen, "kafka unreachable");
		return 0;
	}
	for (unsigned i = 0; i < app->nworkers; i++)
		if (bcn_worker_ring_high(&app->w[i])) {
			snprintf(why, whylen, "worker %u ring above %lld%%", i,
				 (long long)app->cfg.ring_hwm_pct);
			return 0;
		}
	snprintf(why, whylen, "ok");
	return 1;
}
