/* db.c - site database repository functions; engine-neutral SQL over the
 * driver interface of db.h. */
#include "db_int.h"

#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

struct db {
	const struct db_driver *drv;
	void *h;
	void *cache; /* one caller-owned cache per connection */
	void (*cache_free)(void *);
	int in_txn;
	unsigned changed; /* EPOCH_* written in the open transaction */
};

/* Process-wide epochs, moved on after every commit that changed a client's
 * trust (status, certificates) or any policy; in-memory caches of the
 * management point compare them to know when to look again. */
#define EPOCH_TRUST 1u
#define EPOCH_POLICY 2u
static uint64_t trust_epoch = 1, policy_epoch = 1;

uint64_t
db_trust_epoch(void)
{
	return __atomic_load_n(&trust_epoch, __ATOMIC_ACQUIRE);
}

uint64_t
db_policy_epoch(void)
{
	return __atomic_load_n(&policy_epoch, __ATOMIC_ACQUIRE);
}

static void
epochs_advance(unsigned which)
{
	if (which & EPOCH_TRUST)
		__atomic_add_fetch(&trust_epoch, 1, __ATOMIC_ACQ_REL);
	if (which & EPOCH_POLICY)
		__atomic_add_fetch(&policy_epoch, 1, __ATOMIC_ACQ_REL);
}

/* Called after a statement that changed trust or policy: the epochs move
 * on now outside a transaction, at its commit inside one. */
static void
changed(struct db *db, unsigned which)
{
	if (db->in_txn)
		db->changed |= which;
	else
		epochs_advance(which);
}

void
db_result_free(struct db_result *r)
{
	if (r == NULL)
		return;
	free(r->text);
	free(r->cells);
	free(r->names);
	free(r);
}

