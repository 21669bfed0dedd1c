/* test_discovery.c - the enrollment-request and heartbeat parsers on good,
 * malformed and oversized input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/discovery.h"

static char token_text[TOKEN_MAX];
static char *csr_pem;

static int
setup(void **state)
{
	struct token t;
	EVP_PKEY *k = pki_key_new_ec();

	memset(&t, 0, sizeof(t));
	str_copy(t.url, sizeof(t.url), "https://127.0.0.1:8443");
	memset(t.ca_fpr, 'a', 64);
	memset(t.id, 'b', 32);
	token_encode(&t, token_text, sizeof(token_text));
	pki_csr_make(k, "host", &csr_pem);
	EVP_PKEY_free(k);
	return csr_pem ? 0 : -1;
}

static int
teardown(void **state)
{
	free(csr_pem);
	return 0;
}

static struct discovery
device(void)
{
	struct discovery d;

	memset(&d, 0, sizeof(d));
	str_copy(d.hostname, sizeof(d.hostname), "web-01.example.com");
	str_copy(d.hardware_id, sizeof(d.hardware_id), "hw-0123456789");
	str_copy(d.os, sizeof(d.os), "Debian GNU/Linux 12");
	str_copy(d.addresses[0], DISC_ADDR_LEN, "192.0.2.1");
	d.naddresses = 1;
	return d;
}

static void
test_roundtrip(void **state)
{
	struct discovery d = device();
	struct enroll_request *r = malloc(sizeof(*r));
	char *body = enroll_request_build(token_text, csr_pem, &d);
	char err[ERRMSG_MAX];

	assert_non_null(body);
	assert_int_equal(enroll_request_parse(body, strlen(body), r, err), 0);
	assert_string_equal(r->disc.hostname, "web-01.example.com");
	assert_string_equal(r->disc.hardware_id, "hw-0123456789");
	assert_int_equal(r->disc.naddresses, 1);
	assert_string_equal(r->csr, csr_pem);
	free(body);
	free(r);
}

static void
expect_bad(const char *body, const char *needle)
{
	struct enroll_request *r = malloc(sizeof(*r));
	char err[ERRMSG_MAX] = "";

	assert_int_equal(enroll_request_parse(body, strlen(body), r, err), -1);
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
	free(r);
}

static void
test_malformed(void **state)
{
	char body[4096];

	expect_bad("", "malformed JSON");
	expect_bad("{", "malformed JSON");
	expect_bad("[1,2]", "JSON object");
	expect_bad("{\"token\":1}", "token");
	expect_bad("{\"token\":\"x\",\"csr\":\"y\",\"device\":{}}", "token");
	expect_bad("{\"evil\":1}", "unknown field");
	str_fmt(body, sizeof(body),
	    "{\"token\":\"%s\",\"csr\":\"x\",\"device\":{\"hostname\":\"a b\","
	    "\"hardware_id\":\"hw-12345678\"}}",
	    token_text);
	expect_bad(body, "hostname");
	str_fmt(body, sizeof(body),
	    "{\"token\":\"%s\",\"csr\":\"x\",\"device\":{\"hostname\":\"a\","
	    "\"hardware_id\":\"short\"}}",
	    token_text);
	expect_bad(body, "hardware_id");
	str_fmt(body, sizeof(body),
	    "{\"token\":\"%s\",\"csr\":\"x\",\"device\":{\"hostname\":\"a\","
	    "\"hardware_id\":\"hw-12345678\",\"addresses\":[\"1.2.3.4; rm\"]}}",
	    token_text);
	expect_bad(body, "addresses[0]");
	str_fmt(body, sizeof(body),
	    "{\"token\":\"%s\",\"csr\":\"x\",\"device\":{\"hostname\":\"a\","
	    "\"hardware_id\":\"hw-12345678\",\"os\":\"x\\u0007y\"}}",
	    token_text);
	expect_bad(body, "control character");
	str_fmt(body, sizeof(body),
	    "{\"token\":\"%s\",\"token\":\"%s\",\"csr\":\"x\"}", token_text,
	    token_text);
	expect_bad(body, "malformed JSON");
}

static void
test_oversized(void **state)
{
	size_t n = ENROLL_BODY_MAX + 100, i;
	char *big = malloc(n + 1), *p;
	struct discovery d;
	char err[ERRMSG_MAX];

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	expect_bad(big, "larger");
	/* Too many addresses. */
	p = big;
	p += sprintf(p, "{\"hostname\":\"a\",\"hardware_id\":\"hw-12345678\","
			"\"addresses\":[");
	for (i = 0; i < DISC_ADDR_MAX + 1; i++)
		p += sprintf(p, "%s\"10.0.0.%zu\"", i ? "," : "", i);
	p += sprintf(p, "]}");
	assert_int_equal(heartbeat_parse(big, strlen(big), &d, err), -1);
	assert_non_null(strstr(err, "more than"));
	/* A field over its limit. */
	p = big;
	p += sprintf(p, "{\"hostname\":\"a\",\"hardware_id\":\"hw-12345678\","
			"\"os\":\"");
	memset(p, 'x', 300);
	strcpy(p + 300, "\"}");
	assert_int_equal(heartbeat_parse(big, strlen(big), &d, err), -1);
	assert_non_null(strstr(err, "longer"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
