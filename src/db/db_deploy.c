/* db_deploy.c - repository functions for content, deployments, what each
 * device reported about them, and maintenance windows. */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "../common/util.h"

int
db_content_add(struct db *db, const char *sha256, int64_t size,
    const char *name, const char *by, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(sha256), DB_INT(size), DB_TEXT(name),
	    DB_TEXT(by), DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "INSERT INTO content (sha256, size, name, added_by, added_at) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
	    p, NP(p), err);

	return n < 0 ? -1 : n == 1;
}

int64_t
db_content_size(struct db *db, const char *sha256)
{
	struct db_param p[] = {DB_TEXT(sha256)};
	struct db_result *r;
	int64_t size = -1;

	if (db_exec(db, "SELECT size FROM content WHERE sha256 = $1", p, NP(p),
		&r, NULL) < 0)
		return -1;
	if (r->nrows == 1)
		size = db_cell_int(r, 0, 0);
	db_result_free(r);
	return size;
}

json_t *
db_content_list(struct db *db)
{
	return db_query_json(db,
	    "SELECT sha256, size, name, added_by, added_at, (SELECT COUNT(*) "
	    "FROM deployments d WHERE d.content = c.sha256) AS deployments "
	    "FROM content c ORDER BY added_at, sha256",
	    NULL, 0, "sissii");
}

int
db_content_allowed(struct db *db, const char *sha256, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(sha256), DB_TEXT(client_id)};
	struct db_result *r;
	int ok;

	if (db_exec(db,
		"SELECT 1 FROM deployments d JOIN collection_members m ON "
		"m.collection = d.collection AND m.client_id = $2 WHERE "
		"d.content = $1 LIMIT 1",
		p, NP(p), &r, NULL) < 0)
		return 0;
	ok = r->nrows == 1;
	db_result_free(r);
	return ok;
}

int
db_deployment_add(struct db *db, const struct db_deployment *d,
    const char *by, int64_t now, int64_t *id, char *err)
{
	struct db_param p[] = {DB_TEXT(d->name), DB_TEXT(d->type),
	    DB_TEXT(d->collection), DB_TEXT(d->content), DB_TEXT(d->command),
	    DB_TEXT(d->path), DB_TEXT(d->mode), DB_TEXT(d->owner),
	    DB_INT(d->required), d->deadline > 0 ? DB_INT(d->deadline) : DB_NULL,
	    DB_INT(d->max_runtime), DB_TEXT(d->run_as),
	    DB_INT(d->override_windows), DB_TEXT(by), DB_INT(now)};
	struct db_result *r;

	if (db_exec(db,
		"INSERT INTO deployments (name, type, collection, content, "
		"command, path, mode, owner, required, deadline, max_runtime, "
		"run_as, override_windows, created_by, created_at) VALUES ($1, "
		"$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
		"RETURNING id",
		p, NP(p), &r, err) < 0)
		return -1;
	*id = r->nrows == 1 ? db_cell_int(r, 0, 0) : 0;
	db_result_free(r);
	return *id > 0 ? 0 : err_set(err, "deployment not stored");
}

int
db_deployment_delete(struct db *db, int64_t id, char *err)
{
	struct db_param p[] = {DB_INT(id)};
	int64_t n;

	if (db_exec(db, "DELETE FROM deployment_states WHERE deployment_id = $1",
		p, NP(p), NULL, err) < 0)
		return -1;
	n = db_exec_changes(db, "DELETE FROM deployments WHERE id = $1", p,
	    NP(p), err);
	return n < 0 ? -1 : n == 1;
}

#define DEPLOYMENT_COLUMNS                                                   \
	"d.id, d.name, d.type, d.collection, d.content, d.command, d.path, "  \
	"d.mode, d.owner, d.required, d.deadline, d.max_runtime, d.run_as, "  \
	"d.override_windows, d.created_by, d.created_at"
#define DEPLOYMENT_TYPES "issssssssbiisbsi"

/* A state count among the devices that are members now. */
#define STATE_COUNT(s)                                                       \
	"(SELECT COUNT(*) FROM deployment_states s JOIN collection_members m " \
	"ON m.client_id = s.client_id AND m.collection = d.collection WHERE " \
	"s.deployment_id = d.id AND s.state = '" s "') AS " s

json_t *
db_deployments(struct db *db, int64_t id)
{
	struct db_param p[] = {DB_INT(id)};
	json_t *list, *o;
	size_t i;

	list = db_query_json(db,
	    "SELECT " DEPLOYMENT_COLUMNS ", (SELECT COUNT(*) FROM "
	    "collection_members m WHERE m.collection = d.collection) AS "
	    "targeted, " STATE_COUNT("waiting") ", " STATE_COUNT("running")
	    ", " STATE_COUNT("succeeded") ", " STATE_COUNT("failed")
	    " FROM deployments d WHERE $1 = 0 OR d.id = $1 ORDER BY d.id",
	    p, NP(p), DEPLOYMENT_TYPES "iiiii");
	json_array_foreach(list, i, o)
	{
		json_int_t known = 0;
		const char *k[] = {"waiting", "running", "succeeded", "failed"};
		json_t *counts = json_object();
		size_t j;

		for (j = 0; j < 4; j++) {
			json_t *v = json_object_get(o, k[j]);

			known += json_integer_value(v);
			json_object_set(counts, k[j], v);
			json_object_del(o, k[j]);
		}
		json_object_set_new(counts, "pending",
		    json_integer(json_integer_value(json_object_get(o,
					 "targeted")) -
			known));
		json_object_set_new(o, "states", counts);
	}
	return list;
}

