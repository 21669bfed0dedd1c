/* test_inventory.c - inventory report validation: good reports, malformed
 * and oversized ones, every error naming its field; the rows a report
 * yields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/inventory.h"

static int
parse(const char *body, char *err)
{
	struct inv_report rep;
	json_t *doc;
	int r = inventory_parse(body, strlen(body), &doc, &rep, err);

	json_decref(doc);
	return r;
}

static void
expect_bad(const char *body, const char *needle)
{
	char err[ERRMSG_MAX] = "";

	if (parse(body, err) != -1)
		fail_msg("accepted: %s", body);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err, needle);
}

struct rows {
	int n, removed, replaced;
	char last_key[300];
	char last_data[600];
};

static int
on_row(void *arg, const char *cls, const char *key, const char *data,
    enum inv_op op)
{
	struct rows *r = arg;

	r->n++;
	if (op == INV_REMOVE)
		r->removed++;
	str_copy(r->last_key, sizeof(r->last_key), key);
	str_copy(r->last_data, sizeof(r->last_data), data ? data : "");
	return 0;
}

static int
on_replaced(void *arg, const char *cls)
{
	((struct rows *)arg)->replaced++;
	return 0;
}

static void
test_good(void **state)
{
	const char *full =
	    "{\"kind\":\"full\",\"seq\":1,\"classes\":{"
	    "\"os\":{\"id\":\"debian\",\"version_id\":\"12\"},"
	    "\"memory\":{\"total_mb\":4096},"
	    "\"packages\":[{\"name\":\"libc6\",\"version\":\"2.36-9\","
	    "\"arch\":\"amd64\"},{\"name\":\"libc6\",\"version\":\"2.36-9\","
	    "\"arch\":\"i386\"}]}}";
	const char *delta =
	    "{\"kind\":\"delta\",\"seq\":3,\"base\":2,\"classes\":{"
	    "\"packages\":{\"upsert\":[{\"name\":\"vim\",\"version\":\"2:9.0\"}],"
	    "\"remove\":[\"libc6:i386\"]}}}";
	struct inv_report rep;
	struct rows rows;
	char err[ERRMSG_MAX];
	json_t *doc;

	assert_int_equal(inventory_parse(full, strlen(full), &doc, &rep, err),
	    0);
	assert_true(rep.full);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(inventory_rows(&rep, on_row, on_replaced, &rows, err),
	    0);
	assert_int_equal(rows.n, 4); /* os, memory, 2 packages */
	assert_int_equal(rows.replaced, 9); /* every class, present or not */
	assert_string_equal(rows.last_key, "libc6:i386");
	assert_string_equal(rows.last_data,
	    "{\"arch\":\"i386\",\"name\":\"libc6\",\"version\":\"2.36-9\"}");
	json_decref(doc);

	assert_int_equal(inventory_parse(delta, strlen(delta), &doc, &rep, err),
	    0);
	assert_false(rep.full);
	assert_int_equal(rep.base, 2);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(inventory_rows(&rep, on_row, on_replaced, &rows, err),
	    0);
	assert_int_equal(rows.n, 2);
	assert_int_equal(rows.removed, 1);
	assert_int_equal(rows.replaced, 0);
	json_decref(doc);
}

static void
test_malformed(void **state)
{
	expect_bad("", "malformed JSON");
	expect_bad("[]", "JSON object");
	expect_bad("{\"kind\":\"most\",\"seq\":1,\"classes\":{}}", "kind");
	expect_bad("{\"kind\":\"full\",\"seq\":0,\"classes\":{}}", "seq");
	expect_bad("{\"kind\":\"full\",\"seq\":1}", "classes");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{},\"x\":1}",
	    "x: unknown field");
	expect_bad("{\"kind\":\"delta\",\"seq\":2,\"classes\":{}}", "base");
	expect_bad("{\"kind\":\"delta\",\"seq\":2,\"base\":2,\"classes\":{}}",
	    "base");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"base\":1,\"classes\":{}}",
	    "base");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"gpu\":{}}}",
	    "classes.gpu: unknown class");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"memory\":"
		   "{\"total_mb\":-5}}}",
	    "classes.memory.total_mb");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"memory\":"
		   "{\"total_mb\":\"lots\"}}}",
	    "classes.memory.total_mb");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"os\":"
		   "{\"id\":\"debian\",\"colour\":\"red\"}}}",
	    "classes.os.colour: unknown property");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"packages\":"
		   "[{\"name\":\"ok\"},{\"name\":\"bad name\"}]}}",
	    "classes.packages[1].name");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"packages\":"
		   "[{\"version\":\"1\"}]}}",
	    "classes.packages[0].name: missing");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"packages\":"
		   "{\"upsert\":[]}}}",
	    "classes.packages: must be a list");
	expect_bad("{\"kind\":\"delta\",\"seq\":2,\"base\":1,\"classes\":{"
		   "\"packages\":[]}}",
	    "a delta needs");
	expect_bad("{\"kind\":\"delta\",\"seq\":2,\"base\":1,\"classes\":{"
		   "\"packages\":{\"upsert\":[],\"drop\":[]}}}",
	    "unknown member");
	expect_bad("{\"kind\":\"delta\",\"seq\":2,\"base\":1,\"classes\":{"
		   "\"packages\":{\"remove\":[7]}}}",
	    "classes.packages.remove[0]");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"interfaces\":"
		   "[{\"name\":\"eth0\",\"addresses\":[\"1.2.3.4; rm\"]}]}}",
	    "classes.interfaces[0].addresses[0]");
	expect_bad("{\"kind\":\"full\",\"seq\":1,\"classes\":{\"os\":"
		   "{\"pretty_name\":\"a\\u0001b\"}}}",
	    "classes.os.pretty_name");
	expect_bad("{\"kind\":\"full\",\"kind\":\"full\",\"seq\":1,"
		   "\"classes\":{}}",
	    "malformed JSON");
}

static void
test_oversized(void **state)
{
	size_t n = 20001, i, cap = n * 40 + 200;
	char *big = malloc(cap), *p = big;
	char err[ERRMSG_MAX];

	/* Too many packages. */
	p += snprintf(p, cap, "{\"kind\":\"full\",\"seq\":1,\"classes\":"
			      "{\"packages\":[");
	for (i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - big),
		    "%s{\"name\":\"p%zu\"}", i ? "," : "", i);
	snprintf(p, cap - (size_t)(p - big), "]}}");
	assert_int_equal(parse(big, err), -1);
	assert_non_null(strstr(err, "at most 20000"));
	/* A string over its limit. */
	p = big;
	p += snprintf(p, cap, "{\"kind\":\"full\",\"seq\":1,\"classes\":"
			      "{\"os\":{\"pretty_name\":\"");
	memset(p, 'x', 300);
	snprintf(p + 300, 10, "\"}}}");
	assert_int_equal(parse(big, err), -1);
	assert_non_null(strstr(err, "longer than 256"));
	/* A body over the limit. */
	free(big);
	big = malloc(INVENTORY_BODY_MAX + 2);
	memset(big, ' ', INVENTORY_BODY_MAX + 1);
	big[INVENTORY_BODY_MAX + 1] = '\0';
	assert_int_equal(parse(big, err), -1);
	assert_non_null(strstr(err, "larger"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
