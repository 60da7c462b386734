#!/bin/sh
# stack.sh - the whole local pipeline on one machine, for `make run`,
# `make up` and `make down`:
#
#   ClickHouse (single node, etl/clickhouse/ch-single.sh) + schema migration
#   kafka-dev (librdkafka's mock cluster)
#   beacond (socket driver)  →  Kafka  →  beacon-etl  →  ClickHouse
#
#   stack.sh up      start everything, wait until each part is ready, print
#                    the ports and write them to build/stack.env
#   stack.sh down    stop everything `up` started (by the pids it recorded)
#   stack.sh run     up, a bounded synthetic audience through beacond for
#                    RUN_SECONDS (default 60) with a progress line every 5 s,
#                    wait until every accepted beacon is a row in ClickHouse,
#                    print the report, down (also on failure or Ctrl-C)
#
# Everything listens on 127.0.0.1; state lives under build/stack/.  Every
# wait has a deadline and says what it waited for.  Binaries must be built
# (the Makefile's run/up targets build them first).
set -eu
cd "$(dirname "$0")/../.."
S=build/stack
ENV=build/stack.env
CH_HTTP_PORT=${CH_HTTP_PORT:-18123}
CH_TCP_PORT=${CH_TCP_PORT:-19000}
BEACON_UDP=${BEACON_UDP:-7070}
BEACON_HTTP=${BEACON_HTTP:-8080}
BEACON_METRICS=${BEACON_METRICS:-9470}
ETL_METRICS=${ETL_METRICS:-9471}
JWT_KEY=${JWT_KEY:-dev-key}
RUN_SECONDS=${RUN_SECONDS:-60}

log() { echo "stack: $*"; }
die() { echo "stack: ERROR: $*" >&2; exit 1; }

# wait_for SECONDS WHAT CMD...: retry CMD every 0.2 s until it succeeds.
wait_for() {
	_s=$1; _w=$2; shift 2
	_end=$(( $(date +%s) + _s ))
	until "$@" > /dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_end" ] || die "timed out after ${_s}s waiting for $_w"
		sleep 0.2
	done
}

# start NAME CMD...: run CMD in the background, log to $S/NAME.log, record its pid.
start() {
	_n=$1; shift
	"$@" > "$S/$_n.log" 2>&1 &
	echo "$!" > "$S/$_n.pid"
}

# metric PORT 'NAME{label="v"}': sum of the matching series on a /metrics page.
metric() {
	curl -sf "http://127.0.0.1:$1/metrics" | awk -v want="$2" '
		BEGIN { n = index(want, "{"); name = n ? substr(want, 1, n - 1) : want
		        lab = n ? substr(want, n + 1, length(want) - n - 1) : "" }
		/^#/ { next }
		{ split($1, a, "{"); if (a[1] != name) next
		  if (lab != "" && index($1, lab) == 0) next
		  s += $2 }
		END { printf "%d\n", s }'
}

ch_query() {
	curl -sf --max-time 30 "http://127.0.0.1:$CH_HTTP_PORT/" --data-binary "$1"
}

