/* test_routes.c - the routing table: matching, parameters, roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/wire.h"
#include "server/server.h"

static void
test_find(void **state)
{
	char param[65];
	int known;
	const struct route *r;

	r = route_find(EVHTTP_REQ_POST, "/v1/enroll", param, sizeof(param),
	    &known);
	assert_non_null(r);
	assert_int_equal(r->role, ROLE_ENROLLING);
	r = route_find(EVHTTP_REQ_GET, "/v1/enroll/abc-DEF_1", param,
	    sizeof(param), &known);
	assert_non_null(r);
	assert_string_equal(param, "abc-DEF_1");
	r = route_find(EVHTTP_REQ_POST, "/v1/admin/clients/0a/approve", param,
	    sizeof(param), &known);
	assert_non_null(r);
	assert_int_equal(r->role, ROLE_ADMIN);
	assert_string_equal(param, "0a");
}

static void
test_refusals(void **state)
{
	static const char *bad[] = {"/", "/v1", "/v1/enroll/", "/v1/enrollx",
	    "/v1/enroll/a/b", "/v1/enroll/..", "/v1/enroll/a%2Fb",
	    "/v1/admin/clients/x/approve/", "//v1/enroll", "/v1/heartbeat/x"};
	char param[65];
	char longseg[100];
	int known;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(route_find(EVHTTP_REQ_GET, bad[i], param,
		    sizeof(param), &known));
		assert_null(route_find(EVHTTP_REQ_POST, bad[i], param,
		    sizeof(param), &known));
	}
	memset(longseg, 'a', sizeof(longseg));
	memcpy(longseg, "/v1/enroll/", 11);
	longseg[99] = '\0';
	assert_null(route_find(EVHTTP_REQ_GET, longseg, param, sizeof(param),
	    &known));
	/* Known path, wrong method. */
	assert_null(route_find(EVHTTP_REQ_GET, "/v1/heartbeat", param,
	    sizeof(param), &known));
	assert_int_equal(known, 1);
}

static void
test_table(void **state)
{
	const struct route *r;

	/* Every admin path needs the admin role; every POST has a limit;
	 * only enrollment and the CRLs are open, and only to GET a CRL. */
	for (r = routes; r->path != NULL; r++) {
		if (strncmp(r->path, "/v1/admin/", 10) == 0)
			assert_int_equal(r->role, ROLE_ADMIN);
		if (r->method == EVHTTP_REQ_POST)
			assert_true(r->body_max > 0);
		if (r->role == ROLE_ANYONE || r->role == ROLE_ENROLLING)
			assert_true(strncmp(r->path, "/v1/enroll", 10) == 0 ||
			    (r->method == EVHTTP_REQ_GET &&
				(strcmp(r->path, "/v1/crl") == 0 ||
				    strcmp(r->path, "/v1/crl/servers") == 0)));
	}
}

/* The cursor of a paged admin list: what the site gives as "next" is
 * read back exactly; anything else is refused. */
static void
test_cursor(void **state)
{
	static const char *const bad[] = {"", ":", "1", "1:", ":ab",
	    "+1:ab", " 1:ab", "1 :ab", "1: ab", "1:ab ", "1:AB", "1:g", "1:ab:cd",
	    "a/b:ab", "a%3a:ab", "1:0123456789abcdef0123456789abcdef0123456789"};
	char key[PKI_SERIAL_HEX], sort[16], big[300];
	size_t i;

	assert_int_equal(wire_cursor_parse("1764144000:0a1b", sort,
			     sizeof(sort), key, sizeof(key)),
	    0);
	assert_string_equal(sort, "1764144000");
	assert_string_equal(key, "0a1b");
	assert_int_equal(wire_cursor_parse("web-01.exampl_x:f", sort,
			     sizeof(sort), key, sizeof(key)),
	    0);
	assert_string_equal(sort, "web-01.exampl_x");
	/* The longest that fit; one more does not. */
	assert_int_equal(wire_cursor_parse(
			     "123456789012345:0123456789abcdef0123456789abcdef01234567",
			     sort, sizeof(sort), key, sizeof(key)),
	    0);
	assert_int_equal(wire_cursor_parse("1234567890123456:ab", sort,
			     sizeof(sort), key, sizeof(key)),
	    -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wire_cursor_parse(bad[i], sort, sizeof(sort), key,
			sizeof(key)) == 0)
			fail_msg("accepted: '%s'", bad[i]);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[1] = ':';
	assert_int_equal(
	    wire_cursor_parse(big, sort, sizeof(sort), key, sizeof(key)), -1);
	assert_int_equal(wire_cursor_parse("1:ab", sort, sizeof(sort), key, 1),
	    -1);
	assert_int_equal(wire_cursor_parse("1:ab", sort, 1, key, sizeof(key)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
