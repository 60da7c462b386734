#!/bin/sh
# tests/fuzz/run.sh SECONDS BIN... - bounded libFuzzer run of each target.
#
# For each target binary (build/fuzz/NAME): copy the seed corpus
# tests/fuzz/corpus/NAME/ to a fresh scratch dir <bindir>/work/NAME/corpus,
# fuzz for SECONDS with the dictionary that applies, print a one-line
# summary (executions, coverage, corpus growth, result), and keep any
# crashing / leaking / slow input under <bindir>/crashes/NAME/ (never wiped).
# The full log of the last run is <bindir>/work/NAME/fuzz.log.
#
# Exit status: 0 if every target ran clean, 1 if any crashed, leaked, timed
# out, ran out of memory or could not run; 2 on bad usage.
# Used by `make test-fuzz` (20 s per target) and `make fuzz` (300 s).
# POSIX sh (dash).

set -u

usage() {
	echo "usage: $0 SECONDS BIN..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
secs=$1
shift
case $secs in
'' | *[!0-9]*) usage ;;
esac
[ "$secs" -gt 0 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
ntargets=$#
i=0
failed=""
pid=""

# Stop the fuzzer we started (and only it) if we are interrupted.
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; fi; echo "fuzz: interrupted" >&2; exit 130' INT TERM HUP

: "${ASAN_OPTIONS:=detect_leaks=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

# Last value of "key: N" on libFuzzer's status lines ("#123 NEW cov: 45 ...").
status_field() { # $1 = log, $2 = key
	grep '^#[0-9]' "$1" 2>/dev/null | tail -n 1 |
		sed -n "s/.* $2: \\([0-9][0-9]*\\).*/\\1/p"
}
final_stat() { # $1 = log, $2 = stat name
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

echo "fuzz: $ntargets target(s), ${secs}s each"
for bin in "$@"; do
	i=$((i + 1))
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "[$i/$ntargets] $name: FAILED (no such executable: $bin)"
		failed="$failed $name"
		continue
	fi
	bindir=$(cd "$(dirname "$bin")" && pwd)
	work=$bindir/work/$name
	keep=$bindir/crashes/$name
	log=$work/fuzz.log
	rm -rf "$work"
	mkdir -p "$work/corpus" "$keep"

	seeds=0
	if [ -d "$here/corpus/$name" ]; then
		for f in "$here/corpus/$name"/*; do
			[ -f "$f" ] || continue
			cp "$f" "$work/corpus/"
			seeds=$((seeds + 1))
		done
	fi

	# Dictionary: tests/fuzz/NAME.dict if present, else by what it parses.
	dict=""
	if [ -f "$here/$name.dict" ]; then
		dict=$here/$name.dict
	else
		case $name in
		*json* | *ingest*) dict=$here/json.dict ;;
		*jwt*) dict=$here/jwt.dict ;;
		esac
	fi
	[ -z "$dict" ] || [ -f "$dict" ] || dict=""
	# Beacon parsers: allow inputs just past BCN_MAX_BEACON (20480).
	case $name in
	*jwt*) maxlen=4096 ;;
	*) maxlen=24576 ;;
	esac

	echo "[$i/$ntargets] $name: ${secs}s, $seeds seed(s), dict: $(if [ -n "$dict" ]; then basename "$dict"; else echo none; fi)"
	if [ -n "$dict" ]; then
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -max_len="$maxlen" -dict="$dict" \
			-artifact_prefix="$keep/" "$work/corpus" >"$log" 2>&1 &
	else
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -max_len="$maxlen" \
			-artifact_prefix="$keep/" "$work/corpus" >"$log" 2>&1 &
	fi
	pid=$!
	t=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		if [ $((t % 10)) -eq 0 ]; then
			echo "    ... ${t}s: execs $(grep '^#[0-9]' "$log" 2>/dev/null | tail -n 1 |
				sed -n 's/^#\([0-9]*\).*/\1/p') cov $(status_field "$log" cov)"
		fi
	done
	wait "$pid"
	rc=$?
	pid=""

	execs=$(final_stat "$log" number_of_executed_units)
	rate=$(final_stat "$log" average_exec_per_sec)
	rss=$(final_stat "$log" peak_rss_mb)
	cov=$(status_field "$log" cov)
	ft=$(status_field "$log" ft)
	corp=$(ls "$work/corpus" | wc -l | tr -d ' ')
	artifacts=$(sed -n 's/.*Test unit written to //p' "$log")

	result=ok
	if [ "$rc" -ne 0 ] || [ -n "$artifacts" ]; then
		if grep -q 'ERROR: LeakSanitizer' "$log"; then result="LEAK"
		elif grep -q 'fuzz invariant violated' "$log"; then result="CRASH (invariant)"
		elif grep -q 'ERROR: AddressSanitizer' "$log"; then result="CRASH (asan)"
		elif grep -q 'runtime error:' "$log"; then result="CRASH (ubsan)"
		elif grep -q 'ALARM: working on the last Unit' "$log"; then result="TIMEOUT"
		elif grep -q 'out-of-memory' "$log"; then result="OOM"
		elif grep -q 'deadly signal' "$log"; then result="CRASH"
		else result="FAILED (exit $rc)"
		fi
		failed="$failed $name"
	fi
	printf '%-14s %-18s execs=%s (%s/s) cov=%s ft=%s corpus=%s->%s rss=%sMB\n' \
		"$name" "$result" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
		"$seeds" "$corp" "${rss:-?}"
	if [ "$result" != ok ]; then
		for a in $artifacts; do
			echo "    input kept: $a"
			echo "    reproduce:  FUZZ_VERBOSE=1 $bin $a"
		done
		echo "    log: $log (last lines follow)"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed"
	exit 1
fi
echo "fuzz: all $ntargets target(s) clean"
exit 0
