/*
 * bcn_etl_pg.c - beacon-etl's PostgreSQL state sink.  See bcn_etl_pg.h and
 * "PostgreSQL state sink" in etl/README.md.
 *
 * One thread with its own consumer (group postgres.group) on the actions
 * and views topics.  Each record of a registered user becomes one element
 * of the parallel arrays of apply_likes / apply_bookmarks / apply_reviews /
 * apply_progress (etl/pg/V*.sql), written straight into preallocated
 * PostgreSQL text-array literals ("{...}"), one buffer per function
 * argument.  A flush (postgres.batch_rows records, postgres.flush_ms after
 * the first one, or the review text buffer full) is one transaction: BEGIN,
 * one parameterised PQexecParams per function that has rows (the arrays are
 * the parameters: no SQL is ever built from data), COMMIT; then one
 * synchronous Kafka commit of exactly the offsets taken into the batch.
 *
 * Failures: a failed transaction is rolled back (or the connection dropped
 * when it is lost) and retried with the same arrays after an exponential
 * backoff with jitter (postgres.backoff_min_ms .. backoff_max_ms), with a
 * reconnect when needed.  While it retries, every assigned partition is
 * paused and the consumer is still polled (rebalances, heartbeats,
 * max.poll.interval.ms); records that still arrive are read again later
 * (seek back).  A revocation drops the uncommitted batch: the partitions'
 * next owner reads it again, and the apply_* functions are idempotent.
 * SIGTERM: the open batch is flushed if PostgreSQL takes it by
 * shutdown.deadline_ms, else abandoned uncommitted.
 *
 * Memory: everything is allocated by bcn_etl_pg_new from the config (the
 * array buffers for postgres.batch_rows records of any one kind, the review
 * text buffer, the decode buffer, partition slots); the steady path
 * allocates nothing but what libpq does per query (its PGresult).
 *
 * Why malformed records are counted and logged, not sent to ugc.dlq: the
 * sink reads the same records as the ClickHouse streams, which already send
 * every record that is not flat JSON or has no known type to the DLQ (and
 * bad UUIDs / numbers are refused by ClickHouse and dead-lettered too), so a
 * second copy would only double the DLQ.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_etl.h"
#include "bcn_etl_pg.h"
#include "bcn_mbuf.h"
#include "bcn_proto.h"

/* ---- names ----------------------------------------------------------------- */

const char *bcn_etl_pg_kind_name(unsigned k)
{
	static const char *const n[BCN_ETL_PG__NKINDS] = { "like", "bookmark", "review", "view",
							   "finish" };
	return k < BCN_ETL_PG__NKINDS ? n[k] : "?";
}

const char *bcn_etl_pg_skip_name(unsigned r)
{
	static const char *const n[BCN_ETL_PG_S__COUNT] = {
		"ok",	     "anonymous", "player_event", "other_type", "bad_json",
		"no_type",   "bad_field", "bad_uuid",	  "bad_text",	"too_large",
	};
	return r < BCN_ETL_PG_S__COUNT ? n[r] : "?";
}

/* ---- JSON string unescaping -------------------------------------------------
 * Why our own: the router (bcn_etl_route.c) only checks escapes and the
 * RowBinary encoder copies strings as ClickHouse wants them; beacond's JSON
 * parser (app/proto/bcn_json.c) decodes inside its own parser state.  The
 * sink needs the review text as PostgreSQL will store it, and PostgreSQL
 * refuses a whole statement (the whole batch, forever) for one invalid byte
 * sequence or NUL, so the text is decoded and checked here, before the
 * record enters a batch. */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(const char *s)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

ssize_t bcn_etl_pg_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\\') {
			if (o >= cap)
				return -1;
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		char e = s[i + 1], d;
		switch (e) {
		case '"': d = '"'; break;
		case '\\': d = '\\'; break;
		case '/': d = '/'; break;
		case 'b': d = '\b'; break;
		case 'f': d = '\f'; break;
		case 'n': d = '\n'; break;
		case 'r': d = '\r'; break;
		case 't': d = '\t'; break;
		case 'u': {
			if (i + 6 > n)
				return -1;
			long cp = hex4(s + i + 2);
			if (cp < 0)
				return -1;
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* a high surrogate must be followed by \u + a low one */
				if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u')
					return -1;
				long lo = hex4(s + i + 2);
				if (lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return -1;
			}
			if (cp == 0)
				return -1;
			unsigned char u[4];
			size_t k;
			if (cp < 0x80) {
				u[0] = (unsigned char)cp, k = 1;
			} else if (cp < 0x800) {
				u[0] = (unsigned char)(0xC0 | (cp >> 6));
				u[1] = (unsigned char)(0x80 | (cp & 0x3F));
				k = 2;
			} else if (cp < 0x10000) {
				u[0] = (unsigned char)(0xE0 | (cp >> 12));
				u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
				u[2] = (unsigned char)(0x80 | (cp & 0x3F));
				k = 3;
			} else {
				u[0] = (unsigned char)(0xF0 | (cp >> 18));
				u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
				u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
				u[3] = (unsigned char)(0x80 | (cp & 0x3F));
				k = 4;
			}
			if (cap - o < k)
				return -1;
			memcpy(out + o, u, k);
			o += k;
			continue;
		}
		default:
			return -1;
		}
		if (o >= cap)
			return -1;
		out[o++] = d;
		i += 2;
	}
	/* raw bytes: valid UTF-8, no NUL, no encoded surrogates or overlongs */
	if (bcn_utf8_count(out, o) < 0)
		return -1;
	return (ssize_t)o;
}

/* ---- text-array literals ------------------------------------------------------ */

void bcn_etl_pg_arr_init(struct bcn_etl_pg_arr *a, char *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	bcn_etl_pg_arr_reset(a);
}

void bcn_etl_pg_arr_reset(struct bcn_etl_pg_arr *a)
{
	a->buf[0] = '{';
	a->len = 1;
	a->n = 0;
	a->closed = 0;
}

/* room for k more bytes (a separator included), keeping 2 for "}\0" */
static inline int room(const struct bcn_etl_pg_arr *a, size_t k)
{
	return !a->closed && a->cap >= 2 && a->cap - 2 - a->len >= k;
}

int bcn_etl_pg_arr_plain(struct bcn_etl_pg_arr *a, const char *s, size_t n)
{
	size_t sep = a->n > 0;
	if (!room(a, n + sep))
		return -1;
	if (sep)
		a->buf[a->len++] = ',';
	memcpy(a->buf + a->len, s, n);
	a->len += n;
	a->n++;
	return 0;
}

int bcn_etl_pg_arr_i64(struct bcn_etl_pg_arr *a, int64_t v)
{
	char t[24], *e = t + sizeof(t), *p = e;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return bcn_etl_pg_arr_plain(a, p, (size_t)(e - p));
}

int bcn_etl_pg_arr_bool(struct bcn_etl_pg_arr *a, int v)
{
	return bcn_etl_pg_arr_plain(a, v ? "t" : "f", 1);
}

int bcn_etl_pg_arr_text(struct bcn_etl_pg_arr *a, const char *s, size_t n)
{
	size_t k = n + 2 + (a->n > 0);
	for (size_t i = 0; i < n; i++)
		k += s[i] == '"' || s[i] == '\\';
	if (!room(a, k))
		return -1;
	char *w = a->buf + a->len;
	if (a->n > 0)
		*w++ = ',';
	*w++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*w++ = '\\';
		*w++ = s[i];
	}
	*w++ = '"';
	a->len = (size_t)(w - a->buf);
	a->n++;
	return 0;
}

const char *bcn_etl_pg_arr_end(struct bcn_etl_pg_arr *a)
{
	if (!a->closed) {
		a->buf[a->len] = '}';
		a->buf[a->len + 1] = 0;
		a->closed = 1;
	}
	return a->buf;
}

/* ---- a record -> its row ------------------------------------------------------ */

