/* h_status.c - POST /v1/status and POST /v1/health (authenticated reports
 * of a client), and under /v1/admin: status, status/rules, report/health.
 * Status filter rules act on stored messages only, and every stored message
 * was sent by the client its certificate names. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/status.h"
#include "server.h"

static int
rule_matches(json_t *rule, const struct status_msg *m)
{
	const char *comp = json_string_value(json_object_get(rule, "component"));

	return json_integer_value(json_object_get(rule, "message_id")) ==
		m->message_id &&
	    (comp == NULL || strcmp(comp, m->component) == 0);
}

/* Applies the filter rules to one newly stored message. */
static int
apply_rules(struct request *r, json_t *rules, const struct status_msg *m,
    char *err)
{
	json_t *rule;
	size_t i;

	json_array_foreach(rules, i, rule)
	{
		const char *action;
		json_int_t id;

		if (!rule_matches(rule, m))
			continue;
		action = json_string_value(json_object_get(rule, "action"));
		id = json_integer_value(json_object_get(rule, "id"));
		if (strcmp(action, "log") == 0) {
			log_info("status rule %lld: client %s %s message %lld "
				 "(%s): %.300s",
			    (long long)id, r->peer->id, m->component,
			    (long long)m->message_id, m->severity, m->strings);
		} else {
			char mark[160];

			str_fmt(mark, sizeof(mark),
			    "status rule %lld: %s message %lld at %lld",
			    (long long)id, m->component,
			    (long long)m->message_id, (long long)m->at);
			if (db_client_mark(r->db, r->peer->id, mark, err) < 0)
				return -1;
		}
	}
	return 0;
}

void
h_status(struct request *r)
{
	struct status_batch b;
	char err[ERRMSG_MAX];
	int64_t now = now_unix();
	json_t *rules;
	size_t i;
	int stored = 0, n;

	if (status_parse(r->body, r->body_len, now, &b, err) < 0) {
		reply_error(r, 400, "%s", err);
		return;
	}
	if (b.client_id != NULL && strcmp(b.client_id, r->peer->id) != 0) {
		reply_error(r, 403,
		    "these messages claim client %.64s; a client speaks only "
		    "for itself (%s)",
		    b.client_id, r->peer->id);
		status_batch_free(&b);
		return;
	}
	rules = db_status_rules(r->db);
	if (rules == NULL || db_begin(r->db, err) < 0) {
		json_decref(rules);
		status_batch_free(&b);
		reply_error(r, 503, "database busy");
		return;
	}
	for (i = 0; i < b.n; i++) {
		const struct status_msg *m = &b.msgs[i];

		n = db_status_insert(r->db, r->peer->id, m->uid, m->component,
		    m->message_id, m->severity, m->at, now, m->strings, err);
		if (n < 0 || (n == 1 && apply_rules(r, rules, m, err) < 0))
			break;
		if (n == 1 && strcmp(m->component, "deployment") == 0 &&
		    deployment_report(r->db, r->peer->id, m, err) < 0)
			break;
		stored += n;
	}
	/* Acknowledged only once committed. */
	if (i < b.n || db_client_touch(r->db, r->peer->id, "status", now, err) <
		0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		json_decref(rules);
		status_batch_free(&b);
		reply_error(r, 500, "cannot store status messages: %s", err);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:s,s:i,s:i}", "status", "ok", "stored", stored,
		"duplicates", (int)b.n - stored));
	json_decref(rules);
	status_batch_free(&b);
}

void
h_health(struct request *r)
{
	struct health_report h;
	char err[ERRMSG_MAX];
	int64_t now = now_unix();
	int n;

	if (health_parse(r->body, r->body_len, now, &h, err) < 0) {
		reply_error(r, 400, "%s", err);
		return;
	}
	if (db_begin(r->db, err) < 0 ||
	    (n = db_health_put(r->db, r->peer->id, h.uid, h.at, h.state,
		 h.checks, err)) < 0 ||
	    db_client_touch(r->db, r->peer->id, "health", now, err) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		health_report_free(&h);
		reply_error(r, 500, "cannot store the health report: %s", err);
		return;
	}
	if (strcmp(h.state, "failing") == 0)
		log_warn("client %s reports failing health checks: %.300s",
		    r->peer->id, h.checks);
	reply_json(r, 200,
	    json_pack("{s:s,s:s,s:b}", "status", "ok", "state", h.state,
		"duplicate", n == 0));
	health_report_free(&h);
}

void
h_admin_status_list(struct request *r)
{
	char client[40], since[24], sev[16], lim[16];
	int have_client = query_get(r, "client", client, sizeof(client)) == 0;
	int have_sev = query_get(r, "severity", sev, sizeof(sev)) == 0;
	int64_t secs = 0, limit = 1000;
	json_t *list;

	if (have_client && !pki_client_id_valid(client)) {
		reply_error(r, 400, "client must be a client id");
		return;
	}
	if (have_sev && !status_severity_valid(sev)) {
		reply_error(r, 400, "severity must be info, warning or error");
		return;
	}
	if (query_get(r, "since", since, sizeof(since)) == 0 &&
	    (parse_duration(since, &secs) < 0 || secs <= 0)) {
		reply_error(r, 400, "since must be a duration like 1h or 7d");
		return;
	}
	/* At most a page's worth (PAGE_MAX): 100,000 messages were about
	 * 30 MB, past what stewardctl reads. */
	if (query_get(r, "limit", lim, sizeof(lim)) == 0 &&
	    parse_int64(lim, 1, PAGE_MAX, &limit) < 0) {
		reply_error(r, 400, "limit must be 1 to %d", PAGE_MAX);
		return;
	}
	list = db_status_list(r->db, have_client ? client : NULL,
	    secs ? now_unix() - secs : 0, have_sev ? sev : NULL, (int)limit);
	if (list == NULL) {
		reply_error(r, 500, "cannot list status messages");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "messages", list));
}

