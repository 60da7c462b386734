#!/bin/sh
# perf/when_quiet.sh - run perf/bench_dpdk.sh only while this machine is as
# fast as it gets (a benchmark, not a test).
#
# Why this exists: this 2-vCPU VM's speed moves 2-5x within minutes, with
# neighbours we cannot see (a 0.4 s parse probe of an unchanged binary gives
# 1.5-9 M beacons/s through a day; perf/RESULTS.md, "DPDK fast path").  The
# DPDK targets are per-lcore figures of an idle host, so the benchmark is
# only worth running in a fast phase.  This probes the machine every 20 s
# and starts the benchmark when the probe passes a threshold; sessions used
# it by hand (/tmp/watch.sh) before it was kept here.
#
#   sh perf/when_quiet.sh
#   env: QUIET_MIN (M beacons/s the probe must reach: 7.6, ~85 % of the
#                   quiet machine's ~9),
#        QUIET_SECS (how long to watch: 1800), QUIET_RUNS (benchmarks at most: 2),
#        QUIET_OUT (directory for each run's output: build/perf/quiet),
#        QUIET_BUSY (a file; while it exists, nothing is probed or run,
#                    e.g. while another benchmark uses the machine:
#                    /tmp/bench.busy),
#        and bench_dpdk.sh's own (CASES, RUNS, EAL_ARGS; SECONDS_PER_RUN
#        is passed as its argument: 5).
#   With hugepages: root, and EAL_ARGS="--in-memory -m 512"; this reserves
#   512 pages (2 MiB) for the watch and gives them back at the end.
#
# The probe: the median of three 0.4 s runs of bench-parse's anonymous JSON
# view on WORKER_CPU (1), the core the DPDK worker runs on.  Output: one line
# per probe, and each run's summary (its full output in QUIET_OUT/runN.txt).
# Bounded: QUIET_SECS of watching and QUIET_RUNS runs; every run is bounded
# by bench_dpdk.sh's own timeouts.
set -eu
cd "$(dirname "$0")/.."
MIN=${QUIET_MIN:-7.6}
SECS=${QUIET_SECS:-1800}
MAXRUNS=${QUIET_RUNS:-2}
OUT=${QUIET_OUT:-build/perf/quiet}
BUSY=${QUIET_BUSY:-/tmp/bench.busy}
WCPU=${WORKER_CPU:-1}
PER=${SECONDS_PER_RUN:-5}
[ -x build/bench-parse ] || { echo "when_quiet: build/bench-parse missing (make all)" >&2; exit 2; }
mkdir -p "$OUT"
HP=
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
	HP=$(cat /proc/sys/vm/nr_hugepages)
	echo 512 > /proc/sys/vm/nr_hugepages
	trap 'echo "$HP" > /proc/sys/vm/nr_hugepages' EXIT
	trap 'exit 130' INT TERM
fi

probe() {
	for _k in 1 2 3; do
		taskset -c "$WCPU" build/bench-parse --filter "json parse: view heartbeat, anon" --seconds 0.4 2>/dev/null |
			tail -1 | sed -n 's/.*(\([0-9.]*\) M\/s).*/\1/p'
	done | sort -n | sed -n 2p
}

end=$(($(date +%s) + SECS))
runs=0
echo "when_quiet: watching until $(date -d "@$end" +%T) for a probe >= $MIN M/s (at most $MAXRUNS run(s))"
while [ "$(date +%s)" -lt "$end" ] && [ "$runs" -lt "$MAXRUNS" ]; do
	if [ -e "$BUSY" ]; then
		sleep 5
		continue
	fi
	p=$(probe)
	echo "$(date +%T) probe ${p:-?} M/s"
	if [ -n "$p" ] && awk -v p="$p" -v m="$MIN" 'BEGIN { exit !(p >= m) }'; then
		runs=$((runs + 1))
		echo "$(date +%T) run $runs: sh perf/bench_dpdk.sh $PER (CASES=${CASES:-all}, RUNS=${RUNS:-3})"
		rc=0
		sh perf/bench_dpdk.sh "$PER" > "$OUT/run$runs.txt" 2>&1 || rc=$?
		echo "$(date +%T) run $runs ended (exit $rc), probe now $(probe) M/s; best per case:"
		grep -E "^bench_dpdk: best|^\|" "$OUT/run$runs.txt" || true
	else
		sleep 20
	fi
done
echo "when_quiet: done at $(date +%T), $runs run(s); outputs in $OUT"
