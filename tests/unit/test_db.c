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
#include "server/revoked.h"

#include <sqlite3.h>

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
	list = db_client_page(db, "approved", -1, "", 1000);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	list = db_client_page(db, "pending", -1, "", 1000);
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

/* A database written by the first schema is carried forward with its data
 * (002 rebuilds the clients table). */
static void
test_migration_keeps_data(void **state)
{
	char p[160], err[ERRMSG_MAX];
	sqlite3 *raw;
	struct db *db;
	struct db_client c;
	struct db_enroll e;

	str_fmt(p, sizeof(p), "%s/old.db", dir);
	assert_int_equal(sqlite3_open(p, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, db_migrations[0].sql, NULL, NULL,
			     NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
			     "CREATE TABLE schema_migrations (version INTEGER "
			     "PRIMARY KEY, name TEXT NOT NULL, applied_at "
			     "INTEGER NOT NULL);"
			     "INSERT INTO schema_migrations VALUES (1, "
			     "'001_init', 1);"
			     "INSERT INTO clients (id, status, hostname, "
			     "hardware_id, created_at) VALUES ('old1', "
			     "'approved', 'h', 'hw-old-0001', 1);"
			     "INSERT INTO enroll_requests (id, client_id, "
			     "poll_hash, csr, created_at) VALUES ('r1', 'old1', "
			     "'x', 'csr', 1);",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(raw);
	db = db_open(p, err);
	assert_non_null(db);
	assert_true(db_schema_version(db) >= 2);
	assert_int_equal(db_client_get(db, "old1", &c), 0);
	assert_string_equal(c.status, "approved");
	assert_int_equal(db_enroll_get(db, "r1", &e), 0);
	db_enroll_clear(&e);
	/* The new status exists now. */
	assert_int_equal(db_client_block(db, "old1", "r", "a", 2, err), 0);
	assert_int_equal(db_client_unblock(db, "old1", "a", 3, err), 0);
	assert_int_equal(db_client_get(db, "old1", &c), 0);
	assert_string_equal(c.status, "unblocked");
	db_close(db);
}

static void
test_revocation(void **state)
{
	char err[ERRMSG_MAX];
	struct db *db = db_open(path, err);
	struct revoked_set set;
	struct db_cert *list;
	size_t n;

	assert_int_equal(db_cert_insert(db, "0a01", "r1", "client", "f", "hw",
			     5000, 1, err),
	    0);
	assert_int_equal(db_cert_insert(db, "0a02", "r1", "client", "f", "hw",
			     5000, 2, err),
	    0);
	assert_int_equal(db_cert_insert(db, "0a03", "r2", "client", "f", "hw",
			     100, 2, err),
	    0);
	assert_int_equal(db_cert_revoke(db, "0a01", "keyCompromise", 10, err),
	    1);
	assert_int_equal(db_cert_revoke(db, "0a01", "keyCompromise", 11, err),
	    0);
	/* Everything of r1 but the one kept. */
	assert_int_equal(db_cert_insert(db, "0a04", "r1", "client", "f", "hw",
			     5000, 3, err),
	    0);
	assert_int_equal(db_cert_revoke_client(db, "r1", "0a04",
			     "privilegeWithdrawn", 12, err),
	    1);
	assert_int_equal(db_cert_revoke(db, "0a03", "superseded", 12, err), 1);
	/* The CRL leaves out certificates already expired at "now". */
	assert_int_equal(db_cert_revoked_list(db, 200, &list, &n), 0);
	assert_int_equal(n, 2);
	free(list);
	assert_int_equal(db_cert_mark_used(db, "0a04", 20, err), 1);
	assert_int_equal(db_cert_mark_used(db, "0a04", 21, err), 0);

	revoked_init(&set);
	assert_int_equal(revoked_check(&set, "0a01"), REVOKED_NO);
	assert_int_equal(revoked_update(&set, db, 200, err), 0);
	assert_int_equal(revoked_check(&set, "0a01"), REVOKED_YES);
	assert_int_equal(revoked_check(&set, "0a02"), REVOKED_BLOCK);
	assert_int_equal(revoked_check(&set, "0a03"), REVOKED_YES);
	assert_int_equal(revoked_check(&set, "0a04"), REVOKED_NO);
	assert_int_equal(revoked_check(&set, "ffff"), REVOKED_NO);

	/* Updates read what was revoked since, in the same second too. */
	assert_int_equal(db_cert_revoke(db, "0a04", "superseded", 12, err), 1);
	assert_int_equal(db_cert_revoked_since(db, 12, 0, &list, &n), 0);
	assert_int_equal(n, 3); /* 0a02, 0a03, 0a04: the second of 12 */
	free(list);
	assert_int_equal(revoked_update(&set, db, 200, err), 0);
	assert_int_equal(revoked_check(&set, "0a04"), REVOKED_YES);
	assert_int_equal(revoked_check(&set, "0a02"), REVOKED_BLOCK);
	assert_int_equal(revoked_check(&set, "0a01"), REVOKED_YES);
	assert_int_equal(db_cert_insert(db, "00ff", "r3", "client", "f", "hw",
			     5000, 30, err),
	    0);
	assert_int_equal(db_cert_insert(db, "0b00", "r3", "client", "f", "hw",
			     5000, 30, err),
	    0);
	assert_int_equal(db_cert_revoke_client(db, "r3", NULL,
			     "privilegeWithdrawn", 40, err),
	    2);
	/* An update with nothing new changes nothing. */
	assert_int_equal(revoked_update(&set, db, 200, err), 0);
	assert_int_equal(revoked_update(&set, db, 200, err), 0);
	assert_int_equal(revoked_check(&set, "00ff"), REVOKED_BLOCK);
	assert_int_equal(revoked_check(&set, "0b00"), REVOKED_BLOCK);
	assert_int_equal(revoked_check(&set, "0a03"), REVOKED_YES);
	assert_int_equal(revoked_check(&set, "0a05"), REVOKED_NO);
	assert_int_equal(revoked_count(&set), 6);
	/* Entries kept sorted: every one found, after another update too. */
	assert_int_equal(revoked_update(&set, db, 200, err), 0);
	assert_int_equal(revoked_count(&set), 6);
	assert_int_equal(revoked_check(&set, "00ff"), REVOKED_BLOCK);
	/* A month after a certificate expired the set lets it go, at its
	 * next rebuild (at least daily); a set read afresh then never holds
	 * it. 0a03 expired at 100, the others at 5000; 0c00 lives on. */
	assert_int_equal(db_cert_insert(db, "0c00", "r4", "client", "f", "hw",
			     (int64_t)400 * 86400, 30, err),
	    0);
	assert_int_equal(db_cert_revoke(db, "0c00", "superseded", 50, err), 1);
	assert_int_equal(
	    revoked_update(&set, db, 90 + REVOKED_KEEP_EXPIRED, err), 0);
	assert_int_equal(revoked_count(&set), 7);
	assert_int_equal(
	    revoked_update(&set, db, 101 + REVOKED_KEEP_EXPIRED, err), 0);
	assert_int_equal(revoked_count(&set), 7);
	assert_int_equal(revoked_check(&set, "0a03"), REVOKED_YES);
	assert_int_equal(revoked_update(&set, db,
			     90 + REVOKED_KEEP_EXPIRED + REVOKED_REBUILD_SECS,
			     err),
	    0);
	assert_int_equal(revoked_count(&set), 1);
	assert_int_equal(revoked_check(&set, "0a03"), REVOKED_NO);
	assert_int_equal(revoked_check(&set, "0a01"), REVOKED_NO);
	assert_int_equal(revoked_check(&set, "0c00"), REVOKED_YES);
	revoked_free(&set);
	revoked_init(&set);
	assert_int_equal(revoked_update(&set, db,
			     90 + REVOKED_KEEP_EXPIRED + REVOKED_REBUILD_SECS,
			     err),
	    0);
	assert_int_equal(revoked_count(&set), 1);
	assert_int_equal(revoked_check(&set, "0a03"), REVOKED_NO);
	assert_int_equal(revoked_check(&set, "0c00"), REVOKED_YES);
	revoked_free(&set);
	db_close(db);
}

/* The health report's counts, made by the database: by status, and, of
 * approved clients, by health and by activity on any channel. */
static void
test_client_counts(void **state)
{
	static const char *const want[] = {
	    "{\"activity\":\"active\",\"health\":\"healthy\",\"n\":1,"
	    "\"status\":\"approved\"}",
	    "{\"activity\":\"inactive\",\"health\":\"unknown\",\"n\":2,"
	    "\"status\":\"approved\"}",
	    "{\"activity\":\"inactive\",\"health\":\"unknown\",\"n\":1,"
	    "\"status\":\"pending\"}"};
	char err[ERRMSG_MAX], p2[300], seen[1024] = "";
	struct db *db;
	json_t *rows, *row;
	size_t i, off = 0;

	/* A file of its own: the other tests' clients are not counted. */
	str_fmt(p2, sizeof(p2), "%s.counts", path);
	unlink(p2);
	db = db_open(p2, err);
	assert_non_null(db);
	assert_int_equal(db_client_insert(db, "c1", "approved", "h1", "hw1",
			     "auto", NULL, NULL, 10, err),
	    0);
	assert_int_equal(db_client_insert(db, "c2", "approved", "h2", "hw2",
			     "auto", NULL, NULL, 10, err),
	    0);
	assert_int_equal(db_client_insert(db, "c3", "approved", "h3", "hw3",
			     "auto", NULL, NULL, 10, err),
	    0);
	assert_int_equal(db_client_insert(db, "c4", "pending", "h4", "hw4",
			     NULL, NULL, NULL, 10, err),
	    0);
	/* c1: heard from on a channel after 500, and healthy; c2: before;
	 * c3: never. */
	assert_int_equal(db_client_touch(db, "c1", "health", 900, err), 0);
	assert_int_equal(db_client_touch(db, "c2", "inventory", 400, err), 0);
	assert_int_equal(db_health_put(db, "c1", 1, 900, "healthy", "[]", err),
	    1);
	rows = db_client_counts(db, 500);
	assert_non_null(rows);
	/* Each group as "status health activity n", in any order. */
	json_array_foreach(rows, i, row)
	{
		char *t = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);

		assert_non_null(t);
		off += (size_t)snprintf(seen + off, sizeof(seen) - off, "%s\n",
		    t);
		free(t);
	}
	json_decref(rows);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(seen, want[i]) == NULL)
			fail_msg("no group %s in:\n%s", want[i], seen);
	assert_int_equal(json_array_size(rows = db_client_counts(db, 500)),
	    sizeof(want) / sizeof(want[0]));
	json_decref(rows);
	db_close(db);
	unlink(p2);
}

