/* deploy.c - stewardctl's content, deploy, deployments, windows and
 * "report windows" commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ctl.h"
#include "proto/window.h"

#define CONTENT_FILE_MAX (2 * 1024 * 1024)

/* A name safe in a query string: the file's base name, other characters
 * replaced by '_'. */
static void
content_name(const char *file, const char *given, char *out, size_t size)
{
	const char *base = strrchr(file, '/');
	size_t i;

	str_copy(out, size, given ? given : (base ? base + 1 : file));
	for (i = 0; out[i]; i++) {
		char ch = out[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
			ch == '_'))
			out[i] = '_';
	}
}

int
cmd_content(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"SHA256", "sha256", 's'},
	    {"SIZE", "size", 'i'}, {"NAME", "name", 's'},
	    {"DEPLOYMENTS", "deployments", 'i'}, {"ADDED", "added_at", 't'},
	    {NULL, NULL, 0}};
	char err[ERRMSG_MAX], name[128], path[200];
	const char *given = NULL;
	char *data;
	size_t len;
	json_t *o;

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return show(c, call(c, "GET", "/v1/admin/content", NULL),
		    "content", cols);
	if (argc == 4 && strcmp(argv[0], "add") == 0 &&
	    strcmp(argv[2], "--name") == 0)
		given = argv[3];
	else if (argc != 2 || strcmp(argv[0], "add") != 0)
		return usage_fail(
		    "usage: content add FILE [--name NAME] | content "
		    "list");
	if (file_read(argv[1], CONTENT_FILE_MAX, &data, &len, err) < 0)
		return fail("%s (content is at most 2 MiB)", err);
	if (len == 0) {
		free(data);
		return fail("%s is empty", argv[1]);
	}
	content_name(argv[1], given, name, sizeof(name));
	str_fmt(path, sizeof(path), "/v1/admin/content?name=%s", name);
	o = call_raw(c, "POST", path, data, len, "application/octet-stream");
	free(data);
	if (o == NULL)
		return 1;
	if (c->json) {
		print_json(o);
	} else {
		printf("%s %s: %lld bytes\n",
		    json_is_true(json_object_get(o, "new")) ? "stored"
							    : "already stored",
		    name, (long long)json_integer_value(json_object_get(o, "size")));
		/* The hash on the last line, for scripts. */
		printf("%s\n", json_string_value(json_object_get(o, "sha256")));
	}
	json_decref(o);
	return 0;
}

static int
needs_value(int i, int argc, char **argv)
{
	if (i + 1 >= argc) {
		usage_fail("'%s' needs a value", argv[i]);
		return 0;
	}
	return 1;
}

int
cmd_deploy(struct ctl *c, int argc, char **argv)
{
	json_t *body, *o;
	char err[ERRMSG_MAX];
	int64_t v;
	int i, required = 0, available = 0;

	if (argc < 1)
		return usage_fail(
		    "usage: deploy script|package|file|command --name N "
		    "--collection C ...");
	body = json_pack("{s:s}", "type", argv[0]);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *key = NULL;

		if (strcmp(a, "--required") == 0) {
			required = 1;
			continue;
		}
		if (strcmp(a, "--available") == 0) {
			available = 1;
			continue;
		}
		if (strcmp(a, "--override-windows") == 0) {
			json_object_set_new(body, "override_windows",
			    json_true());
			continue;
		}
		if (!needs_value(i, argc, argv))
			goto bad;
		if (strcmp(a, "--name") == 0)
			key = "name";
		else if (strcmp(a, "--collection") == 0)
			key = "collection";
		else if (strcmp(a, "--content") == 0)
			key = "content";
		else if (strcmp(a, "--command") == 0)
			key = "command";
		else if (strcmp(a, "--path") == 0)
			key = "path";
		else if (strcmp(a, "--mode") == 0)
			key = "mode";
		else if (strcmp(a, "--owner") == 0)
			key = "owner";
		else if (strcmp(a, "--run-as") == 0)
			key = "run_as";
		else if (strcmp(a, "--deadline") == 0) {
			if (time_parse(argv[++i], &v, err) < 0) {
				fail("--deadline: %s", err);
				goto bad;
			}
			json_object_set_new(body, "deadline", json_integer(v));
			continue;
		} else if (strcmp(a, "--max-runtime") == 0) {
			if (parse_duration(argv[++i], &v) < 0) {
				usage_fail(
				    "--max-runtime takes a duration like 30m "
				    "or 2h");
				goto bad;
			}
			json_object_set_new(body, "max_runtime",
			    json_integer(v));
			continue;
		} else {
			usage_fail("deploy: unknown option '%s'", a);
			goto bad;
		}
		json_object_set_new(body, key, json_string(argv[++i]));
	}
	if (required && available) {
		fail("a deployment is --required or --available, not both");
		goto bad;
	}
	json_object_set_new(body, "required", json_boolean(required));
	o = call(c, "POST", "/v1/admin/deployments", body);
	if (o == NULL)
		return 1;
	if (c->json) {
		print_json(o);
	} else {
		printf("deployment of %s '%s' to %s (%s)\n", argv[0],
		    json_string_value(json_object_get(o, "name")),
		    json_string_value(json_object_get(o, "collection")),
		    required ? "required" : "available");
		printf("%lld\n",
		    (long long)json_integer_value(json_object_get(o, "id")));
	}
	json_decref(o);
	return 0;
bad:
	json_decref(body);
	return 1;
}

/* Flattens the per-state counts for the table. */
static void
flatten_states(json_t *list)
{
	json_t *d, *st, *v;
	const char *k;
	size_t i;

	json_array_foreach(list, i, d)
	{
		st = json_object_get(d, "states");
		json_object_foreach(st, k, v)
			json_object_set(d, k, v);
	}
}

