/* perf/research/rbench.c - the storage research's measuring client
 * (docs/storage-research.md): the same timing code for PostgreSQL (libpq)
 * and ClickHouse (its HTTP interface, libcurl with keep-alive), so that
 * both stores are measured the same way, from the client, including the
 * loopback round trip and reading the whole result.
 *
 *   rbench pg|ch query  --conn C --sql FILE [--params FILE] [--runs N]
 *                       [--seconds S] [--min-runs N] [--offset K]
 *                       [--dump FILE] [--dump-n N] [--settings S] [--label L]
 *       one connection, the query run sequentially; each run takes the next
 *       line of the params file (from --offset); $1, $2 are that line's
 *       tab-separated fields (PostgreSQL: bind parameters of a prepared
 *       statement; ClickHouse 18.16 has no server-side parameters: the
 *       values, checked to be UUIDs or numbers, are substituted as quoted
 *       literals).  Stops after --runs runs or --seconds seconds, whichever
 *       comes first, but not before --min-runs.  --dump writes the results of
 *       the first --dump-n runs (for cross-checking the stores).
 *   rbench pg|ch rate   --conn C --mix FILE --rate R --threads T --seconds S
 *       open-loop load: T connections, requests scheduled at R/s in total
 *       (request k of thread i at t0 + (k*T + i)/R); latency is counted from
 *       the scheduled time, so a server that falls behind shows its queueing
 *       (no coordinated omission).  Mix file lines: WEIGHT NAME PARAMS SQLFILE.
 *   rbench pg|ch stream --conn C --file TSV --table T --cols LIST --batch N
 *                       --interval-ms M --seconds S
 *       steady-rate inserts: batch k of N rows scheduled at t0 + k*M ms
 *       (PostgreSQL: COPY FROM STDIN, one transaction per batch; ClickHouse:
 *       INSERT ... FORMAT TabSeparated over HTTP, one part per batch).
 *       Reports the insert latency (sent -> acknowledged, i.e. committed and
 *       visible to any reader) and the lag (scheduled -> acknowledged).
 *   rbench evict DIR...      fdatasync + posix_fadvise(DONTNEED) every file:
 *                            drops only these files from the page cache
 *   rbench resident DIR...   bytes of the files, and how many are in the page cache
 *
 * Output: one JSON object on stdout.  Connection for pg is a libpq conninfo
 * string, for ch the base URL (http://127.0.0.1:PORT).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include <stdarg.h>
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("rbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}
static void sleep_until(double t)
{
	double d = t - now_s();
	if (d <= 0) return;
	struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR) ;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) die("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (n && fread(b, 1, (size_t)n, f) != (size_t)n) die("%s: short read", path);
	b[n] = 0;
	fclose(f);
	if (len) *len = (size_t)n;
	return b;
}

/* ------------------------------------------------------------ params */
typedef struct { char f[2][64]; int nf; } param_t;
typedef struct { param_t *p; size_t n; } params_t;
static int safe_value(const char *s)
{
	for (; *s; s++) if (!(isxdigit((unsigned char)*s) || *s == '-')) return 0;
	return 1;
}
static void params_load(params_t *ps, const char *path)
{
	ps->p = NULL; ps->n = 0;
	if (!path) return;
	char *b = slurp(path, NULL), *save = NULL;
	size_t cap = 0;
	for (char *ln = strtok_r(b, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		if (ps->n == cap) { cap = cap ? cap * 2 : 1024; ps->p = realloc(ps->p, cap * sizeof *ps->p); }
		param_t *p = &ps->p[ps->n];
		p->nf = 0;
		char *s2 = NULL;
		for (char *f = strtok_r(ln, "\t", &s2); f && p->nf < 2; f = strtok_r(NULL, "\t", &s2)) {
			if (strlen(f) >= sizeof p->f[0] || !safe_value(f)) die("%s: bad parameter '%s'", path, f);
			strcpy(p->f[p->nf++], f);
		}
		ps->n++;
	}
	free(b);
	if (!ps->n) die("%s: no parameters", path);
}

/* ClickHouse: $1/$2 -> 'value' */
static char *ch_subst(const char *sql, const param_t *p)
{
	size_t cap = strlen(sql) + 256, n = 0;
	char *o = malloc(cap);
	for (const char *s = sql; *s; s++) {
		if (*s == '$' && (s[1] == '1' || s[1] == '2') && p) {
			int i = s[1] - '1';
			if (i >= p->nf) die("query uses $%d, params have %d fields", i + 1, p->nf);
			n += (size_t)sprintf(o + n, "'%s'", p->f[i]);
			s++;
		} else o[n++] = *s;
		if (n + 80 > cap) { cap *= 2; o = realloc(o, cap); }
	}
	o[n] = 0;
	return o;
}

/* ------------------------------------------------------------ results */
typedef struct { char *b; size_t n, cap; } buf_t;
static void buf_add(buf_t *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) { b->cap = (b->n + n + 1) * 2; b->b = realloc(b->b, b->cap); }
	memcpy(b->b + b->n, s, n);
	b->n += n;
	b->b[b->n] = 0;
}

