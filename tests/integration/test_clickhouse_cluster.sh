#!/bin/sh
# shellcheck disable=SC2086,SC2015 # $CLICKHOUSE_HTTP_ALL is a list, split on purpose
# ClickHouse 2 shards x 2 replicas + ZooKeeper (etl/clickhouse/ch-cluster.sh):
# migrate in cluster mode (twice), insert through the Distributed tables the
# way beacon-etl does (insert_distributed_sync=1), read from every replica,
# check a user's rows live on one shard, resend an identical batch (deduplicated),
# kill one replica, keep inserting and reading, restart it, and check that every
# replica converges and that every answer, read through every node, equals the
# independent computation.
set -eu
IT_NAME=test_clickhouse_cluster
. tests/integration/lib.sh
command -v clickhouse-server >/dev/null || it_fail "clickhouse-server is not installed (tests/deps.sh)"
[ -r /usr/share/java/zookeeper.jar ] || it_fail "zookeeper is not installed (tests/deps.sh)"

D=build/it/clickhouse-cluster
DATA=build/it/clickhouse-cluster-data
T0=$(date +%s)
TABLES="views player_events page_views actions likes reviews bookmarks"
ch_cleanup() {
	sh etl/clickhouse/ch-cluster.sh stop "$D" || true
	it_cleanup
}
trap ch_cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$D" "$DATA"
el() { echo "$(( $(date +%s) - T0 ))s"; }

BASE=$(python3 tests/integration/clickhouse/free_ports.py 25) || it_fail "no free ports"
sh etl/clickhouse/ch-cluster.sh start "$D" "$BASE" > build/it/clickhouse-cluster.env ||
	it_fail "ch-cluster.sh start failed"
. ./build/it/clickhouse-cluster.env
set -- $CLICKHOUSE_HTTP_ALL
N1=$1 N2=$2 N3=$3 N4=$4
it_log "cluster up: $CLICKHOUSE_HTTP_ALL, zookeeper $ZOOKEEPER ($(el))"
sh tests/integration/clickhouse/loopback_only.sh "$D/pids" || it_fail "a server listens beyond 127.0.0.1"

qn() { curl -sS --fail-with-body --max-time 60 "$1/" --data-binary "$2"; }
# The ETL's insert, verbatim, through the Distributed table of node $1.
ins() {
	curl -sS --fail-with-body --max-time 60 \
		"$1/?query=INSERT%20INTO%20ugc.$2%20FORMAT%20JSONEachRow&input_format_skip_unknown_fields=1&insert_distributed_sync=1" \
		--data-binary "@$3" || it_fail "insert of $3 into ugc.$2 through $1 failed"
}
ins_batch() { # NODE_URL BATCH_NO
	for t in $TABLES; do ins "$1" "$t" "$DATA/$t.$2.json"; done
}
sync_all() { # wait until every live replica has fetched everything its peer has
	for u in "$@"; do
		for t in $TABLES; do
			qn "$u" "SYSTEM SYNC REPLICA ugc.${t}_local" >/dev/null ||
				it_fail "SYSTEM SYNC REPLICA ugc.${t}_local on $u failed"
		done
	done
}
# fingerprint URL: per table, rows and an order-independent hash of the local replica
fingerprint() {
	for t in $TABLES; do
		qn "$1" "SELECT '$t', count(), sum(cityHash64(toString(event_id), toString(ts))) FROM ugc.${t}_local"
	done
}
same_replicas() { # A B WHAT
	fingerprint "$1" > build/it/ch-fp-a.txt
	fingerprint "$2" > build/it/ch-fp-b.txt
	diff -u build/it/ch-fp-a.txt build/it/ch-fp-b.txt >&2 || it_fail "replicas $1 and $2 differ $3"
}
total() { # URL: rows of every raw table through the Distributed tables
	for t in $TABLES; do qn "$1" "SELECT '$t', uniqExact(event_id) FROM ugc.$t"; done
}

# -- schema, twice
sh etl/schema/migrate.sh --mode cluster $CLICKHOUSE_HTTP_ALL > build/it/ch-cl-migrate-1.log 2>&1 ||
	{ cat build/it/ch-cl-migrate-1.log >&2; it_fail "cluster migration failed"; }
sh etl/schema/migrate.sh --mode cluster $CLICKHOUSE_HTTP_ALL > build/it/ch-cl-migrate-2.log 2>&1 ||
	{ cat build/it/ch-cl-migrate-2.log >&2; it_fail "second cluster migration failed"; }
[ "$(grep -c 'already applied' build/it/ch-cl-migrate-2.log)" = 8 ] ||
	{ cat build/it/ch-cl-migrate-2.log >&2; it_fail "second cluster migration was not a no-op"; }
