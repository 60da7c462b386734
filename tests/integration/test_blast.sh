#!/bin/sh
# beacon-blast without a server: option handling and exit codes; the network
# rule (a non-loopback target is refused before any socket exists); UDP JSON
# and binary into a python3 sink (every datagram arrives, the JSON datagrams
# are byte for byte the --dump lines, the binary ones get the verdicts
# --dump-expect announces); --dump verdicts from beacon-lint match
# --dump-meta/--dump-expect exactly, with 0 and 30 % invalid beacons, and
# --dump-meta's keys are the token's sub or the anon_id; HTTP against python3
# http.server sinks (204: acked counts; 503 once: retried, nothing unacked;
# a sink that answers like beacond from beacon-lint's verdicts: 204/400/401
# counted per line); pacing, the duration cap, connection refused.
set -eu
cd "$(dirname "$0")/../.."
IT_NAME=test_blast
. tests/integration/lib.sh
BLAST=build/beacon-blast
LINT=build/beacon-lint
W=build/it/blast
KEY=dev-key
rm -rf "$W"
mkdir -p "$W"
[ -x "$BLAST" ] && [ -x "$LINT" ] || it_fail "build first: make build/beacon-blast build/beacon-lint"

val() { sed -n "s/^$1 //p" "$2"; }
expect_eq() { # NAME FILE WANT
	_v=$(val "$1" "$2")
	[ "$_v" = "$3" ] || it_fail "$2: $1 is '$_v', expected $3"
}

# ---- 1. options, exit codes, the network rule ---------------------------------------
$BLAST --help > "$W/help.txt" || it_fail "--help did not exit 0"
for o in --mode --target --count --duration --rate --batch --conns --pipeline --users --anon \
	--films --registered-share --invalid-share --types --seed --jwt-key --dump --dump-meta; do
	grep -q -- "$o" "$W/help.txt" || it_fail "--help does not mention $o"
done
usage_err() {
	_rc=0
	$BLAST "$@" > "$W/usage.out" 2> "$W/usage.err" || _rc=$?
	[ "$_rc" -eq 2 ] || it_fail "'$*': expected exit 2, got $_rc"
	[ ! -s "$W/usage.out" ] || it_fail "'$*': printed a summary on a usage error"
}
usage_err --no-such-option
usage_err --mode tcp
usage_err --count -1
usage_err --count 12x
usage_err --duration 0
usage_err --rate fast
usage_err --batch 0
usage_err --batch 1001
usage_err --registered-share 1.5
usage_err --invalid-share -0.1
usage_err --types view=60,click=5
usage_err --types view
usage_err --target 127.0.0.1
usage_err --target 127.0.0.1:70000
usage_err --target localhost.example:7070
usage_err --users 0
usage_err extra-argument

# non-loopback targets: refused, exit 2, nothing opened or sent.  These
# addresses (documentation and private ranges) are never contacted: the
# refusal comes before any socket exists, which strace checks below.
for t in 192.0.2.1:7070 10.0.0.1:8080 '[2001:db8::1]:7070' 0.0.0.0:7070; do
	rm -f "$W/refused.ndjson"
	rc=0
	$BLAST --target "$t" --count 10 --dump "$W/refused.ndjson" > "$W/refused.out" 2> "$W/refused.err" || rc=$?
	[ "$rc" -eq 2 ] || it_fail "target $t: expected exit 2, got $rc"
	grep -q "refusing" "$W/refused.err" || it_fail "target $t: no clear error: $(cat "$W/refused.err")"
	[ ! -e "$W/refused.ndjson" ] || it_fail "target $t: --dump was opened before the refusal"
	[ ! -s "$W/refused.out" ] || it_fail "target $t: printed a summary"
done
# ...and no socket is even created (when strace is there to tell)
if command -v strace >/dev/null 2>&1; then
	rc=0
	strace -f -e trace=socket,connect,sendto,sendmmsg,sendmsg -o "$W/strace.txt" \
		$BLAST --mode http --target 192.0.2.1:8080 --count 10 > /dev/null 2>&1 || rc=$?
	if [ -s "$W/strace.txt" ] || [ "$rc" -eq 2 ]; then
		[ "$rc" -eq 2 ] || it_fail "under strace: expected exit 2, got $rc"
		! grep -Eq '(^|[] ])(socket|connect|sendto|sendmsg|sendmmsg)\(' "$W/strace.txt" ||
			it_fail "a refused target still touched the network: $(cat "$W/strace.txt")"
	fi
