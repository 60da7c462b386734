#!/bin/sh
# beacon-api (the read API, docs/read-api.md) against a private PostgreSQL:
#   - fixtures written through the ETL's own apply_* functions
#     (tests/integration/api/fixtures.sql: a changed and a removed like, a
#     removed bookmark, an edited and a deleted review, finished and
#     unfinished progress);
#   - every endpoint's exact answer, pagination across pages with cursors,
#     401 (missing, expired, wrongly signed, non-Bearer token), 400, 404, 405;
#   - a user's own write is visible on the next read (no per-user cache);
#   - PostgreSQL frozen (SIGSTOP): requests get 503 within the deadline,
#     never hang; PostgreSQL stopped: 503 within the deadline, /readyz 503;
#     PostgreSQL back: answers again, /readyz 200;
#   - SIGTERM: exits 0.
# Ports: PostgreSQL API_IT_PG_PORT (15434), API API_IT_PORT (18090), ops
# API_IT_OPS_PORT (19473); data under build/it/api.  Needs build/beacon-api,
# build/beacon-lint (tokens), postgresql-15, curl, python3.
set -eu
IT_NAME=test_api
. tests/integration/lib.sh
W=build/it/api
PG_PORT=${API_IT_PG_PORT:-15434}
API_PORT=${API_IT_PORT:-18090}
OPS_PORT=${API_IT_OPS_PORT:-19473}
API=http://127.0.0.1:$API_PORT
OPS=http://127.0.0.1:$OPS_PORT
KEY=it-api-key

for b in build/beacon-api build/beacon-lint; do
	[ -x "$b" ] || it_fail "$b missing (make $b)"
done
for p in $PG_PORT $API_PORT $OPS_PORT; do
	if ss -Hltn "sport = :$p" | grep -q .; then
		it_fail "port $p is in use (set API_IT_PG_PORT / API_IT_PORT / API_IT_OPS_PORT)"
	fi
done

FROZEN=""
cleanup() {
	# a frozen cluster must run again before it can be stopped
	for p in $FROZEN; do kill -CONT "$p" 2>/dev/null || true; done
	it_cleanup
	etl/pg/pg-local.sh stop "$W/pg" || true
}
trap cleanup EXIT INT TERM
[ -f "$W/pg/data/postmaster.pid" ] && etl/pg/pg-local.sh stop "$W/pg"
rm -rf "$W"
mkdir -p "$W"

# ---- PostgreSQL and fixtures --------------------------------------------------
PG_START_SECS=60 etl/pg/pg-local.sh start "$W/pg" "$PG_PORT" > "$W/pg.env" 2> "$W/pg-start.log" ||
	it_fail "PostgreSQL did not start: $(tail -3 "$W/pg-start.log")"
. "./$W/pg.env"
psql "$PG_CONNINFO" -qAtX -f tests/integration/api/fixtures.sql > "$W/fixtures.out" 2>&1 ||
	it_fail "fixtures: $(tail -3 "$W/fixtures.out")"
it_log "PostgreSQL on $PG_PORT, fixtures loaded"

U1=11111111-1111-4111-8111-111111111111
U2=22222222-2222-4222-8222-222222222222
U3=33333333-3333-4333-8333-333333333333
F1=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa
F2=bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb
F3=cccccccc-cccc-4ccc-8ccc-cccccccccccc
F4=dddddddd-dddd-4ddd-8ddd-dddddddddddd
F5=eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee
R=00000000-0000-4000-8000-00000000000

cat > "$W/api.ini" <<EOT
[api]
port = $API_PORT
workers = 2
[metrics]
port = $OPS_PORT
[pg]
conninfo = $PG_CONNINFO
pool_size = 2
acquire_timeout_ms = 50
statement_timeout_ms = 100
query_timeout_ms = 200
connect_timeout_ms = 1000
reconnect_max_ms = 500
probe_interval_ms = 250
[auth]
jwt_keys = $KEY
[cache]
ttl_ms = 1000
EOT
build/beacon-api --config "$W/api.ini" --check-config > /dev/null || it_fail "config refused"
it_start api build/beacon-api --config "$W/api.ini"
it_wait 10 "beacon-api /readyz to answer 200" curl -sf "$OPS/readyz"
it_log "beacon-api up on $API_PORT (ops $OPS_PORT)"

