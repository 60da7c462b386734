#!/bin/sh
# beacond end to end: kafka-dev + beacond (socket driver, 2 workers); beacons
# of every type over UDP (JSON and binary) and HTTP (single and NDJSON), valid
# and invalid, read back from Kafka with an independent client (kcat):
#   - every valid beacon arrives exactly once, on the right topic and key,
#     with the right fields (hand-made cases: every field compared);
#   - every invalid one is absent and counted under its reason (the reasons
#     beacon-lint gives for the same beacons);
#   - UGC without a token is refused (UDP: counted; HTTP: 401);
#   - /metrics passes promtool check metrics; SIGTERM delivers everything.
set -eu
IT_NAME=test_beacond
. tests/integration/lib.sh
W=build/it/beacond
rm -rf "$W"
mkdir -p "$W"
. tests/integration/beacond/common.sh

bd_start_kafka 4
bd_config "$W/beacond.ini" "[udp]
rcvbuf = 16M"
bd_start
it_log "beacond ready (kafka $BS)"

EXP=$(( $(date +%s) + 3600 ))
TOKEN=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$BD_SUB" --exp "$EXP")
EXPIRED=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$BD_SUB" --exp $(( $(date +%s) - 60 )))

# 1. hand-made cases, every HTTP answer checked on the spot
python3 tests/integration/beacond/e2e.py send --udp "$BD_UDP" --http "$BD_HTTP" \
	--token "$TOKEN" --expired "$EXPIRED" --out "$W/expect.json" || it_fail "hand-made cases"

# 2. synthetic audience: 20% invalid, all transports.  UDP is rate-limited so
#    that the socket buffer never overflows (a loss here would be a bug).
blast() { # NAME ARGS...
	_n=$1; shift
	build/beacon-blast --quiet --jwt-key "$BD_KEY" --invalid-share 0.2 --duration 60 \
		--dump-meta "$W/$_n.meta" --dump-expect "$W/$_n.expect" "$@" > "$W/$_n.out" ||
		it_fail "beacon-blast $_n failed: $(cat "$W/$_n.out")"
	it_log "blast $_n: $(grep -E '^(sent|acked|rate_per_s) ' "$W/$_n.out" | tr '\n' ' ')"
}
blast udpjson --mode udp-json --target "127.0.0.1:$BD_UDP" --count 3000 --rate 20000 --seed 11
blast udpbin --mode udp-bin --target "127.0.0.1:$BD_UDP" --count 3000 --rate 20000 --seed 12
blast http1 --mode http --target "127.0.0.1:$BD_HTTP" --count 1000 --conns 4 --seed 13
blast httpnd --mode http --target "127.0.0.1:$BD_HTTP" --count 3000 --batch 50 --conns 2 --seed 14
for n in http1 httpnd; do
	v=$(awk '$1 == "sent_valid" { print $2 }' "$W/$n.out")
	a=$(awk '$1 == "acked" { print $2 }' "$W/$n.out")
	[ "$v" = "$a" ] && grep -q '^lost 0$' "$W/$n.out" ||
		it_fail "$n: $v valid beacons sent, $a acknowledged: $(tr '\n' ' ' < "$W/$n.out")"
done
bd_wait_delivered 30

# 3. rejects counted by reason, as beacon-lint says (the hand-made cases add
#    at most 3 of a reason per source)
for src in udp http; do
	case $src in
	udp) files="$W/udpjson.expect $W/udpbin.expect" ;;
	http) files="$W/http1.expect $W/httpnd.expect" ;;
	esac
	# shellcheck disable=SC2086
	cat $files | awk '$1 == "reject" { n[$2]++ } END { for (r in n) print r, n[r] }' > "$W/want-$src"
	[ -s "$W/want-$src" ] || it_fail "$src: beacon-blast sent no invalid beacons"
	while read -r r want; do
		have=$(bd_metric "beacond_beacons_rejected_total{source=\"$src\",reason=\"$r\"}")
		[ "$have" -ge "$want" ] && [ "$have" -le $((want + 3)) ] ||
			it_fail "$src rejected{reason=$r} = $have, beacon-lint says $want"
	done < "$W/want-$src"
done
[ "$(bd_metric 'beacond_beacons_rejected_total{source="udp",reason="auth_required"}')" -ge 1 ] ||
	it_fail "UDP like without token not counted as auth_required"
[ "$(bd_metric beacond_beacons_dropped_total)" = 0 ] ||
	it_fail "beacons dropped: $(bd_metric beacond_beacons_dropped_total)"
[ "$(bd_metric beacond_udp_socket_overflow_total)" = 0 ] || it_fail "the kernel dropped UDP datagrams"

# 4. Kafka holds exactly the valid beacons, once each, with the right fields
bd_kafka_dump "$W/records.tsv"
python3 tests/integration/beacond/e2e.py verify --expect "$W/expect.json" --records "$W/records.tsv" \
	--meta "$W/udpjson.meta" "$W/udpbin.meta" "$W/http1.meta" "$W/httpnd.meta" ||
	it_fail "Kafka content differs from what was sent"

# 5. the metrics page is valid Prometheus text
curl -sf "http://127.0.0.1:$BD_MET/metrics" > "$W/metrics.txt"
promtool check metrics < "$W/metrics.txt" || it_fail "promtool check metrics"

# 6. SIGTERM: clean exit, nothing left undelivered
kill -TERM "$IT_PID_beacond"
it_wait 20 "beacond to exit on SIGTERM" sh -c "! kill -0 $IT_PID_beacond"
rc=0
wait "$IT_PID_beacond" || rc=$?
[ "$rc" = 0 ] || it_fail "beacond exit status $rc (log: $(tail -3 build/it/beacond.log))"
grep -q ", 0 failed, 0 not delivered" build/it/beacond.log ||
	it_fail "shutdown report: $(tail -1 build/it/beacond.log)"
it_log "all checks passed"
