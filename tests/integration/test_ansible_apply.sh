#!/bin/sh
# site.yml applied for real, through Ansible's chroot connection, into a
# Debian 12 root made with debootstrap (minbase + python3 + systemd, from this
# machine's Debian mirror; cached in /var/cache/beacond-ci, see
# tests/integration/ansible/chroot.sh).  The root is host `target` of an
# inventory where it is ch1 of a 2 x 2 ClickHouse cluster, zk1 of a 3-member
# ZooKeeper ensemble, one of two beacond appliances (socket driver), one of two
# ETLs (with the PostgreSQL sink on), the read side's PostgreSQL host, one of
# two beacon-api instances, and the Prometheus host; its peers have loopback addresses and are
# never contacted (--limit target).  No service can run in a chroot:
# deploy_start_services is false there (the roles' default for a chroot
# connection).
#
#   1. apply: every role but dpdk_host (test_ansible_dpdk.sh): packages,
#      users, binaries built from this checkout, configs, units;
#   2. apply again: changed=0 (idempotence);
#   3. checks of what it produced: users, releases and symlinks, permissions,
#      ldd of the three binaries in the root, --check-config of their configs,
#      config contents, units (systemd-analyze verify in the root), ClickHouse
#      XML (2 shards x 2 replicas, macros, ZooKeeper), zoo.cfg and myid,
#      PostgreSQL's conf.d/beacon.conf and pg_hba.conf, the etl/pg files,
#      promtool check config in the root, rules and consoles;
#   4. ClickHouse of the root started by this test (not by systemd) on its
#      generated config: it answers, system.clusters and system.macros are the
#      inventory's; the role's schema migration task runs against it (tags
#      clickhouse_schema, single mode: no ZooKeeper here), then again: changed=0;
#   4b. PostgreSQL of the root started by this test on its generated config: the
#      role's database, roles, migration and grants tasks (tags pg_state_schema)
#      run against it, then again: changed=0; the writer and the reader log in
#      with the conninfo of beacon-etl.ini / beacon-api.ini (pg_hba, scram), the
#      writer applies a like (trigger into film_stats), the reader reads it and
#      may not write;
#   5. rollback: beacond_release pinned to the previous release id re-points
#      the symlink and nothing else.
# Mounts (proc, sys under the root) are always removed, even on failure, and
# the root is deleted only when nothing is mounted under it.
set -eu
IT_NAME=test_ansible_apply
. tests/integration/lib.sh
. tests/integration/ansible/lib.sh
W=$(pwd)/build/it/ansible-apply
rm -rf "$W"
mkdir -p "$W"
if [ "$(id -u)" != 0 ]; then
	echo "$IT_NAME: SKIP: needs root (debootstrap, chroot, mount)"
	exit 0
fi
an_require ansible-playbook debootstrap zstd chroot
[ -x build/beacond ] && [ -x build/beacon-etl ] && [ -x build/beacon-api ] ||
	it_fail "build/beacond, build/beacon-etl and build/beacon-api are needed (make all)"
CR_WORK=$W
. tests/integration/ansible/chroot.sh

CH_PID=""
PG_PID=""
# stop_server PID SIGNAL: send SIGNAL (TERM, or INT for PostgreSQL's fast
# shutdown), wait up to 30 s for the exit, then SIGKILL.
stop_server() {
	kill -"$2" "$1" 2>/dev/null || true
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 150 ]; do sleep 0.2; _i=$((_i + 1)); done
	kill -KILL "$1" 2>/dev/null || true
}
apply_cleanup() {
	_rc=$?
	[ -z "$PG_PID" ] || stop_server "$PG_PID" INT
	[ -z "$CH_PID" ] || stop_server "$CH_PID" TERM
	cr_destroy || _rc=1
	an_cleanup
	exit $_rc
}
trap apply_cleanup EXIT
trap 'exit 130' INT TERM

T0=$(an_now)
cr_create
T_ROOT=$(( $(an_now) - T0 ))
it_log "root ready in ${T_ROOT}s ($( [ "$CR_COLD" = 1 ] && echo cold || echo warm ))"

