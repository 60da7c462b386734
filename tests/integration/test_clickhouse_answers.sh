#!/bin/sh
# ClickHouse single node: the schema migrates (twice: idempotent), a generated
# data set inserted the way beacon-etl does (INSERT ... FORMAT JSONEachRow,
# input_format_skip_unknown_fields=1) with duplicated records and a retried
# batch, and every answer view equals an independent Python computation, both
# before merges (duplicates present) and after OPTIMIZE ... FINAL.
set -eu
IT_NAME=test_clickhouse_answers
. tests/integration/lib.sh
command -v clickhouse-server >/dev/null || it_fail "clickhouse-server is not installed (tests/deps.sh)"

D=build/it/clickhouse-single
DATA=build/it/clickhouse-data
T0=$(date +%s)
ch_cleanup() {
	sh etl/clickhouse/ch-single.sh stop "$D" || true
	it_cleanup
}
trap ch_cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$D" "$DATA"

BASE=$(python3 tests/integration/clickhouse/free_ports.py 2) || it_fail "no free ports"
sh etl/clickhouse/ch-single.sh start "$D" "$BASE" $((BASE + 1)) > build/it/clickhouse-single.env ||
	it_fail "ch-single.sh start failed"
. ./build/it/clickhouse-single.env
it_log "server up at $CLICKHOUSE_HTTP ($(( $(date +%s) - T0 ))s)"
case "$CLICKHOUSE_HTTP" in http://127.0.0.1:*) ;; *) it_fail "not on loopback: $CLICKHOUSE_HTTP" ;; esac
sh tests/integration/clickhouse/loopback_only.sh "$D/pids" || it_fail "a server listens beyond 127.0.0.1"

q() { curl -sS --fail-with-body --max-time 60 "$CLICKHOUSE_HTTP/" --data-binary "$1"; }
# The ETL's insert, verbatim: the record JSON, unknown keys skipped.
ins() {
	curl -sS --fail-with-body --max-time 60 \
		"$CLICKHOUSE_HTTP/?query=INSERT%20INTO%20ugc.$1%20FORMAT%20JSONEachRow&input_format_skip_unknown_fields=1" \
		--data-binary "@$2" || it_fail "insert of $2 into ugc.$1 failed"
}

# -- migrate, twice
sh etl/schema/migrate.sh --mode single "$CLICKHOUSE_HTTP" > build/it/ch-migrate-1.log 2>&1 ||
	{ cat build/it/ch-migrate-1.log >&2; it_fail "first migration failed"; }
cat build/it/ch-migrate-1.log
grep -q 'V001__raw_tables.sql: applied' build/it/ch-migrate-1.log || it_fail "V001 not applied"
grep -q 'R__answers.sql: applied' build/it/ch-migrate-1.log || it_fail "R__answers not applied"
sh etl/schema/migrate.sh --mode single "$CLICKHOUSE_HTTP" > build/it/ch-migrate-2.log 2>&1 ||
	{ cat build/it/ch-migrate-2.log >&2; it_fail "second migration failed"; }
[ "$(grep -c 'already applied' build/it/ch-migrate-2.log)" = 2 ] ||
	{ cat build/it/ch-migrate-2.log >&2; it_fail "second migration was not a no-op"; }
grep -q 'applied [0-9]* statements' build/it/ch-migrate-2.log && it_fail "second migration applied statements"
[ "$(q "SELECT count() FROM ugc.schema_migrations")" = 2 ] || it_fail "schema_migrations should hold 2 rows"
if sh etl/schema/migrate.sh --mode cluster "$CLICKHOUSE_HTTP" > build/it/ch-migrate-3.log 2>&1; then
	it_fail "migrating a single-mode database in cluster mode succeeded"
