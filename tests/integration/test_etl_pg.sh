#!/bin/sh
# beacon-etl's PostgreSQL state sink (etl/bcn_etl_pg.c) against kafka-dev and a private
# PostgreSQL 15 (etl/pg/pg-local.sh, port 15433, data under build/it/etl-pg/pg).  The
# ClickHouse streams are disabled: only the sink runs.
#
# Phase 1: a known set of records (tests/integration/etl/pg_records.py: likes with a change and
# a remove, bookmarks added and removed, reviews posted, edited and deleted with hostile text,
# heartbeats and a finish, anonymous ones, a player pause, malformed ones) -> likes,
# bookmarks, reviews, progress and film_stats field by field; skip counters by reason; then a
# delete of that review by another user and a repeated record -> nothing changes.
# Phase 2: records keep coming in chunks while the ETL is killed with SIGKILL and restarted,
# and PostgreSQL is stopped and started again -> the same final state as the model of every
# record, the lag back to 0, retries seen; SIGTERM exits 0.
set -eu
IT_NAME=test_etl_pg
. tests/integration/lib.sh
W=build/it/etl-pg
PGDIR=$W/pg
PG_PORT=15433
ETL_MET=${ETL_MET:-19481}
pg_stop() { sh etl/pg/pg-local.sh stop "$PGDIR" > /dev/null 2>&1 || true; }
cleanup() { it_cleanup; pg_stop; }
trap cleanup EXIT INT TERM
pg_stop # a previous run's, if any
rm -rf "$W"
mkdir -p "$W"
. tests/integration/etl/common.sh
T0=$(date +%s)

python3 tests/integration/etl/pg_records.py gen "$W"
. "$W/counts.env"
etl_start_kafka 4
PG_START_SECS=30 sh etl/pg/pg-local.sh start "$PGDIR" "$PG_PORT" > "$W/pg.env" 2> "$W/pg-start.log" ||
	it_fail "PostgreSQL did not start: $(tail -3 "$W/pg-start.log")"
. "$W/pg.env"
it_log "kafka-dev and PostgreSQL up ($PG_CONNINFO)"
psql "$PG_CONNINFO" -qAtX -c "SELECT count(*) FROM schema_migrations" | grep -qx 2 ||
	it_fail "schema_migrations does not list V001 and V002"

etl_config "$W/etl.ini" "[views]
enabled = no
[events]
enabled = no
[actions]
enabled = no
[postgres]
enabled = yes
conninfo = $PG_CONNINFO
batch_rows = 700
flush_ms = 200
connect_timeout_ms = 2000
statement_timeout_ms = 5000
backoff_min_ms = 50
backoff_max_ms = 800
[shutdown]
deadline_ms = 5000"

