/* main.c - stewardctl: the administrator's command line. It talks to the
 * admin API over mutual TLS with an admin credential and never opens the
 * site database. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "common/httpc.h"
#include "common/util.h"
#include "crypto/pki.h"
#include "ctl.h"
#include "output.h"

#define MAX_ARGS 64


static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: stewardctl [--dir DIR | --server URL --cred FILE] [--json] "
	    "COMMAND\n"
	    "commands:\n"
	    "  token create [--ttl DURATION] [--uses N] [--trusted]\n"
	    "  token list\n"
	    "  token revoke ID\n"
	    "  clients list [--status pending|approved|denied|blocked]\n"
	    "  clients show ID\n"
	    "  clients approve ID...\n"
	    "  clients deny ID...\n"
	    "  clients block ID [--reason TEXT]\n"
	    "  clients unblock ID\n"
	    "  clients renew ID\n"
	    "  certs list [--client ID] [--expiring-within DURATION]\n"
	    "  certs revoke SERIAL|--client ID [--reason REASON]\n"
	    "  inventory show ID [--class CLASS] [--history N]\n"
	    "  status list [--client ID] [--since DURATION] [--severity S] "
	    "[--limit N]\n"
	    "  status rules add --message-id N [--component C] --action "
	    "log|mark-client\n"
	    "  status rules list | status rules delete ID\n"
	    "  collections add NAME [--limit C] [--query EXPR]... [--include C]... "
	    "[--exclude C]...\n"
	    "                  [--client ID]... [--site-attributes-only]\n"
	    "  collections list | show NAME | members NAME | delete NAME | "
	    "evaluate\n"
	    "  clients tag ID KEY=VALUE\n"
	    "  clients notify ID|--collection C policy|renew\n"
	    "  settings show [--client ID]\n"
	    "  settings custom add --collection C --priority N --set KEY=VALUE...\n"
	    "  report health\n"
	    "  tasks list | tasks run NAME | tasks set NAME [--retention D] "
	    "[--disable|--enable]\n"
	    "  site show\n"
	    "  site set-approval manual|trusted|all [--trusted-domain "
	    "SUFFIX]...\n"
	    "  audit list [--limit N]\n");
}

static void
complain(const char *fmt, va_list ap)
{
	fputs("stewardctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* One line on stderr; the exit status of a failure (1). */
int
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	complain(fmt, ap);
	va_end(ap);
	return 1;
}

/* One line on stderr; the exit status of a usage error (2). */
int
usage_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	complain(fmt, ap);
	va_end(ap);
	return 2;
}

/* The credential file holds the admin key, the admin certificate and then
 * the site CA; the CA is the trust anchor for the server. */
static int
load_cred(struct ctl *c, const char *path, char *err)
{
	BIO *bio;
	X509 *x, *last = NULL;
	size_t len;

	if (file_check_secret(path, err) < 0 ||
	    file_read(path, 65536, &c->cred, &len, err) < 0)
		return -1;
	bio = BIO_new_mem_buf(c->cred, (int)len);
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(last);
		last = x;
	}
	BIO_free(bio);
	if (last == NULL)
		return err_set(err, "%s holds no certificates", path);
	c->ca = pki_cert_to_pem(last);
	X509_free(last);
	return c->ca ? 0 : err_set(err, "cannot read the CA of %s", path);
}

static int
connect_dir(struct ctl *c, const char *dir, char *err)
{
	char path[4096], *text;

	str_fmt(path, sizeof(path), "%s/run/url", dir);
	if (file_read(path, 512, &text, NULL, NULL) == 0) {
		text[strcspn(text, "\r\n")] = '\0';
		str_copy(c->url, sizeof(c->url), text);
		free(text);
	} else {
		char *conf, *line, *save = NULL;

		str_fmt(path, sizeof(path), "%s/steward.conf", dir);
		if (file_read(path, 65536, &conf, NULL, err) < 0)
			return -1;
		str_copy(c->url, sizeof(c->url), "https://127.0.0.1:8443");
		for (line = strtok_r(conf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char host[300];

			if (sscanf(line, "listen = %299s", host) == 1)
				str_fmt(c->url, sizeof(c->url), "https://%s",
				    host);
		}
		free(conf);
	}
	str_fmt(path, sizeof(path), "%s/admin/admin.pem", dir);
	return load_cred(c, path, err);
}

json_t *
call_raw(struct ctl *c, const char *method, const char *path,
    const void *data, size_t len, const char *ctype)
{
	struct httpc_tls tls = {.ca_pem = c->ca, .cert_pem = c->cred,
	    .key_pem = c->cred, .timeout_secs = 60};
	struct httpc_resp resp;
	char url[1024], err[ERRMSG_MAX];
	json_t *o;
	int r;

	str_fmt(url, sizeof(url), "%s%s", c->url, path);
	r = httpc_request_raw(method, url, &tls, data, len, ctype, NULL, &resp,
	    err);
	if (r < 0) {
		fail("%s (is stewardd running?)", err);
		return NULL;
	}
	o = json_loadb(resp.body, resp.len, 0, NULL);
	if (resp.status < 200 || resp.status > 299) {
		const char *e = json_string_value(json_object_get(o, "error"));

		fail("%s (HTTP %ld)", e ? e : "request failed", resp.status);
		json_decref(o);
		o = NULL;
	} else if (o == NULL) {
		fail("the server's answer is not JSON");
	}
	httpc_resp_free(&resp);
	return o;
}

json_t *
call(struct ctl *c, const char *method, const char *path, json_t *body)
{
	char *text = NULL;
	json_t *o;

	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
	}
	o = call_raw(c, method, path, text, text ? strlen(text) : 0,
	    "application/json");
	free(text);
	return o;
}

