/* routes.c - the one routing table: every endpoint, who may call it, and its
 * body limit, checked here in one place before a handler sees the request. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"
#include "lifecycle.h"
#include "proto/discovery.h"
#include "proto/inventory.h"
#include "proto/status.h"
#include "proto/wire.h"
#include "server.h"

#define ADMIN_BODY_MAX (16 * 1024)
#define CONTENT_MAX (2 * 1024 * 1024) /* the global body cap */
#define AUTH_RECHECK 5 /* seconds a connection's verdict holds at most */

const struct route routes[] = {
	{EVHTTP_REQ_POST, "/v1/enroll", ROLE_ENROLLING, ENROLL_BODY_MAX,
	    h_enroll, 0},
	{EVHTTP_REQ_GET, "/v1/enroll/{}", ROLE_ENROLLING, 0, h_enroll_poll, 0},
	{EVHTTP_REQ_GET, "/v1/crl", ROLE_ANYONE, 0, h_crl, 0},
	{EVHTTP_REQ_GET, "/v1/crl/servers", ROLE_ANYONE, 0, h_crl_servers, 0},
	{EVHTTP_REQ_POST, "/v1/heartbeat", ROLE_CLIENT, HEARTBEAT_BODY_MAX,
	    h_heartbeat, 0},
	{EVHTTP_REQ_GET, "/v1/notify", ROLE_CLIENT, 0, h_notify, 0},
	{EVHTTP_REQ_GET, "/v1/policy", ROLE_CLIENT, 0, h_policy, 0},
	{EVHTTP_REQ_POST, "/v1/inventory", ROLE_CLIENT, INVENTORY_BODY_MAX,
	    h_inventory, 0},
	{EVHTTP_REQ_POST, "/v1/status", ROLE_CLIENT, STATUS_BODY_MAX, h_status,
	    1},
	{EVHTTP_REQ_POST, "/v1/health", ROLE_CLIENT, HEALTH_BODY_MAX, h_health,
	    1},
	{EVHTTP_REQ_POST, "/v1/renew", ROLE_CLIENT, ENROLL_BODY_MAX, h_renew, 0},
	{EVHTTP_REQ_POST, "/v1/admin/tokens", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_token_create, 0},
	{EVHTTP_REQ_GET, "/v1/admin/tokens", ROLE_ADMIN, 0,
	    h_admin_token_list, 0},
	{EVHTTP_REQ_POST, "/v1/admin/tokens/{}/revoke", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_token_revoke, 0},
	{EVHTTP_REQ_GET, "/v1/admin/clients", ROLE_ADMIN, 0,
	    h_admin_clients_list, 0},
	{EVHTTP_REQ_GET, "/v1/admin/clients/{}", ROLE_ADMIN, 0,
	    h_admin_client_show, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/approve", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_approve, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/deny", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_deny, 0},
	{EVHTTP_REQ_GET, "/v1/admin/clients/{}/inventory", ROLE_ADMIN, 0,
	    h_admin_client_inventory, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/block", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_block, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/unblock", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_unblock, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/renew", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_renew, 0},
	{EVHTTP_REQ_GET, "/v1/admin/certs", ROLE_ADMIN, 0, h_admin_certs_list, 0},
	{EVHTTP_REQ_POST, "/v1/admin/certs/revoke", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_certs_revoke, 0},
	{EVHTTP_REQ_GET, "/v1/admin/status", ROLE_ADMIN, 0,
	    h_admin_status_list, 0},
	{EVHTTP_REQ_GET, "/v1/admin/status/rules", ROLE_ADMIN, 0,
	    h_admin_status_rules, 0},
	{EVHTTP_REQ_POST, "/v1/admin/status/rules", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_status_rule_add, 0},
	{EVHTTP_REQ_DELETE, "/v1/admin/status/rules/{}", ROLE_ADMIN, 0,
	    h_admin_status_rule_delete, 0},
	{EVHTTP_REQ_GET, "/v1/admin/report/health", ROLE_ADMIN, 0,
	    h_admin_report_health, 0},
	{EVHTTP_REQ_GET, "/v1/admin/collections", ROLE_ADMIN, 0,
	    h_admin_collections_list, 0},
	{EVHTTP_REQ_POST, "/v1/admin/collections", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_collection_add, 0},
	{EVHTTP_REQ_GET, "/v1/admin/collections/members", ROLE_ADMIN, 0,
	    h_admin_collection_members, 0},
	{EVHTTP_REQ_POST, "/v1/admin/collections/delete", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_collection_delete, 0},
	{EVHTTP_REQ_POST, "/v1/admin/collections/evaluate", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_collections_evaluate, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/notify", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_notify, 0},
	{EVHTTP_REQ_POST, "/v1/admin/collections/notify", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_collection_notify, 0},
	{EVHTTP_REQ_POST, "/v1/admin/clients/{}/tags", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_client_tag, 0},
	{EVHTTP_REQ_GET, "/v1/admin/settings", ROLE_ADMIN, 0,
	    h_admin_settings_show, 0},
	{EVHTTP_REQ_POST, "/v1/admin/settings/custom", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_settings_custom_add, 0},
	{EVHTTP_REQ_GET, "/v1/content/{}", ROLE_CLIENT, 0, h_content, 0},
	{EVHTTP_REQ_POST, "/v1/admin/content", ROLE_ADMIN, CONTENT_MAX,
	    h_admin_content_add, 0},
	{EVHTTP_REQ_GET, "/v1/admin/content", ROLE_ADMIN, 0,
	    h_admin_content_list, 0},
	{EVHTTP_REQ_POST, "/v1/admin/deployments", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_deployment_add, 0},
	{EVHTTP_REQ_GET, "/v1/admin/deployments", ROLE_ADMIN, 0,
	    h_admin_deployments_list, 0},
	{EVHTTP_REQ_GET, "/v1/admin/deployments/{}", ROLE_ADMIN, 0,
	    h_admin_deployment_show, 0},
	{EVHTTP_REQ_POST, "/v1/admin/deployments/{}/delete", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_deployment_delete, 0},
	{EVHTTP_REQ_POST, "/v1/admin/windows", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_window_add, 0},
	{EVHTTP_REQ_GET, "/v1/admin/windows", ROLE_ADMIN, 0,
	    h_admin_windows_list, 0},
	{EVHTTP_REQ_POST, "/v1/admin/windows/{}/delete", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_window_delete, 0},
	{EVHTTP_REQ_GET, "/v1/admin/report/windows", ROLE_ADMIN, 0,
	    h_admin_report_windows, 0},
	{EVHTTP_REQ_GET, "/v1/admin/tasks", ROLE_ADMIN, 0, h_admin_tasks_list,
	    0},
	{EVHTTP_REQ_POST, "/v1/admin/tasks/{}/run", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_task_run, 0},
	{EVHTTP_REQ_POST, "/v1/admin/tasks/{}", ROLE_ADMIN, ADMIN_BODY_MAX,
	    h_admin_task_set, 0},
	{EVHTTP_REQ_GET, "/v1/admin/site", ROLE_ADMIN, 0, h_admin_site_show, 0},
	{EVHTTP_REQ_POST, "/v1/admin/site/approval", ROLE_ADMIN,
	    ADMIN_BODY_MAX, h_admin_site_approval, 0},
	{EVHTTP_REQ_GET, "/v1/admin/audit", ROLE_ADMIN, 0, h_admin_audit, 0},
	{0, NULL, 0, 0, NULL, 0},
};

/* Matches path against pattern; a "{}" segment takes 1-64 chars of
 * [A-Za-z0-9_-] into param. */
static int
path_match(const char *pattern, const char *path, char *param, size_t psize)
{
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t n = strspn(path, "abcdefghijklmnopqrstuvwxyz"
						"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						"0123456789_-");

			if (n == 0 || n > 64 || n >= psize)
				return 0;
			memcpy(param, path, n);
			param[n] = '\0';
			path += n;
			pattern += 2;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

const struct route *
route_find(int method, const char *path, char *param, size_t psize,
    int *path_known)
{
	const struct route *rt;

	*path_known = 0;
	for (rt = routes; rt->path != NULL; rt++) {
		if (!path_match(rt->path, path, param, psize))
			continue;
		*path_known = 1;
		if (rt->method == method)
			return rt;
	}
	return NULL;
}

void
reply_json(struct request *r, int status, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(body);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (text != NULL)
		evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	evhttp_send_reply(r->req, status, NULL, buf);
	evbuffer_free(buf);
}

void
reply_error(struct request *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status >= 500)
		log_err("%s %s: %s", r->route ? r->route->path : "?",
		    r->addr, msg);
	reply_json(r, status, json_pack("{s:s}", "error", msg));
}

json_t *
body_json(struct request *r)
{
	json_error_t jerr;
	json_t *o;

	if (r->body_len == 0) {
		reply_error(r, 400, "request body is empty; expected JSON");
		return NULL;
	}
	o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		reply_error(r, 400, "malformed JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		reply_error(r, 400, "request body must be a JSON object");
		return NULL;
	}
	return o;
}

int
query_get(struct request *r, const char *key, char *out, size_t size)
{
	struct evkeyvalq q;
	const char *v;
	int rc = -1;

	if (r->query == NULL || strlen(r->query) > 1024)
		return -1;
	if (evhttp_parse_query_str(r->query, &q) < 0)
		return -1;
	v = evhttp_find_header(&q, key);
	if (v != NULL)
		rc = str_copy(out, size, v) == 0 ? 0 : -2;
	evhttp_clear_headers(&q);
	return rc;
}

int
page_args(struct request *r, int by_time, struct page *pg)
{
	char v[PAGE_SORT_MAX + PKI_SERIAL_HEX + 2];
	int64_t limit = PAGE_DEFAULT;
	int q;

	pg->after_at = -1;
	pg->after_sort[0] = pg->after_key[0] = '\0';
	if ((q = query_get(r, "limit", v, sizeof(v))) == -2 ||
	    (q == 0 && parse_int64(v, 1, PAGE_MAX, &limit) < 0)) {
		reply_error(r, 400, "limit must be 1 to %d", PAGE_MAX);
		return -1;
	}
	pg->limit = (int)limit;
	if ((q = query_get(r, "after", v, sizeof(v))) == -1)
		return 0;
	if (q == -2 ||
	    wire_cursor_parse(v, pg->after_sort, sizeof(pg->after_sort),
		pg->after_key, sizeof(pg->after_key)) < 0 ||
	    (by_time && (strspn(pg->after_sort, "0123456789") !=
				strlen(pg->after_sort) ||
			    parse_int64(pg->after_sort, 0, (int64_t)1 << 62,
				&pg->after_at) < 0))) {
		reply_error(r, 400, "after must be the \"next\" of a page");
		return -1;
	}
	return 0;
}

void
page_reply(struct request *r, const struct page *pg, json_t *o,
    const char *name, json_t *list, const char *sort_field,
    const char *key_field)
{
	json_t *last, *sort;
	const char *key;
	char next[PAGE_SORT_MAX + PKI_SERIAL_HEX + 24];

	if (o == NULL)
		o = json_object();
	/* A full page may have more after it: its last row says where. */
	if (json_array_size(list) == (size_t)pg->limit &&
	    (last = json_array_get(list, json_array_size(list) - 1)) != NULL &&
	    (key = json_string_value(json_object_get(last, key_field))) !=
		NULL &&
	    (sort = json_object_get(last, sort_field)) != NULL) {
		if (json_is_integer(sort))
			str_fmt(next, sizeof(next), "%lld:%s",
			    (long long)json_integer_value(sort), key);
		else
			str_fmt(next, sizeof(next), "%s:%s",
			    json_string_value(sort) ? json_string_value(sort)
						    : "",
			    key);
		json_object_set_new(o, "next", json_string(next));
	}
	json_object_set_new(o, name, list);
	reply_json(r, 200, o);
}

/* --- peer identity, computed once per TLS connection --- */

static int peer_index = -1;
static pthread_once_t peer_once = PTHREAD_ONCE_INIT;

static void
peer_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	free(ptr);
}

/* The identity a held TLS session was labelled with (session_hold): a
 * resumed connection presents no certificate and takes it from here. */
struct label {
	enum peer_kind kind;
	char serial[PKI_SERIAL_HEX];
	size_t size;  /* of the whole label */
	char name[];  /* client id, admin name or enterprise DNS name */
};

static int label_index = -1;

static void
label_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	free(ptr);
}

/* OpenSSL copies a session as it resumes it and as it makes the next
 * ticket's: each copy gets its own label. */
static int
label_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d,
    int idx, long argl, void *argp)
{
	const struct label *l = *from_d;
	struct label *copy;

	if (l == NULL)
		return 1;
	if ((copy = malloc(l->size)) == NULL) {
		*from_d = NULL;
		return 0;
	}
	memcpy(copy, l, l->size);
	*from_d = copy;
	return 1;
}

