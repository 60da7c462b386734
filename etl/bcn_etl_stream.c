/*
 * bcn_etl_stream.c - one stream of beacon-etl: a consumer thread that
 * batches records per target table (and, with clickhouse.format =
 * rowbinary, converts them to RowBinary on the way), and inserter threads
 * (clickhouse.inflight) that insert full batches into ClickHouse and commit
 * their Kafka offsets only after every table of the batch is in.
 *
 * Why threads per stream: a flood of views must never delay likes, and a
 * stream whose table refuses inserts must not stop the others; each stream
 * has its own consumer group, batches, ClickHouse connections and DLQ
 * producer, and shares nothing with the others but the stop flag.  Within a
 * stream, inflight + 1 batch slots let consuming (stream thread) and
 * inserting (inserter threads) overlap: while batches k.. are inserted,
 * the next one fills.  Commits stay in offset order: batches are numbered
 * as they are handed over (seq), and an inserter commits batch k only when
 * every batch before it is committed; if one gives up, no later one is
 * committed (s->broken) and the stream thread drops them all.
 *
 * The batch: records are taken in the order the consumer delivers them, so
 * for each partition a batch is a contiguous offset range [first, next).
 * Its flush inserts every table's rows (retrying the same bytes until
 * ClickHouse answers, bisecting if it says the data is bad), waits until
 * every DLQ record is acknowledged, then commits next for every partition
 * (synchronously).  While an inserter retries and the next batch is full,
 * the stream thread pauses every assigned partition and keeps serving the
 * consumer (rebalances, heartbeats, max.poll.interval.ms): Kafka, not the
 * ETL's memory, is the buffer.  A batch that is dropped (revocation during a
 * failing flush, shutdown deadline) is never committed, nor is any batch
 * after it; if its partitions are still ours, the consumer is moved back to
 * its first offsets so nothing is skipped.  See docs/etl.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_etl.h"

#define POLL_BATCH 1024

int64_t bcn_etl_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bcn_etl_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd(uint64_t *st)
{
	/* xorshift64*: jitter only (one state per inserter thread) */
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545F4914F6CDD1Dull;
}

/* The earliest of: deadline_ms, the job's deadline, the shutdown's once
 * SIGTERM came.  0 = none. */
static int64_t eff_deadline(struct bcn_etl_stream *s, int64_t deadline_ms)
{
	int64_t j = atomic_load(&s->job_deadline_ms);
	if (j && (!deadline_ms || j < deadline_ms))
		deadline_ms = j;
	if (atomic_load(&s->etl->stop)) {
		int64_t d = atomic_load(&s->etl->stop_deadline_ms);
		if (!deadline_ms || d < deadline_ms)
			deadline_ms = d;
	}
	return deadline_ms;
}

static int must_give_up(struct bcn_etl_stream *s, int64_t deadline_ms)
{
	int64_t d = eff_deadline(s, deadline_ms);
	return atomic_load(&s->abort) || atomic_load(&s->etl->fatal) ||
	       (d && bcn_etl_mono_ms() >= d);
}

/* ---- partitions: pause, resume, rewind (stream thread) -------------------- */

static void pause_all(struct bcn_etl_stream *s)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	if (s->paused || rd_kafka_assignment(s->rk, &l) || !l) {
		if (l)
			rd_kafka_topic_partition_list_destroy(l);
		return;
	}
	if (l->cnt)
		rd_kafka_pause_partitions(s->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	s->paused = 1;
}

static void rewind_to(struct bcn_etl_part *pt, int64_t off)
{
	if (off >= 0 && (pt->rewind < 0 || off < pt->rewind))
		pt->rewind = off;
}

/* Move the consumer of every still-assigned partition back to its rewind
 * offset, where one is set: records received while paused, the first
 * offsets of dropped batches, records polled but not taken. */
