#!/bin/sh
# Single-node local ClickHouse (Debian's clickhouse-server) for development,
# `make run` and tests.  Loopback only; data, logs and configs under DIR.
#
#   ch-single.sh start  DIR [HTTP_PORT [TCP_PORT]]   default ports 18123 19000
#   ch-single.sh stop   DIR
#   ch-single.sh status DIR
#   ch-single.sh run    DIR [HTTP_PORT [TCP_PORT]]   in the foreground (exec), for a
#                                                    supervisor such as it_start; the
#                                                    caller waits for /ping and signals it
#
# start waits (deadline CH_START_SECS, default 60 s) until the server answers
# /ping, then prints shell assignments (also written to DIR/clickhouse.env):
#   CLICKHOUSE_HTTP=http://127.0.0.1:18123  CLICKHOUSE_TCP_PORT=19000 ...
# Starting an already running DIR prints its env again and exits 0.  stop
# sends SIGTERM, waits CH_STOP_SECS (default 30 s), then SIGKILL.
# Apply the schema with: etl/schema/migrate.sh --mode single $CLICKHOUSE_HTTP
set -eu
CH_PROG=ch-single
. "$(dirname "$0")/ch-lib.sh"

usage() { echo "usage: $0 start|run DIR [HTTP_PORT [TCP_PORT]] | stop DIR | status DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
if [ "$cmd" = start ] || [ "$cmd" = run ]; then
	dir=$(ch_abs "$2")
elif [ -d "$2" ]; then
	dir=$(cd "$2" && pwd)
else
	[ "$cmd" = stop ] && exit 0
	echo "not running (no $2)" >&2
	exit 1
fi

write_env() {
	cat > "$dir/clickhouse.env" <<EOT
CLICKHOUSE_MODE=single
CLICKHOUSE_HTTP=http://127.0.0.1:$http
CLICKHOUSE_HTTP_ALL=http://127.0.0.1:$http
CLICKHOUSE_TCP_PORT=$tcp
EOT
}
http=${3:-18123}
tcp=${4:-19000}
node="$dir/ch"

case "$cmd" in
run)
	ch_running "$dir" && ch_die "$dir: already running (started with 'start')"
	ch_check_ports "$http" "$tcp"
	mkdir -p "$node/log" "$node/data" "$node/tmp" "$node/user_files" "$node/format_schemas"
	ch_users_xml "$node/users.xml"
	ch_config_xml "$node/config.xml" "$node" "$http" "$tcp" "" ""
	write_env
	ch_log "running in the foreground: http 127.0.0.1:$http, tcp 127.0.0.1:$tcp, data $node/data"
	exec "$CH_SERVER" --config-file="$node/config.xml"
	;;
start)
	if ch_running "$dir"; then
		[ -f "$dir/clickhouse.env" ] || ch_die "$dir: processes running but no clickhouse.env"
		ch_log "already running in $dir"
		cat "$dir/clickhouse.env"
		exit 0
	fi
	rm -f "$dir/pids"
	ch_check_ports "$http" "$tcp"
	trap 'ch_stop_all "$dir"; exit 130' INT TERM HUP
	mkdir -p "$node"
	ch_users_xml "$node/users.xml"
	ch_config_xml "$node/config.xml" "$node" "$http" "$tcp" "" ""
	ch_start_server "$dir" ch "$node"
	if ! ch_wait_server ch "$http" "$dir"; then
		ch_stop_all "$dir"
		ch_die "clickhouse-server did not start (logs in $node/log)"
	fi
	trap - INT TERM HUP
	write_env
	ch_log "ready: http 127.0.0.1:$http, tcp 127.0.0.1:$tcp, pid $(ch_pid_of "$dir" ch), data $node/data"
	cat "$dir/clickhouse.env"
	;;
stop)
	ch_stop_all "$dir"
	;;
status)
	if ch_running "$dir"; then
		cat "$dir/clickhouse.env" 2>/dev/null || true
		exit 0
	fi
	echo "not running" >&2
	exit 1
	;;
*) usage ;;
esac
