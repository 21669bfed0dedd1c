/* collections.c - collections of clients: membership by direct rule,
 * query over discovery, inventory and site attributes, include and exclude
 * of other collections, within a limiting collection; evaluated for one
 * device when what it reports changes, and for all devices when rules
 * change. Endpoints under /v1/admin/collections and clients/{id}/tags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/query.h"
#include "proto/status.h"
#include "server.h"

#define ALL_CLIENTS "All Clients"
#define COLLECTIONS_MAX 2000

/* Attributes a device cannot influence: what the site itself records. */
static const char *const site_roots[] = {"client", "tag", "cert", NULL};

struct coll {
	const char *name;
	const char *limit;
	int builtin;
	struct query **queries;
	int nq;
	json_t *rules; /* borrowed */
};

struct collset {
	json_t *doc; /* db_collections(), owns the strings */
	struct coll *v;
	size_t n;
};

/* One device's attributes, loaded on first use. */
struct device {
	struct db *db;
	const char *id;
	json_t *client, *inv, *tags;
	char num[32];
};

static const char *
json_text(struct device *d, json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		str_fmt(d->num, sizeof(d->num), "%lld",
		    (long long)json_integer_value(v));
		return d->num;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}

/* The row of a list class whose key field equals key (packages: any
 * architecture). */
static json_t *
find_row(json_t *list, const char *field, const char *key)
{
	json_t *row;
	size_t i;

	json_array_foreach(list, i, row)
	{
		const char *v = json_string_value(json_object_get(row, field));

		if (v && strcmp(v, key) == 0)
			return row;
	}
	return NULL;
}

static int
device_get(void *arg, const struct qattr *a, struct qval *out)
{
	static const struct {
		const char *name, *cls, *key;
	} lists[] = {{"package", "packages", "name"},
	    {"user", "users", "name"}, {"interface", "interfaces", "name"},
	    {"disk", "disks", "name"}, {"filesystem", "filesystems", "mount"}};
	struct device *d = arg;
	const char *root = a->seg[0];
	size_t i;

	if (d->client == NULL)
		d->client = db_client_show(d->db, d->id);
	if (strcmp(root, "client") == 0) {
		static const char *site_fields[] = {"id", "status",
		    "approval_source", "token_id", "created_at", NULL};

		if (a->nseg != 2)
			return 0;
		for (i = 0; site_fields[i]; i++)
			if (strcmp(a->seg[1], site_fields[i]) == 0)
				break;
		if (site_fields[i] == NULL)
			return 0;
		out->s = json_text(d, json_object_get(d->client, a->seg[1]));
		return out->s != NULL;
	}
	if (strcmp(root, "tag") == 0) {
		if (a->key == NULL || a->nseg != 1)
			return 0;
		if (d->tags == NULL)
			d->tags = db_tags(d->db, d->id);
		out->s = json_string_value(json_object_get(d->tags, a->key));
		return out->s != NULL;
	}
	if (strcmp(root, "host") == 0 && a->nseg == 2 &&
	    strcmp(a->seg[1], "name") == 0) {
		out->s = json_text(d, json_object_get(d->client, "hostname"));
		return out->s != NULL;
	}
	if (strcmp(root, "discovery") == 0 && a->nseg == 2) {
		out->s = json_text(d, json_object_get(json_object_get(d->client,
						    "discovery"),
					  a->seg[1]));
		return out->s != NULL;
	}
	if (d->inv == NULL)
		d->inv = db_inventory_show(d->db, d->id, NULL);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (strcmp(root, lists[i].name) != 0)
			continue;
		if (a->key == NULL || a->nseg != 2)
			return 0;
		out->s = json_text(d,
		    json_object_get(find_row(json_object_get(d->inv,
						 lists[i].cls),
					lists[i].key, a->key),
			a->seg[1]));
		return out->s != NULL;
	}
	if (a->nseg == 2 && a->key == NULL) {
		out->s = json_text(d, json_object_get(json_object_get(d->inv,
							  root),
					  a->seg[1]));
		return out->s != NULL;
	}
	return 0;
}