fi
grep -q "migrated in mode 'single'" build/it/ch-migrate-3.log || it_fail "mode mismatch not explained"
n=$(q "SELECT count() FROM system.tables WHERE database = 'ugc' AND engine = 'ReplacingMergeTree'")
[ "$n" = 7 ] || it_fail "want 7 ReplacingMergeTree raw tables, got $n"
n=$(q "SELECT count() FROM system.tables WHERE database = 'ugc' AND engine = 'View'")
[ "$n" = 15 ] || it_fail "want 15 views, got $n"
it_log "migrated twice ($(( $(date +%s) - T0 ))s)"

# -- data: four batches per table, the third a retry of the second, the fourth with re-sent records
python3 tests/integration/clickhouse/gen_records.py "$DATA" || it_fail "generator failed"
for t in views player_events page_views actions likes reviews bookmarks; do
	for i in 1 2 3 4; do ins "$t" "$DATA/$t.$i.json"; done
done
dup=$(q "SELECT sum(n - u) FROM (SELECT count() AS n, uniqExact(event_id) AS u FROM ugc.views
	UNION ALL SELECT count(), uniqExact(event_id) FROM ugc.likes)")
[ "$dup" -gt 0 ] || it_fail "expected duplicate rows before merges (got $dup): dedup not exercised"
it_log "inserted; $dup duplicate rows in views+likes before merges ($(( $(date +%s) - T0 ))s)"

python3 tests/integration/clickhouse/check_answers.py "$CLICKHOUSE_HTTP" "$DATA" ||
	it_fail "answers differ from the independent computation (before merges)"

# -- after merges: duplicates collapsed by ReplacingMergeTree, answers unchanged
for t in views player_events page_views actions likes reviews bookmarks; do
	q "OPTIMIZE TABLE ugc.$t FINAL" || it_fail "OPTIMIZE ugc.$t failed"
	r=$(q "SELECT count() = uniqExact(event_id) FROM ugc.$t")
	[ "$r" = 1 ] || it_fail "ugc.$t still holds duplicates after OPTIMIZE FINAL"
done
python3 tests/integration/clickhouse/check_answers.py --quiet "$CLICKHOUSE_HTTP" "$DATA" ||
	it_fail "answers differ from the independent computation (after merges)"

# -- forward compatibility: an unknown key in a record is skipped, the rest lands
cat > build/it/ch-unknown.json <<'EOF'
{"event_id":"01935314-b87c-7005-8001-c0c3cac855df","type":"action","ts":1732265687123,"recv_ts":1732265687164,"node":"bcn-msk-1","source":"http","user_id":"5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6b","anon_id":"00000000-0000-0000-0000-000000000000","session_id":"00000000-0000-0000-0000-000000000000","film_id":"00000000-0000-0000-0000-000000000000","key":"future","value":"x","new_field":"ignored","n":7}
EOF
ins actions build/it/ch-unknown.json
r=$(q "SELECT concat(toString(user_key), ' ', toString(event_date), ' ', \`key\`) FROM ugc.actions
	WHERE event_id = toUUID('01935314-b87c-7005-8001-c0c3cac855df')")
[ "$r" = "5e2a9d41-8c3b-4f7e-b6a0-1d2c3e4f5a6b 2024-11-22 future" ] || it_fail "record with an unknown key: got '$r'"

# -- the printed report (make run's): every section there, with rows
sh etl/clickhouse/ch-report.sh "$CLICKHOUSE_HTTP" > build/it/ch-report.txt || it_fail "ch-report.sh failed"
for s in "rows per table" "top films" "least-finished" "continue watching" "language switches" "film ratings"; do
	grep -q "== $s" build/it/ch-report.txt || it_fail "report lacks '$s'"
done
[ "$(grep -c '^│' build/it/ch-report.txt)" -ge 30 ] || it_fail "report has too few rows"

sh etl/clickhouse/ch-single.sh stop "$D" || it_fail "stop failed"
sh etl/clickhouse/ch-single.sh status "$D" 2>/dev/null && it_fail "still running after stop"
it_log "all checks passed ($(( $(date +%s) - T0 ))s)"
