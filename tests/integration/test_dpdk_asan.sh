#!/bin/sh
# The DPDK integration tests again (pcap replay, memif zero-copy, namespaces), with
# beacond and its DPDK driver built under ASan+UBSan+LeakSanitizer
# (build/asan/beacond-dpdk, drivers/dpdk/module.mk): any memory error,
# undefined behaviour or leak at exit makes beacond exit non-zero, and the
# test fails.
set -eu
[ -x build/asan/beacond-dpdk ] || {
	echo "test_dpdk_asan: SKIP: build/asan/beacond-dpdk not built (no libdpdk: make deps)"
	exit 0
}
export BEACOND=build/asan/beacond-dpdk
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sh tests/integration/test_dpdk_pcap.sh
sh tests/integration/test_dpdk_memif.sh
sh tests/integration/test_dpdk_netns.sh
