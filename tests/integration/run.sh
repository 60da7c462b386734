#!/bin/sh
# Integration tier: runs every tests/integration/test_*.sh in order and
# prints "N passed, N failed".  Each test script exits 0 on success.
set -u
cd "$(dirname "$0")/../.."
pass=0
fail=0
for t in tests/integration/test_*.sh; do
	echo "== integration: $t"
	if sh "$t"; then
		pass=$((pass + 1))
		echo "PASS $t"
	else
		fail=$((fail + 1))
		echo "FAIL $t"
	fi
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