const char *
db_cell(const struct db_result *r, int row, int col)
{
	if (row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

int
db_exec(struct db *db, const char *sql, const struct db_param *p, int np,
    struct db_result **res, char *err)
{
	return db->drv->exec(db->h, sql, p, np, res, err);
}

int
db_begin(struct db *db, char *err)
{
	if (db->drv->begin(db->h, err) < 0)
		return -1;
	db->in_txn = 1;
	db->changed = 0;
	return 0;
}

int
db_commit(struct db *db, char *err)
{
	int r = db->drv->commit(db->h, err);

	if (r == 0) {
		db->in_txn = 0;
		epochs_advance(db->changed);
		db->changed = 0;
	}
	return r;
}

void
db_rollback(struct db *db)
{
	db->drv->rollback(db->h);
	db->in_txn = 0;
	/* Moving on needlessly costs one look at the database; never moving
	 * on after a change that did commit would cost correctness. */
	epochs_advance(db->changed);
	db->changed = 0;
}

int64_t
db_cell_int(const struct db_result *r, int row, int col)
{
	const char *s = db_cell(r, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

void
db_cell_copy(const struct db_result *r, int row, int col, char *out, size_t size)
{
	const char *s = db_cell(r, row, col);

	str_copy(out, size, s ? s : "");
}

/* Converts rows to a JSON array of objects; types has one letter per column:
 * s string, i integer, b boolean, j JSON text. */
static json_t *
rows_json(const struct db_result *r, const char *types)
{
	json_t *arr = json_array();
	int row, c;

	for (row = 0; row < r->nrows; row++) {
		json_t *o = json_object();

		for (c = 0; c < r->ncols && types[c]; c++) {
			const char *s = db_cell(r, row, c);
			json_t *v;

			if (s == NULL)
				v = json_null();
			else if (types[c] == 'i')
				v = json_integer(strtoll(s, NULL, 10));
			else if (types[c] == 'b')
				v = json_boolean(strtoll(s, NULL, 10) != 0);
			else if (types[c] == 'j') {
				v = json_loads(s, 0, NULL);
				if (v == NULL)
					v = json_null();
			} else
				v = json_string(s);
			json_object_set_new(o, r->names[c], v);
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *
db_query_json(struct db *db, const char *sql, const struct db_param *p, int np,
    const char *types)
{
	struct db_result *r;
	json_t *out;

	if (db_exec(db, sql, p, np, &r, NULL) < 0)
		return NULL;
	out = rows_json(r, types);
	db_result_free(r);
	return out;
}

/* Runs a write; returns the number of rows it changed, or -1. */
int64_t
db_exec_changes(struct db *db, const char *sql, const struct db_param *p, int np,
    char *err)
{
	struct db_result *r;
	int64_t n;

	if (db_exec(db, sql, p, np, &r, err) < 0)
		return -1;
	n = r->changes;
	db_result_free(r);
	return n;
}

int
db_schema_version(struct db *db)
{
	struct db_result *r;
	int v = 0;

	if (db_exec(db, "SELECT COALESCE(MAX(version), 0) FROM "
			"schema_migrations",
		NULL, 0, &r, NULL) < 0)
		return -1;
	v = (int)db_cell_int(r, 0, 0);
	db_result_free(r);
	return v;
}

static int
db_migrate(struct db *db, char *err)
{
	const struct db_migration *m;
	int current;

	if (db->drv->script(db->h,
		"CREATE TABLE IF NOT EXISTS schema_migrations ("
		"version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		"applied_at INTEGER NOT NULL)",
		err) < 0)
		return -1;
	for (m = db_migrations; m->sql != NULL; m++) {
		struct db_param p[] = {DB_INT(m->version), DB_TEXT(m->name),
		    DB_INT(now_unix())};

		if (db_begin(db, err) < 0)
			return -1;
		/* Re-read inside the write lock: two processes starting at
		 * once apply each migration exactly once. */
		current = db_schema_version(db);
		if (current < 0 || m->version <= current) {
			db_rollback(db);
			if (current < 0)
				return err_set(err, "cannot read schema version");
			continue;
		}
		if (db->drv->script(db->h, m->sql, err) < 0 ||
		    db->drv->migration_check(db->h, err) < 0 ||
		    db_exec(db,
			"INSERT INTO schema_migrations (version, name, "
			"applied_at) VALUES ($1, $2, $3)",
			p, NP(p), NULL, err) < 0 ||
		    db_commit(db, err) < 0) {
			db_rollback(db);
			return -1;
		}
	}
	return 0;
}

struct db *
db_open(const char *path, char *err)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL) {
		err_set(err, "out of memory");
		return NULL;
	}
	db->drv = &db_sqlite_driver;
	if (db->drv->open(path, &db->h, err) < 0) {
		free(db);
		return NULL;
	}
	if (db_migrate(db, err) < 0 || db->drv->ready(db->h, err) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->cache_free != NULL)
		db->cache_free(db->cache);
	db->drv->close(db->h);
	free(db);
}

void *
db_cache(struct db *db)
{
	return db->cache;
}

void
db_cache_set(struct db *db, void *cache, void (*cache_free)(void *))
{
	if (db->cache_free != NULL && db->cache != cache)
		db->cache_free(db->cache);
	db->cache = cache;
	db->cache_free = cache_free;
}

/* --- site settings --- */

int
db_setting_get(struct db *db, const char *key, char *out, size_t size)
{
	struct db_param p[] = {DB_TEXT(key)};
	struct db_result *r;
	int found;

	if (db_exec(db, "SELECT value FROM site_settings WHERE key = $1", p,
		NP(p), &r, NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found)
		db_cell_copy(r, 0, 0, out, size);
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_setting_set(struct db *db, const char *key, const char *value, char *err)
{
	struct db_param p[] = {DB_TEXT(key), DB_TEXT(value)};

	return db_exec(db,
	    "INSERT INTO site_settings (key, value) VALUES ($1, $2) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    p, NP(p), NULL, err);
}

/* --- admins --- */

int
db_admin_add(struct db *db, const char *name, const char *role,
    const char *serial, char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_TEXT(role), DB_TEXT(serial),
	    DB_INT(now_unix())};

	return db_exec(db,
	    "INSERT INTO admins (name, role, cert_serial, created_at) "
	    "VALUES ($1, $2, $3, $4)",
	    p, NP(p), NULL, err);
}

int
db_admin_check(struct db *db, const char *name, const char *serial,
    char *role, size_t size)
{
	struct db_param p[] = {DB_TEXT(name), DB_TEXT(serial)};
	struct db_result *r;
	int ok;

	if (db_exec(db,
		"SELECT role FROM admins WHERE name = $1 AND cert_serial = $2",
		p, NP(p), &r, NULL) < 0)
		return -1;
	ok = r->nrows == 1;
	if (ok)
		db_cell_copy(r, 0, 0, role, size);
	db_result_free(r);
	return ok ? 0 : -1;
}

/* --- tokens --- */

int
db_token_insert(struct db *db, const char *id, const char *secret_hash,
    const char *created_by, int64_t now, int64_t expires_at, int64_t uses_max,
    int trusted, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(secret_hash),
	    DB_TEXT(created_by), DB_INT(now), DB_INT(expires_at),
	    DB_INT(uses_max), DB_INT(trusted)};

	return db_exec(db,
	    "INSERT INTO tokens (id, secret_hash, created_by, created_at, "
	    "expires_at, uses_max, trusted) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7)",
	    p, NP(p), NULL, err);
}

int
db_token_get(struct db *db, const char *id, struct db_token *t)
{
	struct db_param p[] = {DB_TEXT(id)};
	struct db_result *r;
	int found;

	if (db_exec(db,
		"SELECT id, secret_hash, expires_at, uses_max, uses, trusted, "
		"revoked_at IS NOT NULL FROM tokens WHERE id = $1",
		p, NP(p), &r, NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found) {
		db_cell_copy(r, 0, 0, t->id, sizeof(t->id));
		db_cell_copy(r, 0, 1, t->secret_hash, sizeof(t->secret_hash));
		t->expires_at = db_cell_int(r, 0, 2);
		t->uses_max = db_cell_int(r, 0, 3);
		t->uses = db_cell_int(r, 0, 4);
		t->trusted = (int)db_cell_int(r, 0, 5);
		t->revoked = (int)db_cell_int(r, 0, 6);
	}
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_token_take_use(struct db *db, const char *id, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_INT(now)};
	int64_t n;

	/* One conditional UPDATE: two devices racing for the last use of a
	 * token cannot both get it. */
	n = db_exec_changes(db,
	    "UPDATE tokens SET uses = uses + 1 WHERE id = $1 AND "
	    "revoked_at IS NULL AND expires_at > $2 AND uses < uses_max",
	    p, NP(p), err);
	return n < 0 ? -1 : n == 1;
}

int
db_token_revoke(struct db *db, const char *id, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND "
	    "revoked_at IS NULL",
	    p, NP(p), err);

	if (n < 0)
		return -1;
	return n == 1 ? 0 : err_set(err, "no live token with id %s", id);
}

json_t *
db_token_list(struct db *db)
{
	return db_query_json(db,
	    "SELECT id, created_by, created_at, expires_at, uses_max, uses, "
	    "trusted, revoked_at FROM tokens ORDER BY created_at, id",
	    NULL, 0, "ssiiiibi");
}

/* --- clients --- */

int
db_client_insert(struct db *db, const char *id, const char *status,
    const char *hostname, const char *hardware_id, const char *source,
    const char *token_id, const char *discovery, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(status), DB_TEXT(hostname),
	    DB_TEXT(hardware_id), DB_TEXT(source), DB_TEXT(token_id),
	    DB_INT(now), DB_TEXT(discovery)};
	int r;

	r = db_exec(db,
	    "INSERT INTO clients (id, status, hostname, hardware_id, "
	    "approval_source, token_id, created_at, discovery) VALUES ($1, "
	    "$2, $3, $4, $5, $6, $7, $8)",
	    p, NP(p), NULL, err);
	changed(db, EPOCH_TRUST);
	return r;
}

/* Runs a query selecting (id, status, hostname, hardware_id, cert_serial)
 * and fills c from its one row; -1 when there is none. */
static int
client_row(struct db *db, const char *sql, const struct db_param *p, int np,
    struct db_client *c)
{
	struct db_result *r;
	int found;

	if (db_exec(db, sql, p, np, &r, NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found) {
		db_cell_copy(r, 0, 0, c->id, sizeof(c->id));
		db_cell_copy(r, 0, 1, c->status, sizeof(c->status));
		db_cell_copy(r, 0, 2, c->hostname, sizeof(c->hostname));
		db_cell_copy(r, 0, 3, c->hardware_id, sizeof(c->hardware_id));
		db_cell_copy(r, 0, 4, c->cert_serial, sizeof(c->cert_serial));
	}
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_client_get(struct db *db, const char *id, struct db_client *c)
{
	struct db_param p[] = {DB_TEXT(id)};

	return client_row(db,
	    "SELECT id, status, hostname, hardware_id, cert_serial FROM "
	    "clients WHERE id = $1",
	    p, NP(p), c);
}

#define CLIENT_COLUMNS                                                         \
	"SELECT id, status, status_reason, hostname, hardware_id, "            \
	"approval_source, token_id, created_at, decided_at, decided_by, "      \
	"last_seen, cert_serial, discovery, last_inventory_at, "               \
	"last_status_at, last_health_at, last_policy_at, marked, "             \
	"health.state AS health, health.at AS health_at FROM clients LEFT "    \
	"JOIN health ON health.client_id = clients.id "
#define CLIENT_TYPES "sssssssiisisjiiiissi"

json_t *
db_client_show(struct db *db, const char *id)
{
	struct db_param p[] = {DB_TEXT(id)};
	json_t *arr = db_query_json(db, CLIENT_COLUMNS "WHERE id = $1", p, NP(p),
	    CLIENT_TYPES);
	json_t *o = NULL;

	if (arr != NULL && json_array_size(arr) == 1)
		o = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return o;
}

/* "active" as client_activity (server/h_status.c) reads it from a row:
 * the latest of the same five columns. */
json_t *
db_client_counts(struct db *db, int64_t active_after)
{
	struct db_param p[] = {DB_INT(active_after > 0 ? active_after : 0)};

	return db_query_json(db,
	    "SELECT c.status AS status, COALESCE(h.state, 'unknown') AS "
	    "health, CASE WHEN "
	    "COALESCE(c.last_seen, 0) > $1 OR "
	    "COALESCE(c.last_inventory_at, 0) > $1 OR "
	    "COALESCE(c.last_status_at, 0) > $1 OR "
	    "COALESCE(c.last_health_at, 0) > $1 OR "
	    "COALESCE(c.last_policy_at, 0) > $1 THEN 'active' ELSE 'inactive' "
	    "END AS activity, COUNT(*) AS n FROM clients c LEFT JOIN health h ON "
	    "h.client_id = c.id GROUP BY 1, 2, 3",
	    p, NP(p), "sssi");
}

json_t *
db_client_page(struct db *db, const char *status, int64_t after_at,
    const char *after_id, int limit)
{
	struct db_param p[] = {DB_TEXT(status ? status : ""), DB_INT(after_at),
	    DB_TEXT(after_id), DB_INT(limit)};

	return db_query_json(db,
	    CLIENT_COLUMNS "WHERE ($1 = '' OR status = $1) AND "
			   "(created_at > $2 OR (created_at = $2 AND id > $3)) "
			   "ORDER BY created_at, id LIMIT $4",
	    p, NP(p), CLIENT_TYPES);
}

int
db_client_decide(struct db *db, const char *id, const char *status,
    const char *source, const char *by, const char *serial, int64_t now,
    char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(status), DB_TEXT(source),
	    DB_TEXT(by), DB_TEXT(serial), DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "UPDATE clients SET status = $2, approval_source = "
	    "COALESCE($3, approval_source), decided_by = $4, "
	    "cert_serial = COALESCE($5, cert_serial), decided_at = $6 "
	    "WHERE id = $1",
	    p, NP(p), err);

	changed(db, EPOCH_TRUST);
	if (n < 0)
		return -1;
	return n == 1 ? 0 : err_set(err, "no client %s", id);
}

int
db_client_set_cert(struct db *db, const char *id, const char *serial,
    char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(serial)};
	int r;

	r = db_exec(db, "UPDATE clients SET cert_serial = $2 WHERE id = $1",
	    p, NP(p), NULL, err);
	changed(db, EPOCH_TRUST);
	return r;
}

int
db_client_seen(struct db *db, const char *id, const char *hostname,
    const char *discovery, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(hostname),
	    DB_TEXT(discovery), DB_INT(now)};
	int64_t n;

	if (db_exec(db, "UPDATE clients SET last_seen = $4 WHERE id = $1", p,
		NP(p), NULL, err) < 0)
		return -1;
	n = db_exec_changes(db,
	    "UPDATE clients SET hostname = $2, discovery = $3 WHERE id = $1 "
	    "AND (discovery IS NULL OR discovery <> $3 OR hostname <> $2)",
	    p, NP(p), err);
	return n < 0 ? -1 : n > 0;
}

/* --- enrollment requests --- */

int
db_enroll_insert(struct db *db, const char *id, const char *client_id,
    const char *poll_hash, const char *csr, const char *addr, int64_t now,
    char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(client_id),
	    DB_TEXT(poll_hash), DB_TEXT(csr), DB_TEXT(addr), DB_INT(now)};

	return db_exec(db,
	    "INSERT INTO enroll_requests (id, client_id, poll_hash, csr, "
	    "source_addr, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
	    p, NP(p), NULL, err);
}

static int
enroll_fill(struct db_result *r, struct db_enroll *e)
{
	const char *csr = db_cell(r, 0, 3), *cert = db_cell(r, 0, 4);

	memset(e, 0, sizeof(*e));
	if (r->nrows != 1)
		return -1;
	db_cell_copy(r, 0, 0, e->id, sizeof(e->id));
	db_cell_copy(r, 0, 1, e->client_id, sizeof(e->client_id));
	db_cell_copy(r, 0, 2, e->poll_hash, sizeof(e->poll_hash));
	e->csr = strdup(csr ? csr : "");
	e->cert_pem = cert ? strdup(cert) : NULL;
	return e->csr ? 0 : -1;
}

int
db_enroll_get(struct db *db, const char *id, struct db_enroll *e)
{
	struct db_param p[] = {DB_TEXT(id)};
	struct db_result *r;
	int rc;

	if (db_exec(db,
		"SELECT id, client_id, poll_hash, csr, cert_pem FROM "
		"enroll_requests WHERE id = $1",
		p, NP(p), &r, NULL) < 0)
		return -1;
	rc = enroll_fill(r, e);
	db_result_free(r);
	return rc;
}

int
db_enroll_latest_for_client(struct db *db, const char *client_id,
    struct db_enroll *e)
{
	struct db_param p[] = {DB_TEXT(client_id)};
	struct db_result *r;
	int rc;

	if (db_exec(db,
		"SELECT id, client_id, poll_hash, csr, cert_pem FROM "
		"enroll_requests WHERE client_id = $1 ORDER BY created_at DESC "
		"LIMIT 1",
		p, NP(p), &r, NULL) < 0)
		return -1;
	rc = enroll_fill(r, e);
	db_result_free(r);
	return rc;
}

int
db_enroll_set_cert(struct db *db, const char *id, const char *pem, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(pem)};

	return db_exec(db,
	    "UPDATE enroll_requests SET cert_pem = $2 WHERE id = $1", p, NP(p),
	    NULL, err);
}

void
db_enroll_clear(struct db_enroll *e)
{
	free(e->csr);
	free(e->cert_pem);
	e->csr = e->cert_pem = NULL;
}

/* --- certificates --- */

int
db_cert_insert(struct db *db, const char *serial, const char *client_id,
    const char *kind, const char *fpr, const char *hardware_id,
    int64_t not_after, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(serial), DB_TEXT(client_id),
	    DB_TEXT(kind), DB_TEXT(fpr), DB_TEXT(hardware_id),
	    DB_INT(not_after), DB_INT(now)};

	return db_exec(db,
	    "INSERT INTO certs (serial, client_id, kind, fingerprint, "
	    "hardware_id, not_after, issued_at) VALUES ($1, $2, $3, $4, $5, "
	    "$6, $7)",
	    p, NP(p), NULL, err);
}

