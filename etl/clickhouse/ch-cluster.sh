#!/bin/sh
# Local replicated ClickHouse cluster for development and tests: 2 shards x 2
# replicas (4 clickhouse-server processes) plus a standalone ZooKeeper (Debian's
# zookeeper package, run as a plain process with its own data dir, not the
# system service).  Loopback only; everything under DIR.
#
#   ch-cluster.sh start   DIR [BASE_PORT]      default BASE_PORT 18200
#   ch-cluster.sh stop    DIR
#   ch-cluster.sh status  DIR
#   ch-cluster.sh kill    DIR NODE             SIGKILL one node (ch1..ch4, zk): a crash
#   ch-cluster.sh restart DIR NODE             start a stopped/killed node again, wait for it
#
# Ports, from BASE (B): ZooKeeper B; node chN (N = 1..4) HTTP B+N, native TCP
# B+10+N, interserver (replication) B+20+N.  Shard 1 = ch1, ch2; shard 2 = ch3,
# ch4.  The cluster is named ugc_cluster (internal_replication: a Distributed
# insert writes one replica per shard and ReplicatedMergeTree copies it).
# start waits for ZooKeeper (ruok) and for every node (/ping and a ZooKeeper
# read), then prints shell assignments (also written to DIR/clickhouse.env).
# Apply the schema with: etl/schema/migrate.sh --mode cluster $CLICKHOUSE_HTTP_ALL
set -eu
CH_PROG=ch-cluster
. "$(dirname "$0")/ch-lib.sh"

ZK_JAVA=${ZK_JAVA:-java}
ZK_CP=${ZK_CP:-/usr/share/java/zookeeper.jar}
NODES="ch1 ch2 ch3 ch4"

usage() {
	echo "usage: $0 start DIR [BASE_PORT] | stop DIR | status DIR | kill DIR NODE | restart DIR NODE" >&2
	exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
if [ "$cmd" = start ]; then
	dir=$(ch_abs "$2")
elif [ -d "$2" ]; then
	dir=$(cd "$2" && pwd)
else
	[ "$cmd" = stop ] && exit 0
	echo "not running (no $2)" >&2
	exit 1
fi

node_n() { echo "${1#ch}"; }
load_env() {
	[ -f "$dir/clickhouse.env" ] || ch_die "$dir: no clickhouse.env (not started?)"
	. "$dir/clickhouse.env"
	base=$CLICKHOUSE_BASE_PORT
}

zk_ok() { [ "$(echo ruok | curl -s --max-time 2 "telnet://127.0.0.1:$1" 2>/dev/null)" = imok ]; }

write_zk() {
	mkdir -p "$dir/zk/data" "$dir/zk/log"
	cat > "$dir/zk/zoo.cfg" <<EOT
tickTime=1000
initLimit=10
syncLimit=5
dataDir=$dir/zk/data
clientPort=$base
clientPortAddress=127.0.0.1
maxClientCnxns=200
minSessionTimeout=2000
maxSessionTimeout=30000
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr,stat
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOT
}

start_zk() {
	cp=$ZK_CP
	# slf4j-simple (libslf4j-java, a dependency of libzookeeper-java) logs to stderr.
	[ -r /usr/share/java/slf4j-simple.jar ] && cp="$cp:/usr/share/java/slf4j-simple.jar"
	ch_spawn "$dir" zk "$dir/zk/log/zookeeper.log" "$ZK_JAVA" -Xms32m -Xmx256m -XX:+UseSerialGC \
		-XX:TieredStopAtLevel=1 -Dzookeeper.admin.enableServer=false \
		-cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zk/zoo.cfg"
	if ! ch_wait "$(ch_pid_of "$dir" zk)" "$CH_START_SECS" \
		"ZooKeeper to answer ruok on 127.0.0.1:$base" zk_ok "$base"; then
		tail -n 20 "$dir/zk/log/zookeeper.log" >&2 || true
		return 1
	fi
	ch_log "zookeeper ready on 127.0.0.1:$base (pid $(ch_pid_of "$dir" zk))"
}

# cluster.xml: remote_servers, zookeeper and this node's macros.
write_node() {
	_n=$1; _i=$(node_n "$_n"); _d="$dir/$_n"
	_shard=$(( (_i + 1) / 2 ))
	mkdir -p "$_d"
	{
		echo "    <remote_servers>"
		echo "        <ugc_cluster>"
		for s in 1 2; do
			echo "            <shard>"
			echo "                <internal_replication>true</internal_replication>"
			for r in 1 2; do
				echo "                <replica><host>127.0.0.1</host><port>$(( base + 10 + (s - 1) * 2 + r ))</port></replica>"
			done
			echo "            </shard>"
		done
		echo "        </ugc_cluster>"
		echo "    </remote_servers>"
		echo "    <zookeeper>"
		echo "        <node><host>127.0.0.1</host><port>$base</port></node>"
		echo "        <session_timeout_ms>10000</session_timeout_ms>"
		echo "        <operation_timeout_ms>5000</operation_timeout_ms>"
		echo "    </zookeeper>"
		echo "    <macros><cluster>ugc_cluster</cluster><shard>0$_shard</shard><replica>$_n</replica></macros>"
		echo "    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>"
	} > "$_d/cluster.xml"
	ch_users_xml "$_d/users.xml"
	ch_config_xml "$_d/config.xml" "$_d" $(( base + _i )) $(( base + 10 + _i )) $(( base + 20 + _i )) "$_d/cluster.xml"
}

node_ready() { # HTTP port: answers /ping and can read ZooKeeper
	ch_ping "$1" && curl -sf --max-time 5 "http://127.0.0.1:$1/" \
		--data-binary "SELECT count() FROM system.zookeeper WHERE path = '/'" | grep -q '^[1-9]'
}

wait_node() {
	_n=$1; _p=$(( base + $(node_n "$_n") ))
	ch_wait_server "$_n" "$_p" "$dir" || return 1
	ch_wait "$(ch_pid_of "$dir" "$_n")" "$CH_START_SECS" \
		"$_n (http $_p) to read ZooKeeper" node_ready "$_p"
}

case "$cmd" in
start)
	base=${3:-18200}
	case "$base" in ''|*[!0-9]*) ch_die "bad BASE_PORT '$base'" ;; esac
	if ch_running "$dir"; then
		[ -f "$dir/clickhouse.env" ] || ch_die "$dir: processes running but no clickhouse.env"
		ch_log "already running in $dir"
		cat "$dir/clickhouse.env"
		exit 0
	fi
	rm -f "$dir/pids"
	ports=$base
	for i in 1 2 3 4; do ports="$ports $(( base + i )) $(( base + 10 + i )) $(( base + 20 + i ))"; done
	# shellcheck disable=SC2086
	ch_check_ports $ports
	trap 'ch_stop_all "$dir"; exit 130' INT TERM HUP
	write_zk
	start_zk || { ch_stop_all "$dir"; ch_die "ZooKeeper did not start"; }
	for n in $NODES; do
		write_node "$n"
		ch_start_server "$dir" "$n" "$dir/$n"
	done
	for n in $NODES; do
		wait_node "$n" || { ch_stop_all "$dir"; ch_die "$n did not start (logs in $dir/$n/log)"; }
	done
	trap - INT TERM HUP
	all=""
	for i in 1 2 3 4; do all="$all http://127.0.0.1:$(( base + i ))"; done
	cat > "$dir/clickhouse.env" <<EOT
CLICKHOUSE_MODE=cluster
CLICKHOUSE_CLUSTER=ugc_cluster
CLICKHOUSE_BASE_PORT=$base
CLICKHOUSE_HTTP=http://127.0.0.1:$(( base + 1 ))
CLICKHOUSE_HTTP_ALL="${all# }"
CLICKHOUSE_TCP_PORT=$(( base + 11 ))
ZOOKEEPER=127.0.0.1:$base
EOT
	for n in $NODES; do
		i=$(node_n "$n")
		ch_log "$n: shard 0$(( (i + 1) / 2 )) http 127.0.0.1:$(( base + i )) tcp $(( base + 10 + i )) interserver $(( base + 20 + i )) pid $(ch_pid_of "$dir" "$n")"
	done
	ch_log "ready: 2 shards x 2 replicas, zookeeper 127.0.0.1:$base"
	cat "$dir/clickhouse.env"
	;;
stop)
	ch_stop_all "$dir"
	;;
