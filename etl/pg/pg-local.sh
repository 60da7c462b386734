#!/bin/sh
# A private local PostgreSQL 15 cluster for development, `make run` and tests
# (never the system service).  Loopback only; data, socket and log under DIR.
#
#   pg-local.sh start  DIR [PORT]    default port 15432; creates the cluster on first use,
#                                    the database `ugc`, and applies etl/pg/V*.sql
#   pg-local.sh stop   DIR           fast shutdown (waits PG_STOP_SECS, default 30 s)
#   pg-local.sh status DIR
#
# start waits (deadline PG_START_SECS, default 60 s) until the server accepts
# connections, then prints shell assignments (also written to DIR/pg.env):
#   PG_CONNINFO='host=127.0.0.1 port=15432 user=postgres dbname=ugc'  PG_PORT=15432
# Starting an already running DIR prints its env again and exits 0.
# PostgreSQL refuses to run as root: as root, the cluster runs as the
# `postgres` user (created by Debian's postgresql-15 package) and DIR is
# chowned to it.  Authentication is `trust` on 127.0.0.1 only (a dev/test
# cluster; production uses its own, see docs/read-api.md).
set -eu
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
log() { echo "pg-local: $*" >&2; }
die() { echo "pg-local: ERROR: $*" >&2; exit 1; }
usage() { echo "usage: $0 start DIR [PORT] | stop DIR | status DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
mkdir -p "$2" 2>/dev/null || true
[ -d "$2" ] || die "$2: no such directory"
dir=$(cd "$2" && pwd)
port=${3:-15432}
data="$dir/data"

if [ "$(id -u)" = 0 ]; then
	id postgres > /dev/null 2>&1 || die "no postgres user (install postgresql-15)"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi
[ -x "$PGBIN/pg_ctl" ] || die "$PGBIN/pg_ctl missing (install postgresql-15)"

running() { [ -f "$data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status > /dev/null 2>&1; }

write_env() {
	cat > "$dir/pg.env" <<EOT
PG_CONNINFO='host=127.0.0.1 port=$port user=postgres dbname=ugc'
PG_PORT=$port
PG_DIR=$dir
EOT
	cat "$dir/pg.env"
}

case "$cmd" in
start)
	if running; then
		[ -f "$dir/pg.env" ] || die "$dir: running but no pg.env"
		cat "$dir/pg.env"
		exit 0
	fi
	mkdir -p "$dir/sock" "$dir/log"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
	if [ ! -f "$data/PG_VERSION" ]; then
		log "initdb $data"
		as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
			> "$dir/log/initdb.log" 2>&1 || die "initdb failed: $(tail -3 "$dir/log/initdb.log")"
		{ echo; echo "# ---- etl/pg/postgresql.conf"; cat "$HERE/postgresql.conf"; } >> "$data/postgresql.conf"
	fi
	log "starting on 127.0.0.1:$port"
	as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/log/postgres.log" -w -t "${PG_START_SECS:-60}" \
		-o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1" start > /dev/null ||
		die "PostgreSQL did not start within ${PG_START_SECS:-60}s: $(tail -5 "$dir/log/postgres.log")"
	c="host=127.0.0.1 port=$port user=postgres"
	if [ "$(psql "$c dbname=postgres" -qAtX -c "SELECT 1 FROM pg_database WHERE datname = 'ugc'")" != 1 ]; then
		psql "$c dbname=postgres" -qAtX -c "CREATE DATABASE ugc" > /dev/null || die "CREATE DATABASE ugc failed"
	fi
	"$HERE/migrate.sh" "$c dbname=ugc" >&2 || die "schema migration failed"
	write_env
	;;
stop)
	[ -f "$data/postmaster.pid" ] || exit 0
	as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t "${PG_STOP_SECS:-30}" stop > /dev/null 2>&1 ||
		as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 10 stop > /dev/null 2>&1 || true
	;;
status)
	if running; then cat "$dir/pg.env"; else echo "not running"; exit 1; fi
	;;
*) usage ;;
esac
