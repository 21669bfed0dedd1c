/* settings.c - client settings: keys, defaults, validation, resolution. */
#include "settings.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

enum stype { S_DURATION, S_BOOL, S_ENUM };

struct skey {
	const char *key;
	enum stype type;
	const char *def;     /* default, as text */
	const char *choices; /* S_ENUM: "|a|b|" */
	int64_t min;         /* S_DURATION: seconds */
};

/* exec.policy=bypass and unlock.on_restart=always exist only as custom
 * settings: never a default (G11, G12). */
static const struct skey keys[] = {
	{"policy.interval", S_DURATION, "3600", NULL, 300},
	{"inventory.interval", S_DURATION, "86400", NULL, 3600},
	{"health.interval", S_DURATION, "3600", NULL, 300},
	{"notify", S_BOOL, "true", NULL, 0},
	{"log.level", S_ENUM, "info", "|error|warning|info|debug|", 0},
	{"exec.policy", S_ENUM, "all-signed", "|all-signed|bypass|", 0},
	{"unlock.on_restart", S_ENUM, "never", "|never|always|", 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static json_t *
parse(const struct skey *k, const char *v, char *err)
{
	char probe[80];
	int64_t secs;

	switch (k->type) {
	case S_DURATION:
		if (parse_duration(v, &secs) < 0 || secs < k->min ||
		    secs > 366 * 86400) {
			err_set(err, "%s must be a duration from %llds to 366d",
			    k->key, (long long)k->min);
			return NULL;
		}
		return json_integer(secs);
	case S_BOOL:
		if (strcmp(v, "true") && strcmp(v, "false")) {
			err_set(err, "%s must be true or false", k->key);
			return NULL;
		}
		return json_boolean(strcmp(v, "true") == 0);
	case S_ENUM:
		if (strlen(v) > 32 ||
		    str_fmt(probe, sizeof(probe), "|%s|", v) < 0 ||
		    strstr(k->choices, probe) == NULL) {
			err_set(err, "%s must be one of %s", k->key, k->choices);
			return NULL;
		}
		return json_string(v);
	}
	return NULL;
}

json_t *
settings_defaults(void)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < NKEYS; i++)
		json_object_set_new(o, keys[i].key,
		    parse(&keys[i], keys[i].def, NULL));
	return o;
}

json_t *
settings_value(const char *key, const char *value, char *err)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].key, key) == 0)
			return parse(&keys[i], value, err);
	err_set(err, "unknown setting '%.64s'", key);
	return NULL;
}

static int
cmp_custom(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t px = json_integer_value(json_object_get(x, "priority"));
	json_int_t py = json_integer_value(json_object_get(y, "priority"));
	json_int_t ix = json_integer_value(json_object_get(x, "id"));
	json_int_t iy = json_integer_value(json_object_get(y, "id"));

	if (px != py)
		return px < py ? -1 : 1;
	return ix < iy ? -1 : ix > iy;
}

json_t *
settings_resolve(json_t *customs, json_t **sources)
{
	json_t *eff = settings_defaults(), *src = json_object(), **v;
	size_t n = json_array_size(customs), i;
	const char *k;
	json_t *x;

	json_object_foreach(eff, k, x)
		json_object_set_new(src, k, json_string("default"));
	v = calloc(n + 1, sizeof(*v));
	for (i = 0; v && i < n; i++)
		v[i] = json_array_get(customs, i);
	/* Deterministic: priority, then the oldest rule, first wins. */
	if (v && n > 1)
		qsort(v, n, sizeof(*v), cmp_custom);
	for (i = 0; v && i < n; i++) {
		const char *key = json_string_value(json_object_get(v[i], "key"));
		const char *val =
		    json_string_value(json_object_get(v[i], "value"));
		json_t *pv, *from;

		if (key == NULL || val == NULL ||
		    strcmp(json_string_value(json_object_get(src, key))
			       ? json_string_value(json_object_get(src, key))
			       : "",
			"default") != 0)
			continue;
		pv = settings_value(key, val, NULL);
		if (pv == NULL)
			continue;
		json_object_set_new(eff, key, pv);
		from = json_pack("{s:O,s:O,s:O}", "collection",
		    json_object_get(v[i], "collection"), "priority",
		    json_object_get(v[i], "priority"), "rule",
		    json_object_get(v[i], "id"));
		json_object_set_new(src, key, from);
	}
	free(v);
	if (sources)
		*sources = src;
	else
		json_decref(src);
	return eff;
}
