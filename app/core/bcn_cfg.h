/*
 * bcn_cfg.h - beacond's configuration: one struct and the one declarative
 * table (app/core/bcn_cfg.c) that gives every key its type, default, range and
 * help.  `beacond --print-config` prints it, `docs/beacond-config.md` is
 * generated from it, and the INI loader validates against it.
 *
 * Why this exists: the driver, the workers, the Kafka slow path and the
 * control plane all read their settings from this struct, filled once at
 * start-up; nothing re-reads the file except SIGHUP, which reloads only the
 * keys documented as reloadable (the JWT keys).
 */
#ifndef BCN_CFG_H
#define BCN_CFG_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_conf.h"

#define BCN_MAX_WORKERS 64

struct bcn_cfg {
	/* [node] */
	char node_name[32];
	int64_t node_id;
	/* [driver] */
	char driver[16];
	int64_t workers;
	char worker_cpus[128];
	/* [udp] */
	int udp_enabled;
	char udp_addr[64];
	int64_t udp_port;
	int64_t udp_rcvbuf;
	int64_t udp_burst;
	/* [http] */
	int http_enabled;
	char http_addr[64];
	int64_t http_port;
	int64_t http_max_conns;
	int64_t http_header_max;
	int64_t http_body_max;
	int64_t http_max_lines;
	int64_t http_conn_buf;
	int64_t http_large_bufs;
	int64_t http_idle_ms;
	int64_t http_request_timeout_ms;
	/* [metrics] */
	char metrics_addr[64];
	int64_t metrics_port;
	/* [ring] */
	int64_t ring_bytes;
	int64_t ring_hwm_pct;
	/* [auth] */
	char jwt_keys[1024];
	int64_t jwt_cache_order;
	/* [ingest] */
	int64_t skew_past_s;
	int64_t skew_future_s;
	/* [kafka] */
	char kafka_brokers[512];
	char topic_views[128];
	char topic_events[128];
	char topic_actions[128];
	char kafka_compression[16];
	int64_t kafka_queue_kbytes;
	int64_t kafka_linger_ms;
	int64_t kafka_message_timeout_ms;
	int64_t kafka_threads;
	char kafka_extra[1024];
	/* [shutdown] */
	int64_t shutdown_deadline_ms;
	/* [dpdk] (drivers/dpdk; unused by the socket driver) */
	char dpdk_eal_args[1024];
	int64_t dpdk_main_lcore;
	char dpdk_lcores[128];
	char dpdk_ports[1024];
	int64_t dpdk_queues;
	int64_t dpdk_mbufs;
	int64_t dpdk_mbuf_cache;
	int64_t dpdk_rx_desc;
	int64_t dpdk_tx_desc;
	int64_t dpdk_burst;
	char dpdk_exception[1024];
	char dpdk_exception_addrs[512];
	int dpdk_promiscuous;
	int64_t dpdk_idle_sleep_us;
};

extern const struct bcn_conf_item bcn_cfg_table[];
extern const size_t bcn_cfg_table_len;

/* Fill *c with the defaults.  Can't fail (the table's defaults are checked by
 * the unit tests). */
void bcn_cfg_defaults(struct bcn_cfg *c);

/*
 * Cross-key checks the table cannot express (ring size a power of two and
 * large enough for the biggest record, a worker CPU list that parses, known
 * driver and compression names).  Returns 0, or -1 with a message in err.
 */
int bcn_cfg_check(const struct bcn_cfg *c, char *err, size_t errlen);

/*
 * Parse worker_cpus ("0,2-3" style) into cpus[]; returns the count (0 when
 * the list is empty: no pinning), or -1 on a syntax error or more than max.
 */
int bcn_cfg_cpu_list(const char *s, int *cpus, int max);

#endif
