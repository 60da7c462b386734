/*
 * test_beacond.c - unit tests of beacond's own modules: the config table and
 * its cross-key checks, the worker's all-or-nothing room check, the HTTP
 * beacon API handler (status codes, error body, 503 without side effects),
 * topic routing and the metrics text buffer.  No sockets, no Kafka: the
 * handler is called directly on a worker whose ring is inspected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include "bcn_app.h"
#include "bcn_http.h"
#include "bcn_mbuf.h"

static struct bcn_app app;
static struct bcn_worker *w;
static char scratch[8192];

static int setup_worker(size_t ring_bytes)
{
	char err[256];
	memset(&app, 0, sizeof(app));
	bcn_cfg_defaults(&app.cfg);
	app.cfg.ring_bytes = (int64_t)ring_bytes;
	bcn_ingest_cfg_defaults(&app.icfg);
	if (bcn_jwt_ring_init(&app.keys, "unit-key"))
		return -1;
	app.nworkers = 1;
	w = aligned_alloc(64, sizeof(*w));
	app.w = w;
	if (bcn_worker_setup(&app, w, 0, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void free_worker(void)
{
	bcn_worker_fini(w);
	free(w);
	w = NULL;
}

static size_t ring_count(void)
{
	/* count and consume */
	size_t n = 0, len;
	while (bcn_ring_peek(&w->ring, &len)) {
		bcn_ring_release(&w->ring);
		n++;
	}
	return n;
}

static int call(const char *method_path, const char *body, size_t len, const char *auth,
		struct bcn_http_resp *resp)
{
	struct bcn_http_req req = { 0 };
	const char *sp = strchr(method_path, ' ');
	req.method = !strncmp(method_path, "POST", 4) ? BCN_HTTP_POST
		     : !strncmp(method_path, "GET", 3) ? BCN_HTTP_GET : BCN_HTTP_OTHER;
	req.path = sp + 1;
	req.path_len = strlen(sp + 1);
	req.body = body;
	req.body_len = len;
	req.auth = auth;
	req.auth_len = auth ? strlen(auth) : 0;
	memset(resp, 0, sizeof(*resp));
	resp->status = 500;
	resp->body = scratch;
	resp->body_cap = sizeof(scratch);
	bcn_api_handle(w, &req, resp);
	return resp->status;
}

static int view_line(char *out, size_t cap, int64_t now, unsigned i)
{
	return snprintf(out, cap,
			"{\"type\":\"view\",\"ts\":%lld,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-%012x\","
			"\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"position_ms\":%u,"
			"\"duration_ms\":5820000}",
			(long long)now, i, i * 1000u);
}

static void test_cfg_defaults_and_checks(void)
{
	struct bcn_cfg c;
	char err[256];
	bcn_cfg_defaults(&c);
	CU_ASSERT_EQUAL(bcn_cfg_check(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.udp_port, 7070);
	CU_ASSERT_EQUAL(c.http_port, 8080);
	CU_ASSERT_EQUAL(c.metrics_port, 9470);
	CU_ASSERT_STRING_EQUAL(c.udp_addr, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(c.kafka_compression, "lz4");
	CU_ASSERT_STRING_EQUAL(c.topic_views, "ugc.views");

	struct bcn_cfg b = c;
	b.ring_bytes = 3 << 20;
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "power of two"));
	b = c;
	b.ring_bytes = 64 * 1024; /* a power of two, but < 4 records */
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);
	b = c;
	strcpy(b.driver, "netmap");
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);
	b = c;
	strcpy(b.kafka_compression, "brotli");
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);
	b = c;
	b.workers = 2;
	strcpy(b.worker_cpus, "3");
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);
	strcpy(b.worker_cpus, "2-3");
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), 0);
	b.kafka_threads = 3;
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);
	b = c;
	b.udp_enabled = b.http_enabled = 0;
	CU_ASSERT_EQUAL(bcn_cfg_check(&b, err, sizeof(err)), -1);

	/* every key of the table loads back from --print-config's output */
	char path[] = "/tmp/bcn-cfg-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	bcn_conf_print(bcn_cfg_table, bcn_cfg_table_len, &c, f);
	fclose(f);
	struct bcn_cfg d;
	bcn_cfg_defaults(&d);
	d.udp_port = 1;
	CU_ASSERT_EQUAL(bcn_conf_load(bcn_cfg_table, bcn_cfg_table_len, &d, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof(c)), 0);
	unlink(path);
}