static void seek_back(struct bcn_etl_stream *s)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	for (int p = 0; p < s->nparts; p++) {
		struct bcn_etl_part *pt = &s->parts[p];
		int64_t off = pt->rewind;
		pt->rewind = -1;
		if (off < 0 || !atomic_load(&pt->assigned))
			continue;
		rd_kafka_topic_partition_list_add(l, s->cfg->topic, p)->offset = off;
	}
	if (l->cnt) {
		rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, l, bcn_etl_seek_timeout_ms(5000));
		if (e) {
			fprintf(stderr, "beacon-etl: %s: seek back failed: %s (exiting: a restart "
					"resumes from the committed offsets)\n",
				s->name, rd_kafka_error_string(e));
			rd_kafka_error_destroy(e);
			atomic_store(&s->etl->fatal, 1);
		} else {
			for (int i = 0; i < l->cnt; i++)
				if (l->elems[i].err) {
					fprintf(stderr, "beacon-etl: %s: seek [%d] to %lld failed: %s "
							"(exiting)\n",
						s->name, l->elems[i].partition,
						(long long)l->elems[i].offset,
						rd_kafka_err2str(l->elems[i].err));
					atomic_store(&s->etl->fatal, 1);
				}
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Re-position what must be re-read, then let paused partitions fetch. */
static void resume_all(struct bcn_etl_stream *s)
{
	seek_back(s);
	if (!s->paused)
		return;
	s->paused = 0;
	rd_kafka_topic_partition_list_t *l = NULL;
	if (rd_kafka_assignment(s->rk, &l) || !l)
		return;
	if (l->cnt)
		rd_kafka_resume_partitions(s->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/* bcn_etl_kick_fetchers' skip callback: partitions seek_back moves. */
static int kick_skip(void *arg, const char *topic, int32_t partition)
{
	const struct bcn_etl_stream *s = arg;
	(void)topic;
	return partition < 0 || partition >= s->nparts || s->parts[partition].rewind >= 0;
}

/* After a short poll that followed a full one (see bcn_etl_kick_fetchers). */
static void kick_fetchers(struct bcn_etl_stream *s)
{
	if (!s->paused && bcn_etl_kick_fetchers(s->rk, kick_skip, s) > 0)
		BCN_INC(s->fetch_kicks, 1);
}

/* Serve the consumer for up to ms with every partition paused; a record
 * that still arrives is re-read later.  Stream thread. */
static void serve_paused(struct bcn_etl_stream *s, int ms)
{
	rd_kafka_message_t *msgs[64];
	pause_all(s);
	ssize_t n = rd_kafka_consume_batch_queue(s->q, ms, msgs, 64);
	for (ssize_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = msgs[i];
		if (!m->err && m->partition >= 0 && m->partition < s->nparts)
			rewind_to(&s->parts[m->partition], m->offset);
		rd_kafka_message_destroy(m);
	}
}

int bcn_etl_wait(struct bcn_etl_stream *s, int64_t ms, int64_t deadline_ms, int may_poll)
{
	int64_t end = bcn_etl_mono_ms() + ms;
	for (;;) {
		if (must_give_up(s, deadline_ms))
			return -1;
		int64_t now = bcn_etl_mono_ms(), left = end - now;
		if (left <= 0)
			return 0;
		if (left > 100)
			left = 100;
		int64_t d = eff_deadline(s, deadline_ms);
		if (d && d - now < left)
			left = d - now > 0 ? d - now : 0;
		if (may_poll) {
			serve_paused(s, (int)left);
		} else {
			struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
			nanosleep(&ts, NULL);
		}
	}
}

/* ---- the flush (inserter threads) ----------------------------------------- */

/* This inserter starts or stops retrying (s->failing counts them). */
static void set_failing(struct bcn_etl_ins *in, int v)
{
	if (in->failing == v)
		return;
	in->failing = v;
	if (v)
		atomic_fetch_add(&in->s->failing, 1);
	else
		atomic_fetch_sub(&in->s->failing, 1);
}

/* What one bisection inserts: rows of one table, either straight from the
 * batch buffer as JSONEachRow (positions [x, y) = rows base + x ...), or a
 * chunk of the inserter's buffer (positions map to rows by prow, to bytes
 * by poff), as RowBinary or JSONEachRow. */
enum { BODY_TB = 0, BODY_CHUNK };

struct flush_ctx {
	struct bcn_etl_ins *in;
	struct bcn_etl_slot *sl;
	int table;
	int body;                   /* BODY_*                                  */
	int rowbinary;              /* the chunk is RowBinary (by plan)       */
	const uint8_t *rbb;         /* RowBinary: the bytes poff[] points into */
	uint32_t base;              /* BODY_TB: first row                     */
	int schema_checked;         /* RowBinary: DESCRIBE re-read after an error */
	int schema_changed;         /* ... and it differed: the chunk goes as JSON */
	struct bcn_ch_result last;
};

static void observe(struct bcn_etl_table *t, double secs)
{
	for (int i = 0; i < BCN_ETL_NLAT; i++)
		if (i == BCN_ETL_NLAT - 1 || secs <= bcn_etl_lat_bounds[i])
			BCN_ADD(t->lat_le[i], 1);
	BCN_ADD(t->lat_sum_us, (uint64_t)(secs * 1e6));
}

static uint32_t ctx_row(const struct flush_ctx *f, uint32_t pos)
{
	return f->body == BODY_TB ? f->base + pos : f->in->prow[pos];
}

/* ---- RowBinary plans (inserter threads; set-up) ---- */

/* system.tables' engine, engine_full and sorting_key of db.name into
 * in->key (TabSeparated, one line).  Returns the bcn_ch_query kind. */
static enum bcn_ch_kind table_row(struct bcn_etl_stream *s, struct bcn_etl_ins *in,
				  const char *db, const char *name, size_t *n)
{
	struct bcn_ch_result r;
	char q[384];
	snprintf(q, sizeof(q),
		 "SELECT engine, engine_full, sorting_key FROM system.tables WHERE database = '%s' "
		 "AND name = '%s' FORMAT TabSeparated",
		 db, name);
	return bcn_ch_query(in->ch, q, in->key, sizeof(in->key) - 1, n, s->etl->cfg.timeout_ms, &r);
}

/* The sorting key of table ti as system.tables gives it -- for a
 * Distributed table, its target table's (bcn_sort_dist_target) -- moved to
 * the start of in->key (*kn bytes).  Returns 1 (read; *kn may be 0: no
 * key), 0 (this server cannot say: no such column or table, or a name that
 * cannot be quoted; *kn = 0) or -1 (no answer: try again later). */
static int sorting_key(struct bcn_etl_stream *s, struct bcn_etl_ins *in, int ti, size_t *kn)
{
	const char *db = s->etl->cfg.database, *name = s->t[ti].name;
	char tdb[64], tname[128];
	*kn = 0;
	for (int hop = 0; hop < 2; hop++) {
		size_t n = 0;
		if (strpbrk(db, "'\\") || strpbrk(name, "'\\"))
			return 0;
		enum bcn_ch_kind k = table_row(s, in, db, name, &n);
		if (k == BCN_CH_CONFIG || k == BCN_CH_DATA)
			return 0;
		if (k != BCN_CH_OK)
			return -1;
		in->key[n] = 0;
		char *f1 = memchr(in->key, '\t', n), *f2 = NULL;
		if (f1)
			f2 = memchr(f1 + 1, '\t', n - (size_t)(f1 + 1 - in->key));
		if (!f2)
			return 0; /* no such table */
		char *e = in->key + n;
		while (e > f2 + 1 && (e[-1] == '\n' || e[-1] == '\r'))
			e--;
		if (e > f2 + 1 || hop ||
		    !((size_t)(f1 - in->key) == 11 && !memcmp(in->key, "Distributed", 11))) {
			*kn = (size_t)(e - (f2 + 1));
			memmove(in->key, f2 + 1, *kn);
			return 1;
		}
		/* a Distributed table: the key of the table it writes to */
		if (bcn_sort_dist_target(f1 + 1, (size_t)(f2 - f1 - 1), tdb, sizeof(tdb), tname,
					 sizeof(tname)))
			return 1; /* no key */
		db = tdb;
		name = tname;
	}
	return 1;
}

/* Re-read table ti's columns (DESCRIBE) on in's connection and, until
 * known, the server's UUID byte order; publish a changed plan (s->pgen[ti]
 * + 1).  With clickhouse.sort, also (re)read the table's sorting key when
 * the plan changed, or its last read got no answer, and publish its sort
 * plan (s->sgen[ti] = pgen: the sort plan belongs to that plan; until then
 * the table's rows go unsorted).  Sets *changed if a plan in use changed.
 * Returns 0, or -1 if ClickHouse did not answer the DESCRIBE (nothing
 * changes). */
static int describe(struct bcn_etl_stream *s, struct bcn_etl_ins *in, int ti, int *changed)
{
	const struct bcn_etl_cfg *c = &s->etl->cfg;
	struct bcn_ch_result r;
	char *tmp = in->tmp;
	size_t n = 0, kn = 0;
	int kq = 0;
	char q[256];
	*changed = 0;
	pthread_mutex_lock(&s->mu);
	int uuid_ok = s->uuid_ok;
	pthread_mutex_unlock(&s->mu);
	if (uuid_ok < 0) {
		if (bcn_ch_query(in->ch, "SELECT toUUID('" BCN_RB_UUID_PROBE_TEXT "') FORMAT RowBinary",
				 tmp, 4096, &n, c->timeout_ms, &r) != BCN_CH_OK)
			return -1;
		uuid_ok = n == 16 && !memcmp(tmp, bcn_rb_uuid_probe, 16);
		if (!uuid_ok)
			fprintf(stderr, "beacon-etl: %s: the server's RowBinary UUID layout is not the one "
					"this ETL writes: inserting as JSONEachRow\n",
				s->name);
	}
	n = 0;
	if (uuid_ok) {
		snprintf(q, sizeof(q), "DESCRIBE TABLE %s.%s FORMAT TabSeparated", c->database,
			 s->t[ti].name);
		if (bcn_ch_query(in->ch, q, tmp, 4096, &n, c->timeout_ms, &r) != BCN_CH_OK)
			return -1;
	}
	pthread_mutex_lock(&s->mu);
	int same = n == s->desc_len[ti] && !memcmp(tmp, s->desc[ti], n) && s->pgen[ti];
	int need_key = c->sort && uuid_ok && (!same || s->sgen[ti] != s->pgen[ti]);
	pthread_mutex_unlock(&s->mu);
	if (need_key) /* -1: no answer; the plan is still published, and the
		       * key asked for again next time (sgen stays behind) */
		kq = sorting_key(s, in, ti, &kn);
	pthread_mutex_lock(&s->mu);
	s->uuid_ok = uuid_ok;
	int logit = 0;
	if (n != s->desc_len[ti] || memcmp(tmp, s->desc[ti], n) || !s->pgen[ti]) {
		int had = s->pgen[ti] && s->plan[ti].ncols;
		memcpy(s->desc[ti], tmp, n);
		s->desc_len[ti] = n;
		struct bcn_rb_plan *pl = &s->plan[ti];
		if (uuid_ok)
			bcn_rb_plan_parse(pl, s->desc[ti], n);
		else
			memset(pl, 0, sizeof(*pl)), snprintf(pl->why, sizeof(pl->why), "UUID layout");
		s->pgen[ti]++;
		*changed = had;
		atomic_store(&s->t[ti].rowbinary, pl->ncols > 0);
		logit = 1;
	}
	if (need_key && kq >= 0 && s->sgen[ti] != s->pgen[ti]) {
		struct bcn_sort_plan *sp = &s->splan[ti];
		if (kq)
			bcn_sort_plan_parse(sp, &s->plan[ti], s->desc[ti], s->desc_len[ti], in->key, kn);
		else
			memset(sp, 0, sizeof(*sp)),
				snprintf(sp->why, sizeof(sp->why), "the server does not give the sorting key");
		s->sgen[ti] = s->pgen[ti];
		atomic_store(&s->t[ti].sorted, sp->nparts > 0 && s->plan[ti].ncols > 0);
		logit = 1;
	}
	if (logit) {
		const struct bcn_rb_plan *pl = &s->plan[ti];
		const struct bcn_sort_plan *sp = &s->splan[ti];
		char how[200] = "";
		if (c->sort && s->sgen[ti] == s->pgen[ti] && sp->nparts)
			snprintf(how, sizeof(how), ", sorted by %.*s", (int)kn, in->key);
		else if (c->sort && s->sgen[ti] == s->pgen[ti])
			snprintf(how, sizeof(how), ", not sorted (%s)", sp->why);
		if (pl->ncols)
			fprintf(stderr, "beacon-etl: %s: %s: RowBinary, %d columns%s%s\n", s->name,
				s->t[ti].name, pl->ncols, *changed ? " (the table changed)" : "", how);
		else
			fprintf(stderr, "beacon-etl: %s: %s: JSONEachRow (%s)\n", s->name, s->t[ti].name,
				pl->why);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Stream thread, when it starts a new batch: take the newest plans. */
static void adopt_plans(struct bcn_etl_stream *s, struct bcn_etl_slot *sl)
{
	if (!s->rowbinary)
		return;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->ntab; i++)
		if (s->cgen[i] != s->pgen[i]) {
			s->cplan[i] = s->plan[i];
			s->cgen[i] = s->pgen[i];
		}
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->ntab; i++)
		sl->plan_gen[i] = s->cgen[i];
	s->ftc = -1;
	for (int c = 0; c < s->cplan[0].ncols; c++)
		if (s->cplan[0].col[c].len == 4 && !memcmp(s->cplan[0].col[c].name, "type", 4) &&
		    s->cplan[0].col[c].type == BCN_RB_STRING)
			s->ftc = c;
}

/* bcn_etl_bisect's insert: positions [x, y) of the flush's rows, retried
 * with backoff until ClickHouse gives a verdict on the data.  Inserter
 * thread. */
static int insert_range(void *arg, uint32_t x, uint32_t y, int *hint)
{
	struct flush_ctx *f = arg;
	struct bcn_etl_ins *in = f->in;
	struct bcn_etl_stream *s = in->s;
	struct bcn_etl_table *t = &s->t[f->table];
	size_t len;
	const char *body;
	if (f->body == BODY_TB) {
		body = bcn_etl_tb_body(&f->sl->tb[f->table], f->base + x, f->base + y, &len);
	} else {
		/* RowBinary: the batch's own buffer or its sorted copy; JSON:
		 * this inserter's chunk */
		body = (const char *)(f->rowbinary ? f->rbb : in->rb) + in->poff[x];
		len = in->poff[y] - in->poff[x];
	}
	for (unsigned attempt = 0;; attempt++) {
		if (must_give_up(s, 0))
			return -1;
		int64_t d = eff_deadline(s, 0), to = 0;
		if (d) {
			to = d - bcn_etl_mono_ms();
			if (to < 1)
				return -1;
			if (to > s->etl->cfg.timeout_ms)
				to = 0;
		}
		enum bcn_ch_kind k =
			f->rowbinary
				? bcn_ch_insert_rowbinary(in->ch, f->table, in->collist, body, len, to,
							  &f->last)
				: bcn_ch_insert(in->ch, f->table, body, len, to, &f->last);
		if (likely(k == BCN_CH_OK)) {
			BCN_ADD(t->batches, 1);
			BCN_ADD(t->rows, y - x);
			BCN_ADD(t->bytes, len);
			if (s->rowbinary && !f->rowbinary)
				BCN_ADD(t->json_rows, y - x);
			observe(t, f->last.seconds);
			if (attempt)
				fprintf(stderr, "beacon-etl: %s: insert into %s succeeded after %u "
						"retries (endpoint %d)\n",
					s->name, t->name, attempt, f->last.endpoint);
			set_failing(in, 0);
			return 0;
		}
		BCN_ADD(s->errors[k == BCN_CH_DATA        ? BCN_ETL_E_CH_DATA
				  : k == BCN_CH_CONFIG    ? BCN_ETL_E_CH_CONFIG
				  : k == BCN_CH_TRANSPORT ? BCN_ETL_E_CH_TRANSPORT
							  : BCN_ETL_E_CH_TRANSIENT],
			1);
		if (f->rowbinary && (k == BCN_CH_DATA || k == BCN_CH_CONFIG) && !f->schema_checked) {
			/* the table may have changed under us: if so, these rows go
			 * as JSONEachRow (ClickHouse reads them by name), not by
			 * bisection of bytes encoded for the old columns */
			int changed = 0;
			f->schema_checked = 1;
			if (!describe(s, in, f->table, &changed) && changed) {
				fprintf(stderr, "beacon-etl: %s: %s changed (%s); resending %u rows as "
						"JSONEachRow\n",
					s->name, t->name, f->last.msg, y - x);
				f->schema_changed = 1;
				return -1;
			}
		}
		if (k == BCN_CH_DATA) {
			*hint = f->last.row;
			return 1;
		}
		set_failing(in, 1);
		if (attempt == 0 || (attempt & 15) == 0)
			fprintf(stderr, "beacon-etl: %s: insert of %u rows into %s failed (%s, endpoint "
					"%d, HTTP %ld, code %d): %s; retrying (attempt %u)\n",
				s->name, y - x, t->name, bcn_ch_kind_name(k), f->last.endpoint,
				f->last.status, f->last.code, f->last.msg, attempt + 1);
		BCN_ADD(s->retries, 1);
		int64_t b = bcn_etl_backoff_ms(attempt, s->etl->cfg.backoff_min_ms,
					       s->etl->cfg.backoff_max_ms, rnd(&in->rng));
		if (bcn_etl_wait(s, b, 0, 0))
			return -1;
	}
}

/* bcn_etl_bisect's reject: one row ClickHouse refuses -> DLQ, the record as
 * it came from Kafka.  Inserter thread. */
static int reject_row(void *arg, uint32_t pos)
{
	struct flush_ctx *f = arg;
	struct bcn_etl_stream *s = f->in->s;
	const struct bcn_etl_tbatch *tb = &f->sl->tb[f->table];
	const struct bcn_etl_row *r = &tb->rows[ctx_row(f, pos)];
	BCN_ADD(s->t[f->table].rejected, 1);
	return bcn_etl_dlq_send(s, BCN_ETL_R_REJECTED, f->last.msg, tb->buf + r->off, r->len, NULL, 0,
				r->part, r->offset, 0, 0);
}

/* Insert positions [0, n) of f (bisecting refused ones).  Returns 0 or -1. */
static int insert_all(struct flush_ctx *f, uint32_t n)
{
	f->schema_checked = f->schema_changed = 0;
	return n ? bcn_etl_bisect(0, n, 1, 0, insert_range, reject_row, f) : 0;
}

/* The rows in->fb[0..nfb) as JSONEachRow: copied into the inserter's chunk
 * buffer as many as fit, one INSERT per chunk; a row larger than that
 * buffer is sent alone from the batch buffer.  Returns 0 or -1. */
static int flush_fallback(struct flush_ctx *f)
{
	struct bcn_etl_ins *in = f->in;
	const struct bcn_etl_tbatch *tb = &f->sl->tb[f->table];
	f->rowbinary = 0;
	for (uint32_t k = 0; k < in->nfb;) {
		uint32_t np = 0;
		size_t w = 0;
		for (; k < in->nfb; k++) {
			const struct bcn_etl_row *r = &tb->rows[in->fb[k]];
			if (w + r->len + 1 > in->rbcap)
				break;
			memcpy(in->rb + w, tb->buf + r->off, r->len);
			in->rb[w + r->len] = '\n';
			in->prow[np] = in->fb[k];
			in->poff[np++] = (uint32_t)w;
			w += r->len + 1;
		}
		in->poff[np] = (uint32_t)w;
		if (np) {
			f->body = BODY_CHUNK;
			if (insert_all(f, np))
				return -1;
		} else {
			f->body = BODY_TB; /* one row larger than the chunk buffer */
			f->base = in->fb[k++];
			if (insert_all(f, 1))
				return -1;
		}
	}
	return 0;
}

/* The flush's RowBinary rows (positions [0, np) of in->prow/poff into
 * tb->rb) copied into in->srt in the table's key order, prow/poff swapped
 * for their sorted counterparts.  Returns 0, or -1 (nothing changed: the
 * rows go in batch order) if they cannot be keyed or do not fit. */
static int sort_rows(struct bcn_etl_ins *in, const struct bcn_etl_tbatch *tb, uint32_t np)
{
	uint32_t *perm = in->prow2, w = 0;
	if (tb->rblen > in->srtcap ||
	    bcn_sort_rows(&in->sp, &in->pl, tb->rb, in->poff, np, &in->sb, perm))
		return -1;
	for (uint32_t k = 0; k < np; k++) {
		uint32_t p = perm[k], len = in->poff[p + 1] - in->poff[p];
		memcpy(in->srt + w, tb->rb + in->poff[p], len);
		in->poff2[k] = w;
		perm[k] = in->prow[p]; /* prow2[k]: the row at sorted position k */
		w += len;
	}
	in->poff2[np] = w;
	uint32_t *t = in->prow;
	in->prow = in->prow2;
	in->prow2 = t;
	t = in->poff;
	in->poff = in->poff2;
	in->poff2 = t;
	return 0;
}

/* Insert table ti of the slot.  rowbinary: the table's plan is re-read
 * first (so a changed table is seen before its next batch); if the batch
 * was encoded by the plan in force, its RowBinary rows go as one INSERT and
 * the rows that did not convert afterwards as JSONEachRow; otherwise (an
 * older plan, no usable plan, or jsoneachrow) the batch buffer goes as it
 * is.  Returns 0 or -1 (give up). */
static int flush_table(struct bcn_etl_ins *in, struct bcn_etl_slot *sl, int ti)
{
	struct bcn_etl_stream *s = in->s;
	const struct bcn_etl_tbatch *tb = &sl->tb[ti];
	struct flush_ctx f = { .in = in, .sl = sl, .table = ti };
	int ok = 0, sort = 0, changed;
	if (s->rowbinary) {
		(void)describe(s, in, ti, &changed);
		pthread_mutex_lock(&s->mu);
		ok = tb->nrb && sl->plan_gen[ti] == s->pgen[ti] && s->plan[ti].ncols > 0;
		if (ok)
			memcpy(in->collist, s->plan[ti].collist, sizeof(in->collist));
		sort = ok && in->srt && s->sgen[ti] == s->pgen[ti] && s->splan[ti].nparts;
		if (sort) {
			in->pl = s->plan[ti];
			in->sp = s->splan[ti];
		}
		pthread_mutex_unlock(&s->mu);
	}
	if (!ok) {
		f.body = BODY_TB;
		f.base = 0;
		return insert_all(&f, tb->n);
	}
	uint32_t np = 0;
	in->nfb = 0;
	for (uint32_t i = 0; i < tb->n; i++) {
		uint32_t o = tb->rows[i].rb;
		if (o == BCN_ETL_NO_RB) {
			in->fb[in->nfb++] = i;
		} else {
			in->prow[np] = i;
			in->poff[np++] = o;
		}
	}
	in->poff[np] = (uint32_t)tb->rblen;
	f.body = BODY_CHUNK;
	f.rowbinary = 1;
	f.rbb = tb->rb;
	if (sort && np > 1 && !sort_rows(in, tb, np)) {
		f.rbb = in->srt;
		BCN_ADD(s->t[ti].sorted_rows, np);
	}
	if (insert_all(&f, np)) {
		if (!f.schema_changed)
			return -1;
		/* nothing of it went in (its first insert failed): as JSON */
		for (uint32_t p = 0; p < np; p++)
			in->fb[in->nfb++] = in->prow[p];
	}
	return flush_fallback(&f);
}

static rd_kafka_topic_partition_list_t *commit_list(struct bcn_etl_stream *s,
						    const struct bcn_etl_slot *sl)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
	for (int p = 0; p < s->nparts; p++)
		if (sl->r[p].first >= 0)
			rd_kafka_topic_partition_list_add(l, s->cfg->topic, p)->offset = sl->r[p].next;
	return l;
}

/* Commit next for every partition of the slot.  Returns 0, or -1 to give up
 * (revoked, deadline).  Inserter thread, in its turn (commit order). */
static int commit(struct bcn_etl_ins *in, struct bcn_etl_slot *sl)
{
	struct bcn_etl_stream *s = in->s;
	rd_kafka_topic_partition_list_t *l = commit_list(s, sl);
	int rc = 0;
	for (unsigned attempt = 0; l->cnt; attempt++) {
		rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 0);
		if (likely(!e)) {
			for (int i = 0; i < l->cnt; i++) {
				int p = l->elems[i].partition;
				atomic_store(&s->parts[p].committed, l->elems[i].offset);
				atomic_store(&s->parts[p].commit_ts, sl->r[p].last_ts);
			}
			BCN_ADD(s->commits, 1);
			break;
		}
		BCN_ADD(s->errors[BCN_ETL_E_KAFKA_COMMIT], 1);
		if (attempt == 0 || (attempt & 15) == 0)
			fprintf(stderr, "beacon-etl: %s: offset commit failed: %s; retrying\n", s->name,
				rd_kafka_err2str(e));
		if (bcn_etl_wait(s, bcn_etl_backoff_ms(attempt, s->etl->cfg.backoff_min_ms,
						       s->etl->cfg.backoff_max_ms, rnd(&in->rng)),
				 0, 0)) {
			rc = -1;
			break;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

/* Insert every table's rows.  Returns 0 (all in) or -1 (gave up).
 * Inserter thread; several slots may be here at once. */
static int insert_slot(struct bcn_etl_ins *in, struct bcn_etl_slot *sl)
{
	struct bcn_etl_stream *s = in->s;
	int rc = 0;
	BCN_ADD(s->flushes, 1);
	for (int i = 0; i < s->ntab && !rc; i++) {
		if (sl->done[i] || !sl->tb[i].n)
			continue;
		rc = flush_table(in, sl, i);
		if (!rc)
			sl->done[i] = 1;
	}
	return rc;
}

/*
 * An inserter thread: take the oldest queued slot, insert it, then wait for
 * its turn (every slot handed over before it is committed or given up),
 * make sure the DLQ has its records, and commit.  If an earlier slot gave
 * up (broken), this one is not committed either: the stream thread drops
 * them all and the records are read again.
 */
static void *inserter_main(void *arg)
{
	struct bcn_etl_ins *in = arg;
	struct bcn_etl_stream *s = in->s;
	char tn[16];
	snprintf(tn, sizeof(tn), "etl-%.6s-i%d", s->name, in->idx);
	pthread_setname_np(pthread_self(), tn);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct bcn_etl_slot *sl = NULL;
		for (int k = 0; k < s->nslots; k++)
			if (s->slot[k].st == BCN_ETL_SLOT_QUEUED && (!sl || s->slot[k].seq < sl->seq))
				sl = &s->slot[k];
		if (!sl) {
			if (s->quit)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		sl->st = BCN_ETL_SLOT_BUSY;
		int broken = s->broken;
		pthread_mutex_unlock(&s->mu);
		int rc = broken ? -1 : insert_slot(in, sl);
		pthread_mutex_lock(&s->mu);
		while (s->commit_seq != sl->seq && !s->broken)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->broken)
			rc = -1;
		pthread_mutex_unlock(&s->mu);
		if (!rc)
			rc = bcn_etl_dlq_drain(s, 0, 0);
		if (!rc)
			rc = commit(in, sl);
		if (!rc)
			atomic_store(&s->last_ok_ms, bcn_etl_wall_ms());
		set_failing(in, 0);
		pthread_mutex_lock(&s->mu);
		if (rc)
			s->broken = 1;
		if (s->commit_seq == sl->seq)
			s->commit_seq++;
		sl->rc = rc;
		sl->st = BCN_ETL_SLOT_DONE;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- slots (stream thread) ------------------------------------------------ */

static void reset_slot(struct bcn_etl_stream *s, struct bcn_etl_slot *sl)
{
	for (int i = 0; i < s->ntab; i++) {
		bcn_etl_tb_reset(&sl->tb[i]);
		sl->done[i] = 0;
	}
	for (int p = 0; p < s->nparts; p++)
		sl->r[p].first = sl->r[p].next = -1;
	sl->msgs = 0;
	sl->start_ms = 0;
	sl->rc = 0;
}

/* Drop a slot: nothing of it is committed; its partitions, if still ours,
 * will be moved back to its first offsets (resume_all). */
static void drop_slot(struct bcn_etl_stream *s, struct bcn_etl_slot *sl)
{
	if (sl->msgs) {
		bcn_ctr *c = atomic_load(&s->abort)	     ? &s->dropped_revoke
			     : atomic_load(&s->etl->stop) ? &s->dropped_shutdown
							  : &s->dropped_other;
		BCN_INC(*c, 1);
		fprintf(stderr, "beacon-etl: %s: batch of %u records dropped uncommitted (it will be "
				"read again)\n",
			s->name, sl->msgs);
	}
	for (int p = 0; p < s->nparts; p++)
		rewind_to(&s->parts[p], sl->r[p].first);
	reset_slot(s, sl);
}

/* Jobs (slots handed over) not finished yet; under s->mu. */
static int running_jobs(const struct bcn_etl_stream *s)
{
	int n = 0;
	for (int k = 0; k < s->nslots; k++)
		n += s->slot[k].st == BCN_ETL_SLOT_QUEUED || s->slot[k].st == BCN_ETL_SLOT_BUSY;
	return n;
}

/*
 * Wait for the inserters: until every job is over (all), else until one
 * more can be handed over (fewer than nins running).  A job that gave up,
 * or a revocation (abort), makes it wait for all of them; then every batch
 * -- those handed over and the filling one -- is dropped, since none may
 * be committed after the one that was not.  may_poll: while an inserter is
 * retrying a failure, keep serving the consumer with every partition paused
 * (the rebalance callback may run and abort the jobs); otherwise just wait
 * (healthy inserts, or inside the rebalance callback), giving up at
 * deadline_ms by setting it as the jobs' deadline.  Returns 0, or -1 if
 * something was dropped.  Stream thread.
 */
static int await_inserters(struct bcn_etl_stream *s, int may_poll, int64_t deadline_ms, int all)
{
	int fail = 0;
	if (deadline_ms)
		atomic_store(&s->job_deadline_ms, deadline_ms);
	s->in_wait = 1;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		int running = running_jobs(s);
		fail = s->broken;
		if (!running || (!all && !fail && !atomic_load(&s->abort) && running < s->nins))
			break;
		/* a healthy insert takes < clickhouse.timeout_ms, well under
		 * max.poll.interval.ms: just wait (pausing would purge the
		 * prefetched records); a failing one may take forever: pause
		 * and keep serving the consumer */
		if (may_poll && atomic_load(&s->failing)) {
			pthread_mutex_unlock(&s->mu);
			serve_paused(s, 10);
			pthread_mutex_lock(&s->mu);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000;
			if (ts.tv_nsec >= 1000000000)
				ts.tv_sec++, ts.tv_nsec -= 1000000000;
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
	}
	int idle = !running_jobs(s);
	if (!fail) {
		for (int k = 0; k < s->nslots; k++)
			if (s->slot[k].st == BCN_ETL_SLOT_DONE) {
				reset_slot(s, &s->slot[k]);
				s->slot[k].st = BCN_ETL_SLOT_FREE;
			}
	}
	pthread_mutex_unlock(&s->mu);
	s->in_wait = 0;
	if (idle) {
		atomic_store(&s->abort, 0); /* the jobs are over, whatever they did */
		if (deadline_ms)
			atomic_store(&s->job_deadline_ms, 0);
	}
	if (fail) {
		/* every job is over (fail implies waiting for all): the batches
		 * after the one that gave up are lost too, and the filling one;
		 * all are read again */
		for (int k = 0; k < s->nslots; k++) {
			struct bcn_etl_slot *sl = &s->slot[k];
			if (sl->st == BCN_ETL_SLOT_DONE && !sl->rc) {
				reset_slot(s, sl); /* committed before the failure */
			} else if (sl->st == BCN_ETL_SLOT_DONE || k == s->fill) {
				drop_slot(s, sl);
			}
			if (k != s->fill)
				sl->st = BCN_ETL_SLOT_FREE;
		}
		pthread_mutex_lock(&s->mu);
		s->broken = 0;
		s->commit_seq = s->next_seq;
		pthread_mutex_unlock(&s->mu);
		atomic_store(&s->abort, 0);
		if (deadline_ms)
			atomic_store(&s->job_deadline_ms, 0);
		return -1;
	}
	return 0;
}

/* Hand the filling slot to the inserters (once fewer than nins are busy)
 * and start filling a free one.  Returns 0, or -1 if a batch was dropped
 * (the caller re-reads what it polled).  Stream thread. */
static int handoff(struct bcn_etl_stream *s, int may_poll, int64_t deadline_ms)
{
	int rc = await_inserters(s, may_poll, deadline_ms, 0);
	if (s->paused || rc)
		resume_all(s);
	if (rc)
		return -1;
	struct bcn_etl_slot *sl = &s->slot[s->fill];
	if (!sl->msgs)
		return 0;
	if (unlikely(sl->gen != s->gen)) {
		/* filled before a revocation: those partitions may be someone
		 * else's now; their next owner reads it again */
		drop_slot(s, sl);
		resume_all(s);
		return -1;
	}
	if (deadline_ms)
		atomic_store(&s->job_deadline_ms, deadline_ms);
	pthread_mutex_lock(&s->mu);
	sl->seq = s->next_seq++;
	sl->st = BCN_ETL_SLOT_QUEUED;
	pthread_cond_broadcast(&s->cv);
	int next = -1;
	for (int k = 0; k < s->nslots && next < 0; k++)
		if (s->slot[k].st == BCN_ETL_SLOT_FREE && k != s->fill)
			next = k;
	pthread_mutex_unlock(&s->mu);
	if (next < 0) {
		/* cannot happen: nslots = nins + 1 and fewer than nins run */
		fprintf(stderr, "beacon-etl: %s: no free batch slot (bug; exiting)\n", s->name);
		atomic_store(&s->etl->fatal, 1);
		return -1;
	}
	s->fill = next;
	adopt_plans(s, &s->slot[next]);
	return 0;
}

/* Hand over and wait for every job (revocation, shutdown).  Returns 0 if
 * everything taken so far is committed. */
static int flush_all(struct bcn_etl_stream *s, int may_poll, int64_t deadline_ms)
{
	if (handoff(s, may_poll, deadline_ms))
		return -1;
	int rc = await_inserters(s, may_poll, deadline_ms, 1);
	if (s->paused || rc)
		resume_all(s);
	return rc;
}

/* ---- rebalancing ---------------------------------------------------------- */

/* Rebalance callback: runs on the stream thread inside a poll of its
 * consumer queue (bcn_etl_consume in the main loop, or serve_paused while it
 * waits for the inserter), when the group revokes or assigns partitions (eager protocol:
 * a revocation takes them all). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct bcn_etl_stream *s = opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		BCN_INC(s->assigns, 1);
		for (int i = 0; i < parts->cnt; i++)
			if (parts->elems[i].partition >= s->nparts) {
				fprintf(stderr, "beacon-etl: %s: partition %d is beyond kafka.max_partitions "
						"(%d): raise it (exiting)\n",
					s->name, parts->elems[i].partition, s->nparts);
				atomic_store(&s->etl->fatal, 1);
				rd_kafka_assign(rk, NULL);
				return;
			}
		int ok;
		rd_kafka_topic_partition_list_t *c = bcn_etl_assign(rk, parts, &ok);
		for (int i = 0; i < c->cnt; i++) {
			struct bcn_etl_part *pt = &s->parts[c->elems[i].partition];
			atomic_store(&pt->committed, ok && c->elems[i].offset >= 0 ? c->elems[i].offset : -1);
			atomic_store(&pt->commit_ts, 0);
			pt->rewind = -1;
			atomic_store(&pt->assigned, 1);
		}
		rd_kafka_topic_partition_list_destroy(c);
		atomic_store(&s->assigned_n, parts->cnt);
		fprintf(stderr, "beacon-etl: %s: %d partition(s) assigned\n", s->name, parts->cnt);
		return;
	}
	if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
		fprintf(stderr, "beacon-etl: %s: rebalance error: %s\n", s->name, rd_kafka_err2str(err));
	BCN_INC(s->revokes, 1);
	if (s->in_wait) {
		/* the inserter is retrying and we wait for it: the partitions go
		 * now, so both batches are given up (re-read by the next owner) */
		atomic_store(&s->abort, 1);
	} else {
		/* insert and commit what we have within revoke_flush_ms, else drop */
		int64_t d = bcn_etl_mono_ms() + s->etl->cfg.revoke_flush_ms;
		if (flush_all(s, 0, d))
			fprintf(stderr, "beacon-etl: %s: revoked: the open batches could not be committed "
					"within %lld ms; the partitions' next owner reads them again\n",
				s->name, (long long)s->etl->cfg.revoke_flush_ms);
	}
	for (int p = 0; p < s->nparts; p++) {
		atomic_store(&s->parts[p].assigned, 0);
		s->parts[p].rewind = -1;
	}
	s->paused = 0;
	s->gen++;
	atomic_store(&s->assigned_n, 0);
	rd_kafka_assign(rk, NULL);
}

/* ---- consuming (stream thread) -------------------------------------------- */

static void note(struct bcn_etl_stream *s, const rd_kafka_message_t *m)
{
	struct bcn_etl_slot *sl = &s->slot[s->fill];
	struct bcn_etl_range *r = &sl->r[m->partition];
	if (r->first < 0)
		r->first = m->offset;
	r->next = m->offset + 1;
	r->last_ts = rd_kafka_message_timestamp(m, NULL);
	if (!sl->msgs++) {
		sl->start_ms = bcn_etl_mono_ms();
		sl->gen = s->gen;
	}
}

static int dlq(struct bcn_etl_stream *s, rd_kafka_message_t *m, int r);

/* Append m to table ti of the filling batch: by the flat fast path (flat;
 * ti = 0), or from the router's pairs. */
static int append(struct bcn_etl_stream *s, int ti, const rd_kafka_message_t *m,
		  const struct bcn_etl_tok *tok, int ntok, int flat)
{
	struct bcn_etl_tbatch *tb = &s->slot[s->fill].tb[ti];
	if (flat)
		return s->ftc < 0 ? BCN_ETL_TB_NOT_FLAT
				  : bcn_etl_tb_append_flat(tb, m->payload, m->len, m->partition,
							   m->offset, &s->cplan[0], s->ftc, s->ftype);
	return bcn_etl_tb_append_rb(tb, m->payload, m->len, m->partition, m->offset, &s->cplan[ti],
				    tok, ntok);
}

/* Put m into table ti of the filling batch (as append), handing the batch
 * over when it is full (then into the next) or reaches its row limit.
 * Returns BCN_ETL_TB_OK (m taken), the append's other outcome (m not
 * taken), or -1 if a batch was dropped. */
static int put(struct bcn_etl_stream *s, int ti, rd_kafka_message_t *m,
	       const struct bcn_etl_tok *tok, int ntok, int flat)
{
	int a = append(s, ti, m, tok, ntok, flat);
	if (a == BCN_ETL_TB_FULL) {
		if (handoff(s, 1, 0))
			return -1;
		a = append(s, ti, m, tok, ntok, flat);
	}
	if (likely(a == BCN_ETL_TB_OK)) {
		note(s, m);
		/* flush at N rows; if that drops a batch, m was in it */
		const struct bcn_etl_tbatch *tb = &s->slot[s->fill].tb[ti];
		if (tb->n >= tb->max && handoff(s, 1, 0))
			return -1;
	}
	return a;
}

/* One record.  Returns 0, or -1 if a batch was dropped (the caller re-reads
 * the rest of what it polled). */
static int take(struct bcn_etl_stream *s, rd_kafka_message_t *m)
{
	unsigned type;
	const char *v = m->payload;
	size_t len = m->len;
	struct bcn_etl_tok tok[BCN_RB_MAX_TOKENS / 2];
	int ntok = -1, a;
	BCN_INC(s->consumed, 1);
	BCN_INC(s->consumed_bytes, len);
	if (likely(v && s->ftc >= 0)) {
		/* perf: a record laid out as table 0's columns, as beacond
		 * writes them, goes in without the router (bcn_rb_encode_flat) */
		a = put(s, 0, m, NULL, 0, 1);
		if (a == BCN_ETL_TB_OK || a == -1) /* taken (0), or a batch dropped */
			return a;
		if (a == BCN_ETL_TB_TOO_BIG)
			return dlq(s, m, BCN_ETL_R_TOO_LARGE);
		/* not flat: the router decides */
	}
	int r = !v ? BCN_ETL_R_BAD_JSON
		   : s->rowbinary ? bcn_etl_route_tok(v, len, &type, tok, BCN_RB_MAX_TOKENS / 2, &ntok)
				  : bcn_etl_route(v, len, &type);
	if (likely(r == BCN_ETL_R_OK) && bcn_etl_stream_of(type) != (int)s->sid)
		r = BCN_ETL_R_WRONG_TOPIC;
	if (likely(r == BCN_ETL_R_OK)) {
		a = put(s, s->tab_of[type], m, tok, ntok, 0);
		if (a == BCN_ETL_TB_OK || a == -1)
			return a;
		r = BCN_ETL_R_TOO_LARGE;
	}
	return dlq(s, m, r);
}

/* Record m to the DLQ with reason r; committed with the batch once the DLQ
 * has it.  Returns as take(). */
static int dlq(struct bcn_etl_stream *s, rd_kafka_message_t *m, int r)
{
	s->in_wait = 1; /* a revocation while it waits for room must drop */
	int rc = bcn_etl_dlq_send(s, (unsigned)r, NULL, m->payload, m->len, m->key, m->key_len,
				  m->partition, m->offset, 0, 1);
	s->in_wait = 0;
	if (unlikely(rc)) {
		/* only on revocation, shutdown or a fatal error */
		if (!await_inserters(s, 0, bcn_etl_mono_ms() + 1, 1))
			drop_slot(s, &s->slot[s->fill]);
		return -1;
	}
	note(s, m);
	return 0;
}

static void update_hwm(struct bcn_etl_stream *s)
{
	int64_t now = bcn_etl_mono_ms();
	if (now - s->last_hwm_ms < 500)
		return;
	s->last_hwm_ms = now;
	for (int p = 0; p < s->nparts; p++) {
		if (!atomic_load(&s->parts[p].assigned))
			continue;
		int64_t lo = -1, hi = -1;
		if (!rd_kafka_get_watermark_offsets(s->rk, s->cfg->topic, p, &lo, &hi) && hi >= 0)
			atomic_store(&s->parts[p].hwm, hi);
	}
	BCN_SET(s->dlq_outq, (uint64_t)rd_kafka_outq_len(s->dlq));
}

/* 1 if a table of the filling batch holds a quarter of its rows or bytes:
 * big enough to be worth an INSERT of its own. */
static int quarter_full(const struct bcn_etl_slot *sl, int ntab)
{
	for (int t = 0; t < ntab; t++)
		if (sl->tb[t].n >= sl->tb[t].max / 4 || sl->tb[t].len >= sl->tb[t].cap / 4)
			return 1;
	return 0;
}

void *bcn_etl_stream_main(void *arg)
{
	struct bcn_etl_stream *s = arg;
	char tn[16];
	snprintf(tn, sizeof(tn), "etl-%s", s->name);
	pthread_setname_np(pthread_self(), tn);
	rd_kafka_message_t *msgs[POLL_BATCH];
	atomic_store(&s->last_ok_ms, bcn_etl_wall_ms());

	while (!atomic_load(&s->etl->stop) && !atomic_load(&s->etl->fatal)) {
		struct bcn_etl_slot *sl = &s->slot[s->fill];
		int64_t to = 100;
		if (sl->msgs) {
			to = sl->start_ms + s->cfg->batch_ms - bcn_etl_mono_ms();
			if (to < 0)
				to = 0;
			if (to > 100)
				to = 100;
		}
		if (s->backed_up && to > BCN_ETL_KICK_WAIT_MS)
			to = BCN_ETL_KICK_WAIT_MS;
		ssize_t n = bcn_etl_consume(s->q, (int)to, msgs, POLL_BATCH);
		unsigned gen = s->gen;
		int dropped = 0;
		size_t polled = 0;
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = msgs[i];
			polled += m->len + m->key_len;
			if (unlikely(dropped)) {
				/* a batch was dropped: if the partitions are still ours
				 * (same generation), what we polled is read again */
				if (s->gen == gen && !m->err && m->partition >= 0 &&
				    m->partition < s->nparts)
					rewind_to(&s->parts[m->partition], m->offset);
			} else if (unlikely(m->err)) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					BCN_INC(s->errors[BCN_ETL_E_KAFKA_CONSUME], 1);
					fprintf(stderr, "beacon-etl: %s: consumer: %s\n", s->name,
						rd_kafka_message_errstr(m));
				}
			} else if (unlikely(m->partition < 0 || m->partition >= s->nparts)) {
				atomic_store(&s->etl->fatal, 1);
			} else if (take(s, m)) {
				dropped = 1;
				if (s->gen == gen)
					rewind_to(&s->parts[m->partition], m->offset);
			}
			rd_kafka_message_destroy(m);
		}
		if (dropped)
			resume_all(s);
		if (bcn_etl_poll_full((size_t)n, POLL_BATCH, polled, s->etl->cfg.queue_kbytes)) {
			s->backed_up = 1;
		} else if (s->backed_up && n == 0) {
			s->backed_up = 0;
			kick_fetchers(s);
		}
		sl = &s->slot[s->fill];
		if (sl->msgs) {
			/* batch_ms after its first record; or, once nothing more
			 * came (an empty poll) and no insert is running, a quarter
			 * of that, or at once if the batch is a quarter full: the
			 * tail of a burst need not wait the whole batch_ms, and a
			 * trickle still makes <= 4 INSERTs/s */
			int64_t age = bcn_etl_mono_ms() - sl->start_ms;
			int idle = 0;
			if (n == 0 && (age >= s->cfg->batch_ms / 4 || quarter_full(sl, s->ntab))) {
				pthread_mutex_lock(&s->mu);
				idle = !running_jobs(s);
				pthread_mutex_unlock(&s->mu);
			}
			if (idle || age >= s->cfg->batch_ms)
				handoff(s, 1, 0);
		}
		if (!sl->msgs && !atomic_load(&s->failing))
			atomic_store(&s->last_ok_ms, bcn_etl_wall_ms());
		rd_kafka_poll(s->dlq, 0);
		update_hwm(s);
	}

	/* SIGTERM: commit what was taken by the deadline, or abandon it */
	if (!atomic_load(&s->etl->fatal) &&
	    flush_all(s, 1, atomic_load(&s->etl->stop_deadline_ms)))
		fprintf(stderr, "beacon-etl: %s: shutdown: batch abandoned uncommitted\n", s->name);
	else if (atomic_load(&s->etl->fatal))
		(void)await_inserters(s, 0, bcn_etl_mono_ms() + 1, 1);
	rd_kafka_resp_err_t e = rd_kafka_consumer_close(s->rk);
	if (e)
		fprintf(stderr, "beacon-etl: %s: consumer close: %s\n", s->name, rd_kafka_err2str(e));
	rd_kafka_flush(s->dlq, 2000);
	atomic_store(&s->running, 0);
	return NULL;
}

