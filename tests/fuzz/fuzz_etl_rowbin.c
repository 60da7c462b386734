/*
 * fuzz_etl_rowbin.c - libFuzzer target for beacon-etl's RowBinary encoder
 * (etl/bcn_etl_rowbin.c) and DESCRIBE parser.
 *
 * Input: byte 0 picks a plan (the views table's columns, or one column of
 * every type); the rest is a Kafka record.  Invariants beyond "no crash":
 *   - the hot path (the router's pairs, bcn_etl_route_tok +
 *     bcn_rb_encode_tok) and the reference (jsmn's tokens, bcn_rb_encode)
 *     give the same outcome and, when converted, the same bytes;
 *   - a converted row decodes by the plan to exactly its length, and every
 *     column equals the record's value read independently here: a UUID's
 *     hex text, an integer's decimal text, a string's bytes by a naive
 *     unescape written for this check;
 *   - the flat fast path (bcn_rb_encode_flat, no router), tried on every
 *     input with the views plan and with a "type" + one-column-of-each-type
 *     plan: when it converts, the router accepts the record as a "view"
 *     and the routed path writes the same bytes;
 *   - the same input as a DESCRIBE answer parses to 0 columns or to a plan
 *     whose column list is "(...)" of %60name%60 entries.
 * Built by etl/module.mk (build/fuzz/fuzz_etl_rowbin); run by `make
 * test-fuzz` through tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#include "bcn_etl_route.h"
#include "bcn_etl_rowbin.h"
#include "bcn_record.h"

static void fail(const char *what, const uint8_t *d, size_t n)
{
	fprintf(stderr, "fuzz invariant violated: %s: %.*s\n", what, (int)(n > 300 ? 300 : n), d);
	abort();
}

static const char *const plans[] = {
	"event_id\tUUID\t\t\ntype\tString\t\t\nts\tInt64\t\t\nrecv_ts\tInt64\t\t\nnode\tString\t\t\n"
	"source\tString\t\t\nuser_id\tUUID\t\t\nanon_id\tUUID\t\t\nsession_id\tUUID\t\t\n"
	"film_id\tUUID\t\t\nposition_ms\tUInt32\t\t\nduration_ms\tUInt32\t\t\n",
	"u\tUUID\t\t\ns\tString\t\t\na\tInt8\t\t\nb\tInt16\t\t\nc\tInt32\t\t\nd\tInt64\t\t\n"
	"e\tUInt8\t\t\nf\tUInt16\t\t\ng\tUInt32\t\t\nh\tUInt64\t\t\n",
	/* the flat path's second plan: its "type" column first */
	"type\tString\t\t\nu\tUUID\t\t\ns\tString\t\t\na\tInt8\t\t\nb\tInt16\t\t\n"
	"c\tInt32\t\t\nd\tInt64\t\t\ne\tUInt8\t\t\nf\tUInt16\t\t\ng\tUInt32\t\t\n"
	"h\tUInt64\t\t\n",
};

/* The flat path on plan p (its "type" column number tc): if it converts,
 * the router and the routed path must agree with it. */
static void flat_check(const struct bcn_rb_plan *p, int tc, const char *j, size_t jn, size_t cap,
		       const uint8_t *d, size_t n)
{
	static uint8_t o3[32768], o4[32768];
	size_t l3 = 0, l4 = 0;
	struct bcn_etl_tok tok[BCN_RB_MAX_TOKENS / 2];
	int nt;
	unsigned ty;
	if (bcn_rb_encode_flat(p, tc, "view", j, jn, o3, cap, &l3) != BCN_RB_OK)
		return;
	if (bcn_etl_route_tok(j, jn, &ty, tok, BCN_RB_MAX_TOKENS / 2, &nt) != BCN_ETL_R_OK ||
	    ty != BCN_T_VIEW)
		fail("flat path converted what the router refuses or types otherwise", d, n);
	if (bcn_rb_encode_tok(p, j, tok, nt, o4, cap, &l4) != BCN_RB_OK || l3 != l4 ||
	    memcmp(o3, o4, l3) || l3 > cap)
		fail("flat and routed paths differ", d, n);
}