int
show(struct ctl *c, json_t *o, const char *list_key,
    const struct column *cols)
{
	if (o == NULL)
		return 1;
	if (c->json)
		print_json(o);
	else if (list_key != NULL)
		print_table(json_object_get(o, list_key), cols);
	else
		print_object(o, 0);
	json_decref(o);
	return 0;
}

/* Prints text with each line indented by n spaces, without a line end
 * after the last. */
static void
print_indented(const char *text, int n)
{
	const char *p = text, *nl;

	for (;; p = nl + 1) {
		nl = strchr(p, '\n');
		printf("%*s%.*s%s", n, "",
		    (int)(nl ? (size_t)(nl - p) : strlen(p)), p,
		    nl ? "\n" : "");
		if (nl == NULL)
			break;
	}
}

/* Opens the JSON object of a paged list: the first page's other fields
 * (head), then the list's name. */
static void
json_open_list(json_t *head, const char *list_key)
{
	char *text = json_object_size(head) > 0
	    ? json_dumps(head, JSON_INDENT(2) | JSON_SORT_KEYS)
	    : NULL;
	char *end = text ? strrchr(text, '\n') : NULL;

	printf("{\n");
	/* Its fields, without the braces around them. */
	if (text != NULL && end != NULL && end > text + 2)
		printf("%.*s,\n", (int)(end - (text + 2)), text + 2);
	printf("  \"%s\": [", list_key);
	free(text);
}

/* Every page of an admin list (path, which may have a query already),
 * a page at a time as the site gives it ("next"): the JSON object, its
 * list printed row by row, or the table of cols, aligned over every row
 * (after the first page's other fields when with_head: a detail view). A
 * whole site's list in one answer was tens of MB, more than the client
 * reads. STEWARD_CTL_PAGE sets the page size (tests). */
int
show_pages(struct ctl *c, const char *path, const char *list_key,
    const struct column *cols, int with_head)
{
	char url[1024], after[400] = "";
	const char *env = getenv("STEWARD_CTL_PAGE"), *next;
	int64_t page = 1000; /* the site's own default (PAGE_DEFAULT) */
	struct table t;
	size_t rows = 0, i;
	json_t *o, *row;
	int rc = 0, first = 1;

	if (env != NULL && parse_int64(env, 1, 10000, &page) < 0)
		return usage_fail("STEWARD_CTL_PAGE takes 1 to 10000");
	table_init(&t, cols);
	for (;;) {
		if (str_fmt(url, sizeof(url), "%s%slimit=%lld%s%s", path,
			strchr(path, '?') ? "&" : "?", (long long)page,
			after[0] ? "&after=" : "", after) < 0) {
			fail("a page's address is too long");
			rc = 1;
			break;
		}
		if ((o = call(c, "GET", url, NULL)) == NULL) {
			rc = 1;
			break;
		}
		if (first) {
			json_t *head = json_copy(o);

			json_object_del(head, list_key);
			json_object_del(head, "next");
			if (c->json)
				json_open_list(head, list_key);
			else if (with_head) {
				print_object(head, 0);
				printf("\n");
			}
			json_decref(head);
			first = 0;
		}
		json_array_foreach(json_object_get(o, list_key), i, row)
		{
			char *text;

			if (!c->json)
				continue;
			printf(rows++ ? ",\n" : "\n");
			text = json_dumps(row, JSON_INDENT(2) | JSON_SORT_KEYS);
			print_indented(text ? text : "null", 4);
			free(text);
		}
		if (!c->json &&
		    table_add(&t, json_object_get(o, list_key)) < 0) {
			fail("out of memory");
			rc = 1;
		}
		next = json_string_value(json_object_get(o, "next"));
		if (rc == 0 && next != NULL &&
		    str_copy(after, sizeof(after), next) < 0) {
			fail("the site's cursor for the next page is too long");
			rc = 1;
		}
		json_decref(o);
		if (rc != 0 || next == NULL)
			break;
	}
	if (rc == 0 && c->json)
		printf(rows ? "\n  ]\n}\n" : "]\n}\n");
	else if (rc == 0)
		table_print(&t);
	table_free(&t);
	return rc;
}

