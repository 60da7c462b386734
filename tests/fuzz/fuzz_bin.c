/*
 * fuzz_bin.c - libFuzzer target for the binary beacon parser (bcn_bin_parse).
 *
 * Input: one binary v1 beacon.  Besides "no crash, no UB, no leak":
 *   - the reason is one of the closed list, and the result does not depend
 *     on what the record held before;
 *   - an accepted record passes fz_check_record, and its token is exactly
 *     the input's last T bytes;
 *   - the binary form is canonical: bcn_bin_encode(record, token) gives back
 *     the input byte for byte (and 0 when the buffer is one byte short);
 *   - the two wire forms agree: the record's JSON beacon parses back to the
 *     same fields (unless the token has bytes JSON must escape, which a JSON
 *     token may not carry: then bad_token, or bad_utf8 for a NUL), and
 *     binary -> JSON -> binary is the identity.
 */
#include "fuzz_common.h"

static struct bcn_record r1, r2, rj;
static uint8_t bbuf[BCN_MAX_BEACON + 64];
static char jbuf[BCN_RECORD_JSON_MAX];

static int token_needs_escape(const struct bcn_token *t)
{
	for (size_t i = 0; i < t->n; i++) {
		uint8_t c = (uint8_t)t->p[i];
		if (c < 0x20 || c == '"' || c == '\\')
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bcn_token t1, t2;

	int rc = bcn_bin_parse(data, size, &r1, &t1);
	fz_check_reason(rc);
	FZ_LOG("bin: %s\n", bcn_reason_name((unsigned)rc));
	memset(&r2, 0x5a, sizeof(r2));
	FZ_CHECK(bcn_bin_parse(data, size, &r2, &t2) == rc);
	if (size > BCN_MAX_BEACON)
		FZ_CHECK(rc == BCN_R_TOO_LARGE);
	if (rc != BCN_OK)
		return 0;

	fz_check_record(&r1);
	FZ_CHECK(fz_same_fields(&r1, &r2, 0) && fz_same_token(&t1, &t2, 1));
	FZ_CHECK(!(r1.has & BCN_HAS_USER) && bcn_uuid_is_nil(r1.user_id));
	FZ_CHECK(r1.has & BCN_HAS_TS);
	if (t1.p)
		FZ_CHECK(t1.n > 0 && t1.p + t1.n == (const char *)data + size);
	else
		FZ_CHECK(t1.n == 0);

	/* binary -> record -> binary is the identity */
	size_t n = bcn_bin_encode(&r1, t1.p, t1.n, bbuf, sizeof(bbuf));
	FZ_CHECK(n == size && memcmp(bbuf, data, size) == 0);
	uint8_t *small = fz_dup(bbuf, n - 1);
	FZ_CHECK(bcn_bin_encode(&r1, t1.p, t1.n, small, n - 1) == 0);
	free(small);

	/* binary -> JSON beacon -> record: same fields */
	size_t jn = bcn_json_encode_beacon(&r1, t1.p, t1.n, jbuf, sizeof(jbuf));
	FZ_CHECK(jn > 0);
	char *jcopy = fz_dup(jbuf, jn);
	struct bcn_token tj;
	int jrc = bcn_json_parse(jcopy, jn, &rj, &tj);
	if (jn > BCN_MAX_BEACON) {
		FZ_CHECK(jrc == BCN_R_TOO_LARGE);
	} else if (token_needs_escape(&t1)) {
		/* an escaped NUL is bad_utf8 wherever it is */
		FZ_CHECK(jrc == (memchr(t1.p, 0, t1.n) ? BCN_R_BAD_UTF8 : BCN_R_BAD_TOKEN));
	} else {
		FZ_CHECK(jrc == BCN_OK);
		fz_check_record(&rj);
		FZ_CHECK(fz_same_fields(&r1, &rj, fz_json_lossy_bits(&r1)));
		FZ_CHECK(fz_same_token(&t1, &tj, 1));
		/* ... -> binary again: the original bytes */
		size_t n2 = bcn_bin_encode(&rj, tj.p, tj.n, bbuf, sizeof(bbuf));
		FZ_CHECK(n2 == size && memcmp(bbuf, data, size) == 0);
	}
	free(jcopy);

	size_t rn = bcn_record_to_json(&r1, jbuf, BCN_RECORD_JSON_MAX);
	FZ_CHECK(rn > 0 && fz_is_json_object(jbuf, rn));
	return 0;
}
