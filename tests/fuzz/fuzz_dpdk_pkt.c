/*
 * fuzz_dpdk_pkt.c - libFuzzer target for the DPDK driver's frame classifier
 * (drivers/dpdk/bcn_pkt.h: Ethernet, VLAN, IPv4, IPv6, UDP, checksums).
 *
 * Input: one Ethernet frame, as a NIC would hand it over.  Besides "no
 * crash, no read outside the frame (ASan), no UB":
 *   - the class is one of the closed list, and the same on a second call;
 *   - a BEACON's payload lies inside the frame, right after a UDP header
 *     whose destination port is the beacon port and whose length is the
 *     payload's + 8, and its checksum verifies (reference implementation);
 *   - the NIC flags only ever move a frame between BEACON and BAD_CHECKSUM:
 *     "checksums good" never turns a non-UDP frame into a beacon, "bad"
 *     never makes a beacon of anything;
 *   - with no beacon port, nothing is a BEACON.
 * The classifier is header-only and DPDK-free, so the Makefile's generic
 * fuzz rule builds this target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "../../drivers/dpdk/bcn_pkt.h"

#define PORT 7070

static void fail(const char *what)
{
	fprintf(stderr, "\n*** fuzz invariant violated: %s\n", what);
	abort();
}
#define CHECK(c) do { if (!(c)) fail(#c); } while (0)

static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bcn_pkt p, q;
	if (size > 65535)
		return 0;
	enum bcn_pkt_class c = bcn_pkt_classify(data, size, PORT, 0, &p);
	CHECK((unsigned)c < BCN_PKT__COUNT);
	CHECK(bcn_pkt_classify(data, size, PORT, 0, &q) == c);
	CHECK(bcn_pkt_classify(data, size, 0, 0, &q) != BCN_PKT_BEACON);

	enum bcn_pkt_class good = bcn_pkt_classify(data, size, PORT,
						   BCN_PKT_F_IP_GOOD | BCN_PKT_F_L4_GOOD, &q);
	enum bcn_pkt_class bad = bcn_pkt_classify(data, size, PORT,
						  BCN_PKT_F_IP_BAD | BCN_PKT_F_L4_BAD, &q);
	CHECK(bad != BCN_PKT_BEACON);
	if (c == BCN_PKT_BEACON)
		CHECK(good == BCN_PKT_BEACON);
	if (good != c)
		CHECK(c == BCN_PKT_BAD_CHECKSUM); /* and then good may be anything the checksum hid */

	if (c != BCN_PKT_BEACON)
		return 0;
	size_t off = p.payload_off, len = p.payload_len;
	CHECK(off >= 14 + 20 + 8 && off + len <= size);
	const uint8_t *u = data + off - 8;
	CHECK((u[2] << 8 | u[3]) == PORT);
	CHECK((size_t)(u[4] << 8 | u[5]) == len + 8);
	CHECK(p.l3_off == 14 + 4u * p.vlans);
	const uint8_t *ip = data + p.l3_off;
	uint16_t ck = (uint16_t)(u[6] << 8 | u[7]);
	if (!p.ipv6) {
		CHECK((ip[0] >> 4) == 4);
		CHECK(ref_sum(ip, (size_t)(ip[0] & 15) * 4, 0) == 0xffff);
		if (ck) {
			uint32_t s = ref_sum(ip + 12, 8, 17 + (uint32_t)(len + 8));
			CHECK(ref_sum(u, len + 8, s) == 0xffff);
		}
	} else {
		CHECK((ip[0] >> 4) == 6);
		CHECK(ck != 0);
		uint32_t s = ref_sum(ip + 8, 32, 17 + (uint32_t)(len + 8));
		CHECK(ref_sum(u, len + 8, s) == 0xffff);
	}
	return 0;
}