/* ---- set-up --------------------------------------------------------------- */

void bcn_etl_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	fprintf(stderr, "beacon-etl: kafka[%d] %s %s: %s\n", level, rd_kafka_name(rk), fac, buf);
}

int bcn_etl_kset(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t errlen)
{
	char e[256];
	if (rd_kafka_conf_set(c, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka: %s=%s: %s", k, v, e);
		return -1;
	}
	return 0;
}

int bcn_etl_kset_extra(rd_kafka_conf_t *c, const char *extra, char *err, size_t errlen)
{
	char buf[1024], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", extra);
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "kafka.extra: '%s' is not key=value", kv);
			return -1;
		}
		*eq = 0;
		if (bcn_etl_kset(c, kv, eq + 1, err, errlen))
			return -1;
	}
	return 0;
}

/* Why not rd_kafka_consume_batch_queue(q, ms, ...) alone: it returns only
 * once it has max records or ms has passed, so the last records of a
 * backlog (fewer than max) waited out ms, and their batch with them. */
ssize_t bcn_etl_consume(rd_kafka_queue_t *q, int ms, rd_kafka_message_t **msgs, size_t max)
{
	ssize_t n = rd_kafka_consume_batch_queue(q, 0, msgs, max);
	if (n != 0 || ms <= 0 || max == 0)
		return n < 0 ? 0 : n;
	rd_kafka_message_t *m = rd_kafka_consume_queue(q, ms);
	if (!m)
		return 0;
	msgs[0] = m;
	n = max > 1 ? rd_kafka_consume_batch_queue(q, 0, msgs + 1, max - 1) : 0;
	return 1 + (n > 0 ? n : 0);
}

