#!/usr/bin/env bash
# perf/research/run.sh - `make research`: the storage research, ClickHouse vs
# PostgreSQL 15 on this machine, reproducible end to end; regenerates
# docs/storage-research.md (and its charts in perf/research/results/).
#
#   perf/research/run.sh            (root; installs what is missing with apt)
#
# What it does, printing a progress line per step:
#   1. builds the generator and the measuring client (perf/research/gen.c,
#      rbench.c) into build/research/bin;
#   2. generates the data set once (build/research/data, reused while the
#      scale, seed and generator are unchanged): at RESEARCH_SCALE=1 500,000
#      users, 10,000 films, 10 M view heartbeats, 2 M likes, 1 M bookmarks,
#      250 k reviews, as TSV both stores bulk-load unchanged;
#   3. starts, from empty data directories under build/research/,
#      clickhouse-server (etl/clickhouse/ch-single.sh, the project's schema via
#      etl/schema/migrate.sh) and a private PostgreSQL 15 cluster (initdb +
#      pg_ctl as the postgres user, 127.0.0.1:$PG_PORT, settings in
#      perf/research/pg/postgresql.conf; never the system service); both are
#      stopped on exit, failure or Ctrl-C;
#   4. bulk load (ClickHouse: clickhouse-client INSERT FORMAT TabSeparated;
#      PostgreSQL: COPY FROM STDIN, then indexes, VACUUM ANALYZE), storage size;
#   5. cross-checks that both stores give the same answers;
#   6. cold reads (each one after a restart of the store and eviction of its
#      data files from the page cache), warm reads (data files in the page
#      cache; p50/p95/p99 over many runs), the project's own answer views
#      (ClickHouse), open-loop point-read load at RATES req/s;
#   7. steady-rate inserts (1,000 rows every 100 ms, with the reads running
#      at the same time; then 10,000 rows every 1 s) and their lag;
#   8. perf/research/report.py writes docs/storage-research.md.
#
# Knobs (environment):
#   RESEARCH_SCALE=1      data size (0.1 = a tenth: a quick run)
#   RESEARCH_SEED=7       generator seed
#   COLD_RUNS=3           cold runs per query and store
#   WARM_ANALYTIC_S=25 WARM_ANALYTIC_RUNS=10   time/run budget per analytic query
#   WARM_POINT_S=8 WARM_POINT_RUNS=2000        ... per point query (>= 50 runs)
#   VIEWS_S=40            time budget per project view (ClickHouse, >= 2 runs)
#   RATES="300 1000 3000" RATE_SECONDS=10 RATE_THREADS=16   point-read load
#   CH_LOW_RATES="25 50 100"  lower rates swept for ClickHouse only (where does it meet p99 20 ms?)
#   STREAM_SECONDS=60 STREAM_B_SECONDS=30                    insert streams
#   PG_PORT=35432 CH_HTTP=35123 CH_TCP=35900
#   KEEP=0                1: leave the data directories (not the servers) behind
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SCALE=${RESEARCH_SCALE:-1}
SEED=${RESEARCH_SEED:-7}
COLD_RUNS=${COLD_RUNS:-3}
WARM_ANALYTIC_S=${WARM_ANALYTIC_S:-25}
WARM_ANALYTIC_RUNS=${WARM_ANALYTIC_RUNS:-10}
WARM_POINT_S=${WARM_POINT_S:-8}
WARM_POINT_RUNS=${WARM_POINT_RUNS:-2000}
VIEWS_S=${VIEWS_S:-40}
RATES=${RATES:-300 1000 3000}
CH_LOW_RATES=${CH_LOW_RATES:-25 50 100}
RATE_SECONDS=${RATE_SECONDS:-10}
RATE_THREADS=${RATE_THREADS:-16}
STREAM_SECONDS=${STREAM_SECONDS:-60}
STREAM_B_SECONDS=${STREAM_B_SECONDS:-30}
PG_PORT=${PG_PORT:-35432}
CH_HTTP=${CH_HTTP:-35123}
CH_TCP=${CH_TCP:-35900}
KEEP=${KEEP:-0}

RD=perf/research
W=$ROOT/build/research
BIN=$W/bin
DATA=$W/data
OUT=$RD/results
RES=$OUT/results.tsv
PGBIN=/usr/lib/postgresql/15/bin
PGDATA=$W/pg/data
PGCONN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=research"
CHURL=http://127.0.0.1:$CH_HTTP
CHDIR=$W/ch
CHDATA=$CHDIR/ch/data
T_START=$(date +%s)

