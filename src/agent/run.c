/* run.c - "steward-agent run" and "status": the enrolled agent's loop; in
 * this version a heartbeat carrying the discovery record. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

/* Set by the signal handler only. */
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct identity {
	char *ca, *cert, *key;
};

static int
identity_load(struct agent_state *s, struct identity *id, char *err)
{
	memset(id, 0, sizeof(*id));
	if (strcmp(s->status, "issued") != 0)
		return err_set(err, "%s holds no issued identity; enroll first",
		    s->dir);
	id->ca = state_read(s, AGENT_CA, err);
	id->cert = id->ca ? state_read(s, AGENT_CERT, err) : NULL;
	id->key = id->cert ? state_read(s, AGENT_KEY, err) : NULL;
	return id->key ? 0 : -1;
}

static void
identity_free(struct identity *id)
{
	free(id->ca);
	free(id->cert);
	if (id->key)
		OPENSSL_cleanse(id->key, strlen(id->key));
	free(id->key);
}

static int
heartbeat(struct agent_state *s, const struct identity *id,
    const char *hwid, char *err)
{
	struct discovery d;
	struct httpc_tls tls = {id->ca, NULL, id->cert, id->key, 30};
	struct httpc_resp resp;
	char url[400], *body;
	json_t *o;
	int r;

	if (facts_collect(&d, s->hostname[0] ? s->hostname : NULL, hwid,
		err) < 0)
		return -1;
	body = discovery_to_json(&d);
	if (body == NULL)
		return err_set(err, "cannot encode the discovery record");
	str_fmt(url, sizeof(url), "%s/v1/heartbeat", s->url);
	r = httpc_request("POST", url, &tls, body, NULL, &resp, err);
	free(body);
	if (r < 0)
		return -1;
	if (resp.status != 200) {
		o = json_loadb(resp.body, resp.len, 0, NULL);
		err_set(err, "heartbeat refused (HTTP %ld): %s", resp.status,
		    json_string_value(json_object_get(o, "error"))
			? json_string_value(json_object_get(o, "error"))
			: "no reason given");
		json_decref(o);
		httpc_resp_free(&resp);
		return -1;
	}
	httpc_resp_free(&resp);
	return 0;
}

int
agent_run(const struct run_opts *o)
{
	struct agent_state s;
	struct identity id;
	char err[ERRMSG_MAX];
	const char *hwid;
	int interval = o->interval_secs > 0 ? o->interval_secs : 60;

	if (state_load(o->state_dir, &s, err) < 0 ||
	    identity_load(&s, &id, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	hwid = o->hardware_id ? o->hardware_id
			      : (s.hardware_id[0] ? s.hardware_id : NULL);
	if (o->once) {
		int r = heartbeat(&s, &id, hwid, err);

		identity_free(&id);
		if (r < 0) {
			fprintf(stderr, "steward-agent: %s\n", err);
			return 1;
		}
		printf("heartbeat sent: client %s to %s\n", s.client_id,
		    s.url);
		return 0;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	log_info("running as client %s of %s", s.client_id, s.url);
	while (!stop_requested) {
		unsigned char j;
		int left;

		if (heartbeat(&s, &id, hwid, err) < 0)
			log_warn("%s", err);
		/* Jitter spreads a fleet's check-ins over the interval. */
		rand_bytes(&j, 1);
		left = interval - interval / 10 + (j % (interval / 5 + 1));
		while (left-- > 0 && !stop_requested)
			sleep(1);
	}
	identity_free(&id);
	log_info("stopped");
	return 0;
}

int
agent_status(const char *state_dir, int as_json)
{
	struct agent_state s;
	char err[ERRMSG_MAX], *pem;
	int64_t not_after = 0;
	int identity;

	if (state_load(state_dir, &s, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	identity = strcmp(s.status, "issued") == 0;
	pem = identity ? state_read(&s, AGENT_CERT, NULL) : NULL;
	if (pem != NULL) {
		X509 *c = pki_cert_from_pem(pem, strlen(pem), NULL);

		not_after = c ? pki_cert_not_after(c) : 0;
		X509_free(c);
		free(pem);
	}
	if (as_json) {
		json_t *o = json_pack("{s:s,s:b,s:s,s:s,s:s,s:s,s:s}",
		    "state_dir", state_dir, "identity", identity, "status",
		    s.status[0] ? s.status : "none", "client_id", s.client_id,
		    "site", s.url, "ca_fingerprint", s.ca_fpr, "request_id",
		    s.request_id);
		char *text;

		if (not_after)
			json_object_set_new(o, "cert_not_after",
			    json_integer(not_after));
		text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", text);
		free(text);
		json_decref(o);
		return 0;
	}
	printf("state:     %s\n", state_dir);
	printf("identity:  %s\n", identity ? "present" : "none");
	printf("status:    %s\n", s.status[0] ? s.status : "not enrolled");
	if (s.client_id[0])
		printf("client id: %s\n", s.client_id);
	if (s.url[0])
		printf("site:      %s (CA %s)\n", s.url, s.ca_fpr);
	if (not_after) {
		char when[32];

		time_iso(not_after, when, sizeof(when));
		printf("cert until: %s\n", when);
	}
	return 0;
}
