/* db_sqlite.c - the SQLite driver: WAL mode, one connection per thread,
 * prepared statements cached by SQL text address (repository SQL is static;
 * an entry is used only while its text is the caller's). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/util.h"
#include "db.h"

#define STMT_CACHE 64

struct sq {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
	int ncache;
};

static int
sq_open(const char *path, void **handle, char *err)
{
	struct sq *s = calloc(1, sizeof(*s));
	char *msg = NULL;

	if (s == NULL)
		return err_set(err, "out of memory");
	if (sqlite3_open_v2(path, &s->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		err_set(err, "cannot open database %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sqlite3_close(s->db);
		free(s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* WAL: readers never block the writer; synchronous=FULL makes every
	 * acknowledged commit durable across power loss. */
	if (sqlite3_exec(s->db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
		NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, "cannot configure database %s: %s", path,
		    msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(s->db);
		free(s);
		return -1;
	}
	*handle = s;
	return 0;
}

static void
sq_close(void *handle)
{
	struct sq *s = handle;
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

static sqlite3_stmt *
sq_prepare(struct sq *s, const char *sql, char *err)
{
	sqlite3_stmt *stmt;
	int i;

	/* Found by address, kept only for the same text: an address a
	 * caller's buffer had may later hold another statement. */
	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			if (strcmp(sqlite3_sql(s->cache[i].stmt), sql) == 0)
				return s->cache[i].stmt;
			sqlite3_finalize(s->cache[i].stmt);
			s->cache[i] = s->cache[--s->ncache];
			break;
		}
	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		err_set(err, "database error: %s", sqlite3_errmsg(s->db));
		return NULL;
	}
	if (s->ncache < STMT_CACHE) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].stmt = stmt;
		s->ncache++;
	}
	return stmt;
}

static void
sq_release(struct sq *s, sqlite3_stmt *stmt)
{
	int i;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return;
		}
	sqlite3_finalize(stmt);
}

static int
sq_bind(sqlite3_stmt *stmt, const struct db_param *p, int np)
{
	int i, rc = SQLITE_OK;

	for (i = 0; i < np && rc == SQLITE_OK; i++) {
		char name[16];
		int idx;

		snprintf(name, sizeof(name), "$%d", i + 1);
		idx = sqlite3_bind_parameter_index(stmt, name);
		if (idx == 0)
			continue;
		switch (p[i].type) {
		case DBP_TEXT:
			rc = sqlite3_bind_text(stmt, idx, p[i].s, -1,
			    SQLITE_TRANSIENT);
			break;
		case DBP_INT:
			rc = sqlite3_bind_int64(stmt, idx, p[i].i);
			break;
		default:
			rc = sqlite3_bind_null(stmt, idx);
			break;
		}
	}
	return rc;
}

/* Text collected for a result: offsets into one growing block, made
 * pointers once the block stops moving. */
struct arena {
	char *buf;
	size_t len, cap;
};

/* Appends n bytes and a NUL; returns the offset plus one (0: failed). */
static size_t
arena_add(struct arena *a, const void *p, size_t n)
{
	size_t off = a->len;

	if (n >= SIZE_MAX / 2 - a->len)
		return 0;
	if (a->len + n + 1 > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		char *nb;

		while (cap < a->len + n + 1)
			cap *= 2;
		if ((nb = realloc(a->buf, cap)) == NULL)
			return 0;
		a->buf = nb;
		a->cap = cap;
	}
	memcpy(a->buf + off, p, n);
	a->buf[off + n] = '\0';
	a->len += n + 1;
	return off + 1;
}

/* Offsets (plus one; 0 for NULL) to pointers into the final block. */
static void
arena_rebase(char **v, size_t n, char *base)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			v[i] = base + ((uintptr_t)v[i] - 1);
}

