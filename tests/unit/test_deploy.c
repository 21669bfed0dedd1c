/* test_deploy.c - deployment state reports from devices: malformed ones
 * change nothing, a state is recorded only for a deployment that targets
 * the sender, an older report never overwrites a newer one; and the state
 * counts per deployment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "proto/status.h"
#include "server/server.h"

#define A "0000000000000000000000000000000a"
#define B "0000000000000000000000000000000b"
#define SHA "3371b2fe2d9b68aebf4744a2f3794f27508d23c49a8c6c4e738cf211daa99f79"

static char dir[] = "/tmp/steward-test-deploy.XXXXXX";
static struct db *db;
static int64_t dep;

static int
setup(void **state)
{
	char path[128], err[ERRMSG_MAX];
	struct db_deployment d = {"hello", "script", "ring", SHA, NULL, NULL,
	    NULL, NULL, NULL, 1, 0, 0, 600};

	assert_non_null(mkdtemp(dir));
	str_fmt(path, sizeof(path), "%s/site.db", dir);
	db = db_open(path, err);
	assert_non_null(db);
	assert_int_equal(db_client_insert(db, A, "approved", "a", "hw-a",
			     "all", NULL, "{}", 1, err),
	    0);
	assert_int_equal(db_client_insert(db, B, "approved", "b", "hw-b",
			     "all", NULL, "{}", 1, err),
	    0);
	assert_int_equal(db_collection_add(db, "ring", NULL, 0, "t", 1, err), 0);
	assert_int_equal(db_collection_set_member(db, "ring", A, 1, err), 0);
	assert_int_equal(db_content_add(db, SHA, 33, "x", "t", 1, err), 1);
	assert_int_equal(db_deployment_add(db, &d, "t", 1, &dep, err), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	db_close(db);
	str_fmt(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static int
report(const char *client, const char *strings, int64_t at)
{
	struct status_msg m;
	char err[ERRMSG_MAX];

	memset(&m, 0, sizeof(m));
	str_copy(m.component, sizeof(m.component), "deployment");
	m.message_id = 4003;
	m.at = at;
	m.strings = (char *)strings;
	return deployment_report(db, client, &m, err);
}

static const char *
state_of(const char *client)
{
	static char out[32];
	json_t *devs = db_deployment_devices(db, dep, "ring", "", "", 1000), *d;
	size_t i;

	str_copy(out, sizeof(out), "absent");
	json_array_foreach(devs, i, d)
	{
		if (strcmp(json_string_value(json_object_get(d, "id")), client) ==
		    0)
			str_copy(out, sizeof(out),
			    json_string_value(json_object_get(d, "state")));
	}
	json_decref(devs);
	return out;
}

static void
test_malformed(void **state)
{
	char big[600];
	const char *bad[] = {"", "[", "{}", "[]", "[1]", "[\"x\",\"succeeded\"]",
	    "[\"-1\",\"succeeded\"]", "[\"999999999999999999999\",\"failed\"]",
	    "[\"1\",\"exploded\"]", "[\"1\",\"succeeded\",\"256\"]",
	    "[\"1\",\"succeeded\",\"-3\"]", "[\"1\",null,\"0\"]",
	    "[\"1\",\"succeeded\",\"0x1\"]", "null"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(report(A, bad[i], 10), 0);
		assert_string_equal(state_of(A), "pending");
	}
	/* Oversized strings are the status parser's to refuse; here a long
	 * deployment id is just not a number. */
	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char *s = malloc(sizeof(big) + 32);

		snprintf(s, sizeof(big) + 32, "[\"%s\",\"failed\"]", big);
		assert_int_equal(report(A, s, 10), 0);
		free(s);
	}
	assert_string_equal(state_of(A), "pending");
}

static void
test_states(void **state)
{
	char good[128], old[128];
	json_t *list, *st;

	str_fmt(good, sizeof(good), "[\"%lld\",\"succeeded\",\"0\",\"ok\",\"\"]",
	    (long long)dep);
	str_fmt(old, sizeof(old), "[\"%lld\",\"running\",\"\",\"\",\"\"]",
	    (long long)dep);
	/* B is not targeted: nothing recorded for it. */
	assert_int_equal(report(B, good, 20), 0);
	assert_string_equal(state_of(B), "absent");
	assert_int_equal(report(A, good, 20), 0);
	assert_string_equal(state_of(A), "succeeded");
	/* An older report (a resend from a spool) does not go back. */
	assert_int_equal(report(A, old, 15), 0);
	assert_string_equal(state_of(A), "succeeded");
	list = db_deployments(db, dep);
	st = json_object_get(json_array_get(list, 0), "states");
	assert_int_equal(json_integer_value(json_object_get(st, "succeeded")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "pending")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list,
								0),
			     "targeted")),
	    1);
	json_decref(list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_states),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
