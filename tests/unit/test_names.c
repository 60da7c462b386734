/*
 * test_names.c - wire names of the enums, UUID and UTF-8 helpers,
 * bcn_put_str and bcn_format_of.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

static void test_type_names(void)
{
	static const char *const want[BCN_T__COUNT] = {
		"?", "view", "player", "page", "action", "like", "review", "bookmark",
	};
	for (unsigned t = 0; t < BCN_T__COUNT; t++) {
		EXPECT(strcmp(bcn_type_name(t), want[t]) == 0, "type %u: %s", t, bcn_type_name(t));
		if (t)
			EXPECT(bcn_type_from(want[t], strlen(want[t])) == t, "type_from %s", want[t]);
	}
	CU_ASSERT_STRING_EQUAL(bcn_type_name(BCN_T__COUNT), "?");
	CU_ASSERT_STRING_EQUAL(bcn_type_name(1000), "?");
	CU_ASSERT_EQUAL(bcn_type_from("?", 1), 0);
	CU_ASSERT_EQUAL(bcn_type_from("", 0), 0);
	CU_ASSERT_EQUAL(bcn_type_from("View", 4), 0);         /* case matters */
	CU_ASSERT_EQUAL(bcn_type_from("views", 5), 0);
	CU_ASSERT_EQUAL(bcn_type_from("view", 3), 0);         /* prefix "vie" */
	CU_ASSERT_EQUAL(bcn_type_from("viewX", 4), BCN_T_VIEW); /* n bounds it */
	CU_ASSERT_EQUAL(bcn_type_from("vi\0w", 4), 0);
}

static void test_event_names(void)
{
	static const char *const want[BCN_E__COUNT] = {
		"?", "open", "play", "pause", "resume", "seek", "quality_change",
		"audio_change", "subtitle_change", "buffering", "error", "finish", "close",
	};
	for (unsigned e = 0; e < BCN_E__COUNT; e++) {
		EXPECT(strcmp(bcn_event_name(e), want[e]) == 0, "event %u: %s", e, bcn_event_name(e));
		if (e)
			EXPECT(bcn_event_from(want[e], strlen(want[e])) == e, "event_from %s", want[e]);
	}
	CU_ASSERT_STRING_EQUAL(bcn_event_name(BCN_E__COUNT), "?");
	CU_ASSERT_EQUAL(bcn_event_from("stop", 4), 0);
	CU_ASSERT_EQUAL(bcn_event_from("PLAY", 4), 0);
	CU_ASSERT_EQUAL(bcn_event_from("view", 4), 0); /* a type is not an event */
}

static void test_op_source_names(void)
{
	static const char *const want[BCN_OP__COUNT] = { "?", "post", "delete", "add", "remove" };
	for (unsigned o = 0; o < BCN_OP__COUNT; o++) {
		EXPECT(strcmp(bcn_op_name(o), want[o]) == 0, "op %u: %s", o, bcn_op_name(o));
		if (o)
			EXPECT(bcn_op_from(want[o], strlen(want[o])) == o, "op_from %s", want[o]);
	}
	CU_ASSERT_STRING_EQUAL(bcn_op_name(BCN_OP__COUNT), "?");
	CU_ASSERT_EQUAL(bcn_op_from("put", 3), 0);
	CU_ASSERT_STRING_EQUAL(bcn_source_name(BCN_SRC_UDP), "udp");
	CU_ASSERT_STRING_EQUAL(bcn_source_name(BCN_SRC_HTTP), "http");
	CU_ASSERT_STRING_EQUAL(bcn_source_name(BCN_SRC__COUNT), "?");
}

