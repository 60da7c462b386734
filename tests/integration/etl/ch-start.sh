#!/bin/sh
# tests/integration/etl/ch-start.sh DIR HTTP_PORT TCP_PORT - start a throwaway
# single-node clickhouse-server (Debian's package) in the foreground of this
# process (exec), with its config, data and logs under DIR, listening on
# 127.0.0.1 only.  Used by beacon-etl's integration tests and benchmarks when
# the schema owner's etl/clickhouse/ch-single.sh is not there.
#
# The caller backgrounds it (it_start) and waits for /ping.  Data survive a
# restart with the same DIR (the outage test stops and restarts the server).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 DIR HTTP_PORT TCP_PORT" >&2; exit 2; }
D=$1
HP=$2
TP=$3
mkdir -p "$D/data" "$D/tmp" "$D/user_files" "$D/log" "$D/format_schemas"
D=$(cd "$D" && pwd)
cat > "$D/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$D/log/server.log</log><errorlog>$D/log/error.log</errorlog><size>100M</size><count>2</count></logger>
    <http_port>$HP</http_port>
    <tcp_port>$TP</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>30</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$D/data/</path>
    <tmp_path>$D/tmp/</tmp_path>
    <user_files_path>$D/user_files/</user_files_path>
    <format_schema_path>$D/format_schemas/</format_schema_path>
    <users_config>$D/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
cat > "$D/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage><log_queries>0</log_queries></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
exec clickhouse-server --config-file="$D/config.xml"
