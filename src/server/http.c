/* http.c - stewardd's listener: TLS context, worker threads (one event loop
 * and database connection each, sharing the port with SO_REUSEPORT), start
 * and clean shutdown. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/util.h"
#include "park.h"
#include "server.h"
#include "tlsbuf.h"
#include "tlscache.h"

/* The largest route limit (an inventory report, 2 MiB): libevent 2.1
 * buffers a body before the routing table runs (docs/architecture.md). */
#define BODY_MAX_ANY (2 * 1024 * 1024 + 1024)

#define COALESCE_MAX (16 * 1024) /* one TLS record's worth */

/* Runs as an answer is queued on a connection's output buffer.
 *
 * libevent's TLS bufferevent writes each chain of its output buffer with
 * its own SSL_write, so an answer whose headers and body sit in two chains
 * costs two records and two system calls: small answers are made one
 * chain here.
 *
 * And it only adds the write event when an answer is queued, so the answer
 * went out one loop later, after epoll had been told to watch the socket
 * for writing and before it was told to stop: two epoll_ctl calls and a
 * loop per answer. Activating the write event runs the write in this loop
 * instead; when it empties the buffer, it deletes the event it had just
 * added, and epoll's change list (worker_base below) folds the
 * two into nothing. A socket that cannot take the answer leaves the event
 * added, and libevent writes the rest when it can, as before. */
static void
out_added(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bufferevent *bev = arg;

	if (info->n_added == 0)
		return;
	if (evbuffer_get_length(buf) <= COALESCE_MAX &&
	    evbuffer_peek(buf, -1, NULL, NULL, 0) > 1)
		evbuffer_pullup(buf, -1);
	/* Once per answer: what is added to a buffer that was not empty
	 * goes with the write already under way. */
	if (info->orig_size == 0) {
		tlsbuf_busy(bufferevent_openssl_get_ssl(bev));
		event_active(&bev->ev_write, EV_WRITE, 1);
	}
}

/* The first decrypted bytes of a request: the connection has met its
 * deadline (tlsbuf.c), and needs this callback no more. */
static void
in_added(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tlsbuf *t = arg;

	if (info->n_added == 0)
		return;
	tlsbuf_heard(t);
	evbuffer_remove_cb(buf, in_added, arg);
}

static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct worker *w = arg;
	SSL *ssl = SSL_new(w->srv->ssl);
	struct bufferevent *bev;
	struct tlsbuf *t;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		return NULL;
	evbuffer_add_cb(bufferevent_get_output(bev), out_added, bev);
	/* Whole seconds: one more, so that no connection has less. */
	t = tlsbuf_track(&w->tlsbufs, ssl,
	    mono_secs() + w->srv->cfg.first_request_timeout + 1);
	if (t != NULL)
		evbuffer_add_cb(bufferevent_get_input(bev), in_added, t);
	return bev;
}

/* Runs for each certificate of a client's chain during the handshake. On
 * top of OpenSSL's checks: a revoked site certificate is refused here
 * (except one revoked by a block, which completes the handshake so the
 * request can be answered 403 naming the block); an expired one is logged
 * with what the device must do. */
static int
verify_client(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct server *srv = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	X509 *cert = X509_STORE_CTX_get_current_cert(x);
	char serial[PKI_SERIAL_HEX] = "?", uri[PKI_URI_MAX] = "?";

	if (cert == NULL)
		return ok;
	pki_cert_serial(cert, serial);
	if (!ok) {
		int e = X509_STORE_CTX_get_error(x);

		pki_cert_uri(cert, uri, sizeof(uri));
		if (e == X509_V_ERR_CERT_HAS_EXPIRED &&
		    X509_STORE_CTX_get_error_depth(x) == 0)
			log_warn("refused expired certificate %s (%s): the "
				 "device must enroll again",
			    serial, uri);
		else
			log_info("refused client certificate %s (%s) at chain "
				 "depth %d: %s",
			    serial, uri, X509_STORE_CTX_get_error_depth(x),
			    X509_verify_cert_error_string(e));
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	if (revoked_check(&srv->revoked, serial) == REVOKED_YES) {
		pki_cert_uri(cert, uri, sizeof(uri));
		log_info("refused revoked certificate %s (%s) in the handshake",
		    serial, uri);
		X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REVOKED);
		return 0;
	}
	return 1;
}

