/* report.c - the agent's inventory reports: a full report first, then
 * deltas against the last report the site acknowledged, on a daily
 * schedule with jitter; a full report again whenever the site asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

#define AGENT_INVENTORY "inventory.json"
#define AGENT_INVENTORY_DUE "inventory.due"
#define INVENTORY_INTERVAL 86400

/* inventory.json: {"seq", "sent_at", "next_due", "classes"} of the last
 * acknowledged report. */
static json_t *
inv_state_load(struct agent_state *s)
{
	return state_json(s, AGENT_INVENTORY);
}

static int
inv_state_save(struct agent_state *s, int64_t seq, json_t *classes,
    char *err)
{
	char path[PATH_MAX], *text;
	unsigned char j[2];
	int64_t now = now_unix(), next;
	json_t *o;
	int r;

	int64_t every = agent_setting(s, "inventory.interval",
	    INVENTORY_INTERVAL);

	rand_bytes(j, sizeof(j));
	/* inventory.interval (daily by default), spread over +-10% so a fleet
	 * does not report at once. */
	next = now + every * 9 / 10 +
	    (int64_t)(((unsigned)j[0] << 8 | j[1]) % (every / 5 + 1));
	o = json_pack("{s:I,s:I,s:I,s:O}", "seq", (json_int_t)seq, "sent_at",
	    (json_int_t)now, "next_due", (json_int_t)next, "classes", classes);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return err_set(err, "cannot encode the inventory state");
	state_path(s, AGENT_INVENTORY, path, sizeof(path));
	r = file_write_atomic(path, text, strlen(text), 0600, err);
	free(text);
	if (r == 0) {
		char due[32];

		/* When the next report is due, apart: a check-in reads this
		 * small file, not the whole last inventory. */
		str_fmt(due, sizeof(due), "%lld\n", (long long)next);
		state_path(s, AGENT_INVENTORY_DUE, path, sizeof(path));
		r = file_write_atomic(path, due, strlen(due), 0600, err);
	}
	return r;
}

/* 1 when the inventory.due file says the next report is not due yet. It
 * caches inventory.json's next_due: written after it, or it is stale. */
static int
inv_not_due(struct agent_state *s)
{
	char path[PATH_MAX], *text;
	struct stat due, inv;
	int64_t next;
	int r;

	state_path(s, AGENT_INVENTORY_DUE, path, sizeof(path));
	if (stat(path, &due) < 0)
		return 0;
	state_path(s, AGENT_INVENTORY, path, sizeof(path));
	if (stat(path, &inv) == 0 &&
	    (inv.st_mtim.tv_sec > due.st_mtim.tv_sec ||
		(inv.st_mtim.tv_sec == due.st_mtim.tv_sec &&
		    inv.st_mtim.tv_nsec > due.st_mtim.tv_nsec)))
		return 0;
	text = state_read(s, AGENT_INVENTORY_DUE, NULL);
	if (text == NULL)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	r = parse_int64(text, 0, INT64_MAX / 2, &next) == 0 &&
	    now_unix() < next;
	free(text);
	return r;
}

static int
post(struct agent_state *s, const struct identity *id, const char *crl,
    json_t *doc, long *status, json_t **answer, char *err)
{
	struct httpc_tls tls = identity_tls(id, 120, crl);
	struct httpc_resp resp;
	char url[400], *body = json_dumps(doc, JSON_COMPACT);
	int r;

	if (body == NULL)
		return err_set(err, "cannot encode the inventory");
	str_fmt(url, sizeof(url), "%s/v1/inventory", s->url);
	r = httpc_request("POST", url, &tls, body, NULL, &resp, err);
	free(body);
	if (r < 0)
		return -1;
	*status = resp.status;
	*answer = json_loadb(resp.body, resp.len, 0, NULL);
	httpc_resp_free(&resp);
	return 0;
}

int
agent_inventory(struct agent_state *s, const struct identity *id,
    const char *crl, int force, char *err)
{
	const char *root = getenv("STEWARD_ROOT");
	json_t *st, *cur, *doc, *answer = NULL;
	int64_t seq = 0;
	long status = 0;
	int full, r = -1;

	if (!force && inv_not_due(s))
		return 0;
	st = inv_state_load(s);
	if (st != NULL) {
		seq = json_integer_value(json_object_get(st, "seq"));
		if (!force && now_unix() < json_integer_value(json_object_get(
						st, "next_due"))) {
			json_decref(st);
			return 0; /* not due */
		}
	}
	cur = collect_inventory(root ? root : "/");
	full = st == NULL || seq < 1;
	for (;;) {
		if (full)
			doc = json_pack("{s:s,s:I,s:O}", "kind", "full", "seq",
			    (json_int_t)(seq + 1), "classes", cur);
		else
			doc = json_pack("{s:s,s:I,s:I,s:o}", "kind", "delta",
			    "seq", (json_int_t)(seq + 1), "base",
			    (json_int_t)seq, "classes",
			    inventory_delta(json_object_get(st, "classes"),
				cur));
		if (post(s, id, crl, doc, &status, &answer, err) < 0) {
			json_decref(doc);
			break;
		}
		json_decref(doc);
		if (status == 409 && !full &&
		    json_is_true(json_object_get(answer, "full_required"))) {
			/* The site lost track: start again with a full one. */
			log_info("the site asked for a full inventory");
			full = 1;
			json_decref(answer);
			answer = NULL;
			continue;
		}
		if (status != 200) {
			const char *e =
			    json_string_value(json_object_get(answer, "error"));

			err_set(err, "inventory refused (HTTP %ld): %s", status,
			    e ? e : "no reason given");
			break;
		}
		if (inv_state_save(s, seq + 1, cur, err) == 0) {
			log_info("inventory sent: %s report %lld, %lld "
				 "changes",
			    full ? "full" : "delta", (long long)(seq + 1),
			    (long long)json_integer_value(
				json_object_get(answer, "changes")));
			r = 1;
		}
		break;
	}
	json_decref(answer);
	json_decref(cur);
	json_decref(st);
	return r;
}
