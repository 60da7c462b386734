#!/bin/sh
# Poison records: rows ClickHouse refuses (a non-UUID film_id, a string ts)
# and records that cannot be routed (broken JSON, nested values, unknown
# type) go to ugc.dlq with their reason and origin in headers; every other
# record is inserted, field by field; the stream never blocks.
set -eu
IT_NAME=test_etl_poison
. tests/integration/lib.sh
W=build/it/etl-poison
rm -rf "$W"
mkdir -p "$W"
. tests/integration/etl/common.sh
K=6

python3 tests/integration/etl/gen_records.py --count 20000 --seed 11 --poison "$K" --out-dir "$W" > "$W/gen.out"
etl_start_kafka 4
etl_start_ch
etl_schema
for t in ugc.views ugc.events ugc.actions; do etl_produce "$W/$t.tsv" "$t"; done
etl_config "$W/etl.ini" "[views]
batch_ms = 300
[events]
batch_ms = 300
[actions]
batch_ms = 300"
etl_start
while read -r t n; do etl_wait_rows 60 "$t" "$n"; done < "$W/gen.out"
python3 tests/integration/etl/verify.py "$CH_URL" "$W" --poison > "$W/verify.out" || {
	cat "$W/verify.out"; it_fail "ClickHouse differs from what was produced"; }
cat "$W/verify.out"
npoison=$(wc -l < "$W/poison.ids")
nunroutable=$(cat "$W/unroutable.count")
it_wait 30 "the DLQ counters to reach $npoison rejected + $nunroutable unroutable" sh -c \
	"[ \"\$(curl -sf http://127.0.0.1:$ETL_MET/metrics | awk '/^beacon_etl_dlq_records_total/ { s += \$2 } END { print s + 0 }')\" = $((npoison + nunroutable)) ]"
[ "$(etl_metric 'beacon_etl_dlq_records_total{reason="rejected"}')" = "$npoison" ] || it_fail "rejected count"
[ "$(etl_metric 'beacon_etl_rows_rejected_total')" = "$npoison" ] || it_fail "rows_rejected_total"
[ "$(etl_metric 'beacon_etl_errors_total{kind="ch_data"}')" -gt 0 ] || it_fail "no ch_data error counted"

# the DLQ holds each poison record once, with reason and origin
timeout 60 kcat -b "$BS" -C -t ugc.dlq -o beginning -e -q -J > "$W/dlq.json" ||
	it_fail "kcat could not read ugc.dlq"
python3 - "$W/dlq.json" "$W/poison.ids" "$nunroutable" <<'PY' || it_fail "DLQ content"
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
poison = set(open(sys.argv[2]).read().split())
nun = int(sys.argv[3])
reasons = collections.Counter()
rejected = set()
for m in rows:
    h, v = m.get("headers") or [], m["payload"]
    hd = dict(zip(h[0::2], h[1::2]))
    for k in ("reason", "source_topic", "source_partition", "source_offset", "etl_stream"):
        assert k in hd, "header %s missing: %s" % (k, h)
    reasons[hd["reason"]] += 1
    if hd["reason"] == "rejected":
        assert hd["error"].startswith("Code: "), hd
        rejected.add(json.loads(v)["event_id"])
assert rejected == poison, "rejected %d, want %d" % (len(rejected), len(poison))
assert reasons["rejected"] == len(poison), reasons
assert sum(reasons.values()) - reasons["rejected"] == nun, reasons
print("dlq:", dict(reasons))
PY
it_log "all checks passed"
