/* retention.c - the retention tasks: delete aged discovery data, client
 * health history, status messages, inventory history and delivered
 * notifications, each with its own retention, in batches of a few hundred
 * rows per transaction so that the management point is never blocked for
 * more than a few milliseconds. */
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "server.h"

#define BATCH_ROWS 500
#define TASK_INTERVAL 86400

int
retention_run(struct db *db, const char *name, int64_t now, int64_t *deleted,
    char *err)
{
	struct db_task t;
	int64_t n;

	*deleted = 0;
	if (db_task_get(db, name, &t) < 0)
		return err_set(err, "no task named '%s' (stewardctl tasks list)",
		    name);
	do {
		if (db_begin(db, err) < 0)
			return -1;
		n = db_retention_batch(db, name, now - t.retention, BATCH_ROWS,
		    err);
		if (n < 0 || db_commit(db, err) < 0) {
			db_rollback(db);
			return -1;
		}
		*deleted += n;
	} while (n > 0);
	if (db_task_record(db, name, now, *deleted, now + TASK_INTERVAL, err) <
	    0)
		return -1;
	log_info("task %s: deleted %lld row(s) older than %lld days",
	    name, (long long)*deleted, (long long)(t.retention / 86400));
	return 0;
}

void
retention_due(struct db *db, int64_t now)
{
	json_t *list = db_tasks_list(db), *t;
	char err[ERRMSG_MAX];
	size_t i;

	json_array_foreach(list, i, t)
	{
		json_t *next = json_object_get(t, "next_run");
		int64_t deleted;

		if (!json_is_true(json_object_get(t, "enabled")) ||
		    (json_is_integer(next) && json_integer_value(next) > now))
			continue;
		if (retention_run(db,
			json_string_value(json_object_get(t, "name")), now,
			&deleted, err) < 0)
			log_err("task %s: %s",
			    json_string_value(json_object_get(t, "name")), err);
	}
	json_decref(list);
}

void
h_admin_tasks_list(struct request *r)
{
	json_t *list = db_tasks_list(r->db);

	if (list == NULL) {
		reply_error(r, 500, "cannot list tasks");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "tasks", list));
}

void
h_admin_task_run(struct request *r)
{
	char err[ERRMSG_MAX];
	int64_t deleted;

	if (retention_run(r->db, r->param, now_unix(), &deleted, err) < 0) {
		reply_error(r, strstr(err, "no task") ? 404 : 500, "%s", err);
		return;
	}
	admin_audit(r, "task.run", r->param, NULL);
	reply_json(r, 200,
	    json_pack("{s:s,s:I}", "task", r->param, "deleted",
		(json_int_t)deleted));
}

void
h_admin_task_set(struct request *r)
{
	json_t *o = body_json(r), *ret, *en;
	struct db_task t;
	char err[ERRMSG_MAX], detail[96];
	int64_t retention;
	int enabled;

	if (o == NULL)
		return;
	if (db_task_get(r->db, r->param, &t) < 0) {
		json_decref(o);
		reply_error(r, 404, "no task named '%s'", r->param);
		return;
	}
	ret = json_object_get(o, "retention");
	en = json_object_get(o, "enabled");
	if ((ret && (!json_is_integer(ret) || json_integer_value(ret) < 86400 ||
			json_integer_value(ret) > 3650LL * 86400)) ||
	    (en && !json_is_boolean(en)) || (!ret && !en)) {
		json_decref(o);
		reply_error(r, 400, "give 'retention' (seconds, 1 day to 10 "
				    "years) and/or 'enabled' (true/false)");
		return;
	}
	retention = ret ? json_integer_value(ret) : t.retention;
	enabled = en ? json_is_true(en) : t.enabled;
	json_decref(o);
	str_fmt(detail, sizeof(detail), "retention=%llds enabled=%s",
	    (long long)retention, enabled ? "yes" : "no");
	if (db_begin(r->db, err) < 0 ||
	    db_task_set(r->db, r->param, retention, enabled, err) < 0 ||
	    admin_audit(r, "task.set", r->param, detail) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	h_admin_tasks_list(r);
}
