#!/bin/sh
# The main job on loopback: a site on SQLite, agents enrolling, approval by
# an administrator, certificates issued, heartbeats over mutual TLS,
# inventory, status messages, health, blocking, retention and logs.
# Usage: demo.sh BUILD_DIR
set -eu
BIN=$(cd "${1:-build}" && pwd)
DEMO=$(mktemp -d /tmp/steward-demo.XXXXXX)
SITE=$DEMO/site
SPID=""

cleanup() {
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
	fi
	rm -rf "$DEMO"
}
trap cleanup EXIT INT TERM

step() {
	printf '\n\033[1m== %s\033[0m\n' "$*"
}
run() {
	printf '$'
	for a in "$@"; do
		case "$a" in
		*" "*) printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
	echo
	"$@"
}
ctl() {
	"$BIN/stewardctl" --dir "$SITE" "$@"
}

step "1. Create a site: CA, policy-signing key, TLS certificate, database, admin credential"
run "$BIN/stewardd" init --dir "$SITE" --listen 127.0.0.1:0 --approval manual --site-name demo
ls -l "$SITE/ca" "$SITE/tls" "$SITE/admin" | sed 's/^/    /'

step "2. Start the site server (a signer process holds the keys; workers serve mutual TLS)"
"$BIN/stewardd" run --dir "$SITE" >"$DEMO/stewardd.out" 2>"$DEMO/stewardd.log" &
SPID=$!
i=0
until grep -q "listening on" "$DEMO/stewardd.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		cat "$DEMO/stewardd.log"
		exit 1
	fi
	sleep 0.1
done
cat "$DEMO/stewardd.out"
sed 's/^/    log: /' "$DEMO/stewardd.log"

step "3. An administrator makes an enrollment token (it pins the site CA and signing key)"
TOKEN=$(ctl token create --ttl 1h --uses 3)
echo "$TOKEN" | cut -c1-72 | sed 's/$/.../'
run ctl token list

step "4. Three devices enroll; approval is manual, so they wait"
for n in 1 2 3; do
	printf '$ steward-agent enroll --state %s --token ... --hostname web-0%s\n' "$DEMO/web-0$n" "$n"
	rc=0
	"$BIN/steward-agent" enroll --state "$DEMO/web-0$n" --token "$TOKEN" \
		--hostname "web-0$n" --hardware-id "demo-hw-000$n" || rc=$?
	echo "    exit $rc (3 = pending approval)"
done
run ctl clients list

step "5. A fourth device reuses the token: it allowed 3 uses"
rc=0
"$BIN/steward-agent" enroll --state "$DEMO/web-04" --token "$TOKEN" \
	--hostname web-04 --hardware-id demo-hw-0004 || rc=$?
echo "    exit $rc"

step "6. The administrator approves two devices and denies one"
id() { sed -n 's/.*"client_id": "\([0-9a-f]*\)".*/\1/p' "$DEMO/$1/state.json"; }
run ctl clients approve "$(id web-01)" "$(id web-02)"
run ctl clients deny "$(id web-03)"

step "7. The devices collect their certificates"
for n in 1 2 3; do
	rc=0
	"$BIN/steward-agent" enroll --state "$DEMO/web-0$n" --wait 5 || rc=$?
	echo "    web-0$n: exit $rc (0 = issued, 4 = denied)"
done
run "$BIN/steward-agent" status --state "$DEMO/web-01"

step "8. Approved agents check in over mutual TLS with their new certificates"
run "$BIN/steward-agent" run --state "$DEMO/web-01" --once
run "$BIN/steward-agent" run --state "$DEMO/web-02" --once
rc=0
"$BIN/steward-agent" run --state "$DEMO/web-03" --once || rc=$?
echo "    web-03 (denied): exit $rc"
run ctl clients list
run ctl clients show "$(id web-01)"

step "9. Trusted-domain approval: a token marked --trusted is approved automatically"
run ctl site set-approval trusted
TRUSTED=$(ctl token create --ttl 10m --uses 1 --trusted)
echo '$ steward-agent enroll --state .../db-01 --token (trusted) --hostname db-01'
"$BIN/steward-agent" enroll --state "$DEMO/db-01" --token "$TRUSTED" \
	--hostname db-01 --hardware-id demo-hw-0101
run "$BIN/steward-agent" run --state "$DEMO/db-01" --once

