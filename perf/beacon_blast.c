/*
 * beacon_blast.c - load generator and synthetic audience for beacond.
 *
 * Why this exists: beacond's budget (beacons/s per core, latency, nothing lost
 * under back-pressure) can only be checked under load that looks like the
 * cinema's real traffic: view heartbeats whose position advances through real
 * film lengths, player events, page views, actions, and the likes, reviews and
 * bookmarks of registered users signed with HS256 tokens, plus a controlled
 * share of deliberately invalid beacons whose verdict is known in advance.
 * This tool generates that audience with the library's own encoders
 * (bcn_json_encode_beacon, bcn_bin_encode, bcn_jwt_sign) and sends it over
 * UDP (JSON or binary v1, sendmmsg on a connected socket) or HTTP (keep-alive,
 * pipelined NDJSON, one epoll loop), paced by a token bucket or flat out, and
 * reports what happened.  --dump/--dump-meta/--dump-expect record every beacon
 * in send order so that a test can check beacond's verdicts, topics and keys
 * against beacon-lint.
 *
 * Safety: it only sends to loopback (127.0.0.0/8, ::1), or anywhere when it
 * runs inside a network namespace other than the initial one (a test's own).
 * Every loop is bounded by --count and --duration.
 *
 * Exit: 0 when it ran to completion (even if the server rejected beacons),
 * 1 on a runtime error (connection refused, socket or file errors, a signal),
 * 2 on usage errors (including a refused target).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bcn_proto.h"

#define PROG            "beacon-blast"
#define UDP_BATCH       64u           /* datagrams per sendmmsg */
#define HTTP_BODY_MAX   (256u * 1024u) /* contract: body <= 256 KiB ... */
#define HTTP_LINES_MAX  1000u          /* ... and <= 1000 lines */
#define HDR_RESERVE     4096u          /* room for the request line + headers */
#define IN_MAX          (8u << 20)     /* largest HTTP response we buffer */
#define MAX_USERS       1000000u
#define MAX_ANON        100000000u
#define MAX_FILMS       1000000u
#define MAX_DURATION_S  3000.0         /* tokens are valid 1 h from start */
#define TOKEN_TTL_S     3600
#define SESS_BITS       16
#define CONN_RETRIES    3u             /* resends of one request after a lost connection */
#define WORK_CAP        (BCN_MAX_BEACON + 4096u)

enum mode { M_UDP_JSON, M_UDP_BIN, M_HTTP };
static const char *const mode_names[] = { "udp-json", "udp-bin", "http" };

/* ---- options ----------------------------------------------------------- */

static struct {
	enum mode mode;
	const char *target;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host_hdr[80];
	uint64_t count;
	double duration, rate, timeout;
	unsigned batch, conns, pipeline, pool_max;
	uint32_t users, anon, films;
	double reg_share, inv_share;
	unsigned type_w[BCN_T__COUNT];
	uint64_t seed;
	const char *jwt_key;
	const char *dump, *dump_meta, *dump_expect;
	int quiet;
} O;

static uint8_t jwt_key[BCN_JWT_MAX_KEYLEN], wrong_key[BCN_JWT_MAX_KEYLEN + 32];
static size_t jwt_key_len, wrong_key_len;
static FILE *dump_f, *meta_f, *expect_f;

static void usage(FILE *f)
{
	fprintf(f,
"usage: beacon-blast [options]\n"
"  Load generator and synthetic audience for beacond (docs/beacon-protocol.md).\n"
"  Sends only to loopback, unless run inside a network namespace of its own.\n"
"transport:\n"
"  --mode udp-json|udp-bin|http   (default udp-json)\n"
"  --target HOST:PORT   IPv4 or [IPv6]:PORT (default 127.0.0.1:7070 for udp,\n"
"                       127.0.0.1:8080 for http)\n"
"  --count N            beacons to send (default 100000; 0 sends nothing)\n"
"  --duration S         stop after S seconds whatever is left (default 60, max %.0f)\n"
"  --rate R             beacons/s, token bucket on CLOCK_MONOTONIC (default 0 = flat out)\n"
"  --batch N            http: beacons per request, NDJSON when > 1 (default 1, max %u)\n"
"  --conns N            http: keep-alive connections (default 4)\n"
"  --pipeline N         http: requests in flight per connection (default 1)\n"
"  --timeout S          http: a response later than S seconds is an error (default 10)\n"
"audience:\n"
"  --users N            registered users (default 1000)\n"
"  --anon N             anonymous devices (default 10000)\n"
"  --films N            films in the catalogue (default 500)\n"
"  --registered-share F share of beacons from registered users, 0..1 (default 0.3)\n"
"  --invalid-share F    share of deliberately invalid beacons, 0..1 (default 0);\n"
"                       kinds: bad_uuid unknown_type missing_field out_of_range\n"
"                       ugc_without_token malformed wrong_key expired_token clock_skew\n"
"  --types T=W,...      type weights (default view=60,player=15,page=10,action=5,\n"
"                       like=5,review=2,bookmark=3); unlisted types get 0.\n"
"                       like/review/bookmark come only from registered users.\n"
"  --seed S             deterministic generation (default 1)\n"
"  --jwt-key KEY        HS256 key for users' tokens (default dev-key; hex:... allowed;\n"
"                       the first of a comma-separated list signs); tokens live 1 h\n"
"  --pool N             distinct beacons pre-generated when --rate is 0 (default 65536)\n"
"records:\n"
"  --dump FILE          every beacon sent, as JSON, one per line, in send order\n"
"                       (binary: the JSON form of the same record; http: with the\n"
"                       Authorization token inside as \"token\"), for beacon-lint\n"
"  --dump-meta FILE     one line per beacon: SEQ valid|invalid TYPE KEY (SEQ from 1 =\n"
"                       line of --dump; KEY = user_id, else anon_id: the Kafka key)\n"
"  --dump-expect FILE   the line beacon-lint --jwt-key KEY prints for each beacon\n"
"                       (ok TYPE / reject REASON)\n"
"  --quiet              no progress lines\n"
"  --help\n"
"output: a progress line per second on stderr; the summary on stdout, one\n"
"  'name value' per line: mode, target, count, sent, sent_valid, sent_invalid,\n"
"  acked (http: beacons the server accepted; udp: datagrams the kernel took -\n"
"  UDP has no acknowledgement), rejected, lost, unacked (= sent - acked),\n"
"  sent_type_T, invalid_REASON, errors, elapsed_s, rate_per_s, stopped_by;\n"
"  udp: udp_eagain, udp_enobufs; http: requests (distinct; resends are counted\n"
"  in retries_503/retries_conn), http_status_NNN, retries_503,\n"
"  retries_conn, timeouts, http_400_unparsed, latency_p50_ms, latency_p99_ms,\n"
"  latency_p999_ms, latency_max_ms.\n"
"exit: 0 ran to completion, 1 runtime error, 2 usage error or refused target.\n",
		MAX_DURATION_S, HTTP_LINES_MAX);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try --help)\n");
	exit(2);
}

/* Strict number parsing; each returns 0, or -1 if s is not entirely a
 * number within [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_dbl(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!*s || *s == ' ')
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* --types view=60,player=15,...  Returns 0, or -1 on a bad list. */
static int parse_types(const char *s)
{
	unsigned w[BCN_T__COUNT] = { 0 };
	char buf[512];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return -1;
		unsigned t = bcn_type_from(tok, (size_t)(eq - tok));
		uint64_t v;
		if (!t || parse_u64(eq + 1, 0, 1000000, &v))
			return -1;
		w[t] = (unsigned)v;
	}
	memcpy(O.type_w, w, sizeof(w));
	return 0;
}

/* Parse HOST:PORT (IPv4, [IPv6] or localhost) into O.addr.  No DNS.
 * Returns 0, or -1 if it is not a numeric address with a port. */
static int parse_target(const char *s)
{
	char host[64];
	const char *port;
	memset(&O.addr, 0, sizeof(O.addr));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		port = rb + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || (size_t)(c - s) >= sizeof(host) || strchr(s, ':') != c)
			return -1;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = '\0';
		port = c + 1;
		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
	}
	uint64_t p;
	if (parse_u64(port, 1, 65535, &p))
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&O.addr;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -1;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		O.addrlen = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&O.addr;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -1;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		O.addrlen = sizeof(*a4);
	}
	snprintf(O.host_hdr, sizeof(O.host_hdr), "%s", s);
	return 0;
}

/* 1 if O.addr is loopback: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static int target_is_loopback(void)
{
	if (O.addr.ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)&O.addr;
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)&O.addr)->sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(a))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

/* 1 if this process provably runs in a network namespace other than the
 * initial one (that of pid 1).  If either namespace can't be read (e.g. a
 * container hides /proc/1/ns), it can't be proven: 0. */
static int in_private_netns(void)
{
	struct stat self, init;
	if (stat("/proc/self/ns/net", &self) || stat("/proc/1/ns/net", &init))
		return 0;
	return self.st_ino != init.st_ino || self.st_dev != init.st_dev;
}

/* ---- clocks ------------------------------------------------------------ */

/* Clocks: monotonic seconds for pacing and latency, wall ms for ts.
 * Can't fail. */
static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t start_s; /* wall clock at start, for token expiry */

/* ---- deterministic random --------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint64_t rng;
static uint64_t rnd(void) { return mix64(rng += 0x9e3779b97f4a7c15ull); }
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }
static uint64_t rnd_in(uint64_t lo, uint64_t hi) { return lo + rnd_below(hi - lo + 1); }
static double rnd01(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }
#define PICK(arr) ((arr)[rnd_below(sizeof(arr) / sizeof((arr)[0]))])

static void uuid_fix(uint8_t u[16], uint64_t a, uint64_t b)
{
	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

enum { D_USER = 1, D_ANON, D_FILM, D_REVIEW, D_FILMLEN };

/* The stable UUID of thing `idx` of a domain (users, devices, films...). */
static void uuid_of(unsigned domain, uint64_t idx, uint8_t u[16])
{
	uint64_t a = mix64(O.seed ^ mix64(((uint64_t)domain << 56) ^ idx));
	uuid_fix(u, a, mix64(a ^ 0x5851f42d4c957f2dull));
}

static void uuid_rnd(uint8_t u[16])
{
	uint64_t a = rnd();
	uuid_fix(u, a, rnd());
}

/* A film's running time: 80..180 minutes, stable per film. */
static uint64_t film_len_ms(uint32_t f)
{
	uint64_t h = mix64(O.seed ^ mix64(((uint64_t)D_FILMLEN << 56) ^ f));
	return (80 * 60 + h % (100 * 60 + 1)) * 1000;
}

/* Popular films get most views: index ~ films * u^3. */
static uint32_t pick_film(void)
{
	double u = rnd01();
	uint32_t f = (uint32_t)((double)O.films * u * u * u);
	return f < O.films ? f : O.films - 1;
}

/* ---- tokens ---------------------------------------------------------------- */

enum { TOK_NONE, TOK_GOOD, TOK_WRONG, TOK_EXPIRED, TOK__COUNT };
static char **tok_cache[TOK__COUNT];
static uint16_t *tok_len[TOK__COUNT];
static uint32_t tok_users; /* entries per cache: max(users, 1) */