static void test_reason_names(void)
{
	/* order is ABI (metrics labels, vectors): pin it */
	static const char *const want[BCN_R__COUNT] = {
		"ok", "malformed", "too_large", "unsupported_version", "unknown_type",
		"missing_field", "duplicate_field", "bad_field_type", "bad_uuid",
		"bad_enum", "out_of_range", "too_long", "empty_field", "bad_utf8",
		"clock_skew", "auth_required", "bad_token", "expired_token",
		"no_identity",
	};
	CU_ASSERT_EQUAL(BCN_R__COUNT, 19);
	for (unsigned r = 0; r < BCN_R__COUNT; r++) {
		EXPECT(strcmp(bcn_reason_name(r), want[r]) == 0, "reason %u: %s", r, bcn_reason_name(r));
		EXPECT(t_reason_of(want[r]) == (int)r, "reason %s not unique", want[r]);
	}
	CU_ASSERT_STRING_EQUAL(bcn_reason_name(BCN_R__COUNT), "?");
	CU_ASSERT_STRING_EQUAL(bcn_reason_name(~0u), "?");
	CU_ASSERT_EQUAL(BCN_OK, 0);
	CU_ASSERT_EQUAL(BCN_R_NO_IDENTITY, 18);
}

static void test_type_needs_user(void)
{
	for (unsigned t = 0; t <= BCN_T__COUNT; t++) {
		int want = t == BCN_T_LIKE || t == BCN_T_REVIEW || t == BCN_T_BOOKMARK;
		EXPECT(bcn_type_needs_user(t) == want, "needs_user(%s)", bcn_type_name(t));
	}
}

static void test_uuid_parse_format(void)
{
	uint8_t u[16], want[16] = {
		0x3f, 0x1c, 0x2a, 0x4b, 0x5d, 0x6e, 0x4f, 0x70,
		0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b,
	};
	char s[37];

	CU_ASSERT_EQUAL(bcn_uuid_parse(U_ANON, 36, u), 0);
	CU_ASSERT_EQUAL(memcmp(u, want, 16), 0);
	bcn_uuid_format(u, s);
	s[36] = '\0';
	CU_ASSERT_STRING_EQUAL(s, U_ANON);

	/* upper case accepted, formatted back in lower case */
	CU_ASSERT_EQUAL(bcn_uuid_parse("3F1C2A4B-5D6E-4F70-8A9B-0C1D2E3F4A5B", 36, u), 0);
	CU_ASSERT_EQUAL(memcmp(u, want, 16), 0);
	/* mixed case too */
	CU_ASSERT_EQUAL(bcn_uuid_parse("3f1C2a4B-5d6E-4f70-8A9b-0c1d2e3f4a5B", 36, u), 0);
	CU_ASSERT_EQUAL(memcmp(u, want, 16), 0);

	/* every byte value survives format -> parse */
	for (unsigned b = 0; b < 256; b++) {
		uint8_t x[16], y[16];
		for (int i = 0; i < 16; i++)
			x[i] = (uint8_t)(b + (unsigned)i * 17);
		bcn_uuid_format(x, s);
		EXPECT(bcn_uuid_parse(s, 36, y) == 0 && memcmp(x, y, 16) == 0, "round trip %u", b);
	}

	uint8_t nil[16] = { 0 }, ff[16];
	memset(ff, 0xff, 16);
	bcn_uuid_format(nil, s);
	CU_ASSERT_NSTRING_EQUAL(s, "00000000-0000-0000-0000-000000000000", 36);
	bcn_uuid_format(ff, s);
	CU_ASSERT_NSTRING_EQUAL(s, "ffffffff-ffff-ffff-ffff-ffffffffffff", 36);
}

static void test_uuid_reject(void)
{
	static const char *const bad[] = {
		"",
		"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5",    /* 35 */
		"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5bb",  /* 37 */
		"3f1c2a4b5d6e-4f70-8a9b-0c1d2e3f4a5b0",   /* dash moved */
		"3f1c2a4b-5d6e-4f70-8a9b_0c1d2e3f4a5b",   /* '_' for '-' */
		"3f1c2a4g-5d6e-4f70-8a9b-0c1d2e3f4a5b",   /* 'g' */
		"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5 ",   /* space */
		"{3f1c2a4-5d6e-4f70-8a9b-0c1d2e3f4a5b}",  /* braces */
		"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a-b",   /* extra dash */
		"------------------------------------",
		"3f1c2a4b05d6e04f7008a9b00c1d2e3f4a5b",   /* no dashes */
		"3f1c2a4b5d6e4f708a9b0c1d2e3f4a5b",       /* 32 hex */
		"3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5\xc3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t u[16];
		memset(u, 0xa5, 16);
		EXPECT(bcn_uuid_parse(bad[i], strlen(bad[i]), u) == -1, "accepted \"%s\"", bad[i]);
		int untouched = 1;
		for (int k = 0; k < 16; k++)
			untouched &= u[k] == 0xa5;
		EXPECT(untouched, "out changed on error for \"%s\"", bad[i]);
	}
	/* NUL inside */
	uint8_t u[16];
	CU_ASSERT_EQUAL(bcn_uuid_parse("3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f\0a5b", 36, u), -1);
	/* n says 36 but the hex is right only for 36: a prefix of a longer string */
	CU_ASSERT_EQUAL(bcn_uuid_parse(U_ANON "ff", 36, u), 0);
}