int
cmd_deployments(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"ID", "id", 'i'},
	    {"NAME", "name", 's'}, {"TYPE", "type", 's'},
	    {"COLLECTION", "collection", 's'}, {"REQUIRED", "required", 'b'},
	    {"TARGETED", "targeted", 'i'}, {"PENDING", "pending", 'i'},
	    {"WAITING", "waiting", 'i'}, {"RUNNING", "running", 'i'},
	    {"SUCCEEDED", "succeeded", 'i'}, {"FAILED", "failed", 'i'},
	    {NULL, NULL, 0}};
	static const struct column dev[] = {{"CLIENT", "id", 's'},
	    {"HOSTNAME", "hostname", 's'}, {"STATE", "state", 's'},
	    {"EXIT", "exit_code", 'i'}, {"REPORTED", "reported_at", 't'},
	    {"DETAIL", "detail", 's'}, {"OUTPUT", "output", 's'},
	    {NULL, NULL, 0}};
	char path[96];
	int64_t id;
	json_t *o;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		o = call(c, "GET", "/v1/admin/deployments", NULL);
		if (o != NULL && !c->json)
			flatten_states(json_object_get(o, "deployments"));
		return show(c, o, "deployments", cols);
	}
	if (argc != 2 || parse_int64(argv[1], 1, INT64_MAX / 2, &id) < 0 ||
	    (strcmp(argv[0], "show") && strcmp(argv[0], "delete")))
		return usage_fail(
		    "usage: deployments list | show ID | delete ID");
	if (strcmp(argv[0], "delete") == 0) {
		str_fmt(path, sizeof(path), "/v1/admin/deployments/%lld/delete",
		    (long long)id);
		return show(c, call(c, "POST", path, json_object()), NULL,
		    NULL);
	}
	str_fmt(path, sizeof(path), "/v1/admin/deployments/%lld",
	    (long long)id);
	return show_pages(c, path, "devices", dev, 1);
}

int
cmd_windows(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"ID", "id", 'i'},
	    {"COLLECTION", "collection", 's'}, {"START", "start", 's'},
	    {"DURATION", "duration", 'i'}, {"RECUR", "recur", 's'},
	    {NULL, NULL, 0}};
	char path[96];
	int64_t v;
	json_t *body;
	int i;

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return show(c, call(c, "GET", "/v1/admin/windows", NULL),
		    "windows", cols);
	if (argc == 2 && strcmp(argv[0], "delete") == 0) {
		if (parse_int64(argv[1], 1, INT64_MAX / 2, &v) < 0)
			return usage_fail("'%s' is not a window id", argv[1]);
		str_fmt(path, sizeof(path), "/v1/admin/windows/%lld/delete",
		    (long long)v);
		return show(c, call(c, "POST", path, json_object()), NULL,
		    NULL);
	}
	if (argc < 1 || strcmp(argv[0], "add") != 0)
		return usage_fail(
		    "usage: windows add --collection C --start TIME "
		    "--duration D [--recur R] | windows list | windows "
		    "delete ID");
	body = json_object();
	for (i = 1; i < argc; i++) {
		if (!needs_value(i, argc, argv)) {
			json_decref(body);
			return 1;
		}
		if (strcmp(argv[i], "--collection") == 0)
			json_object_set_new(body, "collection",
			    json_string(argv[++i]));
		else if (strcmp(argv[i], "--start") == 0)
			json_object_set_new(body, "start", json_string(argv[++i]));
		else if (strcmp(argv[i], "--recur") == 0)
			json_object_set_new(body, "recur", json_string(argv[++i]));
		else if (strcmp(argv[i], "--duration") == 0 &&
		    parse_duration(argv[i + 1], &v) == 0) {
			json_object_set_new(body, "duration", json_integer(v));
			i++;
		} else {
			json_decref(body);
			return usage_fail("windows add: bad option '%s'%s",
					  argv[i],
					  strcmp(argv[i], "--duration") == 0
					      ? " (a duration like 90m or 4h)"
					      : "");
		}
	}
	return show(c, call(c, "POST", "/v1/admin/windows", body), NULL,
	    NULL);
}

int
cmd_report_windows(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {
	    {"COLLECTION", "collection", 's'},
	    {"DEPLOYMENT", "deployment_id", 'i'}, {"NAME", "deployment", 's'},
	    {"MAX RUNTIME", "max_runtime", 'i'}, {"DEVICES", "devices", 'i'},
	    {"BLOCKED", "devices_blocked", 'i'},
	    {"LARGEST WINDOW", "largest_window", 'i'}, {NULL, NULL, 0}};
	char path[96], err[ERRMSG_MAX];
	int64_t at;
	json_t *o, *list;

	str_copy(path, sizeof(path), "/v1/admin/report/windows");
	if (argc == 2 && strcmp(argv[0], "--at") == 0) {
		if (time_parse(argv[1], &at, err) < 0)
			return usage_fail("--at: %s", err);
		str_fmt(path, sizeof(path), "/v1/admin/report/windows?at=@%lld",
		    (long long)at);
	} else if (argc != 0) {
		return usage_fail("usage: report windows [--at TIME]");
	}
	o = call(c, "GET", path, NULL);
	if (o == NULL || c->json)
		return show(c, o, NULL, NULL);
	list = json_object_get(o, "too_small");
	if (json_array_size(list) == 0)
		printf("every required deployment fits a maintenance window in "
		       "the next 30 days\n");
	else {
		printf("required deployments whose max runtime (seconds) no "
		       "window in the next 30 days holds:\n");
		print_table(list, cols);
	}
	json_decref(o);
	return 0;
}
