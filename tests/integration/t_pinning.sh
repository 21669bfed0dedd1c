#!/bin/bash
# Pinned enrollment (point 4, G6, G7): an agent refuses a server that does
# not hold the CA its token pins, before sending anything.
. "$(dirname "$0")/lib.sh"

start_site real --approval all
TOKEN=$(new_token --uses 5)
PORT=${URL##*:}
REAL=$SITE
stop_site

# A rogue site answers on the same address the token names.
init_site rogue --approval all
sed -i "s/^listen = .*/listen = 127.0.0.1:$PORT/" "$SITE/steward.conf"
run_site
[ "$URL" = "https://127.0.0.1:$PORT" ] || fail "rogue did not take the port"
expect_exit 1 agent enroll --state "$TMP/victim" --token "$TOKEN" --hostname v --hardware-id hw-victim-01
expect_in "is not the site this token names"
grep -q "enrollment of" "$SITE_LOG" && fail "the rogue site received an enrollment"
[ ! -f "$TMP/victim/cert.pem" ] || fail "victim stored a certificate"
[ ! -f "$TMP/victim/ca.pem" ] || fail "victim stored the rogue CA"
expect_exit 0 ctl clients list
expect_in "(none)"
ok "a rogue server is refused before anything is sent"
stop_site

# The real site on the same port: the same token works.
SITE=$REAL
run_site --listen "127.0.0.1:$PORT"
expect_exit 0 agent enroll --state "$TMP/victim" --token "$TOKEN" --hostname v --hardware-id hw-victim-01
expect_exit 0 agent run --state "$TMP/victim" --once
ok "the pinned site is accepted"

# A token for this site whose fingerprint was altered is refused too.
BAD=$(python3 - "$TOKEN" <<'PY'
import base64, json, sys
t = sys.argv[1][5:]
d = json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
d["c"] = "0" * 64
print("stw1." + base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("="))
PY
)
expect_exit 1 agent enroll --state "$TMP/v2" --token "$BAD" --hostname v2 --hardware-id hw-victim-02
expect_in "is not the site this token names"
ok "a token with a different CA fingerprint is refused"
