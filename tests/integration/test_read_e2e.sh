#!/bin/sh
# The read side end to end: likes, bookmarks, reviews, heartbeats and a
# finish sent through beacond's HTTP endpoint (two registered users and an
# anonymous device) -> kafka-dev -> beacon-etl's PostgreSQL sink (ClickHouse
# streams off: this test is about the read path) -> PostgreSQL -> beacon-api,
# read back through every endpoint with the exact expected answers
# (tests/integration/read/e2e_read.py check), plus a short read-your-writes
# run (ryw: 20 probes, each must be visible within 10 s).  Every process is
# stopped by the cleanup trap, PostgreSQL too, even on failure.
#
# perf/bench_read_e2e.sh runs this same script to measure read-your-writes
# with the shipped defaults; its knobs (environment):
#   READ_E2E_PROBES=N    ryw probes (default 20)
#   READ_E2E_DEFAULTS=1  beacond's kafka.linger_ms and beacon-etl's
#                        postgres.flush_ms at their defaults (the test uses
#                        2 and 100 ms, to be quick)
#   READ_E2E_LOAD=R      background UDP load during the probes: R beacons/s of
#                        the synthetic audience (beacon-blast, bounded)
#   READ_E2E_OUT=FILE    append the ryw summary line to FILE
set -eu
IT_NAME=test_read_e2e
. tests/integration/lib.sh
W=build/it/read-e2e
rm -rf "$W"
mkdir -p "$W"
BD_UDP=17171 BD_HTTP=18181 BD_MET=19571
. tests/integration/beacond/common.sh
ETL_MET=19572
API_PORT=18093 API_MET=19573
PG_PORT=15436

for b in build/beacond build/beacon-etl build/beacon-api build/kafka-dev build/beacon-lint; do
	[ -x "$b" ] || it_fail "$b missing (make all)"
done
pg_stop() { sh etl/pg/pg-local.sh stop "$W/pg" > /dev/null 2>&1 || true; }
cleanup() { it_cleanup; pg_stop; }
trap cleanup EXIT INT TERM

sh etl/pg/pg-local.sh start "$W/pg" "$PG_PORT" > "$W/pg.env" 2> "$W/pg.log" ||
	it_fail "PostgreSQL did not start: $(tail -3 "$W/pg.log")"
. "$W/pg.env"
bd_start_kafka 4
PROBES=${READ_E2E_PROBES:-20}
bd_config "$W/beacond.ini"
if [ "${READ_E2E_DEFAULTS:-0}" = 1 ]; then
	sed -i '/^linger_ms = /d' "$W/beacond.ini"
	FLUSH=""
else
	FLUSH="flush_ms = 100"
fi
bd_start

cat > "$W/etl.ini" <<EOT
[kafka]
brokers = $BS
session_timeout_ms = 6000
[views]
enabled = no
[events]
enabled = no
[actions]
enabled = no
[postgres]
enabled = yes
conninfo = $PG_CONNINFO
$FLUSH
[metrics]
port = $ETL_MET
EOT
it_start etl build/beacon-etl --config "$W/etl.ini"
it_wait 30 "beacon-etl /readyz (its PostgreSQL sink assigned)" curl -sf "http://127.0.0.1:$ETL_MET/readyz"

cat > "$W/api.ini" <<EOT
[api]
port = $API_PORT
workers = 2
[metrics]
port = $API_MET
[pg]
conninfo = $PG_CONNINFO
pool_size = 2
[auth]
jwt_keys = $BD_KEY
EOT
it_start api build/beacon-api --config "$W/api.ini"
it_wait 20 "beacon-api /readyz" curl -sf "http://127.0.0.1:$API_MET/readyz"

UA=7f9c1e2a-0000-4000-8000-0000000000a1
UB=7f9c1e2a-0000-4000-8000-0000000000b2
TA=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$UA") || it_fail "cannot sign a token"
TB=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$UB") || it_fail "cannot sign a token"
timeout 120 python3 tests/integration/read/e2e_read.py check "http://127.0.0.1:$BD_HTTP" \
	"http://127.0.0.1:$API_PORT" "$TA" "$UA" "$TB" "$UB" || it_fail "the read side's answers (above)"
if [ "${READ_E2E_LOAD:-0}" -gt 0 ]; then
	R=$READ_E2E_LOAD
	it_start blast build/beacon-blast --mode udp-json --target "127.0.0.1:$BD_UDP" --rate "$R" \
		--count $((R * 600)) --duration 600 --jwt-key "$BD_KEY" --users 2000 --anon 1000 --films 200 \
		--registered-share 0.6 --seed 7 --quiet
	sleep 2
	it_log "background load: $R UDP beacons/s (beacon-blast, 60 % from registered users)"
fi
timeout $((60 + PROBES)) python3 tests/integration/read/e2e_read.py ryw "http://127.0.0.1:$BD_HTTP" \
	"http://127.0.0.1:$API_PORT" "$TA" "$UA" "$PROBES" "$W/ryw.tsv" > "$W/ryw.out" ||
	it_fail "read-your-writes: $(cat "$W/ryw.out")"
cat "$W/ryw.out"
[ -z "${READ_E2E_OUT:-}" ] || cat "$W/ryw.out" >> "$READ_E2E_OUT"

# nothing was skipped on the way but what must be: anonymous records and
# player events other than finish (a bad record would be a bug here)
curl -sf "http://127.0.0.1:$ETL_MET/metrics" > "$W/etl.metrics" || it_fail "beacon-etl /metrics"
grep -q '^beacon_etl_pg_records_skipped_total{reason="anonymous"} [1-9]' "$W/etl.metrics" ||
	it_fail "the anonymous heartbeat was not counted as skipped (anonymous)"
bad=$(awk '/^beacon_etl_pg_records_skipped_total\{/ && $1 !~ /reason="(anonymous|player_event)"/ { s += $2 }
	END { print s + 0 }' "$W/etl.metrics")
[ "$bad" = 0 ] || it_fail "the PostgreSQL sink skipped $bad records: $(grep '^beacon_etl_pg_records_skipped_total' "$W/etl.metrics")"
it_log "PASS"
