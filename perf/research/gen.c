/* perf/research/gen.c - deterministic data generator for the storage
 * research (docs/storage-research.md): an online cinema's view heartbeats,
 * likes, reviews and bookmarks, written once as TSV files that both stores
 * bulk-load unchanged (PostgreSQL COPY ... FROM STDIN, ClickHouse INSERT ...
 * FORMAT TabSeparated), plus parameter files for the queries.
 *
 *   gen --out DIR [--scale F] [--seed N] [--stream-a N] [--stream-b N]
 *
 * At --scale 1 (the brief's size): 500,000 registered users, 250,000
 * anonymous devices, 10,000 films, 10,000,000 view heartbeats, 2,000,000
 * like events, 1,000,000 bookmark events, 250,000 review events.
 * Everything scales linearly (films: at least 100, users: at least 1,000).
 *
 * Columns are exactly the records' keys in the project's ClickHouse schema
 * (etl/schema/V001__raw_tables.sql), in table order, without the
 * MATERIALIZED columns:
 *   common: event_id type ts recv_ts node source user_id anon_id session_id film_id
 *   views: + position_ms duration_ms     likes: + score
 *   reviews: + op review_id rating text  bookmarks: + op
 * Absent ids are the nil UUID (as beacond writes them).  Times are client
 * milliseconds: the bulk data spans 2026-08-01 .. 2026-10-31 UTC, the two
 * stream files (the steady-rate insert phase) start on 2026-11-01.
 *
 * The audience: film popularity is Zipf(1.0); user activity is skewed
 * (index = N * u^1.5); a viewing session is a user (75 %) or an anonymous
 * device (25 %) watching one film, with a heartbeat every 30 s of playback
 * (+0..2 s of clock jitter): half the sessions are sampling (1-10
 * heartbeats), 35 % medium (geometric, mean 40), 15 % watch to the end; 40 %
 * resume from an earlier position; 3 % of heartbeats follow a forward seek.
 * Likes: +1 70 %, -1 20 %, 0 (remove) 10 %, 15 % of them rewrite a recent
 * (user, film) pair.  Bookmarks: add, or remove (mostly of a recent add).
 * Reviews: posts (80-900 bytes of text, Latin and Cyrillic words), edits
 * (same review_id) and deletes.
 *
 * Output files in DIR: views.tsv likes.tsv reviews.tsv bookmarks.tsv
 * stream_a.tsv stream_b.tsv (views), p_*.txt (query parameters, one per
 * line, tab-separated when two), meta.json.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>

static uint64_t rs;	/* splitmix64 state */
static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static double urand(void) { return (rnd() >> 11) * (1.0 / 9007199254740992.0); }
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

typedef struct { uint64_t hi, lo; } uuid_t_;
static const uuid_t_ NIL = { 0, 0 };
static uuid_t_ uuid_v4(uint64_t a, uint64_t b)
{
	uuid_t_ u = { (a & ~0xf000ULL) | 0x4000ULL, (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL };
	return u;
}
static uuid_t_ uuid_of(uint64_t salt, uint64_t i) { return uuid_v4(mix(salt ^ mix(i)), mix(~salt ^ mix(i + 0x1234567))); }
static uuid_t_ uuid_rand(void) { return uuid_v4(rnd(), rnd()); }
static uuid_t_ uuid_v7(int64_t ms)
{
	uuid_t_ u;
	u.hi = ((uint64_t)ms << 16) | 0x7000ULL | (rnd() & 0xfffULL);
	u.lo = (rnd() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
	return u;
}

/* buffered writer */
typedef struct { FILE *f; char *buf; size_t n, cap; const char *name; uint64_t rows; } out_t;
static void out_open(out_t *o, const char *dir, const char *name)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	o->f = fopen(p, "w");
	if (!o->f) { fprintf(stderr, "gen: %s: %s\n", p, strerror(errno)); exit(1); }
	o->cap = 1 << 20;
	o->buf = malloc(o->cap + 8192);
	o->n = 0; o->name = name; o->rows = 0;
}
static void out_flush(out_t *o)
{
	if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n) { fprintf(stderr, "gen: write %s failed\n", o->name); exit(1); }
	o->n = 0;
}
static void out_close(out_t *o) { out_flush(o); if (fclose(o->f)) { fprintf(stderr, "gen: close %s failed\n", o->name); exit(1); } free(o->buf); }
static inline void ensure(out_t *o, size_t k) { if (o->n + k > o->cap) out_flush(o); }
static inline void put_s(out_t *o, const char *s) { size_t k = strlen(s); ensure(o, k); memcpy(o->buf + o->n, s, k); o->n += k; }
static inline void put_c(out_t *o, char c) { ensure(o, 1); o->buf[o->n++] = c; }
static inline void put_i(out_t *o, int64_t v)
{
	char t[24]; int k = 0; uint64_t x;
	ensure(o, 24);
	if (v < 0) { o->buf[o->n++] = '-'; x = (uint64_t)(-v); } else x = (uint64_t)v;
	do { t[k++] = (char)('0' + x % 10); x /= 10; } while (x);
	while (k) o->buf[o->n++] = t[--k];
}
static const char HEX[] = "0123456789abcdef";
static void fmt_uuid(char *d, uuid_t_ u)
{
	int k = 0;
	for (int i = 0; i < 16; i++) {
		uint8_t b = (uint8_t)((i < 8 ? u.hi >> (56 - 8 * i) : u.lo >> (56 - 8 * (i - 8))) & 0xff);
		if (i == 4 || i == 6 || i == 8 || i == 10) d[k++] = '-';
		d[k++] = HEX[b >> 4]; d[k++] = HEX[b & 15];
	}
	d[k] = 0;
}
static inline void put_u(out_t *o, uuid_t_ u) { ensure(o, 37); fmt_uuid(o->buf + o->n, u); o->n += 36; }