enum { F_EVENT_ID, F_TS, F_RECV_TS, F_USER_ID, F_FILM_ID, F_SCORE, F_OP, F_REVIEW_ID, F_RATING,
       F_TEXT, F_POSITION, F_DURATION, F_EVENT, F__N };
static const struct { const char *k; uint32_t l; } fname[F__N] = {
	{ "event_id", 8 },  { "ts", 2 },	 { "recv_ts", 7 },     { "user_id", 7 },
	{ "film_id", 7 },   { "score", 5 },	 { "op", 2 },	       { "review_id", 9 },
	{ "rating", 6 },    { "text", 4 },	 { "position_ms", 11 }, { "duration_ms", 11 },
	{ "event", 5 },
};

#define MAXTOK 48 /* a record has at most 15 keys; more is not beacond's */

static int str_is(const char *p, const struct bcn_etl_tok *t, const char *s, size_t n)
{
	return t && t->vkind == BCN_ETL_V_STRING && !t->vesc && t->vl == n && !memcmp(p + t->vo, s, n);
}

/* UUID field -> canonical lowercase text.  -1 absent/not a string, -2 bad. */
static int get_uuid(const char *p, const struct bcn_etl_tok *t, char out[37], int *nil)
{
	uint8_t u[16];
	if (!t || t->vkind != BCN_ETL_V_STRING)
		return -1;
	if (t->vesc || bcn_uuid_parse(p + t->vo, t->vl, u))
		return -2;
	bcn_uuid_format(u, out);
	out[36] = 0;
	*nil = bcn_uuid_is_nil(u);
	return 0;
}

/* An integer field: -?[0-9]{1,18}, no fraction or exponent. */
static int get_int(const char *p, const struct bcn_etl_tok *t, int64_t *v)
{
	if (!t || t->vkind != BCN_ETL_V_NUMBER)
		return -1;
	const char *s = p + t->vo;
	size_t n = t->vl, i = 0;
	int neg = 0;
	if (n && s[0] == '-')
		neg = 1, i = 1;
	if (i == n || n - i > 18)
		return -1;
	int64_t x = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = neg ? -x : x;
	return 0;
}

int bcn_etl_pg_parse(const char *p, size_t n, struct bcn_etl_pg_rec *r, char *text, size_t textcap)
{
	struct bcn_etl_tok tok[MAXTOK];
	const struct bcn_etl_tok *f[F__N] = { 0 };
	unsigned type;
	int ntok, nil;
	memset(r, 0, sizeof(*r));
	r->text = "";
	int rc = bcn_etl_route_tok(p, n, &type, tok, MAXTOK, &ntok);
	if (rc == BCN_ETL_R_BAD_JSON)
		return BCN_ETL_PG_S_BAD_JSON;
	if (rc != BCN_ETL_R_OK)
		return BCN_ETL_PG_S_NO_TYPE;
	r->type = type;
	if (type != BCN_T_LIKE && type != BCN_T_BOOKMARK && type != BCN_T_REVIEW && type != BCN_T_VIEW &&
	    type != BCN_T_PLAYER)
		return BCN_ETL_PG_S_OTHER_TYPE;
	if (ntok < 0)
		return BCN_ETL_PG_S_BAD_FIELD;
	for (int i = 0; i < ntok; i++) {
		const struct bcn_etl_tok *t = &tok[i];
		if (t->kesc)
			continue;
		for (int k = 0; k < F__N; k++)
			if (t->kl == fname[k].l && !memcmp(p + t->ko, fname[k].k, fname[k].l)) {
				if (f[k])
					return BCN_ETL_PG_S_BAD_FIELD; /* twice */
				f[k] = t;
				break;
			}
	}
	/* whose: registered users only */
	if ((rc = get_uuid(p, f[F_USER_ID], r->user_id, &nil)))
		return rc == -1 ? BCN_ETL_PG_S_BAD_FIELD : BCN_ETL_PG_S_BAD_UUID;
	if (nil)
		return BCN_ETL_PG_S_ANONYMOUS;
	if (type == BCN_T_PLAYER) {
		if (!f[F_EVENT] || f[F_EVENT]->vkind != BCN_ETL_V_STRING)
			return BCN_ETL_PG_S_BAD_FIELD;
		if (!str_is(p, f[F_EVENT], "finish", 6))
			return BCN_ETL_PG_S_PLAYER_EVENT;
	}
	if ((rc = get_uuid(p, f[F_EVENT_ID], r->event_id, &nil)))
		return rc == -1 ? BCN_ETL_PG_S_BAD_FIELD : BCN_ETL_PG_S_BAD_UUID;
	if (nil)
		return BCN_ETL_PG_S_BAD_UUID;
	if ((rc = get_uuid(p, f[F_FILM_ID], r->film_id, &nil)))
		return rc == -1 ? BCN_ETL_PG_S_BAD_FIELD : BCN_ETL_PG_S_BAD_UUID;
	if (nil)
		return BCN_ETL_PG_S_BAD_UUID;
	if (get_int(p, f[F_TS], &r->ts) || get_int(p, f[F_RECV_TS], &r->recv_ts) || r->ts < 0 ||
	    r->recv_ts < 0)
		return BCN_ETL_PG_S_BAD_FIELD;
	switch (type) {
	case BCN_T_LIKE:
		r->kind = BCN_ETL_PG_LIKE;
		if (get_int(p, f[F_SCORE], &r->score) || r->score < -1 || r->score > 1)
			return BCN_ETL_PG_S_BAD_FIELD;
		return BCN_ETL_PG_OK;
	case BCN_T_BOOKMARK:
		r->kind = BCN_ETL_PG_BOOKMARK;
		if (str_is(p, f[F_OP], "add", 3))
			r->active = 1;
		else if (!str_is(p, f[F_OP], "remove", 6))
			return BCN_ETL_PG_S_BAD_FIELD;
		return BCN_ETL_PG_OK;
	case BCN_T_REVIEW:
		r->kind = BCN_ETL_PG_REVIEW;
		if ((rc = get_uuid(p, f[F_REVIEW_ID], r->review_id, &nil)))
			return rc == -1 ? BCN_ETL_PG_S_BAD_FIELD : BCN_ETL_PG_S_BAD_UUID;
		if (nil)
			return BCN_ETL_PG_S_BAD_UUID;
		if (str_is(p, f[F_OP], "delete", 6)) {
			r->deleted = 1; /* rating 0, text "" */
			return BCN_ETL_PG_OK;
		}
		if (!str_is(p, f[F_OP], "post", 4))
			return BCN_ETL_PG_S_BAD_FIELD;
		if (get_int(p, f[F_RATING], &r->rating) || r->rating < 1 || r->rating > 10)
			return BCN_ETL_PG_S_BAD_FIELD;
		if (!f[F_TEXT] || f[F_TEXT]->vkind != BCN_ETL_V_STRING)
			return BCN_ETL_PG_S_BAD_FIELD;
		{
			const struct bcn_etl_tok *t = f[F_TEXT];
			ssize_t l = bcn_etl_pg_unescape(p + t->vo, t->vl, text, textcap);
			if (l < 0)
				return BCN_ETL_PG_S_BAD_TEXT;
			r->text = text;
			r->text_len = (size_t)l;
		}
		return BCN_ETL_PG_OK;
	case BCN_T_VIEW:
	case BCN_T_PLAYER:
		r->kind = type == BCN_T_VIEW ? BCN_ETL_PG_VIEW : BCN_ETL_PG_FINISH;
		if (get_int(p, f[F_POSITION], &r->position_ms) ||
		    get_int(p, f[F_DURATION], &r->duration_ms) || r->position_ms < 0 || r->duration_ms < 0)
			return BCN_ETL_PG_S_BAD_FIELD;
		return BCN_ETL_PG_OK;
	}
	return BCN_ETL_PG_S_OTHER_TYPE;
}

/* ---- the sink ------------------------------------------------------------------ */

