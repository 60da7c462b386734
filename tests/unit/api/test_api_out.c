/*
 * test_api_out.c - beacon-api's output side: JSON escaping of review text,
 * the rating cache (TTL, eviction, disabled), the statements' parameters,
 * rendering of results (built with libpq's PQsetvalue, no server needed)
 * including pages cut short to fit, and the config table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "bcn_api_app.h"
#include "bcn_api_json.h"
#include "test_api.h"

#define F1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define U1 "11111111-1111-4111-8111-111111111111"

static char buf[1 << 20];

static const char *esc(const char *s, size_t n)
{
	struct bcn_mbuf m;
	bcn_mb_init(&m, buf, sizeof(buf) - 1);
	bcn_api_json_str(&m, s, n);
	CU_ASSERT_FALSE(m.overflow);
	CU_ASSERT_EQUAL(bcn_api_json_str_len(s, n), m.len);
	buf[m.len] = '\0';
	return buf;
}

static void test_json_escape(void)
{
	CU_ASSERT_STRING_EQUAL(esc("plain", 5), "\"plain\"");
	CU_ASSERT_STRING_EQUAL(esc("", 0), "\"\"");
	CU_ASSERT_STRING_EQUAL(esc("a\"b", 3), "\"a\\\"b\"");
	CU_ASSERT_STRING_EQUAL(esc("a\\b", 3), "\"a\\\\b\"");
	CU_ASSERT_STRING_EQUAL(esc("\\\"", 2), "\"\\\\\\\"\"");
	CU_ASSERT_STRING_EQUAL(esc("l1\nl2\r\t\b\f", 9), "\"l1\\nl2\\r\\t\\b\\f\"");
	CU_ASSERT_STRING_EQUAL(esc("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	CU_ASSERT_STRING_EQUAL(esc("nul\0x", 5), "\"nul\\u0000x\"");
	/* UTF-8 (2, 3 and 4 bytes, U+2028) passes through byte for byte */
	const char *u = "\xc3\xbc \xe2\x80\x94 \xf0\x9f\x8e\xac \xe2\x80\xa8";
	char want[64];
	snprintf(want, sizeof(want), "\"%s\"", u);
	CU_ASSERT_STRING_EQUAL(esc(u, strlen(u)), want);
	/* "</script>" needs nothing in JSON */
	CU_ASSERT_STRING_EQUAL(esc("</script>", 9), "\"</script>\"");
	/* every byte value: the output has no raw control byte, and quotes
	 * and backslashes only as escapes */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	const char *o = esc(all, 256);
	size_t ol = strlen(o);
	for (size_t i = 0; i < ol; i++)
		CU_ASSERT((unsigned char)o[i] >= 0x20 && o[i] != 0x7f);
	/* overflow: sets the flag, never writes past cap */
	struct bcn_mbuf m;
	char small[8];
	memset(small, 'Z', sizeof(small));
	bcn_mb_init(&m, small, 6);
	bcn_api_json_str(&m, "abcdefgh", 8);
	CU_ASSERT_TRUE(m.overflow);
	CU_ASSERT(m.len <= 6);
	CU_ASSERT_EQUAL(small[6], 'Z');
	CU_ASSERT_EQUAL(small[7], 'Z');
}

