/*
 * bcn_api_conf.c - beacon-api's configuration table.  See bcn_api_conf.h.
 * The help text of each row is what --print-config and the reference in
 * docs/read-api.md show: it says what the key does and its unit.
 */
#include <stdio.h>
#include <string.h>
#include "bcn_api_conf.h"
#include "bcn_jwt.h"

#define O(f) offsetof(struct bcn_api_cfg, f)
#define S(f) sizeof(((struct bcn_api_cfg *)0)->f)

const struct bcn_conf_item bcn_api_cfg_table[] = {
	{ "api.address", BCN_CONF_STR, "127.0.0.1", O(addr), S(addr), 0, 0,
	  "address the read API's listeners bind to (IPv4 or IPv6 literal)" },
	{ "api.port", BCN_CONF_INT, "8090", O(port), 0, 1, 65535, "read API port (HTTP/1.1)" },
	{ "api.workers", BCN_CONF_INT, "4", O(workers), 0, 1, BCN_API_MAX_WORKERS,
	  "worker threads; each has its own SO_REUSEPORT listener, HTTP engine and token cache, "
	  "and runs its handlers synchronously (a worker waits on PostgreSQL for one request at a time)" },
	{ "http.max_conns", BCN_CONF_INT, "256", O(http_max_conns), 0, 1, 100000,
	  "open connections per worker; more are accepted and closed at once" },
	{ "http.header_max", BCN_CONF_INT, "8k", O(http_header_max), 0, 1024, 64 * 1024,
	  "request line + headers, bytes (larger: 431)" },
	{ "http.response_max", BCN_CONF_INT, "128k", O(http_resp_max), 0, BCN_API_RESP_MIN, 16 << 20,
	  "response body capacity, bytes, held per connection; a page of items that does not fit "
	  "is cut short (next_cursor continues after the last item sent)" },
	{ "http.idle_ms", BCN_CONF_INT, "30000", O(http_idle_ms), 0, 10, 3600000,
	  "close a keep-alive connection idle this long, ms" },
	{ "http.request_timeout_ms", BCN_CONF_INT, "5000", O(http_request_ms), 0, 10, 3600000,
	  "a started request must arrive whole within this, ms (else 408)" },
	{ "metrics.address", BCN_CONF_STR, "127.0.0.1", O(metrics_addr), S(metrics_addr), 0, 0,
	  "address of the ops listener: /metrics, /healthz, /readyz" },
	{ "metrics.port", BCN_CONF_INT, "9472", O(metrics_port), 0, 1, 65535,
	  "ops port (its own thread, so probes are answered while every worker is busy)" },
	{ "pg.conninfo", BCN_CONF_STR, "host=127.0.0.1 port=15432 user=postgres dbname=ugc",
	  O(pg_conninfo), S(pg_conninfo), 0, 0,
	  "libpq connection string of the current-state database (etl/pg/V001__state.sql)" },
	{ "pg.pool_size", BCN_CONF_INT, "4", O(pg_pool_size), 0, 1, BCN_API_MAX_POOL,
	  "PostgreSQL connections shared by the workers (a worker holds at most one: more than "
	  "api.workers is never used)" },
	{ "pg.acquire_timeout_ms", BCN_CONF_INT, "20", O(pg_acquire_ms), 0, 0, 10000,
	  "wait at most this for a free pooled connection, ms (then 503)" },
	{ "pg.statement_timeout_ms", BCN_CONF_INT, "50", O(pg_statement_ms), 0, 1, 600000,
	  "server-side statement_timeout of every query, ms (then 503; the connection is kept)" },
	{ "pg.query_timeout_ms", BCN_CONF_INT, "80", O(pg_query_ms), 0, 1, 600000,
	  "client-side deadline of every query, ms: on expiry the query is cancelled, the "
	  "connection reset and the request answered 503" },
	{ "pg.connect_timeout_ms", BCN_CONF_INT, "2000", O(pg_connect_ms), 0, 10, 600000,
	  "deadline of a (re)connection, ms (done by the pool's thread, never by a request)" },
	{ "pg.reconnect_min_ms", BCN_CONF_INT, "100", O(pg_reconnect_min_ms), 0, 1, 600000,
	  "first back-off after a failed connection, ms (doubles up to pg.reconnect_max_ms)" },
	{ "pg.reconnect_max_ms", BCN_CONF_INT, "2000", O(pg_reconnect_max_ms), 0, 1, 600000,
	  "longest back-off between connection attempts, ms" },
	{ "pg.probe_interval_ms", BCN_CONF_INT, "1000", O(pg_probe_ms), 0, 50, 600000,
	  "how often the pool's thread checks PostgreSQL (SELECT 1) for /readyz, ms" },
	{ "auth.jwt_keys", BCN_CONF_STR, "dev-key", O(jwt_keys), S(jwt_keys), 0, 0,
	  "HS256 keys, comma-separated, hex:... for binary (as beacond's auth.jwt_keys)" },
	{ "auth.cache_order", BCN_CONF_INT, "10", O(jwt_cache_order), 0, 0, 20,
	  "verified-token cache per worker: 2^order entries" },
	{ "cache.entries", BCN_CONF_INT, "65536", O(cache_entries), 0, 0, 1 << 24,
	  "film ratings kept (rounded up to a power of two; 0: no cache)" },
	{ "cache.ttl_ms", BCN_CONF_INT, "1000", O(cache_ttl_ms), 0, 0, 3600000,
	  "a cached film rating is answered for at most this long after it was read, ms "
	  "(0: no cache); /v1/me/... answers are never cached" },
	{ "shutdown.deadline_ms", BCN_CONF_INT, "5000", O(shutdown_ms), 0, 0, 600000,
	  "on SIGTERM: time to finish requests in flight, ms" },
};
const size_t bcn_api_cfg_table_len = sizeof(bcn_api_cfg_table) / sizeof(bcn_api_cfg_table[0]);

void bcn_api_cfg_defaults(struct bcn_api_cfg *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	(void)bcn_conf_defaults(bcn_api_cfg_table, bcn_api_cfg_table_len, c, err, sizeof(err));
}

int bcn_api_cfg_check(const struct bcn_api_cfg *c, char *err, size_t errlen)
{
	struct bcn_jwt_keys k;
	if (bcn_jwt_keys_parse(&k, c->jwt_keys, 1)) {
		snprintf(err, errlen, "auth.jwt_keys: empty, too long or bad hex");
		return -1;
	}
	if (c->pg_reconnect_max_ms < c->pg_reconnect_min_ms) {
		snprintf(err, errlen, "pg.reconnect_max_ms (%lld) is below pg.reconnect_min_ms (%lld)",
			 (long long)c->pg_reconnect_max_ms, (long long)c->pg_reconnect_min_ms);
		return -1;
	}
	if (c->pg_query_ms < c->pg_statement_ms) {
		snprintf(err, errlen, "pg.query_timeout_ms (%lld) is below pg.statement_timeout_ms (%lld): "
			 "the server should time a query out first (the connection then stays usable)",
			 (long long)c->pg_query_ms, (long long)c->pg_statement_ms);
		return -1;
	}
	if (!c->pg_conninfo[0]) {
		snprintf(err, errlen, "pg.conninfo is empty");
		return -1;
	}
	if (c->port == c->metrics_port && !strcmp(c->addr, c->metrics_addr)) {
		snprintf(err, errlen, "api.port and metrics.port are the same (%lld)", (long long)c->port);
		return -1;
	}
	return 0;
}