static int
cmd_token(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"ID", "id", 's'},
	    {"CREATED BY", "created_by", 's'}, {"EXPIRES", "expires_at", 't'},
	    {"USES", "uses", 'i'}, {"MAX", "uses_max", 'i'},
	    {"TRUSTED", "trusted", 'b'}, {"REVOKED", "revoked_at", 't'},
	    {NULL, NULL, 0}};
	char path[128];
	int i;

	if (argc >= 1 && strcmp(argv[0], "create") == 0) {
		int64_t ttl = 3600, uses = 1;
		int trusted = 0;
		json_t *o;

		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
				if (parse_duration(argv[++i], &ttl) < 0)
					return usage_fail(
					    "--ttl takes a duration "
					    "like 1h or 7d");
			} else if (strcmp(argv[i], "--uses") == 0 &&
			    i + 1 < argc) {
				if (parse_int64(argv[++i], 1, 1000000, &uses) <
				    0)
					return usage_fail("--uses takes 1 to "
							  "1000000");
			} else if (strcmp(argv[i], "--trusted") == 0) {
				trusted = 1;
			} else {
				return usage_fail(
				    "token create: unknown option "
				    "'%s'",
				    argv[i]);
			}
		}
		o = call(c, "POST", "/v1/admin/tokens",
		    json_pack("{s:I,s:I,s:b}", "ttl", (json_int_t)ttl, "uses",
			(json_int_t)uses, "trusted", trusted));
		if (o == NULL)
			return 1;
		if (c->json)
			print_json(o);
		else
			printf("%s\n",
			    json_string_value(json_object_get(o, "token")));
		json_decref(o);
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return show(c, call(c, "GET", "/v1/admin/tokens", NULL),
		    "tokens", cols);
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		if (!pki_client_id_valid(argv[1]))
			return usage_fail("'%s' is not a token id", argv[1]);
		str_fmt(path, sizeof(path), "/v1/admin/tokens/%s/revoke",
		    argv[1]);
		return show(c, call(c, "POST", path, json_object()), NULL,
		    NULL);
	}
	return usage_fail("usage: token create|list|revoke ID");
}

static int
cmd_clients(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"ID", "id", 's'},
	    {"STATUS", "status", 's'}, {"HOSTNAME", "hostname", 's'},
	    {"APPROVAL", "approval_source", 's'}, {"HEALTH", "health", 's'},
	    {"ACTIVITY", "activity", 's'},
	    {"LAST SEEN", "last_activity", 't'}, {NULL, NULL, 0}};
	char path[160];
	int i, rc = 0;

	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		const char *status = NULL;

		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
				status = argv[++i];
			else
				return usage_fail(
				    "clients list: unknown option "
				    "'%s'",
				    argv[i]);
		}
		if (status && strcmp(status, "pending") &&
		    strcmp(status, "approved") && strcmp(status, "denied") &&
		    strcmp(status, "blocked"))
			return usage_fail(
			    "--status takes pending, approved, denied "
			    "or blocked");
		str_fmt(path, sizeof(path), "/v1/admin/clients%s%s",
		    status ? "?status=" : "", status ? status : "");
		return show_pages(c, path, "clients", cols, 0);
	}
	if (argc == 2 && strcmp(argv[0], "show") == 0) {
		if (!pki_client_id_valid(argv[1]))
			return usage_fail("'%s' is not a client id", argv[1]);
		str_fmt(path, sizeof(path), "/v1/admin/clients/%s", argv[1]);
		return show(c, call(c, "GET", path, NULL), NULL, NULL);
	}
	if (argc >= 2 && (strcmp(argv[0], "approve") == 0 ||
			     strcmp(argv[0], "deny") == 0)) {
		/* A mistyped id refuses the batch before any is changed. */
		for (i = 1; i < argc; i++)
			if (!pki_client_id_valid(argv[i]))
				return usage_fail("'%s' is not a client id",
						  argv[i]);
		for (i = 1; i < argc; i++) {
			json_t *o;

			str_fmt(path, sizeof(path), "/v1/admin/clients/%s/%s",
			    argv[i], argv[0]);
			o = call(c, "POST", path, json_object());
			if (o == NULL) {
				rc = 1;
				continue;
			}
			if (c->json)
				print_json(o);
			else
				printf("%s %s\n", argv[i],
				    json_string_value(
					json_object_get(o, "status")));
			json_decref(o);
		}
		return rc;
	}
	if (argc >= 2 && strcmp(argv[0], "block") == 0) {
		json_t *body = json_object();

		if (argc == 4 && strcmp(argv[2], "--reason") == 0)
			json_object_set_new(body, "reason",
			    json_string(argv[3]));
		else if (argc != 2) {
			json_decref(body);
			return usage_fail(
			    "usage: clients block ID [--reason TEXT]");
		}
		if (!pki_client_id_valid(argv[1])) {
			json_decref(body);
			return usage_fail("'%s' is not a client id", argv[1]);
		}
		str_fmt(path, sizeof(path), "/v1/admin/clients/%s/block",
		    argv[1]);
		return show(c, call(c, "POST", path, body), NULL, NULL);
	}
	if (argc >= 3 && strcmp(argv[0], "notify") == 0) {
		const char *kind = argv[argc - 1];

		if (argc == 4 && strcmp(argv[1], "--collection") == 0)
			return show(c, call(c, "POST",
					   "/v1/admin/collections/notify",
					   json_pack("{s:s,s:s}", "name",
					       argv[2], "kind", kind)),
			    NULL, NULL);
		if (argc != 3 || !pki_client_id_valid(argv[1]))
			return usage_fail(
			    "usage: clients notify ID|--collection C "
			    "policy|renew");
		str_fmt(path, sizeof(path), "/v1/admin/clients/%s/notify",
		    argv[1]);
		return show(c, call(c, "POST", path,
				   json_pack("{s:s}", "kind", kind)),
		    NULL, NULL);
	}
	if (argc == 3 && strcmp(argv[0], "tag") == 0) {
		char *eq = strchr(argv[2], '=');

		if (!pki_client_id_valid(argv[1]) || eq == NULL)
			return usage_fail("usage: clients tag ID KEY=VALUE");
		*eq = '\0';
		str_fmt(path, sizeof(path), "/v1/admin/clients/%s/tags",
		    argv[1]);
		return show(c, call(c, "POST", path,
				   json_pack("{s:s,s:s}", "key", argv[2],
				       "value", eq + 1)),
		    NULL, NULL);
	}
	if (argc == 2 && (strcmp(argv[0], "unblock") == 0 ||
			     strcmp(argv[0], "renew") == 0)) {
		if (!pki_client_id_valid(argv[1]))
			return usage_fail("'%s' is not a client id", argv[1]);
		str_fmt(path, sizeof(path), "/v1/admin/clients/%s/%s", argv[1],
		    argv[0]);
		return show(c, call(c, "POST", path, json_object()), NULL,
		    NULL);
	}
	return usage_fail(
	    "usage: clients list|show ID|approve ID...|deny ID...|"
	    "block ID|unblock ID|renew ID");
}

