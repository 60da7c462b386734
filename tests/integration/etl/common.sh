# Shared set-up for beacon-etl's integration tests and benchmarks (POSIX sh;
# source after tests/integration/lib.sh, with W set to the scratch folder).
#   etl_start_kafka PARTITIONS      start kafka-dev; sets BS
#   etl_start_ch [NAME]             start a throwaway ClickHouse (data under $W/ch;
#                                   etl/clickhouse/ch-single.sh if present, else
#                                   tests/integration/etl/ch-start.sh; ETL_OWN_CH=1 forces ours);
#                                   sets CH_HTTP, CH_TCP, CH_URL; etl_stop_ch stops it
#   etl_schema                      create the ugc tables (etl/schema/migrate.sh --mode single
#                                   if present, else tests/integration/etl/schema.sql;
#                                   ETL_OWN_SCHEMA=1 forces ours)
#   etl_q SQL                       run SQL, print the answer (fails on an error)
#   etl_config FILE [EXTRA_INI]     write a beacon-etl config for the test ports
#   etl_start [NAME]                start beacon-etl on $W/etl.ini, wait for /healthz
#   etl_metric 'NAME{L="v"}'        sum of the matching series
#   etl_produce FILE TOPIC          produce key<TAB>value lines with kcat
#   etl_wait_rows SECS TABLE N      wait until TABLE FINAL holds N rows
ETL_MET=${ETL_MET:-19471}
CH_HTTP=${CH_HTTP:-18123}
CH_TCP=${CH_TCP:-19000}
CH_URL="http://127.0.0.1:$CH_HTTP/"
ETL_TABLES="views player_events page_views actions likes reviews bookmarks"

etl_start_kafka() {
	rm -f "$W/bootstrap"
	it_start "${IT_NAME}_kafka" build/kafka-dev --partitions "$1" --bootstrap-file "$W/bootstrap"
	it_wait 10 "kafka-dev to write its bootstrap file" test -s "$W/bootstrap"
	BS=$(cat "$W/bootstrap")
	case "$BS" in 127.0.0.1:*) ;; *) it_fail "bootstrap is not on loopback: $BS" ;; esac
}

etl_start_ch() {
	_n=${1:-${IT_NAME}_ch}
	! curl -s "${CH_URL}ping" >/dev/null 2>&1 || it_fail "port $CH_HTTP is taken by another server"
	command -v clickhouse-server >/dev/null || it_fail "clickhouse-server is not installed (make deps)"
	if [ -f etl/clickhouse/ch-single.sh ] && [ -z "${ETL_OWN_CH:-}" ]; then
		it_start "$_n" sh etl/clickhouse/ch-single.sh run "$W/ch" "$CH_HTTP" "$CH_TCP"
	else
		it_start "$_n" sh tests/integration/etl/ch-start.sh "$W/ch" "$CH_HTTP" "$CH_TCP"
	fi
	eval "CH_PID=\$IT_PID_$_n"
	it_wait 60 "clickhouse-server to answer /ping on $CH_HTTP" curl -sf "${CH_URL}ping"
	kill -0 "$CH_PID" 2>/dev/null || it_fail "clickhouse-server exited: $(tail -3 "$W/ch/log/error.log")"
}

# stop the server we started (SIGTERM, then SIGKILL after 20 s)
etl_stop_ch() {
	kill -TERM "$CH_PID" 2>/dev/null || true
	_i=0
	while kill -0 "$CH_PID" 2>/dev/null && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$CH_PID" 2>/dev/null || true
	wait "$CH_PID" 2>/dev/null || true
}

etl_q() {
	_r=$(curl -sS "$CH_URL" --data-binary "$1" -w '\n%{http_code}') || it_fail "query failed: $1"
	_c=$(printf '%s' "$_r" | tail -n 1)
	[ "$_c" = 200 ] || it_fail "query '$1': HTTP $_c: $(printf '%s' "$_r" | head -n 3)"
	printf '%s\n' "$_r" | sed '$d'
}

etl_schema() {
	if [ -f etl/schema/migrate.sh ] && [ -z "${ETL_OWN_SCHEMA:-}" ]; then
		sh etl/schema/migrate.sh --mode single "http://127.0.0.1:$CH_HTTP" > "$W/migrate.log" 2>&1 ||
			it_fail "etl/schema/migrate.sh failed: $(tail -3 "$W/migrate.log")"
	else
		grep -v '^--' tests/integration/etl/schema.sql | while IFS= read -r _l; do
			[ -z "$_l" ] || etl_q "$_l" > /dev/null
		done
	fi
	for _t in $ETL_TABLES; do etl_q "EXISTS TABLE ugc.$_t" | grep -q 1 || it_fail "table ugc.$_t missing"; done
}

