#!/bin/sh
# The DPDK fast path live, between two network namespaces this test creates
# (names unique per run, always deleted):
#
#   client ns: bwcNNN 10.78.0.2/24 fd78::2/64
#        | veth (the "wire")
#   server ns: bwsNNN, owned by beacond's DPDK driver (net_af_packet,
#        2 queue pairs = 2 RX queues spread over 2 workers by the kernel's
#        fanout hash, as RSS would), its exception TAP bcntNNN 10.78.0.1/24
#        fd78::1/64 with the port's MAC, kafka-dev, the HTTP listeners.
#
# A NIC bound to DPDK is invisible to the kernel; a veth is not, so the
# server namespace's kernel is kept off bwsNNN: no IPv6 on it, ARP off, and
# once the driver has read the port's MAC, the kernel's own MAC of bwsNNN is
# changed, so unicast frames to the port's MAC are not for it.  The client's
# veth computes its checksums itself (TX checksum offload off): over a veth
# the kernel would leave TCP/UDP checksums to a "NIC" that does not exist,
# and the frames reaching af_packet would carry partial checksums, which no
# real wire does.  What the
# client reaches is then only what beacond does: the fast path, or the
# kernel behind the TAP through the exception path.
#
# Checks: ping and ARP (then ping6 and NDP) through the exception path; UDP
# beacons (JSON and binary, IPv4 and IPv6, many flows) through the fast path
# and HTTP beacons (kernel TCP through the exception path, beacond's HTTP
# listeners) all reach Kafka exactly once; both workers took UDP traffic;
# the exception counters moved both ways; SIGTERM delivers everything.
set -eu
IT_NAME=test_dpdk_netns
. tests/integration/lib.sh
W=build/it/dpdk_netns
rm -rf "$W"
mkdir -p "$W"
. tests/integration/beacond/common.sh
. tests/integration/dpdk/lib.sh
dp_require

S="bcns$$"
C="bcnc$$"
VS="bws$$"
VC="bwc$$"
TAP="bcnt$$"
dp_netns "$S"
dp_netns "$C"
ip link add "$VS" type veth peer name "$VC" || it_fail "cannot create a veth pair"
ip link set "$VS" netns "$S"
ip link set "$VC" netns "$C"
# IPv6 parts only where the kernel has IPv6 (ipv6.disable=1 removes it)
V6=no
[ -d /proc/sys/net/ipv6 ] && V6=yes
[ $V6 = no ] || dp_in "$S" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$VS/disable_ipv6"
ip -n "$S" link set "$VS" arp off up
ip -n "$C" addr add 10.78.0.2/24 dev "$VC"
[ $V6 = no ] || ip -n "$C" addr add fd78::2/64 dev "$VC" nodad
ip -n "$C" link set "$VC" up
dp_in "$C" python3 tests/integration/dpdk/netns_client.py txcsum-off --dev "$VC" ||
	it_fail "cannot turn off TX checksum offload on $VC"

dp_start_kafka "$S" 4
EXP=$(( $(date +%s) + 3600 ))
TOKEN=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$BD_SUB" --exp "$EXP")
bd_config "$W/beacond.ini" "[driver]
name = dpdk
[http]
address = 10.78.0.1
[dpdk]
eal_args = --no-huge --no-shconf -m 256 --log-level=*:warning
ports = net_af_packet0,iface=$VS,qpairs=2
exception = net_tap0,iface=$TAP
exception_addrs = 10.78.0.1/24$([ $V6 = no ] || echo " fd78::1/64")
mbufs = 8191
rx_desc = 512
tx_desc = 512
idle_sleep_us = 100"
dp_start "$S"
PORT_MAC=$(ip -n "$S" link show "$TAP" | awk '/link\/ether/ { print $2 }')
ip -n "$S" link set "$VS" address 02:00:00:00:78:99
it_log "beacond ready on $VS (port MAC $PORT_MAC, 2 workers), exception TAP $TAP; client ns $C"

# 1. ARP and ping through the exception path
dp_in "$C" python3 tests/integration/dpdk/netns_client.py ping --dst 10.78.0.1 --count 3 ||
	it_fail "ping 10.78.0.1 through the exception path (log: build/it/beacond_dpdk.log)"
NEIGH=$(ip -n "$C" neigh show 10.78.0.1 dev "$VC")
case "$NEIGH" in
*"lladdr $PORT_MAC"*) it_log "ARP: $NEIGH" ;;
*) it_fail "ARP: the client's entry for 10.78.0.1 is '$NEIGH', want lladdr $PORT_MAC" ;;
esac
# IPv6: NDP and ping6 (the TAP's address leaves DAD's tentative state first)
if [ $V6 = yes ]; then
	it_wait 10 "fd78::1 to finish DAD on $TAP" sh -c \
		"! ip -n $S -6 addr show dev $TAP | grep -q 'fd78::1/64.*tentative'"
	dp_in "$C" python3 tests/integration/dpdk/netns_client.py ping --dst fd78::1 --count 3 ||
		it_fail "ping6 fd78::1 through the exception path"
	it_log "NDP: $(ip -n "$C" -6 neigh show fd78::1 dev "$VC")"