static int
cmd_certs(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"SERIAL", "serial", 's'},
	    {"CLIENT", "client_id", 's'}, {"KIND", "kind", 's'},
	    {"ISSUED", "issued_at", 't'}, {"EXPIRES", "not_after", 't'},
	    {"REVOKED", "revoked_at", 't'}, {"REASON", "revoke_reason", 's'},
	    {NULL, NULL, 0}};
	char path[256], q[128] = "";
	int i;

	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		const char *client = NULL, *within = NULL;
		int64_t secs;

		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
				client = argv[++i];
			else if (strcmp(argv[i], "--expiring-within") == 0 &&
			    i + 1 < argc)
				within = argv[++i];
			else
				return usage_fail(
				    "certs list: unknown option '%s'", argv[i]);
		}
		if (client && !pki_client_id_valid(client))
			return usage_fail("'%s' is not a client id", client);
		if (within && (parse_duration(within, &secs) < 0 || secs <= 0))
			return usage_fail(
			    "--expiring-within takes a duration like "
			    "30d");
		str_fmt(q, sizeof(q), "%s%s%s%s%s", client ? "client=" : "",
		    client ? client : "", client && within ? "&" : "",
		    within ? "expiring_within=" : "", within ? within : "");
		str_fmt(path, sizeof(path), "/v1/admin/certs%s%s",
		    q[0] ? "?" : "", q);
		return show_pages(c, path, "certs", cols, 0);
	}
	if (argc >= 2 && strcmp(argv[0], "revoke") == 0) {
		json_t *body = json_object();

		i = 1;
		if (strcmp(argv[1], "--client") == 0 && argc >= 3) {
			json_object_set_new(body, "client",
			    json_string(argv[2]));
			i = 3;
		} else {
			json_object_set_new(body, "serial",
			    json_string(argv[1]));
			i = 2;
		}
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
				json_object_set_new(body, "reason",
				    json_string(argv[++i]));
			else {
				json_decref(body);
				return usage_fail(
				    "certs revoke: unknown option "
				    "'%s'",
				    argv[i]);
			}
		}
		return show(c, call(c, "POST", "/v1/admin/certs/revoke", body),
		    NULL, NULL);
	}
	return usage_fail(
	    "usage: certs list [--client ID] [--expiring-within D] | "
	    "certs revoke SERIAL|--client ID [--reason R]");
}

static void
print_class(const char *cls, json_t *v)
{
	printf("[%s]\n", cls);
	if (json_is_object(v)) {
		print_object(v, 2);
	} else {
		struct column cols[16];
		const char *key;
		json_t *x;
		int n = 0;

		/* Columns: the properties of the first rows, in their order. */
		memset(cols, 0, sizeof(cols));
		json_object_foreach(json_array_get(v, 0), key, x)
		{
			if (n < 15) {
				cols[n].title = key;
				cols[n].key = key;
				cols[n].kind = 's';
				n++;
			}
		}
		print_table(v, cols);
	}
}