# ClickHouse ports of this test (step 4 runs a server): free ones, since other
# servers (benchmarks, other tests) may be listening on this machine.
port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() {
	_p=$1
	while ! port_free "$_p" || [ "$_p" = "${CHP:-}" ] || [ "$_p" = "${CHT:-}" ]; do _p=$((_p + 1)); done
	echo "$_p"
}
CHP=$(free_port 28123)
CHT=$(free_port 29000)
CHI=$(free_port 29009)
PGP=$(free_port 25432)
cat > "$W/hosts.yml" <<EOT
all:
  vars:
    ansible_python_interpreter: /usr/bin/python3
    kafka_bootstrap_servers: ['127.0.0.1:19092', '127.0.0.2:19092']
    beacond_jwt_keys: test-key-new,test-key-old
    beacond_workers: 1
    beacond_worker_cpus: '1'
    beacond_housekeeping_cpus: '0'
    beacond_settings: {http: {max_conns: 2048}}
    beacon_etl_settings: {views: {batch_rows: 32768}}
    clickhouse_http_port: $CHP
    clickhouse_tcp_port: $CHT
    clickhouse_interserver_port: $CHI
    clickhouse_listen_hosts: [127.0.0.1]
    clickhouse_max_memory_usage: 2000000000
    zookeeper_client_port: 22181
    pg_state_port: $PGP
    pg_state_listen_addresses: [127.0.0.1]
    pg_state_writer_password: test-writer-pw
    pg_state_reader_password: "test-reader'pw"
    beacon_etl_pg_enabled: true
    beacon_api_jwt_keys: test-key-new,test-key-old
    beacon_api_settings: {cache: {ttl_ms: 2000}}
  children:
    beacon_nodes:
      hosts:
        target:
          ansible_connection: community.general.chroot
          ansible_host: $CR_ROOT
          service_address: 127.0.0.1
        beacon2: {service_address: 127.0.0.12}
    etl_nodes:
      hosts:
        target: {}
        etl2: {service_address: 127.0.0.22}
    clickhouse_nodes:
      hosts:
        target: {}
        ch2: {service_address: 127.0.0.2}
        ch3: {service_address: 127.0.0.3}
        ch4: {service_address: 127.0.0.4}
    zookeeper_nodes:
      hosts:
        target: {}
        zk2: {service_address: 127.0.0.42}
        zk3: {service_address: 127.0.0.43}
    pg_nodes:
      hosts:
        target: {}
    api_nodes:
      hosts:
        target: {}
        api2: {service_address: 127.0.0.72}
    monitoring:
      hosts:
        target: {}
EOT

# play NAME ARGS...: site.yml on the root; log in $W/NAME.log.
play() {
	_n=$1; shift
	_t=$(an_now)
	if ! (cd "$AN_DIR" && ansible-playbook -i "$W/hosts.yml" site.yml --limit target "$@") > "$W/$_n.log" 2>&1; then
		tail -n 60 "$W/$_n.log" >&2
		it_fail "ansible-playbook ($_n) failed (log: $W/$_n.log)"
	fi
	PLAY_SECS=$(( $(an_now) - _t ))
}
R=$CR_ROOT
inroot() { chroot "$R" "$@"; }
rstat() { chroot "$R" stat -c "$1" "$2"; }   # owner names from the root's own passwd/group

# 1. first apply
play apply1
T_APPLY1=$PLAY_SECS
C1=$(an_sum "$W/apply1.log" changed)
[ "$(an_sum "$W/apply1.log" failed)" = 0 ] || it_fail "apply1: failures"
[ "$C1" -gt 20 ] || it_fail "apply1: only $C1 changes on a bare root"
it_log "apply 1: ok, changed=$C1 in ${T_APPLY1}s"
cr_save_debs

# 2. idempotence
play apply2
T_APPLY2=$PLAY_SECS
if [ "$(an_sum "$W/apply2.log" changed)" != 0 ]; then
	grep -B3 '^changed:' "$W/apply2.log" >&2 || true
	it_fail "apply 2 is not idempotent: $(an_recap "$W/apply2.log")"
fi
it_log "apply 2: changed=0 in ${T_APPLY2}s (idempotent)"

