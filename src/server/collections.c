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

enum rule_kind { RULE_QUERY, RULE_CLIENT, RULE_INCLUDE, RULE_EXCLUDE };

struct crule {
	enum rule_kind kind;
	int idx;         /* the collection of an include or exclude */
	const char *val; /* the client id of a direct rule */
};

struct coll {
	const char *name;
	int limit; /* index of the limiting collection; -1 for built-ins */
	int builtin;
	struct query **queries;
	int nq;
	struct crule *rules;
	int nr;
};

/* Every collection with its rules parsed and resolved to indexes, in
 * dependency order; cached per database connection until the collections
 * generation changes. */
struct collset {
	json_t *doc; /* db_collections(), owns the strings */
	json_t *index; /* name -> position */
	struct coll *v;
	size_t n;
	int64_t gen;
};

/* One device's attributes, loaded on first use, one class at a time. */
struct device {
	struct db *db;
	const char *id;
	json_t *client, *tags;
	json_t *cls; /* class -> object (singleton) or {key: row} (list) */
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

/* A class of the device's inventory; a list class comes indexed by its key
 * field (packages: by name, any architecture). */
static json_t *
device_class(struct device *d, const char *cls, const char *key_field)
{
	json_t *v, *all, *row, *idx;
	size_t i;

	if (d->cls == NULL)
		d->cls = json_object();
	v = json_object_get(d->cls, cls);
	if (v != NULL)
		return v;
	all = db_inventory_show(d->db, d->id, cls);
	v = json_object_get(all, cls);
	if (key_field != NULL) {
		idx = json_object();
		json_array_foreach(v, i, row)
		{
			const char *k = json_string_value(json_object_get(row,
			    key_field));

			if (k != NULL && json_object_get(idx, k) == NULL)
				json_object_set(idx, k, row);
		}
		v = idx;
	} else {
		v = v ? json_incref(v) : json_object();
	}
	json_object_set_new(d->cls, cls, v);
	json_decref(all);
	return v;
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

	if (strcmp(root, "client") == 0 || strcmp(root, "host") == 0 ||
	    strcmp(root, "discovery") == 0) {
		if (d->client == NULL)
			d->client = db_client_show(d->db, d->id);
	}
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
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (strcmp(root, lists[i].name) != 0)
			continue;
		if (a->key == NULL || a->nseg != 2)
			return 0;
		out->s = json_text(d,
		    json_object_get(json_object_get(device_class(d,
							lists[i].cls,
							lists[i].key),
					a->key),
			a->seg[1]));
		return out->s != NULL;
	}
	if (a->nseg == 2 && a->key == NULL) {
		out->s = json_text(d, json_object_get(device_class(d, root,
							  NULL),
					  a->seg[1]));
		return out->s != NULL;
	}
	return 0;
}

static void
device_clear(struct device *d)
{
	json_decref(d->client);
	json_decref(d->cls);
	json_decref(d->tags);
	d->client = d->cls = d->tags = NULL;
}

static void
collset_free(void *arg)
{
	struct collset *cs = arg;
	size_t i;
	int j;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++) {
		for (j = 0; j < cs->v[i].nq; j++)
			query_free(cs->v[i].queries[j]);
		free(cs->v[i].queries);
		free(cs->v[i].rules);
	}
	free(cs->v);
	json_decref(cs->doc);
	json_decref(cs->index);
	free(cs);
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

/* Places collection c (whose dependencies are placed) at cs->n: parses its
 * queries and resolves its limit, includes and excludes to indexes. */
