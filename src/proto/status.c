/* status.c - parse and validate status message batches and health reports;
 * both are untrusted input from devices. */
#include "status.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "wire.h"

#define SKEW_BACK (30 * 86400)
#define SKEW_AHEAD 86400

int
status_component_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") == n;
}

int
status_severity_valid(const char *s)
{
	return strcmp(s, "info") == 0 || strcmp(s, "warning") == 0 ||
	    strcmp(s, "error") == 0;
}

static int
only_keys(json_t *o, const char *const *keys, const char *path, char *err)
{
	const char *k;
	json_t *v;
	int i;

	json_object_foreach(o, k, v)
	{
		for (i = 0; keys[i]; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return err_set(err, "%s%.64s: unknown field", path, k);
	}
	return 0;
}

static int
int_field(json_t *o, const char *key, int64_t min, int64_t max,
    const char *path, int64_t *out, char *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return err_set(err, "%s%s: must be an integer from %lld to %lld",
		    path, key, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int
text_ok(json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	size_t i, n;

	if (s == NULL)
		return 0;
	n = json_string_length(v);
	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
msg_parse(json_t *o, int64_t now, size_t idx, struct status_msg *m, char *err)
{
	static const char *const keys[] = {"uid", "component", "message_id",
	    "severity", "time", "strings", NULL};
	char path[40];
	json_t *v, *s;
	size_t i;

	str_fmt(path, sizeof(path), "messages[%zu].", idx);
	if (!json_is_object(o))
		return err_set(err, "messages[%zu]: must be an object", idx);
	if (only_keys(o, keys, path, err) < 0 ||
	    int_field(o, "uid", 1, INT64_MAX, path, &m->uid, err) < 0 ||
	    int_field(o, "message_id", 0, 2147483647, path, &m->message_id,
		err) < 0 ||
	    int_field(o, "time", now - SKEW_BACK, now + SKEW_AHEAD, path,
		&m->at, err) < 0)
		return -1;
	v = json_object_get(o, "component");
	if (!json_is_string(v) || !status_component_valid(json_string_value(v)))
		return err_set(err, "%scomponent: 1-64 of [A-Za-z0-9._-]",
		    path);
	str_copy(m->component, sizeof(m->component), json_string_value(v));
	v = json_object_get(o, "severity");
	if (!json_is_string(v) || !status_severity_valid(json_string_value(v)))
		return err_set(err, "%sseverity: info, warning or error", path);
	str_copy(m->severity, sizeof(m->severity), json_string_value(v));
	v = json_object_get(o, "strings");
	if (v == NULL)
		v = json_array();
	else
		json_incref(v);
	if (!json_is_array(v) || json_array_size(v) > STATUS_STRINGS_MAX) {
		json_decref(v);
		return err_set(err, "%sstrings: a list of at most %d strings",
		    path, STATUS_STRINGS_MAX);
	}
	json_array_foreach(v, i, s)
	{
		if (!text_ok(s, STATUS_STRING_LEN)) {
			json_decref(v);
			return err_set(err,
			    "%sstrings[%zu]: text of at most %d characters "
			    "without control characters",
			    path, i, STATUS_STRING_LEN);
		}
	}
	m->strings = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return m->strings ? 0 : err_set(err, "out of memory");
}

int
status_parse(const char *body, size_t len, int64_t now,
    struct status_batch *b, char *err)
{
	static const char *const keys[] = {"client_id", "messages", NULL};
	json_t *list, *v;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->doc = wire_load_object(body, len, STATUS_BODY_MAX, err);
	if (b->doc == NULL)
		return -1;
	if (only_keys(b->doc, keys, "", err) < 0)
		goto fail;
	v = json_object_get(b->doc, "client_id");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) > 64) {
			err_set(err, "client_id: must be a client id");
			goto fail;
		}
		b->client_id = json_string_value(v);
	}
	list = json_object_get(b->doc, "messages");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > STATUS_BATCH_MAX) {
		err_set(err, "messages: a list of 1 to %d messages",
		    STATUS_BATCH_MAX);
		goto fail;
	}
	b->msgs = calloc(json_array_size(list), sizeof(*b->msgs));
	if (b->msgs == NULL) {
		err_set(err, "out of memory");
		goto fail;
	}
	json_array_foreach(list, i, v)
	{
		b->n = i + 1;
		if (msg_parse(v, now, i, &b->msgs[i], err) < 0)
			goto fail;
	}
	return 0;
fail:
	status_batch_free(b);
	return -1;
}

void
status_batch_free(struct status_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->msgs[i].strings);
	free(b->msgs);
	json_decref(b->doc);
	memset(b, 0, sizeof(*b));
}

int
health_parse(const char *body, size_t len, int64_t now,
    struct health_report *h, char *err)
{
	static const char *const keys[] = {"uid", "time", "checks", NULL};
	static const char *const ckeys[] = {"name", "ok", "remediated",
	    "detail", NULL};
	json_t *o, *list, *c, *canon;
	int failing = 0, fixed = 0;
	size_t i;

	memset(h, 0, sizeof(*h));
	o = wire_load_object(body, len, HEALTH_BODY_MAX, err);
	if (o == NULL)
		return -1;
	if (only_keys(o, keys, "", err) < 0 ||
	    int_field(o, "uid", 1, INT64_MAX, "", &h->uid, err) < 0 ||
	    int_field(o, "time", now - SKEW_BACK, now + SKEW_AHEAD, "", &h->at,
		err) < 0)
		goto fail;
	list = json_object_get(o, "checks");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > HEALTH_CHECKS_MAX) {
		err_set(err, "checks: a list of 1 to %d checks",
		    HEALTH_CHECKS_MAX);
		goto fail;
	}
	canon = json_array();
	json_array_foreach(list, i, c)
	{
		char path[32];
		json_t *name = json_object_get(c, "name");
		json_t *ok = json_object_get(c, "ok");
		json_t *rem = json_object_get(c, "remediated");
		json_t *det = json_object_get(c, "detail");

		str_fmt(path, sizeof(path), "checks[%zu].", i);
		if (!json_is_object(c) || only_keys(c, ckeys, path, err) < 0 ||
		    !json_is_string(name) ||
		    !status_component_valid(json_string_value(name)) ||
		    !json_is_boolean(ok) || (rem && !json_is_boolean(rem)) ||
		    (det && !text_ok(det, STATUS_STRING_LEN))) {
			if (err && !strstr(err, "unknown field"))
				err_set(err,
				    "%s: needs name ([A-Za-z0-9._-]), ok "
				    "(bool), optional remediated (bool) and "
				    "detail (text)",
				    path);
			json_decref(canon);
			goto fail;
		}
		if (!json_is_true(ok))
			failing = 1;
		else if (json_is_true(rem))
			fixed = 1;
		json_array_append_new(canon,
		    json_pack("{s:O,s:O,s:b,s:s}", "name", name, "ok", ok,
			"remediated", json_is_true(rem), "detail",
			det ? json_string_value(det) : ""));
	}
	h->checks = json_dumps(canon, JSON_COMPACT);
	json_decref(canon);
	str_copy(h->state, sizeof(h->state),
	    failing ? "failing" : fixed ? "remediated" : "healthy");
	json_decref(o);
	return h->checks ? 0 : err_set(err, "out of memory");
fail:
	json_decref(o);
	return -1;
}

void
health_report_free(struct health_report *h)
{
	free(h->checks);
	h->checks = NULL;
}
