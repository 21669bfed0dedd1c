#!/bin/bash
# Cloned identity and imaging (issue 3, points 5 and 6): a certificate
# presented from another hardware id quarantines its client; a re-imaged
# device with the same hardware id and a new key is a new request that, once
# approved, carries the client record over; reset-identity leaves an image
# without identity.
. "$(dirname "$0")/lib.sh"

start_site c --approval manual
TOKEN=$(new_token --uses 10)
enroll_approved() { # STATE HOST HWID
	expect_exit 3 agent enroll --state "$1" --token "$TOKEN" --hostname "$2" --hardware-id "$3"
	expect_exit 0 ctl clients approve "$(client_id_of "$1")"
	expect_exit 0 agent enroll --state "$1" --wait 10
}

enroll_approved "$TMP/a" web-a hw-clone-aaaa
IDA=$(client_id_of "$TMP/a")
expect_exit 0 agent run --state "$TMP/a" --once
# The same state directory, imaged onto another machine.
cp -r "$TMP/a" "$TMP/a-clone"
expect_exit 1 agent run --state "$TMP/a-clone" --once --hardware-id hw-clone-bbbb
expect_exit 0 ctl clients show "$IDA" --json
expect_in '"status": "blocked"'
expect_in '"status_reason": "identity used from two devices"'
expect_exit 0 ctl audit list --limit 5
expect_in "hw-clone-aaaa"
expect_in "hw-clone-bbbb"
grep -q "hw-clone-aaaa.*hw-clone-bbbb" "$SITE_LOG" || fail "log does not name both hardware ids"
expect_exit 1 agent run --state "$TMP/a" --once
expect_in "identity used from two devices"
ok "a certificate used from a second hardware id quarantines the client"

# A re-imaged machine: same hardware id, new key, new token.
enroll_approved "$TMP/b" web-b hw-clone-cccc
IDB=$(client_id_of "$TMP/b")
expect_exit 0 agent run --state "$TMP/b" --once
SB=$(openssl x509 -in "$TMP/b/cert.pem" -noout -serial | cut -d= -f2 | tr A-Z a-z)
expect_exit 3 agent enroll --state "$TMP/b-reimaged" --token "$TOKEN" --hostname web-b2 --hardware-id hw-clone-cccc
TEMP=$(client_id_of "$TMP/b-reimaged")
[ "$TEMP" != "$IDB" ] || fail "re-enrollment did not make a new request"
expect_exit 0 ctl clients list --status pending
expect_in "$TEMP"
expect_exit 0 agent run --state "$TMP/b" --once # still served until approval
expect_exit 0 ctl clients approve "$TEMP"
expect_exit 0 agent enroll --state "$TMP/b-reimaged" --wait 10
[ "$(client_id_of "$TMP/b-reimaged")" = "$IDB" ] || fail "the client record was not carried over"
expect_exit 0 agent run --state "$TMP/b-reimaged" --once
expect_exit 1 agent run --state "$TMP/b" --once
expect_exit 0 ctl certs list --client "$IDB" --json
echo "$OUT" | python3 -c "import json,sys
c={x['serial']:x for x in json.load(sys.stdin)['certs']}
assert c['$SB']['revoke_reason']=='superseded', c" || fail "old certificate not revoked on approval"
expect_exit 0 ctl clients show "$IDB" --json
expect_in '"hostname": "web-b2"'
expect_exit 1 ctl clients show "$TEMP"
expect_exit 0 ctl audit list
expect_in "client.reenroll"
ok "a re-imaged device is a new request; approval revokes the old certificate and keeps the client record"

# Reset before imaging.
expect_exit 0 agent reset-identity --state "$TMP/b-reimaged"
expect_in "removed $TMP/b-reimaged/key.pem"
expect_in "removed $TMP/b-reimaged/cert.pem"
expect_in "removed client id $IDB"
[ ! -e "$TMP/b-reimaged/key.pem" ] && [ ! -e "$TMP/b-reimaged/cert.pem" ] || fail "identity files left"
grep -q "$IDB" "$TMP/b-reimaged/state.json" && fail "client id left in state.json"
expect_exit 0 agent status --state "$TMP/b-reimaged"
expect_in "identity:  none"
expect_exit 1 agent run --state "$TMP/b-reimaged" --once
expect_exit 0 agent reset-identity --state "$TMP/b-reimaged"
expect_in "held no identity"
ok "reset-identity removes key, certificate, client id and request, and says so"