static void
device_clear(struct device *d)
{
	json_decref(d->client);
	json_decref(d->inv);
	json_decref(d->tags);
	d->client = d->inv = d->tags = NULL;
}

static void
collset_free(struct collset *cs)
{
	size_t i;
	int j;

	for (i = 0; i < cs->n; i++) {
		for (j = 0; j < cs->v[i].nq; j++)
			query_free(cs->v[i].queries[j]);
		free(cs->v[i].queries);
	}
	free(cs->v);
	json_decref(cs->doc);
	memset(cs, 0, sizeof(*cs));
}

/* Loads every collection with its queries parsed, ordered so that each
 * comes after the collections it depends on. */
static int
collset_load(struct db *db, struct collset *cs, char *err)
{
	json_t *c;
	size_t i, placed = 0;
	char *done;

	memset(cs, 0, sizeof(*cs));
	cs->doc = db_collections(db);
	if (cs->doc == NULL)
		return err_set(err, "cannot read collections");
	cs->v = calloc(json_array_size(cs->doc) + 1, sizeof(*cs->v));
	done = calloc(json_array_size(cs->doc) + 1, 1);
	if (cs->v == NULL || done == NULL) {
		free(done);
		return err_set(err, "out of memory");
	}
	/* Dependency order: repeat until every collection whose limit,
	 * includes and excludes are placed is placed. Creation forbids
	 * cycles, so this ends; O(n^2) in collections. */
	while (placed < json_array_size(cs->doc)) {
		size_t before = placed;

		json_array_foreach(cs->doc, i, c)
		{
			json_t *rules = json_object_get(c, "rules"), *r;
			const char *limit = json_string_value(
			    json_object_get(c, "limit_name"));
			int ready = 1;
			size_t j, k;

			if (done[i])
				continue;
			json_array_foreach(rules, j, r)
			{
				const char *kind = json_string_value(
				    json_object_get(r, "kind"));
				const char *val = json_string_value(
				    json_object_get(r, "value"));

				if (strcmp(kind, "include") &&
				    strcmp(kind, "exclude"))
					continue;
				for (k = 0; k < placed; k++)
					if (strcmp(cs->v[k].name, val) == 0)
						break;
				if (k == placed)
					ready = 0;
			}
			if (limit || !json_is_true(json_object_get(c,
					 "builtin"))) {
				const char *l = limit ? limit : ALL_CLIENTS;

				for (k = 0; k < placed; k++)
					if (strcmp(cs->v[k].name, l) == 0)
						break;
				if (k == placed)
					ready = 0;
			}
			if (!ready)
				continue;
			cs->v[placed].name = json_string_value(
			    json_object_get(c, "name"));
			cs->v[placed].limit = limit ? limit : ALL_CLIENTS;
			cs->v[placed].builtin =
			    json_is_true(json_object_get(c, "builtin"));
			cs->v[placed].rules = rules;
			cs->v[placed].queries = calloc(json_array_size(rules) + 1,
			    sizeof(struct query *));
			json_array_foreach(rules, j, r)
			{
				char qerr[200];
				struct query *q;

				if (strcmp(json_string_value(json_object_get(
					       r, "kind")),
					"query"))
					continue;
				q = query_parse(json_string_value(
						    json_object_get(r, "value")),
				    qerr, sizeof(qerr));
				if (q)
					cs->v[placed].queries[cs->v[placed].nq++] =
					    q;
			}
			done[i] = 1;
			placed++;
		}
		if (placed == before)
			break; /* a dangling reference: leave the rest out */
	}
	cs->n = placed;
	free(done);
	return 0;
}

static int
index_of(const struct collset *cs, size_t upto, const char *name)
{
	size_t k;

	for (k = 0; k < upto; k++)
		if (strcmp(cs->v[k].name, name) == 0)
			return (int)k;
	return -1;
}

