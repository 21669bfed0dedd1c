#!/bin/bash
# Content and deployments (issue 5, points 2, 3 and 5): content addressed by
# SHA-256 and served only to targeted clients; script, package, file and
# command deployments run by the agent from its signed policy, with their
# states back on the site; command lines refused under all-signed; content
# whose hash differs refused; run-as; the unlock.on_restart hook.
. "$(dirname "$0")/lib.sh"

PKG=steward-test-hello
dpkg -P "$PKG" >/dev/null 2>&1
trap 'dpkg -P "$PKG" >/dev/null 2>&1; cleanup' EXIT

start_site dp --approval all
TOKEN=$(new_token --uses 2)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname dep-01 --hardware-id hw-dep-0001
expect_exit 0 agent enroll --state "$TMP/c2" --token "$TOKEN" --hostname dep-02 --hardware-id hw-dep-0002
ID1=$(client_id_of "$TMP/c1")
ID2=$(client_id_of "$TMP/c2")
expect_exit 0 ctl collections add ring1 --site-attributes-only --query 'tag["ring"] == "1"'
expect_exit 0 ctl clients tag "$ID1" ring=1

# Content: the hash on the last line; bad input refused.
printf '#!/bin/sh\necho "hello from $(id -un) in deployment $STEWARD_DEPLOYMENT_ID"\n' >"$TMP/hello.sh"
expect_exit 0 ctl content add "$TMP/hello.sh"
SHA=$(echo "$OUT" | tail -n 1)
[ "$SHA" = "$(sha256sum "$TMP/hello.sh" | cut -d' ' -f1)" ] || fail "content add printed '$SHA'"
: >"$TMP/empty"
expect_exit 1 ctl content add "$TMP/empty"
expect_exit 1 ctl content add "$TMP/missing"
ok "content add stores by SHA-256 and prints the hash last"

expect_exit 0 ctl deploy script --name hello --collection ring1 --content "$SHA" --required --max-runtime 10m
DEP_HELLO=$(echo "$OUT" | tail -n 1)
printf 'echo about to fail\nexit 3\n' >"$TMP/fail.sh"
FSHA=$(ctl content add "$TMP/fail.sh" | tail -n 1)
expect_exit 0 ctl deploy script --name broken --collection ring1 --content "$FSHA" --required
DEP_FAIL=$(echo "$OUT" | tail -n 1)
expect_exit 0 ctl deploy command --name raw --collection ring1 --command 'touch /tmp/steward-should-not-exist' --required
DEP_CMD=$(echo "$OUT" | tail -n 1)
printf 'setting=1\n' >"$TMP/conf"
CSHA=$(ctl content add "$TMP/conf" | tail -n 1)
expect_exit 0 ctl deploy file --name conf --collection ring1 --content "$CSHA" --path "$TMP/placed.conf" --mode 0640 --owner nobody --required
expect_exit 0 ctl deploy script --name as-nobody --collection ring1 --content "$SHA" --run-as nobody --required
DEP_NOBODY=$(echo "$OUT" | tail -n 1)
expect_exit 0 ctl deploy script --name later --collection ring1 --content "$SHA" --available
DEP_AVAIL=$(echo "$OUT" | tail -n 1)

# Bad deployments are refused with the reason.
expect_exit 1 ctl deploy script --name x --collection ring1 --content 0000000000000000000000000000000000000000000000000000000000000000 --required
expect_in "no content"
expect_exit 1 ctl deploy package --name x --collection ring1 --content "$SHA" --required
expect_in "not a Debian package"
expect_exit 1 ctl deploy file --name x --collection ring1 --content "$SHA" --path relative/path
expect_in "absolute"
expect_exit 1 ctl deploy command --name x --collection ring1 --content "$SHA"
expect_exit 1 ctl deploy script --name x --collection nowhere --content "$SHA"
expect_in "no collection"
expect_exit 1 ctl deploy script --name x --collection ring1 --content "$SHA" --available --deadline 2030-01-01T00:00Z
expect_exit 1 ctl collections delete ring1
expect_in "used by"
ok "malformed deployments are refused with a reason; a collection in use stays"