# 3. what it produced
fail_in() { it_fail "$1"; }
# users: dedicated system users without a login shell
for u in beacond beacon-etl beacon-api; do
	line=$(grep "^$u:" "$R/etc/passwd") || fail_in "user $u missing"
	uid=$(echo "$line" | cut -d: -f3)
	[ "$uid" -lt 1000 ] || fail_in "user $u is not a system user (uid $uid)"
	[ "$(echo "$line" | cut -d: -f7)" = /usr/sbin/nologin ] || fail_in "user $u has a login shell"
done
for u in clickhouse prometheus zookeeper postgres; do grep -q "^$u:" "$R/etc/passwd" || fail_in "user $u missing"; done
# releases named by checksum, symlinked, root-owned 0755
for b in beacond beacon-etl beacon-api; do
	id=$(sha256sum "build/$b" | cut -c1-12)
	[ "$(readlink "$R/usr/local/bin/$b")" = "/opt/beacon/releases/$b-$id" ] || fail_in "/usr/local/bin/$b -> $(readlink "$R/usr/local/bin/$b"), not release $id"
	[ "$(rstat '%a %U %G' "/opt/beacon/releases/$b-$id")" = "755 root root" ] || fail_in "$b release permissions"
	cmp -s "build/$b" "$R/opt/beacon/releases/$b-$id" || fail_in "$b release differs from build/$b"
	inroot ldd "/usr/local/bin/$b" > "$W/ldd-$b.txt" 2>&1 || fail_in "ldd $b in the root"
	if grep -q 'not found' "$W/ldd-$b.txt"; then fail_in "$b lacks libraries in the root: $(grep 'not found' "$W/ldd-$b.txt")"; fi
done
it_log "users, releases, symlinks, shared libraries: ok"
# configs: permissions, contents, accepted by the binaries themselves
[ "$(rstat '%a %U %G' "/etc/beacond/beacond.ini")" = "640 root beacond" ] || fail_in "beacond.ini permissions"
[ "$(rstat '%a %U %G' "/etc/beacond")" = "750 root beacond" ] || fail_in "/etc/beacond permissions"
[ "$(rstat '%a %U %G' "/etc/beacon-etl/beacon-etl.ini")" = "640 root beacon-etl" ] || fail_in "beacon-etl.ini permissions"
[ "$(rstat '%a %U %G' "/etc/beacon-api/beacon-api.ini")" = "640 root beacon-api" ] || fail_in "beacon-api.ini permissions"
[ "$(rstat '%a %U %G' "/etc/beacon-api")" = "750 root beacon-api" ] || fail_in "/etc/beacon-api permissions"
ini() { # FILE SECTION KEY: the value
	awk -v s="[$2]" -v k="$3" '/^\[/ { in_s = ($0 == s) } in_s && $1 == k && $2 == "=" { sub(/^[^=]*= ?/, ""); print; exit }' "$1"
}
B=$R/etc/beacond/beacond.ini
for kv in "driver name socket" "driver workers 1" "driver worker_cpus 1" "node name target" "node id 1" \
	"kafka brokers 127.0.0.1:19092,127.0.0.2:19092" "auth jwt_keys test-key-new,test-key-old" \
	"metrics port 9470" "udp address 0.0.0.0" "http max_conns 2048"; do
	set -- $kv
	[ "$(ini "$B" "$1" "$2")" = "$3" ] || fail_in "beacond.ini [$1] $2 = '$(ini "$B" "$1" "$2")', expected '$3'"
done
grep -q '^\[dpdk\]' "$B" && fail_in "beacond.ini has a [dpdk] section in socket mode"
E=$R/etc/beacon-etl/beacon-etl.ini
[ "$(ini "$E" clickhouse endpoints)" = "http://127.0.0.1:$CHP,http://127.0.0.2:$CHP,http://127.0.0.3:$CHP,http://127.0.0.4:$CHP" ] ||
	fail_in "beacon-etl.ini endpoints: $(ini "$E" clickhouse endpoints)"
[ "$(ini "$E" kafka brokers)" = "127.0.0.1:19092,127.0.0.2:19092" ] || fail_in "beacon-etl.ini brokers"
[ "$(ini "$E" views batch_rows)" = 32768 ] || fail_in "beacon-etl.ini views.batch_rows"
[ "$(ini "$E" postgres enabled)" = yes ] || fail_in "beacon-etl.ini postgres.enabled"
[ "$(ini "$E" postgres conninfo)" = "host=127.0.0.1 port=$PGP dbname=ugc user=beacon_etl password='test-writer-pw'" ] ||
	fail_in "beacon-etl.ini postgres.conninfo: $(ini "$E" postgres conninfo)"
