/*
 * bcn_api_json.c - JSON string escaping into a fixed buffer.  See
 * bcn_api_json.h.
 */
#include <string.h>
#include "bcn_api_json.h"
#include "bcn_proto.h"

void bcn_api_json_raw(struct bcn_mbuf *m, const char *s, size_t n)
{
	if (m->overflow)
		return;
	if (n > m->cap - m->len) {
		m->overflow = 1;
		return;
	}
	memcpy(m->p + m->len, s, n);
	m->len += n;
}

/* The escape of byte c, or NULL if it goes as it is. */
static const char *esc(unsigned char c, char tmp[7])
{
	static const char hx[] = "0123456789abcdef";
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	default:
		if (c >= 0x20 && c != 0x7f)
			return NULL;
		memcpy(tmp, "\\u00", 4);
		tmp[4] = hx[c >> 4];
		tmp[5] = hx[c & 15];
		tmp[6] = '\0';
		return tmp;
	}
}

size_t bcn_api_json_str_len(const char *s, size_t n)
{
	char tmp[7];
	size_t l = 2;
	for (size_t i = 0; i < n; i++) {
		const char *e = esc((unsigned char)s[i], tmp);
		l += e ? strlen(e) : 1;
	}
	return l;
}

void bcn_api_json_str(struct bcn_mbuf *m, const char *s, size_t n)
{
	char tmp[7];
	size_t run = 0;
	bcn_api_json_raw(m, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		const char *e = esc((unsigned char)s[i], tmp);
		if (!e)
			continue;
		bcn_api_json_raw(m, s + run, i - run);
		bcn_api_json_raw(m, e, strlen(e));
		run = i + 1;
	}
	bcn_api_json_raw(m, s + run, n - run);
	bcn_api_json_raw(m, "\"", 1);
}

void bcn_api_json_uuid(struct bcn_mbuf *m, const uint8_t u[16])
{
	char b[38];
	b[0] = '"';
	bcn_uuid_format(u, b + 1);
	b[37] = '"';
	bcn_api_json_raw(m, b, 38);
}