say() { printf '[research %s +%4ds] %s\n' "$(date +%T)" $(( $(date +%s) - T_START )) "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ cleanup
BG=""
PG_UP=0
CH_UP=0
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in $BG; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $BG; do wait "$p" 2>/dev/null || true; done
	[ "$PG_UP" = 1 ] && pg_stop_quiet
	[ "$CH_UP" = 1 ] && etl/clickhouse/ch-single.sh stop "$CHDIR" > /dev/null 2>&1 || true
	if [ "$KEEP" != 1 ] && [ $rc -eq 0 ]; then rm -rf "$W/pg" "$CHDIR"; fi
	[ $rc -eq 0 ] || say "failed (exit $rc); logs under $W (pg/log, ch/ch/log)"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ deps
need=""
[ -x "$PGBIN/pg_ctl" ] || need="$need postgresql-15"
[ -f /usr/include/postgresql/libpq-fe.h ] || need="$need libpq-dev"
[ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -f /usr/include/curl/curl.h ] || need="$need libcurl4-openssl-dev"
command -v clickhouse-server > /dev/null || need="$need clickhouse-server"
command -v clickhouse-client > /dev/null || need="$need clickhouse-client"
command -v gnuplot > /dev/null || need="$need gnuplot-nox"
command -v gcc > /dev/null || need="$need build-essential"
command -v runuser > /dev/null || need="$need util-linux"
if [ -n "$need" ]; then
	[ "$(id -u)" = 0 ] || die "not root: install$need first"
	say "installing:$need (their system services are not started)"
	rc_added=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		rc_added=1
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need > "$W.apt.log" 2>&1 ||
		{ [ $rc_added = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install failed: $(tail -3 "$W.apt.log")"; }
	[ $rc_added = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
id postgres > /dev/null 2>&1 || die "no postgres user (the postgresql-15 package creates it)"

port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
for p in "$PG_PORT" "$CH_HTTP" "$CH_TCP"; do port_free "$p" || die "port $p is in use (set PG_PORT, CH_HTTP, CH_TCP)"; done

# ------------------------------------------------------------------ machine
mkdir -p "$W" "$BIN" "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "scale $SCALE, seed $SEED; load average $LOAD_BEFORE; $(nproc) CPUs; work dir $W"
case "${LOAD_BEFORE%% *}" in
[0-1].*) ;;
*) say "note: the load average is above 1.5; the figures will carry that noise (recorded in the report)" ;;
esac
: > "$RES"
# rec PHASE STORE NAME JSON [COMMAND]: one measurement per line
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >> "$RES"; }

# ------------------------------------------------------------------ build
say "[1/8] building gen and rbench"
gcc -O2 -Wall -Wextra -o "$BIN/gen" "$RD/gen.c" -lm
gcc -O2 -Wall -Wextra -I/usr/include/postgresql -o "$BIN/rbench" "$RD/rbench.c" -lpq -lcurl -lm -pthread
RB=$BIN/rbench

# ------------------------------------------------------------------ data
GEN_KEY="scale=$SCALE seed=$SEED gen=$(sha256sum "$RD/gen.c" | cut -c1-16)"
if [ -f "$DATA/.key" ] && [ "$(cat "$DATA/.key")" = "$GEN_KEY" ] && [ -f "$DATA/meta.json" ]; then
	say "[2/8] data set already generated ($GEN_KEY): $DATA"
	GEN_S=$(cat "$DATA/.gen_s")
else
	say "[2/8] generating the data set ($GEN_KEY) into $DATA"
	rm -rf "$DATA"
	mkdir -p "$DATA"
	t0=$(date +%s.%N)
	"$BIN/gen" --out "$DATA" --scale "$SCALE" --seed "$SEED" \
		--stream-a $(( 10000 * STREAM_SECONDS + 20000 )) --stream-b $(( 10000 * STREAM_B_SECONDS + 20000 ))
	GEN_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
	echo "$GEN_S" > "$DATA/.gen_s"
	echo "$GEN_KEY" > "$DATA/.key"
fi
cp "$DATA/meta.json" "$OUT/meta.json"
say "      $(tr -d '\n' < "$DATA/meta.json" | tr -s ' ')"

# ------------------------------------------------------------------ servers
pg() { psql "$PGCONN" -v ON_ERROR_STOP=1 -qAtX "$@"; }
pg_ctl_() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" "$@"; }
pg_start() {
	pg_ctl_ -l "$W/pg/log/postgres.log" -w -t 120 -o "-p $PG_PORT -k $W/pg/sock" start > /dev/null ||
		die "PostgreSQL did not start: $(tail -5 "$W/pg/log/postgres.log")"
	PG_UP=1
}
pg_stop_quiet() { pg_ctl_ -m fast -w -t 60 stop > /dev/null 2>&1 || true; PG_UP=0; }
ch_start() {
	etl/clickhouse/ch-single.sh start "$CHDIR" "$CH_HTTP" "$CH_TCP" > /dev/null 2> "$W/ch-start.log" ||
		die "ClickHouse did not start: $(tail -5 "$W/ch-start.log")"
	CH_UP=1
}
ch_stop() { etl/clickhouse/ch-single.sh stop "$CHDIR" > /dev/null 2>&1; CH_UP=0; }
chq() { curl -sS --fail-with-body --max-time 600 "$CHURL/" --data-binary "$1"; }

say "[3/8] starting ClickHouse (127.0.0.1:$CH_HTTP) and PostgreSQL 15 (127.0.0.1:$PG_PORT) from empty data directories"
rm -rf "$CHDIR" "$W/pg"
ch_start
sh etl/schema/migrate.sh --mode single "$CHURL" > "$W/migrate.log" 2>&1 || die "migrate.sh failed: $(tail -3 "$W/migrate.log")"
CH_VERSION=$(chq "SELECT version()")
for t in views likes reviews bookmarks; do chq "SHOW CREATE TABLE ugc.$t FORMAT TabSeparatedRaw"; echo; done > "$OUT/ch_schema.sql"
mkdir -p "$PGDATA" "$W/pg/log" "$W/pg/sock"
chown -R postgres: "$W/pg"
chmod 700 "$PGDATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > "$W/pg/log/initdb.log" 2>&1 ||
	die "initdb failed: $(tail -3 "$W/pg/log/initdb.log")"
{ echo; echo "# ---- perf/research/pg/postgresql.conf"; cat "$RD/pg/postgresql.conf"; } >> "$PGDATA/postgresql.conf"
pg_start
psql "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" -qAtX -c "CREATE DATABASE research" > /dev/null
pg -f "$RD/pg/schema.sql" > /dev/null
PG_VERSION=$(pg -c "SHOW server_version")
say "      ClickHouse $CH_VERSION, PostgreSQL $PG_VERSION"

COLS_COMMON="event_id, type, ts, recv_ts, node, source, user_id, anon_id, session_id, film_id"
cols_of() {
	case $1 in
	views) echo "$COLS_COMMON, position_ms, duration_ms" ;;
	likes) echo "$COLS_COMMON, score" ;;
	reviews) echo "$COLS_COMMON, op, review_id, rating, text" ;;
	bookmarks) echo "$COLS_COMMON, op" ;;
	esac
}
TABLES="views likes reviews bookmarks"
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