int
db_cert_live(struct db *db, const char *serial, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(serial), DB_TEXT(client_id)};
	struct db_result *r;
	int live;

	if (db_exec(db,
		"SELECT 1 FROM certs WHERE serial = $1 AND client_id = $2 AND "
		"revoked_at IS NULL",
		p, NP(p), &r, NULL) < 0)
		return -1;
	live = r->nrows == 1;
	db_result_free(r);
	return live;
}

/* --- audit --- */

int
db_audit(struct db *db, const char *actor, const char *action,
    const char *target, const char *detail, int64_t now, char *err)
{
	struct db_param p[] = {DB_INT(now), DB_TEXT(actor), DB_TEXT(action),
	    DB_TEXT(target), DB_TEXT(detail)};

	return db_exec(db,
	    "INSERT INTO audit (at, actor, action, target, detail) VALUES "
	    "($1, $2, $3, $4, $5)",
	    p, NP(p), NULL, err);
}

json_t *
db_audit_list(struct db *db, int limit)
{
	struct db_param p[] = {DB_INT(limit)};

	return db_query_json(db,
	    "SELECT id, at, actor, action, target, detail FROM (SELECT * FROM "
	    "audit ORDER BY id DESC LIMIT $1) AS recent ORDER BY id",
	    p, NP(p), "iissss");
}

/* --- certificate lifecycle --- */

#define CERT_COLUMNS                                                           \
	"SELECT serial, client_id, kind, hardware_id, not_after, issued_at, "  \
	"revoked_at, revoke_reason, first_used_at FROM certs "

static void
cert_fill(const struct db_result *r, int row, struct db_cert *c)
{
	memset(c, 0, sizeof(*c));
	db_cell_copy(r, row, 0, c->serial, sizeof(c->serial));
	db_cell_copy(r, row, 1, c->client_id, sizeof(c->client_id));
	db_cell_copy(r, row, 2, c->kind, sizeof(c->kind));
	db_cell_copy(r, row, 3, c->hardware_id, sizeof(c->hardware_id));
	c->not_after = db_cell_int(r, row, 4);
	c->issued_at = db_cell_int(r, row, 5);
	c->revoked_at = db_cell_int(r, row, 6);
	db_cell_copy(r, row, 7, c->revoke_reason, sizeof(c->revoke_reason));
	c->first_used_at = db_cell_int(r, row, 8);
}