/* Memberships of one device in every collection, in dependency order. */
static void
evaluate(const struct collset *cs, struct device *d, int approved, char *m)
{
	size_t i, j;

	for (i = 0; i < cs->n; i++) {
		const struct coll *c = &cs->v[i];
		int lim, in = 0, out = 0;
		json_t *r;

		if (c->builtin) {
			m[i] = (char)approved;
			continue;
		}
		lim = index_of(cs, i, c->limit);
		if (!approved || lim < 0 || !m[lim]) {
			m[i] = 0;
			continue;
		}
		json_array_foreach(c->rules, j, r)
		{
			const char *kind =
			    json_string_value(json_object_get(r, "kind"));
			const char *val =
			    json_string_value(json_object_get(r, "value"));
			int k;

			if (strcmp(kind, "client") == 0 && strcmp(val, d->id) == 0)
				in = 1;
			else if (strcmp(kind, "include") == 0 &&
			    (k = index_of(cs, i, val)) >= 0 && m[k])
				in = 1;
			else if (strcmp(kind, "exclude") == 0 &&
			    (k = index_of(cs, i, val)) >= 0 && m[k])
				out = 1;
		}
		for (j = 0; !in && j < (size_t)c->nq; j++)
			in = query_eval(c->queries[j], device_get, d);
		m[i] = (char)(in && !out);
	}
}

/* Writes the memberships that differ from the stored ones; returns how
 * many changed, or -1. */
static int
store(struct db *db, const struct collset *cs, const char *id, const char *m,
    char *err)
{
	json_t *cur = db_client_collections(db, id), *c;
	size_t i, j;
	int changed = 0;

	if (cur == NULL)
		return err_set(err, "cannot read memberships");
	for (i = 0; i < cs->n; i++) {
		int was = 0;

		json_array_foreach(cur, j, c)
		{
			if (strcmp(json_string_value(json_object_get(c, "name")),
				cs->v[i].name) == 0)
				was = 1;
		}
		if (was == m[i])
			continue;
		if (db_collection_set_member(db, cs->v[i].name, id, m[i], err) <
		    0) {
			json_decref(cur);
			return -1;
		}
		changed++;
	}
	json_decref(cur);
	return changed;
}

int
collections_evaluate_device(struct db *db, const char *client_id, char *err)
{
	struct collset cs;
	struct device d = {db, client_id, NULL, NULL, NULL, ""};
	struct db_client c;
	char *m;
	int r = -1;

	if (db_client_get(db, client_id, &c) < 0)
		return err_set(err, "no client %s", client_id);
	if (collset_load(db, &cs, err) < 0)
		return -1;
	m = calloc(cs.n + 1, 1);
	if (m != NULL) {
		evaluate(&cs, &d, strcmp(c.status, "approved") == 0, m);
		if (db_begin(db, err) == 0) {
			/* Collections feed the policy: a change of membership
			 * rebuilds it next time. */
			int n = store(db, &cs, client_id, m, err);

			if (n >= 0 &&
			    (n == 0 || db_policy_dirty(db, client_id, err) == 0) &&
			    db_commit(db, err) == 0)
				r = 0;
			else
				db_rollback(db);
		}
	}
	free(m);
	device_clear(&d);
	collset_free(&cs);
	return r;
}

int
collections_evaluate_all(struct db *db, char *err)
{
	struct collset cs;
	json_t *ids = NULL, *row;
	char *m = NULL;
	size_t i, k;
	int r = -1, n;
	int64_t now = now_unix();

	if (collset_load(db, &cs, err) < 0)
		return -1;
	m = calloc(cs.n + 1, 1);
	ids = db_client_ids(db, "approved");
	if (m == NULL || ids == NULL || db_begin(db, err) < 0)
		goto out;
	/* Everyone not approved leaves every collection. */
	if (db_exec(db,
		"DELETE FROM collection_members WHERE client_id NOT IN (SELECT "
		"id FROM clients WHERE status = 'approved')",
		NULL, 0, NULL, err) < 0)
		goto fail;
	json_array_foreach(ids, i, row)
	{
		struct device d = {db,
		    json_string_value(json_object_get(row, "id")), NULL, NULL,
		    NULL, ""};

		evaluate(&cs, &d, 1, m);
		if ((n = store(db, &cs, d.id, m, err)) < 0 ||
		    (n > 0 && db_policy_dirty(db, d.id, err) < 0)) {
			device_clear(&d);
			goto fail;
		}
		device_clear(&d);
	}
	for (k = 0; k < cs.n; k++)
		if (db_collection_evaluated(db, cs.v[k].name, now, err) < 0)
			goto fail;

	if (db_commit(db, err) < 0)
		goto fail;
	r = 0;
	goto out;
fail:
	db_rollback(db);
out:
	json_decref(ids);
	free(m);
	collset_free(&cs);
	return r;
}