/*
 * Where each partition of c (the assignment with the group's committed
 * offsets) starts, as absolute offsets: the commit, or for a partition
 * without one the first record in its log, looked up with one ListOffsets
 * per broker (the request librdkafka itself sends for auto.offset.reset =
 * earliest).  Returns a new list, or NULL on any error, or when a partition
 * has no commit and auto.offset.reset is not earliest.
 *
 * Why this exists: librdkafka left to itself (assign INVALID) looks the
 * commits up again after the assignment, and resets a partition that has
 * none (a new group, a new partition) only after a fixed 100 ms back-off
 * (librdkafka 2.0.2, rd_kafka_offset_reset(): "err ? 100 : 0", err being
 * "no offset").  Assigning the logical BEGINNING is no better: a partition
 * whose leader is not yet delegated (the topic is new to the handle at its
 * first assignment) waits 500 ms for its query.  An absolute offset starts
 * fetching at once (perf/RESULTS.md, "## beacon-etl").
 */
static rd_kafka_topic_partition_list_t *start_positions(rd_kafka_t *rk,
							 const rd_kafka_topic_partition_list_t *c)
{
	char reset[32];
	size_t rsz = sizeof(reset);
	/* librdkafka reports earliest as "smallest" */
	int earliest = rd_kafka_conf_get(rd_kafka_conf(rk), "auto.offset.reset", reset, &rsz) ==
			       RD_KAFKA_CONF_OK &&
		       (!strcmp(reset, "smallest") || !strcmp(reset, "earliest") || !strcmp(reset, "beginning"));
	rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_copy(c);
	rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(c->cnt ? c->cnt : 1);
	for (int i = 0; i < a->cnt; i++) {
		if (a->elems[i].err)
			goto fail;
		if (a->elems[i].offset < 0) /* the time stamp -2: ListOffsets' "earliest" */
			rd_kafka_topic_partition_list_add(q, a->elems[i].topic, a->elems[i].partition)->offset = -2;
	}
	if (q->cnt && (!earliest || rd_kafka_offsets_for_times(rk, q, 5000)))
		goto fail;
	for (int i = 0; i < q->cnt; i++) {
		const rd_kafka_topic_partition_t *e = &q->elems[i];
		rd_kafka_topic_partition_t *t = rd_kafka_topic_partition_list_find(a, e->topic, e->partition);
		if (e->err || e->offset < 0 || !t)
			goto fail;
		t->offset = e->offset;
	}
	rd_kafka_topic_partition_list_destroy(q);
	return a;
fail:
	rd_kafka_topic_partition_list_destroy(q);
	rd_kafka_topic_partition_list_destroy(a);
	return NULL;
}