int
db_cert_get(struct db *db, const char *serial, struct db_cert *c)
{
	struct db_param p[] = {DB_TEXT(serial)};
	struct db_result *r;
	int found;

	if (db_exec(db, CERT_COLUMNS "WHERE serial = $1", p, NP(p), &r,
		NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found)
		cert_fill(r, 0, c);
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_cert_revoke(struct db *db, const char *serial, const char *reason,
    int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(serial), DB_TEXT(reason), DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "UPDATE certs SET revoked_at = $3, revoke_reason = $2 WHERE "
	    "serial = $1 AND revoked_at IS NULL",
	    p, NP(p), err);

	changed(db, EPOCH_TRUST);
	return n < 0 ? -1 : n == 1;
}

int
db_cert_revoke_client(struct db *db, const char *client_id, const char *keep,
    const char *reason, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(reason),
	    DB_INT(now), DB_TEXT(keep ? keep : "")};
	int64_t n = db_exec_changes(db,
	    "UPDATE certs SET revoked_at = $3, revoke_reason = $2 WHERE "
	    "client_id = $1 AND kind = 'client' AND revoked_at IS NULL AND "
	    "serial <> $4",
	    p, NP(p), err);

	changed(db, EPOCH_TRUST);
	return n < 0 ? -1 : (int)n;
}

int
db_cert_mark_used(struct db *db, const char *serial, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(serial), DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "UPDATE certs SET first_used_at = $2 WHERE serial = $1 AND "
	    "first_used_at IS NULL",
	    p, NP(p), err);

	return n < 0 ? -1 : n == 1;
}

/* The certificates a query of CERT_COLUMNS with one integer parameter
 * returns (malloc'ed). */
static int
certs_query(struct db *db, const char *sql, const struct db_param *p, int np,
    struct db_cert **out, size_t *n)
{
	struct db_result *r;
	int i;

	*out = NULL;
	*n = 0;
	if (db_exec(db, sql, p, np, &r, NULL) < 0)
		return -1;
	if (r->nrows > 0) {
		*out = calloc((size_t)r->nrows, sizeof(**out));
		if (*out == NULL) {
			db_result_free(r);
			return -1;
		}
	}
	for (i = 0; i < r->nrows; i++)
		cert_fill(r, i, &(*out)[i]);
	*n = (size_t)r->nrows;
	db_result_free(r);
	return 0;
}

int
db_cert_revoked_list(struct db *db, int64_t now, struct db_cert **out,
    size_t *n)
{
	struct db_param p[] = {DB_INT(now)};

	return certs_query(db,
	    CERT_COLUMNS "WHERE revoked_at IS NOT NULL AND not_after > $1 "
			 "ORDER BY revoked_at, serial",
	    p, NP(p), out, n);
}

int
db_cert_revoked_since(struct db *db, int64_t since, int64_t expired_before,
    struct db_cert **out, size_t *n)
{
	struct db_param p[] = {DB_INT(since), DB_INT(expired_before)};

	return certs_query(db,
	    CERT_COLUMNS "WHERE revoked_at >= $1 AND not_after >= $2 "
			 "ORDER BY revoked_at, serial",
	    p, NP(p), out, n);
}

#define CERT_LIST_COLUMNS                                                      \
	"SELECT serial, client_id, kind, fingerprint, hardware_id, "           \
	"issued_at, not_after, first_used_at, revoked_at, revoke_reason "      \
	"FROM certs "
#define CERT_LIST_TYPES "sssssiiiis"

json_t *
db_cert_page(struct db *db, const char *client_id, int64_t expiring_before,
    int64_t after_at, const char *after_serial, int limit)
{
	struct db_param p[] = {DB_TEXT(client_id ? client_id : ""),
	    DB_INT(expiring_before), DB_INT(after_at), DB_TEXT(after_serial),
	    DB_INT(limit)};

	return db_query_json(db,
	    CERT_LIST_COLUMNS
	    "WHERE ($1 = '' OR client_id = $1) AND ($2 = 0 OR (not_after < $2 "
	    "AND revoked_at IS NULL)) AND (issued_at > $3 OR (issued_at = $3 "
	    "AND serial > $4)) ORDER BY issued_at, serial LIMIT $5",
	    p, NP(p), CERT_LIST_TYPES);
}

json_t *
db_cert_expiring(struct db *db, int64_t before)
{
	struct db_param p[] = {DB_INT(before)};

	/* A client's current certificate only: one that a renewal already
	 * replaced is not a warning. */
	return db_query_json(db,
	    "SELECT c.serial, c.client_id, c.not_after, l.hostname FROM certs "
	    "c JOIN clients l ON l.id = c.client_id AND l.cert_serial = "
	    "c.serial WHERE c.kind = 'client' AND c.revoked_at IS NULL AND "
	    "c.not_after < $1 ORDER BY c.not_after",
	    p, NP(p), "ssis");
}

/* --- blocking and re-enrollment --- */

int
db_client_block(struct db *db, const char *id, const char *reason,
    const char *by, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(reason), DB_TEXT(by),
	    DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "UPDATE clients SET status = 'blocked', status_reason = $2, "
	    "decided_by = $3, decided_at = $4, blocked_at = $4 WHERE id = $1 "
	    "AND status <> 'blocked'",
	    p, NP(p), err);

	changed(db, EPOCH_TRUST);
	if (n < 0)
		return -1;
	return n == 1 ? 0 : err_set(err, "client %s is unknown or already "
					 "blocked",
				id);
}

int
db_client_unblock(struct db *db, const char *id, const char *by, int64_t now,
    char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(by), DB_INT(now)};
	int64_t n = db_exec_changes(db,
	    "UPDATE clients SET status = 'unblocked', status_reason = "
	    "'unblocked; the device must enroll again', decided_by = $2, "
	    "decided_at = $3 WHERE id = $1 AND status = 'blocked'",
	    p, NP(p), err);

	changed(db, EPOCH_TRUST);
	if (n < 0)
		return -1;
	return n == 1 ? 0 : err_set(err, "client %s is not blocked", id);
}

int
db_client_by_hwid(struct db *db, const char *hardware_id,
    const char *statuses, struct db_client *c)
{
	char pattern[96];
	const char *pat = pattern;
	struct db_param p[] = {DB_TEXT(hardware_id), DB_TEXT(pat)};

	/* ",approved,unblocked," contains ",status," for the wanted ones. */
	if (str_fmt(pattern, sizeof(pattern), ",%s,", statuses) < 0)
		return -1;
	return client_row(db,
	    "SELECT id, status, hostname, hardware_id, cert_serial FROM "
	    "clients WHERE hardware_id = $1 AND $2 LIKE '%,' || status || "
	    "',%' ORDER BY created_at DESC, id LIMIT 1",
	    p, NP(p), c);
}

int
db_client_set_replaces(struct db *db, const char *id, const char *replaces,
    char *err)
{
	struct db_param p[] = {DB_TEXT(id), DB_TEXT(replaces)};

	return db_exec(db, "UPDATE clients SET replaces = $2 WHERE id = $1", p,
	    NP(p), NULL, err);
}

int
db_client_replaces(struct db *db, const char *id, char *out, size_t size)
{
	struct db_param p[] = {DB_TEXT(id)};
	struct db_result *r;
	int found;

	if (db_exec(db, "SELECT replaces FROM clients WHERE id = $1", p, NP(p),
		&r, NULL) < 0)
		return -1;
	found = r->nrows == 1 && db_cell(r, 0, 0) != NULL;
	if (found)
		db_cell_copy(r, 0, 0, out, size);
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_client_merge(struct db *db, const char *from, const char *into,
    const char *hostname, const char *hardware_id, char *err)
{
	struct db_param p[] = {DB_TEXT(from), DB_TEXT(into)};
	struct db_param q[] = {DB_TEXT(into), DB_TEXT(hostname),
	    DB_TEXT(hardware_id)};
	struct db_param d[] = {DB_TEXT(from)};

	if (db_exec(db,
		"UPDATE enroll_requests SET client_id = $2 WHERE client_id = $1",
		p, NP(p), NULL, err) < 0 ||
	    db_exec(db,
		"UPDATE clients SET hostname = $2, hardware_id = $3 WHERE id = "
		"$1",
		q, NP(q), NULL, err) < 0 ||
	    db_exec(db, "DELETE FROM clients WHERE id = $1", d, NP(d), NULL,
		err) < 0)
		return -1;
	changed(db, EPOCH_TRUST);
	return 0;
}

/* --- notifications --- */

int
db_notify_add(struct db *db, const char *client_id, const char *kind,
    int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(kind), DB_INT(now)};

	return db_exec(db,
	    "INSERT INTO notifications (client_id, kind, created_at) VALUES "
	    "($1, $2, $3)",
	    p, NP(p), NULL, err);
}

