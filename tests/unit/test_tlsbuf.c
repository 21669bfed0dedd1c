/* test_tlsbuf.c - record buffers of server connections: kept while busy,
 * given back by the sweep that finds a connection idle, never while it
 * holds part of a record; the tracking ends with SSL_free; a connection
 * that began no request by its deadline is shut down. Real TLS 1.3
 * connections in memory, OpenSSL's allocations counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "common/util.h"
#include "crypto/pki.h"
#include "server/tlsbuf.h"
#include "tlspair.h"

/* Bytes OpenSSL holds: counted from before its first allocation. */
static size_t live;

static void *
count_malloc(size_t n, const char *file, int line)
{
	void *p = malloc(n);

	(void)file;
	(void)line;
	if (p != NULL)
		live += malloc_usable_size(p);
	return p;
}

static void
count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p != NULL)
		live -= malloc_usable_size(p);
	free(p);
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
	size_t old = p != NULL ? malloc_usable_size(p) : 0;
	void *q;

	if (n == 0) {
		count_free(p, file, line);
		return NULL;
	}
	if ((q = realloc(p, n)) != NULL)
		live = live - old + malloc_usable_size(q);
	return q;
}

static SSL_CTX *sctx, *cctx;
static int sweeping;

static int
setup(void **state)
{
	char err[ERRMSG_MAX];
	EVP_PKEY *key = pki_key_new_ec();
	X509 *cert = key ? pki_ca_create(key, "tlsbuf test", 1, err) : NULL;

	(void)state;
	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (cert == NULL || sctx == NULL || cctx == NULL ||
	    SSL_CTX_use_certificate(sctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, key) != 1)
		return -1;
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
	SSL_CTX_set_num_tickets(sctx, 0);
	sweeping = tlsbuf_setup(sctx);
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return 0;
}

/* One sweep at a time when no deadline applies: none closes anything. */
static size_t
sweep(struct tlsbufs *list)
{
	size_t closed, n = tlsbuf_sweep(list, 1000, &closed);

	assert_int_equal(closed, 0);
	return n;
}

/* A client and a server connection tracked on list, with one request
 * answered. */
static void
connected(struct tlsbufs *list, SSL **c, SSL **s)
{
	*c = endpoint(cctx);
	*s = endpoint(sctx);
	assert_non_null(tlsbuf_track(list, *s, 0));
	assert_ptr_equal(list->head->ssl, *s);
	handshake(*c, *s);
	exchange(*c, *s, "GET /v1/policy");
}

static void
test_idle_gives_back(void **state)
{
	struct tlsbufs list = {NULL, 0};
	SSL *c, *s;
	size_t before;

	(void)state;
	if (!sweeping)
		skip();
	connected(&list, &c, &s);
	assert_int_equal(list.count, 1);
	tlsbuf_busy(s);

	/* Busy: the first sweep leaves its buffers. */
	before = live;
	assert_int_equal(sweep(&list), 0);
	assert_int_equal(live, before);
	/* Idle for a whole sweep: about 34 KB given back. */
	assert_int_equal(sweep(&list), 1);
	assert_true(live + 30000 < before);
	/* Taken again when needed: the connection goes on. */
	exchange(c, s, "GET /v1/policy again");
	assert_true(live > before - 2000);
	/* Without answering, a connection is idle: given back again. */
	assert_int_equal(sweep(&list), 1);
	assert_true(live + 30000 < before);

	SSL_free(s);
	assert_int_equal(list.count, 0);
	assert_null(list.head);
	SSL_free(c);
}

/* A record read in part stays in its buffer until the rest comes. */
static void
test_partial_record_kept(void **state)
{
	struct tlsbufs list = {NULL, 0};
	char buf[64];
	SSL *c, *s;

	(void)state;
	if (!sweeping)
		skip();
	connected(&list, &c, &s);
	assert_int_equal(SSL_write(c, "second request", 14), 14);
	assert_int_equal(pump(c, s, 11), 11); /* header and 6 bytes */
	assert_int_equal(SSL_read(s, buf, sizeof(buf)), -1);
	assert_int_equal(SSL_get_error(s, -1), SSL_ERROR_WANT_READ);
	sweep(&list); /* clears the busy mark of the tracking */
	assert_int_equal(sweep(&list), 0);
	assert_int_equal(sweep(&list), 0);
	pump(c, s, SIZE_MAX);
	assert_int_equal(SSL_read(s, buf, sizeof(buf)), 14);
	assert_memory_equal(buf, "second request", 14);
	SSL_free(s);
	SSL_free(c);
	assert_int_equal(list.count, 0);
}

/* Freed in any order, the others stay tracked; busy marks on untracked
 * connections do nothing. */
static void
test_list(void **state)
{
	struct tlsbufs list = {NULL, 0};
	SSL *s[3], *loose;
	int i;

	(void)state;
	if (!sweeping)
		skip();
	for (i = 0; i < 3; i++) {
		s[i] = endpoint(sctx);
		assert_non_null(tlsbuf_track(&list, s[i], 0));
	}
	assert_int_equal(list.count, 3);
	SSL_free(s[1]);
	assert_int_equal(list.count, 2);
	/* Both are marked busy by their tracking: the first sweep clears
	 * the marks, the second finds both idle. */
	assert_int_equal(sweep(&list), 0);
	assert_int_equal(sweep(&list), 2);
	tlsbuf_busy(s[0]);
	assert_int_equal(sweep(&list), 1);
	SSL_free(s[2]);
	assert_int_equal(list.count, 1);
	assert_ptr_equal(list.head->ssl, s[0]);
	SSL_free(s[0]);
	assert_int_equal(list.count, 0);
	assert_null(list.head);
	loose = endpoint(sctx);
	tlsbuf_busy(loose);
	tlsbuf_busy(NULL);
	SSL_free(loose);
}

/* A connection that has begun no request by its deadline is shut down at
 * the sweep that finds it past; one that has, and one not yet due, are
 * left alone, and a deadline is acted on once. */
static void
test_deadline(void **state)
{
	struct tlsbufs list = {NULL, 0};
	struct tlsbuf *t[3];
	SSL *s[3];
	int sv[3][2], i;
	size_t closed;
	char c;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		s[i] = SSL_new(sctx);
		assert_non_null(s[i]);
		assert_int_equal(SSL_set_fd(s[i], sv[i][0]), 1);
		t[i] = tlsbuf_track(&list, s[i], i == 2 ? 20 : 10);
		assert_non_null(t[i]);
	}
	tlsbuf_heard(t[1]);
	tlsbuf_sweep(&list, 9, &closed);
	assert_int_equal(closed, 0);
	tlsbuf_sweep(&list, 10, &closed);
	assert_int_equal(closed, 1);
	/* The peer of the one past its deadline reads the end of the
	 * stream; the others' sockets are open. */
	assert_int_equal(recv(sv[0][1], &c, 1, MSG_DONTWAIT), 0);
	assert_int_equal(recv(sv[1][1], &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(recv(sv[2][1], &c, 1, MSG_DONTWAIT), -1);
	tlsbuf_sweep(&list, 11, &closed);
	assert_int_equal(closed, 0);
	tlsbuf_sweep(&list, 20, &closed);
	assert_int_equal(closed, 1);
	assert_int_equal(recv(sv[2][1], &c, 1, MSG_DONTWAIT), 0);
	for (i = 0; i < 3; i++) {
		SSL_free(s[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	assert_int_equal(list.count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_gives_back),
		cmocka_unit_test(test_partial_record_kept),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_deadline),
	};

	if (CRYPTO_set_mem_functions(count_malloc, count_realloc,
		count_free) != 1)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
