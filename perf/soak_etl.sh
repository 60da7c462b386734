#!/bin/sh
# perf/soak_etl.sh - push RECORDS records through beacon-etl and sample its
# memory every second: RSS and jemalloc's allocated/active/resident bytes
# (from its /metrics) into build/soak-etl/mem.csv, plotted to
# build/soak-etl/mem.png (gnuplot), with the growth after warm-up.
#
#   sh perf/soak_etl.sh [RECORDS] [PARTITIONS]   (defaults 20000000, 64)
#
# A pool of 400k mixed records (all seven types) is generated once and
# produced again and again with kcat; kafka-dev keeps only ~5 MiB per
# partition, so the producer waits while the ETL's lag exceeds 300k records
# (nothing is deleted before the ETL read it).  The same event_ids recur
# across rounds: ClickHouse (ReplacingMergeTree) collapses them, which does
# not matter here -- the figure of merit is the ETL's memory, and its row
# count comes from its own counters.  Warm-up = the first 10% of samples;
# growth = mean of the last 10% over mean of the 10% right after warm-up.
set -eu
IT_NAME=soak_etl
cd "$(dirname "$0")/.."
. tests/integration/lib.sh
W=build/soak-etl
rm -rf "$W"
mkdir -p "$W"
N=${1:-20000000}
P=${2:-64}
POOL=400000
CH_HTTP=38123 CH_TCP=39000 ETL_MET=39471
. tests/integration/etl/common.sh

python3 tests/integration/etl/gen_records.py --count "$POOL" --seed 21 --out-dir "$W" > "$W/gen.out"
etl_start_kafka "$P"
etl_start_ch
etl_schema
etl_config "$W/etl.ini"
etl_start
it_log "soak: $N records in rounds of $POOL, $P partitions"

# sampler: one line per second
(
	echo "t_s,records_inserted,rss_bytes,jemalloc_allocated,jemalloc_active,jemalloc_resident,lag_records"
	t0=$(date +%s)
	while kill -0 "$ETL_PID" 2>/dev/null; do
		curl -sf "http://127.0.0.1:$ETL_MET/metrics" | awk -v t=$(( $(date +%s) - t0 )) '
			/^beacon_etl_rows_inserted_total/ { rows += $2 }
			/^beacon_etl_dlq_records_total/ { rows += $2 }
			/^beacon_etl_resident_memory_bytes/ { rss = $2 }
			/^beacon_etl_jemalloc_bytes\{stat="allocated"\}/ { al = $2 }
			/^beacon_etl_jemalloc_bytes\{stat="active"\}/ { ac = $2 }
			/^beacon_etl_jemalloc_bytes\{stat="resident"\}/ { re = $2 }
			/^beacon_etl_consumer_lag_records/ { lag += $2 }
			END { if (rss) printf "%d,%d,%d,%d,%d,%d,%d\n", t, rows, rss, al, ac, re, lag }'
		sleep 1
	done
) > "$W/mem.csv" &
SAMPLER=$!
IT_PIDS="$IT_PIDS $SAMPLER"

sent=0
start=$(date +%s)
while [ "$sent" -lt "$N" ]; do
	end=$(( $(date +%s) + 600 ))
	while [ "$(etl_metric beacon_etl_consumer_lag_records)" -gt 300000 ]; do
		[ "$(date +%s)" -lt "$end" ] || it_fail "lag did not drop below 300k in 600 s"
		sleep 0.5
	done
	for t in ugc.views ugc.events ugc.actions; do etl_produce "$W/$t.tsv" "$t"; done
	sent=$((sent + POOL))
	it_log "produced $sent, inserted $(etl_metric beacon_etl_rows_inserted_total), RSS $(( $(etl_metric beacon_etl_resident_memory_bytes) / 1048576 )) MiB"
done
end=$(( $(date +%s) + 900 ))
while [ "$(etl_metric beacon_etl_rows_inserted_total)" -lt "$sent" ]; do
	[ "$(date +%s)" -lt "$end" ] || it_fail "the ETL did not catch up in 900 s"
	sleep 1
done
secs=$(( $(date +%s) - start ))
sleep 2
kill -TERM "$ETL_PID"
wait "$ETL_PID" || it_fail "beacon-etl exit status $?"
wait "$SAMPLER" 2>/dev/null || true
python3 - "$W/mem.csv" "$sent" "$secs" <<'PY' | tee "$W/summary.txt"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = len(rows)
w = max(1, n // 10)
def mean(rs, k): return sum(int(r[k]) for r in rs) / len(rs)
after, last = rows[w:2 * w], rows[-w:]
print("records %s in %s s (%.0f rows/s incl. producer pacing), %d samples" % (sys.argv[2], sys.argv[3], int(sys.argv[2]) / max(1, int(sys.argv[3])), n))
for k in ("rss_bytes", "jemalloc_allocated", "jemalloc_active", "jemalloc_resident"):
    a, b = mean(after, k), mean(last, k)
    mx = max(int(r[k]) for r in rows[w:])
    print("%-19s after warm-up %7.1f MiB  end %7.1f MiB  growth %+.2f%%  max %7.1f MiB" % (k, a / 2**20, b / 2**20, 100 * (b - a) / a, mx / 2**20))
PY
gnuplot <<GP
set terminal png size 1000,500
set output "$W/mem.png"
set datafile separator ","
set key left bottom
set xlabel "seconds"
set ylabel "MiB"
set y2label "records inserted (millions)"
set y2tics
set title "beacon-etl soak: $sent records"
plot "$W/mem.csv" every ::1 using 1:(\$3/1048576) with lines title "RSS", \
     "" every ::1 using 1:(\$4/1048576) with lines title "jemalloc allocated", \
     "" every ::1 using 1:(\$6/1048576) with lines title "jemalloc resident", \
     "" every ::1 using 1:(\$2/1e6) axes x1y2 with lines title "records inserted"
GP
it_log "wrote $W/mem.csv, $W/mem.png, $W/summary.txt"