# Content reaches only clients a deployment targets.
CRED1=$(agent_cred "$TMP/c1")
CRED2=$(agent_cred "$TMP/c2")
code=$(ccurl "$CRED1" -o "$TMP/got" -w '%{http_code}' "$URL/v1/content/$SHA")
[ "$code" = 200 ] && cmp -s "$TMP/got" "$TMP/hello.sh" || fail "targeted client got $code"
code=$(ccurl "$CRED2" -o "$TMP/got2" -w '%{http_code}' "$URL/v1/content/$SHA")
[ "$code" = 403 ] || fail "untargeted client got $code for the content"
grep -q '"error"' "$TMP/got2" || fail "no JSON error for the 403"
code=$(ccurl "$CRED1" -o /dev/null -w '%{http_code}' "$URL/v1/content/NOTAHASH")
[ "$code" = 400 ] || fail "a malformed content name gave $code"
code=$(ccurl none -o /dev/null -w '%{http_code}' "$URL/v1/content/$SHA")
[ "$code" = 401 ] || fail "content without a client certificate gave $code"
ok "content is served only to a client whose policy references it (others 403)"

# The agent runs what is due: one run.
expect_exit 0 agent run --state "$TMP/c1" --once
expect_exit 0 ctl --json deployments show "$DEP_HELLO"
python3 -c 'import json,sys
d=json.loads(sys.argv[1]); dev=d["devices"][0]
assert d["states"]["succeeded"]==1 and dev["state"]=="succeeded" and dev["exit_code"]==0, d
assert "hello from root in deployment" in dev["output"], dev' "$OUT" || fail "script deployment: $OUT"
expect_exit 0 ctl --json deployments show "$DEP_FAIL"
python3 -c 'import json,sys
d=json.loads(sys.argv[1]); dev=d["devices"][0]
assert dev["state"]=="failed" and dev["exit_code"]==3 and "about to fail" in dev["output"], dev' "$OUT" ||
	fail "failing script: $OUT"
ok "a required script ran: succeeded (exit 0, output tail) and a failing one failed with exit 3"

[ ! -e /tmp/steward-should-not-exist ] || fail "a command line ran under all-signed"
expect_exit 0 ctl --json deployments show "$DEP_CMD"
python3 -c 'import json,sys
dev=json.loads(sys.argv[1])["devices"][0]
assert dev["state"]=="failed" and "exec.policy" in dev["detail"], dev' "$OUT" || fail "command: $OUT"
ok "a command deployment is refused under exec.policy=all-signed and reported"

[ "$(stat -c '%a %U' "$TMP/placed.conf")" = "640 nobody" ] || fail "file placed as $(stat -c '%a %U' "$TMP/placed.conf")"
cmp -s "$TMP/placed.conf" "$TMP/conf" || fail "placed file differs"
expect_exit 0 ctl --json deployments show "$DEP_NOBODY"
case "$OUT" in *"hello from nobody"*) ;; *) fail "run-as: $OUT" ;; esac
ok "a file deployment placed the content with mode 0640 and owner nobody; run-as ran a script as nobody"

expect_exit 0 ctl deployments list
expect_in "hello"
expect_exit 0 agent deployments --state "$TMP/c1"
echo "$OUT" | grep -q "^$DEP_AVAIL  *pending .*available" || fail "available deployment ran or is missing: $OUT"
expect_exit 0 agent install --state "$TMP/c1" "$DEP_AVAIL"
expect_in "succeeded"
ok "an available deployment waits for 'steward-agent install', then runs"