/* The token of user u of a kind (good, signed with the wrong key, expired):
 * deterministic per (kind, user), signed once and cached.  Exits 1 on
 * allocation or signing failure. */
static const char *user_token(int kind, uint32_t u, size_t *n)
{
	if (!tok_cache[kind]) {
		tok_cache[kind] = calloc(tok_users, sizeof(char *));
		tok_len[kind] = calloc(tok_users, sizeof(uint16_t));
		if (!tok_cache[kind] || !tok_len[kind]) {
			fprintf(stderr, PROG ": out of memory for tokens\n");
			exit(1);
		}
	}
	if (!tok_cache[kind][u]) {
		uint8_t id[16];
		char sub[37], buf[512];
		uuid_of(D_USER, u, id);
		bcn_uuid_format(id, sub);
		sub[36] = '\0';
		size_t len = kind == TOK_WRONG
			? bcn_jwt_sign(wrong_key, wrong_key_len, sub, start_s + TOKEN_TTL_S, buf, sizeof(buf))
			: bcn_jwt_sign(jwt_key, jwt_key_len, sub,
				       kind == TOK_EXPIRED ? start_s - 3600 : start_s + TOKEN_TTL_S,
				       buf, sizeof(buf));
		char *p = len ? malloc(len + 1) : NULL;
		if (!p) {
			fprintf(stderr, PROG ": cannot sign a token (bcn_jwt_sign or memory)\n");
			exit(1);
		}
		memcpy(p, buf, len + 1);
		tok_cache[kind][u] = p;
		tok_len[kind][u] = (uint16_t)len;
	}
	*n = tok_len[kind][u];
	return tok_cache[kind][u];
}

/* ---- viewing sessions ---------------------------------------------------------- */

/* One device's current viewing session: film, position, player state.  A
 * fixed direct-mapped table; a collision just starts a new session. */
struct sess {
	uint64_t dev1;      /* device + 1; 0 = empty */
	uint64_t pos, dur;
	int64_t clock;      /* the session's own wall clock, ms: see sess_ts() */
	uint32_t film;
	uint8_t sid[16];
	uint8_t quality, audio, sub, stage, ended;
};
static struct sess *sessions;

static const char *const qualities[] = { "240p", "360p", "480p", "720p", "1080p", "2160p" };
static const char *const langs[] = { "ru", "en", "de", "fr", "es", "uk", "kk", "ja" };
static const char *const sublangs[] = { "off", "ru", "en", "de", "fr", "es", "uk" };
#define NQ (sizeof(qualities) / sizeof(qualities[0]))
#define NL (sizeof(langs) / sizeof(langs[0]))
#define NS (sizeof(sublangs) / sizeof(sublangs[0]))

/* The device's current session, or a new one if it has none or its last
 * one ended.  Can't fail. */
static struct sess *sess_get(uint64_t dev)
{
	struct sess *s = &sessions[mix64(dev ^ 0x7f4a7c15u) & ((1u << SESS_BITS) - 1)];
	if (s->dev1 != dev + 1 || s->ended) {
		s->dev1 = dev + 1;
		s->film = pick_film();
		s->dur = film_len_ms(s->film);
		/* "continue watching": a third of sessions resume mid-film */
		s->pos = rnd01() < 0.3 ? rnd_below(s->dur * 7 / 10) / 1000 * 1000 : 0;
		uuid_rnd(s->sid);
		s->quality = (uint8_t)(rnd() % 3 ? 4 : 3);
		s->audio = (uint8_t)(rnd() % 4 ? 0 : rnd_below(NL));
		s->sub = (uint8_t)(rnd() % 3 ? 0 : rnd_below(NS));
		/* most sessions are already playing when we first see them */
		s->stage = rnd_below(10) < 3 ? 0 : 2;
		s->ended = 0;
		/* started long enough ago to have reached the end by now */
		s->clock = wall_ms() - (int64_t)(s->dur - s->pos);
	}
	return s;
}

/* The ts of a viewing event at the session's position.  A generator sends a
 * session's heartbeats milliseconds apart, but a player sends them as the
 * film plays: the session keeps its own clock, which moves with the
 * position (never past now), so that analytics which compare playback
 * progress with elapsed time (docs/data-model.md, watched segments) see a
 * plausible viewing.  `from` is the position before this event. */
static int64_t sess_ts(struct sess *s, uint64_t from)
{
	int64_t now = wall_ms();
	if (s->pos > from)
		s->clock += (int64_t)(s->pos - from);
	s->clock += 200; /* a beacon is never at the very same instant */
	if (s->clock > now)
		s->clock = now;
	return s->clock;
}

/* ---- record building --------------------------------------------------------- */

static struct bcn_record R;

static void rec_reset(unsigned type, int64_t ts)
{
	memset(&R, 0, offsetof(struct bcn_record, node));
	R.type = (uint8_t)type;
	R.ts = ts;
	R.has = BCN_HAS_TS;
}

static void rec_str(struct bcn_sref *s, const char *str, size_t n)
{
	if (R.arena_used + n > sizeof(R.arena))
		n = 0; /* can't happen with our sizes; an empty string is still valid JSON */
	memcpy(R.arena + R.arena_used, str, n);
	s->off = R.arena_used;
	s->len = (uint16_t)n;
	R.arena_used = (uint16_t)(R.arena_used + n);
}
static void rec_cstr(struct bcn_sref *s, const char *str) { rec_str(s, str, strlen(str)); }

static void rec_film(uint32_t f)
{
	uuid_of(D_FILM, f, R.film_id);
	R.has |= BCN_HAS_FILM;
}

static void uuid_str(const uint8_t u[16], char out[37])
{
	bcn_uuid_format(u, out);
	out[36] = '\0';
}

/* identity of the device sending a beacon */
struct ident {
	int registered;
	uint32_t idx;      /* user or anon index */
	uint64_t dev;      /* session-table key */
	uint8_t key[16];   /* user_id or anon_id: the Kafka key */
};

static void fill_view(struct sess *s)
{
	s->stage = 2; /* heartbeats mean the player is playing */
	s->pos += rnd_in(10000, 60000); /* a heartbeat every 10..60 s of playback */
	if (s->pos >= s->dur) {
		s->pos = s->dur;
		s->ended = 1;
	}
	rec_film(s->film);
	R.position_ms = s->pos;
	R.duration_ms = s->dur;
	R.has |= BCN_HAS_POSITION | BCN_HAS_DURATION;
}

static void fill_player(struct sess *s)
{
	unsigned ev;
	if (s->stage == 0) {
		ev = BCN_E_OPEN;
		s->stage = 1;
	} else if (s->stage == 1) {
		ev = BCN_E_PLAY;
		s->stage = 2;
	} else {
		static const struct { uint8_t ev, w; } evw[] = {
			{ BCN_E_PAUSE, 14 }, { BCN_E_RESUME, 12 }, { BCN_E_SEEK, 10 },
			{ BCN_E_QUALITY_CHANGE, 12 }, { BCN_E_AUDIO_CHANGE, 4 },
			{ BCN_E_SUBTITLE_CHANGE, 7 }, { BCN_E_BUFFERING, 14 }, { BCN_E_ERROR, 2 },
			{ BCN_E_PLAY, 3 }, { BCN_E_CLOSE, 4 }, { BCN_E_FINISH, 0 },
		};
		int near_end = s->pos * 10 >= s->dur * 9;
		unsigned total = 0, i;
		for (i = 0; i < sizeof(evw) / sizeof(evw[0]); i++)
			total += evw[i].ev == BCN_E_FINISH ? (near_end ? 40u : 0u) : evw[i].w;
		unsigned x = (unsigned)rnd_below(total);
		for (i = 0;; i++) {
			unsigned w = evw[i].ev == BCN_E_FINISH ? (near_end ? 40u : 0u) : evw[i].w;
			if (x < w)
				break;
			x -= w;
		}
		ev = evw[i].ev;
	}
	R.event = (uint8_t)ev;
	switch (ev) {
	case BCN_E_SEEK:
		s->pos = rnd_below(s->dur) / 1000 * 1000;
		break;
	case BCN_E_FINISH:
		s->pos = s->dur;
		s->ended = 1;
		break;
	case BCN_E_CLOSE:
		s->ended = 1;
		break;
	case BCN_E_QUALITY_CHANGE: {
		unsigned to = s->quality == 0 ? 1 : s->quality == NQ - 1 ? NQ - 2
			      : (rnd() & 1 ? s->quality + 1u : s->quality - 1u);
		rec_cstr(&R.from, qualities[s->quality]);
		rec_cstr(&R.to, qualities[to]);
		s->quality = (uint8_t)to;
		break;
	}
	case BCN_E_AUDIO_CHANGE: {
		unsigned to = (s->audio + 1u + (unsigned)rnd_below(NL - 1)) % NL;
		rec_cstr(&R.from, langs[s->audio]);
		rec_cstr(&R.to, langs[to]);
		s->audio = (uint8_t)to;
		break;
	}
	case BCN_E_SUBTITLE_CHANGE: {
		unsigned to = (s->sub + 1u + (unsigned)rnd_below(NS - 1)) % NS;
		rec_cstr(&R.from, sublangs[s->sub]);
		rec_cstr(&R.to, sublangs[to]);
		s->sub = (uint8_t)to;
		break;
	}
	case BCN_E_OPEN:
	case BCN_E_PLAY:
		break;
	default:
		s->pos += rnd_below(30000);
		if (s->pos > s->dur)
			s->pos = s->dur;
		break;
	}
	rec_film(s->film);
	R.position_ms = s->pos;
	R.has |= BCN_HAS_POSITION;
	if (rnd() % 10) { /* players that don't know the length yet omit it */
		R.duration_ms = s->dur;
		R.has |= BCN_HAS_DURATION;
	}
}

static const char *const queries[] = {
	"dune", "matrix", "interstellar", "%D0%B4%D1%8E%D0%BD%D0%B0",
	"%D0%B1%D1%80%D0%B0%D1%82", "comedy+2024", "nolan", "anime",
};
static const char *const genres[] = { "drama", "comedy", "thriller", "sci-fi", "documentary",
				       "animation", "horror", "family" };

