#!/usr/bin/env python3
"""Writes monitoring/grafana/beacond-overview.json, the Grafana dashboard (schemaVersion 38,
Grafana 9.4+; the data source is a variable, so the file imports as it is).

  python3 monitoring/grafana/dashboard.py > monitoring/grafana/beacond-overview.json

The JSON is committed; tests/integration/test_monitoring_rules.sh fails when it differs
from what this script prints, and checks every expression with promtool.  Panels read the
recording rules of monitoring/rules/*.rules.yml, so the dashboard, the console
(monitoring/consoles/beacond-overview.html) and the alerts agree on every number.
"""
import json

DS = {"type": "prometheus", "uid": "${datasource}"}
BD = 'instance=~"$instance"'
ETL = 'instance=~"$etl_instance"'
API = 'instance=~"$api_instance"'

panels = []
_id = [0]
_y = [0]


def nid():
    _id[0] += 1
    return _id[0]


def row(title):
    panels.append({"type": "row", "title": title, "id": nid(), "collapsed": False, "panels": [],
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": _y[0]}})
    _y[0] += 1


_x = [0]


def place(w, h):
    if _x[0] + w > 24:
        _x[0] = 0
        _y[0] += h
    pos = {"h": h, "w": w, "x": _x[0], "y": _y[0]}
    _x[0] += w
    if _x[0] >= 24:
        _x[0] = 0
        _y[0] += h
    return pos


def end_row():
    if _x[0]:
        _x[0] = 0
        _y[0] += 8


def targets(tlist):
    out = []
    for i, (expr, legend) in enumerate(tlist):
        out.append({"datasource": DS, "expr": expr, "legendFormat": legend, "range": True,
                    "refId": chr(ord("A") + i)})
    return out


def thresholds(steps):
    s = [{"color": "green", "value": None}]
    for v, c in steps:
        s.append({"color": c, "value": v})
    return {"mode": "absolute", "steps": s}


def ts(title, desc, tlist, unit="short", stack=False, w=12, h=8, steps=(), maxv=None):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 25 if stack else 8,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"},
              "thresholdsStyle": {"mode": "line" if steps else "off"}}
    defaults = {"unit": unit, "min": 0, "custom": custom, "thresholds": thresholds(steps),
                "color": {"mode": "palette-classic"}}
    if maxv is not None:
        defaults["max"] = maxv
    panels.append({
        "type": "timeseries", "title": title, "description": desc, "id": nid(), "datasource": DS,
        "gridPos": place(w, h),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                               "calcs": ["mean", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": targets(tlist),
    })


def stat(title, desc, tlist, unit="short", steps=(), w=4):
    panels.append({
        "type": "stat", "title": title, "description": desc, "id": nid(), "datasource": DS,
        "gridPos": place(w, 4),
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": thresholds(steps),
                                     "color": {"mode": "thresholds"}, "decimals": 2}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "area", "justifyMode": "auto",
                    "orientation": "auto", "textMode": "value_and_name"},
        "targets": targets(tlist),
    })


# ---------------------------------------------------------------- the page
row("Overview")
stat("Accepted beacons/s", "Beacons validated and written to the rings, all selected appliances.",
     [("sum(instance_source_type:beacond_beacons_accepted:rate1m{%s})" % BD, "accepted/s")], "short")
stat("Reject ratio (5m)", "Rejected by the contract / offered. Alert BeacondRejectRatioSpike: over 5% and 3x the day's average, or over 25%.",
     [("sum(instance:beacond_beacons_rejected:rate5m{%s}) / sum(instance:beacond_beacons_offered:rate5m{%s})" % (BD, BD), "rejected")],
     "percentunit", [(0.05, "orange"), (0.25, "red")])
stat("Drop ratio (5m)", "Dropped for lack of ring room / offered. Alert BeacondDropRatioHigh above 1%.",
     [("sum(instance:beacond_beacons_dropped:rate5m{%s}) / sum(instance:beacond_beacons_offered:rate5m{%s})" % (BD, BD), "dropped")],
     "percentunit", [(0.001, "orange"), (0.01, "red")])