# Done is done: another run starts nothing again.
N=$(grep -c "deployment $DEP_HELLO (script) succeeded" "$TMP/c1/log/agent.log")
expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(grep -c "deployment $DEP_HELLO (script) succeeded" "$TMP/c1/log/agent.log")" = "$N" ] || fail "a finished deployment ran again"
ok "a finished deployment does not run again"

# A Debian package, built here, installed by dpkg.
mkdir -p "$TMP/pkg/DEBIAN" "$TMP/pkg/usr/share/$PKG"
printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: Steward tests <tests@example.invalid>\nDescription: Steward deployment test\n' "$PKG" >"$TMP/pkg/DEBIAN/control"
echo hello >"$TMP/pkg/usr/share/$PKG/hello"
dpkg-deb --root-owner-group --build "$TMP/pkg" "$TMP/hello.deb" >/dev/null || fail "dpkg-deb failed"
PSHA=$(ctl content add "$TMP/hello.deb" | tail -n 1)
expect_exit 0 ctl deploy package --name hello-pkg --collection ring1 --content "$PSHA" --required
DEP_PKG=$(echo "$OUT" | tail -n 1)
expect_exit 0 agent run --state "$TMP/c1" --once
dpkg -s "$PKG" 2>/dev/null | grep -q "^Status: install ok installed" || fail "package not installed: $(ctl --json deployments show "$DEP_PKG")"
ok "a package deployment installed a .deb with dpkg"

# Content whose bytes differ from the hash the policy names is refused.
printf 'echo tampered\n' >"$TMP/t.sh"
TSHA=$(ctl content add "$TMP/t.sh" | tail -n 1)
printf 'echo evil0000\n' >"$SITE/content/$TSHA" # same size, other bytes
expect_exit 0 ctl deploy script --name tampered --collection ring1 --content "$TSHA" --required
DEP_T=$(echo "$OUT" | tail -n 1)
expect_exit 0 agent run --state "$TMP/c1" --once
expect_exit 0 ctl --json deployments show "$DEP_T"
python3 -c 'import json,sys
dev=json.loads(sys.argv[1])["devices"][0]
assert dev["state"]=="failed" and "hash differs" in dev["detail"] and not dev["output"], dev' "$OUT" ||
	fail "tampered content: $OUT"
grep -q "echo evil" "$TMP/c1/log/agent.log" && fail "tampered content reached the log"
ok "content whose hash differs from the signed policy's is refused and reported"

# exec.policy=bypass in a custom setting lets a command line run; the
# unlock.on_restart hook applies its setting.
expect_exit 0 ctl collections add bypass --site-attributes-only --query 'tag["bypass"] == "yes"'
expect_exit 0 ctl clients tag "$ID1" bypass=yes
expect_exit 0 ctl settings custom add --collection bypass --priority 1 --set exec.policy=bypass --set unlock.on_restart=always
mkdir -p "$TMP/c1/hooks"
printf '#!/bin/sh\necho "$1" >%s\n' "$TMP/unlock-applied" >"$TMP/c1/hooks/unlock.on_restart"
chmod 0700 "$TMP/c1/hooks/unlock.on_restart"
expect_exit 0 ctl deploy command --name raw2 --collection ring1 --command "echo ran >$TMP/cmd-ran" --required
expect_exit 0 agent run --state "$TMP/c1" --once
[ "$(cat "$TMP/cmd-ran" 2>/dev/null)" = ran ] || fail "command did not run under bypass"
[ "$(cat "$TMP/unlock-applied" 2>/dev/null)" = always ] || fail "the unlock hook was not run"
expect_exit 0 ctl --json status list --client "$ID1"
expect_in '"unlock.on_restart"'
ok "under exec.policy=bypass a command line runs; unlock.on_restart=always ran the device's hook"

expect_exit 0 ctl deployments delete "$DEP_FAIL"
expect_exit 1 ctl deployments show "$DEP_FAIL"
expect_in "HTTP 404"
ok "a deployment can be deleted"