rd_kafka_topic_partition_list_t *bcn_etl_assign(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts,
						int *committed_ok)
{
	rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(parts);
	*committed_ok = !rd_kafka_committed(rk, c, 5000);
	rd_kafka_topic_partition_list_t *a = *committed_ok ? start_positions(rk, c) : NULL;
	rd_kafka_assign(rk, a ? a : parts);
	if (a)
		rd_kafka_topic_partition_list_destroy(a);
	return c;
}

/*
 * Why this exists: librdkafka before 2.3 stops fetching once its consumer
 * queue holds queued.max.messages.kbytes (or queued.min.messages), and
 * looks at the queue again only when its broker thread next wakes up: up
 * to 1 s later if nothing else wakes it (fetch.queue.backoff.ms, which
 * bounds this, came in 2.3).  Whenever a consumer waited for an insert, or
 * simply read slower than the broker sent, the queue filled, the consumer
 * emptied it in a few ms and then sat idle for most of a second
 * (perf/RESULTS.md, "## beacon-etl": consumed and inserted rows equal and
 * flat for 0.3-0.9 s at a time, the fetch debug log "not fetchable:
 * queued.max.messages.kbytes exceeded" and "fetchable" again on the next
 * whole second).  A seek is an operation on the partition's broker thread,
 * so it wakes that thread at once, which then fetches; seeking each
 * partition to the position the application stands at (the offset after
 * the last record polled) changes nothing else when the caller's queue is
 * empty (its last poll found nothing) and every record it polled was
 * taken.  A record a fetch delivers between that poll and the seek is
 * discarded by the seek's version barrier and fetched again from the same
 * offset; a fetch in flight for a partition that was not stalled is sent
 * again.
 */
