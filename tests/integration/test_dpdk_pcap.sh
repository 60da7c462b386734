#!/bin/sh
# The DPDK fast path on a pcap replay (no NIC, no hugepages): beacond with
# driver.name = dpdk on net_pcap (EAL --no-huge --no-pci), 2 workers on 2
# RX queues, an exception TAP, kafka-dev; everything inside a network
# namespace this test creates.  The pcap (tests/integration/dpdk/pcapcase.py)
# holds valid beacons of every type as JSON and binary in IPv4, IPv4 with
# options, UDP checksum 0, 802.1Q, QinQ, IPv6 and IPv6 with an extension
# header; beacons the contract rejects; ARP, LLDP, ICMP, ICMPv6, TCP, UDP to
# other ports; IPv4 and IPv6 fragments; bad IPv4 header and UDP checksums;
# truncated frames; impossible headers; one 20 KiB jumbo frame.  Checks:
#   - Kafka (read back with kcat) holds exactly the valid beacons, once
#     each, on the right topic and key, with the right fields;
#   - beacond_dpdk_rx_packets_total{class} equals the pcap's composition,
#     accepted{type} and rejected{reason} equal what was sent;
#   - every exception frame went to the TAP, and the kernel behind it
#     answered the ARP request and the ping out of the port (tx pcap);
#   - /metrics passes promtool; SIGTERM delivers everything, exit 0.
# DPDK_EAL_ARGS overrides the EAL arguments (e.g. "--file-prefix bcntest"
# to run on hugepages instead of --no-huge).
set -eu
IT_NAME=test_dpdk_pcap
. tests/integration/lib.sh
W=build/it/dpdk_pcap
rm -rf "$W"
mkdir -p "$W"
. tests/integration/beacond/common.sh
. tests/integration/dpdk/lib.sh
dp_require

NS="bcnpcap$$"
dp_netns "$NS"
dp_start_kafka "$NS" 4
it_log "namespace $NS, kafka-dev $BS"

# net_pcap's MAC for the first DPDK port is 02:70:63:61:70:00; the frames are
# addressed to it so that the kernel behind the TAP (same MAC) takes them
dp_pcapcase_gen --queues 2 --dst-mac 02:70:63:61:70:00

# (paths relative to the repository root, beacond's working directory: an INI
# line holds at most 200 bytes)
P="$W"
bd_config "$W/beacond.ini" "[driver]
name = dpdk
[http]
address = 10.77.0.1
[dpdk]
eal_args = ${DPDK_EAL_ARGS:---no-huge --no-shconf -m 256} --log-level=*:warning
ports = net_pcap0,rx_pcap=$P/rx0.pcap,rx_pcap=$P/rx1.pcap,tx_pcap=$P/tx0.pcap,tx_pcap=$P/tx1.pcap
exception = net_tap0,iface=bcnpt$$
exception_addrs = 10.77.0.1/24 fd77::1/64
mbufs = 8191
rx_desc = 512
tx_desc = 512
idle_sleep_us = 200"
dp_start "$NS"
it_log "beacond ready: $(grep 'dpdk port 0:' build/it/beacond_dpdk.log | head -1)"

# the whole pcap is read at once; wait for every frame, every delivery and
# the kernel's two answers (ARP reply, echo reply) on their way out
all_in() {
	[ "$(dp_metric "$NS" beacond_dpdk_rx_packets_total)" = "$FRAMES" ] &&
		[ "$(dp_metric "$NS" beacond_beacons_accepted_total)" = \
			"$(dp_metric "$NS" 'beacond_kafka_delivered_total{status="persisted"}')" ] &&
		[ "$(dp_metric "$NS" 'beacond_dpdk_exception_packets_total{direction="to_wire",result="sent"}')" -ge 2 ]
}
it_wait 30 "all $FRAMES frames received, every accepted beacon persisted, the kernel's answers sent" all_in
# (the kernel also sends frames of its own on the TAP: DAD, MLD, router
# solicitations; give the two answers checked below time to be among them)
sleep 1
it_log "$FRAMES frames in, $(dp_metric "$NS" beacond_beacons_accepted_total) accepted and persisted"

dp_snapshot "$NS"

# SIGTERM: clean exit (this also closes the tx pcaps)
dp_stop_beacond
python3 tests/integration/dpdk/pcapcase.py verify --expect "$W/expect.json" --records "$W/records.tsv" \
	--metrics "$W/metrics.txt" --want-exception --tx-pcap "$W/tx0.pcap" "$W/tx1.pcap" ||
	it_fail "Kafka or the counters differ from the pcap's composition"
it_log "all checks passed"
