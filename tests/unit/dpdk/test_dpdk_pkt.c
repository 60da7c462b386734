/*
 * test_dpdk_pkt.c - unit tests of the DPDK driver's DPDK-free parts: the
 * frame classifier and checksum (drivers/dpdk/bcn_pkt.h) and the [dpdk]
 * config strings (drivers/dpdk/bcn_dpdk_conf.c).  Built as build/test-dpdk
 * (and build/asan/test-dpdk under ASan+UBSan) by drivers/dpdk/module.mk.
 *
 * Every frame is classified from an exact-size heap copy, so that under
 * ASan a read one byte past the frame is an error.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <CUnit/Basic.h>
#include "bcn_cfg.h"
#include "bcn_dpdk_conf.h"
#include "bcn_pkt.h"

#define PORT 7070

/* ---- frame builder -------------------------------------------------------- */

struct fb {
	int v6;
	int vlans;               /* 0, 1 or 2 tags */
	int ip_opts;             /* IPv4: option bytes (multiple of 4) */
	int hbh;                 /* IPv6: hop-by-hop header */
	int udp_csum;            /* 0 ok, 1 zero, 2 bad */
	int proto;               /* default 17 */
	uint16_t dport;          /* default PORT */
	int mf, frag_off;        /* IPv4 fragment fields */
	int bad_ip_csum;
	size_t pad;              /* Ethernet padding after the IP packet */
	size_t ip_trailer;       /* bytes after the UDP datagram inside the IP packet */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Build a frame carrying payload pl[0..plen) into f; returns its length and
 * the payload's offset in *poff. */
static size_t build(uint8_t *f, const struct fb *o, const uint8_t *pl, size_t plen, size_t *poff)
{
	size_t off = 12;
	memset(f, 0, 14);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	for (int i = 0; i < o->vlans; i++) {
		put16(f + off, (o->vlans == 2 && i == 0) ? 0x88a8 : 0x8100);
		put16(f + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(f + off, o->v6 ? 0x86dd : 0x0800);
	off += 2;
	uint8_t *ip = f + off;
	size_t iph = o->v6 ? 40 + (o->hbh ? 8 : 0) : 20 + (size_t)o->ip_opts;
	uint8_t *u = ip + iph;
	size_t ulen = 8 + plen;
	int proto = o->proto ? o->proto : 17;
	memcpy(u + 8, pl, plen);
	put16(u, 40000);
	put16(u + 2, o->dport ? o->dport : PORT);
	put16(u + 4, (uint16_t)ulen);
	put16(u + 6, 0);
	memset(u + ulen, 0xee, o->ip_trailer);
	size_t iplen = iph + ulen + o->ip_trailer;
	uint32_t ps = 0;
	if (o->v6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(iplen - 40));
		ip[6] = o->hbh ? 0 : (uint8_t)proto;
		ip[7] = 64;
		for (int i = 0; i < 16; i++)
			ip[8 + i] = (uint8_t)(0xfd + i), ip[24 + i] = (uint8_t)(0x20 + i);
		if (o->hbh) {
			memset(ip + 40, 0, 8);
			ip[40] = (uint8_t)proto;
			ip[42] = 1; /* PadN */
			ip[43] = 4;
		}
		for (int i = 0; i < 32; i += 2)
			ps += (uint32_t)(ip[8 + i] << 8 | ip[9 + i]);
	} else {
		memset(ip, 0, iph);
		ip[0] = (uint8_t)(0x40 | (iph / 4));
		put16(ip + 2, (uint16_t)iplen);
		put16(ip + 6, (uint16_t)((o->mf ? 0x2000 : 0) | (o->frag_off / 8)));
		ip[8] = 64;
		ip[9] = (uint8_t)proto;
		memcpy(ip + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
		for (int i = 20; i < (int)iph; i++)
			ip[i] = 1; /* NOP options */
		uint16_t c = ref_csum(ip, iph, 0);
		if (o->bad_ip_csum)
			c ^= 0x0101;
		put16(ip + 10, c);
		for (int i = 0; i < 8; i += 2)
			ps += (uint32_t)(ip[12 + i] << 8 | ip[13 + i]);
	}
	ps += 17 + (uint32_t)ulen;
	uint16_t c = ref_csum(u, ulen, ps);
	if (c == 0)
		c = 0xffff;
	if (o->udp_csum == 1)
		c = 0;
	else if (o->udp_csum == 2)
		c ^= 0x0f0f;
	put16(u + 6, c);
	memset(ip + iplen, 0, o->pad);
	*poff = (size_t)(u + 8 - f);
	return off + iplen + o->pad;
}

static enum bcn_pkt_class classify_copy(const uint8_t *f, size_t len, uint16_t port, unsigned flags,
					struct bcn_pkt *out)
{
	uint8_t *c = malloc(len ? len : 1);
	memcpy(c, f, len);
	enum bcn_pkt_class r = bcn_pkt_classify(c, len, port, flags, out);
	if (r == BCN_PKT_BEACON)
		CU_ASSERT(out->payload_off + (size_t)out->payload_len <= len);
	free(c);
	return r;
}

static const uint8_t PL[] = "{\"type\":\"view\",\"ts\":1}";
#define PLEN (sizeof(PL) - 1)

static enum bcn_pkt_class run(const struct fb *o, struct bcn_pkt *out, size_t *len_out)
{
	static uint8_t f[4096];
	size_t poff, len = build(f, o, PL, PLEN, &poff);
	if (len_out)
		*len_out = len;
	enum bcn_pkt_class r = classify_copy(f, len, PORT, 0, out);
	if (r == BCN_PKT_BEACON) {
		CU_ASSERT_EQUAL(out->payload_off, poff);
		CU_ASSERT_EQUAL(out->payload_len, PLEN);
	}
	return r;
}

/* ---- checksum --------------------------------------------------------------- */

static void t_csum_rfc1071(void)
{
	/* RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to ddf2 */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t folded = bcn_csum_fold(bcn_csum_add(0, b, sizeof(b)));
	uint8_t mem[2];
	memcpy(mem, &folded, 2); /* the sum as stored in memory order */
	CU_ASSERT_EQUAL((mem[0] << 8 | mem[1]), 0xddf2);
}

static void t_csum_random(void)
{
	uint8_t buf[600];
	srand(7);
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = (size_t)(rand() % 520), at = (size_t)(rand() % 8);
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)rand();
		uint16_t want = ref_csum(buf + at, n, 0);
		/* put the checksum at the end (even offset): the whole folds to ffff */
		size_t m = n & ~(size_t)1;
		uint8_t *c = malloc(m + 2);
		memcpy(c, buf + at, m);
		want = ref_csum(c, m, 0);
		put16(c + m, want);
		CU_ASSERT_EQUAL(bcn_csum_fold(bcn_csum_add(0, c, m + 2)), 0xffff);
		/* split sums (even first part) equal the whole */
		size_t k = (size_t)(rand() % (int)(m + 1)) & ~(size_t)1;
		CU_ASSERT_EQUAL(bcn_csum_fold(bcn_csum_add(bcn_csum_add(0, c, k), c + k, m + 2 - k)), 0xffff);
		free(c);
		/* odd lengths agree with the reference too */
		uint16_t got = (uint16_t)~bcn_csum_fold(bcn_csum_add(0, buf + at, n));
		uint8_t mem[2];
		memcpy(mem, &got, 2);
		uint16_t ref = ref_csum(buf + at, n, 0);
		CU_ASSERT((mem[0] << 8 | mem[1]) == ref || (ref == 0xffff && got == 0) || (ref == 0 && got == 0xffff));
	}
}

/* Lengths past the vector loop's chunk (4096 blocks of 16 bytes), all
 * ones (the largest words: a lane that wrapped would show) and random. */
static void t_csum_long(void)
{
	static const size_t lens[] = { 32, 33, 65535, 65536, 65536 + 18, 3 * 65536 + 7 };
	size_t cap = 3 * 65536 + 16;
	uint8_t *b = malloc(cap);
	CU_ASSERT_FATAL(b != NULL);
	srand(11);
	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < cap; i++)
			b[i] = fill ? (uint8_t)rand() : 0xff;
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			size_t n = lens[k];
			uint64_t r = 0;
			for (size_t i = 0; i + 1 < n; i += 2)
				r += (uint32_t)(b[i] << 8 | b[i + 1]);
			if (n & 1)
				r += (uint32_t)b[n - 1] << 8;
			while (r >> 16)
				r = (r & 0xffff) + (r >> 16);
			uint16_t got = bcn_csum_fold(bcn_csum_add(0, b, n));
			uint8_t mem[2];
			memcpy(mem, &got, 2);
			CU_ASSERT_EQUAL((unsigned)(mem[0] << 8 | mem[1]), (unsigned)r);
		}
	}
	free(b);
}

