/*
 * pcap_payloads.h - the beacon payloads of a pcap file, for the perf
 * harnesses that feed bcn_worker_ingest / bcn_ingest without a network
 * (build/bench-dpdk --ingest-only, build/ingest-instr).
 *
 * Why this exists: both need the same thing -- every frame the DPDK
 * classifier (drivers/dpdk/bcn_pkt.h) calls a beacon to `port`, its UDP
 * payload copied into one buffer, 64-byte aligned -- and a second copy of
 * a pcap walker drifts (byte order, VLAN, IPv6).  Classic pcap, either byte
 * order; checksums are not checked (flags 0).  Header-only, static: no
 * DPDK needed.
 */
#ifndef BCN_PERF_PCAP_PAYLOADS_H
#define BCN_PERF_PCAP_PAYLOADS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_pkt.h"

struct payloads {
	uint8_t *buf;
	uint32_t *off, *len;
	unsigned n;
};

/* Load at most `max` beacon payloads to `port` from `path`.  Returns 0 if
 * at least one was found; -1 if none, or the file could not be read or
 * memory allocated (then pl holds what to pass to payloads_free). */
static inline int payloads_load(const char *path, uint16_t port, unsigned max, struct payloads *pl)
{
	FILE *f = fopen(path, "rb");
	uint32_t gh[6], rh[4];
	size_t cap = 1u << 26, used = 0;
	pl->buf = malloc(cap);
	pl->off = calloc(max, sizeof(*pl->off));
	pl->len = calloc(max, sizeof(*pl->len));
	pl->n = 0;
	if (!f || !pl->buf || !pl->off || !pl->len || fread(gh, 4, 6, f) != 6) {
		if (f)
			fclose(f);
		return -1;
	}
	int swap = gh[0] == 0xd4c3b2a1 || gh[0] == 0x4d3cb2a1;
	static uint8_t fr[65536];
	while (pl->n < max && fread(rh, 4, 4, f) == 4) {
		uint32_t incl = swap ? __builtin_bswap32(rh[2]) : rh[2];
		struct bcn_pkt p;
		if (incl > sizeof(fr) || fread(fr, 1, incl, f) != incl)
			break;
		if (bcn_pkt_classify(fr, incl, port, 0, &p) != BCN_PKT_BEACON || used + p.payload_len > cap)
			continue;
		memcpy(pl->buf + used, fr + p.payload_off, p.payload_len);
		pl->off[pl->n] = (uint32_t)used;
		pl->len[pl->n++] = p.payload_len;
		used += (p.payload_len + 63u) & ~63u;
	}
	fclose(f);
	return pl->n ? 0 : -1;
}

/* Can't fail. */
static inline void payloads_free(struct payloads *pl)
{
	free(pl->buf);
	free(pl->off);
	free(pl->len);
	memset(pl, 0, sizeof(*pl));
}

#endif