static void fill_page(void)
{
	char url[256], ref[256], id[37];
	uint32_t f = pick_film();
	uuid_of(D_FILM, f, R.film_id);
	uuid_str(R.film_id, id);
	ref[0] = '\0';
	switch (rnd() % 6) {
	case 0:
		snprintf(url, sizeof(url), "https://cinema.example/films/%s", id);
		snprintf(ref, sizeof(ref), "%s", rnd() & 1 ? "https://cinema.example/"
			 : "https://cinema.example/search?q=dune");
		R.has |= BCN_HAS_FILM;
		break;
	case 1:
		snprintf(url, sizeof(url), "https://cinema.example/");
		snprintf(ref, sizeof(ref), "%s", PICK(((const char *const[]){
			"https://www.google.com/", "https://yandex.ru/", "https://t.me/", "" })));
		break;
	case 2:
		snprintf(url, sizeof(url), "https://cinema.example/search?q=%s", PICK(queries));
		snprintf(ref, sizeof(ref), "https://cinema.example/");
		break;
	case 3:
		snprintf(url, sizeof(url), "https://cinema.example/catalog/%s?page=%u",
			 PICK(genres), (unsigned)rnd_in(1, 12));
		snprintf(ref, sizeof(ref), "https://cinema.example/catalog/%s", PICK(genres));
		break;
	case 4:
		snprintf(url, sizeof(url), "https://cinema.example/watch/%s?t=%u", id,
			 (unsigned)(rnd_below(film_len_ms(f)) / 1000));
		snprintf(ref, sizeof(ref), "https://cinema.example/films/%s", id);
		R.has |= BCN_HAS_FILM;
		break;
	default:
		snprintf(url, sizeof(url), "https://cinema.example/account/%s",
			 PICK(((const char *const[]){ "bookmarks", "history", "subscription", "profile" })));
		break;
	}
	if (!(R.has & BCN_HAS_FILM))
		memset(R.film_id, 0, 16);
	rec_cstr(&R.url, url);
	R.has |= BCN_HAS_URL;
	if (ref[0])
		rec_cstr(&R.referrer, ref);
}

static void fill_action(void)
{
	static const struct { const char *k, *v[3]; int film; } acts[] = {
		{ "trailer_click", { "hero_banner", "film_page", "catalog" }, 1 },
		{ "search", { "dune", "дюна", "interstellar 2014" }, 0 },
		{ "play_click", { "film_page", "continue_watching", "hero_banner" }, 1 },
		{ "subscribe_click", { "plan_premium", "plan_basic", "plan_family" }, 0 },
		{ "share", { "telegram", "vk", "copy_link" }, 1 },
		{ "filter", { "genre=drama", "year=2024", "country=ru" }, 0 },
		{ "sort", { "popular", "new", "rating" }, 0 },
		{ "profile_switch", { "kids", "main", "guest" }, 0 },
		{ "download_app", { "android", "ios", "smart_tv" }, 0 },
	};
	unsigned i = (unsigned)rnd_below(sizeof(acts) / sizeof(acts[0]));
	rec_cstr(&R.key, acts[i].k);
	R.has |= BCN_HAS_KEY;
	rec_cstr(&R.value, acts[i].v[rnd_below(3)]);
	if (acts[i].film)
		rec_film(pick_film());
}

static const char *const ru_words[] = {
	"фильм", "сюжет", "актёры", "режиссёр", "картина", "ночь", "город", "история",
	"финал", "музыка", "операторская", "работа", "впечатление", "сцена", "герой",
	"очень", "просто", "невероятно", "скучно", "красиво", "атмосфера", "стоит",
	"посмотреть", "«Дюна»", "пересматривал", "второй", "раз", "не", "но", "и", "в",
	"на", "с", "затянуто", "шедевр", "слабый", "диалоги", "визуально", "безупречно",
};
static const char *const en_words[] = {
	"the", "film", "plot", "acting", "director", "score", "ending", "visuals",
	"pacing", "story", "great", "boring", "stunning", "slow", "worth", "watching",
	"again", "cast", "scene", "soundtrack", "and", "but", "a", "of", "really", "too",
	"long", "masterpiece", "\"Dune\"", "sequel", "dialogue",
};

/* Review text of 20..900 code points, Russian, English or mixed, with
 * punctuation, quotes and the odd emoji (escaped by the encoder). */
static void fill_text(void)
{
	char buf[4096];
	size_t o = 0, cps = 0;
	double u = rnd01();
	size_t target = 20 + (size_t)(880.0 * u * u);
	unsigned lang = (unsigned)rnd_below(10); /* 0-4 ru, 5-8 en, 9 mixed */
	unsigned words = 0;
	while (cps < target && o + 64 < sizeof(buf)) {
		const char *w = (lang < 5 || (lang == 9 && rnd() & 1)) ? PICK(ru_words) : PICK(en_words);
		const char *sep = words == 0 ? "" : (words % 9 == 0 ? ". " : (words % 13 == 0 ? ", " : " "));
		if (words && rnd_below(60) == 0)
			sep = " \xf0\x9f\x8e\xac "; /* clapper board */
		size_t o0 = o;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", sep, w);
		words++;
		for (size_t i = o0; i < o; i++)
			cps += ((uint8_t)buf[i] & 0xc0) != 0x80;
	}
	/* cut to exactly `target` code points, on a character boundary */
	size_t i = 0, n = 0;
	for (; i < o; i++) {
		if (((uint8_t)buf[i] & 0xc0) != 0x80) {
			if (n == target)
				break;
			n++;
		}
	}
	rec_str(&R.text, buf, i);
	R.has |= BCN_HAS_TEXT;
}

/* ---- beacon pool ------------------------------------------------------------------ */

enum kind {
	K_NONE, K_BAD_UUID, K_UNKNOWN_TYPE, K_MISSING, K_RANGE, K_UGC_NOTOKEN,
	K_MALFORMED, K_WRONG_KEY, K_EXPIRED, K_SKEW, K__COUNT
};
static const uint8_t kind_reason[K__COUNT] = {
	BCN_OK, BCN_R_BAD_UUID, BCN_R_UNKNOWN_TYPE, BCN_R_MISSING_FIELD, BCN_R_OUT_OF_RANGE,
	BCN_R_AUTH_REQUIRED, BCN_R_MALFORMED, BCN_R_BAD_TOKEN, BCN_R_EXPIRED_TOKEN,
	BCN_R_CLOCK_SKEW,
};
static const char *const bogus_types[] = { "click", "View", "heartbeat", "purchase", "likes" };

/* One pre-built beacon.  Bytes live in the pool arena (offsets, because the
 * arena grows). */
struct ent {
	uint32_t woff, wlen;   /* wire bytes: JSON line or binary datagram */
	uint32_t doff, dlen;   /* JSON for --dump when it differs (dlen 0: the wire bytes) */
	uint32_t ts_w, ts_d;   /* offset of ts in wire / dump bytes; UINT32_MAX: none */
	int64_t ts_delta;      /* ts = wall clock at send + ts_delta */
	uint32_t user;         /* registered user (the HTTP Authorization token) */
	uint8_t registered, tok, valid, reason, type, bogus; /* bogus: 0xff or bogus_types[] */
	uint8_t key[16];
};

static struct {
	struct ent *e;
	uint32_t n;         /* entries generated in the current chunk */
	uint32_t cap;       /* entries the array holds */
	int pregen;         /* 1: a fixed pool, reused round robin; 0: chunks made on the fly */
	uint32_t group;     /* beacons per identity group (http: --batch; udp: 1) */
	uint64_t chunk_seq; /* seq of e[0] (on-the-fly mode) */
	char *arena;
	size_t alen, acap;
} P;

static uint32_t arena_put(const void *p, size_t n)
{
	if (P.alen + n > P.acap) {
		size_t cap = P.acap ? P.acap : 1u << 20;
		while (cap < P.alen + n)
			cap *= 2;
		if (cap > UINT32_MAX) {
			fprintf(stderr, PROG ": beacon pool over 4 GiB; lower --pool\n");
			exit(1);
		}
		char *a = realloc(P.arena, cap);
		if (!a) {
			fprintf(stderr, PROG ": out of memory for the beacon pool\n");
			exit(1);
		}
		P.arena = a;
		P.acap = cap;
	}
	memcpy(P.arena + P.alen, p, n);
	P.alen += n;
	return (uint32_t)(P.alen - n);
}

/* Replace buf[off, off+oldn) by `new` (newn bytes); buf holds *len of cap. */
static void splice(char *buf, size_t *len, size_t cap, size_t off, size_t oldn,
		   const char *new, size_t newn)
{
	if (*len - oldn + newn > cap)
		return;
	memmove(buf + off + newn, buf + off + oldn, *len - off - oldn);
	memcpy(buf + off, new, newn);
	*len = *len - oldn + newn;
}

/* Apply an invalid kind's JSON-level fault (bad UUID, unknown type,
 * malformed) to an encoded beacon.  `variant` picks among the forms.
 * Other kinds are faults of the record or token and change nothing here. */
static void json_mutate(char *buf, size_t *len, size_t cap, int kind, unsigned variant,
			unsigned bogus)
{
	if (kind == K_UNKNOWN_TYPE) {
		/* {"type":"NAME", */
		char *q = memchr(buf + 9, '"', *len - 9);
		if (q)
			splice(buf, len, cap, 9, (size_t)(q - buf - 9), bogus_types[bogus],
			       strlen(bogus_types[bogus]));
	} else if (kind == K_BAD_UUID) {
		static const char key[] = "\"session_id\":\"";
		char *p = memmem(buf, *len, key, sizeof(key) - 1);
		if (!p)
			return;
		size_t off = (size_t)(p - buf) + sizeof(key) - 1;
		char u[48], v[48];
		memcpy(u, buf + off, 36);
		u[36] = '\0';
		switch (variant % 5) {
		case 0: { /* dashes missing */
			size_t k = 0;
			for (size_t i = 0; i < 36; i++)
				if (u[i] != '-')
					v[k++] = u[i];
			v[k] = '\0';
			break;
		}
		case 1: snprintf(v, sizeof(v), "{%.36s}", u); break;
		case 2: snprintf(v, sizeof(v), "urn:uuid:%.36s", u); break;
		case 3: snprintf(v, sizeof(v), "%.35s", u); break;
		default: snprintf(v, sizeof(v), "%.36s", u); v[0] = 'g'; break;
		}
		splice(buf, len, cap, off, 36, v, strlen(v));
	} else if (kind == K_MALFORMED) {
		switch (variant % 4) {
		case 0: /* truncated */
			(*len)--;
			break;
		case 1: /* trailing garbage */
			splice(buf, len, cap, *len, 0, "x", 1);
			break;
		case 2: /* '=' for ':' after "type" */
			buf[7] = '=';
			break;
		default: /* not flat */
			splice(buf, len, cap, *len - 1, 0, ",\"tags\":[\"new\"]", 15);
			break;
		}
	}
}

/* Offset of the 13 ts digits in a JSON beacon, or UINT32_MAX. */
static uint32_t json_ts_off(const char *buf, size_t len)
{
	const char *p = memmem(buf, len, "\"ts\":", 5);
	if (!p || (size_t)(p - buf) + 5 + 13 > len)
		return UINT32_MAX;
	for (int i = 0; i < 13; i++)
		if (p[5 + i] < '0' || p[5 + i] > '9')
			return UINT32_MAX;
	if (p[5 + 13] >= '0' && p[5 + 13] <= '9')
		return UINT32_MAX;
	return (uint32_t)(p - buf + 5);
}

static unsigned w_all[BCN_T__COUNT], w_anon[BCN_T__COUNT];
static unsigned sum_all, sum_anon;

static unsigned pick_type(const unsigned *w, unsigned sum)
{
	unsigned x = (unsigned)rnd_below(sum);
	for (unsigned t = 1; t < BCN_T__COUNT; t++) {
		if (x < w[t])
			return t;
		x -= w[t];
	}
	return BCN_T_VIEW;
}