stat("beacond up / ready", "Scraped targets up, and how many answer /readyz 200.",
     [('sum(up{job="beacond",%s})' % BD, "up"), ("sum(beacond_ready{%s})" % BD, "ready")], "short")
stat("ETL lag (oldest stream)", "How far ClickHouse is behind Kafka. Alerts: BeaconEtlLagGrowing (over 60 s and rising), BeaconEtlLagHigh (over 15 min).",
     [("max(stream:beacon_etl_lag_seconds:max)", "lag")], "s", [(60, "orange"), (900, "red")])
stat("Alerts firing", "Alerts of monitoring/rules firing now (docs/runbook.md).",
     [('count(ALERTS{alertstate="firing"}) or vector(0)', "firing")], "short", [(1, "red")])
end_row()

row("Ingest")
ts("Accepted beacons/s by type", "instance_source_type:beacond_beacons_accepted:rate1m summed by type.",
   [("sum by (type) (instance_source_type:beacond_beacons_accepted:rate1m{%s})" % BD, "{{type}}")], "short", stack=True)
ts("Accepted beacons/s by source", "UDP and HTTP.",
   [("sum by (source) (instance_source_type:beacond_beacons_accepted:rate1m{%s})" % BD, "{{source}}")], "short", stack=True)
ts("Accept, reject and drop ratios by appliance", "Outcomes of every offered beacon over 5 minutes; they add up to 1.",
   [("instance:beacond_beacons_accepted:ratio_rate5m{%s}" % BD, "accepted {{instance}}"),
    ("instance:beacond_beacons_rejected:ratio_rate5m{%s}" % BD, "rejected {{instance}}"),
    ("instance:beacond_beacons_dropped:ratio_rate5m{%s}" % BD, "dropped {{instance}}")],
   "percentunit", steps=[(0.01, "red")], maxv=1)
ts("Beacons/s received by appliance and source", "What each worker saw (HTTP 503'd requests excluded).",
   [("instance_source:beacond_beacons_received:rate1m{%s}" % BD, "{{instance}} {{source}}")], "short")
end_row()

row("Rejects and drops")
ts("Rejected beacons/s by reason", "The closed list of docs/beacon-protocol.md section 7.",
   [("sum by (source, reason) (instance_source_reason:beacond_beacons_rejected:rate1m{%s}) > 0" % BD, "{{source}} {{reason}}")], "short", stack=True)
ts("Dropped beacons/s by reason", "ring_full: UDP lost while Kafka lags; http_busy: beacons in requests answered 503 (clients retry); kernel socket overflow and NIC drops (DPDK: imissed, no mbuf) are never seen by beacond's own counters.",
   [("sum by (reason) (instance_reason:beacond_beacons_dropped:rate1m{%s})" % BD, "{{reason}}"),
    ("sum(instance:beacond_udp_socket_overflow:rate5m{%s})" % BD, "kernel socket overflow"),
    ("sum(instance:beacond_dpdk_nic_drops:rate5m{%s})" % BD, "NIC drops (DPDK)")], "short")
ts("HTTP answers/s by code", "The beacon API's status codes (docs/beacond.md).",
   [("sum by (code) (instance_code:beacond_http_responses:rate1m{%s}) > 0" % BD, "{{code}}")], "short", stack=True)
end_row()

row("Kafka")
ts("Records produced/s by topic", "Handed to librdkafka: views (view, player), events (page, action), actions (like, review, bookmark).",
   [("sum by (topic) (instance_topic:beacond_kafka_produced:rate1m{%s})" % BD, "{{topic}}")], "short", stack=True)
ts("Delivery reports/s by status", "persisted = acked by Kafka; anything else fires BeacondKafkaDeliveryFailures.",
   [("sum by (status) (instance_topic_status:beacond_kafka_delivered:rate1m{%s})" % BD, "{{status}}")], "short")
ts("Producer queue", "Messages in librdkafka's queue or in flight, times the bounded queue refused a record (back-pressure), client errors, Kafka reachability.",
   [("sum by (instance) (beacond_kafka_queue_messages{%s})" % BD, "queued {{instance}}"),
    ("sum by (instance) (rate(beacond_kafka_queue_full_total{%s}[$__rate_interval]))" % BD, "queue full/s {{instance}}"),
    ("instance:beacond_kafka_errors:rate5m{%s}" % BD, "errors/s {{instance}}"),
    ("beacond_kafka_up{%s}" % BD, "Kafka up {{instance}}")], "short")