#define NTOP 2 /* topic index: 0 = actions, 1 = views */
#define POLL_BATCH 1024
enum { T_LIKES = 0, T_BOOKMARKS, T_REVIEWS, T_PROGRESS, NTAB };
enum { E_CONNECT = 0, E_QUERY, E_KAFKA_COMMIT, E_KAFKA_CONSUME, E__N };
static const char *const err_name[E__N] = { "pg_connect", "pg_query", "kafka_commit", "kafka_consume" };
#define MAXCOL 9
/* column widths in the literal (a separator included): uuid, bigint, smallint, bool */
enum { W_UUID = 37, W_I64 = 21, W_I16 = 3, W_BOOL = 2, W_TEXT = 0 };

static const struct {
	const char *name, *sql;
	int ncols;
	unsigned char w[MAXCOL];
} tabs[NTAB] = {
	{ "likes",
	  "SELECT apply_likes($1::uuid[], $2::uuid[], $3::smallint[], $4::bigint[], $5::bigint[], "
	  "$6::uuid[])",
	  6, { W_UUID, W_UUID, W_I16, W_I64, W_I64, W_UUID } },
	{ "bookmarks",
	  "SELECT apply_bookmarks($1::uuid[], $2::uuid[], $3::boolean[], $4::bigint[], $5::bigint[], "
	  "$6::uuid[])",
	  6, { W_UUID, W_UUID, W_BOOL, W_I64, W_I64, W_UUID } },
	{ "reviews",
	  "SELECT apply_reviews($1::uuid[], $2::uuid[], $3::uuid[], $4::smallint[], $5::text[], "
	  "$6::boolean[], $7::bigint[], $8::bigint[], $9::uuid[])",
	  9, { W_UUID, W_UUID, W_UUID, W_I16, W_TEXT, W_BOOL, W_I64, W_I64, W_UUID } },
	{ "progress",
	  "SELECT apply_progress($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::boolean[], "
	  "$6::bigint[], $7::bigint[], $8::uuid[])",
	  8, { W_UUID, W_UUID, W_I64, W_I64, W_BOOL, W_I64, W_I64, W_UUID } },
};
#define TEXT_COL 4 /* reviews' text[] */

/* consumed records by type: BCN_T_* (0 = unknown) */
static const char *const type_label[BCN_T__COUNT] = { "unknown", "view",  "player", "page",
						      "action",	 "like",  "review", "bookmark" };

struct pg_part {
	_Atomic int64_t committed; /* next offset to read, -1 unknown */
	_Atomic int64_t hwm;
	_Atomic int64_t commit_ts; /* Kafka timestamp of the last committed record */
	_Atomic int assigned;
	int64_t rewind;            /* sink thread: read again from here, -1 none */
};

struct pg_range {
	int64_t first, next, last_ts;
};

struct bcn_etl_pg {
	struct bcn_etl *etl;
	const struct bcn_etl_cfg *c;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	const char *topic[NTOP];
	int nparts;
	struct pg_part *parts[NTOP];
	struct pg_range *r[NTOP];
	struct bcn_etl_pg_arr col[NTAB][MAXCOL];
	char *mem;                  /* every column buffer */
	size_t memsz;
	char *text;                 /* decode buffer, max_record_bytes */
	size_t textcap;
	PGconn *conn;
	pthread_t th;
	int started;
	uint64_t rng;
	/* the batch (sink thread) */
	uint32_t msgs;              /* records taken, skipped ones included */
	uint32_t nk[BCN_ETL_PG__NKINDS];
	int64_t start_ms;
	unsigned gen;               /* +1 at every revocation */
	int paused;
	int backed_up;              /* a poll came back full (bcn_etl_poll_full) */
	int64_t last_hwm_ms, last_conn_try_ms, last_log_ms;
	uint64_t log_suppressed;
	/* counters (one writer: the sink thread) */
	bcn_ctr consumed[BCN_T__COUNT], consumed_bytes;
	bcn_ctr applied[BCN_ETL_PG__NKINDS];
	bcn_ctr skipped[BCN_ETL_PG_S__COUNT];
	bcn_ctr batches, tx_ok, tx_failed, retries, commits, connects;
	bcn_ctr rows_changed[NTAB];
	bcn_ctr errors[E__N];
	bcn_ctr dropped_revoke, dropped_shutdown;
	bcn_ctr assigns, revokes;
	bcn_ctr fetch_kicks;
	bcn_ctr lat_le[BCN_ETL_NLAT], lat_sum_us;
	bcn_ctr in_use_rows, in_use_bytes; /* gauges */
	_Atomic int running, up, failing, assigned_n;
};

static uint64_t rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545F4914F6CDD1Dull;
}

static int topic_of(struct bcn_etl_pg *g, const char *name)
{
	for (int i = 0; i < NTOP; i++)
		if (!strcmp(name, g->topic[i]))
			return i;
	return -1;
}

static void reset_batch(struct bcn_etl_pg *g)
{
	for (int t = 0; t < NTAB; t++)
		for (int k = 0; k < tabs[t].ncols; k++)
			bcn_etl_pg_arr_reset(&g->col[t][k]);
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++)
			g->r[ti][p].first = -1;
	g->msgs = 0;
	memset(g->nk, 0, sizeof(g->nk));
	BCN_SET(g->in_use_rows, 0);
	BCN_SET(g->in_use_bytes, 0);
}

/* ---- partitions: pause, rewind, resume (sink thread) ---- */

static void pause_all(struct bcn_etl_pg *g)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	if (g->paused || rd_kafka_assignment(g->rk, &l) || !l) {
		if (l)
			rd_kafka_topic_partition_list_destroy(l);
		return;
	}
	if (l->cnt)
		rd_kafka_pause_partitions(g->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	g->paused = 1;
}

static void rewind_to(struct bcn_etl_pg *g, const rd_kafka_message_t *m)
{
	int ti = topic_of(g, rd_kafka_topic_name(m->rkt));
	if (ti < 0 || m->partition < 0 || m->partition >= g->nparts)
		return;
	struct pg_part *pt = &g->parts[ti][m->partition];
	if (pt->rewind < 0 || m->offset < pt->rewind)
		pt->rewind = m->offset;
}

/* Resume the paused partitions, then seek every still-assigned one back to
 * its rewind offset (the first record delivered while paused, or the first
 * of a dropped batch).  Either order works in librdkafka >= 1.9 (a seek
 * resets the position a later resume starts from: librdkafka #3471; checked
 * against 2.0.2 with a pause/seek/resume experiment on kafka-dev, the same
 * order as bcn_etl_stream.c's resume_all is fine). */