static int
collset_place(struct collset *cs, json_t *c)
{
	struct coll *p = &cs->v[cs->n];
	json_t *rules = json_object_get(c, "rules"), *r;
	const char *limit = json_string_value(json_object_get(c, "limit_name"));
	size_t j;

	p->name = json_string_value(json_object_get(c, "name"));
	p->builtin = json_is_true(json_object_get(c, "builtin"));
	p->limit = p->builtin && !limit
	    ? -1
	    : index_of(cs, cs->n, limit ? limit : ALL_CLIENTS);
	p->queries = calloc(json_array_size(rules) + 1, sizeof(*p->queries));
	p->rules = calloc(json_array_size(rules) + 1, sizeof(*p->rules));
	if (p->queries == NULL || p->rules == NULL)
		return -1;
	json_array_foreach(rules, j, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *val = json_string_value(json_object_get(r, "value"));
		struct crule *cr = &p->rules[p->nr];
		char qerr[200];

		if (strcmp(kind, "query") == 0) {
			struct query *q = query_parse(val, qerr, sizeof(qerr));

			if (q != NULL)
				p->queries[p->nq++] = q;
			continue;
		}
		cr->val = val;
		if (strcmp(kind, "client") == 0)
			cr->kind = RULE_CLIENT;
		else {
			cr->kind = strcmp(kind, "include") == 0 ? RULE_INCLUDE
								: RULE_EXCLUDE;
			cr->idx = index_of(cs, cs->n, val);
			if (cr->idx < 0)
				continue;
		}
		p->nr++;
	}
	json_object_set_new(cs->index, p->name, json_integer((json_int_t)cs->n));
	cs->n++;
	return 0;
}

/* 1 when every collection c depends on is placed. */
static int
collset_ready(const struct collset *cs, json_t *c)
{
	json_t *r;
	const char *limit = json_string_value(json_object_get(c, "limit_name"));
	size_t j;

	json_array_foreach(json_object_get(c, "rules"), j, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));

		if ((strcmp(kind, "include") == 0 ||
			strcmp(kind, "exclude") == 0) &&
		    json_object_get(cs->index, json_string_value(json_object_get(
						   r, "value"))) == NULL)
			return 0;
	}
	if (limit || !json_is_true(json_object_get(c, "builtin")))
		return json_object_get(cs->index, limit ? limit : ALL_CLIENTS) !=
		    NULL;
	return 1;
}

/* Loads every collection, ordered so that each comes after the
 * collections it depends on. */
static struct collset *
collset_load(struct db *db, int64_t gen, char *err)
{
	struct collset *cs = calloc(1, sizeof(*cs));
	json_t *c;
	size_t i, total;
	char *done;

	if (cs == NULL) {
		err_set(err, "out of memory");
		return NULL;
	}
	cs->gen = gen;
	cs->doc = db_collections(db);
	cs->index = json_object();
	if (cs->doc == NULL) {
		collset_free(cs);
		err_set(err, "cannot read collections");
		return NULL;
	}
	total = json_array_size(cs->doc);
	cs->v = calloc(total + 1, sizeof(*cs->v));
	done = calloc(total + 1, 1);
	if (cs->v == NULL || done == NULL) {
		free(done);
		collset_free(cs);
		err_set(err, "out of memory");
		return NULL;
	}
	/* Repeat until everything whose dependencies are placed is placed.
	 * Creation forbids cycles, so this ends. */
	while (cs->n < total) {
		size_t before = cs->n;

		json_array_foreach(cs->doc, i, c)
		{
			if (done[i] || !collset_ready(cs, c))
				continue;
			if (collset_place(cs, c) < 0) {
				free(done);
				collset_free(cs);
				err_set(err, "out of memory");
				return NULL;
			}
			done[i] = 1;
		}
		if (cs->n == before)
			break; /* a dangling reference: leave the rest out */
	}
	free(done);
	return cs;
}

/* The parsed collections, from this connection's cache while the
 * collections generation is unchanged. */
static struct collset *
collset_get(struct db *db, char *err)
{
	int64_t gen = db_collections_gen(db);
	struct collset *cs = db_cache(db);

	if (cs != NULL && cs->gen == gen)
		return cs;
	cs = collset_load(db, gen, err);
	if (cs != NULL)
		db_cache_set(db, cs, collset_free);
	return cs;
}

