#!/bin/sh
# perf/bench_etl_pg.sh - records/s the PostgreSQL state sink (etl/bcn_etl_pg.c) applies.
# A quick benchmark, not a test.
#
#   sh perf/bench_etl_pg.sh [RECORDS] [BATCH_ROWS]     (defaults 200000, 5000)
#
# Records: tests/integration/etl/pg_records.py bench -- the mix of `make run`'s audience
# (2,000 registered users, 200 films): 85 % registered users' heartbeats, 5 % anonymous
# ones, 3 % player events (a third of them "finish"), 4 % likes, 2 % bookmarks, 1 % reviews;
# produced to kafka-dev (8 partitions) beforehand.  beacon-etl runs the sink alone (the
# ClickHouse streams disabled) against a fresh local PostgreSQL 15 (etl/pg/pg-local.sh,
# port 15435, fsync and synchronous_commit on).  Timed from the partitions' assignment
# (beacon_etl_pg_partitions_assigned > 0) until every record is consumed and its offsets
# committed (lag 0); printed: records/s consumed and rows/s applied (registered users'
# records, which become apply_* array elements), transactions, and the flush latency.
set -eu
IT_NAME=bench_etl_pg
. tests/integration/lib.sh
N=${1:-200000}
ROWS=${2:-5000}
W=build/bench-etl-pg
PGDIR=$W/pg
ETL_MET=19482
cleanup() { it_cleanup; sh etl/pg/pg-local.sh stop "$PGDIR" > /dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
rm -rf "$W"
mkdir -p "$W"
. tests/integration/etl/common.sh
make -s build/beacon-etl build/kafka-dev
python3 tests/integration/etl/pg_records.py bench "$W" "$N"
etl_start_kafka 8
etl_produce "$W/bench.views.tsv" ugc.views
etl_produce "$W/bench.actions.tsv" ugc.actions
sh etl/pg/pg-local.sh start "$PGDIR" 15435 > "$W/pg.env" 2> "$W/pg.log" || it_fail "PostgreSQL: $(tail -3 "$W/pg.log")"
. "$W/pg.env"
etl_config "$W/etl.ini" "[views]
enabled = no
[events]
enabled = no
[actions]
enabled = no
[postgres]
enabled = yes
conninfo = $PG_CONNINFO
batch_rows = $ROWS"
etl_start
it_wait 30 "the partitions' assignment" sh -c "[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_pg_partitions_assigned /{print \$2}')\" -gt 0 ]"
t0=$(date +%s.%N)
it_wait 600 "lag 0 on every partition" sh -c "[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_pg_consumer_lag_records/ { s += \$2; n++ } END { print (n > 0 ? s : -1) }')\" = 0 ]"
t1=$(date +%s.%N)
consumed=$(etl_metric beacon_etl_pg_records_consumed_total)
applied=$(etl_metric beacon_etl_pg_records_applied_total)
tx=$(etl_metric 'beacon_etl_pg_transactions_total{result="ok"}')
lat=$(etl_metric beacon_etl_pg_flush_duration_seconds_sum)
[ "$consumed" = "$N" ] || it_fail "consumed $consumed of $N"
python3 - "$t0" "$t1" "$consumed" "$applied" "$tx" "$lat" "$ROWS" <<'PY'
import sys
t0, t1, c, a, tx, lat, rows = map(float, sys.argv[1:])
s = t1 - t0
print("bench_etl_pg: %d records (%d applied) in %.2f s: %.0f records/s consumed, %.0f rows/s applied; "
      "%d transactions of <= %d records, mean %.1f ms BEGIN..COMMIT" % (c, a, s, c / s, a / s, tx, rows, 1000 * lat / max(tx, 1)))
PY
