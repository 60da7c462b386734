/*
 * fuzz_api_route.c - libFuzzer target for beacon-api's request router and
 * parsers (app/api/bcn_api_route.c) and its JSON string escaper
 * (app/api/bcn_api_json.c): everything a client controls before a request
 * reaches PostgreSQL, and the only free text we answer with.
 *
 * Input: byte 0 picks the method, the rest is a request target (split at
 * the first '?' as the HTTP engine does); the same bytes are also fed to
 * the cursor, limit and Authorization parsers and to the escaper.
 * Invariants beyond "no crash" (ASan sees every read past the input: each
 * part is an exact-size heap copy):
 *   - route returns 0, 400, 404 or 405; 404 <=> no endpoint; 0 => limit in
 *     1..100, a film id exactly when the endpoint has one in its path, the
 *     cursor's ts >= 0;
 *   - an accepted cursor formats back to the same text (ignoring hex case);
 *   - an accepted limit is 1..100 and all digits;
 *   - a bearer token lies inside the input and has no blank/control byte;
 *   - the escaper's output decodes (as JSON) back to exactly the input,
 *     holds no raw byte < 0x20, and is as long as bcn_api_json_str_len says.
 * Built by app/api/module.mk (build/fuzz/fuzz_api_route).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "bcn_api_json.h"
#include "bcn_api_route.h"

static void fail(const char *what, const uint8_t *d, size_t n)
{
	fprintf(stderr, "fuzz invariant violated: %s: %.*s\n", what, (int)(n > 200 ? 200 : n), d);
	abort();
}

static char *dup(const uint8_t *p, size_t n)
{
	char *q = malloc(n ? n : 1);
	if (!q)
		abort();
	if (n)
		memcpy(q, p, n);
	return q;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode a JSON string literal (as our escaper writes it); -1 if not one. */
static long unjson(const char *s, size_t n, char *out)
{
	size_t o = 0;
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return -1;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"')
			return -1;
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		if (++i + 1 >= n)
			return -1;
		switch (s[i]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'u':
			if (i + 5 >= n || s[i + 1] != '0' || s[i + 2] != '0' || hexv(s[i + 3]) < 0 ||
			    hexv(s[i + 4]) < 0)
				return -1;
			out[o++] = (char)(hexv(s[i + 3]) << 4 | hexv(s[i + 4]));
			i += 4;
			break;
		default:
			return -1;
		}
	}
	return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const enum bcn_http_method meth[4] = { BCN_HTTP_GET, BCN_HTTP_HEAD, BCN_HTTP_POST,
						      BCN_HTTP_OTHER };
	if (n < 1)
		return 0;
	enum bcn_http_method m = meth[d[0] & 3];
	const uint8_t *t = d + 1;
	size_t tn = n - 1;
	const uint8_t *qm = memchr(t, '?', tn);
	size_t pl = qm ? (size_t)(qm - t) : tn;
	char *path = dup(t, pl), *query = qm ? dup(qm + 1, tn - pl - 1) : NULL;
	struct bcn_api_req r;
	const char *why = NULL;

	int st = bcn_api_route(m, path, pl, query, qm ? tn - pl - 1 : 0, &r, &why);
	if (st != 0 && st != 400 && st != 404 && st != 405)
		fail("route: unexpected status", d, n);
	if ((st == 404) != (r.ep == BCN_API_EP_NONE))
		fail("route: 404 iff no endpoint", d, n);
	if (st && !why)
		fail("route: an error without a reason", d, n);
	if (st == 0) {
		int film_in_path = r.ep == BCN_API_EP_RATING || r.ep == BCN_API_EP_REVIEWS ||
				   r.ep == BCN_API_EP_ME_LIKE || r.ep == BCN_API_EP_ME_BOOKMARK ||
				   r.ep == BCN_API_EP_ME_PROGRESS;
		if (r.ep >= BCN_API_EP__COUNT || r.limit < 1 || r.limit > BCN_API_LIMIT_MAX ||
		    r.has_film != film_in_path || (r.has_cursor && r.cursor.ts < 0) ||
		    (r.has_cursor && !bcn_api_ep_paged(r.ep)) || (m != BCN_HTTP_GET && m != BCN_HTTP_HEAD))
			fail("route: accepted an inconsistent request", d, n);
	}
	free(path);
	free(query);

	char *s = dup(t, tn);
	struct bcn_api_cursor c;
	if (bcn_api_cursor_parse(s, tn, &c) == 0) {
		char out[BCN_API_CURSOR_MAX + 1];
		size_t ol = bcn_api_cursor_format(&c, out);
		if (c.ts < 0 || ol != tn || strncasecmp(out, s, tn))
			fail("cursor: does not format back to itself", d, n);
	}
	unsigned lim;
	if (bcn_api_limit_parse(s, tn, &lim) == 0) {
		if (lim < 1 || lim > BCN_API_LIMIT_MAX)
			fail("limit: out of range", d, n);
		for (size_t i = 0; i < tn; i++)
			if (!isdigit((unsigned char)s[i]))
				fail("limit: accepted a non-digit", d, n);
	}
	const char *tok;
	size_t tl;
	if (bcn_api_bearer(s, tn, &tok, &tl) == 0) {
		if (tok < s || tok + tl > s + tn || tl == 0)
			fail("bearer: token outside the input", d, n);
		for (size_t i = 0; i < tl; i++)
			if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
				fail("bearer: blank or control byte in the token", d, n);
	}

	/* the escaper: decodes back to the input */
	size_t cap = 6 * tn + 2;
	char *jb = malloc(cap), *dec = malloc(tn + 1);
	struct bcn_mbuf mb;
	bcn_mb_init(&mb, jb, cap);
	bcn_api_json_str(&mb, s, tn);
	if (mb.overflow || mb.len != bcn_api_json_str_len(s, tn))
		fail("json: overflow or length mismatch", d, n);
	long dl = unjson(jb, mb.len, dec);
	if (dl != (long)tn || memcmp(dec, s, tn))
		fail("json: does not decode back to the input", d, n);
	/* and into a buffer that is too small: never past cap */
	if (tn > 4) {
		bcn_mb_init(&mb, jb, tn / 2);
		bcn_api_json_str(&mb, s, tn);
		if (!mb.overflow || mb.len > tn / 2)
			fail("json: wrote past a small buffer", d, n);
	}
	free(jb);
	free(dec);
	free(s);
	return 0;
}