/* ------------------------------------------------------------ connections */
typedef struct {
	int ch;
	PGconn *pg;
	CURL *curl;
	char url[512];
	buf_t out;
	long rows;
	char err[512];
} conn_t;

static size_t curl_sink(char *p, size_t sz, size_t n, void *u)
{
	conn_t *c = u;
	buf_add(&c->out, p, sz * n);
	return sz * n;
}

static void conn_open(conn_t *c, int ch, const char *conn, const char *settings)
{
	memset(c, 0, sizeof *c);
	c->ch = ch;
	if (ch) {
		c->curl = curl_easy_init();
		snprintf(c->url, sizeof c->url, "%s/?%s", conn, settings ? settings : "");
		curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
		curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, curl_sink);
		curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
		curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 600L);
		curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	} else {
		c->pg = PQconnectdb(conn);
		if (PQstatus(c->pg) != CONNECTION_OK) die("pg connect: %s", PQerrorMessage(c->pg));
	}
}
static void conn_close(conn_t *c)
{
	if (c->curl) curl_easy_cleanup(c->curl);
	if (c->pg) PQfinish(c->pg);
	free(c->out.b);
}

/* ch_post: POST body to the connection's URL; 0 on HTTP 200 */
static int ch_post(conn_t *c, const char *body, size_t len)
{
	c->out.n = 0;
	if (c->out.b) c->out.b[0] = 0;
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode rc = curl_easy_perform(c->curl);
	long code = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		snprintf(c->err, sizeof c->err, "%s / HTTP %ld: %.300s", curl_easy_strerror(rc), code, c->out.b ? c->out.b : "");
		return -1;
	}
	c->rows = 0;
	for (size_t i = 0; i < c->out.n; i++) c->rows += c->out.b[i] == '\n';
	return 0;
}

