#!/bin/sh
# perf/bench_etl.sh - rows/s into ClickHouse: beacon-etl against the naive
# peer `kcat -C ... | clickhouse-client --query "INSERT ... FORMAT JSONEachRow"`,
# in one run, on the same records and the same table.  A benchmark, not a
# test: it prints figures for perf/RESULTS.md ("## beacon-etl").
#
#   sh perf/bench_etl.sh [RECORDS] [PARTITIONS]   (defaults 600000, 64)
#
# Both read every record of ugc.views (view records only, ~330 bytes each,
# produced beforehand with kcat from tests/integration/etl/gen_records.py)
# from kafka-dev and insert into the same empty ugc.views (truncated before
# each run).  Each side is timed from its start to the moment ClickHouse
# holds every row: the peer until its pipe ends (kcat -e), beacon-etl until
# its own metrics count every row inserted (group join included).
# kafka-dev keeps ~5 MiB per partition: RECORDS * 330 B must stay under
# PARTITIONS * 5 MiB (the script checks).
set -eu
IT_NAME=bench_etl
cd "$(dirname "$0")/.."
. tests/integration/lib.sh
W=build/bench-etl
rm -rf "$W"
mkdir -p "$W"
N=${1:-600000}
P=${2:-64}
CH_HTTP=28123 CH_TCP=29000 ETL_MET=29471
. tests/integration/etl/common.sh
[ $((N * 330)) -lt $((P * 5 * 1024 * 1024)) ] || it_fail "$N records do not fit in $P partitions of kafka-dev"

it_log "generating $N view records"
python3 tests/integration/etl/gen_records.py --count "$N" --mix view=1 --out-dir "$W" > "$W/gen.out"
bytes=$(wc -c < "$W/ugc.views.tsv")
etl_start_kafka "$P"
etl_start_ch
etl_schema
etl_produce "$W/ugc.views.tsv" ugc.views
it_log "produced $N records ($bytes bytes with keys) to ugc.views ($P partitions)"

now() { date +%s.%N; }
rate() { python3 -c "import sys; n,a,b=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print('%.2f s, %.0f rows/s' % (b-a, n/(b-a)))" "$@"; }

run_peer() {
	etl_q "TRUNCATE TABLE ugc.views" > /dev/null
	t0=$(now)
	kcat -b "$BS" -C -t ugc.views -o beginning -e -q -f '%s\n' |
		clickhouse-client --host 127.0.0.1 --port "$CH_TCP" --query "INSERT INTO ugc.views FORMAT JSONEachRow"
	t1=$(now)
	have=$(etl_q "SELECT count() FROM ugc.views")
	[ "$have" = "$N" ] || it_fail "naive peer inserted $have of $N rows"
	PEER=$(rate "$N" "$t0" "$t1")
	it_log "naive peer (kcat | clickhouse-client): $PEER"
}

run_etl() { # GROUP
	etl_q "TRUNCATE TABLE ugc.views" > /dev/null
	etl_config "$W/etl.ini" "[kafka]
group_prefix = $1
[events]
enabled = no
[actions]
enabled = no"
	t0=$(now)
	etl_start "etl_$1"
	end=$(( $(date +%s) + 300 ))
	while [ "$(etl_metric 'beacon_etl_rows_inserted_total{table="views"}')" != "$N" ]; do
		[ "$(date +%s)" -lt "$end" ] || it_fail "beacon-etl did not insert $N rows in 300 s"
		sleep 0.05
	done
	t1=$(now)
	rss=$(etl_metric beacon_etl_resident_memory_bytes)
	retries=$(etl_metric beacon_etl_retries_total)
	kill -TERM "$ETL_PID"
	wait "$ETL_PID" || it_fail "beacon-etl exit status $?"
	have=$(etl_q "SELECT count() FROM ugc.views")
	[ "$have" = "$N" ] || it_fail "beacon-etl: ClickHouse holds $have rows, want $N"
	ETL=$(rate "$N" "$t0" "$t1")
	it_log "beacon-etl: $ETL (RSS $((rss / 1048576)) MiB, retries $retries)"
}

# interleaved: peer, etl, peer, etl
run_peer; P1=$PEER
run_etl bench1; E1=$ETL
run_peer; P2=$PEER
run_etl bench2; E2=$ETL
echo "records $N partitions $P bytes $bytes"
echo "peer_run1 $P1"
echo "etl_run1 $E1"
echo "peer_run2 $P2"
echo "etl_run2 $E2"