static unsigned pick_ugc_type(void)
{
	unsigned w[BCN_T__COUNT] = { 0 }, sum = 0;
	for (unsigned t = BCN_T_LIKE; t <= BCN_T_BOOKMARK; t++)
		sum += w[t] = O.type_w[t] ? O.type_w[t] : 1;
	return pick_type(w, sum);
}

/* Pick an invalid kind that this mode and identity can express. */
static int pick_kind(int http_registered)
{
	int list[K__COUNT], n = 0;
	for (int k = 1; k < K__COUNT; k++) {
		if (k == K_BAD_UUID && O.mode == M_UDP_BIN)
			continue; /* the binary form has no textual UUIDs */
		if (http_registered && (k == K_UGC_NOTOKEN || k == K_WRONG_KEY || k == K_EXPIRED))
			continue; /* the Authorization header decides those for the whole request */
		list[n++] = k;
	}
	return list[rnd_below((uint64_t)n)];
}

static char wbuf[WORK_CAP], dbuf[WORK_CAP];

/* Generate one beacon of identity `id` with invalid kind `kind` (K_NONE:
 * valid) into *e.  `gtok`: the HTTP group's token kind for registered users.
 * Exits 1 if an encoder fails (a bug). */
static void gen_line(struct ent *e, const struct ident *id, int kind, int gtok)
{
	int http_reg = O.mode == M_HTTP && id->registered;
	unsigned type;
	if (kind == K_UGC_NOTOKEN)
		type = pick_ugc_type();
	else if (id->registered || sum_anon == 0)
		type = pick_type(w_all, sum_all);
	else
		type = pick_type(w_anon, sum_anon);
	if (kind == K_MISSING && (type == BCN_T_PAGE || type == BCN_T_ACTION))
		type = BCN_T_VIEW;
	if (kind == K_RANGE && (type == BCN_T_PAGE || type == BCN_T_ACTION || type == BCN_T_BOOKMARK))
		type = BCN_T_VIEW;

	int64_t delta = 0;
	if (kind == K_SKEW)
		delta = rnd() & 1 ? -(int64_t)(25 * 3600000ll + (int64_t)rnd_below(23 * 3600000ull))
				  : (int64_t)(20 * 60000ll + (int64_t)rnd_below(100 * 60000ull));
	struct sess *s = sess_get(id->dev);
	rec_reset(type, wall_ms() + delta);
	memcpy(R.session_id, s->sid, 16);
	R.has |= BCN_HAS_SESSION;
	if (!id->registered) {
		memcpy(R.anon_id, id->key, 16);
		R.has |= BCN_HAS_ANON;
	}
	uint64_t from_pos = s->pos;
	switch (type) {
	case BCN_T_VIEW:
	case BCN_T_PLAYER:
		if (type == BCN_T_VIEW)
			fill_view(s);
		else
			fill_player(s);
		if (kind != K_SKEW) {
			/* ent_stamp re-applies this offset from "now" at send time */
			int64_t now = wall_ms();
			R.ts = sess_ts(s, from_pos);
			delta = R.ts - now;
		}
		break;
	case BCN_T_PAGE: fill_page(); break;
	case BCN_T_ACTION: fill_action(); break;
	case BCN_T_LIKE: {
		rec_film(rnd() % 5 < 3 ? s->film : pick_film());
		uint64_t x = rnd_below(10);
		R.score = (int8_t)(x < 7 ? 1 : x < 9 ? -1 : 0);
		R.has |= BCN_HAS_SCORE;
		break;
	}
	case BCN_T_REVIEW: {
		uint32_t f = rnd() % 5 < 3 ? s->film : pick_film();
		rec_film(f);
		/* one review per (user, film): a delete names the post's id */
		uuid_of(D_REVIEW, ((uint64_t)id->idx << 20) ^ f ^ ((uint64_t)id->registered << 62),
			R.review_id);
		R.has |= BCN_HAS_REVIEW;
		if (kind == K_RANGE || rnd_below(100) < 85) {
			R.op = BCN_OP_POST;
			R.rating = (uint8_t)rnd_in(1, 10);
			R.has |= BCN_HAS_RATING;
			fill_text();
		} else {
			R.op = BCN_OP_DELETE;
		}
		break;
	}
	case BCN_T_BOOKMARK:
		rec_film(rnd() % 5 < 3 ? s->film : pick_film());
		R.op = rnd_below(4) ? BCN_OP_ADD : BCN_OP_REMOVE;
		break;
	}

	/* record-level faults */
	if (kind == K_MISSING) {
		R.has &= (uint16_t)~BCN_HAS_FILM;
		memset(R.film_id, 0, 16);
	} else if (kind == K_RANGE) {
		if (type == BCN_T_VIEW || type == BCN_T_PLAYER) {
			R.duration_ms = s->dur;
			R.position_ms = s->dur + rnd_in(1000, 600000);
			R.has |= BCN_HAS_DURATION;
		} else if (type == BCN_T_LIKE) {
			R.score = (int8_t)(rnd() & 1 ? 2 : -2);
		} else {
			R.rating = (uint8_t)rnd_in(11, 20);
		}
	}

	/* token */
	int tk = TOK_NONE;
	if (kind == K_WRONG_KEY)
		tk = TOK_WRONG;
	else if (kind == K_EXPIRED)
		tk = TOK_EXPIRED;
	else if (http_reg)
		tk = gtok;
	else if (id->registered && kind != K_UGC_NOTOKEN)
		tk = TOK_GOOD;
	const char *tok = NULL;
	size_t tn = 0;
	if (tk != TOK_NONE)
		tok = user_token(tk, id->registered ? id->idx : (uint32_t)rnd_below(tok_users), &tn);

	unsigned variant = (unsigned)rnd_below(1000), bogus = (unsigned)rnd_below(
		sizeof(bogus_types) / sizeof(bogus_types[0]));
	size_t wn, dn = 0;
	uint32_t ts_w, ts_d = UINT32_MAX;
	int need_dump = dump_f && (O.mode == M_UDP_BIN || (http_reg && tok));
	if (O.mode == M_UDP_BIN) {
		wn = bcn_bin_encode(&R, tok, tn, (uint8_t *)wbuf, sizeof(wbuf) - 1);
		if (!wn)
			goto enc_fail;
		if (kind == K_UNKNOWN_TYPE)
			wbuf[3] = (char)(uint8_t)(8 + variant % 248);
		if (kind == K_MALFORMED)
			wbuf[wn++] = 'x'; /* bytes after the end */
		ts_w = 8;
		variant = 1; /* the dump's JSON: trailing garbage too */
	} else {
		wn = bcn_json_encode_beacon(&R, http_reg ? NULL : tok, http_reg ? 0 : tn, wbuf,
					    sizeof(wbuf) - 64);
		if (!wn)
			goto enc_fail;
		json_mutate(wbuf, &wn, sizeof(wbuf), kind, variant, bogus);
		ts_w = json_ts_off(wbuf, wn);
	}
	if (need_dump) {
		dn = bcn_json_encode_beacon(&R, tok, tn, dbuf, sizeof(dbuf) - 64);
		if (!dn)
			goto enc_fail;
		json_mutate(dbuf, &dn, sizeof(dbuf), kind, variant, bogus);
		ts_d = json_ts_off(dbuf, dn);
	}

	e->woff = arena_put(wbuf, wn);
	e->wlen = (uint32_t)wn;
	e->doff = dn ? arena_put(dbuf, dn) : 0;
	e->dlen = (uint32_t)dn;
	e->ts_w = ts_w;
	e->ts_d = ts_d;
	e->ts_delta = delta;
	e->user = id->idx;
	e->registered = (uint8_t)id->registered;
	e->tok = (uint8_t)tk;
	e->valid = kind == K_NONE;
	e->reason = kind_reason[kind];
	e->type = (uint8_t)type;
	e->bogus = kind == K_UNKNOWN_TYPE ? (uint8_t)bogus : 0xff;
	memcpy(e->key, id->key, 16);
	return;
enc_fail:
	fprintf(stderr, PROG ": encoder failed on a generated %s beacon (bug)\n", bcn_type_name(type));
	exit(1);
}

/* Generate n beacons from one device (an HTTP request's worth: the
 * Authorization header is per request). */
static void gen_group(struct ent *e, unsigned n)
{
	struct ident id;
	id.registered = O.users > 0 && (O.anon == 0 || sum_anon == 0 || rnd01() < O.reg_share);
	/* some viewers are far more active than others: index ~ N * u^2 */
	double u = rnd01();
	u *= u;
	if (id.registered) {
		id.idx = (uint32_t)((double)O.users * u);
		if (id.idx >= O.users)
			id.idx = O.users - 1;
		id.dev = id.idx;
		uuid_of(D_USER, id.idx, id.key);
	} else {
		id.idx = (uint32_t)((double)O.anon * u);
		if (id.idx >= O.anon)
			id.idx = O.anon - 1;
		id.dev = (uint64_t)O.users + id.idx;
		uuid_of(D_ANON, id.idx, id.key);
	}
	int gtok = id.registered ? TOK_GOOD : TOK_NONE;
	double q = O.inv_share;
	if (O.mode == M_HTTP && id.registered && q > 0) {
		/* a bad Authorization token spoils the whole request: draw it per
		 * request with the share token kinds would get per beacon */
		double p = q * 2.0 / 8.0;
		if (rnd01() < p)
			gtok = rnd() & 1 ? TOK_WRONG : TOK_EXPIRED;
		else
			q = (q - p) / (1.0 - p);
	}
	for (unsigned i = 0; i < n; i++) {
		int kind = K_NONE;
		if (gtok == TOK_WRONG)
			kind = K_WRONG_KEY;
		else if (gtok == TOK_EXPIRED)
			kind = K_EXPIRED;
		else if (q > 0 && rnd01() < q)
			kind = pick_kind(O.mode == M_HTTP && id.registered);
		gen_line(&e[i], &id, kind, gtok);
	}
}

/* Generate `n` beacons into P.e[0..n) in groups.  Exits 1 when out of
 * memory (arena_put). */
static void gen_chunk(uint32_t n)
{
	P.alen = 0;
	for (uint32_t i = 0; i < n; i += P.group)
		gen_group(&P.e[i], n - i < P.group ? n - i : P.group);
	P.n = n;
}

/* Set up the pool: pre-generated (rate 0) or chunk by chunk.  Exits 1 when
 * out of memory. */
static void pool_init(void)
{
	P.group = O.mode == M_HTTP ? O.batch : 1;
	P.pregen = O.rate == 0;
	uint64_t n;
	if (P.pregen) {
		n = O.count < O.pool_max ? O.count : O.pool_max;
		n = (n + P.group - 1) / P.group * P.group;
	} else {
		n = O.mode == M_HTTP ? P.group : UDP_BATCH;
	}
	if (n == 0)
		n = P.group;
	P.cap = (uint32_t)n;
	P.e = calloc(P.cap, sizeof(*P.e));
	if (!P.e) {
		fprintf(stderr, PROG ": out of memory for the beacon pool\n");
		exit(1);
	}
	if (P.pregen && O.count) {
		double t0 = mono();
		gen_chunk(P.cap);
		if (!O.quiet)
			fprintf(stderr, PROG ": generated %u distinct beacons (%.1f MiB) in %.2f s\n",
				P.n, (double)P.alen / 1048576.0, mono() - t0);
	}
	P.chunk_seq = 0;
}