static int hx(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* naive JSON unescape (no surrogates: the encoder falls back on them) */
static size_t naive(const char *s, size_t n, uint8_t *o)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			o[w++] = (uint8_t)s[i];
			continue;
		}
		char c = s[++i];
		if (c == 'u') {
			unsigned cp = (unsigned)(hx(s[i + 1]) << 12 | hx(s[i + 2]) << 8 | hx(s[i + 3]) << 4 | hx(s[i + 4]));
			i += 4;
			if (cp < 0x80) {
				o[w++] = (uint8_t)cp;
			} else if (cp < 0x800) {
				o[w++] = (uint8_t)(0xC0 | (cp >> 6));
				o[w++] = (uint8_t)(0x80 | (cp & 63));
			} else {
				o[w++] = (uint8_t)(0xE0 | (cp >> 12));
				o[w++] = (uint8_t)(0x80 | ((cp >> 6) & 63));
				o[w++] = (uint8_t)(0x80 | (cp & 63));
			}
		} else {
			o[w++] = (uint8_t)(c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c);
		}
	}
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct bcn_rb_plan pl[3], dp;
	static int init;
	if (!init) {
		for (int i = 0; i < 3; i++)
			if (!bcn_rb_plan_parse(&pl[i], plans[i], strlen(plans[i])))
				abort();
		init = 1;
	}
	if (bcn_rb_plan_parse(&dp, (const char *)d, n)) {
		size_t l = strlen(dp.collist);
		if (dp.collist[0] != '(' || dp.collist[l - 1] != ')' || dp.ncols > BCN_RB_MAX_COLS)
			fail("bad column list", d, n);
	}
	if (n < 1)
		return 0;
	const struct bcn_rb_plan *p = &pl[d[0] & 1];
	const char *j = (const char *)d + 1;
	size_t jn = n - 1;
	struct bcn_etl_tok tok[BCN_RB_MAX_TOKENS / 2];
	int nt;
	unsigned ty;
	static uint8_t o1[32768], o2[32768];
	size_t l1 = 0, l2 = 0;
	size_t cap = (d[0] & 2) ? 64 : sizeof(o1); /* sometimes too small */
	flat_check(&pl[0], 1, j, jn, cap, d, n);
	flat_check(&pl[2], 0, j, jn, cap, d, n);
	if (bcn_etl_route_tok(j, jn, &ty, tok, BCN_RB_MAX_TOKENS / 2, &nt) != BCN_ETL_R_OK)
		return 0;
	int e1 = bcn_rb_encode_tok(p, j, tok, nt, o1, cap, &l1);
	int e2 = bcn_rb_encode(p, j, jn, o2, cap, &l2);
	if (e1 != e2) {
		/* jsmn's token limit is the reference's only extra refusal */
		if (!(e2 == BCN_RB_FALLBACK && nt > BCN_RB_MAX_TOKENS / 2 - 1))
			fail("router and jsmn paths disagree", d, n);
		return 0;
	}
	if (e1 != BCN_RB_OK)
		return 0;
	if (l1 != l2 || memcmp(o1, o2, l1) || l1 > cap)
		fail("router and jsmn paths differ in bytes", d, n);
	/* decode by the plan and compare with the record (jsmn's view) */
	jsmn_parser jp;
	jsmntok_t jt[BCN_RB_MAX_TOKENS];
	jsmn_init(&jp);
	int k = jsmn_parse(&jp, j, jn, jt, BCN_RB_MAX_TOKENS);
	size_t r = 0;
	static uint8_t ref[32768];
	for (int c = 0; c < p->ncols; c++) {
		const jsmntok_t *v = NULL;
		for (int t = 1; t + 1 < k; t += 2)
			if ((size_t)(jt[t].end - jt[t].start) == p->col[c].len &&
			    !memcmp(j + jt[t].start, p->col[c].name, p->col[c].len))
				v = &jt[t + 1];
		if (!v)
			fail("converted without a column", d, n);
		const char *vs = j + v->start;
		size_t vl = (size_t)(v->end - v->start);
		if (p->col[c].type == BCN_RB_STRING) {
			size_t len = 0;
			int sh = 0;
			while (r < l1) {
				len |= (size_t)(o1[r] & 0x7f) << sh;
				sh += 7;
				if (!(o1[r++] & 0x80))
					break;
			}
			size_t rl = naive(vs, vl, ref);
			if (len != rl || r + len > l1 || memcmp(o1 + r, ref, rl))
				fail("string differs", d, n);
			r += len;
		} else if (p->col[c].type == BCN_RB_UUID) {
			char t[37];
			const uint8_t *u = o1 + r;
			snprintf(t, sizeof(t), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
				 u[7], u[6], u[5], u[4], u[3], u[2], u[1], u[0], u[15], u[14], u[13], u[12], u[11],
				 u[10], u[9], u[8]);
			if (vl != 36 || strncasecmp(t, vs, 36))
				fail("uuid differs", d, n);
			r += 16;
		} else {
			static const int w[] = { [BCN_RB_INT8] = 1, [BCN_RB_INT16] = 2, [BCN_RB_INT32] = 4,
						 [BCN_RB_INT64] = 8, [BCN_RB_UINT8] = 1, [BCN_RB_UINT16] = 2,
						 [BCN_RB_UINT32] = 4, [BCN_RB_UINT64] = 8 };
			int wd = w[p->col[c].type], sg = p->col[c].type <= BCN_RB_INT64;
			uint64_t x = 0;
			for (int b = 0; b < wd; b++)
				x |= (uint64_t)o1[r + (size_t)b] << (8 * b);
			char t[32];
			if (sg) {
				int64_t sv = wd == 8 ? (int64_t)x : ((int64_t)(x << (64 - 8 * wd)) >> (64 - 8 * wd));
				snprintf(t, sizeof(t), "%lld", (long long)sv);
			} else {
				snprintf(t, sizeof(t), "%llu", (unsigned long long)x);
			}
			int negzero = vl == 2 && !memcmp(vs, "-0", 2);
			if (!negzero && (strlen(t) != vl || memcmp(t, vs, vl)))
				fail("integer differs", d, n);
			r += (size_t)wd;
		}
	}
	if (r != l1)
		fail("row length differs from its columns", d, n);
	return 0;
}
