/*
 * bcn_conf.h - one declarative table drives a program's configuration:
 * defaults, INI parsing (inih), validation, --print-config and the docs.
 *
 * Why this exists: beacond and beacon-etl have dozens of settings; when the
 * name, type, default, range and help of each live in one row, the parser,
 * the validator, the printed defaults and the documentation cannot drift
 * apart.  Each program declares a table of struct bcn_conf_item over its own
 * config struct (offsetof), in the style of Fluent Bit's config maps.
 *
 * Keys are "section.key"; in the INI file that is key `key` in [section].
 * INT values accept an optional binary suffix k, M or G (x1024).
 */
#ifndef BCN_CONF_H
#define BCN_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum bcn_conf_type { BCN_CONF_INT, BCN_CONF_STR, BCN_CONF_BOOL };

struct bcn_conf_item {
	const char *name;          /* "section.key"                        */
	enum bcn_conf_type type;
	const char *def;           /* default, as it would be written       */
	size_t offset;             /* of the field in the config struct     */
	size_t size;               /* STR: buffer size incl. NUL            */
	int64_t min, max;          /* INT: inclusive range                  */
	const char *help;          /* one line                              */
};
/* Field types: INT -> int64_t, STR -> char[size], BOOL -> int. */

/* Fill every field with its default.  Returns 0, or -1 if a default is
 * invalid (a bug in the table; err says which). */
int bcn_conf_defaults(const struct bcn_conf_item *t, size_t n, void *cfg,
		      char *err, size_t errlen);

/* Set one key from text.  Returns 0, or -1 with a message in err (unknown
 * key, bad number, out of range, too long); on error the field is unchanged. */
int bcn_conf_set(const struct bcn_conf_item *t, size_t n, void *cfg,
		 const char *name, const char *value, char *err, size_t errlen);

/* Load an INI file over the current values.  Returns 0, or -1 with a
 * message in err: "FILE: <what is wrong with which key>; first bad line: N",
 * "FILE:N: syntax error" or "FILE: cannot open: ...".  On error, the keys
 * before the bad line have been applied: callers load into a scratch copy. */
int bcn_conf_load(const struct bcn_conf_item *t, size_t n, void *cfg,
		  const char *path, char *err, size_t errlen);

/* Print every key with its current value, default, range and help as a
 * valid INI file (--print-config).  Can't fail. */
void bcn_conf_print(const struct bcn_conf_item *t, size_t n, const void *cfg, FILE *f);

/* Print the table as a Markdown table (for docs).  Can't fail. */
void bcn_conf_markdown(const struct bcn_conf_item *t, size_t n, FILE *f);

/* The command line the project's programs share:
 *   PROG --config FILE [--check-config]
 *   PROG [--config FILE] --print-config | --config-markdown
 *   PROG --help
 * load(cfg, path, err, errlen) fills *cfg from the defaults and FILE (path
 * NULL: the defaults only) and validates it, changing nothing on error
 * (returns -1 with a message).  --print-config / --config-markdown print
 * the loaded values / the table; --check-config says "PROG: FILE: ok".
 * Returns -1 when the program should run (the file is loaded into *cfg and
 * *path points at it); otherwise the status main() should exit with: 0
 * after --help or a print or a check, 2 after a usage or config error
 * (the message on stderr). */
struct bcn_conf_cli {
	const char *prog;
	const struct bcn_conf_item *table;
	size_t n;
	void *cfg;
	int (*load)(void *cfg, const char *path, char *err, size_t errlen);
	void (*usage)(FILE *f);
};
int bcn_conf_main(const struct bcn_conf_cli *cli, int argc, char **argv, const char **path);

#endif
