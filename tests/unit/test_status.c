/* test_status.c - status batches and health reports on good, malformed and
 * oversized input; the token buckets with an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/status.h"
#include "server/ratelimit.h"

#define NOW 1800000000

static void
expect_bad(const char *body, const char *needle)
{
	struct status_batch b;
	char err[ERRMSG_MAX] = "";

	if (status_parse(body, strlen(body), NOW, &b, err) != -1)
		fail_msg("accepted: %s", body);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err, needle);
}

static void
test_status(void **state)
{
	const char *good = "{\"messages\":[{\"uid\":7,\"component\":\"agent\","
			   "\"message_id\":1001,\"severity\":\"info\",\"time\":"
			   "1800000000,\"strings\":[\"a\",\"b\"]}]}";
	struct status_batch b;
	char err[ERRMSG_MAX], body[600];

	assert_int_equal(status_parse(good, strlen(good), NOW, &b, err), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.msgs[0].uid, 7);
	assert_string_equal(b.msgs[0].strings, "[\"a\",\"b\"]");
	status_batch_free(&b);

	expect_bad("{}", "messages");
	expect_bad("{\"messages\":[]}", "messages");
	expect_bad("{\"messages\":[1]}", "messages[0]");
	expect_bad("{\"messages\":[{\"uid\":0}]}", "messages[0].uid");
	expect_bad("{\"messages\":[{\"uid\":1,\"message_id\":1,\"time\":"
		   "1800000000,\"component\":\"a b\",\"severity\":\"info\"}]}",
	    "messages[0].component");
	expect_bad("{\"messages\":[{\"uid\":1,\"message_id\":1,\"time\":"
		   "1800000000,\"component\":\"a\",\"severity\":\"fatal\"}]}",
	    "severity");
	/* Device time too far from the site's. */
	expect_bad("{\"messages\":[{\"uid\":1,\"message_id\":1,\"time\":"
		   "1000,\"component\":\"a\",\"severity\":\"info\"}]}",
	    "messages[0].time");
	expect_bad("{\"messages\":[{\"uid\":1,\"message_id\":1,\"time\":"
		   "1800000000,\"component\":\"a\",\"severity\":\"info\","
		   "\"strings\":[\"x\\u0007y\"]}]}",
	    "strings[0]");
	expect_bad("{\"messages\":[{\"uid\":1,\"message_id\":1,\"time\":"
		   "1800000000,\"component\":\"a\",\"severity\":\"info\","
		   "\"extra\":1}]}",
	    "messages[0].extra: unknown field");
	snprintf(body, sizeof(body),
	    "{\"messages\":[{\"uid\":1,\"message_id\":1,\"time\":1800000000,"
	    "\"component\":\"a\",\"severity\":\"info\",\"strings\":["
	    "\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
	    "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}]}");
	expect_bad(body, "at most 16");
}

static void
test_oversized(void **state)
{
	size_t cap = 200000, i;
	char *big = malloc(cap), *p = big, err[ERRMSG_MAX];
	struct status_batch b;

	p += snprintf(p, cap, "{\"messages\":[");
	for (i = 0; i < STATUS_BATCH_MAX + 1; i++)
		p += snprintf(p, cap - (size_t)(p - big),
		    "%s{\"uid\":%zu,\"message_id\":1,\"time\":1800000000,"
		    "\"component\":\"a\",\"severity\":\"info\"}",
		    i ? "," : "", i + 1);
	snprintf(p, cap - (size_t)(p - big), "]}");
	assert_int_equal(status_parse(big, strlen(big), NOW, &b, err), -1);
	assert_non_null(strstr(err, "1 to 100"));
	memset(big, ' ', STATUS_BODY_MAX + 1);
	assert_int_equal(status_parse(big, STATUS_BODY_MAX + 1, NOW, &b, err),
	    -1);
	assert_non_null(strstr(err, "larger"));
	free(big);
}

static void
test_health(void **state)
{
	const char *ok = "{\"uid\":3,\"time\":1800000000,\"checks\":["
			 "{\"name\":\"disk\",\"ok\":true},{\"name\":\"cert\","
			 "\"ok\":true,\"remediated\":true,\"detail\":\"renewed\"}]}";
	const char *bad = "{\"uid\":3,\"time\":1800000000,\"checks\":["
			  "{\"name\":\"disk\",\"ok\":false}]}";
	struct health_report h;
	char err[ERRMSG_MAX];

	assert_int_equal(health_parse(ok, strlen(ok), NOW, &h, err), 0);
	assert_string_equal(h.state, "remediated");
	health_report_free(&h);
	assert_int_equal(health_parse(bad, strlen(bad), NOW, &h, err), 0);
	assert_string_equal(h.state, "failing");
	health_report_free(&h);
	{
		static const char *bads[] = {
		    "{\"uid\":3,\"time\":1800000000,\"checks\":[]}",
		    "{\"uid\":3,\"time\":1800000000,\"checks\":[{\"name\":"
		    "\"x\"}]}",
		    "{\"uid\":3,\"time\":1800000000,\"checks\":[{\"name\":"
		    "\"x\",\"ok\":true,\"evil\":1}]}",
		    "{\"uid\":3,\"time\":1800000000,\"checks\":[{\"name\":"
		    "\"a b\",\"ok\":true}]}",
		};
		size_t i;

		for (i = 0; i < 4; i++)
			assert_int_equal(health_parse(bads[i], strlen(bads[i]),
					     NOW, &h, err),
			    -1);
		assert_non_null(strstr(err, "checks[0]"));
	}
}

static void
test_bucket(void **state)
{
	struct bucket b = {0, 0};
	int i;

	/* A burst of 5, then one per 500 ms at 2/s. */
	for (i = 0; i < 5; i++)
		assert_int_equal(bucket_take(&b, 1000, 2, 5), 0);
	assert_true(bucket_take(&b, 1000, 2, 5) > 0);
	assert_true(bucket_take(&b, 1000, 2, 5) <= 501);
	assert_true(bucket_take(&b, 1400, 2, 5) > 0);
	assert_int_equal(bucket_take(&b, 1500, 2, 5), 0);
	/* Refill never exceeds the burst. */
	for (i = 0; i < 5; i++)
		assert_int_equal(bucket_take(&b, 100000, 2, 5), 0);
	assert_true(bucket_take(&b, 100000, 2, 5) > 0);
}

static void
test_ratelimit(void **state)
{
	struct ratelimit rl;
	int i;

	ratelimit_init(&rl, 1, 3, 100, 5);
	/* A flooding client exhausts its own bucket, not the others'. */
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_check(&rl, "flood", 1000), 0);
	for (i = 0; i < 50; i++)
		assert_true(ratelimit_check(&rl, "flood", 1000) > 0);
	assert_int_equal(ratelimit_check(&rl, "quiet", 1000), 0);
	assert_int_equal(ratelimit_check(&rl, "other", 1000), 0);
	/* The site-wide bucket (burst 5) caps everyone together. */
	assert_true(ratelimit_check(&rl, "fourth", 1000) > 0 ||
	    ratelimit_check(&rl, "fifth", 1000) > 0);
	ratelimit_free(&rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
