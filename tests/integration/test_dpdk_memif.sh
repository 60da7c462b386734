#!/bin/sh
# The DPDK fast path on net_memif in zero-copy mode, the set-up docs/dpdk.md
# recommends for beacond behind VPP or another DPDK application: beacond is
# the memif client with zero-copy=yes (EAL --no-huge --single-file-segments),
# so the peer writes frames straight into beacond's own mbufs, as a NIC's
# DMA would.  The peer is build/memif-gen (the memif server), sending each
# frame of a pcap exactly once (--count).  The pcap is the pcap replay
# test's (tests/integration/dpdk/pcapcase.py: every type of beacon as JSON
# and binary in every encapsulation, rejected beacons, exception-class
# frames, fragments, bad checksums, truncated frames) without its one jumbo
# frame (memif-gen sends single 2 KiB buffers), plus 20,000 more view
# beacons, so that the 1024-descriptor memif ring goes round ~20 times.
# Everything runs inside a network namespace this test creates (the memif
# control socket is an abstract socket, private to the namespace).  Checks:
#   - Kafka (kcat) holds exactly the valid beacons, once each, with the
#     right topic, key and fields;
#   - every class, accepted and rejected counter equals the pcap's
#     composition; no frame missed, no beacon dropped;
#   - SIGTERM delivers everything, exit 0; then memif-gen, seeing the link
#     go down, exits 0 having sent every frame.
set -eu
IT_NAME=test_dpdk_memif
. tests/integration/lib.sh
W=build/it/dpdk_memif
rm -rf "$W"
mkdir -p "$W"
. tests/integration/beacond/common.sh
. tests/integration/dpdk/lib.sh
dp_require
[ -x build/memif-gen ] || dp_skip "build/memif-gen missing (make all, with libdpdk-dev installed)"

NS="bcnmemif$$"
dp_netns "$NS"
dp_start_kafka "$NS" 4
it_log "namespace $NS, kafka-dev $BS"

dp_pcapcase_gen --queues 1 --no-jumbo --bulk 20000 --dst-mac 02:70:63:61:70:00

# the server first: the memif client connects when its port starts
SOCK="bcnmt$$"
it_start memif_gen ip netns exec "$NS" build/memif-gen --server --pcap "$W/rx0.pcap" --socket "$SOCK" \
	--cpu 0 --count "$FRAMES" --seconds 120
it_wait 20 "memif-gen to start its port (log: build/it/memif_gen.log)" \
	grep -q "waiting for the other end" build/it/memif_gen.log

bd_config "$W/beacond.ini" "[driver]
name = dpdk
workers = 1
[dpdk]
eal_args = ${DPDK_EAL_ARGS:---no-huge --no-shconf -m 256} --single-file-segments --log-level=*:warning
ports = net_memif0,role=client,id=0,socket=$SOCK,zero-copy=yes
mbufs = 8191
idle_sleep_us = 200"
dp_start "$NS"
it_log "beacond ready: $(grep 'dpdk port 0:' build/it/beacond_dpdk.log | head -1)"

all_in() {
	[ "$(dp_metric "$NS" beacond_dpdk_rx_packets_total)" = "$FRAMES" ] &&
		[ "$(dp_metric "$NS" beacond_beacons_accepted_total)" = \
			"$(dp_metric "$NS" 'beacond_kafka_delivered_total{status="persisted"}')" ]
}
it_wait 60 "all $FRAMES frames received over memif, every accepted beacon persisted" all_in
it_log "$FRAMES frames in, $(dp_metric "$NS" beacond_beacons_accepted_total) accepted and persisted"

dp_snapshot "$NS"

# SIGTERM: beacond stops polling, then closes its memif port; memif-gen sees
# the link go down and exits
dp_stop_beacond
it_wait 20 "memif-gen to exit once beacond disconnected" sh -c "! kill -0 $IT_PID_memif_gen"
rc=0
wait "$IT_PID_memif_gen" || rc=$?
[ "$rc" = 0 ] || it_fail "memif-gen exit status $rc: $(tail -2 build/it/memif_gen.log)"
python3 tests/integration/dpdk/pcapcase.py verify --expect "$W/expect.json" --records "$W/records.tsv" \
	--metrics "$W/metrics.txt" --max-busy 30 ||
	it_fail "Kafka or the counters differ from the pcap's composition"
it_log "all checks passed ($(tail -1 build/it/memif_gen.log))"