/* --- endpoints --- */

static int
name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789 ._-") == n &&
	    s[0] != ' ' && s[n - 1] != ' ';
}

static int
exists(json_t *all, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(all, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "name")),
			name) == 0)
			return 1;
	}
	return 0;
}

/* Validates one list of rule values and stores them. */
static int
add_rules(struct request *r, json_t *o, const char *field, const char *kind,
    const char *name, json_t *all, int site_only, char *err)
{
	json_t *list = json_object_get(o, field), *v;
	size_t i;

	if (list == NULL)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > 100) {
		reply_error(r, 400, "'%s' must be a list of at most 100", field);
		return -1;
	}
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		char qerr[200];

		if (s == NULL) {
			reply_error(r, 400, "%s[%zu] must be text", field, i);
			return -1;
		}
		if (strcmp(kind, "query") == 0) {
			struct query *q = query_parse(s, qerr, sizeof(qerr));

			if (q == NULL) {
				reply_error(r, 400, "%s[%zu]: %s", field, i,
				    qerr);
				return -1;
			}
			if (site_only &&
			    query_only_roots(q, site_roots, qerr,
				sizeof(qerr)) < 0) {
				query_free(q);
				reply_error(r, 400, "%s[%zu]: %s", field, i,
				    qerr);
				return -1;
			}
			query_free(q);
		} else if (strcmp(kind, "client") == 0) {
			if (!pki_client_id_valid(s)) {
				reply_error(r, 400, "%s[%zu]: not a client id",
				    field, i);
				return -1;
			}
		} else if (!exists(all, s)) {
			reply_error(r, 400, "%s[%zu]: no collection '%.64s'",
			    field, i, s);
			return -1;
		}
		if (db_collection_rule_add(r->db, name, kind, s, err) < 0) {
			reply_error(r, 500, "%s", err);
			return -1;
		}
	}
	return 0;
}