/* ---- classify --------------------------------------------------------------- */

static void t_beacon_encaps(void)
{
	struct bcn_pkt p;
	struct fb cases[] = {
		{ 0 },
		{ .vlans = 1 },
		{ .vlans = 2 },
		{ .ip_opts = 4 },
		{ .ip_opts = 40 },
		{ .udp_csum = 1 },
		{ .pad = 20 },
		{ .ip_trailer = 5 },
		{ .v6 = 1 },
		{ .v6 = 1, .vlans = 1 },
		{ .v6 = 1, .vlans = 2, .hbh = 1 },
		{ .v6 = 1, .pad = 7 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum bcn_pkt_class c = run(&cases[i], &p, NULL);
		if (c != BCN_PKT_BEACON)
			fprintf(stderr, "case %zu: %s\n", i, bcn_pkt_class_name(c));
		CU_ASSERT_EQUAL(c, BCN_PKT_BEACON);
		CU_ASSERT_EQUAL(p.vlans, cases[i].vlans);
		CU_ASSERT_EQUAL(p.ipv6, cases[i].v6);
	}
}

static void t_classes(void)
{
	struct bcn_pkt p;
	struct { struct fb o; enum bcn_pkt_class want; } c[] = {
		{ { .udp_csum = 2 }, BCN_PKT_BAD_CHECKSUM },
		{ { .v6 = 1, .udp_csum = 2 }, BCN_PKT_BAD_CHECKSUM },
		{ { .v6 = 1, .udp_csum = 1 }, BCN_PKT_BAD_CHECKSUM },
		{ { .bad_ip_csum = 1 }, BCN_PKT_BAD_CHECKSUM },
		{ { .bad_ip_csum = 1, .proto = 6 }, BCN_PKT_BAD_CHECKSUM },
		{ { .mf = 1 }, BCN_PKT_FRAGMENT },
		{ { .frag_off = 1480 }, BCN_PKT_FRAGMENT },
		{ { .mf = 1, .proto = 1 }, BCN_PKT_NOT_UDP },
		{ { .proto = 6 }, BCN_PKT_NOT_UDP },
		{ { .proto = 1 }, BCN_PKT_NOT_UDP },
		{ { .v6 = 1, .proto = 58 }, BCN_PKT_NOT_UDP },
		{ { .v6 = 1, .hbh = 1, .proto = 6 }, BCN_PKT_NOT_UDP },
		{ { .dport = 53 }, BCN_PKT_WRONG_PORT },
		{ { .v6 = 1, .dport = 7071 }, BCN_PKT_WRONG_PORT },
		{ { .dport = 53, .udp_csum = 2 }, BCN_PKT_WRONG_PORT }, /* the kernel checks it */
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		enum bcn_pkt_class got = run(&c[i].o, &p, NULL);
		if (got != c[i].want)
			fprintf(stderr, "case %zu: %s, want %s\n", i, bcn_pkt_class_name(got),
				bcn_pkt_class_name(c[i].want));
		CU_ASSERT_EQUAL(got, c[i].want);
	}
}

static void t_exception_classes(void)
{
	CU_ASSERT(bcn_pkt_is_exception(BCN_PKT_NOT_IP));
	CU_ASSERT(bcn_pkt_is_exception(BCN_PKT_NOT_UDP));
	CU_ASSERT(bcn_pkt_is_exception(BCN_PKT_WRONG_PORT));
	CU_ASSERT(!bcn_pkt_is_exception(BCN_PKT_BEACON));
	CU_ASSERT(!bcn_pkt_is_exception(BCN_PKT_FRAGMENT));
	CU_ASSERT(!bcn_pkt_is_exception(BCN_PKT_BAD_CHECKSUM));
	CU_ASSERT(!bcn_pkt_is_exception(BCN_PKT_SHORT));
	CU_ASSERT(!bcn_pkt_is_exception(BCN_PKT_BAD_HEADER));
	CU_ASSERT_STRING_EQUAL(bcn_pkt_class_name(BCN_PKT_WRONG_PORT), "wrong_port");
	CU_ASSERT_STRING_EQUAL(bcn_pkt_class_name(BCN_PKT__COUNT), "?");
}

static void t_not_ip(void)
{
	struct bcn_pkt p;
	uint8_t arp[42] = { 0 };
	memset(arp, 0xff, 6);
	put16(arp + 12, 0x0806);
	CU_ASSERT_EQUAL(classify_copy(arp, sizeof(arp), PORT, 0, &p), BCN_PKT_NOT_IP);
	put16(arp + 12, 0x88cc); /* LLDP */
	CU_ASSERT_EQUAL(classify_copy(arp, sizeof(arp), PORT, 0, &p), BCN_PKT_NOT_IP);
	put16(arp + 12, 0x0040); /* 802.3 length field */
	CU_ASSERT_EQUAL(classify_copy(arp, sizeof(arp), PORT, 0, &p), BCN_PKT_NOT_IP);
	/* a third VLAN tag is not skipped: its TPID is the "ethertype" */
	struct fb o = { .vlans = 2 };
	uint8_t f[512];
	size_t poff, n = build(f, &o, PL, PLEN, &poff);
	memmove(f + 24, f + 20, n - 20);
	put16(f + 20, 0x8100);
	put16(f + 22, 7);
	CU_ASSERT_EQUAL(classify_copy(f, n + 4, PORT, 0, &p), BCN_PKT_NOT_IP);
}

/* Every cut of a valid frame is SHORT; the whole frame is a BEACON. */
static void t_every_truncation(void)
{
	struct fb cases[] = { { 0 }, { .vlans = 2 }, { .ip_opts = 8 }, { .v6 = 1 }, { .v6 = 1, .hbh = 1 } };
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint8_t f[512];
		struct bcn_pkt p;
		size_t poff, n = build(f, &cases[k], PL, PLEN, &poff);
		for (size_t l = 0; l < n; l++) {
			enum bcn_pkt_class c = classify_copy(f, l, PORT, 0, &p);
			if (c != BCN_PKT_SHORT)
				fprintf(stderr, "case %zu cut at %zu: %s\n", k, l, bcn_pkt_class_name(c));
			CU_ASSERT_EQUAL(c, BCN_PKT_SHORT);
		}
		CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BEACON);
	}
}