static int
tls_setup(struct server *srv, char *err)
{
	char path[PATH_MAX], kpath[PATH_MAX];
	X509_STORE *store;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return err_set(err, "cannot create TLS context");
	srv->ssl = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* Record buffers kept while a connection is busy (tlsbuf.c). */
	if (tlsbuf_setup(ctx) == 0)
		log_info("this OpenSSL cannot give back an idle connection's "
			 "buffers safely: releasing them after every record");
	site_path(&srv->cfg, SITE_TLS_CERT, path, sizeof(path));
	site_path(&srv->cfg, SITE_TLS_KEY, kpath, sizeof(kpath));
	if (file_check_secret(kpath, err) < 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, kpath, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return err_set(err, "cannot load the TLS certificate %s and "
				    "key %s",
		    path, kpath);
	srv->tls_cert = pki_cert_read(path, err);
	if (srv->tls_cert == NULL)
		return -1;
	/* Client certificates are verified during the handshake against the
	 * site CA (and the enterprise CA when configured). No certificate is
	 * allowed for enrollment; the routing table decides the rest. */
	store = X509_STORE_new();
	if (store == NULL || !X509_STORE_add_cert(store, srv->ca))
		return err_set(err, "cannot build the client trust store");
	if (srv->cfg.enterprise_ca) {
		X509 *ent;

		site_path(&srv->cfg, SITE_ENTERPRISE_CA, path, sizeof(path));
		ent = pki_cert_read(path, err);
		if (ent == NULL || !X509_STORE_add_cert(store, ent)) {
			X509_free(ent);
			X509_STORE_free(store);
			return -1;
		}
		X509_free(ent);
	}
	X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_cert_store(ctx, store);
	SSL_CTX_set_app_data(ctx, srv);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
	    verify_client);
	SSL_CTX_set_verify_depth(ctx, 2);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"stewardd",
	    8);
	/* One ticket per handshake: a device holds one session. The
	 * sessions are held in memory (tlscache.c) unless tls_sessions is 0,
	 * which keeps OpenSSL's stateless tickets. */
	SSL_CTX_set_num_tickets(ctx, 1);
	if (srv->cfg.tls_sessions > 0 &&
	    tlscache_setup(ctx, (size_t)srv->cfg.tls_sessions,
	    session_hold) < 0)
		return err_set(err, "out of memory for the TLS sessions");
	if (srv->cfg.notify_park)
		park_setup(ctx);
	return 0;
}

/* A worker's event loop. epoll's change list folds the add and delete of
 * the write event that every response makes into fewer epoll_ctl calls
 * (about a sixth of the server's CPU on keep-alive polls without it). No
 * descriptor is dup()ed here, which is the change list's one caveat. */
static struct event_base *
worker_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Connections the kernel completes before a worker accepts them: as many
 * as it allows (net.core.somaxconn, 4096 by default). A device that finds
 * the queue full waits a second or more for its handshake to be retried,
 * and a collection told at once comes back at hundreds a second while a
 * worker may be busy for tens of milliseconds. */
#define LISTEN_BACKLOG 65535

