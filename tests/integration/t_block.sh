#!/bin/bash
# Blocking (issue 3, point 1): a block revokes the certificate, refuses every
# request with a 403 naming the block, closes every open connection of the
# client within a second on every worker, and keeps the hardware id out
# until an unblock; after it, the device comes back only by enrolling again.
. "$(dirname "$0")/lib.sh"

init_site b --approval all
echo "workers = 2" >>"$SITE/steward.conf"
run_site
TOKEN=$(new_token --uses 10)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-block-001
ID=$(client_id_of "$TMP/c1")
SERIAL=$(openssl x509 -in "$TMP/c1/cert.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
agent_cred "$TMP/c1" >/dev/null

# The agent daemon keeps a notification long-poll open.
"$BIN/steward-agent" run --state "$TMP/c1" --interval 300 >"$TMP/agent.out" 2>"$TMP/agent.log" &
APID=$!
PIDS="$PIDS $APID"

# 6 idle keep-alive connections and 6 held long-polls of the same client,
# spread over the workers; the script blocks the client and measures how
# long each connection survives.
python3 "$SRC/tests/integration/connhold.py" "$URL" "$SITE/ca/ca.crt" \
	"$TMP/c1/cert.pem" "$TMP/c1/key.pem" 6 6 -- \
	"$BIN/stewardctl" --dir "$SITE" clients block "$ID" --reason "stolen laptop" \
	>"$TMP/hold.json" || fail "connhold: $(cat "$TMP/hold.json")"
cat "$TMP/hold.json"
python3 - "$TMP/hold.json" <<'PY' || fail "connections outlived the block"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["open_before"] == 12, r
assert r["closed"] == 12, r
assert r["max_close_secs"] <= 1.0, r
assert r["notified_blocked"] >= 1, r
PY
ok "block closed all 12 connections (keep-alive and long-poll) within 1 s"

expect_exit 0 ctl clients show "$ID" --json
expect_in '"status": "blocked"'
expect_in '"status_reason": "stolen laptop"'
code=$(ccurl "$TMP/c1/cred.pem" -o "$TMP/body" -w '%{http_code}' -X POST -d '{}' "$URL/v1/heartbeat")
[ "$code" = 403 ] || fail "blocked heartbeat gave $code"
grep -q "is blocked: stolen laptop" "$TMP/body" || fail "403 does not name the block: $(cat "$TMP/body")"
code=$(ccurl "$TMP/c1/cred.pem" -o "$TMP/body" -w '%{http_code}' "$URL/v1/notify?wait=0")
[ "$code" = 403 ] || fail "blocked notify gave $code"
ok "every request of the blocked client gets 403 naming the block"

i=0
while kill -0 "$APID" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the agent kept running after the block"
	sleep 0.1
done
wait "$APID"
[ $? -eq 1 ] || fail "blocked agent did not exit 1"
grep -q "blocked this device" "$TMP/agent.log" || fail "agent did not say it was blocked: $(cat "$TMP/agent.log")"
ok "the running agent learns of the block and stops"

ccurl none -o "$TMP/crl" "$URL/v1/crl"
openssl crl -inform DER -in "$TMP/crl" -noout -text | tr A-Z a-z | grep -q "serial number: $SERIAL" ||
	fail "blocked certificate $SERIAL not in the CRL"
ok "the blocked certificate is in the CRL"

expect_exit 1 agent enroll --state "$TMP/c1-new" --token "$TOKEN" --hostname c1 --hardware-id hw-block-001
expect_in "belongs to blocked client $ID"
ok "a blocked hardware id cannot enroll with a fresh key and token"

expect_exit 0 ctl clients unblock "$ID"
expect_exit 0 ctl clients show "$ID" --json
expect_in '"status": "unblocked"'
code=$(ccurl "$TMP/c1/cred.pem" -o "$TMP/body" -w '%{http_code}' -X POST -d '{}' "$URL/v1/heartbeat")
[ "$code" = 403 ] || fail "unblocked client's old cert gave $code"
grep -q "must enroll again" "$TMP/body" || fail "no 'enroll again': $(cat "$TMP/body")"
expect_exit 0 agent enroll --state "$TMP/c1-new" --token "$TOKEN" --hostname c1 --hardware-id hw-block-001
[ "$(client_id_of "$TMP/c1-new")" = "$ID" ] || fail "re-enrollment after unblock got a new client id"
expect_exit 0 agent run --state "$TMP/c1-new" --once
openssl crl -inform DER -in <(ccurl none "$URL/v1/crl") -noout -text | tr A-Z a-z | grep -q "serial number: $SERIAL" ||
	fail "old certificate left the CRL after unblock"
expect_exit 0 ctl audit list
expect_in "client.block"
expect_in "client.unblock"
ok "unblock lets the device back only by enrolling again; the old certificate stays revoked"
