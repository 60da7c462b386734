/*
 * main.c - beacon-etl: Kafka (ugc.views, ugc.events, ugc.actions) to
 * ClickHouse, exactly-once in effect, in fixed memory.
 *
 *   beacon-etl --config FILE      run
 *   beacon-etl --print-config     every key with its default and meaning (INI)
 *   beacon-etl --config-markdown  the same as a Markdown table (docs/etl.md)
 *   beacon-etl --check-config     load and validate FILE, then exit
 *
 * With postgres.enabled, one more thread (etl/bcn_etl_pg.c) applies likes,
 * bookmarks, reviews and viewing progress to PostgreSQL's current-state
 * tables, with its own consumer group.
 *
 * Start-up allocates every batch buffer and row slot (and touches them, so
 * RSS is at its working size from the start), creates one consumer, DLQ
 * producer and ClickHouse connection per enabled stream, then starts one
 * thread per stream.  The main thread serves /metrics, /healthz and /readyz
 * and takes signals:
 *   SIGTERM/SIGINT  stop consuming; each stream inserts and commits its open
 *                   batch within shutdown.deadline_ms or abandons it
 *                   uncommitted, then closes its consumer (leaving the group
 *                   cleanly).  Exit 0.
 * Exit status: 0 after a clean stop, 1 on a start-up or fatal error (a
 * restart resumes from the committed offsets), 2 on usage/config errors.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_etl.h"
#include "bcn_etl_ctl.h"

#ifndef BCN_VERSION
#define BCN_VERSION "dev"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: beacon-etl --config FILE [--check-config]\n"
		   "       beacon-etl [--config FILE] --print-config | --config-markdown\n"
		   "  Consumes ugc.views, ugc.events and ugc.actions and inserts every record into\n"
		   "  its ClickHouse table exactly once in effect.  With [postgres] enabled = yes it\n"
		   "  also applies registered users' likes, bookmarks, reviews and viewing progress\n"
		   "  to PostgreSQL's current-state tables (etl/pg/).  --print-config lists every\n"
		   "  key ([kafka] [clickhouse] [tables] [views] [events] [actions] [retry]\n"
		   "  [rebalance] [metrics] [shutdown] [postgres]).  See docs/etl.md, etl/README.md.\n");
}

static int load_config(void *cfgp, const char *path, char *err, size_t errlen)
{
	struct bcn_etl_cfg *cfg = cfgp;
	struct bcn_etl_cfg tmp;
	bcn_etl_cfg_defaults(&tmp);
	if (path && bcn_conf_load(bcn_etl_cfg_table, bcn_etl_cfg_table_len, &tmp, path, err, errlen))
		return -1;
	if (bcn_etl_cfg_check(&tmp, err, errlen))
		return -1;
	*cfg = tmp;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bcn_etl etl; /* static: large, and zeroed */
	const struct bcn_conf_cli cli = { "beacon-etl", bcn_etl_cfg_table, bcn_etl_cfg_table_len, &etl.cfg,
					   load_config, usage };
	const char *path;
	char err[512];
	int exit_now = bcn_conf_main(&cli, argc, argv, &path);
	if (exit_now >= 0)
		return exit_now;

	/* Signals are taken synchronously by the main thread; every thread
	 * inherits this mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_NOTHING)) {
		fprintf(stderr, "beacon-etl: curl_global_init failed\n");
		return 1;
	}
	etl.started_ms = bcn_etl_wall_ms();
	etl.nep = bcn_etl_endpoints(etl.cfg.endpoints, etl.endpoints, BCN_ETL_MAX_ENDPOINTS);
	for (int i = 0; i < etl.nep; i++)
		etl.ep[i] = etl.endpoints[i];
	struct bcn_ops *ctl = NULL;
	int rc = 0;
	for (unsigned i = 0; i < BCN_ETL__NSTREAMS && !rc; i++)
		if (etl.cfg.s[i].enabled)
			rc = bcn_etl_stream_setup(&etl, i, err, sizeof(err));
	if (!rc && etl.cfg.pg_enabled && !(etl.pg = bcn_etl_pg_new(&etl, err, sizeof(err))))
		rc = -1;
	if (rc || !(ctl = bcn_etl_ctl_new(&etl, err, sizeof(err)))) {
		fprintf(stderr, "beacon-etl: start-up failed: %s\n", err);
		for (unsigned i = 0; i < BCN_ETL__NSTREAMS; i++)
			bcn_etl_stream_fini(&etl.s[i]);
		bcn_etl_pg_free(etl.pg);
		return 1;
	}
	for (unsigned i = 0; i < BCN_ETL__NSTREAMS; i++) {
		struct bcn_etl_stream *s = &etl.s[i];
		if (!s->etl)
			continue;
		atomic_store(&s->running, 1);
		if (pthread_create(&s->th, NULL, bcn_etl_stream_main, s)) {
			fprintf(stderr, "beacon-etl: cannot start stream %s\n", s->name);
			return 1;
		}
	}
	if (etl.pg && bcn_etl_pg_start(etl.pg)) {
		fprintf(stderr, "beacon-etl: cannot start the postgres sink\n");
		return 1;
	}
	size_t pool = bcn_etl_pg_pool_bytes(etl.pg);
	for (unsigned i = 0; i < BCN_ETL__NSTREAMS; i++)
		for (int k = 0; k < etl.s[i].nslots; k++)
			for (int t = 0; t < etl.s[i].ntab; t++)
				pool += etl.s[i].slot[k].tb[t].cap + etl.s[i].slot[k].tb[t].rbcap +
					etl.s[i].slot[k].tb[t].max * sizeof(struct bcn_etl_row);
	fprintf(stderr, "beacon-etl: %s: streams%s%s%s%s, kafka %s, clickhouse %s (%d endpoint(s)), "
			"batch pools %zu MiB, format %s, %lld insert(s) in flight per stream, metrics %s:%lld\n",
		BCN_VERSION, etl.s[0].etl ? " views" : "", etl.s[1].etl ? " events" : "",
		etl.s[2].etl ? " actions" : "", etl.pg ? " postgres" : "", etl.cfg.brokers, etl.cfg.endpoints, etl.nep,
		pool >> 20, etl.cfg.format, (long long)etl.cfg.inflight, etl.cfg.metrics_addr, (long long)etl.cfg.metrics_port);

	int fatal = 0;
	for (;;) {
		if (bcn_ops_poll(ctl, 100) < 0) {
			fprintf(stderr, "beacon-etl: metrics: epoll failed: %s\n", strerror(errno));
			fatal = 1;
			break;
		}
		struct timespec zero = { 0, 0 };
		int sig = sigtimedwait(&set, NULL, &zero);
		if (sig == SIGTERM || sig == SIGINT) {
			fprintf(stderr, "beacon-etl: %s: shutting down (deadline %lld ms)\n",
				strsignal(sig), (long long)etl.cfg.shutdown_deadline_ms);
			break;
		}
		if (sig == SIGHUP)
			fprintf(stderr, "beacon-etl: SIGHUP ignored (restart to change the configuration)\n");
		if (atomic_load(&etl.fatal)) {
			fprintf(stderr, "beacon-etl: fatal error in a stream: stopping\n");
			fatal = 1;
			break;
		}
	}
	atomic_store(&etl.stop_deadline_ms, bcn_etl_mono_ms() + etl.cfg.shutdown_deadline_ms);
	atomic_store(&etl.stop, 1);
	/* keep answering probes while the streams finish */
	for (;;) {
		int alive = 0;
		for (unsigned i = 0; i < BCN_ETL__NSTREAMS; i++)
			alive |= etl.s[i].etl && atomic_load(&etl.s[i].running);
		alive |= bcn_etl_pg_running(etl.pg);
		if (!alive)
			break;
		bcn_ops_poll(ctl, 50);
	}
	uint64_t rows = 0, dropped = 0;
	for (unsigned i = 0; i < BCN_ETL__NSTREAMS; i++) {
		struct bcn_etl_stream *s = &etl.s[i];
		if (!s->etl)
			continue;
		pthread_join(s->th, NULL);
		for (int t = 0; t < s->ntab; t++)
			rows += BCN_GET(s->t[t].rows);
		dropped += BCN_GET(s->dropped_shutdown);
	}
	uint64_t pg_applied = 0, pg_dropped = 0;
	bcn_etl_pg_totals(etl.pg, &pg_applied, &pg_dropped);
	bcn_etl_pg_free(etl.pg); /* joins its thread */
	bcn_ops_free(ctl);
	for (unsigned i = 0; i < BCN_ETL__NSTREAMS; i++)
		bcn_etl_stream_fini(&etl.s[i]);
	curl_global_cleanup();
	if (etl.cfg.pg_enabled)
		fprintf(stderr, "beacon-etl: postgres sink stopped: %llu records applied, %llu batch(es) "
				"abandoned at the deadline\n",
			(unsigned long long)pg_applied, (unsigned long long)pg_dropped);
	fprintf(stderr, "beacon-etl: stopped: %llu rows inserted, %llu batch(es) abandoned at the "
			"deadline%s\n",
		(unsigned long long)rows, (unsigned long long)dropped, fatal ? " (after a fatal error)" : "");
	return fatal ? 1 : 0;
}
