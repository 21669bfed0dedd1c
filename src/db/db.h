/* db.h - the site database: repository functions over a small driver
 * interface. Callers use only the db_* repository functions; SQL lives here
 * and in migrations/. A driver (SQLite now, PostgreSQL later) implements
 * struct db_driver; SQL uses $1, $2 ... placeholders, which both accept. */
#ifndef STEWARD_DB_H
#define STEWARD_DB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db;

struct db_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct db_migration db_migrations[];

enum db_ptype { DBP_NULL, DBP_TEXT, DBP_INT };
struct db_param {
	enum db_ptype type;
	const char *s;
	int64_t i;
};
#define DB_TEXT(x) ((struct db_param){(x) ? DBP_TEXT : DBP_NULL, (x), 0})
#define DB_INT(x) ((struct db_param){DBP_INT, NULL, (int64_t)(x)})
#define DB_NULL ((struct db_param){DBP_NULL, NULL, 0})

/* Rows as text, as both engines can give them; NULL cells are NULL. The
 * names and cells point into text, one block for the whole result. */
struct db_result {
	int nrows;
	int ncols;
	int64_t changes; /* rows changed by a write */
	char **names;
	char **cells; /* nrows * ncols, row-major */
	char *text;
};

struct db_driver {
	const char *name;
	int (*open)(const char *target, void **handle, char *err);
	void (*close)(void *handle);
	/* Runs one statement; *res (may be NULL) receives rows. */
	int (*exec)(void *handle, const char *sql, const struct db_param *p,
	    int np, struct db_result **res, char *err);
	/* Runs a multi-statement script (migrations). */
	int (*script)(void *handle, const char *sql, char *err);
	/* Run inside each migration's transaction before commit: refuse a
	 * migration that leaves the data inconsistent. */
	int (*migration_check)(void *handle, char *err);
	/* After migrations: switch on what migrations had to run without
	 * (SQLite: foreign-key enforcement, which a table rebuild cannot
	 * run under). */
	int (*ready)(void *handle, char *err);
	int (*begin)(void *handle, char *err);
	int (*commit)(void *handle, char *err);
	void (*rollback)(void *handle);
};
extern const struct db_driver db_sqlite_driver;

/* Opens the site database and applies pending migrations. */
struct db *db_open(const char *path, char *err);
void db_close(struct db *db);
int db_begin(struct db *db, char *err);
int db_commit(struct db *db, char *err);
void db_rollback(struct db *db);
/* One cache per connection, owned by the caller and freed with the
 * connection (the collection rules, parsed, for one worker). */
void *db_cache(struct db *db);
void db_cache_set(struct db *db, void *cache, void (*cache_free)(void *));
/* Epochs that move on after every committed change to a client's trust
 * (status, certificates) or to any policy: in-process caches compare them
 * to know when to read the database again. */
uint64_t db_trust_epoch(void);
uint64_t db_policy_epoch(void);
/* Low level, for repository code and tests. */
int db_exec(struct db *db, const char *sql, const struct db_param *p, int np,
    struct db_result **res, char *err);
void db_result_free(struct db_result *r);
const char *db_cell(const struct db_result *r, int row, int col);
int db_schema_version(struct db *db);

/* Site settings. */
int db_setting_get(struct db *db, const char *key, char *out, size_t size);
int db_setting_set(struct db *db, const char *key, const char *value,
    char *err);

/* Admins. */
int db_admin_add(struct db *db, const char *name, const char *role,
    const char *serial, char *err);
/* Fills role (size bytes) when name exists with that certificate serial. */
int db_admin_check(struct db *db, const char *name, const char *serial,
    char *role, size_t size);

/* Enrollment tokens. */
struct db_token {
	char id[33];
	char secret_hash[65];
	int64_t expires_at;
	int64_t uses_max;
	int64_t uses;
	int trusted;
	int revoked;
};
int db_token_insert(struct db *db, const char *id, const char *secret_hash,
    const char *created_by, int64_t now, int64_t expires_at, int64_t uses_max,
    int trusted, char *err);
