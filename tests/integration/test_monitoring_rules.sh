#!/bin/sh
# monitoring/ without servers (a few seconds):
#   - promtool check config monitoring/prometheus.yml (and the rule files it names);
#   - promtool check rules monitoring/rules/*.yml;
#   - promtool test rules monitoring/tests/*.test.yml: every recording rule against
#     hand-computed values, every alert firing and not firing;
#   - tests/integration/monitoring/check_monitoring.py: every alert has a severity, a
#     summary, a description and a runbook_url whose section exists in docs/runbook.md,
#     and is tested both ways; every recording rule is tested; the Grafana dashboard is
#     importable JSON (schemaVersion >= 36, datasource variable) and is what
#     monitoring/grafana/dashboard.py prints; every dashboard and console expression
#     parses (promtool); every rule, dashboard and console expression names a metric
#     beacond or beacon-etl exports (read from their sources) or a rule records;
#   - the test copy of the configuration (mkconf.py --fast, used by the live test) passes
#     promtool too.
set -eu
IT_NAME=test_monitoring_rules
. tests/integration/lib.sh
W=build/it/monitoring-rules
rm -rf "$W"
mkdir -p "$W"
command -v promtool >/dev/null || it_fail "promtool is not installed (sh tests/deps.sh: prometheus)"

promtool check config monitoring/prometheus.yml > "$W/check-config.log" 2>&1 ||
	it_fail "promtool check config: $(cat "$W/check-config.log")"
# shellcheck disable=SC2046
promtool check rules $(ls monitoring/rules/*.yml) > "$W/check-rules.log" 2>&1 ||
	it_fail "promtool check rules: $(cat "$W/check-rules.log")"
it_log "$(grep -c SUCCESS "$W/check-rules.log") rule files valid"

# promtool resolves rule_files relative to the test file
# shellcheck disable=SC2046
promtool test rules $(ls monitoring/tests/*.test.yml) > "$W/test-rules.log" 2>&1 ||
	it_fail "promtool test rules: $(cat "$W/test-rules.log")"
ntests=$(grep -c '^  - name:' monitoring/tests/*.test.yml | awk -F: '{ s += $2 } END { print s }')
it_log "promtool test rules: $ntests test groups in $(ls monitoring/tests/*.test.yml | wc -l) files passed"

python3 monitoring/grafana/dashboard.py > "$W/dashboard.json" || it_fail "dashboard.py"
cmp -s "$W/dashboard.json" monitoring/grafana/beacond-overview.json ||
	it_fail "monitoring/grafana/beacond-overview.json is stale: run python3 monitoring/grafana/dashboard.py > monitoring/grafana/beacond-overview.json"

python3 tests/integration/monitoring/check_monitoring.py . "$W" || it_fail "check_monitoring.py"
promtool check rules "$W/exprs.rules.yml" > "$W/check-exprs.log" 2>&1 ||
	it_fail "a dashboard or console expression does not parse: $(cat "$W/check-exprs.log")"

python3 tests/integration/monitoring/mkconf.py monitoring "$W/fast" --port prometheus=9090 \
	--port beacond=9470 --port beacon-etl=9471 --interval 1s --fast || it_fail "mkconf.py --fast"
promtool check config "$W/fast/prometheus.yml" > "$W/check-fast.log" 2>&1 ||
	it_fail "the live test's configuration: $(cat "$W/check-fast.log")"
it_log "all checks passed"