int bcn_etl_kick_fetchers(rd_kafka_t *rk, int (*skip)(void *arg, const char *topic, int32_t partition),
			  void *arg)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	if (rd_kafka_assignment(rk, &a) || !a)
		return -1;
	int kicked = -1;
	if (!a->cnt || rd_kafka_position(rk, a) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(a->cnt ? a->cnt : 1);
		for (int i = 0; i < a->cnt; i++) {
			const rd_kafka_topic_partition_t *e = &a->elems[i];
			/* no position yet: nothing read, the fetcher is not stalled by us */
			if (e->err || e->offset < 0 || (skip && skip(arg, e->topic, e->partition)))
				continue;
			rd_kafka_topic_partition_list_add(l, e->topic, e->partition)->offset = e->offset;
		}
		kicked = 0;
		if (l->cnt) {
			/* timeout 0: asynchronous, nothing to wait for */
			rd_kafka_error_t *err = rd_kafka_seek_partitions(rk, l, 0);
			if (err)
				rd_kafka_error_destroy(err), kicked = -1;
			else
				kicked = l->cnt;
		}
		rd_kafka_topic_partition_list_destroy(l);
	}
	rd_kafka_topic_partition_list_destroy(a);
	return kicked;
}

rd_kafka_conf_t *bcn_etl_consumer_conf(const struct bcn_etl_cfg *c, const char *group,
				       const char *client_id, char *err, size_t errlen)
{
	char v[64];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	int bad = bcn_etl_kset(kc, "bootstrap.servers", c->brokers, err, errlen) ||
		  bcn_etl_kset(kc, "group.id", group, err, errlen) ||
		  bcn_etl_kset(kc, "client.id", client_id, err, errlen) ||
		  bcn_etl_kset(kc, "enable.auto.commit", "false", err, errlen) ||
		  bcn_etl_kset(kc, "enable.auto.offset.store", "false", err, errlen) ||
		  bcn_etl_kset(kc, "auto.offset.reset", "earliest", err, errlen) ||
		  bcn_etl_kset(kc, "enable.partition.eof", "false", err, errlen) ||
		  bcn_etl_kset(kc, "partition.assignment.strategy", "roundrobin", err, errlen) ||
		  bcn_etl_kset(kc, "fetch.wait.max.ms", "100", err, errlen) ||
		  bcn_etl_kset(kc, "log_level", "4", err, errlen);
	snprintf(v, sizeof(v), "%lld", (long long)c->queue_kbytes);
	bad = bad || bcn_etl_kset(kc, "queued.max.messages.kbytes", v, err, errlen);
	snprintf(v, sizeof(v), "%lld", (long long)c->fetch_max_kbytes * 1024);
	bad = bad || bcn_etl_kset(kc, "fetch.max.bytes", v, err, errlen);
	snprintf(v, sizeof(v), "%lld", (long long)c->session_timeout_ms);
	bad = bad || bcn_etl_kset(kc, "session.timeout.ms", v, err, errlen);
	snprintf(v, sizeof(v), "%lld",
		 (long long)(c->session_timeout_ms / 3 > 3000 ? 3000 : c->session_timeout_ms / 3));
	bad = bad || bcn_etl_kset(kc, "heartbeat.interval.ms", v, err, errlen);
	snprintf(v, sizeof(v), "%lld", (long long)c->max_poll_interval_ms);
	bad = bad || bcn_etl_kset(kc, "max.poll.interval.ms", v, err, errlen) ||
	      bcn_etl_kset_extra(kc, c->kafka_extra, err, errlen);
	if (bad) {
		rd_kafka_conf_destroy(kc);
		return NULL;
	}
	rd_kafka_conf_set_log_cb(kc, bcn_etl_kafka_log);
	return kc;
}

