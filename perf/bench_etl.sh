#!/bin/sh
# perf/bench_etl.sh - rows/s into ClickHouse: beacon-etl against the naive
# peer `kcat -C ... | clickhouse-client --query "INSERT ... FORMAT JSONEachRow"`,
# in one run, on the same records and the same table.  A benchmark, not a
# test: it prints figures for perf/RESULTS.md ("## beacon-etl").
#
#   sh perf/bench_etl.sh [RECORDS] [PARTITIONS] [RUNS]   (defaults 600000, 64, 3)
#   BENCH_ETL_FORMATS="rowbinary jsoneachrow"  ETL modes to run (default both); "baseline"
#       runs the binary $BENCH_ETL_BASELINE (e.g. an older build) with its own
#       defaults, for a before/after in the same interleaved run
#   BENCH_ETL_EXTRA="[kafka]\nqueue_kbytes = 32768"  more beacon-etl config (printf %b)
#   BENCH_ETL_THREADS=1  also print each thread's CPU seconds over the insert
#       window (beacon-etl's and ClickHouse's, by thread name), to see which
#       thread is the critical path
#
# Both read every record of ugc.views (view records only, ~420 bytes each,
# produced beforehand with kcat from tests/integration/etl/gen_records.py)
# from kafka-dev and insert into the same empty ugc.views (truncated before
# each run).  Runs are interleaved -- peer, ETL per format, peer, ... -- RUNS
# times, so that both see the same background load; the summary gives the
# median, min and max of each.
#   peer: from its start until its pipe ends (kcat -e) and ClickHouse holds
#         every row.
#   ETL:  "insert" = from the moment the consumer group assigned the
#         partitions (beacon_etl_partitions_assigned > 0) until its metrics
#         count every row inserted -- the figure compared with the peer;
#         "join" = from process start to that assignment (the group
#         protocol's initial rebalance delay, ~3 s, paid once per start; the
#         peer uses no group), reported separately, and "all-in" = both.
#         Both moments come from perf/etl_poll.py (one process, started
#         before the ETL, one keep-alive connection, a poll every 10 ms):
#         the `curl | awk` loop this script used before took ~0.4 of a CPU
#         from the machine while it timed the ETL (perf/RESULTS.md).
# CPU seconds over each timed window: beacon-etl, ClickHouse and kafka-dev
# from /proc/PID/stat; the peer's kcat + clickhouse-client from rusage.
# kafka-dev keeps ~5 MiB per partition: RECORDS * 420 B must stay under
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
RUNS=${3:-3}
FORMATS=${BENCH_ETL_FORMATS:-rowbinary jsoneachrow}
EXTRA=${BENCH_ETL_EXTRA:-}
CH_HTTP=28123 CH_TCP=29000 ETL_MET=29471
. tests/integration/etl/common.sh
[ $((N * 430)) -lt $((P * 5 * 1024 * 1024)) ] || it_fail "$N records do not fit in $P partitions of kafka-dev"

echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "software: ClickHouse $(dpkg-query -W -f '${Version}' clickhouse-server 2>/dev/null), librdkafka $(dpkg-query -W -f '${Version}' librdkafka1 2>/dev/null), $(curl --version | head -1 | cut -d' ' -f1-2)"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
it_log "generating $N view records"
python3 tests/integration/etl/gen_records.py --count "$N" --mix view=1 --out-dir "$W" > "$W/gen.out"
bytes=$(wc -c < "$W/ugc.views.tsv")
etl_start_kafka "$P"
etl_start_ch
etl_schema
etl_produce "$W/ugc.views.tsv" ugc.views
KPID=$(eval "echo \$IT_PID_${IT_NAME}_kafka")
CHPIDS="$CH_PID $(pgrep -P "$CH_PID" 2>/dev/null || true)"
it_log "produced $N records ($bytes bytes with keys) to ugc.views ($P partitions)"

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a - b }'; }
# per-thread CPU (name<TAB>centiseconds), threads of one name summed
tcpu() { cat /proc/"$1"/task/*/stat 2>/dev/null |
	sed 's/^[0-9]* (\(.*\)) /\1\t/' | awk -F '\t' '{ split($2, f, " "); s[$1] += f[12] + f[13] } END { for (k in s) printf "%s\t%d\n", k, s[k] }' | sort; }
tdiff() { # BEFORE AFTER LABEL: threads that used >= 0.02 s
	awk -F '\t' -v l="$3" 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; if (d >= 2) o = o sprintf(" %s=%.2f", $1, d / 100) } END { print l ":" o }' "$1" "$2"; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f\n", n / (b - a) }'; }

run_peer() { # RUN
	etl_q "TRUNCATE TABLE ugc.views" > /dev/null
	c0=$(etl_cpu $CHPIDS $KPID)
	t0=$(now)
	# the pipeline under python only to read its CPU (rusage of children)
	pc=$(python3 -c 'import resource, subprocess, sys
subprocess.run(["sh", "-c", sys.argv[1]], check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f" % (r.ru_utime + r.ru_stime))' "kcat -b $BS -C -t ugc.views -o beginning -e -q -f '%s\n' | clickhouse-client --host 127.0.0.1 --port $CH_TCP --query 'INSERT INTO ugc.views FORMAT JSONEachRow'")
	t1=$(now)
	c1=$(etl_cpu $CHPIDS $KPID)
	have=$(etl_q "SELECT count() FROM ugc.views")
	[ "$have" = "$N" ] || it_fail "naive peer inserted $have of $N rows"
	r=$(rate "$N" "$t0" "$t1")
	echo "peer run $1 rows_s $r secs $(sub "$t1" "$t0") cpu_client $pc cpu_ch_kafka $(sub "$c1" "$c0")" | tee -a "$W/runs.txt"
}

run_etl() { # FORMAT RUN
	etl_q "TRUNCATE TABLE ugc.views" > /dev/null
	if [ "$1" = baseline ]; then
		fmtini="" BEACON_ETL=${BENCH_ETL_BASELINE:?set BENCH_ETL_BASELINE to a beacon-etl binary}
	else
		fmtini="format = $1" BEACON_ETL=build/beacon-etl
	fi
	etl_views_config "$W/etl.ini" "bench-$1-$2" "$fmtini" "$EXTRA"
	etl_window_open "$N"
	t0=$(now)
	etl_start "etl_$1_$2"
	t1=$(etl_window_next "beacon-etl's partitions") || exit 1
	c0=$(etl_cpu "$ETL_PID"); k0=$(etl_cpu $CHPIDS $KPID)
	if [ -n "${BENCH_ETL_THREADS:-}" ]; then tcpu "$ETL_PID" > "$W/t0.etl"; tcpu "$CH_PID" > "$W/t0.ch"; fi
	t2=$(etl_window_next "$N rows inserted") || exit 1
	c1=$(etl_cpu "$ETL_PID"); k1=$(etl_cpu $CHPIDS $KPID)
	etl_window_close
	if [ -n "${BENCH_ETL_THREADS:-}" ]; then
		tcpu "$ETL_PID" > "$W/t1.etl"; tcpu "$CH_PID" > "$W/t1.ch"
		tdiff "$W/t0.etl" "$W/t1.etl" "  threads beacon-etl"; tdiff "$W/t0.ch" "$W/t1.ch" "  threads clickhouse"
	fi
	rss=$(etl_metric beacon_etl_resident_memory_bytes)
	retries=$(etl_metric beacon_etl_retries_total)
	json=$(etl_metric beacon_etl_rows_json_total)
	inserts=$(etl_metric 'beacon_etl_batches_inserted_total{table="views"}')
	kill -TERM "$ETL_PID"
	wait "$ETL_PID" || it_fail "beacon-etl exit status $?"
	have=$(etl_q "SELECT count() FROM ugc.views")
	[ "$have" = "$N" ] || it_fail "beacon-etl: ClickHouse holds $have rows, want $N"
	echo "etl_$1 run $2 rows_s $(rate "$N" "$t1" "$t2") secs $(sub "$t2" "$t1") join $(sub "$t1" "$t0") allin_rows_s $(rate "$N" "$t0" "$t2") cpu_etl $(sub "$c1" "$c0") cpu_ch_kafka $(sub "$k1" "$k0") inserts $inserts json_rows $json rss_mib $((rss / 1048576)) retries $retries" | tee -a "$W/runs.txt"
}

i=1
while [ $i -le "$RUNS" ]; do
	run_peer $i
	for f in $FORMATS; do run_etl "$f" $i; done
	i=$((i + 1))
done
echo "load after: $(uptime | sed 's/.*load average/load average/')"
echo "records $N partitions $P bytes $bytes runs $RUNS"
python3 - "$W/runs.txt" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for ln in open(sys.argv[1]):
    f = ln.split()
    kv = dict(zip(f[3::2], f[4::2]))
    kv["rows_s"] = f[4]
    runs[f[0]].append({k: float(v) for k, v in kv.items()})
def stat(rs, k):
    v = sorted(r[k] for r in rs)
    return statistics.median(v), v[0], v[-1]
peer = stat(runs["peer"], "rows_s")[0]
for name, rs in runs.items():
    m, lo, hi = stat(rs, "rows_s")
    line = "%-16s rows/s median %7.0f (min %7.0f, max %7.0f)" % (name, m, lo, hi)
    if name != "peer":
        line += "  = %.2fx peer;  join median %.2f s;  all-in median %.0f rows/s;  cpu etl %.2f s, ch+kafka %.2f s" % (
            m / peer, stat(rs, "join")[0], stat(rs, "allin_rows_s")[0], stat(rs, "cpu_etl")[0], stat(rs, "cpu_ch_kafka")[0])
    else:
        line += "  cpu kcat+client %.2f s, ch+kafka %.2f s" % (stat(rs, "cpu_client")[0], stat(rs, "cpu_ch_kafka")[0])
    print(line)
PY
