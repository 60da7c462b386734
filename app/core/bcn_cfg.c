/*
 * bcn_cfg.c - beacond's configuration table.  See bcn_cfg.h.
 *
 * One row per key: name, type, default, field, size, range, help.  The help
 * text is what `--print-config` and docs/beacond-config.md show, so it says
 * what the key does and the unit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bcn_cfg.h"
#include "bcn_record.h"

#define O(f) offsetof(struct bcn_cfg, f)
#define S(f) sizeof(((struct bcn_cfg *)0)->f)
#define I64MAX INT64_MAX

const struct bcn_conf_item bcn_cfg_table[] = {
	{ "node.name", BCN_CONF_STR, "local", O(node_name), S(node_name), 0, 0,
	  "this appliance's name, copied into every record's `node`" },
	{ "node.id", BCN_CONF_INT, "1", O(node_id), 0, 0, 65535,
	  "16 bits of every event_id; unique per node so ids never collide across nodes" },
	{ "driver.name", BCN_CONF_STR, "socket", O(driver), S(driver), 0, 0,
	  "packet I/O driver: socket (kernel sockets, any Linux host) or dpdk" },
	{ "driver.workers", BCN_CONF_INT, "1", O(workers), 0, 1, BCN_MAX_WORKERS,
	  "fast-path worker threads (each: its own UDP socket, HTTP listener, ring, token cache)" },
	{ "driver.worker_cpus", BCN_CONF_STR, "", O(worker_cpus), S(worker_cpus), 0, 0,
	  "CPUs to pin workers to, e.g. 2,3 or 2-5 (empty: no pinning)" },
	{ "udp.enabled", BCN_CONF_BOOL, "yes", O(udp_enabled), 0, 0, 0,
	  "accept UDP beacons (JSON or binary v1, one per datagram)" },
	{ "udp.address", BCN_CONF_STR, "127.0.0.1", O(udp_addr), S(udp_addr), 0, 0,
	  "address the UDP beacon sockets bind to (IPv4 or IPv6 literal)" },
	{ "udp.port", BCN_CONF_INT, "7070", O(udp_port), 0, 1, 65535, "UDP beacon port" },
	{ "udp.rcvbuf", BCN_CONF_INT, "8M", O(udp_rcvbuf), 0, 64 * 1024, 1024ll * 1024 * 1024,
	  "SO_RCVBUF per worker socket, bytes (kernel may cap it at net.core.rmem_max)" },
	{ "udp.burst", BCN_CONF_INT, "64", O(udp_burst), 0, 1, 1024,
	  "datagrams per recvmmsg call" },
	{ "http.enabled", BCN_CONF_BOOL, "yes", O(http_enabled), 0, 0, 0,
	  "accept HTTP beacons (POST /v1/beacons)" },
	{ "http.address", BCN_CONF_STR, "127.0.0.1", O(http_addr), S(http_addr), 0, 0,
	  "address the HTTP beacon listeners bind to" },
	{ "http.port", BCN_CONF_INT, "8080", O(http_port), 0, 1, 65535, "HTTP beacon port" },
	{ "http.max_conns", BCN_CONF_INT, "1024", O(http_max_conns), 0, 1, 1000000,
	  "open HTTP connections per worker; more are accepted and closed at once" },
	{ "http.header_max", BCN_CONF_INT, "8k", O(http_header_max), 0, 1024, 1024 * 1024,
	  "request line + headers, bytes (larger: 431)" },
	{ "http.body_max", BCN_CONF_INT, "256k", O(http_body_max), 0, 1024, 64 * 1024 * 1024,
	  "request body, bytes (larger: 413)" },
	{ "http.max_lines", BCN_CONF_INT, "1000", O(http_max_lines), 0, 1, 100000,
	  "beacons per NDJSON request (more: 413, nothing accepted)" },
	{ "http.conn_buffer", BCN_CONF_INT, "16k", O(http_conn_buf), 0, 4096, 16 * 1024 * 1024,
	  "each connection's own buffer, bytes; larger requests borrow a large buffer" },
	{ "http.large_buffers", BCN_CONF_INT, "16", O(http_large_bufs), 0, 0, 65536,
	  "large request buffers per worker (header_max + body_max each); none free: 503" },
	{ "http.idle_ms", BCN_CONF_INT, "30000", O(http_idle_ms), 0, 10, 3600000,
	  "close a keep-alive connection idle this long, ms" },
	{ "http.request_timeout_ms", BCN_CONF_INT, "10000", O(http_request_timeout_ms), 0, 10, 3600000,
	  "a started request must arrive whole within this, ms (else 408)" },
	{ "metrics.address", BCN_CONF_STR, "127.0.0.1", O(metrics_addr), S(metrics_addr), 0, 0,
	  "address of /metrics, /healthz and /readyz" },
	{ "metrics.port", BCN_CONF_INT, "9470", O(metrics_port), 0, 1, 65535,
	  "control-plane HTTP port" },
	{ "ring.bytes", BCN_CONF_INT, "8M", O(ring_bytes), 0, 128 * 1024, 1ll << 34,
	  "each worker's record ring, bytes (a power of two; mapped and populated at start)" },
	{ "ring.high_water_pct", BCN_CONF_INT, "80", O(ring_hwm_pct), 0, 1, 100,
	  "a ring fuller than this (percent) makes /readyz answer 503" },
	{ "auth.jwt_keys", BCN_CONF_STR, "dev-key", O(jwt_keys), S(jwt_keys), 0, 0,
	  "HS256 keys, comma-separated, hex:... for binary; several for rotation (SIGHUP reloads)" },
	{ "auth.cache_order", BCN_CONF_INT, "12", O(jwt_cache_order), 0, 0, 20,
	  "verified-token cache per worker: 2^order entries" },
	{ "ingest.skew_past_s", BCN_CONF_INT, "86400", O(skew_past_s), 0, 1, 30ll * 86400,
	  "a beacon's ts may be this much older than the server clock, s (else clock_skew)" },
	{ "ingest.skew_future_s", BCN_CONF_INT, "600", O(skew_future_s), 0, 1, 86400,
	  "a beacon's ts may be this much ahead of the server clock, s" },
	{ "kafka.brokers", BCN_CONF_STR, "127.0.0.1:9092", O(kafka_brokers), S(kafka_brokers), 0, 0,
	  "bootstrap servers, host:port[,host:port...]" },
	{ "kafka.topic_views", BCN_CONF_STR, "ugc.views", O(topic_views), S(topic_views), 0, 0,
	  "topic of view and player records" },
	{ "kafka.topic_events", BCN_CONF_STR, "ugc.events", O(topic_events), S(topic_events), 0, 0,
	  "topic of page and action records" },
	{ "kafka.topic_actions", BCN_CONF_STR, "ugc.actions", O(topic_actions), S(topic_actions), 0, 0,
	  "topic of like, review and bookmark records" },
	{ "kafka.compression", BCN_CONF_STR, "lz4", O(kafka_compression), S(kafka_compression), 0, 0,
	  "none, gzip, snappy, lz4 or zstd" },
	{ "kafka.queue_kbytes", BCN_CONF_INT, "65536", O(kafka_queue_kbytes), 0, 1024, 2097151,
	  "librdkafka queue.buffering.max.kbytes per producer: caps its memory; when full, rings fill" },
	{ "kafka.linger_ms", BCN_CONF_INT, "50", O(kafka_linger_ms), 0, 0, 60000,
	  "librdkafka linger.ms: how long to wait to fill a batch (keyed records spread over many "
	  "partitions: longer batches cost far less CPU per record; see perf/RESULTS.md)" },
	{ "kafka.message_timeout_ms", BCN_CONF_INT, "0", O(kafka_message_timeout_ms), 0, 0, I64MAX,
	  "give up delivering a record after this, ms (0: never; it is retried until Kafka is back)" },
	{ "kafka.threads", BCN_CONF_INT, "1", O(kafka_threads), 0, 1, BCN_MAX_WORKERS,
	  "slow-path threads; each owns one producer and drains a share of the rings" },
	{ "kafka.extra", BCN_CONF_STR, "", O(kafka_extra), S(kafka_extra), 0, 0,
	  "more librdkafka properties, k=v;k=v (applied last)" },
	{ "shutdown.deadline_ms", BCN_CONF_INT, "10000", O(shutdown_deadline_ms), 0, 0, 3600000,
	  "on SIGTERM: time to finish requests, drain rings and flush Kafka, ms" },
	/* [dpdk]: read only when driver.name = dpdk (docs/dpdk.md) */
	{ "dpdk.eal_args", BCN_CONF_STR, "", O(dpdk_eal_args), S(dpdk_eal_args), 0, 0,
	  "extra EAL arguments, blank-separated (--file-prefix beacond --huge-unlink; no hugepages: --no-huge --no-shconf)" },
	{ "dpdk.main_lcore", BCN_CONF_INT, "-1", O(dpdk_main_lcore), 0, -1, 1023,
	  "CPU of EAL's main lcore (control only; -1: the first CPU beacond may run on)" },
	{ "dpdk.lcores", BCN_CONF_STR, "", O(dpdk_lcores), S(dpdk_lcores), 0, 0,
	  "CPUs of the fast-path lcores, one per worker, e.g. 2-5 (empty: driver.worker_cpus)" },
	{ "dpdk.ports", BCN_CONF_STR, "", O(dpdk_ports), S(dpdk_ports), 0, 0,
	  "ports, blank-separated: PCI addresses (0000:3b:00.0) or vdev strings (net_pcap0,rx_pcap=f)" },
	{ "dpdk.queues", BCN_CONF_INT, "0", O(dpdk_queues), 0, 0, BCN_MAX_WORKERS,
	  "RX queues per port, spread over the workers (0: one per worker; capped by the port)" },
	{ "dpdk.mbufs", BCN_CONF_INT, "16383", O(dpdk_mbufs), 0, 1023, 16777215,
	  "mbufs in the packet pool, allocated at start (must cover every descriptor and cache)" },
	{ "dpdk.mbuf_cache", BCN_CONF_INT, "256", O(dpdk_mbuf_cache), 0, 0, 512,
	  "per-lcore mbuf cache of the pool" },
	{ "dpdk.rx_desc", BCN_CONF_INT, "1024", O(dpdk_rx_desc), 0, 32, 16384,
	  "RX descriptors per queue" },
	{ "dpdk.tx_desc", BCN_CONF_INT, "1024", O(dpdk_tx_desc), 0, 32, 16384,
	  "TX descriptors per queue (exception path, both ways)" },
	{ "dpdk.burst", BCN_CONF_INT, "32", O(dpdk_burst), 0, 1, 128,
	  "packets per rte_eth_rx_burst" },
	{ "dpdk.exception", BCN_CONF_STR, "", O(dpdk_exception), S(dpdk_exception), 0, 0,
	  "exception interfaces (net_tap vdevs), one per port, e.g. net_tap0,iface=bcn0 (empty: drop)" },
	{ "dpdk.exception_addrs", BCN_CONF_STR, "", O(dpdk_exception_addrs), S(dpdk_exception_addrs), 0, 0,
	  "addresses beacond puts on the exception interfaces: ADDR/PREFIX[@N] ... (N: interface, default 0)" },
	{ "dpdk.promiscuous", BCN_CONF_BOOL, "no", O(dpdk_promiscuous), 0, 0, 0,
	  "put the ports in promiscuous mode" },
	{ "dpdk.idle_sleep_us", BCN_CONF_INT, "0", O(dpdk_idle_sleep_us), 0, 0, 100000,
	  "sleep this long after 256 empty polls in a row, us (0: busy-poll, the production setting)" },
};
const size_t bcn_cfg_table_len = sizeof(bcn_cfg_table) / sizeof(bcn_cfg_table[0]);