A=$R/etc/beacon-api/beacon-api.ini
for kv in "api address 0.0.0.0" "api port 8090" "metrics port 9472" "auth jwt_keys test-key-new,test-key-old" \
	"pg pool_size 4" "cache ttl_ms 2000"; do
	set -- $kv
	[ "$(ini "$A" "$1" "$2")" = "$3" ] || fail_in "beacon-api.ini [$1] $2 = '$(ini "$A" "$1" "$2")', expected '$3'"
done
[ "$(ini "$A" pg conninfo)" = "host=127.0.0.1 port=$PGP dbname=ugc user=beacon_api password='test-reader\\'pw'" ] ||
	fail_in "beacon-api.ini pg.conninfo: $(ini "$A" pg conninfo)"
inroot /usr/local/bin/beacond --config /etc/beacond/beacond.ini --check-config > "$W/check-beacond.log" 2>&1 ||
	fail_in "beacond --check-config in the root: $(cat "$W/check-beacond.log")"
inroot /usr/local/bin/beacon-etl --config /etc/beacon-etl/beacon-etl.ini --check-config > "$W/check-etl.log" 2>&1 ||
	fail_in "beacon-etl --check-config in the root: $(cat "$W/check-etl.log")"
inroot /usr/local/bin/beacon-api --config /etc/beacon-api/beacon-api.ini --check-config > "$W/check-api.log" 2>&1 ||
	fail_in "beacon-api --check-config in the root: $(cat "$W/check-api.log")"
it_log "configs: permissions, contents, --check-config of all three: ok"
# units
U=$R/etc/systemd/system/beacond.service
for l in "User=beacond" "Group=beacond" "Restart=on-failure" "LimitMEMLOCK=infinity" "CPUAffinity=0 1" \
	"AmbientCapabilities=CAP_NET_ADMIN CAP_IPC_LOCK" "After=network-online.target" "Wants=network-online.target" \
	"ExecStart=/usr/local/bin/beacond --config /etc/beacond/beacond.ini" "WantedBy=multi-user.target"; do
	grep -qxF "$l" "$U" || fail_in "beacond.service lacks '$l'"
done
grep -q '^RequiresMountsFor=' "$U" && fail_in "beacond.service (socket) waits for a hugepage mount"
for l in "User=beacon-etl" "Restart=on-failure" "LimitMEMLOCK=infinity" "After=clickhouse-server.service"; do
	grep -qxF "$l" "$R/etc/systemd/system/beacon-etl.service" || fail_in "beacon-etl.service lacks '$l'"
done
for l in "User=beacon-api" "Group=beacon-api" "Restart=on-failure" "After=postgresql.service" "ProtectSystem=strict" \
	"ExecStart=/usr/local/bin/beacon-api --config /etc/beacon-api/beacon-api.ini" "WantedBy=multi-user.target"; do
	grep -qxF "$l" "$R/etc/systemd/system/beacon-api.service" || fail_in "beacon-api.service lacks '$l'"
done
grep -qxF "After=postgresql.service" "$R/etc/systemd/system/beacon-etl.service" || fail_in "beacon-etl.service lacks After=postgresql.service"
for u in beacond beacon-etl beacon-api clickhouse-server prometheus zookeeper postgresql; do
	[ -L "$R/etc/systemd/system/multi-user.target.wants/$u.service" ] || fail_in "$u.service not enabled"
	inroot test -e "/etc/systemd/system/multi-user.target.wants/$u.service" || fail_in "$u.service enabled, dangling link"
done
if inroot systemd-analyze verify /etc/systemd/system/beacond.service /etc/systemd/system/beacon-etl.service \
	/etc/systemd/system/beacon-api.service /etc/systemd/system/zookeeper.service /lib/systemd/system/clickhouse-server.service \
	> "$W/verify.log" 2>&1; then
	VERIFY="systemd-analyze verify: clean"