/* Make beacon `seq` available; return it and, in *span, how many beacons
 * from seq on are available contiguously (up to the end of its group run). */
static struct ent *pool_get(uint64_t seq, uint32_t *span)
{
	if (P.pregen) {
		uint32_t i = (uint32_t)(seq % P.n);
		*span = P.n - i;
		return &P.e[i];
	}
	if (P.n == 0 || seq >= P.chunk_seq + P.n) {
		uint64_t left = O.count - seq;
		P.chunk_seq = seq;
		gen_chunk(left < P.cap ? (uint32_t)left : P.cap);
	}
	uint32_t i = (uint32_t)(seq - P.chunk_seq);
	*span = P.n - i;
	return &P.e[i];
}

static void put13(char *p, int64_t v)
{
	for (int i = 12; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Refresh ts (= now + the entry's skew) in the wire and dump bytes. */
static void ent_stamp(struct ent *e, int64_t now_ms)
{
	int64_t ts = now_ms + e->ts_delta;
	if (O.mode == M_UDP_BIN) {
		uint8_t *p = (uint8_t *)P.arena + e->woff + 8;
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)((uint64_t)ts >> (8 * i));
	} else if (e->ts_w != UINT32_MAX && ts >= 1000000000000ll && ts < 10000000000000ll) {
		put13(P.arena + e->woff + e->ts_w, ts);
	}
	if (e->dlen && e->ts_d != UINT32_MAX && ts >= 1000000000000ll && ts < 10000000000000ll)
		put13(P.arena + e->doff + e->ts_d, ts);
}

/* ---- accounting ------------------------------------------------------------------- */

static struct {
	uint64_t sent, sent_valid, sent_invalid, acked, rejected, lost, errors;
	uint64_t by_type[BCN_T__COUNT], by_reason[BCN_R__COUNT];
	uint64_t eagain, enobufs;
	uint64_t requests, retries_503, retries_429, retries_conn, timeouts, unparsed_400;
	uint64_t status[600];
	const char *stopped_by;
	int fatal;
	double t0, t_end;
} S;

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/* Record a beacon as sent: counters and the --dump* files.  Write errors
 * are not checked here: close_out reports them at the end (exit 1). */
static void account_sent(uint64_t seq, const struct ent *e, const char *dump_line, size_t dump_len)
{
	S.sent++;
	if (e->valid)
		S.sent_valid++;
	else
		S.sent_invalid++;
	S.by_type[e->type]++;
	S.by_reason[e->reason]++;
	if (dump_f) {
		fwrite(dump_line, 1, dump_len, dump_f);
		fputc('\n', dump_f);
	}
	if (meta_f || expect_f) {
		const char *tn = e->bogus != 0xff ? bogus_types[e->bogus] : bcn_type_name(e->type);
		if (meta_f) {
			char k[37];
			uuid_str(e->key, k);
			fprintf(meta_f, "%llu %s %s %s\n", (unsigned long long)seq + 1,
				e->valid ? "valid" : "invalid", tn, k);
		}
		if (expect_f) {
			if (e->valid)
				fprintf(expect_f, "ok %s\n", bcn_type_name(e->type));
			else
				fprintf(expect_f, "reject %s\n", bcn_reason_name(e->reason));
		}
	}
}

static const char *ent_dump(const struct ent *e, size_t *n)
{
	if (e->dlen) {
		*n = e->dlen;
		return P.arena + e->doff;
	}
	*n = e->wlen;
	return P.arena + e->woff;
}

/* ---- token bucket ------------------------------------------------------------------- */

static struct { double tokens, burst, last; } TB;

static void tb_init(double now, double unit)
{
	double b = O.rate / 50.0; /* 20 ms worth */
	if (b > UDP_BATCH)
		b = UDP_BATCH;
	if (b < unit)
		b = unit;
	TB.burst = b;
	TB.tokens = unit < b ? unit : b;
	TB.last = now;
}

static void tb_refill(double now)
{
	TB.tokens += (now - TB.last) * O.rate;
	if (TB.tokens > TB.burst)
		TB.tokens = TB.burst;
	TB.last = now;
}

/* Seconds until `need` tokens are there (0 if they are). */
static double tb_wait(double need)
{
	return TB.tokens >= need ? 0 : (need - TB.tokens) / O.rate;
}

/* ---- progress -------------------------------------------------------------------------- */

static double next_tick, last_tick;
static uint64_t last_sent;
static unsigned http_inflight(void);

static void progress(double now)
{
	if (now < next_tick)
		return;
	double dt = now - last_tick;
	if (!O.quiet) {
		fprintf(stderr, PROG ": t=%.0fs sent=%llu acked=%llu rate=%.0f/s", now - S.t0,
			(unsigned long long)S.sent,
			(unsigned long long)(O.mode == M_HTTP ? S.acked : S.sent),
			dt > 0 ? (double)(S.sent - last_sent) / dt : 0.0);
		if (O.mode == M_HTTP)
			fprintf(stderr, " inflight=%u retries_503=%llu", http_inflight(),
				(unsigned long long)S.retries_503);
		fprintf(stderr, " errors=%llu\n", (unsigned long long)S.errors);
	}
	last_sent = S.sent;
	last_tick = now;
	while (next_tick <= now)
		next_tick += 1.0;
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL); /* EINTR: the caller's loop re-checks */
}

/* ---- UDP ------------------------------------------------------------------------------------ */

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fatal(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	S.fatal = 1;
	S.errors++;
	S.stopped_by = "error";
}

/* Send --count beacons over UDP, 64 per sendmmsg.  Returns when done, at
 * the deadline, on a signal, or on a fatal socket error (S.fatal set). */
static void run_udp(double deadline)
{
	int fd = socket(O.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fatal("socket: %s", strerror(errno));
		return;
	}
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)); /* best effort */
	if (connect(fd, (struct sockaddr *)&O.addr, O.addrlen)) {
		fatal("connect udp %s: %s", O.target, strerror(errno));
		close(fd);
		return;
	}
	static struct mmsghdr msgs[UDP_BATCH];
	static struct iovec iov[UDP_BATCH];
	struct ent *batch[UDP_BATCH];
	uint64_t seq = 0;
	if (O.rate > 0)
		tb_init(mono(), 1);
	while (!S.fatal) {
		double now = mono();
		progress(now);
		if (seq >= O.count) {
			S.stopped_by = "count";
			break;
		}
		if (got_signal) {
			S.stopped_by = "signal";
			break;
		}
		if (now >= deadline) {
			S.stopped_by = "duration";
			break;
		}
		uint32_t span;
		pool_get(seq, &span);
		uint64_t want = O.count - seq;
		if (want > UDP_BATCH)
			want = UDP_BATCH;
		if (want > span)
			want = span;
		if (O.rate > 0) {
			tb_refill(now);
			if (TB.tokens < 1) {
				double w = tb_wait(1);
				if (now + w > next_tick)
					w = next_tick - now;
				if (now + w > deadline)
					w = deadline - now;
				sleep_s(w);
				continue;
			}
			if ((double)want > TB.tokens)
				want = (uint64_t)TB.tokens;
		}
		unsigned n = (unsigned)want;
		int64_t wall = wall_ms();
		for (unsigned i = 0; i < n; i++) {
			struct ent *e = pool_get(seq + i, &span);
			ent_stamp(e, wall);
			batch[i] = e;
			iov[i].iov_base = P.arena + e->woff;
			iov[i].iov_len = e->wlen;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, msgs, n, 0);
		if (r > 0) {
			for (int i = 0; i < r; i++) {
				size_t dn;
				const char *d = dump_f ? ent_dump(batch[i], &dn) : NULL;
				account_sent(seq + (uint64_t)i, batch[i], d, d ? dn : 0);
			}
			seq += (uint64_t)r;
			if (O.rate > 0)
				TB.tokens -= r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			S.eagain++;
			struct pollfd pfd = { fd, POLLOUT, 0 };
			poll(&pfd, 1, 10);
		} else if (r < 0 && errno == ENOBUFS) {
			S.enobufs++;
			poll(NULL, 0, 1);
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && errno == ECONNREFUSED) {
			fatal("udp %s: connection refused (nothing listening there)", O.target);
		} else {
			fatal("sendmmsg to %s: %s", O.target, r < 0 ? strerror(errno) : "sent nothing");
		}
	}
	/* A burst can end before the ICMP "port unreachable" of its first
	 * datagrams comes back: give it a moment (not counted in elapsed_s),
	 * then ask the socket. */
	S.t_end = mono();
	if (!S.fatal && S.sent) {
		struct pollfd pfd = { fd, 0, 0 };
		int err = 0;
		socklen_t el = sizeof(err);
		poll(&pfd, 1, 50);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err == ECONNREFUSED)
			fatal("udp %s: connection refused (nothing listening there)", O.target);
		else if (err)
			fatal("udp %s: %s", O.target, strerror(err));
	}
	close(fd);
	S.acked = S.sent; /* the kernel took them; UDP has no acknowledgement */
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* Latency: log-linear buckets (HDR style, 2^7 sub-buckets per power of two:
 * under 1 % error) of microseconds, up to 2^40 us.  Fixed memory. */
#define H_SUB_BITS 7
#define H_SUB      (1u << H_SUB_BITS)
#define H_MAXEXP   (40 - H_SUB_BITS)
#define H_N        ((H_MAXEXP + 2) * H_SUB)
static uint64_t hist[H_N], hist_n, hist_max;

static unsigned h_index(uint64_t v)
{
	if (v >= (1ull << 40))
		v = (1ull << 40) - 1;
	if (v < 2 * H_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned e = msb - H_SUB_BITS;
	return e * H_SUB + (unsigned)(v >> e);
}

static uint64_t h_upper(unsigned idx)
{
	if (idx < 2 * H_SUB)
		return idx;
	unsigned e = idx / H_SUB - 1, m = idx % H_SUB + H_SUB;
	return (((uint64_t)m + 1) << e) - 1;
}

static void h_record(double secs)
{
	uint64_t us = secs <= 0 ? 0 : (uint64_t)(secs * 1e6 + 0.5);
	hist[h_index(us)]++;
	hist_n++;
	if (us > hist_max)
		hist_max = us;
}

/* The value at quantile q, in ms (the bucket's upper bound, at most the max). */
static double h_quantile(double q)
{
	if (!hist_n)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)hist_n), acc = 0;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < H_N; i++) {
		acc += hist[i];
		if (acc >= rank) {
			uint64_t v = h_upper(i);
			return (double)(v < hist_max ? v : hist_max) / 1000.0;
		}
	}
	return (double)hist_max / 1000.0;
}

struct req {
	struct req *next;
	char *buf;           /* HDR_RESERVE + body */
	size_t cap;
	char *data;          /* the request's bytes: headers then body */
	size_t len;
	uint32_t lines, valid;
	unsigned conn_retries;
	double t_sent, due;
};