/* Thousands of revocations, ten per update: the set holds every one at
 * every step, in its bulk or its recent array, and rebuilds the bulk as
 * the recent array grows past its bound, not at every update. */
static void
test_revoked_many(void **state)
{
	char err[ERRMSG_MAX], serial[16];
	struct db *db = db_open(path, err);
	struct revoked_set set;
	int batch, i, k, rebuilds = 0;
	size_t had, base;

	assert_non_null(db);
	revoked_init(&set);
	/* What the tests before left revoked in the file. */
	assert_int_equal(revoked_update(&set, db, 200, err), 0);
	base = had = revoked_count(&set);
	for (batch = 0; batch < 200; batch++) {
		assert_int_equal(db_begin(db, err), 0);
		for (i = 0; i < 10; i++) {
			/* Serials out of order, spread over the range. */
			k = batch * 10 + i;
			snprintf(serial, sizeof(serial), "%08x",
			    (unsigned)k * 2654435761u);
			assert_int_equal(db_cert_insert(db, serial, "m", "client",
					     "f", "hw", 1000000, 1, err),
			    0);
			assert_int_equal(db_cert_revoke(db, serial,
					     k % 7 ? "superseded"
						   : "privilegeWithdrawn",
					     100 + batch, err),
			    1);
		}
		assert_int_equal(db_commit(db, err), 0);
		assert_int_equal(revoked_update(&set, db, 200, err), 0);
		assert_int_equal(revoked_count(&set), base + (batch + 1) * 10);
		if (set.n != had)
			rebuilds++;
		had = set.n;
		for (k = batch % 13; k < batch * 10 + 10; k += 13) {
			snprintf(serial, sizeof(serial), "%08x",
			    (unsigned)k * 2654435761u);
			assert_int_equal(revoked_check(&set, serial),
			    k % 7 ? REVOKED_YES : REVOKED_BLOCK);
		}
		assert_int_equal(revoked_check(&set, "ffffffff"), REVOKED_NO);
	}
	/* Some updates rebuild the bulk, most do not. */
	assert_true(rebuilds >= 5 && rebuilds <= 100);
	revoked_free(&set);
	db_close(db);
}

