/* inventory.c - schema and validation of inventory reports. Every class and
 * property is declared here with its type and limits; anything else in a
 * report is refused with the path of the offending field. */
#include "inventory.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "wire.h"

enum ftype { F_STR, F_INT, F_ADDRS };

/* Character sets for strings; NULL means printable UTF-8 without control
 * characters. */
#define CS_NAME "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_:@"
#define CS_ADDR "0123456789abcdefABCDEF.:/%"

struct field {
	const char *name;
	enum ftype type;
	int64_t max; /* string length limit, or integer maximum */
	const char *charset;
};

struct iclass {
	const char *name;
	int list;
	const char *key;  /* key field of a list class */
	const char *key2; /* optional second key field, joined with ':' */
	size_t max_items;
	const struct field *fields;
};

static const struct field f_os[] = {{"id", F_STR, 64, CS_NAME},
    {"version_id", F_STR, 64, NULL}, {"pretty_name", F_STR, 256, NULL},
    {"kernel", F_STR, 128, NULL}, {NULL, 0, 0, NULL}};
static const struct field f_cpu[] = {{"model", F_STR, 256, NULL},
    {"cores", F_INT, 65536, NULL}, {NULL, 0, 0, NULL}};
static const struct field f_memory[] = {{"total_mb", F_INT,
					    INT64_C(1) << 40, NULL},
    {NULL, 0, 0, NULL}};
static const struct field f_dmi[] = {{"vendor", F_STR, 256, NULL},
    {"product", F_STR, 256, NULL}, {"serial", F_STR, 256, NULL},
    {NULL, 0, 0, NULL}};
static const struct field f_disk[] = {{"name", F_STR, 64, CS_NAME},
    {"size_mb", F_INT, INT64_C(1) << 40, NULL}, {NULL, 0, 0, NULL}};
static const struct field f_fs[] = {{"mount", F_STR, 512, NULL},
    {"type", F_STR, 32, CS_NAME}, {"device", F_STR, 256, NULL},
    {"size_mb", F_INT, INT64_C(1) << 40, NULL},
    {"free_mb", F_INT, INT64_C(1) << 40, NULL}, {NULL, 0, 0, NULL}};
static const struct field f_if[] = {{"name", F_STR, 64, CS_NAME},
    {"mac", F_STR, 64, CS_ADDR}, {"addresses", F_ADDRS, 64, CS_ADDR},
    {NULL, 0, 0, NULL}};
static const struct field f_pkg[] = {{"name", F_STR, 128, CS_NAME},
    {"version", F_STR, 128, CS_NAME "~"}, {"arch", F_STR, 32, CS_NAME},
    {"source", F_STR, 16, CS_NAME}, {NULL, 0, 0, NULL}};
static const struct field f_user[] = {{"name", F_STR, 64, CS_NAME},
    {"uid", F_INT, 4294967295LL, NULL}, {"home", F_STR, 512, NULL},
    {"shell", F_STR, 256, NULL}, {NULL, 0, 0, NULL}};

static const struct iclass classes[] = {
	{"os", 0, NULL, NULL, 1, f_os},
	{"cpu", 0, NULL, NULL, 1, f_cpu},
	{"memory", 0, NULL, NULL, 1, f_memory},
	{"dmi", 0, NULL, NULL, 1, f_dmi},
	{"disks", 1, "name", NULL, 256, f_disk},
	{"filesystems", 1, "mount", NULL, 512, f_fs},
	{"interfaces", 1, "name", NULL, 256, f_if},
	{"packages", 1, "name", "arch", 20000, f_pkg},
	{"users", 1, "name", NULL, 2000, f_user},
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

const char *const inventory_classes[] = {"os", "cpu", "memory", "dmi",
    "disks", "filesystems", "interfaces", "packages", "users", NULL};

static const struct iclass *
class_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCLASSES; i++)
		if (strcmp(classes[i].name, name) == 0)
			return &classes[i];
	return NULL;
}

int
inventory_class_is_list(const char *cls)
{
	const struct iclass *c = class_find(cls);

	return c != NULL && c->list;
}

