#!/bin/sh
# Idempotent schema migration of the read side's PostgreSQL database (the
# current-state tables of etl/pg/V*.sql, docs/read-api.md).
#
#   migrate.sh CONNINFO        e.g. 'host=127.0.0.1 port=15432 user=postgres dbname=ugc'
#
# Each V<NNN>__<name>.sql is applied once, in its own transaction, and
# recorded with its checksum in schema_migrations; a recorded file that
# changed is an error (add a new version instead).  Running it again changes
# nothing and says so.  Exit 0 on success, 1 on failure, 2 on usage.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 CONNINFO" >&2; exit 2; }
C=$1
D=$(cd "$(dirname "$0")" && pwd)
q() { psql "$C" -qAtX -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, sha256 text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now())" > /dev/null
n=0
for f in "$D"/V*.sql; do
	v=$(basename "$f" .sql)
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	old=$(q -c "SELECT sha256 FROM schema_migrations WHERE version = '$v'")
	if [ -n "$old" ]; then
		[ "$old" = "$sum" ] || { echo "migrate: $v changed after it was applied (add a new version)" >&2; exit 1; }
		continue
	fi
	{ echo "BEGIN;"; cat "$f"; echo "INSERT INTO schema_migrations (version, sha256) VALUES ('$v', '$sum');"; echo "COMMIT;"; } |
		q > /dev/null || { echo "migrate: $v failed" >&2; exit 1; }
	echo "migrate: applied $v"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || echo "migrate: up to date"
