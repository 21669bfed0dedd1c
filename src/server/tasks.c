/* tasks.c - the maintenance thread of stewardd: its own event loop and
 * database connection, running site tasks on timers (CRL re-issue before
 * nextUpdate, daily certificate expiry warnings, retention tasks). */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "server.h"
#include "tlscache.h"

#define EXPIRY_WARN_SECS (30 * 86400)
#define EXPIRY_CHECK_SECS 86400



/* Re-issues the CRLs when half the validity of the older has passed, so a
 * relying party never holds one past its nextUpdate while the site runs
 * (the server certificates' CRL, issued only when it changes, is often
 * the older). */
static void
on_crl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	char err[ERRMSG_MAX];
	int64_t issued;

	pthread_mutex_lock(&srv->crl_lock);
	issued = srv->crl.issued < srv->crl_servers.issued
	    ? srv->crl.issued
	    : srv->crl_servers.issued;
	pthread_mutex_unlock(&srv->crl_lock);
	if (now_unix() - issued < srv->cfg.crl_validity / 2)
		return;
	if (server_refresh_crl(srv, srv->tasks_db, err) < 0)
		log_err("cannot re-issue the CRL: %s", err);
	else
		log_info("re-issued the CRL (valid for %llds)",
		    (long long)srv->cfg.crl_validity);
}

/* A revocation whose CRL was put off (server_revocations_added): issued
 * within a second of its time. */
static void
on_crl_soon_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	char err[ERRMSG_MAX];

	if (server_crl_catch_up(srv, srv->tasks_db, err) < 0)
		log_err("cannot issue the CRL: %s", err);
}

static void
warn_cert(const char *what, X509 *cert, int64_t now)
{
	char when[32], serial[PKI_SERIAL_HEX] = "?";
	int64_t na = pki_cert_not_after(cert);

	if (na - now > EXPIRY_WARN_SECS)
		return;
	time_iso(na, when, sizeof(when));
	pki_cert_serial(cert, serial);
	log_warn("%s certificate %s %s %s", what, serial,
	    na <= now ? "expired at" : "expires at", when);
}

void
tasks_expiry_warnings(struct server *srv, struct db *db, int64_t now)
{
	json_t *list = db_cert_expiring(db, now + EXPIRY_WARN_SECS), *c;
	size_t i;

	warn_cert("the site CA", srv->ca, now);
	warn_cert("the management point TLS", srv->tls_cert, now);
	json_array_foreach(list, i, c)
	{
		char when[32];
		int64_t na = json_integer_value(json_object_get(c, "not_after"));

		time_iso(na, when, sizeof(when));
		log_warn("client %s (%s) certificate %s %s %s and has not been "
			 "renewed",
		    json_string_value(json_object_get(c, "client_id")),
		    json_string_value(json_object_get(c, "hostname")),
		    json_string_value(json_object_get(c, "serial")),
		    na <= now ? "expired at" : "expires at", when);
	}
	json_decref(list);
}

static void
on_expiry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	tasks_expiry_warnings(srv, srv->tasks_db, now_unix());
}

/* Once a minute: the retention tasks whose time has come, the TLS
 * sessions past their lifetime let go, and the revoked set updated, so
 * that it is rebuilt at least daily, letting go of certificates expired
 * for over REVOKED_KEEP_EXPIRED. */
static void
on_retention_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	char err[ERRMSG_MAX];
	int64_t now = now_unix();

	retention_due(srv->tasks_db, now);
	if (srv->cfg.tls_sessions > 0)
		tlscache_expire((long)now);
	if (revoked_update(&srv->revoked, srv->tasks_db, now, err) < 0)
		log_err("cannot bring the revoked set up to date: %s", err);
}

/* The scheduled full evaluation of every collection: a safety net behind
 * the per-device evaluations on each change. */
static void
on_collections_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	char err[ERRMSG_MAX];

	if (collections_evaluate_all(srv->tasks_db, err) < 0)
		log_err("scheduled collection evaluation: %s", err);
	else
		log_info("scheduled collection evaluation done");
}

static void *
tasks_main(void *arg)
{
	struct server *srv = arg;

	event_base_dispatch(srv->tasks_base);
	return NULL;
}

int
tasks_start(struct server *srv, char *err)
{
	char path[PATH_MAX];
	int64_t every = srv->cfg.crl_validity / 4;
	struct timeval crl_tv, day = {EXPIRY_CHECK_SECS, 0}, minute = {60, 0};
	struct timeval soon = {0, 250000};
	struct timeval coll_tv = {(time_t)srv->cfg.collections_interval, 0};

	if (every < 1)
		every = 1;
	if (every > 3600)
		every = 3600;
	crl_tv.tv_sec = (time_t)every;
	crl_tv.tv_usec = 0;
	site_path(&srv->cfg, SITE_DB, path, sizeof(path));
	srv->tasks_db = db_open(path, err);
	if (srv->tasks_db == NULL)
		return -1;
	srv->tasks_base = event_base_new();
	if (srv->tasks_base == NULL)
		return err_set(err, "cannot create the tasks loop");
	srv->crl_ev = event_new(srv->tasks_base, -1, EV_PERSIST, on_crl_timer, srv);
	srv->crl_soon_ev = event_new(srv->tasks_base, -1, EV_PERSIST,
	    on_crl_soon_timer, srv);
	srv->expiry_ev = event_new(srv->tasks_base, -1, EV_PERSIST, on_expiry_timer,
	    srv);
	srv->retention_ev = event_new(srv->tasks_base, -1, EV_PERSIST,
	    on_retention_timer, srv);
	srv->collections_ev = event_new(srv->tasks_base, -1, EV_PERSIST,
	    on_collections_timer, srv);
	if (srv->crl_ev == NULL || srv->crl_soon_ev == NULL ||
	    srv->expiry_ev == NULL ||
	    srv->retention_ev == NULL || srv->collections_ev == NULL)
		return err_set(err, "cannot create the task timers");
	if (db_tasks_ensure(srv->tasks_db, err) < 0)
		return -1;
	event_add(srv->crl_ev, &crl_tv);
	event_add(srv->crl_soon_ev, &soon);
	event_add(srv->expiry_ev, &day);
	event_add(srv->retention_ev, &minute);
	event_add(srv->collections_ev, &coll_tv);
	/* Due tasks run right after start, in this thread, not before the
	 * site serves. */
	event_active(srv->retention_ev, EV_TIMEOUT, 0);
	tasks_expiry_warnings(srv, srv->tasks_db, now_unix());
	if (pthread_create(&srv->tasks_thread, NULL, tasks_main, srv) != 0)
		return err_set(err, "cannot start the tasks thread");
	return 0;
}

void
tasks_stop(struct server *srv)
{
	if (srv->tasks_base == NULL)
		return;
	event_base_loopbreak(srv->tasks_base);
	pthread_join(srv->tasks_thread, NULL);
	event_free(srv->crl_ev);
	event_free(srv->crl_soon_ev);
	event_free(srv->expiry_ev);
	event_free(srv->retention_ev);
	event_free(srv->collections_ev);
	event_base_free(srv->tasks_base);
	db_close(srv->tasks_db);
	srv->tasks_base = NULL;
}