ts("DPDK worker busy share", "Time each DPDK worker lcore spent on polls that received frames (it busy-polls at 100% CPU either way). BeacondDpdkWorkerSaturated above 90% for 15 minutes.",
   [("instance_worker:beacond_dpdk_worker_busy:ratio_rate5m{%s}" % BD, "{{instance}} worker {{worker}}")],
   "percentunit", steps=[(0.9, "orange")], maxv=1)
ts("Ring fill by worker", "Used / size of each worker's ring. BeacondRingNearFull above 50%; /readyz fails above 80% (ring.high_water_pct).",
   [("instance_worker:beacond_ring_fill:ratio{%s}" % BD, "{{instance}} worker {{worker}}")],
   "percentunit", steps=[(0.5, "orange"), (0.8, "red")], maxv=1)
end_row()

row("ETL and ClickHouse")
ts("ETL lag by stream, records", "Kafka high watermark minus committed offset, summed over partitions and ETL instances.",
   [("stream:beacon_etl_lag_records:sum", "{{stream}}")], "short")
ts("ETL lag by stream, seconds", "Age of the last committed record while a partition lags; 0 when caught up.",
   [("stream:beacon_etl_lag_seconds:max", "{{stream}}")], "s", steps=[(60, "orange"), (900, "red")])
ts("Rows inserted into ClickHouse/s by table", "Rows ClickHouse accepted.",
   [("sum by (table) (instance_table:beacon_etl_rows_inserted:rate1m{%s})" % ETL, "{{table}}")], "short", stack=True)
ts("INSERT latency by table", "Successful INSERTs, request sent to answer read.",
   [("max by (table) (instance_table:beacon_etl_insert_duration_seconds:p50_rate5m{%s})" % ETL, "p50 {{table}}"),
    ("max by (table) (instance_table:beacon_etl_insert_duration_seconds:p99_rate5m{%s})" % ETL, "p99 {{table}}")], "s")
ts("ETL errors, retries and dead letters/s", "Errors by kind (ch_* are ClickHouse's: BeaconEtlClickHouseInsertErrors), INSERT retries, records sent to ugc.dlq by reason.",
   [("sum by (kind) (instance_kind:beacon_etl_errors:rate5m{%s}) > 0" % ETL, "error {{kind}}"),
    ("sum(instance:beacon_etl_retries:rate5m{%s})" % ETL, "retries"),
    ("sum by (reason) (instance_reason:beacon_etl_dlq_records:rate5m{%s}) > 0" % ETL, "dlq {{reason}}")], "short")
ts("Records consumed/s by stream", "Taken from Kafka.",
   [("sum by (stream) (instance_stream:beacon_etl_records_consumed:rate1m{%s})" % ETL, "{{stream}}")], "short", stack=True)
end_row()

row("PostgreSQL sink (beacon-etl)")
ts("Records applied to PostgreSQL/s by kind", "Records in committed transactions of the sink (registered users' likes, bookmarks, reviews, view heartbeats, finishes).",
   [("sum by (kind) (instance_kind:beacon_etl_pg_records_applied:rate1m{%s})" % ETL, "{{kind}}")], "short", stack=True)
ts("PostgreSQL sink lag, seconds", "Age of the sink's last committed record while a partition lags; 0 when caught up. Alerts: BeaconEtlPgLagGrowing (over 60 s and rising), BeaconEtlPgLagHigh (over 5 min).",
   [("job:beacon_etl_pg_lag_seconds:max", "{{job}}")], "s", steps=[(60, "orange"), (300, "red")])
ts("PostgreSQL sink lag, records", "Kafka high watermark minus the sink's committed offset, summed over partitions and ETL instances.",
   [("job:beacon_etl_pg_lag_records:sum", "{{job}}")], "short")