static void
test_notifications(void **state)
{
	char err[ERRMSG_MAX];
	struct db *db = db_open(path, err);
	json_t *l;
	int64_t first;

	assert_int_equal(db_notify_add(db, "n1", "renew", 1, err), 0);
	assert_int_equal(db_notify_add(db, "n1", "blocked", 2, err), 0);
	assert_int_equal(db_notify_add(db, "n2", "renew", 2, err), 0);
	l = db_notify_take(db, "n1", 0, 3);
	assert_int_equal(json_array_size(l), 2);
	first = json_integer_value(json_object_get(json_array_get(l, 0), "id"));
	json_decref(l);
	/* Acknowledging the first leaves the second. */
	l = db_notify_take(db, "n1", first, 4);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	assert_int_equal(db_notify_clear(db, "n1", 5, err), 0);
	l = db_notify_take(db, "n1", 0, 6);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	l = db_notify_take(db, "n2", 0, 6);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	db_close(db);
}

/* The notices of one client among v (sorted by client): how many, the
 * first at *first. */
static size_t
notices_of(const struct db_notice *v, size_t nv, const char *id,
    size_t *first)
{
	size_t i, n = 0;

	for (i = 0; i < nv; i++)
		if (strcmp(v[i].client_id, id) == 0) {
			if (n++ == 0)
				*first = i;
			else
				assert_int_equal(i, *first + n - 1);
		}
	return n;
}