/* The obvious definition, to check bcn_uuid_parse's SIMD/table versions against. */
static int ref_uuid_parse(const char *s, uint8_t out[16])
{
	unsigned o = 0;
	for (unsigned i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -1;
			continue;
		}
		unsigned v;
		if (c >= '0' && c <= '9') v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v = (unsigned)(c - 'A' + 10);
		else return -1;
		if (o % 2 == 0) out[o / 2] = (uint8_t)(v << 4);
		else out[o / 2] |= (uint8_t)v;
		o++;
	}
	return 0;
}

/* Every byte value at every one of the 36 positions, against the reference. */
static void test_uuid_every_byte(void)
{
	char s[37];
	for (unsigned pos = 0; pos < 36; pos++) {
		for (unsigned b = 0; b < 256; b++) {
			memcpy(s, "0123abcd-ef45-6789-ABCD-EF0123456789", 37);
			s[pos] = (char)b;
			uint8_t want[16], got[16];
			memset(got, 0xa5, 16);
			int rw = ref_uuid_parse(s, want), rg = bcn_uuid_parse(s, 36, got);
			EXPECT(rw == rg, "pos %u byte 0x%02x: %d, reference %d", pos, b, rg, rw);
			if (rw == 0 && rg == 0)
				EXPECT(memcmp(want, got, 16) == 0, "pos %u byte 0x%02x: value differs", pos, b);
		}
	}
}

static void test_uuid_is_nil(void)
{
	uint8_t u[16] = { 0 };
	CU_ASSERT_TRUE(bcn_uuid_is_nil(u));
	for (int i = 0; i < 16; i++) {
		u[i] = 1;
		EXPECT(!bcn_uuid_is_nil(u), "byte %d set", i);
		u[i] = 0;
	}
	u[15] = 0x80;
	CU_ASSERT_FALSE(bcn_uuid_is_nil(u));
}

struct u8case {
	const char *s;
	size_t n;
	long want; /* code points, or -1 */
	const char *what;
};
#define U8(lit, want, what) { lit, sizeof(lit) - 1, want, what }