# ------------------------------------------------------------------ bulk load
say "[4/8] bulk load"
for t in $TABLES; do
	rows=$(wc -l < "$DATA/$t.tsv"); bytes=$(stat -c %s "$DATA/$t.tsv")
	cmd="clickhouse-client --host 127.0.0.1 --port $CH_TCP --query \"INSERT INTO ugc.$t ($(cols_of $t)) FORMAT TabSeparated\" < $t.tsv"
	t0=$(date +%s.%N)
	clickhouse-client --host 127.0.0.1 --port "$CH_TCP" --query "INSERT INTO ugc.$t ($(cols_of $t)) FORMAT TabSeparated" < "$DATA/$t.tsv"
	s=$(elapsed "$t0")
	rec load clickhouse "$t" "{\"rows\": $rows, \"bytes\": $bytes, \"seconds\": $s}" "$cmd"
	say "      ClickHouse $t: $rows rows in ${s}s"
done
# background merges after the load: wait (bounded) until none runs
t0=$(date +%s.%N)
quiet=0
for _ in $(seq 1 240); do
	n=$(chq "SELECT count() FROM system.merges")
	if [ "$n" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
	[ $quiet -lt 3 ] || break
	sleep 1
done
s=$(elapsed "$t0")
parts=$(chq "SELECT count() FROM system.parts WHERE database = 'ugc' AND active")
rec load clickhouse merges "{\"seconds\": $s, \"active_parts\": $parts}" "poll SELECT count() FROM system.merges until 0 for 3 s"
say "      ClickHouse background merges settled after ${s}s ($parts active parts)"

for t in $TABLES; do
	rows=$(wc -l < "$DATA/$t.tsv"); bytes=$(stat -c %s "$DATA/$t.tsv")
	cmd="psql -c \"COPY $t ($(cols_of $t)) FROM STDIN\" < $t.tsv"
	t0=$(date +%s.%N)
	pg -c "COPY $t ($(cols_of $t)) FROM STDIN" < "$DATA/$t.tsv" > /dev/null
	s=$(elapsed "$t0")
	rec load postgresql "$t" "{\"rows\": $rows, \"bytes\": $bytes, \"seconds\": $s}" "$cmd"
	say "      PostgreSQL $t: COPY $rows rows in ${s}s"
done
i=0
grep -v '^--' "$RD/pg/indexes.sql" | grep . | while IFS= read -r stmt; do
	i=$((i + 1))
	t0=$(date +%s.%N)
	pg -c "$stmt" > /dev/null
	s=$(elapsed "$t0")
	rec load postgresql "index$i" "{\"seconds\": $s}" "$stmt"
	say "      PostgreSQL ${s}s: $stmt"
done
t0=$(date +%s.%N)
pg -c "VACUUM (ANALYZE)" > /dev/null
s=$(elapsed "$t0")
rec load postgresql vacuum_analyze "{\"seconds\": $s}" "VACUUM (ANALYZE)"
t0=$(date +%s.%N)
pg -c "CHECKPOINT" > /dev/null
s2=$(elapsed "$t0")
rec load postgresql checkpoint "{\"seconds\": $s2}" "CHECKPOINT"
say "      PostgreSQL VACUUM (ANALYZE) ${s}s, CHECKPOINT ${s2}s"

# ------------------------------------------------------------------ sizes
say "      storage sizes"
for t in $TABLES; do
	j=$(chq "SELECT concat('{\"rows\": ', toString(sum(rows)), ', \"bytes_on_disk\": ', toString(sum(bytes_on_disk)),
		', \"compressed\": ', toString(sum(data_compressed_bytes)), ', \"uncompressed\": ', toString(sum(data_uncompressed_bytes)),
		', \"parts\": ', toString(count()), '}') FROM system.parts WHERE database = 'ugc' AND table = '$t' AND active")
	rec size clickhouse "$t" "$j" "SELECT sum(bytes_on_disk), sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM system.parts WHERE database = 'ugc' AND table = '$t' AND active"
	j=$(pg -c "SELECT json_build_object('rows', (SELECT count(*) FROM $t),
		'table', sum(pg_table_size(relid)), 'indexes', sum(pg_indexes_size(relid)), 'total', sum(pg_total_relation_size(relid)))
		FROM (SELECT relid FROM pg_partition_tree('$t') WHERE isleaf
		      UNION SELECT '$t'::regclass WHERE (SELECT relkind FROM pg_class WHERE oid = '$t'::regclass) <> 'p') r")
	rec size postgresql "$t" "$j" "SELECT sum(pg_table_size(relid)), sum(pg_indexes_size(relid)), sum(pg_total_relation_size(relid)) FROM pg_partition_tree('$t') WHERE isleaf"
done
rec size clickhouse du "{\"bytes\": $(du -sb "$CHDATA/data/ugc" | cut -f1)}" "du -sb ch/data/data/ugc"
rec size postgresql du "{\"bytes\": $(du -sb "$PGDATA" | cut -f1), \"wal\": $(du -sb "$PGDATA/pg_wal" | cut -f1)}" "du -sb pg/data (pg_wal included)"
rec size input tsv "{\"bytes\": $(cat "$DATA"/{views,likes,reviews,bookmarks}.tsv | wc -c)}" "wc -c views.tsv likes.tsv reviews.tsv bookmarks.tsv"

# ------------------------------------------------------------------ suite helpers
SUITE=$(grep -v '^#' "$RD/queries/suite.tsv")
VIEWS=$(grep -v '^#' "$RD/queries/ch_views.tsv")
store_of() { [ "$1" = pg ] && echo postgresql || echo clickhouse; }
conn_of() { [ "$1" = pg ] && echo "$PGCONN" || echo "$CHURL"; }
# rq STORE NAME PARAMSFILE ARGS...: rbench query; prints its JSON
rq() {
	local s=$1 n=$2 pf=$3; shift 3
	local pa=()
	[ "$pf" = - ] || pa=(--params "$DATA/$pf")
	"$RB" "$s" query --conn "$(conn_of "$s")" --sql "$RD/queries/$s/$n.sql" "${pa[@]}" --label "$n" "$@" < /dev/null
}
rq_cmd() { # the command as shown in the report
	local s=$1 n=$2 pf=$3; shift 3
	local popt=""
	[ "$pf" = - ] || popt=" --params $pf"
	echo "rbench $s query --conn $( [ "$s" = pg ] && echo "'$PGCONN'" || echo "$CHURL" ) --sql $RD/queries/$s/$n.sql$popt $*"
}

# ------------------------------------------------------------------ cross-check
say "[5/8] cross-check: the same answers from both stores"
mkdir -p "$W/check"
while IFS=$'\t' read -r name kind pf desc; do
	k=1; [ "$kind" = point ] && k=25
	rq pg "$name" "$pf" --runs "$k" --dump "$W/check/$name.pg" --dump-n "$k" > /dev/null
	rq ch "$name" "$pf" --runs "$k" --dump "$W/check/$name.ch" --dump-n "$k" > /dev/null
	j=$(python3 "$RD/compare.py" "$W/check/$name.pg" "$W/check/$name.ch")
	rec check both "$name" "$j" "rbench pg|ch query ... --runs $k --dump FILE; python3 $RD/compare.py PG CH"
	say "      $name: $j"
done <<< "$SUITE"

# ------------------------------------------------------------------ rollup (ClickHouse)
ROLLUP=$(grep -v '^#' "$RD/queries/ch_rollup.tsv")
say "      ClickHouse rollup for the analysts (research only, $RD/ch/rollup.sql): build, then the same answers"
awk '/^--/ { next } { buf = buf $0 "\n" } /;[ \t]*$/ { sub(/;[ \t]*\n$/, "", buf); printf "%s%c", buf, 0; buf = "" }' "$RD/ch/rollup.sql" |
while IFS= read -r -d '' stmt; do
	t0=$(date +%s.%N)
	chq "$stmt" > /dev/null || die "rollup statement failed: $stmt"
	s=$(elapsed "$t0")
	first=$(echo "$stmt" | head -1)
	rec rollup clickhouse "$(echo "$first" | awk '{ print $1 "_" $2 }')" "{\"seconds\": $s}" "$(echo "$stmt" | tr -s ' \n\t' ' ')"
	say "      ${s}s: $first"
done
j=$(chq "SELECT concat('{\"rows\": ', toString(sum(rows)), ', \"bytes_on_disk\": ', toString(sum(bytes_on_disk)), ', \"parts\": ', toString(count()), '}') FROM system.parts WHERE database = 'ugc' AND table = 'views_by_user_film' AND active")
rec size clickhouse views_by_user_film "$j" "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE table = 'views_by_user_film' AND active"
while IFS=$'\t' read -r name kind pf same desc; do
	rq ch "$name" "$pf" --runs 1 --dump "$W/check/$name.ch" --dump-n 1 > /dev/null
	j=$(python3 "$RD/compare.py" "$W/check/$same.ch" "$W/check/$name.ch")
	rec check rollup "$name" "$j" "compare rbench ch query $name with $same (raw heartbeats)"
	say "      $name = $same: $j"
done <<< "$ROLLUP"

# ------------------------------------------------------------------ cold
restart_store() {
	if [ "$1" = pg ]; then pg_stop_quiet; pg_start; else ch_stop; ch_start; fi < /dev/null
}
datadir_of() { [ "$1" = pg ] && echo "$PGDATA" || echo "$CHDATA"; }
say "[6/8] reads: cold ($COLD_RUNS per query and store: restart + page-cache eviction of the store's files before each)"
for s in pg ch; do
	while IFS=$'\t' read -r name kind pf desc; do
		[ "$name" != p0_select1 ] || continue
		for i in $(seq 1 "$COLD_RUNS"); do
			restart_store "$s"
			ev=$("$RB" evict "$(datadir_of "$s")")
			j=$(rq "$s" "$name" "$pf" --runs 1 --offset $((500 + i)))
			rec cold "$(store_of "$s")" "$name" "$j" "$(rq_cmd "$s" "$name" "$pf" --runs 1 --offset $((500 + i)))  # after restart + rbench evict DATADIR: $ev"
		done
		say "      cold $s $name: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["lat_ms"].get("p50"), "ms (last run)", d["error"])' "$j")"
	done <<< "$SUITE"
done

# ------------------------------------------------------------------ warm
while IFS=$'\t' read -r name kind pf same desc; do
	for i in $(seq 1 "$COLD_RUNS"); do
		restart_store ch
		ev=$("$RB" evict "$CHDATA")
		j=$(rq ch "$name" "$pf" --runs 1)
		rec cold clickhouse "$name" "$j" "$(rq_cmd ch "$name" "$pf" --runs 1)  # after restart + rbench evict DATADIR: $ev"
	done
	say "      cold ch $name: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["lat_ms"].get("p50"), "ms (last run)", d["error"])' "$j")"
done <<< "$ROLLUP"
say "      reads: warm (every data file read into the page cache first)"
for s in pg ch; do
	d=$(datadir_of "$s")
	find "$d" -type f -exec cat {} + > /dev/null 2>&1 || true
	rec cache "$(store_of "$s")" resident "$("$RB" resident "$d")" "rbench resident DATADIR (after cat of every file)"
done
warm_args() { # KIND
	if [ "$1" = analytic ]; then echo "--runs $WARM_ANALYTIC_RUNS --seconds $WARM_ANALYTIC_S --min-runs 3"
	else echo "--runs $WARM_POINT_RUNS --seconds $WARM_POINT_S --min-runs 50"; fi
}
for s in pg ch; do
	while IFS=$'\t' read -r name kind pf desc; do
		rq "$s" "$name" "$pf" --runs 3 --offset 900 > /dev/null	# warm-up, not counted
		# shellcheck disable=SC2046
		j=$(rq "$s" "$name" "$pf" $(warm_args "$kind"))
		# shellcheck disable=SC2046
		rec warm "$(store_of "$s")" "$name" "$j" "$(rq_cmd "$s" "$name" "$pf" $(warm_args "$kind"))"
		say "      warm $s $name: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1])["lat_ms"]; print("n", d["n"], "p50", d.get("p50"), "p99", d.get("p99"), "ms")' "$j")"
	done <<< "$SUITE"
done
# ClickHouse tuned for short queries (query settings only, the server as configured):
# one thread per query and the uncompressed-block cache
CH_TUNED="max_threads=1&use_uncompressed_cache=1"
while IFS=$'\t' read -r name kind pf desc; do
	[ "$kind" = point ] || continue
	# shellcheck disable=SC2046
	j=$(rq ch "$name" "$pf" $(warm_args "$kind") --settings "$CH_TUNED")
	# shellcheck disable=SC2046
	rec warm clickhouse_tuned "$name" "$j" "$(rq_cmd ch "$name" "$pf" $(warm_args "$kind") --settings "'$CH_TUNED'")"
	say "      warm ch (tuned: $CH_TUNED) $name: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1])["lat_ms"]; print("n", d["n"], "p50", d.get("p50"), "p99", d.get("p99"), "ms")' "$j")"
done <<< "$SUITE"
while IFS=$'\t' read -r name kind pf same desc; do
	rq ch "$name" "$pf" --runs 3 > /dev/null
	# shellcheck disable=SC2046
	j=$(rq ch "$name" "$pf" --runs 200 --seconds "$WARM_ANALYTIC_S" --min-runs 3)
	rec warm clickhouse "$name" "$j" "$(rq_cmd ch "$name" "$pf" --runs 200 --seconds "$WARM_ANALYTIC_S" --min-runs 3)"
	say "      warm ch $name: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1])["lat_ms"]; print("n", d["n"], "p50", d.get("p50"), "p99", d.get("p99"), "ms")' "$j")"
done <<< "$ROLLUP"
say "      the project's answer views (ClickHouse, $VIEWS_S s budget each)"
while IFS=$'\t' read -r name kind pf desc; do
	set_="max_execution_time=300&max_memory_usage=8000000000"
	j=$(rq ch "$name" "$pf" --runs 20 --seconds "$VIEWS_S" --min-runs 2 --settings "$set_" || true)
	[ -n "$j" ] || j='{"lat_ms": {"n": 0}, "errors": 1, "error": "rbench failed"}'
	rec views clickhouse "$name" "$j" "$(rq_cmd ch "$name" "$pf" --runs 20 --seconds "$VIEWS_S" --min-runs 2 --settings "'$set_'")"
	say "      view $name: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); l=d["lat_ms"]; print("n", l["n"], "p50", l.get("p50"), "max", l.get("max"), "ms", d.get("error",""))' "$j")"
done <<< "$VIEWS"

# ------------------------------------------------------------------ rate
# mix files: "user" = the read API's per-user reads (is liked, resume position,
# bookmarks, history); "page" = the same plus a film's rating (15 %), as a film
# page asks them when nothing is cached.
mix_of() { # STORE user|page -> mix file
	local f="$W/mix.$1.$2" q="$ROOT/$RD/queries/$1"
	{
		echo "# weight name params sql"
		if [ "$2" = user ]; then
			echo "35 p1_is_liked $DATA/p_like_pairs.txt $q/p1_is_liked.sql"
			echo "30 p3_resume $DATA/p_resume_pairs.txt $q/p3_resume.sql"
			echo "20 p2_bookmarks $DATA/p_bm_users.txt $q/p2_bookmarks.sql"
			echo "15 a3_user_history $DATA/p_hist_users.txt $q/a3_user_history.sql"
		else
			echo "30 p1_is_liked $DATA/p_like_pairs.txt $q/p1_is_liked.sql"
			echo "25 p3_resume $DATA/p_resume_pairs.txt $q/p3_resume.sql"
			echo "20 p2_bookmarks $DATA/p_bm_users.txt $q/p2_bookmarks.sql"
			echo "15 a4_film_rating $DATA/p_films.txt $q/a4_film_rating.sql"
			echo "10 a3_user_history $DATA/p_hist_users.txt $q/a3_user_history.sql"
		fi
	} > "$f"
	echo "$f"
}
for m in user page; do sed "s#$DATA/##; s#$ROOT/##" "$(mix_of pg $m)" > "$OUT/mix.$m.txt"; done
rate_summary() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); l=d["lat_ms"]; print("achieved %.0f/s, p50 %s p99 %s p99.9 %s ms, unsent %d, errors %d" % (d["achieved_per_s"], l.get("p50"), l.get("p99"), l.get("p999"), d["unsent"], d["errors"]))' "$1"; }
rate_cmd() { echo "rbench $1 rate --conn $( [ "$1" = pg ] && echo "'$PGCONN'" || echo "$CHURL" ) --mix $OUT/mix.$2.txt --rate $3 --threads $RATE_THREADS --seconds $RATE_SECONDS"; }
TOP_RATE=$(echo "$RATES" | awk '{ print $NF }')
say "      open-loop point-read load ('user' mix): $RATES req/s, then the 'page' mix at $TOP_RATE; $RATE_THREADS connections, ${RATE_SECONDS}s each"
declare -A SUSTAINED
rates_of() { if [ "$1" = ch ]; then echo "$CH_LOW_RATES $RATES"; else echo "$RATES"; fi; }
for s in pg ch; do
	SUSTAINED[$s]=""
	for r in $(rates_of "$s"); do
		j=$("$RB" "$s" rate --conn "$(conn_of "$s")" --mix "$(mix_of "$s" user)" --rate "$r" --threads "$RATE_THREADS" --seconds "$RATE_SECONDS" --label "user$r" < /dev/null)
		rec rate "$(store_of "$s")" "user$r" "$j" "$(rate_cmd "$s" user "$r")"
		say "      $s user mix $r req/s: $(rate_summary "$j")"
		if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["unsent"] == 0 and d["errors"] == 0 and d["achieved_per_s"] >= 0.95 * d["rate_target"] else 1)' "$j"; then
			SUSTAINED[$s]=$r
		fi
	done
	j=$("$RB" "$s" rate --conn "$(conn_of "$s")" --mix "$(mix_of "$s" page)" --rate "$TOP_RATE" --threads "$RATE_THREADS" --seconds "$RATE_SECONDS" --label "page$TOP_RATE" < /dev/null)
	rec rate "$(store_of "$s")" "page$TOP_RATE" "$j" "$(rate_cmd "$s" page "$TOP_RATE")"
	say "      $s page mix $TOP_RATE req/s: $(rate_summary "$j")"
