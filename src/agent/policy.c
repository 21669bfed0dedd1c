/* policy.c - the agent's side of the signed policy: fetch it (ETag, so an
 * unchanged policy costs a 304), verify the site's signature before
 * anything is parsed, refuse a document for another client, an older
 * serial or an expired one, and report refusals to the site. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/policy.h"

#define AGENT_POLICY "policy.json"
#define AGENT_POLICY_DOC "policy.signed"
#define POLICY_REFUSED 3001

static json_t *
policy_state(struct agent_state *s)
{
	return state_json(s, AGENT_POLICY);
}

int
agent_policy_fresh(struct agent_state *s, int64_t now, char *detail,
    size_t size)
{
	json_t *st = policy_state(s);
	int64_t at = json_integer_value(json_object_get(st, "fetched_at"));
	char path[PATH_MAX];
	struct stat sb;
	int64_t exp = json_integer_value(json_object_get(st, "expires_at"));
	int ok;

	/* An unchanged policy (304) only touches the file. */
	state_path(s, AGENT_POLICY, path, sizeof(path));
	if (stat(path, &sb) == 0 && sb.st_mtime > at)
		at = sb.st_mtime;
	ok = st != NULL && now - at < 2 * 3600 && exp > now;

	if (st == NULL)
		str_copy(detail, size, "no policy yet");
	else
		str_fmt(detail, size, "serial %lld, fetched %llds ago",
		    (long long)json_integer_value(json_object_get(st, "serial")),
		    (long long)(now - at));
	json_decref(st);
	return ok;
}

/* Refuses a document: logs it and tells the site through the spool. */
static int
refuse(struct spool *sp, const char *why, char *err)
{
	log_err("policy refused: %s", why);
	if (sp != NULL)
		spool_status(sp, "policy", POLICY_REFUSED, "error",
		    json_pack("[s]", why), NULL);
	return err_set(err, "policy refused: %s", why);
}

int
agent_policy(struct agent_state *s, const struct identity *id,
    const char *crl, struct spool *sp, char *err)
{
	struct httpc_tls tls = identity_tls(id, 60, crl);
	struct httpc_resp resp;
	unsigned char pub[PKI_ED25519_PUB];
	char url[400], hdr[160] = "", why[ERRMSG_MAX], path[PATH_MAX];
	json_t *st = policy_state(s), *doc = NULL;
	const char *etag = json_string_value(json_object_get(st, "etag"));
	int64_t held = json_integer_value(json_object_get(st, "serial"));
	int r = -1;

	if (b64url_decode(s->sign_pub, strlen(s->sign_pub), pub, sizeof(pub)) !=
	    PKI_ED25519_PUB) {
		json_decref(st);
		return err_set(err, "no site signing key in %s; enroll again",
		    s->dir);
	}
	str_fmt(url, sizeof(url), "%s/v1/policy", s->url);
	if (etag)
		str_fmt(hdr, sizeof(hdr), "If-None-Match: \"%s\"", etag);
	if (httpc_request("GET", url, &tls, NULL, etag ? hdr : NULL, &resp,
		err) < 0) {
		json_decref(st);
		return -1;
	}
	if (resp.status == 304) {
		/* Unchanged: the file's time says it is fresh (nothing to
		 * rewrite and sync). */
		state_path(s, AGENT_POLICY, path, sizeof(path));
		if (st != NULL && utimensat(AT_FDCWD, path, NULL, 0) == 0) {
			r = 0;
			goto out;
		}
		json_object_set_new(st, "fetched_at", json_integer(now_unix()));
		r = 0;
		goto save;
	}
	if (resp.status != 200) {
		err_set(err, "policy request refused (HTTP %ld)", resp.status);
		goto out;
	}
	if (policy_verify(pub, resp.body, resp.len, s->client_id, held,
		now_unix(), &doc, why) < 0) {
		refuse(sp, why, err);
		goto out;
	}
	state_path(s, AGENT_POLICY_DOC, path, sizeof(path));
	if (file_write_atomic(path, resp.body, resp.len, 0600, err) < 0)
		goto out;
	json_decref(st);
	/* The ETag (without its quotes) goes back in the next request. */
	st = json_pack("{s:s,s:I,s:I,s:I}", "etag", "", "serial",
	    (json_int_t)json_integer_value(json_object_get(doc, "serial")),
	    "expires_at",
	    (json_int_t)json_integer_value(json_object_get(doc, "expires_at")),
	    "fetched_at", (json_int_t)now_unix());
	json_object_set_new(st, "etag",
	    json_string(resp.etag[0] ? resp.etag : ""));
	/* A hint for the executor, from the verified document: nothing to
	 * run. It can only make a run skip work; running anything still
	 * needs the signed document verified again. */
	{
		const char *unlock = json_string_value(json_object_get(
		    json_object_get(doc, "settings"), "unlock.on_restart"));

		json_object_set_new(st, "executor_idle",
		    json_boolean(json_array_size(json_object_get(doc,
				     "deployments")) == 0 &&
			(unlock == NULL || strcmp(unlock, "never") == 0)));
	}
	log_info("policy serial %lld verified and applied",
	    (long long)json_integer_value(json_object_get(doc, "serial")));
	r = 0;
save:
	{
		char *text = json_dumps(st, JSON_COMPACT);

		state_path(s, AGENT_POLICY, path, sizeof(path));
		if (text == NULL ||
		    file_write_atomic(path, text, strlen(text), 0600, err) < 0)
			r = -1;
		free(text);
	}
out:
	json_decref(doc);
	json_decref(st);
	httpc_resp_free(&resp);
	return r;
}

int
agent_policy_idle(struct agent_state *s)
{
	json_t *st = policy_state(s);
	int idle = json_is_true(json_object_get(st, "executor_idle"));

	json_decref(st);
	return idle;
}

json_t *
agent_policy_held(struct agent_state *s, char *err)
{
	unsigned char pub[PKI_ED25519_PUB];
	char *text;
	size_t len;
	json_t *doc;

	text = state_read(s, AGENT_POLICY_DOC, err);
	if (text == NULL)
		return NULL;
	len = strlen(text);
	/* Checked again before acting on it: signature, addressee, expiry. */
	if (b64url_decode(s->sign_pub, strlen(s->sign_pub), pub, sizeof(pub)) !=
		PKI_ED25519_PUB) {
		free(text);
		err_set(err, "no site signing key in %s; enroll again", s->dir);
		return NULL;
	}
	if (policy_verify(pub, text, len, s->client_id, 0, now_unix(), &doc,
		err) < 0) {
		free(text);
		return NULL;
	}
	free(text);
	return doc;
}

int64_t
agent_setting(struct agent_state *s, const char *key, int64_t def)
{
	char *text = state_read(s, AGENT_POLICY_DOC, NULL), *nl;
	json_t *o, *v;
	int64_t r = def;

	/* The stored document was verified when it was fetched. */
	if (text == NULL || (nl = strchr(text, '\n')) == NULL) {
		free(text);
		return def;
	}
	o = json_loads(nl + 1, 0, NULL);
	v = json_object_get(json_object_get(o, "settings"), key);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		r = json_integer_value(v);
	json_decref(o);
	free(text);
	return r;
}
