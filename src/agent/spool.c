/* spool.c - the agent's outbox: every status message and health report is
 * written to a local SQLite spool first and deleted only after the site
 * acknowledged it (2xx), so nothing is lost while the site is down. The
 * spool is bounded; when full, the oldest entries go and their number is
 * reported later.
 *
 * Most check-ins have nothing to send. The database is opened only when it
 * is used, and a marker file, spool.empty, says that it held nothing the
 * last time it was emptied: a check-in that finds the marker sends nothing
 * and leaves SQLite closed. The marker is made and removed only under the
 * database's write lock, so that a report added by another process (the
 * status command) cannot be hidden by it; an addition removes it, durably,
 * before its row is committed.
 *
 * For the same reason SQLite itself is loaded (dlopen) only when the spool
 * is first used: mapping and relocating the library cost every check-in a
 * quarter of a millisecond, a twentieth of its whole CPU. Its functions are
 * reached through `lite`, typed from sqlite3.h. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

#define AGENT_SPOOL "spool.db"
#define SPOOL_EMPTY "spool.empty"
#define SPOOL_MAX_ROWS 10000
#define STATUS_PER_POST 50

#ifndef STEWARD_SQLITE_SONAME
#define STEWARD_SQLITE_SONAME "libsqlite3.so.0"
#endif

#define LITE_FN(name) __typeof__(&sqlite3_##name) name
static struct {
	LITE_FN(bind_int);
	LITE_FN(bind_text);
	LITE_FN(busy_timeout);
	LITE_FN(close);
	LITE_FN(column_int64);
	LITE_FN(column_text);
	LITE_FN(exec);
	LITE_FN(file_control);
	LITE_FN(finalize);
	LITE_FN(free);
	LITE_FN(open);
	LITE_FN(prepare_v2);
	LITE_FN(step);
} lite;
static pthread_once_t lite_once = PTHREAD_ONCE_INIT;
static char lite_error[ERRMSG_MAX];

static void
lite_load(void)
{
	void *h = dlopen(STEWARD_SQLITE_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		err_set(lite_error, "cannot load SQLite for the spool: %s",
		    dlerror());
		return;
	}
#define LITE_SYM(name)                                                      \
	if ((lite.name = (__typeof__(lite.name))dlsym(h,                    \
		 "sqlite3_" #name)) == NULL) {                              \
		err_set(lite_error, "cannot load SQLite for the spool: %s", \
		    "sqlite3_" #name " is missing");                        \
		return;                                                     \
	}
	LITE_SYM(bind_int)
	LITE_SYM(bind_text)
	LITE_SYM(busy_timeout)
	LITE_SYM(column_int64)
	LITE_SYM(column_text)
	LITE_SYM(exec)
	LITE_SYM(file_control)
	LITE_SYM(finalize)
	LITE_SYM(free)
	LITE_SYM(open)
	LITE_SYM(prepare_v2)
	LITE_SYM(step)
	/* Last: a non-NULL close says that everything was found. */
	LITE_SYM(close)
#undef LITE_SYM
}

struct spool {
	sqlite3 *db; /* NULL until first used */
	int64_t base; /* high bits of every uid: unique per spool file */
	const struct agent_state *s;
};

static int
sq(struct spool *sp, const char *sql, char *err)
{
	char *msg = NULL;

	if (lite.exec(sp->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, "spool: %s", msg ? msg : "error");
		lite.free(msg);
		return -1;
	}
	return 0;
}