done
for r in $CH_LOW_RATES $RATES; do
	j=$("$RB" ch rate --conn "$CHURL" --mix "$(mix_of ch user)" --rate "$r" --threads "$RATE_THREADS" --seconds "$RATE_SECONDS" --settings "$CH_TUNED" --label "user$r" < /dev/null)
	rec rate clickhouse_tuned "user$r" "$j" "$(rate_cmd ch user "$r") --settings '$CH_TUNED'"
	say "      ch (tuned) user mix $r req/s: $(rate_summary "$j")"
done

# ------------------------------------------------------------------ stream
say "[7/8] steady-rate inserts into views: 1,000 rows every 100 ms for ${STREAM_SECONDS}s, reads at the same time"
for s in pg ch; do
	tbl=views; [ "$s" = ch ] && tbl=ugc.views
	scmd=("$RB" "$s" stream --conn "$(conn_of "$s")" --file "$DATA/stream_a.tsv" --table "$tbl" --cols "$(cols_of views)"
		--batch 1000 --interval-ms 100 --seconds "$STREAM_SECONDS" --label stream_a)
	before=$( [ "$s" = pg ] && pg -c "SELECT count(*) FROM views" || chq "SELECT count() FROM ugc.views" )
	"${scmd[@]}" > "$W/stream_a.$s.json" &
	sp=$!
	BG="$BG $sp"
	sleep 3
	# the point-read load at the highest rate this store sustained alone (else the lowest swept)
	r=${SUSTAINED[$s]:-$(echo "$RATES" | awk '{ print $1 }')}
	j=$("$RB" "$s" rate --conn "$(conn_of "$s")" --mix "$(mix_of "$s" user)" --rate "$r" --threads "$RATE_THREADS" --seconds "$RATE_SECONDS" --label "user$r" < /dev/null)
	rec rate_during_stream "$(store_of "$s")" "user$r" "$j" "$(rate_cmd "$s" user "$r")  # while stream_a runs"
	say "      $s user mix $r req/s during the inserts: $(rate_summary "$j")"
	while IFS=$'\t' read -r name kind pf desc; do
		kill -0 "$sp" 2>/dev/null || break
		if [ "$kind" = analytic ]; then a="--runs 5 --seconds 6 --min-runs 1"; else a="--runs 500 --seconds 3 --min-runs 20"; fi
		# shellcheck disable=SC2086
		j=$(rq "$s" "$name" "$pf" $a)
		rec warm_during_stream "$(store_of "$s")" "$name" "$j" "$(rq_cmd "$s" "$name" "$pf" $a)  # while stream_a runs"
	done <<< "$SUITE"
	wait "$sp" || die "stream_a $s failed: $(cat "$W/stream_a.$s.json")"
	BG=""
	after=$( [ "$s" = pg ] && pg -c "SELECT count(*) FROM views" || chq "SELECT count() FROM ugc.views" )
	j=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["rows_visible_after"]=int(sys.argv[3])-int(sys.argv[2]); print(json.dumps(d))' "$W/stream_a.$s.json" "$before" "$after")
	rec stream "$(store_of "$s")" stream_a "$j" "$(printf '%q ' "${scmd[@]}" | sed "s#$DATA/##; s#$BIN/##")"
	say "      $s stream_a: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d rows, %.0f rows/s, insert p50 %s p99 %s ms, lag max %s ms, late batches %d, visible %d" % (d["rows"], d["achieved_rows_per_s"], d["insert_ms"].get("p50"), d["insert_ms"].get("p99"), d["lag_ms"].get("max"), d["late_batches"], d["rows_visible_after"]))' "$j")"
