/*
 * bcn_mbuf.c - fixed-buffer text appender.  See bcn_mbuf.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include "bcn_mbuf.h"

/* jemalloc's control interface, weak: NULL when jemalloc is not linked. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
	__attribute__((weak));

void bcn_mb_init(struct bcn_mbuf *m, char *buf, size_t cap)
{
	m->p = buf;
	m->len = 0;
	m->cap = cap;
	m->overflow = 0;
}

void bcn_mb_printf(struct bcn_mbuf *m, const char *fmt, ...)
{
	va_list ap;
	if (m->overflow)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(m->p + m->len, m->cap - m->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= m->cap - m->len) {
		m->overflow = 1;
		return;
	}
	m->len += (size_t)n;
}

void bcn_mb_family(struct bcn_mbuf *m, const char *name, const char *type, const char *help)
{
	bcn_mb_printf(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void bcn_mb_histogram(struct bcn_mbuf *m, const char *name, const char *labels,
		      const char *const *le, const uint64_t *cum, unsigned n, double sum)
{
	const char *sep = labels[0] ? "," : "";
	for (unsigned b = 0; b < n; b++)
		bcn_mb_printf(m, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, le[b],
			      (unsigned long long)cum[b]);
	if (labels[0])
		bcn_mb_printf(m, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name, labels, sum, name, labels,
			      (unsigned long long)(n ? cum[n - 1] : 0));
	else
		bcn_mb_printf(m, "%s_sum %.9f\n%s_count %llu\n", name, sum, name,
			      (unsigned long long)(n ? cum[n - 1] : 0));
}

void bcn_mb_process_memory(struct bcn_mbuf *m, const char *prefix)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long vsz = 0, rss = 0;
	char name[96];
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &vsz, &rss) != 2)
			vsz = rss = 0;
		fclose(f);
	}
	snprintf(name, sizeof(name), "%s_resident_memory_bytes", prefix);
	bcn_mb_family(m, name, "gauge", "Resident set size of the process.");
	bcn_mb_printf(m, "%s %llu\n", name, rss * (unsigned long long)page);
	snprintf(name, sizeof(name), "%s_virtual_memory_bytes", prefix);
	bcn_mb_family(m, name, "gauge", "Virtual memory size of the process.");
	bcn_mb_printf(m, "%s %llu\n", name, vsz * (unsigned long long)page);
	if (!mallctl)
		return;
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	mallctl("epoch", &epoch, &sz, &epoch, sz); /* refresh jemalloc's stats */
	static const char *const keys[] = { "stats.allocated", "stats.active", "stats.resident",
					    "stats.mapped", "stats.metadata", "stats.retained" };
	snprintf(name, sizeof(name), "%s_jemalloc_bytes", prefix);
	bcn_mb_family(m, name, "gauge",
		      "jemalloc's own statistics (allocated, active, resident, mapped, metadata, retained).");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t v = 0;
		sz = sizeof(v);
		if (mallctl(keys[i], &v, &sz, NULL, 0) == 0)
			bcn_mb_printf(m, "%s{stat=\"%s\"} %zu\n", name, keys[i] + 6, v);
	}
}