ts("PostgreSQL transactions/s", "Transactions by result (failed ones are retried: BeaconEtlPgErrors), retries, batches dropped uncommitted (BeaconEtlPgBatchesDropped), sink up and paused (BeaconEtlPgSinkFailing).",
   [("sum by (result) (instance_result:beacon_etl_pg_transactions:rate1m{%s})" % ETL, "{{result}}"),
    ("sum(instance:beacon_etl_pg_retries:rate5m{%s})" % ETL, "retries"),
    ("sum(instance:beacon_etl_pg_batches_dropped:rate5m{%s})" % ETL, "batches dropped"),
    ("beacon_etl_pg_up{%s}" % ETL, "up {{instance}}"),
    ("beacon_etl_pg_paused{%s}" % ETL, "paused {{instance}}")], "short")
ts("PostgreSQL transaction time", "Successful transactions, BEGIN to COMMIT (histogram quantiles over 5 minutes).",
   [("max(instance:beacon_etl_pg_flush_duration_seconds:p50_rate5m{%s})" % ETL, "p50"),
    ("max(instance:beacon_etl_pg_flush_duration_seconds:p99_rate5m{%s})" % ETL, "p99")], "s")
ts("Records skipped by the sink/s by reason", "anonymous, player_event and other_type are normal traffic; any other reason is malformed (BeaconEtlPgMalformedRecords).",
   [("sum by (reason) (instance_reason:beacon_etl_pg_records_skipped:rate5m{%s}) > 0" % ETL, "{{reason}}")], "short", stack=True)
end_row()

row("Read API (beacon-api)")
ts("Read API requests/s by endpoint", "Requests answered by beacon-api's handler (other: no such route).",
   [("sum by (endpoint) (instance_endpoint_status:beacon_api_requests:rate1m{%s})" % API, "{{endpoint}}")], "short", stack=True)
ts("Read API p99 latency by endpoint", "Handler time (auth, cache, pool wait, query, JSON), 99th percentile over 5 minutes. Objective 20 ms: BeaconApiLatencyHigh on all reads together.",
   [("max by (endpoint) (instance_endpoint:beacon_api_request_duration_seconds:p99_rate5m{%s})" % API, "{{endpoint}}"),
    ("max(instance:beacon_api_request_duration_seconds:p99_rate5m{%s})" % API, "all reads")],
   "s", steps=[(0.02, "red")])
ts("Read API errors/s by kind", "Requests not answered 200 (store_* and pool_timeout are 503s, internal is 500).",
   [("sum by (kind) (instance_kind:beacon_api_errors:rate5m{%s}) > 0" % API, "{{kind}}")], "short", stack=True)
ts("Read API 5xx ratio", "5xx / requests over 5 minutes. BeaconApiErrorRatioHigh above 1%.",
   [("instance:beacon_api_requests_5xx:ratio_rate5m{%s}" % API, "{{instance}}")],
   "percentunit", steps=[(0.01, "red")])
ts("PostgreSQL pool", "Connections held / pg.pool_size, share of requests that waited for one (BeaconApiPoolSaturated above 5%), 503s for lack of one (timeouts, unavailable: BeaconApiStoreUnavailable), probe state.",
   [("instance:beacon_api_pg_pool_in_use:ratio{%s}" % API, "in use {{instance}}"),
    ("instance:beacon_api_pg_pool_waits:ratio_rate5m{%s}" % API, "waited {{instance}}"),
    ("instance:beacon_api_pg_pool_timeouts:rate5m{%s}" % API, "timeouts/s {{instance}}"),
    ("instance:beacon_api_pg_pool_unavailable:rate5m{%s}" % API, "unavailable/s {{instance}}"),
    ("beacon_api_pg_up{%s}" % API, "PostgreSQL up {{instance}}")], "short")
ts("Rating cache hit ratio", "Film rating lookups answered from the cache (entries live cache.ttl_ms).",
   [("instance:beacon_api_cache_hit:ratio_rate5m{%s}" % API, "{{instance}}")], "percentunit", maxv=1)
end_row()

row("Memory")
ts("Resident memory", "Process RSS. The processes allocate their memory at start-up: the lines must be flat after warm-up.",
   [("beacond_resident_memory_bytes{%s}" % BD, "beacond {{instance}}"),
    ("beacon_etl_resident_memory_bytes{%s}" % ETL, "beacon-etl {{instance}}"),
    ("beacon_api_resident_memory_bytes{%s}" % API, "beacon-api {{instance}}")], "bytes")