up() {
	[ -x build/beacond ] && [ -x build/beacon-etl ] && [ -x build/kafka-dev ] && [ -x build/beacon-blast ] ||
		die "binaries missing: run 'make' first (make run / make up build them)"
	if [ -f "$S/beacond.pid" ] && kill -0 "$(cat "$S/beacond.pid")" 2>/dev/null; then
		die "a stack is already running (build/stack.env); 'make down' first"
	fi
	mkdir -p "$S"
	log "[1/5] ClickHouse (single node) on 127.0.0.1:$CH_HTTP_PORT"
	etl/clickhouse/ch-single.sh start "$S/clickhouse" "$CH_HTTP_PORT" "$CH_TCP_PORT" > "$S/clickhouse.env" ||
		die "ClickHouse did not start (see $S/clickhouse/)"
	CLICKHOUSE_HTTP=http://127.0.0.1:$CH_HTTP_PORT
	etl/schema/migrate.sh --mode single "$CLICKHOUSE_HTTP" > "$S/migrate.log" 2>&1 ||
		die "schema migration failed: $(tail -3 "$S/migrate.log")"
	log "      schema applied ($(grep -c . "$S/migrate.log") lines in $S/migrate.log)"

	log "[2/5] kafka-dev (16 partitions per topic)"
	rm -f "$S/kafka.bootstrap"
	start kafka build/kafka-dev --partitions 16 --bootstrap-file "$S/kafka.bootstrap"
	wait_for 15 "kafka-dev's bootstrap file" test -s "$S/kafka.bootstrap"
	KAFKA_BOOTSTRAP=$(cat "$S/kafka.bootstrap")

	log "[3/5] beacond: UDP $BEACON_UDP, HTTP $BEACON_HTTP, metrics $BEACON_METRICS"
	cat > "$S/beacond.ini" <<EOF
[node]
name = dev-1
[udp]
port = $BEACON_UDP
rcvbuf = 16M
[http]
port = $BEACON_HTTP
[metrics]
port = $BEACON_METRICS
[auth]
jwt_keys = $JWT_KEY
[kafka]
brokers = $KAFKA_BOOTSTRAP
EOF
	start beacond build/beacond --config "$S/beacond.ini"
	wait_for 30 "beacond /readyz" curl -sf "http://127.0.0.1:$BEACON_METRICS/readyz"

	log "[4/5] beacon-etl: metrics $ETL_METRICS"
	cat > "$S/beacon-etl.ini" <<EOF
[kafka]
brokers = $KAFKA_BOOTSTRAP
[clickhouse]
endpoints = $CLICKHOUSE_HTTP
[metrics]
port = $ETL_METRICS
EOF
	start etl build/beacon-etl --config "$S/beacon-etl.ini"
	wait_for 30 "beacon-etl /readyz" curl -sf "http://127.0.0.1:$ETL_METRICS/readyz"

	cat > "$ENV" <<EOF
KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP
CLICKHOUSE_HTTP=$CLICKHOUSE_HTTP
BEACON_UDP=127.0.0.1:$BEACON_UDP
BEACON_HTTP=http://127.0.0.1:$BEACON_HTTP
BEACON_METRICS=http://127.0.0.1:$BEACON_METRICS
ETL_METRICS=http://127.0.0.1:$ETL_METRICS
JWT_KEY=$JWT_KEY
EOF
	log "[5/5] up; ports in $ENV:"
	sed 's/^/      /' "$ENV"
}

stop_pid() { # NAME
	[ -f "$S/$1.pid" ] || return 0
	_p=$(cat "$S/$1.pid")
	if kill -0 "$_p" 2>/dev/null; then
		kill -TERM "$_p" 2>/dev/null || true
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 150 ]; do sleep 0.1; _i=$((_i + 1)); done
		kill -KILL "$_p" 2>/dev/null || true
		log "stopped $1 (pid $_p)"
	fi
	rm -f "$S/$1.pid"
}

down() {
	# producers first, so that everything accepted can still flow downstream
	for n in blast-udp blast-bin blast-http beacond etl kafka; do stop_pid "$n"; done
	if [ -d "$S/clickhouse" ]; then
		etl/clickhouse/ch-single.sh stop "$S/clickhouse" > /dev/null 2>&1 || true
		log "stopped ClickHouse"
	fi
	rm -f "$ENV"
}

rows_in_clickhouse() {
	ch_query "SELECT sum(n) FROM (
		SELECT uniqExact(event_id) AS n FROM ugc.views UNION ALL
		SELECT uniqExact(event_id) FROM ugc.player_events UNION ALL
		SELECT uniqExact(event_id) FROM ugc.page_views UNION ALL
		SELECT uniqExact(event_id) FROM ugc.actions UNION ALL
		SELECT uniqExact(event_id) FROM ugc.likes UNION ALL
		SELECT uniqExact(event_id) FROM ugc.reviews UNION ALL
		SELECT uniqExact(event_id) FROM ugc.bookmarks)" | tr -d ' \n'
}

