/* h_enroll.c - POST /v1/enroll and GET /v1/enroll/{request}: a device with a
 * token submits its CSR; the approval mode decides; a pending device polls. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/discovery.h"
#include "lifecycle.h"
#include "server.h"

#define POLL_HEADER "X-Steward-Poll-Secret"

int
issue_client_cert(struct server *srv, struct db *db, const char *client_id,
    const char *hardware_id, const char *csr, char **cert_pem,
    char *serial_out, char *err)
{
	char fpr[PKI_FPR_HEX];
	X509 *cert;

	if (signer_sign_csr(&srv->signer, client_id, csr, cert_pem, err) < 0)
		return -1;
	cert = pki_cert_from_pem(*cert_pem, strlen(*cert_pem), err);
	if (cert == NULL || pki_cert_serial(cert, serial_out) < 0 ||
	    pki_cert_fingerprint(cert, fpr) < 0 ||
	    db_cert_insert(db, serial_out, client_id, "client", fpr,
		hardware_id, pki_cert_not_after(cert), now_unix(), err) < 0) {
		X509_free(cert);
		free(*cert_pem);
		*cert_pem = NULL;
		return -1;
	}
	X509_free(cert);
	return 0;
}

static int
domain_trusted(struct db *db, const char *dns)
{
	char text[4096];
	json_t *arr, *v;
	size_t i, dl = strlen(dns);
	int ok = 0;

	if (db_setting_get(db, "trusted_domains", text, sizeof(text)) < 0)
		return 0;
	arr = json_loads(text, 0, NULL);
	json_array_foreach(arr, i, v)
	{
		const char *d = json_string_value(v);
		size_t n = d ? strlen(d) : 0;

		if (n == 0 || n > dl)
			continue;
		if (strcasecmp(dns + dl - n, d) == 0 &&
		    (dl == n || dns[dl - n - 1] == '.'))
			ok = 1;
	}
	json_decref(arr);
	return ok;
}

/* Decides automatic approval; returns the source text or NULL (pending). */
static const char *
auto_approval(struct request *r, const struct db_token *t, char *buf,
    size_t size)
{
	char mode[32] = "trusted";

	db_setting_get(r->db, "approval", mode, sizeof(mode));
	if (strcmp(mode, "all") == 0)
		return "auto:all";
	if (strcmp(mode, "trusted") != 0)
		return NULL;
	if (t->trusted)
		return "auto:trusted-token";
	if (r->peer->kind == PEER_ENTERPRISE &&
	    domain_trusted(r->db, r->peer->dns)) {
		str_fmt(buf, size, "auto:enterprise:%s", r->peer->dns);
		return buf;
	}
	return NULL;
}

static int
token_check(struct request *r, const struct token *tok, struct db_token *t)
{
	char hash[PKI_FPR_HEX];

	if (strcmp(tok->ca_fpr, r->srv->ca_fpr) != 0) {
		reply_error(r, 403, "this token was made for another site");
		return -1;
	}
	token_secret_hash(tok->secret, sizeof(tok->secret), hash);
	if (db_token_get(r->db, tok->id, t) < 0 ||
	    CRYPTO_memcmp(hash, t->secret_hash, 64) != 0) {
		reply_error(r, 403, "enrollment token is not valid here");
		return -1;
	}
	if (t->revoked) {
		reply_error(r, 403, "enrollment token %s has been revoked",
		    t->id);
		return -1;
	}
	if (t->expires_at <= now_unix()) {
		reply_error(r, 403, "enrollment token %s has expired", t->id);
		return -1;
	}
	if (t->uses >= t->uses_max) {
		reply_error(r, 403, "enrollment token %s has no uses left",
		    t->id);
		return -1;
	}
	return 0;
}

