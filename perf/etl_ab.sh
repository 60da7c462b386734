#!/bin/sh
# perf/etl_ab.sh - quick A/B runs of beacon-etl builds or settings against
# one persistent kafka-dev + ClickHouse (not a test; perf/bench_etl.sh gives
# the figures of record, against the peer).  perf/bench_etl.sh restarts
# both servers for every invocation; this keeps them up, so that many short
# runs can be interleaved while the VM's speed drifts.
#
#   sh perf/etl_ab.sh setup [RECORDS] [PARTITIONS]   start kafka-dev + ClickHouse,
#                                                     produce the records (600000, 64)
#   sh perf/etl_ab.sh run LABEL ["EXTRA INI"]         one ETL run: truncate ugc.views,
#                                                     start beacon-etl, time from
#                                                     partition assignment to the last
#                                                     row inserted, stop it
#   sh perf/etl_ab.sh stop                            stop both servers
#
#   env: BEACON_ETL (binary, default build/beacon-etl); TL=1 prints the
#        timeline (records consumed, rows inserted, every ~60 ms); TS=1
#        prints each thread's CPU ticks per 100 ms (beacon-etl's and
#        ClickHouse's), to see which thread is busy when.
#
# Example (build A in /tmp/a, B in build/):
#   sh perf/etl_ab.sh setup
#   for i in 1 2 3 4; do BEACON_ETL=/tmp/a/beacon-etl sh perf/etl_ab.sh run A
#                        sh perf/etl_ab.sh run B; done
#   sh perf/etl_ab.sh run big '[views]\nbatch_rows = 200000\nbatch_bytes = 80M'
#   sh perf/etl_ab.sh stop
# Output per run: LABEL rows/s N secs S cpu_etl C cpu_ch_kafka K (CPU seconds
# over the window) fetch_kicks F (bcn_etl_kick_fetchers seeks in the run).
# Loopback only; every wait has a deadline.
set -eu
cd "$(dirname "$0")/.."
IT_NAME=etl_ab
W=build/etl-ab
CH_HTTP=48123 CH_TCP=49000 ETL_MET=49471
. tests/integration/lib.sh
trap - EXIT INT TERM # the servers outlive each invocation: `stop` ends them
. tests/integration/etl/common.sh

case "${1:-}" in
setup)
	N=${2:-600000}
	P=${3:-64}
	[ ! -s "$W/kafka.pid" ] || it_fail "already set up ($W): run '$0 stop' first"
	rm -rf "$W"
	mkdir -p "$W"
	[ $((N * 430)) -lt $((P * 5 * 1024 * 1024)) ] || it_fail "$N records do not fit in $P partitions of kafka-dev"
	it_log "generating $N view records"
	python3 tests/integration/etl/gen_records.py --count "$N" --mix view=1 --out-dir "$W" > "$W/gen.out"
	echo "$N" > "$W/n"
	build/kafka-dev --partitions "$P" --bootstrap-file "$W/bootstrap" > "$W/kafka.log" 2>&1 &
	echo $! > "$W/kafka.pid"
	it_wait 10 "kafka-dev to write its bootstrap file" test -s "$W/bootstrap"
	BS=$(cat "$W/bootstrap")
	case "$BS" in 127.0.0.1:*) ;; *) it_fail "bootstrap is not on loopback: $BS" ;; esac
	! curl -s "${CH_URL}ping" >/dev/null 2>&1 || it_fail "port $CH_HTTP is taken by another server"
	sh etl/clickhouse/ch-single.sh run "$W/ch" "$CH_HTTP" "$CH_TCP" > "$W/ch.log" 2>&1 &
	echo $! > "$W/ch.pid"
	it_wait 60 "clickhouse-server to answer /ping on $CH_HTTP" curl -sf "${CH_URL}ping"
	etl_schema
	etl_produce "$W/ugc.views.tsv" ugc.views
	it_log "ready: $N records in ugc.views ($P partitions) on $BS; ClickHouse on $CH_HTTP"
	;;
