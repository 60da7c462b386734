/*
 * bcn_pkt.h - classify one received Ethernet frame for the DPDK fast path:
 * is it a UDP datagram to the beacon port with good checksums (then where is
 * its payload), something for the kernel (the exception path), or a packet
 * to count and drop.
 *
 * Why this exists: the DPDK driver parses every frame in place, straight
 * from the mbuf, at line rate.  This header holds that parse with no DPDK in
 * it, so that the unit tests and the libFuzzer target (tests/unit/dpdk,
 * tests/fuzz/fuzz_dpdk_pkt.c) exercise exactly the code the driver runs,
 * and so that it inlines into the driver's burst loop.
 *
 * What is parsed: Ethernet II; up to two VLAN tags (802.1Q 0x8100, 802.1ad
 * 0x88a8); IPv4 with options; IPv6 with hop-by-hop, routing and destination
 * options extension headers; UDP.  Checksums: the IPv4 header checksum of
 * every IPv4 packet, and the UDP checksum of datagrams to the beacon port
 * (IPv4: 0 means "not computed" and is accepted; IPv6: 0 is invalid,
 * RFC 8200 8.1).  The caller may say that the NIC already verified either
 * checksum (BCN_PKT_F_*), then it is not recomputed.
 *
 * The order of checks decides the class when several apply (documented in
 * docs/dpdk.md, relied on by the pcap replay test):
 *   L2:   frame < 14 bytes or cut inside a VLAN tag      -> SHORT
 *         ethertype neither IPv4 nor IPv6                 -> NOT_IP
 *   IPv4: < 20 bytes or < IHL*4 or < total length          -> SHORT
 *         version != 4, IHL < 5, total length < IHL*4      -> BAD_HEADER
 *         header checksum wrong                            -> BAD_CHECKSUM
 *         protocol not UDP (fragmented or not)             -> NOT_UDP
 *         MF set or fragment offset != 0                   -> FRAGMENT
 *   IPv6: < 40 bytes, or < 40 + payload length             -> SHORT
 *         version != 6, payload length 0 (jumbogram)       -> BAD_HEADER
 *         extension headers: cut short                     -> SHORT
 *           more than BCN_PKT_MAX_EXT of them              -> BAD_HEADER
 *           routing header with segments left              -> NOT_UDP
 *           fragment header: of UDP -> FRAGMENT, else      -> NOT_UDP
 *         final next header not UDP                        -> NOT_UDP
 *   UDP:  IP payload < 8 bytes or < UDP length             -> SHORT
 *         UDP length < 8                                   -> BAD_HEADER
 *         destination port != the beacon port              -> WRONG_PORT
 *         checksum wrong (or 0 over IPv6)                  -> BAD_CHECKSUM
 *         otherwise                                        -> BEACON
 * Ethernet padding after the IP packet and bytes after the UDP length inside
 * the IP payload are ignored.
 */
#ifndef BCN_PKT_H
#define BCN_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum bcn_pkt_class {
	BCN_PKT_BEACON = 0,   /* UDP to the beacon port, checksums good       */
	BCN_PKT_NOT_IP,       /* ARP, LLDP, ...: exception path                */
	BCN_PKT_NOT_UDP,      /* ICMP, NDP, TCP, ...: exception path           */
	BCN_PKT_WRONG_PORT,   /* UDP to another port: exception path           */
	BCN_PKT_FRAGMENT,     /* a fragment of a UDP datagram: dropped         */
	BCN_PKT_BAD_CHECKSUM, /* IPv4 header or UDP checksum wrong: dropped    */
	BCN_PKT_SHORT,        /* cut before a header or a stated length: dropped */
	BCN_PKT_BAD_HEADER,   /* impossible header fields: dropped             */
	BCN_PKT__COUNT
};

/* Metric label of a class ("beacon", "not_ip", ...); "?" if out of range. */
static inline const char *bcn_pkt_class_name(unsigned c)
{
	static const char *const n[BCN_PKT__COUNT] = {
		"beacon", "not_ip", "not_udp", "wrong_port",
		"fragment", "bad_checksum", "short", "bad_header",
	};
	return c < BCN_PKT__COUNT ? n[c] : "?";
}

