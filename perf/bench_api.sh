#!/bin/sh
# perf/bench_api.sh - beacon-api's benchmark: PostgreSQL with a realistic
# volume, beacon-api in front, then
#   1. a paced open-loop run (build/api-load: latency from the intended send
#      time, no coordinated omission) at API_BENCH_RATE req/s (3000) for
#      API_BENCH_SECS s (30) with a mix of every endpoint, after a 5 s warm-up;
#   2. wrk flat out (closed loop, for the ceiling): a user's history and a
#      film's rating, API_BENCH_WRK_SECS s (10) each.
# Prints throughput and p50/p99/p99.9; results in build/bench-api/.
#
# Volume (direct INSERTs with generate_series, film_stats computed once at
# the end, as the triggers would have): 500,000 users, 10,000 films,
# 1,500,000 likes, 500,000 bookmarks, 1,500,000 progress rows, 200,000
# reviews.  Loading takes 1-3 minutes; the database is kept in
# build/bench-api/pg and reused by the next run (API_BENCH_RELOAD=1 rebuilds).
# Ports (loopback only): PostgreSQL API_BENCH_PG_PORT (15438), API 18092,
# ops 19474.  Everything it starts is stopped on exit.
set -eu
cd "$(dirname "$0")/.."
W=build/bench-api
PG_PORT=${API_BENCH_PG_PORT:-15438}
API_PORT=${API_BENCH_PORT:-18092}
OPS_PORT=${API_BENCH_OPS_PORT:-19474}
RATE=${API_BENCH_RATE:-3000}
SECS=${API_BENCH_SECS:-30}
WRK_SECS=${API_BENCH_WRK_SECS:-10}
WORKERS=${API_BENCH_WORKERS:-4}
KEY=bench-key
log() { echo "bench_api: $*" >&2; }
die() { echo "bench_api: ERROR: $*" >&2; exit 1; }
for b in build/beacon-api build/api-load; do [ -x "$b" ] || die "$b missing (make $b)"; done
command -v wrk > /dev/null || die "wrk missing (apt-get install wrk)"
mkdir -p "$W"
API_PID=""
cleanup() {
	[ -z "$API_PID" ] || { kill -TERM "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; }
	etl/pg/pg-local.sh stop "$W/pg" || true
}
trap cleanup EXIT INT TERM

[ "${API_BENCH_RELOAD:-0}" = 1 ] && { etl/pg/pg-local.sh stop "$W/pg" || true; rm -rf "$W/pg"; }
etl/pg/pg-local.sh start "$W/pg" "$PG_PORT" > "$W/pg.env" 2> "$W/pg-start.log" || die "PostgreSQL: $(tail -3 "$W/pg-start.log")"
. "./$W/pg.env"
q() { psql "$PG_CONNINFO" -qAtX -v ON_ERROR_STOP=1 "$@"; }

if [ "$(q -c 'SELECT count(*) FROM likes')" = 0 ]; then
	log "loading (users 500k, films 10k, likes 1.5M, bookmarks 0.5M, progress 1.5M, reviews 200k)..."
	t0=$(date +%s)
	# one transaction: a failed or interrupted load leaves the tables empty
	timeout 1200 psql "$PG_CONNINFO" -1 -qAtX -v ON_ERROR_STOP=1 <<'SQL' || die "load failed or took over 20 min"
CREATE OR REPLACE FUNCTION bu(i bigint) RETURNS uuid IMMUTABLE LANGUAGE sql AS
$$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex($1), 12, '0'))::uuid $$;
CREATE OR REPLACE FUNCTION bf(i bigint) RETURNS uuid IMMUTABLE LANGUAGE sql AS
$$ SELECT ('10000000-0000-4000-8000-' || lpad(to_hex($1), 12, '0'))::uuid $$;
ALTER TABLE likes DISABLE TRIGGER likes_count;
ALTER TABLE reviews DISABLE TRIGGER reviews_count;
SET LOCAL synchronous_commit = off;
-- user u = j % 500000 has films (k * 2503 + u * 7919) % 10000, k = j / 500000: distinct per user
INSERT INTO likes SELECT bu(j % 500000), bf(((j / 500000) * 2503 + (j % 500000) * 7919) % 10000),
       CASE WHEN j % 5 = 0 THEN -1 WHEN j % 11 = 0 THEN 0 ELSE 1 END, 1700000000000 + j, 1700000000000 + j,
       gen_random_uuid() FROM generate_series(0::bigint, 1499999) j;
