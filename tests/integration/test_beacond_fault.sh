#!/bin/sh
# beacond while Kafka is down, then back: back-pressure must reach the
# fast path without losing anything that was acknowledged.
#   - brokers down (kafka-dev SIGUSR1): /readyz turns 503;
#   - HTTP beacons keep coming: beacond answers 503 once its small ring and
#     Kafka queue are full (beacon-blast retries after Retry-After);
#   - UDP beacons keep coming: dropped once the ring is full, and counted;
#   - brokers up (SIGUSR2): the backlog drains; every HTTP beacon that got a
#     204 is in Kafka exactly once; UDP: delivered + counted drops = sent;
#   - RSS stays under its bound the whole time.
set -eu
IT_NAME=test_beacond_fault
. tests/integration/lib.sh
W=build/it/beacond-fault
rm -rf "$W"
mkdir -p "$W"
. tests/integration/beacond/common.sh
RSS_BOUND=$((96 * 1024 * 1024)) # 256 KiB ring + 1 MiB Kafka queue + HTTP slots + libraries

bd_start_kafka 4
bd_config "$W/beacond.ini" "[driver]
workers = 1
[ring]
bytes = 256k
[kafka]
queue_kbytes = 1024
[udp]
rcvbuf = 4M"
bd_start

kill -USR1 "$IT_PID_kafka"
it_wait 10 "kafka-dev to set its brokers down" grep -q "brokers down" build/it/kafka.log
it_wait 15 "/readyz to report Kafka unreachable" sh -c \
	"curl -s http://127.0.0.1:$BD_MET/readyz | grep -q 'kafka unreachable'"
it_log "brokers down, beacond not ready"

# HTTP load in the background (it retries 503s), UDP flood in the foreground
build/beacon-blast --quiet --mode http --target "127.0.0.1:$BD_HTTP" --jwt-key "$BD_KEY" \
	--count 20000 --batch 50 --conns 2 --seed 21 --duration 60 --timeout 20 \
	--dump-meta "$W/http.meta" > "$W/http.out" 2>&1 &
BLAST=$!
IT_PIDS="$IT_PIDS $BLAST"
build/beacon-blast --quiet --mode udp-json --target "127.0.0.1:$BD_UDP" --jwt-key "$BD_KEY" \
	--count 20000 --rate 50000 --seed 22 --duration 30 > "$W/udp.out" ||
	it_fail "UDP blast failed: $(cat "$W/udp.out")"

peak=0
sample_rss() {
	r=$(bd_metric beacond_resident_memory_bytes)
	[ "$r" -le "$RSS_BOUND" ] || it_fail "RSS $r exceeds its bound $RSS_BOUND"
	[ "$r" -le "$peak" ] || peak=$r
}
sample_rss
[ "$(bd_metric 'beacond_beacons_dropped_total{reason="ring_full"}')" -gt 0 ] ||
	it_fail "no UDP drop counted while Kafka was down"
it_wait 20 "HTTP requests to be refused with 503 (back-pressure)" sh -c \
	"curl -sf http://127.0.0.1:$BD_MET/metrics | grep -Eq '^beacond_http_responses_total\{worker=\"0\",code=\"503\"\} [1-9]'"
[ "$(bd_metric 'beacond_kafka_delivered_total{status="persisted"}')" = 0 ] ||
	it_fail "records persisted while the brokers were down?"
sample_rss
it_log "back-pressure seen: ring_full drops $(bd_metric 'beacond_beacons_dropped_total{reason="ring_full"}'), HTTP 503s $(bd_metric 'beacond_http_responses_total{code="503"}')"

kill -USR2 "$IT_PID_kafka"
it_wait 10 "kafka-dev to set its brokers up" grep -q "brokers up" build/it/kafka.log
rc=0
wait "$BLAST" || rc=$?
[ "$rc" = 0 ] || it_fail "HTTP blast exit $rc: $(cat "$W/http.out")"
grep -q '^lost 0$' "$W/http.out" && grep -q '^acked 20000$' "$W/http.out" ||
	it_fail "HTTP blast did not get every beacon acknowledged: $(tr '\n' ' ' < "$W/http.out")"
grep -Eq '^retries_503 [1-9]' "$W/http.out" || it_fail "HTTP blast never saw a 503"
bd_wait_delivered 60
sample_rss
it_wait 15 "/readyz to be ready again" curl -sf "http://127.0.0.1:$BD_MET/readyz"

# every acknowledged HTTP beacon is in Kafka exactly once; UDP adds up
bd_kafka_dump "$W/records.tsv"
udp_sent=$(awk '$1 == "sent" { print $2 }' "$W/udp.out")
udp_drop=$(bd_metric 'beacond_beacons_dropped_total{reason="ring_full"}')
udp_ovf=$(bd_metric beacond_udp_socket_overflow_total)
python3 - "$W/records.tsv" "$W/http.meta" "$udp_sent" "$udp_drop" "$udp_ovf" <<'PY' || it_fail "Kafka content check"
import collections, json, sys
recs, meta, sent, drop, ovf = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
http, udp, ids = collections.Counter(), 0, collections.Counter()
for ln in open(recs, encoding="utf-8"):
    t, k, v = ln.rstrip("\n").split("\t", 2)
    r = json.loads(v)
    ids[r["event_id"]] += 1
    if r["source"] == "http":
        http[(r["type"], k)] += 1
    else:
        udp += 1
want = collections.Counter()
for ln in open(meta):
    p = ln.split()
    assert p[1] == "valid", ln
    want[(p[2], p[3])] += 1
assert max(ids.values()) == 1, "duplicate event_id"
assert http == want, "HTTP: %d missing, %d extra" % (sum((want - http).values()), sum((http - want).values()))
assert udp + drop + ovf == sent, "UDP: %d delivered + %d ring_full + %d overflow != %d sent" % (udp, drop, ovf, sent)
print("fault: %d HTTP beacons all delivered once; UDP %d delivered, %d ring_full, %d overflow of %d" %
      (sum(want.values()), udp, drop, ovf, sent))
PY
it_log "peak RSS $peak bytes (bound $RSS_BOUND)"

kill -TERM "$IT_PID_beacond"
it_wait 20 "beacond to exit on SIGTERM" sh -c "! kill -0 $IT_PID_beacond"
rc=0
wait "$IT_PID_beacond" || rc=$?
[ "$rc" = 0 ] || it_fail "beacond exit status $rc: $(tail -3 build/it/beacond.log)"
it_log "all checks passed"
