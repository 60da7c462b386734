#!/bin/sh
# Idempotent ClickHouse schema migration for beacond's database `ugc`
# (docs/data-model.md).  Applies etl/schema/*.sql to every given server over
# HTTP with curl, in one of two modes rendered from the same templates:
#
#   migrate.sh [--mode single|cluster] [--cluster NAME] [--wait SECONDS] [--dry-run] URL...
#
#   single   plain ReplacingMergeTree tables ugc.<table>          (one URL)
#   cluster  ReplicatedReplacingMergeTree tables ugc.<table>_local plus Distributed
#            tables ugc.<table> over them, sharded by user         (every node's URL)
#
# URL is a server's HTTP interface, e.g. http://127.0.0.1:18123.  In cluster
# mode give every node: DDL is run on each node (no ON CLUSTER), the
# {shard}/{replica} macros of each node's config name its replica.
#
# Files, in order: V<NNN>__<name>.sql (versioned: applied once per node,
# recorded in ugc.schema_migrations; a recorded file that changed is an error,
# add a new version instead) then R__<name>.sql (repeatable: views; re-applied
# whenever the file's checksum differs from the last one recorded).  Statements
# end with ';' at the end of a line; '--' lines are comments.  Running it again
# changes nothing and says so.  Exit 0 on success, 1 on any failure, 2 on usage.
set -eu

SCHEMA_DIR=$(cd "$(dirname "$0")" && pwd)
MODE=single
CLUSTER=ugc_cluster
WAIT=30
DRY=0
NIL="toUUID('00000000-0000-0000-0000-000000000000')"
# The Distributed tables' sharding key: the user (user_id, else anon_id), the
# same identity as the Kafka message key, so a user's rows live on one shard.
SHARD_KEY="cityHash64(toString(if(user_id != $NIL, user_id, anon_id)))"

usage() {
	sed -n '6,7p' "$0" | sed 's/^# *//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) MODE=${2:-}; shift 2 ;;
	--mode=*) MODE=${1#--mode=}; shift ;;
	--cluster) CLUSTER=${2:-}; shift 2 ;;
	--cluster=*) CLUSTER=${1#--cluster=}; shift ;;
	--wait) WAIT=${2:-}; shift 2 ;;
	--wait=*) WAIT=${1#--wait=}; shift ;;
	--dry-run) DRY=1; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) echo "migrate: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
case "$MODE" in single|cluster) ;; *) echo "migrate: --mode must be single or cluster" >&2; exit 2 ;; esac
case "$CLUSTER" in ''|*[!A-Za-z0-9_]*) echo "migrate: bad cluster name '$CLUSTER'" >&2; exit 2 ;; esac
case "$WAIT" in ''|*[!0-9]*) echo "migrate: bad --wait '$WAIT'" >&2; exit 2 ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ugc-migrate.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

die() { echo "migrate: $*" >&2; exit 1; }
say() { echo "migrate: $*"; }

# q URL SQL-FILE: POST one statement; print the result; fail with the server's message.
q() {
	if ! curl -sS --fail-with-body --max-time 120 "$1/" --data-binary "@$2" > "$TMP/out" 2> "$TMP/err"; then
		cat "$TMP/out" "$TMP/err" >&2
		return 1
	fi
	cat "$TMP/out"
}
qs() { printf '%s\n' "$2" > "$TMP/stmt"; q "$1" "$TMP/stmt"; }

# render FILE: the template with this mode's placeholders filled in.
render() {
	if [ "$MODE" = cluster ]; then
		sed -e "s/@LOCAL@/_local/g" \
		    -e "s|@ENGINE(\([A-Za-z0-9_]*\))@|ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ugc/\1', '{replica}')|g" \
		    -e "s/@NIL@/$NIL/g" -e "s/@CLUSTER@/$CLUSTER/g" "$1"
	else
		sed -e "s/@LOCAL@//g" \
		    -e "s/@ENGINE([A-Za-z0-9_]*)@/ReplacingMergeTree()/g" \
		    -e "s/@DISTRIBUTED([A-Za-z0-9_]*)@//g" \
		    -e "s/@NIL@/$NIL/g" -e "s/@CLUSTER@/$CLUSTER/g" "$1"
	fi
}

# split FILE DIR: one statement per file DIR/NNNN.sql; prints the count.
split_statements() {
	mkdir -p "$2"
	awk -v dir="$2" '
		/^[ \t]*--/ { next }
		{ buf = buf $0 "\n" }
		/;[ \t]*$/ {
			sub(/;[ \t]*\n$/, "\n", buf)
			if (buf ~ /[^ \t\n]/) { n++; f = sprintf("%s/%04d.sql", dir, n); printf "%s", buf > f; close(f) }
			buf = ""
		}
		END {
			if (buf ~ /[^ \t\n]/) { n++; f = sprintf("%s/%04d.sql", dir, n); printf "%s", buf > f; close(f) }
			print n + 0
		}' "$1"
}

# distributed_ddl URL NAME: CREATE TABLE ugc.NAME with the columns of
# ugc.NAME_local as that node has them (MATERIALIZED columns become ALIAS:
# 18.16's Distributed would forward them on INSERT), ENGINE = Distributed.
distributed_ddl() {
	qs "$1" "SELECT name, type, default_kind, default_expression FROM system.columns
		WHERE database = 'ugc' AND table = '${2}_local' FORMAT TabSeparatedRaw" > "$TMP/cols" ||
		return 1
	[ -s "$TMP/cols" ] || { echo "migrate: ugc.${2}_local has no columns (not created?)" >&2; return 1; }
	awk -F '\t' -v t="$2" -v c="$CLUSTER" -v k="$SHARD_KEY" '
		BEGIN { printf "CREATE TABLE IF NOT EXISTS ugc.%s (\n", t }
		{
			d = ""
			if ($3 == "MATERIALIZED" || $3 == "ALIAS") d = " ALIAS " $4
			else if ($3 == "DEFAULT") d = " DEFAULT " $4
			printf "%s    `%s` %s%s\n", (NR > 1 ? "," : ""), $1, $2, d
		}
		END { printf ") ENGINE = Distributed(%s, ugc, %s_local, %s)\n", c, t, k }' "$TMP/cols"
}