/* Memberships of one device in every collection, in dependency order. */
static void
evaluate(const struct collset *cs, struct device *d, int approved, char *m)
{
	size_t i;
	int j;

	for (i = 0; i < cs->n; i++) {
		const struct coll *c = &cs->v[i];
		int in = 0, out = 0;

		if (c->builtin) {
			m[i] = (char)approved;
			continue;
		}
		if (!approved || c->limit < 0 || !m[c->limit]) {
			m[i] = 0;
			continue;
		}
		for (j = 0; j < c->nr; j++) {
			const struct crule *r = &c->rules[j];

			if (r->kind == RULE_CLIENT && strcmp(r->val, d->id) == 0)
				in = 1;
			else if (r->kind == RULE_INCLUDE && m[r->idx])
				in = 1;
			else if (r->kind == RULE_EXCLUDE && m[r->idx])
				out = 1;
		}
		for (j = 0; !in && j < c->nq; j++)
			in = query_eval(c->queries[j], device_get, d);
		m[i] = (char)(in && !out);
	}
}

/* Writes the memberships that differ from the stored ones; returns how
 * many changed, or -1. */
static int
store(struct db *db, const struct collset *cs, const char *id, const char *m,
    char *was, char *err)
{
	json_t *cur = db_client_collections(db, id), *c, *pos;
	size_t i;
	int changed = 0;

	if (cur == NULL)
		return err_set(err, "cannot read memberships");
	memset(was, 0, cs->n);
	json_array_foreach(cur, i, c)
	{
		pos = json_object_get(cs->index,
		    json_string_value(json_object_get(c, "name")));
		if (pos != NULL)
			was[json_integer_value(pos)] = 1;
	}
	json_decref(cur);
	for (i = 0; i < cs->n; i++) {
		if (was[i] == m[i])
			continue;
		if (db_collection_set_member(db, cs->v[i].name, id, m[i], err) <
		    0)
			return -1;
		changed++;
	}
	return changed;
}

int
collections_evaluate_device(struct db *db, const char *client_id, char *err)
{
	struct collset *cs;
	struct device d = {db, client_id, NULL, NULL, NULL, ""};
	struct db_client c;
	char *m;
	int r = -1;

	if (db_client_get(db, client_id, &c) < 0)
		return err_set(err, "no client %s", client_id);
	if ((cs = collset_get(db, err)) == NULL)
		return -1;
	m = calloc(2 * cs->n + 1, 1);
	if (m != NULL) {
		evaluate(cs, &d, strcmp(c.status, "approved") == 0, m);
		if (db_begin(db, err) == 0) {
			/* Collections feed the policy: a change of membership
			 * rebuilds it next time. */
			int n = store(db, cs, client_id, m, m + cs->n, err);

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
	return r;
}

#define EVALUATE_BATCH 1000 /* devices per transaction */

int
collections_evaluate_all(struct db *db, char *err)
{
	struct collset *cs;
	json_t *ids = NULL, *row;
	char *m = NULL;
	size_t i, k;
	int r = -1, n;
	int64_t now = now_unix();

	if ((cs = collset_get(db, err)) == NULL)
		return -1;
	m = calloc(2 * cs->n + 1, 1);
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

		evaluate(cs, &d, 1, m);
		n = store(db, cs, d.id, m, m + cs->n, err);
		device_clear(&d);
		if (n < 0 || (n > 0 && db_policy_dirty(db, d.id, err) < 0))
			goto fail;
		/* In batches: the site keeps taking writes meanwhile. */
		if ((i + 1) % EVALUATE_BATCH == 0 &&
		    (db_commit(db, err) < 0 || db_begin(db, err) < 0))
			goto fail;
	}
	for (k = 0; k < cs->n; k++)
		if (db_collection_evaluated(db, cs->v[k].name, now, err) < 0)
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
	struct page pg;
	json_t *all, *m;

	if (query_get(r, "name", name, sizeof(name)) < 0) {
		reply_error(r, 400, "give ?name=COLLECTION");
		return;
	}
	if (page_args(r, 0, &pg) < 0)
		return;
	all = db_collections(r->db);
	if (!exists(all, name)) {
		json_decref(all);
		reply_error(r, 404, "no collection '%s'", name);
		return;
	}
	json_decref(all);
	m = db_collection_members(r->db, name, pg.after_sort, pg.after_key,
	    pg.limit);
	if (m == NULL) {
		reply_error(r, 500, "cannot read the members of '%s'", name);
		return;
	}
	page_reply(r, &pg, json_pack("{s:s}", "name", name), "members", m,
	    "hostname", "id");
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