static int64_t
scalar(struct spool *sp, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (lite.prepare_v2(sp->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (lite.step(st) == SQLITE_ROW)
		v = lite.column_int64(st, 0);
	lite.finalize(st);
	return v;
}

/* Opens the database on first use. */
static int
spool_db(struct spool *sp, char *err)
{
	char path[PATH_MAX];
	struct stat st;
	int one = 1;

	if (sp->db != NULL)
		return 0;
	pthread_once(&lite_once, lite_load);
	if (lite.close == NULL)
		return err_set(err, "%s", lite_error);
	state_path(sp->s, AGENT_SPOOL, path, sizeof(path));
	/* Created 0600 before SQLite opens it. */
	if (stat(path, &st) < 0 && file_write_new(path, "", 0, 0600, err) < 0)
		return -1;
	if (lite.open(path, &sp->db) != SQLITE_OK) {
		err_set(err, "cannot open the spool %s", path);
		lite.close(sp->db);
		sp->db = NULL;
		return -1;
	}
	lite.busy_timeout(sp->db, 5000);
	/* The WAL and its index stay between runs instead of being created
	 * and removed by each; emptied after each checkpoint, so the next
	 * opening does not replay what was already copied back. */
	lite.file_control(sp->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	if (sq(sp,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		"PRAGMA journal_size_limit=0;"
		"CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY "
		"AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);"
		"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value "
		"INTEGER NOT NULL);",
		err) < 0)
		goto fail;
	sp->base = scalar(sp, "SELECT value FROM meta WHERE key = 'base'");
	if (sp->base < 0) {
		unsigned char r[4];
		char sql[128];

		rand_bytes(r, sizeof(r));
		sp->base = (int64_t)(((uint32_t)r[0] << 24 | r[1] << 16 |
					 r[2] << 8 | r[3]) &
		    0x3fffffff);
		str_fmt(sql, sizeof(sql),
		    "INSERT INTO meta VALUES ('base', %lld), ('dropped', 0)",
		    (long long)sp->base);
		if (sq(sp, sql, err) < 0)
			goto fail;
	}
	return 0;
fail:
	lite.close(sp->db);
	sp->db = NULL;
	return -1;
}

/* Nothing is opened yet: a check-in with nothing to report never opens
 * the database. */
struct spool *
spool_open(struct agent_state *s, char *err)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (sp == NULL) {
		err_set(err, "out of memory");
		return NULL;
	}
	sp->s = s;
	return sp;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->db != NULL)
		lite.close(sp->db);
	free(sp);
}

/* Under the write lock (BEGIN IMMEDIATE): the marker goes before a row is
 * committed, with the directory synced, so that no crash leaves a marker
 * over rows. */
static int
empty_mark_remove(struct spool *sp, char *err)
{
	char path[PATH_MAX];
	int fd;

	state_path(sp->s, SPOOL_EMPTY, path, sizeof(path));
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : err_set(err, "cannot remove %s",
						    path);
	fd = open(sp->s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return err_set(err, "cannot sync %s", sp->s->dir);
	}
	close(fd);
	return 0;
}

/* Whether the marker says there is nothing to send. */
static int
empty_marked(struct spool *sp)
{
	char path[PATH_MAX];
	struct stat st;

	state_path(sp->s, SPOOL_EMPTY, path, sizeof(path));
	return stat(path, &st) == 0;
}

/* Under the write lock, once nothing is queued and nothing dropped. Its
 * loss costs only an opening of the database: it is not synced. */
static void
empty_mark_make(struct spool *sp)
{
	char path[PATH_MAX], err[ERRMSG_MAX];

	if (empty_marked(sp) || sq(sp, "BEGIN IMMEDIATE", err) < 0)
		return;
	state_path(sp->s, SPOOL_EMPTY, path, sizeof(path));
	if (scalar(sp, "SELECT COUNT(*) FROM outbox") == 0 &&
	    scalar(sp, "SELECT value FROM meta WHERE key = 'dropped'") == 0)
		file_write_cache(path, "", 0, 0600, err);
	sq(sp, "COMMIT", err);
}

int64_t
spool_pending(struct spool *sp)
{
	char err[ERRMSG_MAX];

	if (spool_db(sp, err) < 0) {
		log_warn("%s", err);
		return -1;
	}
	return scalar(sp, "SELECT COUNT(*) FROM outbox");
}

int
spool_add(struct spool *sp, const char *kind, json_t *item, char *err)
{
	sqlite3_stmt *st;
	char *text = json_dumps(item, JSON_COMPACT);
	int64_t n;
	int rc;

	if (text == NULL)
		return err_set(err, "cannot encode a report");
	if (spool_db(sp, err) < 0 || sq(sp, "BEGIN IMMEDIATE", err) < 0) {
		free(text);
		return -1;
	}
	if (empty_mark_remove(sp, err) < 0) {
		sq(sp, "ROLLBACK", NULL);
		free(text);
		return -1;
	}
	n = scalar(sp, "SELECT COUNT(*) FROM outbox");
	if (n >= SPOOL_MAX_ROWS) {
		/* Full: the oldest go, and we say how many later. */
		char sql[160];

		str_fmt(sql, sizeof(sql),
		    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
		    "ORDER BY id LIMIT %lld); UPDATE meta SET value = value + "
		    "%lld WHERE key = 'dropped'",
		    (long long)(n - SPOOL_MAX_ROWS + 1),
		    (long long)(n - SPOOL_MAX_ROWS + 1));
		if (sq(sp, sql, err) < 0) {
			sq(sp, "ROLLBACK", NULL);
			free(text);
			return -1;
		}
	}
	rc = lite.prepare_v2(sp->db,
	    "INSERT INTO outbox (kind, body) VALUES (?1, ?2)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		lite.bind_text(st, 1, kind, -1, SQLITE_STATIC);
		lite.bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
		rc = lite.step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		lite.finalize(st);
	}
	free(text);
	if (rc != SQLITE_OK || sq(sp, "COMMIT", err) < 0) {
		sq(sp, "ROLLBACK", NULL);
		return err_set(err, "cannot write the spool");
	}
	return 0;
}

int
spool_status(struct spool *sp, const char *component, int64_t message_id,
    const char *severity, json_t *strings, char *err)
{
	json_t *m = json_pack("{s:s,s:I,s:s,s:I,s:o}", "component", component,
	    "message_id", (json_int_t)message_id, "severity", severity, "time",
	    (json_int_t)now_unix(), "strings",
	    strings ? strings : json_array());
	int r = spool_add(sp, "status", m, err);

	json_decref(m);
	return r;
}

static int
delete_range(struct spool *sp, int64_t first, int64_t last, char *err)
{
	char sql[128];

	str_fmt(sql, sizeof(sql),
	    "DELETE FROM outbox WHERE id BETWEEN %lld AND %lld",
	    (long long)first, (long long)last);
	return sq(sp, sql, err);
}

/* Sends rows [first..] of one kind: status rows together (up to
 * STATUS_PER_POST, as one batch), a health row alone. Returns the HTTP
 * status, or -1 on transport error. */
static long
send_rows(struct spool *sp, struct agent_state *s, const struct identity *id,
    const char *crl, const char *kind, json_t *rows, char *err)
{
	struct httpc_tls tls = identity_tls(id, 30, crl);
	struct httpc_resp resp;
	char url[400], *body;
	json_t *doc;
	long status;

	if (strcmp(kind, "status") == 0)
		doc = json_pack("{s:O}", "messages", rows);
	else
		doc = json_incref(json_array_get(rows, 0));
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	str_fmt(url, sizeof(url), "%s/v1/%s", s->url,
	    strcmp(kind, "status") == 0 ? "status" : "health");
	if (body == NULL ||
	    httpc_request("POST", url, &tls, body, NULL, &resp, err) < 0) {
		free(body);
		return -1;
	}
	free(body);
	status = resp.status;
	if (status < 200 || status > 299) {
		json_t *o = json_loadb(resp.body, resp.len, 0, NULL);
		const char *e = json_string_value(json_object_get(o, "error"));

		err_set(err, "the site refused %s (HTTP %ld): %s", kind, status,
		    e ? e : "no reason given");
		json_decref(o);
	}
	httpc_resp_free(&resp);
	return status;
}

int
spool_flush(struct spool *sp, struct agent_state *s, const struct identity *id,
    const char *crl, int *sent, char *err)
{
	int64_t dropped;

	*sent = 0;
	if (sp->db == NULL && empty_marked(sp))
		return 0;
	if (spool_db(sp, err) < 0)
		return -1;
	dropped = scalar(sp, "SELECT value FROM meta WHERE key = 'dropped'");
	if (dropped > 0) {
		char n[32];

		str_fmt(n, sizeof(n), "%lld", (long long)dropped);
		if (sq(sp, "UPDATE meta SET value = 0 WHERE key = 'dropped'",
			err) < 0 ||
		    spool_status(sp, "agent", 1900, "warning",
			json_pack("[s,s]", n, "reports dropped from a full "
					      "spool"),
			err) < 0)
			return -1;
	}
	for (;;) {
		sqlite3_stmt *st;
		json_t *rows = json_array();
		char kind[16] = "";
		int64_t first = 0, last = 0;
		long status;

		if (lite.prepare_v2(sp->db,
			"SELECT id, kind, body FROM outbox ORDER BY id LIMIT "
			"?1",
			-1, &st, NULL) != SQLITE_OK) {
			json_decref(rows);
			return err_set(err, "cannot read the spool");
		}
		lite.bind_int(st, 1, STATUS_PER_POST);
		while (lite.step(st) == SQLITE_ROW) {
			const char *k = (const char *)lite.column_text(st, 1);
			json_t *item = json_loads(
			    (const char *)lite.column_text(st, 2), 0, NULL);
			int64_t rid = lite.column_int64(st, 0);

			/* In order: a batch is a run of rows of one kind. */
			if (kind[0] && (strcmp(kind, k) || strcmp(k, "status"))) {
				json_decref(item);
				break;
			}
			str_copy(kind, sizeof(kind), k);
			if (item == NULL)
				item = json_object();
			json_object_set_new(item, "uid",
			    json_integer(sp->base * ((int64_t)1 << 32) + rid));
			json_array_append_new(rows, item);
			if (first == 0)
				first = rid;
			last = rid;
		}
		lite.finalize(st);
		if (json_array_size(rows) == 0) {
			json_decref(rows);
			empty_mark_make(sp);
			return 0;
		}
		status = send_rows(sp, s, id, crl, kind, rows, err);
		json_decref(rows);
		if (status >= 200 && status <= 299) {
			if (delete_range(sp, first, last, err) < 0)
				return -1;
			*sent += (int)(last - first + 1);
			continue;
		}
		if (status == 400 || status == 413) {
			/* The site will never take these: do not block the
			 * queue behind them. */
			log_warn("dropping %lld spooled %s report(s): %s",
			    (long long)(last - first + 1), kind, err);
			if (delete_range(sp, first, last, err) < 0)
				return -1;
			continue;
		}
		/* Down, busy (429) or refusing us: keep everything, try later. */
		return -1;
	}
}