int
db_notify_add_collection(struct db *db, const char *collection,
    const char *kind, int64_t now, int64_t spread, char *err)
{
	struct db_param p[] = {DB_TEXT(collection), DB_TEXT(kind), DB_INT(now),
	    DB_INT(spread)};

	return db_exec(db,
	    "INSERT INTO notifications (client_id, kind, created_at, spread) "
	    "SELECT client_id, $2, $3, $4 FROM collection_members WHERE "
	    "collection = $1",
	    p, NP(p), NULL, err);
}

int
db_notify_clear(struct db *db, const char *client_id, int64_t now, char *err)
{
	return db_notify_done(db, client_id, NULL, now, err);
}

int
db_notify_done(struct db *db, const char *client_id, const char *kind,
    int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(kind), DB_INT(now)};

	return db_exec(db,
	    "UPDATE notifications SET delivered_at = $3 WHERE client_id = $1 "
	    "AND delivered_at IS NULL AND ($2 IS NULL OR kind = $2)",
	    p, NP(p), NULL, err);
}

json_t *
db_notify_take(struct db *db, const char *client_id, int64_t after,
    int64_t now)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(after), DB_INT(now)};

	if (after > 0)
		db_exec(db,
		    "UPDATE notifications SET delivered_at = $3 WHERE client_id "
		    "= $1 AND id <= $2 AND delivered_at IS NULL",
		    p, NP(p), NULL, NULL);
	return db_query_json(db,
	    "SELECT id, kind, created_at, spread FROM notifications WHERE "
	    "client_id = $1 AND id > $2 AND delivered_at IS NULL ORDER BY id",
	    p, 2, "isii");
}

/* ids as a JSON array of strings (NULL when out of memory). */
static char *
ids_json(const char *const *ids, size_t n)
{
	size_t i, len = 3, at = 0;
	char *out;

	for (i = 0; i < n; i++)
		len += 1 + STR_JSON_MAX(strlen(ids[i]));
	if ((out = malloc(len)) == NULL)
		return NULL;
	out[at++] = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			out[at++] = ',';
		at += str_json(out + at, ids[i]);
	}
	out[at++] = ']';
	out[at] = '\0';
	return out;
}

int
db_notify_pending(struct db *db, const char *const *ids, size_t n,
    struct db_notice **out, size_t *count)
{
	struct db_param p[1];
	struct db_result *r;
	struct db_notice *v;
	char *list;
	int row, k = 0;

	*out = NULL;
	*count = 0;
	if (n == 0)
		return 0;
	/* The ids go as one JSON array: one statement, prepared once,
	 * whatever the batch's size. */
	if ((list = ids_json(ids, n)) == NULL)
		return -1;
	p[0] = DB_TEXT(list);
	if (db_exec(db,
		"SELECT client_id, id, kind, created_at, spread FROM "
		"notifications WHERE delivered_at IS NULL AND client_id IN "
		"(SELECT value FROM json_each($1)) ORDER BY client_id, id",
		p, NP(p), &r, NULL) < 0) {
		free(list);
		return -1;
	}
	free(list);
	v = calloc(r->nrows ? (size_t)r->nrows : 1, sizeof(*v));
	for (row = 0; v != NULL && row < r->nrows; row++) {
		const char *id = db_cell(r, row, 0), *kind = db_cell(r, row, 2);

		if (id == NULL || kind == NULL ||
		    strlen(id) >= sizeof(v->client_id) ||
		    strlen(kind) >= sizeof(v->kind))
			continue;
		str_copy(v[k].client_id, sizeof(v[k].client_id), id);
		str_copy(v[k].kind, sizeof(v[k].kind), kind);
		v[k].id = db_cell_int(r, row, 1);
		v[k].created_at = db_cell_int(r, row, 3);
		v[k].spread = db_cell_int(r, row, 4);
		k++;
	}
	db_result_free(r);
	if (v == NULL)
		return -1;
	*out = v;
	*count = (size_t)k;
	return 0;
}

/* --- inventory --- */

int
db_inventory_seq(struct db *db, const char *client_id, int64_t *seq)
{
	struct db_param p[] = {DB_TEXT(client_id)};
	struct db_result *r;
	int found;

	*seq = 0;
	if (db_exec(db, "SELECT seq FROM inventory_state WHERE client_id = $1",
		p, NP(p), &r, NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found)
		*seq = db_cell_int(r, 0, 0);
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_inventory_set_seq(struct db *db, const char *client_id, int64_t seq,
    int full, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(seq), DB_INT(now),
	    DB_INT(full)};

	return db_exec(db,
	    "INSERT INTO inventory_state (client_id, seq, full_at, updated_at) "
	    "VALUES ($1, $2, CASE WHEN $4 = 1 THEN $3 END, $3) ON CONFLICT "
	    "(client_id) DO UPDATE SET seq = excluded.seq, updated_at = "
	    "excluded.updated_at, full_at = COALESCE(excluded.full_at, "
	    "inventory_state.full_at)",
	    p, NP(p), NULL, err);
}

json_t *
db_inventory_class(struct db *db, const char *client_id, const char *cls)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(cls)};
	struct db_result *r;
	json_t *map;
	int i;

	if (db_exec(db,
		"SELECT key, data FROM inventory WHERE client_id = $1 AND "
		"class = $2",
		p, NP(p), &r, NULL) < 0)
		return NULL;
	map = json_object();
	for (i = 0; i < r->nrows; i++)
		json_object_set_new(map, db_cell(r, i, 0),
		    json_string(db_cell(r, i, 1)));
	db_result_free(r);
	return map;
}

int
db_inventory_put(struct db *db, const char *client_id, const char *cls,
    const char *key, const char *data, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(cls), DB_TEXT(key),
	    DB_TEXT(data), DB_INT(now)};

	return db_exec(db,
	    "INSERT INTO inventory (client_id, class, key, data, updated_at) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id, class, key) "
	    "DO UPDATE SET data = excluded.data, updated_at = "
	    "excluded.updated_at",
	    p, NP(p), NULL, err);
}

int
db_inventory_del(struct db *db, const char *client_id, const char *cls,
    const char *key, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(cls), DB_TEXT(key)};

	return db_exec(db,
	    "DELETE FROM inventory WHERE client_id = $1 AND class = $2 AND "
	    "key = $3",
	    p, NP(p), NULL, err);
}

int
db_inventory_history_add(struct db *db, const char *client_id, int64_t now,
    int64_t seq, const char *cls, const char *key, const char *op,
    const char *data, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(now), DB_INT(seq),
	    DB_TEXT(cls), DB_TEXT(key), DB_TEXT(op), DB_TEXT(data)};

	return db_exec(db,
	    "INSERT INTO inventory_history (client_id, at, seq, class, key, "
	    "op, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	    p, NP(p), NULL, err);
}

