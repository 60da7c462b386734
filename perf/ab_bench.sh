#!/bin/sh
# perf/ab_bench.sh - interleaved A/B of two builds on one benchmark case (not
# a test).  This VM's speed moves up to 2x within minutes, so a before/after
# is only fair if both builds alternate, run by run; the medians are the
# figures (perf/RESULTS.md).
#
#   sh perf/ab_bench.sh CASE A_BUILD_DIR B_BUILD_DIR [PAIRS]   (default 8 pairs)
#   CASE: parse-json   bench-parse, "json parse: view heartbeat, anon", 0.6 s
#         pcap-json | pcap-bin | pcap-bin200
#                    bench-dpdk on the config and pcap that perf/bench_dpdk.sh
#                    wrote under build/perf/dpdk (run it once first), 2 s
#   e.g. a worktree of the commit before:  git worktree add /tmp/base HEAD~1 &&
#        make -C /tmp/base all && sh perf/ab_bench.sh pcap-json /tmp/base/build build
# Prints every run (A then B, PAIRS times) and each side's median.
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
CASE=$1 A=$2 B=$3 PAIRS=${4:-8}
one() { # BUILD_DIR -> M beacons/s
	case $CASE in
	parse-json)
		taskset -c 1 "$1/bench-parse" --filter "json parse: view heartbeat, anon" --seconds 0.6 2>/dev/null |
			awk -F'|' '/^\| json parse/ { gsub(/[ ,]/, "", $4); printf "%.2f\n", $4 / 1e6 }' ;;
	pcap-*)
		ini=build/perf/dpdk/$CASE.ini
		[ -f "$ini" ] || { echo "ab_bench: $ini missing: run perf/bench_dpdk.sh once" >&2; exit 2; }
		"$1/bench-dpdk" --config "$ini" --seconds 2 --sink-cpu 0 2>/dev/null |
			sed -n 's/^worker 0 ([^)]*): \([0-9.]*\) M beacons.*/\1/p' ;;
	*) echo "ab_bench: unknown case $CASE" >&2; exit 2 ;;
	esac
}
i=1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
while [ $i -le "$PAIRS" ]; do
	a=$(one "$A"); b=$(one "$B")
	echo "pair $i: A $a  B $b"
	echo "A $a" >> "$tmp"; echo "B $b" >> "$tmp"
	i=$((i + 1))
done
sort -k1,1 -k2,2n "$tmp" | awk -v c="$CASE" '{ v[$1] = v[$1] " " $2; n[$1]++ }
	END { for (k in v) { split(v[k], s, " "); m = (n[k] % 2) ? s[(n[k] + 1) / 2] : (s[n[k] / 2] + s[n[k] / 2 + 1]) / 2;
	      printf "%s %s: median %.2f M/s, runs%s\n", c, k, m, v[k] } }' | sort