/* a prepared query on one connection */
typedef struct { char *sql; char name[32]; int nparams; } q_t;
static int count_params(const char *sql)
{
	int n = 0;
	for (const char *s = sql; *s; s++) if (*s == '$' && s[1] >= '1' && s[1] <= '9' && s[1] - '0' > n) n = s[1] - '0';
	return n;
}
static void q_prepare(conn_t *c, q_t *q)
{
	if (c->ch) return;
	PGresult *r = PQprepare(c->pg, q->name, q->sql, 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) die("prepare %s: %s", q->name, PQerrorMessage(c->pg));
	PQclear(r);
}
/* q_run: execute; the result (TSV) in c->out when keep; 0 on success */
static int q_run(conn_t *c, q_t *q, const param_t *p, int keep)
{
	if (c->ch) {
		char *sql = ch_subst(q->sql, p);
		size_t n = strlen(sql);
		char *body = malloc(n + 32);
		n = (size_t)sprintf(body, "%s FORMAT TabSeparated", sql);
		int rc = ch_post(c, body, n);
		free(body);
		free(sql);
		return rc;
	}
	const char *vals[2] = { p && p->nf > 0 ? p->f[0] : NULL, p && p->nf > 1 ? p->f[1] : NULL };
	if (q->nparams > (p ? p->nf : 0)) die("query %s needs %d params", q->name, q->nparams);
	PGresult *r = PQexecPrepared(c->pg, q->name, q->nparams, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(c->err, sizeof c->err, "%.400s", PQerrorMessage(c->pg));
		PQclear(r);
		return -1;
	}
	c->rows = PQntuples(r);
	if (keep) {
		c->out.n = 0;
		if (c->out.b) c->out.b[0] = 0;
		int nf = PQnfields(r);
		for (int i = 0; i < c->rows; i++) {
			for (int j = 0; j < nf; j++) {
				if (j) buf_add(&c->out, "\t", 1);
				const char *v = PQgetisnull(r, i, j) ? "\\N" : PQgetvalue(r, i, j);
				buf_add(&c->out, v, strlen(v));
			}
			buf_add(&c->out, "\n", 1);
		}
	}
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------ stats */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static double pct(const double *v, size_t n, double p)
{
	if (!n) return NAN;
	size_t k = (size_t)ceil(p * (double)n);
	if (k < 1) k = 1;
	if (k > n) k = n;
	return v[k - 1];
}
/* "name": {n, min, p50, p95, p99, p999, max, mean} in ms */
static void json_lat(FILE *f, const char *name, double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_d);
	double s = 0;
	for (size_t i = 0; i < n; i++) s += v[i];
	fprintf(f, "\"%s\": {\"n\": %zu", name, n);
	if (n) fprintf(f, ", \"min\": %.3f, \"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, \"mean\": %.3f",
		v[0] * 1e3, pct(v, n, .5) * 1e3, pct(v, n, .95) * 1e3, pct(v, n, .99) * 1e3, pct(v, n, .999) * 1e3,
		v[n - 1] * 1e3, s / (double)n * 1e3);
	fputc('}', f);
}
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\') { fputc('\\', f); fputc(*s, f); }
		else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
		else fputc(*s, f);
	}
	fputc('"', f);
}

/* ------------------------------------------------------------ options */
typedef struct {
	const char *conn, *sql, *params, *dump, *settings, *label, *mix, *file, *table, *cols;
	long runs, min_runs, offset, dump_n, threads, batch, interval_ms;
	double seconds, rate;
} opt_t;
static void parse(opt_t *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->runs = 1000000; o->min_runs = 1; o->dump_n = 0; o->threads = 8; o->batch = 1000; o->interval_ms = 100;
	o->seconds = 1e9; o->label = "";
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define S(n, f) if (!strcmp(a, n) && v) { o->f = v; i++; continue; }
#define L(n, f) if (!strcmp(a, n) && v) { o->f = atol(v); i++; continue; }
#define D(n, f) if (!strcmp(a, n) && v) { o->f = atof(v); i++; continue; }
		S("--conn", conn) S("--sql", sql) S("--params", params) S("--dump", dump) S("--settings", settings)
		S("--label", label) S("--mix", mix) S("--file", file) S("--table", table) S("--cols", cols)
		L("--runs", runs) L("--min-runs", min_runs) L("--offset", offset) L("--dump-n", dump_n)
		L("--threads", threads) L("--batch", batch) L("--interval-ms", interval_ms)
		D("--seconds", seconds) D("--rate", rate)
		die("unknown or incomplete option %s", a);
	}
	if (!o->conn) die("--conn is required");
}

