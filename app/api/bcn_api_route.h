/*
 * bcn_api_route.h - the read API's request router and parameter parsers:
 * which endpoint a request names, its film id, its `limit` and `cursor`.
 *
 * Why this exists: everything a client controls (path, query string,
 * Authorization header) is parsed here, by pure functions with no I/O and no
 * allocation, so that the unit tests and the fuzz target
 * (tests/fuzz/fuzz_api_route.c) can cover every byte of it.  What they
 * accept goes to PostgreSQL only as parameters of prepared statements, and
 * only in canonical form (a UUID as 16 bytes, a limit 1..100, a cursor as
 * an int64 and 16 bytes).
 *
 * Endpoints (docs/read-api.md):
 *   GET /v1/films/{film_id}/rating
 *   GET /v1/films/{film_id}/reviews?limit=&cursor=
 *   GET /v1/me/likes/{film_id}
 *   GET /v1/me/bookmarks?limit=&cursor=
 *   GET /v1/me/bookmarks/{film_id}
 *   GET /v1/me/history?limit=&cursor=
 *   GET /v1/me/continue?limit=&cursor=
 *   GET /v1/me/progress/{film_id}
 * HEAD is answered like GET (without the body).
 *
 * Cursor: "<ts>.<uuid>", the (ts, id) key of the last item of the previous
 * page (ts: decimal 0..2^63-1 without sign or leading zeros; uuid: 36 chars,
 * either case).  Clients treat it as opaque.
 */
#ifndef BCN_API_ROUTE_H
#define BCN_API_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_http.h"

enum bcn_api_ep {
	BCN_API_EP_NONE = 0,     /* no such route (404/405 before routing)   */
	BCN_API_EP_RATING,
	BCN_API_EP_REVIEWS,
	BCN_API_EP_ME_LIKE,
	BCN_API_EP_ME_BOOKMARKS,
	BCN_API_EP_ME_BOOKMARK,
	BCN_API_EP_ME_HISTORY,
	BCN_API_EP_ME_CONTINUE,
	BCN_API_EP_ME_PROGRESS,
	BCN_API_EP__COUNT
};

#define BCN_API_LIMIT_DEFAULT 20u
#define BCN_API_LIMIT_MAX     100u
/* "9223372036854775807." + 36 */
#define BCN_API_CURSOR_MAX    56u

struct bcn_api_cursor {
	int64_t ts;
	uint8_t id[16];
};

/* What a request asks, once routed and parsed. */
struct bcn_api_req {
	unsigned ep;             /* enum bcn_api_ep                          */
	int has_film;            /* the path named a film                    */
	uint8_t film_id[16];
	unsigned limit;          /* paged endpoints: 1..100 (default 20)     */
	int has_cursor;
	struct bcn_api_cursor cursor;
};

/* Label of an endpoint for /metrics ("rating", "reviews", "me_like", ...);
 * "other" for BCN_API_EP_NONE, NULL out of range. */
const char *bcn_api_ep_name(unsigned ep);
/* 1 if the endpoint answers for the token's user (/v1/me/...). */
int bcn_api_ep_needs_user(unsigned ep);
/* 1 if the endpoint is paged (takes limit and cursor). */
int bcn_api_ep_paged(unsigned ep);

/*
 * Route a request.  Returns 0 with *r filled, or an HTTP status with *why
 * (a static, JSON-safe message) and r->ep set as far as it was recognised:
 *   404  no such path (r->ep = NONE), whatever the method;
 *   405  a known path with a method other than GET or HEAD;
 *   400  a malformed film id, limit, cursor or query string, a parameter
 *        the endpoint does not take, or one given twice.
 * query may be NULL (no '?').  Never reads outside path[0..path_len) and
 * query[0..query_len).
 */
int bcn_api_route(enum bcn_http_method method, const char *path, size_t path_len,
		  const char *query, size_t query_len, struct bcn_api_req *r, const char **why);

/* A limit: 1..3 decimal digits, 1..BCN_API_LIMIT_MAX.  Returns 0 or -1. */
int bcn_api_limit_parse(const char *s, size_t n, unsigned *out);

/* A cursor (see above).  Returns 0 or -1 (then *c is unchanged). */
int bcn_api_cursor_parse(const char *s, size_t n, struct bcn_api_cursor *c);

/* Format a cursor into out[BCN_API_CURSOR_MAX + 1] (NUL-terminated, lower
 * case); returns its length.  ts must be >= 0.  Can't fail. */
size_t bcn_api_cursor_format(const struct bcn_api_cursor *c, char *out);

/*
 * The token of an Authorization value "Bearer <token>" (scheme in any case,
 * blanks after it skipped).  Returns 0 with *tok and *tok_len pointing into
 * auth, or -1 if the scheme is not Bearer or the token is empty or holds a
 * blank or a control character.
 */
int bcn_api_bearer(const char *auth, size_t n, const char **tok, size_t *tok_len);

#endif
