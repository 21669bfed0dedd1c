/* discovery.c - parse and validate the discovery record and enrollment
 * request a device sends. Everything here is untrusted input. */
#include "discovery.h"

#include <string.h>

#include "../common/util.h"
#include "wire.h"

int
discovery_hostname_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '-' || s[i] == '_'))
			return 0;
	return i > 0 && i < DISC_HOST_MAX;
}

int
discovery_hwid_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i >= 8 && i < DISC_HWID_MAX;
}

/* Printable text without control characters, shorter than size. */
static int
text_field(json_t *o, const char *key, char *out, size_t size, int required,
    char *err)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t i, n;

	if (v == NULL) {
		if (required)
			return err_set(err, "missing field '%s'", key);
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, "field '%s' must be a string", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= size)
		return err_set(err, "field '%s' is longer than %zu bytes", key,
		    size - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set(err,
			    "field '%s' holds a control character", key);
	memcpy(out, s, n + 1);
	return 0;
}

int
discovery_from_json(json_t *o, struct discovery *d, char *err)
{
	static const char *known[] = {"hostname", "hardware_id", "os",
	    "kernel", "agent_version", "addresses"};
	const char *key;
	json_t *v;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return err_set(err, "device record must be a JSON object");
	json_object_foreach(o, key, v)
	{
		int ok = 0;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= strcmp(key, known[i]) == 0;
		if (!ok)
			return err_set(err, "unknown field '%.64s'", key);
	}
	if (text_field(o, "hostname", d->hostname, sizeof(d->hostname), 1,
		err) < 0 ||
	    text_field(o, "hardware_id", d->hardware_id,
		sizeof(d->hardware_id), 1, err) < 0 ||
	    text_field(o, "os", d->os, sizeof(d->os), 0, err) < 0 ||
	    text_field(o, "kernel", d->kernel, sizeof(d->kernel), 0, err) < 0 ||
	    text_field(o, "agent_version", d->agent_version,
		sizeof(d->agent_version), 0, err) < 0)
		return -1;
	if (!discovery_hostname_valid(d->hostname))
		return err_set(err, "field 'hostname' is not a valid host name");
	if (!discovery_hwid_valid(d->hardware_id))
		return err_set(err,
		    "field 'hardware_id' must be 8-128 printable characters");
	v = json_object_get(o, "addresses");
	if (v != NULL) {
		json_t *a;

		if (!json_is_array(v))
			return err_set(err, "field 'addresses' must be a list");
		if (json_array_size(v) > DISC_ADDR_MAX)
			return err_set(err,
			    "field 'addresses' has more than %d entries",
			    DISC_ADDR_MAX);
		json_array_foreach(v, i, a)
		{
			const char *s = json_string_value(a);

			if (s == NULL || json_string_length(a) == 0 ||
			    json_string_length(a) >= DISC_ADDR_LEN ||
			    strspn(s, "0123456789abcdefABCDEF.:/%") !=
				json_string_length(a))
				return err_set(err,
				    "addresses[%zu] is not an IP address", i);
			memcpy(d->addresses[i], s, json_string_length(a) + 1);
		}
		d->naddresses = json_array_size(v);
	}
	return 0;
}

char *
discovery_to_json(const struct discovery *d)
{
	json_t *o, *a;
	char *s;
	size_t i;

	a = json_array();
	for (i = 0; i < d->naddresses; i++)
		json_array_append_new(a, json_string(d->addresses[i]));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "hostname", d->hostname,
	    "hardware_id", d->hardware_id, "os", d->os, "kernel", d->kernel,
	    "agent_version", d->agent_version, "addresses", a);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

int
heartbeat_parse(const char *body, size_t len, struct discovery *d, char *err)
{
	json_t *o = wire_load_object(body, len, HEARTBEAT_BODY_MAX, err);
	int r;

	if (o == NULL)
		return -1;
	r = discovery_from_json(o, d, err);
	json_decref(o);
	return r;
}

int
enroll_request_parse(const char *body, size_t len, struct enroll_request *r,
    char *err)
{
	json_t *o = wire_load_object(body, len, ENROLL_BODY_MAX, err);
	json_t *tok, *csr, *dev;
	const char *key;
	json_t *v;
	int ret = -1;

	if (o == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "token") && strcmp(key, "csr") &&
		    strcmp(key, "device")) {
			err_set(err, "unknown field '%.64s'", key);
			goto out;
		}
	}
	tok = json_object_get(o, "token");
	csr = json_object_get(o, "csr");
	dev = json_object_get(o, "device");
	if (!json_is_string(tok)) {
		err_set(err, "missing field 'token'");
		goto out;
	}
	if (token_parse(json_string_value(tok), json_string_length(tok),
		&r->token, err) < 0)
		goto out;
	if (!json_is_string(csr)) {
		err_set(err, "missing field 'csr'");
		goto out;
	}
	if (json_string_length(csr) > PKI_CSR_MAX) {
		err_set(err, "field 'csr' is larger than %d bytes",
		    PKI_CSR_MAX);
		goto out;
	}
	memcpy(r->csr, json_string_value(csr), json_string_length(csr) + 1);
	if (dev == NULL) {
		err_set(err, "missing field 'device'");
		goto out;
	}
	if (discovery_from_json(dev, &r->disc, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

char *
enroll_request_build(const char *token, const char *csr,
    const struct discovery *d)
{
	char *dj = discovery_to_json(d), *s = NULL;
	json_t *dev, *o;

	if (dj == NULL)
		return NULL;
	dev = json_loads(dj, 0, NULL);
	free(dj);
	o = json_pack("{s:s,s:s,s:o}", "token", token, "csr", csr, "device",
	    dev);
	if (o != NULL) {
		s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	return s;
}