/* One read of the pending notifications of batches of clients, batch
 * after batch of varying sizes (a statement kept for one batch must not
 * answer another), and of more clients than a statement may name. */
/* Column col of the first row sql gives, copied into out. */
static const char *
first_cell(struct db *db, const char *sql, int col, char *out, size_t size)
{
	char err[ERRMSG_MAX];
	struct db_result *r;

	assert_int_equal(db_exec(db, sql, NULL, 0, &r, err), 0);
	assert_true(r->nrows >= 1);
	assert_non_null(db_cell(r, 0, col));
	str_copy(out, size, db_cell(r, 0, col));
	db_result_free(r);
	return out;
}

static void
test_notify_pending(void **state)
{
	char err[ERRMSG_MAX], names[1000][8], plan[400];
	const char *ids[1000], *odd[] = {"q\"1\\\n", "q002"};
	struct db *db = db_open(path, err);
	struct db_notice *v;
	size_t i, n, nv, round, start, first = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(names[i], sizeof(names[i]), "q%03zu", i);
		ids[i] = names[i];
		if (i % 2 == 0)
			assert_int_equal(db_notify_add(db, names[i], "policy",
					     (int64_t)i, err), 0);
	}
	assert_int_equal(db_notify_add(db, "q000", "renew", 5000, err), 0);
	assert_int_equal(db_notify_add(db, odd[0], "policy", 7, err), 0);
	for (round = 0; round < 3; round++)
		for (n = 1; n <= 12; n++) {
			start = (round * 37 + n * 11) % 900;
			assert_int_equal(db_notify_pending(db, ids + start, n,
					     &v, &nv), 0);
			for (i = start; i < start + n; i++)
				assert_int_equal(notices_of(v, nv, names[i],
						     &first),
				    i % 2 ? 0 : i == 0 ? 2 : 1);
			assert_int_equal(nv, (n + (start % 2 == 0)) / 2);
			for (i = 1; i < nv; i++)
				assert_true(strcmp(v[i - 1].client_id,
						v[i].client_id) < 0);
			free(v);
		}
	assert_int_equal(db_notify_pending(db, ids, 1000, &v, &nv), 0);
	assert_int_equal(nv, 501);
	assert_int_equal(notices_of(v, nv, "q000", &first), 2);
	assert_true(v[first].id < v[first + 1].id);
	assert_string_equal(v[first + 1].kind, "renew");
	assert_int_equal(v[first + 1].created_at, 5000);
	free(v);
	/* An id that needs escaping in the statement's JSON. */
	assert_int_equal(db_notify_pending(db, odd, 2, &v, &nv), 0);
	assert_int_equal(nv, 2);
	assert_int_equal(notices_of(v, nv, odd[0], &first), 1);
	assert_int_equal(v[first].created_at, 7);
	free(v);
	/* Delivered ones are not pending; nobody asked, nothing. */
	assert_int_equal(db_notify_clear(db, "q002", 6000, err), 0);
	assert_int_equal(db_notify_pending(db, ids + 2, 1, &v, &nv), 0);
	assert_int_equal(nv, 0);
	free(v);
	assert_int_equal(db_notify_pending(db, ids, 0, &v, &nv), 0);
	assert_int_equal(nv, 0);
	assert_null(v);
	/* The index that finds them holds pending ones only (migration
	 * 010), and the pending reads go through it. */
	assert_string_equal(first_cell(db,
				"SELECT partial FROM pragma_index_list("
				"'notifications') WHERE name = "
				"'notifications_pending'",
				0, plan, sizeof(plan)),
	    "1");
	assert_non_null(strstr(first_cell(db,
				   "EXPLAIN QUERY PLAN SELECT id FROM "
				   "notifications WHERE client_id = 'q004' "
				   "AND id > 0 AND delivered_at IS NULL",
				   3, plan, sizeof(plan)),
	    "notifications_pending"));
	db_close(db);
}