tok() { build/beacon-lint --jwt-key "$1" --sign-token "$2" ${3:+--exp "$3"}; }
T1=$(tok "$KEY" $U1)
T2=$(tok "$KEY" $U2)
T3=$(tok "$KEY" $U3)
TEXP=$(tok "$KEY" $U1 1000000000)           # 2001
TBAD=$(tok other-key $U1)

# req TOKEN PATH [curl args]: body to $W/body, headers to $W/hdr, prints the status
req() {
	_t=$1; _p=$2; shift 2
	if [ -n "$_t" ]; then
		curl -s -m 5 -o "$W/body" -D "$W/hdr" -w '%{http_code}' -H "Authorization: Bearer $_t" "$@" "$API$_p"
	else
		curl -s -m 5 -o "$W/body" -D "$W/hdr" -w '%{http_code}' "$@" "$API$_p"
	fi
}
# expect STATUS TOKEN PATH JSON: status and body (as JSON values) equal
expect() {
	_st=$(req "$2" "$3") || it_fail "curl failed on $3"
	[ "$_st" = "$1" ] || it_fail "$3: status $_st, expected $1: $(cat "$W/body")"
	python3 - "$W/body" "$4" <<'PY' || it_fail "$3: body differs"
import json, sys
got = open(sys.argv[1], encoding="utf-8").read()
want = json.loads(sys.argv[2])
try:
    g = json.loads(got)
except ValueError as e:
    sys.exit("not JSON (%s): %r" % (e, got))
if g != want:
    sys.exit("got  %s\nwant %s" % (json.dumps(g, ensure_ascii=False), json.dumps(want, ensure_ascii=False)))
PY
}
# error STATUS TOKEN PATH REASON [curl args]
error() {
	_s=$1; _tk=$2; _pa=$3; _re=$4; shift 4
	_st=$(req "$_tk" "$_pa" "$@") || it_fail "curl failed on $_pa"
	[ "$_st" = "$_s" ] || it_fail "$_pa: status $_st, expected $_s: $(cat "$W/body")"
	python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); sys.exit(0 if "error" in b and sys.argv[2] in b.get("reason","") else 1)' \
		"$W/body" "$_re" || it_fail "$_pa: error body $(cat "$W/body") lacks reason '$_re'"
}

# ---- every endpoint ------------------------------------------------------------
expect 200 "" /v1/films/$F1/rating \
	"{\"film_id\":\"$F1\",\"likes\":1,\"dislikes\":1,\"rating\":5.0,\"reviews\":4,\"avg_review_rating\":8.5}"
expect 200 "" /v1/films/$F2/rating \
	"{\"film_id\":\"$F2\",\"likes\":0,\"dislikes\":0,\"rating\":null,\"reviews\":0,\"avg_review_rating\":null}"
expect 200 "$T2" /v1/films/$F3/rating \
	"{\"film_id\":\"$F3\",\"likes\":1,\"dislikes\":0,\"rating\":10.0,\"reviews\":0,\"avg_review_rating\":null}"
expect 200 "" /v1/films/$F5/rating \
	"{\"film_id\":\"$F5\",\"likes\":0,\"dislikes\":0,\"rating\":null,\"reviews\":0,\"avg_review_rating\":null}"
REV5="{\"review_id\":\"${R}5\",\"user_id\":\"$U1\",\"rating\":10,\"text\":\"best\",\"ts\":5000}"
REV4="{\"review_id\":\"${R}4\",\"user_id\":\"$U3\",\"rating\":9,\"text\":\"tab\\there, bell\\u0001\",\"ts\":5000}"
REV2="{\"review_id\":\"${R}2\",\"user_id\":\"$U2\",\"rating\":7,\"text\":\"better on rewatch — ünïcödé ✓\",\"ts\":4000}"
REV1="{\"review_id\":\"${R}1\",\"user_id\":\"$U1\",\"rating\":8,\"text\":\"Great \\\"film\\\"\\nwith a \\\\ backslash\",\"ts\":1000}"
expect 200 "" "/v1/films/$F1/reviews" "{\"items\":[$REV5,$REV4,$REV2,$REV1],\"next_cursor\":null}"
expect 200 "" "/v1/films/$F1/reviews?limit=3" "{\"items\":[$REV5,$REV4,$REV2],\"next_cursor\":\"4000.${R}2\"}"
expect 200 "" "/v1/films/$F1/reviews?limit=3&cursor=4000.${R}2" "{\"items\":[$REV1],\"next_cursor\":null}"
expect 200 "" "/v1/films/$F2/reviews" '{"items":[],"next_cursor":null}'
# the raw bytes: quotes, backslash and controls escaped, UTF-8 as it is
req "" "/v1/films/$F1/reviews?limit=3" > /dev/null
grep -q 'better on rewatch — ünïcödé ✓' "$W/body" || it_fail "UTF-8 text not passed through byte for byte"
grep -q 'bell\\u0001' "$W/body" || it_fail "control character not escaped as \\u0001"