/* ------------------------------------------------------------ query */
static int cmd_query(int ch, opt_t *o)
{
	if (!o->sql) die("--sql is required");
	params_t ps;
	params_load(&ps, o->params);
	q_t q = { .sql = slurp(o->sql, NULL) };
	char *e = q.sql + strlen(q.sql);
	while (e > q.sql && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == ';')) *--e = 0;
	strcpy(q.name, "q");
	q.nparams = count_params(q.sql);
	conn_t c;
	conn_open(&c, ch, o->conn, o->settings);
	q_prepare(&c, &q);
	FILE *dump = o->dump ? fopen(o->dump, "w") : NULL;
	if (o->dump && !dump) die("%s: %s", o->dump, strerror(errno));
	size_t cap = 1024, n = 0;
	double *lat = malloc(cap * sizeof *lat), t_start = now_s();
	long rows_total = 0, errors = 0;
	char first_err[512] = "";
	for (long i = 0; i < o->runs; i++) {
		if (i >= o->min_runs && now_s() - t_start >= o->seconds) break;
		const param_t *p = ps.n ? &ps.p[(size_t)(o->offset + i) % ps.n] : NULL;
		int keep = dump && i < o->dump_n;
		double t0 = now_s();
		int rc = q_run(&c, &q, p, keep || ch);
		double t1 = now_s();
		if (rc) {
			if (!errors++) snprintf(first_err, sizeof first_err, "%s", c.err);
			if (errors >= 3) break;
			continue;
		}
		if (n == cap) { cap *= 2; lat = realloc(lat, cap * sizeof *lat); }
		lat[n++] = t1 - t0;
		rows_total += c.rows;
		if (keep) {
			fprintf(dump, "## %ld", i);
			if (p) for (int k = 0; k < p->nf; k++) fprintf(dump, " %s", p->f[k]);
			fprintf(dump, "\n%s", c.out.b ? c.out.b : "");
		}
	}
	if (dump) fclose(dump);
	printf("{\"label\": ");
	json_str(stdout, o->label);
	printf(", \"store\": \"%s\", \"errors\": %ld, \"error\": ", ch ? "clickhouse" : "postgresql", errors);
	json_str(stdout, first_err);
	printf(", \"rows_avg\": %.1f, \"wall_s\": %.3f, ", n ? (double)rows_total / (double)n : 0.0, now_s() - t_start);
	json_lat(stdout, "lat_ms", lat, n);
	printf("}\n");
	conn_close(&c);
	return errors && !n ? 1 : 0;
}

