#!/bin/sh
# provisioning/ansible, statically (~20 s, no hosts):
#   - ansible-lint with the production profile (provisioning/ansible/.ansible-lint);
#   - ansible-playbook --syntax-check of site.yml against the example inventory;
#   - ansible-inventory --graph of the example inventory: the groups the roles
#     expect, ClickHouse as 2 shards x 2 replicas, a ZooKeeper ensemble;
#   - the deployment's Jinja filters (filter_plugins/beacon.py) on edge cases.
set -eu
IT_NAME=test_ansible_lint
. tests/integration/lib.sh
. tests/integration/ansible/lib.sh
W=$(pwd)/build/it/ansible-lint
rm -rf "$W"
mkdir -p "$W"
an_require ansible-playbook ansible-lint ansible-inventory

t0=$(an_now)
(cd "$AN_DIR" && ansible-lint -c .ansible-lint --nocolor) > "$W/lint.log" 2>&1 ||
	{ cat "$W/lint.log" >&2; it_fail "ansible-lint"; }
it_log "ansible-lint (production profile): $(grep -E 'Passed|Failed' "$W/lint.log" | tail -n 1)"

(cd "$AN_DIR" && ansible-playbook --syntax-check -i inventories/example/hosts.yml site.yml) > "$W/syntax.log" 2>&1 ||
	{ cat "$W/syntax.log" >&2; it_fail "ansible-playbook --syntax-check"; }
it_log "ansible-playbook --syntax-check site.yml: ok"

(cd "$AN_DIR" && ansible-inventory -i inventories/example/hosts.yml --graph) > "$W/graph.log" 2>&1 ||
	{ cat "$W/graph.log" >&2; it_fail "ansible-inventory --graph"; }
for g in beacon_nodes dpdk_hosts etl_nodes clickhouse_nodes zookeeper_nodes pg_nodes api_nodes monitoring; do
	an_expect_in "$W/graph.log" "@$g:" "example inventory"
done
# The example cluster: shard/replica of every ClickHouse host as the role computes it.
(cd "$AN_DIR" && ansible -i inventories/example/hosts.yml clickhouse_nodes -c local -o -m ansible.builtin.debug \
	-a 'msg={{ (groups.clickhouse_nodes.index(inventory_hostname) // 2) + 1 }}') > "$W/shards.log" 2>&1 ||
	{ cat "$W/shards.log" >&2; it_fail "shards of the example inventory"; }
[ "$(grep -c '"msg": "1"' "$W/shards.log")" = 2 ] && [ "$(grep -c '"msg": "2"' "$W/shards.log")" = 2 ] ||
	{ cat "$W/shards.log" >&2; it_fail "the example ClickHouse cluster is not 2 shards x 2 replicas"; }

/usr/bin/python3 - "$AN_DIR/filter_plugins" <<'PY' || it_fail "filter_plugins/beacon.py"
import sys
sys.path.insert(0, sys.argv[1])
import beacon as b
assert b.cpulist_expand('2-5,8') == [2, 3, 4, 5, 8]
assert b.cpulist_expand('') == [] and b.cpulist_expand('7') == [7]
assert b.cpulist_compress([8, 2, 3, 4, 5, 0]) == '0,2-5,8'
for bad in ('5-2', 'a', '1,,x'):
    try:
        b.cpulist_expand(bad)
    except Exception:
        pass
    else:
        raise SystemExit('cpulist_expand accepted %r' % bad)
ci = b.cpuinfo_parse(open('tests/integration/ansible/dpdk/intel/cpuinfo').read())
assert ci['vendor'] == 'GenuineIntel' and 'pdpe1gb' in ci['flags'] and ci['cpus'] == list(range(8)), ci
ca = b.cpuinfo_parse(open('tests/integration/ansible/dpdk/amd/cpuinfo').read())
assert ca['vendor'] == 'AuthenticAMD' and 'pdpe1gb' not in ca['flags'] and len(ca['cpus']) == 16
n = b.lspci_nics(open('tests/integration/ansible/dpdk/intel/lspci').read())
assert [x['addr'] for x in n] == ['0000:18:00.0', '0000:18:00.1', '0000:3b:00.0', '0000:3b:00.1'], n
assert n[2]['id'] == '8086:1592'
assert b.lspci_nics('3b:00.0 Ethernet controller [0200]: X [8086:1592] (rev 02)')[0]['addr'] == '0000:3b:00.0'
m = b.kernel_cmdline_merge('quiet hugepages=2 iommu=off x', ['hugepages=4', 'iommu=pt'], ['hugepages', 'iommu'])
assert m == 'quiet x hugepages=4 iommu=pt', m
assert b.kernel_cmdline_merge(m, ['hugepages=4', 'iommu=pt'], ['hugepages', 'iommu']) == m
PY
it_log "filters: cpulist, cpuinfo, lspci, kernel command line merge: ok"
it_log "all checks passed in $(( $(an_now) - t0 ))s"
