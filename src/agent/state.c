/* state.c - the agent's state directory: identity files and state.json. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agent.h"
#include "common/util.h"

int
state_path(const struct agent_state *s, const char *name, char *out,
    size_t size)
{
	return str_fmt(out, size, "%s/%s", s->dir, name);
}

char *
state_read(const struct agent_state *s, const char *name, char *err)
{
	char path[PATH_MAX], *text;

	state_path(s, name, path, sizeof(path));
	/* The largest state file is a signed policy (at most 1 MiB). */
	if (file_read(path, 2 * 1024 * 1024, &text, NULL, err) < 0)
		return NULL;
	return text;
}

json_t *
state_json(const struct agent_state *s, const char *name)
{
	char *text = state_read(s, name, NULL);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ifaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *a;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return -1;
	return inet_ntop(sa->sa_family, a, buf, (socklen_t)size) ? 0 : -1;
}

static void
get(json_t *o, const char *key, char *out, size_t size)
{
	const char *v = json_string_value(json_object_get(o, key));

	str_copy(out, size, v ? v : "");
}

int
state_load(const char *dir, struct agent_state *s, char *err)
{
	char path[PATH_MAX], *text;
	size_t len;
	json_t *o;
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (str_copy(s->dir, sizeof(s->dir), dir) < 0)
		return err_set(err, "state directory path too long");
	state_path(s, AGENT_STATE, path, sizeof(path));
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (file_check_secret(path, err) < 0)
		return -1;
	if (file_read(path, 65536, &text, &len, err) < 0)
		return -1;
	o = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_set(err, "%s is damaged; remove the state directory "
				    "and enroll again",
		    path);
	}
	get(o, "url", s->url, sizeof(s->url));
	get(o, "ca_fingerprint", s->ca_fpr, sizeof(s->ca_fpr));
	get(o, "signing_key", s->sign_pub, sizeof(s->sign_pub));
	get(o, "client_id", s->client_id, sizeof(s->client_id));
	get(o, "request_id", s->request_id, sizeof(s->request_id));
	get(o, "poll_secret", s->poll_secret, sizeof(s->poll_secret));
	get(o, "status", s->status, sizeof(s->status));
	get(o, "hostname", s->hostname, sizeof(s->hostname));
	get(o, "hardware_id", s->hardware_id, sizeof(s->hardware_id));
	json_decref(o);
	return 0;
}

int
state_save(const struct agent_state *s, char *err)
{
	char path[PATH_MAX], *text;
	json_t *o;
	int r;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "url", s->url,
	    "ca_fingerprint", s->ca_fpr, "signing_key", s->sign_pub,
	    "client_id", s->client_id, "request_id", s->request_id,
	    "poll_secret", s->poll_secret, "status", s->status, "hostname",
	    s->hostname, "hardware_id", s->hardware_id);
	if (o == NULL)
		return err_set(err, "cannot encode agent state");
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return err_set(err, "cannot encode agent state");
	state_path(s, AGENT_STATE, path, sizeof(path));
	r = file_write_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return r;
}