static int
listen_socket(const char *host, int port, char *err)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[8];
	int fd, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	str_fmt(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0)
		return err_set(err, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    /* Accepted sockets inherit it: a TLS response in several
	     * records must not wait for a delayed ACK (40 ms). */
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		err_set(err, "cannot listen on %s:%d: %s", host, port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	worker_bind(w);
	event_base_dispatch(w->base);
	return NULL;
}

static int
worker_init(struct server *srv, struct worker *w, int fd, char *err)
{
	char path[PATH_MAX];
	struct evconnlistener *l;

	w->srv = srv;
	w->fd = fd;
	site_path(&srv->cfg, SITE_DB, path, sizeof(path));
	w->db = db_open(path, err);
	if (w->db == NULL)
		return -1;
	w->base = worker_base();
	w->http = w->base ? evhttp_new(w->base) : NULL;
	if (w->http == NULL)
		return err_set(err, "cannot create the event loop");
	evhttp_set_bevcb(w->http, make_bev, w);
	evhttp_set_gencb(w->http, dispatch, w);
	evhttp_set_max_body_size(w->http, BODY_MAX_ANY);
	evhttp_set_max_headers_size(w->http, 16 * 1024);
	/* Longer than a notification hold, so a held long-poll is answered
	 * by the site, not cut by the idle timer. */
	evhttp_set_timeout(w->http, (int)srv->cfg.notify_hold + 60);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	/* Backlog 0: listen_socket() has listened (a negative one would have
	 * libevent listen again, with its own 128). */
	l = evconnlistener_new(w->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l == NULL || evhttp_bind_listener(w->http, l) == NULL)
		return err_set(err, "cannot attach the listener");
	if (worker_notify_init(w) < 0)
		return err_set(err, "cannot set up the notification channel");
	return 0;
}

static void
worker_free(struct worker *w)
{
	if (w->base)
		worker_notify_free(w);
	if (w->http)
		evhttp_free(w->http);
	if (w->base)
		event_base_free(w->base);
	free(w->issued);
	pcache_free(&w->pcache);
	db_close(w->db);
}

/* The least time between two CRLs issued for revocations that come in
 * bursts: a lab re-imaged and enrolling again, or a thousand renewals that
 * supersede their predecessors, cost about one CRL a second, not one CRL
 * of every revoked certificate per revocation (the signer's work grows
 * with the CRL: 43 ms a CRL at 4,800 entries). A CRL that took longer
 * than a tenth of that to issue waits ten times as long, so a burst spends
 * at most about a tenth of the time on CRLs whatever the site's size (a
 * whole site's 88,000 entries take about half a second): the signer is
 * also the one that signs the burst's certificates. */
#define CRL_COALESCE_MS 1000
#define CRL_COALESCE_FACTOR 10
#define CRL_COALESCE_MAX_MS 60000

int64_t
crl_coalesce_ms(int64_t build_ms)
{
	int64_t wait = build_ms * CRL_COALESCE_FACTOR;

	if (wait < CRL_COALESCE_MS)
		return CRL_COALESCE_MS;
	return wait > CRL_COALESCE_MAX_MS ? CRL_COALESCE_MAX_MS : wait;
}

/* Signs one CRL of list and keeps it as out (under crl_lock). */
static int
crl_sign(struct server *srv, enum pki_crl_scope scope,
    const struct pki_revoked *list, size_t n, int64_t number, int64_t now,
    struct crl_copy *out, char *err)
{
	char etag[PKI_ETAG_HEX];
	unsigned char *der;
	size_t len;

	if (signer_issue_crl(&srv->signer, scope, list, n, number,
		srv->cfg.crl_validity, &der, &len, err) < 0)
		return -1;
	pki_crl_etag(der, len, etag);
	pthread_mutex_lock(&srv->crl_lock);
	free(out->der);
	out->der = der;
	out->len = len;
	str_fmt(out->etag, sizeof(out->etag), "\"%s\"", etag);
	out->issued = now;
	pthread_mutex_unlock(&srv->crl_lock);
	return 0;
}

/* What a list of revoked certificates says, as a digest: the server
 * certificates' CRL is issued again only when it changes (or ages), so
 * that every agent keeps the one it holds, with its TLS session. */
static void
crl_list_sum(const struct pki_revoked *list, size_t n,
    char out[PKI_FPR_HEX])
{
	char *text = calloc(n + 1, PKI_SERIAL_HEX + 48);
	size_t off = 0, i;

	if (text == NULL) {
		out[0] = '\0'; /* never equal to a sum: issued again */
		return;
	}
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, PKI_SERIAL_HEX + 48,
		    "%s %lld %d\n", list[i].serial,
		    (long long)list[i].revoked_at, list[i].reason);
	pki_sha256_hex(text, off, out);
	free(text);
}