/* 1 if packets of this class go to the kernel through the exception path. */
static inline int bcn_pkt_is_exception(unsigned c)
{
	return c == BCN_PKT_NOT_IP || c == BCN_PKT_NOT_UDP || c == BCN_PKT_WRONG_PORT;
}

/* What the NIC already checked (from the mbuf's offload flags). */
enum {
	BCN_PKT_F_IP_GOOD = 1u << 0,  /* IPv4 header checksum verified good */
	BCN_PKT_F_IP_BAD  = 1u << 1,  /* ... verified bad                   */
	BCN_PKT_F_L4_GOOD = 1u << 2,  /* UDP checksum verified good         */
	BCN_PKT_F_L4_BAD  = 1u << 3,  /* ... verified bad                   */
};

#define BCN_PKT_MAX_EXT 8     /* IPv6 extension headers walked at most */

struct bcn_pkt {
	uint16_t payload_off;  /* BEACON: the UDP payload, from the frame start */
	uint16_t payload_len;
	uint8_t  ipv6;         /* 1: IPv6, 0: IPv4 (when an IP header was seen)  */
	uint8_t  vlans;        /* VLAN tags skipped                             */
	uint16_t l3_off;       /* start of the IP header                        */
};

/* ---- checksums ---------------------------------------------------------- */

/* Add len bytes at p to a running one's-complement sum (any alignment; the
 * bytes are taken in memory order, so the result folds to the checksum as
 * it is stored on the wire).  sum must have started at an even offset of
 * the checksummed data, i.e. every call but the last must pass an even len. */
static inline __attribute__((always_inline)) uint64_t bcn_csum_add(uint64_t sum, const void *buf,
								  size_t len)
{
	/* always inlined: four calls per datagram, three of constant or
	 * near-constant length (8, 4, the IPv4 header), fold to a few adds */
	const uint8_t *p = (const uint8_t *)buf;
	const size_t total = len;
	uint64_t a = 0, b = 0, v, w;
#ifdef __SSE2__
	/* 16 bytes a block as eight 16-bit words widened into four 32-bit
	 * lanes, four blocks a step into two accumulators (the checksum was
	 * ~7 % of the fast path's time per JSON beacon; as one block a step it
	 * still took ~250 instructions of a 236-byte datagram under callgrind,
	 * as four ~100).  Words of 16 and halves of 32 bits sum to the same
	 * value modulo 0xffff, all the fold keeps, so both loops may share a
	 * running sum.  A lane grows by < 2^17 a block: a chunk of at most
	 * 4096 blocks (all of any UDP datagram) cannot wrap it.  Under 32
	 * bytes (an IPv4 header) the scalar loop below is cheaper. */
	while (len >= 32) {
		const __m128i z = _mm_setzero_si128();
		__m128i acc0 = z, acc1 = z;
		size_t n = len / 16 < 4096 ? len / 16 : 4096;
		len -= n * 16;
		for (; n >= 4; n -= 4, p += 64) {
			__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
			__m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
			__m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
			acc0 = _mm_add_epi32(acc0, _mm_add_epi32(_mm_unpacklo_epi16(x0, z),
								 _mm_unpackhi_epi16(x0, z)));
			acc1 = _mm_add_epi32(acc1, _mm_add_epi32(_mm_unpacklo_epi16(x1, z),
								 _mm_unpackhi_epi16(x1, z)));
			acc0 = _mm_add_epi32(acc0, _mm_add_epi32(_mm_unpacklo_epi16(x2, z),
								 _mm_unpackhi_epi16(x2, z)));
			acc1 = _mm_add_epi32(acc1, _mm_add_epi32(_mm_unpacklo_epi16(x3, z),
								 _mm_unpackhi_epi16(x3, z)));
		}
		for (; n; n--, p += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			acc0 = _mm_add_epi32(acc0, _mm_add_epi32(_mm_unpacklo_epi16(x, z),
								 _mm_unpackhi_epi16(x, z)));
		}
		/* the eight lanes as four 64-bit sums, added */
		__m128i q = _mm_add_epi64(_mm_add_epi64(_mm_unpacklo_epi32(acc0, z), _mm_unpackhi_epi32(acc0, z)),
					  _mm_add_epi64(_mm_unpacklo_epi32(acc1, z), _mm_unpackhi_epi32(acc1, z)));
		uint64_t l[2];
		_mm_storeu_si128((__m128i *)(void *)l, q);
		a += l[0] + l[1];
	}
#endif
	while (len >= 16) {
		memcpy(&v, p, 8);
		memcpy(&w, p + 8, 8);
		a += (v & 0xffffffffu) + (v >> 32);
		b += (w & 0xffffffffu) + (w >> 32);
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(&v, p, 8);
		a += (v & 0xffffffffu) + (v >> 32);
		p += 8;
		len -= 8;
	}
	if (len) { /* the rest (1..7 bytes), zero-padded on the right */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (total >= 8) {
			/* one load of the 8 bytes that end here, shifted so the
			 * len last ones come first: no branches, no partial loads */
			memcpy(&v, p + len - 8, 8);
			v >>= (8 - len) * 8;
			b += (v & 0xffffffffu) + (v >> 32);
			return sum + a + b;
		}
		/* fixed-size loads: a variable-length memcpy is a byte loop */
		size_t o = 0;
		v = 0;
		if (len & 4) {
			uint32_t x;
			memcpy(&x, p, 4);
			v = x;
			o = 4;
		}
		if (len & 2) {
			uint16_t x;
			memcpy(&x, p + o, 2);
			v |= (uint64_t)x << (o * 8);
			o += 2;
		}
		if (len & 1)
			v |= (uint64_t)p[o] << (o * 8);
#else
		(void)total;
		v = 0;
		memcpy(&v, p, len);
#endif
		b += (v & 0xffffffffu) + (v >> 32);
	}
	return sum + a + b; /* < 2^34 per 8 bytes: no overflow for any frame */
}

