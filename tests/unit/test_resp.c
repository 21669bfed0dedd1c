/* test_resp.c - the reading of answer heads and chunk sizes (the HTTPS
 * client's and the load generator's): what a peer sends, what a broken or
 * hostile server might. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/resp.h"

static int
head(const char *text, struct resp_head *r)
{
	return resp_parse_head(text, strlen(text), r);
}

static void
test_heads(void **state)
{
	struct resp_head r;

	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
			      "ETag: \"1-abc\"\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.length, 12);
	assert_string_equal(r.etag, "\"1-abc\"");
	/* A 304 has no body, whatever it says; names in any case. */
	assert_int_equal(head("HTTP/1.1 304 Not Modified\r\netag:  W/\"x\"  "
			      "\r\ncontent-length: 99\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.length, 0);
	assert_string_equal(r.etag, "W/\"x\"");
	/* Chunks, and chunked wins over a length (RFC 9112 6.3). */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
			      "Transfer-Encoding: gzip, Chunked\r\n\r\n", &r),
	    0);
	assert_int_equal(r.length, -1);
	/* Bare line feeds, no reason phrase, an empty body. */
	assert_int_equal(head("HTTP/1.1 404\nContent-Length: 0\n\n", &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.length, 0);
	assert_string_equal(r.etag, "");
	/* The largest body taken. */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 1073741824"
			      "\r\n\r\n", &r), 0);
	assert_int_equal(r.length, 1LL << 30);
	assert_int_equal(r.close, 0);
	/* Connection: close, among other tokens, in any case. */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nConnection: Upgrade, "
			      "CLOSE\r\nContent-Length: 2\r\n\r\n", &r), 0);
	assert_int_equal(r.close, 1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nConnection: keep-alive, "
			      "closer\r\nContent-Length: 2\r\n\r\n", &r), 0);
	assert_int_equal(r.close, 0);
	/* HTTP/1.0 closes; a body without framing runs to the close. */
	assert_int_equal(head("HTTP/1.0 200 ok\r\nContent-type: text/plain"
			      "\r\n\r\n", &r), 0);
	assert_int_equal(r.length, RESP_TO_CLOSE);
	assert_int_equal(r.close, 1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\n\r\n", &r), 0);
	assert_int_equal(r.length, RESP_TO_CLOSE);
	assert_int_equal(r.close, 1);
	assert_int_equal(head("HTTP/1.0 204 No Content\r\n\r\n", &r), 0);
	assert_int_equal(r.length, 0);
	assert_int_equal(r.close, 1);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"HTTP/1.1 200 OK\r\n",			  /* no empty line */
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", /* the same */
		"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 600 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 +20 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1073741825\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n"
		"\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n"
		"\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length : 4\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 4\r\n\r\n",
		"HTTP/1.1 200 OK\r\n Content-Length: 4\r\n\r\n", /* folded */
		"HTTP/1.1 200 OK\r\nX(y): 1\r\nContent-Length: 4\r\n\r\n",
	};
	struct resp_head r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (head(bad[i], &r) != -1)
			fail_msg("accepted: %s", bad[i]);
	/* A NUL inside, and lengths that cut the head short. */
	assert_int_equal(resp_parse_head("HTTP/1.1 200 OK\r\nContent-Length: "
					 "0\r\n\0\r\n\r\n", 41, &r), -1);
	assert_int_equal(resp_parse_head("HTTP/1.1 200 OK\r\n\r\n", 12, &r),
	    -1);
	assert_int_equal(resp_parse_head("HTTP/1.1 200 OK\r\nContent-Length: "
					 "0\r\n\r\n", 20, &r), -1);
}