static void test_utf8_count(void)
{
	static const struct u8case cases[] = {
		U8("", 0, "empty"),
		U8("a", 1, "ascii"),
		U8("hello, world", 12, "ascii > 8 (fast path)"),
		U8("0123456789abcdef0123", 20, "ascii 20"),
		U8("\x7f", 1, "DEL"),
		U8("\x01\x1f", 2, "controls other than NUL are allowed"),
		U8("\xc2\x80", 1, "U+0080"),
		U8("\xdf\xbf", 1, "U+07FF"),
		U8("\xe0\xa0\x80", 1, "U+0800"),
		U8("\xed\x9f\xbf", 1, "U+D7FF"),
		U8("\xee\x80\x80", 1, "U+E000"),
		U8("\xef\xbf\xbf", 1, "U+FFFF"),
		U8("\xf0\x90\x80\x80", 1, "U+10000"),
		U8("\xf4\x8f\xbf\xbf", 1, "U+10FFFF"),
		U8("\xf0\x9f\x8e\xac", 1, "clapper board"),
		U8("\xd0\x9e\xd1\x82\xd0\xbb\xd0\xb8\xd1\x87\xd0\xbd\xd1\x8b\xd0\xb9", 8, "Cyrillic"),
		U8("abcdefgh\xc3\xa9", 9, "fast path then 2-byte"),
		U8("abcdefg\xc3\xa9xyzxyzxyz", 17, "2-byte straddling an 8-byte word"),
		/* rejects */
		U8("\0", -1, "NUL"),
		U8("abc\0", -1, "NUL at end"),
		U8("abcdefgh\0ijklmnop", -1, "NUL inside the fast path"),
		U8("abcdefg\0", -1, "NUL in the first word"),
		U8("\x80", -1, "lone continuation"),
		U8("\xbf", -1, "lone continuation BF"),
		U8("\xc0\x80", -1, "overlong NUL C0 80"),
		U8("\xc1\xbf", -1, "overlong C1"),
		U8("\xe0\x80\x80", -1, "overlong 3-byte E0 80 80"),
		U8("\xe0\x9f\xbf", -1, "overlong 3-byte E0 9F BF"),
		U8("\xf0\x80\x80\x80", -1, "overlong 4-byte F0 80 80 80"),
		U8("\xf0\x8f\xbf\xbf", -1, "overlong 4-byte F0 8F"),
		U8("\xed\xa0\x80", -1, "surrogate D800 (ED A0 80)"),
		U8("\xed\xbf\xbf", -1, "surrogate DFFF"),
		U8("\xed\xa0\xbd\xed\xb8\x80", -1, "CESU-8 surrogate pair"),
		U8("\xf4\x90\x80\x80", -1, "U+110000"),
		U8("\xf5\x80\x80\x80", -1, "F5 lead"),
		U8("\xf8\x88\x80\x80\x80", -1, "5-byte form"),
		U8("\xfe", -1, "FE"),
		U8("\xff", -1, "FF"),
		U8("\xc3", -1, "truncated 2-byte"),
		U8("\xe2\x82", -1, "truncated 3-byte"),
		U8("\xf0\x9f\x8e", -1, "truncated 4-byte"),
		U8("\xc3\x28", -1, "bad continuation"),
		U8("\xe2\x28\xa1", -1, "bad 2nd of 3"),
		U8("\xe2\x82\x28", -1, "bad 3rd of 3"),
		U8("\xf0\x9f\x28\xac", -1, "bad 3rd of 4"),
		U8("\xf0\x9f\x8e\x28", -1, "bad 4th of 4"),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = bcn_utf8_count(cases[i].s, cases[i].n);
		EXPECT(got == cases[i].want, "%s: got %ld want %ld", cases[i].what, got, cases[i].want);
	}
	/* a truncated sequence must not read past n: the byte after is valid */
	CU_ASSERT_EQUAL(bcn_utf8_count("\xc3\xa9", 1), -1);
	CU_ASSERT_EQUAL(bcn_utf8_count("\xe2\x82\xac", 2), -1);
	CU_ASSERT_EQUAL(bcn_utf8_count("\xf0\x9f\x8e\xac", 3), -1);
	CU_ASSERT_EQUAL(bcn_utf8_count("abcdefgh", 7), 7);
}

/* The plain byte-at-a-time definition the fast paths must agree with. */
static long utf8_ref(const uint8_t *s, size_t n)
{
	long cps = 0;
	for (size_t i = 0; i < n; cps++) {
		uint8_t c = s[i];
		size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
			 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (k == 0 || c == 0 || i + k > n)
			return -1;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return -1;
		if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
		    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
			return -1;
		i += k;
	}
	return cps;
}

/* Random strings of 0..99 bytes, in exactly-sized heap buffers (ASan sees
 * any read past n): mostly ASCII, with NULs, stray high bytes and valid
 * 2-4 byte sequences at every offset around the 8- and 16-byte blocks. */