INSERT INTO bookmarks SELECT bu(j % 500000), bf(((j / 500000) * 2503 + (j % 500000) * 7919 + 17) % 10000),
       j % 7 <> 0, 1700000000000 + j, 1700000000000 + j, gen_random_uuid() FROM generate_series(0::bigint, 499999) j;
INSERT INTO progress SELECT bu(j % 500000), bf(((j / 500000) * 2503 + (j % 500000) * 7919 + 31) % 10000),
       (j * 7919) % 7200000, 7200000, j % 3 = 0, 1700000000000 + j, 1700000000000 + j, gen_random_uuid()
       FROM generate_series(0::bigint, 1499999) j;
INSERT INTO reviews SELECT gen_random_uuid(), bf((j * 7919) % 10000), bu(j % 500000), 1 + j % 10,
       repeat('A review of some length, with "quotes" and ünïcödé. ', (1 + j % 5)::int), j % 13 = 0,
       1700000000000 + j, 1700000000000 + j, gen_random_uuid() FROM generate_series(0::bigint, 199999) j;
INSERT INTO film_stats (film_id, likes, dislikes, reviews, rating_sum)
SELECT f, coalesce(l.likes, 0), coalesce(l.dislikes, 0), coalesce(r.n, 0), coalesce(r.s, 0)
FROM (SELECT film_id AS f FROM likes UNION SELECT film_id FROM reviews) films
LEFT JOIN (SELECT film_id, count(*) FILTER (WHERE score = 1) likes, count(*) FILTER (WHERE score = -1) dislikes
           FROM likes GROUP BY film_id) l ON l.film_id = f
LEFT JOIN (SELECT film_id, count(*) n, sum(rating) s FROM reviews WHERE NOT deleted GROUP BY film_id) r ON r.film_id = f
ON CONFLICT (film_id) DO NOTHING;
ALTER TABLE likes ENABLE TRIGGER likes_count;
ALTER TABLE reviews ENABLE TRIGGER reviews_count;
SQL
	q -c "VACUUM ANALYZE" || die "VACUUM ANALYZE failed"
	log "loaded in $(( $(date +%s) - t0 )) s: $(q -c "SELECT (SELECT count(*) FROM likes) + (SELECT count(*) FROM bookmarks) + (SELECT count(*) FROM progress) + (SELECT count(*) FROM reviews)") rows, $(q -c "SELECT pg_size_pretty(pg_database_size('ugc'))")"
else
	log "reusing the loaded database in $W/pg ($(q -c "SELECT pg_size_pretty(pg_database_size('ugc'))"))"
fi

# targets: the mix, 5,000 signed-in users, random films
python3 - "$W/targets" "$W/wrk-token" "$KEY" <<'PY'
import base64, hashlib, hmac, json, random, sys, time
out, tokf, key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
random.seed(10)
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def tok(sub):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64(json.dumps({"sub": sub, "exp": int(time.time()) + 7200}, separators=(",", ":")).encode())
    s = b64(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest())
    return h + "." + p + "." + s
u = lambda i: "00000000-0000-4000-8000-%012x" % i
f = lambda i: "10000000-0000-4000-8000-%012x" % i
users = [(i, tok(u(i))) for i in random.sample(range(500000), 5000)]
open(tokf, "w").write(users[0][1])
mix = [("rating", 30), ("reviews", 10), ("like", 15), ("bookmark", 8), ("bookmarks", 10),
       ("history", 10), ("continue", 10), ("progress", 7)]