etl_config() {
	{
		echo "[kafka]"; echo "brokers = $BS"; echo "session_timeout_ms = 6000"
		echo "[clickhouse]"; echo "endpoints = http://127.0.0.1:$CH_HTTP"
		echo "timeout_ms = 10000"
		echo "[metrics]"; echo "port = $ETL_MET"
		echo "[retry]"; echo "backoff_min_ms = 50"; echo "backoff_max_ms = 1000"
		[ $# -lt 2 ] || printf '%s\n' "$2"
	} > "$1"
}

# --- for the views benchmarks (perf/bench_etl.sh, perf/etl_ab.sh) ---

# etl_views_config FILE GROUP CLICKHOUSE_LINES EXTRA: ugc.views only (the
# events and actions streams off); EXTRA goes through printf %b.
etl_views_config() {
	etl_config "$1" "[kafka]
group_prefix = $2
[clickhouse]
$3
[events]
enabled = no
[actions]
enabled = no
$(printf '%b' "$4")"
}

# etl_cpu PID...: CPU seconds (user + sys) of the processes, summed.  One
# cat for all the files: the benchmarks call it inside their timed window,
# where every process started takes CPU from the ETL being timed.
etl_cpu() {
	_f=
	for _p in "$@"; do _f="$_f /proc/$_p/stat"; done
	# shellcheck disable=SC2086 # one word per file
	cat $_f 2>/dev/null | awk '{ s += $14 + $15 } END { printf "%.2f", s / 100 }'
}

# etl_window_open N [TIMELINE_FILE]: start perf/etl_poll.py -- before the
# ETL, so that its start-up stays out of the timed window -- to report, on
# fd 3, when the partitions are assigned and when all N view rows are in
# (and, with TIMELINE_FILE, records consumed and rows inserted per poll).
etl_window_open() {
	rm -f "$W/poll.fifo"
	mkfifo "$W/poll.fifo"
	_tl=
	[ -z "${2:-}" ] || _tl="--timeline $2"
	# shellcheck disable=SC2086 # _tl is two words or none
	python3 perf/etl_poll.py "$ETL_MET" 360 beacon_etl_partitions_assigned 1 \
		'beacon_etl_rows_inserted_total{stream="views",table="views"}' "$1" \
		$_tl ${_tl:+'beacon_etl_records_consumed_total{stream="views"}'} > "$W/poll.fifo" &
	POLL_PID=$!
	IT_PIDS="$IT_PIDS $POLL_PID"
	exec 3< "$W/poll.fifo"
}

# etl_window_next WHAT: print the wall-clock time of the poller's next
# moment; fails (exit 1, in the caller's $(...): add `|| exit 1`) if the
# poller gave up (its deadline: 360 s).
etl_window_next() {
	_t=
	read -r _t <&3 || true
	[ -n "$_t" ] || it_fail "perf/etl_poll.py gave up waiting for $1"
	echo "$_t"
}

# etl_window_close: after the last moment.
etl_window_close() {
	exec 3<&-
	wait "$POLL_PID" || it_fail "perf/etl_poll.py failed"
}

etl_start() {
	_n=${1:-${IT_NAME}_etl}
	it_start "$_n" "${BEACON_ETL:-build/beacon-etl}" --config "$W/etl.ini"
	eval "ETL_PID=\$IT_PID_$_n"
	it_wait 20 "beacon-etl /healthz to answer 200" curl -sf "http://127.0.0.1:$ETL_MET/healthz"
}

etl_metric() {
	curl -sf "http://127.0.0.1:$ETL_MET/metrics" | python3 -c '
import re, sys
name, _, labels = sys.argv[1].partition("{")
need = [l for l in labels.rstrip("}").split(",") if l]
tot = 0.0
for ln in sys.stdin:
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", ln)
    if m and m.group(1) == name and all(l in (m.group(2) or "") for l in need):
        tot += float(m.group(3))
print(int(tot) if tot == int(tot) else tot)' "$1"
}

etl_produce() {
	[ -s "$1" ] || return 0
	timeout 300 kcat -b "$BS" -P -t "$2" -K '	' -z lz4 -l "$1" ||
		it_fail "kcat could not produce $1 to $2"
}

etl_wait_rows() {
	_end=$(( $(date +%s) + $1 ))
	while :; do
		_have=$(curl -s "$CH_URL" --data-binary "SELECT count() FROM ugc.$2 FINAL" 2>/dev/null)
		[ "$_have" != "$3" ] || break
		[ "$(date +%s)" -lt "$_end" ] ||
			it_fail "timed out after ${1}s waiting for ugc.$2 FINAL to hold $3 rows (has ${_have:-?})"
		sleep 0.5
	done
}