int db_token_get(struct db *db, const char *id, struct db_token *t);
/* Takes one use if the token is live; returns 1 taken, 0 not, -1 error. */
int db_token_take_use(struct db *db, const char *id, int64_t now, char *err);
int db_token_revoke(struct db *db, const char *id, int64_t now, char *err);
json_t *db_token_list(struct db *db);

/* Clients. */
struct db_client {
	char id[33];
	char status[16];
	char hostname[256];
	char hardware_id[130];
	char cert_serial[41];
};
int db_client_insert(struct db *db, const char *id, const char *status,
    const char *hostname, const char *hardware_id, const char *source,
    const char *token_id, const char *discovery, int64_t now, char *err);
int db_client_get(struct db *db, const char *id, struct db_client *c);
json_t *db_client_show(struct db *db, const char *id);
/* How many clients there are of each status, health ("unknown" when
 * none) and activity ("active" when any channel was heard from after
 * active_after, else "inactive"): rows of {status, health, activity, n}.
 * Counted by the database: a whole site's clients are not loaded. */
json_t *db_client_counts(struct db *db, int64_t active_after);
/* A page of the clients (status NULL for all), in the order they were
 * created, after the row (after_at, after_id): after_at -1 for the
 * first page. */
json_t *db_client_page(struct db *db, const char *status, int64_t after_at,
    const char *after_id, int limit);
int db_client_decide(struct db *db, const char *id, const char *status,
    const char *source, const char *by, const char *serial, int64_t now,
    char *err);
int db_client_set_cert(struct db *db, const char *id, const char *serial,
    char *err);
/* Records a heartbeat; returns 1 when the discovery record changed, 0 when
 * not, -1 on error. */
int db_client_seen(struct db *db, const char *id, const char *hostname,
    const char *discovery, int64_t now, char *err);

/* Enrollment requests. */
struct db_enroll {
	char id[33];
	char client_id[33];
	char poll_hash[65];
	char *csr;     /* malloc'ed */
	char *cert_pem; /* malloc'ed, NULL until issued */
};
int db_enroll_insert(struct db *db, const char *id, const char *client_id,
    const char *poll_hash, const char *csr, const char *addr, int64_t now,
    char *err);
int db_enroll_get(struct db *db, const char *id, struct db_enroll *e);
int db_enroll_latest_for_client(struct db *db, const char *client_id,
    struct db_enroll *e);
int db_enroll_set_cert(struct db *db, const char *id, const char *pem,
    char *err);
void db_enroll_clear(struct db_enroll *e);

/* Certificates issued by the site. */
int db_cert_insert(struct db *db, const char *serial, const char *client_id,
    const char *kind, const char *fpr, const char *hardware_id,
    int64_t not_after, int64_t now, char *err);
/* 1 when serial is a live (unrevoked) certificate of client_id. */
int db_cert_live(struct db *db, const char *serial, const char *client_id);

/* Certificates: revocation, use, listing. reason is an RFC 5280 CRL
 * reason name (see crl_reason_code()). */
struct db_cert {
	char serial[41];
	char client_id[33];
	char kind[8];
	char hardware_id[130];
	int64_t not_after;
	int64_t issued_at;
	int64_t revoked_at; /* 0 = live */
	char revoke_reason[32];
	int64_t first_used_at;
};
int db_cert_get(struct db *db, const char *serial, struct db_cert *c);
/* Revokes one certificate; 1 revoked now, 0 already revoked/unknown. */
int db_cert_revoke(struct db *db, const char *serial, const char *reason,
    int64_t now, char *err);
/* Revokes every live certificate of a client (except keep, may be NULL);
 * returns how many. */
int db_cert_revoke_client(struct db *db, const char *client_id,
    const char *keep, const char *reason, int64_t now, char *err);
