#!/bin/sh
# SIGHUP reloads the JWT keys: a token signed with the old key stops working,
# one signed with the new key starts working, and a broken config file is
# refused (logged, counted) while the running keys stay.  Also: --help,
# --print-config and --check-config behave, and a bad config exits 2.
set -eu
IT_NAME=test_beacond_reload
. tests/integration/lib.sh
W=build/it/beacond-reload
rm -rf "$W"
mkdir -p "$W"
. tests/integration/beacond/common.sh

build/beacond --help | grep -q -- "--config" || it_fail "--help"
build/beacond --print-config > "$W/defaults.ini" || it_fail "--print-config"
grep -q '^port = 7070' "$W/defaults.ini" && grep -q '^port = 9470' "$W/defaults.ini" ||
	it_fail "--print-config lacks the default ports"
build/beacond --config "$W/defaults.ini" --check-config > /dev/null || it_fail "defaults do not load back"
build/beacond --config-markdown > "$W/config.md"
tail -n +7 docs/beacond-config.md | diff -u - "$W/config.md" ||
	it_fail "docs/beacond-config.md differs from the config table: run make docs-config"
printf '[udp]\nport = 70000\n' > "$W/bad.ini"
rc=0
build/beacond --config "$W/bad.ini" --check-config 2> "$W/bad.err" || rc=$?
[ "$rc" = 2 ] && grep -q "udp.port" "$W/bad.err" || it_fail "bad config: exit $rc, $(cat "$W/bad.err")"

bd_start_kafka 2
bd_config "$W/beacond.ini"
bd_start

like() { # TOKEN -> HTTP status
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
		--data-binary "{\"type\":\"like\",\"ts\":$(date +%s)000,\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"score\":1}" \
		"http://127.0.0.1:$BD_HTTP/v1/beacons"
}
EXP=$(( $(date +%s) + 3600 ))
OLD=$(build/beacon-lint --jwt-key "$BD_KEY" --sign-token "$BD_SUB" --exp "$EXP")
NEW=$(build/beacon-lint --jwt-key new-key --sign-token "$BD_SUB" --exp "$EXP")
[ "$(like "$OLD")" = 204 ] || it_fail "old key before reload"
[ "$(like "$NEW")" = 401 ] || it_fail "new key before reload"

sed -i "s/^jwt_keys = .*/jwt_keys = new-key/" "$W/beacond.ini"
kill -HUP "$IT_PID_beacond"
it_wait 10 "beacond to log the reload" grep -q "JWT keys reloaded" build/it/beacond.log
it_wait 5 "the new key to be accepted" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' \
	-H 'Authorization: Bearer $NEW' --data-binary '{\"type\":\"like\",\"ts\":'\$(date +%s)'000,\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"score\":1}' \
	http://127.0.0.1:$BD_HTTP/v1/beacons)\" = 204 ]"
[ "$(like "$OLD")" = 401 ] || it_fail "old key still accepted after reload"

# a broken file: refused, counted, the running keys stay
printf '[auth]\ncache_order = 99\n' >> "$W/beacond.ini"
kill -HUP "$IT_PID_beacond"
it_wait 10 "beacond to refuse the broken config" grep -q "keeping the running keys" build/it/beacond.log
[ "$(bd_metric 'beacond_config_reloads_total{result="error"}')" = 1 ] || it_fail "reload error not counted"
[ "$(bd_metric 'beacond_config_reloads_total{result="ok"}')" = 1 ] || it_fail "reload not counted"
[ "$(like "$NEW")" = 204 ] || it_fail "new key lost after a failed reload"
it_log "all checks passed"