else
	# only complaints about this chroot itself may remain
	if grep -v -e 'not booted with systemd' -e 'Failed to connect to bus' -e '^$' "$W/verify.log" | grep -q .; then
		cat "$W/verify.log" >&2
		fail_in "systemd-analyze verify in the root"
	fi
	VERIFY="systemd-analyze verify: no unit errors"
fi
it_log "units: contents, enabled; $VERIFY"
# ClickHouse: the cluster of the inventory
/usr/bin/python3 - "$R/etc/clickhouse-server/config.xml" "$R/etc/clickhouse-server/users.xml" "$CHP" "$CHT" <<'PY' || fail_in "ClickHouse configuration"
import sys, xml.etree.ElementTree as ET
c = ET.parse(sys.argv[1]).getroot()
shards = c.findall('./remote_servers/ugc_cluster/shard')
got = [[(r.findtext('host'), r.findtext('port')) for r in s.findall('replica')] for s in shards]
t = sys.argv[4]
want = [[('127.0.0.1', t), ('127.0.0.2', t)], [('127.0.0.3', t), ('127.0.0.4', t)]]
assert got == want, got
assert all(s.findtext('internal_replication') == 'true' for s in shards)
assert [(n.findtext('host'), n.findtext('port')) for n in c.findall('./zookeeper/node')] == \
    [('127.0.0.1', '22181'), ('127.0.0.42', '22181'), ('127.0.0.43', '22181')]
