/* h_deploy.c - content addressed by SHA-256, deployments of it (or of a
 * command line) to collections, the states devices report about them,
 * maintenance windows and the report of windows too small for what must
 * run in them. Content reaches only clients whose policy references it. */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/status.h"
#include "proto/window.h"
#include "server.h"

#define DEPLOY_NAME_MAX 128
#define DEPLOY_COMMAND_MAX 4096
#define DEPLOY_PATH_MAX 1024
#define DEPLOY_RUNTIME_DEFAULT 3600
#define DEPLOY_RUNTIME_MAX (7 * 86400)

static int
content_path(struct server *srv, const char *sha256, char *out, size_t size)
{
	char rel[80];

	str_fmt(rel, sizeof(rel), "content/%s", sha256);
	return site_path(&srv->cfg, rel, out, size);
}

/* Ends a write: audit, commit, or roll back and answer 500. */
static int
finish(struct request *r, const char *action, const char *target,
    const char *detail)
{
	char err[ERRMSG_MAX] = "audit failed";

	if (admin_audit(r, action, target, detail) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return -1;
	}
	return 0;
}

void
h_admin_content_add(struct request *r)
{
	char sha[PKI_FPR_HEX], path[PATH_MAX], name[DEPLOY_NAME_MAX], dir[PATH_MAX];
	char err[ERRMSG_MAX], detail[200];
	int n;

	if (query_get(r, "name", name, sizeof(name)) < 0 || name[0] == '\0')
		str_copy(name, sizeof(name), "-");
	if (r->body_len == 0) {
		reply_error(r, 400, "no content: the body is empty");
		return;
	}
	pki_sha256_hex(r->body, r->body_len, sha);
	/* The bytes are on disk before the row that names them. */
	if (site_path(&r->srv->cfg, "content", dir, sizeof(dir)) < 0 ||
	    dir_make(dir, 0750, err) < 0 ||
	    content_path(r->srv, sha, path, sizeof(path)) < 0 ||
	    file_write_atomic(path, r->body, r->body_len, 0640, err) < 0) {
		reply_error(r, 500, "cannot store the content: %s", err);
		return;
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		return;
	}
	n = db_content_add(r->db, sha, (int64_t)r->body_len, name, r->peer->id,
	    now_unix(), err);
	if (n < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	str_fmt(detail, sizeof(detail), "%zu bytes, %s", r->body_len, name);
	if (finish(r, "content.add", sha, detail) < 0)
		return;
	reply_json(r, n ? 201 : 200,
	    json_pack("{s:s,s:I,s:s,s:b}", "sha256", sha, "size",
		(json_int_t)r->body_len, "name", name, "new", n == 1));
}

void
h_admin_content_list(struct request *r)
{
	json_t *list = db_content_list(r->db);

	if (list == NULL) {
		reply_error(r, 503, "cannot read the content list");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "content", list));
}

/* GET /v1/content/{sha256}: only for a client whose policy references it;
 * the agent checks the hash and size again against its signed policy. */
void
h_content(struct request *r)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	char path[PATH_MAX];
	struct stat st;
	int64_t size;
	int fd;
	struct evbuffer *buf;

	if (!pki_sha256_hex_valid(r->param)) {
		reply_error(r, 400, "content is named by its SHA-256 (64 "
				    "lowercase hex digits)");
		return;
	}
	if (!db_content_allowed(r->db, r->param, r->peer->id)) {
		reply_error(r, 403, "no deployment to this client references "
				    "content %s",
		    r->param);
		return;
	}
	size = db_content_size(r->db, r->param);
	fd = -1;
	if (size < 0 || content_path(r->srv, r->param, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || (int64_t)st.st_size != size) {
		if (fd >= 0)
			close(fd);
		log_err("content %s is missing or damaged on the site", r->param);
		reply_error(r, 500, "content %s is missing on the site",
		    r->param);
		return;
	}
	evhttp_add_header(out, "Content-Type", "application/octet-stream");
	evhttp_add_header(out, "Cache-Control", "no-store");
	/* Straight from the file: no copy of up to 2 MiB in memory first
	 * (the buffer owns the descriptor). */
	buf = evbuffer_new();
	if (buf == NULL || evbuffer_add_file(buf, fd, 0, size) < 0) {
		close(fd);
		if (buf != NULL)
			evbuffer_free(buf);
		reply_error(r, 500, "cannot send content %s", r->param);
		return;
	}
	evhttp_send_reply(r->req, 200, "OK", buf);
	evbuffer_free(buf);
}