for u in $CLICKHOUSE_HTTP_ALL; do
	n=$(qn "$u" "SELECT count() FROM system.tables WHERE database = 'ugc' AND engine = 'ReplicatedReplacingMergeTree'")
	[ "$n" = 7 ] || it_fail "$u: want 7 replicated tables, got $n"
	n=$(qn "$u" "SELECT count() FROM system.tables WHERE database = 'ugc' AND engine = 'Distributed'")
	[ "$n" = 7 ] || it_fail "$u: want 7 Distributed tables, got $n"
done
it_log "migrated in cluster mode, twice ($(el))"

python3 tests/integration/clickhouse/gen_records.py "$DATA" >/dev/null || it_fail "generator failed"

# -- batches 1 and 2 through node 1, then batch 2 again through node 2 (a retried insert)
ins_batch "$N1" 1
ins_batch "$N1" 2
sync_all $CLICKHOUSE_HTTP_ALL
total "$N1" > build/it/ch-total-before.txt
fingerprint "$N1" > build/it/ch-fp1-before.txt
fingerprint "$N3" > build/it/ch-fp3-before.txt
ins_batch "$N2" 2
sync_all $CLICKHOUSE_HTTP_ALL
fingerprint "$N1" | diff -u build/it/ch-fp1-before.txt - >&2 || it_fail "shard 1 changed: the resent batch was not deduplicated"
fingerprint "$N3" | diff -u build/it/ch-fp3-before.txt - >&2 || it_fail "shard 2 changed: the resent batch was not deduplicated"
for t in $TABLES; do
	r=$(qn "$N1" "SELECT count() = uniqExact(event_id) FROM ugc.$t")
	[ "$r" = 1 ] || it_fail "ugc.$t holds duplicates after the identical resend"
done
same_replicas "$N1" "$N2" "(shard 1, after batches 1-2)"
same_replicas "$N3" "$N4" "(shard 2, after batches 1-2)"
for u in $CLICKHOUSE_HTTP_ALL; do
	total "$u" | diff -u build/it/ch-total-before.txt - >&2 || it_fail "$u reads different totals through Distributed"
done
# a user's rows live on one shard, and both shards got some users
for t in $TABLES; do
	r=$(qn "$N1" "SELECT count() FROM (SELECT user_key FROM ugc.${t}_local GROUP BY user_key)
		ALL INNER JOIN (SELECT user_key FROM remote('127.0.0.1:$((BASE + 13))', ugc.${t}_local) GROUP BY user_key) USING user_key")
	[ "$r" = 0 ] || it_fail "ugc.$t: $r users have rows on both shards"
	a=$(qn "$N1" "SELECT count() FROM ugc.${t}_local"); b=$(qn "$N3" "SELECT count() FROM ugc.${t}_local")
	[ "$a" -gt 0 ] && [ "$b" -gt 0 ] || it_fail "ugc.$t: a shard is empty ($a, $b)"
done
it_log "inserted through Distributed, resend deduplicated, replicas equal, users on one shard ($(el))"

# -- kill one replica (shard 2, replica 1) and keep going
sh etl/clickhouse/ch-cluster.sh kill "$D" ch3 || it_fail "kill ch3 failed"
ins_batch "$N1" 3
ins_batch "$N2" 4
total "$N4" > build/it/ch-total-down.txt
for u in "$N1" "$N2" "$N4"; do
	total "$u" | diff -u build/it/ch-total-down.txt - >&2 || it_fail "$u reads different totals with ch3 down"
done
python3 tests/integration/clickhouse/check_answers.py --quiet "$N2" "$DATA" || it_fail "answers wrong with ch3 down"
it_log "ch3 killed: inserts and reads go on, answers right ($(el))"

# -- restart it: it catches up from its peer; a resend of batch 4 through it is deduplicated
sh etl/clickhouse/ch-cluster.sh restart "$D" ch3 || it_fail "restart ch3 failed"
sync_all "$N3"
same_replicas "$N3" "$N4" "(shard 2, after ch3 came back)"
fp_before=$(fingerprint "$N3")
ins_batch "$N3" 4
sync_all $CLICKHOUSE_HTTP_ALL
[ "$(fingerprint "$N3")" = "$fp_before" ] || it_fail "the resent batch 4 through ch3 was not deduplicated"
same_replicas "$N1" "$N2" "(shard 1, at the end)"
same_replicas "$N3" "$N4" "(shard 2, at the end)"
for u in $CLICKHOUSE_HTTP_ALL; do
	python3 tests/integration/clickhouse/check_answers.py --quiet "$u" "$DATA" ||
		it_fail "answers read through $u differ from the independent computation"
done
it_log "ch3 restarted and caught up; answers right through every node ($(el))"

sh etl/clickhouse/ch-cluster.sh stop "$D" || it_fail "stop failed"
sh etl/clickhouse/ch-cluster.sh status "$D" 2>/dev/null && it_fail "still running after stop"
it_log "all checks passed ($(el))"