static void
test_retention(void **state)
{
	char err[ERRMSG_MAX], p2[160];
	struct db *db;
	struct db_task t;
	int64_t now = 100 * 86400, deleted = 0, n, i;
	json_t *l;

	str_fmt(p2, sizeof(p2), "%s/ret.db", dir);
	db = db_open(p2, err);
	assert_non_null(db);
	assert_int_equal(db_tasks_ensure(db, err), 0);
	assert_int_equal(db_tasks_ensure(db, err), 0); /* idempotent */
	l = db_tasks_list(db);
	assert_int_equal(json_array_size(l), 5);
	json_decref(l);
	assert_int_equal(db_task_get(db, "status_messages", &t), 0);
	assert_int_equal(t.retention, 30 * 86400);
	/* 1200 old messages and 10 recent ones. */
	for (i = 1; i <= 1210; i++)
		assert_int_equal(db_status_insert(db, "c1", i, "a", 1, "info",
				     0, i <= 1200 ? now - 40 * 86400 : now - 60,
				     "[]", err),
		    1);
	/* Batches are bounded: three rounds of at most 500. */
	while ((n = db_retention_batch(db, "status_messages",
		    now - t.retention, 500, err)) > 0) {
		assert_true(n <= 500);
		deleted += n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(deleted, 1200);
	l = db_status_list(db, NULL, 0, NULL, 100000);
	assert_int_equal(json_array_size(l), 10);
	json_decref(l);
	/* Discovery: a client not seen for 100 days loses its inventory and
	 * discovery record, not its identity. */
	assert_int_equal(db_client_insert(db, "old", "approved", "h",
			     "hw-00000000", NULL, NULL, "{\"os\":\"x\"}", 0, err),
	    0);
	assert_int_equal(db_inventory_put(db, "old", "os", "", "{}", 0, err),
	    0);
	assert_int_equal(db_task_set(db, "discovery", 90 * 86400, 1, err), 0);
	for (deleted = 0; (n = db_retention_batch(db, "discovery",
			       now - 90 * 86400, 500, err)) > 0;)
		deleted += n;
	assert_int_equal(deleted, 2);
	l = db_inventory_show(db, "old", NULL);
	assert_int_equal(json_object_size(l), 0);
	json_decref(l);
	{
		struct db_client c;

		assert_int_equal(db_client_get(db, "old", &c), 0);
	}
	assert_int_equal(db_retention_batch(db, "bogus", 0, 1, err), -1);
	db_close(db);
}

static void
test_epochs(void **state)
{
	char err[ERRMSG_MAX], own[160];
	struct db *db;
	uint64_t t0, p0;

	str_fmt(own, sizeof(own), "%s/epochs.db", dir);
	db = db_open(own, err);
	assert_non_null(db);
	assert_int_equal(db_client_insert(db, "e1", "pending", "e", "hw-e",
			     NULL, NULL, "{}", 1, err),
	    0);
	/* Inside a transaction: the epoch moves on at commit, not before. */
	t0 = db_trust_epoch();
	assert_int_equal(db_begin(db, err), 0);
	assert_int_equal(db_client_decide(db, "e1", "approved", "manual", "t",
			     NULL, 2, err),
	    0);
	assert_int_equal(db_trust_epoch(), t0);
	assert_int_equal(db_commit(db, err), 0);
	assert_true(db_trust_epoch() > t0);
	/* Outside one: at once. */
	t0 = db_trust_epoch();
	assert_int_equal(db_cert_revoke_client(db, "e1", NULL, "unspecified",
			     3, err),
	    0);
	assert_true(db_trust_epoch() > t0);
	/* A policy marked for rebuild moves the policy epoch; storing the
	 * rebuilt one does not (each worker checks a policy's age itself). */
	p0 = db_policy_epoch();
	assert_int_equal(db_policy_put(db, "e1", 1, "1-x", "body", 4, 99, err),
	    0);
	assert_int_equal(db_policy_epoch(), p0);
	assert_int_equal(db_policy_dirty(db, "e1", err), 0);
	assert_true(db_policy_epoch() > p0);
	/* A read moves nothing. */
	t0 = db_trust_epoch();
	p0 = db_policy_epoch();
	{
		struct db_client c;

		assert_int_equal(db_client_get(db, "e1", &c), 0);
	}
	assert_int_equal(db_trust_epoch(), t0);
	assert_int_equal(db_policy_epoch(), p0);
	db_close(db);
}

/* A result's cells live in one block that grows while the rows are read:
 * NULL and empty cells stay apart, a long cell and every row survive the
 * block's moves, and the column names are kept. */
static void
test_result_block(void **state)
{
	char err[ERRMSG_MAX], want[32];
	struct db *db = db_open(path, err);
	struct db_result *r;
	int i;

	assert_non_null(db);
	assert_int_equal(db_exec(db,
			     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
			     "SELECT i + 1 FROM n WHERE i < 5000) "
			     "SELECT i AS num, CASE WHEN i % 3 = 0 THEN NULL "
			     "WHEN i % 3 = 1 THEN '' ELSE 'row' || i END AS "
			     "word, CASE WHEN i = 4000 THEN printf('%.*c', "
			     "100000, 'x') END AS big FROM n",
			     NULL, 0, &r, err),
	    0);
	assert_int_equal(r->nrows, 5000);
	assert_int_equal(r->ncols, 3);
	assert_string_equal(r->names[0], "num");
	assert_string_equal(r->names[1], "word");
	assert_string_equal(r->names[2], "big");
	for (i = 0; i < 5000; i++) {
		str_fmt(want, sizeof(want), "%d", i + 1);
		assert_string_equal(db_cell(r, i, 0), want);
		if ((i + 1) % 3 == 0)
			assert_null(db_cell(r, i, 1));
		else if ((i + 1) % 3 == 1)
			assert_string_equal(db_cell(r, i, 1), "");
		else {
			str_fmt(want, sizeof(want), "row%d", i + 1);
			assert_string_equal(db_cell(r, i, 1), want);
		}
		if (i + 1 == 4000) {
			assert_int_equal(strlen(db_cell(r, i, 2)), 100000);
			assert_int_equal(strspn(db_cell(r, i, 2), "x"), 100000);
		} else
			assert_null(db_cell(r, i, 2));
	}
	db_result_free(r);
	/* No rows: names only. */
	assert_int_equal(db_exec(db, "SELECT 1 AS one WHERE 0", NULL, 0, &r,
			     err),
	    0);
	assert_int_equal(r->nrows, 0);
	assert_string_equal(r->names[0], "one");
	db_result_free(r);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_migrations_idempotent),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_clients_and_rollback),
		cmocka_unit_test(test_certs),
		cmocka_unit_test(test_migration_keeps_data),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_revoked_many),
		cmocka_unit_test(test_client_counts),
		cmocka_unit_test(test_notifications),
		cmocka_unit_test(test_notify_pending),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_result_block),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
