/* test_settings.c - client settings: defaults, validation, and the
 * deterministic resolution of custom settings by priority. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/util.h"
#include "proto/settings.h"

static json_t *
custom(int id, const char *coll, int prio, const char *key, const char *val)
{
	return json_pack("{s:i,s:s,s:i,s:s,s:s}", "id", id, "collection", coll,
	    "priority", prio, "key", key, "value", val);
}

static void
test_defaults(void **state)
{
	json_t *d = settings_defaults();

	assert_int_equal(json_integer_value(json_object_get(d,
			     "policy.interval")),
	    3600);
	/* The dangerous ones are off by default. */
	assert_string_equal(json_string_value(json_object_get(d,
				"exec.policy")),
	    "all-signed");
	assert_string_equal(json_string_value(json_object_get(d,
				"unlock.on_restart")),
	    "never");
	json_decref(d);
}

static void
test_values(void **state)
{
	char err[ERRMSG_MAX];
	json_t *v;

	v = settings_value("policy.interval", "30m", err);
	assert_int_equal(json_integer_value(v), 1800);
	json_decref(v);
	assert_null(settings_value("policy.interval", "10s", err));
	assert_non_null(strstr(err, "duration"));
	assert_null(settings_value("exec.policy", "yolo", err));
	assert_null(settings_value("notify", "maybe", err));
	assert_null(settings_value("colour", "red", err));
	assert_non_null(strstr(err, "unknown setting"));
	v = settings_value("exec.policy", "bypass", err);
	assert_non_null(v);
	json_decref(v);
}

static void
test_resolution(void **state)
{
	json_t *c = json_array(), *src, *eff, *again;

	/* Added in this order; priority 1 wins, then the older rule. */
	json_array_append_new(c, custom(3, "b", 2, "policy.interval", "30m"));
	json_array_append_new(c, custom(4, "a", 1, "policy.interval", "2h"));
	json_array_append_new(c, custom(5, "c", 1, "policy.interval", "1h"));
	json_array_append_new(c, custom(6, "b", 2, "log.level", "debug"));
	json_array_append_new(c, custom(7, "d", 9, "log.level", "bogus"));
	eff = settings_resolve(c, &src);
	assert_int_equal(json_integer_value(json_object_get(eff,
			     "policy.interval")),
	    7200);
	assert_string_equal(json_string_value(json_object_get(eff,
				"log.level")),
	    "debug");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				src, "policy.interval"),
				"collection")),
	    "a");
	assert_string_equal(json_string_value(json_object_get(src, "notify")),
	    "default");
	/* The same input in another order gives the same answer. */
	json_array_insert(c, 0, json_array_get(c, 4));
	json_array_remove(c, 5);
	again = settings_resolve(c, NULL);
	assert_true(json_equal(eff, again));
	json_decref(again);
	json_decref(eff);
	json_decref(src);
	json_decref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_resolution),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