# every record produced so far is committed (the lag gauge alone can read 0 from a cached
# high watermark just before new records are seen)
committed_is() { [ "$(etl_metric beacon_etl_pg_committed_offset)" = "$1" ]; }
lag0() {
	[ "$(curl -sf "http://127.0.0.1:$ETL_MET/metrics" | awk '/^beacon_etl_pg_consumer_lag_records/ { s += $2; n++ } END { print (n > 0 ? s : -1) }')" = 0 ]
}
applied_ge() { [ "$(etl_metric beacon_etl_pg_records_applied_total)" -ge "$1" ]; }
verify() {
	python3 tests/integration/etl/pg_records.py verify "$PG_CONNINFO" "$W" "$1" > "$W/verify-$2.out" 2>&1 || {
		cat "$W/verify-$2.out"; it_fail "$2: PostgreSQL differs from the model of $1"; }
	cat "$W/verify-$2.out"
}

# ---- phase 1: the known set
etl_produce "$W/p1.actions.tsv" ugc.actions
etl_produce "$W/p1.views.tsv" ugc.views
etl_start "${IT_NAME}_etl1"
it_wait 30 "the sink to apply the $P1_APPLY records of phase 1" applied_ge "$P1_APPLY"
N1=$(cat "$W/p1.actions.tsv" "$W/p1.views.tsv" | wc -l)
it_wait 15 "the sink to commit all $N1 records of phase 1" committed_is "$N1"
it_wait 15 "the sink's consumer lag to reach 0 (phase 1)" lag0
[ "$(etl_metric beacon_etl_pg_records_applied_total)" = "$P1_APPLY" ] ||
	it_fail "applied $(etl_metric beacon_etl_pg_records_applied_total) records, want $P1_APPLY (no retries happened)"
for r in anonymous:6 player_event:1 bad_json:1 bad_uuid:1 bad_text:0 too_large:0; do
	n=$(etl_metric "beacon_etl_pg_records_skipped_total{reason=\"${r%%:*}\"}")
	[ "$n" = "${r#*:}" ] || it_fail "skipped{reason=${r%%:*}} = $n, want ${r#*:}"
done
[ "$(etl_metric beacon_etl_pg_retries_total)" = 0 ] || it_fail "retries without a failure"
[ "$(etl_metric beacon_etl_pg_up)" = 1 ] || it_fail "beacon_etl_pg_up is not 1"
curl -sf "http://127.0.0.1:$ETL_MET/readyz" | grep -q ready || it_fail "/readyz not ready"
verify p1 phase1
psql "$PG_CONNINFO" -qAtX -c "SELECT user_id = '5e000001-0000-4000-8000-000000000001' AND rating = 6 AND NOT deleted FROM reviews WHERE review_id = '5e000004-0000-4000-8000-000000000001'" |
	grep -qx t || it_fail "review R1 is not U1's edit"
changed=$(etl_metric beacon_etl_pg_rows_changed_total)
etl_produce "$W/p1b.actions.tsv" ugc.actions
it_wait 20 "the sink to apply phase 1b" applied_ge "$((P1_APPLY + P1B_APPLY))"
N1B=$((N1 + $(wc -l < "$W/p1b.actions.tsv")))
it_wait 15 "the sink to commit all $N1B records of phase 1b" committed_is "$N1B"
it_wait 15 "the sink's consumer lag to reach 0 (phase 1b)" lag0
verify p1,p1b phase1b
[ "$(etl_metric beacon_etl_pg_rows_changed_total)" = "$changed" ] ||
	it_fail "another user's delete or a repeated record changed rows"
curl -sf "http://127.0.0.1:$ETL_MET/metrics" > "$W/metrics.txt"
promtool check metrics < "$W/metrics.txt" || it_fail "promtool check metrics"
for f in beacon_etl_pg_flush_duration_seconds_bucket beacon_etl_pg_transactions_total beacon_etl_pg_batches_total \
	beacon_etl_pg_buffer_capacity_bytes beacon_etl_pg_batch_capacity_rows beacon_etl_pg_consumer_lag_seconds \
	'beacon_etl_pg_rows_changed_total{table="progress"}' 'beacon_etl_pg_records_consumed_total{type="view"}'; do
	grep -q "^$f" "$W/metrics.txt" || it_fail "/metrics lacks $f"
done
it_log "phase 1: state, skip counters and idempotence as expected ($(($(date +%s) - T0)) s)"

# ---- phase 2: records keep coming through a SIGKILL of the ETL and a PostgreSQL restart
(
	for v in "$W"/p2.*.views.tsv; do
		etl_produce "${v%.views.tsv}.actions.tsv" ugc.actions
		etl_produce "$v" ugc.views
		sleep 0.7
	done
) > "$W/producer.log" 2>&1 &
PROD=$!
IT_PIDS="$IT_PIDS $PROD"
it_wait 20 "phase 2 records to reach the sink" applied_ge "$((P1_APPLY + P1B_APPLY + 2000))"
kill -KILL "$ETL_PID"
wait "$ETL_PID" 2>/dev/null || true
it_log "phase 2: beacon-etl killed with SIGKILL mid-stream; restarting"
etl_start "${IT_NAME}_etl2"
it_wait 20 "the restarted sink to apply records" applied_ge 2000
sh etl/pg/pg-local.sh stop "$PGDIR" || it_fail "pg-local.sh stop failed"
it_log "phase 2: PostgreSQL stopped while records keep coming"
it_wait 20 "the sink to see PostgreSQL down (beacon_etl_pg_up 0)" sh -c "[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_pg_up /{print \$2}')\" = 0 ]"
curl -s "http://127.0.0.1:$ETL_MET/readyz" | grep -q "postgres sink" || it_fail "/readyz does not report the failing sink"
sleep 2
PG_START_SECS=30 sh etl/pg/pg-local.sh start "$PGDIR" "$PG_PORT" > /dev/null 2>> "$W/pg-start.log" ||
	it_fail "PostgreSQL did not start again: $(tail -3 "$W/pg-start.log")"
it_log "phase 2: PostgreSQL started again"
it_wait 30 "the producer to finish" sh -c "! kill -0 $PROD"
wait "$PROD" || it_fail "producing phase 2 failed: $(tail -3 "$W/producer.log")"
N2=$((N1B + $(cat "$W"/p2.*.tsv | wc -l)))
it_wait 30 "the sink to commit all $N2 records after the outage" committed_is "$N2"
it_wait 15 "the sink's consumer lag to reach 0 after the outage" lag0
[ "$(etl_metric beacon_etl_pg_retries_total)" -gt 0 ] || it_fail "no retry counted across the outage"
it_wait 10 "beacon_etl_pg_up to be 1 again after the outage" sh -c "[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_pg_up /{print \$2}')\" = 1 ]"
verify p1,p1b,p2 phase2
curl -sf "http://127.0.0.1:$ETL_MET/readyz" | grep -q ready || it_fail "/readyz not ready after the outage"

kill -TERM "$ETL_PID"
it_wait 20 "beacon-etl to exit on SIGTERM" sh -c "! kill -0 $ETL_PID"
rc=0
wait "$ETL_PID" || rc=$?
[ "$rc" = 0 ] || it_fail "beacon-etl exit status $rc: $(tail -3 "build/it/${IT_NAME}_etl2.log")"
grep -q "postgres sink stopped: .* 0 batch" "build/it/${IT_NAME}_etl2.log" ||
	it_fail "shutdown line: $(grep 'postgres sink stopped' "build/it/${IT_NAME}_etl2.log")"
it_log "all checks passed ($(($(date +%s) - T0)) s)"
