/*
 * bcn_api_read.c - what each endpoint asks PostgreSQL and how its answer is
 * written as JSON.
 *
 * Every query is one index range read of the current-state tables
 * (etl/pg/V001__state.sql) of at most limit + 1 rows (the extra row only
 * tells whether there is a next page):
 *   rating      film_stats primary key
 *   reviews     reviews_film_ts     (film_id, ts DESC, review_id DESC) WHERE NOT deleted
 *   likes/{id}  likes primary key
 *   bookmarks   bookmarks_user_ts   (user_id, ts DESC, film_id DESC) WHERE active
 *   bookmarks/{id} bookmarks primary key
 *   history     progress_user_ts    (user_id, ts DESC, film_id DESC)
 *   continue    progress_user_open  (user_id, ts DESC, film_id DESC) WHERE NOT finished
 *   progress/{id} progress primary key
 * Keyset pagination: the next page is the rows after (ts, id) of the last
 * item in (ts DESC, id DESC) order, as a row comparison the B-tree scan
 * starts from; the first page starts after (2^63-1, ffffffff-...).  The
 * WHERE clauses repeat each partial index's predicate so the planner uses
 * it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_api_app.h"
#include "bcn_api_json.h"
#include "bcn_proto.h"

#define LIT(m, s) bcn_api_json_raw((m), (s), sizeof(s) - 1)

const struct bcn_api_stmt bcn_api_stmts[BCN_API_Q__COUNT] = {
	[BCN_API_Q_RATING] = { "rating",
		"SELECT likes, dislikes, reviews, rating_sum FROM film_stats WHERE film_id = $1", 1 },
	[BCN_API_Q_REVIEWS] = { "reviews",
		"SELECT review_id, user_id, rating, text, ts FROM reviews "
		"WHERE film_id = $1 AND NOT deleted AND (ts, review_id) < ($2::bigint, $3::uuid) "
		"ORDER BY ts DESC, review_id DESC LIMIT $4", 4 },
	[BCN_API_Q_LIKE] = { "like",
		"SELECT score FROM likes WHERE user_id = $1 AND film_id = $2", 2 },
	[BCN_API_Q_BOOKMARKS] = { "bookmarks",
		"SELECT film_id, ts FROM bookmarks "
		"WHERE user_id = $1 AND active AND (ts, film_id) < ($2::bigint, $3::uuid) "
		"ORDER BY ts DESC, film_id DESC LIMIT $4", 4 },
	[BCN_API_Q_BOOKMARK] = { "bookmark",
		"SELECT active FROM bookmarks WHERE user_id = $1 AND film_id = $2", 2 },
	[BCN_API_Q_HISTORY] = { "history",
		"SELECT film_id, position_ms, duration_ms, finished, ts FROM progress "
		"WHERE user_id = $1 AND (ts, film_id) < ($2::bigint, $3::uuid) "
		"ORDER BY ts DESC, film_id DESC LIMIT $4", 4 },
	[BCN_API_Q_CONTINUE] = { "continue",
		"SELECT film_id, position_ms, duration_ms, finished, ts FROM progress "
		"WHERE user_id = $1 AND NOT finished AND (ts, film_id) < ($2::bigint, $3::uuid) "
		"ORDER BY ts DESC, film_id DESC LIMIT $4", 4 },
	[BCN_API_Q_PROGRESS] = { "progress",
		"SELECT position_ms, duration_ms, finished, ts FROM progress "
		"WHERE user_id = $1 AND film_id = $2", 2 },
};

static const char *uuid_param(char *b, const uint8_t u[16])
{
	bcn_uuid_format(u, b);
	b[36] = '\0';
	return b;
}

int bcn_api_params(const struct bcn_api_req *rq, const uint8_t *user, unsigned *stmt,
		   struct bcn_api_params *out)
{
	static const unsigned q_of[BCN_API_EP__COUNT] = {
		[BCN_API_EP_RATING] = BCN_API_Q_RATING, [BCN_API_EP_REVIEWS] = BCN_API_Q_REVIEWS,
		[BCN_API_EP_ME_LIKE] = BCN_API_Q_LIKE, [BCN_API_EP_ME_BOOKMARKS] = BCN_API_Q_BOOKMARKS,
		[BCN_API_EP_ME_BOOKMARK] = BCN_API_Q_BOOKMARK, [BCN_API_EP_ME_HISTORY] = BCN_API_Q_HISTORY,
		[BCN_API_EP_ME_CONTINUE] = BCN_API_Q_CONTINUE, [BCN_API_EP_ME_PROGRESS] = BCN_API_Q_PROGRESS,
	};
	int n = 0;
	if (rq->ep == BCN_API_EP_NONE || rq->ep >= BCN_API_EP__COUNT)
		return -1;
	*stmt = q_of[rq->ep];
	/* the first key: the user for /v1/me, else the film */
	if (bcn_api_ep_needs_user(rq->ep)) {
		if (!user)
			return -1;
		out->p[n] = uuid_param(out->b[n], user);
		n++;
	}
	if (rq->has_film) {
		out->p[n] = uuid_param(out->b[n], rq->film_id);
		n++;
	}
	if (bcn_api_ep_paged(rq->ep)) {
		if (rq->has_cursor) {
			snprintf(out->b[n], sizeof(out->b[n]), "%lld", (long long)rq->cursor.ts);
			out->p[n] = out->b[n];
			n++;
			out->p[n] = uuid_param(out->b[n], rq->cursor.id);
			n++;
		} else {
			out->p[n++] = "9223372036854775807";
			out->p[n++] = "ffffffff-ffff-ffff-ffff-ffffffffffff";
		}
		snprintf(out->b[n], sizeof(out->b[n]), "%u", rq->limit + 1);
		out->p[n] = out->b[n];
		n++;
	}
	return n;
}

