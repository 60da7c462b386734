#!/bin/sh
# beacon-lint end to end: a file of beacons of every type and every common
# mistake gives exactly the expected verdicts; exit codes 0/1/2; tokens it
# signs verify under an independent HMAC-SHA256 (python3's hmac).
set -eu
LINT=build/beacon-lint
D=tests/integration/lint
W=build/it/lint
mkdir -p "$W"
NOW=1763800000000
KEY=integration-key
SUB=7f9c1e2a-0000-4000-8000-000000000001
fail() { echo "test_lint: $*" >&2; exit 1; }

TOKEN=$($LINT --jwt-key "$KEY" --sign-token "$SUB" --exp 4102444799)
EXPIRED=$($LINT --jwt-key "$KEY" --sign-token "$SUB" --exp 1763799000)
BADSIG=$($LINT --jwt-key other-key --sign-token "$SUB" --exp 4102444799)

# independent check of the token format and signature
python3 - "$TOKEN" "$KEY" "$SUB" <<'PY' || fail "token does not verify independently"
import base64, hashlib, hmac, json, sys
tok, key, sub = sys.argv[1:]
h, p, s = tok.split(".")
pad = lambda x: x + "=" * (-len(x) % 4)
assert json.loads(base64.urlsafe_b64decode(pad(h)))["alg"] == "HS256"
claims = json.loads(base64.urlsafe_b64decode(pad(p)))
assert claims["sub"] == sub and claims["exp"] == 4102444799, claims
mac = hmac.new(key.encode(), (h + "." + p).encode(), hashlib.sha256).digest()
assert base64.urlsafe_b64decode(pad(s)) == mac, "signature mismatch"
PY

sed -e "s|@TOKEN@|$TOKEN|g" -e "s|@EXPIRED@|$EXPIRED|g" -e "s|@BADSIG@|$BADSIG|g" \
	"$D/cases.ndjson" > "$W/cases.ndjson"
rc=0
$LINT --now $NOW --jwt-key "rotated-out,$KEY" "$W/cases.ndjson" > "$W/out.txt" || rc=$?
[ "$rc" -eq 1 ] || fail "expected exit 1 with rejects, got $rc"
diff -u "$D/cases.expected" "$W/out.txt" || fail "verdicts differ from $D/cases.expected"

# all valid (first 8 lines) -> exit 0, from stdin
head -n 8 "$W/cases.ndjson" | $LINT --now $NOW --jwt-key "$KEY" --quiet > "$W/ok.txt" ||
	fail "valid beacons rejected: $(cat "$W/ok.txt")"
grep -qx "summary: 8 accepted, 0 rejected" "$W/ok.txt" || fail "bad summary: $(cat "$W/ok.txt")"

# without the key every token is refused
head -n 4 "$W/cases.ndjson" | tail -n 1 | $LINT --now $NOW > "$W/nokey.txt" && fail "token accepted without key"
grep -qx "reject bad_token" "$W/nokey.txt" || fail "expected bad_token without key"

# usage errors -> 2
rc=0; $LINT --no-such-option >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "unknown option: expected exit 2, got $rc"
rc=0; $LINT --now abc </dev/null >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "bad --now: expected exit 2, got $rc"
rc=0; $LINT "$W/does-not-exist" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "missing file: expected exit 2, got $rc"

# a 30 KB line is too_large, not a crash
python3 -c 'print("{\"type\":\"page\",\"url\":\"" + "a"*30000 + "\"}")' | $LINT --now $NOW > "$W/big.txt" || true
grep -qx "reject too_large" "$W/big.txt" || fail "30 KB line: $(head -c 200 "$W/big.txt")"
echo "test_lint: all checks passed"