static int
cmd_inventory(struct ctl *c, int argc, char **argv)
{
	char path[256];
	const char *cls = NULL, *hist = NULL;
	json_t *o, *classes, *v;
	const char *key;
	int i;

	if (argc < 2 || strcmp(argv[0], "show") != 0)
		return usage_fail(
		    "usage: inventory show ID [--class C] [--history N]");
	if (!pki_client_id_valid(argv[1]))
		return usage_fail("'%s' is not a client id", argv[1]);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--class") == 0 && i + 1 < argc)
			cls = argv[++i];
		else if (strcmp(argv[i], "--history") == 0 && i + 1 < argc)
			hist = argv[++i];
		else
			return usage_fail("inventory show: unknown option '%s'",
					  argv[i]);
	}
	if (cls && strspn(cls, "abcdefghijklmnopqrstuvwxyz") != strlen(cls))
		return usage_fail("'%s' is not an inventory class", cls);
	if (hist && strspn(hist, "0123456789") != strlen(hist))
		return usage_fail("--history takes a number");
	str_fmt(path, sizeof(path), "/v1/admin/clients/%s/inventory?%s%s%s%s",
	    argv[1], cls ? "class=" : "", cls ? cls : "",
	    hist ? "&history=" : "", hist ? hist : "");
	o = call(c, "GET", path, NULL);
	if (o == NULL)
		return 1;
	if (c->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	classes = json_object_get(o, "classes");
	if (json_object_size(classes) == 0)
		printf("no inventory for client %s yet\n", argv[1]);
	json_object_foreach(classes, key, v)
		print_class(key, v);
	if (json_object_get(o, "history")) {
		static const struct column hc[] = {{"TIME", "at", 't'},
		    {"SEQ", "seq", 'i'}, {"CLASS", "class", 's'},
		    {"KEY", "key", 's'}, {"CHANGE", "op", 's'},
		    {NULL, NULL, 0}};

		printf("[history]\n");
		print_table(json_object_get(o, "history"), hc);
	}
	json_decref(o);
	return 0;
}

static int
cmd_status(struct ctl *c, int argc, char **argv)
{
	static const struct column mcols[] = {{"ID", "id", 'i'},
	    {"RECEIVED", "received_at", 't'}, {"CLIENT", "client_id", 's'},
	    {"COMPONENT", "component", 's'}, {"MESSAGE", "message_id", 'i'},
	    {"SEVERITY", "severity", 's'}, {"STRINGS", "strings", 's'},
	    {NULL, NULL, 0}};
	static const struct column rcols[] = {{"ID", "id", 'i'},
	    {"MESSAGE", "message_id", 'i'}, {"COMPONENT", "component", 's'},
	    {"ACTION", "action", 's'}, {"BY", "created_by", 's'},
	    {"CREATED", "created_at", 't'}, {NULL, NULL, 0}};
	char path[512], q[400] = "";
	int i;

	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		size_t off = 0;

		for (i = 1; i < argc; i++) {
			const char *k = NULL;
			int64_t v;

			if (i + 1 >= argc)
				return usage_fail(
				    "status list: '%s' needs a value", argv[i]);
			if (strcmp(argv[i], "--client") == 0) {
				if (!pki_client_id_valid(argv[i + 1]))
					return usage_fail(
					    "'%s' is not a client id",
					    argv[i + 1]);
				k = "client";
			} else if (strcmp(argv[i], "--since") == 0) {
				if (parse_duration(argv[i + 1], &v) < 0)
					return usage_fail(
					    "--since takes a duration "
					    "like 1h");
				k = "since";
			} else if (strcmp(argv[i], "--severity") == 0) {
				if (strcmp(argv[i + 1], "info") &&
				    strcmp(argv[i + 1], "warning") &&
				    strcmp(argv[i + 1], "error"))
					return usage_fail(
					    "--severity takes info, "
					    "warning or error");
				k = "severity";
			} else if (strcmp(argv[i], "--limit") == 0) {
				if (parse_int64(argv[i + 1], 1, 10000, &v) < 0)
					return usage_fail(
					    "--limit takes 1 to 10000");
				k = "limit";
			} else
				return usage_fail(
				    "status list: unknown option '%s'",
				    argv[i]);
			str_fmt(q + off, sizeof(q) - off, "%s%s=%s",
			    off ? "&" : "", k, argv[i + 1]);
			off = strlen(q);
			i++;
		}
		str_fmt(path, sizeof(path), "/v1/admin/status%s%s",
		    q[0] ? "?" : "", q);
		return show(c, call(c, "GET", path, NULL), "messages", mcols);
	}
	if (argc >= 2 && strcmp(argv[0], "rules") == 0) {
		if (strcmp(argv[1], "list") == 0 && argc == 2)
			return show(c, call(c, "GET", "/v1/admin/status/rules",
					   NULL),
			    "rules", rcols);
		if (strcmp(argv[1], "delete") == 0 && argc == 3) {
			if (strspn(argv[2], "0123456789") != strlen(argv[2]))
				return usage_fail("'%s' is not a rule id",
						  argv[2]);
			str_fmt(path, sizeof(path),
			    "/v1/admin/status/rules/%s", argv[2]);
			return show(c, call(c, "DELETE", path, NULL), NULL,
			    NULL);
		}
		if (strcmp(argv[1], "add") == 0) {
			json_t *body = json_object();
			int64_t mid = -1;

			for (i = 2; i < argc; i++) {
				if (i + 1 >= argc) {
					json_decref(body);
					return usage_fail("'%s' needs a value",
							  argv[i]);
				}
				if (strcmp(argv[i], "--message-id") == 0) {
					if (parse_int64(argv[i + 1], 0,
						2147483647, &mid) < 0) {
						json_decref(body);
						return usage_fail(
						    "--message-id takes "
						    "a number");
					}
					json_object_set_new(body, "message_id",
					    json_integer(mid));
				} else if (strcmp(argv[i], "--component") == 0)
					json_object_set_new(body, "component",
					    json_string(argv[i + 1]));
				else if (strcmp(argv[i], "--action") == 0)
					json_object_set_new(body, "action",
					    json_string(argv[i + 1]));
				else {
					json_decref(body);
					return usage_fail(
					    "status rules add: unknown "
					    "option '%s'",
					    argv[i]);
				}
				i++;
			}
			if (mid < 0) {
				json_decref(body);
				return usage_fail("status rules add needs "
						  "--message-id N");
			}
			return show(c, call(c, "POST", "/v1/admin/status/rules",
					   body),
			    NULL, NULL);
		}
	}
	return usage_fail(
	    "usage: status list [...] | status rules add|list|delete");
}