/* ------------------------------------------------------------ rate */
typedef struct { double w; char name[32]; params_t ps; q_t q; } mixq_t;
static mixq_t mixq[16];
static int nmix;
static double mix_total;
typedef struct {
	int id, ch;
	opt_t *o;
	double t0;
	double *lat[16], *svc;
	size_t n[16], cap[16], nsvc, capsvc;
	long errors, sent, unsent;
	char err[512];
	double last_done;
} thr_t;
#define RATE_GRACE_S 2.0	/* a run ends at most this long after its last scheduled request */
static void *rate_thread(void *u)
{
	thr_t *t = u;
	opt_t *o = t->o;
	conn_t c;
	conn_open(&c, t->ch, o->conn, o->settings);
	q_t qs[16];
	for (int i = 0; i < nmix; i++) { qs[i] = mixq[i].q; q_prepare(&c, &qs[i]); }
	uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(t->id + 1);
	for (long k = 0;; k++) {
		double sched = t->t0 + (double)(k * o->threads + t->id) / o->rate;
		if (sched >= t->t0 + o->seconds) break;
		if (now_s() > t->t0 + o->seconds + RATE_GRACE_S) {
			/* overloaded: the requests still scheduled are not sent (bounded run) */
			for (long k2 = k;; k2++) {
				if (t->t0 + (double)(k2 * o->threads + t->id) / o->rate >= t->t0 + o->seconds) break;
				t->unsent++;
			}
			break;
		}
		sleep_until(sched);
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		double x = (double)(s >> 11) / 9007199254740992.0 * mix_total;
		int qi = 0;
		while (qi < nmix - 1 && x >= mixq[qi].w) { x -= mixq[qi].w; qi++; }
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		const param_t *p = mixq[qi].ps.n ? &mixq[qi].ps.p[s % mixq[qi].ps.n] : NULL;
		double ts = now_s();
		int rc = q_run(&c, &qs[qi], p, t->ch);
		double done = now_s();
		t->sent++;
		if (rc) {
			if (!t->errors++) snprintf(t->err, sizeof t->err, "%s", c.err);
			continue;
		}
		if (t->n[qi] == t->cap[qi]) { t->cap[qi] = t->cap[qi] ? t->cap[qi] * 2 : 1024; t->lat[qi] = realloc(t->lat[qi], t->cap[qi] * sizeof(double)); }
		t->lat[qi][t->n[qi]++] = done - sched;
		if (t->nsvc == t->capsvc) { t->capsvc = t->capsvc ? t->capsvc * 2 : 1024; t->svc = realloc(t->svc, t->capsvc * sizeof(double)); }
		t->svc[t->nsvc++] = done - ts;
		t->last_done = done;
	}
	conn_close(&c);
	return NULL;
}
static int cmd_rate(int ch, opt_t *o)
{
	if (!o->mix || o->rate <= 0 || o->seconds >= 1e8) die("--mix, --rate and --seconds are required");
	char *b = slurp(o->mix, NULL), *save = NULL;
	for (char *ln = strtok_r(b, "\n", &save); ln && nmix < 16; ln = strtok_r(NULL, "\n", &save)) {
		if (*ln == '#' || !*ln) continue;
		char w[32], name[32], pf[1024], sf[1024];
		if (sscanf(ln, "%31s %31s %1023s %1023s", w, name, pf, sf) != 4) die("mix line: %s", ln);
		mixq_t *m = &mixq[nmix];
		m->w = atof(w);
		snprintf(m->name, sizeof m->name, "%s", name);
		params_load(&m->ps, strcmp(pf, "-") ? pf : NULL);
		m->q.sql = slurp(sf, NULL);
		char *e = m->q.sql + strlen(m->q.sql);
		while (e > m->q.sql && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == ';')) *--e = 0;
		snprintf(m->q.name, sizeof m->q.name, "m%d", nmix);
		m->q.nparams = count_params(m->q.sql);
		mix_total += m->w;
		nmix++;
	}
	thr_t *th = calloc((size_t)o->threads, sizeof *th);
	pthread_t *tid = calloc((size_t)o->threads, sizeof *tid);
	double t0 = now_s() + 0.5;	/* connections are opened before t0 */
	for (long i = 0; i < o->threads; i++) {
		th[i].id = (int)i; th[i].ch = ch; th[i].o = o; th[i].t0 = t0;
		pthread_create(&tid[i], NULL, rate_thread, &th[i]);
	}
	long errors = 0, sent = 0, unsent = 0;
	double last = t0;
	char err[512] = "";
	for (long i = 0; i < o->threads; i++) {
		pthread_join(tid[i], NULL);
		errors += th[i].errors;
		sent += th[i].sent;
		unsent += th[i].unsent;
		if (th[i].last_done > last) last = th[i].last_done;
		if (!*err && th[i].errors) snprintf(err, sizeof err, "%s", th[i].err);
	}
	size_t all_n = 0, nsvc = 0;
	for (long i = 0; i < o->threads; i++) { for (int q = 0; q < nmix; q++) all_n += th[i].n[q]; nsvc += th[i].nsvc; }
	double *all = malloc((all_n + 1) * sizeof *all), *svc = malloc((nsvc + 1) * sizeof *svc);
	size_t k = 0, ks = 0;
	for (long i = 0; i < o->threads; i++) {
		for (int q = 0; q < nmix; q++) for (size_t j = 0; j < th[i].n[q]; j++) all[k++] = th[i].lat[q][j];
		for (size_t j = 0; j < th[i].nsvc; j++) svc[ks++] = th[i].svc[j];
	}
	printf("{\"label\": ");
	json_str(stdout, o->label);
	printf(", \"store\": \"%s\", \"rate_target\": %.0f, \"threads\": %ld, \"seconds\": %.1f, \"sent\": %ld, \"unsent\": %ld, \"ok\": %zu, "
	       "\"errors\": %ld, \"error\": ", ch ? "clickhouse" : "postgresql", o->rate, o->threads, o->seconds, sent, unsent, all_n, errors);
	json_str(stdout, err);
	printf(", \"achieved_per_s\": %.1f, \"wall_s\": %.3f, ", all_n / (last - t0), last - t0);
	json_lat(stdout, "lat_ms", all, all_n);
	printf(", ");
	json_lat(stdout, "service_ms", svc, nsvc);
	printf(", \"per_query\": {");
	for (int q = 0; q < nmix; q++) {
		size_t m = 0;
		for (long i = 0; i < o->threads; i++) m += th[i].n[q];
		double *v = malloc((m + 1) * sizeof *v);
		size_t z = 0;
		for (long i = 0; i < o->threads; i++) for (size_t j = 0; j < th[i].n[q]; j++) v[z++] = th[i].lat[q][j];
		if (q) printf(", ");
		json_lat(stdout, mixq[q].name, v, m);
		free(v);
	}
	printf("}}\n");
	return 0;
}