static void
peer_index_init(void)
{
	peer_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, peer_free);
	label_index = SSL_SESSION_get_ex_new_index(0, NULL, NULL, label_dup,
	    label_free);
}

/* The worker whose loop runs on this thread: TLS callbacks run inside
 * it. */
static __thread struct worker *this_worker;

void
worker_bind(struct worker *w)
{
	this_worker = w;
}

/* 1 when the site CA issued cert (a verified chain ends at the site CA or
 * at the enterprise CA). A signature check is an ECDSA verification, so its
 * outcome is remembered per worker by the certificate's SHA-256. */
static int
site_issued(struct worker *w, X509 *cert)
{
	unsigned char md[32];
	unsigned int n = 0;
	size_t slot;
	int yes;

	if (w->issued == NULL)
		w->issued = calloc(ISSUED_SLOTS, sizeof(*w->issued));
	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != sizeof(md))
		return pki_cert_signed_by(cert, w->srv->ca);
	slot = ((size_t)md[0] << 8 | md[1]) % ISSUED_SLOTS;
	if (w->issued != NULL && memcmp(w->issued[slot], md, sizeof(md)) == 0)
		return 1;
	yes = pki_cert_signed_by(cert, w->srv->ca);
	if (yes && w->issued != NULL)
		memcpy(w->issued[slot], md, sizeof(md));
	return yes;
}