static int
cmd_tasks(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"TASK", "name", 's'},
	    {"RETENTION (S)", "retention", 'i'}, {"ENABLED", "enabled", 'b'},
	    {"LAST RUN", "last_run", 't'}, {"DELETED", "last_deleted", 'i'},
	    {"NEXT RUN", "next_run", 't'}, {NULL, NULL, 0}};
	char path[128];
	int i;

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return show(c, call(c, "GET", "/v1/admin/tasks", NULL), "tasks",
		    cols);
	if (argc >= 2 && strspn(argv[1], "abcdefghijklmnopqrstuvwxyz_") !=
			     strlen(argv[1]))
		return usage_fail("'%s' is not a task name", argv[1]);
	if (argc == 2 && strcmp(argv[0], "run") == 0) {
		str_fmt(path, sizeof(path), "/v1/admin/tasks/%s/run", argv[1]);
		return show(c, call(c, "POST", path, json_object()), NULL,
		    NULL);
	}
	if (argc >= 3 && strcmp(argv[0], "set") == 0) {
		json_t *body = json_object();
		int64_t secs;

		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--retention") == 0 &&
			    i + 1 < argc) {
				if (parse_duration(argv[++i], &secs) < 0) {
					json_decref(body);
					return usage_fail("--retention takes a "
							  "duration like 30d");
				}
				json_object_set_new(body, "retention",
				    json_integer(secs));
			} else if (strcmp(argv[i], "--disable") == 0)
				json_object_set_new(body, "enabled",
				    json_false());
			else if (strcmp(argv[i], "--enable") == 0)
				json_object_set_new(body, "enabled",
				    json_true());
			else {
				json_decref(body);
				return usage_fail(
				    "tasks set: unknown option '%s'", argv[i]);
			}
		}
		str_fmt(path, sizeof(path), "/v1/admin/tasks/%s", argv[1]);
		return show(c, call(c, "POST", path, body), "tasks", cols);
	}
	return usage_fail("usage: tasks list | tasks run NAME | tasks set NAME "
			  "[--retention D] [--disable|--enable]");
}

static json_t *
find_collection(json_t *list, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(list, "collections"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "name")),
			name) == 0)
			return c;
	}
	return NULL;
}

/* Percent-encodes a collection name for a query string. */
static char *
curl_escape_name(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o + 4 > size)
			return NULL;
		if (isalnum(ch) || ch == '.' || ch == '_' || ch == '-') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static int