/* ------------------------------------------------------------ stream */
static int cmd_stream(int ch, opt_t *o)
{
	if (!o->file || !o->table || !o->cols || o->seconds >= 1e8) die("--file, --table, --cols and --seconds are required");
	size_t len;
	char *data = slurp(o->file, &len);
	/* line starts */
	size_t nl = 0, cap = 1 << 16;
	size_t *ls = malloc(cap * sizeof *ls);
	ls[nl++] = 0;
	for (size_t i = 0; i < len; i++) if (data[i] == '\n' && i + 1 < len) {
		if (nl == cap) { cap *= 2; ls = realloc(ls, cap * sizeof *ls); }
		ls[nl++] = i + 1;
	}
	conn_t c;
	char settings[256];
	snprintf(settings, sizeof settings, "%s", o->settings ? o->settings : "");
	conn_open(&c, ch, o->conn, settings);
	char copy_sql[2048], ins_sql[2048];
	snprintf(copy_sql, sizeof copy_sql, "COPY %s (%s) FROM STDIN", o->table, o->cols);
	if (ch) {
		snprintf(ins_sql, sizeof ins_sql, "INSERT INTO %s (%s) FORMAT TabSeparated", o->table, o->cols);
		char *q = curl_easy_escape(c.curl, ins_sql, 0);
		snprintf(c.url, sizeof c.url, "%s/?%s%squery=%s", o->conn, settings, *settings ? "&" : "", q);
		curl_free(q);
		curl_easy_setopt(c.curl, CURLOPT_URL, c.url);
	}
	long nb_max = (long)(o->seconds * 1000 / o->interval_ms);
	double *ins = malloc((size_t)(nb_max + 1) * sizeof *ins), *lag = malloc((size_t)(nb_max + 1) * sizeof *lag);
	long nb = 0, rows = 0, errors = 0, late = 0;
	char err[512] = "";
	size_t line = 0;
	double t0 = now_s() + 0.2, last = t0;
	for (long k = 0; k < nb_max; k++) {
		if (line >= nl) break;
		size_t from = ls[line], cnt = (size_t)o->batch;
		if (line + cnt > nl) cnt = nl - line;
		size_t to = line + cnt < nl ? ls[line + cnt] : len;
		double sched = t0 + k * o->interval_ms / 1000.0;
		sleep_until(sched);
		double ts = now_s();
		if (ts > sched + o->interval_ms / 1000.0) late++;
		int rc = 0;
		if (ch) rc = ch_post(&c, data + from, to - from);
		else {
			PGresult *r = PQexec(c.pg, copy_sql);
			if (PQresultStatus(r) != PGRES_COPY_IN) { snprintf(c.err, sizeof c.err, "%s", PQerrorMessage(c.pg)); rc = -1; }
			PQclear(r);
			if (!rc && (PQputCopyData(c.pg, data + from, (int)(to - from)) != 1 || PQputCopyEnd(c.pg, NULL) != 1)) {
				snprintf(c.err, sizeof c.err, "%s", PQerrorMessage(c.pg)); rc = -1;
			}
			while ((r = PQgetResult(c.pg))) {
				if (PQresultStatus(r) != PGRES_COMMAND_OK) { snprintf(c.err, sizeof c.err, "%s", PQerrorMessage(c.pg)); rc = -1; }
				PQclear(r);
			}
		}
		double done = now_s();
		if (rc) { if (!errors++) snprintf(err, sizeof err, "%s", c.err); if (errors > 5) break; continue; }
		ins[nb] = done - ts;
		lag[nb] = done - sched;
		nb++;
		rows += (long)cnt;
		line += cnt;
		last = done;
	}
	printf("{\"label\": ");
	json_str(stdout, o->label);
	printf(", \"store\": \"%s\", \"batch_rows\": %ld, \"interval_ms\": %ld, \"target_rows_per_s\": %.0f, \"batches\": %ld, "
	       "\"rows\": %ld, \"late_batches\": %ld, \"errors\": %ld, \"error\": ", ch ? "clickhouse" : "postgresql", o->batch,
	       o->interval_ms, o->batch * 1000.0 / o->interval_ms, nb, rows, late, errors);
	json_str(stdout, err);
	printf(", \"achieved_rows_per_s\": %.1f, \"wall_s\": %.3f, ", rows / (last - t0), last - t0);
	json_lat(stdout, "insert_ms", ins, (size_t)nb);
	printf(", ");
	json_lat(stdout, "lag_ms", lag, (size_t)nb);
	printf("}\n");
	conn_close(&c);
	return errors ? 1 : 0;
}