void
h_admin_collection_add(struct request *r)
{
	json_t *o = body_json(r), *all = NULL;
	const char *name, *limit;
	char err[ERRMSG_MAX];
	int site_only;

	if (o == NULL)
		return;
	name = json_string_value(json_object_get(o, "name"));
	limit = json_string_value(json_object_get(o, "limit"));
	site_only = json_is_true(json_object_get(o, "site_attributes_only"));
	if (name == NULL || !name_valid(name)) {
		reply_error(r, 400, "'name' must be 1-64 letters, digits, "
				    "spaces or ._-");
		goto out;
	}
	all = db_collections(r->db);
	if (all == NULL || json_array_size(all) >= COLLECTIONS_MAX) {
		reply_error(r, all ? 409 : 500, "cannot add more collections");
		goto out;
	}
	if (exists(all, name)) {
		reply_error(r, 409, "collection '%s' exists", name);
		goto out;
	}
	if (limit != NULL && !exists(all, limit)) {
		reply_error(r, 400, "no limiting collection '%.64s'", limit);
		goto out;
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		goto out;
	}
	if (db_collection_add(r->db, name, limit, site_only, r->peer->id,
		now_unix(), err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	/* A new collection can only name collections that exist already:
	 * no cycles. */
	if (add_rules(r, o, "queries", "query", name, all, site_only, err) <
		0 ||
	    add_rules(r, o, "includes", "include", name, all, 0, err) < 0 ||
	    add_rules(r, o, "excludes", "exclude", name, all, 0, err) < 0 ||
	    add_rules(r, o, "clients", "client", name, all, 0, err) < 0) {
		db_rollback(r->db);
		goto out;
	}
	if (admin_audit(r, "collection.add", name, NULL) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	if (collections_evaluate_all(r->db, err) < 0)
		log_err("evaluating collections: %s", err);
	reply_json(r, 201, json_pack("{s:s,s:s}", "name", name, "status",
			       "added"));
out:
	json_decref(all);
	json_decref(o);
}

void
h_admin_collections_list(struct request *r)
{
	json_t *all = db_collections(r->db);

	if (all == NULL) {
		reply_error(r, 500, "cannot list collections");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "collections", all));
}

void
h_admin_collection_members(struct request *r)
{
	char name[80];
	json_t *all, *m;

	if (query_get(r, "name", name, sizeof(name)) < 0) {
		reply_error(r, 400, "give ?name=COLLECTION");
		return;
	}
	all = db_collections(r->db);
	if (!exists(all, name)) {
		json_decref(all);
		reply_error(r, 404, "no collection '%s'", name);
		return;
	}
	json_decref(all);
	m = db_collection_members(r->db, name);
	reply_json(r, 200, json_pack("{s:s,s:o}", "name", name, "members",
			       m ? m : json_array()));
}

void
h_admin_collection_delete(struct request *r)
{
	json_t *o = body_json(r), *users;
	const char *name;
	char err[ERRMSG_MAX];
	int n;

	if (o == NULL)
		return;
	name = json_string_value(json_object_get(o, "name"));
	if (name == NULL) {
		reply_error(r, 400, "'name' is required");
		goto out;
	}
	users = db_collection_users(r->db, name);
	if (json_array_size(users) > 0) {
		reply_error(r, 409, "collection '%s' is used by '%s'", name,
		    json_string_value(json_object_get(json_array_get(users, 0),
			"name")));
		json_decref(users);
		goto out;
	}
	json_decref(users);
	if (db_begin(r->db, err) < 0 ||
	    (n = db_collection_delete(r->db, name, err)) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	if (n == 0) {
		db_rollback(r->db);
		reply_error(r, 404, "no collection '%.64s' (built-in ones stay)",
		    name);
		goto out;
	}
	if (admin_audit(r, "collection.delete", name, NULL) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	reply_json(r, 200, json_pack("{s:s,s:s}", "name", name, "status",
			       "deleted"));
out:
	json_decref(o);
}

void
h_admin_collections_evaluate(struct request *r)
{
	char err[ERRMSG_MAX];

	if (collections_evaluate_all(r->db, err) < 0) {
		reply_error(r, 500, "cannot evaluate: %s", err);
		return;
	}
	h_admin_collections_list(r);
}

void
h_admin_client_tag(struct request *r)
{
	json_t *o = body_json(r);
	const char *key, *value;
	char err[ERRMSG_MAX], detail[300];
	struct db_client c;

	if (o == NULL)
		return;
	key = json_string_value(json_object_get(o, "key"));
	value = json_string_value(json_object_get(o, "value"));
	if (db_client_get(r->db, r->param, &c) < 0) {
		reply_error(r, 404, "no client %s", r->param);
		goto out;
	}
	if (key == NULL || !status_component_valid(key) || value == NULL ||
	    strlen(value) > 256 || strchr(value, '\n')) {
		reply_error(r, 400, "a tag is KEY=VALUE: KEY 1-64 of "
				    "[A-Za-z0-9._-], VALUE up to 256 "
				    "characters (empty removes it)");
		goto out;
	}
	str_fmt(detail, sizeof(detail), "%s=%s", key, value);
	if (db_begin(r->db, err) < 0 ||
	    db_tag_set(r->db, c.id, key, value, err) < 0 ||
	    admin_audit(r, "client.tag", c.id, detail) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	if (collections_evaluate_device(r->db, c.id, err) < 0)
		log_err("collections of %s: %s", c.id, err);
	reply_json(r, 200, json_pack("{s:s,s:o}", "client_id", c.id, "tags",
			       db_tags(r->db, c.id)));
out:
	json_decref(o);
}