names = [m for m, w in mix for _ in range(w)]
with open(out, "w") as o:
    for n in range(20000):
        kind = random.choice(names)
        ui, t = random.choice(users)
        film = f(random.randrange(10000))
        if kind == "rating": o.write("/v1/films/%s/rating\n" % film)
        elif kind == "reviews": o.write("/v1/films/%s/reviews?limit=20\n" % film)
        elif kind == "like": o.write("/v1/me/likes/%s\t%s\n" % (f((ui * 7919) % 10000), t))
        elif kind == "bookmark": o.write("/v1/me/bookmarks/%s\t%s\n" % (film, t))
        elif kind == "bookmarks": o.write("/v1/me/bookmarks?limit=20\t%s\n" % t)
        elif kind == "history": o.write("/v1/me/history?limit=20\t%s\n" % t)
        elif kind == "continue": o.write("/v1/me/continue?limit=10\t%s\n" % t)
        else: o.write("/v1/me/progress/%s\t%s\n" % (f((ui * 7919 + 31) % 10000), t))
PY

cat > "$W/api.ini" <<EOT
[api]
port = $API_PORT
workers = $WORKERS
[metrics]
port = $OPS_PORT
[pg]
conninfo = $PG_CONNINFO
pool_size = $WORKERS
[auth]
jwt_keys = $KEY
EOT
build/beacon-api --config "$W/api.ini" > "$W/api.log" 2>&1 &
API_PID=$!
i=0
until curl -sf "http://127.0.0.1:$OPS_PORT/readyz" > /dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || die "beacon-api not ready within 10 s: $(tail -3 "$W/api.log")"
	sleep 0.1
done
log "beacon-api ready ($WORKERS workers, pool $WORKERS) on 127.0.0.1:$API_PORT"

log "warm-up: 5 s at $RATE req/s"
build/api-load --port "$API_PORT" --targets "$W/targets" --rate "$RATE" --seconds 5 > "$W/warmup.json" 2> "$W/warmup.txt" || true
log "paced run: $SECS s at $RATE req/s, mix of every endpoint"
rc=0
build/api-load --port "$API_PORT" --targets "$W/targets" --rate "$RATE" --seconds "$SECS" > "$W/paced.json" 2> "$W/paced.txt" || rc=$?
cat "$W/paced.txt" >&2
[ $rc = 0 ] || log "api-load reported errors or unsent requests (exit $rc)"

T=$(cat "$W/wrk-token")
log "wrk flat out: $WRK_SECS s, /v1/me/history (2 threads, 32 connections)"
wrk -t2 -c32 -d"${WRK_SECS}s" --latency -H "Authorization: Bearer $T" \
	"http://127.0.0.1:$API_PORT/v1/me/history?limit=20" > "$W/wrk-history.txt" 2>&1 || die "wrk failed"
log "wrk flat out: $WRK_SECS s, the endpoint mix (perf/api_mix.lua over the same targets as the paced run)"
API_TARGETS="$W/targets" wrk -t2 -c32 -d"${WRK_SECS}s" --latency -s perf/api_mix.lua \
	"http://127.0.0.1:$API_PORT" > "$W/wrk-mix.txt" 2>&1 || die "wrk failed"
log "wrk flat out: $WRK_SECS s, /v1/films/{id}/rating (cached)"
wrk -t2 -c32 -d"${WRK_SECS}s" --latency \
	"http://127.0.0.1:$API_PORT/v1/films/10000000-0000-4000-8000-000000000007/rating" > "$W/wrk-rating.txt" 2>&1 || die "wrk failed"
curl -s "http://127.0.0.1:$OPS_PORT/metrics" > "$W/metrics.txt"

echo "== beacon-api benchmark ($(nproc) cores; $WORKERS workers, pool $WORKERS)"
echo "paced: $(cat "$W/paced.json")"
for f in mix history rating; do
	echo "wrk $f: $(grep -E 'Requests/sec' "$W/wrk-$f.txt" | awk '{print $2}') req/s;" \
		"p50 $(awk '$1=="50%"{print $2}' "$W/wrk-$f.txt") p99 $(awk '$1=="99%"{print $2}' "$W/wrk-$f.txt")" \
		"(non-2xx responses: $(awk '/Non-2xx/ { n = $NF } END { print n + 0 }' "$W/wrk-$f.txt");" \
		"socket errors: $(awk '/Socket errors/ { print }' "$W/wrk-$f.txt" | sed 's/^ *//' || true))"
done
grep -E '^beacon_api_(cache_requests_total|pg_pool_(waits|timeouts)_total|errors_total\{kind="(store|pool)[a-z_]*"\})' "$W/metrics.txt" || true