static void resume_all(struct bcn_etl_pg *g)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	if (g->paused && !rd_kafka_assignment(g->rk, &l) && l) {
		if (l->cnt)
			rd_kafka_resume_partitions(g->rk, l);
		rd_kafka_topic_partition_list_destroy(l);
	}
	g->paused = 0;
	l = rd_kafka_topic_partition_list_new(8);
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++) {
			struct pg_part *pt = &g->parts[ti][p];
			int64_t off = pt->rewind;
			pt->rewind = -1;
			if (off >= 0 && atomic_load(&pt->assigned))
				rd_kafka_topic_partition_list_add(l, g->topic[ti], p)->offset = off;
		}
	if (l->cnt) {
		rd_kafka_error_t *e = rd_kafka_seek_partitions(g->rk, l, bcn_etl_seek_timeout_ms(5000));
		int bad = e != NULL;
		for (int i = 0; !e && i < l->cnt; i++)
			bad |= l->elems[i].err != 0;
		if (bad) {
			fprintf(stderr, "beacon-etl: pg: seek back failed%s%s (exiting: a restart resumes "
					"from the committed offsets)\n",
				e ? ": " : "", e ? rd_kafka_error_string(e) : "");
			atomic_store(&g->etl->fatal, 1);
		}
		if (e)
			rd_kafka_error_destroy(e);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Serve the consumer for up to ms with every partition paused. */
static void serve_paused(struct bcn_etl_pg *g, int ms)
{
	rd_kafka_message_t *msgs[64];
	unsigned gen = g->gen;
	pause_all(g);
	ssize_t n = rd_kafka_consume_batch_queue(g->q, ms, msgs, 64);
	for (ssize_t i = 0; i < n; i++) {
		if (!msgs[i]->err && g->gen == gen)
			rewind_to(g, msgs[i]);
		rd_kafka_message_destroy(msgs[i]);
	}
}

/* Wait ms (paused, polling).  Returns 0, or -1 if the batch must be given
 * up: revoked (gen changed), a fatal error, deadline_ms or the shutdown
 * deadline passed. */
static int pg_wait(struct bcn_etl_pg *g, int64_t ms, int64_t deadline_ms, unsigned gen)
{
	int64_t end = bcn_etl_mono_ms() + ms;
	for (;;) {
		int64_t now = bcn_etl_mono_ms(), d = deadline_ms;
		if (atomic_load(&g->etl->stop)) {
			int64_t sd = atomic_load(&g->etl->stop_deadline_ms);
			if (!d || sd < d)
				d = sd;
		}
		if (g->gen != gen || atomic_load(&g->etl->fatal) || (d && now >= d))
			return -1;
		int64_t left = end - now;
		if (left <= 0)
			return 0;
		if (left > 100)
			left = 100;
		if (d && d - now < left)
			left = d - now;
		serve_paused(g, (int)left);
	}
}

/* ---- PostgreSQL ---- */

static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void pg_drop(struct bcn_etl_pg *g)
{
	if (g->conn)
		PQfinish(g->conn);
	g->conn = NULL;
	atomic_store(&g->up, 0);
}

/* Connect and set the session up.  Returns 0, or -1 with a message. */
static int pg_connect(struct bcn_etl_pg *g, char *msg, size_t msglen)
{
	const struct bcn_etl_cfg *c = g->c;
	char ct[24], tut[24];
	snprintf(ct, sizeof(ct), "%lld",
		 (long long)((c->pg_connect_timeout_ms + 999) / 1000 < 2 ? 2
									  : (c->pg_connect_timeout_ms + 999) / 1000));
	snprintf(tut, sizeof(tut), "%lld", (long long)(c->pg_statement_timeout_ms + 10000));
	/* later keys override the conninfo's own */
	const char *kw[] = { "dbname",	      "connect_timeout",     "application_name",
			     "client_encoding", "keepalives",	      "keepalives_idle",
			     "keepalives_interval", "keepalives_count", "tcp_user_timeout",
			     NULL };
	const char *val[] = { c->pg_conninfo, ct, "beacon-etl-pg", "UTF8", "1", "10", "5", "3", tut,
			      NULL };
	g->last_conn_try_ms = bcn_etl_mono_ms();
	g->conn = PQconnectdbParams(kw, val, 1);
	if (!g->conn || PQstatus(g->conn) != CONNECTION_OK) {
		snprintf(msg, msglen, "connect: %s", g->conn ? PQerrorMessage(g->conn) : "out of memory");
		pg_drop(g);
		BCN_INC(g->errors[E_CONNECT], 1);
		return -1;
	}
	PQsetNoticeProcessor(g->conn, on_notice, NULL);
	char q[96];
	/* from the config (an integer), never from data */
	snprintf(q, sizeof(q), "SET statement_timeout = %lld", (long long)c->pg_statement_timeout_ms);
	PGresult *res = PQexec(g->conn, q);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(msg, msglen, "%s", PQerrorMessage(g->conn));
	PQclear(res);
	if (!ok) {
		pg_drop(g);
		BCN_INC(g->errors[E_CONNECT], 1);
		return -1;
	}
	BCN_INC(g->connects, 1);
	atomic_store(&g->up, 1);
	return 0;
}

static void trim_nl(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

/* One result: 0 if its status is want, else -1 with the error in msg. */
static int check(PGconn *conn, PGresult *res, ExecStatusType want, const char *what, char *msg,
		 size_t msglen)
{
	if (PQresultStatus(res) == want)
		return 0;
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!m || !*m)
		m = PQerrorMessage(conn); /* connection lost: no error fields */
	snprintf(msg, msglen, "%s: %s%s%s", what, st ? st : "", st ? " " : "",
		 m && *m ? m : PQresStatus(PQresultStatus(res)));
	trim_nl(msg);
	return -1;
}

/* The batch's transaction.  Returns 0 (committed; changed[] filled), or -1
 * (failed and rolled back, or the connection is gone: dropped). */
static int apply_tx(struct bcn_etl_pg *g, uint64_t changed[NTAB], char *msg, size_t msglen)
{
	PGresult *res = PQexec(g->conn, "BEGIN");
	int rc = check(g->conn, res, PGRES_COMMAND_OK, "BEGIN", msg, msglen);
	PQclear(res);
	for (int t = 0; t < NTAB && !rc; t++) {
		changed[t] = 0;
		if (!g->col[t][0].n)
			continue;
		const char *vals[MAXCOL];
		for (int k = 0; k < tabs[t].ncols; k++)
			vals[k] = bcn_etl_pg_arr_end(&g->col[t][k]);
		res = PQexecParams(g->conn, tabs[t].sql, tabs[t].ncols, NULL, vals, NULL, NULL, 0);
		rc = check(g->conn, res, PGRES_TUPLES_OK, tabs[t].name, msg, msglen);
		if (!rc && PQntuples(res) == 1 && PQnfields(res) == 1)
			changed[t] = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	if (!rc) {
		res = PQexec(g->conn, "COMMIT");
		rc = check(g->conn, res, PGRES_COMMAND_OK, "COMMIT", msg, msglen);
		/* COMMIT of an aborted transaction answers ROLLBACK */
		if (!rc && strcmp(PQcmdStatus(res), "COMMIT")) {
			snprintf(msg, msglen, "COMMIT answered %s", PQcmdStatus(res));
			rc = -1;
		}
		PQclear(res);
		if (!rc)
			return 0;
	}
	if (PQstatus(g->conn) != CONNECTION_OK) {
		/* lost (maybe during COMMIT: unknown outcome; the retry is
		 * harmless, apply_* being idempotent) */
		pg_drop(g);
		return -1;
	}
	res = PQexec(g->conn, "ROLLBACK");
	PQclear(res);
	if (PQstatus(g->conn) != CONNECTION_OK)
		pg_drop(g);
	return -1;
}

/* ---- Kafka commit ---- */

static int commit_offsets(struct bcn_etl_pg *g, unsigned gen, int64_t deadline_ms)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
	int rc = 0;
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++)
			if (g->r[ti][p].first >= 0)
				rd_kafka_topic_partition_list_add(l, g->topic[ti], p)->offset =
					g->r[ti][p].next;
	for (unsigned attempt = 0; l->cnt; attempt++) {
		rd_kafka_resp_err_t e = rd_kafka_commit(g->rk, l, 0);
		if (!e) {
			for (int i = 0; i < l->cnt; i++) {
				int ti = topic_of(g, l->elems[i].topic), p = l->elems[i].partition;
				if (ti < 0)
					continue;
				atomic_store(&g->parts[ti][p].committed, l->elems[i].offset);
				atomic_store(&g->parts[ti][p].commit_ts, g->r[ti][p].last_ts);
			}
			BCN_INC(g->commits, 1);
			break;
		}
		BCN_INC(g->errors[E_KAFKA_COMMIT], 1);
		if (attempt == 0 || (attempt & 15) == 0)
			fprintf(stderr, "beacon-etl: pg: offset commit failed: %s; retrying\n",
				rd_kafka_err2str(e));
		if (pg_wait(g, bcn_etl_backoff_ms(attempt, g->c->pg_backoff_min_ms, g->c->pg_backoff_max_ms,
						  rnd(&g->rng)),
			    deadline_ms, gen)) {
			rc = -1;
			break;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

/* ---- the flush ---- */

static void observe(struct bcn_etl_pg *g, double secs)
{
	for (int i = 0; i < BCN_ETL_NLAT; i++)
		if (i == BCN_ETL_NLAT - 1 || secs <= bcn_etl_lat_bounds[i])
			BCN_INC(g->lat_le[i], 1);
	BCN_INC(g->lat_sum_us, (uint64_t)(secs * 1e6));
}

/* Apply and commit the batch, retrying until it is in, or given up
 * (revoked: the batch is already dropped; fatal; deadline).  Returns 0 or -1. */
static int flush(struct bcn_etl_pg *g, int64_t deadline_ms)
{
	if (!g->msgs)
		return 0;
	unsigned gen = g->gen;
	uint64_t changed[NTAB] = { 0 };
	char msg[512];
	int have_rows = 0;
	for (int t = 0; t < NTAB; t++)
		have_rows |= g->col[t][0].n > 0;
	for (unsigned attempt = 0; have_rows; attempt++) {
		if (g->gen != gen)
			return -1;
		int rc;
		double secs = 0;
		if (!g->conn && pg_connect(g, msg, sizeof(msg))) {
			rc = -1;
		} else {
			struct timespec a, b;
			clock_gettime(CLOCK_MONOTONIC, &a);
			rc = apply_tx(g, changed, msg, sizeof(msg));
			clock_gettime(CLOCK_MONOTONIC, &b);
			secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
			BCN_INC(*(rc ? &g->tx_failed : &g->tx_ok), 1);
			if (rc)
				BCN_INC(g->errors[E_QUERY], 1);
		}
		if (!rc) {
			observe(g, secs);
			for (int t = 0; t < NTAB; t++)
				BCN_INC(g->rows_changed[t], changed[t]);
			if (attempt)
				fprintf(stderr, "beacon-etl: pg: batch applied after %u retries\n", attempt);
			break;
		}
		atomic_store(&g->failing, 1);
		trim_nl(msg);
		if (attempt == 0 || (attempt & 15) == 0)
			fprintf(stderr, "beacon-etl: pg: batch of %u records failed (%s); retrying (attempt "
					"%u)\n",
				g->msgs, msg, attempt + 1);
		BCN_INC(g->retries, 1);
		if (pg_wait(g, bcn_etl_backoff_ms(attempt, g->c->pg_backoff_min_ms, g->c->pg_backoff_max_ms,
						  rnd(&g->rng)),
			    deadline_ms, gen))
			return -1;
	}
	if (commit_offsets(g, gen, deadline_ms))
		return -1;
	for (int k = 0; k < BCN_ETL_PG__NKINDS; k++)
		BCN_INC(g->applied[k], g->nk[k]);
	BCN_INC(g->batches, 1);
	reset_batch(g);
	atomic_store(&g->failing, 0);
	resume_all(g);
	return 0;
}

/* flush; if it gave up without a revocation (shutdown deadline, fatal),
 * the batch is abandoned uncommitted. */
static int flush_or_drop(struct bcn_etl_pg *g, int64_t deadline_ms)
{
	unsigned gen = g->gen;
	if (!flush(g, deadline_ms))
		return 0;
	if (g->gen == gen) {
		BCN_INC(g->dropped_shutdown, 1);
		reset_batch(g);
	}
	atomic_store(&g->failing, 0);
	return -1;
}

/* ---- rebalancing (sink thread, inside a poll of its consumer queue) ---- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct bcn_etl_pg *g = opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		BCN_INC(g->assigns, 1);
		for (int i = 0; i < parts->cnt; i++)
			if (topic_of(g, parts->elems[i].topic) < 0 || parts->elems[i].partition >= g->nparts) {
				fprintf(stderr, "beacon-etl: pg: partition %s[%d] is beyond "
						"kafka.max_partitions (%d) (exiting)\n",
					parts->elems[i].topic, parts->elems[i].partition, g->nparts);
				atomic_store(&g->etl->fatal, 1);
				rd_kafka_assign(rk, NULL);
				return;
			}
		int ok;
		rd_kafka_topic_partition_list_t *c = bcn_etl_assign(rk, parts, &ok);
		for (int i = 0; i < c->cnt; i++) {
			struct pg_part *pt = &g->parts[topic_of(g, c->elems[i].topic)][c->elems[i].partition];
			atomic_store(&pt->committed, ok && c->elems[i].offset >= 0 ? c->elems[i].offset : -1);
			atomic_store(&pt->commit_ts, 0);
			pt->rewind = -1;
			atomic_store(&pt->assigned, 1);
		}
		rd_kafka_topic_partition_list_destroy(c);
		atomic_store(&g->assigned_n, parts->cnt);
		fprintf(stderr, "beacon-etl: pg: %d partition(s) assigned\n", parts->cnt);
		return;
	}
	if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
		fprintf(stderr, "beacon-etl: pg: rebalance error: %s\n", rd_kafka_err2str(err));
	BCN_INC(g->revokes, 1);
	if (g->msgs) {
		/* the next owner reads it again; applying it twice is harmless */
		BCN_INC(g->dropped_revoke, 1);
		fprintf(stderr, "beacon-etl: pg: revoked: uncommitted batch of %u records dropped\n",
			g->msgs);
	}
	reset_batch(g);
	g->gen++;
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++) {
			atomic_store(&g->parts[ti][p].assigned, 0);
			g->parts[ti][p].rewind = -1;
		}
	g->paused = 0;
	atomic_store(&g->assigned_n, 0);
	rd_kafka_assign(rk, NULL);
}

