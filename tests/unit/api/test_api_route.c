/*
 * test_api_route.c - beacon-api's router and parsers (app/api/bcn_api_route.c):
 * every endpoint, the 404/405/400 answers, limit, cursor and Authorization
 * parsing, with malicious inputs (overlong numbers, encodings, separators,
 * NUL bytes, traversal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "bcn_api_route.h"
#include "test_api.h"

#define F1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

/* Route path?query (split at the first '?'); returns the status. */
static int route(enum bcn_http_method m, const char *target, struct bcn_api_req *r)
{
	const char *why = NULL, *q = strchr(target, '?');
	size_t pl = q ? (size_t)(q - target) : strlen(target);
	/* exact-size heap copies, so ASan catches a read past either end */
	char *p = malloc(pl ? pl : 1), *qq = NULL;
	memcpy(p, target, pl);
	size_t ql = q ? strlen(q + 1) : 0;
	if (q) {
		qq = malloc(ql ? ql : 1);
		memcpy(qq, q + 1, ql);
	}
	int st = bcn_api_route(m, p, pl, qq, ql, r, &why);
	if (st)
		CU_ASSERT_PTR_NOT_NULL(why);
	free(p);
	free(qq);
	return st;
}

static void test_endpoints(void)
{
	static const struct { const char *t; unsigned ep; int film; } ok[] = {
		{ "/v1/films/" F1 "/rating", BCN_API_EP_RATING, 1 },
		{ "/v1/films/" F1 "/reviews", BCN_API_EP_REVIEWS, 1 },
		{ "/v1/me/likes/" F1, BCN_API_EP_ME_LIKE, 1 },
		{ "/v1/me/bookmarks", BCN_API_EP_ME_BOOKMARKS, 0 },
		{ "/v1/me/bookmarks/" F1, BCN_API_EP_ME_BOOKMARK, 1 },
		{ "/v1/me/history", BCN_API_EP_ME_HISTORY, 0 },
		{ "/v1/me/continue", BCN_API_EP_ME_CONTINUE, 0 },
		{ "/v1/me/progress/" F1, BCN_API_EP_ME_PROGRESS, 1 },
	};
	struct bcn_api_req r;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(route(BCN_HTTP_GET, ok[i].t, &r), 0);
		CU_ASSERT_EQUAL(r.ep, ok[i].ep);
		CU_ASSERT_EQUAL(r.has_film, ok[i].film);
		CU_ASSERT_EQUAL(r.limit, BCN_API_LIMIT_DEFAULT);
		CU_ASSERT_EQUAL(r.has_cursor, 0);
		if (ok[i].film)
			CU_ASSERT_EQUAL(r.film_id[0], 0xaa);
		CU_ASSERT_EQUAL(route(BCN_HTTP_HEAD, ok[i].t, &r), 0);
		CU_ASSERT_EQUAL(route(BCN_HTTP_POST, ok[i].t, &r), 405);
		CU_ASSERT_EQUAL(r.ep, ok[i].ep);
		CU_ASSERT_EQUAL(route(BCN_HTTP_OTHER, ok[i].t, &r), 405);
		CU_ASSERT_EQUAL(bcn_api_ep_needs_user(ok[i].ep), ok[i].t[4] == 'm');
	}
	/* upper-case UUIDs are the same film */
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/films/AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA/rating", &r), 0);
	CU_ASSERT_EQUAL(r.film_id[15], 0xaa);
	CU_ASSERT_STRING_EQUAL(bcn_api_ep_name(BCN_API_EP_NONE), "other");
	CU_ASSERT_STRING_EQUAL(bcn_api_ep_name(BCN_API_EP_ME_CONTINUE), "me_continue");
	CU_ASSERT_PTR_NULL(bcn_api_ep_name(BCN_API_EP__COUNT));
}

static void test_not_found(void)
{
	static const char *const nf[] = {
		"/", "", "/v1", "/v1/", "/v1/films", "/v1/films/" F1, "/v1/films/" F1 "/",
		"/v1/films/" F1 "/rating/", "/v1/films/" F1 "/ratings", "/v1/films//rating",
		"/v2/films/" F1 "/rating", "/V1/films/" F1 "/rating", "/v1/me", "/v1/me/",
		"/v1/me/bookmarks/", "/v1/me/likes", "/v1/me/progress", "/v1/me/history/" F1,
		"/v1/me/continue/" F1, "/v1/me/likes/" F1 "/x", "//v1/me/history", "v1/me/history",
		"/v1/me/history/../history", "/v1/films/a/b/rating", "/v1/me/bookmarks/" F1 "/" F1,
		"/v1/me/historyx", "/v1/me/histor", "/v1/me/x/y/z/w/v/u",
	};
	struct bcn_api_req r;
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		int st = route(BCN_HTTP_GET, nf[i], &r);
		if (st != 404)
			fprintf(stderr, "\n  expected 404 for '%s', got %d\n", nf[i], st);
		CU_ASSERT_EQUAL(st, 404);
		CU_ASSERT_EQUAL(r.ep, BCN_API_EP_NONE);
		/* an unknown path is 404 whatever the method */
		CU_ASSERT_EQUAL(route(BCN_HTTP_POST, nf[i], &r), 404);
	}
	/* a NUL inside the path (the engine passes lengths, not C strings) */
	const char p[] = "/v1/me/hist\0ry";
	const char *why;
	CU_ASSERT_EQUAL(bcn_api_route(BCN_HTTP_GET, p, sizeof(p) - 1, NULL, 0, &r, &why), 404);
}

