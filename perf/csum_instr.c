/*
 * csum_instr.c - a fixed workload for counting the UDP checksum's
 * instructions under callgrind (the VM has no hardware counters; see
 * parse_instr.c).  Sums N times the 236 bytes of a JSON view beacon's UDP
 * datagram (228-byte payload + 8-byte header), at alternating even and odd
 * addresses, with bcn_csum_add + bcn_csum_fold (drivers/dpdk/bcn_pkt.h,
 * header-only: no DPDK needed), and prints the folded sums' total.
 *
 *   gcc -O2 -Idrivers/dpdk -Iapp/proto -o build/csum-instr perf/csum_instr.c
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg build/csum-instr 100000
 *   (instructions per datagram = "I refs" / N; start-up is under 1 % of it)
 */
#include <stdio.h>
#include <stdlib.h>
#include "bcn_pkt.h"

int main(int argc, char **argv)
{
	static uint8_t buf[300];
	long n = argc > 1 ? atol(argv[1]) : 100000;
	uint64_t total = 0;

	for (int i = 0; i < 300; i++)
		buf[i] = (uint8_t)(i * 7);
	for (long i = 0; i < n; i++) {
		__asm__ volatile("" ::: "memory"); /* one sum per round, not hoisted */
		total += bcn_csum_fold(bcn_csum_add(0, buf + (i & 1), 236));
	}
	printf("%llu\n", (unsigned long long)total);
	return 0;
}