/* reservoir of parameter lines */
#define RES 2000
typedef struct { char line[RES][80]; uint64_t seen; } res_t;
static void res_add(res_t *r, const char *line)
{
	uint64_t j = r->seen < RES ? r->seen : below(r->seen + 1);
	if (j < RES) snprintf(r->line[j], sizeof r->line[j], "%s", line);
	r->seen++;
}
static void res_write(res_t *r, const char *dir, const char *name)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) { fprintf(stderr, "gen: %s: %s\n", p, strerror(errno)); exit(1); }
	uint64_t n = r->seen < RES ? r->seen : RES;
	for (uint64_t i = 0; i < n; i++) fprintf(f, "%s\n", r->line[i]);
	fclose(f);
}

/* population */
static uint64_t n_users, n_anon, n_films;
static double *film_cdf;
static int64_t *film_dur;
static uint64_t film_zipf(void)
{
	double u = urand() * film_cdf[n_films - 1];
	uint64_t lo = 0, hi = n_films - 1;
	while (lo < hi) { uint64_t m = (lo + hi) / 2; if (film_cdf[m] < u) lo = m + 1; else hi = m; }
	return lo;
}
static uint64_t user_skew(uint64_t n) { uint64_t i = (uint64_t)(n * pow(urand(), 1.5)); return i < n ? i : n - 1; }
#define SALT_USER 0x5553455255534552ULL
#define SALT_ANON 0x414e4f4e414e4f4eULL
#define SALT_FILM 0x46494c4d46494c4dULL
static uuid_t_ user_uuid(uint64_t i) { return uuid_of(SALT_USER, i); }
static uuid_t_ anon_uuid(uint64_t i) { return uuid_of(SALT_ANON, i); }
static uuid_t_ film_uuid(uint64_t i) { return uuid_of(SALT_FILM, i); }

static const char *NODE = "research-1";
static void common(out_t *o, const char *type, int64_t ts, uuid_t_ user, uuid_t_ anon, uuid_t_ session, uuid_t_ film)
{
	put_u(o, uuid_v7(ts)); put_c(o, '\t');
	put_s(o, type); put_c(o, '\t');
	put_i(o, ts); put_c(o, '\t');
	put_i(o, ts + 20 + (int64_t)below(380)); put_c(o, '\t');
	put_s(o, NODE); put_c(o, '\t');
	put_s(o, below(10) < 7 ? "udp" : "http"); put_c(o, '\t');
	put_u(o, user); put_c(o, '\t');
	put_u(o, anon); put_c(o, '\t');
	put_u(o, session); put_c(o, '\t');
	put_u(o, film);
}

/* sessions of heartbeats until `target` rows; registered users' sessions
 * are marked in seen_users (a bitmap) and sampled for the parameter files */
