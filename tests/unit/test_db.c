/* test_db.c - migrations and repository functions on a real SQLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "db/db.h"

static char dir[] = "/tmp/steward-db-XXXXXX";
static char path[128];

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	str_fmt(path, sizeof(path), "%s/site.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char p[160];

	str_fmt(p, sizeof(p), "rm -rf %s", dir);
	return system(p) == 0 ? 0 : -1;
}

static void
test_migrations_idempotent(void **state)
{
	char err[ERRMSG_MAX];
	struct db *a = db_open(path, err), *b;

	assert_non_null(a);
	assert_true(db_schema_version(a) >= 1);
	b = db_open(path, err); /* second open applies nothing twice */
	assert_non_null(b);
	assert_int_equal(db_schema_version(a), db_schema_version(b));
	db_close(a);
	db_close(b);
}

static void
test_tokens(void **state)
{
	char err[ERRMSG_MAX];
	struct db *db = db_open(path, err);
	struct db_token t;
	int64_t now = 1000;

	assert_int_equal(db_token_insert(db, "t1", "h", "admin", now, now + 60,
			     2, 0, err),
	    0);
	assert_int_equal(db_token_take_use(db, "t1", now, err), 1);
	assert_int_equal(db_token_take_use(db, "t1", now, err), 1);
	/* Exhausted. */
	assert_int_equal(db_token_take_use(db, "t1", now, err), 0);
	assert_int_equal(db_token_get(db, "t1", &t), 0);
	assert_int_equal(t.uses, 2);
	/* Expired. */
	assert_int_equal(db_token_insert(db, "t2", "h", "admin", now, now + 60,
			     5, 1, err),
	    0);
	assert_int_equal(db_token_take_use(db, "t2", now + 60, err), 0);
	/* Revoked. */
	assert_int_equal(db_token_revoke(db, "t2", now, err), 0);
	assert_int_equal(db_token_revoke(db, "t2", now, err), -1);
	assert_int_equal(db_token_take_use(db, "t2", now, err), 0);
	assert_int_equal(db_token_get(db, "nope", &t), -1);
	db_close(db);
}

static void
test_clients_and_rollback(void **state)
{
	char err[ERRMSG_MAX];
	struct db *db = db_open(path, err);
	struct db_client c;
	json_t *list;

	assert_int_equal(db_begin(db, err), 0);
	assert_int_equal(db_client_insert(db, "c1", "pending", "h1",
			     "hw-11111111", "manual", "t1", "{}", 5, err),
	    0);
	db_rollback(db);
	assert_int_equal(db_client_get(db, "c1", &c), -1);

	assert_int_equal(db_client_insert(db, "c1", "pending", "h1",
			     "hw-11111111", "manual", "t1", "{}", 5, err),
	    0);
	/* Status is constrained by the schema. */
	assert_int_equal(db_client_insert(db, "c2", "bogus", "h", "hw-2222222",
			     NULL, NULL, NULL, 5, err),
	    -1);
	assert_int_equal(db_client_decide(db, "c1", "approved", "manual",
			     "admin", "ab", 6, err),
	    0);
	assert_int_equal(db_client_get(db, "c1", &c), 0);
	assert_string_equal(c.status, "approved");
	assert_string_equal(c.cert_serial, "ab");
	list = db_client_list(db, "approved");
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	list = db_client_list(db, "pending");
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* Hostile text is stored as data. */
	assert_int_equal(db_audit(db, "admin", "x'); DROP TABLE clients;--",
			     "t", NULL, 7, err),
	    0);
	assert_int_equal(db_client_get(db, "c1", &c), 0);
	db_close(db);
}

static void
test_certs(void **state)
{
	char err[ERRMSG_MAX];
	struct db *db = db_open(path, err);

	assert_int_equal(db_cert_insert(db, "aa", "c9", "client", "f", "hw",
			     100, 1, err),
	    0);
	assert_int_equal(db_cert_live(db, "aa", "c9"), 1);
	assert_int_equal(db_cert_live(db, "aa", "other"), 0);
	assert_int_equal(db_cert_insert(db, "aa", "c9", "client", "f", "hw",
			     100, 1, err),
	    -1); /* serials are unique */
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations_idempotent),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_clients_and_rollback),
		cmocka_unit_test(test_certs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