static void test_bad_film(void)
{
	static const char *const bad[] = {
		"/v1/films/x/rating",
		"/v1/films/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa/rating",     /* 35 */
		"/v1/films/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaaa/rating",   /* 37 */
		"/v1/films/aaaaaaaaaaaaa-4aaa-8aaa-aaaaaaaaaaaaa/rating",   /* dashes moved */
		"/v1/films/gaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa/rating",    /* not hex */
		"/v1/films/%61aaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaa/rating",    /* encoded */
		"/v1/me/likes/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa%20",
		"/v1/me/progress/ aaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
		"/v1/me/bookmarks/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa;x",
		"/v1/me/likes/'or'1'='1",
	};
	struct bcn_api_req r;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = route(BCN_HTTP_GET, bad[i], &r);
		if (st != 400)
			fprintf(stderr, "\n  expected 400 for '%s', got %d\n", bad[i], st);
		CU_ASSERT_EQUAL(st, 400);
	}
	/* the method is checked before the id */
	CU_ASSERT_EQUAL(route(BCN_HTTP_POST, "/v1/films/x/rating", &r), 405);
	/* a NUL inside the id */
	char p[] = "/v1/me/likes/" F1;
	const char *why;
	p[20] = '\0';
	CU_ASSERT_EQUAL(bcn_api_route(BCN_HTTP_GET, p, sizeof(p) - 1, NULL, 0, &r, &why), 400);
}

static void test_limit(void)
{
	unsigned v = 77;
	CU_ASSERT_EQUAL(bcn_api_limit_parse("1", 1, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(bcn_api_limit_parse("100", 3, &v), 0);
	CU_ASSERT_EQUAL(v, 100);
	CU_ASSERT_EQUAL(bcn_api_limit_parse("050", 3, &v), 0);
	CU_ASSERT_EQUAL(v, 50);
	static const char *const bad[] = { "", "0", "000", "101", "999", "1000", "-1", "+5", " 5",
					   "5 ", "1e2", "0x10", "18446744073709551617", "2147483648", "a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 77;
		CU_ASSERT_EQUAL(bcn_api_limit_parse(bad[i], strlen(bad[i]), &v), -1);
		CU_ASSERT_EQUAL(v, 77);
	}
}

static void test_cursor(void)
{
	struct bcn_api_cursor c, d;
	char out[BCN_API_CURSOR_MAX + 1];
	CU_ASSERT_EQUAL(bcn_api_cursor_parse("4000." F1, 5 + 36, &c), 0);
	CU_ASSERT_EQUAL(c.ts, 4000);
	CU_ASSERT_EQUAL(c.id[0], 0xaa);
	CU_ASSERT_EQUAL(bcn_api_cursor_format(&c, out), 41);
	CU_ASSERT_STRING_EQUAL(out, "4000." F1);
	const char *mx = "9223372036854775807.FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF";
	CU_ASSERT_EQUAL(bcn_api_cursor_parse(mx, strlen(mx), &c), 0);
	CU_ASSERT_EQUAL(c.ts, INT64_MAX);
	CU_ASSERT_EQUAL(bcn_api_cursor_format(&c, out), BCN_API_CURSOR_MAX);
	CU_ASSERT_STRING_EQUAL(out, "9223372036854775807.ffffffff-ffff-ffff-ffff-ffffffffffff");
	CU_ASSERT_EQUAL(bcn_api_cursor_parse(out, strlen(out), &d), 0);
	CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof(c)), 0);
	CU_ASSERT_EQUAL(bcn_api_cursor_parse("0." F1, 2 + 36, &c), 0);
	CU_ASSERT_EQUAL(c.ts, 0);

	static const char *const bad[] = {
		"", ".", "4000", "4000.", "." F1, "-1." F1, "+1." F1, "01." F1, "00." F1,
		"9223372036854775808." F1,            /* INT64_MAX + 1 */
		"18446744073709551616." F1,           /* 2^64 */
		"99999999999999999999." F1,           /* 20 digits */
		"1 ." F1, "1.." F1, "1." F1 ".", "1." F1 "0", "1.aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa",
		"1:" F1, "1e3." F1, "0x10." F1, "1.gaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0x5a, sizeof(c));
		int r = bcn_api_cursor_parse(bad[i], strlen(bad[i]), &c);
		if (r != -1)
			fprintf(stderr, "\n  cursor '%s' accepted\n", bad[i]);
		CU_ASSERT_EQUAL(r, -1);
		CU_ASSERT_EQUAL(c.id[3], 0x5a);
	}
	/* a NUL in the middle */
	char z[] = "4000." F1;
	z[2] = '\0';
	CU_ASSERT_EQUAL(bcn_api_cursor_parse(z, sizeof(z) - 1, &c), -1);
}

