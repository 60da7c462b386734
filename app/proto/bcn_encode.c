/*
 * bcn_encode.c - JSON writers: the normalized record (the Kafka message value
 * whose keys are the ClickHouse column names) and a client-side beacon (for
 * the load generator and tests).
 *
 * Why this exists: a hand-rolled writer into a caller buffer, because the
 * record has a fixed shape and this runs once per beacon on the slow path;
 * a generic JSON library would allocate a DOM per record.
 */
#include <string.h>
#include "bcn_proto.h"

struct out {
	char *p, *end;
	int err; /* set once the buffer is too small; later writes are no-ops */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err || (size_t)(o->end - o->p) < n) {
		o->err = 1;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}
#define PUTS(o, lit) put(o, lit, sizeof(lit) - 1)

static void put_u64(struct out *o, uint64_t v)
{
	char b[20];
	int i = 20;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, b + i, (size_t)(20 - i));
}

static void put_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		PUTS(o, "-");
		put_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(o, (uint64_t)v);
	}
}

/* A JSON string with escapes; input is valid UTF-8 without NUL. */
static void put_jstr(struct out *o, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	PUTS(o, "\"");
	size_t i = 0, run = 0;
	while (i < n) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		put(o, s + run, i - run);
		char e[6] = { '\\', 'u', '0', '0', hx[c >> 4], hx[c & 15] };
		switch (c) {
		case '"': put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		default: put(o, e, 6); break;
		}
		run = ++i;
	}
	put(o, s + run, n - run);
	PUTS(o, "\"");
}

static void put_uuid(struct out *o, const uint8_t u[16])
{
	char b[38];
	b[0] = '"';
	bcn_uuid_format(u, b + 1);
	b[37] = '"';
	put(o, b, sizeof(b));
}

static void put_sref(struct out *o, const struct bcn_record *r, struct bcn_sref s)
{
	put_jstr(o, r->arena + s.off, s.len);
}

size_t bcn_record_to_json(const struct bcn_record *r, char *buf, size_t cap)
{
	struct out o = { buf, buf + cap, 0 };

	PUTS(&o, "{\"event_id\":");
	put_uuid(&o, r->event_id);
	PUTS(&o, ",\"type\":\"");
	put(&o, bcn_type_name(r->type), strlen(bcn_type_name(r->type)));
	PUTS(&o, "\",\"ts\":");
	put_i64(&o, r->ts);
	PUTS(&o, ",\"recv_ts\":");
	put_i64(&o, r->recv_ts);
	PUTS(&o, ",\"node\":");
	put_jstr(&o, r->node, strnlen(r->node, sizeof(r->node)));
	PUTS(&o, ",\"source\":\"");
	put(&o, bcn_source_name(r->source), strlen(bcn_source_name(r->source)));
	PUTS(&o, "\",\"user_id\":");
	put_uuid(&o, r->user_id);
	PUTS(&o, ",\"anon_id\":");
	put_uuid(&o, r->anon_id);
	PUTS(&o, ",\"session_id\":");
	put_uuid(&o, r->session_id);
	PUTS(&o, ",\"film_id\":");
	put_uuid(&o, r->film_id);

	switch (r->type) {
	case BCN_T_VIEW:
		PUTS(&o, ",\"position_ms\":");
		put_u64(&o, r->position_ms);
		PUTS(&o, ",\"duration_ms\":");
		put_u64(&o, r->duration_ms);
		break;
	case BCN_T_PLAYER:
		PUTS(&o, ",\"event\":\"");
		put(&o, bcn_event_name(r->event), strlen(bcn_event_name(r->event)));
		PUTS(&o, "\",\"position_ms\":");
		put_u64(&o, r->position_ms);
		PUTS(&o, ",\"duration_ms\":");
		put_u64(&o, r->duration_ms);
		PUTS(&o, ",\"from\":");
		put_sref(&o, r, r->from);
		PUTS(&o, ",\"to\":");
		put_sref(&o, r, r->to);
		break;
	case BCN_T_PAGE:
		PUTS(&o, ",\"url\":");
		put_sref(&o, r, r->url);
		PUTS(&o, ",\"referrer\":");
		put_sref(&o, r, r->referrer);
		break;
	case BCN_T_ACTION:
		PUTS(&o, ",\"key\":");
		put_sref(&o, r, r->key);
		PUTS(&o, ",\"value\":");
		put_sref(&o, r, r->value);
		break;
	case BCN_T_LIKE:
		PUTS(&o, ",\"score\":");
		put_i64(&o, r->score);
		break;
	case BCN_T_REVIEW:
		PUTS(&o, ",\"op\":\"");
		put(&o, bcn_op_name(r->op), strlen(bcn_op_name(r->op)));
		PUTS(&o, "\",\"review_id\":");
		put_uuid(&o, r->review_id);
		PUTS(&o, ",\"rating\":");
		put_u64(&o, r->rating);
		PUTS(&o, ",\"text\":");
		put_sref(&o, r, r->text);
		break;
	case BCN_T_BOOKMARK:
		PUTS(&o, ",\"op\":\"");
		put(&o, bcn_op_name(r->op), strlen(bcn_op_name(r->op)));
		PUTS(&o, "\"");
		break;
	default:
		break;
	}
	PUTS(&o, "}");
	return o.err ? 0 : (size_t)(o.p - buf);
}