expect 200 "$T1" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"disliked\"}"
expect 200 "$T1" /v1/me/likes/$F2 "{\"film_id\":\"$F2\",\"state\":\"none\"}"
expect 200 "$T1" /v1/me/likes/$F3 "{\"film_id\":\"$F3\",\"state\":\"liked\"}"
expect 200 "$T2" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"liked\"}"
expect 200 "$T3" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"none\"}"

expect 200 "$T1" /v1/me/bookmarks \
	"{\"items\":[{\"film_id\":\"$F4\",\"ts\":400},{\"film_id\":\"$F3\",\"ts\":300},{\"film_id\":\"$F1\",\"ts\":100}],\"next_cursor\":null}"
expect 200 "$T2" /v1/me/bookmarks "{\"items\":[{\"film_id\":\"$F1\",\"ts\":50}],\"next_cursor\":null}"
expect 200 "$T3" /v1/me/bookmarks '{"items":[],"next_cursor":null}'
expect 200 "$T1" /v1/me/bookmarks/$F1 "{\"film_id\":\"$F1\",\"bookmarked\":true}"
expect 200 "$T1" /v1/me/bookmarks/$F2 "{\"film_id\":\"$F2\",\"bookmarked\":false}"
expect 200 "$T1" /v1/me/bookmarks/$F5 "{\"film_id\":\"$F5\",\"bookmarked\":false}"

P4="{\"film_id\":\"$F4\",\"position_ms\":600000,\"duration_ms\":5400000,\"finished\":false,\"ts\":4500}"
P3="{\"film_id\":\"$F3\",\"position_ms\":1000,\"duration_ms\":0,\"finished\":true,\"ts\":3000}"
P2="{\"film_id\":\"$F2\",\"position_ms\":7000000,\"duration_ms\":7200000,\"finished\":true,\"ts\":2000}"
P1="{\"film_id\":\"$F1\",\"position_ms\":60000,\"duration_ms\":7200000,\"finished\":false,\"ts\":1000}"
expect 200 "$T1" /v1/me/history "{\"items\":[$P4,$P3,$P2,$P1],\"next_cursor\":null}"
expect 200 "$T1" /v1/me/continue "{\"items\":[$P4,$P1],\"next_cursor\":null}"
expect 200 "$T1" "/v1/me/continue?limit=1" "{\"items\":[$P4],\"next_cursor\":\"4500.$F4\"}"
expect 200 "$T1" "/v1/me/continue?limit=1&cursor=4500.$F4" "{\"items\":[$P1],\"next_cursor\":null}"
expect 200 "$T2" /v1/me/history '{"items":[],"next_cursor":null}'
expect 200 "$T1" /v1/me/progress/$F4 "$P4"
expect 200 "$T1" /v1/me/progress/$F5 \
	"{\"film_id\":\"$F5\",\"position_ms\":0,\"duration_ms\":0,\"finished\":false,\"ts\":null}"
expect 200 "$T2" /v1/me/progress/$F4 \
	"{\"film_id\":\"$F4\",\"position_ms\":0,\"duration_ms\":0,\"finished\":false,\"ts\":null}"
# HEAD: headers only
st=$(curl -s -m 5 -I -o "$W/hdr" -w '%{http_code}' -H "Authorization: Bearer $T1" "$API/v1/me/history")
[ "$st" = 200 ] || it_fail "HEAD /v1/me/history: $st"
it_log "every endpoint answered exactly"

