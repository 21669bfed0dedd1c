#!/bin/bash
# Inventory (issue 4, point 1): a device's first run sends a full report,
# later ones deltas; the site validates every field, keeps the current state
# and its history, asks for a full report when a delta does not apply, and
# accepts data only about the authenticated client.
. "$(dirname "$0")/lib.sh"

start_site i --approval all
TOKEN=$(new_token --uses 5)
cp -r "$SRC/tests/fixtures/root1" "$TMP/root"
export STEWARD_ROOT=$TMP/root
for n in 1 2; do
	expect_exit 0 agent enroll --state "$TMP/c$n" --token "$TOKEN" --hostname "c$n" --hardware-id "hw-inv-000$n"
done
ID=$(client_id_of "$TMP/c1")
CRED=$(agent_cred "$TMP/c1")

expect_exit 0 agent run --state "$TMP/c1" --once
expect_exit 0 ctl inventory show "$ID"
expect_in "[packages]"
expect_in "openssh-server"
expect_in "1:9.2p1-2+deb12u1"
expect_in "Roadrunner 3000"
expect_exit 0 ctl inventory show "$ID" --class users --json
expect_in '"name": "alice"'
echo "$OUT" | grep -q openssh && fail "--class users shows packages"
ok "the first run sends a full inventory; the site shows it by class"

# Not due again until tomorrow: nothing is sent.
expect_exit 0 agent run --state "$TMP/c1" --once
echo "$OUT" | grep -q "inventory sent" && fail "inventory sent again before it was due"

# The device changes: one package goes, one comes.
python3 - "$TMP/root/var/lib/dpkg/status" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("Package: openssh-server", "Package: openssh-server-gone", 1)
s = s.replace("Status: install ok installed\nPriority: optional", "Status: deinstall ok config-files\nPriority: optional", 1)
s += "\nPackage: vim\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0.1378-2\n"
open(p, "w").write(s)
PY
due_now() {
	python3 - "$1/inventory.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["next_due"] = 0
if len(sys.argv) > 2:
    d["seq"] = int(sys.argv[2])
json.dump(d, open(p, "w"))
PY
}
due_now "$TMP/c1"
expect_exit 0 agent run --state "$TMP/c1" --once
expect_in "inventory sent: delta report 2, 2 changes"
expect_exit 0 ctl inventory show "$ID" --class packages --history 10
expect_in "vim"
echo "$OUT" | grep -q "openssh-server " && fail "removed package still shown"
expect_in "remove"
expect_in "add"
ok "later runs send deltas; the site keeps current state and history"

# The agent's idea of the last report is off: the site asks for a full one.
python3 - "$TMP/c1/inventory.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p)); d["next_due"] = 0; d["seq"] = 40
json.dump(d, open(p, "w"))
PY
expect_exit 0 agent run --state "$TMP/c1" --once
expect_in "the site asked for a full inventory"
expect_in "inventory sent: full report 41"
ok "a delta that does not apply gets 409 and the agent sends a full report"

post() { # CRED BODY -> code, body in $TMP/body
	ccurl "$1" -o "$TMP/body" -w '%{http_code}' -X POST --data-binary "$2" "$URL/v1/inventory"
}
ID2=$(client_id_of "$TMP/c2")
code=$(post "$CRED" "{\"kind\":\"full\",\"seq\":50,\"client_id\":\"$ID2\",\"classes\":{}}")
[ "$code" = 403 ] || fail "report about another client gave $code"
grep -q "reports only about itself" "$TMP/body" || fail "403 text: $(cat "$TMP/body")"
code=$(post "$CRED" '{"kind":"full","seq":50,"classes":{"packages":[{"name":"ok"},{"name":"bad name!"}]}}')
[ "$code" = 400 ] || fail "bad package name gave $code"
grep -q "classes.packages\[1\].name" "$TMP/body" || fail "400 does not name the field: $(cat "$TMP/body")"
code=$(post "$CRED" '{"kind":"full","seq":50,"classes":{"memory":{"total_mb":"lots"}}}')
[ "$code" = 400 ] || fail "bad memory gave $code"
code=$(post none '{"kind":"full","seq":1,"classes":{}}')
[ "$code" = 401 ] || fail "anonymous inventory gave $code"
head -c $((2 * 1024 * 1024 + 100)) /dev/zero | tr '\0' ' ' >"$TMP/big"
code=$(ccurl "$CRED" -o "$TMP/body" -w '%{http_code}' -X POST --data-binary @"$TMP/big" "$URL/v1/inventory")
[ "$code" = 413 ] || fail "oversized inventory gave $code"
expect_exit 0 ctl inventory show "$ID" --class packages
expect_in "vim"
ok "reports about others (403), malformed (400 naming the field), anonymous (401) and oversized (413) are refused; stored data unchanged"

expect_exit 1 ctl inventory show "$ID" --class gpu
expect_in "unknown inventory class"
expect_exit 0 ctl clients show "$ID" --json
expect_in '"last_inventory_at": '
