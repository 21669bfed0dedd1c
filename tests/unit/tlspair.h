/* tlspair.h - two TLS endpoints in memory for unit tests: what one writes
 * reaches the other only when a test pumps it, as much as it chooses.
 * Included after cmocka.h. */
#ifndef STEWARD_TEST_TLSPAIR_H
#define STEWARD_TEST_TLSPAIR_H

#include <stdint.h>
#include <string.h>

#include <openssl/ssl.h>

static inline SSL *
endpoint(SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);

	assert_non_null(ssl);
	SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	return ssl;
}

/* Moves at most max bytes that from wrote into what to reads. */
static inline size_t
pump(SSL *from, SSL *to, size_t max)
{
	char buf[4096];
	size_t moved = 0;
	int n;

	while (moved < max) {
		size_t want = max - moved < sizeof(buf) ? max - moved :
							  sizeof(buf);

		n = BIO_read(SSL_get_wbio(from), buf, (int)want);
		if (n <= 0)
			break;
		assert_int_equal(BIO_write(SSL_get_rbio(to), buf, n), n);
		moved += (size_t)n;
	}
	return moved;
}

static inline void
handshake(SSL *c, SSL *s)
{
	int i;

	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (i = 0; i < 20; i++) {
		SSL_do_handshake(c);
		pump(c, s, SIZE_MAX);
		SSL_do_handshake(s);
		pump(s, c, SIZE_MAX);
		if (SSL_is_init_finished(c) && SSL_is_init_finished(s))
			return;
	}
	fail_msg("no handshake");
}

/* One request and its answer. */
static inline void
exchange(SSL *c, SSL *s, const char *what)
{
	char buf[64];
	int n = (int)strlen(what);

	assert_int_equal(SSL_write(c, what, n), n);
	pump(c, s, SIZE_MAX);
	assert_int_equal(SSL_read(s, buf, sizeof(buf)), n);
	assert_memory_equal(buf, what, (size_t)n);
	assert_int_equal(SSL_write(s, buf, n), n);
	pump(s, c, SIZE_MAX);
	assert_int_equal(SSL_read(c, buf, sizeof(buf)), n);
}

#endif