enum { CS_DOWN, CS_CONNECTING, CS_UP };

struct conn {
	int fd, state;
	struct req **fl;     /* in flight, FIFO, capacity --pipeline */
	unsigned head, n, nwritten;
	size_t wr_off;
	char *in;
	size_t in_len, in_cap;
	char *body;          /* decoded chunked body */
	size_t body_cap;
	uint32_t events;
};

static struct conn *conns;
static struct req *free_reqs, *retry_head, *retry_tail;
static int epfd = -1;
static double hold_until;   /* no sends before this (Retry-After) */
static uint64_t http_seq;   /* next beacon to put in a new request */

static unsigned http_inflight(void)
{
	unsigned n = 0;
	for (unsigned i = 0; conns && i < O.conns; i++)
		n += conns[i].n;
	return n;
}

static void retry_push(struct req *q)
{
	q->next = NULL;
	if (retry_tail)
		retry_tail->next = q;
	else
		retry_head = q;
	retry_tail = q;
}

static void req_free(struct req *q)
{
	q->next = free_reqs;
	free_reqs = q;
}

/* Build the next request from the pool: one device's beacons, at most
 * --batch lines and 256 KiB.  Returns the number of lines, or 0 when
 * there's nothing to send or the rate limit says wait. */
static uint32_t http_build(struct req *q, double now)
{
	uint32_t span;
	struct ent *first = pool_get(http_seq, &span);
	uint64_t n = O.count - http_seq;
	uint64_t to_group_end = P.group - (P.pregen ? (http_seq % P.n) : (http_seq - P.chunk_seq)) % P.group;
	if (n > to_group_end)
		n = to_group_end;
	if (n > span)
		n = span;
	if (O.rate > 0) {
		tb_refill(now);
		if (TB.tokens < (double)n)
			return 0;
	}
	size_t need = HDR_RESERVE + (size_t)n * (BCN_MAX_BEACON + 1);
	if (need > HDR_RESERVE + HTTP_BODY_MAX)
		need = HDR_RESERVE + HTTP_BODY_MAX;
	if (q->cap < need) {
		char *b = realloc(q->buf, need);
		if (!b) {
			fatal("out of memory for a request");
			return 0;
		}
		q->buf = b;
		q->cap = need;
	}
	char *body = q->buf + HDR_RESERVE;
	size_t blen = 0;
	int64_t wall = wall_ms();
	uint32_t lines = 0, valid = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct ent *e = pool_get(http_seq + i, &span);
		size_t add = e->wlen + (O.batch > 1 ? 1 : 0);
		if (blen + add > HTTP_BODY_MAX && lines)
			break;
		ent_stamp(e, wall);
		memcpy(body + blen, P.arena + e->woff, e->wlen);
		blen += e->wlen;
		if (O.batch > 1)
			body[blen++] = '\n';
		size_t dn;
		const char *d = dump_f ? ent_dump(e, &dn) : NULL;
		account_sent(http_seq + i, e, d, d ? dn : 0);
		lines++;
		valid += e->valid;
	}
	char auth[BCN_MAX_TOKEN + 64] = "";
	if (first->registered && first->tok != TOK_NONE) {
		size_t tn;
		const char *t = user_token(first->tok, first->user, &tn);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %.*s\r\n", (int)tn, t);
	}
	char hdr[HDR_RESERVE];
	int hl = snprintf(hdr, sizeof(hdr),
			  "POST /v1/beacons HTTP/1.1\r\nHost: %s\r\nUser-Agent: " PROG "\r\n"
			  "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			  O.host_hdr, O.batch > 1 ? "application/x-ndjson" : "application/json",
			  blen, auth);
	q->data = body - hl;
	memcpy(q->data, hdr, (size_t)hl);
	q->len = (size_t)hl + blen;
	q->lines = lines;
	q->valid = valid;
	q->conn_retries = 0;
	http_seq += lines;
	if (O.rate > 0)
		TB.tokens -= lines;
	S.requests++;
	return lines;
}

/* The next request to send: a retry that is due, else a new one; NULL if
 * none may go now (Retry-After hold, rate limit, all requests in use). */
static struct req *http_next(double now)
{
	if (now < hold_until)
		return NULL;
	struct req *prev = NULL;
	for (struct req *q = retry_head; q; prev = q, q = q->next) {
		if (q->due <= now) {
			if (prev)
				prev->next = q->next;
			else
				retry_head = q->next;
			if (retry_tail == q)
				retry_tail = prev;
			q->next = NULL;
			return q;
		}
	}
	if (http_seq >= O.count || !free_reqs || S.fatal)
		return NULL;
	struct req *q = free_reqs;
	if (!http_build(q, now))
		return NULL;
	free_reqs = q->next;
	q->next = NULL;
	return q;
}

static void conn_events(struct conn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
	c->events = ev;
}

/* Open a connection.  Returns 0 (connected or in progress), or -1 with
 * S.fatal set (e.g. connection refused). */
static int conn_open(struct conn *c)
{
	c->fd = socket(O.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fatal("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = CS_CONNECTING;
	if (connect(c->fd, (struct sockaddr *)&O.addr, O.addrlen) == 0)
		c->state = CS_UP;
	else if (errno != EINPROGRESS) {
		fatal("connect %s: %s", O.target, strerror(errno));
		close(c->fd);
		c->fd = -1;
		c->state = CS_DOWN;
		return -1;
	}
	c->events = EPOLLIN | EPOLLRDHUP | (c->state == CS_CONNECTING ? EPOLLOUT : 0);
	struct epoll_event e = { .events = c->events, .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e)) {
		fatal("epoll_ctl: %s", strerror(errno));
		close(c->fd);
		c->fd = -1;
		c->state = CS_DOWN;
		return -1;
	}
	c->in_len = 0;
	c->head = c->n = c->nwritten = 0;
	c->wr_off = 0;
	return 0;
}

/* Close a connection; requests in flight are resent on another one (at most
 * CONN_RETRIES times each after a failure, then counted lost; without limit
 * after the server said "Connection: close", since it has not read them).
 * lose_head: the oldest one is lost instead (it timed out: the server may
 * have ingested it). */
static void conn_close2(struct conn *c, int lose_head, int graceful, double now)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CS_DOWN;
	for (unsigned i = 0; i < c->n; i++) {
		struct req *q = c->fl[(c->head + i) % O.pipeline];
		if ((i == 0 && lose_head) || q->conn_retries >= CONN_RETRIES) {
			S.lost += q->lines;
			req_free(q);
			continue;
		}
		if (!graceful)
			q->conn_retries++;
		S.retries_conn++;
		q->due = now;
		retry_push(q);
	}
	c->head = c->n = c->nwritten = 0;
	c->wr_off = 0;
	c->in_len = 0;
}

static void conn_close(struct conn *c, int lose_head, double now)
{
	conn_close2(c, lose_head, 0, now);
}

/* Write what is pending.  Returns 0, or -1 if the connection failed (then
 * it is closed). */
static int conn_flush(struct conn *c, double now)
{
	while (c->state == CS_UP && c->nwritten < c->n) {
		struct req *q = c->fl[(c->head + c->nwritten) % O.pipeline];
		if (c->wr_off == 0)
			q->t_sent = now;
		ssize_t w = send(c->fd, q->data + c->wr_off, q->len - c->wr_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			S.errors++;
			conn_close(c, 0, now);
			return -1;
		}
		c->wr_off += (size_t)w;
		if (c->wr_off == q->len) {
			c->nwritten++;
			c->wr_off = 0;
		}
	}
	if (c->state == CS_UP)
		conn_events(c, EPOLLIN | EPOLLRDHUP | (c->nwritten < c->n ? EPOLLOUT : 0));
	return 0;
}

/* Accepted lines of a 400 body, if it says: "accepted":N, "rejected":N, or
 * one "reason" per rejected line.  Returns -1 if it can't tell. */
static long accepted_of_400(const char *b, size_t n, uint32_t lines)
{
	static const char *const keys[] = { "\"accepted\"", "\"rejected\"" };
	for (int k = 0; k < 2; k++) {
		const char *p = memmem(b, n, keys[k], strlen(keys[k]));
		if (!p)
			continue;
		p += strlen(keys[k]);
		while (p < b + n && (*p == ' ' || *p == ':'))
			p++;
		if (p < b + n && *p >= '0' && *p <= '9') {
			long v = strtol(p, NULL, 10);
			if (v > (long)lines)
				v = lines;
			return k == 0 ? v : (long)lines - v;
		}
	}
	long reasons = 0;
	for (const char *p = b; (p = memmem(p, (size_t)(b + n - p), "\"reason\"", 8)); p += 8)
		reasons++;
	if (reasons > 0)
		return reasons > (long)lines ? 0 : (long)lines - reasons;
	return -1;
}

static int hdr_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	return n > k && line[k] == ':' && !strncasecmp(line, name, k);
}

static const char *hdr_val(const char *line, size_t n, size_t *vn, size_t name_len)
{
	const char *v = line + name_len + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vn = (size_t)(end - v);
	return v;
}

/* Act on a complete response to the oldest request in flight. */
static void http_response(struct conn *c, int status, const char *body, size_t blen,
			  double retry_after, double now)
{
	struct req *q = c->fl[c->head];
	c->head = (c->head + 1) % O.pipeline;
	c->n--;
	c->nwritten--;
	if (status >= 100 && status < 600)
		S.status[status]++;
	h_record(now - q->t_sent);
	if (status >= 200 && status < 300) {
		S.acked += q->lines;
	} else if (status == 503 || status == 429) {
		if (status == 503)
			S.retries_503++;
		else
			S.retries_429++;
		if (retry_after < 0)
			retry_after = 1.0;
		q->due = now + retry_after;
		if (q->due > hold_until)
			hold_until = q->due;
		retry_push(q);
		return;
	} else if (status == 400) {
		long a = accepted_of_400(body, blen, q->lines);
		if (a < 0) {
			S.unparsed_400++;
			a = q->valid; /* we know which lines we made valid */
		}
		S.acked += (uint64_t)a;
		S.rejected += q->lines - (uint64_t)a;
	} else if (status >= 400 && status < 500) {
		S.rejected += q->lines;
	} else {
		S.errors++;
		S.lost += q->lines;
	}
	req_free(q);
}

/* Parse complete responses out of c->in.  Returns 0, 1 if the server asked
 * to close the connection, or -1 on a protocol error. */
