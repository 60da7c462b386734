/*
 * fuzz_etl_route.c - libFuzzer target for beacon-etl's record router
 * (bcn_etl_route) and ClickHouse error-body parser (bcn_ch_parse_exception).
 *
 * Why: every Kafka record passes the router before it may join a JSONEachRow
 * body, so a record it wrongly accepts could merge with its neighbours in
 * ClickHouse.  Invariants checked beyond "no crash":
 *   - accepted => jsmn (strict) parses the input as exactly one object whose
 *     values are all primitives or strings (flat), with no byte < 0x20
 *     inside any string, and the type is one of the seven;
 *   - not accepted => *type is BCN_T_NONE;
 *   - the error parser returns 0 or a code in 1..99999, and a row hint only
 *     with a code.
 * Built by etl/module.mk (build/fuzz/fuzz_etl_route); run by `make test-fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#include "bcn_ch.h"
#include "bcn_etl_route.h"
#include "bcn_record.h"

static void fail(const char *what, const uint8_t *d, size_t n)
{
	fprintf(stderr, "fuzz invariant violated: %s: %.*s\n", what, (int)(n > 200 ? 200 : n), d);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	unsigned type = 12345;
	int r = bcn_etl_route((const char *)d, n, &type);
	if (r != BCN_ETL_R_OK) {
		if (type != BCN_T_NONE)
			fail("rejected but type set", d, n);
	} else {
		if (type == BCN_T_NONE || type >= BCN_T__COUNT)
			fail("accepted with a bad type", d, n);
		jsmn_parser p;
		jsmntok_t tok[512];
		jsmn_init(&p);
		int k = jsmn_parse(&p, (const char *)d, n, tok, 512);
		if (k == JSMN_ERROR_NOMEM)
			return 0; /* too many keys for this check */
		if (k < 1 || tok[0].type != JSMN_OBJECT || tok[0].size * 2 + 1 != k)
			fail("accepted but not one flat object for jsmn", d, n);
		for (int i = 1; i < k; i++) {
			if (tok[i].type == JSMN_OBJECT || tok[i].type == JSMN_ARRAY)
				fail("accepted a nested value", d, n);
			if (tok[i].type == JSMN_STRING)
				for (int j = tok[i].start; j < tok[i].end; j++)
					if (d[j] < 0x20)
						fail("accepted a control character in a string", d, n);
		}
		/* nothing but whitespace after the object */
		for (size_t j = (size_t)tok[0].end; j < n; j++)
			if (d[j] != ' ' && d[j] != '\t' && d[j] != '\n' && d[j] != '\r')
				fail("accepted trailing bytes", d, n);
	}
	int row = -1, code = bcn_ch_parse_exception((const char *)d, n, &row);
	if (code < 0 || code > 99999 || row < 0 || (row && !code))
		fail("bad exception parse", d, n);
	return 0;
}