else
	it_log "no IPv6 in this kernel: the IPv6 checks are skipped"
fi

# 2. beacons: UDP over IPv4 and IPv6 (fast path), HTTP (exception path + kernel TCP)
dp_in "$C" python3 tests/integration/dpdk/netns_client.py udp --dst 10.78.0.1 --port "$BD_UDP" \
	--count 700 --rate 5000 --token "$TOKEN" --out "$W/udp4.expect" || it_fail "UDP/IPv4 client"
: > "$W/udp6.expect"
UDP6_N=0
if [ $V6 = yes ]; then
	UDP6_N=140
	dp_in "$C" python3 tests/integration/dpdk/netns_client.py udp --dst fd78::1 --port "$BD_UDP" \
		--count $UDP6_N --rate 5000 --token "$TOKEN" --out "$W/udp6.expect" || it_fail "UDP/IPv6 client"
fi
dp_in "$C" python3 tests/integration/dpdk/netns_client.py http --dst 10.78.0.1 --port "$BD_HTTP" \
	--count 70 --batch 1 --token "$TOKEN" --out "$W/http1.expect" || it_fail "HTTP client (single beacons)"
dp_in "$C" python3 tests/integration/dpdk/netns_client.py http --dst 10.78.0.1 --port "$BD_HTTP" \
	--count 350 --batch 50 --token "$TOKEN" --out "$W/httpnd.expect" || it_fail "HTTP client (NDJSON)"

UDP_N=$((700 + UDP6_N))
HTTP_N=420
udp_in() {
	[ "$(dp_metric "$S" 'beacond_dpdk_rx_packets_total{class="beacon"}')" -ge $UDP_N ]
}
it_wait 20 "$UDP_N UDP beacons through the fast path" udp_in
_end=$(( $(date +%s) + 30 ))
while :; do
	_a=$(dp_metric "$S" beacond_beacons_accepted_total)
	_p=$(dp_metric "$S" 'beacond_kafka_delivered_total{status="persisted"}')
	[ "$_a" != "$_p" ] || break
	[ "$(date +%s)" -lt "$_end" ] || it_fail "accepted ($_a) != persisted ($_p) after 30 s"
	sleep 0.2
done
dp_in "$S" curl -sf "http://127.0.0.1:$BD_MET/metrics" > "$W/metrics.txt"
promtool check metrics < "$W/metrics.txt" || it_fail "promtool check metrics"
U=$(dp_metric "$S" 'beacond_beacons_accepted_total{source="udp"}')
H=$(dp_metric "$S" 'beacond_beacons_accepted_total{source="http"}')
[ "$U" = $UDP_N ] || it_fail "accepted UDP beacons: $U, want $UDP_N"
[ "$H" = $HTTP_N ] || it_fail "accepted HTTP beacons: $H, want $HTTP_N"
[ "$(dp_metric "$S" beacond_beacons_rejected_total)" = 0 ] || it_fail "beacons rejected"
[ "$(dp_metric "$S" beacond_beacons_dropped_total)" = 0 ] || it_fail "beacons dropped"
for wk in 0 1; do
	n=$(dp_metric "$S" "beacond_dpdk_rx_packets_total{worker=\"$wk\",class=\"beacon\"}")
	[ "$n" -gt 0 ] || it_fail "worker $wk took no UDP beacon: the queues are not spread"
	it_log "worker $wk: $n UDP beacons from its queue"
done
TK=$(dp_metric "$S" 'beacond_dpdk_exception_packets_total{direction="to_kernel",result="sent"}')
TW=$(dp_metric "$S" 'beacond_dpdk_exception_packets_total{direction="to_wire",result="sent"}')
[ "$TK" -gt 0 ] && [ "$TW" -gt 0 ] || it_fail "exception path: to_kernel $TK, to_wire $TW"
[ "$(dp_metric "$S" 'beacond_dpdk_exception_packets_total{result="tx_full"}')" = 0 ] ||
	it_fail "exception path: TX queue full"
it_log "exception path: $TK frames to the kernel, $TW back out of the port"

# 3. Kafka holds exactly what was sent
dp_kafka_dump "$S" "$W/records.tsv"
python3 tests/integration/dpdk/netns_client.py verify --records "$W/records.tsv" \
	--expect "$W/udp4.expect" "$W/udp6.expect" "$W/http1.expect" "$W/httpnd.expect" ||
	it_fail "Kafka content differs from what the client sent"

dp_stop_beacond
it_log "all checks passed"