/* ---- consuming ---- */

static void log_skip(struct bcn_etl_pg *g, int reason, const rd_kafka_message_t *m)
{
	if (reason == BCN_ETL_PG_S_ANONYMOUS || reason == BCN_ETL_PG_S_PLAYER_EVENT ||
	    reason == BCN_ETL_PG_S_OTHER_TYPE)
		return; /* normal traffic */
	int64_t now = bcn_etl_mono_ms();
	if (g->last_log_ms && now - g->last_log_ms < 10000) {
		g->log_suppressed++;
		return;
	}
	fprintf(stderr, "beacon-etl: pg: skipped a malformed record (%s) at %s[%d]@%lld; %llu more "
			"not logged before it (at most one line per 10 s; all counted in "
			"beacon_etl_pg_records_skipped_total)\n",
		bcn_etl_pg_skip_name((unsigned)reason), rd_kafka_topic_name(m->rkt), m->partition,
		(long long)m->offset, (unsigned long long)g->log_suppressed);
	g->last_log_ms = now;
	g->log_suppressed = 0;
}

/* Append the record's row (room is guaranteed: the fixed-width columns hold
 * batch_rows rows, and the text was checked by the caller). */
static int append(struct bcn_etl_pg *g, const struct bcn_etl_pg_rec *r)
{
	struct bcn_etl_pg_arr *a;
	int bad = 0;
	switch (r->kind) {
	case BCN_ETL_PG_LIKE:
		a = g->col[T_LIKES];
		bad = bcn_etl_pg_arr_plain(&a[0], r->user_id, 36) | bcn_etl_pg_arr_plain(&a[1], r->film_id, 36) |
		      bcn_etl_pg_arr_i64(&a[2], r->score) | bcn_etl_pg_arr_i64(&a[3], r->ts) |
		      bcn_etl_pg_arr_i64(&a[4], r->recv_ts) | bcn_etl_pg_arr_plain(&a[5], r->event_id, 36);
		break;
	case BCN_ETL_PG_BOOKMARK:
		a = g->col[T_BOOKMARKS];
		bad = bcn_etl_pg_arr_plain(&a[0], r->user_id, 36) | bcn_etl_pg_arr_plain(&a[1], r->film_id, 36) |
		      bcn_etl_pg_arr_bool(&a[2], r->active) | bcn_etl_pg_arr_i64(&a[3], r->ts) |
		      bcn_etl_pg_arr_i64(&a[4], r->recv_ts) | bcn_etl_pg_arr_plain(&a[5], r->event_id, 36);
		break;
	case BCN_ETL_PG_REVIEW:
		a = g->col[T_REVIEWS];
		bad = bcn_etl_pg_arr_text(&a[TEXT_COL], r->text, r->text_len);
		if (bad)
			break;
		bad = bcn_etl_pg_arr_plain(&a[0], r->review_id, 36) |
		      bcn_etl_pg_arr_plain(&a[1], r->film_id, 36) | bcn_etl_pg_arr_plain(&a[2], r->user_id, 36) |
		      bcn_etl_pg_arr_i64(&a[3], r->rating) | bcn_etl_pg_arr_bool(&a[5], r->deleted) |
		      bcn_etl_pg_arr_i64(&a[6], r->ts) | bcn_etl_pg_arr_i64(&a[7], r->recv_ts) |
		      bcn_etl_pg_arr_plain(&a[8], r->event_id, 36);
		break;
	default:
		a = g->col[T_PROGRESS];
		bad = bcn_etl_pg_arr_plain(&a[0], r->user_id, 36) | bcn_etl_pg_arr_plain(&a[1], r->film_id, 36) |
		      bcn_etl_pg_arr_i64(&a[2], r->position_ms) | bcn_etl_pg_arr_i64(&a[3], r->duration_ms) |
		      bcn_etl_pg_arr_bool(&a[4], r->kind == BCN_ETL_PG_FINISH) |
		      bcn_etl_pg_arr_i64(&a[5], r->ts) | bcn_etl_pg_arr_i64(&a[6], r->recv_ts) |
		      bcn_etl_pg_arr_plain(&a[7], r->event_id, 36);
		break;
	}
	return bad ? -1 : 0;
}