void
h_enroll(struct request *r)
{
	struct enroll_request *er = calloc(1, sizeof(*er));
	struct db_token t;
	char err[ERRMSG_MAX], client_id[33], req_id[33], srcbuf[300];
	char serial[PKI_SERIAL_HEX], poll_hash[PKI_FPR_HEX], poll_b64[64];
	char replaces[33] = "", final_id[33] = "";
	int revoked = 0;
	unsigned char poll[32];
	const char *source;
	char *disc = NULL, *cert_pem = NULL;
	EVP_PKEY *pub;
	int taken;

	if (er == NULL) {
		reply_error(r, 500, "out of memory");
		return;
	}
	if (enroll_request_parse(r->body, r->body_len, er, err) < 0) {
		reply_error(r, 400, "%s", err);
		goto out;
	}
	if (token_check(r, &er->token, &t) < 0)
		goto out;
	pub = pki_csr_parse(er->csr, strlen(er->csr), err);
	if (pub == NULL) {
		reply_error(r, 400, "%s", err);
		goto out;
	}
	EVP_PKEY_free(pub);

	/* A blocked device stays out, whatever key and token it brings. */
	{
		struct db_client b;

		if (db_client_by_hwid(r->db, er->disc.hardware_id, "blocked",
			&b) == 0) {
			reply_error(r, 403,
			    "this device (hardware id %s) belongs to blocked "
			    "client %s; an administrator must unblock it "
			    "before it can enroll again",
			    er->disc.hardware_id, b.id);
			goto out;
		}
		/* A known device with a new key (re-imaged, or unblocked) is
		 * a new request that replaces its old identity. */
		if (db_client_by_hwid(r->db, er->disc.hardware_id,
			"approved,unblocked", &b) == 0)
			str_copy(replaces, sizeof(replaces), b.id);
	}

	rand_id(client_id);
	rand_id(req_id);
	rand_bytes(poll, sizeof(poll));
	b64url_encode(poll, sizeof(poll), poll_b64);
	token_secret_hash(poll, sizeof(poll), poll_hash);
	OPENSSL_cleanse(poll, sizeof(poll));
	disc = discovery_to_json(&er->disc);
	source = auto_approval(r, &t, srcbuf, sizeof(srcbuf));

	if (db_begin(r->db, err) < 0) {
		reply_error(r, 503, "database busy: %s", err);
		goto out;
	}
	taken = db_token_take_use(r->db, t.id, now_unix(), err);
	if (taken != 1) {
		db_rollback(r->db);
		if (taken < 0)
			reply_error(r, 500, "%s", err);
		else
			reply_error(r, 403,
			    "enrollment token %s has no uses left", t.id);
		goto out;
	}
	if (db_client_insert(r->db, client_id, "pending", er->disc.hostname,
		er->disc.hardware_id, source ? source : "manual", t.id, disc,
		now_unix(), err) < 0 ||
	    (replaces[0] &&
		db_client_set_replaces(r->db, client_id, replaces, err) < 0) ||
	    db_enroll_insert(r->db, req_id, client_id, poll_hash, er->csr,
		r->addr, now_unix(), err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	/* Signed inside the transaction: a certificate is recorded if and
	 * only if the client that holds it is. */
	if (source != NULL &&
	    approve_request(r->srv, r->db, client_id, req_id, source, "site",
		&cert_pem, serial, final_id, &revoked, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "cannot issue the certificate: %s", err);
		goto out;
	}
	if (db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	if (revoked > 0 && server_revocations_added(r->srv, r->db, err) < 0)
		log_err("%s", err);
	if (source != NULL &&
	    collections_evaluate_device(r->db, final_id, err) < 0)
		log_err("collections of %s: %s", final_id, err);
	log_info("enrollment of %s (%s, hardware id %s) from %s: %s%s%s",
	    source ? final_id : client_id, er->disc.hostname,
	    er->disc.hardware_id, r->addr,
	    source ? source : "pending approval",
	    replaces[0] ? "; re-enrollment of " : "", replaces);
	if (source != NULL)
		reply_json(r, 200,
		    json_pack("{s:s,s:s,s:s,s:s,s:s}", "status", "issued",
			"client_id", final_id, "approval", source,
			"certificate", cert_pem, "ca_certificate",
			r->srv->ca_pem));
	else
		reply_json(r, 202,
		    json_pack("{s:s,s:s,s:s,s:s}", "status", "pending",
			"client_id", client_id, "request_id", req_id,
			"poll_secret", poll_b64));
out:
	OPENSSL_cleanse(er, sizeof(*er));
	free(er);
	free(disc);
	free(cert_pem);
}

void
h_enroll_poll(struct request *r)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
	const char *secret = evhttp_find_header(h, POLL_HEADER);
	unsigned char raw[32];
	char hash[PKI_FPR_HEX];
	struct db_enroll e;
	struct db_client c;

	if (secret == NULL || strlen(secret) > 64 ||
	    b64url_decode(secret, strlen(secret), raw, sizeof(raw)) !=
		sizeof(raw)) {
		reply_error(r, 401, "polling needs the request's secret in %s",
		    POLL_HEADER);
		return;
	}
	token_secret_hash(raw, sizeof(raw), hash);
	if (db_enroll_get(r->db, r->param, &e) < 0) {
		reply_error(r, 404, "no enrollment request %s", r->param);
		return;
	}
	if (CRYPTO_memcmp(hash, e.poll_hash, 64) != 0) {
		db_enroll_clear(&e);
		reply_error(r, 403, "wrong secret for enrollment request %s",
		    r->param);
		return;
	}
	if (db_client_get(r->db, e.client_id, &c) < 0) {
		db_enroll_clear(&e);
		reply_error(r, 500, "enrollment request without a client");
		return;
	}
	if (strcmp(c.status, "denied") == 0)
		reply_json(r, 403,
		    json_pack("{s:s,s:s,s:s}", "status", "denied", "client_id",
			c.id, "error",
			"an administrator denied this enrollment request"));
	else if (e.cert_pem != NULL)
		reply_json(r, 200,
		    json_pack("{s:s,s:s,s:s,s:s}", "status", "issued",
			"client_id", c.id, "certificate", e.cert_pem,
			"ca_certificate", r->srv->ca_pem));
	else if (strcmp(c.status, "pending") == 0)
		reply_json(r, 202,
		    json_pack("{s:s,s:s}", "status", "pending", "client_id",
			c.id));
	else
		reply_json(r, 403,
		    json_pack("{s:s,s:s,s:s}", "status", c.status, "client_id",
			c.id, "error", "this enrollment request is closed"));
	db_enroll_clear(&e);
}
