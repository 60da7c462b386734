#!/bin/sh
# beacon-etl end to end: records of all seven types produced to kafka-dev
# (tests/integration/etl/gen_records.py, as beacond writes them) -> exactly
# those rows in ClickHouse, field by field (count() FINAL and
# uniqExact(event_id) both equal N per table, and plain count() too: no
# retries happened, so not even an unmerged duplicate may exist);
# /metrics passes promtool; lag drops to 0; SIGTERM exits 0.  Run twice:
# clickhouse.format = rowbinary (every record must convert: no row sent as
# JSONEachRow; the five tables whose sorting key the ETL computes get their
# rows in key order, and ClickHouse writes those blocks without sorting)
# and = jsoneachrow.
set -eu
IT_NAME=test_etl_e2e
. tests/integration/lib.sh
W=build/it/etl-e2e
rm -rf "$W"
mkdir -p "$W"
. tests/integration/etl/common.sh
N=${ETL_E2E_N:-30000}

python3 tests/integration/etl/gen_records.py --count "$N" --seed 5 --out-dir "$W" > "$W/gen.out"
etl_start_kafka 8
etl_start_ch
etl_schema
for t in ugc.views ugc.events ugc.actions; do etl_produce "$W/$t.tsv" "$t"; done
it_log "produced $N records; ClickHouse and kafka-dev up"

# Both insert formats, one after the other on the same records (a fresh
# consumer group and empty tables each time): rowbinary (the default) with
# two inserts in flight, then jsoneachrow with one and librdkafka's
# smallest prefetch queue (256 KiB, well under the ~12 MiB produced), so
# that it fills again and again and the fetchers are restarted by seeks
# (bcn_etl_kick_fetchers) all through the run: still exactly N rows.
# blocks ClickHouse wrote without sorting them (they came in key order)
ch_already_sorted() {
	_v=$(etl_q "SELECT sum(value) FROM system.events WHERE event = 'MergeTreeDataWriterBlocksAlreadySorted'")
	echo "${_v:-0}"
}
pass=0
for mode in "rowbinary 2 32768" "jsoneachrow 1 256"; do
	set -- $mode
	fmt=$1 inflight=$2 qkb=$3
	pass=$((pass + 1))
	if [ $pass -gt 1 ]; then
		for t in $ETL_TABLES; do etl_q "TRUNCATE TABLE ugc.$t" > /dev/null; done
	fi
	etl_config "$W/etl.ini" "[kafka]
group_prefix = e2e-$fmt
queue_kbytes = $qkb
[clickhouse]
format = $fmt
inflight = $inflight
[views]
batch_rows = 5000
[events]
batch_rows = 2000
batch_ms = 300
[actions]
batch_rows = 1000
batch_ms = 300"
	already0=$(ch_already_sorted)
	etl_start "${IT_NAME}_etl_$fmt"
	while read -r t n; do etl_wait_rows 60 "$t" "$n"; done < "$W/gen.out"
	it_log "$fmt: every table holds its rows: $(tr '\n' ' ' < "$W/gen.out")"
	python3 tests/integration/etl/verify.py "$CH_URL" "$W" > "$W/verify.out" || {
		cat "$W/verify.out"; it_fail "$fmt: ClickHouse differs from what was produced"; }
	cat "$W/verify.out"
	awk '$9 != $3 { exit 1 }' "$W/verify.out" || it_fail "$fmt: plain count() differs from N: duplicates without retries"

	it_wait 15 "consumer lag to reach 0 on every partition" sh -c \
		"[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_consumer_lag_records/ { s += \$2; n++ } END { print (n > 0 ? s : -1) }')\" = 0 ]"
	[ "$(etl_metric beacon_etl_rows_inserted_total)" = "$N" ] || it_fail "rows_inserted_total $(etl_metric beacon_etl_rows_inserted_total) != $N"
	[ "$(etl_metric beacon_etl_dlq_records_total)" = 0 ] || it_fail "records went to the DLQ"
	[ "$(etl_metric beacon_etl_retries_total)" = 0 ] || it_fail "retries without a failure"
	it_log "$fmt: fetchers restarted $(etl_metric beacon_etl_fetch_kicks_total) time(s) (queue_kbytes $qkb)"
	if [ "$fmt" = rowbinary ]; then
		# every record beacond writes converts: nothing went as JSON
		[ "$(etl_metric beacon_etl_table_rowbinary)" = 7 ] || it_fail "not every table is RowBinary"
		[ "$(etl_metric beacon_etl_rows_json_total)" = 0 ] || it_fail "$(etl_metric beacon_etl_rows_json_total) rows went as JSONEachRow"
		# rows sent in ORDER BY order (etl/bcn_etl_sort.h) for the five
		# tables whose key the ETL computes (page_views' and actions' hold a
		# String), and ClickHouse took every such INSERT's blocks as
		# already sorted: at least one block per batch (a month each)
		[ "$(etl_metric beacon_etl_table_sorted)" = 5 ] || it_fail "$(etl_metric beacon_etl_table_sorted) tables sorted, want 5"
		sb=0
		for t in views player_events likes reviews bookmarks; do
			sb=$((sb + $(etl_metric "beacon_etl_batches_inserted_total{table=\"$t\"}")))
		done
		already=$(($(ch_already_sorted) - already0))
		[ "$already" -ge "$sb" ] ||
			it_fail "ClickHouse sorted blocks itself: $already already-sorted blocks for $sb sorted batches"
		it_log "$fmt: $(etl_metric beacon_etl_rows_sorted_total) rows sent sorted in $sb batches; $already blocks already sorted"
	else
		[ "$(etl_metric beacon_etl_table_rowbinary)" = 0 ] || it_fail "jsoneachrow mode used RowBinary"
	fi
	curl -sf "http://127.0.0.1:$ETL_MET/metrics" > "$W/metrics.txt"
	promtool check metrics < "$W/metrics.txt" || it_fail "promtool check metrics"
	curl -sf "http://127.0.0.1:$ETL_MET/readyz" | grep -q ready || it_fail "/readyz not ready"
	for f in beacon_etl_insert_duration_seconds_bucket beacon_etl_pool_capacity_bytes beacon_etl_pool_in_use_bytes \
		'beacon_etl_jemalloc_bytes{stat="allocated"' 'beacon_etl_jemalloc_bytes{stat="resident"' \
		beacon_etl_resident_memory_bytes beacon_etl_consumer_lag_seconds beacon_etl_errors_total \
		beacon_etl_rows_json_total beacon_etl_table_rowbinary beacon_etl_table_sorted \
		beacon_etl_rows_sorted_total beacon_etl_sort_buffer_bytes; do
		grep -q "^$f" "$W/metrics.txt" || it_fail "/metrics lacks $f"
	done

	kill -TERM "$ETL_PID"
	it_wait 20 "beacon-etl to exit on SIGTERM" sh -c "! kill -0 $ETL_PID"
	rc=0
	wait "$ETL_PID" || rc=$?
	[ "$rc" = 0 ] || it_fail "$fmt: beacon-etl exit status $rc: $(tail -3 "build/it/${IT_NAME}_etl_$fmt.log")"
	grep -q "stopped: $N rows inserted, 0 batch" "build/it/${IT_NAME}_etl_$fmt.log" ||
		it_fail "shutdown line: $(tail -1 "build/it/${IT_NAME}_etl_$fmt.log")"
	it_log "$fmt: all checks passed"
done
it_log "all checks passed"
