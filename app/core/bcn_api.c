/*
 * bcn_api.c - the HTTP beacon API: POST /v1/beacons, on the worker that read
 * the request.
 *
 * Body: one JSON beacon, NDJSON (one per line, blank lines ignored, CRLF
 * accepted), or one binary v1 beacon (detected by its magic).  Identity comes
 * from `Authorization: Bearer TOKEN` (it takes precedence over a `token`
 * field).  Answers:
 *   204  every beacon accepted;
 *   400  some rejected (the valid ones were accepted): a JSON body names each
 *        rejected line and its reason;
 *   401  the body held one beacon, rejected for authentication
 *        (auth_required, bad_token, expired_token); WWW-Authenticate: Bearer;
 *   413  more than http.max_lines beacons (nothing accepted; the engine
 *        answers 413 itself for bodies over http.body_max);
 *   503  the worker's ring cannot take the whole request (Kafka is slow or
 *        down): nothing accepted, so a retry cannot duplicate;
 *   404/405 other paths / methods.
 * The all-or-nothing 503 works because only this worker produces into its
 * ring: once bcn_worker_has_room() says the whole request fits, it fits.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "bcn_app.h"
#include "bcn_http.h"
#include "bcn_mbuf.h"

static int is_auth_reason(int rc)
{
	return rc == BCN_R_AUTH_REQUIRED || rc == BCN_R_BAD_TOKEN || rc == BCN_R_EXPIRED_TOKEN;
}

static void reply_json(struct bcn_http_resp *resp, int status, const char *msg)
{
	struct bcn_mbuf mb;
	bcn_mb_init(&mb, resp->body, resp->body_cap);
	bcn_mb_printf(&mb, "{\"error\":\"%s\"}\n", msg);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body_len = mb.len;
}

void bcn_api_handle(void *ctx, const struct bcn_http_req *req, struct bcn_http_resp *resp)
{
	struct bcn_worker *w = ctx;
	const char *body = req->body, *end = req->body + req->body_len;
	const char *tok = NULL;
	size_t tok_len = 0, n = 0;

	if (req->path_len != 11 || memcmp(req->path, "/v1/beacons", 11)) {
		reply_json(resp, 404, "no such resource: POST /v1/beacons takes beacons");
		return;
	}
	if (req->method != BCN_HTTP_POST) {
		reply_json(resp, 405, "method not allowed: use POST");
		resp->extra_header = "Allow: POST";
		return;
	}
	if (req->auth) {
		/* "Bearer TOKEN"; anything else is passed whole and fails as
		 * bad_token on the lines that need it */
		tok = req->auth;
		tok_len = req->auth_len;
		if (tok_len > 7 && !strncasecmp(tok, "Bearer ", 7)) {
			tok += 7;
			tok_len -= 7;
			while (tok_len && *tok == ' ')
				tok++, tok_len--;
		}
	}
	bcn_worker_clock(w);

	int binary = bcn_format_of(body, req->body_len) == BCN_FMT_BINARY;
	if (binary) {
		n = 1;
	} else {
		for (const char *p = body; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl : end;
			while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			n += e > p;
			p = nl ? nl + 1 : end;
		}
	}
	if (n == 0) {
		reply_json(resp, 400, "empty body: send one JSON beacon or NDJSON");
		return;
	}
	if (n > (size_t)w->app->cfg.http_max_lines) {
		reply_json(resp, 413, "too many beacons in one request");
		return;
	}
	if (unlikely(!bcn_worker_has_room(w, n, req->body_len))) {
		BCN_INC(w->st.dropped[BCN_D_HTTP_BUSY], n);
		reply_json(resp, 503, "pipeline full: nothing was accepted, retry later");
		resp->retry_after_s = 1;
		return;
	}

	struct bcn_mbuf mb;
	size_t accepted = 0, rejected = 0, listed = 0, line = 0;
	int auth_fail = 0;
	bcn_mb_init(&mb, resp->body, resp->body_cap);
	bcn_mb_printf(&mb, "{\"errors\":[");
	for (const char *p = body; p < end;) {
		const char *nl = binary ? NULL : memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		line++;
		if (!binary)
			while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
		if (e > p) {
			int rc = bcn_worker_ingest(w, binary ? BCN_FMT_BINARY : BCN_FMT_JSON, p,
						   (size_t)(e - p), tok, tok_len, BCN_SRC_HTTP);
			if (rc == BCN_OK) {
				accepted++;
			} else {
				/* BCN_W_RING_FULL cannot happen after the room check */
				const char *why = rc > 0 ? bcn_reason_name((unsigned)rc) : "ring_full";
				auth_fail |= is_auth_reason(rc);
				/* keep room for the closing part; past it, only count */
				if (mb.cap - mb.len > 128) {
					bcn_mb_printf(&mb, "%s{\"line\":%zu,\"reason\":\"%s\"}",
						      listed ? "," : "", line, why);
					listed++;
				}
				rejected++;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (!rejected) {
		resp->status = 204;
		resp->body_len = 0;
		return;
	}
	/* the list is complete unless the body ran out of room (then the
	 * first `listed` rejected lines are named, and truncated is true) */
	bcn_mb_printf(&mb, "],\"accepted\":%zu,\"rejected\":%zu,\"truncated\":%s}\n", accepted,
		      rejected, listed < rejected ? "true" : "false");
	auth_fail &= n == 1;
	resp->status = auth_fail ? 401 : 400;
	resp->content_type = "application/json";
	resp->body_len = mb.len;
	if (auth_fail)
		resp->extra_header = "WWW-Authenticate: Bearer";
}
