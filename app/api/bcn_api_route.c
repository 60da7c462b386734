/*
 * bcn_api_route.c - the read API's router and parameter parsers.  See
 * bcn_api_route.h.  Pure functions: no I/O, no allocation, no globals
 * written; every read is bounded by the lengths passed in.
 */
#include <string.h>
#include <strings.h>
#include "bcn_api_route.h"
#include "bcn_proto.h"

static const char *const ep_names[BCN_API_EP__COUNT] = {
	"other", "rating", "reviews", "me_like", "me_bookmarks", "me_bookmark",
	"me_history", "me_continue", "me_progress",
};

const char *bcn_api_ep_name(unsigned ep)
{
	return ep < BCN_API_EP__COUNT ? ep_names[ep] : NULL;
}

int bcn_api_ep_needs_user(unsigned ep)
{
	return ep >= BCN_API_EP_ME_LIKE && ep < BCN_API_EP__COUNT;
}

int bcn_api_ep_paged(unsigned ep)
{
	return ep == BCN_API_EP_REVIEWS || ep == BCN_API_EP_ME_BOOKMARKS ||
	       ep == BCN_API_EP_ME_HISTORY || ep == BCN_API_EP_ME_CONTINUE;
}

int bcn_api_limit_parse(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	if (n < 1 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > BCN_API_LIMIT_MAX)
		return -1;
	*out = v;
	return 0;
}

int bcn_api_cursor_parse(const char *s, size_t n, struct bcn_api_cursor *c)
{
	const char *dot = memchr(s, '.', n);
	uint64_t v = 0;
	size_t tl;
	uint8_t id[16];

	if (!dot)
		return -1;
	tl = (size_t)(dot - s);
	if (tl < 1 || tl > 19 || n - tl - 1 != 36)
		return -1;
	if (tl > 1 && s[0] == '0')
		return -1; /* one spelling per cursor: no leading zeros */
	for (size_t i = 0; i < tl; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits < 2^64: no wrap */
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	if (bcn_uuid_parse(dot + 1, 36, id))
		return -1;
	c->ts = (int64_t)v;
	memcpy(c->id, id, 16);
	return 0;
}

size_t bcn_api_cursor_format(const struct bcn_api_cursor *c, char *out)
{
	char tmp[20];
	size_t n = 0, o = 0;
	uint64_t v = c->ts > 0 ? (uint64_t)c->ts : 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		out[o++] = tmp[--n];
	out[o++] = '.';
	bcn_uuid_format(c->id, out + o);
	o += 36;
	out[o] = '\0';
	return o;
}

int bcn_api_bearer(const char *auth, size_t n, const char **tok, size_t *tok_len)
{
	size_t i = 6;
	if (n < 8 || strncasecmp(auth, "Bearer", 6) || (auth[6] != ' ' && auth[6] != '\t'))
		return -1;
	while (i < n && (auth[i] == ' ' || auth[i] == '\t'))
		i++;
	size_t e = n;
	while (e > i && (auth[e - 1] == ' ' || auth[e - 1] == '\t'))
		e--;
	if (e == i)
		return -1;
	for (size_t k = i; k < e; k++)
		if ((unsigned char)auth[k] <= 0x20 || (unsigned char)auth[k] >= 0x7f)
			return -1;
	*tok = auth + i;
	*tok_len = e - i;
	return 0;
}

/* ---- path ---------------------------------------------------------------- */

#define MAX_SEGS 5
struct seg {
	const char *p;
	size_t n;
};

static int seg_is(const struct seg *s, const char *lit)
{
	size_t l = strlen(lit);
	return s->n == l && !memcmp(s->p, lit, l);
}

/* Split "/a/b/c" into segments; -1 on an empty segment (//, trailing /),
 * no leading '/', or more than MAX_SEGS. */
static int split(const char *path, size_t n, struct seg *sg)
{
	int k = 0;
	size_t i = 1;
	if (n < 2 || path[0] != '/')
		return -1;
	while (i <= n) {
		const char *slash = i < n ? memchr(path + i, '/', n - i) : NULL;
		size_t e = slash ? (size_t)(slash - path) : n;
		if (e == i || k == MAX_SEGS)
			return -1;
		sg[k].p = path + i;
		sg[k].n = e - i;
		k++;
		i = e + 1;
		if (!slash)
			break;
	}
	return k;
}

/* Which endpoint; *film the segment holding the film id (or NULL). */
static unsigned match(const struct seg *sg, int k, const struct seg **film)
{
	*film = NULL;
	if (k < 3 || !seg_is(&sg[0], "v1"))
		return BCN_API_EP_NONE;
	if (k == 4 && seg_is(&sg[1], "films")) {
		*film = &sg[2];
		if (seg_is(&sg[3], "rating"))
			return BCN_API_EP_RATING;
		if (seg_is(&sg[3], "reviews"))
			return BCN_API_EP_REVIEWS;
		return BCN_API_EP_NONE;
	}
	if (!seg_is(&sg[1], "me"))
		return BCN_API_EP_NONE;
	if (k == 3) {
		if (seg_is(&sg[2], "bookmarks"))
			return BCN_API_EP_ME_BOOKMARKS;
		if (seg_is(&sg[2], "history"))
			return BCN_API_EP_ME_HISTORY;
		if (seg_is(&sg[2], "continue"))
			return BCN_API_EP_ME_CONTINUE;
		return BCN_API_EP_NONE;
	}
	if (k == 4) {
		*film = &sg[3];
		if (seg_is(&sg[2], "likes"))
			return BCN_API_EP_ME_LIKE;
		if (seg_is(&sg[2], "bookmarks"))
			return BCN_API_EP_ME_BOOKMARK;
		if (seg_is(&sg[2], "progress"))
			return BCN_API_EP_ME_PROGRESS;
	}
	return BCN_API_EP_NONE;
}

/* ---- query string ---------------------------------------------------------- */

static int hexv(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out[cap]; returns the length, or -1 on a bad
 * escape, %00, or a result longer than cap. */
static long pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexv(s[i + 1]);
			l = hexv(s[i + 2]);
			if (h < 0 || l < 0 || (h | l) == 0)
				return -1;
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (o == cap)
			return -1;
		out[o++] = c;
	}
	return (long)o;
}