static void test_utf8_count_random(void)
{
	static const char *seq[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8e\xac", "\xd0\x9e" };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int bad = 0, nonascii = 0, rejected = 0;
	for (int t = 0; t < 200000; t++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t n = (size_t)(x % 100);
		uint8_t *b = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)(' ' + (x >> (i % 50)) % 90);
		/* one or two events at random offsets */
		for (int e = 0; e < 1 + (int)((x >> 60) & 1) && n; e++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x % n);
			switch ((x >> 32) % 8) {
			case 0: b[at] = 0; break;
			case 1: b[at] = (uint8_t)(0x80 | (x >> 40)); break;
			case 2: case 3: case 4: case 5: {
				const char *q = seq[(x >> 40) % 4];
				for (size_t k = 0; q[k] && at + k < n; k++)
					b[at + k] = (uint8_t)q[k];
				break;
			}
			default: break; /* pure ASCII */
			}
		}
		long want = utf8_ref(b, n), got = bcn_utf8_count((const char *)b, n);
		for (size_t i = 0; i < n; i++)
			nonascii += b[i] >= 0x80;
		rejected += want < 0;
		if (got != want && bad++ < 5)
			EXPECT(0, "case %d (n %zu): got %ld want %ld", t, n, got, want);
		free(b);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* the generator made all three kinds of input */
	CU_ASSERT(nonascii > 10000);
	CU_ASSERT(rejected > 10000 && rejected < 190000);
}

static void test_put_str(void)
{
	struct bcn_record *r = calloc(1, sizeof(*r));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);

	CU_ASSERT_EQUAL(bcn_put_str(r, &r->url, "/a", 2, BCN_MAX_URL, BCN_MAX_URL), BCN_OK);
	CU_ASSERT_EQUAL(r->url.off, 0);
	CU_ASSERT_EQUAL(r->url.len, 2);
	CU_ASSERT_EQUAL(r->arena_used, 2);
	/* "\xc3\xa9t\xc3\xa9" is 5 bytes, 3 code points */
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->referrer, "\xc3\xa9t\xc3\xa9", 5, BCN_MAX_URL, 3), BCN_OK);
	CU_ASSERT_EQUAL(r->referrer.off, 2);
	CU_ASSERT_EQUAL(r->referrer.len, 5);
	CU_ASSERT_EQUAL(memcmp(bcn_str(r, r->referrer), "\xc3\xa9t\xc3\xa9", 5), 0);
	CU_ASSERT_EQUAL(memcmp(bcn_str(r, r->url), "/a", 2), 0);
	CU_ASSERT_EQUAL(r->arena_used, 7);

	/* errors leave the arena alone */
	struct bcn_sref keep = r->key;
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->key, "\xc3\xa9t\xc3\xa9", 5, 64, 2), BCN_R_TOO_LONG);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->key, "abcde", 5, 4, 10), BCN_R_TOO_LONG);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->key, "a\xc0\x80", 3, 64, 64), BCN_R_BAD_UTF8);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->key, "a\0b", 3, 64, 64), BCN_R_BAD_UTF8);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->key, "\xc3\xa9t\xc3", 4, 64, 64), BCN_R_BAD_UTF8);
	CU_ASSERT_EQUAL(r->arena_used, 7);
	CU_ASSERT_EQUAL(memcmp(&keep, &r->key, sizeof(keep)), 0);

	/* exactly at the limit */
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->key, "abcd", 4, 4, 4), BCN_OK);
	CU_ASSERT_EQUAL(r->arena_used, 11);
	/* empty string: ok, len 0 */
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->value, "", 0, 4, 4), BCN_OK);
	CU_ASSERT_EQUAL(r->value.len, 0);
	CU_ASSERT_EQUAL(r->arena_used, 11);

	/* decoded in place at the arena's end */
	memcpy(r->arena + r->arena_used, "xyz", 3);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->text, r->arena + r->arena_used, 3, 16, 16), BCN_OK);
	CU_ASSERT_EQUAL(r->text.off, 11);
	CU_ASSERT_EQUAL(memcmp(bcn_str(r, r->text), "xyz", 3), 0);
	CU_ASSERT_EQUAL(r->arena_used, 14);

	/* arena full */
	r->arena_used = (uint16_t)(BCN_ARENA_SIZE - 2);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->from, "abc", 3, 32, 32), BCN_R_TOO_LONG);
	CU_ASSERT_EQUAL(bcn_put_str(r, &r->from, "ab", 2, 32, 32), BCN_OK);
	CU_ASSERT_EQUAL(r->arena_used, BCN_ARENA_SIZE);
	CU_ASSERT_EQUAL(bcn_record_size(r), offsetof(struct bcn_record, arena) + BCN_ARENA_SIZE);
	CU_ASSERT_TRUE(bcn_record_size(r) <= sizeof(*r));
	free(r);
}

