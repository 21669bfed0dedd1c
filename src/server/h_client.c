/* h_client.c - endpoints of enrolled clients (POST /v1/heartbeat) and the
 * public CRLs (GET /v1/crl, /v1/crl/servers). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/discovery.h"
#include "server.h"

void
h_heartbeat(struct request *r)
{
	struct discovery d;
	char err[ERRMSG_MAX];
	char *disc;
	int64_t now = now_unix();
	int changed;

	if (heartbeat_parse(r->body, r->body_len, &d, err) < 0) {
		reply_error(r, 400, "%s", err);
		return;
	}
	{
		struct db_cert cur;

		if (db_cert_get(r->db, r->peer->serial, &cur) == 0 &&
		    cur.hardware_id[0] &&
		    strcmp(cur.hardware_id, d.hardware_id) != 0) {
			client_quarantine(r->srv, r->db, r->peer->id,
			    cur.hardware_id, d.hardware_id, "heartbeat");
			reply_error(r, 403, "client %s is blocked: identity "
					    "used from two devices",
			    r->peer->id);
			return;
		}
	}
	disc = discovery_to_json(&d);
	changed = disc ? db_client_seen(r->db, r->peer->id, d.hostname, disc,
			     now, err)
		       : -1;
	free(disc);
	if (changed < 0) {
		reply_error(r, 500, "cannot record the heartbeat: %s", err);
		return;
	}
	/* New discovery may change what this device matches; an unchanged
	 * heartbeat costs no evaluation. */
	if (changed && collections_evaluate_device(r->db, r->peer->id, err) < 0)
		log_err("collections of %s: %s", r->peer->id, err);
	/* The notifications still pending, which a check-in would otherwise
	 * ask for in another request (read only: acknowledging stays with
	 * GET /v1/notify's after). */
	{
		json_t *pending = db_notify_take(r->db, r->peer->id, 0, now);

		reply_json(r, 200,
		    json_pack("{s:s,s:s,s:I,s:o}", "status", "ok", "client_id",
			r->peer->id, "server_time", (json_int_t)now,
			"notifications", pending ? pending : json_array()));
	}
}

/* One of the site's CRLs. Devices ask at every check-in: the CRL they
 * hold (its ETag) is answered with 304, not with the whole list again. */
static void
crl_reply(struct request *r, const struct crl_copy *crl)
{
	const char *inm = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "If-None-Match");
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *buf;
	char etag[sizeof(crl->etag)];

	pthread_mutex_lock(&r->srv->crl_lock);
	str_copy(etag, sizeof(etag), crl->etag);
	if (inm != NULL && etag[0] != '\0' && strcmp(inm, etag) == 0) {
		pthread_mutex_unlock(&r->srv->crl_lock);
		evhttp_add_header(h, "ETag", etag);
		evhttp_send_reply(r->req, 304, "Not Modified", NULL);
		return;
	}
	if (crl->der == NULL) {
		pthread_mutex_unlock(&r->srv->crl_lock);
		reply_error(r, 503, "the CRL could not be issued yet");
		return;
	}
	buf = evbuffer_new();
	evbuffer_add(buf, crl->der, crl->len);
	pthread_mutex_unlock(&r->srv->crl_lock);
	evhttp_add_header(h, "ETag", etag);
	evhttp_add_header(h, "Content-Type", "application/pkix-crl");
	evhttp_send_reply(r->req, 200, "OK", buf);
	evbuffer_free(buf);
}

/* Every certificate the site CA revoked and has not expired. */
void
h_crl(struct request *r)
{
	crl_reply(r, &r->srv->crl);
}

/* The server certificates' partition: all an agent checks. */
void
h_crl_servers(struct request *r)
{
	crl_reply(r, &r->srv->crl_servers);
}