static void t_bad_headers(void)
{
	uint8_t f[512];
	struct bcn_pkt p;
	size_t poff, n;
	struct fb v4 = { 0 }, v6 = { .v6 = 1 };

	n = build(f, &v4, PL, PLEN, &poff);
	f[14] = 0x55; /* version 5 */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BAD_HEADER);
	f[14] = 0x44; /* IHL 4 */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BAD_HEADER);
	n = build(f, &v4, PL, PLEN, &poff);
	put16(f + 16, 12); /* total length < header */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BAD_HEADER);
	n = build(f, &v4, PL, PLEN, &poff);
	put16(f + 34 + 4, 4); /* UDP length < 8 */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BAD_HEADER);
	n = build(f, &v4, PL, PLEN, &poff);
	put16(f + 34 + 4, (uint16_t)(8 + PLEN + 1)); /* UDP length > IP payload */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_SHORT);

	n = build(f, &v6, PL, PLEN, &poff);
	f[14] = 0x40; /* IPv4 version in an IPv6 ethertype */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BAD_HEADER);
	n = build(f, &v6, PL, PLEN, &poff);
	put16(f + 18, 0); /* jumbogram */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BAD_HEADER);
}

static void t_ipv6_ext(void)
{
	uint8_t f[1024];
	struct bcn_pkt p;
	size_t poff;
	struct fb o = { .v6 = 1, .hbh = 1 };
	size_t n = build(f, &o, PL, PLEN, &poff);
	/* the hop-by-hop header becomes a fragment header of UDP */
	f[20] = 44;
	f[54] = 17;
	f[55] = 0;
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_FRAGMENT);
	f[54] = 6; /* ... of TCP */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_NOT_UDP);
	/* a routing header with segments left: not the final hop */
	n = build(f, &o, PL, PLEN, &poff);
	f[20] = 43;
	f[54] = 17;
	f[55] = 0;
	f[56] = 0;
	f[57] = 1;
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_NOT_UDP);
	f[57] = 0; /* segments left 0: on to UDP (the checksum still holds) */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_BEACON);
	/* BCN_PKT_MAX_EXT + 1 destination-options headers */
	uint8_t g[1024];
	memcpy(g, f, 54);
	size_t x = 54;
	g[20] = 60;
	for (int i = 0; i <= BCN_PKT_MAX_EXT; i++, x += 8) {
		memset(g + x, 0, 8);
		g[x] = (uint8_t)(i == BCN_PKT_MAX_EXT ? 17 : 60);
	}
	memcpy(g + x, f + 62, n - 62);
	put16(g + 18, (uint16_t)(x - 54 + n - 62));
	CU_ASSERT_EQUAL(classify_copy(g, x + n - 62, PORT, 0, &p), BCN_PKT_BAD_HEADER);
	/* an extension header cut by the payload length */
	n = build(f, &o, PL, PLEN, &poff);
	f[55] = 200; /* hdr ext len: 1608 bytes */
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, 0, &p), BCN_PKT_SHORT);
}