void
h_admin_status_rules(struct request *r)
{
	json_t *list = db_status_rules(r->db);

	if (list == NULL) {
		reply_error(r, 500, "cannot list rules");
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "rules", list));
}

void
h_admin_status_rule_add(struct request *r)
{
	json_t *o = body_json(r), *mid;
	const char *comp, *action;
	char err[ERRMSG_MAX], detail[128], idtext[24];
	int64_t id;

	if (o == NULL)
		return;
	mid = json_object_get(o, "message_id");
	comp = json_string_value(json_object_get(o, "component"));
	action = json_string_value(json_object_get(o, "action"));
	if (!json_is_integer(mid) || json_integer_value(mid) < 0 ||
	    json_integer_value(mid) > 2147483647) {
		reply_error(r, 400, "'message_id' must be an integer");
		goto out;
	}
	if (json_object_get(o, "component") && (comp == NULL ||
						    !status_component_valid(comp))) {
		reply_error(r, 400, "'component' must be 1-64 of [A-Za-z0-9._-]");
		goto out;
	}
	if (action == NULL ||
	    (strcmp(action, "log") && strcmp(action, "mark-client"))) {
		reply_error(r, 400, "'action' must be log or mark-client");
		goto out;
	}
	str_fmt(detail, sizeof(detail), "message %lld component %s action %s",
	    (long long)json_integer_value(mid), comp ? comp : "*", action);
	if (db_begin(r->db, err) < 0 ||
	    db_status_rule_add(r->db, json_integer_value(mid), comp, action,
		r->peer->id, now_unix(), &id, err) < 0 ||
	    (str_fmt(idtext, sizeof(idtext), "%lld", (long long)id),
		admin_audit(r, "status.rule.add", idtext, detail)) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		goto out;
	}
	reply_json(r, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id,
			       "rule", detail));
out:
	json_decref(o);
}

void
h_admin_status_rule_delete(struct request *r)
{
	char err[ERRMSG_MAX];
	int64_t id;
	int n;

	if (parse_int64(r->param, 1, INT64_MAX, &id) < 0) {
		reply_error(r, 400, "'%s' is not a rule id", r->param);
		return;
	}
	if (db_begin(r->db, err) < 0 ||
	    (n = db_status_rule_delete(r->db, id, err)) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	if (n == 0) {
		db_rollback(r->db);
		reply_error(r, 404, "no status rule %s", r->param);
		return;
	}
	if (admin_audit(r, "status.rule.delete", r->param, NULL) < 0 ||
	    db_commit(r->db, err) < 0) {
		db_rollback(r->db);
		reply_error(r, 500, "%s", err);
		return;
	}
	reply_json(r, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id,
			       "status", "deleted"));
}

/* Adds "activity" (active/inactive) to a client object from its latest
 * contact on any channel (db_client_counts counts by the same rule). */
void
client_activity(json_t *c, int64_t now, int64_t inactive_after)
{
	static const char *fields[] = {"last_seen", "last_inventory_at",
	    "last_status_at", "last_health_at", "last_policy_at"};
	int64_t last = 0;
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *v = json_object_get(c, fields[i]);

		if (json_is_integer(v) && json_integer_value(v) > last)
			last = json_integer_value(v);
	}
	json_object_set_new(c, "last_activity",
	    last ? json_integer(last) : json_null());
	json_object_set_new(c, "activity",
	    json_string(last && now - last < inactive_after ? "active"
							    : "inactive"));
}

/* Counted by the database (db_client_counts): loading a whole site's
 * 175,000 clients to count them took a worker 2.5 s and left the server
 * 860 MB larger. */
void
h_admin_report_health(struct request *r)
{
	json_t *rows, *row;
	json_t *status = json_object(), *health = json_object(),
	       *activity = json_object();
	int64_t total = 0;
	size_t i;

	rows = db_client_counts(r->db, now_unix() - r->srv->cfg.inactive_after);
	if (rows == NULL) {
		json_decref(status);
		json_decref(health);
		json_decref(activity);
		reply_error(r, 500, "cannot read clients");
		return;
	}
	json_array_foreach(rows, i, row)
	{
		const char *s = json_string_value(json_object_get(row, "status"));
		const char *h = json_string_value(json_object_get(row, "health"));
		const char *a = json_string_value(
		    json_object_get(row, "activity"));
		int64_t n = json_integer_value(json_object_get(row, "n"));

		if (s == NULL || h == NULL || a == NULL)
			continue;
#define ADD(o, k)                                                              \
	json_object_set_new(o, k,                                              \
	    json_integer(json_integer_value(json_object_get(o, k)) + n))
		ADD(status, s);
		if (strcmp(s, "approved") == 0) {
			ADD(health, h);
			ADD(activity, a);
		}
#undef ADD
		total += n;
	}
	json_decref(rows);
	reply_json(r, 200,
	    json_pack("{s:I,s:o,s:o,s:o,s:I}", "clients", (json_int_t)total,
		"by_status", status, "by_health", health, "by_activity",
		activity, "inactive_after",
		(json_int_t)r->srv->cfg.inactive_after));
}