static int conn_parse(struct conn *c, int eof, double now)
{
	for (;;) {
		if (c->in_len == 0)
			return 0;
		char *in = c->in;
		char *he = memmem(in, c->in_len, "\r\n\r\n", 4);
		if (!he)
			return (eof || c->in_len > 65536) ? -1 : 0;
		size_t hlen = (size_t)(he - in) + 4;
		if (c->in_len < 12 || memcmp(in, "HTTP/1.", 7) || in[8] != ' ' ||
		    in[9] < '1' || in[9] > '5' || in[10] < '0' || in[10] > '9' ||
		    in[11] < '0' || in[11] > '9')
			return -1;
		int status = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
		long long clen = -1;
		int chunked = 0, close_conn = in[7] == '0';
		double retry_after = -1;
		for (char *l = (char *)memchr(in, '\n', hlen) + 1; l < he;) {
			char *nl = memchr(l, '\n', (size_t)(he + 2 - l));
			size_t n = (size_t)(nl - l);
			if (n && l[n - 1] == '\r')
				n--;
			size_t vn;
			const char *v;
			if (hdr_is(l, n, "content-length")) {
				v = hdr_val(l, n, &vn, 14);
				char tmp[24];
				if (vn == 0 || vn >= sizeof(tmp))
					return -1;
				memcpy(tmp, v, vn);
				tmp[vn] = '\0';
				char *end;
				clen = strtoll(tmp, &end, 10);
				if (*end || clen < 0)
					return -1;
			} else if (hdr_is(l, n, "transfer-encoding")) {
				v = hdr_val(l, n, &vn, 17);
				chunked = memmem(v, vn, "chunked", 7) != NULL;
			} else if (hdr_is(l, n, "connection")) {
				v = hdr_val(l, n, &vn, 10);
				if (vn >= 5 && memmem(v, vn, "close", 5))
					close_conn = 1;
			} else if (hdr_is(l, n, "retry-after")) {
				v = hdr_val(l, n, &vn, 11);
				char tmp[32];
				if (vn && vn < sizeof(tmp)) {
					memcpy(tmp, v, vn);
					tmp[vn] = '\0';
					char *end;
					double ra = strtod(tmp, &end);
					retry_after = (*end || !(ra >= 0) || ra > 3600) ? 1.0 : ra;
				}
			}
			l = nl + 1;
		}
		if (status < 200) { /* 1xx: interim, no body */
			memmove(in, in + hlen, c->in_len - hlen);
			c->in_len -= hlen;
			continue;
		}
		const char *body = in + hlen;
		size_t blen = 0, total;
		if (status == 204 || status == 304) {
			total = hlen;
		} else if (chunked) {
			size_t p = hlen, o = 0;
			int done = 0;
			while (!done) {
				char *nl = memchr(in + p, '\n', c->in_len - p);
				if (!nl)
					return eof ? -1 : 0;
				char *end;
				unsigned long long sz = strtoull(in + p, &end, 16);
				if (end == in + p || sz > IN_MAX)
					return -1;
				p = (size_t)(nl - in) + 1;
				if (sz == 0) { /* trailers until an empty line */
					for (;;) {
						nl = memchr(in + p, '\n', c->in_len - p);
						if (!nl)
							return eof ? -1 : 0;
						size_t ln = (size_t)(nl - (in + p));
						p = (size_t)(nl - in) + 1;
						if (ln == 0 || (ln == 1 && in[p - 2] == '\r'))
							break;
					}
					done = 1;
					break;
				}
				if (c->in_len - p < sz + 2)
					return eof ? -1 : 0;
				if (o + sz > c->body_cap) {
					size_t cap = c->body_cap ? c->body_cap : 4096;
					while (cap < o + sz)
						cap *= 2;
					char *b = realloc(c->body, cap);
					if (!b)
						return -1;
					c->body = b;
					c->body_cap = cap;
				}
				memcpy(c->body + o, in + p, sz);
				o += sz;
				p += sz + 2;
			}
			total = p;
			body = c->body;
			blen = o;
		} else if (clen >= 0) {
			if (c->in_len - hlen < (size_t)clen)
				return eof ? -1 : 0;
			blen = (size_t)clen;
			total = hlen + blen;
		} else { /* delimited by the end of the connection */
			if (!eof)
				return 0;
			blen = c->in_len - hlen;
			total = c->in_len;
			close_conn = 1;
		}
		if (c->nwritten == 0)
			return -1; /* a response to nothing we sent */
		http_response(c, status, body, blen, retry_after, now);
		memmove(in, in + total, c->in_len - total);
		c->in_len -= total;
		if (close_conn)
			return 1;
	}
}

/* Read and handle what the server sent.  Closes the connection on EOF,
 * error, protocol error or "Connection: close". */
static void conn_read(struct conn *c, double now)
{
	for (;;) {
		if (c->in_cap - c->in_len < 16384) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
			char *b = cap <= IN_MAX ? realloc(c->in, cap) : NULL;
			if (!b) {
				S.errors++;
				conn_close(c, 0, now);
				return;
			}
			c->in = b;
			c->in_cap = cap;
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r > 0) {
			c->in_len += (size_t)r;
			int rc = conn_parse(c, 0, now);
			if (rc < 0) {
				fprintf(stderr, PROG ": malformed HTTP response from %s\n", O.target);
				S.errors++;
				conn_close(c, 1, now);
				return;
			}
			if (rc == 1) {
				conn_close2(c, 0, 1, now);
				return;
			}
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EINTR)
			continue;
		/* EOF or error */
		if (r == 0 && conn_parse(c, 1, now) < 0)
			S.errors++;
		if (r < 0 && errno == ECONNREFUSED) {
			fatal("connect %s: connection refused", O.target);
		} else if (c->n) {
			S.errors++;
		}
		conn_close(c, 0, now);
		return;
	}
}

/* Send --count beacons over HTTP with --conns keep-alive connections and
 * --pipeline requests in flight on each, in one epoll loop.  Returns when
 * every beacon is answered, at the deadline, on a signal, or on a fatal
 * error (S.fatal set: e.g. connection refused). */
static void run_http(double deadline)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fatal("epoll_create1: %s", strerror(errno));
		return;
	}
	conns = calloc(O.conns, sizeof(*conns));
	unsigned nreq = O.conns * O.pipeline;
	struct req *reqs = calloc(nreq, sizeof(*reqs));
	if (!conns || !reqs) {
		fatal("out of memory");
		return;
	}
	for (unsigned i = 0; i < nreq; i++)
		req_free(&reqs[i]);
	for (unsigned i = 0; i < O.conns; i++) {
		conns[i].fd = -1;
		conns[i].fl = calloc(O.pipeline, sizeof(struct req *));
		if (!conns[i].fl) {
			fatal("out of memory");
			return;
		}
	}
	if (O.rate > 0)
		tb_init(mono(), O.batch);
	unsigned rr = 0;
	while (!S.fatal) {
		double now = mono();
		progress(now);
		if (got_signal) {
			S.stopped_by = "signal";
			break;
		}
		if (now >= deadline) {
			S.stopped_by = "duration";
			break;
		}
		int work = http_seq < O.count || retry_head;
		if (!work && http_inflight() == 0) {
			S.stopped_by = "count";
			break;
		}
		/* request timeouts */
		for (unsigned i = 0; i < O.conns; i++) {
			struct conn *c = &conns[i];
			if (c->state == CS_UP && (c->nwritten || c->wr_off) &&
			    now - c->fl[c->head]->t_sent > O.timeout) {
				S.timeouts++;
				S.errors++;
				conn_close(c, 1, now);
			}
		}
		/* dispatch, round robin over the connections */
		for (unsigned k = 0; k < O.conns && !S.fatal; k++) {
			struct conn *c = &conns[(rr + k) % O.conns];
			if (c->state == CS_DOWN) {
				if (!(http_seq < O.count || retry_head) || now < hold_until)
					continue;
				if (conn_open(c))
					break;
			}
			while (c->state == CS_UP && c->n < O.pipeline) {
				struct req *q = http_next(now);
				if (!q)
					break;
				c->fl[(c->head + c->n) % O.pipeline] = q;
				c->n++;
			}
			conn_flush(c, now);
		}
		rr++;
		if (S.fatal)
			break;
		/* how long to wait */
		double wake = next_tick < deadline ? next_tick : deadline;
		if (hold_until > now && hold_until < wake)
			wake = hold_until;
		for (struct req *q = retry_head; q; q = q->next) {
			double d = q->due > hold_until ? q->due : hold_until;
			if (d < wake)
				wake = d;
		}
		if (O.rate > 0 && http_seq < O.count && free_reqs) {
			double d = now + tb_wait(O.batch < O.count - http_seq ? O.batch
							: (double)(O.count - http_seq));
			if (d < wake)
				wake = d;
		}
		if (http_inflight() && now + 0.1 < wake)
			wake = now + 0.1; /* for the timeout check */
		int ms = (int)ceil((wake - now) * 1000.0);
		if (ms < 0)
			ms = 0;
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, ms);
		if (n < 0 && errno != EINTR) {
			fatal("epoll_wait: %s", strerror(errno));
			break;
		}
		now = mono();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->state == CS_DOWN)
				continue; /* closed while handling an earlier event */
			if (c->state == CS_CONNECTING) {
				int err = 0;
				socklen_t el = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					fatal("connect %s: %s", O.target, strerror(err));
					break;
				}
				if (!(evs[i].events & (EPOLLOUT | EPOLLIN)))
					continue;
				c->state = CS_UP;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				conn_read(c, now);
			if (c->state == CS_UP && (evs[i].events & EPOLLOUT))
				conn_flush(c, now);
		}
	}
	/* whatever is unanswered now is lost */
	double now = mono();
	for (unsigned i = 0; i < O.conns; i++) {
		struct conn *c = &conns[i];
		for (unsigned k = 0; k < c->n; k++)
			S.lost += c->fl[(c->head + k) % O.pipeline]->lines;
		c->n = 0;
		if (c->fd >= 0)
			conn_close(c, 0, now);
		free(c->fl);
		free(c->in);
		free(c->body);
	}
	for (struct req *q = retry_head; q; q = q->next)
		S.lost += q->lines;
	retry_head = retry_tail = NULL;
	for (unsigned i = 0; i < nreq; i++)
		free(reqs[i].buf);
	free(reqs);
	free(conns);
	conns = NULL;
	close(epfd);
}

/* ---- main -------------------------------------------------------------------------------------- */

