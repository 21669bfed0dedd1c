#!/bin/bash
# Retention maintenance tasks (issue 4, point 5): listed with their settings
# and last run, run at start and on demand, configurable, and deleting only
# what is older than their retention.
. "$(dirname "$0")/lib.sh"

start_site t --approval all
sleep 1 # due tasks run right after start
expect_exit 0 ctl tasks list
for t in discovery health_history status_messages inventory_history notifications; do
	expect_in "$t"
done
expect_exit 0 ctl --json tasks list
python3 -c 'import json,sys
t={x["name"]:x for x in json.loads(sys.argv[1])["tasks"]}
assert t["status_messages"]["retention"]==30*86400, t
assert t["discovery"]["retention"]==90*86400, t
assert t["health_history"]["retention"]==31*86400, t
assert all(x["last_run"] and x["next_run"] for x in t.values()), t' "$OUT" ||
	fail "task defaults or first run wrong: $OUT"
ok "tasks list shows every task with its retention, last and next run"

TOKEN=$(new_token --uses 1)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-task-0001
expect_exit 0 agent send-status --state "$TMP/c1" --component app --message-id 1 --count 20 "recent"
ID=$(client_id_of "$TMP/c1")
OLD=$(( $(date +%s) - 40 * 86400 ))
sqlite3 "$SITE/site.db" "INSERT INTO status_messages (client_id, uid, component, message_id, severity, at, received_at, strings)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
	SELECT '$ID', 900000 + i, 'old', 1, 'info', $OLD, $OLD, '[]' FROM n" || fail "cannot seed old messages"
expect_exit 0 ctl tasks run status_messages
expect_in "deleted: 1234"
[ "$(sqlite3 "$SITE/site.db" "SELECT COUNT(*) FROM status_messages")" = 20 ] || fail "recent messages were deleted"
expect_exit 0 ctl --json tasks list
expect_in '"last_deleted": 1234'
ok "run now deletes exactly the aged rows (1234 old, 20 recent kept)"

expect_exit 0 ctl tasks set status_messages --retention 7d
expect_in "604800"
expect_exit 0 ctl tasks set health_history --disable
expect_exit 0 ctl --json tasks list
python3 -c 'import json,sys
t={x["name"]:x for x in json.loads(sys.argv[1])["tasks"]}
assert t["status_messages"]["retention"]==7*86400 and t["health_history"]["enabled"] is False' "$OUT" ||
	fail "settings not applied: $OUT"
expect_exit 1 ctl tasks run nosuchtask
expect_in "no task"
expect_exit 1 ctl tasks set status_messages --retention 1h
expect_in "retention"
expect_exit 0 ctl audit list
expect_in "task.set"
expect_in "task.run"
ok "retention and enablement are configurable, validated and audited"