static void test_cfg_cpu_list(void)
{
	int cpus[8];
	CU_ASSERT_EQUAL(bcn_cfg_cpu_list("", cpus, 8), 0);
	CU_ASSERT_EQUAL(bcn_cfg_cpu_list("0,2-4,7", cpus, 8), 5);
	CU_ASSERT_EQUAL(cpus[0], 0);
	CU_ASSERT_EQUAL(cpus[1], 2);
	CU_ASSERT_EQUAL(cpus[3], 4);
	CU_ASSERT_EQUAL(cpus[4], 7);
	CU_ASSERT_EQUAL(bcn_cfg_cpu_list("4-2", cpus, 8), -1);
	CU_ASSERT_EQUAL(bcn_cfg_cpu_list("1,,2", cpus, 8), -1);
	CU_ASSERT_EQUAL(bcn_cfg_cpu_list("a", cpus, 8), -1);
	CU_ASSERT_EQUAL(bcn_cfg_cpu_list("0-8", cpus, 8), -1);
}

static void test_api_statuses(void)
{
	struct bcn_http_resp resp;
	char body[4096];
	int64_t now = bcn_now_ms();
	CU_ASSERT_FATAL(setup_worker(1 << 20) == 0);

	/* one beacon */
	int n = view_line(body, sizeof(body), now, 1);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, (size_t)n, NULL, &resp), 204);
	CU_ASSERT_EQUAL(resp.body_len, 0);
	CU_ASSERT_EQUAL(ring_count(), 1);

	/* NDJSON with CRLF, blank lines and a bad second beacon */
	n = view_line(body, sizeof(body), now, 2);
	n += snprintf(body + n, sizeof(body) - (size_t)n, "\r\n\r\n{\"type\":\"nope\"}\n");
	n += view_line(body + n, sizeof(body) - (size_t)n, now, 3);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, (size_t)n, NULL, &resp), 400);
	scratch[resp.body_len] = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(scratch, "{\"line\":3,\"reason\":\"unknown_type\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(scratch, "\"accepted\":2,\"rejected\":1,\"truncated\":false"));
	CU_ASSERT_EQUAL(ring_count(), 2);

	/* UGC without a token: 401; with a token signed by our key: 204 */
	n = snprintf(body, sizeof(body),
		     "{\"type\":\"like\",\"ts\":%lld,\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\","
		     "\"score\":1}", (long long)now);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, (size_t)n, NULL, &resp), 401);
	CU_ASSERT_STRING_EQUAL(resp.extra_header, "WWW-Authenticate: Bearer");
	scratch[resp.body_len] = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(scratch, "auth_required"));
	char tok[512], auth[600];
	CU_ASSERT_FATAL(bcn_jwt_sign((const uint8_t *)"unit-key", 8, "7f9c1e2a-0000-4000-8000-000000000001",
				     now / 1000 + 3600, tok, sizeof(tok)) > 0);
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, (size_t)n, auth, &resp), 204);
	snprintf(auth, sizeof(auth), "bearer   %s", tok); /* scheme is case-insensitive */
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, (size_t)n, auth, &resp), 204);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, (size_t)n, "Basic abc", &resp), 401);
	CU_ASSERT_EQUAL(ring_count(), 2);
	/* two UGC lines without a token: 400 (401 is for single beacons) */
	char two[2048];
	int m = snprintf(two, sizeof(two), "%.*s\n%.*s\n", n, body, n, body);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", two, (size_t)m, NULL, &resp), 400);

	/* routing and methods */
	CU_ASSERT_EQUAL(call("GET /v1/beacons", "", 0, NULL, &resp), 405);
	CU_ASSERT_EQUAL(call("POST /v1/beacon", body, (size_t)n, NULL, &resp), 404);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", "\n \r\n", 4, NULL, &resp), 400);

	/* more lines than http.max_lines: 413, nothing taken */
	app.cfg.http_max_lines = 3;
	size_t len = 0;
	for (unsigned i = 0; i < 4; i++) {
		len += (size_t)view_line(body + len, sizeof(body) - len, now, 10 + i);
		body[len++] = '\n';
	}
	CU_ASSERT_EQUAL(call("POST /v1/beacons", body, len, NULL, &resp), 413);
	CU_ASSERT_EQUAL(ring_count(), 0);

	/* a binary beacon as the body */
	struct bcn_record r;
	struct bcn_token t;
	n = view_line(body, sizeof(body), now, 20);
	CU_ASSERT_FATAL(bcn_json_parse(body, (size_t)n, &r, &t) == BCN_OK);
	uint8_t bin[512];
	size_t bl = bcn_bin_encode(&r, NULL, 0, bin, sizeof(bin));
	CU_ASSERT_FATAL(bl > 0);
	CU_ASSERT_EQUAL(call("POST /v1/beacons", (const char *)bin, bl, NULL, &resp), 204);
	CU_ASSERT_EQUAL(ring_count(), 1);
	CU_ASSERT_EQUAL(BCN_GET(w->st.accepted[BCN_SRC_HTTP][BCN_T_VIEW]), 4);
	CU_ASSERT_EQUAL(BCN_GET(w->st.accepted[BCN_SRC_HTTP][BCN_T_LIKE]), 2);
	CU_ASSERT_EQUAL(BCN_GET(w->st.rejected[BCN_SRC_HTTP][BCN_R_UNKNOWN_TYPE]), 1);
	free_worker();
}

