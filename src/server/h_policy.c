/* h_policy.c - GET /v1/policy: each client's signed policy document, built
 * and signed (by the signer) only when something it depends on changed or
 * half its validity passed, then served from the cache with an ETag (304
 * when the client has it). Also the "fetch policy now" notifications. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/policy.h"
#include "proto/settings.h"
#include "proto/wire.h"
#include "server.h"

#define POLICY_VALIDITY (7 * 86400)
#define POLICY_TOUCH_EVERY 60 /* seconds between activity records */

/* The client's effective settings; a policy that carries exec.policy
 * bypass is audited every time one is built (G12). */
static json_t *
effective_settings(struct db *db, const char *client_id)
{
	json_t *customs = db_settings_custom(db, client_id);
	json_t *eff = settings_resolve(customs, NULL);
	const char *ep = json_string_value(json_object_get(eff,
	    "exec.policy"));

	json_decref(customs);
	if (ep && strcmp(ep, "bypass") == 0) {
		log_warn("policy for %s carries exec.policy=bypass", client_id);
		db_audit(db, "site", "policy.bypass", client_id,
		    "exec.policy=bypass in a signed policy", now_unix(), NULL);
	}
	return eff;
}

/* The windows of the client's collections, as the agent reads them. */
static json_t *
policy_windows(struct db *db, const char *client_id)
{
	json_t *rows = db_windows(db, client_id), *w;
	size_t i;

	json_array_foreach(rows, i, w)
	{
		json_object_del(w, "created_by");
		json_object_del(w, "created_at");
	}
	return rows;
}

static int
policy_build(struct server *srv, struct db *db, const char *client_id,
    struct db_policy *out, char *err)
{
	unsigned char sig[PKI_ED25519_SIG];
	char sigtxt[100], *doc = NULL, *body = NULL;
	int64_t serial, now = now_unix();
	json_t *o;
	size_t dlen;
	int r = -1;

	json_t *rows, *names = json_array(), *row, *deps, *wins;
	size_t i;

	if (db_policy_next_serial(db, &serial, err) < 0) {
		json_decref(names);
		return -1;
	}
	rows = db_client_collections(db, client_id);
	json_array_foreach(rows, i, row)
		json_array_append(names, json_object_get(row, "name"));
	json_decref(rows);
	deps = db_client_deployments(db, client_id);
	wins = policy_windows(db, client_id);
	if (deps == NULL || wins == NULL) {
		json_decref(names);
		json_decref(deps);
		json_decref(wins);
		return err_set(err, "cannot read the client's deployments");
	}
	o = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "type",
	    POLICY_TYPE, "version", 1, "client_id", client_id, "serial",
	    (json_int_t)serial, "issued_at", (json_int_t)now, "expires_at",
	    (json_int_t)(now + POLICY_VALIDITY), "settings",
	    effective_settings(db, client_id), "collections", names,
	    "deployments", deps, "windows", wins);
	if (o == NULL)
		return err_set(err, "cannot build the policy");
	/* Canonical bytes: what is signed is exactly what is served. */
	doc = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (doc == NULL)
		return err_set(err, "cannot encode the policy");
	dlen = strlen(doc);
	if (signer_sign_bytes(&srv->signer, doc, dlen, sig, err) < 0)
		goto out;
	b64url_encode(sig, sizeof(sig), sigtxt);
	body = malloc(strlen(sigtxt) + 1 + dlen + 1);
	if (body == NULL) {
		err_set(err, "out of memory");
		goto out;
	}
	memcpy(body, sigtxt, strlen(sigtxt));
	body[strlen(sigtxt)] = '\n';
	memcpy(body + strlen(sigtxt) + 1, doc, dlen + 1);
	memset(out, 0, sizeof(*out));
	str_fmt(out->etag, sizeof(out->etag), "%lld-%.16s", (long long)serial,
	    sigtxt);
	out->serial = serial;
	out->expires_at = now + POLICY_VALIDITY;
	if (db_policy_put(db, client_id, serial, out->etag, body, now,
		out->expires_at, err) < 0)
		goto out;
	out->body = body;
	body = NULL;
	r = 0;
out:
	free(doc);
	free(body);
	return r;
}

/* Records the client's policy activity, at most once a minute per worker:
 * a fleet polling at rest costs no database write per request. */
static void
policy_touch(struct request *r, struct pentry *e, int64_t now)
{
	if (e != NULL && now - e->touched_at < POLICY_TOUCH_EVERY)
		return;
	if (db_client_touch(r->db, r->peer->id, "policy", now, NULL) == 0 &&
	    e != NULL)
		e->touched_at = now;
}

