#!/bin/sh
# kafka-dev end to end with an independent client (kcat): topics exist with
# the requested partitions, a message goes in and comes back out, brokers go
# down and up on SIGUSR1/SIGUSR2, and SIGTERM stops it.
set -eu
IT_NAME=test_kafka_dev
. tests/integration/lib.sh
BF=build/it/kafka-dev.bootstrap
rm -f "$BF"
it_start kafka build/kafka-dev --partitions 8 --bootstrap-file "$BF"
it_wait 10 "kafka-dev to write $BF" test -s "$BF"
BS=$(cat "$BF")
it_log "bootstrap $BS"
case "$BS" in 127.0.0.1:*|localhost:*) ;; *) it_fail "bootstrap is not on loopback: $BS" ;; esac

kcat -b "$BS" -L -J -m 5 > build/it/kafka-meta.json || it_fail "kcat -L failed"
python3 - build/it/kafka-meta.json <<'PY' || it_fail "topic metadata wrong"
import json, sys
m = json.load(open(sys.argv[1]))
t = {x["topic"]: len(x["partitions"]) for x in m["topics"]}
for name in ("ugc.views", "ugc.events", "ugc.actions", "ugc.dlq"):
    assert t.get(name) == 8, (name, t)
PY

printf 'k1:hello-1\nk2:hello-2\n' | kcat -b "$BS" -P -t ugc.events -K: -p 3 || it_fail "produce failed"
kcat -b "$BS" -C -t ugc.events -p 3 -o beginning -c 2 -e -f '%k=%s\n' -m 5 > build/it/kafka-out.txt ||
	it_fail "consume failed"
printf 'k1=hello-1\nk2=hello-2\n' | diff -u - build/it/kafka-out.txt || it_fail "round trip differs"

kill -USR1 "$IT_PID_kafka"
it_wait 10 "brokers down in the log" grep -q "brokers down" build/it/kafka.log
if printf 'x\n' | timeout 10 kcat -b "$BS" -P -t ugc.events -p 3 -X message.timeout.ms=2000 2>/dev/null; then
	it_fail "produce succeeded with brokers down"
fi
kill -USR2 "$IT_PID_kafka"
it_wait 10 "brokers up in the log" grep -q "brokers up" build/it/kafka.log
it_wait 20 "produce to succeed after brokers up" sh -c "printf 'y\n' | kcat -b '$BS' -P -t ugc.events -p 3 -X message.timeout.ms=3000"

kill -TERM "$IT_PID_kafka"
it_wait 10 "kafka-dev to exit on SIGTERM" sh -c "! kill -0 $IT_PID_kafka"
it_log "all checks passed"
