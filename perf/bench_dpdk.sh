#!/bin/sh
# perf/bench_dpdk.sh - the DPDK fast path's beacons/s per lcore (not a timed
# test; the figures go to perf/RESULTS.md, "## DPDK fast path").
#
#   sh perf/bench_dpdk.sh [SECONDS]        (root not needed; default 10 s per run)
#   env: WORKER_CPU (1), SIDE_CPU (0: EAL main lcore, null sink, generator),
#        RUNS (3: each case is run RUNS times, round-robin; the best counts),
#        COUNT (8192 distinct beacons per pcap),
#        CASES ("json bin bin200": which pcaps to run; e.g. CASES=json for a
#               short run inside one of this VM's brief fast phases),
#        EAL_ARGS (bench-dpdk's EAL arguments; default "--no-huge --no-shconf -m 512";
#                  with hugepages reserved: "--in-memory -m 512")
#
# What runs: build/bench-dpdk -- beacond's DPDK driver, worker loop and
# bcn_worker_ingest exactly as in beacond, one worker pinned to WORKER_CPU,
# a null sink in place of the Kafka slow path (see perf/bench_dpdk.c) --
# fed two ways:
#   pcap:  net_pcap with infinite_rx=1 (the PMD replays the pcap from memory,
#          copying each frame into a fresh mbuf: ~41 Mpps raw here)
#   memif: net_memif (server) fed by build/memif-gen (client) in a second
#          process on SIDE_CPU (copy mode: ~11-15 Mpps raw here); the worker's
#          rx_burst copies each frame out of memory the generator's core wrote
#   memif-zc: the same generator as the memif server, the worker a zero-copy
#          client (zero-copy=yes, EAL --single-file-segments): the worker posts
#          its own mbufs and the generator writes frames into them, as a NIC's
#          DMA does; the worker's first touch of a frame is in the fast path,
#          which prefetches it (see docs/dpdk.md, "Benchmarks")
# and, as the baseline, `bench-dpdk --ingest-only` (bcn_worker_ingest alone on
# the same payloads, no DPDK: what parsing costs without the driver),
# with three pcaps of COUNT distinct anonymous beacons (random UUIDs), the
# same as bench-parse's "view heartbeat, anon":
#   json     view heartbeat as JSON, 228-byte payload (270-byte frame)
#   bin      the same beacons as binary v1, 76-byte payload (118-byte frame)
#   bin200   binary page views with a URL, ~200-byte payload (~242-byte frame)
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-10}
WCPU=${WORKER_CPU:-1}
SCPU=${SIDE_CPU:-0}
RUNS=${RUNS:-3}
COUNT=${COUNT:-8192}
EAL_ARGS=${EAL_ARGS:---no-huge --no-shconf -m 512}
D=build/perf/dpdk
mkdir -p "$D"
for b in build/bench-dpdk build/memif-gen; do
	[ -x "$b" ] || { echo "bench_dpdk: $b missing (make all, with libdpdk-dev installed)" >&2; exit 2; }
done

python3 - "$D" "$COUNT" <<'EOF'
import sys, time, uuid
sys.path.insert(0, "tests/integration/dpdk")
import pkt
d, n = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
dst, src = pkt.mac("02:70:63:61:70:00"), pkt.mac("02:00:00:00:00:02")
# addresses inside synthetic frames only: they go into pcap files (or memif
# shared memory) that DPDK reads in memory; no kernel interface, no socket
cli, srv = pkt.ip4("10.9.0.2"), pkt.ip4("10.9.0.1")
def frame(p, i):
    return pkt.eth(dst, src, pkt.ETH_IP4, pkt.ipv4(cli, srv, 17, pkt.udp4(cli, srv, 1024 + i % 50000, 7070, p)))
views = []
for i in range(n):
    b = {"type": "view", "ts": now, "anon_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()),
         "film_id": str(uuid.uuid4()), "position_ms": 1000 * (i % 5000), "duration_ms": 5820000}
    views.append(b)
