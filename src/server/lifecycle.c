/* lifecycle.c - a client's trust over time: approval of a request (first
 * enrollment or re-enrollment of a known device), blocking, and what must
 * follow a revocation. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "lifecycle.h"
#include "server.h"

int
approve_request(struct server *srv, struct db *db, const char *pending_id,
    const char *request_id, const char *source, const char *actor,
    char **cert_pem, char *serial, char *final_id, int *revoked, char *err)
{
	struct db_client c;
	struct db_enroll e;
	char replaces[33];
	const char *target;
	int r = -1, n = 0;

	*revoked = 0;
	if (db_client_get(db, pending_id, &c) < 0)
		return err_set(err, "no client %s", pending_id);
	if ((request_id ? db_enroll_get(db, request_id, &e)
			: db_enroll_latest_for_client(db, pending_id, &e)) < 0)
		return err_set(err, "client %s has no enrollment request",
		    pending_id);
	/* A re-enrollment of a known device is issued under the identity it
	 * replaces, so the device keeps its client record and history. */
	target = db_client_replaces(db, pending_id, replaces,
		     sizeof(replaces)) == 0
	    ? replaces
	    : pending_id;
	if (issue_client_cert(srv, db, target, c.hardware_id, e.csr, cert_pem,
		serial, err) < 0 ||
	    db_enroll_set_cert(db, e.id, *cert_pem, err) < 0)
		goto out;
	if (target == replaces) {
		n = db_cert_revoke_client(db, target, serial, "superseded",
		    now_unix(), err);
		if (n < 0 ||
		    db_client_merge(db, pending_id, target, c.hostname,
			c.hardware_id, err) < 0)
			goto out;
		if (db_audit(db, actor, "client.reenroll", target, c.hardware_id,
			now_unix(), err) < 0)
			goto out;
	}
	if (db_client_decide(db, target, "approved", source, actor, serial,
		now_unix(), err) < 0 ||
	    db_notify_clear(db, target, now_unix(), err) < 0)
		goto out;
	str_copy(final_id, 33, target);
	*revoked = n;
	r = 0;
out:
	if (r < 0) {
		free(*cert_pem);
		*cert_pem = NULL;
	}
	db_enroll_clear(&e);
	return r;
}

int
client_block(struct server *srv, struct db *db, const char *client_id,
    const char *reason, const char *actor, const char *detail, char *err)
{
	int n;

	if (db_begin(db, err) < 0)
		return -1;
	if (db_client_block(db, client_id, reason, actor, now_unix(), err) <
		0 ||
	    (n = db_cert_revoke_client(db, client_id, NULL,
		 "privilegeWithdrawn", now_unix(), err)) < 0 ||
	    notify_client(srv, db, client_id, "blocked", err) < 0 ||
	    db_audit(db, actor, "client.block", client_id,
		detail ? detail : reason, now_unix(), err) < 0 ||
	    db_commit(db, err) < 0) {
		db_rollback(db);
		return -1;
	}
	log_warn("client %s blocked by %s: %s; %d certificate(s) revoked",
	    client_id, actor, detail ? detail : reason, n);
	if (server_revocations_changed(srv, db, err) < 0)
		log_err("after blocking %s: %s", client_id, err);
	server_poke(srv, POKE_CLOSE, client_id);
	if (collections_evaluate_device(db, client_id, err) < 0)
		log_err("collections of %s: %s", client_id, err);
	return 0;
}

int
cert_first_use(struct server *srv, struct db *db, const char *client_id,
    const char *serial)
{
	char err[ERRMSG_MAX];
	int first, n = 0;

	if (db_begin(db, err) < 0)
		return -1;
	first = db_cert_mark_used(db, serial, now_unix(), err);
	if (first == 1) {
		/* The newest certificate in use retires its predecessors. */
		n = db_cert_revoke_client(db, client_id, serial, "superseded",
		    now_unix(), err);
		if (n < 0 || db_client_set_cert(db, client_id, serial, err) < 0) {
			db_rollback(db);
			return -1;
		}
	}
	if (first < 0 || db_commit(db, err) < 0) {
		db_rollback(db);
		return -1;
	}
	if (n > 0) {
		log_info("client %s now uses certificate %s; %d older "
			 "certificate(s) revoked as superseded",
		    client_id, serial, n);
		if (server_revocations_added(srv, db, err) < 0)
			log_err("%s", err);
	}
	return 0;
}