static void test_cache(void)
{
	uint8_t f[16] = { 1, 2, 3 }, g[16] = { 9 };
	struct bcn_api_rating v = { 3, 1, 2, 17 }, o;
	struct bcn_api_cache_stats st;
	struct bcn_api_cache *c = bcn_api_cache_new(1000, 1000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	bcn_api_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.capacity, 1024);
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 5000, &o), 0);
	bcn_api_cache_put(c, f, 5000, &v);
	memset(&o, 0, sizeof(o));
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 5000, &o), 1);
	CU_ASSERT_EQUAL(memcmp(&o, &v, sizeof(v)), 0);
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 6000, &o), 1);   /* exactly ttl old */
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 6001, &o), 0);   /* older: miss */
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 4999, &o), 0);   /* clock went back: miss */
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, g, 5000, &o), 0);
	bcn_api_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.misses, 4);
	CU_ASSERT_EQUAL(st.expired, 2);
	CU_ASSERT_EQUAL(st.evictions, 0);
	/* a refresh replaces the value in place */
	v.likes = 4;
	bcn_api_cache_put(c, f, 7000, &v);
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 7500, &o), 1);
	CU_ASSERT_EQUAL(o.likes, 4);
	bcn_api_cache_free(c);

	/* eviction: 4 entries (one set of 4 ways), 5 films */
	c = bcn_api_cache_new(4, 1000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (int i = 0; i < 5; i++) {
		uint8_t k[16] = { (uint8_t)i };
		v.likes = i;
		bcn_api_cache_put(c, k, 100 + i, &v);
	}
	bcn_api_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.capacity, 4);
	CU_ASSERT_EQUAL(st.evictions, 1);
	uint8_t k0[16] = { 0 }, k4[16] = { 4 }, k1[16] = { 1 };
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, k0, 200, &o), 0);   /* the oldest went */
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, k4, 200, &o), 1);
	CU_ASSERT_EQUAL(o.likes, 4);
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, k1, 200, &o), 1);
	/* expired entries are reused before fresh ones are evicted */
	uint8_t k9[16] = { 9 };
	bcn_api_cache_put(c, k9, 2000, &v);
	bcn_api_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.evictions, 1);
	bcn_api_cache_free(c);

	/* disabled: ttl 0 or no entries */
	c = bcn_api_cache_new(1024, 0);
	bcn_api_cache_put(c, f, 1, &v);
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 1, &o), 0);
	bcn_api_cache_free(c);
	c = bcn_api_cache_new(0, 1000);
	bcn_api_cache_put(c, f, 1, &v);
	CU_ASSERT_EQUAL(bcn_api_cache_get(c, f, 1, &o), 0);
	bcn_api_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.capacity, 0);
	bcn_api_cache_free(c);
}

static void test_params(void)
{
	struct bcn_api_req r;
	struct bcn_api_params p;
	unsigned stmt;
	const char *why;
	uint8_t u[16];
	memset(u, 0x11, 16);
	const char *path = "/v1/me/history";
	const char *q = "limit=7&cursor=42." F1;
	CU_ASSERT_EQUAL_FATAL(bcn_api_route(BCN_HTTP_GET, path, strlen(path), q, strlen(q), &r, &why), 0);
	CU_ASSERT_EQUAL(bcn_api_params(&r, u, &stmt, &p), 4);
	CU_ASSERT_EQUAL(stmt, BCN_API_Q_HISTORY);
	CU_ASSERT_STRING_EQUAL(p.p[0], "11111111-1111-1111-1111-111111111111");
	CU_ASSERT_STRING_EQUAL(p.p[1], "42");
	CU_ASSERT_STRING_EQUAL(p.p[2], F1);
	CU_ASSERT_STRING_EQUAL(p.p[3], "8");          /* limit + 1: is there more? */
	CU_ASSERT_EQUAL(bcn_api_params(&r, NULL, &stmt, &p), -1); /* /v1/me needs a user */
	CU_ASSERT_EQUAL(bcn_api_stmts[stmt].nparams, 4);

	path = "/v1/films/" F1 "/reviews";
	CU_ASSERT_EQUAL_FATAL(bcn_api_route(BCN_HTTP_GET, path, strlen(path), NULL, 0, &r, &why), 0);
	CU_ASSERT_EQUAL(bcn_api_params(&r, NULL, &stmt, &p), 4);
	CU_ASSERT_EQUAL(stmt, BCN_API_Q_REVIEWS);
	CU_ASSERT_STRING_EQUAL(p.p[0], F1);
	CU_ASSERT_STRING_EQUAL(p.p[1], "9223372036854775807");
	CU_ASSERT_STRING_EQUAL(p.p[3], "21");

	path = "/v1/me/likes/" F1;
	CU_ASSERT_EQUAL_FATAL(bcn_api_route(BCN_HTTP_GET, path, strlen(path), NULL, 0, &r, &why), 0);
	CU_ASSERT_EQUAL(bcn_api_params(&r, u, &stmt, &p), 2);
	CU_ASSERT_EQUAL(stmt, BCN_API_Q_LIKE);
	CU_ASSERT_STRING_EQUAL(p.p[1], F1);
	/* every statement's parameter count matches what params gives */
	for (unsigned e = 1; e < BCN_API_EP__COUNT; e++) {
		memset(&r, 0, sizeof(r));
		r.ep = e;
		r.has_film = !bcn_api_ep_paged(e) || e == BCN_API_EP_REVIEWS;
		r.limit = 20;
		int n = bcn_api_params(&r, u, &stmt, &p);
		CU_ASSERT_EQUAL(n, bcn_api_stmts[stmt].nparams);
	}
}

