/* test_query.c - the collection query language: parsing (errors point at
 * the column), evaluation, Debian version order, globs, site-attribute
 * restriction, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/query.h"

/* A device: "os.id=debian", "memory.total_mb=8192",
 * "package[openssh-server].version=1:9.2p1-2", "tag[env]=prod". */
static int
lookup(void *arg, const struct qattr *a, struct qval *out)
{
	const char **kv = arg;
	char name[256];
	int i, n = 0;

	name[0] = '\0';
	for (i = 0; i < a->nseg; i++) {
		n += snprintf(name + n, sizeof(name) - (size_t)n, "%s%s",
		    i ? "." : "", a->seg[i]);
		if (i == 0 && a->key)
			n += snprintf(name + n, sizeof(name) - (size_t)n,
			    "[%s]", a->key);
	}
	for (i = 0; kv[i]; i += 2)
		if (strcmp(kv[i], name) == 0) {
			out->s = kv[i + 1];
			return 1;
		}
	return 0;
}

static const char *device[] = {"os.id", "debian", "os.version_id", "12",
    "memory.total_mb", "8192", "package[openssh-server].version",
    "1:9.2p1-2", "tag[env]", "prod", "host.name", "web-01.example.com",
    NULL};

static int
matches(const char *text)
{
	char err[200];
	struct query *q = query_parse(text, err, sizeof(err));
	int r;

	if (q == NULL)
		fail_msg("'%s' did not parse: %s", text, err);
	r = query_eval(q, lookup, device);
	query_free(q);
	return r;
}

static void
test_eval(void **state)
{
	assert_true(matches("os.id == \"debian\""));
	assert_true(matches("OS.ID == \"debian\"")); /* names fold case */
	assert_false(matches("os.id != \"debian\""));
	assert_true(matches("memory.total_mb >= 4096"));
	assert_false(matches("memory.total_mb > 8192"));
	assert_true(matches("memory.total_mb < 10000")); /* numeric, not text */
	assert_true(matches("os.id == \"debian\" and memory.total_mb >= 4096 "
			    "and package[\"openssh-server\"].version < "
			    "\"1:9.2p1-3\""));
	assert_false(matches("package[\"openssh-server\"].version < "
			     "\"1:9.2p1-2\""));
	assert_true(matches("package[\"openssh-server\"].version > \"9.9\""));
	assert_true(matches("os.id in [\"ubuntu\", \"debian\"]"));
	assert_false(matches("os.id in [\"ubuntu\"]"));
	assert_true(matches("host.name ~ \"web-*.example.com\""));
	assert_false(matches("host.name ~ \"db-*\""));
	assert_true(matches("not os.id == \"ubuntu\""));
	assert_true(matches("(os.id == \"ubuntu\" or tag[\"env\"] == \"prod\") "
			    "and not memory.total_mb < 1024"));
	/* and binds tighter than or. */
	assert_true(matches("os.id == \"debian\" or os.id == \"x\" and "
			    "memory.total_mb < 0"));
	/* Absent attributes make comparisons false. */
	assert_false(matches("package[\"nginx\"].version >= \"0\""));
	assert_false(matches("package[\"nginx\"].version != \"1\""));
	assert_true(matches("not package[\"nginx\"].version >= \"0\""));
}