static int consumer_new(struct bcn_etl_stream *s, char *err, size_t errlen)
{
	const struct bcn_etl_cfg *c = &s->etl->cfg;
	char group[600], cid[64], e[512];
	snprintf(group, sizeof(group), "%s-%s", c->group_prefix, s->name);
	snprintf(cid, sizeof(cid), "beacon-etl-%s", s->name);
	rd_kafka_conf_t *kc = bcn_etl_consumer_conf(c, group, cid, err, errlen);
	if (!kc)
		return -1;
	rd_kafka_conf_set_opaque(kc, s);
	rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
	s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
	if (!s->rk) {
		snprintf(err, errlen, "kafka consumer: %s", e);
		rd_kafka_conf_destroy(kc);
		return -1;
	}
	rd_kafka_poll_set_consumer(s->rk);
	s->q = rd_kafka_queue_get_consumer(s->rk);
	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, s->cfg->topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t re = rd_kafka_subscribe(s->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (re) {
		snprintf(err, errlen, "kafka: subscribe %s: %s", s->cfg->topic, rd_kafka_err2str(re));
		return -1;
	}
	return 0;
}

int bcn_etl_stream_setup(struct bcn_etl *etl, unsigned sid, char *err, size_t errlen)
{
	struct bcn_etl_stream *s = &etl->s[sid];
	const struct bcn_etl_cfg *c = &etl->cfg;
	static const unsigned types[BCN_ETL__NSTREAMS][BCN_ETL_MAX_TABLES] = {
		{ BCN_T_VIEW, BCN_T_PLAYER, 0 },
		{ BCN_T_PAGE, BCN_T_ACTION, 0 },
		{ BCN_T_LIKE, BCN_T_REVIEW, BCN_T_BOOKMARK },
	};
	const char *tname[BCN_T__COUNT] = { NULL, c->t_view, c->t_player, c->t_page, c->t_action,
					    c->t_like, c->t_review, c->t_bookmark };
	s->etl = etl;
	s->sid = sid;
	s->name = bcn_etl_stream_name(sid);
	s->cfg = &c->s[sid];
	s->nins = (int)c->inflight;
	s->nslots = s->nins + 1;
	s->rowbinary = !strcmp(c->format, "rowbinary");
	s->ftc = -1;
	s->ftype = bcn_type_name(types[sid][0]);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->nparts = (int)c->max_partitions;
	s->parts = calloc((size_t)s->nparts, sizeof(*s->parts));
	if (!s->parts) {
		snprintf(err, errlen, "%s: out of memory", s->name);
		return -1;
	}
	for (int p = 0; p < s->nparts; p++) {
		atomic_store(&s->parts[p].committed, -1);
		atomic_store(&s->parts[p].hwm, -1);
		s->parts[p].rewind = -1;
	}
	for (int i = 0; i < BCN_T__COUNT; i++)
		s->tab_of[i] = -1;
	const char *tabs[BCN_ETL_MAX_TABLES];
	for (int i = 0; i < BCN_ETL_MAX_TABLES && types[sid][i]; i++) {
		unsigned ty = types[sid][i];
		s->tab_of[ty] = s->ntab;
		s->t[s->ntab].name = tname[ty];
		tabs[s->ntab] = tname[ty];
		s->ntab++;
	}
	for (int k = 0; k < s->nslots; k++) {
		struct bcn_etl_slot *sl = &s->slot[k];
		sl->r = calloc((size_t)s->nparts, sizeof(*sl->r));
		if (!sl->r) {
			snprintf(err, errlen, "%s: out of memory", s->name);
			return -1;
		}
		for (int i = 0; i < s->ntab; i++)
			if (bcn_etl_tb_init(&sl->tb[i], (size_t)s->cfg->batch_bytes,
					    (uint32_t)s->cfg->batch_rows,
					    s->rowbinary ? (size_t)s->cfg->batch_bytes / 3 : 0)) {
				snprintf(err, errlen, "%s: cannot allocate the %s batch (%lld bytes, %lld "
						      "rows)",
					 s->name, tabs[i], (long long)s->cfg->batch_bytes,
					 (long long)s->cfg->batch_rows);
				return -1;
			}
		reset_slot(s, sl);
	}
	struct bcn_ch_conf cc = {
		.endpoints = etl->ep, .nendpoints = etl->nep, .database = c->database,
		.tables = tabs, .ntables = s->ntab, .user = c->user, .password = c->password,
		.settings = c->settings, .connect_timeout_ms = c->connect_timeout_ms,
		.timeout_ms = c->timeout_ms,
	};
	s->ins = calloc((size_t)s->nins, sizeof(*s->ins));
	if (!s->ins) {
		snprintf(err, errlen, "%s: out of memory", s->name);
		return -1;
	}
	/* the JSON chunk buffer (rowbinary only: rows that did not convert,
	 * normally none) */
	size_t rbcap = s->rowbinary ? (size_t)(s->cfg->batch_bytes < (1 << 20) ? s->cfg->batch_bytes
										  : (1 << 20))
				    : 0,
	       maxr = s->rowbinary ? (size_t)s->cfg->batch_rows : 0;
	for (int k = 0; k < s->nins; k++) {
		struct bcn_etl_ins *in = &s->ins[k];
		in->s = s;
		in->idx = k;
		in->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)bcn_etl_wall_ms() << 8) ^ (sid << 4) ^ (uint64_t)k;
		if (!(in->ch = bcn_ch_new(&cc, err, errlen)))
			return -1;
		if (!s->rowbinary)
			continue;
		in->rbcap = rbcap;
		in->rb = malloc(rbcap);
		in->prow = malloc(maxr * sizeof(uint32_t));
		in->poff = malloc((maxr + 1) * sizeof(uint32_t));
		in->fb = malloc(maxr * sizeof(uint32_t));
		if (!in->rb || !in->prow || !in->poff || !in->fb) {
			snprintf(err, errlen, "%s: out of memory (inserter buffers)", s->name);
			return -1;
		}
		/* touch every page now, as the batch buffers */
		memset(in->rb, 0x5a, rbcap);
		memset(in->prow, 0xff, maxr * sizeof(uint32_t));
		memset(in->poff, 0xff, (maxr + 1) * sizeof(uint32_t));
		memset(in->fb, 0xff, maxr * sizeof(uint32_t));
		if (!c->sort)
			continue;
		/* clickhouse.sort: a batch's RowBinary rows, sorted (bcn_etl_sort.h) */
		in->srtcap = (size_t)s->cfg->batch_bytes / 3;
		in->srt = malloc(in->srtcap);
		in->prow2 = malloc(maxr * sizeof(uint32_t));
		in->poff2 = malloc((maxr + 1) * sizeof(uint32_t));
		if (!in->srt || !in->prow2 || !in->poff2 || bcn_sort_buf_init(&in->sb, (uint32_t)maxr)) {
			snprintf(err, errlen, "%s: out of memory (sort buffers)", s->name);
			return -1;
		}
		memset(in->srt, 0x5a, in->srtcap);
		memset(in->prow2, 0xff, maxr * sizeof(uint32_t));
		memset(in->poff2, 0xff, (maxr + 1) * sizeof(uint32_t));
	}
	/* the tables' plans now, if ClickHouse answers (else the first
	 * batches go as JSONEachRow until an inserter reads them) */
	s->uuid_ok = -1;
	if (s->rowbinary) {
		int changed;
		for (int i = 0; i < s->ntab; i++)
			if (describe(s, &s->ins[0], i, &changed))
				break;
		adopt_plans(s, &s->slot[s->fill]);
	}
	if (bcn_etl_dlq_new(s, err, errlen))
		return -1;
	if (consumer_new(s, err, errlen))
		return -1;
	for (int k = 0; k < s->nins; k++) {
		if (pthread_create(&s->ins[k].th, NULL, inserter_main, &s->ins[k])) {
			snprintf(err, errlen, "%s: cannot start an inserter thread", s->name);
			return -1;
		}
		s->ins[k].started = 1;
	}
	return 0;
}

