/* test_token.c - enrollment token encoding and its parser on hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "crypto/token.h"

static void
sample(struct token *t)
{
	memset(t, 0, sizeof(*t));
	str_copy(t->url, sizeof(t->url), "https://127.0.0.1:8443");
	memset(t->ca_fpr, 'a', 64);
	memset(t->sign_pub, 7, sizeof(t->sign_pub));
	memset(t->id, 'b', 32);
	memset(t->secret, 9, sizeof(t->secret));
}

/* Encodes an arbitrary JSON payload as a token. */
static void
wrap(const char *json, char *out, size_t size)
{
	char *b = malloc(b64url_len(strlen(json)) + 1);

	b64url_encode((const unsigned char *)json, strlen(json), b);
	str_fmt(out, size, "stw1.%s", b);
	free(b);
}

static void
test_roundtrip(void **state)
{
	struct token t, u;
	char text[TOKEN_MAX], err[ERRMSG_MAX];

	sample(&t);
	assert_int_equal(token_encode(&t, text, sizeof(text)), 0);
	assert_int_equal(token_parse(text, strlen(text), &u, err), 0);
	assert_string_equal(u.url, t.url);
	assert_string_equal(u.ca_fpr, t.ca_fpr);
	assert_string_equal(u.id, t.id);
	assert_memory_equal(u.sign_pub, t.sign_pub, sizeof(t.sign_pub));
	assert_memory_equal(u.secret, t.secret, sizeof(t.secret));
}

static void
test_malformed(void **state)
{
	static const char *payloads[] = {
	    "[]",
	    "{}",
	    "{\"v\":2}",
	    /* duplicate key */
	    "{\"v\":1,\"v\":1,\"u\":\"https://a:1\"}",
	    /* http, not https */
	    "{\"v\":1,\"u\":\"http://a:1\",\"c\":\"" 
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"k\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\","
	    "\"i\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
	    "\"s\":\"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\"}",
	    /* uppercase fingerprint */
	    "{\"v\":1,\"u\":\"https://a:1\",\"c\":\"" 
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"k\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\","
	    "\"i\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
	    "\"s\":\"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\"}",
	    /* short key */
	    "{\"v\":1,\"u\":\"https://a:1\",\"c\":\"" 
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"k\":\"BwcH\","
	    "\"i\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
	    "\"s\":\"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\"}",
	    /* extra field */
	    "{\"v\":1,\"u\":\"https://a:1\",\"c\":\"" 
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"k\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\","
	    "\"i\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"x\":1,"
	    "\"s\":\"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\"}",
	    /* URL with a path and a space */
	    "{\"v\":1,\"u\":\"https://a b/x\",\"c\":\"" 
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"k\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\","
	    "\"i\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
	    "\"s\":\"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\"}",
	};
	struct token t;
	char text[4096], err[ERRMSG_MAX];
	size_t i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		wrap(payloads[i], text, sizeof(text));
		err[0] = '\0';
		assert_int_equal(token_parse(text, strlen(text), &t, err), -1);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(token_parse("", 0, &t, err), -1);
	assert_int_equal(token_parse("stw2.abc", 8, &t, err), -1);
	assert_non_null(strstr(err, "stw1."));
	assert_int_equal(token_parse("stw1.***", 8, &t, err), -1);
	assert_int_equal(token_parse("stw1.", 5, &t, err), -1);
}

static void
test_oversized(void **state)
{
	size_t n = TOKEN_MAX * 4;
	char *big = malloc(n + 1), err[ERRMSG_MAX];
	struct token t;

	memcpy(big, "stw1.", 5);
	memset(big + 5, 'A', n - 5);
	big[n] = '\0';
	assert_int_equal(token_parse(big, n, &t, err), -1);
	assert_non_null(strstr(err, "longer"));
	free(big);
}

static void
test_url(void **state)
{
	assert_true(token_url_valid("https://site.example.com:8443"));
	assert_true(token_url_valid("https://[::1]:8443"));
	assert_false(token_url_valid("https://site"));
	assert_false(token_url_valid("http://site:1"));
	assert_false(token_url_valid("https://site:1/path"));
	assert_false(token_url_valid("https://us@er:1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
