#!/bin/sh
# The end-to-end test of test_beacond.sh again, with beacond built under
# ASan+UBSan+LeakSanitizer (build/asan/beacond): any memory error, undefined
# behaviour or leak at exit makes beacond exit non-zero, and the test fails.
set -eu
export BEACOND=build/asan/beacond
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec sh tests/integration/test_beacond.sh