status)
	if ch_running "$dir"; then
		load_env
		for n in zk $NODES; do
			p=$(ch_pid_of "$dir" "$n")
			if [ -n "$p" ] && ch_alive "$p" "$dir"; then echo "$n up (pid $p)"; else echo "$n down"; fi
		done
		cat "$dir/clickhouse.env"
		exit 0
	fi
	echo "not running" >&2
	exit 1
	;;
kill)
	[ $# -eq 3 ] || usage
	load_env
	ch_kill_one "$dir" "$3"
	;;
restart)
	[ $# -eq 3 ] || usage
	load_env
	p=$(ch_pid_of "$dir" "$3")
	[ -n "$p" ] || ch_die "unknown node $3"
	ch_stop_one "$dir" "$3"
	if [ "$3" = zk ]; then
		start_zk || ch_die "ZooKeeper did not restart"
	else
		# A killed node's sockets outlive it: connections its peers had open
		# sit in FIN_WAIT2 (up to net.ipv4.tcp_fin_timeout, 60 s) until those
		# peers close them, and until then its ports can't be bound again
		# ("Address already in use").  So start again, while that is what
		# stops it, until a deadline.
		_end=$(( $(date +%s) + ${CH_RESTART_SECS:-90} ))
		_try=1
		while :; do
			: > "$dir/$3/log/server.err.log" 2>/dev/null || true
			ch_start_server "$dir" "$3" "$dir/$3"
			wait_node "$3" && break
			grep -q 'Address already in use' "$dir/$3/log/server.err.log" 2>/dev/null ||
				ch_die "$3 did not restart (logs in $dir/$3/log)"
			[ "$(date +%s)" -lt "$_end" ] ||
				ch_die "$3 did not restart within ${CH_RESTART_SECS:-90}s: its ports stayed in use (logs in $dir/$3/log)"
			ch_log "$3: a port of the killed node is still in use (attempt $_try); starting again in 3 s"
			ch_stop_one "$dir" "$3"
			_try=$((_try + 1))
			sleep 3
		done
		ch_log "$3 restarted (pid $(ch_pid_of "$dir" "$3"))"
	fi
	;;
*) usage ;;
esac