# ---- pagination across pages ----------------------------------------------------
# walk PATH LIMIT TOKEN: follow next_cursor to the end; prints the key of each item
walk() {
	_path=$1; _lim=$2; _tk=$3; _cur=""; _pages=0
	while :; do
		_q="?limit=$_lim"
		[ -z "$_cur" ] || _q="$_q&cursor=$_cur"
		_st=$(req "$_tk" "$_path$_q") || it_fail "curl failed on $_path$_q"
		[ "$_st" = 200 ] || it_fail "$_path$_q: status $_st"
		_pages=$((_pages + 1))
		[ $_pages -le 50 ] || it_fail "$_path: more than 50 pages (a cursor loop?)"
		_cur=$(python3 - "$W/body" "$_lim" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
assert len(b["items"]) <= int(sys.argv[2]), "page larger than limit"
with open(sys.argv[1] + ".keys", "a") as f:
    for it in b["items"]:
        f.write((it.get("review_id") or it["film_id"]) + "\n")
print(b["next_cursor"] or "")
PY
) || it_fail "$_path: bad page"
		[ -n "$_cur" ] || break
	done
	cat "$W/body.keys"
	rm -f "$W/body.keys"
}
rm -f "$W/body.keys"
got=$(walk /v1/films/$F1/reviews 1 "" | tr '\n' ' ')
[ "$got" = "${R}5 ${R}4 ${R}2 ${R}1 " ] || it_fail "reviews pages: $got"
got=$(walk /v1/me/bookmarks 2 "$T1" | tr '\n' ' ')
[ "$got" = "$F4 $F3 $F1 " ] || it_fail "bookmarks pages: $got"
got=$(walk /v1/me/history 3 "$T1" | tr '\n' ' ')
[ "$got" = "$F4 $F3 $F2 $F1 " ] || it_fail "history pages: $got"
got=$(walk /v1/me/continue 1 "$T1" | tr '\n' ' ')
[ "$got" = "$F4 $F1 " ] || it_fail "continue pages: $got"
it_log "pagination: reviews, bookmarks, history, continue walked to the end"

# ---- errors --------------------------------------------------------------------
error 401 "" /v1/me/history missing_token
grep -qi '^WWW-Authenticate: Bearer' "$W/hdr" || it_fail "401 without WWW-Authenticate"
error 401 "$TEXP" /v1/me/likes/$F1 expired_token
error 401 "$TBAD" /v1/me/likes/$F1 bad_token
error 401 "$TEXP" /v1/films/$F1/rating expired_token       # public, but a bad token is refused
error 401 "$TBAD" /v1/films/$F1/reviews bad_token
error 401 "" /v1/me/bookmarks bad_token -H "Authorization: Basic dXNlcjpwYXNz"
error 401 "not.a.token" /v1/me/bookmarks bad_token
error 400 "" /v1/films/not-a-uuid/rating "film id"
error 400 "$T1" /v1/me/likes/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa "film id"
error 400 "$T1" "/v1/me/history?limit=0" limit
error 400 "$T1" "/v1/me/history?limit=101" limit
error 400 "$T1" "/v1/me/history?limit=abc" limit
error 400 "$T1" "/v1/me/history?cursor=bogus" cursor
error 400 "$T1" "/v1/me/history?cursor=99999999999999999999.$F1" cursor
error 400 "$T1" "/v1/me/history?cursor=1.$F1%27%20OR%201=1" cursor
error 400 "" "/v1/films/$F1/rating?limit=5" "no query parameters"
error 400 "$T1" "/v1/me/history?offset=5" "unknown query parameter"
error 404 "" /v1/films/$F1 "no such resource"
error 404 "" /v1/nope "no such resource"
error 404 "$T1" /v1/me/history/ "no such resource"
error 405 "" /v1/films/$F1/rating "method" -X POST
grep -qi '^Allow: GET, HEAD' "$W/hdr" || it_fail "405 without Allow"
error 405 "$T1" /v1/me/bookmarks/$F1 "method" -X DELETE
it_log "401, 400, 404, 405 as documented"

