#!/bin/sh
# perf/bench_kafka_read.sh - how fast one Kafka consumer can read the ETL
# benchmark's records off kafka-dev, and what serving them costs kafka-dev
# (not a test; the figures go to perf/RESULTS.md, "## beacon-etl").  It
# answers one question: is the broker or the consumer client the limit of
# perf/bench_etl.sh?
#
#   sh perf/bench_kafka_read.sh [RECORDS] [PARTITIONS] [RUNS] [BROKERS]
#                               (defaults 600000, 64, 3, 1: bench_etl.sh's set-up)
#
# The same records as perf/bench_etl.sh (view records, ~420 bytes, produced
# with kcat -z lz4), then RUNS times, each timed from start to end of topic:
#   kcat -f 'x'      one byte out per record: librdkafka's consumer alone
#   kcat -f '%s\n'   the peer's own read (bench_etl.sh pipes this into
#                    clickhouse-client), into wc
# with kafka-dev's CPU seconds (user + sys, /proc) over each read.
set -eu
IT_NAME=bench_kafka_read
cd "$(dirname "$0")/.."
. tests/integration/lib.sh
W=build/bench-kafka-read
rm -rf "$W"
mkdir -p "$W"
N=${1:-600000}
P=${2:-64}
RUNS=${3:-3}
BROKERS=${4:-1}
. tests/integration/etl/common.sh
command -v kcat >/dev/null || it_fail "kcat is not installed (make deps)"
[ -x build/kafka-dev ] || it_fail "build/kafka-dev missing (make all)"
[ $((N * 430)) -lt $((P * 5 * 1024 * 1024)) ] || it_fail "$N records do not fit in $P partitions of kafka-dev"

echo "load before: $(uptime | sed 's/.*load average/load average/')"
it_log "generating $N view records"
python3 tests/integration/etl/gen_records.py --count "$N" --mix view=1 --out-dir "$W" > "$W/gen.out"
rm -f "$W/bootstrap"
it_start "${IT_NAME}_kafka" build/kafka-dev --brokers "$BROKERS" --partitions "$P" --bootstrap-file "$W/bootstrap"
it_wait 10 "kafka-dev to write its bootstrap file" test -s "$W/bootstrap"
BS=$(cat "$W/bootstrap")
case "$BS" in 127.0.0.1:*) ;; *) it_fail "bootstrap is not on loopback: $BS" ;; esac
etl_produce "$W/ugc.views.tsv" ugc.views
KPID=$(eval "echo \$IT_PID_${IT_NAME}_kafka")
it_log "produced $N records to ugc.views ($P partitions, $BROKERS broker(s))"

cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
read_once() { # FORMAT LABEL
	k0=$(cpu "$KPID"); t0=$(date +%s.%N)
	got=$(timeout 120 kcat -b "$BS" -C -t ugc.views -o beginning -e -q -f "$1" | wc -c)
	t1=$(date +%s.%N); k1=$(cpu "$KPID")
	awk -v l="$2" -v n="$N" -v a="$t0" -v b="$t1" -v c0="$k0" -v c1="$k1" -v got="$got" 'BEGIN {
		printf "%-12s %d records in %.2f s = %.0f records/s; kafka-dev CPU %.2f s (%d bytes out)\n",
		       l, n, b - a, n / (b - a), c1 - c0, got }'
}
i=1
while [ $i -le "$RUNS" ]; do
	read_once 'x' "kcat -f x"
	read_once '%s\n' "kcat -f %s"
	i=$((i + 1))
done
echo "load after: $(uptime | sed 's/.*load average/load average/')"
