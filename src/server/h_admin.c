/* h_admin.c - the admin API under /v1/admin: tokens, clients, approval,
 * site settings and the audit trail. Every change is audited with the
 * administrator named by the credential. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "crypto/token.h"
#include "init.h"
#include "lifecycle.h"
#include "server.h"

#define TOKEN_TTL_MAX (365 * 86400)
#define TOKEN_USES_MAX 1000000

int
admin_audit(struct request *r, const char *action, const char *target,
    const char *detail)
{
	char err[ERRMSG_MAX];

	if (db_audit(r->db, r->peer->id, action, target, detail, now_unix(),
		err) < 0) {
		log_err("audit: %s", err);
		return -1;
	}
	log_info("admin %s: %s %s%s%s", r->peer->id, action, target,
	    detail ? " " : "", detail ? detail : "");
	return 0;
}

/* Optional integer member in [min, max]; 1 present, 0 absent, -1 bad. */
static int
opt_int(struct request *r, json_t *o, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		reply_error(r, 400, "'%s' must be an integer from %lld to %lld",
		    key, (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

void
h_admin_token_create(struct request *r)
{
	json_t *o = body_json(r), *tr;
	int64_t ttl = 3600, uses = 1, now = now_unix();
	struct token t;
	char text[TOKEN_MAX], hash[PKI_FPR_HEX], err[ERRMSG_MAX], detail[128];
	int trusted = 0;

	if (o == NULL)
		return;
	if (opt_int(r, o, "ttl", 60, TOKEN_TTL_MAX, &ttl) < 0 ||
	    opt_int(r, o, "uses", 1, TOKEN_USES_MAX, &uses) < 0) {
		json_decref(o);
		return;
	}
	tr = json_object_get(o, "trusted");
	if (tr != NULL && !json_is_boolean(tr)) {
		json_decref(o);
		reply_error(r, 400, "'trusted' must be true or false");
		return;
	}
	trusted = json_is_true(tr);
	json_decref(o);

	memset(&t, 0, sizeof(t));
	str_copy(t.url, sizeof(t.url), r->srv->url);
	str_copy(t.ca_fpr, sizeof(t.ca_fpr), r->srv->ca_fpr);
	memcpy(t.sign_pub, r->srv->sign_pub, sizeof(t.sign_pub));
	rand_id(t.id);
	rand_bytes(t.secret, sizeof(t.secret));
	token_secret_hash(t.secret, sizeof(t.secret), hash);
	if (token_encode(&t, text, sizeof(text)) < 0) {
		OPENSSL_cleanse(&t, sizeof(t));
		reply_error(r, 500, "cannot encode the token");
		return;
	}
	OPENSSL_cleanse(t.secret, sizeof(t.secret));
	str_fmt(detail, sizeof(detail), "ttl=%llds uses=%lld trusted=%s",
	    (long long)ttl, (long long)uses, trusted ? "yes" : "no");
	if (db_begin(r->db, err) < 0 ||
	    db_token_insert(r->db, t.id, hash, r->peer->id, now, now + ttl,
		uses, trusted, err) < 0 ||
	    admin_audit(r, "token.create", t.id, detail) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		OPENSSL_cleanse(text, sizeof(text));
		reply_error(r, 500, "cannot store the token: %s", err);
		return;
	}
	reply_json(r, 201,
	    json_pack("{s:s,s:s,s:I,s:I,s:b,s:s}", "id", t.id, "token", text,
		"expires_at", (json_int_t)(now + ttl), "uses",
		(json_int_t)uses, "trusted", trusted, "url", r->srv->url));
	OPENSSL_cleanse(text, sizeof(text));
}

void
h_admin_token_list(struct request *r)
{
	json_t *list = db_token_list(r->db);

	if (list == NULL) {
		reply_error(r, 500, "cannot list tokens");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "tokens", list));
}

void
h_admin_token_revoke(struct request *r)
{
	char err[ERRMSG_MAX];

	if (!pki_client_id_valid(r->param)) {
		reply_error(r, 400, "'%s' is not a token id", r->param);
		return;
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		return;
	}
	if (db_token_revoke(r->db, r->param, now_unix(), err) < 0) {
		db_rollback(r->db);
		reply_error(r, 404, "%s", err);
		return;
	}
	if (admin_audit(r, "token.revoke", r->param, NULL) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:s,s:s}", "id", r->param, "status", "revoked"));
}

void
h_admin_clients_list(struct request *r)
{
	char status[16];
	int have = query_get(r, "status", status, sizeof(status));
	struct page pg;
	json_t *list;

	if (have == -2 || (have == 0 && strcmp(status, "pending") &&
			      strcmp(status, "approved") &&
			      strcmp(status, "denied") &&
			      strcmp(status, "blocked"))) {
		reply_error(r, 400,
		    "status must be pending, approved, denied or blocked");
		return;
	}
	if (page_args(r, 1, &pg) < 0)
		return;
	list = db_client_page(r->db, have == 0 ? status : NULL, pg.after_at,
	    pg.after_key, pg.limit);
	if (list == NULL) {
		reply_error(r, 500, "cannot list clients");
		return;
	}
	{
		json_t *c;
		size_t i;

		json_array_foreach(list, i, c)
			client_activity(c, now_unix(),
			    r->srv->cfg.inactive_after);
	}
	page_reply(r, &pg, NULL, "clients", list, "created_at", "id");
}

void
h_admin_client_show(struct request *r)
{
	json_t *c = db_client_show(r->db, r->param), *h;

	if (c == NULL) {
		reply_error(r, 404, "no client %s", r->param);
		return;
	}
	client_activity(c, now_unix(), r->srv->cfg.inactive_after);
	h = db_health_get(r->db, r->param);
	if (h != NULL)
		json_object_set_new(c, "health_checks", h);
	reply_json(r, 200, c);
}

static int
client_pending(struct request *r, struct db_client *c)
{
	if (db_client_get(r->db, r->param, c) < 0) {
		reply_error(r, 404, "no client %s", r->param);
		return -1;
	}
	if (strcmp(c->status, "pending") != 0) {
		reply_error(r, 409, "client %s is %s, not pending", c->id,
		    c->status);
		return -1;
	}
	return 0;
}

void
h_admin_client_approve(struct request *r)
{
	struct db_client c;
	char err[ERRMSG_MAX], serial[PKI_SERIAL_HEX], id[33];
	char *cert = NULL;
	int revoked;

	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		return;
	}
	if (client_pending(r, &c) < 0) {
		db_rollback(r->db);
		return;
	}
	if (approve_request(r->srv, r->db, c.id, NULL, "manual", r->peer->id,
		&cert, serial, id, &revoked, err) < 0 ||
	    admin_audit(r, "client.approve", id, c.hostname) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		free(cert);
		reply_error(r, 500, "cannot approve %s: %s", c.id, err);
		return;
	}
	free(cert);
	if (revoked > 0 && server_revocations_added(r->srv, r->db, err) < 0)
		log_err("%s", err);
	if (collections_evaluate_device(r->db, id, err) < 0)
		log_err("collections of %s: %s", id, err);
	reply_json(r, 200,
	    json_pack("{s:s,s:s,s:s}", "client_id", id, "status", "approved",
		"certificate_serial", serial));
}

void
h_admin_client_deny(struct request *r)
{
	struct db_client c;
	char err[ERRMSG_MAX];

	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		return;
	}
	if (client_pending(r, &c) < 0) {
		db_rollback(r->db);
		return;
	}
	if (db_client_decide(r->db, c.id, "denied", NULL, r->peer->id, NULL,
		now_unix(), err) < 0 ||
	    admin_audit(r, "client.deny", c.id, c.hostname) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "cannot deny %s: %s", c.id, err);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:s,s:s}", "client_id", c.id, "status", "denied"));
}

