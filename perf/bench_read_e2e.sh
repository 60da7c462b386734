#!/bin/sh
# perf/bench_read_e2e.sh - read-your-writes of the read side, with the shipped
# defaults (beacond kafka.linger_ms 50, beacon-etl postgres.flush_ms 200):
# how long after beacond answered 204 to a like/bookmark does the user's own
# GET /v1/me/likes|bookmarks show it (tests/integration/read/e2e_read.py ryw:
# poll every 5 ms, one write at a time).  Two runs: idle, and under a
# background load of LOAD UDP beacons/s.  Not a timed test: the figures go to
# docs/read-api.md and perf/RESULTS.md.
#
#   sh perf/bench_read_e2e.sh [PROBES [LOAD]]     defaults 200 and 10000
set -eu
cd "$(dirname "$0")/.."
P=${1:-200}
L=${2:-10000}
OUT=build/perf/read_e2e.txt
mkdir -p build/perf
: > "$OUT"
echo "bench_read_e2e: $P probes idle, then $P under $L UDP beacons/s; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
READ_E2E_DEFAULTS=1 READ_E2E_PROBES=$P READ_E2E_OUT=$OUT sh tests/integration/test_read_e2e.sh | grep -E 'ryw|PASS|FAIL'
READ_E2E_DEFAULTS=1 READ_E2E_PROBES=$P READ_E2E_LOAD=$L READ_E2E_OUT=$OUT sh tests/integration/test_read_e2e.sh | grep -E 'ryw|background|PASS|FAIL'
echo "bench_read_e2e: idle:   $(sed -n 1p "$OUT")"
echo "bench_read_e2e: loaded: $(sed -n 2p "$OUT")"