fi
# inside a network namespace of our own, any target is allowed - if the tool
# can prove it (it compares /proc/self/ns/net with /proc/1/ns/net; where
# /proc/1/ns is hidden, it can't, and it must still refuse)
if unshare -n true 2>/dev/null; then
	rc=0
	unshare -n sh -c 'ip link set lo up 2>/dev/null; ip addr add 192.0.2.1/32 dev lo 2>/dev/null
		exec "$0" --target 192.0.2.1:7070 --count 50 --quiet' "$BLAST" > "$W/netns.out" 2> "$W/netns.err" || rc=$?
	if unshare -n sh -c 'a=$(stat -L -c %d:%i /proc/self/ns/net) && b=$(stat -L -c %d:%i /proc/1/ns/net) &&
			[ "$a" != "$b" ]' 2>/dev/null; then
		[ "$rc" -ne 2 ] || it_fail "in a private netns the target was refused: $(cat "$W/netns.err")"
		expect_eq sent "$W/netns.out" 50
		it_log "private netns: non-loopback target allowed (exit $rc)"
	else
		[ "$rc" -eq 2 ] || it_fail "netns not provable (/proc/1/ns hidden) but exit $rc, not 2"
		it_log "private netns: /proc/1/ns/net unreadable here, so refused as it must be"
	fi
fi

# --count 0 sends nothing and succeeds
$BLAST --count 0 --target 127.0.0.1:9 > "$W/zero.out" || it_fail "--count 0 failed"
expect_eq sent "$W/zero.out" 0

