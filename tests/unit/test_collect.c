/* test_collect.c - the inventory collectors against a fixture tree of
 * /etc, /proc, /sys and the dpkg status file, and the delta between two
 * inventories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/util.h"
#include "proto/inventory.h"

static const char *
str_at(json_t *c, const char *cls, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c, cls), key));
}

static void
test_fixture(void **state)
{
	json_t *c = collect_inventory(FIXTURES "/root1"), *pk, *doc;
	struct inv_report rep;
	char err[ERRMSG_MAX], *text;

	assert_string_equal(str_at(c, "os", "id"), "debian");
	assert_string_equal(str_at(c, "os", "version_id"), "12");
	assert_string_equal(str_at(c, "os", "pretty_name"),
	    "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(str_at(c, "os", "kernel"), "6.1.0-13-amd64");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(c, "cpu"), "cores")),
	    2);
	assert_non_null(strstr(str_at(c, "cpu", "model"), "E5-2680"));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(c, "memory"), "total_mb")),
	    7957);
	assert_string_equal(str_at(c, "dmi", "vendor"), "ACME Corp");
	assert_string_equal(str_at(c, "dmi", "serial"), "SN-12345");
	/* vda only: loop devices are not disks. */
	assert_int_equal(json_array_size(json_object_get(c, "disks")), 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(c, "disks"), 0),
			     "size_mb")),
	    20480);
	/* ext4 and vfat, not proc and tmpfs. */
	assert_int_equal(json_array_size(json_object_get(c, "filesystems")),
	    2);
	/* eth0, not lo. */
	assert_int_equal(json_array_size(json_object_get(c, "interfaces")), 1);
	/* Installed packages only, both architectures of libc6. */
	pk = json_object_get(c, "packages");
	assert_int_equal(json_array_size(pk), 3);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(pk, 0), "version")),
	    "1:9.2p1-2+deb12u1");
	/* Human users only. */
	assert_int_equal(json_array_size(json_object_get(c, "users")), 2);

	/* What the collectors produce is what the schema accepts. */
	doc = json_pack("{s:s,s:i,s:O}", "kind", "full", "seq", 1, "classes",
	    c);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_int_equal(inventory_parse(text, strlen(text), &doc, &rep, err),
	    0);
	json_decref(doc);
	free(text);
	json_decref(c);
}

static void
test_live(void **state)
{
	json_t *c = collect_inventory("/"), *doc;
	struct inv_report rep;
	char err[ERRMSG_MAX], *text;

	doc = json_pack("{s:s,s:i,s:o}", "kind", "full", "seq", 1, "classes",
	    c);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (inventory_parse(text, strlen(text), &doc, &rep, err) < 0)
		fail_msg("live inventory refused: %s", err);
	/* /proc files report size 0 and must still be read whole. */
	assert_non_null(strstr(text, "\"kernel\":\""));
	assert_null(strstr(text, "\"kernel\":\"\""));
	assert_non_null(strstr(text, "\"total_mb\":"));
	json_decref(doc);
	free(text);
}

static void
test_delta(void **state)
{
	json_t *old = json_loads(
	    "{\"os\":{\"id\":\"debian\"},\"packages\":["
	    "{\"name\":\"a\",\"version\":\"1\"},{\"name\":\"b\",\"version\":"
	    "\"1\"},{\"name\":\"c\",\"version\":\"1\",\"arch\":\"amd64\"}]}",
	    0, NULL);
	json_t *cur = json_loads(
	    "{\"os\":{\"id\":\"debian\"},\"packages\":["
	    "{\"name\":\"a\",\"version\":\"2\"},{\"name\":\"b\",\"version\":"
	    "\"1\"},{\"name\":\"d\",\"version\":\"1\"}]}",
	    0, NULL);
	json_t *d = inventory_delta(old, cur), *p;

	assert_null(json_object_get(d, "os")); /* unchanged */
	p = json_object_get(d, "packages");
	assert_int_equal(json_array_size(json_object_get(p, "upsert")), 2);
	assert_int_equal(json_array_size(json_object_get(p, "remove")), 1);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(p, "remove"), 0)),
	    "c:amd64");
	json_decref(d);
	d = inventory_delta(cur, cur);
	assert_int_equal(json_object_size(d), 0);
	json_decref(d);
	json_decref(old);
	json_decref(cur);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_delta),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