/* Marks first use; 1 when this call was the first use. */
int db_cert_mark_used(struct db *db, const char *serial, int64_t now,
    char *err);
/* Revoked certificates not yet expired at now, for the CRL (malloc'ed). */
int db_cert_revoked_list(struct db *db, int64_t now,
    struct db_cert **out, size_t *n);
/* Certificates revoked at since or later that expired at expired_before
 * or later, or not at all (malloc'ed). */
int db_cert_revoked_since(struct db *db, int64_t since,
    int64_t expired_before, struct db_cert **out, size_t *n);
/* A page of certificates in the order they were issued, after the row
 * (after_at, after_serial), after_at -1 for the first page; client may be
 * NULL, expiring_before 0 for all. */
json_t *db_cert_page(struct db *db, const char *client_id,
    int64_t expiring_before, int64_t after_at, const char *after_serial,
    int limit);
/* Live client certificates expiring before t (for expiry warnings). */
json_t *db_cert_expiring(struct db *db, int64_t before);

/* Blocking. */
int db_client_block(struct db *db, const char *id, const char *reason,
    const char *by, int64_t now, char *err);
int db_client_unblock(struct db *db, const char *id, const char *by,
    int64_t now, char *err);
/* The client holding hardware_id in one of the given statuses (a
 * comma-free list like "blocked" or "approved,unblocked"), newest first. */
int db_client_by_hwid(struct db *db, const char *hardware_id,
    const char *statuses, struct db_client *c);
/* Carries a re-enrollment over to the client it replaces: the request moves
 * to the old client and the temporary client row is removed. */
int db_client_merge(struct db *db, const char *from, const char *into,
    const char *hostname, const char *hardware_id, char *err);
int db_client_replaces(struct db *db, const char *id, char *out,
    size_t size);
int db_client_set_replaces(struct db *db, const char *id,
    const char *replaces, char *err);

/* Notification queue of a client's long-poll channel. */
int db_notify_add(struct db *db, const char *client_id, const char *kind,
    int64_t now, char *err);
/* Queues one notification for every member of a collection, in one
 * statement; spread: the seconds its devices spread their action over. */
int db_notify_add_collection(struct db *db, const char *collection,
    const char *kind, int64_t now, int64_t spread, char *err);
/* One queued notification. */
struct db_notice {
	char client_id[33];
	char kind[24];
	int64_t id, created_at, spread;
};
/* The undelivered notifications of up to a few hundred clients, in one
 * read, sorted by client, then id: *out (free it) holds *count of them.
 * Clients ids too long for a notice have none. -1 on a database error. */
int db_notify_pending(struct db *db, const char *const *ids, size_t n,
    struct db_notice **out, size_t *count);
/* Drops every pending notification of a client (a new identity starts
 * with an empty queue). */
int db_notify_clear(struct db *db, const char *client_id, int64_t now,
    char *err);
/* Marks the client's pending notifications of one kind (NULL: of every
 * kind) delivered: done, as when a policy built for it answers its "fetch
 * policy now". */
int db_notify_done(struct db *db, const char *client_id, const char *kind,
    int64_t now, char *err);
/* Marks ids <= after delivered, then returns the rest still pending. */
json_t *db_notify_take(struct db *db, const char *client_id, int64_t after,
    int64_t now);

/* Inventory. */
int db_inventory_seq(struct db *db, const char *client_id, int64_t *seq);
int db_inventory_set_seq(struct db *db, const char *client_id, int64_t seq,
    int full, int64_t now, char *err);
/* The rows of one class of a client: a JSON object key -> data text. */
json_t *db_inventory_class(struct db *db, const char *client_id,
    const char *cls);
int db_inventory_put(struct db *db, const char *client_id, const char *cls,
    const char *key, const char *data, int64_t now, char *err);
int db_inventory_del(struct db *db, const char *client_id, const char *cls,
    const char *key, char *err);
