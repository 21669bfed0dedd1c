#!/bin/bash
# Maintenance windows (issue 5, point 4): a required deployment waits for a
# window that holds its max runtime and runs inside it; the union of a
# device's windows counts; --override-windows runs at the deadline; "report
# windows" names what no window in the next 30 days can hold. The agent's
# scheduler clock is injected with STEWARD_AGENT_NOW.
. "$(dirname "$0")/lib.sh"

start_site wi --approval all
TOKEN=$(new_token)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname win-01 --hardware-id hw-win-0001
ID=$(client_id_of "$TMP/c1")
expect_exit 0 ctl collections add win --site-attributes-only --query 'tag["maint"] == "night"'
expect_exit 0 ctl collections add win2 --site-attributes-only --query 'tag["maint"] == "night"'
expect_exit 0 ctl clients tag "$ID" maint=night
at() { date -u -d "$1" +%s; }

# Bad windows are refused.
expect_exit 1 ctl windows add --collection win --start 2026-11-31T01:00Z --duration 1h
expect_in "YYYY-MM-DD"
expect_exit 1 ctl windows add --collection win --start 2026-11-01T01:00Z --duration 1h --recur weekly:someday
expect_in "recurrence"
expect_exit 1 ctl windows add --collection win --start 2026-11-01T01:00Z --duration 10s
expect_in "duration"
expect_exit 1 ctl windows add --collection nowhere --start 2026-11-01T01:00Z --duration 1h
expect_in "no collection"
ok "malformed windows are refused"

expect_exit 0 ctl windows add --collection win --start 2026-11-01T01:00Z --duration 1h --recur daily
printf 'echo ran at "$(date -u +%%FT%%TZ)"\n' >"$TMP/job.sh"
SHA=$(ctl content add "$TMP/job.sh" | tail -n 1)
deploy() { ctl deploy script --collection win --content "$SHA" --required "$@" | tail -n 1; }
A=$(deploy --name short --max-runtime 30m)
B=$(deploy --name long --max-runtime 2h)
C=$(deploy --name urgent --max-runtime 2h --deadline 2026-11-26T03:00Z --override-windows)
D=$(deploy --name patient --max-runtime 2h --deadline 2026-11-27T03:00Z)
state_of() {
	ctl --json deployments show "$1" | json_get devices.0.state
}
detail_of() {
	ctl --json deployments show "$1" | json_get devices.0.detail
}

# 00:30 UTC: outside the window. Nothing runs; A and B wait, C and D are
# not due before their deadlines.
STEWARD_AGENT_NOW=$(at 2026-11-26T00:30Z) expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(state_of "$A")" = waiting ] || fail "A is $(state_of "$A") outside its window"
case "$(detail_of "$A")" in *"opens at 2026-11-26T01:00:00Z"*) ;; *) fail "A: $(detail_of "$A")" ;; esac
[ "$(state_of "$B")" = waiting ] || fail "B is $(state_of "$B")"
case "$(detail_of "$B")" in *"no maintenance window in the next 30 days"*) ;; *) fail "B: $(detail_of "$B")" ;; esac
[ "$(state_of "$C")" = pending ] && [ "$(state_of "$D")" = pending ] || fail "a deployment before its deadline started"
ok "outside its window a required deployment waits and says when the next window that holds it opens"

expect_exit 0 ctl --json report windows --at 2026-11-26T00:30Z
python3 -c 'import json,sys
r=json.loads(sys.argv[1])["too_small"]
ids=sorted(e["deployment_id"] for e in r)
assert ids==sorted([int(sys.argv[2]),int(sys.argv[3])]), r
assert all(e["collection"]=="win" and e["devices_blocked"]==1 and e["largest_window"]==3600 for e in r), r' \
	"$OUT" "$B" "$D" || fail "report windows: $OUT"
expect_exit 0 ctl report windows --at 2026-11-26T00:30Z
expect_in "long"
ok "report windows lists the collection whose 2-hour deployments no 1-hour window holds (the override one excluded)"

# A second window on another collection of the device, adjacent to the
# first on Thursdays: their union holds 2.5 hours.
expect_exit 0 ctl windows add --collection win2 --start 2026-11-05T02:00Z --duration 90m --recur weekly:thu
expect_exit 0 ctl --json report windows --at 2026-11-26T00:30Z
[ "$(echo "$OUT" | json_get too_small)" = "[]" ] || fail "the union was not counted: $OUT"
ok "the union of windows over a device's collections counts: nothing is too small now"

STEWARD_AGENT_NOW=$(at 2026-11-26T01:10Z) expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(state_of "$A")" = succeeded ] || fail "A is $(state_of "$A") inside its window"
[ "$(state_of "$B")" = succeeded ] || fail "B is $(state_of "$B") inside the union of windows"
[ "$(state_of "$C")" = pending ] || fail "C ran before its deadline"
ok "inside the window the waiting deployments ran (the 2-hour one in the union of two windows)"

# Friday 03:05, no window open: past its deadline the overriding one runs,
# the other keeps waiting for a window.
STEWARD_AGENT_NOW=$(at 2026-11-27T03:05Z) expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(state_of "$C")" = succeeded ] || fail "C is $(state_of "$C") after its deadline"
[ "$(state_of "$D")" = waiting ] || fail "D is $(state_of "$D")"
case "$(detail_of "$D")" in *"opens at 2026-12-03T01:00:00Z"*) ;; *) fail "D: $(detail_of "$D")" ;; esac
ok "at its deadline an --override-windows deployment runs; without it, it waits for the next window"

expect_exit 0 ctl windows list
expect_in "weekly:thu"
W=$(ctl --json windows list | json_get windows.1.id)
expect_exit 0 ctl windows delete "$W"
expect_exit 1 ctl windows delete "$W"
expect_in "HTTP 404"
ok "windows are listed and deleted"