/* ---- result helpers --------------------------------------------------------- */

static int get_i64(const PGresult *r, int row, int col, int64_t *v)
{
	const char *s = PQgetvalue(r, row, col);
	char *end;
	if (PQgetisnull(r, row, col) || !*s)
		return -1;
	long long x = strtoll(s, &end, 10);
	if (*end)
		return -1;
	*v = x;
	return 0;
}

static int get_uuid(const PGresult *r, int row, int col, uint8_t u[16])
{
	if (PQgetisnull(r, row, col))
		return -1;
	return bcn_uuid_parse(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col), u);
}

static int get_bool(const PGresult *r, int row, int col, int *v)
{
	const char *s = PQgetvalue(r, row, col);
	if (PQgetisnull(r, row, col) || (s[0] != 't' && s[0] != 'f') || s[1])
		return -1;
	*v = s[0] == 't';
	return 0;
}

int bcn_api_rating_from(const PGresult *res, struct bcn_api_rating *v)
{
	memset(v, 0, sizeof(*v));
	if (PQnfields(res) != 4)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	if (get_i64(res, 0, 0, &v->likes) || get_i64(res, 0, 1, &v->dislikes) ||
	    get_i64(res, 0, 2, &v->reviews) || get_i64(res, 0, 3, &v->rating_sum))
		return -1;
	return 0;
}

static void film_head(struct bcn_mbuf *mb, const uint8_t film[16])
{
	LIT(mb, "{\"film_id\":");
	bcn_api_json_uuid(mb, film);
}

void bcn_api_render_rating(const uint8_t film[16], const struct bcn_api_rating *v,
			   struct bcn_mbuf *mb)
{
	film_head(mb, film);
	bcn_mb_printf(mb, ",\"likes\":%lld,\"dislikes\":%lld,\"rating\":", (long long)v->likes,
		      (long long)v->dislikes);
	if (v->likes + v->dislikes > 0 && v->likes >= 0)
		bcn_mb_printf(mb, "%.2f", 10.0 * (double)v->likes / (double)(v->likes + v->dislikes));
	else
		LIT(mb, "null");
	bcn_mb_printf(mb, ",\"reviews\":%lld,\"avg_review_rating\":", (long long)v->reviews);
	if (v->reviews > 0)
		bcn_mb_printf(mb, "%.2f", (double)v->rating_sum / (double)v->reviews);
	else
		LIT(mb, "null");
	LIT(mb, "}\n");
}

/* One item of a page; its key in *c.  -1 on a bad row. */
static int item(unsigned ep, const PGresult *r, int i, struct bcn_mbuf *mb, struct bcn_api_cursor *c)
{
	uint8_t u[16];
	int64_t a, b;
	int f;
	switch (ep) {
	case BCN_API_EP_REVIEWS: {
		int64_t rating;
		if (get_uuid(r, i, 0, c->id) || get_uuid(r, i, 1, u) || get_i64(r, i, 2, &rating) ||
		    PQgetisnull(r, i, 3) || get_i64(r, i, 4, &c->ts))
			return -1;
		LIT(mb, "{\"review_id\":");
		bcn_api_json_uuid(mb, c->id);
		LIT(mb, ",\"user_id\":");
		bcn_api_json_uuid(mb, u);
		bcn_mb_printf(mb, ",\"rating\":%lld,\"text\":", (long long)rating);
		bcn_api_json_str(mb, PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3));
		bcn_mb_printf(mb, ",\"ts\":%lld}", (long long)c->ts);
		return 0;
	}
	case BCN_API_EP_ME_BOOKMARKS:
		if (get_uuid(r, i, 0, c->id) || get_i64(r, i, 1, &c->ts))
			return -1;
		LIT(mb, "{\"film_id\":");
		bcn_api_json_uuid(mb, c->id);
		bcn_mb_printf(mb, ",\"ts\":%lld}", (long long)c->ts);
		return 0;
	case BCN_API_EP_ME_HISTORY:
	case BCN_API_EP_ME_CONTINUE:
		if (get_uuid(r, i, 0, c->id) || get_i64(r, i, 1, &a) || get_i64(r, i, 2, &b) ||
		    get_bool(r, i, 3, &f) || get_i64(r, i, 4, &c->ts))
			return -1;
		LIT(mb, "{\"film_id\":");
		bcn_api_json_uuid(mb, c->id);
		bcn_mb_printf(mb, ",\"position_ms\":%lld,\"duration_ms\":%lld,\"finished\":%s,\"ts\":%lld}",
			      (long long)a, (long long)b, f ? "true" : "false", (long long)c->ts);
		return 0;
	default:
		return -1;
	}
}

