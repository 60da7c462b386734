/*
 * fuzz_json.c - libFuzzer target for the JSON beacon parser (bcn_json_parse).
 *
 * Input: one JSON beacon, as bytes.  Besides "no crash, no UB, no leak":
 *   - the reason is one of the closed list;
 *   - the result does not depend on what the record held before (parsed
 *     twice, into a zeroed and into a garbage-filled record);
 *   - an accepted record passes fz_check_record (arena, UTF-8, limits, ...)
 *     and its token lies inside the input;
 *   - JSON round trip: bcn_json_encode_beacon(record) parses back OK to the
 *     same fields and token, and encoding that again gives the same bytes
 *     (what the encoder cannot say is masked: empty url/key/text lose their
 *     BCN_HAS_ bit, an absent ts comes back as 0, an empty token as none);
 *   - the two wire forms agree: bcn_bin_encode + bcn_bin_parse accepts the
 *     record iff the binary form can carry it, and gives the same fields;
 *   - bcn_record_to_json fits in BCN_RECORD_JSON_MAX and is one JSON object;
 *   - the encoders return 0 (and write nothing out of bounds) when the
 *     buffer is one byte too small.
 */
#include "fuzz_common.h"

static struct bcn_record r1, r2, r3, rb, pj, pb;
static char jbuf[BCN_RECORD_JSON_MAX], jbuf2[BCN_RECORD_JSON_MAX];
static uint8_t bbuf[BCN_MAX_BEACON + 64];

static void check_json_roundtrip(const struct bcn_record *r, const struct bcn_token *tok)
{
	size_t n = bcn_json_encode_beacon(r, tok->p, tok->n, jbuf, sizeof(jbuf));
	FZ_CHECK(n > 0);

	/* one byte less must fail cleanly */
	char *small = fz_dup(jbuf, n - 1);
	FZ_CHECK(bcn_json_encode_beacon(r, tok->p, tok->n, small, n - 1) == 0);
	free(small);

	char *copy = fz_dup(jbuf, n);
	struct bcn_token t3;
	int rc = bcn_json_parse(copy, n, &r3, &t3);
	if (n > BCN_MAX_BEACON) {
		FZ_CHECK(rc == BCN_R_TOO_LARGE);
	} else {
		FZ_CHECK(rc == BCN_OK);
		fz_check_record(&r3);
		FZ_CHECK(fz_same_fields(r, &r3, fz_json_lossy_bits(r)));
		FZ_CHECK(fz_same_token(tok, &t3, 0));
		/* encoding is a fixed point after one round */
		size_t n2 = bcn_json_encode_beacon(&r3, t3.p, t3.n, jbuf2, sizeof(jbuf2));
		FZ_CHECK(n2 == n && memcmp(jbuf, jbuf2, n) == 0);
	}
	free(copy);
}

static void check_bin_cross(const struct bcn_record *r, const struct bcn_token *tok)
{
	int bin_ok;
	size_t n = bcn_bin_encode(r, tok->p, tok->n, bbuf, sizeof(bbuf));
	FZ_CHECK(n > 0); /* all fields are within the binary form's limits */

	uint8_t *copy = fz_dup(bbuf, n);
	struct bcn_token tb;
	int rc = bcn_bin_parse(copy, n, &rb, &tb);
	fz_bin_project(r, &pj, &bin_ok);
	if (n > BCN_MAX_BEACON) {
		FZ_CHECK(rc == BCN_R_TOO_LARGE);
	} else if (bin_ok) {
		FZ_CHECK(rc == BCN_OK);
		fz_check_record(&rb);
		fz_bin_project(&rb, &pb, &bin_ok);
		FZ_CHECK(bin_ok);
		FZ_CHECK(fz_same_fields(&pj, &pb, 0));
		FZ_CHECK(fz_same_token(tok, &tb, 0));
	} else {
		/* JSON allows what the binary form cannot say (e.g. a player
		 * beacon without "event"); the binary parser must refuse it */
		FZ_CHECK(rc != BCN_OK);
		fz_check_reason(rc);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct bcn_token t1, t2;

	int rc = bcn_json_parse(buf, size, &r1, &t1);
	fz_check_reason(rc);
	FZ_LOG("json: %s\n", bcn_reason_name((unsigned)rc));

	memset(&r2, 0xa5, sizeof(r2));
	int rc2 = bcn_json_parse(buf, size, &r2, &t2);
	FZ_CHECK(rc2 == rc);
	if (size > BCN_MAX_BEACON)
		FZ_CHECK(rc == BCN_R_TOO_LARGE);
	if (rc != BCN_OK)
		return 0;

	fz_check_record(&r1);
	FZ_CHECK(fz_same_fields(&r1, &r2, 0) && fz_same_token(&t1, &t2, 1));
	FZ_CHECK(!(r1.has & BCN_HAS_USER)); /* never from the client's word */
	FZ_CHECK(bcn_uuid_is_nil(r1.user_id) && bcn_uuid_is_nil(r1.event_id));
	if (t1.p) {
		FZ_CHECK(t1.p >= buf && t1.p + t1.n <= buf + size);
		FZ_CHECK(t1.n <= BCN_MAX_TOKEN);
	} else {
		FZ_CHECK(t1.n == 0);
	}

	check_json_roundtrip(&r1, &t1);
	check_bin_cross(&r1, &t1);

	size_t n = bcn_record_to_json(&r1, jbuf, BCN_RECORD_JSON_MAX);
	FZ_CHECK(n > 0 && n <= BCN_RECORD_JSON_MAX);
	FZ_CHECK(fz_is_json_object(jbuf, n));
	char *small = fz_dup(jbuf, n - 1);
	FZ_CHECK(bcn_record_to_json(&r1, small, n - 1) == 0);
	free(small);
	return 0;
}