static void
expect_error(const char *text, const char *where)
{
	char err[200] = "";
	struct query *q = query_parse(text, err, sizeof(err));

	if (q != NULL) {
		query_free(q);
		fail_msg("'%s' parsed", text);
	}
	if (strstr(err, where) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", text, err, where);
}

static void
test_errors(void **state)
{
	char big[QUERY_MAX + 10];
	int i;

	expect_error("", "empty query");
	expect_error("os.id = \"debian\"", "column 7: '=' must be '=='");
	expect_error("os.id == ", "column 10: expected a");
	expect_error("os.id == \"debian", "column 10: string is not closed");
	expect_error("os.id \"debian\"", "column 7: expected a comparison");
	expect_error("(os.id == \"a\"", "expected ')' to close the '(' at "
				       "column 1");
	expect_error("os.id == \"a\" and", "column 17: expected an attribute");
	expect_error("os.id == \"a\" or or", "column 17");
	expect_error("os.id == \"a\" extra", "column 14: unexpected 'extra'");
	expect_error("os.id in []", "empty list");
	expect_error("os.id in [\"a\" \"b\"]", "expected ',' or ']'");
	expect_error("os. == \"a\"", "column 5: expected a name after '.'");
	expect_error("package[1].version == \"1\"", "[\"key\"]");
	expect_error("os.id == \"a\\n\"", "escape");
	expect_error("os.id $ \"a\"", "column 7: unexpected character '$'");
	/* Limits. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_error(big, "longer than");
	for (i = 0; i < 40; i++)
		big[i] = '(';
	strcpy(big + 40, "os.id == \"a\"");
	expect_error(big, "nested deeper");
	big[0] = '\0';
	for (i = 0; i < 300; i++)
		strcat(big, i ? " or a == 1" : "a == 1");
	expect_error(big, "more than 256 terms");
}

static void
test_debian_versions(void **state)
{
	static const char *lt[][2] = {
	    {"1.0~rc1", "1.0"}, {"1.0", "1.0a"}, {"1.0", "1.0+b1"},
	    {"1.0-1", "1.0-2"}, {"1.0-9", "1.0-10"}, {"2.0", "1:1.0"},
	    {"1:9.2p1-2", "1:9.2p1-2+deb12u1"}, {"1.0~~", "1.0~"},
	    {"1.2.3", "1.10"}, {"0.9", "1.0"}, {"1.0", "1.0.1"},
	    {"1.0~beta", "1.0~rc"}, {"2.36-9", "2.36-9+deb12u3"},
	    {"1:0", "2:0"}, {"a", "b"}, {"1.0-0", "1.0-1"}};
	size_t i;

	for (i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		if (debian_version_cmp(lt[i][0], lt[i][1]) >= 0)
			fail_msg("%s should sort before %s", lt[i][0],
			    lt[i][1]);
		if (debian_version_cmp(lt[i][1], lt[i][0]) <= 0)
			fail_msg("%s should sort after %s", lt[i][1],
			    lt[i][0]);
	}
	assert_int_equal(debian_version_cmp("1.0", "1.0"), 0);
	assert_int_equal(debian_version_cmp("0:1.0", "1.0"), 0);
	assert_int_equal(debian_version_cmp("1.0-0", "1.0"), 0);
	assert_int_equal(debian_version_cmp("1.01", "1.1"), 0);
}

static void
test_glob(void **state)
{
	assert_true(query_glob("*", ""));
	assert_true(query_glob("a*c", "abbbc"));
	assert_true(query_glob("a?c", "abc"));
	assert_false(query_glob("a?c", "ac"));
	assert_true(query_glob("*.example.com", "web.example.com"));
	assert_false(query_glob("*.example.com", "example.com"));
	/* Many stars against a long non-match stays fast. */
	assert_false(query_glob("*a*a*a*a*a*a*a*a*b",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void
test_site_attributes(void **state)
{
	static const char *const roots[] = {"client", "tag", "cert", NULL};
	char err[200];
	struct query *q;

	q = query_parse("tag[\"env\"] == \"prod\" and client.approval_source == "
			"\"manual\"",
	    err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(query_only_roots(q, roots, err, sizeof(err)), 0);
	query_free(q);
	q = query_parse("tag[\"env\"] == \"prod\" or os.id == \"debian\"", err,
	    sizeof(err));
	assert_non_null(q);
	assert_int_equal(query_only_roots(q, roots, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'os' is reported by the device"));
	query_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_debian_versions),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_site_attributes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