static struct peer *
peer_of(struct worker *w, SSL *ssl)
{
	struct peer *p;
	const struct label *l;
	X509 *cert;
	char uri[PKI_URI_MAX];

	pthread_once(&peer_once, peer_index_init);
	p = SSL_get_ex_data(ssl, peer_index);
	if (p != NULL)
		return p;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL && SSL_session_reused(ssl) &&
	    SSL_get_verify_result(ssl) == X509_V_OK &&
	    (l = SSL_SESSION_get_ex_data(SSL_get0_session(ssl),
		 label_index)) != NULL) {
		/* Resumed: the identity the certificate of the session's
		 * full handshake gave (session_hold). */
		p->kind = l->kind;
		str_copy(p->serial, sizeof(p->serial), l->serial);
		if (l->kind == PEER_ENTERPRISE)
			str_copy(p->dns, sizeof(p->dns), l->name);
		else
			str_copy(p->id, sizeof(p->id), l->name);
	}
	/* The handshake already verified the chain against the site CA (and
	 * the enterprise CA, when configured); what is left is which of them
	 * issued it and what identity it names. */
	if (cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK) {
		pki_cert_serial(cert, p->serial);
		if (site_issued(w, cert)) {
			if (pki_cert_uri(cert, uri, sizeof(uri)) == 0) {
				size_t cl = strlen(PKI_URI_CLIENT);
				size_t al = strlen(PKI_URI_ADMIN);

				if (strncmp(uri, PKI_URI_CLIENT, cl) == 0 &&
				    pki_client_id_valid(uri + cl)) {
					p->kind = PEER_CLIENT;
					str_copy(p->id, sizeof(p->id),
					    uri + cl);
				} else if (strncmp(uri, PKI_URI_ADMIN, al) ==
					0) {
					p->kind = PEER_ADMIN;
					str_copy(p->id, sizeof(p->id),
					    uri + al);
				}
			}
		} else if (pki_cert_dns(cert, p->dns, sizeof(p->dns)) == 0) {
			p->kind = PEER_ENTERPRISE;
		}
	}
	SSL_set_ex_data(ssl, peer_index, p);
	return p;
}

