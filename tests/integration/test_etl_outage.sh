#!/bin/sh
# ClickHouse stopped for a while and restarted (same data) while records
# keep coming: beacon-etl retries the same batch with backoff, pauses its
# partitions (Kafka is the buffer: /readyz 503, beacon_etl_paused 1), its RSS
# stays under its bound, and after the restart every table holds exactly N
# rows (FINAL and uniqExact) and the consumer lag returns to 0.
set -eu
IT_NAME=test_etl_outage
. tests/integration/lib.sh
W=build/it/etl-outage
rm -rf "$W"
mkdir -p "$W"
. tests/integration/etl/common.sh
# batch pools (3 slots, clickhouse.inflight 2 + 1, x (40+40+4+4+2+2+2) MiB of
# JSON + a third of that as RowBinary = 376 MiB) + sort buffers (61 MiB,
# beacon_etl_sort_buffer_bytes) + librdkafka's prefetch queues (3 x 32 MiB,
# filled only while the ETL lags) + row slots, /metrics pages, libraries and
# arenas
RSS_BOUND=$((608 * 1024 * 1024))

python3 tests/integration/etl/gen_records.py --count 60000 --seed 9 --out-dir "$W" > "$W/gen.out"
for t in ugc.views ugc.events ugc.actions; do
	split -n l/4 -d "$W/$t.tsv" "$W/$t.part."
done
etl_start_kafka 8
etl_start_ch
etl_schema
etl_config "$W/etl.ini" "[views]
batch_rows = 4000
batch_ms = 300
[events]
batch_ms = 300
[actions]
batch_ms = 300"
etl_start
for t in ugc.views ugc.events ugc.actions; do etl_produce "$W/$t.part.00" "$t"; done
it_wait 30 "the first quarter to be inserted" sh -c "[ \$(curl -s $CH_URL --data-binary 'SELECT count() FROM ugc.views') -gt 0 ]"

peak=0
sample_rss() {
	r=$(etl_metric beacon_etl_resident_memory_bytes)
	[ "$r" -le "$RSS_BOUND" ] || it_fail "RSS $r exceeds its bound $RSS_BOUND"
	[ "$r" -le "$peak" ] || peak=$r
}
etl_stop_ch
it_log "ClickHouse stopped"
for k in 01 02; do
	for t in ugc.views ugc.events ugc.actions; do etl_produce "$W/$t.part.$k" "$t"; done
	sample_rss
	sleep 2
	sample_rss
done
it_wait 20 "beacon-etl to pause and report not ready" sh -c \
	"curl -s http://127.0.0.1:$ETL_MET/readyz | grep -q 'inserts failing'"
[ "$(etl_metric beacon_etl_paused)" -ge 1 ] || it_fail "no stream paused while ClickHouse is down"
[ "$(etl_metric 'beacon_etl_errors_total{kind="ch_transport"}')" -gt 0 ] || it_fail "no transport error counted"
[ "$(etl_metric beacon_etl_retries_total)" -gt 0 ] || it_fail "no retry counted"
lag=$(etl_metric beacon_etl_consumer_lag_records)
[ "$lag" -gt 0 ] || it_fail "no lag while ClickHouse is down"
sample_rss
it_log "outage: lag $lag records, retries $(etl_metric beacon_etl_retries_total), RSS peak $peak"
sleep 3
sample_rss

etl_start_ch "${IT_NAME}_ch2"
it_log "ClickHouse restarted"
for t in ugc.views ugc.events ugc.actions; do etl_produce "$W/$t.part.03" "$t"; done
while read -r t n; do etl_wait_rows 90 "$t" "$n"; done < "$W/gen.out"
sample_rss
python3 tests/integration/etl/verify.py "$CH_URL" "$W" > "$W/verify.out" || {
	cat "$W/verify.out"; it_fail "ClickHouse differs from what was produced"; }
cat "$W/verify.out"
it_wait 20 "consumer lag to return to 0" sh -c \
	"[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_consumer_lag_records/ { s += \$2 } END { print s + 0 }')\" = 0 ]"
it_wait 10 "/readyz to be ready again" curl -sf "http://127.0.0.1:$ETL_MET/readyz"
it_log "lag back to 0; peak RSS $peak (bound $RSS_BOUND)"
kill -TERM "$ETL_PID"
it_wait 20 "beacon-etl to exit on SIGTERM" sh -c "! kill -0 $ETL_PID"
rc=0
wait "$ETL_PID" || rc=$?
[ "$rc" = 0 ] || it_fail "beacon-etl exit status $rc"
it_log "all checks passed"
