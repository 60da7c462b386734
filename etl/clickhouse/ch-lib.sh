# Shared helpers of ch-single.sh and ch-cluster.sh (POSIX sh).  Source it.
# Local development/test ClickHouse servers and ZooKeeper: configs generated
# under a data directory, loopback only, small caches, every process recorded
# in DIR/pids ("NAME PID" lines) so that `stop DIR` stops exactly what
# `start DIR` started, and every wait has a deadline and says what it waited for.

CH_SERVER=${CH_SERVER:-clickhouse-server}
CH_START_SECS=${CH_START_SECS:-60}	# deadline for one server to answer /ping
CH_STOP_SECS=${CH_STOP_SECS:-30}	# deadline for a clean exit before SIGKILL

ch_die() { echo "$CH_PROG: $*" >&2; exit 1; }
ch_log() { echo "$CH_PROG: $*" >&2; }

# ch_wait PID SECONDS WHAT CMD...: retry CMD every 0.2 s until it succeeds; on
# timeout say what was waited for and return 1.  Give up at once (saying so)
# when process PID (if not "") has exited.
ch_wait() {
	_cw_pid=$1; _cw_secs=$2; _cw_what=$3; shift 3
	_cw_end=$(( $(date +%s) + _cw_secs ))
	while ! "$@" >/dev/null 2>&1; do
		if [ -n "$_cw_pid" ] && ! kill -0 "$_cw_pid" 2>/dev/null; then
			ch_log "pid $_cw_pid exited while waiting for $_cw_what"
			return 1
		fi
		if [ "$(date +%s)" -ge "$_cw_end" ]; then
			ch_log "timed out after ${_cw_secs}s waiting for $_cw_what"
			return 1
		fi
		sleep 0.2
	done
}

# ch_port_free PORT: nothing listens on 127.0.0.1:PORT (TCP).
ch_port_free() {
	! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

ch_check_ports() {
	for _p in "$@"; do
		case "$_p" in ''|*[!0-9]*) ch_die "bad port '$_p'" ;; esac
		if [ "$_p" -lt 1024 ] || [ "$_p" -gt 65535 ]; then ch_die "port $_p out of 1024..65535"; fi
		ch_port_free "$_p" || ch_die "port $_p on 127.0.0.1 is already in use"
	done
}

# ch_abs DIR: create DIR, print its absolute path (it goes into XML configs and
# command lines: only [A-Za-z0-9_./-] allowed).
ch_abs() {
	case "$1" in *[!A-Za-z0-9_./-]*) ch_die "DIR '$1': use only letters, digits and _ . / -" ;; esac
	mkdir -p "$1" && (cd "$1" && pwd)
}

