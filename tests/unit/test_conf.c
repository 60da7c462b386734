/*
 * test_conf.c - unit tests of the table-driven configuration
 * (app/conf/bcn_conf.c): defaults, INI loading, every error path, printing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include "../../app/conf/bcn_conf.h"

struct tcfg {
	int64_t port;
	int64_t bytes;
	char node[8];
	int flag;
};

static const struct bcn_conf_item T[] = {
	{ "udp.port", BCN_CONF_INT, "7070", offsetof(struct tcfg, port), 0, 1, 65535, "UDP port" },
	{ "kafka.max_bytes", BCN_CONF_INT, "64M", offsetof(struct tcfg, bytes), 0, 1, INT64_MAX, "cap" },
	{ "node", BCN_CONF_STR, "n1", offsetof(struct tcfg, node), 8, 0, 0, "node name" },
	{ "udp.enabled", BCN_CONF_BOOL, "yes", offsetof(struct tcfg, flag), 0, 0, 0, "on/off" },
};
#define N (sizeof(T) / sizeof(T[0]))

static char path[64];

static void write_file(const char *text)
{
	strcpy(path, "/tmp/bcn-conf-test-XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void t_defaults(void)
{
	struct tcfg c;
	char err[256];
	memset(&c, 0xff, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(bcn_conf_defaults(T, N, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.port, 7070);
	CU_ASSERT_EQUAL(c.bytes, 64ll * 1024 * 1024);
	CU_ASSERT_STRING_EQUAL(c.node, "n1");
	CU_ASSERT_EQUAL(c.flag, 1);
}

static void t_load_ok(void)
{
	struct tcfg c;
	char err[256];
	bcn_conf_defaults(T, N, &c, err, sizeof(err));
	write_file("; comment\nnode = edge2\n[udp]\nport = 9000\nenabled = off\n[kafka]\nmax_bytes = 2k\n");
	int rc = bcn_conf_load(T, N, &c, path, err, sizeof(err));
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(c.port, 9000);
	CU_ASSERT_EQUAL(c.bytes, 2048);
	CU_ASSERT_STRING_EQUAL(c.node, "edge2");
	CU_ASSERT_EQUAL(c.flag, 0);
}

static void expect_load_error(const char *text, const char *needle)
{
	struct tcfg c;
	char err[256] = "";
	bcn_conf_defaults(T, N, &c, err, sizeof(err));
	write_file(text);
	int rc = bcn_conf_load(T, N, &c, path, err, sizeof(err));
	unlink(path);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
	if (!strstr(err, needle))
		fprintf(stderr, "\n  expected '%s' in '%s'\n", needle, err);
}

static void t_load_errors(void)
{
	expect_load_error("[udp]\nport = 70000\n", "outside [1, 65535]");
	expect_load_error("[udp]\nport = 12ab\n", "not an integer");
	expect_load_error("[udp]\nprot = 1\n", "unknown key 'udp.prot'");
	expect_load_error("node = much-too-long\n", "longer than 7 bytes");
	expect_load_error("[udp]\nenabled = maybe\n", "not a boolean");
	expect_load_error("[udp]\nport = 1\nport = 99999\n", "first bad line: 3");
	expect_load_error("[udp\nport = 1\n", "first bad line: 1");
	expect_load_error("[udp]\nport 1\n", "2: syntax error");

	struct tcfg c;
	char err[256];
	CU_ASSERT_EQUAL(bcn_conf_load(T, N, &c, "/nonexistent/beacond.ini", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open"));
}

static void t_set_keeps_value_on_error(void)
{
	struct tcfg c;
	char err[256];
	bcn_conf_defaults(T, N, &c, err, sizeof(err));
	CU_ASSERT_EQUAL(bcn_conf_set(T, N, &c, "udp.port", "0", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(c.port, 7070);
	CU_ASSERT_EQUAL(bcn_conf_set(T, N, &c, "kafka.max_bytes", "99999999999G", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(c.bytes, 64ll * 1024 * 1024);
	CU_ASSERT_EQUAL(bcn_conf_set(T, N, &c, "udp.port", "8080", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.port, 8080);
}

/* --print-config output must itself load back to the same values. */
static void t_print_roundtrip(void)
{
	struct tcfg a, b;
	char err[256], buf[4096];
	bcn_conf_defaults(T, N, &a, err, sizeof(err));
	bcn_conf_set(T, N, &a, "udp.port", "1234", err, sizeof(err));
	bcn_conf_set(T, N, &a, "node", "x", err, sizeof(err));
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	bcn_conf_print(T, N, &a, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "; UDP port\n; default: 7070, range: 1..65535\nport = 1234\n"));
	write_file(buf);
	bcn_conf_defaults(T, N, &b, err, sizeof(err));
	int rc = bcn_conf_load(T, N, &b, path, err, sizeof(err));
	unlink(path);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(b.port, 1234);
	CU_ASSERT_STRING_EQUAL(b.node, "x");
	CU_ASSERT_EQUAL(b.bytes, a.bytes);
	CU_ASSERT_EQUAL(b.flag, a.flag);
}

int test_conf_register(void)
{
	CU_pSuite s = CU_add_suite("conf", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "defaults", t_defaults) ||
	    !CU_add_test(s, "load INI", t_load_ok) ||
	    !CU_add_test(s, "load errors name key and line", t_load_errors) ||
	    !CU_add_test(s, "set leaves field on error", t_set_keeps_value_on_error) ||
	    !CU_add_test(s, "print-config loads back", t_print_roundtrip))
		return -1;
	return 0;
}