done
say "      steady-rate inserts: 10,000 rows every 1 s for ${STREAM_B_SECONDS}s (beacon-etl's batch interval), no reads"
for s in pg ch; do
	tbl=views; [ "$s" = ch ] && tbl=ugc.views
	scmd=("$RB" "$s" stream --conn "$(conn_of "$s")" --file "$DATA/stream_b.tsv" --table "$tbl" --cols "$(cols_of views)"
		--batch 10000 --interval-ms 1000 --seconds "$STREAM_B_SECONDS" --label stream_b)
	j=$("${scmd[@]}")
	rec stream "$(store_of "$s")" stream_b "$j" "$(printf '%q ' "${scmd[@]}" | sed "s#$DATA/##; s#$BIN/##")"
	say "      $s stream_b: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d rows, %.0f rows/s, insert p50 %s p99 %s ms" % (d["rows"], d["achieved_rows_per_s"], d["insert_ms"].get("p50"), d["insert_ms"].get("p99")))' "$j")"
done
while IFS=$'\t' read -r name kind pf same desc; do
	rq ch "$same" "$pf" --runs 1 --dump "$W/check/$same.after.ch" --dump-n 1 > /dev/null
	rq ch "$name" "$pf" --runs 1 --dump "$W/check/$name.after.ch" --dump-n 1 > /dev/null
	j=$(python3 "$RD/compare.py" "$W/check/$same.after.ch" "$W/check/$name.after.ch")
	rec check rollup_after_streams "$name" "$j" "compare rbench ch query $name with $same after both insert streams (fed through the materialized view)"
	say "      after the streams, $name = $same: $j"