cmd_collections(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"NAME", "name", 's'},
	    {"LIMIT", "limit_name", 's'}, {"MEMBERS", "members", 'i'},
	    {"SITE ONLY", "site_only", 'b'},
	    {"EVALUATED", "evaluated_at", 't'}, {NULL, NULL, 0}};
	static const struct column mcols[] = {{"ID", "id", 's'},
	    {"HOSTNAME", "hostname", 's'}, {"STATUS", "status", 's'},
	    {NULL, NULL, 0}};
	char path[256], enc[200];
	int i;

	if (argc >= 2 && strcmp(argv[0], "add") == 0) {
		json_t *body = json_pack("{s:s}", "name", argv[1]);
		static const char *lists[][2] = {{"--query", "queries"},
		    {"--include", "includes"}, {"--exclude", "excludes"},
		    {"--client", "clients"}};

		for (i = 2; i < argc; i++) {
			size_t k;

			if (strcmp(argv[i], "--site-attributes-only") == 0) {
				json_object_set_new(body,
				    "site_attributes_only", json_true());
				continue;
			}
			if (i + 1 >= argc) {
				json_decref(body);
				return usage_fail("'%s' needs a value",
						  argv[i]);
			}
			if (strcmp(argv[i], "--limit") == 0) {
				json_object_set_new(body, "limit",
				    json_string(argv[++i]));
				continue;
			}
			for (k = 0; k < 4; k++)
				if (strcmp(argv[i], lists[k][0]) == 0)
					break;
			if (k == 4) {
				json_decref(body);
				return usage_fail(
				    "collections add: unknown option "
				    "'%s'",
				    argv[i]);
			}
			if (json_object_get(body, lists[k][1]) == NULL)
				json_object_set_new(body, lists[k][1],
				    json_array());
			json_array_append_new(json_object_get(body,
						  lists[k][1]),
			    json_string(argv[++i]));
		}
		return show(c, call(c, "POST", "/v1/admin/collections", body),
		    NULL, NULL);
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return show(c, call(c, "GET", "/v1/admin/collections", NULL),
		    "collections", cols);
	if (argc == 1 && strcmp(argv[0], "evaluate") == 0)
		return show(c, call(c, "POST", "/v1/admin/collections/evaluate",
				   json_object()),
		    "collections", cols);
	if (argc == 2 && strcmp(argv[0], "show") == 0) {
		json_t *all = call(c, "GET", "/v1/admin/collections", NULL);
		json_t *one = all ? find_collection(all, argv[1]) : NULL;

		if (all == NULL)
			return 1;
		if (one == NULL) {
			json_decref(all);
			return fail("no collection '%s'", argv[1]);
		}
		if (c->json)
			print_json(one);
		else
			print_object(one, 0);
		json_decref(all);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "members") == 0) {
		char *e = curl_escape_name(argv[1], enc, sizeof(enc));

		if (e == NULL)
			return usage_fail("collection name too long");
		str_fmt(path, sizeof(path),
		    "/v1/admin/collections/members?name=%s", enc);
		return show_pages(c, path, "members", mcols, 0);
	}
	if (argc == 2 && strcmp(argv[0], "delete") == 0)
		return show(c, call(c, "POST", "/v1/admin/collections/delete",
				   json_pack("{s:s}", "name", argv[1])),
		    NULL, NULL);
	return usage_fail("usage: collections add|list|show NAME|members NAME|"
			  "delete NAME|evaluate");
}

static int
cmd_settings(struct ctl *c, int argc, char **argv)
{
	char path[128];
	int i;

	if (argc >= 1 && strcmp(argv[0], "show") == 0) {
		if (argc == 3 && strcmp(argv[1], "--client") == 0) {
			if (!pki_client_id_valid(argv[2]))
				return usage_fail("'%s' is not a client id",
						  argv[2]);
			str_fmt(path, sizeof(path),
			    "/v1/admin/settings?client=%s", argv[2]);
		} else if (argc == 1) {
			str_copy(path, sizeof(path), "/v1/admin/settings");
		} else {
			return usage_fail("usage: settings show [--client ID]");
		}
		return show(c, call(c, "GET", path, NULL), NULL, NULL);
	}
	if (argc >= 2 && strcmp(argv[0], "custom") == 0 &&
	    strcmp(argv[1], "add") == 0) {
		json_t *body = json_pack("{s:o}", "set", json_object());
		int64_t prio;

		for (i = 2; i < argc; i++) {
			if (i + 1 >= argc) {
				json_decref(body);
				return usage_fail("'%s' needs a value",
						  argv[i]);
			}
			if (strcmp(argv[i], "--collection") == 0)
				json_object_set_new(body, "collection",
				    json_string(argv[++i]));
			else if (strcmp(argv[i], "--priority") == 0) {
				if (parse_int64(argv[++i], 1, 1000000, &prio) <
				    0) {
					json_decref(body);
					return usage_fail(
					    "--priority takes 1 to "
					    "1000000");
				}
				json_object_set_new(body, "priority",
				    json_integer(prio));
			} else if (strcmp(argv[i], "--set") == 0) {
				char *eq = strchr(argv[++i], '=');

				if (eq == NULL) {
					json_decref(body);
					return usage_fail(
					    "--set takes KEY=VALUE");
				}
				*eq = '\0';
				json_object_set_new(json_object_get(body, "set"),
				    argv[i], json_string(eq + 1));
			} else {
				json_decref(body);
				return usage_fail(
				    "settings custom add: unknown "
				    "option '%s'",
				    argv[i]);
			}
		}
		return show(c, call(c, "POST", "/v1/admin/settings/custom",
				   body),
		    NULL, NULL);
	}
	return usage_fail(
	    "usage: settings show [--client ID] | settings custom add "
	    "--collection C --priority N --set KEY=VALUE...");
}

static int
cmd_report(struct ctl *c, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "health") == 0)
		return show(c, call(c, "GET", "/v1/admin/report/health", NULL),
		    NULL, NULL);
	if (argc >= 1 && strcmp(argv[0], "windows") == 0)
		return cmd_report_windows(c, argc - 1, argv + 1);
	return usage_fail("usage: report health | report windows [--at TIME]");
}

