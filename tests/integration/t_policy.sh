#!/bin/bash
# Signed policy (issue 5, points 3 and 6): each client gets a policy signed
# by the signer, cached and served with an ETag (304 when unchanged), and
# verified by the agent; "fetch policy now" reaches a connected agent within
# a second.
. "$(dirname "$0")/lib.sh"

start_site po --approval all
TOKEN=$(new_token --uses 2)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname web-01 --hardware-id hw-pol-0001
expect_exit 0 agent enroll --state "$TMP/c2" --token "$TOKEN" --hostname web-02 --hardware-id hw-pol-0002
ID=$(client_id_of "$TMP/c1")
expect_exit 0 agent run --state "$TMP/c1" --once
serial() { json_get serial <"$1/policy.json"; }
S1=$(serial "$TMP/c1")
[ -n "$S1" ] && [ "$S1" -gt 0 ] || fail "no policy held"
grep -q "policy serial $S1 verified" "$TMP/c1/log/agent.log" || fail "agent did not verify the policy"
grep -q "signed .* bytes, sha256=" "$SITE/log/signer.log" || fail "the signer did not log the policy signature"
head -c 87 "$TMP/c1/policy.signed" | tail -c 1 | od -c | grep -q '\\n' || fail "policy not framed"
ok "the agent fetched and verified policy serial $S1, signed by the signer"

CRED=$(agent_cred "$TMP/c1")
ETAG=$(ccurl "$CRED" -D - -o /dev/null "$URL/v1/policy" | sed -n 's/^[Ee][Tt]ag: //p' | tr -d '\r')
code=$(ccurl "$CRED" -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$URL/v1/policy")
[ "$code" = 304 ] || fail "unchanged policy gave $code, not 304"
expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(serial "$TMP/c1")" = "$S1" ] || fail "an unchanged policy was rebuilt"
N=$(grep -c "signed .* bytes" "$SITE/log/signer.log")
expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(grep -c "signed .* bytes" "$SITE/log/signer.log")" = "$N" ] || fail "the policy was signed again though unchanged"
ok "an unchanged policy is served from the cache: 304 with its ETag, no new signature"

# Another client's certificate gets its own policy, never this one.
CRED2=$(agent_cred "$TMP/c2")
ccurl "$CRED2" -o "$TMP/p2" "$URL/v1/policy"
grep -q "\"client_id\":\"$(client_id_of "$TMP/c2")\"" "$TMP/p2" || fail "client 2 got a policy not addressed to it"
grep -q "$ID" "$TMP/p2" && fail "client 2's policy names client 1"
ok "each client receives only its own policy"

# Fetch policy now: a running agent has the new policy within a second.
"$BIN/steward-agent" run --state "$TMP/c1" --interval 300 >"$TMP/agent.out" 2>"$TMP/agent.log" &
APID=$!
PIDS="$PIDS $APID"
sleep 2
expect_exit 0 ctl collections add prod --site-attributes-only --query 'tag["env"] == "prod"'
expect_exit 0 ctl clients tag "$ID" env=prod
T0=$(date +%s%N)
expect_exit 0 ctl clients notify "$ID" policy
while [ "$(serial "$TMP/c1")" = "$S1" ]; do
	[ $(( ($(date +%s%N) - T0) / 1000000 )) -gt 5000 ] && fail "no new policy: $(cat "$TMP/agent.log")"
	sleep 0.02
done
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
python3 -c 'import json,sys; d=open(sys.argv[1]).read().split("\n",1)[1]; assert "prod" in json.loads(d)["collections"]' \
	"$TMP/c1/policy.signed" || fail "the new policy lacks the collection"
[ "$MS" -le 1000 ] || fail "the new policy took $MS ms"
ok "fetch policy now: the connected agent held the new policy $MS ms after the request"
expect_exit 0 ctl clients notify --collection prod policy
expect_in "clients: 1"