static int
sq_collect(sqlite3_stmt *stmt, struct db_result *r)
{
	struct arena a = {NULL, 0, 0};
	size_t off;
	int cap = 0, rc, c;

	r->ncols = sqlite3_column_count(stmt);
	r->names = calloc((size_t)r->ncols + 1, sizeof(char *));
	if (r->names == NULL)
		return SQLITE_NOMEM;
	for (c = 0; c < r->ncols; c++) {
		const char *name = sqlite3_column_name(stmt, c);

		if (name == NULL ||
		    (off = arena_add(&a, name, strlen(name))) == 0) {
			rc = SQLITE_NOMEM;
			goto out;
		}
		r->names[c] = (char *)(uintptr_t)off;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (r->nrows == cap) {
			int ncap = cap ? cap * 2 : 8;
			char **n = realloc(r->cells,
			    (size_t)ncap * (size_t)r->ncols * sizeof(char *));

			if (n == NULL) {
				rc = SQLITE_NOMEM;
				goto out;
			}
			r->cells = n;
			cap = ncap;
		}
		for (c = 0; c < r->ncols; c++) {
			char **cell = &r->cells[r->nrows * r->ncols + c];
			const unsigned char *t;

			*cell = NULL;
			if (sqlite3_column_type(stmt, c) == SQLITE_NULL)
				continue;
			/* NULL here is SQLite out of memory, never a value.
			 * A cell is read up to its first NUL. */
			if ((t = sqlite3_column_text(stmt, c)) == NULL ||
			    (off = arena_add(&a, t,
				 strlen((const char *)t))) == 0) {
				rc = SQLITE_NOMEM;
				goto out;
			}
			*cell = (char *)(uintptr_t)off;
		}
		r->nrows++;
	}
out:
	/* Even on failure: the result is freed whole, never read. */
	r->text = a.buf;
	if (rc == SQLITE_DONE) {
		arena_rebase(r->names, (size_t)r->ncols, a.buf);
		arena_rebase(r->cells, (size_t)r->nrows * (size_t)r->ncols,
		    a.buf);
	}
	return rc;
}

static int
sq_exec(void *handle, const char *sql, const struct db_param *p, int np,
    struct db_result **res, char *err)
{
	struct sq *s = handle;
	sqlite3_stmt *stmt = sq_prepare(s, sql, err);
	struct db_result *r;
	int rc;

	if (stmt == NULL)
		return -1;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		sq_release(s, stmt);
		return err_set(err, "out of memory");
	}
	rc = sq_bind(stmt, p, np);
	if (rc == SQLITE_OK)
		rc = sq_collect(stmt, r);
	if (rc != SQLITE_DONE) {
		/* Out of memory in collecting is ours: SQLite has no text. */
		err_set(err, "database error: %s",
		    rc == SQLITE_NOMEM ? sqlite3_errstr(rc)
				       : sqlite3_errmsg(s->db));
		sq_release(s, stmt);
		db_result_free(r);
		return -1;
	}
	r->changes = sqlite3_changes(s->db);
	sq_release(s, stmt);
	if (res != NULL)
		*res = r;
	else
		db_result_free(r);
	return 0;
}

static int
sq_script(void *handle, const char *sql, char *err)
{
	struct sq *s = handle;
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, "database error: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
sq_migration_check(void *handle, char *err)
{
	struct sq *s = handle;
	sqlite3_stmt *st;
	int bad;

	if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st,
		NULL) != SQLITE_OK)
		return err_set(err, "database error: %s", sqlite3_errmsg(s->db));
	bad = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return bad ? err_set(err, "migration left rows that break a foreign "
				  "key")
		   : 0;
}

static int
sq_ready(void *handle, char *err)
{
	return sq_script(handle, "PRAGMA foreign_keys=ON", err);
}

static int
sq_begin(void *handle, char *err)
{
	/* IMMEDIATE takes the write lock now, so a transaction never fails
	 * half-way on a lock upgrade. */
	return sq_script(handle, "BEGIN IMMEDIATE", err);
}

static int
sq_commit(void *handle, char *err)
{
	return sq_script(handle, "COMMIT", err);
}

static void
sq_rollback(void *handle)
{
	sq_script(handle, "ROLLBACK", NULL);
}

const struct db_driver db_sqlite_driver = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.script = sq_script,
	.migration_check = sq_migration_check,
	.ready = sq_ready,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
};