done <<< "$ROLLUP"
rec size clickhouse parts_after_streams "{\"active_parts\": $(chq "SELECT count() FROM system.parts WHERE database = 'ugc' AND table = 'views' AND active")}" "SELECT count() FROM system.parts WHERE table = 'views' AND active"

# ------------------------------------------------------------------ report
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
TOTAL_S=$(( $(date +%s) - T_START ))
cat > "$OUT/run.json" <<EOF
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "command": "perf/research/run.sh", "scale": "$SCALE", "seed": "$SEED",
 "total_s": $TOTAL_S, "gen_s": $GEN_S, "load_before": "$LOAD_BEFORE", "load_after": "$LOAD_AFTER",
 "nproc": $(nproc), "cpu": "$(lscpu | sed -n 's/^Model name: *//p' | head -1)", "kernel": "$(uname -r)",
 "ram_gib": $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo),
 "clickhouse": "$CH_VERSION", "postgresql": "$PG_VERSION", "git": "$(git describe --always --dirty 2>/dev/null || echo unknown)",
 "knobs": "RESEARCH_SCALE=$SCALE COLD_RUNS=$COLD_RUNS WARM_ANALYTIC_S=$WARM_ANALYTIC_S WARM_POINT_S=$WARM_POINT_S VIEWS_S=$VIEWS_S RATES='$RATES' RATE_SECONDS=$RATE_SECONDS RATE_THREADS=$RATE_THREADS CH_LOW_RATES='$CH_LOW_RATES' STREAM_SECONDS=$STREAM_SECONDS STREAM_B_SECONDS=$STREAM_B_SECONDS"}
EOF
say "[8/8] writing docs/storage-research.md"
python3 "$RD/report.py" --results "$OUT" --doc docs/storage-research.md
say "done in ${TOTAL_S}s: docs/storage-research.md, $OUT/"