wait_ping() {
	_end=$(( $(date +%s) + WAIT ))
	until curl -sf --max-time 2 "$1/ping" 2>/dev/null | grep -q '^Ok'; do
		[ "$(date +%s)" -lt "$_end" ] || die "$1: no answer to /ping within ${WAIT}s"
		sleep 0.2
	done
}

# apply_file URL FILE: run every statement of the rendered FILE (with --dry-run:
# print them); sets N to the count.
apply_file() {
	_sd="$TMP/stmts.$(basename "$2")"
	rm -rf "$_sd"
	render "$2" > "$TMP/rendered.sql"
	_n=$(split_statements "$TMP/rendered.sql" "$_sd")
	_done=0
	for _s in "$_sd"/*.sql; do
		[ -e "$_s" ] || continue
		_one=$(tr -s ' \t\n' '   ' < "$_s" | sed 's/^ //; s/ $//')
		case "$_one" in
		@DISTRIBUTED\(*\)@)
			_t=${_one#@DISTRIBUTED(}; _t=${_t%)@}
			if [ "$DRY" = 1 ]; then
				echo "-- CREATE TABLE IF NOT EXISTS ugc.$_t (the columns of ugc.${_t}_local, MATERIALIZED as ALIAS)"
				echo "--     ENGINE = Distributed($CLUSTER, ugc, ${_t}_local, $SHARD_KEY)"
				_done=$((_done + 1))
				continue
			fi
			distributed_ddl "$1" "$_t" > "$_s.ddl" || die "$1: $(basename "$2"): cannot build ugc.$_t"
			mv "$_s.ddl" "$_s"
			;;
		esac
		if [ "$DRY" = 1 ]; then
			cat "$_s"; echo ";"
		elif ! q "$1" "$_s" > /dev/null; then
			echo "migrate: the failed statement:" >&2
			sed 's/^/    /' "$_s" >&2
			die "$1: $(basename "$2"): statement failed"
		fi
		_done=$((_done + 1))
	done
	[ "$_done" = "$_n" ] || die "internal: $_done of $_n statements"
	N=$_n
}

record() { # URL FILE KIND CHECKSUM N
	[ "$DRY" = 1 ] && return 0
	_ms=$(date +%s%3N)
	qs "$1" "INSERT INTO ugc.schema_migrations (name, kind, checksum, mode, statements, applied_ms, applied_at)
		VALUES ('$(basename "$2")', '$3', '$4', '$MODE', $5, $_ms, toDateTime(intDiv($_ms, 1000), 'UTC'))" > /dev/null ||
		die "$1: cannot record $(basename "$2")"
}

migrate_node() {
	url=${1%/}
	wait_ping "$url"
	ver=$(qs "$url" "SELECT version()") || die "$url: SELECT version() failed"
	say "$url: ClickHouse $ver, mode $MODE"
	if [ "$DRY" = 0 ]; then
		qs "$url" "CREATE DATABASE IF NOT EXISTS ugc" > /dev/null || die "$url: cannot create database ugc"
		qs "$url" "CREATE TABLE IF NOT EXISTS ugc.schema_migrations (
			name String, kind String, checksum String, mode String, statements UInt32,
			applied_ms UInt64, applied_at DateTime('UTC')
		) ENGINE = MergeTree() ORDER BY (name, applied_ms)" > /dev/null || die "$url: cannot create ugc.schema_migrations"
		modes=$(qs "$url" "SELECT DISTINCT mode FROM ugc.schema_migrations WHERE mode != '$MODE'") ||
			die "$url: cannot read ugc.schema_migrations"
		[ -z "$modes" ] || die "$url: the database was migrated in mode '$modes', not '$MODE'"
	fi
	for f in "$SCHEMA_DIR"/V[0-9]*__*.sql "$SCHEMA_DIR"/R__*.sql; do
		[ -e "$f" ] || continue
		name=$(basename "$f")
		sum=$(sha256sum < "$f" | cut -c1-16)
		case "$name" in V*) kind=V ;; *) kind=R ;; esac
		last=""
		if [ "$DRY" = 0 ]; then
			last=$(qs "$url" "SELECT argMax(checksum, applied_ms) FROM ugc.schema_migrations
				WHERE name = '$name' GROUP BY name") || die "$url: cannot read ugc.schema_migrations"
		fi
		if [ "$last" = "$sum" ]; then
			say "$url: $name: already applied ($sum), nothing to do"
			continue
		fi
		if [ -n "$last" ] && [ "$kind" = V ]; then
			die "$url: $name changed since it was applied ($last, now $sum): add a new V file instead (or start from an empty data dir)"
		fi
		apply_file "$url" "$f"
		n=$N
		record "$url" "$f" "$kind" "$sum" "$n"
		if [ -n "$last" ]; then
			say "$url: $name: changed ($last -> $sum), re-applied $n statements"
		else
			say "$url: $name: applied $n statements ($sum)"
		fi
	done
}

for u in "$@"; do
	migrate_node "$u"
done
say "done: $# server(s), mode $MODE"