static void test_format_of(void)
{
	CU_ASSERT_EQUAL(bcn_format_of("BC\x01", 3), BCN_FMT_BINARY);
	CU_ASSERT_EQUAL(bcn_format_of("BC", 2), BCN_FMT_BINARY);
	CU_ASSERT_EQUAL(bcn_format_of("B", 1), BCN_FMT_JSON);
	CU_ASSERT_EQUAL(bcn_format_of("", 0), BCN_FMT_JSON);
	CU_ASSERT_EQUAL(bcn_format_of("{\"type\"", 7), BCN_FMT_JSON);
	CU_ASSERT_EQUAL(bcn_format_of("CB", 2), BCN_FMT_JSON);
	CU_ASSERT_EQUAL(bcn_format_of("bc", 2), BCN_FMT_JSON);
}

static void test_limits(void)
{
	/* the arena holds every string at its limit at once */
	CU_ASSERT_EQUAL(BCN_ARENA_SIZE, 2 * 32 + 2 * 2048 + 64 + 1024 + 16000);
	CU_ASSERT_TRUE(BCN_ARENA_SIZE <= UINT16_MAX);
	CU_ASSERT_TRUE(BCN_MAX_BEACON <= UINT16_MAX);
	CU_ASSERT_EQUAL(BCN_MAX_TEXT, 4 * BCN_MAX_TEXT_CHARS);
	CU_ASSERT_EQUAL(BCN_MAX_POSITION_MS, 7ull * 24 * 3600 * 1000);
	CU_ASSERT_EQUAL(BCN_TS_MAX_MS, 4102444800000ll);
	struct bcn_record r;
	r.arena_used = 0;
	CU_ASSERT_EQUAL(bcn_record_size(&r), offsetof(struct bcn_record, arena));
	r.arena_used = 10;
	CU_ASSERT_EQUAL(bcn_record_size(&r), offsetof(struct bcn_record, arena) + 10);
	struct bcn_ingest_cfg cfg;
	memset(&cfg, 0x5a, sizeof(cfg));
	bcn_ingest_cfg_defaults(&cfg);
	CU_ASSERT_EQUAL(cfg.skew_past_ms, 86400000);
	CU_ASSERT_EQUAL(cfg.skew_future_ms, 600000);
	CU_ASSERT_STRING_EQUAL(cfg.node, "local");
	CU_ASSERT_EQUAL(cfg.node_id, 0);
}

int suite_names(void)
{
	CU_pSuite s = CU_add_suite("names, UUID and UTF-8 helpers", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "type names and look-up", test_type_names) ||
	    !CU_add_test(s, "player event names", test_event_names) ||
	    !CU_add_test(s, "op and source names", test_op_source_names) ||
	    !CU_add_test(s, "reject reason names (ABI order)", test_reason_names) ||
	    !CU_add_test(s, "types that need a user", test_type_needs_user) ||
	    !CU_add_test(s, "UUID parse/format round trip", test_uuid_parse_format) ||
	    !CU_add_test(s, "UUID parse: every byte at every position", test_uuid_every_byte) ||
	    !CU_add_test(s, "UUID rejects", test_uuid_reject) ||
	    !CU_add_test(s, "UUID is_nil", test_uuid_is_nil) ||
	    !CU_add_test(s, "UTF-8 validation and counting", test_utf8_count) ||
	    !CU_add_test(s, "UTF-8 counting against a byte-at-a-time reference", test_utf8_count_random) ||
	    !CU_add_test(s, "bcn_put_str", test_put_str) ||
	    !CU_add_test(s, "bcn_format_of", test_format_of) ||
	    !CU_add_test(s, "limits and config defaults", test_limits))
		return -1;
	return 0;
}
