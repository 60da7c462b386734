/*
 * bench_parse.c - parser microbenchmark: beacons per second per core.
 *
 * Why this exists: the appliance's budget is stated in beacons/s per worker
 * core (JSON >= 3 M/s, binary >= 15 M/s for anonymous ~200-byte beacons), so
 * this measures exactly the library calls a worker makes, single-threaded:
 * bcn_json_parse / bcn_bin_parse, bcn_jwt_verify (warm cache and cold),
 * the whole bcn_ingest, and bcn_record_to_json.
 *
 * Method: every input set (thousands of distinct beacons: random UUIDs,
 * positions, users) is generated up front into one contiguous buffer, with
 * the JSON and binary sets built from the same records; each case then loops
 * over its set for a bounded time, three times (round-robin over the cases,
 * so that a burst of load from elsewhere cannot spoil all three runs of one
 * case), and the best run is reported.  Timing is CLOCK_MONOTONIC, checked
 * every 256 beacons.  Every result feeds a checksum that is printed, so the
 * compiler cannot drop the work.  Before timing, each set is run once and must give
 * the expected verdict (BCN_OK), so what is timed is the success path.
 * No network, no files; the clock given to bcn_ingest is fixed.
 *
 * Usage: bench-parse [--seconds S] [--count N] [--filter SUBSTR] [--cpu N]
 *   --seconds S  time per case, split over its 3 runs (default 1.5; the
 *                whole default run takes about 30 s)
 *   --count N    distinct beacons per input set (default 8192)
 *   --filter s   only cases whose name contains s
 *   --cpu N      pin to CPU N first
 * Output: a markdown table (perf/RESULTS.md quotes it).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_proto.h"

#define NOW_MS   1732262400000ll /* 2024-11-22T08:00:00Z; ingest's clock */
#define NUSERS   1000            /* distinct logged-in users (tokens) */
#define RUNS     3

static const uint8_t jwt_key[] = "bench-hs256-secret-0123456789abcdef";

/* ---- deterministic random ------------------------------------------------ */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint64_t rnd_in(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }

static void rnd_uuid(uint8_t u[16])
{
	uint64_t a = rnd(), b = rnd();
	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

/* ---- input sets ---------------------------------------------------------- */

struct set {
	char *buf;        /* all beacons back to back */
	size_t *off;
	uint32_t *len;
	size_t n, bytes, cap;
	enum bcn_format fmt;
};

static void set_init(struct set *s, size_t n, enum bcn_format fmt)
{
	s->n = 0;
	s->bytes = 0;
	s->cap = n * 1024 + 65536;
	s->buf = malloc(s->cap);
	s->off = malloc(n * sizeof(*s->off));
	s->len = malloc(n * sizeof(*s->len));
	s->fmt = fmt;
	if (!s->buf || !s->off || !s->len) {
		fprintf(stderr, "bench-parse: out of memory\n");
		exit(1);
	}
}

static void set_add(struct set *s, const void *p, size_t n)
{
	if (s->bytes + n > s->cap) {
		fprintf(stderr, "bench-parse: input set overflow\n");
		exit(1);
	}
	memcpy(s->buf + s->bytes, p, n);
	s->off[s->n] = s->bytes;
	s->len[s->n] = (uint32_t)n;
	s->bytes += n;
	s->n++;
}

/* Users: an id and a signed token each. */
static struct user {
	uint8_t id[16];
	char tok[256];
	size_t n;
} users[NUSERS];

static void make_users(void)
{
	for (int i = 0; i < NUSERS; i++) {
		char sub[37];
		rnd_uuid(users[i].id);
		bcn_uuid_format(users[i].id, sub);
		sub[36] = '\0';
		users[i].n = bcn_jwt_sign(jwt_key, sizeof(jwt_key) - 1, sub,
					  NOW_MS / 1000 + 86400 + i, users[i].tok,
					  sizeof(users[i].tok));
		if (!users[i].n) {
			fprintf(stderr, "bench-parse: bcn_jwt_sign failed\n");
			exit(1);
		}
	}
}

static uint8_t anons[4096][16], sessions[4096][16], films[512][16];

static void rec_str(struct bcn_record *r, struct bcn_sref *s, const char *str, size_t n)
{
	memcpy(r->arena + r->arena_used, str, n);
	s->off = r->arena_used;
	s->len = (uint16_t)n;
	r->arena_used = (uint16_t)(r->arena_used + n);
}
static void rec_cstr(struct bcn_record *r, struct bcn_sref *s, const char *str)
{
	rec_str(r, s, str, strlen(str));
}

static const char *const qualities[] = { "240p", "480p", "720p", "1080p", "2160p" };
static const char *const words[] = {
	"the", "matrix", "night", "of", "a", "great", "film", "город", "ночь",
	"très", "bien", "\"quoted\"", "über", "a\tb", "sci-fi", "2024", "noir",
};

/* A heartbeat: type view with anon (or a user), session, film, position. */
static void make_view(struct bcn_record *r, int with_user, int *user)
{
	memset(r, 0, offsetof(struct bcn_record, node));
	r->type = BCN_T_VIEW;
	r->ts = NOW_MS - (int64_t)rnd_in(0, 120000);
	r->has = BCN_HAS_TS | BCN_HAS_SESSION | BCN_HAS_FILM | BCN_HAS_POSITION | BCN_HAS_DURATION;
	if (!with_user) {
		memcpy(r->anon_id, anons[rnd() % 4096], 16);
		r->has |= BCN_HAS_ANON;
	}
	*user = with_user ? (int)(rnd() % NUSERS) : -1;
	memcpy(r->session_id, sessions[rnd() % 4096], 16);
	memcpy(r->film_id, films[rnd() % 512], 16);
	r->duration_ms = rnd_in(20 * 60000, 180 * 60000);
	r->position_ms = rnd_in(0, r->duration_ms);
}

/* One beacon of the realistic mix; auth types carry a user's token. */
static void make_mixed(struct bcn_record *r, int *user)
{
	unsigned w = (unsigned)(rnd() % 100);
	char buf[1024];
	if (w < 60) {
		make_view(r, 0, user);
		return;
	}
	memset(r, 0, offsetof(struct bcn_record, node));
	r->ts = NOW_MS - (int64_t)rnd_in(0, 120000);
	r->has = BCN_HAS_TS;
	*user = -1;
	if (w < 90) { /* anonymous types */
		memcpy(r->anon_id, anons[rnd() % 4096], 16);
		memcpy(r->session_id, sessions[rnd() % 4096], 16);
		r->has |= BCN_HAS_ANON | BCN_HAS_SESSION;
	} else {
		*user = (int)(rnd() % NUSERS);
	}
	if (w < 75) {
		r->type = BCN_T_PLAYER;
		r->event = (uint8_t)rnd_in(1, BCN_E__COUNT - 1);
		memcpy(r->film_id, films[rnd() % 512], 16);
		r->duration_ms = rnd_in(20 * 60000, 180 * 60000);
		r->position_ms = rnd_in(0, r->duration_ms);
		r->has |= BCN_HAS_FILM | BCN_HAS_POSITION | BCN_HAS_DURATION;
		if (r->event == BCN_E_QUALITY_CHANGE) {
			rec_cstr(r, &r->from, qualities[rnd() % 5]);
			rec_cstr(r, &r->to, qualities[rnd() % 5]);
		}
	} else if (w < 85) {
		r->type = BCN_T_PAGE;
		int n = snprintf(buf, sizeof(buf), "https://cinema.example.com/films/%u?ref=home&pos=%u",
				 (unsigned)rnd_in(1, 99999), (unsigned)rnd_in(1, 40));
		rec_str(r, &r->url, buf, (size_t)n);
		rec_cstr(r, &r->referrer, "https://cinema.example.com/");
		r->has |= BCN_HAS_URL;
	} else if (w < 90) {
		r->type = BCN_T_ACTION;
		rec_cstr(r, &r->key, "search");
		size_t o = 0, nw = rnd_in(1, 5);
		for (size_t i = 0; i < nw; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "",
					      words[rnd() % (sizeof(words) / sizeof(words[0]))]);
		rec_str(r, &r->value, buf, o);
		r->has |= BCN_HAS_KEY;
	} else if (w < 95) {
		r->type = BCN_T_LIKE;
		memcpy(r->film_id, films[rnd() % 512], 16);
		r->score = rnd() % 4 ? 1 : -1;
		r->has |= BCN_HAS_FILM | BCN_HAS_SCORE;
	} else if (w < 97) {
		r->type = BCN_T_REVIEW;
		r->op = BCN_OP_POST;
		memcpy(r->film_id, films[rnd() % 512], 16);
		rnd_uuid(r->review_id);
		r->rating = (uint8_t)rnd_in(1, 10);
		size_t o = 0, nw = rnd_in(15, 80);
		for (size_t i = 0; i < nw && o < 900; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? (i % 11 ? " " : ".\n") : "",
					      words[rnd() % (sizeof(words) / sizeof(words[0]))]);
		rec_str(r, &r->text, buf, o);
		r->has |= BCN_HAS_FILM | BCN_HAS_REVIEW | BCN_HAS_RATING | BCN_HAS_TEXT;
	} else {
		r->type = BCN_T_BOOKMARK;
		r->op = rnd() % 3 ? BCN_OP_ADD : BCN_OP_REMOVE;
		memcpy(r->film_id, films[rnd() % 512], 16);
		r->has |= BCN_HAS_FILM;
	}
}

enum kind { K_VIEW_ANON, K_VIEW_USER, K_MIX };

/* Build the JSON and binary sets of one kind from the same records. */
static void build(enum kind k, size_t n, struct set *js, struct set *bs)
{
	static struct bcn_record r;
	static char jb[BCN_MAX_BEACON];
	static uint8_t bb[BCN_MAX_BEACON];
	set_init(js, n, BCN_FMT_JSON);
	set_init(bs, n, BCN_FMT_BINARY);
	for (size_t i = 0; i < n; i++) {
		int u;
		if (k == K_MIX)
			make_mixed(&r, &u);
		else
			make_view(&r, k == K_VIEW_USER, &u);
		const char *t = u >= 0 ? users[u].tok : NULL;
		size_t tn = u >= 0 ? users[u].n : 0;
		size_t jn = bcn_json_encode_beacon(&r, t, tn, jb, sizeof(jb));
		size_t bn = bcn_bin_encode(&r, t, tn, bb, sizeof(bb));
		if (!jn || !bn) {
			fprintf(stderr, "bench-parse: encoder failed\n");
			exit(1);
		}
		set_add(js, jb, jn);
		set_add(bs, bb, bn);
	}
}

/* ---- cases ----------------------------------------------------------------- */

enum op { OP_PARSE, OP_VERIFY, OP_INGEST, OP_INGEST_JSON_OUT };

struct bench_case {
	const char *name;
	struct set *in;
	enum op op;
	struct bcn_ingest *ing;      /* OP_INGEST*, OP_VERIFY (its cache) */
	char note[64];
	size_t next;                 /* where the next run starts in the set */
	double best;                 /* best beacons/s so far */
	uint64_t hits, misses;       /* token cache, over the timed runs */
};

static struct bcn_record rec;
static char out_json[BCN_RECORD_JSON_MAX];
static uint64_t checksum;

static inline uint64_t one(const struct bench_case *c, size_t i)
{
	const struct set *s = c->in;
	const char *p = s->buf + s->off[i];
	size_t n = s->len[i];
	struct bcn_token tok;
	int rc;

	switch (c->op) {
	case OP_PARSE:
		rc = s->fmt == BCN_FMT_BINARY ? bcn_bin_parse((const uint8_t *)p, n, &rec, &tok)
					      : bcn_json_parse(p, n, &rec, &tok);
		return (uint64_t)rc + rec.position_ms + rec.arena_used + tok.n + rec.anon_id[3];
	case OP_VERIFY:
		rc = bcn_jwt_verify(c->ing->jwt, p, n, NOW_MS, rec.user_id);
		return (uint64_t)rc + rec.user_id[5];
	case OP_INGEST:
		rc = bcn_ingest(c->ing, s->fmt, p, n, NULL, 0, NOW_MS, BCN_SRC_UDP, &rec);
		return (uint64_t)rc + rec.event_id[15] + rec.position_ms + rec.user_id[2];
	case OP_INGEST_JSON_OUT:
		rc = bcn_ingest(c->ing, s->fmt, p, n, NULL, 0, NOW_MS, BCN_SRC_UDP, &rec);
		if (rc == BCN_OK)
			return bcn_record_to_json(&rec, out_json, sizeof(out_json)) + out_json[40];
		return (uint64_t)rc << 32;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Every beacon of the set must be accepted (we time the success path). */
static void warm_up(const struct bench_case *c)
{
	const struct set *s = c->in;
	for (size_t i = 0; i < s->n; i++) {
		const char *p = s->buf + s->off[i];
		struct bcn_token tok;
		int rc;
		switch (c->op) {
		case OP_PARSE:
			rc = s->fmt == BCN_FMT_BINARY
				     ? bcn_bin_parse((const uint8_t *)p, s->len[i], &rec, &tok)
				     : bcn_json_parse(p, s->len[i], &rec, &tok);
			break;
		case OP_VERIFY:
			rc = bcn_jwt_verify(c->ing->jwt, p, s->len[i], NOW_MS, rec.user_id);
			break;
		default:
			rc = bcn_ingest(c->ing, s->fmt, p, s->len[i], NULL, 0, NOW_MS,
					BCN_SRC_UDP, &rec);
			break;
		}
		if (rc != BCN_OK) {
			fprintf(stderr, "bench-parse: %s: beacon %zu rejected: %s\n", c->name, i,
				bcn_reason_name((unsigned)rc));
			exit(1);
		}
	}
}

/* One timed run of `secs` over the set; returns beacons/s. */
static double run_once(struct bench_case *c, double secs)
{
	size_t n = c->in->n, i = c->next;
	uint64_t sum = 0, count = 0;
	double t0 = now_s(), t1;
	do {
		for (int k = 0; k < 256; k++) {
			sum += one(c, i);
			if (++i == n)
				i = 0;
		}
		count += 256;
		t1 = now_s();
	} while (t1 - t0 < secs);
	c->next = i;
	checksum = checksum * 31 + sum;
	return (double)count / (t1 - t0);
}

static void fmt_rate(double v, char *out, size_t cap)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%.0f", v), o = 0;
	for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-parse [--seconds S] [--count N] [--filter SUBSTR] [--cpu N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 1.5;
	size_t count = 8192;
	const char *filter = NULL;
	int cpu = -1;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seconds") && a + 1 < argc)
			seconds = atof(argv[++a]);
		else if (!strcmp(argv[a], "--count") && a + 1 < argc)
			count = (size_t)strtoul(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--filter") && a + 1 < argc)
			filter = argv[++a];
		else if (!strcmp(argv[a], "--cpu") && a + 1 < argc)
			cpu = atoi(argv[++a]);
		else
			usage();
	}
	if (seconds <= 0 || seconds > 600 || count < 16 || count > 1000000)
		usage();
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("bench-parse: sched_setaffinity");
	}

	/* identities and keys */
	for (int i = 0; i < 4096; i++) {
		rnd_uuid(anons[i]);
		rnd_uuid(sessions[i]);
	}
	for (int i = 0; i < 512; i++)
		rnd_uuid(films[i]);
	make_users();

	struct bcn_jwt_keys keys;
	char keylist[128];
	snprintf(keylist, sizeof(keylist), "%s", (const char *)jwt_key);
	if (bcn_jwt_keys_parse(&keys, keylist, 1)) {
		fprintf(stderr, "bench-parse: bad key\n");
		return 1;
	}
	/* per-worker cache as in production (2^12 entries), and a 1-entry
	 * cache fed distinct tokens in turn: every verification is cold */
	struct bcn_jwt_cache *warm = bcn_jwt_cache_new(&keys, 12);
	struct bcn_jwt_cache *cold = bcn_jwt_cache_new(&keys, 0);
	if (!warm || !cold) {
		fprintf(stderr, "bench-parse: bcn_jwt_cache_new failed\n");
		return 1;
	}
	struct bcn_ingest_cfg cfg;
	bcn_ingest_cfg_defaults(&cfg);
	cfg.node_id = 1;
	struct bcn_ingest ing_warm, ing_cold;
	bcn_ingest_init(&ing_warm, &cfg, warm, 0);
	bcn_ingest_init(&ing_cold, &cfg, cold, 1);

	/* input sets */
	static struct set j_view, b_view, j_user, b_user, j_mix, b_mix, toks;
	build(K_VIEW_ANON, count, &j_view, &b_view);
	build(K_VIEW_USER, count, &j_user, &b_user);
	build(K_MIX, count, &j_mix, &b_mix);
	set_init(&toks, count, BCN_FMT_JSON);
	for (size_t i = 0; i < count; i++) {
		/* users in a random order, never the same twice in a row */
		size_t u = (size_t)(rnd() % NUSERS);
		if (i && toks.len[i - 1] == users[u].n &&
		    !memcmp(toks.buf + toks.off[i - 1], users[u].tok, users[u].n))
			u = (u + 1) % NUSERS;
		set_add(&toks, users[u].tok, users[u].n);
	}

#define CASE(name, set, op, ing) { name, set, op, ing, "", 0, 0, 0, 0 }
	struct bench_case cases[] = {
		CASE("json parse: view heartbeat, anon", &j_view, OP_PARSE, NULL),
		CASE("json parse: view heartbeat + JWT", &j_user, OP_PARSE, NULL),
		CASE("json parse: mix of all types", &j_mix, OP_PARSE, NULL),
		CASE("bin parse: view heartbeat, anon", &b_view, OP_PARSE, NULL),
		CASE("bin parse: view heartbeat + JWT", &b_user, OP_PARSE, NULL),
		CASE("bin parse: mix of all types", &b_mix, OP_PARSE, NULL),
		CASE("jwt verify: warm cache (1000 users, 2^12)", &toks, OP_VERIFY, &ing_warm),
		CASE("jwt verify: cold (cache off, distinct)", &toks, OP_VERIFY, &ing_cold),
		CASE("ingest json: view, anon", &j_view, OP_INGEST, &ing_warm),
		CASE("ingest json: view + JWT (warm cache)", &j_user, OP_INGEST, &ing_warm),
		CASE("ingest json: view + JWT (cold)", &j_user, OP_INGEST, &ing_cold),
		CASE("ingest json: mix (warm cache)", &j_mix, OP_INGEST, &ing_warm),
		CASE("ingest bin: view, anon", &b_view, OP_INGEST, &ing_warm),
		CASE("ingest bin: view + JWT (warm cache)", &b_user, OP_INGEST, &ing_warm),
		CASE("ingest bin: mix (warm cache)", &b_mix, OP_INGEST, &ing_warm),
		CASE("ingest json + record_to_json: view, anon", &j_view, OP_INGEST_JSON_OUT, &ing_warm),
		CASE("ingest json + record_to_json: mix", &j_mix, OP_INGEST_JSON_OUT, &ing_warm),
		CASE("ingest bin + record_to_json: mix", &b_mix, OP_INGEST_JSON_OUT, &ing_warm),
	};
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);

	/* Round-robin: run 1 of every case, then run 2, then run 3, so that a
	 * burst of noise from elsewhere on the machine does not spoil all three
	 * runs of one case; the best run of each case is reported. */
	double per_run = seconds / RUNS;
	for (size_t k = 0; k < ncases; k++)
		if (!filter || strstr(cases[k].name, filter))
			warm_up(&cases[k]);
	for (int run = 0; run < RUNS; run++) {
		fprintf(stderr, "bench-parse: run %d/%d ...\n", run + 1, RUNS);
		for (size_t k = 0; k < ncases; k++) {
			struct bench_case *c = &cases[k];
			if (filter && !strstr(c->name, filter))
				continue;
			struct bcn_jwt_stats s0, s1;
			struct bcn_jwt_cache *jc = c->ing ? c->ing->jwt : NULL;
			if (jc)
				bcn_jwt_stats(jc, &s0);
			double rate = run_once(c, per_run);
			if (jc) {
				bcn_jwt_stats(jc, &s1);
				c->hits += s1.hits - s0.hits;
				c->misses += s1.misses - s0.misses;
			}
			if (rate > c->best)
				c->best = rate;
		}
	}

	printf("bench-parse: single thread, %zu distinct beacons per set, best of %d runs x %.2f s per case\n\n",
	       count, RUNS, per_run);
	printf("| case | bytes/beacon avg | beacons/s | ns/beacon | notes |\n");
	printf("|---|---:|---:|---:|---|\n");
	double json_view = 0, bin_view = 0;
	for (size_t k = 0; k < ncases; k++) {
		struct bench_case *c = &cases[k];
		if (filter && !strstr(c->name, filter))
			continue;
		if (c->hits + c->misses)
			snprintf(c->note, sizeof(c->note), "token cache hits %.1f%%",
				 100.0 * (double)c->hits / (double)(c->hits + c->misses));
		char r[48];
		fmt_rate(c->best, r, sizeof(r));
		printf("| %s | %.0f | %s | %.1f | %s |\n", c->name,
		       (double)c->in->bytes / (double)c->in->n, r, 1e9 / c->best, c->note);
		if (k == 0)
			json_view = c->best;
		if (k == 3)
			bin_view = c->best;
	}
	printf("\nchecksum: %016llx\n", (unsigned long long)checksum);
	if (json_view > 0)
		printf("target json parse (anon view) >= 3,000,000/s: %s (%.2f M/s)\n",
		       json_view >= 3e6 ? "met" : "NOT met", json_view / 1e6);
	if (bin_view > 0)
		printf("target bin parse (anon view) >= 15,000,000/s: %s (%.2f M/s)\n",
		       bin_view >= 15e6 ? "met" : "NOT met", bin_view / 1e6);

	bcn_jwt_cache_free(warm);
	bcn_jwt_cache_free(cold);
	return 0;
}
