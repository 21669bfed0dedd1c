#!/bin/bash
# Renewal and expiry (issue 3, point 4): expiry listed and warned about,
# renewal when the site asks (running agent and --once), a new key on the
# device, the old certificate revoked once the new one is used, and an
# expired certificate refused with a clear message on both sides.
. "$(dirname "$0")/lib.sh"

init_site n --approval all --client-cert-lifetime 20d
run_site
PORT=${URL##*:}
TOKEN=$(new_token --uses 10)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-renew-001
ID=$(client_id_of "$TMP/c1")
serial_of() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr A-Z a-z
}
S0=$(serial_of "$TMP/c1/cert.pem")
K0=$(sha256sum <"$TMP/c1/key.pem")

expect_exit 0 ctl certs list --expiring-within 30d
expect_in "$S0"
expect_exit 0 ctl certs list --expiring-within 7d
echo "$OUT" | grep -q "$S0" && fail "a 20-day certificate listed as expiring within 7 days"
stop_site
run_site --listen "127.0.0.1:$PORT"
grep -q "client $ID (c1) certificate $S0 expires at .* and has not been renewed" "$SITE_LOG" ||
	fail "no expiry warning: $(cat "$SITE_LOG")"
ok "certificates near expiry are listed and warned about"

# A running agent renews when the site asks through the notification channel.
expect_exit 0 agent run --state "$TMP/c1" --once
"$BIN/steward-agent" run --state "$TMP/c1" --interval 300 >"$TMP/agent.out" 2>"$TMP/agent.log" &
APID=$!
PIDS="$PIDS $APID"
sleep 1
expect_exit 0 ctl clients renew "$ID"
i=0
while [ "$(serial_of "$TMP/c1/cert.pem")" = "$S0" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "the agent did not renew: $(cat "$TMP/agent.log")"
	sleep 0.1
done
S1=$(serial_of "$TMP/c1/cert.pem")
[ "$(sha256sum <"$TMP/c1/key.pem")" != "$K0" ] || fail "renewal kept the old key"
[ "$(stat -c %a "$TMP/c1/key.pem")" = 600 ] || fail "renewed key is not 0600"
ok "the running agent renewed with a new key ($S0 -> $S1) when told"

# The agent reconnects its channel after the site restarts.
stop_site
sleep 1
run_site --listen "127.0.0.1:$PORT"
sleep 4
expect_exit 0 ctl clients renew "$ID"
i=0
while [ "$(serial_of "$TMP/c1/cert.pem")" = "$S1" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "no renewal after the site restarted: $(cat "$TMP/agent.log")"
	sleep 0.1
done
S1=$(serial_of "$TMP/c1/cert.pem")
grep -q "notification channel\|cannot reach\|ended the connection" "$TMP/agent.log" ||
	fail "the agent did not notice the site going away"
ok "the agent's channel reconnects after the site restarts (renewed to $S1)"
kill "$APID"
wait "$APID"
PIDS=$(echo "$PIDS" | sed "s/ $APID//")

expect_exit 0 ctl certs list --client "$ID" --json
python3 - "$S0" "$S1" <<PY || fail "certificate states wrong: $OUT"
import json, sys
certs = {c["serial"]: c for c in json.loads('''$OUT''')["certs"]}
old, new = certs[sys.argv[1]], certs[sys.argv[2]]
assert old["revoked_at"] and old["revoke_reason"] == "superseded", old
assert new["revoked_at"] is None and new["first_used_at"], new
PY
expect_exit 0 ctl clients show "$ID" --json
expect_in "\"cert_serial\": \"$S1\""
expect_exit 0 agent run --state "$TMP/c1" --once
ok "the old certificate is revoked (superseded) once the new one is in use"

# --once acts on a queued renewal too.
expect_exit 0 ctl clients renew "$ID"
expect_exit 0 agent run --state "$TMP/c1" --once
S2=$(serial_of "$TMP/c1/cert.pem")
[ "$S2" != "$S1" ] || fail "run --once did not renew"
grep -q "refused revoked certificate" "$SITE_LOG" && fail "the agent used a revoked certificate"
ok "run --once renews when a renewal is queued ($S1 -> $S2)"
# ... and acknowledges it: the next check-in is not told again, so it
# does not renew again (before, a --once agent renewed at every check-in
# while the notification stayed pending). The same for a policy one.
expect_exit 0 ctl clients notify "$ID" policy
expect_exit 0 agent run --state "$TMP/c1" --once
expect_exit 0 agent run --state "$TMP/c1" --once
S3=$(serial_of "$TMP/c1/cert.pem")
[ "$S3" = "$S2" ] || fail "run --once renewed again ($S2 -> $S3): the renewal was not acknowledged"
P=$(sqlite3 -cmd ".timeout 5000" "$SITE/site.db" \
	"SELECT count(*) FROM notifications WHERE client_id = '$ID' AND delivered_at IS NULL")
[ "$P" = 0 ] || fail "$P notification(s) still pending after run --once"
ok "run --once acknowledges what it acted on: no second renewal, nothing left pending"

# An expired certificate: made here with the site CA, as if years passed.
mkdir -p "$TMP/oldca"
touch "$TMP/oldca/index.txt"
echo 1000 >"$TMP/oldca/serial"
cat >"$TMP/oldca/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $TMP/oldca/index.txt
new_certs_dir = $TMP/oldca
serial = $TMP/oldca/serial
default_md = sha256
policy = p
x509_extensions = ext
[p]
commonName = supplied
[ext]
subjectAltName = URI:urn:steward:client:$ID
extendedKeyUsage = clientAuth
keyUsage = digitalSignature
CNF
cp -r "$TMP/c1" "$TMP/cx"
openssl req -new -key "$TMP/cx/key.pem" -subj "/CN=$ID" -out "$TMP/cx.csr" 2>/dev/null
openssl ca -batch -config "$TMP/oldca/ca.cnf" -cert "$SITE/ca/ca.crt" -keyfile "$SITE/ca/ca.key" \
	-in "$TMP/cx.csr" -out "$TMP/cx/cert.pem" -startdate 20200101000000Z -enddate 20200201000000Z \
	-notext 2>/dev/null || fail "cannot make an expired certificate"
expect_exit 1 agent run --state "$TMP/cx" --once
expect_in "expired at 2020-02-01"
expect_in "enroll again"
agent_cred "$TMP/cx" >/dev/null
ccurl "$TMP/cx/cred.pem" -o /dev/null -X POST -d '{}' "$URL/v1/heartbeat" 2>/dev/null &&
	fail "an expired certificate was accepted"
grep -q "refused expired certificate .*must enroll again" "$SITE_LOG" || fail "server did not log the expired certificate"
ok "an expired certificate cannot renew: clear messages on the agent and the server"
