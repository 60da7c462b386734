/*
 * bcn_dpdk_conf.c - parsing of the DPDK driver's config strings.  See
 * bcn_dpdk_conf.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "bcn_dpdk_conf.h"

int bcn_dp_split(const char *s, char (*out)[BCN_DP_TOKEN_MAX], int max)
{
	int n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!*s)
			return n;
		size_t l = strcspn(s, " \t\n\r");
		if (n >= max || l >= BCN_DP_TOKEN_MAX)
			return -1;
		memcpy(out[n], s, l);
		out[n][l] = '\0';
		n++;
		s += l;
	}
}

static int hexrun(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int bcn_dp_is_pci(const char *s)
{
	size_t l = strlen(s);
	if (l == 12 && s[4] == ':')
		s += 5, l -= 5;
	return l == 7 && s[2] == ':' && s[5] == '.' && hexrun(s, 2) && hexrun(s + 3, 2) &&
	       hexrun(s + 6, 1);
}

int bcn_dp_dev_name(const char *spec, char *name, size_t n)
{
	size_t l = strcspn(spec, ",");
	if (!l)
		return -1;
	if (bcn_dp_is_pci(spec)) {
		int w = snprintf(name, n, "%s%s", strlen(spec) == 7 ? "0000:" : "", spec);
		return w < 0 || (size_t)w >= n ? -1 : 0;
	}
	if (l >= n)
		return -1;
	memcpy(name, spec, l);
	name[l] = '\0';
	return 0;
}

int bcn_dp_parse_addr(const char *s, struct bcn_dp_addr *a, char *err, size_t errlen)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	memset(a, 0, sizeof(*a));
	if (!slash || (size_t)(slash - s) >= sizeof(buf)) {
		snprintf(err, errlen, "'%s': expected ADDRESS/PREFIX[@N]", s);
		return -1;
	}
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else {
		snprintf(err, errlen, "'%s': '%s' is not an IPv4 or IPv6 address", s, buf);
		return -1;
	}
	char *end;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (end == slash + 1 || p > (a->family == AF_INET ? 32u : 128u) || (*end && *end != '@')) {
		snprintf(err, errlen, "'%s': bad prefix length", s);
		return -1;
	}
	a->prefix = (unsigned)p;
	if (*end == '@') {
		const char *q = end + 1;
		unsigned long x = strtoul(q, &end, 10);
		if (end == q || *end || x >= BCN_DP_MAX_PORTS) {
			snprintf(err, errlen, "'%s': bad exception interface index after '@'", s);
			return -1;
		}
		a->exc = (unsigned)x;
	}
	return 0;
}