int
session_hold(SSL *ssl, SSL_SESSION *lean)
{
	struct peer *p;
	struct label *l;
	const char *name;
	size_t size;

	if (this_worker == NULL ||
	    (p = peer_of(this_worker, ssl)) == NULL || p->kind == PEER_NONE)
		return 0; /* an enrollment never resumes */
	name = p->kind == PEER_ENTERPRISE ? p->dns : p->id;
	size = sizeof(*l) + strlen(name) + 1;
	if ((l = calloc(1, size)) == NULL)
		return 0;
	l->kind = p->kind;
	l->size = size;
	str_copy(l->serial, sizeof(l->serial), p->serial);
	memcpy(l->name, name, strlen(name) + 1);
	if (SSL_SESSION_set_ex_data(lean, label_index, l) != 1) {
		free(l);
		return 0;
	}
	return 1;
}

static const char *
method_name(int m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return "this method";
	}
}

static void
client_reason(struct db *db, const char *id, char *out, size_t size)
{
	json_t *c = db_client_show(db, id);
	const char *s = json_string_value(json_object_get(c, "status_reason"));

	str_copy(out, size, s ? s : "");
	json_decref(c);
}

/* The role check: one place, before any handler or body parser runs. */
static int
authorize(struct request *r)
{
	const struct peer *p = r->peer;
	struct db_client c;
	struct pentry *e = NULL;
	uint64_t epoch;
	int64_t now;

	switch (r->route->role) {
	case ROLE_ANYONE:
	case ROLE_ENROLLING:
		return 0;
	case ROLE_CLIENT:
		if (p->kind == PEER_NONE) {
			reply_error(r, 401,
			    "%s needs a client certificate issued by this "
			    "site; enroll first",
			    r->route->path);
			return -1;
		}
		if (p->kind != PEER_CLIENT) {
			reply_error(r, 403,
			    "%s is for enrolled clients; this certificate is "
			    "not a client certificate of this site",
			    r->route->path);
			return -1;
		}
		/* Checked again after any change of trust anywhere on the
		 * site, and at least every AUTH_RECHECK seconds. */
		epoch = db_trust_epoch();
		now = now_unix();
		if (p->auth_epoch == epoch && now < p->auth_until)
			goto authorized;
		e = pcache_get(&r->w->pcache, p->id);
		if (e != NULL && e->auth_epoch == epoch && now < e->auth_until &&
		    strcmp(e->auth_serial, p->serial) == 0) {
			((struct peer *)p)->auth_epoch = epoch;
			((struct peer *)p)->auth_until = e->auth_until;
			goto authorized;
		}
		if (db_client_get(r->db, p->id, &c) < 0) {
			reply_error(r, 403, "client %s is not known to this "
					    "site",
			    p->id);
			return -1;
		}
		if (strcmp(c.status, "blocked") == 0) {
			char reason[256] = "";

			client_reason(r->db, p->id, reason, sizeof(reason));
			evhttp_add_header(
			    evhttp_request_get_output_headers(r->req),
			    "Connection", "close");
			reply_error(r, 403, "client %s is blocked: %s", p->id,
			    reason[0] ? reason : "no reason given");
			return -1;
		}
		if (strcmp(c.status, "unblocked") == 0) {
			reply_error(r, 403,
			    "client %s was unblocked and must enroll again",
			    p->id);
			return -1;
		}
		if (strcmp(c.status, "approved") != 0) {
			reply_error(r, 403, "client %s is %s, not approved",
			    p->id, c.status);
			return -1;
		}
		if (db_cert_live(r->db, p->serial, p->id) != 1) {
			reply_error(r, 403,
			    "certificate %s of client %s is revoked or not "
			    "current",
			    p->serial, p->id);
			return -1;
		}
		((struct peer *)p)->auth_epoch = epoch;
		((struct peer *)p)->auth_until = now + AUTH_RECHECK;
		if (e != NULL) {
			e->auth_epoch = epoch;
			e->auth_until = now + AUTH_RECHECK;
			str_copy(e->auth_serial, sizeof(e->auth_serial),
			    p->serial);
		}
authorized:
		if (!p->used) {
			/* Once per certificate and worker: record its first
			 * use (a renewal completes here). */
			if (e == NULL)
				e = pcache_get(&r->w->pcache, p->id);
			if ((e == NULL ||
				strcmp(e->used_serial, p->serial) != 0) &&
			    cert_first_use(r->srv, r->db, p->id, p->serial) ==
				0 &&
			    e != NULL)
				str_copy(e->used_serial, sizeof(e->used_serial),
				    p->serial);
			((struct peer *)p)->used = 1;
		}
		conn_register(r);
		return 0;
	case ROLE_ADMIN:
		if (p->kind != PEER_ADMIN ||
		    db_admin_check(r->db, p->id, p->serial, r->admin_role,
			sizeof(r->admin_role)) < 0) {
			reply_error(r, 403,
			    "%s needs an administrator credential of this "
			    "site",
			    r->route->path);
			return -1;
		}
		return 0;
	}
	return -1;
}