/* The stored policy, rebuilt when dirty or past half its validity, and the
 * client's activity recorded. A rebuild is one write transaction, taken
 * before anything is read: its serial, its reads, the signed row and the
 * activity commit together (one WAL sync, where three separate writes
 * made three), and a change marked dirty meanwhile either came before
 * its reads or marks the new row dirty after it. The client's pending
 * "fetch policy now" notifications are done with it: they came before
 * this build, which the lock orders after them, so the long-poll that
 * acknowledges them afterwards has nothing left to write. */
static int
policy_current(struct request *r, struct pentry *e, int64_t now,
    struct db_policy *p, char *err)
{
	if (db_policy_get(r->db, r->peer->id, p) == 0 && !p->dirty &&
	    p->expires_at - now > POLICY_VALIDITY / 2) {
		policy_touch(r, e, now);
		return 0;
	}
	free(p->body);
	p->body = NULL;
	if (db_begin(r->db, err) < 0)
		return -1;
	if (policy_build(r->srv, r->db, r->peer->id, p, err) < 0) {
		db_rollback(r->db);
		return -1;
	}
	policy_touch(r, e, now);
	db_notify_done(r->db, r->peer->id, "policy", now, NULL);
	if (db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		free(p->body);
		p->body = NULL;
		if (e != NULL)
			e->touched_at = 0;
		return -1;
	}
	return 0;
}

void
h_policy(struct request *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	const char *inm = evhttp_find_header(in, "If-None-Match");
	struct pentry *e = pcache_get(&r->w->pcache, r->peer->id);
	uint64_t epoch = db_policy_epoch();
	int64_t now = now_unix();
	struct db_policy p;
	char err[ERRMSG_MAX], etag[96];
	struct evbuffer *buf;

	/* The hot path: the ETag this worker knows is still current (no
	 * policy changed since it was read, and no rebuild is due). */
	if (e != NULL && e->epoch == epoch && e->etag[0] != '\0' &&
	    e->expires_at - now > POLICY_VALIDITY / 2 &&
	    ((inm != NULL && strcmp(inm, e->etag) == 0) || e->body != NULL)) {
		policy_touch(r, e, now);
		evhttp_add_header(out, "ETag", e->etag);
		evhttp_add_header(out, "Cache-Control", "no-store");
		if (inm != NULL && strcmp(inm, e->etag) == 0) {
			evhttp_send_reply(r->req, 304, "Not Modified", NULL);
			return;
		}
		evhttp_add_header(out, "Content-Type",
		    "application/vnd.steward.policy");
		buf = evbuffer_new();
		evbuffer_add(buf, e->body, e->blen);
		evhttp_send_reply(r->req, 200, "OK", buf);
		evbuffer_free(buf);
		return;
	}
	if (policy_current(r, e, now, &p, err) < 0) {
		reply_error(r, 500, "cannot build the policy: %s", err);
		return;
	}
	str_fmt(etag, sizeof(etag), "\"%s\"", p.etag);
	if (e != NULL) {
		/* The epoch read before the database: a change committed
		 * meanwhile makes the next request look again. */
		str_copy(e->etag, sizeof(e->etag), etag);
		e->expires_at = p.expires_at;
		e->epoch = epoch;
		pcache_set_body(&r->w->pcache, e, p.body, strlen(p.body));
	}
	evhttp_add_header(out, "ETag", etag);
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		free(p.body);
		evhttp_send_reply(r->req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type",
	    "application/vnd.steward.policy");
	buf = evbuffer_new();
	evbuffer_add(buf, p.body, strlen(p.body));
	free(p.body);
	evhttp_send_reply(r->req, 200, "OK", buf);
	evbuffer_free(buf);
}

static int
notify_kind_valid(const char *k)
{
	return k != NULL && (strcmp(k, "policy") == 0 ||
				strcmp(k, "renew") == 0);
}