/* ------------------------------------------------------------ page cache */
static int evict_mode;
static unsigned long long f_files, f_bytes, f_resident;
static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
	int fd = open(path, O_RDONLY | O_NOATIME);
	if (fd < 0) fd = open(path, O_RDONLY);
	if (fd < 0) return 0;
	f_files++;
	f_bytes += (unsigned long long)st->st_size;
	if (evict_mode) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	if (st->st_size > 0) {
		void *m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			long pg = sysconf(_SC_PAGESIZE);
			size_t np = ((size_t)st->st_size + (size_t)pg - 1) / (size_t)pg;
			unsigned char *v = malloc(np);
			if (v && !mincore(m, (size_t)st->st_size, v))
				for (size_t i = 0; i < np; i++) f_resident += (v[i] & 1) ? (unsigned long long)pg : 0;
			free(v);
			munmap(m, (size_t)st->st_size);
		}
	}
	close(fd);
	return 0;
}
static int cmd_cache(int evict, int argc, char **argv)
{
	evict_mode = evict;
	for (int i = 0; i < argc; i++)
		if (nftw(argv[i], visit, 64, FTW_PHYS)) die("%s: %s", argv[i], strerror(errno));
	printf("{\"mode\": \"%s\", \"files\": %llu, \"bytes\": %llu, \"resident_bytes\": %llu}\n",
	       evict ? "evict" : "resident", f_files, f_bytes, f_resident);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "evict")) return cmd_cache(1, argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "resident")) return cmd_cache(0, argc - 2, argv + 2);
	if (argc < 3 || (strcmp(argv[1], "pg") && strcmp(argv[1], "ch"))) {
		fprintf(stderr, "usage: rbench pg|ch query|rate|stream OPTIONS | rbench evict|resident DIR...\n");
		return 2;
	}
	int ch = !strcmp(argv[1], "ch");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	opt_t o;
	parse(&o, argc - 3, argv + 3);
	if (!strcmp(argv[2], "query")) return cmd_query(ch, &o);
	if (!strcmp(argv[2], "rate")) return cmd_rate(ch, &o);
	if (!strcmp(argv[2], "stream")) return cmd_stream(ch, &o);
	die("unknown command %s", argv[2]);
}