# ch_users_xml FILE: one passwordless user 'default', loopback only, modest
# memory and threads (2 cores; up to 4 servers + ZooKeeper on one machine).
ch_users_xml() {
	cat > "$1" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <max_memory_usage_for_all_queries>3000000000</max_memory_usage_for_all_queries>
            <max_threads>2</max_threads>
            <!-- push WHERE into the views' subqueries (a per-user lookup of
                 ugc.continue_watching reads one user's rows; default in current releases) -->
            <enable_optimize_predicate_expression>1</enable_optimize_predicate_expression>
            <background_pool_size>4</background_pool_size>
            <background_schedule_pool_size>4</background_schedule_pool_size>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>in_order</load_balancing>
            <connect_timeout_with_failover_ms>200</connect_timeout_with_failover_ms>
            <!-- idle TCP connections (other nodes' pools) notice a shutdown within 1 s -->
            <poll_interval>1</poll_interval>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

# ch_config_xml FILE NODEDIR HTTP TCP INTERSERVER|"" EXTRA_XML_FILE|"":
# a server config with everything under NODEDIR (no interserver port: no
# replication).
ch_config_xml() {
	_f=$1; _d=$2
	{
		cat <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$_d/log/server.log</log>
        <errorlog>$_d/log/server.err.log</errorlog>
        <size>20M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$3</http_port>
    <tcp_port>$4</tcp_port>
$(if [ -n "$5" ]; then
	echo "    <interserver_http_port>$5</interserver_http_port>"
	echo "    <interserver_http_host>127.0.0.1</interserver_http_host>"
fi)
    <max_connections>256</max_connections>
    <keep_alive_timeout>10</keep_alive_timeout>
    <max_concurrent_queries>32</max_concurrent_queries>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>33554432</uncompressed_cache_size>
    <path>$_d/data/</path>
    <tmp_path>$_d/tmp/</tmp_path>
    <user_files_path>$_d/user_files/</user_files_path>
    <format_schema_path>$_d/format_schemas/</format_schema_path>
    <users_config>$_d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
EOF
		[ -n "$6" ] && cat "$6"
		echo "</yandex>"
	} > "$_f"
}

ch_ping() { curl -sf --max-time 2 "http://127.0.0.1:$1/ping" | grep -q '^Ok'; }

# ch_query PORT SQL: run SQL over HTTP, print the result, fail on an error.
ch_query() {
	curl -sS --fail-with-body --max-time 60 "http://127.0.0.1:$1/" --data-binary "$2"
}

# ch_alive PID DIR: PID is still the process we started (its command line
# names our config under DIR), so a recycled PID is never signalled.
ch_alive() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF "$2/"
}

# ch_spawn DIR NAME LOGFILE CMD...: start CMD detached, record "NAME PID".
ch_spawn() {
	_sd=$1; _sn=$2; _sl=$3; shift 3
	nohup "$@" < /dev/null >> "$_sl" 2>&1 &
	echo "$_sn $!" >> "$_sd/pids"
	eval "CH_PID_$_sn=$!"
}

# ch_start_server DIR NAME NODEDIR: start clickhouse-server on NODEDIR/config.xml.
ch_start_server() {
	mkdir -p "$3/log" "$3/data" "$3/tmp" "$3/user_files" "$3/format_schemas"
	ch_spawn "$1" "$2" "$3/log/stdout.log" "$CH_SERVER" --config-file="$3/config.xml"
}

# ch_wait_server NAME HTTP_PORT DIR: wait for /ping, or fail with the log tail.
ch_wait_server() {
	if ! ch_wait "$(ch_pid_of "$3" "$1")" "$CH_START_SECS" \
		"$1 to answer http://127.0.0.1:$2/ping" ch_ping "$2"; then
		tail -n 20 "$3/$1/log/stdout.log" "$3/$1/log/server.err.log" >&2 2>/dev/null || true
		return 1
	fi
}

ch_pid_of() { awk -v n="$2" '$1 == n { p = $2 } END { print p }' "$1/pids" 2>/dev/null; }

# ch_stop_one DIR NAME: SIGTERM, then ch_wait_exit.
ch_stop_one() {
	_pid=$(ch_pid_of "$1" "$2")
	[ -n "$_pid" ] && ch_alive "$_pid" "$1" || return 0
	kill -TERM "$_pid" 2>/dev/null || true
	ch_wait_exit "$1" "$2"
	ch_log "stopped $2 (pid $_pid)"
}

# ch_wait_exit DIR NAME: wait up to CH_STOP_SECS for NAME (already sent
# SIGTERM) to exit, then SIGKILL.
ch_wait_exit() {
	_pid=$(ch_pid_of "$1" "$2")
	[ -n "$_pid" ] && ch_alive "$_pid" "$1" || return 0
	_end=$(( $(date +%s) + CH_STOP_SECS ))
	while ch_alive "$_pid" "$1"; do
		if [ "$(date +%s)" -ge "$_end" ]; then
			ch_log "$2 (pid $_pid) did not exit ${CH_STOP_SECS}s after SIGTERM; SIGKILL"
			kill -KILL "$_pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
	done
}

# ch_kill_one DIR NAME: SIGKILL (a crash, for failure tests).
ch_kill_one() {
	_pid=$(ch_pid_of "$1" "$2")
	[ -n "$_pid" ] && ch_alive "$_pid" "$1" || return 0
	kill -KILL "$_pid" 2>/dev/null || true
	_end=$(( $(date +%s) + 10 ))
	while ch_alive "$_pid" "$1" && [ "$(date +%s)" -lt "$_end" ]; do sleep 0.1; done
	ch_log "killed $2 (pid $_pid)"
}

# ch_stop_all DIR: stop every recorded process: the ClickHouse servers
# together (SIGTERM to all, then wait), ZooKeeper last.
ch_stop_all() {
	[ -f "$1/pids" ] || return 0
	_names=$(awk '{ print $1 }' "$1/pids" | awk '!seen[$0]++')
	_sig=""
	for _n in $_names; do
		[ "$_n" = zk ] && continue
		_pid=$(ch_pid_of "$1" "$_n")
		if ch_alive "$_pid" "$1"; then
			kill -TERM "$_pid" 2>/dev/null || true
			_sig="$_sig $_n"
		fi
	done
	for _n in $_sig; do
		ch_wait_exit "$1" "$_n"
		ch_log "stopped $_n (pid $(ch_pid_of "$1" "$_n"))"
	done
	if echo "$_names" | grep -qx zk; then ch_stop_one "$1" zk; fi
	rm -f "$1/pids"
}

# ch_running DIR: some recorded process is still alive.
ch_running() {
	[ -f "$1/pids" ] || return 1
	while read -r _n _p; do
		ch_alive "$_p" "$1" && return 0
	done < "$1/pids"
	return 1
}