pkt.write_pcap(d + "/json.pcap", [frame(pkt.json_beacon(b), i) for i, b in enumerate(views)])
pkt.write_pcap(d + "/bin.pcap", [frame(pkt.bin_beacon(b), i) for i, b in enumerate(views)])
pages = []
for i in range(n):
    b = {"type": "page", "ts": now, "anon_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()),
         "url": "https://cinema.example/films/%s?from=home&row=%d" % (uuid.uuid4(), i % 40),
         "referrer": "https://cinema.example/"}
    pages.append(pkt.bin_beacon(b))
pkt.write_pcap(d + "/bin200.pcap", [frame(p, i) for i, p in enumerate(pages)])
print("bench_dpdk: pcaps of %d beacons: json %d B, bin %d B, bin200 %d B payloads (first)" %
      (n, len(pkt.json_beacon(views[0])), len(pkt.bin_beacon(views[0])), len(pages[0])))
EOF

conf() { # FILE PORTSPEC [EXTRA_EAL]
	cat > "$1" <<EOF
[node]
name = bench
[driver]
name = dpdk
workers = 1
worker_cpus = $WCPU
[udp]
port = 7070
[http]
enabled = no
[ring]
bytes = 256M
[dpdk]
eal_args = $EAL_ARGS ${3:-} --log-level=*:warning
main_lcore = $SCPU
ports = $2
mbufs = 32767
EOF
}

# verdict RC FILEBASE LABEL [EXTRA]: bench-dpdk exits 3 when beacons were
# rejected or dropped for lack of ring room (the null sink did not keep up:
# then the worker skipped parsing and the rate is not the fast path's)
verdict() {
	case $1 in
	0) echo "$3: $(grep '^worker 0' "$2.out")${4:-}" ;;
	3) echo "$3: INVALID (rejects or ring_full): $(grep '^worker 0' "$2.out")${4:-}" ;;
	*) echo "$3: FAILED (exit $1): $(tail -2 "$2.err" | tr '\n' ' ')" ;;
	esac
}

run_pcap() { # CASE
	conf "$D/pcap-$1.ini" "net_pcap0,rx_pcap=$D/$1.pcap,infinite_rx=1"
	rc=0
	build/bench-dpdk --config "$D/pcap-$1.ini" --seconds "$SECS" --sink-cpu "$SCPU" \
		> "$D/pcap-$1.out" 2> "$D/pcap-$1.err" || rc=$?
	verdict "$rc" "$D/pcap-$1" "pcap $1"
}

run_memif() { # CASE
	sock="bcn-bench-$$-$1"
	conf "$D/memif-$1.ini" "net_memif0,role=server,id=0,socket=$sock"
	# order of the ends: bench-dpdk's workers stop polling (at ~1 + 3 + SECS s),
	# then the generator stops and disconnects (at ~1 + SECS + 4 s), then
	# bench-dpdk closes the port (--tail 4): net_memif does not survive a
	# peer that disconnects while it is in a burst, either way round
	build/bench-dpdk --config "$D/memif-$1.ini" --seconds "$SECS" --warmup 3 --tail 4 --sink-cpu "$SCPU" \
		> "$D/memif-$1.out" 2> "$D/memif-$1.err" &
	bpid=$!
	sleep 1
	build/memif-gen --pcap "$D/$1.pcap" --socket "$sock" --cpu "$SCPU" --seconds $((SECS + 4)) \
		> "$D/memif-gen-$1.out" 2> "$D/memif-gen-$1.err" || { cat "$D/memif-gen-$1.err" >&2; }
	rc=0
	wait "$bpid" || rc=$?
	verdict "$rc" "$D/memif-$1" "memif $1" " | generator: $(cat "$D/memif-gen-$1.out")"
}