static size_t batch_bytes(const struct bcn_etl_pg *g)
{
	size_t b = 0;
	for (int t = 0; t < NTAB; t++)
		for (int k = 0; k < tabs[t].ncols; k++)
			b += g->col[t][k].len;
	return b;
}

/* One record.  Returns 0, or -1 if a flush gave up (the batch is gone). */
static int take(struct bcn_etl_pg *g, const rd_kafka_message_t *m)
{
	struct bcn_etl_pg_rec rec;
	int ti = topic_of(g, rd_kafka_topic_name(m->rkt));
	if (ti < 0 || m->partition < 0 || m->partition >= g->nparts) {
		atomic_store(&g->etl->fatal, 1);
		return -1;
	}
	BCN_INC(g->consumed_bytes, m->len);
	int rc;
	rec.type = BCN_T_NONE;
	if (!m->payload)
		rc = BCN_ETL_PG_S_BAD_JSON;
	else if (m->len > (size_t)g->c->pg_max_record_bytes)
		rc = BCN_ETL_PG_S_TOO_LARGE;
	else
		rc = bcn_etl_pg_parse(m->payload, m->len, &rec, g->text, g->textcap);
	BCN_INC(g->consumed[rec.type < BCN_T__COUNT ? rec.type : 0], 1);
	if (rc == BCN_ETL_PG_OK && rec.kind == BCN_ETL_PG_REVIEW) {
		const struct bcn_etl_pg_arr *a = &g->col[T_REVIEWS][TEXT_COL];
		if (a->cap - 2 - a->len < bcn_etl_pg_text_need(rec.text_len) && flush_or_drop(g, 0))
			return -1;
	}
	struct pg_range *r = &g->r[ti][m->partition];
	if (r->first < 0)
		r->first = m->offset;
	r->next = m->offset + 1;
	r->last_ts = rd_kafka_message_timestamp(m, NULL);
	if (!g->msgs++)
		g->start_ms = bcn_etl_mono_ms();
	if (rc == BCN_ETL_PG_OK) {
		if (append(g, &rec)) {
			fprintf(stderr, "beacon-etl: pg: BUG: batch arrays full (exiting uncommitted)\n");
			atomic_store(&g->etl->fatal, 1);
			return -1;
		}
		g->nk[rec.kind]++;
	} else {
		BCN_INC(g->skipped[rc], 1);
		log_skip(g, rc, m);
	}
	BCN_SET(g->in_use_rows, g->msgs);
	if (g->msgs >= (uint32_t)g->c->pg_batch_rows)
		return flush_or_drop(g, 0);
	return 0;
}

static void update_hwm(struct bcn_etl_pg *g)
{
	int64_t now = bcn_etl_mono_ms();
	if (now - g->last_hwm_ms < 500)
		return;
	g->last_hwm_ms = now;
	BCN_SET(g->in_use_bytes, batch_bytes(g));
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++) {
			if (!atomic_load(&g->parts[ti][p].assigned))
				continue;
			int64_t lo = -1, hi = -1;
			if (!rd_kafka_get_watermark_offsets(g->rk, g->topic[ti], p, &lo, &hi) && hi >= 0)
				atomic_store(&g->parts[ti][p].hwm, hi);
		}
}

/* bcn_etl_kick_fetchers' skip callback: partitions a seek back will move. */
static int pg_kick_skip(void *arg, const char *topic, int32_t partition)
{
	struct bcn_etl_pg *g = arg;
	int t = topic_of(g, topic);
	return t < 0 || partition < 0 || partition >= g->nparts || g->parts[t][partition].rewind >= 0;
}

static void *pg_main(void *arg)
{
	struct bcn_etl_pg *g = arg;
	rd_kafka_message_t *msgs[POLL_BATCH];
	char msg[512];
	pthread_setname_np(pthread_self(), "etl-pg");
	if (pg_connect(g, msg, sizeof(msg))) {
		trim_nl(msg);
		fprintf(stderr, "beacon-etl: pg: PostgreSQL not reachable yet (%s); will retry\n", msg);
	}
	while (!atomic_load(&g->etl->stop) && !atomic_load(&g->etl->fatal)) {
		int64_t to = 100;
		if (g->msgs) {
			to = g->start_ms + g->c->pg_flush_ms - bcn_etl_mono_ms();
			to = to < 0 ? 0 : to > 100 ? 100 : to;
		}
		if (g->backed_up && to > BCN_ETL_KICK_WAIT_MS)
			to = BCN_ETL_KICK_WAIT_MS;
		ssize_t n = bcn_etl_consume(g->q, (int)to, msgs, POLL_BATCH);
		unsigned gen = g->gen;
		int dropped = 0;
		size_t polled = 0;
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = msgs[i];
			polled += m->len + m->key_len;
			if (dropped || g->gen != gen) {
				/* revoked or stopping: the rest is read again by whoever owns it */
			} else if (m->err) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					BCN_INC(g->errors[E_KAFKA_CONSUME], 1);
					fprintf(stderr, "beacon-etl: pg: consumer: %s\n", rd_kafka_message_errstr(m));
				}
			} else if (take(g, m)) {
				dropped = 1;
			}
			rd_kafka_message_destroy(m);
		}
		if (bcn_etl_poll_full((size_t)n, POLL_BATCH, polled, g->c->queue_kbytes)) {
			g->backed_up = 1;
		} else if (g->backed_up && n == 0 && g->gen == gen) {
			g->backed_up = 0;
			if (!g->paused && bcn_etl_kick_fetchers(g->rk, pg_kick_skip, g) > 0)
				BCN_INC(g->fetch_kicks, 1);
		}
		if (g->msgs && bcn_etl_mono_ms() - g->start_ms >= g->c->pg_flush_ms)
			(void)flush_or_drop(g, 0);
		/* idle and disconnected: reconnect now and then, so pg_up tells */
		if (!g->msgs && !g->conn && bcn_etl_mono_ms() - g->last_conn_try_ms > 2000)
			(void)pg_connect(g, msg, sizeof(msg));
		update_hwm(g);
	}
	if (!atomic_load(&g->etl->fatal) && g->msgs &&
	    flush_or_drop(g, atomic_load(&g->etl->stop_deadline_ms)))
		fprintf(stderr, "beacon-etl: pg: shutdown: batch abandoned uncommitted (read again "
				"at the next start)\n");
	rd_kafka_resp_err_t e = rd_kafka_consumer_close(g->rk);
	if (e)
		fprintf(stderr, "beacon-etl: pg: consumer close: %s\n", rd_kafka_err2str(e));
	pg_drop(g);
	atomic_store(&g->running, 0);
	return NULL;
}

/* ---- set-up ---- */