static int parse_query(const char *q, size_t n, struct bcn_api_req *r, const char **why)
{
	int seen_limit = 0;
	size_t i = 0;
	while (i < n) {
		const char *amp = memchr(q + i, '&', n - i);
		size_t e = amp ? (size_t)(amp - q) : n;
		if (e > i) {
			const char *kv = q + i, *eq = memchr(kv, '=', e - i);
			size_t kl = eq ? (size_t)(eq - kv) : e - i;
			const char *v = eq ? eq + 1 : kv + kl;
			size_t vl = eq ? e - i - kl - 1 : 0;
			char buf[BCN_API_CURSOR_MAX + 8];
			long dl;
			int is_limit = kl == 5 && !memcmp(kv, "limit", 5);
			int is_cursor = kl == 6 && !memcmp(kv, "cursor", 6);

			if (!bcn_api_ep_paged(r->ep)) {
				*why = "this endpoint takes no query parameters";
				return 400;
			}
			if (!is_limit && !is_cursor) {
				*why = "unknown query parameter (this endpoint takes limit and cursor)";
				return 400;
			}
			if ((is_limit && seen_limit) || (is_cursor && r->has_cursor)) {
				*why = "query parameter given twice";
				return 400;
			}
			dl = pct_decode(v, vl, buf, sizeof(buf));
			if (is_limit) {
				if (dl < 0 || bcn_api_limit_parse(buf, (size_t)dl, &r->limit)) {
					*why = "limit must be an integer from 1 to 100";
					return 400;
				}
				seen_limit = 1;
			} else {
				if (dl < 0 || bcn_api_cursor_parse(buf, (size_t)dl, &r->cursor)) {
					*why = "malformed cursor (pass next_cursor back unchanged)";
					return 400;
				}
				r->has_cursor = 1;
			}
		}
		if (!amp)
			break;
		i = e + 1;
	}
	return 0;
}

int bcn_api_route(enum bcn_http_method method, const char *path, size_t path_len,
		  const char *query, size_t query_len, struct bcn_api_req *r, const char **why)
{
	struct seg sg[MAX_SEGS];
	const struct seg *film;
	int k;

	memset(r, 0, sizeof(*r));
	r->limit = BCN_API_LIMIT_DEFAULT;
	k = split(path, path_len, sg);
	r->ep = k > 0 ? match(sg, k, &film) : BCN_API_EP_NONE;
	if (r->ep == BCN_API_EP_NONE) {
		*why = "no such resource (see docs/read-api.md)";
		return 404;
	}
	if (method != BCN_HTTP_GET && method != BCN_HTTP_HEAD) {
		*why = "method not allowed: use GET";
		return 405;
	}
	if (film) {
		if (bcn_uuid_parse(film->p, film->n, r->film_id)) {
			*why = "malformed film id: expected a UUID (8-4-4-4-12 hex)";
			return 400;
		}
		r->has_film = 1;
	}
	if (query)
		return parse_query(query, query_len, r, why);
	return 0;
}
