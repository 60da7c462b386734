/*
 * fuzz_api.c - libFuzzer target for beacond's HTTP beacon API handler
 * (bcn_api_handle: line splitting, auth header, room check, error body).
 *
 * Input: byte 0 picks the Authorization header (none, a valid token, a
 * garbage one, "Bearer" with nothing), byte 1 the ring's fill level, the rest
 * is the request body.  Invariants besides "no crash, no UB, no leak":
 *   - the status is one of 204, 400, 401, 413, 503;
 *   - 503 leaves the ring and the accepted counters exactly as they were;
 *   - 204 means every non-blank line was accepted, 400/401 that the body is
 *     one JSON object whose "accepted" + "rejected" equals the line count
 *     (and "accepted" equals the records that reached the ring);
 *   - the response body fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_app.h"
#include "bcn_http.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_api: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static struct bcn_app app;
static struct bcn_worker *w;
static char token[512], auth[600];
static char out[8192];

static void init(void)
{
	char err[256];
	bcn_cfg_defaults(&app.cfg);
	app.cfg.ring_bytes = 256 * 1024;
	bcn_ingest_cfg_defaults(&app.icfg);
	app.icfg.skew_past_ms = INT64_MAX / 4; /* accept any plausible ts */
	app.icfg.skew_future_ms = INT64_MAX / 4;
	CHECK(bcn_jwt_ring_init(&app.keys, "fuzz-key") == 0);
	app.nworkers = 1;
	w = aligned_alloc(64, sizeof(*w));
	app.w = w;
	CHECK(bcn_worker_setup(&app, w, 0, err, sizeof(err)) == 0);
	CHECK(bcn_jwt_sign((const uint8_t *)"fuzz-key", 8, "7f9c1e2a-0000-4000-8000-000000000001",
			   4102444799, token, sizeof(token)) > 0);
}

static uint64_t accepted_http(void)
{
	uint64_t n = 0;
	for (int t = 0; t < BCN_T__COUNT; t++)
		n += BCN_GET(w->st.accepted[BCN_SRC_HTTP][t]);
	return n;
}

static void drain(void)
{
	size_t len;
	while (bcn_ring_peek(&w->ring, &len))
		bcn_ring_release(&w->ring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char filler[] =
		"{\"type\":\"view\",\"ts\":1732265687123,\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10\","
		"\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"position_ms\":1,\"duration_ms\":2}";
	struct bcn_http_req req = { 0 };
	struct bcn_http_resp resp = { 0 };

	if (!w)
		init();
	if (size < 2)
		return 0;
	drain();
	/* fill the ring to a level chosen by the input */
	for (unsigned i = 0; i < (unsigned)(data[1] & 15) * 40; i++)
		bcn_worker_ingest(w, BCN_FMT_JSON, filler, sizeof(filler) - 1, NULL, 0, BCN_SRC_UDP);

	switch (data[0] & 3) {
	case 1:
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		req.auth = auth;
		break;
	case 2:
		req.auth = "Bearer a.b.c";
		break;
	case 3:
		req.auth = "Bearer";
		break;
	}
	req.auth_len = req.auth ? strlen(req.auth) : 0;
	req.method = BCN_HTTP_POST;
	req.path = "/v1/beacons";
	req.path_len = 11;
	char *body = malloc(size - 2 + 1); /* exact size: ASan sees overreads */
	memcpy(body, data + 2, size - 2);
	req.body = body;
	req.body_len = size - 2;
	resp.status = 500;
	resp.body = out;
	resp.body_cap = sizeof(out);

	uint64_t used = bcn_ring_used(&w->ring), acc = accepted_http();
	bcn_api_handle(w, &req, &resp);
	uint64_t got = accepted_http() - acc;
	CHECK(resp.body_len <= resp.body_cap);
	switch (resp.status) {
	case 503:
		CHECK(bcn_ring_used(&w->ring) == used);
		CHECK(got == 0);
		break;
	case 204:
		CHECK(got >= 1);
		break;
	case 413:
		CHECK(got == 0);
		break;
	case 400:
	case 401: {
		unsigned long a = 0, r = 0;
		const char *p = memmem(out, resp.body_len, "\"accepted\":", 11);
		if (p && resp.body_len > 0 && out[0] == '{') {
			CHECK(sscanf(p, "\"accepted\":%lu,\"rejected\":%lu", &a, &r) == 2);
			CHECK(a == got);
			CHECK(r >= 1);
		} else {
			/* the empty-body answer */
			CHECK(got == 0);
		}
		break;
	}
	default:
		CHECK(!"unexpected status");
	}
	free(body);
	return 0;
}
