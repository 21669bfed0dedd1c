/* health.c - the agent's self-checks (hourly by default): the spool works,
 * the certificate is valid and not past its renewal point, the site is
 * reachable, the policy is fresh, the clocks agree, the state directory has
 * room. What it can fix, it fixes (renewing an overdue certificate; the run
 * re-fetches the policy before the checks); the results go to the site as a
 * health report through the spool. */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <jansson.h>

#include "agent.h"
#include "common/log.h"
#include "common/util.h"

#define AGENT_HEALTH "health.json"
#define HEALTH_INTERVAL 3600
#define SKEW_MAX_SECS 300
#define DISK_MIN_MB 50

static json_t *
check(const char *name, int ok, int remediated, const char *detail)
{
	return json_pack("{s:s,s:b,s:b,s:s}", "name", name, "ok", ok,
	    "remediated", remediated, "detail", detail);
}

static int64_t
next_due(struct agent_state *s)
{
	json_t *o = state_json(s, AGENT_HEALTH);
	int64_t v = json_integer_value(json_object_get(o, "next_due"));

	json_decref(o);
	return v;
}

int
agent_health(struct agent_state *s, struct identity *id, struct spool *sp,
    int site_ok, int64_t skew, int have_skew, int force, char *err)
{
	json_t *checks = json_array(), *report;
	char detail[160], path[PATH_MAX], text[64];
	struct statvfs sv;
	int64_t now = now_unix(), left = id->not_after - now;
	int failing = 0;
	size_t i;

	if (!force && now < next_due(s)) {
		json_decref(checks);
		return 0;
	}
	str_fmt(detail, sizeof(detail), "%lld report(s) waiting",
	    (long long)spool_pending(sp));
	json_array_append_new(checks,
	    check("spool", spool_pending(sp) >= 0, 0, detail));

	if (left <= 0) {
		json_array_append_new(checks,
		    check("certificate", 0, 0, "expired: enroll again"));
	} else if (renew_due(id->not_before, id->not_after, now)) {
		/* Past the renewal point (two thirds of the lifetime) and
		 * still not renewed: renew now. Judging by the renewal point,
		 * not a fixed 30 days, keeps short-lived certificates from
		 * being renewed at every check. */
		int fixed = agent_renew(s, id, s->hardware_id[0] ? s->hardware_id
								 : NULL,
				err) == 0;

		if (fixed) {
			identity_free(id);
			fixed = identity_load(s, id, err) == 0;
		}
		str_fmt(detail, sizeof(detail), "%lld days left; %s",
		    (long long)(left / 86400),
		    fixed ? "renewed" : "renewal failed");
		json_array_append_new(checks,
		    check("certificate", fixed, fixed, detail));
	} else {
		str_fmt(detail, sizeof(detail), "%lld days left",
		    (long long)(left / 86400));
		json_array_append_new(checks, check("certificate", 1, 0, detail));
	}
	json_array_append_new(checks,
	    check("site", site_ok, 0, site_ok ? "reachable" : "unreachable"));
	{
		/* The run fetched the policy just before (re-fetch is the
		 * remediation); what is left stale here is a failure. */
		int fresh = agent_policy_fresh(s, now, detail, sizeof(detail));

		json_array_append_new(checks, check("policy", fresh, 0, detail));
	}
	if (have_skew) {
		str_fmt(detail, sizeof(detail), "%+lld s against the site",
		    (long long)skew);
		json_array_append_new(checks,
		    check("clock", skew < SKEW_MAX_SECS && skew > -SKEW_MAX_SECS,
			0, detail));
	}
	if (statvfs(s->dir, &sv) == 0) {
		unsigned long long mb =
		    (unsigned long long)sv.f_bavail * sv.f_frsize >> 20;

		str_fmt(detail, sizeof(detail), "%llu MiB free in %s", mb,
		    s->dir);
		json_array_append_new(checks,
		    check("disk", mb >= DISK_MIN_MB, 0, detail));
	}
	for (i = 0; i < json_array_size(checks); i++)
		if (!json_is_true(
			json_object_get(json_array_get(checks, i), "ok")))
			failing = 1;
	report = json_pack("{s:I,s:o}", "time", (json_int_t)now, "checks",
	    checks);
	if (spool_add(sp, "health", report, err) < 0) {
		json_decref(report);
		return -1;
	}
	json_decref(report);
	if (failing)
		log_warn("self-checks found problems; reported to the site");
	str_fmt(text, sizeof(text), "{\"next_due\": %lld}\n",
	    (long long)(now + agent_setting(s, "health.interval",
				  HEALTH_INTERVAL)));
	state_path(s, AGENT_HEALTH, path, sizeof(path));
	file_write_atomic(path, text, strlen(text), 0600, NULL);
	return 1;
}
