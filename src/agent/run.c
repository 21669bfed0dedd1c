/* run.c - "steward-agent run" and "status": the enrolled agent's loop; in
 * this version a heartbeat carrying the discovery record. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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
#include "proto/wire.h"

/* Set by the signal handler only. */
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* What the notification thread tells the main loop. */
struct channel {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int renew;     /* the site asked for a renewal */
	int policy;    /* the site asked for a policy fetch now */
	int blocked;   /* the site blocked this device */
	int spreads;   /* the daemon: acts on a spread at a moment of it */
	unsigned held; /* long-polls held so far */
	int64_t act_at; /* mono_secs() when to act on renew or policy, and
	                 * open the next long-poll (0: at once) */
	volatile int cancel;
	int64_t last_id;
	struct agent_state *s;
	const char *hwid;
};

static const char *
resp_error(const struct httpc_resp *resp, char *buf, size_t size)
{
	json_t *o = json_loadb(resp->body, resp->len, 0, NULL);
	const char *e = json_string_value(json_object_get(o, "error"));

	str_copy(buf, size, e ? e : "no reason given");
	json_decref(o);
	return buf;
}

/* POST /v1/heartbeat. answer, when given, gets the site's reply (with the
 * notifications pending): json_decref it. */
static int
heartbeat(struct agent_state *s, const struct identity *id, const char *hwid,
    const char *crl, int64_t *skew, json_t **answer, char *err)
{
	struct discovery d;
	struct httpc_tls tls = identity_tls(id, 30, crl);
	struct httpc_resp resp;
	char url[400], *body, msg[300];
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
		err_set(err, "heartbeat refused (HTTP %ld): %s", resp.status,
		    resp_error(&resp, msg, sizeof(msg)));
		r = resp.status == 403 && strstr(msg, "is blocked") ? -2 : -1;
		httpc_resp_free(&resp);
		return r;
	}
	{
		json_t *o = json_loadb(resp.body, resp.len, 0, NULL);
		json_t *t = json_object_get(o, "server_time");

		if (skew != NULL && json_is_integer(t))
			*skew = json_integer_value(t) - now_unix();
		if (answer != NULL && json_is_object(o))
			*answer = json_incref(o);
		json_decref(o);
	}
	httpc_resp_free(&resp);
	return 0;
}

/* Told with many devices (spread > 0 seconds): the daemon picks the
 * moment of the spread at which it acts, and opens its next long-poll
 * then too, so that a collection's devices do not all come back in the
 * same second. One moment per wave. Called with ch->lock held. */
static void
spread_pick(struct channel *ch, int64_t spread)
{
	unsigned char r[2];
	int64_t wait;

	if (!ch->spreads || spread <= 0 || ch->act_at != 0)
		return;
	if (spread > NOTIFY_SPREAD_MAX)
		spread = NOTIFY_SPREAD_MAX;
	rand_bytes(r, sizeof(r));
	wait = ((int64_t)r[0] << 8 | r[1]) % spread;
	ch->act_at = mono_secs() + wait;
	log_info("acting on the site's notification in %lld s (it spreads "
		 "its devices over %lld s)",
	    (long long)wait, (long long)spread);
}

