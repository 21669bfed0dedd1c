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
# Between check-ins the daemon holds its long-poll and nothing else: the
# check-in's keep-alive connection is closed, not left for the site to
# hold until its timeout.
for _ in $(seq 50); do
	NS=$(find "/proc/$APID/fd" -lname 'socket:*' 2>/dev/null | wc -l)
	[ "$NS" = 1 ] && break
	sleep 0.1
done
[ "$NS" = 1 ] || fail "the waiting agent holds $NS sockets"
ok "the waiting agent holds one connection, its long-poll"
expect_exit 0 ctl clients notify --collection prod policy
expect_in "clients: 1"

# Client settings: custom settings on collections, resolved by priority,
# carried in the signed policy; bypass is audited.
expect_exit 0 ctl collections add everyone --include "All Clients"
expect_exit 0 ctl settings custom add --collection everyone --priority 5 --set policy.interval=30m --set log.level=debug
expect_exit 0 ctl settings custom add --collection prod --priority 1 --set policy.interval=2h --set exec.policy=bypass
expect_exit 1 ctl settings custom add --collection prod --priority 1 --set policy.interval=5s
expect_in "policy.interval must be a duration"
expect_exit 1 ctl settings custom add --collection nowhere --priority 1 --set notify=false
expect_in "no collection"
expect_exit 0 ctl --json settings show --client "$ID"
python3 -c 'import json,sys
d=json.loads(sys.argv[1]); s=d["settings"]
assert s["policy.interval"]==7200 and s["log.level"]=="debug" and s["exec.policy"]=="bypass", s
assert d["sources"]["policy.interval"]["collection"]=="prod" and d["sources"]["notify"]=="default", d' "$OUT" ||
	fail "effective settings wrong: $OUT"
ID2=$(client_id_of "$TMP/c2")
expect_exit 0 ctl --json settings show --client "$ID2"
expect_in '"exec.policy": "all-signed"'
expect_exit 0 ctl clients notify "$ID" policy
i=0
until grep -q '"exec.policy":"bypass"' "$TMP/c1/policy.signed" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the policy never carried the custom settings"
	sleep 0.05
done
grep -q '"policy.interval":7200' "$TMP/c1/policy.signed" || fail "priority not applied in the policy"
expect_exit 0 ctl audit list
expect_in "policy.bypass"
expect_in "settings.custom.add"
ok "custom settings resolve by priority, reach the signed policy, and bypass is audited"

# The agent follows the settings its policy carries.
expect_exit 0 ctl settings custom add --collection prod --priority 1 --set inventory.interval=2h
kill "$APID"
wait "$APID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $APID//")
expect_exit 0 agent run --state "$TMP/c1" --once # fetches the new policy
python3 - "$TMP/c1/inventory.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["next_due"] = 0
json.dump(d, open(sys.argv[1], "w"))
PY
expect_exit 0 agent run --state "$TMP/c1" --once
python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); gap=d["next_due"]-d["sent_at"]
assert 6480 <= gap <= 7920, gap' "$TMP/c1/inventory.json" || fail "inventory.interval not followed: $(cat "$TMP/c1/inventory.json" | head -c 200)"
ok "the agent schedules its inventory by the inventory.interval of its policy"

# A key that does not match the certificate is said plainly, at the full
# handshake that needs it (a resumed run never parses the key).
cp -r "$TMP/c1" "$TMP/badkey"
rm -f "$TMP/badkey"/tls.session.*
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/badkey/key.pem" 2>/dev/null
chmod 600 "$TMP/badkey/key.pem"
expect_exit 1 agent run --state "$TMP/badkey" --once
expect_in "cannot use the client certificate and key"
ok "a key that does not match the certificate is refused with a clear message"

# A saved TLS session that is not one (oversized, or garbage) is ignored:
# the run makes a full handshake and goes on.
for f in "$TMP/c1"/tls.session.*; do
	head -c 100000 /dev/urandom >"$f"
done
expect_exit 0 agent run --state "$TMP/c1" --once
ok "an oversized or garbled TLS session file is ignored"

# A whole collection told at once spreads its devices' action over
# members / notify_spread_rate seconds: at 1 a second, the ten members of
# "All Clients" are given 10 s. A running agent picks a moment of them,
# holds no connection until then (its next long-poll waits for it too),
# then fetches and polls again. One device told alone acts at once.
for n in 3 4 5 6 7 8 9 10; do
	expect_exit 0 agent enroll --state "$TMP/s$n" --token "$(new_token)" --hostname spread-$n --hardware-id "hw-spr-000$n"
