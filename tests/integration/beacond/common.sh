# Shared set-up for beacond integration tests (POSIX sh; source after lib.sh,
# with W set to the test's scratch folder).
#   bd_start_kafka PARTITIONS   start kafka-dev; sets BS to its bootstrap list
#   bd_config FILE [EXTRA_INI]  write a beacond config for the test ports
#   bd_start                    start beacond on $W/beacond.ini, wait for /readyz
#   bd_metric 'NAME{L="v",...}' print the sum of the matching series
#   bd_wait_delivered SECS      wait until every accepted beacon is persisted
#   bd_kafka_dump FILE          the three topics as topic<TAB>key<TAB>value lines
BD_UDP=${BD_UDP:-17070}
BD_HTTP=${BD_HTTP:-18080}
BD_MET=${BD_MET:-19470}
BD_KEY=it-key
BD_SUB=7f9c1e2a-0000-4000-8000-000000000001

bd_start_kafka() {
	rm -f "$W/bootstrap"
	it_start kafka build/kafka-dev --partitions "$1" --bootstrap-file "$W/bootstrap"
	it_wait 10 "kafka-dev to write its bootstrap file" test -s "$W/bootstrap"
	BS=$(cat "$W/bootstrap")
	case "$BS" in 127.0.0.1:*) ;; *) it_fail "bootstrap is not on loopback: $BS" ;; esac
}

bd_config() {
	{
		echo "[node]"; echo "name = it-node"; echo "id = 7"
		echo "[driver]"; echo "workers = 2"
		echo "[udp]"; echo "port = $BD_UDP"
		echo "[http]"; echo "port = $BD_HTTP"
		echo "[metrics]"; echo "port = $BD_MET"
		echo "[auth]"; echo "jwt_keys = $BD_KEY"
		echo "[kafka]"; echo "brokers = $BS"; echo "linger_ms = 2"
		[ $# -lt 2 ] || printf '%s\n' "$2"
	} > "$1"
}

bd_start() {
	it_start beacond "${BEACOND:-build/beacond}" --config "$W/beacond.ini"
	it_wait 20 "beacond /readyz to answer 200" curl -sf "http://127.0.0.1:$BD_MET/readyz"
}

bd_metric() {
	curl -sf "http://127.0.0.1:$BD_MET/metrics" | python3 -c '
import re, sys
name, _, labels = sys.argv[1].partition("{")
need = [l for l in labels.rstrip("}").split(",") if l]
tot = 0.0
for ln in sys.stdin:
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", ln)
    if m and m.group(1) == name and all(l in (m.group(2) or "") for l in need):
        tot += float(m.group(3))
print(int(tot) if tot == int(tot) else tot)' "$1"
}

bd_wait_delivered() {
	_end=$(( $(date +%s) + $1 ))
	while :; do
		_a=$(bd_metric beacond_beacons_accepted_total)
		_p=$(bd_metric 'beacond_kafka_delivered_total{status="persisted"}')
		[ "$_a" != "$_p" ] || break
		[ "$(date +%s)" -lt "$_end" ] ||
			it_fail "timed out after ${1}s waiting for accepted ($_a) = persisted ($_p)"
		sleep 0.2
	done
	it_log "accepted = persisted = $_p"
}

bd_kafka_dump() {
	: > "$1"
	for _t in ugc.views ugc.events ugc.actions; do
		timeout 60 kcat -b "$BS" -C -t "$_t" -o beginning -e -q -m 10 -f "$_t\t%k\t%s\n" >> "$1" ||
			it_fail "kcat could not read $_t"
	done
}