int db_inventory_history_add(struct db *db, const char *client_id,
    int64_t now, int64_t seq, const char *cls, const char *key,
    const char *op, const char *data, char *err);
/* {class: object (singleton) or [objects] (list)}; cls may be NULL. */
json_t *db_inventory_show(struct db *db, const char *client_id,
    const char *cls);
json_t *db_inventory_history(struct db *db, const char *client_id, int limit);

/* Status messages. 1 stored, 0 a resend of one already stored. */
int db_status_insert(struct db *db, const char *client_id, int64_t uid,
    const char *component, int64_t message_id, const char *severity,
    int64_t at, int64_t received_at, const char *strings, char *err);
json_t *db_status_list(struct db *db, const char *client_id, int64_t since,
    const char *severity, int limit);
json_t *db_status_rules(struct db *db);
int db_status_rule_add(struct db *db, int64_t message_id,
    const char *component, const char *action, const char *by, int64_t now,
    int64_t *id, char *err);
/* 1 deleted, 0 no such rule. */
int db_status_rule_delete(struct db *db, int64_t id, char *err);
int db_client_mark(struct db *db, const char *client_id, const char *text,
    char *err);

/* Client health: the latest report per client, and the history. 1 stored,
 * 0 a resend. */
int db_health_put(struct db *db, const char *client_id, int64_t uid,
    int64_t at, const char *state, const char *checks, char *err);
json_t *db_health_get(struct db *db, const char *client_id);

/* Site maintenance tasks (retention). */
struct db_task {
	char name[32];
	int64_t retention;
	int enabled;
	int64_t next_run;
};
/* Inserts the default tasks that are missing. */
int db_tasks_ensure(struct db *db, char *err);
json_t *db_tasks_list(struct db *db);
int db_task_get(struct db *db, const char *name, struct db_task *t);
int db_task_set(struct db *db, const char *name, int64_t retention,
    int enabled, char *err);
int db_task_record(struct db *db, const char *name, int64_t now,
    int64_t deleted, int64_t next_run, char *err);
/* Deletes at most limit rows older than cutoff for a task; returns how
 * many (0 when done). One short statement: callers loop, committing each
 * batch, so the management point is never blocked for long. */
int64_t db_retention_batch(struct db *db, const char *name, int64_t cutoff,
    int limit, char *err);

/* Collections and tags. The generation changes with every change to a
 * collection or its rules. */
int64_t db_collections_gen(struct db *db);
int db_collection_add(struct db *db, const char *name, const char *limit,
    int site_only, const char *by, int64_t now, char *err);
int db_collection_rule_add(struct db *db, const char *name, const char *kind,
    const char *value, char *err);
/* 1 deleted, 0 unknown (built-in collections are not deleted). */
int db_collection_delete(struct db *db, const char *name, char *err);
/* 1 when a collection of that name exists. */
int db_collection_exists(struct db *db, const char *name);
/* [{name, limit_name, site_only, builtin, created_by, created_at,
 * evaluated_at, members, rules: [{kind, value}]}] in name order. */
json_t *db_collections(struct db *db);
/* Names of collections that use name (limit, include or exclude). */
json_t *db_collection_users(struct db *db, const char *name);
/* A page of a collection's members ({id, hostname, status}) by host name,
 * after the row (after_host, after_id): "" and "" for the first page. */
json_t *db_collection_members(struct db *db, const char *name,
    const char *after_host, const char *after_id, int limit);
/* Only the ids of a collection's members, one column (free with
 * db_result_free); NULL on a database error. */
struct db_result *db_collection_member_ids(struct db *db, const char *name);
int db_collection_set_member(struct db *db, const char *name,
    const char *client_id, int member, char *err);
int db_collection_evaluated(struct db *db, const char *name, int64_t now,
    char *err);
/* Approved client ids, in order. */
json_t *db_client_ids(struct db *db, const char *status);
int db_tag_set(struct db *db, const char *client_id, const char *key,
    const char *value, char *err);
