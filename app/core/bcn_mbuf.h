/*
 * bcn_mbuf.h - append-only text into a fixed buffer, for the Prometheus text
 * exposition format.
 *
 * Why this exists: /metrics is rendered into a buffer preallocated at
 * start-up, so scraping allocates nothing.  A render that does not fit sets
 * `overflow`, and the caller answers 500 rather than a truncated page that
 * Prometheus would half-parse.
 */
#ifndef BCN_MBUF_H
#define BCN_MBUF_H

#include <stddef.h>
#include <stdint.h>

struct bcn_mbuf {
	char *p;
	size_t len, cap;
	int overflow;
};

/* Start writing into buf[cap].  Can't fail. */
void bcn_mb_init(struct bcn_mbuf *m, char *buf, size_t cap);
/* printf-append; on overflow sets m->overflow and keeps what fit. */
void bcn_mb_printf(struct bcn_mbuf *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "# HELP name help\n# TYPE name type\n".  Same failure rule. */
void bcn_mb_family(struct bcn_mbuf *m, const char *name, const char *type, const char *help);

/* One histogram series: name_bucket{labels,le="le[b]"} cum[b] for each of
 * the n buckets (cumulative counts, the last one le="+Inf"), then name_sum
 * (sum, in the histogram's unit) and name_count (= cum[n-1]).  labels is
 * the series' other labels, `k="v",...` without braces ("" for none).
 * Same failure rule. */
void bcn_mb_histogram(struct bcn_mbuf *m, const char *name, const char *labels,
		      const char *const *le, const uint64_t *cum, unsigned n, double sum);

/*
 * The process-memory families every daemon of the project exports, named
 * <prefix>_resident_memory_bytes, <prefix>_virtual_memory_bytes (from
 * /proc/self/statm) and <prefix>_jemalloc_bytes{stat=...} (allocated,
 * active, resident, mapped, metadata, retained; only when jemalloc is the
 * allocator: mallctl is looked up weakly, so programs on libc malloc, like
 * the unit tests, link and report RSS only).  Same failure rule as above.
 */
void bcn_mb_process_memory(struct bcn_mbuf *m, const char *prefix);

#endif
