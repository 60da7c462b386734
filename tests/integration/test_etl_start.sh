#!/bin/sh
# Where beacon-etl starts reading a partition it is assigned
# (etl/bcn_etl_stream.c, start_positions): at the group's committed offset
# if it has one, else at the start of the log (auto.offset.reset = earliest),
# both looked up by the ETL and handed to librdkafka as absolute offsets.
#   1. A fresh group, records in partitions 0-3 of 8 only (4-7 empty, and
#      the events and actions topics empty): exactly those rows.  SIGTERM.
#   2. More records into all 8 partitions; a restarted ETL (same group)
#      starts 0-3 at its commits (its /metrics show them, and it consumes
#      exactly the new records: nothing read twice) and 4-7, which have no
#      commit, at their first record (nothing skipped): exactly A + B rows,
#      field by field, and not one duplicate even before merges.
set -eu
IT_NAME=test_etl_start
. tests/integration/lib.sh
W=build/it/etl-start
rm -rf "$W"
mkdir -p "$W/a" "$W/b"
. tests/integration/etl/common.sh
NA=6000
NB=6000

python3 tests/integration/etl/gen_records.py --count $NA --seed 31 --mix view=1 --out-dir "$W/a" > "$W/a/gen.out"
python3 tests/integration/etl/gen_records.py --count $NB --seed 32 --mix view=1 --start-id 1000000 \
	--out-dir "$W/b" > "$W/b/gen.out"
cat "$W/a/ugc.views.tsv" "$W/b/ugc.views.tsv" > "$W/ugc.views.tsv"
etl_start_kafka 8
etl_start_ch
etl_schema

# produce FILE PARTITIONS: the file's lines dealt round-robin over the
# given partitions of ugc.views (kcat -p), so that which partitions hold
# records does not depend on the keys' hashes
produce() {
	_np=$(echo "$2" | wc -w)
	_i=0
	for _p in $2; do
		awk -v n="$_np" -v i="$_i" 'NR % n == i' "$1" > "$W/part.$_p"
		timeout 60 kcat -b "$BS" -P -t ugc.views -p "$_p" -K '	' -z lz4 -l "$W/part.$_p" ||
			it_fail "kcat could not produce to ugc.views [$_p]"
		_i=$((_i + 1))
	done
}
committed() { # PARTITION: the committed offset beacon-etl's /metrics show, or "none"
	curl -sf "http://127.0.0.1:$ETL_MET/metrics" |
		awk -v p="partition=\"$1\"}" 'index($0, "beacon_etl_committed_offset{") == 1 && index($0, "topic=\"ugc.views\"," p) { v = $2 }
			END { print v == "" ? "none" : v }'
}
committed_is() { [ "$(committed "$1")" = "$2" ]; }
etl_config "$W/etl.ini" "[kafka]
group_prefix = start
[views]
batch_rows = 2000
batch_ms = 200"

produce "$W/a/ugc.views.tsv" "0 1 2 3"
etl_start etl1
etl_wait_rows 60 views $NA
# every record of A committed: the offsets are the partitions' lengths;
# nothing committed for 4-7
i=0
while [ $i -lt 8 ]; do
	want=none
	[ $i -ge 4 ] || want=$(awk -v n=4 -v i=$i 'NR % n == i' "$W/a/ugc.views.tsv" | wc -l)
	it_wait 20 "ugc.views [$i]'s committed offset to be $want" committed_is $i "$want"
	i=$((i + 1))
done
kill -TERM "$ETL_PID"
it_wait 20 "beacon-etl (first run) to exit on SIGTERM" sh -c "! kill -0 $ETL_PID"
wait "$ETL_PID" || it_fail "beacon-etl (first run) exit status $?"
[ "$(etl_q 'SELECT count() FROM ugc.views')" = $NA ] || it_fail "first run: ugc.views does not hold exactly $NA rows"
it_log "first run: $NA rows from partitions 0-3, committed; partitions 4-7 empty"

produce "$W/b/ugc.views.tsv" "0 1 2 3 4 5 6 7"
etl_start etl2
etl_wait_rows 60 views $((NA + NB))
python3 tests/integration/etl/verify.py "$CH_URL" "$W" > "$W/verify.out" || {
	cat "$W/verify.out"; it_fail "ClickHouse differs from what was produced"; }
cat "$W/verify.out"
[ "$(etl_q 'SELECT count() FROM ugc.views')" = $((NA + NB)) ] ||
	it_fail "restart: plain count() is not $((NA + NB)): a record was inserted twice"
consumed=$(etl_metric 'beacon_etl_records_consumed_total{stream="views"}')
[ "$consumed" = $NB ] || it_fail "restart: consumed $consumed records, want exactly the $NB new ones"
kill -TERM "$ETL_PID"
it_wait 20 "beacon-etl to exit on SIGTERM" sh -c "! kill -0 $ETL_PID"
wait "$ETL_PID" || it_fail "beacon-etl exit status $?"
it_log "restart: partitions 0-3 from their commits, 4-7 (no commit) from their first record: exactly $((NA + NB)) rows, $NB consumed"
it_log "all checks passed"