/* A result with `cols` text columns and rows[r][c] values (NULL: SQL NULL). */
static PGresult *mkres(int cols, int nrows, const char *const *cells)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc at[8];
	char names[8][4];
	memset(at, 0, sizeof(at));
	for (int c = 0; c < cols; c++) {
		snprintf(names[c], sizeof(names[c]), "c%d", c);
		at[c].name = names[c];
		at[c].typlen = -1;
	}
	PQsetResultAttrs(r, cols, at);
	for (int i = 0; i < nrows; i++)
		for (int c = 0; c < cols; c++) {
			const char *v = cells[i * cols + c];
			PQsetvalue(r, i, c, (char *)v, v ? (int)strlen(v) : -1);
		}
	return r;
}

static int render(const char *target, const PGresult *res, size_t cap, char *out)
{
	struct bcn_api_req r;
	const char *why, *q = strchr(target, '?');
	size_t pl = q ? (size_t)(q - target) : strlen(target);
	CU_ASSERT_EQUAL_FATAL(bcn_api_route(BCN_HTTP_GET, target, pl, q ? q + 1 : NULL, q ? strlen(q + 1) : 0,
					    &r, &why), 0);
	struct bcn_mbuf m;
	bcn_mb_init(&m, out, cap);
	int rc = bcn_api_render(&r, res, &m);
	out[m.len < cap ? m.len : cap - 1] = '\0';
	return rc;
}