json_t *
db_inventory_show(struct db *db, const char *client_id, const char *cls)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(cls ? cls : "")};
	struct db_result *r;
	json_t *out;
	int i;

	if (db_exec(db,
		"SELECT class, key, data FROM inventory WHERE client_id = $1 "
		"AND ($2 = '' OR class = $2) ORDER BY class, key",
		p, NP(p), &r, NULL) < 0)
		return NULL;
	out = json_object();
	for (i = 0; i < r->nrows; i++) {
		const char *c = db_cell(r, i, 0);
		json_t *v = json_loads(db_cell(r, i, 2), 0, NULL);

		if (v == NULL)
			continue;
		if (db_cell(r, i, 1)[0] == '\0') {
			json_object_set_new(out, c, v);
		} else {
			json_t *list = json_object_get(out, c);

			if (list == NULL) {
				list = json_array();
				json_object_set_new(out, c, list);
			}
			json_array_append_new(list, v);
		}
	}
	db_result_free(r);
	return out;
}

json_t *
db_inventory_history(struct db *db, const char *client_id, int limit)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(limit)};

	return db_query_json(db,
	    "SELECT id, at, seq, class, key, op FROM (SELECT * FROM "
	    "inventory_history WHERE client_id = $1 ORDER BY id DESC LIMIT $2) "
	    "AS recent ORDER BY id",
	    p, NP(p), "iiisss");
}

int
db_client_touch(struct db *db, const char *client_id, const char *channel,
    int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(now)};
	const char *sql;

	/* Column names cannot be parameters: one statement per channel. */
	if (strcmp(channel, "inventory") == 0)
		sql = "UPDATE clients SET last_inventory_at = $2 WHERE id = $1";
	else if (strcmp(channel, "status") == 0)
		sql = "UPDATE clients SET last_status_at = $2 WHERE id = $1";
	else if (strcmp(channel, "health") == 0)
		sql = "UPDATE clients SET last_health_at = $2 WHERE id = $1";
	else if (strcmp(channel, "policy") == 0)
		sql = "UPDATE clients SET last_policy_at = $2 WHERE id = $1";
	else
		return err_set(err, "unknown activity channel %s", channel);
	return db_exec(db, sql, p, NP(p), NULL, err);
}

/* --- status messages --- */

int
db_status_insert(struct db *db, const char *client_id, int64_t uid,
    const char *component, int64_t message_id, const char *severity,
    int64_t at, int64_t received_at, const char *strings, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(uid),
	    DB_TEXT(component), DB_INT(message_id), DB_TEXT(severity),
	    DB_INT(at), DB_INT(received_at), DB_TEXT(strings)};
	int64_t n = db_exec_changes(db,
	    "INSERT INTO status_messages (client_id, uid, component, "
	    "message_id, severity, at, received_at, strings) VALUES ($1, $2, "
	    "$3, $4, $5, $6, $7, $8) ON CONFLICT (client_id, uid) DO NOTHING",
	    p, NP(p), err);

	return n < 0 ? -1 : n == 1;
}

json_t *
db_status_list(struct db *db, const char *client_id, int64_t since,
    const char *severity, int limit)
{
	struct db_param p[] = {DB_TEXT(client_id ? client_id : ""),
	    DB_INT(since), DB_TEXT(severity ? severity : ""), DB_INT(limit)};

	return db_query_json(db,
	    "SELECT id, client_id, component, message_id, severity, at, "
	    "received_at, strings FROM (SELECT * FROM status_messages WHERE "
	    "($1 = '' OR client_id = $1) AND received_at >= $2 AND ($3 = '' "
	    "OR severity = $3) ORDER BY id DESC LIMIT $4) AS recent ORDER BY "
	    "id",
	    p, NP(p), "issisiij");
}

json_t *
db_status_rules(struct db *db)
{
	return db_query_json(db,
	    "SELECT id, message_id, component, action, created_by, created_at "
	    "FROM status_rules ORDER BY id",
	    NULL, 0, "iisssi");
}

int
db_status_rule_add(struct db *db, int64_t message_id, const char *component,
    const char *action, const char *by, int64_t now, int64_t *id, char *err)
{
	struct db_param p[] = {DB_INT(message_id), DB_TEXT(component),
	    DB_TEXT(action), DB_TEXT(by), DB_INT(now)};
	struct db_result *r;

	if (db_exec(db,
		"INSERT INTO status_rules (message_id, component, action, "
		"created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING "
		"id",
		p, NP(p), &r, err) < 0)
		return -1;
	*id = db_cell_int(r, 0, 0);
	db_result_free(r);
	return 0;
}

int
db_status_rule_delete(struct db *db, int64_t id, char *err)
{
	struct db_param p[] = {DB_INT(id)};
	int64_t n = db_exec_changes(db, "DELETE FROM status_rules WHERE id = $1",
	    p, NP(p), err);

	return n < 0 ? -1 : n == 1;
}

int
db_client_mark(struct db *db, const char *client_id, const char *text,
    char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(text)};

	return db_exec(db, "UPDATE clients SET marked = $2 WHERE id = $1", p,
	    NP(p), NULL, err);
}

/* --- client health --- */

int
db_health_put(struct db *db, const char *client_id, int64_t uid, int64_t at,
    const char *state, const char *checks, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(uid), DB_INT(at),
	    DB_TEXT(state), DB_TEXT(checks)};
	int64_t n = db_exec_changes(db,
	    "INSERT INTO health_history (client_id, uid, at, state, checks) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id, uid) DO "
	    "NOTHING",
	    p, NP(p), err);

	if (n <= 0)
		return n < 0 ? -1 : 0;
	/* The newest report by device time is the client's current health. */
	if (db_exec(db,
		"INSERT INTO health (client_id, at, state, checks) VALUES ($1, "
		"$3, $4, $5) ON CONFLICT (client_id) DO UPDATE SET at = "
		"excluded.at, state = excluded.state, checks = excluded.checks "
		"WHERE excluded.at >= health.at",
		p, NP(p), NULL, err) < 0)
		return -1;
	return 1;
}

json_t *
db_health_get(struct db *db, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(client_id)};
	json_t *a = db_query_json(db,
	    "SELECT at, state, checks FROM health WHERE client_id = $1", p,
	    NP(p), "isj");
	json_t *o = json_incref(json_array_get(a, 0));

	json_decref(a);
	return o;
}

/* --- retention tasks --- */

static const struct {
	const char *name;
	int64_t retention;
} default_tasks[] = {
	{"discovery", 90 * 86400},
	{"health_history", 31 * 86400},
	{"status_messages", 30 * 86400},
	{"inventory_history", 90 * 86400},
	{"notifications", 30 * 86400},
};

int
db_tasks_ensure(struct db *db, char *err)
{
	size_t i;

	for (i = 0; i < sizeof(default_tasks) / sizeof(default_tasks[0]); i++) {
		struct db_param p[] = {DB_TEXT(default_tasks[i].name),
		    DB_INT(default_tasks[i].retention)};

		if (db_exec(db,
			"INSERT INTO tasks (name, retention, enabled) VALUES "
			"($1, $2, 1) ON CONFLICT (name) DO NOTHING",
			p, NP(p), NULL, err) < 0)
			return -1;
	}
	return 0;
}

json_t *
db_tasks_list(struct db *db)
{
	return db_query_json(db,
	    "SELECT name, retention, enabled, last_run, last_deleted, "
	    "next_run FROM tasks ORDER BY name",
	    NULL, 0, "sibiii");
}

int
db_task_get(struct db *db, const char *name, struct db_task *t)
{
	struct db_param p[] = {DB_TEXT(name)};
	struct db_result *r;
	int found;

	if (db_exec(db,
		"SELECT name, retention, enabled, next_run FROM tasks WHERE "
		"name = $1",
		p, NP(p), &r, NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found) {
		db_cell_copy(r, 0, 0, t->name, sizeof(t->name));
		t->retention = db_cell_int(r, 0, 1);
		t->enabled = (int)db_cell_int(r, 0, 2);
		t->next_run = db_cell_int(r, 0, 3);
	}
	db_result_free(r);
	return found ? 0 : -1;
}

int
db_task_set(struct db *db, const char *name, int64_t retention, int enabled,
    char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_INT(retention),
	    DB_INT(enabled)};

	return db_exec(db,
	    "UPDATE tasks SET retention = $2, enabled = $3 WHERE name = $1",
	    p, NP(p), NULL, err);
}