ts("Memory slope (30 min)", "deriv of RSS over 30 minutes. BeacondMemoryGrowth / BeaconEtlMemoryGrowth / BeaconApiMemoryGrowth above 5 MiB/h (1456 B/s) for an hour.",
   [("instance:beacond_resident_memory_bytes:deriv30m{%s}" % BD, "beacond {{instance}}"),
    ("instance:beacon_etl_resident_memory_bytes:deriv30m{%s}" % ETL, "beacon-etl {{instance}}"),
    ("instance:beacon_api_resident_memory_bytes:deriv30m{%s}" % API, "beacon-api {{instance}}")],
   "Bps", steps=[(1456, "red")])
ts("jemalloc", "jemalloc's allocated and resident bytes.",
   [('beacond_jemalloc_bytes{stat=~"allocated|resident",%s}' % BD, "beacond {{stat}} {{instance}}"),
    ('beacon_etl_jemalloc_bytes{stat=~"allocated|resident",%s}' % ETL, "beacon-etl {{stat}} {{instance}}")], "bytes")
ts("ETL batch buffers in use", "The fullest preallocated batch buffer of each ETL.",
   [("instance:beacon_etl_pool_in_use:max_ratio{%s}" % ETL, "{{instance}}")], "percentunit", maxv=1)
end_row()

row("HTTP beacon API")
ts("HTTP request latency", "First request byte in to last response byte out, all workers (histogram quantiles over 5 minutes).",
   [("instance:beacond_http_request_duration_seconds:p50_rate5m{%s}" % BD, "p50 {{instance}}"),
    ("instance:beacond_http_request_duration_seconds:p99_rate5m{%s}" % BD, "p99 {{instance}}")], "s")
ts("HTTP connections", "Open connections and connection events/s (refused = over http.max_conns; closed_timeout = slow requests).",
   [("sum by (instance) (beacond_http_connections_open{%s})" % BD, "open {{instance}}"),
    ("sum by (event) (rate(beacond_http_connection_events_total{%s}[$__rate_interval])) > 0" % BD, "{{event}}/s")], "short")
end_row()


def qvar(name, label, metric):
    q = "label_values(%s, instance)" % metric
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": q, "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "hide": 0, "options": [], "regex": "", "sort": 1}


dashboard = {
    "uid": "beacond-overview",
    "title": "beacond overview",
    "description": "Beacon ingestion: beacond (ingest, rejects, drops, Kafka, rings, HTTP), beacon-etl (lag, ClickHouse inserts, errors; its PostgreSQL sink), the read API beacon-api (requests, latency, errors, pool, cache) and memory. Source: monitoring/grafana/dashboard.py.",
    "tags": ["beacond", "beacon-etl", "beacon-api", "clickhouse", "kafka", "postgresql"],
    "editable": True,
    "graphTooltip": 1,
    "id": None,
    "version": 1,
    "schemaVersion": 38,
    "time": {"from": "now-1h", "to": "now"},
    "timepicker": {},
    "timezone": "",
    "refresh": "30s",
    "fiscalYearStartMonth": 0,
    "liveNow": False,
    "links": [{"title": "Runbook", "type": "link", "url": "docs/runbook.md", "targetBlank": True,
               "icon": "doc", "tooltip": "docs/runbook.md", "asDropdown": False, "includeVars": False,
               "keepTime": False, "tags": []}],
    "annotations": {"list": [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
         "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
         "type": "dashboard"},
        {"datasource": DS, "enable": True, "hide": False, "iconColor": "red", "name": "Firing alerts",
         "expr": 'ALERTS{alertstate="firing"}', "step": "60s", "titleFormat": "{{alertname}}",
         "textFormat": "{{instance}} {{stream}}", "useValueForTime": False},
    ]},
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
         "regex": ""},
        qvar("instance", "beacond", "beacond_build_info"),
        qvar("etl_instance", "beacon-etl", "beacon_etl_build_info"),
        qvar("api_instance", "beacon-api", "beacon_api_build_info"),
    ]},
    "panels": panels,
}

print(json.dumps(dashboard, indent=2))
