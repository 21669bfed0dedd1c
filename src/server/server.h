/* server.h - stewardd's management point: worker threads, the request
 * context handlers see, and the helpers they answer with. */
#ifndef STEWARD_SERVER_H
#define STEWARD_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "crypto/pki.h"
#include "db/db.h"
#include "pcache.h"
#include "ratelimit.h"
#include "revoked.h"
#include "signer.h"
#include "site.h"
#include "tlsbuf.h"

struct worker;
struct conn;

/* A CRL as the site serves it. */
struct crl_copy {
	unsigned char *der;
	size_t len;
	char etag[PKI_ETAG_HEX + 2]; /* pki_crl_etag() in quotes */
	int64_t issued;
};

struct server {
	struct site_config cfg;
	SSL_CTX *ssl;
	X509 *ca;
	char *ca_pem;
	char ca_fpr[PKI_FPR_HEX];
	unsigned char sign_pub[PKI_ED25519_PUB];
	char sign_pub_b64[64];
	char url[300];
	int port;
	struct signer signer;
	int nworkers;
	struct worker *workers;
	pthread_mutex_t crl_lock; /* guards crl and crl_servers */
	struct crl_copy crl;	  /* every revoked certificate */
	struct crl_copy crl_servers; /* the server certificates' partition */
	pthread_mutex_t crl_issue_lock; /* one CRL issued at a time: numbers
					 * in order, each from the database
					 * as it was then; guards the next
					 * two (and writes to crl and
					 * crl_servers) */
	int64_t crl_issued_ms; /* monotonic */
	int64_t crl_build_ms;  /* what the last CRLs took to issue */
	char crl_servers_sum[PKI_FPR_HEX]; /* what crl_servers lists */
	int crl_pending;       /* atomic: a revocation no CRL holds yet */
	struct revoked_set revoked;
	struct ratelimit status_rl; /* POST /v1/status and /v1/health */
	X509 *tls_cert; /* the MP certificate, for expiry warnings */
	pthread_t tasks_thread;
	struct event_base *tasks_base;
	struct db *tasks_db;
	struct event *crl_ev, *crl_soon_ev, *expiry_ev, *retention_ev,
	    *collections_ev;
};

/* A message from any thread to one worker's loop. */
enum poke_kind {
	POKE_NOTIFY, /* the client has notifications: answer its long-polls */
	POKE_CLOSE,  /* deliver what is pending, then close every connection
		      * of the client (it was blocked) */
};

struct poke {
	enum poke_kind kind;
	char client_id[33];
};

struct worker {
	struct server *srv;
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http;
	struct db *db; /* this thread's own connection */
	int fd;
	/* Client connections this worker serves, by client id (notify.c). */
	struct conn **conns;
	size_t nbuckets;
	size_t nconns;
	struct event *sweep_ev;  /* expires held long-polls */
	unsigned parked;         /* long-polls parked since the last trim */
	unsigned parked_seen;    /* ... as the last sweep saw it */
	struct event *poke_ev;   /* wakes the loop for pokes */
	pthread_mutex_t poke_lock;
	struct poke *pokes;
	size_t npokes, poke_cap;
	/* The pokes taken and being answered, a slice (notify_slice) at
	 * each turn of the loop (loop thread only). */
	struct event *wave_ev;  /* the next slice, at the loop's next turn */
	struct poke *wave;
	size_t wave_n, wave_at, wave_answered;
	unsigned wave_turns;
	int64_t wave_start_ms;
	struct pcache pcache; /* policy ETags by client (h_policy.c) */
	struct tlsbufs tlsbufs; /* connections: record buffers and first
				 * request deadlines (tlsbuf.c) */
	/* Certificates (by SHA-256) already found signed by the site CA:
	 * the signature check is made once per certificate and worker. */
	unsigned char (*issued)[32];
	/* The Date header of this second's answers, made once a second (by
	 * libevent it costs each answer a formatted date). */
	char date[40];
	time_t date_at;
};
#define ISSUED_SLOTS 4096

/* Binds the calling thread to its worker: TLS callbacks find it (routes.c). */
void worker_bind(struct worker *w);
/* The TLS session hold hook (tlscache.h): labels lean with the identity of
 * ssl's connection; 0 for a connection without one. */
int session_hold(SSL *ssl, SSL_SESSION *lean);

/* The HTTP date of this second (routes.c), NULL if it cannot be made. */
const char *worker_date(struct worker *w);

/* Who is on the other end of a connection, from its verified certificate. */
enum peer_kind {
	PEER_NONE,       /* no client certificate */
	PEER_CLIENT,     /* site-issued client certificate */
	PEER_ADMIN,      /* site-issued admin credential */
	PEER_ENTERPRISE, /* certificate from the trusted enterprise CA */
};