size_t bcn_json_encode_beacon(const struct bcn_record *r, const char *token,
			      size_t token_len, char *buf, size_t cap)
{
	struct out o = { buf, buf + cap, 0 };

	PUTS(&o, "{\"type\":\"");
	put(&o, bcn_type_name(r->type), strlen(bcn_type_name(r->type)));
	PUTS(&o, "\",\"ts\":");
	put_i64(&o, r->ts);
	if (r->has & BCN_HAS_ANON) {
		PUTS(&o, ",\"anon_id\":");
		put_uuid(&o, r->anon_id);
	}
	if (r->has & BCN_HAS_SESSION) {
		PUTS(&o, ",\"session_id\":");
		put_uuid(&o, r->session_id);
	}
	if (r->has & BCN_HAS_FILM) {
		PUTS(&o, ",\"film_id\":");
		put_uuid(&o, r->film_id);
	}
	if (r->has & BCN_HAS_REVIEW) {
		PUTS(&o, ",\"review_id\":");
		put_uuid(&o, r->review_id);
	}
	if (r->event) {
		PUTS(&o, ",\"event\":\"");
		put(&o, bcn_event_name(r->event), strlen(bcn_event_name(r->event)));
		PUTS(&o, "\"");
	}
	if (r->op) {
		PUTS(&o, ",\"op\":\"");
		put(&o, bcn_op_name(r->op), strlen(bcn_op_name(r->op)));
		PUTS(&o, "\"");
	}
	if (r->has & BCN_HAS_POSITION) {
		PUTS(&o, ",\"position_ms\":");
		put_u64(&o, r->position_ms);
	}
	if (r->has & BCN_HAS_DURATION) {
		PUTS(&o, ",\"duration_ms\":");
		put_u64(&o, r->duration_ms);
	}
	if (r->has & BCN_HAS_SCORE) {
		PUTS(&o, ",\"score\":");
		put_i64(&o, r->score);
	}
	if (r->has & BCN_HAS_RATING) {
		PUTS(&o, ",\"rating\":");
		put_u64(&o, r->rating);
	}
	static const struct { const char *k; size_t off; } strs[] = {
		{ ",\"from\":", offsetof(struct bcn_record, from) },
		{ ",\"to\":", offsetof(struct bcn_record, to) },
		{ ",\"url\":", offsetof(struct bcn_record, url) },
		{ ",\"referrer\":", offsetof(struct bcn_record, referrer) },
		{ ",\"key\":", offsetof(struct bcn_record, key) },
		{ ",\"value\":", offsetof(struct bcn_record, value) },
		{ ",\"text\":", offsetof(struct bcn_record, text) },
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const struct bcn_sref *s = (const struct bcn_sref *)((const char *)r + strs[i].off);
		if (!s->len)
			continue;
		put(&o, strs[i].k, strlen(strs[i].k));
		put_sref(&o, r, *s);
	}
	if (token_len) {
		PUTS(&o, ",\"token\":");
		put_jstr(&o, token, token_len);
	}
	PUTS(&o, "}");
	return o.err ? 0 : (size_t)(o.p - buf);
}