/* room kept for `],"next_cursor":"<cursor>"}\n` */
#define TAIL_ROOM (BCN_API_CURSOR_MAX + 32)

static int render_page(const struct bcn_api_req *rq, const PGresult *res, struct bcn_mbuf *mb)
{
	static const int nf[BCN_API_EP__COUNT] = { [BCN_API_EP_REVIEWS] = 5,
		[BCN_API_EP_ME_BOOKMARKS] = 2, [BCN_API_EP_ME_HISTORY] = 5, [BCN_API_EP_ME_CONTINUE] = 5 };
	int rows = PQntuples(res), n = rows > (int)rq->limit ? (int)rq->limit : rows;
	int more = rows > (int)rq->limit, cut = 0, emitted = 0;
	struct bcn_api_cursor last = { 0 }, c;
	size_t cap = mb->cap;

	if (PQnfields(res) != nf[rq->ep] || cap < TAIL_ROOM + 16)
		return -1;
	mb->cap = cap - TAIL_ROOM;
	LIT(mb, "{\"items\":[");
	for (int i = 0; i < n && !mb->overflow; i++) {
		size_t mark = mb->len;
		if (emitted)
			LIT(mb, ",");
		if (item(rq->ep, res, i, mb, &c)) {
			mb->cap = cap;
			return -1;
		}
		if (mb->overflow) {
			/* does not fit: end the page before it */
			mb->len = mark;
			mb->overflow = 0;
			cut = 1;
			break;
		}
		last = c;
		emitted++;
	}
	mb->cap = cap;
	if (mb->overflow || (cut && !emitted))
		return -1;
	if (more || cut) {
		char cur[BCN_API_CURSOR_MAX + 1];
		size_t cl = bcn_api_cursor_format(&last, cur);
		LIT(mb, "],\"next_cursor\":\"");
		bcn_api_json_raw(mb, cur, cl);
		LIT(mb, "\"}\n");
	} else {
		LIT(mb, "],\"next_cursor\":null}\n");
	}
	return mb->overflow ? -1 : cut;
}

int bcn_api_render(const struct bcn_api_req *rq, const PGresult *res, struct bcn_mbuf *mb)
{
	int64_t a, b, ts;
	int f;
	if (bcn_api_ep_paged(rq->ep))
		return render_page(rq, res, mb);
	int rows = PQntuples(res);
	switch (rq->ep) {
	case BCN_API_EP_ME_LIKE: {
		const char *state = "none";
		if (PQnfields(res) != 1)
			return -1;
		if (rows) {
			if (get_i64(res, 0, 0, &a))
				return -1;
			state = a > 0 ? "liked" : a < 0 ? "disliked" : "none";
		}
		film_head(mb, rq->film_id);
		bcn_mb_printf(mb, ",\"state\":\"%s\"}\n", state);
		break;
	}
	case BCN_API_EP_ME_BOOKMARK:
		f = 0;
		if (PQnfields(res) != 1 || (rows && get_bool(res, 0, 0, &f)))
			return -1;
		film_head(mb, rq->film_id);
		bcn_mb_printf(mb, ",\"bookmarked\":%s}\n", f ? "true" : "false");
		break;
	case BCN_API_EP_ME_PROGRESS:
		if (PQnfields(res) != 4)
			return -1;
		film_head(mb, rq->film_id);
		if (!rows) {
			/* never watched: start from the beginning */
			LIT(mb, ",\"position_ms\":0,\"duration_ms\":0,\"finished\":false,\"ts\":null}\n");
			break;
		}
		if (get_i64(res, 0, 0, &a) || get_i64(res, 0, 1, &b) || get_bool(res, 0, 2, &f) ||
		    get_i64(res, 0, 3, &ts))
			return -1;
		bcn_mb_printf(mb, ",\"position_ms\":%lld,\"duration_ms\":%lld,\"finished\":%s,\"ts\":%lld}\n",
			      (long long)a, (long long)b, f ? "true" : "false", (long long)ts);
		break;
	default:
		return -1;
	}
	return mb->overflow ? -1 : 0;
}