run_memif_zc() { # CASE: the generator is the server, the worker a zero-copy client
	sock="bcn-bench-zc-$$-$1"
	conf "$D/memif-zc-$1.ini" "net_memif0,role=client,id=0,socket=$sock,zero-copy=yes" "--single-file-segments"
	# the same order of the ends as run_memif: the generator starts first (it
	# is the server), bench-dpdk connects ~1 s later; its workers stop polling
	# at ~2 + 3 + SECS s, the generator stops at ~1.5 + SECS + 5 s, then
	# bench-dpdk closes the port (--tail 4)
	build/memif-gen --server --pcap "$D/$1.pcap" --socket "$sock" --cpu "$SCPU" --seconds $((SECS + 5)) \
		> "$D/memif-zc-gen-$1.out" 2> "$D/memif-zc-gen-$1.err" &
	gpid=$!
	sleep 1
	rc=0
	build/bench-dpdk --config "$D/memif-zc-$1.ini" --seconds "$SECS" --warmup 3 --tail 4 --sink-cpu "$SCPU" \
		> "$D/memif-zc-$1.out" 2> "$D/memif-zc-$1.err" || rc=$?
	wait "$gpid" || cat "$D/memif-zc-gen-$1.err" >&2
	verdict "$rc" "$D/memif-zc-$1" "memif-zc $1" " | generator: $(cat "$D/memif-zc-gen-$1.out")"
}

run_ingest() { # CASE: the baseline, bcn_worker_ingest alone on the same payloads (no DPDK)
	build/bench-dpdk --config "$D/pcap-$1.ini" --ingest-only "$D/$1.pcap" --seconds "$SECS" \
		--sink-cpu "$SCPU" > "$D/ingest-$1.out" 2>&1 || { cat "$D/ingest-$1.out" >&2; return 1; }
	echo "ingest-only $1: $(grep '^ingest-only' "$D/ingest-$1.out")"
}

echo "bench_dpdk: EAL $EAL_ARGS; worker on CPU $WCPU, EAL main lcore + null sink (+ memif generator) on CPU $SCPU, ${SECS}s per run, $RUNS runs"
: > "$D/runs.log"
for r in $(seq 1 "$RUNS"); do
	for c in ${CASES:-json bin bin200}; do
		run_pcap "$c" | sed "s/^/run $r: /" | tee -a "$D/runs.log"
		run_ingest "$c" | sed "s/^/run $r: /" | tee -a "$D/runs.log"
		run_memif "$c" | sed "s/^/run $r: /" | tee -a "$D/runs.log"
		run_memif_zc "$c" | sed "s/^/run $r: /" | tee -a "$D/runs.log"
	done
done

# the best of the runs, per path and case: wall clock, per CPU-second of the
# worker thread, and per busy second (beacond_dpdk_worker_busy_seconds_total:
# the worker's polls that received frames; below 100 % busy the feed, e.g.
# the memif generator, not the worker, set the wall-clock rate)
python3 - "$D/runs.log" "$RUNS" <<'EOF2'
import re, sys, collections
best = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
for ln in open(sys.argv[1]):
    m = re.match(r"run \d+: (\S+) (\S+): (?!INVALID|FAILED).*?([0-9.]+) M beacons/s accepted.*?([0-9.]+) M beacons per CPU-second"
                 r"(?:.*?([0-9.]+) M beacons per busy second)?", ln)
    if m:
        b = best[(m.group(1), m.group(2))]
        for k in range(3):
            v = m.group(3 + k)
            if v is not None:
                b[k] = max(b[k], float(v))
print("bench_dpdk: best of %s run(s): M beacons/s wall clock | per worker CPU-second | per busy second" % sys.argv[2])
print("| case | pcap infinite_rx | memif (copy) | memif (zero-copy) | ingest only (no DPDK) |")
print("|---|---:|---:|---:|---:|")
for c in ("json", "bin", "bin200"):
    if not any(k[1] == c for k in best):
        continue
    cells = []
    for k in ("pcap", "memif", "memif-zc", "ingest-only"):
        b = best[(k, c)]
        cells.append("%.2f &#124; %.2f" % (b[0], b[1]) + (" &#124; %.2f" % b[2] if k != "ingest-only" else ""))
    print("| %s | %s |" % (c, " | ".join(cells)))
EOF2