# ---- 2. UDP into a python3 sink --------------------------------------------------------
cat > "$W/udp_sink.py" <<'PY'
# Receive datagrams on 127.0.0.1 (port written to argv[1]) until 1.5 s pass
# without one after the first, or argv[2] seconds overall; write them as hex
# lines to argv[3], then "done N" to argv[1].done.
import socket, sys, time
portfile, secs, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root)
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
s.bind(("127.0.0.1", 0))
open(portfile + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.settimeout(0.25)
end, last, n = time.time() + secs, None, 0
with open(out, "w") as f:
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            if last and time.time() - last > 1.5:
                break
            continue
        last = time.time(); n += 1
        f.write(d.hex() + "\n")
open(portfile + ".done", "w").write("done %d\n" % n)
PY

# check_dump DIR: beacon-lint's verdicts on the dump are exactly --dump-expect,
# its rejects are exactly the lines --dump-meta marks invalid, and every
# valid line's key is its token's sub (registered) or its anon_id.
check_dump() {
	_d=$1
	_rc=0
	$LINT --jwt-key "$KEY" "$_d/dump.ndjson" > "$_d/lint.txt" || _rc=$?
	[ "$_rc" -le 1 ] || it_fail "$_d: beacon-lint failed (exit $_rc)"
	grep -v '^summary' "$_d/lint.txt" | diff -u "$_d/expect.txt" - > "$_d/lint.diff" ||
		it_fail "$_d: beacon-lint disagrees with --dump-expect: $(head -5 "$_d/lint.diff")"
	python3 - "$_d" <<'PY' || it_fail "$_d: --dump-meta does not match the dump"
import base64, json, sys
d = sys.argv[1]
lint = [l.split() for l in open(d + "/lint.txt") if not l.startswith("summary")]
meta = [l.split() for l in open(d + "/meta.txt")]
dump = open(d + "/dump.ndjson", encoding="utf-8").read().split("\n")[:-1]
assert len(lint) == len(meta) == len(dump), (len(lint), len(meta), len(dump))
for i, (v, m, line) in enumerate(zip(lint, meta, dump)):
    assert m[0] == str(i + 1), m
    assert (v[0] == "ok") == (m[1] == "valid"), (i, v, m)
    if v[0] != "ok":
        continue
    b = json.loads(line)
    assert m[2] == b["type"] == v[1], (i, m, v)
    if "token" in b:
        p = b["token"].split(".")[1]
        sub = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sub"]
        assert m[3] == sub, (i, m, sub)
    else:
        assert m[3] == b["anon_id"], (i, m, b)
PY
}

# udp_run NAME MODE INVALID_SHARE: 2000 beacons into a fresh sink.
udp_run() {
	_n=$1
	_d=$W/$_n
	mkdir -p "$_d"
	rm -f "$_d/port" "$_d/port.done"
	it_start "blast_$_n" python3 "$W/udp_sink.py" "$_d/port" 60 "$_d/recv.hex"
	it_wait 10 "the $_n UDP sink" test -s "$_d/port"
	_port=$(cat "$_d/port")
	$BLAST --mode "$2" --target "127.0.0.1:$_port" --count 2000 --seed 7 --invalid-share "$3" \
		--dump "$_d/dump.ndjson" --dump-meta "$_d/meta.txt" --dump-expect "$_d/expect.txt" \
		--quiet > "$_d/summary.txt" 2> "$_d/stderr.txt" || it_fail "$_n: beacon-blast failed: $(cat "$_d/stderr.txt")"
	it_wait 20 "the $_n sink to finish" test -s "$_d/port.done"
	expect_eq sent "$_d/summary.txt" 2000
	expect_eq errors "$_d/summary.txt" 0
	grep -qx "done 2000" "$_d/port.done" || it_fail "$_n: sink got $(cat "$_d/port.done"), expected 2000 datagrams"
	check_dump "$_d"
}

udp_run udp_json udp-json 0
grep -qx "summary: 2000 accepted, 0 rejected" "$W/udp_json/lint.txt" ||
	it_fail "udp-json: not every beacon is valid: $(tail -1 "$W/udp_json/lint.txt")"
python3 - "$W/udp_json" <<'PY' || it_fail "udp-json: datagrams differ from the --dump lines"
import sys
d = sys.argv[1]
got = [bytes.fromhex(l.strip()) for l in open(d + "/recv.hex")]
want = open(d + "/dump.ndjson", "rb").read().split(b"\n")[:-1]
assert sorted(got) == sorted(want), "contents differ"
types = {}
import json
for l in want:
    t = json.loads(l)["type"]; types[t] = types.get(t, 0) + 1
assert set(types) == {"view", "player", "page", "action", "like", "review", "bookmark"}, types
assert types["view"] > types["player"] > types["like"], types
PY

udp_run udp_json_inv udp-json 0.3
udp_run udp_bin udp-bin 0
grep -qx "summary: 2000 accepted, 0 rejected" "$W/udp_bin/lint.txt" ||
	it_fail "udp-bin: not every beacon is valid: $(tail -1 "$W/udp_bin/lint.txt")"
udp_run udp_bin_inv udp-bin 0.3

for n in udp_json_inv udp_bin_inv; do
	inv=$(grep -c ' invalid ' "$W/$n/meta.txt" || true)
	[ "$inv" -ge 450 ] && [ "$inv" -le 750 ] || it_fail "$n: $inv of 2000 invalid, expected about 600"
	expect_eq sent_invalid "$W/$n/summary.txt" "$inv"
	nrej=$(grep -c '^reject' "$W/$n/lint.txt" || true)
	[ "$nrej" -eq "$inv" ] || it_fail "$n: beacon-lint rejects $nrej, --dump-meta marks $inv invalid"
	kinds=$(grep '^reject' "$W/$n/lint.txt" | sort -u | wc -l)
	[ "$kinds" -ge 8 ] || it_fail "$n: only $kinds kinds of invalid beacons"
done

# the binary datagrams themselves get the announced verdicts (every 10th)
python3 - "$W/udp_bin_inv" "$LINT" "$KEY" <<'PY' || it_fail "udp-bin: binary datagrams' verdicts differ"
import subprocess, sys
d, lint, key = sys.argv[1:]
got = [bytes.fromhex(l.strip()) for l in open(d + "/recv.hex")]
exp = [l.strip() for l in open(d + "/expect.txt")]
assert len(got) == len(exp)
for i in range(0, len(got), 10):
    assert got[i][:2] == b"BC", i
    open(d + "/one.bin", "wb").write(got[i])
    out = subprocess.run([lint, "--binary", "--jwt-key", key, d + "/one.bin"],
                         capture_output=True, text=True).stdout.splitlines()[0]
    assert out == exp[i], (i, out, exp[i])
PY

# same seed, same beacons (apart from ts and tokens' signatures over exp)
sed 's/"ts":[0-9]*//' "$W/udp_json/dump.ndjson" | head -100 | grep -v token > "$W/seed_a.txt"
rm -f "$W/seed/port" "$W/seed/port.done"
mkdir -p "$W/seed"
it_start blast_seed python3 "$W/udp_sink.py" "$W/seed/port" 60 "$W/seed/recv.hex"
it_wait 10 "the seed sink" test -s "$W/seed/port"
$BLAST --target 127.0.0.1:"$(cat "$W/seed/port")" --count 100 --seed 7 --dump "$W/seed/dump.ndjson" \
	--quiet > /dev/null || it_fail "seed run failed"
sed 's/"ts":[0-9]*//' "$W/seed/dump.ndjson" | grep -v token > "$W/seed_b.txt"
cmp -s "$W/seed_a.txt" "$W/seed_b.txt" || it_fail "--seed 7 twice gave different beacons"

# pacing and the duration cap (loose bounds: a shared 2-core machine)
$BLAST --target 127.0.0.1:"$(cat "$W/seed/port")" --count 1000 --rate 2000 --quiet > "$W/rate.out" ||
	it_fail "--rate run failed"
python3 - "$W/rate.out" <<'PY' || it_fail "--rate 2000 for 1000 beacons: $(grep elapsed "$W/rate.out")"
import sys
v = dict(l.split() for l in open(sys.argv[1]))
assert v["sent"] == "1000" and 0.4 <= float(v["elapsed_s"]) <= 5, v
PY
$BLAST --target 127.0.0.1:"$(cat "$W/seed/port")" --count 1000000 --rate 500 --duration 1 --quiet > "$W/dur.out" ||
	it_fail "--duration run failed"
expect_eq stopped_by "$W/dur.out" duration
s=$(val sent "$W/dur.out")
[ "$s" -ge 300 ] && [ "$s" -le 700 ] || it_fail "--rate 500 --duration 1 sent $s"

# nothing listening: a runtime error, exit 1
for m in udp-json http; do
	rc=0
	$BLAST --mode "$m" --target 127.0.0.1:1 --count 500 --quiet > "$W/refused_$m.out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || it_fail "$m to a closed port: expected exit 1, got $rc"
done

# ---- 3. HTTP against python3 http.server sinks ----------------------------------------
cat > "$W/http_sink.py" <<'PY'
# POST /v1/beacons sink, HTTP/1.1 keep-alive, on 127.0.0.1 (port written to
# argv[1]); stops after argv[3] seconds.  argv[2]: "204" answers 204;
# "503once" answers the first request 503 + Retry-After: 1, then 204;
# "lint" answers like beacond from beacon-lint's verdicts (204, 400 listing
# the rejected lines, 401 for a lone auth reject).  Every received line (with
# the Authorization token put inside as "token") goes to argv[4].
import json, os, subprocess, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
portfile, mode, secs, out, lint, key = sys.argv[1:7]
lock = threading.Lock()
state = {"first": True}
lines_out = open(out, "w", encoding="utf-8")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def reply(self, code, body=b"", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        if code != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with lock:
            if mode == "503once" and state["first"]:
                state["first"] = False
                return self.reply(503, b"", [("Retry-After", "1")])
        auth = self.headers.get("Authorization", "")
        lines = [l for l in body.split("\n") if l]
        if auth:
            lines = [l[:-1] + ',"token":"' + auth[len("Bearer "):] + '"}' if l.endswith("}")
                     else l for l in lines]
        with lock:
            for l in lines:
                lines_out.write(l + "\n")
            lines_out.flush()
        if mode != "lint":
            return self.reply(204)
        v = subprocess.run([lint, "--jwt-key", key], input="\n".join(lines) + "\n",
                           capture_output=True, text=True).stdout.splitlines()[:-1]
        rej = [{"line": i + 1, "reason": x.split()[1]} for i, x in enumerate(v)
               if x.startswith("reject")]
        if not rej:
            return self.reply(204)
        code = 401 if len(lines) == 1 and rej[0]["reason"] in (
            "auth_required", "bad_token", "expired_token") else 400
        self.reply(code, json.dumps({"rejected": rej}).encode(),
                   [("Content-Type", "application/json")])
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
threading.Timer(float(secs), srv.shutdown).start()
srv.serve_forever()
PY

# http_run NAME SINKMODE BLAST-OPTIONS...: a fresh sink, then beacon-blast
http_run() {
	_n=$1
	_m=$2
	shift 2
	_d=$W/$_n
	mkdir -p "$_d"
	rm -f "$_d/port"
	it_start "blast_$_n" python3 "$W/http_sink.py" "$_d/port" "$_m" 60 "$_d/recv.ndjson" "$LINT" "$KEY"
	it_wait 10 "the $_n HTTP sink" test -s "$_d/port"
	$BLAST --mode http --target "127.0.0.1:$(cat "$_d/port")" --seed 11 --duration 40 \
		--dump "$_d/dump.ndjson" --dump-meta "$_d/meta.txt" --dump-expect "$_d/expect.txt" \
		"$@" > "$_d/summary.txt" 2> "$_d/stderr.txt" ||
		it_fail "$_n: beacon-blast failed: $(cat "$_d/stderr.txt")"
}

# 204 sink, batches of 10 over 4 connections with 2 requests in flight each
http_run http_204 204 --count 2000 --batch 10 --conns 4 --pipeline 2
for k in "sent 2000" "acked 2000" "unacked 0" "requests 200" "http_status_204 200" "errors 0"; do
	grep -qx "$k" "$W/http_204/summary.txt" || it_fail "http_204: expected '$k': $(cat "$W/http_204/summary.txt")"
done
for k in latency_p50_ms latency_p99_ms latency_p999_ms; do
	grep -Eq "^$k [0-9]+\.[0-9]{3}$" "$W/http_204/summary.txt" || it_fail "http_204: no $k"
done
sort "$W/http_204/dump.ndjson" > "$W/http_204/a"
sort "$W/http_204/recv.ndjson" > "$W/http_204/b"
cmp -s "$W/http_204/a" "$W/http_204/b" ||
	it_fail "http_204: the lines the sink got (token from Authorization) differ from --dump"
check_dump "$W/http_204"
grep -qx "summary: 2000 accepted, 0 rejected" "$W/http_204/lint.txt" ||
	it_fail "http_204: $(tail -1 "$W/http_204/lint.txt")"

# 503 once, then 204: the request is retried after Retry-After, nothing lost
http_run http_503 503once --count 300 --batch 3
grep -qx "acked 300" "$W/http_503/summary.txt" || it_fail "http_503: $(cat "$W/http_503/summary.txt")"
expect_eq unacked "$W/http_503/summary.txt" 0
expect_eq http_status_503 "$W/http_503/summary.txt" 1
r=$(val retries_503 "$W/http_503/summary.txt")
[ "$r" -ge 1 ] || it_fail "http_503: retries_503 is $r"
[ "$(wc -l < "$W/http_503/recv.ndjson")" -eq 300 ] || it_fail "http_503: sink got $(wc -l < "$W/http_503/recv.ndjson") lines"

# a sink with beacond's verdicts: 30 % invalid, in batches and one per request
http_run http_lint lint --count 600 --batch 6 --pipeline 2 --invalid-share 0.3 --rate 3000
check_dump "$W/http_lint"
sv=$(val sent_valid "$W/http_lint/summary.txt")
si=$(val sent_invalid "$W/http_lint/summary.txt")
expect_eq acked "$W/http_lint/summary.txt" "$sv"
expect_eq rejected "$W/http_lint/summary.txt" "$si"
expect_eq http_400_unparsed "$W/http_lint/summary.txt" 0
[ "$si" -ge 120 ] && [ "$si" -le 240 ] || it_fail "http_lint: $si of 600 invalid"
[ "$(val http_status_400 "$W/http_lint/summary.txt")" -ge 1 ] || it_fail "http_lint: no 400"

http_run http_lint1 lint --count 200 --invalid-share 0.3
check_dump "$W/http_lint1"
expect_eq acked "$W/http_lint1/summary.txt" "$(val sent_valid "$W/http_lint1/summary.txt")"
expect_eq rejected "$W/http_lint1/summary.txt" "$(val sent_invalid "$W/http_lint1/summary.txt")"
[ "$(val http_status_401 "$W/http_lint1/summary.txt")" -ge 1 ] || it_fail "http_lint1: no 401"

it_log "all checks passed"