struct peer {
	enum peer_kind kind;
	char id[64];     /* client id or admin name */
	char serial[PKI_SERIAL_HEX];
	char dns[256];   /* enterprise certificate DNS name */
	int used;        /* first use of the certificate recorded */
	struct conn *conn; /* registered client connection, or NULL */
	/* The client's status and certificate were checked at this trust
	 * epoch and hold until then (or a change moves the epoch on). */
	uint64_t auth_epoch;
	int64_t auth_until;
};

enum role { ROLE_ANYONE, ROLE_ENROLLING, ROLE_CLIENT, ROLE_ADMIN };

struct request;
typedef void (*handler_fn)(struct request *);

struct route {
	int method;        /* EVHTTP_REQ_GET, ... */
	const char *path;  /* "{}" matches one path segment */
	enum role role;
	size_t body_max;
	handler_fn handler;
	int limited;       /* rate-limited per client and site-wide */
};

struct request {
	struct evhttp_request *req;
	struct worker *w;
	struct server *srv;
	struct db *db;
	const struct route *route;
	const struct peer *peer;
	char param[65];   /* the {} segment, if any */
	char admin_role[64];
	const char *body; /* body_len bytes, not NUL-terminated */
	size_t body_len;
	char addr[64];
	const char *query; /* raw query string or NULL */
};

extern const struct route routes[];
/* Finds the route; sets *method_ok = 0 when the path exists for another
 * method only. Exposed for tests. */
const struct route *route_find(int method, const char *path, char *param,
    size_t psize, int *path_known);
void dispatch(struct evhttp_request *req, void *arg);