static int consumer_new(struct bcn_etl_pg *g, char *err, size_t errlen)
{
	char e[512];
	rd_kafka_conf_t *kc = bcn_etl_consumer_conf(g->c, g->c->pg_group, "beacon-etl-pg", err, errlen);
	if (!kc)
		return -1;
	rd_kafka_conf_set_opaque(kc, g);
	rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
	g->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
	if (!g->rk) {
		snprintf(err, errlen, "pg: kafka consumer: %s", e);
		rd_kafka_conf_destroy(kc);
		return -1;
	}
	rd_kafka_poll_set_consumer(g->rk);
	g->q = rd_kafka_queue_get_consumer(g->rk);
	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
	for (int ti = 0; ti < NTOP; ti++)
		rd_kafka_topic_partition_list_add(sub, g->topic[ti], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t re = rd_kafka_subscribe(g->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (re) {
		snprintf(err, errlen, "pg: kafka: subscribe: %s", rd_kafka_err2str(re));
		return -1;
	}
	return 0;
}

struct bcn_etl_pg *bcn_etl_pg_new(struct bcn_etl *etl, char *err, size_t errlen)
{
	const struct bcn_etl_cfg *c = &etl->cfg;
	struct bcn_etl_pg *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "pg: out of memory");
		return NULL;
	}
	g->etl = etl;
	g->c = c;
	g->topic[0] = c->s[BCN_ETL_ACTIONS].topic;
	g->topic[1] = c->s[BCN_ETL_VIEWS].topic;
	g->nparts = (int)c->max_partitions;
	g->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)bcn_etl_wall_ms() << 8) ^ 0x5a;
	size_t rows = (size_t)c->pg_batch_rows, text = (size_t)c->pg_text_kbytes * 1024;
	for (int t = 0; t < NTAB; t++)
		for (int k = 0; k < tabs[t].ncols; k++)
			g->memsz += (tabs[t].w[k] ? rows * tabs[t].w[k] : text) + 4;
	g->textcap = (size_t)c->pg_max_record_bytes;
	g->mem = malloc(g->memsz);
	g->text = malloc(g->textcap);
	for (int ti = 0; ti < NTOP; ti++) {
		g->parts[ti] = calloc((size_t)g->nparts, sizeof(struct pg_part));
		g->r[ti] = calloc((size_t)g->nparts, sizeof(struct pg_range));
	}
	if (!g->mem || !g->text || !g->parts[0] || !g->parts[1] || !g->r[0] || !g->r[1]) {
		snprintf(err, errlen, "pg: cannot allocate the batch (%zu bytes)", g->memsz);
		bcn_etl_pg_free(g);
		return NULL;
	}
	/* touch every page now: RSS is the working size from the start */
	memset(g->mem, 0, g->memsz);
	memset(g->text, 0, g->textcap);
	char *p = g->mem;
	for (int t = 0; t < NTAB; t++)
		for (int k = 0; k < tabs[t].ncols; k++) {
			size_t cap = (tabs[t].w[k] ? rows * tabs[t].w[k] : text) + 4;
			bcn_etl_pg_arr_init(&g->col[t][k], p, cap);
			p += cap;
		}
	for (int ti = 0; ti < NTOP; ti++)
		for (int i = 0; i < g->nparts; i++) {
			atomic_store(&g->parts[ti][i].committed, -1);
			atomic_store(&g->parts[ti][i].hwm, -1);
			g->parts[ti][i].rewind = -1;
		}
	reset_batch(g);
	if (consumer_new(g, err, errlen)) {
		bcn_etl_pg_free(g);
		return NULL;
	}
	return g;
}

int bcn_etl_pg_start(struct bcn_etl_pg *g)
{
	atomic_store(&g->running, 1);
	if (pthread_create(&g->th, NULL, pg_main, g)) {
		atomic_store(&g->running, 0);
		return -1;
	}
	g->started = 1;
	return 0;
}

int bcn_etl_pg_running(struct bcn_etl_pg *g)
{
	return g && atomic_load(&g->running);
}

void bcn_etl_pg_free(struct bcn_etl_pg *g)
{
	if (!g)
		return;
	if (g->started)
		pthread_join(g->th, NULL);
	if (g->q)
		rd_kafka_queue_destroy(g->q);
	if (g->rk)
		rd_kafka_destroy(g->rk);
	if (g->conn)
		PQfinish(g->conn);
	for (int ti = 0; ti < NTOP; ti++) {
		free(g->parts[ti]);
		free(g->r[ti]);
	}
	free(g->mem);
	free(g->text);
	free(g);
}

size_t bcn_etl_pg_pool_bytes(struct bcn_etl_pg *g)
{
	return g ? g->memsz + g->textcap : 0;
}

void bcn_etl_pg_totals(struct bcn_etl_pg *g, uint64_t *applied, uint64_t *dropped)
{
	*applied = *dropped = 0;
	if (!g)
		return;
	for (int k = 0; k < BCN_ETL_PG__NKINDS; k++)
		*applied += BCN_GET(g->applied[k]);
	*dropped = BCN_GET(g->dropped_shutdown);
}

int bcn_etl_pg_ready(struct bcn_etl_pg *g, char *why, size_t whylen)
{
	if (!atomic_load(&g->running)) {
		snprintf(why, whylen, "postgres sink: thread stopped");
		return 0;
	}
	if (atomic_load(&g->failing)) {
		snprintf(why, whylen, "postgres sink: transactions failing, consumption paused");
		return 0;
	}
	return 1;
}

/* ---- /metrics ---- */

#define U(x) ((unsigned long long)(x))