# ---- a user's own write is visible at once ----------------------------------------
psql "$PG_CONNINFO" -qAtX -c "SELECT apply_likes(ARRAY['$U3']::uuid[], ARRAY['$F1']::uuid[],
	ARRAY[1]::smallint[], ARRAY[9000]::bigint[], ARRAY[9]::bigint[], ARRAY[gen_random_uuid()])" > /dev/null
expect 200 "$T3" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"liked\"}"
# the film's rating may lag by up to cache.ttl_ms (1 s here), not more
it_wait 3 "F1's rating to count U3's like (cache ttl 1 s)" \
	sh -c "curl -s $API/v1/films/$F1/rating | grep -q '\"likes\":2,'"
it_log "own write visible on the next read; rating caught up within the cache TTL"

# ---- PostgreSQL frozen: deadlines, not hangs ---------------------------------------
# (SIGSTOP to this test's own cluster: the postmaster and its children)
pm=$(head -n 1 "$W/pg/data/postmaster.pid")
FROZEN="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
kill -STOP $FROZEN
t0=$(date +%s)
i=0
for f in $F1 $F2 $F3 $F4 $F1 $F2; do
	i=$((i + 1))
	out=$(curl -s -m 5 -o "$W/body" -D "$W/hdr" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $T1" \
		"$API/v1/me/progress/$f" 2>/dev/null || echo "000 5")
	set -- $out
	[ "$1" = 503 ] || it_fail "frozen PostgreSQL: status $1, expected 503"
	# deadline: acquire 50 ms + query 200 ms; allow scheduling slack
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0.6 else 1)" "$2" ||
		it_fail "frozen PostgreSQL: 503 took ${2}s (deadline 0.25 s)"
	grep -qi '^Retry-After: 1' "$W/hdr" || it_fail "503 without Retry-After"
	echo "frozen $i: $1 in ${2}s $(cat "$W/body")" >> "$W/frozen.log"
done
it_wait 5 "/readyz to answer 503 while PostgreSQL is frozen" \
	sh -c "[ \"\$(curl -s -m 3 -o /dev/null -w '%{http_code}' $OPS/readyz)\" = 503 ]"
kill -CONT $FROZEN
FROZEN=""
it_log "frozen PostgreSQL: 6 x 503 within the deadline ($(awk '{print $5}' "$W/frozen.log" | tr '\n' ' '))"
it_wait 10 "/readyz to answer 200 after PostgreSQL thawed" curl -sf "$OPS/readyz"
expect 200 "$T1" /v1/me/progress/$F4 "$P4"

# ---- PostgreSQL stopped --------------------------------------------------------------
etl/pg/pg-local.sh stop "$W/pg"
for i in 1 2 3 4 5 6; do
	out=$(curl -s -m 5 -o "$W/body" -D "$W/hdr" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $T1" \
		"$API/v1/me/history" 2>/dev/null || echo "000 5")
	set -- $out
	[ "$1" = 503 ] || it_fail "stopped PostgreSQL: status $1, expected 503"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0.6 else 1)" "$2" ||
		it_fail "stopped PostgreSQL: 503 took ${2}s (deadline 0.25 s)"
	echo "stopped $i: $1 in ${2}s $(cat "$W/body")" >> "$W/stopped.log"
done
grep -q store_unavailable "$W/stopped.log" || it_fail "no store_unavailable 503 while PostgreSQL is down"
it_wait 5 "/readyz to answer 503 while PostgreSQL is down" \
	sh -c "[ \"\$(curl -s -m 3 -o /dev/null -w '%{http_code}' $OPS/readyz)\" = 503 ]"
it_log "stopped PostgreSQL: 503 within the deadline ($(awk '{print $5}' "$W/stopped.log" | tr '\n' ' ')), /readyz 503"

# ---- and back ---------------------------------------------------------------------
etl/pg/pg-local.sh start "$W/pg" "$PG_PORT" > /dev/null 2>> "$W/pg-start.log" || it_fail "PostgreSQL did not restart"
it_wait 10 "/readyz to answer 200 after PostgreSQL restarted" curl -sf "$OPS/readyz"
expect 200 "$T1" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"disliked\"}"
expect 200 "" "/v1/films/$F1/reviews?limit=3&cursor=4000.${R}2" "{\"items\":[$REV1],\"next_cursor\":null}"
it_log "PostgreSQL restarted: answering again"

