#!/usr/bin/env bash
# perf/e2e_latency.sh - the whole pipeline on this machine: beacons/s from the
# wire to rows in ClickHouse, and the latency from send to queryable, with the
# memory of beacond and beacon-etl under each load.
#
#   perf/e2e_latency.sh        (binaries built: make all; loopback only)
#
# Per run (E2E_RUNS, default 3): a fresh kafka-dev, beacond and beacon-etl in
# the configuration `make run` uses (app/tools/stack.sh), one ClickHouse for all
# runs (etl/clickhouse/ch-single.sh, schema by migrate.sh; tables truncated
# before each run), then
#   1. throughput: beacon-blast --mode http, NDJSON batches of 50, 8
#      connections, E2E_COUNT beacons (lossless: 503 + retry), timed until
#      ClickHouse holds a row for every accepted beacon;
#   2. latency, idle: marked beacons over UDP at E2E_PROBE_RATE/s for
#      E2E_PROBE_SECONDS, ClickHouse polled every 50 ms (perf/e2e_measure.py);
#   3. latency, loaded: the same probes while beacon-blast sends
#      E2E_BG_RATE UDP beacons/s of the synthetic audience.
# Writes perf/results/e2e.md and perf/results/e2e.json (replaced each run) and
# prints the markdown.
# Knobs: E2E_RUNS=3 E2E_COUNT=300000 E2E_PROBE_RATE=10 E2E_PROBE_SECONDS=15
#   E2E_BG_RATE=10000 ports E2E_PORT_BASE=36000 (CH http +123, tcp +900,
#   beacond udp +70 http +80 metrics +470, etl metrics +471)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${E2E_RUNS:-3}
COUNT=${E2E_COUNT:-300000}
PROBE_RATE=${E2E_PROBE_RATE:-10}
PROBE_S=${E2E_PROBE_SECONDS:-15}
BG_RATE=${E2E_BG_RATE:-10000}
B=${E2E_PORT_BASE:-36000}
CH_HTTP=$((B + 123)) CH_TCP=$((B + 900)) P_UDP=$((B + 70)) P_HTTP=$((B + 80)) P_MET=$((B + 470)) P_ETL=$((B + 471))
W=$ROOT/build/perf/e2e
RES=$W/results
PY=/usr/bin/python3
T_START=$(date +%s)
say() { printf '[e2e %s +%ds] %s\n' "$(date +%T)" $(( $(date +%s) - T_START )) "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

PIDS=""
stop_pid() {
	local p=$1
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in $PIDS; do stop_pid "$p"; done
	etl/clickhouse/ch-single.sh stop "$W/ch" > /dev/null 2>&1 || true
	if [ $rc -eq 0 ]; then rm -rf "$W/ch/ch/data"; else say "failed (exit $rc); logs in $W"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for b in beacond beacon-etl kafka-dev beacon-blast; do [ -x "build/$b" ] || die "build/$b missing (make all)"; done
for p in $CH_HTTP $CH_TCP $P_UDP $P_HTTP $P_MET $P_ETL; do
	[ -z "$(ss -Hlnut "sport = :$p" 2>/dev/null)" ] || die "port $p is in use (set E2E_PORT_BASE)"
done
etl/clickhouse/ch-single.sh stop "$W/ch" > /dev/null 2>&1 || true
rm -rf "$W"
mkdir -p "$W" "$RES"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "runs $RUNS; throughput $COUNT beacons; probes ${PROBE_RATE}/s x ${PROBE_S}s idle and with ${BG_RATE}/s UDP background; load $LOAD_BEFORE"

etl/clickhouse/ch-single.sh start "$W/ch" "$CH_HTTP" "$CH_TCP" > /dev/null 2> "$W/ch-start.log" || die "ClickHouse: $(tail -3 "$W/ch-start.log")"
CH=http://127.0.0.1:$CH_HTTP
sh etl/schema/migrate.sh --mode single "$CH" > "$W/migrate.log" 2>&1 || die "migrate: $(tail -3 "$W/migrate.log")"
chq() { curl -sS --fail-with-body --max-time 60 "$CH/" --data-binary "$1"; }
metric() { # PORT NAME: sum of the series
	curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }'
}
wait_for() { # SECONDS WHAT CMD...
	local s=$1 w=$2 end; shift 2
	end=$(( $(date +%s) + s ))
	until "$@" > /dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || die "timed out after ${s}s waiting for $w"
		sleep 0.2
	done
}
all_assigned() { [ "$(metric "$P_ETL" beacon_etl_partitions_assigned)" -ge 48 ]; }

BLAST="build/beacon-blast --mode http --target 127.0.0.1:$P_HTTP --batch 50 --conns 8 --count $COUNT --duration 120 --jwt-key dev-key --users 2000 --anon 1000 --films 200 --registered-share 0.6 --seed 11 --quiet"
BG="build/beacon-blast --mode udp-json --target 127.0.0.1:$P_UDP --rate $BG_RATE --count $((BG_RATE * (PROBE_S + 2))) --duration $((PROBE_S + 10)) --jwt-key dev-key --users 2000 --anon 1000 --films 200 --registered-share 0.6 --seed 12 --quiet"

for run in $(seq 1 "$RUNS"); do
	d=$W/run$run
	mkdir -p "$d"
	for t in views player_events page_views actions likes reviews bookmarks; do chq "TRUNCATE TABLE ugc.$t" > /dev/null; done
	build/kafka-dev --partitions 16 --bootstrap-file "$d/bootstrap" > "$d/kafka-dev.log" 2>&1 &
	KP=$!; PIDS="$KP $PIDS"
	wait_for 15 "kafka-dev's bootstrap file" test -s "$d/bootstrap"
	BS=$(cat "$d/bootstrap")
	cat > "$d/beacond.ini" <<EOF
[node]
name = e2e-1
[udp]
address = 127.0.0.1
port = $P_UDP
rcvbuf = 16M
[http]
address = 127.0.0.1
port = $P_HTTP
[metrics]
address = 127.0.0.1
port = $P_MET
[auth]
jwt_keys = dev-key
[kafka]
brokers = $BS
EOF
	build/beacond --config "$d/beacond.ini" > "$d/beacond.log" 2>&1 &
	DP=$!; PIDS="$DP $PIDS"
	wait_for 30 "beacond /readyz" curl -sf "http://127.0.0.1:$P_MET/readyz"
	cat > "$d/beacon-etl.ini" <<EOF
[kafka]
brokers = $BS
[clickhouse]
endpoints = $CH
[metrics]
port = $P_ETL
EOF
	build/beacon-etl --config "$d/beacon-etl.ini" > "$d/beacon-etl.log" 2>&1 &
	EP=$!; PIDS="$EP $PIDS"
	wait_for 30 "beacon-etl /readyz" curl -sf "http://127.0.0.1:$P_ETL/readyz"
	wait_for 60 "beacon-etl's consumer groups to get their partitions" all_assigned
	common=(--run "$run" --beacond-pid "$DP" --etl-pid "$EP" --ch "$CH")
	say "run $run/$RUNS: throughput"
	"$PY" perf/e2e_measure.py throughput "${common[@]}" --out "$RES/tp-$run.json" \
		--beacond-metrics "http://127.0.0.1:$P_MET/metrics" --blast "$BLAST"
	say "run $run/$RUNS: latency, idle"
	"$PY" perf/e2e_measure.py latency "${common[@]}" --out "$RES/lat-idle-$run.json" --label idle \
		--udp "127.0.0.1:$P_UDP" --rate "$PROBE_RATE" --seconds "$PROBE_S"
	say "run $run/$RUNS: latency, loaded"
	"$PY" perf/e2e_measure.py latency "${common[@]}" --out "$RES/lat-loaded-$run.json" --label "loaded (${BG_RATE}/s UDP)" \
		--udp "127.0.0.1:$P_UDP" --rate "$PROBE_RATE" --seconds "$PROBE_S" --bg "$BG"
	for p in $EP $DP $KP; do stop_pid "$p"; done
	PIDS=""
	grep -h "failed\|not delivered" "$d/beacond.log" | tail -1 >&2 || true
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
TOTAL=$(( $(date +%s) - T_START ))
export LOAD_BEFORE LOAD_AFTER TOTAL RUNS BLAST BG PROBE_RATE PROBE_S W
"$PY" - "$RES/info.json.txt" <<'EOF'
import json, os, platform, subprocess, sys
e = os.environ
cpu = subprocess.run("lscpu | sed -n 's/^Model name: *//p' | head -1", shell=True, capture_output=True, text=True).stdout.strip()
w = e["W"] + "/"
info = {"command": "perf/e2e_latency.sh", "date": subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout.strip(),
        "total_s": int(e["TOTAL"]), "runs": int(e["RUNS"]), "load_before": e["LOAD_BEFORE"], "load_after": e["LOAD_AFTER"],
        "machine": f"{os.cpu_count()} vCPU, {cpu}, kernel {platform.release()}",
        "blast": e["BLAST"], "bg": e["BG"], "probe_rate": e["PROBE_RATE"], "probe_seconds": e["PROBE_S"], "poll_ms": 50,
        "commands": ["build/kafka-dev --partitions 16 --bootstrap-file RUN/bootstrap",
                     "build/beacond --config RUN/beacond.ini      # [udp] rcvbuf 16M, [auth] jwt_keys dev-key, [kafka] brokers; defaults otherwise",
                     "build/beacon-etl --config RUN/beacon-etl.ini  # [kafka] brokers, [clickhouse] endpoints, [metrics] port; defaults otherwise",
                     "python3 perf/e2e_measure.py throughput ... --blast \"" + e["BLAST"] + "\"",
                     "python3 perf/e2e_measure.py latency ... --rate " + e["PROBE_RATE"] + " --seconds " + e["PROBE_S"] + "   # idle",
                     "python3 perf/e2e_measure.py latency ... --rate " + e["PROBE_RATE"] + " --seconds " + e["PROBE_S"] + " --bg \"" + e["BG"] + "\""]}
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF
mkdir -p perf/results
"$PY" perf/e2e_measure.py report --results "$RES" --md perf/results/e2e.md --json perf/results/e2e.json
say "done in ${TOTAL}s: perf/results/e2e.md"