/* The CRLs from the database as it is now, signed and cached: every
 * revoked certificate (GET /v1/crl), and, when what it lists changed or
 * half its validity has passed, the server certificates' partition that
 * agents check the site against (GET /v1/crl/servers). */
static int
crl_build(struct server *srv, struct db *db, char *err)
{
	char num[32], sum[PKI_FPR_HEX];
	int64_t n = 0, now = now_unix();
	struct db_cert *certs;
	struct pki_revoked *list = NULL, *servers;
	size_t count, nservers = 0, i;
	int r = 0;

	if (db_cert_revoked_list(db, now, &certs, &count) < 0)
		return err_set(err, "cannot read revoked certificates");
	/* Room for both lists: the servers' after every entry. */
	if ((list = calloc(2 * count + 1, sizeof(*list))) == NULL) {
		free(certs);
		return err_set(err, "out of memory");
	}
	servers = list + count;
	for (i = 0; i < count; i++) {
		int code = crl_reason_code(certs[i].revoke_reason);

		str_copy(list[i].serial, sizeof(list[i].serial),
		    certs[i].serial);
		list[i].revoked_at = certs[i].revoked_at;
		list[i].reason = code < 0 ? 0 : code;
		if (strcmp(certs[i].kind, "server") == 0)
			servers[nservers++] = list[i];
	}
	free(certs);
	if (db_setting_get(db, "crl_number", num, sizeof(num)) == 0)
		parse_int64(num, 0, INT64_MAX - 2, &n);
	crl_list_sum(servers, nservers, sum);
	if (crl_sign(srv, PKI_CRL_ALL, list, count, ++n, now, &srv->crl,
		err) < 0) {
		free(list);
		return -1;
	}
	if (srv->crl_servers.der == NULL ||
	    strcmp(sum, srv->crl_servers_sum) != 0 ||
	    now - srv->crl_servers.issued >= srv->cfg.crl_validity / 2) {
		/* Numbered from the same sequence: each partition's numbers
		 * still only grow (RFC 5280 5.2.3). */
		if (crl_sign(srv, PKI_CRL_SERVERS, servers, nservers, ++n, now,
			&srv->crl_servers, err) < 0)
			r = -1;
		else
			memcpy(srv->crl_servers_sum, sum, sizeof(sum));
	}
	free(list);
	/* The numbers signed are used, even when the second CRL failed
	 * (its error is the one told). */
	str_fmt(num, sizeof(num), "%lld", (long long)n);
	if (db_setting_set(db, "crl_number", num, r < 0 ? NULL : err) < 0)
		r = -1;
	return r;
}

/* crl_build, the caller holding crl_issue_lock; a CRL that fails stays
 * pending, for the tasks thread to try again (crl_coalesce_ms later). */
static int
crl_issue(struct server *srv, struct db *db, char *err)
{
	int r;

	/* Cleared before the database is read: a revocation committed
	 * after the read sets it again. */
	__atomic_store_n(&srv->crl_pending, 0, __ATOMIC_SEQ_CST);
	srv->crl_issued_ms = mono_ms();
	r = crl_build(srv, db, err);
	srv->crl_build_ms = mono_ms() - srv->crl_issued_ms;
	if (r == 0)
		return 0;
	__atomic_store_n(&srv->crl_pending, 1, __ATOMIC_SEQ_CST);
	return -1;
}

int
server_refresh_crl(struct server *srv, struct db *db, char *err)
{
	int r;

	pthread_mutex_lock(&srv->crl_issue_lock);
	r = crl_issue(srv, db, err);
	pthread_mutex_unlock(&srv->crl_issue_lock);
	return r;
}