int
db_task_record(struct db *db, const char *name, int64_t now, int64_t deleted,
    int64_t next_run, char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_INT(now), DB_INT(deleted),
	    DB_INT(next_run)};

	return db_exec(db,
	    "UPDATE tasks SET last_run = $2, last_deleted = $3, next_run = $4 "
	    "WHERE name = $1",
	    p, NP(p), NULL, err);
}

int64_t
db_retention_batch(struct db *db, const char *name, int64_t cutoff, int limit,
    char *err)
{
	struct db_param p[] = {DB_INT(cutoff), DB_INT(limit)};
	const char *sql;

	if (strcmp(name, "status_messages") == 0)
		sql = "DELETE FROM status_messages WHERE id IN (SELECT id FROM "
		      "status_messages WHERE received_at < $1 LIMIT $2)";
	else if (strcmp(name, "health_history") == 0)
		sql = "DELETE FROM health_history WHERE id IN (SELECT id FROM "
		      "health_history WHERE at < $1 LIMIT $2)";
	else if (strcmp(name, "inventory_history") == 0)
		sql = "DELETE FROM inventory_history WHERE id IN (SELECT id "
		      "FROM inventory_history WHERE at < $1 LIMIT $2)";
	else if (strcmp(name, "notifications") == 0)
		sql = "DELETE FROM notifications WHERE id IN (SELECT id FROM "
		      "notifications WHERE created_at < $1 LIMIT $2)";
	else if (strcmp(name, "discovery") == 0)
		/* What a device said about itself, for devices not heard from
		 * since the cutoff: discovery record and current inventory.
		 * The client record and its certificates stay. */
		sql = "DELETE FROM inventory WHERE client_id = (SELECT c.id "
		      "FROM clients c WHERE COALESCE(c.last_seen, "
		      "c.created_at) < $1 AND EXISTS (SELECT 1 FROM inventory "
		      "i WHERE i.client_id = c.id) LIMIT 1)";
	else
		return err_set(err, "unknown task %s", name);
	if (strcmp(name, "discovery") == 0) {
		int64_t n = db_exec_changes(db, sql, p, NP(p), err);

		if (n != 0)
			return n;
		return db_exec_changes(db,
		    "UPDATE clients SET discovery = NULL WHERE id IN (SELECT id "
		    "FROM clients WHERE discovery IS NOT NULL AND "
		    "COALESCE(last_seen, created_at) < $1 LIMIT $2)",
		    p, NP(p), err);
	}
	return db_exec_changes(db, sql, p, NP(p), err);
}

/* --- collections --- */

/* Every change to collections or their rules bumps the generation, so
 * that cached parsed rules are reloaded. */
static int
collections_bump(struct db *db, char *err)
{
	unsigned char r[6];
	char v[32];
	struct db_param p[1];

	/* Random, not a counter: a rolled-back change and a committed one
	 * elsewhere must not end at the same value. */
	rand_bytes(r, sizeof(r));
	str_fmt(v, sizeof(v), "%lld",
	    1 + (long long)(((uint64_t)r[0] << 40 | (uint64_t)r[1] << 32 |
				(uint64_t)r[2] << 24 | (uint64_t)r[3] << 16 |
				(uint64_t)r[4] << 8 | r[5])));
	p[0] = (struct db_param){DBP_TEXT, v, 0};
	return db_exec(db,
	    "INSERT INTO site_settings (key, value) VALUES ('collections_gen', "
	    "$1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    p, 1, NULL, err);
}

int64_t
db_collections_gen(struct db *db)
{
	char v[32];

	if (db_setting_get(db, "collections_gen", v, sizeof(v)) < 0)
		return 0;
	return strtoll(v, NULL, 10);
}

int
db_collection_add(struct db *db, const char *name, const char *limit,
    int site_only, const char *by, int64_t now, char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_TEXT(limit), DB_INT(site_only),
	    DB_TEXT(by), DB_INT(now)};

	if (collections_bump(db, err) < 0)
		return -1;
	return db_exec(db,
	    "INSERT INTO collections (name, limit_name, site_only, created_by, "
	    "created_at) VALUES ($1, $2, $3, $4, $5)",
	    p, NP(p), NULL, err);
}

int
db_collection_rule_add(struct db *db, const char *name, const char *kind,
    const char *value, char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_TEXT(kind), DB_TEXT(value)};

	if (collections_bump(db, err) < 0)
		return -1;
	return db_exec(db,
	    "INSERT INTO collection_rules (collection, kind, value) VALUES "
	    "($1, $2, $3)",
	    p, NP(p), NULL, err);
}

int
db_collection_delete(struct db *db, const char *name, char *err)
{
	struct db_param p[] = {DB_TEXT(name)};
	int64_t n;

	if (collections_bump(db, err) < 0 ||
	    db_exec(db, "DELETE FROM collection_rules WHERE collection = $1",
		p, NP(p), NULL, err) < 0 ||
	    db_exec(db, "DELETE FROM collection_members WHERE collection = $1",
		p, NP(p), NULL, err) < 0)
		return -1;
	n = db_exec_changes(db,
	    "DELETE FROM collections WHERE name = $1 AND builtin = 0", p, NP(p),
	    err);
	return n < 0 ? -1 : n == 1;
}

int
db_collection_exists(struct db *db, const char *name)
{
	struct db_param p[] = {DB_TEXT(name)};
	struct db_result *r;
	int found;

	if (db_exec(db, "SELECT 1 FROM collections WHERE name = $1", p, NP(p),
		&r, NULL) < 0)
		return 0;
	found = r->nrows == 1;
	db_result_free(r);
	return found;
}

json_t *
db_collections(struct db *db)
{
	json_t *list = db_query_json(db,
	    "SELECT name, limit_name, site_only, builtin, created_by, "
	    "created_at, evaluated_at, (SELECT COUNT(*) FROM collection_members "
	    "m WHERE m.collection = c.name) AS members FROM collections c ORDER "
	    "BY name",
	    NULL, 0, "ssbbsiii");
	json_t *rules = db_query_json(db,
	    "SELECT collection, kind, value FROM collection_rules ORDER BY id",
	    NULL, 0, "sss");
	json_t *c, *r;
	size_t i, j;

	if (list == NULL || rules == NULL) {
		json_decref(list);
		json_decref(rules);
		return NULL;
	}
	json_array_foreach(list, i, c)
	{
		json_t *mine = json_array();

		json_array_foreach(rules, j, r)
		{
			if (json_equal(json_object_get(r, "collection"),
				json_object_get(c, "name")))
				json_array_append_new(mine,
				    json_pack("{s:O,s:O}", "kind",
					json_object_get(r, "kind"), "value",
					json_object_get(r, "value")));
		}
		json_object_set_new(c, "rules", mine);
	}
	json_decref(rules);
	return list;
}

json_t *
db_collection_users(struct db *db, const char *name)
{
	struct db_param p[] = {DB_TEXT(name)};

	return db_query_json(db,
	    "SELECT name FROM collections WHERE limit_name = $1 UNION SELECT "
	    "collection FROM collection_rules WHERE kind IN ('include', "
	    "'exclude') AND value = $1 UNION SELECT 'deployment ' || id FROM "
	    "deployments WHERE collection = $1 UNION SELECT 'window ' || id "
	    "FROM windows WHERE collection = $1 UNION SELECT 'custom setting "
	    "' || key FROM custom_settings WHERE collection = $1",
	    p, NP(p), "s");
}

