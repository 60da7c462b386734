/*
 * bcn_api_conf.h - beacon-api's configuration: one declarative table
 * (app/conf/bcn_conf.h) drives defaults, the INI file, --print-config and
 * the reference in docs/read-api.md.
 */
#ifndef BCN_API_CONF_H
#define BCN_API_CONF_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_conf.h"

#define BCN_API_MAX_WORKERS 64
#define BCN_API_MAX_POOL    256
/* the largest item: a review of BCN_MAX_TEXT (16,000) bytes, every byte a
 * control character (\u00XX), plus its other fields */
#define BCN_API_RESP_MIN    (128 * 1024)

struct bcn_api_cfg {
	char addr[64];
	int64_t port;
	int64_t workers;
	int64_t http_max_conns;
	int64_t http_header_max;
	int64_t http_resp_max;
	int64_t http_idle_ms;
	int64_t http_request_ms;
	char metrics_addr[64];
	int64_t metrics_port;
	char pg_conninfo[1024];
	int64_t pg_pool_size;
	int64_t pg_acquire_ms;
	int64_t pg_statement_ms;
	int64_t pg_query_ms;
	int64_t pg_connect_ms;
	int64_t pg_reconnect_min_ms;
	int64_t pg_reconnect_max_ms;
	int64_t pg_probe_ms;
	char jwt_keys[1024];
	int64_t jwt_cache_order;
	int64_t cache_entries;
	int64_t cache_ttl_ms;
	int64_t shutdown_ms;
};

extern const struct bcn_conf_item bcn_api_cfg_table[];
extern const size_t bcn_api_cfg_table_len;

/* Defaults into *c.  Can't fail. */
void bcn_api_cfg_defaults(struct bcn_api_cfg *c);
/* Checks across keys.  Returns 0, or -1 with a message in err. */
int bcn_api_cfg_check(const struct bcn_api_cfg *c, char *err, size_t errlen);

#endif
