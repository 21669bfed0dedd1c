/* test_tlscache.c - the server's TLS sessions: one resumption per ticket,
 * the oldest dropped at the limit, expired ones never handed out; held
 * without the client's certificate, labelled by the server's hook, and
 * resumed by real TLS 1.3 connections in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/util.h"
#include "crypto/pki.h"
#include "server/tlscache.h"
#include "tlspair.h"

static SSL_SESSION *
session(unsigned char tag, long made, long lifetime)
{
	SSL_SESSION *s = SSL_SESSION_new();
	unsigned char id[SSL_MAX_SSL_SESSION_ID_LENGTH];

	memset(id, 0xa5, sizeof(id));
	id[0] = tag;
	assert_non_null(s);
	assert_int_equal(SSL_SESSION_set1_id(s, id, sizeof(id)), 1);
	SSL_SESSION_set_time(s, made);
	SSL_SESSION_set_timeout(s, lifetime);
	return s;
}

/* Takes the session tagged tag, at time now: 1 when it was handed out. */
static int
take(unsigned char tag, long now)
{
	unsigned char id[SSL_MAX_SSL_SESSION_ID_LENGTH];
	SSL_SESSION *s;

	memset(id, 0xa5, sizeof(id));
	id[0] = tag;
	s = tlscache_take(id, sizeof(id), now);
	SSL_SESSION_free(s);
	return s != NULL;
}

static void
put(unsigned char tag, long made, long lifetime)
{
	SSL_SESSION *s = session(tag, made, lifetime);

	assert_int_equal(tlscache_put(s), 0);
	SSL_SESSION_free(s); /* the table keeps a copy */
}

static void
test_once(void **state)
{
	(void)state;
	assert_int_equal(tlscache_init(8), 0);
	put(1, 1000, 7200);
	put(2, 1000, 7200);
	assert_int_equal(tlscache_count(), 2);
	assert_true(take(1, 1100));
	/* A ticket is good once. */
	assert_false(take(1, 1100));
	assert_false(take(9, 1100));
	assert_int_equal(tlscache_count(), 1);
	assert_true(take(2, 1100));
	assert_int_equal(tlscache_count(), 0);
	tlscache_free();
	/* An empty or freed table hands out nothing. */
	assert_false(take(1, 1100));
}

static void
test_limit(void **state)
{
	int i;

	(void)state;
	assert_int_equal(tlscache_init(3), 0);
	for (i = 1; i <= 5; i++)
		put((unsigned char)i, 1000 + i, 7200);
	/* The two oldest went. */
	assert_int_equal(tlscache_count(), 3);
	assert_false(take(1, 1100));
	assert_false(take(2, 1100));
	assert_true(take(3, 1100));
	assert_true(take(5, 1100));
	assert_true(take(4, 1100));
	tlscache_free();
}

static void
test_expiry(void **state)
{
	(void)state;
	assert_int_equal(tlscache_init(100), 0);
	put(1, 1000, 60);
	put(2, 1000, 7200);
	put(3, 5000, 60);
	/* Past its lifetime, a session is not handed out, and goes. */
	assert_false(take(1, 1060));
	assert_int_equal(tlscache_count(), 2);
	/* The sweep drops what has expired by then, and only that. */
	assert_int_equal(tlscache_expire(5100), 1);
	assert_int_equal(tlscache_count(), 1);
	assert_true(take(2, 5100));
	assert_int_equal(tlscache_expire(100000), 0);
	tlscache_free();
}

/* Many sessions whose ids share their first bytes: the chains hold. */
static void
test_many(void **state)
{
	unsigned char id[SSL_MAX_SSL_SESSION_ID_LENGTH];
	int i, found = 0;

	(void)state;
	assert_int_equal(tlscache_init(5000), 0);
	for (i = 0; i < 6000; i++) {
		SSL_SESSION *s = SSL_SESSION_new();

		memset(id, 0, sizeof(id));
		id[30] = (unsigned char)(i >> 8);
		id[31] = (unsigned char)i;
		SSL_SESSION_set1_id(s, id, sizeof(id));
		SSL_SESSION_set_time(s, 1000);
		SSL_SESSION_set_timeout(s, 7200);
		assert_int_equal(tlscache_put(s), 0);
		SSL_SESSION_free(s);
	}
	assert_int_equal(tlscache_count(), 5000);
	for (i = 0; i < 6000; i++) {
		SSL_SESSION *s;

		memset(id, 0, sizeof(id));
		id[30] = (unsigned char)(i >> 8);
		id[31] = (unsigned char)i;
		s = tlscache_take(id, sizeof(id), 2000);
		if (s != NULL) {
			assert_true(i >= 1000);
			found++;
		}
		SSL_SESSION_free(s);
	}
	assert_int_equal(found, 5000);
	assert_int_equal(tlscache_count(), 0);
	tlscache_free();
}

/* Mutual TLS with a client certificate, sessions held by the table. */
static SSL_CTX *sctx, *cctx;
static int held_seen, hold_answer;
static int label_index = -1;

/* The server's hook: the lean session has no certificate; it is labelled
 * and held when hold_answer says so. */
static int
hold(SSL *ssl, SSL_SESSION *lean)
{
	(void)ssl;
	held_seen++;
	assert_null(SSL_SESSION_get0_peer(lean));
	if (!hold_answer)
		return 0;
	SSL_SESSION_set_ex_data(lean, label_index, (void *)"label");
	return 1;
}