static int
cmd_site(struct ctl *c, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "show") == 0) {
		json_t *o = call(c, "GET", "/v1/admin/site", NULL);
		const char *w = json_string_value(json_object_get(o, "warning"));

		if (w != NULL && !c->json)
			fprintf(stderr, "stewardctl: WARNING: %s\n", w);
		return show(c, o, NULL, NULL);
	}
	if (argc >= 2 && strcmp(argv[0], "set-approval") == 0) {
		json_t *body = json_pack("{s:s}", "mode", argv[1]);
		json_t *doms = NULL, *o;
		const char *w;
		int i;

		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--trusted-domain") == 0 &&
			    i + 1 < argc) {
				if (doms == NULL)
					doms = json_array();
				json_array_append_new(doms,
				    json_string(argv[++i]));
			} else {
				json_decref(body);
				json_decref(doms);
				return usage_fail(
				    "site set-approval: unknown option "
				    "'%s'",
				    argv[i]);
			}
		}
		if (doms != NULL)
			json_object_set_new(body, "trusted_domains", doms);
		o = call(c, "POST", "/v1/admin/site/approval", body);
		w = json_string_value(json_object_get(o, "warning"));
		if (w != NULL && !c->json)
			fprintf(stderr, "stewardctl: WARNING: %s\n", w);
		return show(c, o, NULL, NULL);
	}
	return usage_fail(
	    "usage: site show|set-approval MODE [--trusted-domain "
	    "S]...");
}

static int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"ID", "id", 'i'},
	    {"TIME", "at", 't'}, {"ADMIN", "actor", 's'},
	    {"ACTION", "action", 's'}, {"TARGET", "target", 's'},
	    {"DETAIL", "detail", 's'}, {NULL, NULL, 0}};
	char path[64];
	int64_t limit = 100;

	if (argc < 1 || strcmp(argv[0], "list") != 0)
		return usage_fail("usage: audit list [--limit N]");
	if (argc == 3 && strcmp(argv[1], "--limit") == 0) {
		if (parse_int64(argv[2], 1, 10000, &limit) < 0)
			return usage_fail("--limit takes 1 to 10000");
	} else if (argc != 1) {
		return usage_fail("usage: audit list [--limit N]");
	}
	str_fmt(path, sizeof(path), "/v1/admin/audit?limit=%lld",
	    (long long)limit);
	return show(c, call(c, "GET", path, NULL), "audit", cols);
}

static const struct {
	const char *name;
	int (*run)(struct ctl *, int, char **);
} commands[] = {
	{ "token", cmd_token },
	{ "clients", cmd_clients },
	{ "status", cmd_status },
	{ "settings", cmd_settings },
	{ "collections", cmd_collections },
	{ "tasks", cmd_tasks },
	{ "report", cmd_report },
	{ "inventory", cmd_inventory },
	{ "certs", cmd_certs },
	{ "site", cmd_site },
	{ "content", cmd_content },
	{ "deploy", cmd_deploy },
	{ "deployments", cmd_deployments },
	{ "windows", cmd_windows },
	{ "audit", cmd_audit },
};

int
main(int argc, char **argv)
{
	struct ctl c;
	const char *dir = NULL, *server = NULL, *cred = NULL;
	char err[ERRMSG_MAX];
	size_t k;
	int i, rc;

	memset(&c, 0, sizeof(c));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "--dir") == 0 ||
			strcmp(argv[i], "--server") == 0 ||
			strcmp(argv[i], "--cred") == 0) &&
		    i + 1 >= argc) {
			fprintf(stderr, "stewardctl: %s needs a value\n",
			    argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--dir") == 0)
			dir = argv[++i];
		else if (strcmp(argv[i], "--server") == 0)
			server = argv[++i];
		else if (strcmp(argv[i], "--cred") == 0)
			cred = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("stewardctl %s\n", STEWARD_VERSION);
			return 0;
		} else {
			fprintf(stderr, "stewardctl: unknown option '%s' "
					"(stewardctl --help for usage)\n",
			    argv[i]);
			return 2;
		}
	}
	/* --json may also follow the command, as in "clients show ID --json". */
	{
		int j, n = i;

		for (j = i; j < argc; j++) {
			if (strcmp(argv[j], "--json") == 0)
				c.json = 1;
			else
				argv[n++] = argv[j];
		}
		argc = n;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			break;
	if (k == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "stewardctl: unknown command '%s' (stewardctl "
				"--help for usage)\n",
		    argv[i]);
		return 2;
	}
	if ((dir == NULL) == (server == NULL) ||
	    (server != NULL && cred == NULL)) {
		fprintf(stderr, "stewardctl: give --dir DIR, or --server URL "
				"--cred FILE\n");
		return 2;
	}
	httpc_global_init();
	if (dir != NULL)
		rc = connect_dir(&c, dir, err);
	else {
		str_copy(c.url, sizeof(c.url), server);
		rc = load_cred(&c, cred, err);
	}
	if (rc < 0)
		return fail("%s", err);
	rc = commands[k].run(&c, argc - i - 1, argv + i + 1);
	if (c.cred)
		OPENSSL_cleanse(c.cred, strlen(c.cred));
	free(c.cred);
	free(c.ca);
	return rc;
}