static uint8_t *seen_view_user;
static res_t r_hist, r_resume;
static uint64_t gen_views(out_t *o, uint64_t target, int64_t t0, int64_t t1, int sample)
{
	uint64_t rows = 0, sessions = 0;
	char line[80], a[40], b[40];
	while (rows < target) {
		int reg = below(100) < 75;
		uint64_t ui = user_skew(reg ? n_users : n_anon);
		uuid_t_ user = reg ? user_uuid(ui) : NIL, anon = reg ? NIL : anon_uuid(ui);
		uint64_t fi = film_zipf();
		uuid_t_ film = film_uuid(fi), session = uuid_rand();
		int64_t dur = film_dur[fi];
		int64_t pos = below(100) < 40 ? (int64_t)below((uint64_t)dur) / 1000 * 1000 : 0;
		int64_t ts = t0 + (int64_t)below((uint64_t)(t1 - t0));
		uint64_t k = below(100), len;
		if (k < 50) len = 1 + below(10);
		else if (k < 85) len = 1 + (uint64_t)(-40.0 * log(1.0 - urand()));
		else len = (uint64_t)((dur - pos) / 30000) + 1;
		if (len > (uint64_t)((dur - pos) / 30000) + 1) len = (uint64_t)((dur - pos) / 30000) + 1;
		if (len > target - rows) len = target - rows;
		for (uint64_t h = 0; h < len; h++) {
			common(o, "view", ts, user, anon, session, film);
			put_c(o, '\t'); put_i(o, pos); put_c(o, '\t'); put_i(o, dur); put_c(o, '\n');
			ts += 30000 + (int64_t)below(2000);
			pos += 30000;
			if (below(100) < 3) pos += 30000 * (int64_t)(1 + below(20));
			if (pos > dur) pos = dur;
		}
		rows += len;
		sessions++;
		if (sample) {
			fmt_uuid(a, reg ? user : anon); fmt_uuid(b, film);
			if (reg) { seen_view_user[ui] = 1; res_add(&r_hist, a); }
			snprintf(line, sizeof line, "%s\t%s", a, b);
			res_add(&r_resume, line);
		}
	}
	o->rows += rows;
	return sessions;
}

/* recent (user, film[, review]) triples, for rewrites */
#define RING 4096
typedef struct { uint64_t u, f; uuid_t_ r; } pair_t;

