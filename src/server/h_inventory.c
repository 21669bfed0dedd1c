/* h_inventory.c - POST /v1/inventory (a client's full or delta report) and
 * GET /v1/admin/clients/{id}/inventory. Reports are validated whole before
 * anything is stored; the current state per device is kept with its
 * history as row-level changes. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/inventory.h"
#include "server.h"

/* Applying one report, class by class. old holds the rows of the current
 * class not yet matched by the report; a class the report replaces loses
 * whatever is left in it at the end. */
struct apply {
	struct db *db;
	const char *client;
	int64_t seq, now;
	char cls[32];
	int replacing;
	json_t *old;
	int changes;
	char *err;
};

static int
class_end(struct apply *a)
{
	const char *key;
	json_t *v;
	int r = 0;

	if (a->old != NULL && a->replacing) {
		json_object_foreach(a->old, key, v)
		{
			if (db_inventory_del(a->db, a->client, a->cls, key,
				a->err) < 0 ||
			    db_inventory_history_add(a->db, a->client, a->now,
				a->seq, a->cls, key, "remove", NULL,
				a->err) < 0) {
				r = -1;
				break;
			}
			a->changes++;
		}
	}
	json_decref(a->old);
	a->old = NULL;
	a->cls[0] = '\0';
	return r;
}

static int
class_begin(struct apply *a, const char *cls, int replacing)
{
	if (class_end(a) < 0)
		return -1;
	str_copy(a->cls, sizeof(a->cls), cls);
	a->replacing = replacing;
	a->old = db_inventory_class(a->db, a->client, cls);
	return a->old ? 0 : -1;
}

static int
on_replaced(void *arg, const char *cls)
{
	return class_begin(arg, cls, 1);
}

static int
on_row(void *arg, const char *cls, const char *key, const char *data,
    enum inv_op op)
{
	struct apply *a = arg;
	json_t *was;

	if (strcmp(a->cls, cls) != 0 && class_begin(a, cls, 0) < 0)
		return -1;
	was = json_object_get(a->old, key);
	if (op == INV_REMOVE) {
		if (was == NULL)
			return 0;
		json_object_del(a->old, key);
		a->changes++;
		return db_inventory_del(a->db, a->client, cls, key, a->err) < 0 ||
			db_inventory_history_add(a->db, a->client, a->now,
			    a->seq, cls, key, "remove", NULL, a->err) < 0
		    ? -1
		    : 0;
	}
	if (was != NULL && strcmp(json_string_value(was), data) == 0) {
		json_object_del(a->old, key); /* unchanged, and seen */
		return 0;
	}
	a->changes++;
	if (db_inventory_put(a->db, a->client, cls, key, data, a->now,
		a->err) < 0 ||
	    db_inventory_history_add(a->db, a->client, a->now, a->seq, cls,
		key, was ? "change" : "add", data, a->err) < 0)
		return -1;
	if (was != NULL)
		json_object_del(a->old, key);
	return 0;
}

void
h_inventory(struct request *r)
{
	struct inv_report rep;
	struct apply a;
	char err[ERRMSG_MAX];
	int64_t cur = 0;
	json_t *doc;

	if (inventory_parse(r->body, r->body_len, &doc, &rep, err) < 0) {
		reply_error(r, 400, "%s", err);
		return;
	}
	if (rep.client_id != NULL && strcmp(rep.client_id, r->peer->id) != 0) {
		reply_error(r, 403,
		    "this report is about client %.64s; a client reports only "
		    "about itself (%s)",
		    rep.client_id, r->peer->id);
		json_decref(doc);
		return;
	}
	if (db_begin(r->db, err) < 0) {
		json_decref(doc);
		reply_error(r, 503, "%s", err);
		return;
	}
	db_inventory_seq(r->db, r->peer->id, &cur);
	if (!rep.full && rep.seq == cur) {
		/* A delta the site already applied (its answer was lost). */
		db_rollback(r->db);
		json_decref(doc);
		reply_json(r, 200,
		    json_pack("{s:s,s:I,s:i}", "status", "ok", "seq",
			(json_int_t)cur, "changes", 0));
		return;
	}
	if (!rep.full && rep.base != cur) {
		db_rollback(r->db);
		json_decref(doc);
		reply_json(r, 409,
		    json_pack("{s:s,s:b,s:I}", "error",
			"this delta does not apply to the last report the site "
			"holds; send a full report",
			"full_required", 1, "seq", (json_int_t)cur));
		return;
	}
	memset(&a, 0, sizeof(a));
	a.db = r->db;
	a.client = r->peer->id;
	a.seq = rep.seq;
	a.now = now_unix();
	a.err = err;
	err[0] = '\0';
	if (inventory_rows(&rep, on_row, on_replaced, &a, err) < 0 ||
	    class_end(&a) < 0 ||
	    db_inventory_set_seq(r->db, r->peer->id, rep.seq, rep.full, a.now,
		err) < 0 ||
	    db_client_touch(r->db, r->peer->id, "inventory", a.now, err) < 0 ||
	    db_commit(r->db, err) < 0) {
		json_decref(a.old);
		db_rollback(r->db);
		json_decref(doc);
		reply_error(r, 500, "cannot store the inventory: %s", err);
		return;
	}
	json_decref(doc);
	if (a.changes > 0 &&
	    collections_evaluate_device(r->db, r->peer->id, err) < 0)
		log_err("collections of %s: %s", r->peer->id, err);
	log_debug("inventory of %s: %s report %lld, %d changes", r->peer->id,
	    rep.full ? "full" : "delta", (long long)rep.seq, a.changes);
	reply_json(r, 200,
	    json_pack("{s:s,s:I,s:i}", "status", "ok", "seq",
		(json_int_t)rep.seq, "changes", a.changes));
}

void
h_admin_client_inventory(struct request *r)
{
	struct db_client c;
	char cls[32], lim[16];
	int have = query_get(r, "class", cls, sizeof(cls)) == 0;
	int64_t limit = 0;
	json_t *inv;

	if (db_client_get(r->db, r->param, &c) < 0) {
		reply_error(r, 404, "no client %s", r->param);
		return;
	}
	if (have) {
		const char *const *k;

		for (k = inventory_classes; *k; k++)
			if (strcmp(*k, cls) == 0)
				break;
		if (*k == NULL) {
			reply_error(r, 400, "unknown inventory class '%s'",
			    cls);
			return;
		}
	}
	if (query_get(r, "history", lim, sizeof(lim)) == 0 &&
	    parse_int64(lim, 1, 10000, &limit) < 0) {
		reply_error(r, 400, "history must be 1 to 10000");
		return;
	}
	inv = db_inventory_show(r->db, c.id, have ? cls : NULL);
	if (inv == NULL) {
		reply_error(r, 500, "cannot read the inventory");
		return;
	}
	{
		int64_t seq = 0;
		json_t *o;

		db_inventory_seq(r->db, c.id, &seq);
		o = json_pack("{s:s,s:I,s:o}", "client_id", c.id, "seq",
		    (json_int_t)seq, "classes", inv);
		if (limit > 0)
			json_object_set_new(o, "history",
			    db_inventory_history(r->db, c.id, (int)limit));
		reply_json(r, 200, o);
	}
}
