/*
 * bcn_names.c - wire names of the contract's enums.
 *
 * Why this exists: the names appear in JSON beacons, records, metrics labels
 * and beacon-lint's output; one table each keeps them identical everywhere.
 */
#include <string.h>
#include "bcn_record.h"

static const char *const type_names[BCN_T__COUNT] = {
	"?", "view", "player", "page", "action", "like", "review", "bookmark",
};
static const char *const event_names[BCN_E__COUNT] = {
	"?", "open", "play", "pause", "resume", "seek", "quality_change",
	"audio_change", "subtitle_change", "buffering", "error", "finish", "close",
};
static const char *const op_names[BCN_OP__COUNT] = {
	"?", "post", "delete", "add", "remove",
};
static const char *const source_names[BCN_SRC__COUNT] = { "udp", "http" };
static const char *const reason_names[BCN_R__COUNT] = {
	"ok", "malformed", "too_large", "unsupported_version", "unknown_type",
	"missing_field", "duplicate_field", "bad_field_type", "bad_uuid",
	"bad_enum", "out_of_range", "too_long", "empty_field", "bad_utf8",
	"clock_skew", "auth_required", "bad_token", "expired_token",
	"no_identity",
};

#define NAME_OF(tab, v) ((v) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[v] : "?")

const char *bcn_type_name(unsigned t) { return NAME_OF(type_names, t); }
const char *bcn_event_name(unsigned e) { return NAME_OF(event_names, e); }
const char *bcn_op_name(unsigned op) { return NAME_OF(op_names, op); }
const char *bcn_source_name(unsigned s) { return NAME_OF(source_names, s); }
const char *bcn_reason_name(unsigned r) { return NAME_OF(reason_names, r); }

static unsigned lookup(const char *const *tab, unsigned n, const char *s, size_t len)
{
	for (unsigned i = 1; i < n; i++)
		if (strlen(tab[i]) == len && memcmp(tab[i], s, len) == 0)
			return i;
	return 0;
}

unsigned bcn_type_from(const char *s, size_t n) { return lookup(type_names, BCN_T__COUNT, s, n); }
unsigned bcn_event_from(const char *s, size_t n) { return lookup(event_names, BCN_E__COUNT, s, n); }
unsigned bcn_op_from(const char *s, size_t n) { return lookup(op_names, BCN_OP__COUNT, s, n); }