/* Fill the ring to random levels; whenever bcn_worker_has_room says a
 * request fits, every one of its beacons must get in (the 503 promise), and
 * a refused request must leave the ring exactly as it was. */
static void test_api_all_or_nothing(void)
{
	struct bcn_http_resp resp;
	static char body[256 * 1024];
	int64_t now = bcn_now_ms();
	unsigned seed = 12345;
	int refused = 0, taken = 0;
	CU_ASSERT_FATAL(setup_worker(128 * 1024) == 0);
	for (int round = 0; round < 300; round++) {
		unsigned pre = (seed = seed * 1103515245u + 12345u) >> 16 & 63;
		for (unsigned i = 0; i < pre; i++) {
			int n = view_line(body, sizeof(body), now, i);
			bcn_worker_ingest(w, BCN_FMT_JSON, body, (size_t)n, NULL, 0, BCN_SRC_UDP);
		}
		unsigned lines = 1 + ((seed = seed * 1103515245u + 12345u) >> 16 & 255);
		size_t len = 0;
		for (unsigned i = 0; i < lines; i++) {
			len += (size_t)view_line(body + len, sizeof(body) - len, now, i);
			body[len++] = '\n';
		}
		uint64_t used = bcn_ring_used(&w->ring);
		uint64_t acc = BCN_GET(w->st.accepted[BCN_SRC_HTTP][BCN_T_VIEW]);
		int st = call("POST /v1/beacons", body, len, NULL, &resp);
		if (st == 503) {
			refused++;
			CU_ASSERT_EQUAL(resp.retry_after_s, 1);
			CU_ASSERT_EQUAL(bcn_ring_used(&w->ring), used);
			CU_ASSERT_EQUAL(BCN_GET(w->st.accepted[BCN_SRC_HTTP][BCN_T_VIEW]), acc);
		} else {
			taken++;
			CU_ASSERT_EQUAL(st, 204);
			CU_ASSERT_EQUAL(BCN_GET(w->st.accepted[BCN_SRC_HTTP][BCN_T_VIEW]), acc + lines);
		}
		/* the consumer takes a random part */
		unsigned take = (seed = seed * 1103515245u + 12345u) >> 16 & 511;
		size_t l;
		for (unsigned i = 0; i < take && bcn_ring_peek(&w->ring, &l); i++)
			bcn_ring_release(&w->ring);
	}
	CU_ASSERT(refused > 10);
	CU_ASSERT(taken > 10);
	CU_ASSERT(BCN_GET(w->st.dropped[BCN_D_HTTP_BUSY]) > 0);
	free_worker();
}