json_t *
db_deployment_devices(struct db *db, int64_t id, const char *collection,
    const char *after_host, const char *after_id, int limit)
{
	struct db_param p[] = {DB_INT(id), DB_TEXT(collection),
	    DB_TEXT(after_host), DB_TEXT(after_id), DB_INT(limit)};

	return db_query_json(db,
	    "SELECT c.id, c.hostname, COALESCE(s.state, 'pending') AS state, "
	    "s.exit_code, s.output, s.detail, s.reported_at FROM "
	    "collection_members m JOIN clients c ON c.id = m.client_id LEFT "
	    "JOIN deployment_states s ON s.deployment_id = $1 AND s.client_id "
	    "= m.client_id WHERE m.collection = $2 AND (c.hostname > $3 OR "
	    "(c.hostname = $3 AND c.id > $4)) ORDER BY c.hostname, c.id "
	    "LIMIT $5",
	    p, NP(p), "sssissi");
}

json_t *
db_client_deployments(struct db *db, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(client_id)};

	return db_query_json(db,
	    "SELECT d.id, d.name, d.type, d.content, c.size, d.command, d.path, "
	    "d.mode, d.owner, d.required, d.deadline, d.max_runtime, d.run_as, "
	    "d.override_windows FROM deployments d JOIN collection_members m ON "
	    "m.collection = d.collection AND m.client_id = $1 LEFT JOIN content "
	    "c ON c.sha256 = d.content ORDER BY d.id",
	    p, NP(p), "isssissssbiisb");
}

int
db_deployment_state(struct db *db, int64_t id, const char *client_id,
    const char *state, int64_t exit_code, const char *output,
    const char *detail, int64_t at, char *err)
{
	struct db_param p[] = {DB_INT(id), DB_TEXT(client_id), DB_TEXT(state),
	    exit_code >= 0 ? DB_INT(exit_code) : DB_NULL, DB_TEXT(output),
	    DB_TEXT(detail), DB_INT(at)};

	/* A report about a deleted deployment, or one not targeted at the
	 * client, is dropped; an older report never overwrites a newer one. */
	return db_exec(db,
	    "INSERT INTO deployment_states (deployment_id, client_id, state, "
	    "exit_code, output, detail, reported_at) SELECT $1, $2, $3, $4, $5, "
	    "$6, $7 WHERE EXISTS (SELECT 1 FROM deployments d JOIN "
	    "collection_members m ON m.collection = d.collection AND "
	    "m.client_id = $2 WHERE d.id = $1) ON "
	    "CONFLICT (deployment_id, client_id) DO UPDATE SET state = "
	    "excluded.state, exit_code = excluded.exit_code, output = "
	    "excluded.output, detail = excluded.detail, reported_at = "
	    "excluded.reported_at WHERE excluded.reported_at >= "
	    "deployment_states.reported_at",
	    p, NP(p), NULL, err);
}

int
db_window_add(struct db *db, const char *collection, const char *start,
    int64_t duration, const char *recur, const char *by, int64_t now,
    int64_t *id, char *err)
{
	struct db_param p[] = {DB_TEXT(collection), DB_TEXT(start),
	    DB_INT(duration), DB_TEXT(recur), DB_TEXT(by), DB_INT(now)};
	struct db_result *r;

	if (db_exec(db,
		"INSERT INTO windows (collection, start, duration, recur, "
		"created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
		"RETURNING id",
		p, NP(p), &r, err) < 0)
		return -1;
	*id = r->nrows == 1 ? db_cell_int(r, 0, 0) : 0;
	db_result_free(r);
	return *id > 0 ? 0 : err_set(err, "window not stored");
}

int
db_window_delete(struct db *db, int64_t id, char *err)
{
	struct db_param p[] = {DB_INT(id)};
	int64_t n = db_exec_changes(db, "DELETE FROM windows WHERE id = $1", p,
	    NP(p), err);

	return n < 0 ? -1 : n == 1;
}

json_t *
db_windows(struct db *db, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(client_id ? client_id : "")};

	return db_query_json(db,
	    "SELECT id, collection, start, duration, recur, created_by, "
	    "created_at FROM windows w WHERE $1 = '' OR collection IN (SELECT "
	    "collection FROM collection_members WHERE client_id = $1) ORDER BY "
	    "id",
	    p, NP(p), "ississi");
}

json_t *
db_member_windows(struct db *db, const char *collection)
{
	struct db_param p[] = {DB_TEXT(collection)};

	/* Every member of the collection, with the windows of all of its
	 * collections (window id NULL when it has none). */
	return db_query_json(db,
	    "SELECT m1.client_id, w.id AS window_id FROM collection_members m1 "
	    "LEFT JOIN collection_members m2 ON m2.client_id = m1.client_id "
	    "LEFT JOIN windows w ON w.collection = m2.collection WHERE "
	    "m1.collection = $1 ORDER BY m1.client_id, w.id",
	    p, NP(p), "si");
}