json_t *
db_collection_members(struct db *db, const char *name,
    const char *after_host, const char *after_id, int limit)
{
	struct db_param p[] = {DB_TEXT(name), DB_TEXT(after_host),
	    DB_TEXT(after_id), DB_INT(limit)};

	return db_query_json(db,
	    "SELECT c.id, c.hostname, c.status FROM collection_members m JOIN "
	    "clients c ON c.id = m.client_id WHERE m.collection = $1 AND "
	    "(c.hostname > $2 OR (c.hostname = $2 AND c.id > $3)) "
	    "ORDER BY c.hostname, c.id LIMIT $4",
	    p, NP(p), "sss");
}

struct db_result *
db_collection_member_ids(struct db *db, const char *name)
{
	struct db_param p[] = {DB_TEXT(name)};
	struct db_result *r;

	if (db_exec(db,
		"SELECT client_id FROM collection_members WHERE collection = "
		"$1",
		p, NP(p), &r, NULL) < 0)
		return NULL;
	return r;
}

int
db_collection_set_member(struct db *db, const char *name,
    const char *client_id, int member, char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_TEXT(client_id)};

	if (member)
		return db_exec(db,
		    "INSERT INTO collection_members (collection, client_id) "
		    "VALUES ($1, $2) ON CONFLICT DO NOTHING",
		    p, NP(p), NULL, err);
	return db_exec(db,
	    "DELETE FROM collection_members WHERE collection = $1 AND "
	    "client_id = $2",
	    p, NP(p), NULL, err);
}

int
db_collection_evaluated(struct db *db, const char *name, int64_t now,
    char *err)
{
	struct db_param p[] = {DB_TEXT(name), DB_INT(now)};

	return db_exec(db,
	    "UPDATE collections SET evaluated_at = $2 WHERE name = $1", p,
	    NP(p), NULL, err);
}

json_t *
db_client_ids(struct db *db, const char *status)
{
	struct db_param p[] = {DB_TEXT(status)};

	return db_query_json(db,
	    "SELECT id FROM clients WHERE status = $1 ORDER BY id", p, NP(p),
	    "s");
}

int
db_tag_set(struct db *db, const char *client_id, const char *key,
    const char *value, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_TEXT(key),
	    DB_TEXT(value)};

	if (value == NULL || value[0] == '\0')
		return db_exec(db,
		    "DELETE FROM client_tags WHERE client_id = $1 AND key = $2",
		    p, 2, NULL, err);
	return db_exec(db,
	    "INSERT INTO client_tags (client_id, key, value) VALUES ($1, $2, "
	    "$3) ON CONFLICT (client_id, key) DO UPDATE SET value = "
	    "excluded.value",
	    p, NP(p), NULL, err);
}

json_t *
db_tags(struct db *db, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(client_id)};
	struct db_result *r;
	json_t *o;
	int i;

	if (db_exec(db,
		"SELECT key, value FROM client_tags WHERE client_id = $1 ORDER "
		"BY key",
		p, NP(p), &r, NULL) < 0)
		return NULL;
	o = json_object();
	for (i = 0; i < r->nrows; i++)
		json_object_set_new(o, db_cell(r, i, 0),
		    json_string(db_cell(r, i, 1)));
	db_result_free(r);
	return o;
}

/* --- signed policy cache --- */

int
db_policy_get(struct db *db, const char *client_id, struct db_policy *pol)
{
	struct db_param p[] = {DB_TEXT(client_id)};
	struct db_result *r;
	int found;

	memset(pol, 0, sizeof(*pol));
	if (db_exec(db,
		"SELECT serial, etag, body, expires_at, dirty FROM policies "
		"WHERE client_id = $1",
		p, NP(p), &r, NULL) < 0)
		return -1;
	found = r->nrows == 1;
	if (found) {
		pol->serial = db_cell_int(r, 0, 0);
		db_cell_copy(r, 0, 1, pol->etag, sizeof(pol->etag));
		pol->body = strdup(db_cell(r, 0, 2) ? db_cell(r, 0, 2) : "");
		pol->expires_at = db_cell_int(r, 0, 3);
		pol->dirty = (int)db_cell_int(r, 0, 4);
	}
	db_result_free(r);
	return found && pol->body ? 0 : -1;
}

int
db_policy_put(struct db *db, const char *client_id, int64_t serial,
    const char *etag, const char *body, int64_t now, int64_t expires_at,
    char *err)
{
	struct db_param p[] = {DB_TEXT(client_id), DB_INT(serial),
	    DB_TEXT(etag), DB_TEXT(body), DB_INT(now), DB_INT(expires_at)};

	return db_exec(db,
	    "INSERT INTO policies (client_id, serial, etag, body, built_at, "
	    "expires_at, dirty) VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT "
	    "(client_id) DO UPDATE SET serial = excluded.serial, etag = "
	    "excluded.etag, body = excluded.body, built_at = excluded.built_at, "
	    "expires_at = excluded.expires_at, dirty = 0",
	    p, NP(p), NULL, err);
}

int
db_policy_dirty(struct db *db, const char *client_id, char *err)
{
	struct db_param p[] = {DB_TEXT(client_id ? client_id : "")};
	int r;

	r = db_exec(db,
	    "UPDATE policies SET dirty = 1 WHERE $1 = '' OR client_id = $1", p,
	    NP(p), NULL, err);
	changed(db, EPOCH_POLICY);
	return r;
}

int
db_policy_dirty_collection(struct db *db, const char *collection, char *err)
{
	struct db_param p[] = {DB_TEXT(collection)};
	int r;

	r = db_exec(db,
	    "UPDATE policies SET dirty = 1 WHERE client_id IN (SELECT "
	    "client_id FROM collection_members WHERE collection = $1)",
	    p, NP(p), NULL, err);
	changed(db, EPOCH_POLICY);
	return r;
}

int
db_policy_next_serial(struct db *db, int64_t *serial, char *err)
{
	struct db_result *r;

	if (db_exec(db,
		"UPDATE site_settings SET value = CAST(CAST(value AS INTEGER) "
		"+ 1 AS TEXT) WHERE key = 'policy_serial' RETURNING value",
		NULL, 0, &r, err) < 0)
		return -1;
	*serial = r->nrows == 1 ? db_cell_int(r, 0, 0) : 0;
	db_result_free(r);
	return *serial > 0 ? 0 : err_set(err, "no policy serial counter");
}

json_t *
db_client_collections(struct db *db, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(client_id)};

	return db_query_json(db,
	    "SELECT collection AS name FROM collection_members WHERE client_id "
	    "= $1 ORDER BY collection",
	    p, NP(p), "s");
}

/* --- custom client settings --- */

int
db_setting_custom_add(struct db *db, const char *collection, int64_t priority,
    const char *key, const char *value, const char *by, int64_t now,
    char *err)
{
	struct db_param p[] = {DB_TEXT(collection), DB_INT(priority),
	    DB_TEXT(key), DB_TEXT(value), DB_TEXT(by), DB_INT(now)};

	return db_exec(db,
	    "INSERT INTO custom_settings (collection, priority, key, value, "
	    "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
	    p, NP(p), NULL, err);
}

json_t *
db_settings_custom(struct db *db, const char *client_id)
{
	struct db_param p[] = {DB_TEXT(client_id ? client_id : "")};

	return db_query_json(db,
	    "SELECT id, collection, priority, key, value FROM custom_settings "
	    "WHERE $1 = '' OR collection IN (SELECT collection FROM "
	    "collection_members WHERE client_id = $1) ORDER BY priority, id",
	    p, NP(p), "isiss");
}
