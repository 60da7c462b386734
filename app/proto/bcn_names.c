/*
 * bcn_names.c - wire names of the contract's enums.
 *
 * Why this exists: the names appear in JSON beacons, records, metrics labels
 * and beacon-lint's output; one table each keeps them identical everywhere.
 */
#include <string.h>
#include "bcn_record.h"

/* A name and its length (perf: the reverse look-ups compare lengths first,
 * with no strlen per entry). */
struct name {
	const char *s;
	size_t n;
};
#define N(lit) { lit, sizeof(lit) - 1 }

static const struct name type_names[BCN_T__COUNT] = {
	N("?"), N("view"), N("player"), N("page"), N("action"), N("like"), N("review"), N("bookmark"),
};
static const struct name event_names[BCN_E__COUNT] = {
	N("?"), N("open"), N("play"), N("pause"), N("resume"), N("seek"), N("quality_change"),
	N("audio_change"), N("subtitle_change"), N("buffering"), N("error"), N("finish"), N("close"),
};
static const struct name op_names[BCN_OP__COUNT] = {
	N("?"), N("post"), N("delete"), N("add"), N("remove"),
};
static const struct name source_names[BCN_SRC__COUNT] = { N("udp"), N("http") };
static const struct name reason_names[BCN_R__COUNT] = {
	N("ok"), N("malformed"), N("too_large"), N("unsupported_version"), N("unknown_type"),
	N("missing_field"), N("duplicate_field"), N("bad_field_type"), N("bad_uuid"),
	N("bad_enum"), N("out_of_range"), N("too_long"), N("empty_field"), N("bad_utf8"),
	N("clock_skew"), N("auth_required"), N("bad_token"), N("expired_token"),
	N("no_identity"),
};

#define NAME_OF(tab, v) ((v) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[v].s : "?")

const char *bcn_type_name(unsigned t) { return NAME_OF(type_names, t); }
const char *bcn_event_name(unsigned e) { return NAME_OF(event_names, e); }
const char *bcn_op_name(unsigned op) { return NAME_OF(op_names, op); }
const char *bcn_source_name(unsigned s) { return NAME_OF(source_names, s); }
const char *bcn_reason_name(unsigned r) { return NAME_OF(reason_names, r); }

/* memcmp(a, b, n) == 0 for names of a few bytes (perf: no call) */
static inline int eq_short(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static unsigned lookup(const struct name *tab, unsigned n, const char *s, size_t len)
{
	for (unsigned i = 1; i < n; i++)
		if (tab[i].n == len && eq_short(tab[i].s, s, len))
			return i;
	return 0;
}

unsigned bcn_type_from(const char *s, size_t n) { return lookup(type_names, BCN_T__COUNT, s, n); }
unsigned bcn_event_from(const char *s, size_t n) { return lookup(event_names, BCN_E__COUNT, s, n); }
unsigned bcn_op_from(const char *s, size_t n) { return lookup(op_names, BCN_OP__COUNT, s, n); }