void reply_json(struct request *r, int status, json_t *body);
void reply_error(struct request *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses the body as a JSON object, or answers 400 and returns NULL. */
json_t *body_json(struct request *r);
/* Query parameter value (copied into out): 0, -1 if absent, -2 if longer
 * than out holds. */
int query_get(struct request *r, const char *key, char *out, size_t size);

/* The paging of an admin list: ?limit=N (1 to PAGE_MAX, PAGE_DEFAULT when
 * not given) and ?after=CURSOR, the "next" of the page before
 * (wire_cursor_parse). A whole site's list in one answer was tens of MB,
 * built in a worker's loop. */
#define PAGE_DEFAULT 1000
#define PAGE_MAX 10000
#define PAGE_SORT_MAX 256 /* a host name (DISC_HOST_MAX) or a time */
struct page {
	int limit;
	/* The last row of the page before: its ordering value ("" on the
	 * first page, which sorts before any), as a time for lists in time
	 * order (-1 on the first page), and its id or serial (""). */
	char after_sort[PAGE_SORT_MAX];
	int64_t after_at;
	char after_key[PKI_SERIAL_HEX];
};
/* Reads the paging of r, for a list in time order (by_time: the cursor's
 * sort value must be a time) or by name; -1 when it is malformed (400
 * answered). */
int page_args(struct request *r, int by_time, struct page *pg);
/* Answers o (NULL: {}) with name: list and "next": "SORT:KEY", "next"
 * only when the page is full (its last row's sort_field, an integer or a
 * string, and key_field). Takes o and list. */
void page_reply(struct request *r, const struct page *pg, json_t *o,
    const char *name, json_t *list, const char *sort_field,
    const char *key_field);

int server_run(const struct site_config *cfg, const char *listen_override);
/* Regenerates the CRLs through the signer and caches them (the servers'
 * one only when it changed or aged: crl_build). */
int server_refresh_crl(struct server *srv, struct db *db, char *err);
/* After a committed revocation: update the handshake's revoked set and
 * re-issue the CRL at once (an administrator's revocation or block). */
int server_revocations_changed(struct server *srv, struct db *db, char *err);
/* The same for revocations that come in bursts (certificates superseded by
 * a renewal, a re-enrollment, an approval): the revoked set at once; the
 * CRL from the tasks thread, within 250 ms when none was issued in the
 * last second (or crl_coalesce_ms), else within 250 ms of its end
 * (server_crl_catch_up). */
int server_revocations_added(struct server *srv, struct db *db, char *err);
/* Issues the CRL a revocation is waiting for, once crl_coalesce_ms has
 * passed since the last one and no other is being issued. */
int server_crl_catch_up(struct server *srv, struct db *db, char *err);
/* The least time between two CRLs of a burst, after CRLs that took
 * build_ms to issue: a second, or ten times build_ms, at most a minute. */
int64_t crl_coalesce_ms(int64_t build_ms);

/* notify.c: the connection registry and the notification channel. */
int worker_notify_init(struct worker *w);
void worker_notify_free(struct worker *w);
/* Records the connection of an authorized client request (once per
 * connection). */
void conn_register(struct request *r);
/* Holds a rate-limited request and answers it 429 a second later; -1 when
 * it cannot be held (answer now). */
int conn_tarpit(struct request *r);
/* Sends a poke to every worker (any thread). */
void server_poke(struct server *srv, enum poke_kind kind,
    const char *client_id);
/* The same for n clients at once: one wake-up of each worker. */
void server_poke_many(struct server *srv, enum poke_kind kind,
    const char *const *ids, size_t n);
/* Queues a notification and pokes the workers; the caller commits. */
int notify_client(struct server *srv, struct db *db, const char *client_id,
    const char *kind, char *err);

/* lifecycle.c: blocking, quarantine, revocation. Each runs its own
 * transaction and, after commit, reloads revocations and closes the
 * client's connections. */
int client_block(struct server *srv, struct db *db, const char *client_id,
    const char *reason, const char *actor, const char *detail, char *err);

/* h_lifecycle.c: blocks a client whose certificate was presented with
 * another hardware id than it was issued to (a cloned image). */
int client_quarantine(struct server *srv, struct db *db, const char *client_id,
    const char *cert_hwid, const char *seen_hwid, const char *what);

/* h_policy.c */
void h_policy(struct request *r);
void h_admin_client_notify(struct request *r);
void h_admin_collection_notify(struct request *r);
void h_admin_settings_show(struct request *r);
void h_admin_settings_custom_add(struct request *r);

/* h_deploy.c: content, deployments, windows. */
struct status_msg;
void h_content(struct request *r);
void h_admin_content_add(struct request *r);
void h_admin_content_list(struct request *r);
void h_admin_deployment_add(struct request *r);
void h_admin_deployments_list(struct request *r);
void h_admin_deployment_show(struct request *r);
void h_admin_deployment_delete(struct request *r);
void h_admin_window_add(struct request *r);
void h_admin_windows_list(struct request *r);
void h_admin_window_delete(struct request *r);
void h_admin_report_windows(struct request *r);
/* Records the state a "deployment" status message reports. */
int deployment_report(struct db *db, const char *client_id,
    const struct status_msg *m, char *err);

/* collections.c */
int collections_evaluate_device(struct db *db, const char *client_id,
    char *err);
int collections_evaluate_all(struct db *db, char *err);
void h_admin_collection_add(struct request *r);
void h_admin_collections_list(struct request *r);
void h_admin_collection_members(struct request *r);
void h_admin_collection_delete(struct request *r);
void h_admin_collections_evaluate(struct request *r);
void h_admin_client_tag(struct request *r);

/* retention.c: the retention tasks. */
int retention_run(struct db *db, const char *name, int64_t now,
    int64_t *deleted, char *err);
/* Runs every enabled task whose next run has come. */
void retention_due(struct db *db, int64_t now);
void h_admin_tasks_list(struct request *r);
void h_admin_task_run(struct request *r);
void h_admin_task_set(struct request *r);

/* tasks.c: the maintenance thread (CRL re-issue, expiry warnings). */
int tasks_start(struct server *srv, char *err);
void tasks_stop(struct server *srv);
/* Logs a warning for every certificate within 30 days of expiry. */
void tasks_expiry_warnings(struct server *srv, struct db *db, int64_t now);

/* Records an admin action with the admin's identity (inside or outside a
 * transaction of the caller). */
int admin_audit(struct request *r, const char *action, const char *target,
    const char *detail);

/* Handlers. */
void h_enroll(struct request *r);
void h_enroll_poll(struct request *r);
void h_heartbeat(struct request *r);
void h_crl(struct request *r);
void h_crl_servers(struct request *r);
void h_admin_token_create(struct request *r);
void h_admin_token_list(struct request *r);
void h_admin_token_revoke(struct request *r);
void h_admin_clients_list(struct request *r);
void h_admin_client_show(struct request *r);
void h_admin_client_approve(struct request *r);
void h_admin_client_deny(struct request *r);
void h_admin_site_show(struct request *r);
void h_admin_site_approval(struct request *r);
void h_admin_audit(struct request *r);
void h_notify(struct request *r);
void h_inventory(struct request *r);
void h_status(struct request *r);
void h_health(struct request *r);
void h_admin_status_list(struct request *r);
void h_admin_status_rules(struct request *r);
void h_admin_status_rule_add(struct request *r);
void h_admin_status_rule_delete(struct request *r);
void h_admin_report_health(struct request *r);
/* Adds "activity" and "last_activity" to a client object. */
void client_activity(json_t *c, int64_t now, int64_t inactive_after);
void h_admin_client_inventory(struct request *r);
void h_renew(struct request *r);
void h_admin_client_block(struct request *r);
void h_admin_client_unblock(struct request *r);
void h_admin_client_renew(struct request *r);
void h_admin_certs_list(struct request *r);
void h_admin_certs_revoke(struct request *r);

/* Issues a certificate for an approved request through the signer and
 * records it; shared by automatic and manual approval. */
int issue_client_cert(struct server *srv, struct db *db,
    const char *client_id, const char *hardware_id, const char *csr,
    char **cert_pem, char *serial_out, char *err);

#endif