/* The machine-readable summary on stdout ("name value" per line). */
static void summary(void)
{
	double el = S.t_end - S.t0;
	printf("mode %s\n", mode_names[O.mode]);
	printf("target %s\n", O.target);
	printf("count %llu\n", (unsigned long long)O.count);
	printf("sent %llu\n", (unsigned long long)S.sent);
	printf("sent_valid %llu\n", (unsigned long long)S.sent_valid);
	printf("sent_invalid %llu\n", (unsigned long long)S.sent_invalid);
	printf("acked %llu\n", (unsigned long long)S.acked);
	printf("rejected %llu\n", (unsigned long long)S.rejected);
	uint64_t unacked = S.sent - S.acked;
	printf("lost %llu\n", (unsigned long long)(unacked - S.rejected));
	printf("unacked %llu\n", (unsigned long long)unacked);
	for (unsigned t = 1; t < BCN_T__COUNT; t++)
		printf("sent_type_%s %llu\n", bcn_type_name(t), (unsigned long long)S.by_type[t]);
	for (unsigned r = 1; r < BCN_R__COUNT; r++)
		if (S.by_reason[r])
			printf("invalid_%s %llu\n", bcn_reason_name(r), (unsigned long long)S.by_reason[r]);
	if (O.mode == M_HTTP) {
		printf("requests %llu\n", (unsigned long long)S.requests);
		for (unsigned s = 100; s < 600; s++)
			if (S.status[s] || s == 204 || s == 400 || s == 401 || s == 413 || s == 503)
				printf("http_status_%u %llu\n", s, (unsigned long long)S.status[s]);
		printf("retries_503 %llu\n", (unsigned long long)S.retries_503);
		if (S.retries_429)
			printf("retries_429 %llu\n", (unsigned long long)S.retries_429);
		printf("retries_conn %llu\n", (unsigned long long)S.retries_conn);
		printf("timeouts %llu\n", (unsigned long long)S.timeouts);
		printf("http_400_unparsed %llu\n", (unsigned long long)S.unparsed_400);
	} else {
		printf("udp_eagain %llu\n", (unsigned long long)S.eagain);
		printf("udp_enobufs %llu\n", (unsigned long long)S.enobufs);
	}
	printf("errors %llu\n", (unsigned long long)S.errors);
	printf("elapsed_s %.3f\n", el);
	printf("rate_per_s %.1f\n", el > 0 ? (double)S.sent / el : 0.0);
	if (O.mode == M_HTTP) {
		printf("latency_p50_ms %.3f\n", h_quantile(0.50));
		printf("latency_p99_ms %.3f\n", h_quantile(0.99));
		printf("latency_p999_ms %.3f\n", h_quantile(0.999));
		printf("latency_max_ms %.3f\n", (double)hist_max / 1000.0);
	}
	printf("stopped_by %s\n", S.stopped_by ? S.stopped_by : "count");
	fflush(stdout);
}

/* Open a --dump* file for writing; exits 2 if it can't (before anything
 * is sent). */
static FILE *open_out(const char *path, const char *opt)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, PROG ": %s %s: %s\n", opt, path, strerror(errno));
		exit(2);
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

/* Close a --dump* file; returns 0, or -1 (with a message) on a write error. */
static int close_out(FILE *f, const char *path)
{
	if (!f)
		return 0;
	int bad = ferror(f);
	if (fclose(f) || bad) {
		fprintf(stderr, PROG ": write error on %s\n", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_MODE = 256, OPT_TARGET, OPT_COUNT, OPT_DURATION, OPT_RATE, OPT_BATCH,
		OPT_CONNS, OPT_PIPELINE, OPT_TIMEOUT, OPT_USERS, OPT_ANON, OPT_FILMS,
		OPT_REG, OPT_INV, OPT_TYPES, OPT_SEED, OPT_KEY, OPT_POOL, OPT_DUMP,
		OPT_META, OPT_EXPECT, OPT_QUIET, OPT_HELP,
	};
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "conns", required_argument, NULL, OPT_CONNS },
		{ "pipeline", required_argument, NULL, OPT_PIPELINE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "users", required_argument, NULL, OPT_USERS },
		{ "anon", required_argument, NULL, OPT_ANON },
		{ "films", required_argument, NULL, OPT_FILMS },
		{ "registered-share", required_argument, NULL, OPT_REG },
		{ "invalid-share", required_argument, NULL, OPT_INV },
		{ "types", required_argument, NULL, OPT_TYPES },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "jwt-key", required_argument, NULL, OPT_KEY },
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "dump", required_argument, NULL, OPT_DUMP },
		{ "dump-meta", required_argument, NULL, OPT_META },
		{ "dump-expect", required_argument, NULL, OPT_EXPECT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	static const unsigned def_w[BCN_T__COUNT] = { 0, 60, 15, 10, 5, 5, 2, 3 };
	uint64_t u;
	int c;

	O.mode = M_UDP_JSON;
	O.count = 100000;
	O.duration = 60;
	O.timeout = 10;
	O.batch = 1;
	O.conns = 4;
	O.pipeline = 1;
	O.pool_max = 65536;
	O.users = 1000;
	O.anon = 10000;
	O.films = 500;
	O.reg_share = 0.3;
	O.seed = 1;
	O.jwt_key = "dev-key";
	memcpy(O.type_w, def_w, sizeof(def_w));

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case OPT_MODE:
			if (!strcmp(a, "udp-json")) O.mode = M_UDP_JSON;
			else if (!strcmp(a, "udp-bin")) O.mode = M_UDP_BIN;
			else if (!strcmp(a, "http")) O.mode = M_HTTP;
			else die_usage("--mode must be udp-json, udp-bin or http, not '%s'", a);
			break;
		case OPT_TARGET: O.target = a; break;
		case OPT_COUNT:
			if (parse_u64(a, 0, 1000000000000ull, &O.count))
				die_usage("--count needs an integer 0..10^12, not '%s'", a);
			break;
		case OPT_DURATION:
			if (parse_dbl(a, 0.001, MAX_DURATION_S, &O.duration))
				die_usage("--duration needs seconds in (0, %.0f], not '%s'", MAX_DURATION_S, a);
			break;
		case OPT_RATE:
			if (parse_dbl(a, 0, 1e9, &O.rate))
				die_usage("--rate needs beacons/s >= 0, not '%s'", a);
			break;
		case OPT_BATCH:
			if (parse_u64(a, 1, HTTP_LINES_MAX, &u))
				die_usage("--batch needs 1..%u, not '%s'", HTTP_LINES_MAX, a);
			O.batch = (unsigned)u;
			break;
		case OPT_CONNS:
			if (parse_u64(a, 1, 1024, &u))
				die_usage("--conns needs 1..1024, not '%s'", a);
			O.conns = (unsigned)u;
			break;
		case OPT_PIPELINE:
			if (parse_u64(a, 1, 128, &u))
				die_usage("--pipeline needs 1..128, not '%s'", a);
			O.pipeline = (unsigned)u;
			break;
		case OPT_TIMEOUT:
			if (parse_dbl(a, 0.001, 600, &O.timeout))
				die_usage("--timeout needs seconds in (0, 600], not '%s'", a);
			break;
		case OPT_USERS:
			if (parse_u64(a, 0, MAX_USERS, &u))
				die_usage("--users needs 0..%u, not '%s'", MAX_USERS, a);
			O.users = (uint32_t)u;
			break;
		case OPT_ANON:
			if (parse_u64(a, 0, MAX_ANON, &u))
				die_usage("--anon needs 0..%u, not '%s'", MAX_ANON, a);
			O.anon = (uint32_t)u;
			break;
		case OPT_FILMS:
			if (parse_u64(a, 1, MAX_FILMS, &u))
				die_usage("--films needs 1..%u, not '%s'", MAX_FILMS, a);
			O.films = (uint32_t)u;
			break;
		case OPT_REG:
			if (parse_dbl(a, 0, 1, &O.reg_share))
				die_usage("--registered-share needs 0..1, not '%s'", a);
			break;
		case OPT_INV:
			if (parse_dbl(a, 0, 1, &O.inv_share))
				die_usage("--invalid-share needs 0..1, not '%s'", a);
			break;
		case OPT_TYPES:
			if (parse_types(a))
				die_usage("--types needs TYPE=WEIGHT,... with the seven type names, not '%s'", a);
			break;
		case OPT_SEED:
			if (parse_u64(a, 0, UINT64_MAX, &O.seed))
				die_usage("--seed needs a non-negative integer, not '%s'", a);
			break;
		case OPT_KEY: O.jwt_key = a; break;
		case OPT_POOL:
			if (parse_u64(a, 1, 1u << 20, &u))
				die_usage("--pool needs 1..%u, not '%s'", 1u << 20, a);
			O.pool_max = (unsigned)u;
			break;
		case OPT_DUMP: O.dump = a; break;
		case OPT_META: O.dump_meta = a; break;
		case OPT_EXPECT: O.dump_expect = a; break;
		case OPT_QUIET: O.quiet = 1; break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			if (optopt)
				die_usage("option needs an argument or is unknown: %s", argv[optind - 1]);
			die_usage("unknown option: %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument: %s", argv[optind]);

	/* the target, and the network rule, before anything is opened */
	if (!O.target)
		O.target = O.mode == M_HTTP ? "127.0.0.1:8080" : "127.0.0.1:7070";
	if (parse_target(O.target))
		die_usage("--target needs a numeric IPv4:PORT or [IPv6]:PORT, not '%s'", O.target);
	if (!target_is_loopback() && !in_private_netns()) {
		fprintf(stderr, PROG ": refusing to send to %s: only loopback targets (127.0.0.0/8, ::1) "
			"are allowed outside a network namespace of the test's own\n", O.target);
		return 2;
	}

	/* the audience */
	sum_all = sum_anon = 0;
	for (unsigned t = 1; t < BCN_T__COUNT; t++) {
		w_all[t] = O.type_w[t];
		w_anon[t] = bcn_type_needs_user(t) ? 0 : O.type_w[t];
		sum_all += w_all[t];
		sum_anon += w_anon[t];
	}
	/* with --anon 0 (or only like/review/bookmark weighted) every beacon
	 * comes from a registered user, whatever --registered-share says */
	if (sum_all == 0)
		die_usage("--types gives every type weight 0");
	if (O.users == 0 && O.anon == 0)
		die_usage("--users and --anon are both 0: nobody to send beacons");
	if (O.users == 0 && O.reg_share > 0)
		die_usage("--users 0 needs --registered-share 0");
	if (O.users == 0 && sum_anon == 0)
		die_usage("--types has only like/review/bookmark, which need --users > 0");

	struct bcn_jwt_keys keys;
	if (bcn_jwt_keys_parse(&keys, O.jwt_key, 1))
		die_usage("--jwt-key: empty, a key over %d bytes, or bad hex", BCN_JWT_MAX_KEYLEN);
	jwt_key_len = keys.k[0].len;
	memcpy(jwt_key, keys.k[0].key, jwt_key_len);
	memcpy(wrong_key, "beacon-blast-wrong:", 19);
	memcpy(wrong_key + 19, jwt_key, jwt_key_len);
	wrong_key_len = 19 + jwt_key_len;
	tok_users = O.users ? O.users : 1;

	if (O.dump)
		dump_f = open_out(O.dump, "--dump");
	if (O.dump_meta)
		meta_f = open_out(O.dump_meta, "--dump-meta");
	if (O.dump_expect)
		expect_f = open_out(O.dump_expect, "--dump-expect");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	start_s = wall_ms() / 1000;
	rng = mix64(O.seed ^ 0x243f6a8885a308d3ull);
	sessions = calloc(1u << SESS_BITS, sizeof(*sessions));
	if (!sessions) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	pool_init();

	S.t0 = mono();
	last_tick = S.t0;
	next_tick = S.t0 + 1.0;
	double deadline = S.t0 + O.duration;
	if (O.count == 0)
		S.stopped_by = "count";
	else if (O.mode == M_HTTP)
		run_http(deadline);
	else
		run_udp(deadline);
	if (S.t_end == 0)
		S.t_end = mono();
	if (got_signal && !S.stopped_by)
		S.stopped_by = "signal";

	int rc = S.fatal || got_signal ? 1 : 0;
	if (close_out(dump_f, O.dump) | close_out(meta_f, O.dump_meta) |
	    close_out(expect_f, O.dump_expect))
		rc = 1;
	summary();
	return rc;
}
