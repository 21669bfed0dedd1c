#!/bin/bash
# Status messages, filter rules, rate limits, health and activity (issue 4,
# points 2 and 3).
. "$(dirname "$0")/lib.sh"

init_site st --approval all
printf 'status_rate = 2\nstatus_burst = 5\n' >>"$SITE/steward.conf"
run_site
TOKEN=$(new_token --uses 5)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
for n in 1 2; do
	expect_exit 0 agent enroll --state "$TMP/c$n" --token "$TOKEN" --hostname "c$n" --hardware-id "hw-stat-00$n"
done
ID1=$(client_id_of "$TMP/c1")
ID2=$(client_id_of "$TMP/c2")

expect_exit 0 ctl status rules add --message-id 4242 --component backup --action mark-client
expect_exit 0 ctl status rules add --message-id 4243 --action log
expect_exit 0 ctl status rules list
expect_in "mark-client"
expect_exit 1 ctl status rules add --message-id 1 --action explode
expect_in "'action' must be"
expect_exit 0 agent send-status --state "$TMP/c1" --component backup --message-id 4242 --severity error "disk full" "/var"
expect_in "sent 1"
expect_exit 0 agent send-status --state "$TMP/c1" --component other --message-id 4243 "hello"
expect_exit 0 ctl status list --client "$ID1"
expect_in "disk full"
expect_in "backup"
expect_exit 0 ctl status list --severity error --since 1h --json
expect_in '"message_id": 4242'
echo "$OUT" | grep -q 4243 && fail "severity filter let an info message through"
expect_exit 0 ctl clients show "$ID1" --json
expect_in '"marked": "status rule 1: backup message 4242'
grep -q "status rule 2: client $ID1 other message 4243" "$SITE_LOG" || fail "log rule did not fire"
expect_exit 0 ctl clients show "$ID2" --json
echo "$OUT" | grep -q '"marked": "status' && fail "another client was marked"
ok "status messages are stored per sender, filtered, and rules act on them"

CRED=$(agent_cred "$TMP/c1")
code=$(ccurl "$CRED" -o "$TMP/body" -w '%{http_code}' -X POST --data-binary \
	"{\"client_id\":\"$ID2\",\"messages\":[{\"uid\":1,\"component\":\"x\",\"message_id\":4242,\"severity\":\"info\",\"time\":$(date +%s)}]}" \
	"$URL/v1/status")
[ "$code" = 403 ] || fail "a message for another client gave $code"
grep -q "speaks only for itself" "$TMP/body" || fail "403 text: $(cat "$TMP/body")"
code=$(ccurl none -o /dev/null -w '%{http_code}' -X POST -d '{}' "$URL/v1/status")
[ "$code" = 401 ] || fail "anonymous status gave $code"
expect_exit 0 ctl clients show "$ID2" --json
echo "$OUT" | grep -q '"marked": "status' && fail "a forged message marked another client"
ok "a client cannot speak for another; anonymous messages are refused"

# Flood: client 1 beyond its bucket gets 429 with Retry-After; client 2 is
# served meanwhile.
CRED2=$(agent_cred "$TMP/c2")
: >"$TMP/codes"
FLOOD=""
for i in $(seq 1 30); do
	ccurl "$CRED" -o /dev/null -D "$TMP/h$i" -w '%{http_code}\n' -X POST -d '{"messages":[]}' "$URL/v1/status" >>"$TMP/codes" &
	FLOOD="$FLOOD $!"
done
wait $FLOOD
grep -q 429 "$TMP/codes" || fail "no 429 in a flood: $(sort "$TMP/codes" | uniq -c)"
grep -qi "^retry-after: [0-9]" "$TMP"/h* || fail "429 without Retry-After"
code=$(ccurl "$CRED2" -o "$TMP/body" -w '%{http_code}' -X POST --data-binary \
	"{\"messages\":[{\"uid\":1,\"component\":\"x\",\"message_id\":1,\"severity\":\"info\",\"time\":$(date +%s)}]}" \
	"$URL/v1/status")
[ "$code" = 200 ] || fail "the quiet client was refused during the flood: $code $(cat "$TMP/body")"
ok "a flooding client gets 429 + Retry-After; others are served ($(grep -c 429 "$TMP/codes") of 30 refused)"

# Health and activity.
sleep 3 # let client 1's bucket refill
expect_exit 0 agent run --state "$TMP/c1" --once
expect_exit 0 ctl clients list
expect_in "healthy"
expect_in "active"
expect_exit 0 ctl clients show "$ID1" --json
expect_in '"health_checks"'
expect_in '"name": "certificate"'
expect_exit 0 ctl --json report health
expect_in '"healthy": 1'
expect_in '"unknown": 1'
expect_in '"active": 2'
ok "self-checks reach the site; clients list and report health show health and activity"