static void t_offload_flags(void)
{
	uint8_t f[512];
	struct bcn_pkt p;
	size_t poff, n;
	struct fb bad = { .udp_csum = 2 }, badip = { .bad_ip_csum = 1 }, ok = { 0 };
	n = build(f, &bad, PL, PLEN, &poff);
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, BCN_PKT_F_L4_GOOD, &p), BCN_PKT_BEACON);
	n = build(f, &ok, PL, PLEN, &poff);
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, BCN_PKT_F_L4_BAD, &p), BCN_PKT_BAD_CHECKSUM);
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, BCN_PKT_F_IP_BAD, &p), BCN_PKT_BAD_CHECKSUM);
	n = build(f, &badip, PL, PLEN, &poff);
	CU_ASSERT_EQUAL(classify_copy(f, n, PORT, BCN_PKT_F_IP_GOOD, &p), BCN_PKT_BEACON);
	/* no beacon port: every datagram is someone else's */
	n = build(f, &ok, PL, PLEN, &poff);
	CU_ASSERT_EQUAL(classify_copy(f, n, 0, 0, &p), BCN_PKT_WRONG_PORT);
}

static void t_random_mutations(void)
{
	/* flip bytes of valid frames: never a read outside the frame (ASan),
	 * and a BEACON's payload always lies inside it */
	struct fb cases[] = { { 0 }, { .vlans = 1 }, { .v6 = 1, .hbh = 1 }, { .ip_opts = 12 } };
	srand(11);
	for (int it = 0; it < 20000; it++) {
		uint8_t f[512];
		struct bcn_pkt p;
		size_t poff, n = build(f, &cases[it % 4], PL, PLEN, &poff);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++)
			f[rand() % (int)n] = (uint8_t)rand();
		size_t len = (size_t)(rand() % 8) == 0 ? (size_t)(rand() % (int)n) : n;
		(void)classify_copy(f, len, PORT, (unsigned)(rand() % 16), &p);
	}
}