static const char *WORDS[] = {
	"film", "plot", "actors", "camera", "music", "ending", "slow", "brilliant", "boring", "twist",
	"director", "scene", "dialogue", "characters", "cinematography", "sequel", "watch", "again",
	"recommend", "overrated", "masterpiece", "фильм", "сюжет", "актёры", "музыка", "финал",
	"отлично", "скучно", "рекомендую", "пересмотрю", "шедевр", "très", "bien", "naïve", "café",
	"the", "a", "and", "but", "not", "very", "really", "quite", "so", "it", "was", "is", "—", "!", "?",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

int main(int argc, char **argv)
{
	const char *dir = NULL;
	double scale = 1.0;
	uint64_t seed = 7, stream_a = 600000, stream_b = 300000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc) dir = argv[++i];
		else if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--stream-a") && i + 1 < argc) stream_a = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--stream-b") && i + 1 < argc) stream_b = strtoull(argv[++i], NULL, 10);
		else { fprintf(stderr, "usage: gen --out DIR [--scale F] [--seed N] [--stream-a N] [--stream-b N]\n"); return 2; }
	}
	if (!dir || scale <= 0 || scale > 100) { fprintf(stderr, "gen: --out DIR required, 0 < scale <= 100\n"); return 2; }
	mkdir(dir, 0755);
	rs = seed * 0x2545F4914F6CDD1DULL + 1;
	n_users = (uint64_t)(500000 * scale); if (n_users < 1000) n_users = 1000;
	n_anon = n_users / 2;
	n_films = (uint64_t)(10000 * scale); if (n_films < 100) n_films = 100;
	uint64_t n_views = (uint64_t)(10000000 * scale), n_likes = (uint64_t)(2000000 * scale),
		n_bm = (uint64_t)(1000000 * scale), n_rev = (uint64_t)(250000 * scale);
	const int64_t T0 = 1785542400000LL, T1 = 1793491200000LL;	/* 2026-08-01, 2026-11-01 UTC */

	film_cdf = malloc(n_films * sizeof *film_cdf);
	film_dur = malloc(n_films * sizeof *film_dur);
	double acc = 0;
	for (uint64_t i = 0; i < n_films; i++) {
		acc += 1.0 / (double)(i + 1);
		film_cdf[i] = acc;
		uint64_t h = mix(i ^ 0xd00d);
		film_dur[i] = h % 5 == 0 ? (int64_t)(20 + (h >> 8) % 41) * 60000	/* episodes 20-60 min */
			: (int64_t)(80 + (h >> 8) % 101) * 60000;		/* films 80-180 min */
	}
	seen_view_user = calloc(n_users, 1);
	char line[80], a[40], b[40];

	out_t o;
	out_open(&o, dir, "views.tsv");
	uint64_t sessions = gen_views(&o, n_views, T0, T1, 1);
	uint64_t view_rows = o.rows;
	out_close(&o);
	uint64_t view_users = 0;
	for (uint64_t i = 0; i < n_users; i++) view_users += seen_view_user[i];
	fprintf(stderr, "gen: views.tsv %llu rows, %llu sessions, %llu registered users with views\n",
		(unsigned long long)view_rows, (unsigned long long)sessions, (unsigned long long)view_users);

	/* likes */
	static pair_t ring[RING];
	uint64_t nring = 0;
	res_t *r_like = calloc(1, sizeof *r_like), *r_likemiss = calloc(1, sizeof *r_likemiss);
	uint8_t *seen_ugc = calloc(n_users, 1);
	out_open(&o, dir, "likes.tsv");
	for (uint64_t i = 0; i < n_likes; i++) {
		pair_t p;
		if (nring && below(100) < 15) p = ring[below(nring < RING ? nring : RING)];
		else { p.u = user_skew(n_users); p.f = film_zipf(); ring[nring++ % RING] = p; }
		seen_ugc[p.u] = 1;
		uint64_t k = below(100);
		int score = k < 70 ? 1 : k < 90 ? -1 : 0;
		common(&o, "like", T0 + (int64_t)below((uint64_t)(T1 - T0)), user_uuid(p.u), NIL, uuid_rand(), film_uuid(p.f));
		put_c(&o, '\t'); put_i(&o, score); put_c(&o, '\n');
		fmt_uuid(a, user_uuid(p.u)); fmt_uuid(b, film_uuid(p.f));
		snprintf(line, sizeof line, "%s\t%s", a, b);
		res_add(r_like, line);
		fmt_uuid(b, film_uuid(film_zipf()));	/* the same user, another film: mostly not liked */
		snprintf(line, sizeof line, "%s\t%s", a, b);
		res_add(r_likemiss, line);
	}
	o.rows = n_likes;
	out_close(&o);

	/* bookmarks */
	res_t *r_bm = calloc(1, sizeof *r_bm);
	nring = 0;
	out_open(&o, dir, "bookmarks.tsv");
	for (uint64_t i = 0; i < n_bm; i++) {
		pair_t p;
		int add = below(100) < 75;
		if (!add && nring) p = ring[below(nring < RING ? nring : RING)];
		else { p.u = user_skew(n_users); p.f = film_zipf(); if (add) ring[nring++ % RING] = p; }
		seen_ugc[p.u] = 1;
		common(&o, "bookmark", T0 + (int64_t)below((uint64_t)(T1 - T0)), user_uuid(p.u), NIL, uuid_rand(), film_uuid(p.f));
		put_c(&o, '\t'); put_s(&o, add ? "add" : "remove"); put_c(&o, '\n');
		fmt_uuid(a, user_uuid(p.u));
		res_add(r_bm, a);
	}
	o.rows = n_bm;
	out_close(&o);

	/* reviews */
	res_t *r_film = calloc(1, sizeof *r_film);
	nring = 0;
	uint64_t text_bytes = 0;
	out_open(&o, dir, "reviews.tsv");
	for (uint64_t i = 0; i < n_rev; i++) {
		pair_t p;
		uint64_t k = below(100);
		const char *op = "post";
		if (k < 92 || !nring) { p.u = user_skew(n_users); p.f = film_zipf(); p.r = uuid_rand(); ring[nring++ % RING] = p; }
		else { p = ring[below(nring < RING ? nring : RING)]; if (k >= 97) op = "delete"; }
		seen_ugc[p.u] = 1;
		common(&o, "review", T0 + (int64_t)below((uint64_t)(T1 - T0)), user_uuid(p.u), NIL, uuid_rand(), film_uuid(p.f));
		put_c(&o, '\t'); put_s(&o, op); put_c(&o, '\t'); put_u(&o, p.r); put_c(&o, '\t');
		put_i(&o, *op == 'p' ? (int64_t)(1 + below(10)) : 0); put_c(&o, '\t');
		if (*op == 'p') {
			uint64_t want = 80 + below(821), have = 0;
			while (have < want) {
				const char *w = WORDS[below(NWORDS)];
				if (have) { put_c(&o, ' '); have++; }
				put_s(&o, w); have += strlen(w);
			}
			text_bytes += have;
		}
		put_c(&o, '\n');
	}
	o.rows = n_rev;
	out_close(&o);
	uint64_t ugc_users = 0;
	for (uint64_t i = 0; i < n_users; i++) ugc_users += seen_ugc[i] | seen_view_user[i];

	/* films for per-film reads, by popularity (as film pages are viewed) */
	for (int i = 0; i < 4 * RES; i++) { fmt_uuid(a, film_uuid(film_zipf())); res_add(r_film, a); }

	/* the two stream files: later heartbeats of the same audience */
	out_open(&o, dir, "stream_a.tsv");
	gen_views(&o, stream_a, T1, T1 + 86400000LL * 10, 0);
	out_close(&o);
	out_open(&o, dir, "stream_b.tsv");
	gen_views(&o, stream_b, T1 + 86400000LL * 10, T1 + 86400000LL * 20, 0);
	out_close(&o);

	res_write(&r_hist, dir, "p_hist_users.txt");
	res_write(&r_resume, dir, "p_resume_pairs.txt");
	/* like pairs: alternately a liked pair and a (probably) unliked one */
	{
		char p[4096];
		snprintf(p, sizeof p, "%s/p_like_pairs.txt", dir);
		FILE *f = fopen(p, "w");
		uint64_t n1 = r_like->seen < RES ? r_like->seen : RES, n2 = r_likemiss->seen < RES ? r_likemiss->seen : RES;
		for (uint64_t i = 0; i < n1 || i < n2; i++) {
			if (i < n1) fprintf(f, "%s\n", r_like->line[i]);
			if (i < n2) fprintf(f, "%s\n", r_likemiss->line[i]);
		}
		fclose(f);
	}
	res_write(r_bm, dir, "p_bm_users.txt");
	res_write(r_film, dir, "p_films.txt");

	char p[4096];
	snprintf(p, sizeof p, "%s/meta.json", dir);
	FILE *f = fopen(p, "w");
	fprintf(f, "{\"scale\": %g, \"seed\": %llu, \"users\": %llu, \"anon_devices\": %llu, \"films\": %llu,\n"
		" \"views\": %llu, \"view_sessions\": %llu, \"registered_users_with_views\": %llu,\n"
		" \"likes\": %llu, \"bookmarks\": %llu, \"reviews\": %llu, \"review_text_bytes\": %llu,\n"
		" \"registered_users_with_any_row\": %llu, \"stream_a\": %llu, \"stream_b\": %llu,\n"
		" \"ts_from\": %lld, \"ts_to\": %lld}\n",
		scale, (unsigned long long)seed, (unsigned long long)n_users, (unsigned long long)n_anon,
		(unsigned long long)n_films, (unsigned long long)view_rows, (unsigned long long)sessions,
		(unsigned long long)view_users, (unsigned long long)n_likes, (unsigned long long)n_bm,
		(unsigned long long)n_rev, (unsigned long long)text_bytes, (unsigned long long)ugc_users,
		(unsigned long long)stream_a, (unsigned long long)stream_b, (long long)T0, (long long)T1);
	fclose(f);
	fprintf(stderr, "gen: likes %llu, bookmarks %llu, reviews %llu, users with any row %llu; streams %llu + %llu\n",
		(unsigned long long)n_likes, (unsigned long long)n_bm, (unsigned long long)n_rev,
		(unsigned long long)ugc_users, (unsigned long long)stream_a, (unsigned long long)stream_b);
	return 0;
}
