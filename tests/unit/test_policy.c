/* test_policy.c - the device's checks of a signed policy: a good one, and
 * tampered, retargeted, replayed (older serial), expired, unsigned and
 * malformed ones, each refused with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/policy.h"

#define ME "0123456789abcdef0123456789abcdef"
#define NOW 1800000000

static EVP_PKEY *key, *other;
static unsigned char pub[PKI_ED25519_PUB];

static int
setup(void **state)
{
	key = pki_key_new_ed25519();
	other = pki_key_new_ed25519();
	return pki_ed25519_raw_pub(key, pub);
}

static int
teardown(void **state)
{
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return 0;
}

/* Signs doc with k into "sig\ndoc". */
static char *
sign(EVP_PKEY *k, const char *doc)
{
	unsigned char sig[PKI_ED25519_SIG];
	char b64[100], *out;
	size_t size = strlen(doc) + sizeof(b64) + 2;

	out = malloc(size);
	pki_ed25519_sign(k, doc, strlen(doc), sig);
	b64url_encode(sig, sizeof(sig), b64);
	snprintf(out, size, "%s\n%s", b64, doc);
	return out;
}

static char *
doc(const char *client, long long serial, long long expires)
{
	char *d = malloc(400);

	snprintf(d, 400,
	    "{\"client_id\":\"%s\",\"deployments\":[],\"expires_at\":%lld,"
	    "\"serial\":%lld,\"type\":\"steward-policy\",\"version\":1}",
	    client, expires, serial);
	return d;
}

static int
check(const char *body, long long held, char *err)
{
	json_t *o;
	int r = policy_verify(pub, body, strlen(body), ME, held, NOW, &o, err);

	json_decref(o);
	return r;
}

static void
test_policies(void **state)
{
	char err[ERRMSG_MAX], *d, *b;

	d = doc(ME, 10, NOW + 3600);
	b = sign(key, d);
	assert_int_equal(check(b, 9, err), 0);
	assert_int_equal(check(b, 10, err), 0); /* the same one again */
	/* Replayed: the device already holds serial 11. */
	assert_int_equal(check(b, 11, err), -1);
	assert_non_null(strstr(err, "rollback"));
	/* Tampered: one byte of the document changed after signing. */
	b[strlen(b) - 2] = '2';
	assert_int_equal(check(b, 0, err), -1);
	assert_non_null(strstr(err, "does not verify"));
	free(b);
	/* Signed by another key. */
	b = sign(other, d);
	assert_int_equal(check(b, 0, err), -1);
	assert_non_null(strstr(err, "does not verify"));
	free(b);
	free(d);
	/* Retargeted: a valid policy of another client. */
	d = doc("ffffffffffffffffffffffffffffffff", 12, NOW + 3600);
	b = sign(key, d);
	assert_int_equal(check(b, 0, err), -1);
	assert_non_null(strstr(err, "not this one"));
	free(b);
	free(d);
	/* Expired. */
	d = doc(ME, 13, NOW - 1);
	b = sign(key, d);
	assert_int_equal(check(b, 0, err), -1);
	assert_non_null(strstr(err, "expired"));
	free(b);
	free(d);
	/* A signed document that is not a policy. */
	b = sign(key, "{\"type\":\"other\"}");
	assert_int_equal(check(b, 0, err), -1);
	assert_non_null(strstr(err, "not a policy"));
	free(b);
}

static void
test_malformed(void **state)
{
	char err[ERRMSG_MAX], *big;

	assert_int_equal(check("", 0, err), -1);
	assert_int_equal(check("{\"client_id\":\"x\"}", 0, err), -1);
	assert_non_null(strstr(err, "framed"));
	big = malloc(POLICY_MAX + 2);
	memset(big, 'A', POLICY_MAX + 1);
	big[POLICY_MAX + 1] = '\0';
	assert_int_equal(check(big, 0, err), -1);
	assert_non_null(strstr(err, "larger"));
	memset(big, '*', 86);
	strcpy(big + 86, "\n{}");
	assert_int_equal(check(big, 0, err), -1);
	assert_non_null(strstr(err, "base64url"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