static void
test_etags(void **state)
{
	char text[600], etag[300];
	struct resp_head r;

	/* Control bytes would go back in If-None-Match: dropped. */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nETag: \"a\rb\"\r\n"
			      "Content-Length: 0\r\n\r\n", &r), 0);
	assert_string_equal(r.etag, "");
	assert_int_equal(head("HTTP/1.1 200 OK\r\nETag: \"a b\"\r\n"
			      "Content-Length: 0\r\n\r\n", &r), 0);
	assert_string_equal(r.etag, "");
	/* The longest kept, one more dropped. */
	memset(etag, 'e', RESP_ETAG_MAX - 1);
	etag[RESP_ETAG_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nETag: %s\r\n"
	    "Content-Length: 0\r\n\r\n", etag);
	assert_int_equal(head(text, &r), 0);
	assert_int_equal(strlen(r.etag), RESP_ETAG_MAX - 1);
	memset(etag, 'e', RESP_ETAG_MAX);
	etag[RESP_ETAG_MAX] = '\0';
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nETag: %s\r\n"
	    "Content-Length: 0\r\n\r\n", etag);
	assert_int_equal(head(text, &r), 0);
	assert_string_equal(r.etag, "");
}

/* What the HTTPS client keeps of an ETag: a strong one's opaque part. */
static void
test_etag_opaque(void **state)
{
	char out[8];

	assert_int_equal(resp_etag_opaque("\"abc\"", out, sizeof(out)), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(resp_etag_opaque("\"\"", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(resp_etag_opaque("\"1234567\"", out, sizeof(out)), 0);
	assert_int_equal(resp_etag_opaque("\"12345678\"", out, sizeof(out)),
	    -1);
	assert_int_equal(resp_etag_opaque("W/\"abc\"", out, sizeof(out)), -1);
	assert_int_equal(resp_etag_opaque("abc", out, sizeof(out)), -1);
	assert_int_equal(resp_etag_opaque("\"", out, sizeof(out)), -1);
	assert_int_equal(resp_etag_opaque("\"a\"b\"", out, sizeof(out)), -1);
	assert_int_equal(resp_etag_opaque("", out, sizeof(out)), -1);
}

static void
test_oversized(void **state)
{
	size_t n = 1 << 20, used;
	char *big = malloc(n);
	struct resp_head r;

	assert_non_null(big);
	/* A megabyte of one header line: read to its end, bounded. */
	used = (size_t)snprintf(big, n, "HTTP/1.1 200 OK\r\nX-Filler: ");
	memset(big + used, 'x', n - used - 30);
	used = n - 30;
	used += (size_t)snprintf(big + used, 30, "\r\nContent-Length: 7\r\n\r\n");
	assert_int_equal(resp_parse_head(big, used, &r), 0);
	assert_int_equal(r.length, 7);
	/* The same without the empty line: refused, nothing read past. */
	assert_int_equal(resp_parse_head(big, used - 2, &r), -1);
	free(big);
}

static void
test_chunk_sizes(void **state)
{
	assert_int_equal(resp_chunk_size("1a", 2), 26);
	assert_int_equal(resp_chunk_size("FF;name=value", 13), 255);
	assert_int_equal(resp_chunk_size("0", 1), 0);
	assert_int_equal(resp_chunk_size("10 ", 3), 16);
	assert_int_equal(resp_chunk_size("40000000", 8), 1LL << 30);
	assert_int_equal(resp_chunk_size("40000001", 8), -1);
	assert_int_equal(resp_chunk_size("ffffffffffffffffffff", 20), -1);
	assert_int_equal(resp_chunk_size("", 0), -1);
	assert_int_equal(resp_chunk_size(";x", 2), -1);
	assert_int_equal(resp_chunk_size("-1", 2), -1);
	assert_int_equal(resp_chunk_size("0x10", 4), -1);
	assert_int_equal(resp_chunk_size("1g", 2), -1);
	/* Only the given bytes are read: "12" of "123". */
	assert_int_equal(resp_chunk_size("123", 2), 0x12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heads),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_etags),
		cmocka_unit_test(test_etag_opaque),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_chunk_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