static int
user_name_valid(const char *s)
{
	size_t i;

	if (s == NULL || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!(islower((unsigned char)s[i]) ||
			isdigit((unsigned char)s[i]) || s[i] == '_' ||
			s[i] == '-'))
			return 0;
	return i <= 32;
}

static int
mode_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '7')
			return 0;
	return i == 3 || i == 4;
}

static int
path_valid(const char *s)
{
	return s[0] == '/' && strlen(s) <= DEPLOY_PATH_MAX &&
	    strstr(s, "/../") == NULL && !str_has_suffix(s, "/..") &&
	    !str_has_suffix(s, "/") && strchr(s, '\n') == NULL;
}

static int
text_valid(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return 0;
	return i > 0 && i <= max;
}


/* 1 when the stored content starts like a Debian package (an ar archive
 * whose first member is debian-binary): its first 21 bytes are read. */
static int
content_is_deb(struct server *srv, const char *sha)
{
	static const char magic[] = "!<arch>\ndebian-binary";
	char path[PATH_MAX], head[sizeof(magic) - 1];
	int fd, ok;

	if (content_path(srv, sha, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	ok = fd_io_full(fd, head, sizeof(head), 0) == 0 &&
	    memcmp(head, magic, sizeof(head)) == 0;
	close(fd);
	return ok;
}

static const char *
opt_string(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Checks a deployment request; fills d (borrowing from o). */
static int
deployment_check(struct request *r, json_t *o, struct db_deployment *d,
    char *err)
{
	json_t *v;

	memset(d, 0, sizeof(*d));
	d->name = opt_string(o, "name");
	d->type = opt_string(o, "type");
	d->collection = opt_string(o, "collection");
	d->content = opt_string(o, "content");
	d->command = opt_string(o, "command");
	d->path = opt_string(o, "path");
	d->mode = opt_string(o, "mode");
	d->owner = opt_string(o, "owner");
	d->run_as = opt_string(o, "run_as");
	d->required = json_is_true(json_object_get(o, "required"));
	d->override_windows = json_is_true(json_object_get(o,
	    "override_windows"));
	d->max_runtime = DEPLOY_RUNTIME_DEFAULT;
	if (d->name == NULL || !text_valid(d->name, DEPLOY_NAME_MAX))
		return err_set(err, "'name' must be 1 to %d printable "
				    "characters",
		    DEPLOY_NAME_MAX);
	if (d->type == NULL ||
	    (strcmp(d->type, "script") && strcmp(d->type, "package") &&
		strcmp(d->type, "file") && strcmp(d->type, "command")))
		return err_set(err, "'type' must be script, package, file or "
				    "command");
	if (d->collection == NULL || !db_collection_exists(r->db, d->collection))
		return err_set(err, "no collection '%.64s'",
		    d->collection ? d->collection : "");
	if (strcmp(d->type, "command") == 0) {
		if (d->content != NULL)
			return err_set(err, "a command deployment has a "
					    "'command', not content");
		if (d->command == NULL ||
		    !text_valid(d->command, DEPLOY_COMMAND_MAX))
			return err_set(err, "'command' must be 1 to %d printable "
					    "characters",
			    DEPLOY_COMMAND_MAX);
	} else {
		if (d->command != NULL)
			return err_set(err, "only a command deployment has a "
					    "'command'");
		if (d->content == NULL || !pki_sha256_hex_valid(d->content))
			return err_set(err, "'content' must be the SHA-256 "
					    "'content add' printed");
		if (db_content_size(r->db, d->content) < 0)
			return err_set(err, "no content %s on this site; add it "
					    "first",
			    d->content);
	}
	if (strcmp(d->type, "file") == 0) {
		if (d->path == NULL || !path_valid(d->path))
			return err_set(err, "a file deployment needs an absolute "
					    "'path' without '..' components");
		if (d->mode != NULL && !mode_valid(d->mode))
			return err_set(err, "'mode' must be octal, like 0644");
		if (d->owner != NULL && !user_name_valid(d->owner))
			return err_set(err, "'owner' must be a user name");
	} else if (d->path != NULL || d->mode != NULL || d->owner != NULL)
		return err_set(err, "path, mode and owner are for file "
				    "deployments");
	if (d->run_as != NULL &&
	    (!user_name_valid(d->run_as) ||
		(strcmp(d->type, "script") && strcmp(d->type, "command"))))
		return err_set(err, "'run_as' is a user name, for script and "
				    "command deployments");
	v = json_object_get(o, "max_runtime");
	if (v != NULL) {
		d->max_runtime = json_integer_value(v);
		if (!json_is_integer(v) || d->max_runtime < 60 ||
		    d->max_runtime > DEPLOY_RUNTIME_MAX)
			return err_set(err, "'max_runtime' must be 60 seconds to "
					    "7 days");
	}
	v = json_object_get(o, "deadline");
	if (v != NULL) {
		d->deadline = json_integer_value(v);
		if (!json_is_integer(v) || d->deadline <= 0 || !d->required)
			return err_set(err, "'deadline' is a time, for required "
					    "deployments");
	}
	if (d->override_windows && d->deadline == 0)
		return err_set(err, "override_windows needs a deadline");
	if (strcmp(d->type, "package") == 0 &&
	    !content_is_deb(r->srv, d->content))
		return err_set(err, "content %s is not a Debian package",
		    d->content);
	return 0;
}

void
h_admin_deployment_add(struct request *r)
{
	json_t *o = body_json(r), *list;
	struct db_deployment d;
	char err[ERRMSG_MAX], idtxt[24], detail[300];
	int64_t id;

	if (o == NULL)
		return;
	if (deployment_check(r, o, &d, err) < 0) {
		reply_error(r, 400, "%s", err);
		goto out;
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		goto out;
	}
	if (db_deployment_add(r->db, &d, r->peer->id, now_unix(), &id, err) <
		0 ||
	    db_policy_dirty_collection(r->db, d.collection, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	str_fmt(idtxt, sizeof(idtxt), "%lld", (long long)id);
	str_fmt(detail, sizeof(detail), "%s '%s' to %s%s", d.type, d.name,
	    d.collection, d.required ? " (required)" : " (available)");
	if (finish(r, "deployment.add", idtxt, detail) < 0)
		goto out;
	list = db_deployments(r->db, id);
	reply_json(r, 201, json_incref(json_array_get(list, 0)));
	json_decref(list);
out:
	json_decref(o);
}

void
h_admin_deployments_list(struct request *r)
{
	json_t *list = db_deployments(r->db, 0);

	if (list == NULL) {
		reply_error(r, 503, "cannot read deployments");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "deployments", list));
}

static int
param_id(struct request *r, int64_t *id)
{
	if (parse_int64(r->param, 1, INT64_MAX / 2, id) < 0) {
		reply_error(r, 400, "'%.40s' is not an id", r->param);
		return -1;
	}
	return 0;
}

void
h_admin_deployment_show(struct request *r)
{
	json_t *list, *d, *devices;
	struct page pg;
	int64_t id;

	if (param_id(r, &id) < 0 || page_args(r, 0, &pg) < 0)
		return;
	list = db_deployments(r->db, id);
	d = json_array_get(list, 0);
	if (d == NULL) {
		json_decref(list);
		reply_error(r, 404, "no deployment %lld", (long long)id);
		return;
	}
	/* The devices a page at a time (a deployment to a whole site). */
	devices = db_deployment_devices(r->db, id,
	    json_string_value(json_object_get(d, "collection")),
	    pg.after_sort, pg.after_key, pg.limit);
	if (devices == NULL) {
		json_decref(list);
		reply_error(r, 500, "cannot read the deployment's devices");
		return;
	}
	page_reply(r, &pg, json_incref(d), "devices", devices, "hostname",
	    "id");
	json_decref(list);
}

void
h_admin_deployment_delete(struct request *r)
{
	json_t *list;
	char err[ERRMSG_MAX];
	int64_t id;
	int n;

	if (param_id(r, &id) < 0)
		return;
	list = db_deployments(r->db, id);
	if (json_array_size(list) != 1) {
		json_decref(list);
		reply_error(r, 404, "no deployment %lld", (long long)id);
		return;
	}
	if (db_begin(r->db, err) < 0 ||
	    (n = db_deployment_delete(r->db, id, err)) < 0 ||
	    db_policy_dirty_collection(r->db,
		json_string_value(json_object_get(json_array_get(list, 0),
		    "collection")),
		err) < 0) {
		db_rollback(r->db);
		json_decref(list);
		reply_error(r, 500, "%s", err);
		return;
	}
	json_decref(list);
	if (finish(r, "deployment.delete", r->param, NULL) < 0)
		return;
	reply_json(r, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id,
			       "status", "deleted"));
}

/* A "deployment" status message from a device: [id, state, exit code,
 * output tail, detail]. Malformed ones stay stored as messages but change
 * no state. */
int
deployment_report(struct db *db, const char *client_id,
    const struct status_msg *m, char *err)
{
	static const char *states[] = {"waiting", "running", "succeeded",
	    "failed"};
	json_t *a = json_loads(m->strings, 0, NULL);
	const char *state = json_string_value(json_array_get(a, 1));
	const char *ex = json_string_value(json_array_get(a, 2));
	int64_t id, code = -1;
	size_t i;
	int r = 0, known = 0;

	for (i = 0; state && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			known = 1;
	if (!known ||
	    parse_int64(json_string_value(json_array_get(a, 0)), 1,
		INT64_MAX / 2, &id) < 0 ||
	    (ex != NULL && ex[0] != '\0' &&
		parse_int64(ex, 0, 255, &code) < 0)) {
		log_warn("client %s: malformed deployment state message %.200s",
		    client_id, m->strings);
		goto out;
	}
	r = db_deployment_state(db, id, client_id, state, code,
	    json_string_value(json_array_get(a, 3)),
	    json_string_value(json_array_get(a, 4)), m->at, err);
out:
	json_decref(a);
	return r;
}

/* --- maintenance windows --- */

void
h_admin_window_add(struct request *r)
{
	json_t *o = body_json(r);
	struct window w;
	const char *coll, *start, *recur;
	char err[ERRMSG_MAX], idtxt[24], detail[200], stext[32], rtext[32];
	int64_t id;

	if (o == NULL)
		return;
	memset(&w, 0, sizeof(w));
	coll = opt_string(o, "collection");
	start = opt_string(o, "start");
	recur = opt_string(o, "recur");
	if (recur == NULL)
		recur = "none";
	w.duration = json_integer_value(json_object_get(o, "duration"));
	if (coll == NULL || !db_collection_exists(r->db, coll)) {
		reply_error(r, 400, "no collection '%.64s'", coll ? coll : "");
		goto out;
	}
	if (start == NULL || window_parse_start(start, &w, err) < 0 ||
	    window_parse_recur(recur, &w, err) < 0) {
		reply_error(r, 400, "%s", start ? err : "'start' is required");
		goto out;
	}
	if (w.duration < WINDOW_DURATION_MIN ||
	    w.duration > WINDOW_DURATION_MAX) {
		reply_error(r, 400, "'duration' must be 1 minute to 28 days");
		goto out;
	}
	window_start_text(&w, stext, sizeof(stext));
	window_recur_text(&w, rtext, sizeof(rtext));
	if (db_begin(r->db, err) < 0 ||
	    db_window_add(r->db, coll, stext, w.duration, rtext, r->peer->id,
		now_unix(), &id, err) < 0 ||
	    db_policy_dirty_collection(r->db, coll, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	str_fmt(idtxt, sizeof(idtxt), "%lld", (long long)id);
	str_fmt(detail, sizeof(detail), "%s: %s for %llds, %s", coll, stext,
	    (long long)w.duration, rtext);
	if (finish(r, "window.add", idtxt, detail) < 0)
		goto out;
	reply_json(r, 201, json_pack("{s:I,s:s,s:s,s:I,s:s}", "id",
			       (json_int_t)id, "collection", coll, "start",
			       stext, "duration", (json_int_t)w.duration,
			       "recur", rtext));
out:
	json_decref(o);
}

void
h_admin_windows_list(struct request *r)
{
	json_t *list = db_windows(r->db, NULL);

	if (list == NULL) {
		reply_error(r, 503, "cannot read windows");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "windows", list));
}

void
h_admin_window_delete(struct request *r)
{
	json_t *all = db_windows(r->db, NULL), *w, *found = NULL;
	char err[ERRMSG_MAX];
	int64_t id;
	size_t i;

	if (param_id(r, &id) < 0)
		goto out;
	json_array_foreach(all, i, w)
	{
		if (json_integer_value(json_object_get(w, "id")) == id)
			found = w;
	}
	if (found == NULL) {
		reply_error(r, 404, "no window %lld", (long long)id);
		goto out;
	}
	if (db_begin(r->db, err) < 0 || db_window_delete(r->db, id, err) < 0 ||
	    db_policy_dirty_collection(r->db,
		json_string_value(json_object_get(found, "collection")),
		err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	if (finish(r, "window.delete", r->param, NULL) < 0)
		goto out;
	reply_json(r, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id,
			       "status", "deleted"));
out:
	json_decref(all);
}

/* The windows of the site, by id, parsed. */
static struct window *
windows_load(struct db *db, size_t *n)
{
	json_t *all = db_windows(db, NULL), *o;
	struct window *w;
	char err[ERRMSG_MAX];
	size_t i;

	*n = 0;
	w = calloc(json_array_size(all) + 1, sizeof(*w));
	json_array_foreach(all, i, o)
	{
		if (w != NULL && window_from_json(o, &w[*n], err) == 0)
			(*n)++;
	}
	json_decref(all);
	return w;
}

/* One required deployment's check: members grouped by their set of
 * windows; each distinct set computed once. */
static json_t *
report_deployment(struct db *db, json_t *d, const struct window *all,
    size_t nall, int64_t at)
{
	const char *coll = json_string_value(json_object_get(d, "collection"));
	int64_t need = json_integer_value(json_object_get(d, "max_runtime"));
	json_t *rows = db_member_windows(db, coll), *row, *memo = json_object();
	struct window *set = calloc(nall + 1, sizeof(*set));
	json_int_t devices = 0, blocked = 0, largest = 0;
	char key[2048] = "", cur[40] = "";
	size_t i, j, nset = 0;
	int truncated = 0;

	if (rows == NULL || set == NULL) {
		json_decref(rows);
		json_decref(memo);
		free(set);
		return NULL;
	}
	/* Rows come ordered by client: close each client's set at the next
	 * client (the loop runs once past the end for the last one). */
	for (i = 0; i <= json_array_size(rows); i++) {
		const char *cid = NULL;
		json_t *wid = NULL;

		row = json_array_get(rows, i);
		if (row != NULL) {
			cid = json_string_value(json_object_get(row,
			    "client_id"));
			wid = json_object_get(row, "window_id");
		}
		if (cur[0] && (cid == NULL || strcmp(cid, cur) != 0)) {
			json_t *seen = json_object_get(memo, key);
			json_int_t big;

			devices++;
			if (nset > 0) {
				if (seen == NULL || truncated) {
					big = windows_largest(set, nset, at,
					    WINDOW_HORIZON, need);
					seen = json_integer(big);
					json_object_set_new(memo, key, seen);
				}
				big = json_integer_value(seen);
				if (big < need) {
					blocked++;
					if (big > largest)
						largest = big;
				}
			}
			nset = 0;
			key[0] = '\0';
			truncated = 0;
		}
		if (cid == NULL)
			break;
		str_copy(cur, sizeof(cur), cid);
		if (!json_is_integer(wid))
			continue;
		for (j = 0; j < nall; j++) {
			if (all[j].id == json_integer_value(wid)) {
				char part[24];

				set[nset++] = all[j];
				str_fmt(part, sizeof(part), "%lld,",
				    (long long)all[j].id);
				if (strlen(key) + strlen(part) < sizeof(key))
					str_copy(key + strlen(key),
					    sizeof(key) - strlen(key), part);
				else
					truncated = 1;
				break;
			}
		}
	}
	json_decref(rows);
	json_decref(memo);
	free(set);
	if (blocked == 0)
		return json_null();
	return json_pack("{s:s,s:O,s:O,s:I,s:I,s:I,s:I}", "collection", coll,
	    "deployment_id", json_object_get(d, "id"), "deployment",
	    json_object_get(d, "name"), "max_runtime", (json_int_t)need,
	    "devices", devices, "devices_blocked", blocked, "largest_window",
	    largest);
}

void
h_admin_report_windows(struct request *r)
{
	json_t *deps = db_deployments(r->db, 0), *d, *out = json_array(), *e;
	struct window *all;
	char atq[40], err[ERRMSG_MAX];
	int64_t at = now_unix();
	size_t i, nall;

	if (query_get(r, "at", atq, sizeof(atq)) == 0 &&
	    time_parse(atq, &at, err) < 0) {
		reply_error(r, 400, "%s", err);
		json_decref(deps);
		json_decref(out);
		return;
	}
	all = windows_load(r->db, &nall);
	if (deps == NULL || all == NULL) {
		reply_error(r, 503, "cannot read deployments and windows");
		goto out;
	}
	/* Deployments that override windows run at their deadline anyway. */
	json_array_foreach(deps, i, d)
	{
		if (!json_is_true(json_object_get(d, "required")) ||
		    json_is_true(json_object_get(d, "override_windows")))
			continue;
		e = report_deployment(r->db, d, all, nall, at);
		if (e == NULL) {
			reply_error(r, 503, "cannot read window membership");
			goto out;
		}
		if (json_is_object(e))
			json_array_append(out, e);
		json_decref(e);
	}
	reply_json(r, 200, json_pack("{s:I,s:I,s:O}", "at", (json_int_t)at,
			       "horizon", (json_int_t)WINDOW_HORIZON,
			       "too_small", out));
out:
	free(all);
	json_decref(deps);
	json_decref(out);
}
