/* h_lifecycle.c - endpoints of the client trust lifecycle: POST /v1/renew
 * (client), and under /v1/admin: clients/{id}/block, /unblock, /renew,
 * certs, certs/revoke. */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "common/log.h"
#include "common/util.h"
#include "lifecycle.h"
#include "proto/discovery.h"
#include "server.h"

#define REASON_MAX 200
#define CLONED_REASON "identity used from two devices"

/* Text of an optional "reason" member: printable, bounded. */
static int
body_reason(struct request *r, json_t *o, char *out, size_t size)
{
	json_t *v = json_object_get(o, "reason");
	const char *s;
	size_t i;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	s = json_string_value(v);
	if (s == NULL || json_string_length(v) >= size) {
		reply_error(r, 400, "'reason' must be text of at most %zu "
				    "characters",
		    size - 1);
		return -1;
	}
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20) {
			reply_error(r, 400, "'reason' holds a control "
					    "character");
			return -1;
		}
	str_copy(out, size, s);
	return 0;
}

int
client_quarantine(struct server *srv, struct db *db, const char *client_id,
    const char *cert_hwid, const char *seen_hwid, const char *what)
{
	char detail[512], err[ERRMSG_MAX];

	str_fmt(detail, sizeof(detail),
	    "%s: certificate issued to hardware id %s was presented by "
	    "hardware id %s (%s)",
	    CLONED_REASON, cert_hwid, seen_hwid, what);
	if (client_block(srv, db, client_id, CLONED_REASON, "site", detail,
		err) < 0) {
		log_err("cannot quarantine %s: %s", client_id, err);
		return -1;
	}
	return 0;
}

void
h_admin_client_block(struct request *r)
{
	json_t *o = r->body_len ? body_json(r) : json_object();
	char reason[REASON_MAX], err[ERRMSG_MAX];
	struct db_client c;

	if (o == NULL)
		return;
	if (body_reason(r, o, reason, sizeof(reason)) < 0) {
		json_decref(o);
		return;
	}
	json_decref(o);
	if (db_client_get(r->db, r->param, &c) < 0) {
		reply_error(r, 404, "no client %s", r->param);
		return;
	}
	if (strcmp(c.status, "blocked") == 0) {
		reply_error(r, 409, "client %s is already blocked", c.id);
		return;
	}
	if (client_block(r->srv, r->db, c.id,
		reason[0] ? reason : "blocked by an administrator",
		r->peer->id, NULL, err) < 0) {
		reply_error(r, 500, "cannot block %s: %s", c.id, err);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:s,s:s,s:s}", "client_id", c.id, "status", "blocked",
		"reason", reason[0] ? reason : "blocked by an administrator"));
}

void
h_admin_client_unblock(struct request *r)
{
	char err[ERRMSG_MAX];

	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		return;
	}
	if (db_client_unblock(r->db, r->param, r->peer->id, now_unix(), err) <
	    0) {
		db_rollback(r->db);
		reply_error(r, 409, "%s", err);
		return;
	}
	if (admin_audit(r, "client.unblock", r->param, NULL) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:s,s:s,s:s}", "client_id", r->param, "status",
		"unblocked", "next",
		"the device must enroll again; its old certificate stays "
		"revoked"));
}

