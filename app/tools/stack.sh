#!/bin/sh
# stack.sh - the whole local pipeline on one machine, for `make run`,
# `make up` and `make down`:
#
#   ClickHouse (single node, etl/clickhouse/ch-single.sh) + schema migration
#   PostgreSQL (etl/pg/pg-local.sh: the read side's current-state tables)
#   kafka-dev (librdkafka's mock cluster)
#   beacond (socket driver)  →  Kafka  →  beacon-etl  →  ClickHouse (analytics)
#                                                   └→  PostgreSQL  →  beacon-api (the site's reads)
#
#   stack.sh up      start everything, wait until each part is ready, print
#                    the ports and write them to build/stack.env
#   stack.sh down    stop everything `up` started (by the pids it recorded)
#   stack.sh run     up, a bounded synthetic audience through beacond for
#                    RUN_SECONDS (default 60) with a progress line every 5 s,
#                    wait until every accepted beacon is a row in ClickHouse
#                    and the PostgreSQL sink has caught up, print the report
#                    (with the read API's answers for the busiest user and
#                    film), down (also on failure or Ctrl-C)
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
PG_PORT=${PG_PORT:-15432}
API_PORT=${API_PORT:-8090}
API_METRICS=${API_METRICS:-9472}
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
	[ -x build/beacond ] && [ -x build/beacon-etl ] && [ -x build/kafka-dev ] && [ -x build/beacon-blast ] &&
		[ -x build/beacon-api ] && [ -x build/beacon-lint ] ||
		die "binaries missing: run 'make' first (make run / make up build them)"
	if [ -f "$S/beacond.pid" ] && kill -0 "$(cat "$S/beacond.pid")" 2>/dev/null; then
		die "a stack is already running (build/stack.env); 'make down' first"
	fi
	mkdir -p "$S"
	log "[1/7] ClickHouse (single node) on 127.0.0.1:$CH_HTTP_PORT"
	etl/clickhouse/ch-single.sh start "$S/clickhouse" "$CH_HTTP_PORT" "$CH_TCP_PORT" > "$S/clickhouse.env" ||
		die "ClickHouse did not start (see $S/clickhouse/)"
	CLICKHOUSE_HTTP=http://127.0.0.1:$CH_HTTP_PORT
	etl/schema/migrate.sh --mode single "$CLICKHOUSE_HTTP" > "$S/migrate.log" 2>&1 ||
		die "schema migration failed: $(tail -3 "$S/migrate.log")"
	log "      schema applied ($(grep -c . "$S/migrate.log") lines in $S/migrate.log)"

	log "[2/7] PostgreSQL (read side) on 127.0.0.1:$PG_PORT"
	sh etl/pg/pg-local.sh start "$S/pg" "$PG_PORT" > "$S/pg.env" 2> "$S/pg.log" ||
		die "PostgreSQL did not start: $(tail -3 "$S/pg.log")"
	. "$S/pg.env"
	log "      schema: $(grep 'migrate:' "$S/pg.log" | tr '\n' ' ')"

	log "[3/7] kafka-dev (16 partitions per topic)"
	rm -f "$S/kafka.bootstrap"
	start kafka build/kafka-dev --partitions 16 --bootstrap-file "$S/kafka.bootstrap"
	wait_for 15 "kafka-dev's bootstrap file" test -s "$S/kafka.bootstrap"
	KAFKA_BOOTSTRAP=$(cat "$S/kafka.bootstrap")

	log "[4/7] beacond: UDP $BEACON_UDP, HTTP $BEACON_HTTP, metrics $BEACON_METRICS"
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

	log "[5/7] beacon-etl (ClickHouse streams + PostgreSQL sink): metrics $ETL_METRICS"
	cat > "$S/beacon-etl.ini" <<EOF
[kafka]
brokers = $KAFKA_BOOTSTRAP
[clickhouse]
endpoints = $CLICKHOUSE_HTTP
[postgres]
enabled = yes
conninfo = $PG_CONNINFO
[metrics]
port = $ETL_METRICS
EOF
	start etl build/beacon-etl --config "$S/beacon-etl.ini"
	wait_for 30 "beacon-etl /readyz" curl -sf "http://127.0.0.1:$ETL_METRICS/readyz"

	log "[6/7] beacon-api (read API): HTTP $API_PORT, metrics $API_METRICS"
	cat > "$S/beacon-api.ini" <<EOF
[api]
port = $API_PORT
[metrics]
port = $API_METRICS
[pg]
conninfo = $PG_CONNINFO
[auth]
jwt_keys = $JWT_KEY
EOF
	start api build/beacon-api --config "$S/beacon-api.ini"
	wait_for 30 "beacon-api /readyz" curl -sf "http://127.0.0.1:$API_METRICS/readyz"

	cat > "$ENV" <<EOF
KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP
CLICKHOUSE_HTTP=$CLICKHOUSE_HTTP
BEACON_UDP=127.0.0.1:$BEACON_UDP
BEACON_HTTP=http://127.0.0.1:$BEACON_HTTP
BEACON_METRICS=http://127.0.0.1:$BEACON_METRICS
ETL_METRICS=http://127.0.0.1:$ETL_METRICS
PG_CONNINFO='$PG_CONNINFO'
READ_API=http://127.0.0.1:$API_PORT
READ_API_METRICS=http://127.0.0.1:$API_METRICS
JWT_KEY=$JWT_KEY
EOF
	log "[7/7] up; ports in $ENV (a read API token: build/beacon-lint --jwt-key $JWT_KEY --sign-token USER_UUID):"
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
	for n in blast-udp blast-bin blast-http beacond etl api kafka; do stop_pid "$n"; done
	if [ -d "$S/pg" ]; then
		sh etl/pg/pg-local.sh stop "$S/pg" > /dev/null 2>&1 || true
		log "stopped PostgreSQL"
	fi
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

# The read side: what beacon-api answers the site for the most active
# registered user and the most liked film of the run.
read_report() {
	pq() { psql "$PG_CONNINFO" -qAtX -c "$1"; }
	echo "---- read side (PostgreSQL current state, via beacon-api on 127.0.0.1:$API_PORT) ----"
	echo "PostgreSQL rows: likes $(pq 'SELECT count(*) FROM likes'), bookmarks $(pq 'SELECT count(*) FROM bookmarks')," \
		"reviews $(pq 'SELECT count(*) FROM reviews'), progress $(pq 'SELECT count(*) FROM progress')," \
		"films rated $(pq 'SELECT count(*) FROM film_stats')"
	echo "sink: applied $(metric "$ETL_METRICS" beacon_etl_pg_records_applied_total) records in" \
		"$(metric "$ETL_METRICS" beacon_etl_pg_batches_total) transactions; skipped as anonymous" \
		"$(metric "$ETL_METRICS" 'beacon_etl_pg_records_skipped_total{reason="anonymous"}')"
	film=$(pq 'SELECT film_id FROM film_stats ORDER BY likes + dislikes DESC, film_id LIMIT 1')
	user=$(pq 'SELECT user_id FROM progress GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1')
	if [ -z "$film" ] || [ -z "$user" ]; then
		echo "(no registered activity to show)"
		return 0
	fi
	tok=$(build/beacon-lint --jwt-key "$JWT_KEY" --sign-token "$user")
	api() { # PATH [TOKEN]
		printf '  GET %s\n    ' "$1"
		if [ -n "${2:-}" ]; then
			curl -s --max-time 5 -H "Authorization: Bearer $2" "http://127.0.0.1:$API_PORT$1"
		else
			curl -s --max-time 5 "http://127.0.0.1:$API_PORT$1"
		fi | python3 -c '
import json, sys
def cut(v):  # long review texts shortened for the report, whole characters
    if isinstance(v, str): return v if len(v) <= 60 else v[:60] + "..."
    if isinstance(v, list): return [cut(x) for x in v]
    if isinstance(v, dict): return {k: cut(x) for k, x in v.items()}
    return v
print(json.dumps(cut(json.load(sys.stdin)), ensure_ascii=False))'
	}
	echo "most liked film $film:"
	api "/v1/films/$film/rating"
	api "/v1/films/$film/reviews?limit=2"
	echo "most active user $user:"
	api "/v1/me/history?limit=2" "$tok"
	api "/v1/me/continue?limit=2" "$tok"
	api "/v1/me/bookmarks?limit=2" "$tok"
	api "/v1/me/likes/$film" "$tok"
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

	log "waiting until the PostgreSQL sink has applied everything (lag 0, no open batch)"
	end=$(( $(date +%s) + 120 ))
	until [ "$(metric "$ETL_METRICS" beacon_etl_pg_consumer_lag_records)" = 0 ] &&
		[ "$(metric "$ETL_METRICS" beacon_etl_pg_batch_in_use_rows)" = 0 ]; do
		[ "$(date +%s)" -lt "$end" ] ||
			die "after 120 s the PostgreSQL sink still lags $(metric "$ETL_METRICS" beacon_etl_pg_consumer_lag_records) records"
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
	read_report
	echo "==========================================================================="
}

case "${1:-}" in
up) up ;;
down) down ;;
run) run ;;
*) echo "usage: $0 up|down|run" >&2; exit 2 ;;
esac