stop)
	for f in kafka ch; do
		[ -s "$W/$f.pid" ] || continue
		p=$(cat "$W/$f.pid")
		kill -TERM "$p" 2>/dev/null || true
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null || true
		rm -f "$W/$f.pid"
	done
	;;
run)
	LAB=${2:?label}
	[ -s "$W/kafka.pid" ] && kill -0 "$(cat "$W/kafka.pid")" 2>/dev/null || it_fail "not set up: run '$0 setup'"
	N=$(cat "$W/n")
	BS=$(cat "$W/bootstrap")
	CHPID=$(cat "$W/ch.pid")
	KPID=$(cat "$W/kafka.pid")
	etl_q "TRUNCATE TABLE ugc.views" > /dev/null
	etl_views_config "$W/etl.ini" "ab-$LAB-$$-$(date +%s)" "format = rowbinary" "${3:-}"
	: > "$W/timeline.txt"
	etl_window_open "$N" "$W/timeline.txt"
	${BEACON_ETL:-build/beacon-etl} --config "$W/etl.ini" > "$W/etl.log" 2>&1 &
	EP=$!
	IT_PIDS="$IT_PIDS $EP"
	trap it_cleanup EXIT INT TERM # stop this run's ETL, even on failure
	TSP=
	if [ -n "${TS:-}" ]; then
		python3 - "$EP" "$CHPID" > "$W/threads.txt" <<'PY' &
import os, sys, time
pids = [int(a) for a in sys.argv[1:]]
def snap():
    d = {}
    for pid in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                s = open("/proc/%d/task/%s/stat" % (pid, t)).read()
            except OSError:
                continue
            name = s[s.index("(") + 1:s.rindex(")")]
            f = s[s.rindex(")") + 2:].split()
            d[name] = d.get(name, 0) + int(f[11]) + int(f[12])
    return d
prev, t0 = snap(), time.time()
while os.path.exists("/proc/%d" % pids[0]) and time.time() - t0 < 120:
    time.sleep(0.1)
    cur = snap()
    busy = {k: cur[k] - prev.get(k, 0) for k in cur if cur[k] - prev.get(k, 0) > 0}
    if busy:
        print("%.1f %s" % (time.time() - t0, " ".join("%s=%d" % kv for kv in sorted(busy.items()))), flush=True)
    prev = cur
PY
		TSP=$!
	fi
	t1=$(etl_window_next "beacon-etl's partitions ($W/etl.log)") || exit 1
	c0=$(etl_cpu "$EP"); k0=$(etl_cpu "$CHPID" "$KPID")
	t2=$(etl_window_next "$N rows inserted ($W/etl.log)") || exit 1
	c1=$(etl_cpu "$EP"); k1=$(etl_cpu "$CHPID" "$KPID")
	etl_window_close
	kicks=$(etl_metric beacon_etl_fetch_kicks_total)
	kill -TERM "$EP"
	wait "$EP" || it_fail "beacon-etl exit status $?"
	IT_PIDS=""
	[ -z "$TSP" ] || wait "$TSP" || true
	have=$(etl_q "SELECT count() FROM ugc.views")
	[ "$have" = "$N" ] || it_fail "ClickHouse holds $have rows, want $N"
	awk -v l="$LAB" -v n="$N" -v a="$t1" -v b="$t2" -v c="$(awk -v x="$c1" -v y="$c0" 'BEGIN { print x - y }')" \
		-v k="$(awk -v x="$k1" -v y="$k0" 'BEGIN { print x - y }')" \
		-v f="$kicks" 'BEGIN { printf "%s rows/s %.0f secs %.2f cpu_etl %.2f cpu_ch_kafka %.2f fetch_kicks %s\n", l, n / (b - a), b - a, c, k, f }'
	[ -z "${TL:-}" ] || awk -v a="$t1" 'NR % 6 == 1 { printf "  %.2f s  consumed %s  inserted %s\n", $1 - a, $2, $3 }' "$W/timeline.txt"
	[ -z "$TSP" ] || sed 's/^/  cpu ticks: /' "$W/threads.txt"
	;;
*)
	sed -n '8,14p' "$0" | sed 's/^# //' >&2
	exit 2
	;;
esac