static int
text_ok(const char *s, size_t n, const char *charset)
{
	size_t i;

	if (charset != NULL)
		return strspn(s, charset) == n;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Validates one object of a class and returns its canonical copy. */
static json_t *
object_check(const struct iclass *c, json_t *o, const char *path, char *err)
{
	const struct field *f;
	const char *key;
	json_t *v, *out;

	if (!json_is_object(o)) {
		err_set(err, "%s: must be an object", path);
		return NULL;
	}
	json_object_foreach(o, key, v)
	{
		for (f = c->fields; f->name; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL) {
			err_set(err, "%s.%.64s: unknown property", path, key);
			return NULL;
		}
	}
	out = json_object();
	for (f = c->fields; f->name; f++) {
		v = json_object_get(o, f->name);
		if (v == NULL)
			continue;
		if (f->type == F_INT) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > f->max) {
				err_set(err, "%s.%s: must be an integer from 0 "
					     "to %lld",
				    path, f->name, (long long)f->max);
				goto fail;
			}
			json_object_set(out, f->name, v);
		} else if (f->type == F_STR) {
			if (!json_is_string(v)) {
				err_set(err, "%s.%s: must be a string", path,
				    f->name);
				goto fail;
			}
			if ((int64_t)json_string_length(v) > f->max) {
				err_set(err, "%s.%s: longer than %lld "
					     "characters",
				    path, f->name, (long long)f->max);
				goto fail;
			}
			if (!text_ok(json_string_value(v), json_string_length(v),
				f->charset)) {
				err_set(err, "%s.%s: holds characters it may "
					     "not",
				    path, f->name);
				goto fail;
			}
			json_object_set(out, f->name, v);
		} else {
			size_t i;
			json_t *a;

			if (!json_is_array(v) ||
			    (int64_t)json_array_size(v) > f->max) {
				err_set(err, "%s.%s: must be a list of at most "
					     "%lld addresses",
				    path, f->name, (long long)f->max);
				goto fail;
			}
			json_array_foreach(v, i, a)
			{
				if (!json_is_string(a) ||
				    json_string_length(a) == 0 ||
				    json_string_length(a) > 64 ||
				    !text_ok(json_string_value(a),
					json_string_length(a), f->charset)) {
					err_set(err, "%s.%s[%zu]: not an "
						     "address",
					    path, f->name, i);
					goto fail;
				}
			}
			json_object_set(out, f->name, v);
		}
	}
	if (c->list && !json_is_string(json_object_get(out, c->key))) {
		err_set(err, "%s.%s: missing (it is the key)", path, c->key);
		goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

int
inventory_row_key(const char *cls, json_t *obj, char *out, size_t size)
{
	const struct iclass *c = class_find(cls);
	const char *k, *k2 = NULL;

	if (c == NULL || !c->list)
		return str_copy(out, size, "");
	k = json_string_value(json_object_get(obj, c->key));
	if (k == NULL)
		return -1;
	if (c->key2)
		k2 = json_string_value(json_object_get(obj, c->key2));
	if (k2 && *k2)
		return str_fmt(out, size, "%s:%s", k, k2);
	return str_copy(out, size, k);
}

/* Walks (and so validates) one class of a report. */
static int
class_walk(const struct iclass *c, json_t *v, int full, inv_row_cb row,
    int (*replaced)(void *, const char *), void *arg, char *err)
{
	char path[96], key[300];
	json_t *list = v, *rm = NULL, *o;
	size_t i;

	if (!c->list) {
		json_t *canon;
		char *text;
		int r;

		str_fmt(path, sizeof(path), "classes.%s", c->name);
		canon = object_check(c, v, path, err);
		if (canon == NULL)
			return -1;
		text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(canon);
		r = (replaced ? replaced(arg, c->name) : 0) < 0 ||
			row(arg, c->name, "", text, INV_UPSERT) < 0
		    ? err_set(err, "cannot store class %s", c->name)
		    : 0;
		free(text);
		return r;
	}
	if (!full) {
		const char *k;
		json_t *x;

		if (!json_is_object(v))
			return err_set(err, "classes.%s: a delta needs "
					    "{\"upsert\": [...], \"remove\": "
					    "[...]}",
			    c->name);
		json_object_foreach(v, k, x)
		{
			if (strcmp(k, "upsert") && strcmp(k, "remove"))
				return err_set(err,
				    "classes.%s.%.32s: unknown member",
				    c->name, k);
		}
		list = json_object_get(v, "upsert");
		rm = json_object_get(v, "remove");
		if (list == NULL)
			list = json_array();
		else
			json_incref(list);
	} else {
		json_incref(list);
	}
	if (!json_is_array(list) || json_array_size(list) > c->max_items) {
		json_decref(list);
		return err_set(err, "classes.%s: must be a list of at most %zu "
				    "entries",
		    c->name, c->max_items);
	}
	if (rm != NULL && (!json_is_array(rm) ||
			      json_array_size(rm) > c->max_items)) {
		json_decref(list);
		return err_set(err, "classes.%s.remove: must be a list of at "
				    "most %zu keys",
		    c->name, c->max_items);
	}
	if (full && replaced && replaced(arg, c->name) < 0) {
		json_decref(list);
		return err_set(err, "cannot store class %s", c->name);
	}
	json_array_foreach(list, i, o)
	{
		json_t *canon;
		char *text;
		int r;

		str_fmt(path, sizeof(path), "classes.%s[%zu]", c->name, i);
		canon = object_check(c, o, path, err);
		if (canon == NULL) {
			json_decref(list);
			return -1;
		}
		inventory_row_key(c->name, canon, key, sizeof(key));
		text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(canon);
		r = row(arg, c->name, key, text, INV_UPSERT);
		free(text);
		if (r < 0) {
			json_decref(list);
			return err_set(err, "cannot store %s", path);
		}
	}
	json_decref(list);
	json_array_foreach(rm, i, o)
	{
		const char *k = json_string_value(o);

		if (k == NULL || json_string_length(o) == 0 ||
		    json_string_length(o) > 256 ||
		    !text_ok(k, json_string_length(o), NULL))
			return err_set(err, "classes.%s.remove[%zu]: not a key",
			    c->name, i);
		if (row(arg, c->name, k, NULL, INV_REMOVE) < 0)
			return err_set(err, "cannot store a removal");
	}
	return 0;
}

static int
check_only(void *arg, const char *cls, const char *key, const char *data,
    enum inv_op op)
{
	return 0;
}

int
inventory_rows(const struct inv_report *rep, inv_row_cb row,
    int (*replaced)(void *arg, const char *cls), void *arg, char *err)
{
	size_t i;

	for (i = 0; i < NCLASSES; i++) {
		json_t *v = json_object_get(rep->classes, classes[i].name);

		if (v == NULL) {
			/* A full report without a class says it is empty. */
			if (rep->full && replaced &&
			    replaced(arg, classes[i].name) < 0)
				return err_set(err, "cannot store class %s",
				    classes[i].name);
			continue;
		}
		if (class_walk(&classes[i], v, rep->full, row, replaced, arg,
			err) < 0)
			return -1;
	}
	return 0;
}

int
inventory_parse(const char *body, size_t len, json_t **doc,
    struct inv_report *rep, char *err)
{
	json_t *o, *v;
	const char *kind, *key;

	*doc = NULL;
	memset(rep, 0, sizeof(*rep));
	o = wire_load_object(body, len, INVENTORY_BODY_MAX, err);
	if (o == NULL)
		return -1;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "kind") && strcmp(key, "seq") &&
		    strcmp(key, "base") && strcmp(key, "client_id") &&
		    strcmp(key, "classes")) {
			err_set(err, "%.64s: unknown field", key);
			goto fail;
		}
	}
	kind = json_string_value(json_object_get(o, "kind"));
	if (kind == NULL || (strcmp(kind, "full") && strcmp(kind, "delta"))) {
		err_set(err, "kind: must be \"full\" or \"delta\"");
		goto fail;
	}
	rep->full = strcmp(kind, "full") == 0;
	v = json_object_get(o, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		err_set(err, "seq: must be a positive integer");
		goto fail;
	}
	rep->seq = json_integer_value(v);
	v = json_object_get(o, "base");
	if (!rep->full) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) >= rep->seq) {
			err_set(err, "base: a delta needs the seq of the report "
				     "it applies to, below its own");
			goto fail;
		}
		rep->base = json_integer_value(v);
	} else if (v != NULL) {
		err_set(err, "base: only a delta has a base");
		goto fail;
	}
	v = json_object_get(o, "client_id");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) > 64) {
			err_set(err, "client_id: must be a client id");
			goto fail;
		}
		rep->client_id = json_string_value(v);
	}
	rep->classes = json_object_get(o, "classes");
	if (!json_is_object(rep->classes)) {
		err_set(err, "classes: must be an object");
		goto fail;
	}
	json_object_foreach(rep->classes, key, v)
	{
		if (class_find(key) == NULL) {
			err_set(err, "classes.%.64s: unknown class", key);
			goto fail;
		}
	}
	/* Validate everything before anything is stored. */
	if (inventory_rows(rep, check_only, NULL, NULL, err) < 0)
		goto fail;
	*doc = o;
	return 0;
fail:
	json_decref(o);
	memset(rep, 0, sizeof(*rep));
	return -1;
}
