#!/bin/bash
# Manual approval end to end (points 4, 5, 6): pending, approve, issue,
# heartbeat over mutual TLS, deny, token limits and revocation, audit.
. "$(dirname "$0")/lib.sh"

start_site s --approval manual
TOKEN=$(new_token --ttl 1h --uses 3)
case "$TOKEN" in stw1.*) ;; *) fail "token create printed '$TOKEN'" ;; esac
[ "$(echo "$TOKEN" | wc -l)" -eq 1 ] || fail "token create printed more than one line"

A1=$TMP/a1
expect_exit 3 agent enroll --state "$A1" --token "$TOKEN" --hostname a1 --hardware-id hw-a1-0001
expect_in "pending approval"
ID=$(client_id_of "$A1")
expect_in "$ID"
[ "$(stat -c %a "$A1/key.pem")" = 600 ] || fail "device key is not 0600"
grep -q "BEGIN CERTIFICATE" "$A1/ca.pem" || fail "pinned CA not kept"
ok "enroll with a token: exit 3 pending, key 0600 on the device"

expect_exit 0 ctl clients list
expect_in "$ID"
expect_in "pending"
expect_exit 0 ctl clients list --status pending --json
expect_in "\"id\": \"$ID\""
expect_exit 0 ctl clients list --status approved
expect_in "(none)"
ok "clients list shows the pending request (table and JSON)"

# Polling without the request's secret gets nothing.
RID=$(json_get request_id <"$A1/state.json")
code=$(ccurl none -o /dev/null -w '%{http_code}' "$URL/v1/enroll/$RID")
[ "$code" = 401 ] || fail "poll without secret gave $code"
code=$(ccurl none -o /dev/null -w '%{http_code}' -H "X-Steward-Poll-Secret: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$URL/v1/enroll/$RID")
[ "$code" = 403 ] || fail "poll with a wrong secret gave $code"
expect_exit 3 agent enroll --state "$A1" --wait 1
ok "pending requests are polled with their secret only"

expect_exit 0 ctl clients approve "$ID"
expect_in "approved"
expect_exit 1 ctl clients approve "$ID"
expect_in "not pending"
expect_exit 0 agent enroll --state "$A1" --wait 30
expect_in "enrolled"
openssl verify -CAfile "$SITE/ca/ca.crt" "$A1/cert.pem" >/dev/null || fail "issued cert does not verify"
openssl x509 -in "$A1/cert.pem" -noout -text | grep -q "URI:urn:steward:client:$ID" ||
	fail "issued cert does not name the client id"
[ "$(openssl x509 -in "$A1/cert.pem" -noout -pubkey)" = "$(openssl pkey -in "$A1/key.pem" -pubout)" ] ||
	fail "issued cert is not for the device key"
ok "approve, then enroll --wait collects the certificate (exit 0)"

expect_exit 0 agent run --state "$A1" --once
expect_exit 0 ctl clients show "$ID" --json
SHOW=$OUT
echo "$SHOW" | grep -q '"status": "approved"' || fail "show: not approved: $SHOW"
echo "$SHOW" | grep -q '"last_seen": [0-9]' || fail "show: no last_seen: $SHOW"
echo "$SHOW" | grep -q '"hardware_id": "hw-a1-0001"' || fail "show: no hardware id"
echo "$SHOW" | grep -q '"kernel": "Linux' || fail "show: no kernel fact"
echo "$SHOW" | grep -q '"agent_version"' || fail "show: no agent version"
expect_exit 0 agent status --state "$A1"
expect_in "identity:  present"
expect_exit 0 agent status --state "$A1" --json
expect_in "\"client_id\": \"$ID\""
expect_in '"identity": true'
expect_exit 0 agent status --state "$TMP/never"
expect_in "identity:  none"
ok "heartbeat over mutual TLS records last_seen and discovery facts"

# Deny.
A2=$TMP/a2
expect_exit 3 agent enroll --state "$A2" --token "$TOKEN" --hostname a2 --hardware-id hw-a2-0002
ID2=$(client_id_of "$A2")
expect_exit 0 ctl clients deny "$ID2"
expect_exit 4 agent enroll --state "$A2" --wait 5
expect_in "denied"
expect_exit 4 agent enroll --state "$A2"
ok "denied request: exit 4 with a clear message"

# Uses: the token allowed 3 and two are spent.
expect_exit 3 agent enroll --state "$TMP/a3" --token "$TOKEN" --hostname a3 --hardware-id hw-a3-0003
expect_exit 1 agent enroll --state "$TMP/a4" --token "$TOKEN" --hostname a4 --hardware-id hw-a4-0004
expect_in "no uses left"
ok "a token's use count is enforced"

T2=$(new_token --uses 5)
TID=$(ctl --json token list | json_get tokens.1.id)
expect_exit 0 ctl token revoke "$TID"
expect_exit 1 agent enroll --state "$TMP/a5" --token "$T2" --hostname a5 --hardware-id hw-a5-0005
expect_in "revoked"
expect_exit 1 ctl token revoke "$TID"
expect_exit 0 ctl token list
expect_in "$TID"
ok "revoked tokens are refused"

# Heartbeats from clients without a current certificate are refused.
expect_exit 1 agent run --state "$A2" --once
expect_exit 2 agent enroll --state "$TMP/a6" --token "stw1.garbage"
expect_in "bad token"
ok "bad tokens and unenrolled agents are refused with clear errors"

expect_exit 0 ctl audit list
for a in token.create token.revoke client.approve client.deny; do
	expect_in "$a"
done
expect_in "admin"
ok "admin actions are in the audit trail"

stop_site || fail "stewardd exited $? on SIGTERM"
grep -q "stopped" "$SITE_LOG" || fail "no clean shutdown"
ok "SIGTERM shuts down cleanly"