void bcn_cfg_defaults(struct bcn_cfg *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	(void)bcn_conf_defaults(bcn_cfg_table, bcn_cfg_table_len, c, err, sizeof(err));
}

int bcn_cfg_cpu_list(const char *s, int *cpus, int max)
{
	int n = 0;
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;
		if (end == s || a < 0 || a > 4095)
			return -1;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b > 4095)
				return -1;
			s = end;
		}
		for (long i = a; i <= b; i++) {
			if (n >= max)
				return -1;
			cpus[n++] = (int)i;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

int bcn_cfg_check(const struct bcn_cfg *c, char *err, size_t errlen)
{
	static const char *const comp[] = { "none", "gzip", "snappy", "lz4", "zstd" };
	int cpus[BCN_MAX_WORKERS], ok = 0;

	if (c->ring_bytes & (c->ring_bytes - 1)) {
		snprintf(err, errlen, "ring.bytes: %lld is not a power of two", (long long)c->ring_bytes);
		return -1;
	}
	if ((uint64_t)c->ring_bytes / 4 < sizeof(struct bcn_record) + 64) {
		snprintf(err, errlen, "ring.bytes: too small for the largest record (%zu bytes): use >= %zu",
			 sizeof(struct bcn_record), (size_t)128 * 1024);
		return -1;
	}
	if (strcmp(c->driver, "socket") && strcmp(c->driver, "dpdk")) {
		snprintf(err, errlen, "driver.name: '%s' is neither socket nor dpdk", c->driver);
		return -1;
	}
	int n = bcn_cfg_cpu_list(c->worker_cpus, cpus, BCN_MAX_WORKERS);
	if (n < 0) {
		snprintf(err, errlen, "driver.worker_cpus: cannot parse '%s'", c->worker_cpus);
		return -1;
	}
	if (n > 0 && n < c->workers) {
		snprintf(err, errlen, "driver.worker_cpus: %d CPU(s) listed for %lld workers", n,
			 (long long)c->workers);
		return -1;
	}
	for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++)
		ok |= !strcmp(c->kafka_compression, comp[i]);
	if (!ok) {
		snprintf(err, errlen, "kafka.compression: '%s' is not one of none, gzip, snappy, lz4, zstd",
			 c->kafka_compression);
		return -1;
	}
	if (!c->udp_enabled && !c->http_enabled) {
		snprintf(err, errlen, "udp.enabled and http.enabled are both off: nothing to ingest");
		return -1;
	}
	if (c->kafka_threads > c->workers) {
		snprintf(err, errlen, "kafka.threads (%lld) exceeds driver.workers (%lld): a thread would own no ring",
			 (long long)c->kafka_threads, (long long)c->workers);
		return -1;
	}
	if (!strcmp(c->driver, "dpdk")) {
		int m = bcn_cfg_cpu_list(c->dpdk_lcores, cpus, BCN_MAX_WORKERS);
		if (m < 0 || (m > 0 && m < c->workers)) {
			snprintf(err, errlen, "dpdk.lcores: '%s' does not name one CPU per worker (%lld)",
				 c->dpdk_lcores, (long long)c->workers);
			return -1;
		}
		if (!c->dpdk_ports[strspn(c->dpdk_ports, " \t")]) {
			snprintf(err, errlen, "dpdk.ports: empty; driver dpdk needs at least one port");
			return -1;
		}
	}
	if (!c->topic_views[0] || !c->topic_events[0] || !c->topic_actions[0] || !c->kafka_brokers[0]) {
		snprintf(err, errlen, "kafka.brokers and the three topics must not be empty");
		return -1;
	}
	return 0;
}