assert c.findtext('./macros/shard') == '01' and c.findtext('./macros/replica') == 'target'
assert c.findtext('http_port') == sys.argv[3] and c.findtext('interserver_http_host') == '127.0.0.1'
u = ET.parse(sys.argv[2]).getroot()
nets = [i.text for i in u.findall('./users/default/networks/ip')]
assert nets == ['127.0.0.1', '::1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.22'], nets
PY
[ "$(rstat '%a %U %G' "/etc/clickhouse-server/config.xml")" = "640 root clickhouse" ] || fail_in "config.xml permissions"
cmp -s etl/schema/migrate.sh "$R/opt/beacon/schema/migrate.sh" || fail_in "migrate.sh not copied"
for f in etl/schema/*.sql; do cmp -s "$f" "$R/opt/beacon/schema/$(basename "$f")" || fail_in "$f not copied"; done
# ZooKeeper
Z=$R/etc/zookeeper/beacon/zoo.cfg
for l in "server.1=127.0.0.1:2888:3888" "server.2=127.0.0.42:2888:3888" "server.3=127.0.0.43:2888:3888" \
	"clientPort=22181" "dataDir=/var/lib/zookeeper/data"; do
	grep -qxF "$l" "$Z" || fail_in "zoo.cfg lacks '$l'"
done
[ "$(cat "$R/var/lib/zookeeper/data/myid")" = 1 ] || fail_in "myid"
[ "$(rstat '%U' "/var/lib/zookeeper/data/myid")" = zookeeper ] || fail_in "myid owner"
# Prometheus
inroot promtool check config /etc/prometheus/prometheus.yml > "$W/promtool.log" 2>&1 ||
	fail_in "promtool check config in the root: $(cat "$W/promtool.log")"
for t in "'127.0.0.1:9470'" "'127.0.0.12:9470'" "'127.0.0.1:9471'" "'127.0.0.22:9471'" "'127.0.0.1:9472'" "'127.0.0.72:9472'"; do
	grep -qF -- "- $t" "$R/etc/prometheus/prometheus.yml" || fail_in "prometheus.yml lacks target $t"
done
for f in monitoring/rules/*.yml; do cmp -s "$f" "$R/etc/prometheus/rules/$(basename "$f")" || fail_in "$f not installed"; done
for f in monitoring/consoles/*.html monitoring/console_libraries/*; do
	cmp -s "$f" "$R/etc/prometheus/$(basename "$(dirname "$f")")/$(basename "$f")" || fail_in "$f not installed"
done
grep -q -- '--web.console.templates=/etc/prometheus/consoles' "$R/etc/default/prometheus" || fail_in "/etc/default/prometheus"
# PostgreSQL (read side): settings, pg_hba.conf, etl/pg copied
P=$R/etc/postgresql/15/main
for l in "port = $PGP" "listen_addresses = '127.0.0.1'" "password_encryption = 'scram-sha-256'"; do
	grep -qxF "$l" "$P/conf.d/beacon.conf" || fail_in "conf.d/beacon.conf lacks '$l'"
done
grep -q "^include_dir = 'conf.d'" "$P/postgresql.conf" || fail_in "postgresql.conf does not include conf.d"
[ "$(rstat '%a %U %G' /etc/postgresql/15/main/pg_hba.conf)" = "640 postgres postgres" ] || fail_in "pg_hba.conf permissions"
for l in "local   all       postgres                 peer map=beacon_admin" "host    ugc  beacon_etl,beacon_api  127.0.0.1/32  scram-sha-256" \
	"host    ugc  beacon_etl  127.0.0.22/32  scram-sha-256" "host    ugc  beacon_api  127.0.0.72/32  scram-sha-256"; do
	grep -qxF "$l" "$P/pg_hba.conf" || fail_in "pg_hba.conf lacks '$l'"
done
grep -q 'trust' "$P/pg_hba.conf" && fail_in "pg_hba.conf has a trust line"
for f in etl/pg/migrate.sh etl/pg/V*.sql; do cmp -s "$f" "$R/opt/beacon/pg-schema/$(basename "$f")" || fail_in "$f not copied"; done
it_log "ClickHouse 2x2 cluster config, ZooKeeper ensemble, Prometheus (promtool, rules, consoles), PostgreSQL conf and pg_hba: ok"

# 4. ClickHouse of the root, started here (policy: no service manager in a chroot)
chroot --userspec=clickhouse:clickhouse "$R" /usr/sbin/clickhouse-server \
	--config-file=/etc/clickhouse-server/config.xml > "$W/clickhouse.out" 2>&1 &
CH_PID=$!
_end=$(( $(an_now) + 90 ))
until curl -sf --max-time 2 "http://127.0.0.1:$CHP/ping" > /dev/null 2>&1; do
	kill -0 "$CH_PID" 2>/dev/null || { tail -n 30 "$W/clickhouse.out" "$R/var/log/clickhouse-server/clickhouse-server.err.log" >&2 2>/dev/null; fail_in "ClickHouse in the root exited"; }
	[ "$(an_now)" -lt "$_end" ] || fail_in "ClickHouse in the root did not answer /ping in 90s"
	sleep 0.5
done
q() { curl -sS --fail --max-time 30 "http://127.0.0.1:$CHP/" --data-binary "$1"; }
kill -0 "$CH_PID" 2>/dev/null || fail_in "ClickHouse in the root exited (another server on port $CHP, $CHT or $CHI?)"
n=$(q "SELECT count() FROM system.clusters WHERE cluster = 'ugc_cluster'") || fail_in "query system.clusters"
[ "$n" = 4 ] || fail_in "system.clusters: $n replicas of ugc_cluster, expected 4"
[ "$(q "SELECT groupArray(substitution) FROM (SELECT * FROM system.macros ORDER BY macro)")" = "['ugc_cluster','target','01']" ] ||
	fail_in "system.macros: $(q "SELECT * FROM system.macros")"
it_log "ClickHouse started on the generated config: 2 shards x 2 replicas, macros shard 01 replica target"
play migrate1 --tags clickhouse_schema -e clickhouse_run_migration=true -e clickhouse_schema_mode=single
an_expect_in "$W/migrate1.log" "V001__raw_tables.sql: applied" "migration"
[ "$(an_sum "$W/migrate1.log" changed)" -ge 1 ] || fail_in "the migration reported no change"
[ "$(q "SELECT count() FROM system.tables WHERE database = 'ugc' AND name IN ('views','player_events','page_views','actions','likes','reviews','bookmarks')")" = 7 ] ||
	fail_in "the raw tables are not there after the migration"
play migrate2 --tags clickhouse_schema -e clickhouse_run_migration=true -e clickhouse_schema_mode=single
[ "$(an_sum "$W/migrate2.log" changed)" = 0 ] || fail_in "the second migration run changed something"
it_log "schema migration task: applied, then changed=0"
stop_server "$CH_PID" TERM
CH_PID=""

# 4b. PostgreSQL of the root, started here (as ClickHouse above)
inroot install -d -o postgres -g postgres -m 2775 /var/run/postgresql
chroot --userspec=postgres:postgres "$R" /usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main \
	-c config_file=/etc/postgresql/15/main/postgresql.conf > "$W/postgres.out" 2>&1 &
PG_PID=$!
_end=$(( $(an_now) + 60 ))
until inroot pg_isready -q -h /var/run/postgresql -p "$PGP"; do
	kill -0 "$PG_PID" 2>/dev/null || { tail -n 30 "$W/postgres.out" >&2; fail_in "PostgreSQL in the root exited"; }
	[ "$(an_now)" -lt "$_end" ] || fail_in "PostgreSQL in the root did not accept connections in 60s"
	sleep 0.5
done
play pgschema1 --tags pg_state_schema -e pg_state_run_migration=true
an_expect_in "$W/pgschema1.log" "migrate: applied V001__state" "PostgreSQL migration"
[ "$(an_sum "$W/pgschema1.log" changed)" -ge 3 ] || fail_in "the PostgreSQL set-up reported too few changes: $(an_recap "$W/pgschema1.log")"
play pgschema2 --tags pg_state_schema -e pg_state_run_migration=true
if [ "$(an_sum "$W/pgschema2.log" changed)" != 0 ]; then
	grep -B3 '^changed:' "$W/pgschema2.log" >&2 || true
	fail_in "the second PostgreSQL set-up changed something: $(an_recap "$W/pgschema2.log")"
fi
PW=$(ini "$E" postgres conninfo)
PR=$(ini "$A" pg conninfo)
pq() { inroot psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
u=11111111-1111-4111-8111-111111111111 f=22222222-2222-4222-8222-222222222222 e=33333333-3333-4333-8333-333333333333
pq "$PW" "SELECT apply_likes(ARRAY['$u']::uuid[], ARRAY['$f']::uuid[], ARRAY[1]::smallint[], ARRAY[1]::bigint[], ARRAY[1]::bigint[], ARRAY['$e']::uuid[])" \
	> "$W/pg-writer.log" 2>&1 || fail_in "the writer (beacon-etl.ini's conninfo) cannot apply a like: $(cat "$W/pg-writer.log")"
[ "$(pq "$PR" "SELECT likes FROM film_stats WHERE film_id = '$f'" 2>&1)" = 1 ] ||
	fail_in "the reader (beacon-api.ini's conninfo) does not read film_stats: $(pq "$PR" "SELECT likes FROM film_stats" 2>&1)"
pq "$PR" "DELETE FROM likes" > "$W/pg-reader.log" 2>&1 && fail_in "the reader may delete"
grep -q 'permission denied' "$W/pg-reader.log" || fail_in "reader's DELETE: $(cat "$W/pg-reader.log")"
it_log "PostgreSQL started on the generated config: database, roles, migration and grants applied, then changed=0; writer writes, reader reads only"
stop_server "$PG_PID" INT
PG_PID=""

# 5. rollback: pin a previous release
cur=$(sha256sum build/beacond | cut -c1-12)
old=000000000001
cp build/beacond "$R/opt/beacon/releases/beacond-$old"
play rollback --tags beacond -e beacond_release=$old
[ "$(readlink "$R/usr/local/bin/beacond")" = "/opt/beacon/releases/beacond-$old" ] || fail_in "rollback did not re-point the symlink"
[ "$(an_sum "$W/rollback.log" changed)" = 1 ] || fail_in "rollback changed more than the symlink: $(an_recap "$W/rollback.log")"
play forward --tags beacond
[ "$(readlink "$R/usr/local/bin/beacond")" = "/opt/beacon/releases/beacond-$cur" ] || fail_in "upgrade back did not re-point the symlink"
it_log "rollback to a pinned release and forward again: only the symlink changed"

T_ALL=$(( $(an_now) - T0 ))
it_log "timings: root ${T_ROOT}s ($( [ "$CR_COLD" = 1 ] && echo cold: debootstrap || echo warm: cached tarball )), apply 1 ${T_APPLY1}s, apply 2 ${T_APPLY2}s, total ${T_ALL}s"
it_log "all checks passed"