static void test_render(void)
{
	static char out[1 << 18];
	/* reviews: 3 rows for limit 2 -> 2 items and a cursor */
	const char *rv[] = {
		"00000000-0000-4000-8000-000000000005", U1, "10", "best \"one\"", "5000",
		"00000000-0000-4000-8000-000000000004", U1, "9", "tab\there", "5000",
		"00000000-0000-4000-8000-000000000002", U1, "7", "x", "4000",
	};
	PGresult *res = mkres(5, 3, rv);
	CU_ASSERT_EQUAL(render("/v1/films/" F1 "/reviews?limit=2", res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out,
		"{\"items\":[{\"review_id\":\"00000000-0000-4000-8000-000000000005\",\"user_id\":\"" U1
		"\",\"rating\":10,\"text\":\"best \\\"one\\\"\",\"ts\":5000},"
		"{\"review_id\":\"00000000-0000-4000-8000-000000000004\",\"user_id\":\"" U1
		"\",\"rating\":9,\"text\":\"tab\\there\",\"ts\":5000}],"
		"\"next_cursor\":\"5000.00000000-0000-4000-8000-000000000004\"}\n");
	/* the same rows with limit 3: the end */
	CU_ASSERT_EQUAL(render("/v1/films/" F1 "/reviews?limit=3", res, sizeof(out), out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"next_cursor\":null}"));
	/* too small for all: cut after what fits, cursor continues there */
	CU_ASSERT_EQUAL(render("/v1/films/" F1 "/reviews?limit=3", res, 260, out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"next_cursor\":\"5000.00000000-0000-4000-8000-000000000005\"}"));
	CU_ASSERT_PTR_NULL(strstr(out, "-000000000004"));
	/* not even one item fits: an error, not a broken page */
	CU_ASSERT_EQUAL(render("/v1/films/" F1 "/reviews?limit=3", res, 120, out), -1);
	PQclear(res);

	/* no rows */
	res = mkres(2, 0, NULL);
	CU_ASSERT_EQUAL(render("/v1/me/bookmarks", res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"items\":[],\"next_cursor\":null}\n");
	PQclear(res);
	/* a result of the wrong shape is refused */
	res = mkres(3, 0, NULL);
	CU_ASSERT_EQUAL(render("/v1/me/bookmarks", res, sizeof(out), out), -1);
	PQclear(res);

	const char *hv[] = { F1, "600000", "5400000", "f", "4500" };
	res = mkres(5, 1, hv);
	CU_ASSERT_EQUAL(render("/v1/me/continue", res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"items\":[{\"film_id\":\"" F1 "\",\"position_ms\":600000,"
		"\"duration_ms\":5400000,\"finished\":false,\"ts\":4500}],\"next_cursor\":null}\n");
	PQclear(res);
	const char *badv[] = { F1, "6x", "5400000", "f", "4500" };
	res = mkres(5, 1, badv);
	CU_ASSERT_EQUAL(render("/v1/me/history", res, sizeof(out), out), -1);
	PQclear(res);

	const char *lv[] = { "-1" };
	res = mkres(1, 1, lv);
	CU_ASSERT_EQUAL(render("/v1/me/likes/" F1, res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"film_id\":\"" F1 "\",\"state\":\"disliked\"}\n");
	PQclear(res);
	const char *l0[] = { "0" };
	res = mkres(1, 1, l0);
	CU_ASSERT_EQUAL(render("/v1/me/likes/" F1, res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"film_id\":\"" F1 "\",\"state\":\"none\"}\n");
	PQclear(res);

	res = mkres(4, 0, NULL);
	CU_ASSERT_EQUAL(render("/v1/me/progress/" F1, res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"film_id\":\"" F1 "\",\"position_ms\":0,\"duration_ms\":0,"
		"\"finished\":false,\"ts\":null}\n");
	PQclear(res);
	res = mkres(1, 0, NULL);
	CU_ASSERT_EQUAL(render("/v1/me/bookmarks/" F1, res, sizeof(out), out), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"film_id\":\"" F1 "\",\"bookmarked\":false}\n");
	PQclear(res);

	/* rating */
	struct bcn_api_rating v;
	const char *sv[] = { "1", "2", "4", "34" };
	res = mkres(4, 1, sv);
	CU_ASSERT_EQUAL(bcn_api_rating_from(res, &v), 0);
	PQclear(res);
	struct bcn_mbuf m;
	uint8_t film[16];
	memset(film, 0xaa, 16);
	bcn_mb_init(&m, out, sizeof(out));
	bcn_api_render_rating(film, &v, &m);
	out[m.len] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "{\"film_id\":\"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\",\"likes\":1,"
		"\"dislikes\":2,\"rating\":3.33,\"reviews\":4,\"avg_review_rating\":8.50}\n");
	res = mkres(4, 0, NULL);
	CU_ASSERT_EQUAL(bcn_api_rating_from(res, &v), 0);
	PQclear(res);
	bcn_mb_init(&m, out, sizeof(out));
	bcn_api_render_rating(film, &v, &m);
	out[m.len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"likes\":0,\"dislikes\":0,\"rating\":null,\"reviews\":0,"
					   "\"avg_review_rating\":null}"));
}

static void test_conf(void)
{
	struct bcn_api_cfg c;
	char err[512];
	bcn_api_cfg_defaults(&c);
	CU_ASSERT_EQUAL(bcn_api_cfg_check(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.port, 8090);
	CU_ASSERT_EQUAL(c.cache_ttl_ms, 1000);
	CU_ASSERT_EQUAL(c.http_resp_max, 128 << 10);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_api_cfg_table, bcn_api_cfg_table_len, &c, "pg.pool_size", "0",
				     err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_api_cfg_table, bcn_api_cfg_table_len, &c, "http.response_max", "64k",
				     err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_api_cfg_table, bcn_api_cfg_table_len, &c, "pg.query_timeout_ms", "10",
				     err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bcn_api_cfg_check(&c, err, sizeof(err)), -1); /* below statement_timeout */
	bcn_api_cfg_defaults(&c);
	CU_ASSERT_EQUAL(bcn_conf_set(bcn_api_cfg_table, bcn_api_cfg_table_len, &c, "auth.jwt_keys", "hex:zz",
				     err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bcn_api_cfg_check(&c, err, sizeof(err)), -1);
	bcn_api_cfg_defaults(&c);
	c.metrics_port = c.port;
	CU_ASSERT_EQUAL(bcn_api_cfg_check(&c, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(bcn_api_err_name(BCN_API_E_POOL_TIMEOUT), "pool_timeout");
	CU_ASSERT_PTR_NULL(bcn_api_err_name(BCN_API_E__COUNT));
	CU_ASSERT_STRING_EQUAL(bcn_api_pg_rc_name(BCN_API_PG_UNAVAILABLE), "unavailable");
}

int test_api_out_register(void)
{
	CU_pSuite s = CU_add_suite("api: output, cache, config", NULL, NULL);
	return !s || !CU_add_test(s, "JSON escaping of review text", test_json_escape) ||
	       !CU_add_test(s, "rating cache: TTL, eviction, disabled", test_cache) ||
	       !CU_add_test(s, "statement parameters", test_params) ||
	       !CU_add_test(s, "rendering results, pages cut to fit", test_render) ||
	       !CU_add_test(s, "config table and checks", test_conf);
}