run() {
	trap 'down' EXIT
	trap 'exit 130' INT TERM
	# a fresh stack: counts in the report are this run's only
	[ -f "$S/beacond.pid" ] && kill -0 "$(cat "$S/beacond.pid")" 2>/dev/null &&
		die "a stack is already running (make down first)"
	rm -rf "$S"
	up
	rate_udp=5000 rate_bin=3000 rate_http=2000
	log "audience: ${RUN_SECONDS}s of 2,000 registered users and 1,000 anonymous devices on 200 films:"
	log "  UDP JSON ${rate_udp}/s, UDP binary ${rate_bin}/s, HTTP NDJSON ${rate_http}/s; 3% invalid beacons"
	common="--jwt-key $JWT_KEY --users 2000 --anon 1000 --films 200 --registered-share 0.6 --invalid-share 0.03 --quiet --duration $RUN_SECONDS"
	# shellcheck disable=SC2086
	start blast-udp build/beacon-blast $common --mode udp-json --target "127.0.0.1:$BEACON_UDP" \
		--rate $rate_udp --count $((rate_udp * RUN_SECONDS)) --seed 1
	# shellcheck disable=SC2086
	start blast-bin build/beacon-blast $common --mode udp-bin --target "127.0.0.1:$BEACON_UDP" \
		--rate $rate_bin --count $((rate_bin * RUN_SECONDS)) --seed 2
	# shellcheck disable=SC2086
	start blast-http build/beacon-blast $common --mode http --target "127.0.0.1:$BEACON_HTTP" \
		--batch 20 --conns 2 --rate $rate_http --count $((rate_http * RUN_SECONDS)) --seed 3
	t=0
	while :; do
		running=0
		for n in blast-udp blast-bin blast-http; do
			kill -0 "$(cat "$S/$n.pid")" 2>/dev/null && running=1
		done
		[ $running = 1 ] || break
		[ $t -lt $((RUN_SECONDS + 60)) ] || die "the load generators did not finish in time"
		sleep 5
		t=$((t + 5))
		log "t=${t}s accepted $(metric "$BEACON_METRICS" beacond_beacons_accepted_total)," \
			"rejected $(metric "$BEACON_METRICS" beacond_beacons_rejected_total)," \
			"in Kafka $(metric "$BEACON_METRICS" 'beacond_kafka_delivered_total{status="persisted"}')," \
			"rows in ClickHouse $(rows_in_clickhouse)"
	done
	for n in blast-udp blast-bin blast-http; do
		wait "$(cat "$S/$n.pid")" 2>/dev/null || true
		rm -f "$S/$n.pid"
	done
	accepted=$(metric "$BEACON_METRICS" beacond_beacons_accepted_total)
	log "load done; waiting until all $accepted accepted beacons are rows in ClickHouse"
	end=$(( $(date +%s) + 120 ))
	while [ "$(rows_in_clickhouse)" != "$accepted" ]; do
		[ "$(date +%s)" -lt "$end" ] ||
			die "after 120 s ClickHouse holds $(rows_in_clickhouse) of $accepted accepted beacons"
		sleep 1
	done

	echo
	echo "================ beacond + beacon-etl + ClickHouse: report ================"
	for f in blast-udp blast-bin blast-http; do
		printf '%-11s sent %s (valid %s, invalid %s) in %ss\n' "$f" \
			"$(awk '$1 == "sent" { print $2 }' "$S/$f.log")" \
			"$(awk '$1 == "sent_valid" { print $2 }' "$S/$f.log")" \
			"$(awk '$1 == "sent_invalid" { print $2 }' "$S/$f.log")" \
			"$(awk '$1 == "elapsed_s" { print $2 }' "$S/$f.log")"
	done
	echo "beacond: accepted $accepted, rejected $(metric "$BEACON_METRICS" beacond_beacons_rejected_total)," \
		"dropped $(metric "$BEACON_METRICS" beacond_beacons_dropped_total)"
	echo "rejected by reason:"
	curl -sf "http://127.0.0.1:$BEACON_METRICS/metrics" |
		awk '/^beacond_beacons_rejected_total/ && $2 > 0 {
			match($1, /reason="[a-z_]*"/); r = substr($1, RSTART + 8, RLENGTH - 9); n[r] += $2 }
			END { for (r in n) printf "  %-16s %d\n", r, n[r] }' | sort
	echo "accepted beacons now rows in ClickHouse: $(rows_in_clickhouse) of $accepted"
	etl/clickhouse/ch-report.sh "http://127.0.0.1:$CH_HTTP_PORT"
	echo "==========================================================================="
}

case "${1:-}" in
up) up ;;
down) down ;;
run) run ;;
*) echo "usage: $0 up|down|run" >&2; exit 2 ;;
esac
