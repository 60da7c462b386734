/*
 * bcn_mbuf.c - fixed-buffer text appender.  See bcn_mbuf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include "bcn_mbuf.h"

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