/* ---- config strings --------------------------------------------------------- */

static void t_split(void)
{
	char w[4][BCN_DP_TOKEN_MAX];
	CU_ASSERT_EQUAL(bcn_dp_split("", w, 4), 0);
	CU_ASSERT_EQUAL(bcn_dp_split("  \t\n ", w, 4), 0);
	CU_ASSERT_EQUAL(bcn_dp_split(" --no-huge\t--no-pci\n-m 512 ", w, 4), 4);
	CU_ASSERT_STRING_EQUAL(w[0], "--no-huge");
	CU_ASSERT_STRING_EQUAL(w[3], "512");
	CU_ASSERT_EQUAL(bcn_dp_split("a b c d e", w, 4), -1);
	char big[BCN_DP_TOKEN_MAX + 8];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(bcn_dp_split(big, w, 4), -1);
	big[BCN_DP_TOKEN_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(bcn_dp_split(big, w, 4), 1);
}

static void t_pci_and_names(void)
{
	char n[64];
	CU_ASSERT(bcn_dp_is_pci("0000:3b:00.0"));
	CU_ASSERT(bcn_dp_is_pci("3b:00.1"));
	CU_ASSERT(!bcn_dp_is_pci("net_pcap0"));
	CU_ASSERT(!bcn_dp_is_pci("0000:3b:00"));
	CU_ASSERT(!bcn_dp_is_pci("zz:00.0"));
	CU_ASSERT_EQUAL(bcn_dp_dev_name("net_pcap0,rx_pcap=a.pcap,tx_pcap=b", n, sizeof(n)), 0);
	CU_ASSERT_STRING_EQUAL(n, "net_pcap0");
	CU_ASSERT_EQUAL(bcn_dp_dev_name("net_tap3", n, sizeof(n)), 0);
	CU_ASSERT_STRING_EQUAL(n, "net_tap3");
	CU_ASSERT_EQUAL(bcn_dp_dev_name("3b:00.1", n, sizeof(n)), 0);
	CU_ASSERT_STRING_EQUAL(n, "0000:3b:00.1");
	CU_ASSERT_EQUAL(bcn_dp_dev_name(",x", n, sizeof(n)), -1);
	CU_ASSERT_EQUAL(bcn_dp_dev_name("net_pcap0", n, 4), -1);
}

static void t_addrs(void)
{
	struct bcn_dp_addr a;
	char e[160];
	CU_ASSERT_EQUAL(bcn_dp_parse_addr("10.1.0.1/24", &a, e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(a.family, AF_INET);
	CU_ASSERT_EQUAL(a.prefix, 24);
	CU_ASSERT_EQUAL(a.exc, 0);
	CU_ASSERT(!memcmp(a.addr, "\x0a\x01\x00\x01", 4));
	CU_ASSERT_EQUAL(bcn_dp_parse_addr("fd00::1/64@1", &a, e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(a.family, AF_INET6);
	CU_ASSERT_EQUAL(a.prefix, 64);
	CU_ASSERT_EQUAL(a.exc, 1);
	const char *bad[] = { "10.1.0.1", "10.1.0.1/33", "fd00::1/129", "x/24", "10.1.0.1/24@",
			      "10.1.0.1/24@8", "10.1.0.1/2x", "/24", "10.1.0.1/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e[0] = '\0';
		CU_ASSERT_EQUAL(bcn_dp_parse_addr(bad[i], &a, e, sizeof(e)), -1);
		CU_ASSERT(e[0] != '\0');
	}
}

/* bcn_cfg_check's [dpdk] rules (app/core/bcn_cfg.c) */
static void t_cfg_check(void)
{
	struct bcn_cfg c;
	char e[256];
	bcn_cfg_defaults(&c);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, e, sizeof(e)), 0); /* socket: [dpdk] unused */
	CU_ASSERT_STRING_EQUAL(c.dpdk_ports, "");
	CU_ASSERT_EQUAL(c.dpdk_burst, 32);
	CU_ASSERT_EQUAL(c.dpdk_main_lcore, -1);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "driver.name", "dpdk", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, e, sizeof(e)), -1); /* no port */
	CU_ASSERT(strstr(e, "dpdk.ports") != NULL);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "dpdk.ports", " 0000:3b:00.0 ", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "driver.workers", "4", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "dpdk.lcores", "2-4", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, e, sizeof(e)), -1); /* 3 CPUs, 4 workers */
	CU_ASSERT(strstr(e, "dpdk.lcores") != NULL);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "dpdk.lcores", "2-5", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "dpdk.lcores", "2-x", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, e, sizeof(e)), -1);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "dpdk.burst", "129", e, sizeof(e)), -1);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_cfg_table, bcn_cfg_table_len, &c, "dpdk.mbufs", "64k", e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(c.dpdk_mbufs, 65536);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite("dpdk_pkt", NULL, NULL);
	CU_pSuite c = CU_add_suite("dpdk_conf", NULL, NULL);
	if (!s || !c ||
	    !CU_add_test(s, "checksum: RFC 1071 example", t_csum_rfc1071) ||
	    !CU_add_test(s, "checksum: random buffers, any alignment, split sums", t_csum_random) ||
	    !CU_add_test(s, "checksum: long buffers (vector lanes flushed), all ones", t_csum_long) ||
	    !CU_add_test(s, "beacon in every encapsulation", t_beacon_encaps) ||
	    !CU_add_test(s, "classes: checksums, fragments, protocols, ports", t_classes) ||
	    !CU_add_test(s, "exception classes and names", t_exception_classes) ||
	    !CU_add_test(s, "not IP: ARP, LLDP, 802.3, a third tag", t_not_ip) ||
	    !CU_add_test(s, "every truncation is short", t_every_truncation) ||
	    !CU_add_test(s, "impossible headers", t_bad_headers) ||
	    !CU_add_test(s, "IPv6 extension headers", t_ipv6_ext) ||
	    !CU_add_test(s, "NIC checksum flags", t_offload_flags) ||
	    !CU_add_test(s, "random mutations stay in bounds", t_random_mutations) ||
	    !CU_add_test(c, "split", t_split) ||
	    !CU_add_test(c, "PCI addresses and device names", t_pci_and_names) ||
	    !CU_add_test(c, "exception addresses", t_addrs) ||
	    !CU_add_test(c, "bcn_cfg_check: the [dpdk] keys", t_cfg_check)) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned f = CU_get_number_of_failures(), tf = CU_get_number_of_tests_failed();
	printf("\ntest-dpdk: %u tests, %u asserts; %u asserts failed\n", CU_get_number_of_tests_run(),
	       CU_get_number_of_asserts(), f);
	CU_cleanup_registry();
	return (f || tf) ? 1 : 0;
}