/* Fold a running sum to 16 bits (0x0000..0xffff, never complemented). */
static inline uint16_t bcn_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* ---- the parse ------------------------------------------------------------ */

static inline uint16_t bcn_pkt_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* The UDP part, common to IPv4 and IPv6.  u: UDP header, avail: bytes of IP
 * payload from u on; psum: the pseudo header's sum without the length. */
static inline enum bcn_pkt_class bcn_pkt_udp(const uint8_t *f, const uint8_t *u, size_t avail,
					     uint64_t psum, int ipv6, uint16_t beacon_port,
					     unsigned flags, struct bcn_pkt *out)
{
	if (avail < 8)
		return BCN_PKT_SHORT;
	uint16_t ulen = bcn_pkt_be16(u + 4);
	if (ulen < 8)
		return BCN_PKT_BAD_HEADER;
	if (ulen > avail)
		return BCN_PKT_SHORT;
	if (bcn_pkt_be16(u + 2) != beacon_port || !beacon_port)
		return BCN_PKT_WRONG_PORT;
	if (flags & BCN_PKT_F_L4_BAD)
		return BCN_PKT_BAD_CHECKSUM;
	if (!(flags & BCN_PKT_F_L4_GOOD)) {
		uint16_t ck = (uint16_t)(u[6] << 8 | u[7]);
		if (ck == 0) {
			if (ipv6)
				return BCN_PKT_BAD_CHECKSUM;
		} else {
			/* pseudo header: addresses (in psum), zero, protocol 17,
			 * UDP length; then the datagram itself */
			const uint8_t ph[4] = { 0, 17, u[4], u[5] };
			uint64_t s = bcn_csum_add(psum, ph, sizeof(ph));
			if (bcn_csum_fold(bcn_csum_add(s, u, ulen)) != 0xffff)
				return BCN_PKT_BAD_CHECKSUM;
		}
	}
	out->payload_off = (uint16_t)(u + 8 - f);
	out->payload_len = (uint16_t)(ulen - 8);
	return BCN_PKT_BEACON;
}