/* Records notifications (a JSON array) in ch. */
static void
notes_apply(struct channel *ch, json_t *notes)
{
	json_t *n;
	size_t i;

	pthread_mutex_lock(&ch->lock);
	json_array_foreach(notes, i, n)
	{
		const char *kind = json_string_value(json_object_get(n, "kind"));
		int64_t nid = json_integer_value(json_object_get(n, "id"));

		if (nid > ch->last_id)
			ch->last_id = nid;
		if (kind == NULL)
			continue;
		log_info("notification from the site: %s", kind);
		if (strcmp(kind, "blocked") == 0) {
			ch->blocked = 1;
			continue;
		}
		if (strcmp(kind, "renew") == 0)
			ch->renew = 1;
		else if (strcmp(kind, "policy") == 0)
			ch->policy = 1;
		else
			continue;
		spread_pick(ch, json_integer_value(json_object_get(n,
				    "spread")));
	}
	pthread_cond_signal(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}

/* A long-poll is held: counted, so that the waiting daemon gives back
 * what its handshake brought in (below). */
static void
long_poll_held(void *arg)
{
	struct channel *ch = arg;

	pthread_mutex_lock(&ch->lock);
	ch->held++;
	pthread_mutex_unlock(&ch->lock);
}

/* One GET /v1/notify; records what arrived in ch. Returns 0 on an answer,
 * -1 on a transport error, -2 when the site refuses this client. */
static int
notify_poll(struct channel *ch, const struct identity *have, int wait,
    char *err)
{
	struct identity own;
	const struct identity *id = have;
	struct httpc_resp resp;
	struct httpc_tls tls;
	char url[512], msg[300], crl[PATH_MAX];
	json_t *o;
	int r;

	/* The long-poll thread reads the identity afresh each time (a
	 * renewal may have replaced it); a check-in passes the one it has. */
	if (id == NULL) {
		if (identity_load(ch->s, &own, err) < 0)
			return -1;
		id = &own;
	}
	/* The site's certificate checked against its CRL here too (and the
	 * run's connection and TLS session shared). */
	tls = identity_tls(id, wait + 60,
	    agent_crl_held(ch->s, crl, sizeof(crl)));
	tls.cancel = &ch->cancel;
	tls.sent = long_poll_held;
	tls.sent_arg = ch;
	str_fmt(url, sizeof(url), "%s/v1/notify?after=%lld&wait=%d",
	    ch->s->url, (long long)ch->last_id, wait);
	r = httpc_request("GET", url, &tls, NULL, NULL, &resp, err);
	if (have == NULL)
		identity_free(&own);
	if (r < 0)
		return -1;
	if (resp.status != 200) {
		err_set(err, "notification channel refused (HTTP %ld): %s",
		    resp.status, resp_error(&resp, msg, sizeof(msg)));
		r = resp.status == 403 ? -2 : -1;
		if (resp.status == 403 && strstr(msg, "is blocked")) {
			pthread_mutex_lock(&ch->lock);
			ch->blocked = 1;
			pthread_cond_signal(&ch->cond);
			pthread_mutex_unlock(&ch->lock);
		}
		httpc_resp_free(&resp);
		return r;
	}
	o = json_loadb(resp.body, resp.len, 0, NULL);
	httpc_resp_free(&resp);
	notes_apply(ch, json_object_get(o, "notifications"));
	json_decref(o);
	return 0;
}

/* Keeps one long-poll open while the agent runs; reconnects with jittered
 * exponential backoff (1 s doubling to 60 s) after failures. */
static void *
notify_main(void *arg)
{
	struct channel *ch = arg;
	char err[ERRMSG_MAX];
	int backoff = 1;

	while (!stop_requested && !ch->cancel) {
		int r = notify_poll(ch, NULL, 300, err);
		unsigned char j;
		int ms;

		if (r == 0) {
			int64_t at;

			backoff = 1;
			/* The next long-poll at the moment picked to act. */
			pthread_mutex_lock(&ch->lock);
			at = ch->act_at;
			pthread_mutex_unlock(&ch->lock);
			while (mono_secs() < at && !stop_requested &&
			    !ch->cancel)
				usleep(100 * 1000);
			continue;
		}
		if (ch->cancel || stop_requested)
			break;
		log_warn("%s", err);
		if (r == -2 && ch->blocked)
			break;
		rand_bytes(&j, 1);
		ms = backoff * 1000 / 2 + (j * backoff * 1000 / 2) / 255;
		while (ms > 0 && !stop_requested && !ch->cancel) {
			usleep(100 * 1000);
			ms -= 100;
		}
		if (backoff < 60)
			backoff *= 2;
	}
	return NULL;
}

/* Waits until mono_secs() reaches at, in one-second slices: a stop or a
 * block ends it. Then the moment is used up. */
static void
spread_wait(int64_t at, struct channel *ch)
{
	for (;;) {
		int blocked;

		pthread_mutex_lock(&ch->lock);
		blocked = ch->blocked;
		pthread_mutex_unlock(&ch->lock);
		if (blocked || stop_requested || mono_secs() >= at)
			break;
		sleep(1);
	}
	pthread_mutex_lock(&ch->lock);
	ch->act_at = 0;
	pthread_mutex_unlock(&ch->lock);
}

static int
report_blocked(const struct agent_state *s)
{
	log_err("the site blocked this device (client %s); it will not be "
		"served until an administrator unblocks it, and then it must "
		"enroll again",
	    s->client_id);
	return 1;
}

/* Renews when due or asked; returns -1 on failure (logged). */
static int
maybe_renew(struct agent_state *s, struct identity *id, const char *hwid,
    int asked)
{
	char err[ERRMSG_MAX];

	if (!asked && !renew_due(id->not_before, id->not_after, now_unix()))
		return 0;
	log_info("renewing the certificate (%s)",
	    asked ? "the site asked" : "two thirds of its lifetime passed");
	if (agent_renew(s, id, hwid, err) < 0) {
		log_warn("renewal failed: %s", err);
		return -1;
	}
	identity_free(id);
	if (identity_load(s, id, err) < 0) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* The periodic work after a heartbeat: inventory when due, self-checks
 * when due, and the spool sent. */
static void
periodic(struct agent_state *s, struct identity *id, const char *crl,
    int site_ok, int64_t skew, int have_skew)
{
	char err[ERRMSG_MAX];
	struct spool *sp;
	int sent;

	if (site_ok && agent_inventory(s, id, crl, 0, err) < 0)
		log_warn("%s", err);
	sp = spool_open(s, err);
	if (sp == NULL) {
		log_warn("%s", err);
		return;
	}
	if (site_ok && agent_policy(s, id, crl, sp, err) < 0)
		log_warn("%s", err);
	/* Deployments fetch their content: only while the site answers. */
	if (site_ok && agent_deploy(s, id, crl, sp, 0, err) < 0)
		log_warn("deployments: %s", err);
	if (agent_health(s, id, sp, site_ok, skew, have_skew, 0, err) < 0)
		log_warn("%s", err);
	if (site_ok && spool_flush(sp, s, id, crl, &sent, err) < 0)
		log_warn("%lld report(s) kept in the spool: %s",
		    (long long)spool_pending(sp), err);
	spool_close(sp);
}

static int
run_once(struct agent_state *s, struct identity *id, const char *hwid)
{
	struct channel ch;
	char err[ERRMSG_MAX], crl[PATH_MAX];
	const char *crlp = agent_crl(s, id, crl, sizeof(crl));
	json_t *answer = NULL, *notes;
	int64_t skew = 0;
	int r;

	r = heartbeat(s, id, hwid, crlp, &skew, &answer, err);
	if (r < 0) {
		/* Into the protected log too, not only standard error. */
		log_err("%s", err);
		if (r == -2)
			return report_blocked(s);
		/* The site is down: checks still run, reports wait. */
		periodic(s, id, crlp, 0, 0, 0);
		return 1;
	}
	printf("heartbeat sent: client %s to %s\n", s->client_id, s->url);
	periodic(s, id, crlp, 1, skew, 1);
	/* Anything queued for us (a renewal request): in the heartbeat's
	 * answer, or asked for without waiting from a site that gave none. */
	memset(&ch, 0, sizeof(ch));
	pthread_mutex_init(&ch.lock, NULL);
	pthread_cond_init(&ch.cond, NULL);
	ch.s = s;
	notes = json_object_get(answer, "notifications");
	if (json_is_array(notes))
		notes_apply(&ch, notes);
	else if (notify_poll(&ch, id, 0, err) < 0)
		log_warn("%s", err);
	json_decref(answer);
	if (ch.blocked)
		return report_blocked(s);
	r = maybe_renew(s, id, hwid, ch.renew) < 0 ? 1 : 0;
	/* What this run acted on is acknowledged (after=), or the next
	 * check-in is told again: a renewal asked once would be made at every
	 * run. One more request, only when there was something; a renewal
	 * that failed stays asked. The policy was fetched after the heartbeat
	 * that told of it, so it is as new as the notification. */
	if (ch.last_id > 0 && r == 0 && notify_poll(&ch, id, 0, err) < 0)
		log_warn("%s", err);
	pthread_mutex_destroy(&ch.lock);
	pthread_cond_destroy(&ch.cond);
	return r;
}

int
agent_send_status(const char *state_dir, const char *component,
    int64_t message_id, const char *severity, int count, char **strings,
    int nstrings)
{
	struct agent_state s;
	struct identity id;
	struct spool *sp;
	char err[ERRMSG_MAX], crl[PATH_MAX];
	int i, j, sent = 0, r;

	if (state_load(state_dir, &s, err) < 0 ||
	    identity_load(&s, &id, err) < 0 ||
	    (sp = spool_open(&s, err)) == NULL) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	for (i = 0; i < count; i++) {
		json_t *a = json_array();

		for (j = 0; j < nstrings; j++)
			json_array_append_new(a, json_string(strings[j]));
		if (spool_status(sp, component, message_id, severity, a, err) <
		    0) {
			fprintf(stderr, "steward-agent: %s\n", err);
			spool_close(sp);
			identity_free(&id);
			return 1;
		}
	}
	r = spool_flush(sp, &s, &id, agent_crl(&s, &id, crl, sizeof(crl)),
	    &sent, err);
	printf("queued %d status message(s); sent %d; %lld waiting in the "
	       "spool\n",
	    count, sent, (long long)spool_pending(sp));
	if (r < 0)
		fprintf(stderr, "steward-agent: %s; they will be sent later\n",
		    err);
	spool_close(sp);
	identity_free(&id);
	return 0;
}

int
agent_install(const char *state_dir, int64_t deployment)
{
	struct agent_state s;
	struct identity id;
	struct spool *sp;
	char err[ERRMSG_MAX], crl[PATH_MAX];
	const char *crlp;
	int r, sent;

	if (state_load(state_dir, &s, err) < 0 ||
	    identity_load(&s, &id, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	sp = spool_open(&s, err);
	if (sp == NULL) {
		fprintf(stderr, "steward-agent: %s\n", err);
		identity_free(&id);
		return 1;
	}
	crlp = agent_crl(&s, &id, crl, sizeof(crl));
	/* The newest policy first: the deployment must be in it. */
	if (agent_policy(&s, &id, crlp, sp, err) < 0)
		log_warn("%s", err);
	r = agent_deploy(&s, &id, crlp, sp, deployment, err);
	if (r < 0)
		fprintf(stderr, "steward-agent: %s\n", err);
	spool_flush(sp, &s, &id, crlp, &sent, err);
	spool_close(sp);
	identity_free(&id);
	if (r < 0)
		return 1;
	{
		json_t *list = agent_deployments(&s, err), *d;
		size_t i;
		int rc = 1;

		json_array_foreach(list, i, d)
		{
			if (json_integer_value(json_object_get(d, "id")) !=
			    deployment)
				continue;
			printf("deployment %lld: %s\n", (long long)deployment,
			    json_string_value(json_object_get(d, "state")));
			rc = strcmp(json_string_value(json_object_get(d,
					"state")),
				 "succeeded") == 0
			    ? 0
			    : 1;
		}
		json_decref(list);
		return rc;
	}
}

int
agent_list_deployments(const char *state_dir, int as_json)
{
	struct agent_state s;
	char err[ERRMSG_MAX];
	json_t *list, *d;
	size_t i;

	if (state_load(state_dir, &s, err) < 0 ||
	    (list = agent_deployments(&s, err)) == NULL) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	if (as_json) {
		char *text = json_dumps(list, JSON_INDENT(2));

		printf("%s\n", text ? text : "[]");
		free(text);
	} else {
		json_array_foreach(list, i, d)
			printf("%-6lld %-10s %-9s %-9s %s\n",
			    (long long)json_integer_value(json_object_get(d,
				"id")),
			    json_string_value(json_object_get(d, "state")),
			    json_string_value(json_object_get(d, "type")),
			    json_is_true(json_object_get(d, "required"))
				? "required"
				: "available",
			    json_string_value(json_object_get(d, "name")));
	}
	json_decref(list);
	return 0;
}

int
agent_run(const struct run_opts *o)
{
	struct agent_state s;
	struct identity id;
	struct channel ch;
	pthread_t nt;
	char err[ERRMSG_MAX], crl[PATH_MAX];
	const char *hwid;
	int interval = o->interval_secs > 0 ? o->interval_secs : 3600, rc = 0;

	if (state_load(o->state_dir, &s, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	if (strcmp(s.status, "issued") == 0)
		identity_recover(&s);
	if (identity_load(&s, &id, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	hwid = o->hardware_id ? o->hardware_id
			      : (s.hardware_id[0] ? s.hardware_id : NULL);
	if (id.not_after <= now_unix()) {
		char when[32];

		time_iso(id.not_after, when, sizeof(when));
		fprintf(stderr,
		    "steward-agent: this device's certificate expired at %s; "
		    "run 'steward-agent reset-identity' and enroll again with "
		    "a new token\n",
		    when);
		identity_free(&id);
		return 1;
	}
	if (o->once) {
		rc = run_once(&s, &id, hwid);
		identity_free(&id);
		return rc;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	memset(&ch, 0, sizeof(ch));
	pthread_mutex_init(&ch.lock, NULL);
	pthread_cond_init(&ch.cond, NULL);
	ch.s = &s;
	ch.hwid = hwid;
	ch.spreads = 1;
	pthread_create(&nt, NULL, notify_main, &ch);
	log_info("running as client %s of %s", s.client_id, s.url);
	while (!stop_requested) {
		struct timespec until;
		const char *crlp;
		int64_t skew = 0;
		unsigned char j;
		int left, renew, blocked, fetch, r, release_in = 0;
		int64_t act_at;
		unsigned released;

		/* The CRL first: a revoked site certificate is known before
		 * anything about the device is sent. Notifications reach the
		 * daemon by its long-poll. */
		crlp = agent_crl(&s, &id, crl, sizeof(crl));
		r = heartbeat(&s, &id, hwid, crlp, &skew, NULL, err);
		if (r == -2) {
			rc = report_blocked(&s);
			break;
		}
		if (r < 0)
			log_warn("%s", err);
		periodic(&s, &id, crlp, r == 0, skew, r == 0);
		maybe_renew(&s, &id, hwid, 0);
		/* policy.interval from the site unless --interval was given;
		 * jitter spreads a fleet's check-ins over the interval. */
		if (o->interval_secs <= 0)
			interval = (int)agent_setting(&s, "policy.interval",
			    3600);
		rand_bytes(&j, 1);
		left = interval - interval / 10 + (j % (interval / 5 + 1));
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += left;
		/* Waiting is most of an agent's life: small while it waits,
		 * and holding no connection but its long-poll. */
		httpc_release();
		pthread_mutex_lock(&ch.lock);
		released = ch.held;
		pthread_mutex_unlock(&ch.lock);
		agent_idle_release();
		pthread_mutex_lock(&ch.lock);
		/* Waits in one-second slices: a signal sets stop_requested
		 * but does not wake a condition wait. */
		for (;;) {
			struct timespec now, slice;

			if (stop_requested || ch.renew || ch.blocked ||
			    ch.policy)
				break;
			clock_gettime(CLOCK_REALTIME, &now);
			if (now.tv_sec >= until.tv_sec)
				break;
			/* A long-poll held since (the threads race at the
			 * start, and it is opened again every few minutes):
			 * its handshake and the session ticket that follows
			 * brought library pages back. Given back a slice
			 * later, once the ticket has come. */
			if (ch.held != released && ++release_in > 1) {
				released = ch.held;
				release_in = 0;
				pthread_mutex_unlock(&ch.lock);
				agent_idle_release();
				pthread_mutex_lock(&ch.lock);
			}
			slice = now;
			slice.tv_sec += 1;
			pthread_cond_timedwait(&ch.cond, &ch.lock, &slice);
		}
		renew = ch.renew;
		blocked = ch.blocked;
		fetch = ch.policy;
		act_at = ch.act_at;
		ch.renew = ch.policy = 0;
		pthread_mutex_unlock(&ch.lock);
		/* Told with a whole collection: act at the moment picked in
		 * the span the site gave, not in the same second as the
		 * fleet. */
		if (act_at != 0) {
			spread_wait(act_at, &ch);
			if (stop_requested)
				break;
		}
		if (fetch) {
			struct spool *sp = spool_open(&s, err);

			if (agent_policy(&s, &id, crlp, sp, err) < 0)
				log_warn("%s", err);
			else {
				log_info("policy fetched, as the site asked");
				if (sp != NULL &&
				    agent_deploy(&s, &id, crlp, sp, 0, err) < 0)
					log_warn("deployments: %s", err);
			}
			if (sp != NULL) {
				int sent;

				spool_flush(sp, &s, &id, crlp, &sent, err);
				spool_close(sp);
			}
			continue;
		}
		if (blocked) {
			rc = report_blocked(&s);
			break;
		}
		if (renew)
			maybe_renew(&s, &id, hwid, 1);
	}
	ch.cancel = 1;
	pthread_join(nt, NULL);
	pthread_mutex_destroy(&ch.lock);
	pthread_cond_destroy(&ch.cond);
	identity_free(&id);
	log_info("stopped");
	return rc;
}

int
agent_reset_identity(const char *state_dir)
{
	static const char *files[] = {AGENT_KEY, AGENT_CERT, AGENT_KEY_NEW,
	    AGENT_CERT_NEW, AGENT_CRL, "inventory.json", "health.json",
	    "policy.json", "policy.signed", "inventory.due",
	    "deployments.json", "spool.db", "spool.db-wal", "spool.db-shm"};
	struct agent_state s;
	char err[ERRMSG_MAX], path[PATH_MAX];
	size_t i;
	int removed = 0;

	if (state_load(state_dir, &s, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return 1;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		state_path(&s, files[i], path, sizeof(path));
		if (unlink(path) == 0) {
			printf("removed %s\n", path);
			removed++;
		} else if (errno != ENOENT) {
			fprintf(stderr, "steward-agent: cannot remove %s: %s\n",
			    path, strerror(errno));
			return 1;
		}
	}
	/* Saved TLS sessions resume this identity: none may stay. */
	{
		DIR *d = opendir(state_dir);
		struct dirent *de;
		size_t pl = strlen(AGENT_TLS_SESSION);

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, AGENT_TLS_SESSION, pl) != 0)
				continue;
			state_path(&s, de->d_name, path, sizeof(path));
			if (unlink(path) == 0) {
				printf("removed %s\n", path);
				removed++;
			}
		}
		if (d != NULL)
			closedir(d);
	}
	if (s.client_id[0])
		printf("removed client id %s\n", s.client_id);
	if (s.request_id[0])
		printf("removed pending enrollment request %s\n",
		    s.request_id);
	if (s.client_id[0] || s.request_id[0] || s.status[0] ||
	    s.hardware_id[0]) {
		s.client_id[0] = s.request_id[0] = s.poll_secret[0] = '\0';
		s.status[0] = s.hardware_id[0] = s.hostname[0] = '\0';
		if (state_save(&s, err) < 0) {
			fprintf(stderr, "steward-agent: %s\n", err);
			return 1;
		}
		removed++;
	}
	printf("%s: %s; the site CA pin is kept, enrolling again needs a "
	       "token\n",
	    state_dir, removed ? "no identity left" : "held no identity");
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