static void test_topics_and_mbuf(void)
{
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_VIEW), BCN_TOPIC_VIEWS);
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_PLAYER), BCN_TOPIC_VIEWS);
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_PAGE), BCN_TOPIC_EVENTS);
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_ACTION), BCN_TOPIC_EVENTS);
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_LIKE), BCN_TOPIC_ACTIONS);
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_REVIEW), BCN_TOPIC_ACTIONS);
	CU_ASSERT_EQUAL(bcn_kafka_topic_of(BCN_T_BOOKMARK), BCN_TOPIC_ACTIONS);

	char buf[16];
	struct bcn_mbuf mb;
	bcn_mb_init(&mb, buf, sizeof(buf));
	bcn_mb_printf(&mb, "abc %d\n", 42);
	CU_ASSERT_EQUAL(mb.len, 7);
	CU_ASSERT_FALSE(mb.overflow);
	bcn_mb_printf(&mb, "0123456789");
	CU_ASSERT_TRUE(mb.overflow);
	CU_ASSERT_EQUAL(mb.len, 7);
	bcn_mb_printf(&mb, "x");
	CU_ASSERT_EQUAL(mb.len, 7); /* stays overflowed */

	/* a histogram series, with and without other labels */
	char hb[512];
	static const char *const le[] = { "0.1", "1", "+Inf" };
	const uint64_t cum[] = { 2, 5, 7 };
	bcn_mb_init(&mb, hb, sizeof(hb));
	bcn_mb_histogram(&mb, "x_seconds", "w=\"1\"", le, cum, 3, 1.5);
	CU_ASSERT_FALSE(mb.overflow);
	CU_ASSERT_NSTRING_EQUAL(hb, "x_seconds_bucket{w=\"1\",le=\"0.1\"} 2\n"
				    "x_seconds_bucket{w=\"1\",le=\"1\"} 5\n"
				    "x_seconds_bucket{w=\"1\",le=\"+Inf\"} 7\n"
				    "x_seconds_sum{w=\"1\"} 1.500000000\n"
				    "x_seconds_count{w=\"1\"} 7\n", mb.len);
	bcn_mb_init(&mb, hb, sizeof(hb));
	bcn_mb_histogram(&mb, "y", "", le, cum, 3, 0.25);
	CU_ASSERT_EQUAL(mb.len, strlen("y_bucket{le=\"0.1\"} 2\ny_bucket{le=\"1\"} 5\n"
				       "y_bucket{le=\"+Inf\"} 7\ny_sum 0.250000000\ny_count 7\n"));
	CU_ASSERT_NSTRING_EQUAL(hb, "y_bucket{le=\"0.1\"} 2\ny_bucket{le=\"1\"} 5\n"
				    "y_bucket{le=\"+Inf\"} 7\ny_sum 0.250000000\ny_count 7\n", mb.len);
	CU_ASSERT_STRING_EQUAL(bcn_drop_name(BCN_D_RING_FULL), "ring_full");
	CU_ASSERT_STRING_EQUAL(bcn_drop_name(99), "?");
}

int test_beacond_register(void)
{
	CU_pSuite s = CU_add_suite("beacond", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "config table defaults, cross-key checks, print/load round trip",
			 test_cfg_defaults_and_checks) ||
	    !CU_add_test(s, "worker CPU lists", test_cfg_cpu_list) ||
	    !CU_add_test(s, "HTTP API: 204, 400 body, 401, 404, 405, 413, binary", test_api_statuses) ||
	    !CU_add_test(s, "HTTP API: 503 is all-or-nothing (300 random rounds)", test_api_all_or_nothing) ||
	    !CU_add_test(s, "topic routing, metrics buffer, histogram series", test_topics_and_mbuf))
		return -1;
	return 0;
}