void
h_admin_client_renew(struct request *r)
{
	struct db_client c;
	char err[ERRMSG_MAX];

	if (db_client_get(r->db, r->param, &c) < 0) {
		reply_error(r, 404, "no client %s", r->param);
		return;
	}
	if (strcmp(c.status, "approved") != 0) {
		reply_error(r, 409, "client %s is %s; only approved clients "
				    "renew",
		    c.id, c.status);
		return;
	}
	if (db_begin(r->db, err) < 0 ||
	    notify_client(r->srv, r->db, c.id, "renew", err) < 0 ||
	    admin_audit(r, "client.renew", c.id, NULL) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	server_poke(r->srv, POKE_NOTIFY, c.id);
	reply_json(r, 200,
	    json_pack("{s:s,s:s}", "client_id", c.id, "sent", "renew"));
}

void
h_admin_certs_list(struct request *r)
{
	char client[40], within[24];
	int64_t secs = 0, before = 0;
	int have_client = query_get(r, "client", client, sizeof(client)), q;
	struct page pg;
	json_t *list;

	if (have_client == -2 ||
	    (have_client == 0 && !pki_client_id_valid(client))) {
		reply_error(r, 400, "client must be a client id");
		return;
	}
	if ((q = query_get(r, "expiring_within", within, sizeof(within))) !=
	    -1) {
		if (q == -2 || parse_duration(within, &secs) < 0 || secs <= 0) {
			reply_error(r, 400, "expiring_within must be a "
					    "duration like 30d");
			return;
		}
		before = now_unix() + secs;
	}
	if (page_args(r, 1, &pg) < 0)
		return;
	list = db_cert_page(r->db, have_client == 0 ? client : NULL, before,
	    pg.after_at, pg.after_key, pg.limit);
	if (list == NULL) {
		reply_error(r, 500, "cannot list certificates");
		return;
	}
	page_reply(r, &pg, NULL, "certs", list, "issued_at", "serial");
}

void
h_admin_certs_revoke(struct request *r)
{
	json_t *o = body_json(r);
	const char *serial, *client, *reason;
	char err[ERRMSG_MAX], detail[128], target[64];
	struct db_cert cert;
	int n;

	if (o == NULL)
		return;
	serial = json_string_value(json_object_get(o, "serial"));
	client = json_string_value(json_object_get(o, "client"));
	reason = json_string_value(json_object_get(o, "reason"));
	if (reason == NULL)
		reason = "unspecified";
	if ((serial == NULL) == (client == NULL)) {
		reply_error(r, 400, "give exactly one of 'serial' and 'client'");
		goto out;
	}
	if (crl_reason_code(reason) < 0 ||
	    strcmp(reason, "privilegeWithdrawn") == 0) {
		reply_error(r, 400,
		    "'reason' must be unspecified, keyCompromise, "
		    "affiliationChanged, superseded or cessationOfOperation "
		    "(block a client to withdraw its privileges)");
		goto out;
	}
	if (serial != NULL) {
		if (strlen(serial) >= PKI_SERIAL_HEX ||
		    db_cert_get(r->db, serial, &cert) < 0) {
			reply_error(r, 404, "no certificate with serial %.40s",
			    serial);
			goto out;
		}
		if (strcmp(cert.kind, "admin") == 0) {
			reply_error(r, 400, "certificate %s is an admin "
					    "credential; it is not revoked "
					    "here",
			    serial);
			goto out;
		}
		if (strcmp(cert.kind, "server") == 0)
			log_warn("revoking the management point's own TLS "
				 "certificate %s: agents will refuse this "
				 "server until it has a new one",
			    serial);
		str_copy(target, sizeof(target), cert.client_id);
	} else {
		if (!pki_client_id_valid(client)) {
			reply_error(r, 400, "'client' must be a client id");
			goto out;
		}
		str_copy(target, sizeof(target), client);
	}
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		goto out;
	}
	n = serial ? db_cert_revoke(r->db, serial, reason, now_unix(), err)
		   : db_cert_revoke_client(r->db, client, NULL, reason,
			 now_unix(), err);
	str_fmt(detail, sizeof(detail), "%s%s reason=%s",
	    serial ? "serial=" : "all certificates", serial ? serial : "",
	    reason);
	if (n < 0 || admin_audit(r, "cert.revoke", target, detail) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	if (n == 0) {
		reply_error(r, 409, "nothing to revoke: %s", serial
			? "that certificate is already revoked"
			: "the client has no live certificate");
		goto out;
	}
	if (server_revocations_changed(r->srv, r->db, err) < 0)
		log_err("after revocation: %s", err);
	/* Open connections that presented a revoked certificate end now. */
	server_poke(r->srv, POKE_CLOSE, target);
	reply_json(r, 200,
	    json_pack("{s:s,s:i,s:s}", "client_id", target, "revoked", n,
		"reason", reason));
out:
	json_decref(o);
}

/* POST /v1/renew: a new certificate for a new key, authenticated by the
 * current, still-valid certificate. No approval and no token: the device
 * already is this client. */
void
h_renew(struct request *r)
{
	json_t *o = body_json(r);
	const char *csr, *hwid;
	struct db_cert cur;
	char err[ERRMSG_MAX], serial[PKI_SERIAL_HEX];
	char *pem = NULL;
	EVP_PKEY *pub;

	if (o == NULL)
		return;
	csr = json_string_value(json_object_get(o, "csr"));
	hwid = json_string_value(json_object_get(o, "hardware_id"));
	if (csr == NULL || hwid == NULL || !discovery_hwid_valid(hwid)) {
		reply_error(r, 400,
		    "renewal needs 'csr' and a valid 'hardware_id'");
		goto out;
	}
	if (db_cert_get(r->db, r->peer->serial, &cur) < 0) {
		reply_error(r, 403, "unknown certificate");
		goto out;
	}
	if (cur.hardware_id[0] && strcmp(cur.hardware_id, hwid) != 0) {
		client_quarantine(r->srv, r->db, r->peer->id, cur.hardware_id,
		    hwid, "renewal");
		reply_error(r, 403, "client %s is blocked: %s", r->peer->id,
		    CLONED_REASON);
		goto out;
	}
	pub = pki_csr_parse(csr, strlen(csr), err);
	if (pub == NULL) {
		reply_error(r, 400, "%s", err);
		goto out;
	}
	EVP_PKEY_free(pub);
	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "%s", err);
		goto out;
	}
	if (issue_client_cert(r->srv, r->db, r->peer->id, hwid, csr, &pem,
		serial, err) < 0 ||
	    db_audit(r->db, r->peer->id, "cert.renew", r->peer->id, serial,
		now_unix(), err) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "cannot renew: %s", err);
		goto out;
	}
	log_info("client %s renewed: new certificate %s (the old one %s is "
		 "revoked once the new one is used)",
	    r->peer->id, serial, r->peer->serial);
	reply_json(r, 200,
	    json_pack("{s:s,s:s,s:s,s:s}", "status", "issued", "client_id",
		r->peer->id, "certificate", pem, "serial", serial));
out:
	free(pem);
	json_decref(o);
}
