/*
 * beacon_lint.c - the contract's reference check for client teams.
 *
 * Why this exists: a player or site team must be able to ask "would beacond
 * accept this?" without running the appliance.  It calls exactly the entry
 * point the appliance's workers call (bcn_ingest), so the answer is the
 * appliance's answer.
 *
 *   beacon-lint [--jwt-key KEYS] [--binary] [--now MS] [--skew-past MS]
 *               [--skew-future MS] [--quiet] [FILE...]
 *   beacon-lint --jwt-key KEYS --sign-token SUB [--exp SECONDS]
 *
 * JSON input: one beacon per line (blank lines are skipped).  --binary: each
 * FILE (or stdin) is one binary beacon.  Prints `ok TYPE` or
 * `reject REASON` per beacon, then a summary.  Exit 0 if all were accepted,
 * 1 if any was rejected, 2 on usage or I/O errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bcn_proto.h"

static struct {
	struct bcn_ingest in;
	struct bcn_record rec;
	unsigned long ok, rejected, by_reason[BCN_R__COUNT];
	int quiet;
	int64_t now_ms;
} L;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: beacon-lint [--jwt-key KEYS] [--binary] [--now MS] [--skew-past MS]\n"
		"                   [--skew-future MS] [--quiet] [FILE...]\n"
		"  Checks beacons against the beacon contract v1 (docs/beacon-protocol.md)\n"
		"  with the appliance's own parser and validator.\n"
		"  --jwt-key KEYS     comma-separated HS256 keys (hex:... for binary keys);\n"
		"                     without it every token is rejected as bad_token\n"
		"  --binary           each FILE (or stdin) is one binary v1 beacon\n"
		"  --now MS           server clock in ms since epoch (default: now)\n"
		"  --skew-past MS     accepted age of ts (default 86400000)\n"
		"  --skew-future MS   accepted lead of ts (default 600000)\n"
		"  --quiet            print only the summary\n"
		"  --sign-token SUB   print a token for user SUB (UUID) signed with the first\n"
		"                     --jwt-key, expiring at --exp (default: now + 1 h), and exit\n"
		"Prints 'ok TYPE' or 'reject REASON' per beacon, then a summary.\n"
		"Exit: 0 all accepted, 1 some rejected, 2 usage or I/O error.\n");
}

static void check(const void *buf, size_t len, enum bcn_format fmt)
{
	int rc = bcn_ingest(&L.in, fmt, buf, len, NULL, 0, L.now_ms, BCN_SRC_UDP, &L.rec);
	if (rc == BCN_OK) {
		L.ok++;
		if (!L.quiet)
			printf("ok %s\n", bcn_type_name(L.rec.type));
	} else {
		L.rejected++;
		L.by_reason[rc]++;
		if (!L.quiet)
			printf("reject %s\n", bcn_reason_name((unsigned)rc));
	}
}

static int lint_json(FILE *f, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n;
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		size_t i = 0;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			continue;
		check(line, len, BCN_FMT_JSON);
	}
	int err = ferror(f);
	free(line);
	if (err) {
		fprintf(stderr, "beacon-lint: %s: read error\n", name);
		return -1;
	}
	return 0;
}

static int lint_binary(FILE *f, const char *name)
{
	static uint8_t buf[BCN_MAX_BEACON + 1];
	size_t len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		fprintf(stderr, "beacon-lint: %s: read error\n", name);
		return -1;
	}
	if (len > BCN_MAX_BEACON) {
		/* the parser would say the same; don't read the rest */
		L.rejected++;
		L.by_reason[BCN_R_TOO_LARGE]++;
		if (!L.quiet)
			printf("reject %s\n", bcn_reason_name(BCN_R_TOO_LARGE));
		return 0;
	}
	check(buf, len, BCN_FMT_BINARY);
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jwt-key", required_argument, NULL, 'k' },
		{ "binary", no_argument, NULL, 'b' },
		{ "now", required_argument, NULL, 'n' },
		{ "skew-past", required_argument, NULL, 'p' },
		{ "skew-future", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "sign-token", required_argument, NULL, 's' },
		{ "exp", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bcn_ingest_cfg cfg;
	static struct bcn_jwt_keys keys;
	struct bcn_jwt_cache *jwt = NULL;
	const char *keylist = NULL, *sign_sub = NULL;
	int64_t exp_s = -1;
	int binary = 0, c, status = 0;
	struct timespec ts;

	bcn_ingest_cfg_defaults(&cfg);
	clock_gettime(CLOCK_REALTIME, &ts);
	L.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	while ((c = getopt_long(argc, argv, "k:bn:p:f:qhs:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keylist = optarg; break;
		case 'b': binary = 1; break;
		case 'q': L.quiet = 1; break;
		case 's': sign_sub = optarg; break;
		case 'e':
			if (parse_i64(optarg, &exp_s)) goto bad_num;
			break;
		case 'h': usage(stdout); return 0;
		case 'n':
			if (parse_i64(optarg, &L.now_ms)) goto bad_num;
			break;
		case 'p':
			if (parse_i64(optarg, &cfg.skew_past_ms)) goto bad_num;
			break;
		case 'f':
			if (parse_i64(optarg, &cfg.skew_future_ms)) goto bad_num;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (keylist && bcn_jwt_keys_parse(&keys, keylist, 1)) {
		fprintf(stderr, "beacon-lint: --jwt-key: empty key, more than %d keys, "
			"a key over %d bytes or bad hex\n", BCN_JWT_MAX_KEYS, BCN_JWT_MAX_KEYLEN);
		return 2;
	}
	if (sign_sub) {
		char tok[512];
		uint8_t uid[16];
		if (!keylist || bcn_uuid_parse(sign_sub, strlen(sign_sub), uid)) {
			fprintf(stderr, "beacon-lint: --sign-token needs --jwt-key and a UUID\n");
			return 2;
		}
		if (exp_s < 0)
			exp_s = L.now_ms / 1000 + 3600;
		if (!bcn_jwt_sign(keys.k[0].key, keys.k[0].len, sign_sub, exp_s, tok, sizeof(tok)))
			return 2;
		printf("%s\n", tok);
		return 0;
	}
	if (keylist) {
		jwt = bcn_jwt_cache_new(&keys, 10);
		if (!jwt) {
			fprintf(stderr, "beacon-lint: cannot set up the JWT verifier (OpenSSL)\n");
			return 2;
		}
	}
	bcn_ingest_init(&L.in, &cfg, jwt, 0);

	if (optind == argc) {
		status = binary ? lint_binary(stdin, "<stdin>") : lint_json(stdin, "<stdin>");
	} else {
		for (int i = optind; i < argc && status == 0; i++) {
			FILE *f = fopen(argv[i], "rb");
			if (!f) {
				fprintf(stderr, "beacon-lint: %s: %s\n", argv[i], strerror(errno));
				status = -1;
				break;
			}
			status = binary ? lint_binary(f, argv[i]) : lint_json(f, argv[i]);
			fclose(f);
		}
	}
	bcn_jwt_cache_free(jwt);
	if (status)
		return 2;

	printf("summary: %lu accepted, %lu rejected", L.ok, L.rejected);
	for (unsigned r = 1; r < BCN_R__COUNT; r++)
		if (L.by_reason[r])
			printf(", %s=%lu", bcn_reason_name(r), L.by_reason[r]);
	printf("\n");
	return L.rejected ? 1 : 0;

bad_num:
	fprintf(stderr, "beacon-lint: option needs a non-negative integer: %s\n", optarg);
	return 2;
}