void bcn_etl_stream_fini(struct bcn_etl_stream *s)
{
	if (s->ins) {
		pthread_mutex_lock(&s->mu);
		s->quit = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		for (int k = 0; k < s->nins; k++)
			if (s->ins[k].started) {
				pthread_join(s->ins[k].th, NULL);
				s->ins[k].started = 0;
			}
	}
	if (s->q)
		rd_kafka_queue_destroy(s->q);
	s->q = NULL;
	if (s->rk)
		rd_kafka_destroy(s->rk);
	s->rk = NULL;
	if (s->dlq)
		rd_kafka_destroy(s->dlq);
	s->dlq = NULL;
	if (s->ins) {
		for (int k = 0; k < s->nins; k++) {
			struct bcn_etl_ins *in = &s->ins[k];
			bcn_ch_free(in->ch);
			free(in->rb);
			free(in->prow);
			free(in->poff);
			free(in->fb);
			free(in->srt);
			free(in->prow2);
			free(in->poff2);
			bcn_sort_buf_free(&in->sb);
		}
		free(s->ins);
		s->ins = NULL;
	}
	for (int k = 0; k < BCN_ETL_MAX_SLOTS; k++) {
		for (int i = 0; i < s->ntab; i++)
			bcn_etl_tb_free(&s->slot[k].tb[i]);
		free(s->slot[k].r);
		s->slot[k].r = NULL;
	}
	free(s->parts);
	s->parts = NULL;
}
