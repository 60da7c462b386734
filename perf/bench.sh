#!/usr/bin/env bash
# perf/bench.sh - `make bench`: the whole benchmark suite, side by side with
# the peers, in one run on this machine, then perf/RESULTS.md rewritten:
# a generated summary at the top (every measurement: median of the runs,
# min-max, the peer's figure from the same run, the ratio, the machine, the
# load, the command), PNG plots, the end-to-end section, then each
# benchmark owner's own section, kept as it is.
#
#   perf/bench.sh            (root; binaries built first: make all)
#
# Steps (each bounded with `timeout`; a step that fails or would overrun the
# budget is recorded as such in the summary and the suite goes on):
#   parse   build/bench-parse, PARSE_RUNS times (--seconds PARSE_SECONDS)
#   ingest  perf/bench_ingest.sh (UDP -> Kafka vs rsyslog, HTTP vs nginx, NDJSON, memory)
#   etl     perf/bench_etl.sh (beacon-etl vs kcat | clickhouse-client)
#   dpdk    perf/bench_dpdk.sh (pcap infinite_rx, memif copy and zero-copy, ingest-only baseline)
#   e2e     perf/e2e_latency.sh (wire -> ClickHouse rows/s, send -> queryable latency)
# The raw output of each step goes to perf/results/<step>.log (replaced each
# run); bench_ingest.sh also writes its own perf/results/ingest-STAMP.md.
#
# Knobs (environment), chosen so that the suite fits in 20 minutes here:
#   BENCH_STEPS="parse ingest etl dpdk e2e"   BENCH_BUDGET_S=1150
#   BENCH_WAIT_LOAD=1.5 BENCH_WAIT_MAX_S=600  wait (bounded) for a quieter machine first
#   PARSE_RUNS=3 PARSE_SECONDS=0.9
#   INGEST_RUNS=3 INGEST_EXTRA=0 INGEST_BUDGET_S=330   (bench_ingest.sh's RUNS, EXTRA, BUDGET_S)
#   ETL_RECORDS=600000 ETL_PARTITIONS=64 ETL_RUNS=3    (bench_etl.sh's arguments)
#   DPDK_SECONDS=3 DPDK_RUNS=2                          (bench_dpdk.sh's SECONDS and RUNS)
#   DPDK_HUGEPAGES=256  2 MiB pages the dpdk step reserves for itself (EAL
#       --in-memory, as beacond runs in production, docs/dpdk.md), when run
#       as root and none are reserved; released after the step (and on exit).
#       Pages someone else reserved (at least half that many) are used as they are.
#       0, or not root: --no-huge (4 KiB pages: slower, zero-copy memif most)
#   E2E_RUNS=3 E2E_COUNT=500000 (and perf/e2e_latency.sh's other E2E_* knobs)
#   BENCH_WRITE=1 (0: do not touch perf/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STEPS=${BENCH_STEPS:-parse ingest etl dpdk e2e}
BUDGET=${BENCH_BUDGET_S:-1150}
WAIT_LOAD=${BENCH_WAIT_LOAD:-1.5}
WAIT_MAX=${BENCH_WAIT_MAX_S:-600}
PARSE_RUNS=${PARSE_RUNS:-3}
PARSE_SECONDS=${PARSE_SECONDS:-0.9}
INGEST_RUNS=${INGEST_RUNS:-3}
INGEST_EXTRA=${INGEST_EXTRA:-0}
INGEST_BUDGET_S=${INGEST_BUDGET_S:-330}
ETL_RECORDS=${ETL_RECORDS:-600000}
ETL_PARTITIONS=${ETL_PARTITIONS:-64}
ETL_RUNS=${ETL_RUNS:-3}
DPDK_SECONDS=${DPDK_SECONDS:-3}
DPDK_RUNS=${DPDK_RUNS:-2}
DPDK_HUGEPAGES=${DPDK_HUGEPAGES:-256}
export E2E_RUNS=${E2E_RUNS:-3}
export E2E_COUNT=${E2E_COUNT:-500000}
WRITE=${BENCH_WRITE:-1}
OUT=perf/results
W=$ROOT/build/bench
T0=$(date +%s)
say() { printf '[bench %s +%4ds] %s\n' "$(date +%T)" $(( $(date +%s) - T0 )) "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

SAMPLER=""
HP_RESERVED=0
NR_HP=/proc/sys/vm/nr_hugepages
hp_release() { # the pages the dpdk step reserved, back to the system
	[ "$HP_RESERVED" = 0 ] || { echo 0 > "$NR_HP" 2>/dev/null || true; HP_RESERVED=0; }
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
	hp_release
	[ $rc -eq 0 ] || say "failed (exit $rc)"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$W" "$OUT"
rm -f "$W"/*.step "$OUT/etl-runs.txt" "$OUT/dpdk-runs.log"
for b in bench-parse beacond beacon-blast kafka-dev beacon-etl; do
	[ -x "build/$b" ] || die "build/$b missing: run 'make all' first (make bench does)"
done

# A quieter machine first (bounded): the suite shares the cores with other work.
load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" -v t="$WAIT_LOAD" 'BEGIN { exit !(l > t) }' && [ $waited -lt "$WAIT_MAX" ]; do
	[ $waited = 0 ] && say "load average $(load1) > $WAIT_LOAD: waiting up to ${WAIT_MAX}s for a quieter machine"
	sleep 30
	waited=$((waited + 30))
done
[ $waited = 0 ] || say "waited ${waited}s; load average now $(load1) (recorded with every step)"
T0=$(date +%s)

# machine, and the load every 5 s during the whole run
{
	echo "date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc=$(nproc)"
	echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
	echo "kernel=$(uname -r)"
	echo "ram=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "git=$(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "gcc=$(gcc --version | head -1)"
	echo "waited_s=$waited"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$W/machine.env"
( while :; do echo "$(date +%s) $(cut -d' ' -f1 /proc/loadavg)"; sleep 5; done ) > "$W/load.log" &
SAMPLER=$!

# ports_free_or_wait NAME PORT...: the fixed ports a step's script uses; another
# engineer running the same script would make it fail: wait (bounded) for them
PORT_WAIT=${BENCH_PORT_WAIT_S:-300}
ports_free_or_wait() {
	local name=$1 waited=0 busy p; shift
	while :; do
		busy=""
		for p in "$@"; do [ -z "$(ss -Hlnut "sport = :$p" 2>/dev/null)" ] || busy="$busy $p"; done
		[ -n "$busy" ] || return 0
		if [ $waited -ge "$PORT_WAIT" ]; then
			say "skip $name: ports$busy still in use after ${waited}s (someone else is running it)"
			printf 'status=skipped\nreason=ports%s in use by another run of the same benchmark\n' "$busy" > "$W/$name.step"
			return 1
		fi
		[ $waited -gt 0 ] || say "$name: ports$busy in use (another run of the same benchmark?); waiting up to ${PORT_WAIT}s"
		sleep 10
		waited=$((waited + 10))
	done
}

# step NAME EST_SECONDS TIMEOUT CMD...: run CMD (output to perf/results/NAME.log)
# unless the budget would be overrun; record start/end/status in build/bench/NAME.step
step() {
	local name=$1 est=$2 tmo=$3 rc=0 t1; shift 3
	local left=$(( BUDGET - ($(date +%s) - T0) ))
	if [ "$est" -gt "$left" ]; then
		say "skip $name: needs ~${est}s, ${left}s of the ${BUDGET}s budget left"
		printf 'status=skipped\nreason=budget: needs ~%ss, %ss left\n' "$est" "$left" > "$W/$name.step"
		return 0
	fi
	[ "$tmo" -le "$left" ] || tmo=$left
	say "$name: $* (timeout ${tmo}s)"
	t1=$(date +%s)
	timeout --signal=TERM --kill-after=30 "$tmo" "$@" > "$OUT/$name.log" 2>&1 || rc=$?
	{
		echo "status=$([ $rc = 0 ] && echo ok || ([ $rc = 124 ] && echo timeout || echo failed))"
		echo "rc=$rc"
		echo "start=$t1"
		echo "end=$(date +%s)"
		printf 'command=%s\n' "$*"
	} > "$W/$name.step"
	say "$name: exit $rc after $(( $(date +%s) - t1 ))s; output in $OUT/$name.log"
	[ $rc = 0 ] || tail -5 "$OUT/$name.log" >&2
}

PARSE_CMD='for i in $(seq 1 '"$PARSE_RUNS"'); do echo "=== run $i: build/bench-parse --seconds '"$PARSE_SECONDS"'"; build/bench-parse --seconds '"$PARSE_SECONDS"' 2>/dev/null || exit 1; done'

for s in $STEPS; do
	case $s in
	parse) step parse $(( PARSE_RUNS * 25 )) 300 bash -c "$PARSE_CMD" ;;
	ingest) ports_free_or_wait ingest 27070 28080 29470 27071 28081 || continue
		# the report the previous suite run left (bench_ingest.sh writes a new file each run)
		prev=$(sed -n 's/.*done in [0-9]*s: \([^ ]*\.md\).*/\1/p' "$OUT/ingest.log" 2>/dev/null | tail -1)
		step ingest $(( INGEST_BUDGET_S + 40 )) $(( INGEST_BUDGET_S + 180 )) \
		env RUNS="$INGEST_RUNS" EXTRA="$INGEST_EXTRA" BUDGET_S="$INGEST_BUDGET_S" BUILD=0 bash perf/bench_ingest.sh
		# replaced, not accumulated: drop it unless someone's section of RESULTS.md cites it
		if grep -q '^status=ok' "$W/ingest.step" && [ -n "$prev" ] && [ -f "$prev" ] &&
			! awk '/^<!-- BEGIN GENERATED SUMMARY/ { g = 1 } !g { print } /^<!-- END GENERATED SUMMARY/ { g = 0 }' perf/RESULTS.md |
				grep -qF "$(basename "$prev")"; then
			rm -f "$prev"
			say "ingest: removed the previous suite run's report $(basename "$prev")"
		fi ;;
	etl) ports_free_or_wait etl 28123 29000 29471 || continue
		step etl 150 420 sh perf/bench_etl.sh "$ETL_RECORDS" "$ETL_PARTITIONS" "$ETL_RUNS"
		cp build/bench-etl/runs.txt "$OUT/etl-runs.txt" 2>/dev/null || true ;;
	dpdk)
		if [ -x build/bench-dpdk ] && [ -x build/memif-gen ]; then
			eal="--no-huge --no-shconf -m 512"
			if [ "$DPDK_HUGEPAGES" -gt 0 ] && [ "$(id -u)" = 0 ] && [ "$(cat "$NR_HP" 2>/dev/null || echo x)" = 0 ]; then
				echo "$DPDK_HUGEPAGES" > "$NR_HP" 2>/dev/null || true
				HP_RESERVED=1
				if [ "$(cat "$NR_HP")" -ge $(( DPDK_HUGEPAGES / 2 )) ]; then
					eal="--in-memory -m 512"
					say "dpdk: reserved $(cat "$NR_HP") x 2 MiB huge pages for this step"
				else
					say "dpdk: only $(cat "$NR_HP") huge pages could be reserved: --no-huge"
					hp_release
				fi
			elif [ "$DPDK_HUGEPAGES" -gt 0 ] && [ "$(cat "$NR_HP" 2>/dev/null || echo 0)" -ge $(( DPDK_HUGEPAGES / 2 )) ]; then
				eal="--in-memory -m 512" # reserved already, by someone else: used, left as they are
			fi
			step dpdk $(( DPDK_RUNS * 12 * (DPDK_SECONDS + 6) )) 400 env RUNS="$DPDK_RUNS" EAL_ARGS="$eal" sh perf/bench_dpdk.sh "$DPDK_SECONDS"
			hp_release
			cp build/perf/dpdk/runs.log "$OUT/dpdk-runs.log" 2>/dev/null || true
		else
			printf 'status=skipped\nreason=build/bench-dpdk or build/memif-gen missing (libdpdk-dev)\n' > "$W/dpdk.step"
		fi ;;
	e2e) ports_free_or_wait e2e 36123 36900 36070 36080 36470 36471 || continue
		step e2e 150 420 bash perf/e2e_latency.sh ;;
	*) die "unknown step $s" ;;
	esac
done
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=""
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$W/machine.env"
echo "total_s=$(( $(date +%s) - T0 ))" >> "$W/machine.env"
say "summary and plots"
python3 perf/bench_report.py --work "$W" --results "$OUT" --write "$WRITE" --knobs \
	"PARSE_RUNS=$PARSE_RUNS PARSE_SECONDS=$PARSE_SECONDS INGEST_RUNS=$INGEST_RUNS INGEST_EXTRA=$INGEST_EXTRA INGEST_BUDGET_S=$INGEST_BUDGET_S ETL_RECORDS=$ETL_RECORDS ETL_PARTITIONS=$ETL_PARTITIONS ETL_RUNS=$ETL_RUNS DPDK_SECONDS=$DPDK_SECONDS DPDK_RUNS=$DPDK_RUNS E2E_RUNS=$E2E_RUNS E2E_COUNT=$E2E_COUNT"
say "done in $(( $(date +%s) - T0 ))s (+${waited}s waiting for the load): perf/RESULTS.md"