int
server_crl_catch_up(struct server *srv, struct db *db, char *err)
{
	int r = 0;

	if (!__atomic_load_n(&srv->crl_pending, __ATOMIC_SEQ_CST))
		return 0;
	/* Another thread issuing: the tasks thread follows up. */
	if (pthread_mutex_trylock(&srv->crl_issue_lock) != 0)
		return 0;
	if (__atomic_load_n(&srv->crl_pending, __ATOMIC_SEQ_CST) &&
	    mono_ms() - srv->crl_issued_ms >=
		crl_coalesce_ms(srv->crl_build_ms))
		r = crl_issue(srv, db, err);
	pthread_mutex_unlock(&srv->crl_issue_lock);
	return r;
}

int
server_revocations_changed(struct server *srv, struct db *db, char *err)
{
	if (revoked_update(&srv->revoked, db, now_unix(), err) < 0)
		return -1;
	return server_refresh_crl(srv, db, err);
}

int
server_revocations_added(struct server *srv, struct db *db, char *err)
{
	if (revoked_update(&srv->revoked, db, now_unix(), err) < 0)
		return -1;
	/* The tasks thread issues the CRL: a worker's loop never waits for
	 * one (43 ms of the signer's at 4,800 entries, growing with them). */
	__atomic_store_n(&srv->crl_pending, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int
load_public(struct server *srv, char *err)
{
	char path[PATH_MAX], *text;
	size_t len;

	site_path(&srv->cfg, SITE_CA_CERT, path, sizeof(path));
	srv->ca = pki_cert_read(path, err);
	if (srv->ca == NULL)
		return -1;
	srv->ca_pem = pki_cert_to_pem(srv->ca);
	pki_cert_fingerprint(srv->ca, srv->ca_fpr);
	site_path(&srv->cfg, SITE_SIGN_PUB, path, sizeof(path));
	if (file_read(path, 256, &text, &len, err) < 0)
		return -1;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (b64url_decode(text, len, srv->sign_pub, sizeof(srv->sign_pub)) !=
	    PKI_ED25519_PUB) {
		free(text);
		return err_set(err, "%s does not hold a signing public key",
		    path);
	}
	str_copy(srv->sign_pub_b64, sizeof(srv->sign_pub_b64), text);
	free(text);
	return 0;
}

/* Idle notification connections are file descriptors: allow as many as the
 * hard limit does. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
write_url(struct server *srv)
{
	char path[PATH_MAX], line[320], err[ERRMSG_MAX];

	site_path(&srv->cfg, SITE_RUN_URL, path, sizeof(path));
	str_fmt(line, sizeof(line), "%s\n", srv->url);
	if (file_write_atomic(path, line, strlen(line), 0644, err) < 0)
		log_warn("%s", err);
}

int
server_run(const struct site_config *cfg, const char *listen_override)
{
	struct server srv;
	char err[ERRMSG_MAX], mode[32];
	sigset_t set;
	int i, sig, port, rc = 1;
	struct db *db = NULL;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = *cfg;
	srv.signer.fd = -1;
	pthread_mutex_init(&srv.crl_lock, NULL);
	pthread_mutex_init(&srv.crl_issue_lock, NULL);
	revoked_init(&srv.revoked);
	ratelimit_init(&srv.status_rl, (double)srv.cfg.status_rate,
	    (double)srv.cfg.status_burst, (double)srv.cfg.status_site_rate,
	    (double)srv.cfg.status_site_rate * 2);
	if (listen_override != NULL &&
	    parse_hostport(listen_override, srv.cfg.listen_host,
		sizeof(srv.cfg.listen_host), &srv.cfg.listen_port) < 0) {
		log_err("--listen must be HOST:PORT, not '%s'",
		    listen_override);
		return 1;
	}
	if (site_check(&srv.cfg, err) < 0) {
		log_err("%s", err);
		return 1;
	}
	/* The signer is forked first: before threads, before the database,
	 * and before this process holds anything it should not inherit. */
	if (signer_start(&srv.cfg, &srv.signer, err) < 0) {
		log_err("%s", err);
		return 1;
	}
	{
		char path[PATH_MAX];

		site_path(&srv.cfg, SITE_LOG_DIR, path, sizeof(path));
		dir_make(path, 0750, NULL);
		site_path(&srv.cfg, SITE_LOG, path, sizeof(path));
		if (log_open_file(path, err) < 0) {
			log_err("%s", err);
			signer_stop(&srv.signer);
			return 1;
		}
	}
	log_info("started the signer (pid %ld); this process (pid %ld) holds "
		 "no CA or signing key",
	    (long)srv.signer.pid, (long)getpid());
	if (load_public(&srv, err) < 0 || tls_setup(&srv, err) < 0) {
		log_err("%s", err);
		goto out;
	}
	{
		char path[PATH_MAX];

		site_path(&srv.cfg, SITE_DB, path, sizeof(path));
		db = db_open(path, err);
	}
	if (db == NULL ||
	    revoked_update(&srv.revoked, db, now_unix(), err) < 0 ||
	    server_refresh_crl(&srv, db, err) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (db_setting_get(db, "approval", mode, sizeof(mode)) == 0 &&
	    strcmp(mode, "all") == 0)
		log_warn("approval mode is 'all': every device holding a token "
			 "is approved automatically; this is unsafe outside a "
			 "lab (stewardctl site set-approval trusted)");

	raise_fd_limit();
	evthread_use_pthreads();
	srv.nworkers = srv.cfg.workers > 0 ? srv.cfg.workers
					   : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (srv.nworkers < 1)
		srv.nworkers = 1;
	srv.workers = calloc((size_t)srv.nworkers, sizeof(*srv.workers));
	if (srv.workers == NULL)
		goto out;
	port = srv.cfg.listen_port;
	for (i = 0; i < srv.nworkers; i++) {
		int fd = listen_socket(srv.cfg.listen_host, port, err);

		if (fd < 0 || worker_init(&srv, &srv.workers[i], fd, err) < 0) {
			if (fd >= 0 && srv.workers[i].base == NULL)
				close(fd);
			log_err("%s", err);
			srv.nworkers = i + 1;
			goto out_workers;
		}
		if (i == 0)
			port = bound_port(fd);
	}
	srv.port = port;
	str_fmt(srv.url, sizeof(srv.url),
	    strchr(srv.cfg.listen_host, ':') ? "https://[%s]:%d"
					     : "https://%s:%d",
	    srv.cfg.listen_host, port);

	/* Workers inherit this mask; only the main thread takes signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < srv.nworkers; i++)
		pthread_create(&srv.workers[i].thread, NULL, worker_main,
		    &srv.workers[i]);
	if (tasks_start(&srv, err) < 0) {
		log_err("%s", err);
		goto out_threads;
	}
	write_url(&srv);
	printf("stewardd: listening on %s\n", srv.url);
	fflush(stdout);
	log_info("%d worker threads serving %s", srv.nworkers, srv.url);

	do {
		if (sigwait(&set, &sig) != 0)
			break;
	} while (sig == SIGHUP);
	log_info("signal %d: shutting down", sig);
	rc = 0;
	tasks_stop(&srv);
out_threads:
	for (i = 0; i < srv.nworkers; i++)
		event_base_loopbreak(srv.workers[i].base);
	for (i = 0; i < srv.nworkers; i++)
		pthread_join(srv.workers[i].thread, NULL);
out_workers:
	for (i = 0; i < srv.nworkers; i++)
		worker_free(&srv.workers[i]);
	free(srv.workers);
out:
	db_close(db);
	signer_stop(&srv.signer);
	SSL_CTX_free(srv.ssl);
	tlscache_free();
	X509_free(srv.ca);
	X509_free(srv.tls_cert);
	revoked_free(&srv.revoked);
	ratelimit_free(&srv.status_rl);
	free(srv.ca_pem);
	free(srv.crl.der);
	free(srv.crl_servers.der);
	pthread_mutex_destroy(&srv.crl_lock);
	pthread_mutex_destroy(&srv.crl_issue_lock);
	if (rc == 0) {
		char path[PATH_MAX];

		site_path(&srv.cfg, SITE_RUN_URL, path, sizeof(path));
		unlink(path);
		log_info("stopped");
	}
	log_close_file();
	return rc;
}