/*
 * Classify the frame f[0..len) (len <= 65535).  beacon_port is the UDP
 * destination port of beacons (host order; 0: no port is, every UDP
 * datagram is WRONG_PORT).  flags: BCN_PKT_F_* from the NIC.  Fills *out
 * (payload_off/len only for BEACON).  Never reads outside f[0..len).
 */
static inline enum bcn_pkt_class bcn_pkt_classify(const uint8_t *f, size_t len,
						  uint16_t beacon_port, unsigned flags,
						  struct bcn_pkt *out)
{
	size_t off = 14;
	out->vlans = 0;
	out->ipv6 = 0;
	if (len < 14)
		return BCN_PKT_SHORT;
	uint16_t et = bcn_pkt_be16(f + 12);
	while ((et == 0x8100 || et == 0x88a8) && out->vlans < 2) {
		if (len < off + 4)
			return BCN_PKT_SHORT;
		et = bcn_pkt_be16(f + off + 2);
		off += 4;
		out->vlans++;
	}
	out->l3_off = (uint16_t)off;
	const uint8_t *ip = f + off;
	size_t l3len = len - off;

	if (et == 0x0800) {
		if (l3len < 20)
			return BCN_PKT_SHORT;
		if ((ip[0] >> 4) != 4)
			return BCN_PKT_BAD_HEADER;
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		if (ihl < 20)
			return BCN_PKT_BAD_HEADER;
		if (l3len < ihl)
			return BCN_PKT_SHORT;
		size_t tot = bcn_pkt_be16(ip + 2);
		if (tot < ihl)
			return BCN_PKT_BAD_HEADER;
		if (tot > l3len)
			return BCN_PKT_SHORT;
		if (flags & BCN_PKT_F_IP_BAD)
			return BCN_PKT_BAD_CHECKSUM;
		if (!(flags & BCN_PKT_F_IP_GOOD) && bcn_csum_fold(bcn_csum_add(0, ip, ihl)) != 0xffff)
			return BCN_PKT_BAD_CHECKSUM;
		if (ip[9] != 17)
			return BCN_PKT_NOT_UDP;
		if ((bcn_pkt_be16(ip + 6) & 0x3fff) != 0) /* MF or an offset */
			return BCN_PKT_FRAGMENT;
		uint64_t psum = bcn_csum_add(0, ip + 12, 8); /* source, destination */
		return bcn_pkt_udp(f, ip + ihl, tot - ihl, psum, 0, beacon_port, flags, out);
	}
	if (et == 0x86dd) {
		out->ipv6 = 1;
		if (l3len < 40)
			return BCN_PKT_SHORT;
		if ((ip[0] >> 4) != 6)
			return BCN_PKT_BAD_HEADER;
		size_t plen = bcn_pkt_be16(ip + 4);
		if (plen == 0)
			return BCN_PKT_BAD_HEADER; /* jumbogram: not on our links */
		if (40 + plen > l3len)
			return BCN_PKT_SHORT;
		uint8_t nh = ip[6];
		size_t x = 40, end = 40 + plen;
		for (unsigned n = 0;; n++) {
			if (nh == 17)
				break;
			if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
				return BCN_PKT_NOT_UDP;
			if (n == BCN_PKT_MAX_EXT)
				return BCN_PKT_BAD_HEADER;
			if (end < x + 8)
				return BCN_PKT_SHORT;
			if (nh == 44) /* fragment header: of what? */
				return ip[x] == 17 ? BCN_PKT_FRAGMENT : BCN_PKT_NOT_UDP;
			size_t hl = ((size_t)ip[x + 1] + 1) * 8;
			if (end < x + hl)
				return BCN_PKT_SHORT;
			if (nh == 43 && ip[x + 3] != 0) /* segments left: not the final hop */
				return BCN_PKT_NOT_UDP;
			nh = ip[x];
			x += hl;
		}
		uint64_t psum = bcn_csum_add(0, ip + 8, 32); /* source, destination */
		return bcn_pkt_udp(f, ip + x, end - x, psum, 1, beacon_port, flags, out);
	}
	return BCN_PKT_NOT_IP;
}

#endif