void
h_admin_site_show(struct request *r)
{
	char mode[32] = "?", domains[4096] = "[]";
	json_t *o, *d;

	db_setting_get(r->db, "approval", mode, sizeof(mode));
	db_setting_get(r->db, "trusted_domains", domains, sizeof(domains));
	d = json_loads(domains, 0, NULL);
	o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:b,s:I,s:i,s:s}", "name",
	    r->srv->cfg.name, "url", r->srv->url, "approval", mode,
	    "trusted_domains", d ? d : json_array(), "ca_fingerprint",
	    r->srv->ca_fpr, "signing_key", r->srv->sign_pub_b64,
	    "enterprise_ca", r->srv->cfg.enterprise_ca,
	    "client_cert_lifetime", (json_int_t)r->srv->cfg.client_cert_lifetime,
	    "schema_version", db_schema_version(r->db), "admin", r->peer->id);
	if (strcmp(mode, "all") == 0)
		json_object_set_new(o, "warning",
		    json_string("approval mode 'all' approves every device "
				"that holds a token; this is unsafe outside a "
				"lab"));
	reply_json(r, 200, o);
}

void
h_admin_site_approval(struct request *r)
{
	json_t *o = body_json(r), *m, *doms, *v;
	char err[ERRMSG_MAX], detail[512];
	char *dtext = NULL;
	const char *mode;
	size_t i;

	if (o == NULL)
		return;
	m = json_object_get(o, "mode");
	doms = json_object_get(o, "trusted_domains");
	mode = json_string_value(m);
	if (mode == NULL || !approval_mode_valid(mode)) {
		json_decref(o);
		reply_error(r, 400, "'mode' must be manual, trusted or all");
		return;
	}
	if (doms != NULL) {
		if (!json_is_array(doms) || json_array_size(doms) > 64) {
			json_decref(o);
			reply_error(r, 400, "'trusted_domains' must be a list "
					    "of at most 64 DNS suffixes");
			return;
		}
		json_array_foreach(doms, i, v)
		{
			if (!json_is_string(v) ||
			    !domain_valid(json_string_value(v))) {
				json_decref(o);
				reply_error(r, 400,
				    "trusted_domains[%zu] is not a DNS suffix "
				    "like corp.example.com",
				    i);
				return;
			}
		}
		dtext = json_dumps(doms, JSON_COMPACT);
	}
	str_fmt(detail, sizeof(detail), "mode=%s%s%.400s", mode,
	    dtext ? " domains=" : "", dtext ? dtext : "");
	if (db_begin(r->db, err) < 0 ||
	    db_setting_set(r->db, "approval", mode, err) < 0 ||
	    (dtext && db_setting_set(r->db, "trusted_domains", dtext, err) <
		    0) ||
	    admin_audit(r, "site.set-approval", r->srv->cfg.name, detail) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		json_decref(o);
		free(dtext);
		reply_error(r, 500, "%s", err);
		return;
	}
	if (strcmp(mode, "all") == 0)
		log_warn("approval mode set to 'all' by %s: every device "
			 "holding a token is approved; this is unsafe",
		    r->peer->id);
	free(dtext);
	json_decref(o);
	h_admin_site_show(r);
}

void
h_admin_audit(struct request *r)
{
	char lim[16];
	int64_t limit = 100;
	json_t *list;

	if (query_get(r, "limit", lim, sizeof(lim)) == 0 &&
	    parse_int64(lim, 1, 10000, &limit) < 0) {
		reply_error(r, 400, "limit must be 1 to 10000");
		return;
	}
	list = db_audit_list(r->db, (int)limit);
	if (list == NULL) {
		reply_error(r, 500, "cannot read the audit trail");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "audit", list));
}
