/* test_tlscache.c - the server's TLS sessions: one resumption per ticket,
 * the oldest dropped at the limit, expired ones never handed out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/tlscache.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
