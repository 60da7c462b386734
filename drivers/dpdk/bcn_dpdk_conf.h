/*
 * bcn_dpdk_conf.h - the DPDK driver's reading of its `[dpdk]` config
 * strings (lists of ports, exception interfaces, addresses, EAL arguments).
 *
 * Why this exists: these strings are parsed once at start-up, and a typo in
 * one must stop beacond with a message rather than start a half-configured
 * fast path.  Kept free of DPDK so that the unit tier tests it (and
 * `--check-config` could use it) in builds without DPDK.
 */
#ifndef BCN_DPDK_CONF_H
#define BCN_DPDK_CONF_H

#include <stddef.h>
#include <stdint.h>

#define BCN_DP_MAX_PORTS 8     /* ports (and exception interfaces)       */
#define BCN_DP_MAX_TOKENS 64   /* words of dpdk.eal_args                 */
#define BCN_DP_TOKEN_MAX 256   /* bytes of one word, with its NUL        */
#define BCN_DP_MAX_ADDRS 16    /* entries of dpdk.exception_addrs        */

/*
 * Split s on blanks (space, tab, newline) into out[0..max).  Returns the
 * number of words (0 for an empty or blank s), or -1 if there are more than
 * max or one is longer than BCN_DP_TOKEN_MAX - 1 bytes.
 */
int bcn_dp_split(const char *s, char (*out)[BCN_DP_TOKEN_MAX], int max);

/* 1 if s is a PCI address (DDDD:BB:DD.F or BB:DD.F, hex), else 0. */
int bcn_dp_is_pci(const char *s);

/*
 * The device name of a port spec: a vdev string up to its first ',' (e.g.
 * "net_pcap0" of "net_pcap0,rx_pcap=x.pcap"), or a PCI address in the full
 * DDDD:BB:DD.F form (0000: added when missing).  Returns 0, or -1 if name
 * is too small or the spec is empty.
 */
int bcn_dp_dev_name(const char *spec, char *name, size_t n);

/* One entry of dpdk.exception_addrs: ADDR/PREFIX[@N]. */
struct bcn_dp_addr {
	int family;            /* AF_INET or AF_INET6              */
	uint8_t addr[16];      /* network order (4 bytes for IPv4) */
	unsigned prefix;       /* 0..32 or 0..128                  */
	unsigned exc;          /* exception interface index (N)    */
};

/*
 * Parse one ADDR/PREFIX[@N] (e.g. 10.1.0.1/24, fd00::1/64@1).  Returns 0, or
 * -1 with a message in err.
 */
int bcn_dp_parse_addr(const char *s, struct bcn_dp_addr *a, char *err, size_t errlen);

#endif
