/*
 * bcn_conf.c - table-driven configuration over inih.  See bcn_conf.h.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ini.h>
#include "bcn_conf.h"

static const struct bcn_conf_item *find(const struct bcn_conf_item *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	int64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'G')
		mul = 1024ll * 1024 * 1024, end++;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end)
		return -1;
	if (v > INT64_MAX / mul || v < INT64_MIN / mul)
		return -1;
	*out = (int64_t)v * mul;
	return 0;
}

static int set_item(const struct bcn_conf_item *it, void *cfg, const char *value,
		    char *err, size_t errlen)
{
	char *field = (char *)cfg + it->offset;
	switch (it->type) {
	case BCN_CONF_INT: {
		int64_t v;
		if (parse_int(value, &v)) {
			snprintf(err, errlen, "%s: not an integer: '%s'", it->name, value);
			return -1;
		}
		if (v < it->min || v > it->max) {
			snprintf(err, errlen, "%s: %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]",
				 it->name, v, it->min, it->max);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	case BCN_CONF_STR:
		if (strlen(value) >= it->size) {
			snprintf(err, errlen, "%s: longer than %zu bytes", it->name, it->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case BCN_CONF_BOOL: {
		int b;
		if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
		    !strcasecmp(value, "on") || !strcmp(value, "1"))
			b = 1;
		else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
			 !strcasecmp(value, "off") || !strcmp(value, "0"))
			b = 0;
		else {
			snprintf(err, errlen, "%s: not a boolean: '%s'", it->name, value);
			return -1;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	}
	snprintf(err, errlen, "%s: bad type in table", it->name);
	return -1;
}

int bcn_conf_defaults(const struct bcn_conf_item *t, size_t n, void *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (set_item(&t[i], cfg, t[i].def, err, errlen))
			return -1;
	return 0;
}

int bcn_conf_set(const struct bcn_conf_item *t, size_t n, void *cfg, const char *name,
		 const char *value, char *err, size_t errlen)
{
	const struct bcn_conf_item *it = find(t, n, name);
	if (!it) {
		snprintf(err, errlen, "unknown key '%s'", name);
		return -1;
	}
	return set_item(it, cfg, value, err, errlen);
}

struct load_ctx {
	const struct bcn_conf_item *t;
	size_t n;
	void *cfg;
	char *err;
	size_t errlen;
	const char *path;
	int failed;
};

/* inih handler: called once per key, in file order, on the loading thread. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *c = user;
	char name[128], msg[256];

	if (c->failed)
		return 0;
	snprintf(name, sizeof(name), "%s%s%s", section, *section ? "." : "", key);
	if (bcn_conf_set(c->t, c->n, c->cfg, name, value, msg, sizeof(msg))) {
		snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
		c->failed = 1;
		return 0;
	}
	return 1;
}

int bcn_conf_load(const struct bcn_conf_item *t, size_t n, void *cfg, const char *path,
		  char *err, size_t errlen)
{
	struct load_ctx c = { t, n, cfg, err, errlen, path, 0 };
	int rc = ini_parse(path, on_key, &c);
	if (rc == -1) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (c.failed) {
		if (rc > 0) {
			size_t l = strlen(err);
			char tail[64];
			snprintf(tail, sizeof(tail), "; first bad line: %d", rc);
			if (l + strlen(tail) < errlen)
				strcat(err, tail);
		}
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	return 0;
}

static void value_text(const struct bcn_conf_item *it, const void *cfg, char *buf, size_t len)
{
	const char *field = (const char *)cfg + it->offset;
	switch (it->type) {
	case BCN_CONF_INT: {
		int64_t v;
		memcpy(&v, field, sizeof(v));
		snprintf(buf, len, "%" PRId64, v);
		break;
	}
	case BCN_CONF_STR:
		snprintf(buf, len, "%s", field);
		break;
	case BCN_CONF_BOOL: {
		int b;
		memcpy(&b, field, sizeof(b));
		snprintf(buf, len, "%s", b ? "true" : "false");
		break;
	}
	}
}

void bcn_conf_print(const struct bcn_conf_item *t, size_t n, const void *cfg, FILE *f)
{
	const char *cur = NULL;
	size_t curlen = 0;
	char val[1024];

	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(t[i].name, '.');
		size_t slen = dot ? (size_t)(dot - t[i].name) : 0;
		if (!cur || slen != curlen || strncmp(cur, t[i].name, slen)) {
			fprintf(f, "%s[%.*s]\n", cur ? "\n" : "", (int)slen, t[i].name);
			cur = t[i].name;
			curlen = slen;
		}
		fprintf(f, "; %s\n; default: %s", t[i].help, t[i].def);
		if (t[i].type == BCN_CONF_INT)
			fprintf(f, ", range: %" PRId64 "..%" PRId64, t[i].min, t[i].max);
		value_text(&t[i], cfg, val, sizeof(val));
		fprintf(f, "\n%s = %s\n", dot ? dot + 1 : t[i].name, val);
	}
}

void bcn_conf_markdown(const struct bcn_conf_item *t, size_t n, FILE *f)
{
	fprintf(f, "| key | type | default | meaning |\n| --- | --- | --- | --- |\n");
	for (size_t i = 0; i < n; i++) {
		static const char *const tn[] = { "integer", "string", "boolean" };
		fprintf(f, "| `%s` | %s", t[i].name, tn[t[i].type]);
		if (t[i].type == BCN_CONF_INT)
			fprintf(f, " %" PRId64 "..%" PRId64, t[i].min, t[i].max);
		fprintf(f, " | `%s` | %s |\n", t[i].def, t[i].help);
	}
}

int bcn_conf_main(const struct bcn_conf_cli *cli, int argc, char **argv, const char **path)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "config-markdown", no_argument, NULL, 'm' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int print = 0, markdown = 0, check = 0, c;
	char err[512];

	*path = NULL;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *path = optarg; break;
		case 'p': print = 1; break;
		case 'm': markdown = 1; break;
		case 'k': check = 1; break;
		case 'h': cli->usage(stdout); return 0;
		default: cli->usage(stderr); return 2;
		}
	}
	if (optind != argc || (!*path && !print && !markdown)) {
		cli->usage(stderr);
		return 2;
	}
	if (cli->load(cli->cfg, *path, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cli->prog, err);
		return 2;
	}
	if (print || markdown) {
		if (print)
			bcn_conf_print(cli->table, cli->n, cli->cfg, stdout);
		else
			bcn_conf_markdown(cli->table, cli->n, stdout);
		return 0;
	}
	if (check) {
		printf("%s: %s: ok\n", cli->prog, *path);
		return 0;
	}
	return -1;
}