void
h_admin_client_notify(struct request *r)
{
	json_t *o = body_json(r);
	const char *kind;
	struct db_client c;
	char err[ERRMSG_MAX];

	if (o == NULL)
		return;
	kind = json_string_value(json_object_get(o, "kind"));
	if (!notify_kind_valid(kind)) {
		reply_error(r, 400, "'kind' must be policy or renew");
		goto out;
	}
	if (db_client_get(r->db, r->param, &c) < 0) {
		reply_error(r, 404, "no client %s", r->param);
		goto out;
	}
	if (db_begin(r->db, err) < 0 ||
	    notify_client(r->srv, r->db, c.id, kind, err) < 0 ||
	    admin_audit(r, "client.notify", c.id, kind) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	server_poke(r->srv, POKE_NOTIFY, c.id);
	reply_json(r, 200, json_pack("{s:s,s:s}", "client_id", c.id, "sent",
			       kind));
out:
	json_decref(o);
}

/* The seconds over which n devices told at once should act, at rate a
 * second: none below one second's worth, at most NOTIFY_SPREAD_MAX. */
static int64_t
notify_spread(int64_t n, int64_t rate)
{
	if (rate <= 0 || n <= rate)
		return 0;
	return n / rate > NOTIFY_SPREAD_MAX ? NOTIFY_SPREAD_MAX : n / rate;
}

void
h_admin_collection_notify(struct request *r)
{
	json_t *o = body_json(r);
	struct db_result *members = NULL;
	const char *kind, *name;
	char err[ERRMSG_MAX];
	int64_t spread = 0;

	if (o == NULL)
		return;
	kind = json_string_value(json_object_get(o, "kind"));
	name = json_string_value(json_object_get(o, "name"));
	if (!notify_kind_valid(kind) || name == NULL) {
		reply_error(r, 400, "give 'name' and 'kind' (policy or renew)");
		goto out;
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		goto out;
	}
	/* The members read inside the transaction that queues for them, in
	 * one statement however many they are. */
	members = db_collection_member_ids(r->db, name);
	if (members != NULL)
		spread = notify_spread(members->nrows,
		    r->srv->cfg.notify_spread_rate);
	if (members == NULL ||
	    db_notify_add_collection(r->db, name, kind, now_unix(), spread,
		err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "cannot queue the notifications: %s",
		    members ? err : "cannot read the collection");
		goto out;
	}
	if (admin_audit(r, "collection.notify", name, kind) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	server_poke_many(r->srv, POKE_NOTIFY,
	    (const char *const *)members->cells, (size_t)members->nrows);
	reply_json(r, 200, json_pack("{s:s,s:s,s:I,s:I}", "name", name,
			       "sent", kind, "clients",
			       (json_int_t)members->nrows, "spread",
			       (json_int_t)spread));
out:
	db_result_free(members);
	json_decref(o);
}

void
h_admin_settings_show(struct request *r)
{
	char client[40];
	json_t *sources, *eff, *customs;

	if (query_get(r, "client", client, sizeof(client)) == 0) {
		struct db_client c;

		if (!pki_client_id_valid(client) ||
		    db_client_get(r->db, client, &c) < 0) {
			reply_error(r, 404, "no client %.40s", client);
			return;
		}
		customs = db_settings_custom(r->db, client);
		eff = settings_resolve(customs, &sources);
		json_decref(customs);
		reply_json(r, 200, json_pack("{s:s,s:o,s:o}", "client_id",
				       client, "settings", eff, "sources",
				       sources));
		return;
	}
	reply_json(r, 200, json_pack("{s:o,s:o}", "defaults",
			       settings_defaults(), "custom",
			       db_settings_custom(r->db, NULL)));
}

void
h_admin_settings_custom_add(struct request *r)
{
	json_t *o = body_json(r), *set, *v;
	const char *coll, *key;
	json_int_t prio;
	char err[ERRMSG_MAX], detail[300];

	if (o == NULL)
		return;
	coll = json_string_value(json_object_get(o, "collection"));
	set = json_object_get(o, "set");
	prio = json_integer_value(json_object_get(o, "priority"));
	if (coll == NULL || !json_is_integer(json_object_get(o, "priority")) ||
	    prio < 1 || prio > 1000000 || !json_is_object(set) ||
	    json_object_size(set) == 0 || json_object_size(set) > 32) {
		reply_error(r, 400, "give 'collection', 'priority' (1 is "
				    "highest) and 'set' {key: value}");
		goto out;
	}
	if (!db_collection_exists(r->db, coll)) {
		reply_error(r, 400, "no collection '%.64s'", coll);
		goto out;
	}
	json_object_foreach(set, key, v)
	{
		json_t *pv;

		if (!json_is_string(v)) {
			reply_error(r, 400, "%.64s: the value must be text",
			    key);
			goto out;
		}
		pv = settings_value(key, json_string_value(v), err);
		if (pv == NULL) {
			reply_error(r, 400, "%s", err);
			goto out;
		}
		json_decref(pv);
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		goto out;
	}
	json_object_foreach(set, key, v)
	{
		str_fmt(detail, sizeof(detail), "collection %s priority %lld: "
						"%s=%s",
		    coll, (long long)prio, key, json_string_value(v));
		if (db_setting_custom_add(r->db, coll, prio, key,
			json_string_value(v), r->peer->id, now_unix(),
			err) < 0 ||
		    admin_audit(r, "settings.custom.add", coll, detail) < 0) {
			db_rollback(r->db);
			reply_error(r, 500, "%s", err);
			goto out;
		}
	}
	/* Every member's policy carries its settings: rebuild them. */
	if (db_policy_dirty(r->db, NULL, err) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	h_admin_settings_show(r);
out:
	json_decref(o);
}