# ---- key rotation: SIGHUP reloads auth.jwt_keys -----------------------------------------
eval "apid=\$IT_PID_api"
KEY2=it-api-key-2
TNEW=$(tok "$KEY2" $U1)
gen() { curl -sf "$OPS/metrics" | awk '$1 == "beacon_api_jwt_key_generation" { print $2 }'; }
[ "$(gen)" = 1 ] || it_fail "key generation at start: $(gen), want 1"
error 401 "$TNEW" /v1/me/likes/$F1 bad_token                  # not a key yet
sed -i "s/^jwt_keys = .*/jwt_keys = $KEY,$KEY2/" "$W/api.ini"  # both: rotation begins
kill -HUP "$apid"
it_wait 5 "key generation 2 after SIGHUP (both keys)" sh -c "[ \"\$(curl -sf $OPS/metrics | awk '\$1 == \"beacon_api_jwt_key_generation\" { print \$2 }')\" = 2 ]"
expect 200 "$TNEW" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"disliked\"}"
expect 200 "$T1" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"disliked\"}"
sed -i "s/^jwt_keys = .*/jwt_keys = $KEY2/" "$W/api.ini"       # the old key retired
kill -HUP "$apid"
it_wait 5 "key generation 3 after SIGHUP (new key only)" sh -c "[ \"\$(curl -sf $OPS/metrics | awk '\$1 == \"beacon_api_jwt_key_generation\" { print \$2 }')\" = 3 ]"
# a worker follows within its 100 ms poll; the cache drops what the old key verified
it_wait 5 "a token of the retired key to be refused" sh -c "[ \"\$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $T1' $API/v1/me/likes/$F1)\" = 401 ]"
expect 200 "$TNEW" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"disliked\"}"
sed -i "s/^jwt_keys = .*/jwt_keys = hex:zz/" "$W/api.ini"      # a bad list: refused, keys stay
kill -HUP "$apid"
it_wait 5 "the bad reload to be counted" sh -c "curl -sf $OPS/metrics | grep -q '^beacon_api_config_reloads_total{result=\"error\"} 1\$'"
[ "$(gen)" = 3 ] || it_fail "a bad key list changed the generation to $(gen)"
expect 200 "$TNEW" /v1/me/likes/$F1 "{\"film_id\":\"$F1\",\"state\":\"disliked\"}"
curl -sf "$OPS/metrics" | grep -q '^beacon_api_config_reloads_total{result="ok"} 2$' || it_fail "reloads ok != 2"
sed -i "s/^jwt_keys = .*/jwt_keys = $KEY/" "$W/api.ini"
it_log "SIGHUP: a new key accepted, the retired one refused, a bad list kept the running keys"

# ---- metrics and shutdown ------------------------------------------------------------
curl -sf "$OPS/metrics" > "$W/metrics" || it_fail "/metrics"
for m in 'beacon_api_requests_total{endpoint="me_history",status="503"}' \
	'beacon_api_errors_total{kind="store_timeout"}' 'beacon_api_errors_total{kind="store_unavailable"}' \
	'beacon_api_errors_total{kind="expired_token"}' 'beacon_api_cache_requests_total{result="hit"}' \
	'beacon_api_pg_pool_size 2' 'beacon_api_pg_up 1' 'beacon_api_resident_memory_bytes'; do
	grep -qF "$m" "$W/metrics" || it_fail "/metrics lacks $m"
done
grep -q '^beacon_api_errors_total{kind="store_timeout"} [1-9]' "$W/metrics" || it_fail "no store_timeout counted"
if command -v promtool > /dev/null 2>&1; then
	promtool check metrics < "$W/metrics" > "$W/promtool.out" 2>&1 || it_fail "promtool: $(head -5 "$W/promtool.out")"
fi
eval "pid=\$IT_PID_api"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
	[ $i -lt 100 ] || it_fail "beacon-api did not exit within 10 s of SIGTERM"
	sleep 0.1
	i=$((i + 1))
done
wait "$pid" && rc=0 || rc=$?
[ "$rc" = 0 ] || it_fail "beacon-api exited $rc after SIGTERM"
grep -q "stopped after" build/it/api.log || it_fail "no clean stop line in build/it/api.log"
it_log "PASS"