done
stop_site
# The same port: the agents hold the site's URL.
printf 'notify_spread_rate = 1\nlisten = %s\n' "${URL#https://}" >>"$SITE/steward.conf"
run_site
"$BIN/steward-agent" run --state "$TMP/c1" --interval 3600 >"$TMP/agent.out" 2>&1 &
APID=$!
PIDS="$PIDS $APID"
sleep 1.5 # its check-in done, its long-poll held
ALOG=$TMP/c1/log/agent.log
sockets() { find "/proc/$APID/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
N0=$(grep -c "policy fetched, as the site asked" "$ALOG")
expect_exit 0 ctl clients notify --collection "All Clients" policy
expect_in "clients: 10"
expect_in "spread: 10"
i=0
until grep -q "acting on the site's notification in [0-9] s (it spreads its devices over 10 s)" "$ALOG"; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the spread notification was not taken: $(tail -5 "$ALOG")"
	sleep 0.05
done
WAIT=$(sed -n "s/.*acting on the site's notification in \([0-9]\) s.*/\1/p" "$ALOG" | tail -1)
if [ "$WAIT" -ge 1 ]; then
	sleep 0.3
	[ "$(grep -c "policy fetched, as the site asked" "$ALOG")" = "$N0" ] ||
		fail "the agent fetched before its moment ($WAIT s)"
	[ "$(sockets)" = 0 ] || fail "the agent holds $(sockets) connection(s) before its moment ($WAIT s)"
fi
i=0
until [ "$(grep -c "policy fetched, as the site asked" "$ALOG")" -gt "$N0" ] && [ "$(sockets)" = 1 ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "the spread notification was not acted on: $(tail -5 "$ALOG")"
	sleep 0.05
done
S0=$(grep -c "acting on the site's notification" "$ALOG")
N1=$(grep -c "notification from the site: policy" "$ALOG")
sleep 1 # the agent's next long-poll is held
expect_exit 0 ctl clients notify "$ID" policy
i=0
until [ "$(grep -c "notification from the site: policy" "$ALOG")" -gt "$N1" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the notification did not reach the agent: $(tail -5 "$ALOG")"
	sleep 0.05
done
sleep 0.5
[ "$(grep -c "acting on the site's notification" "$ALOG")" = "$S0" ] ||
	fail "a notification to one device was spread: $(tail -5 "$ALOG")"
kill "$APID"
wait "$APID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $APID//")
ok "a collection's notification is spread over members / notify_spread_rate seconds (this agent waited $WAIT s, holding no connection); one device's is not"

# A rebuild is one transaction: when its signed row cannot be stored, no
# serial is used up and the held row stays as it was; once it can, the
# next serial follows.
dbq() { sqlite3 -cmd ".timeout 5000" "$SITE/site.db" "$1"; }
SER0=$(dbq "SELECT value FROM site_settings WHERE key = 'policy_serial'")
ROW0=$(dbq "SELECT serial || ' ' || etag FROM policies WHERE client_id = '$ID2'")
# Restarted, so that no worker holds it in memory.
stop_site
dbq "UPDATE policies SET dirty = 1 WHERE client_id = '$ID2';
CREATE TRIGGER t_no_store BEFORE UPDATE ON policies BEGIN SELECT RAISE(ABORT, 'no room'); END;"
run_site
code=$(ccurl "$CRED2" -o "$TMP/p2e" -w '%{http_code}' "$URL/v1/policy")
[ "$code" = 500 ] && grep -q '"error": *"cannot build the policy' "$TMP/p2e" || fail "a failed rebuild gave $code: $(cat "$TMP/p2e")"
[ "$(dbq "SELECT value FROM site_settings WHERE key = 'policy_serial'")" = "$SER0" ] || fail "a failed rebuild used up a serial"
[ "$(dbq "SELECT serial || ' ' || etag || ' ' || dirty FROM policies WHERE client_id = '$ID2'")" = "$ROW0 1" ] ||
	fail "a failed rebuild changed the held row"
dbq "DROP TRIGGER t_no_store"
ccurl "$CRED2" -o "$TMP/p2" "$URL/v1/policy"
grep -q "\"serial\":$((SER0 + 1))," "$TMP/p2" || fail "the rebuild after it is not serial $((SER0 + 1)): $(head -c 300 "$TMP/p2")"
ok "a rebuild that cannot be stored uses up no serial and leaves the held policy; the next one follows on"

# The policy built for a device answers its pending "fetch policy now":
# marked delivered in the same transaction (the long-poll that
# acknowledges it then writes nothing); a pending renewal is not.
MAXID=$(dbq "SELECT coalesce(max(id), 0) FROM notifications")
expect_exit 0 ctl clients notify "$ID2" policy
expect_exit 0 ctl clients notify "$ID2" renew
expect_exit 0 ctl settings custom add --collection everyone --priority 7 --set log.level=info
pending() { dbq "SELECT group_concat(kind) FROM (SELECT kind FROM notifications WHERE client_id = '$ID2' AND id > $MAXID AND delivered_at IS NULL ORDER BY id)"; }
[ "$(pending)" = "policy,renew" ] || fail "pending before the fetch: $(pending)"
ccurl "$CRED2" -o "$TMP/p2" "$URL/v1/policy"
grep -q "\"serial\":$((SER0 + 2))," "$TMP/p2" || fail "the fetch did not rebuild: $(head -c 300 "$TMP/p2")"
[ "$(pending)" = "renew" ] || fail "pending after the fetch: $(pending)"
ok "a rebuilt policy answers the device's pending fetch-policy-now notification; its renewal stays pending"

stop_site
echo "notify_spread_rate = -1" >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" check --dir "$SITE"
expect_in "notify_spread_rate must be 0 (no spread) to 1000000 devices a second"
ok "a bad notify_spread_rate is refused with a clear message"
sed -i '/^notify_spread_rate = -1$/d' "$SITE/steward.conf"
echo "notify_slice = 0" >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" check --dir "$SITE"
expect_in "notify_slice must be 1 to 1000000 answers"
ok "a bad notify_slice is refused with a clear message"