step "10. A rogue server on the token's address is refused before anything is sent"
ROGUE=$DEMO/rogue
"$BIN/stewardd" init --dir "$ROGUE" --listen 127.0.0.1:0 --approval all >/dev/null 2>&1
"$BIN/stewardd" run --dir "$ROGUE" >"$DEMO/rogue.out" 2>/dev/null &
RPID=$!
until grep -q "listening on" "$DEMO/rogue.out" 2>/dev/null; do sleep 0.1; done
RURL=$(sed -n 's/^stewardd: listening on //p' "$DEMO/rogue.out")
FAKE=$(python3 - "$TOKEN" "$RURL" <<'PY'
import base64, json, sys
t = sys.argv[1][5:]
d = json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
d["u"] = sys.argv[2]
print("stw1." + base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("="))
PY
)
rc=0
"$BIN/steward-agent" enroll --state "$DEMO/victim" --token "$FAKE" \
	--hostname victim --hardware-id demo-hw-0666 || rc=$?
echo "    exit $rc"
kill "$RPID"
wait "$RPID" 2>/dev/null || true

step "11. Inventory: the first run sent a full inventory of this machine"
run ctl inventory show "$(id web-01)" --class os
ctl inventory show "$(id web-01)" --class packages | head -n 6
echo "    ($(ctl --json inventory show "$(id web-01)" --class packages | grep -c '"name"') packages)"

step "12. Status messages from a script on the device, a filter rule, health"
run ctl status rules add --message-id 4242 --component backup --action mark-client
run "$BIN/steward-agent" send-status --state "$DEMO/web-02" --component backup \
	--message-id 4242 --severity error "backup failed" "/srv"
run ctl status list --severity error
run ctl clients list
run ctl report health

step "13. Blocking a device: certificate revoked, requests refused, connections closed"
run ctl clients block "$(id web-02)" --reason "reported stolen"
rc=0
"$BIN/steward-agent" run --state "$DEMO/web-02" --once || rc=$?
echo "    web-02: exit $rc"
run ctl certs list --client "$(id web-02)"

step "14. Retention tasks and the hash-chained logs"
run ctl tasks list
run "$BIN/stewardd" verify-log "$SITE/log/stewardd.log"
run "$BIN/steward-agent" verify-log "$DEMO/web-01/log/agent.log"

step "15. Collections and the signed policy"
run ctl collections add debian --query 'os.id == "debian" and memory.total_mb >= 256'
run ctl collections members debian
run ctl settings custom add --collection debian --priority 1 --set policy.interval=30m
run "$BIN/steward-agent" run --state "$DEMO/web-01" --once
grep "policy serial" "$DEMO/web-01/log/agent.log" | tail -n 1 | sed 's/^/    log: /'
head -c 200 "$DEMO/web-01/policy.signed" | tail -c 113; echo " ..."

step "16. Deployments: content by hash, run by the agent only from its signed policy"
printf '#!/bin/sh\necho "patched $(hostname) as $(id -un)"\n' >"$DEMO/patch.sh"
run ctl content add "$DEMO/patch.sh" | tee "$DEMO/content.out"
SHA=$(tail -n 1 "$DEMO/content.out")
run ctl deploy script --name patch --collection debian --content "$SHA" --required --max-runtime 15m
DEP=$(ctl deployments list --json | sed -n 's/.*"id": \([0-9]*\),.*/\1/p' | tail -n 1)
run ctl deploy command --name raw-shell --collection debian --command "rm -rf /tmp/nothing" --required
run "$BIN/steward-agent" run --state "$DEMO/web-01" --once
grep "deployment " "$DEMO/web-01/log/agent.log" | tail -n 2 | sed 's/ |chain.*//; s/^/    log: /'
run ctl deployments list
run ctl deployments show "$DEP"

step "17. Maintenance windows: a 30-minute nightly window cannot hold a 2-hour job"
run ctl collections add nightly --query 'os.id == "debian"'
run ctl windows add --collection nightly --start 2026-01-01T02:00Z --duration 30m --recur daily
run ctl deploy script --name big-upgrade --collection nightly --content "$SHA" --required --max-runtime 2h
run ctl report windows
echo "(raw-shell is listed too: its devices are also in 'nightly', and a device's windows are the union over its collections)"

step "18. Every administrator action is audited"
run ctl audit list

kill "$SPID"
wait "$SPID" || true
SPID=""
echo "stewardd stopped. Demo done."