/* {key: value} */
json_t *db_tags(struct db *db, const char *client_id);

/* Custom client settings. */
int db_setting_custom_add(struct db *db, const char *collection,
    int64_t priority, const char *key, const char *value, const char *by,
    int64_t now, char *err);
/* [{id, collection, priority, key, value}] of every collection, or of the
 * collections client_id belongs to (client_id not NULL). */
json_t *db_settings_custom(struct db *db, const char *client_id);

/* Signed policy cache. */
struct db_policy {
	int64_t serial;
	char etag[80];
	char *body; /* malloc'ed */
	int64_t expires_at;
	int dirty;
};
int db_policy_get(struct db *db, const char *client_id, struct db_policy *p);
int db_policy_put(struct db *db, const char *client_id, int64_t serial,
    const char *etag, const char *body, int64_t now, int64_t expires_at,
    char *err);
/* Marks one client's policy (or every one, client_id NULL) for rebuild. */
int db_policy_dirty(struct db *db, const char *client_id, char *err);
/* Marks the policies of a collection's members for rebuilding. */
int db_policy_dirty_collection(struct db *db, const char *collection,
    char *err);
/* The next policy serial: grows across the whole site, never reused. */
int db_policy_next_serial(struct db *db, int64_t *serial, char *err);
/* Names of the collections a client is a member of. */
json_t *db_client_collections(struct db *db, const char *client_id);

/* Records activity on a channel: "inventory", "status", "health",
 * "policy". */
int db_client_touch(struct db *db, const char *client_id, const char *channel,
    int64_t now, char *err);

/* Audit trail. */
int db_audit(struct db *db, const char *actor, const char *action,
    const char *target, const char *detail, int64_t now, char *err);
json_t *db_audit_list(struct db *db, int limit);


/* Content, deployments and what devices report about them, maintenance
 * windows (db_deploy.c). */
/* 1 stored, 0 already there. */
int db_content_add(struct db *db, const char *sha256, int64_t size,
    const char *name, const char *by, int64_t now, char *err);
/* The size, or -1 when unknown. */
int64_t db_content_size(struct db *db, const char *sha256);
json_t *db_content_list(struct db *db);
/* 1 when a deployment to one of the client's collections references it. */
int db_content_allowed(struct db *db, const char *sha256,
    const char *client_id);
struct db_deployment {
	const char *name, *type, *collection, *content, *command;
	const char *path, *mode, *owner, *run_as;
	int required, override_windows;
	int64_t deadline, max_runtime; /* deadline 0: none */
};
int db_deployment_add(struct db *db, const struct db_deployment *d,
    const char *by, int64_t now, int64_t *id, char *err);
/* 1 deleted, 0 no such deployment. */
int db_deployment_delete(struct db *db, int64_t id, char *err);
/* All deployments (id 0) or one, each with per-state counts among the
 * current members of its collection. */
json_t *db_deployments(struct db *db, int64_t id);
/* Each member of the collection with its last reported state. */
json_t *db_deployment_devices(struct db *db, int64_t id,
    const char *collection, const char *after_host, const char *after_id,
    int limit);
/* The deployments a client's policy carries. */
json_t *db_client_deployments(struct db *db, const char *client_id);
/* exit_code < 0: none. */
int db_deployment_state(struct db *db, int64_t id, const char *client_id,
    const char *state, int64_t exit_code, const char *output,
    const char *detail, int64_t at, char *err);
int db_window_add(struct db *db, const char *collection, const char *start,
    int64_t duration, const char *recur, const char *by, int64_t now,
    int64_t *id, char *err);
/* 1 deleted, 0 no such window. */
int db_window_delete(struct db *db, int64_t id, char *err);
/* All windows, or those of a client's collections. */
json_t *db_windows(struct db *db, const char *client_id);
/* [{client_id, window_id}] for every member of the collection and every
 * window of any of its collections (window_id null when none). */
json_t *db_member_windows(struct db *db, const char *collection);

#endif
