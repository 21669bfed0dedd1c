/* test_config.c - the configuration parser and steward.conf settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"
#include "server/site.h"

static int
parse(const char *text, struct site_config *c, char *err)
{
	site_config_defaults(c);
	return config_parse(text, strlen(text), site_config_setting, c, err);
}

static void
test_good(void **state)
{
	struct site_config c;
	char err[ERRMSG_MAX];

	assert_int_equal(parse("# comment\n\nsite_name = lab one\r\n"
			       "listen = [::1]:9443\n"
			       "client_cert_lifetime = 30d\nworkers=4\n"
			       "log_level = debug\nenterprise_ca = no\n",
			     &c, err),
	    0);
	assert_string_equal(c.name, "lab one");
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.listen_port, 9443);
	assert_int_equal(c.client_cert_lifetime, 30 * 86400);
	assert_int_equal(c.workers, 4);
}

static void
test_bad(void **state)
{
	static const char *bad[] = {
	    "nonsense\n",
	    "= value\n",
	    "unknown_key = 1\n",
	    "listen = 127.0.0.1\n",
	    "listen = 127.0.0.1:99999\n",
	    "listen = a:b:c:1\n",
	    "listen = bad host:1\n",
	    "client_cert_lifetime = 10m\n",
	    "client_cert_lifetime = forever\n",
	    "workers = -1\n",
	    "workers = 65\n",
	    "site_name = a;b\n",
	    "log_level = loud\n",
	    "site_name = x\x01y\n",
	};
	struct site_config c;
	char err[ERRMSG_MAX];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i], &c, err), -1);
		assert_non_null(strstr(err, "line 1"));
	}
}

static void
test_oversized(void **state)
{
	size_t n = CONFIG_MAX_BYTES + 10;
	char *big = malloc(n + 1), err[ERRMSG_MAX];
	struct site_config c;

	memset(big, '#', n);
	big[n] = '\0';
	site_config_defaults(&c);
	assert_int_equal(config_parse(big, n, site_config_setting, &c, err),
	    -1);
	/* One long line under the file limit. */
	memset(big, 'a', 4000);
	big[4000] = '\0';
	assert_int_equal(
	    config_parse(big, 4000, site_config_setting, &c, err), -1);
	assert_non_null(strstr(err, "longer"));
	/* An embedded NUL. */
	assert_int_equal(config_parse("workers = 1\0x\n", 14,
			     site_config_setting, &c, err),
	    -1);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_oversized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