static void test_query(void)
{
	struct bcn_api_req r;
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/me/history?limit=5", &r), 0);
	CU_ASSERT_EQUAL(r.limit, 5);
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/me/history?", &r), 0);
	CU_ASSERT_EQUAL(r.limit, BCN_API_LIMIT_DEFAULT);
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/me/continue?limit=100&cursor=12." F1, &r), 0);
	CU_ASSERT_EQUAL(r.limit, 100);
	CU_ASSERT_EQUAL(r.has_cursor, 1);
	CU_ASSERT_EQUAL(r.cursor.ts, 12);
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/films/" F1 "/reviews?cursor=7." F1 "&limit=1", &r), 0);
	CU_ASSERT_EQUAL(r.cursor.ts, 7);
	CU_ASSERT_EQUAL(r.limit, 1);
	/* empty pairs are skipped; percent-encoding is decoded */
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/me/bookmarks?&limit=%33&&", &r), 0);
	CU_ASSERT_EQUAL(r.limit, 3);
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, "/v1/me/bookmarks?cursor=12%2E" F1, &r), 0);
	CU_ASSERT_EQUAL(r.cursor.ts, 12);

	static const char *const bad[] = {
		"/v1/me/history?limit=0", "/v1/me/history?limit=101", "/v1/me/history?limit=",
		"/v1/me/history?limit", "/v1/me/history?limit=-5", "/v1/me/history?limit=5&limit=6",
		"/v1/me/history?limit=99999999999999999999999", "/v1/me/history?limit=1%00",
		"/v1/me/history?limit=%", "/v1/me/history?limit=%4", "/v1/me/history?limit=%zz",
		"/v1/me/history?limit=1;drop", "/v1/me/history?cursor=", "/v1/me/history?cursor",
		"/v1/me/history?cursor=abc", "/v1/me/history?cursor=1." F1 "&cursor=1." F1,
		"/v1/me/history?offset=10", "/v1/me/history?LIMIT=5", "/v1/me/history?limit =5",
		"/v1/me/history?cursor=1.%27%20OR%201=1--aaaaaaaaaaaaaaaaaaaaaaaaa",
		"/v1/films/" F1 "/rating?limit=5", "/v1/films/" F1 "/rating?x", "/v1/me/likes/" F1 "?cursor=1." F1,
		"/v1/me/progress/" F1 "?a=b", "/v1/me/bookmarks/" F1 "?limit=1",
		"/v1/me/history?cursor=1%2E" F1 "%00",
		"/v1/me/history?limit=1%2B1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = route(BCN_HTTP_GET, bad[i], &r);
		if (st != 400)
			fprintf(stderr, "\n  expected 400 for '%s', got %d\n", bad[i], st);
		CU_ASSERT_EQUAL(st, 400);
	}
	/* a very long query string is refused, not overflowed */
	char big[8192];
	int n = snprintf(big, sizeof(big), "/v1/me/history?cursor=");
	memset(big + n, '9', sizeof(big) - (size_t)n - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(route(BCN_HTTP_GET, big, &r), 400);
}

static void test_bearer(void)
{
	const char *t;
	size_t n;
	CU_ASSERT_EQUAL(bcn_api_bearer("Bearer abc.def.ghi", 18, &t, &n), 0);
	CU_ASSERT_EQUAL(n, 11);
	CU_ASSERT_EQUAL(memcmp(t, "abc.def.ghi", 11), 0);
	CU_ASSERT_EQUAL(bcn_api_bearer("bearer   x  ", 12, &t, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(*t, 'x');
	static const char *const bad[] = { "", "Bearer", "Bearer ", "Bearer    ", "Basic abc",
					   "Bearerabc", "Bearer a b", "Token abc", "Bearer a\x01",
					   "Bearer \xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(bcn_api_bearer(bad[i], strlen(bad[i]), &t, &n), -1);
}

int test_api_route_register(void)
{
	CU_pSuite s = CU_add_suite("api: routing and parsing", NULL, NULL);
	return !s || !CU_add_test(s, "every endpoint, GET/HEAD ok, others 405", test_endpoints) ||
	       !CU_add_test(s, "unknown paths: 404", test_not_found) ||
	       !CU_add_test(s, "malformed film ids: 400", test_bad_film) ||
	       !CU_add_test(s, "limit", test_limit) ||
	       !CU_add_test(s, "cursor: round trip and malicious", test_cursor) ||
	       !CU_add_test(s, "query strings", test_query) ||
	       !CU_add_test(s, "Authorization: Bearer", test_bearer);
}