const char *
worker_date(struct worker *w)
{
	time_t now = time(NULL);

	if (now != w->date_at) {
		struct tm tm;

		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(w->date, sizeof(w->date),
			"%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
			return NULL;
		w->date_at = now;
	}
	return w->date;
}

/* Every answer's Date (RFC 9110 6.6.1), made once a second per worker;
 * libevent then formats none of its own. A held long-poll drops it, to
 * get the time of its answer. */
static void
answer_date(struct worker *w, struct evkeyvalq *out)
{
	const char *date = worker_date(w);

	if (date != NULL)
		evhttp_add_header(out, "Date", date);
}

void
dispatch(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	struct request r;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char *host = NULL;
	ev_uint16_t port = 0;
	int known;

	memset(&r, 0, sizeof(r));
	r.req = req;
	r.w = w;
	r.srv = w->srv;
	r.db = w->db;
	r.query = uri ? evhttp_uri_get_query(uri) : NULL;
	answer_date(w, evhttp_request_get_output_headers(req));
	evhttp_connection_get_peer(conn, &host, &port);
	str_copy(r.addr, sizeof(r.addr), host ? host : "?");

	if (path == NULL || strlen(path) > 256) {
		reply_error(&r, 404, "no such endpoint");
		return;
	}
	r.route = route_find(evhttp_request_get_command(req), path, r.param,
	    sizeof(r.param), &known);
	if (r.route == NULL) {
		if (known)
			reply_error(&r, 405, "%s is not allowed on %s",
			    method_name(evhttp_request_get_command(req)),
			    path);
		else
			reply_error(&r, 404, "no such endpoint: %s", path);
		return;
	}
	if (ssl == NULL || (r.peer = peer_of(w, ssl)) == NULL) {
		reply_error(&r, 500, "cannot identify the connection");
		return;
	}
	if (authorize(&r) < 0)
		return;
	if (r.route->limited) {
		/* Before the body is parsed: a flood costs a table lookup. */
		int64_t wait = ratelimit_check(&w->srv->status_rl, r.peer->id,
		    mono_ms());
		if (wait > 0 && conn_tarpit(&r) == 0)
			return;
		if (wait > 0) {
			char secs[16];

			str_fmt(secs, sizeof(secs), "%lld",
			    (long long)((wait + 999) / 1000));
			evhttp_add_header(
			    evhttp_request_get_output_headers(req),
			    "Retry-After", secs);
			reply_error(&r, 429,
			    "too many requests from client %s; retry in %s s",
			    r.peer->id, secs);
			return;
		}
	}
	r.body_len = evbuffer_get_length(in);
	if (r.body_len > r.route->body_max) {
		reply_error(&r, 413,
		    "request body of %zu bytes is over the %zu-byte limit of "
		    "%s",
		    r.body_len, r.route->body_max, r.route->path);
		return;
	}
	r.body = r.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (r.body == NULL) {
		reply_error(&r, 500, "out of memory");
		return;
	}
	/* evbuffer_pullup gives contiguous bytes, not a C string: handlers get
	 * body/body_len and parse with length-taking functions only. */
	r.route->handler(&r);
}