static int
tls_setup(void **state)
{
	char err[ERRMSG_MAX];
	EVP_PKEY *cakey = pki_key_new_ec(), *ckey = pki_key_new_ec();
	X509 *ca = pki_ca_create(cakey, "tlscache test CA", 1, err);
	X509 *client = pki_cert_issue(ca, cakey, ckey, PKI_PROFILE_CLIENT,
	    "client", "00112233445566778899aabbccddeeff", 1, err);

	(void)state;
	label_index = SSL_SESSION_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (ca == NULL || client == NULL || sctx == NULL || cctx == NULL ||
	    SSL_CTX_use_certificate(sctx, ca) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, cakey) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), ca) != 1 ||
	    SSL_CTX_use_certificate(cctx, client) != 1 ||
	    SSL_CTX_use_PrivateKey(cctx, ckey) != 1)
		return -1;
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(sctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_session_id_context(sctx, (const unsigned char *)"t", 1);
	SSL_CTX_set_num_tickets(sctx, 1);
	X509_free(ca);
	X509_free(client);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(ckey);
	return tlscache_setup(sctx, 16, hold);
}

static int
tls_teardown(void **state)
{
	(void)state;
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	tlscache_free();
	return 0;
}

/* One connection, resuming sess if not NULL; returns the client's new
 * session and whether the server resumed, with the server's view of the
 * client's certificate and label. */
static SSL_SESSION *
connect_once(SSL_SESSION *sess, int *resumed, int *had_cert,
    const char **label)
{
	SSL *c = endpoint(cctx), *s = endpoint(sctx);
	SSL_SESSION *next;
	X509 *peer;

	if (sess != NULL)
		assert_int_equal(SSL_set_session(c, sess), 1);
	handshake(c, s);
	exchange(c, s, "GET /v1/policy"); /* the client reads its ticket */
	*resumed = SSL_session_reused(s);
	peer = SSL_get1_peer_certificate(s);
	*had_cert = peer != NULL;
	X509_free(peer);
	*label = SSL_SESSION_get_ex_data(SSL_get0_session(s), label_index);
	next = SSL_get1_session(c);
	/* Ended as if closed cleanly: OpenSSL marks the session of a
	 * connection freed otherwise as not resumable. */
	SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c);
	SSL_free(s);
	return next;
}

static void
test_lean_resumption(void **state)
{
	SSL_SESSION *s1, *s2, *s3;
	const char *label;
	int resumed, had_cert;

	(void)state;
	hold_answer = 1;
	held_seen = 0;
	/* A full handshake: the certificate, and a lean session held. */
	s1 = connect_once(NULL, &resumed, &had_cert, &label);
	assert_false(resumed);
	assert_true(had_cert);
	assert_int_equal(held_seen, 1);
	assert_int_equal(tlscache_count(), 1);
	/* Resumed from the table: no certificate, the label instead; the
	 * next ticket's session is held too. */
	s2 = connect_once(s1, &resumed, &had_cert, &label);
	assert_true(resumed);
	assert_false(had_cert);
	assert_non_null(label);
	assert_string_equal(label, "label");
	assert_int_equal(held_seen, 2);
	assert_int_equal(tlscache_count(), 1);
	/* A ticket is good once: the first one again gets a full
	 * handshake. */
	SSL_SESSION_free(connect_once(s1, &resumed, &had_cert, &label));
	assert_false(resumed);
	assert_true(had_cert);
	/* When the hook declines, nothing is held and nothing resumes. */
	hold_answer = 0;
	tlscache_free();
	assert_int_equal(tlscache_init(16), 0);
	s3 = connect_once(NULL, &resumed, &had_cert, &label);
	assert_int_equal(tlscache_count(), 0);
	SSL_SESSION_free(connect_once(s3, &resumed, &had_cert, &label));
	assert_false(resumed);
	SSL_SESSION_free(s1);
	SSL_SESSION_free(s2);
	SSL_SESSION_free(s3);
}

/* The lean copy keeps what a resumption needs (id, secret, lifetime,
 * cipher) and loses the certificate; the original keeps it. */
static void
test_lean_copy(void **state)
{
	SSL *c = endpoint(cctx), *s = endpoint(sctx);
	SSL_SESSION *full, *lean;
	unsigned char k1[SSL_MAX_MASTER_KEY_LENGTH];
	unsigned char k2[SSL_MAX_MASTER_KEY_LENGTH];
	const unsigned char *a, *b;
	unsigned int al, bl;
	size_t kl;

	(void)state;
	hold_answer = 0;
	handshake(c, s);
	full = SSL_get1_session(s);
	assert_non_null(SSL_SESSION_get0_peer(full));
	lean = tlscache_lean(full);
	assert_non_null(lean);
	assert_null(SSL_SESSION_get0_peer(lean));
	assert_non_null(SSL_SESSION_get0_peer(full));
	a = SSL_SESSION_get_id(full, &al);
	b = SSL_SESSION_get_id(lean, &bl);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	kl = SSL_SESSION_get_master_key(full, k1, sizeof(k1));
	assert_int_equal(SSL_SESSION_get_master_key(lean, k2, sizeof(k2)), kl);
	assert_memory_equal(k1, k2, kl);
	assert_int_equal(SSL_SESSION_get_time(lean), SSL_SESSION_get_time(full));
	assert_int_equal(SSL_SESSION_get_timeout(lean),
	    SSL_SESSION_get_timeout(full));
	assert_ptr_equal(SSL_SESSION_get0_cipher(lean),
	    SSL_SESSION_get0_cipher(full));
	SSL_SESSION_free(lean);
	SSL_SESSION_free(full);
	SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c);
	SSL_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_many),
	};

	const struct CMUnitTest tls[] = {
		cmocka_unit_test(test_lean_copy),
		cmocka_unit_test(test_lean_resumption),
	};

	if (cmocka_run_group_tests(tests, NULL, NULL) != 0)
		return 1;
	return cmocka_run_group_tests(tls, tls_setup, tls_teardown);
}