void bcn_etl_pg_metrics(struct bcn_etl_pg *g, struct bcn_mbuf *mb)
{
	int64_t now = bcn_etl_wall_ms();
	bcn_mb_family(mb, "beacon_etl_pg_up", "gauge",
		      "1 while the PostgreSQL sink holds a working connection (as of its last use).");
	bcn_mb_printf(mb, "beacon_etl_pg_up %d\n", atomic_load(&g->up));
	bcn_mb_family(mb, "beacon_etl_pg_fetch_kicks_total", "counter",
		      "Times the sink restarted librdkafka's fetchers after its prefetch queue had filled "
		      "and drained (librdkafka < 2.3 would wait up to 1 s).");
	bcn_mb_printf(mb, "beacon_etl_pg_fetch_kicks_total %llu\n", U(BCN_GET(g->fetch_kicks)));
	bcn_mb_family(mb, "beacon_etl_pg_paused", "gauge",
		      "1 while the sink's transaction is retried (its partitions paused).");
	bcn_mb_printf(mb, "beacon_etl_pg_paused %d\n", atomic_load(&g->failing));
	bcn_mb_family(mb, "beacon_etl_pg_records_consumed_total", "counter",
		      "Records the PostgreSQL sink took from Kafka, by record type (unknown: not routable).");
	for (unsigned t = 0; t < BCN_T__COUNT; t++)
		bcn_mb_printf(mb, "beacon_etl_pg_records_consumed_total{type=\"%s\"} %llu\n", type_label[t],
			      U(BCN_GET(g->consumed[t])));
	bcn_mb_family(mb, "beacon_etl_pg_consumed_bytes_total", "counter",
		      "Record bytes the PostgreSQL sink took from Kafka.");
	bcn_mb_printf(mb, "beacon_etl_pg_consumed_bytes_total %llu\n", U(BCN_GET(g->consumed_bytes)));
	bcn_mb_family(mb, "beacon_etl_pg_records_applied_total", "counter",
		      "Records in committed transactions, by kind (like, bookmark, review, view heartbeat, finish).");
	for (unsigned k = 0; k < BCN_ETL_PG__NKINDS; k++)
		bcn_mb_printf(mb, "beacon_etl_pg_records_applied_total{kind=\"%s\"} %llu\n",
			      bcn_etl_pg_kind_name(k), U(BCN_GET(g->applied[k])));
	bcn_mb_family(mb, "beacon_etl_pg_records_skipped_total", "counter",
		      "Records the sink does not apply, by reason (anonymous, player_event and other_type are "
		      "normal traffic; the others are malformed).");
	for (unsigned r = 1; r < BCN_ETL_PG_S__COUNT; r++)
		bcn_mb_printf(mb, "beacon_etl_pg_records_skipped_total{reason=\"%s\"} %llu\n",
			      bcn_etl_pg_skip_name(r), U(BCN_GET(g->skipped[r])));
	bcn_mb_family(mb, "beacon_etl_pg_batches_total", "counter",
		      "Batches applied and their offsets committed.");
	bcn_mb_printf(mb, "beacon_etl_pg_batches_total %llu\n", U(BCN_GET(g->batches)));
	bcn_mb_family(mb, "beacon_etl_pg_transactions_total", "counter",
		      "Transactions (BEGIN, apply_*, COMMIT) by result.");
	bcn_mb_printf(mb, "beacon_etl_pg_transactions_total{result=\"ok\"} %llu\n"
			  "beacon_etl_pg_transactions_total{result=\"failed\"} %llu\n",
		      U(BCN_GET(g->tx_ok)), U(BCN_GET(g->tx_failed)));
	bcn_mb_family(mb, "beacon_etl_pg_retries_total", "counter",
		      "Retries of a batch after a failed transaction or connect (same arrays, after a backoff).");
	bcn_mb_printf(mb, "beacon_etl_pg_retries_total %llu\n", U(BCN_GET(g->retries)));
	bcn_mb_family(mb, "beacon_etl_pg_connects_total", "counter", "Successful connections to PostgreSQL.");
	bcn_mb_printf(mb, "beacon_etl_pg_connects_total %llu\n", U(BCN_GET(g->connects)));
	bcn_mb_family(mb, "beacon_etl_pg_commits_total", "counter", "Kafka offset commits that succeeded.");
	bcn_mb_printf(mb, "beacon_etl_pg_commits_total %llu\n", U(BCN_GET(g->commits)));
	bcn_mb_family(mb, "beacon_etl_pg_errors_total", "counter",
		      "Sink failures by kind: pg_connect, pg_query (a failed transaction), kafka_commit, "
		      "kafka_consume (each retried).");
	for (int e = 0; e < E__N; e++)
		bcn_mb_printf(mb, "beacon_etl_pg_errors_total{kind=\"%s\"} %llu\n", err_name[e],
			      U(BCN_GET(g->errors[e])));
	bcn_mb_family(mb, "beacon_etl_pg_rows_changed_total", "counter",
		      "Rows the apply_* functions inserted or updated, per table (older or repeated writes change none).");
	for (int t = 0; t < NTAB; t++)
		bcn_mb_printf(mb, "beacon_etl_pg_rows_changed_total{table=\"%s\"} %llu\n", tabs[t].name,
			      U(BCN_GET(g->rows_changed[t])));
	bcn_mb_family(mb, "beacon_etl_pg_batches_dropped_total", "counter",
		      "Batches given up uncommitted (read again), by cause (revoke, shutdown).");
	bcn_mb_printf(mb, "beacon_etl_pg_batches_dropped_total{cause=\"revoke\"} %llu\n"
			  "beacon_etl_pg_batches_dropped_total{cause=\"shutdown\"} %llu\n",
		      U(BCN_GET(g->dropped_revoke)), U(BCN_GET(g->dropped_shutdown)));
	bcn_mb_family(mb, "beacon_etl_pg_rebalances_total", "counter",
		      "Consumer group rebalance callbacks of the sink, by kind.");
	bcn_mb_printf(mb, "beacon_etl_pg_rebalances_total{kind=\"assign\"} %llu\n"
			  "beacon_etl_pg_rebalances_total{kind=\"revoke\"} %llu\n",
		      U(BCN_GET(g->assigns)), U(BCN_GET(g->revokes)));
	bcn_mb_family(mb, "beacon_etl_pg_flush_duration_seconds", "histogram",
		      "Wall time of successful transactions (BEGIN to COMMIT).");
	uint64_t cum[BCN_ETL_NLAT];
	for (int b = 0; b < BCN_ETL_NLAT; b++)
		cum[b] = BCN_GET(g->lat_le[b]);
	bcn_mb_histogram(mb, "beacon_etl_pg_flush_duration_seconds", "", bcn_etl_lat_labels, cum, BCN_ETL_NLAT,
			 (double)BCN_GET(g->lat_sum_us) / 1e6);
	bcn_mb_family(mb, "beacon_etl_pg_consumer_lag_records", "gauge",
		      "High watermark minus the sink's committed offset, per assigned partition.");
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++) {
			struct pg_part *pt = &g->parts[ti][p];
			int64_t hwm = atomic_load(&pt->hwm), c = atomic_load(&pt->committed);
			if (!atomic_load(&pt->assigned) || hwm < 0)
				continue;
			int64_t l = c >= 0 ? hwm - c : hwm;
			bcn_mb_printf(mb, "beacon_etl_pg_consumer_lag_records{topic=\"%s\",partition=\"%d\"} %lld\n",
				      g->topic[ti], p, (long long)(l > 0 ? l : 0));
		}
	bcn_mb_family(mb, "beacon_etl_pg_consumer_lag_seconds", "gauge",
		      "While a partition lags: age of the sink's last committed record (Kafka timestamp); 0 when caught up.");
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++) {
			struct pg_part *pt = &g->parts[ti][p];
			int64_t hwm = atomic_load(&pt->hwm), c = atomic_load(&pt->committed),
				ts = atomic_load(&pt->commit_ts);
			if (!atomic_load(&pt->assigned) || hwm < 0)
				continue;
			double sec = hwm > c && ts > 0 && now > ts ? (double)(now - ts) / 1000.0 : 0;
			bcn_mb_printf(mb, "beacon_etl_pg_consumer_lag_seconds{topic=\"%s\",partition=\"%d\"} %.3f\n",
				      g->topic[ti], p, sec);
		}
	bcn_mb_family(mb, "beacon_etl_pg_committed_offset", "gauge",
		      "Offset committed by the sink (next record to read), per assigned partition.");
	for (int ti = 0; ti < NTOP; ti++)
		for (int p = 0; p < g->nparts; p++) {
			int64_t c = atomic_load(&g->parts[ti][p].committed);
			if (atomic_load(&g->parts[ti][p].assigned) && c >= 0)
				bcn_mb_printf(mb, "beacon_etl_pg_committed_offset{topic=\"%s\",partition=\"%d\"} %lld\n",
					      g->topic[ti], p, (long long)c);
		}
	bcn_mb_family(mb, "beacon_etl_pg_partitions_assigned", "gauge", "Partitions assigned to the sink.");
	bcn_mb_printf(mb, "beacon_etl_pg_partitions_assigned %d\n", atomic_load(&g->assigned_n));
	bcn_mb_family(mb, "beacon_etl_pg_batch_capacity_rows", "gauge",
		      "Records a batch holds (postgres.batch_rows, preallocated).");
	bcn_mb_printf(mb, "beacon_etl_pg_batch_capacity_rows %lld\n", (long long)g->c->pg_batch_rows);
	bcn_mb_family(mb, "beacon_etl_pg_batch_in_use_rows", "gauge", "Records in the open batch.");
	bcn_mb_printf(mb, "beacon_etl_pg_batch_in_use_rows %llu\n", U(BCN_GET(g->in_use_rows)));
	bcn_mb_family(mb, "beacon_etl_pg_buffer_capacity_bytes", "gauge",
		      "Preallocated array-parameter buffers and the text decode buffer (fixed at start-up).");
	bcn_mb_printf(mb, "beacon_etl_pg_buffer_capacity_bytes %llu\n", U(g->memsz + g->textcap));
	bcn_mb_family(mb, "beacon_etl_pg_buffer_in_use_bytes", "gauge",
		      "Bytes of the open batch's array parameters (sampled every 0.5 s).");
	bcn_mb_printf(mb, "beacon_etl_pg_buffer_in_use_bytes %llu\n", U(BCN_GET(g->in_use_bytes)));
}
