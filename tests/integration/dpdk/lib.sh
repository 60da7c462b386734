# Shared set-up of the DPDK driver's integration tests (POSIX sh; source
# after tests/integration/lib.sh and beacond/common.sh, with W and IT_NAME set).
#
# The DPDK tests run beacond, kafka-dev, kcat and curl inside network
# namespaces they create (names unique per run, deleted by the EXIT trap),
# so that the TAPs, addresses and traffic they make never touch the host's
# own network:
#   dp_skip REASON                 print "SKIP: REASON" and exit 0
#   dp_require                     skip unless this host can run the test
#   dp_netns NAME                  create namespace NAME (lo up), deleted at exit
#   dp_in NS CMD...                run CMD inside NS
#   dp_start_kafka NS PARTITIONS   kafka-dev inside NS; sets BS
#   dp_start NS                    beacond (driver dpdk) on $W/beacond.ini inside NS
#   dp_metric NS 'NAME{L="v"}'     the sum of the matching series
#   dp_kafka_dump NS FILE          the three topics as topic<TAB>key<TAB>value lines
#   dp_pcapcase_gen ARGS...        tokens signed, then pcapcase.py gen --dir $W ARGS
#                                  (tests/integration/dpdk/pcapcase.py); sets FRAMES
#   dp_snapshot NS                 $W/metrics.txt (checked by promtool) and
#                                  $W/records.tsv (dp_kafka_dump), for pcapcase.py verify
DP_NETNS=""

dp_skip() {
	echo "$IT_NAME: SKIP: $*"
	exit 0
}

dp_require() {
	[ "$(id -u)" = 0 ] || dp_skip "needs root (network namespaces, TAP devices)"
	ldd "${BEACOND:-build/beacond}" 2>/dev/null | grep -q librte_eal ||
		dp_skip "build/beacond was built without DPDK (pkg-config libdpdk not found: make deps)"
	[ -c /dev/net/tun ] || dp_skip "no /dev/net/tun: TAP exception interfaces impossible here"
	command -v kcat >/dev/null || dp_skip "kcat missing (make deps)"
	_probe="bcnprobe$$"
	ip netns add "$_probe" 2>/dev/null || dp_skip "cannot create a network namespace (ip netns add failed)"
	ip netns del "$_probe"
}

dp_cleanup() {
	it_cleanup
	for _ns in $DP_NETNS; do ip netns del "$_ns" 2>/dev/null || true; done
	DP_NETNS=""
}
trap dp_cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

dp_netns() {
	ip netns add "$1" || it_fail "ip netns add $1"
	DP_NETNS="$DP_NETNS $1"
	ip -n "$1" link set lo up
}

dp_in() {
	_ns=$1; shift
	ip netns exec "$_ns" "$@"
}

dp_start_kafka() {
	rm -f "$W/bootstrap"
	it_start kafka ip netns exec "$1" build/kafka-dev --partitions "$2" --bootstrap-file "$W/bootstrap"
	it_wait 10 "kafka-dev to write its bootstrap file" test -s "$W/bootstrap"
	BS=$(cat "$W/bootstrap")
}

dp_start() {
	it_start beacond_dpdk ip netns exec "$1" "${BEACOND:-build/beacond}" --config "$W/beacond.ini"
	it_wait 30 "beacond /readyz to answer 200 (log: build/it/beacond_dpdk.log)" \
		ip netns exec "$1" curl -sf "http://127.0.0.1:$BD_MET/readyz"
}

dp_metric() {
	ip netns exec "$1" curl -sf "http://127.0.0.1:$BD_MET/metrics" | python3 -c '
import re, sys
name, _, labels = sys.argv[1].partition("{")
need = [l for l in labels.rstrip("}").split(",") if l]
tot = 0.0
for ln in sys.stdin:
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", ln)
    if m and m.group(1) == name and all(l in (m.group(2) or "") for l in need):
        tot += float(m.group(3))
print(int(tot) if tot == int(tot) else tot)' "$2"
}

dp_kafka_dump() {
	: > "$2"
	for _t in ugc.views ugc.events ugc.actions; do
		timeout 60 ip netns exec "$1" kcat -b "$BS" -C -t "$_t" -o beginning -e -q -f "$_t\t%k\t%s\n" >> "$2" ||
			it_fail "kcat could not read $_t"
	done
}

dp_pcapcase_gen() {
	_exp=$(( $(date +%s) + 3600 ))
	_tok=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$BD_SUB" --exp "$_exp")
	_bad=$(build/beacon-lint --jwt-key "not-$BD_KEY" --sign-token "$BD_SUB" --exp "$_exp")
	python3 tests/integration/dpdk/pcapcase.py gen --dir "$W" --port "$BD_UDP" \
		--token "$_tok" --bad-token "$_bad" "$@" || it_fail "pcap generation"
	FRAMES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["frames"])' "$W/expect.json")
}

dp_snapshot() {
	ip netns exec "$1" curl -sf "http://127.0.0.1:$BD_MET/metrics" > "$W/metrics.txt" ||
		it_fail "could not read beacond's /metrics"
	promtool check metrics < "$W/metrics.txt" || it_fail "promtool check metrics"
	dp_kafka_dump "$1" "$W/records.tsv"
}

# dp_stop_beacond: SIGTERM, wait, check a clean exit with everything delivered.
dp_stop_beacond() {
	kill -TERM "$IT_PID_beacond_dpdk"
	it_wait 30 "beacond to exit on SIGTERM" sh -c "! kill -0 $IT_PID_beacond_dpdk"
	_rc=0
	wait "$IT_PID_beacond_dpdk" || _rc=$?
	[ "$_rc" = 0 ] || it_fail "beacond exit status $_rc (log: $(tail -3 build/it/beacond_dpdk.log))"
	grep -q ", 0 failed, 0 not delivered" build/it/beacond_dpdk.log ||
		it_fail "shutdown report: $(tail -1 build/it/beacond_dpdk.log)"
}
