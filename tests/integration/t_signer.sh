#!/bin/bash
# The signer process (point 2): only the signer opens the CA and signing
# keys; the network-facing process never does. Every signature is logged.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || fail "strace is required (scripts/deps.sh)"
init_site sig --approval all
SITE_LOG=$SITE.log
strace -f -e trace=openat,open -o "$TMP/trace" \
	"$BIN/stewardd" run --dir "$SITE" >"$SITE.out" 2>"$SITE_LOG" &
SPID=$!
PIDS="$PIDS $SPID"
i=0
while ! grep -q "listening on" "$SITE.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 400 ] && fail "stewardd did not start under strace: $(cat "$SITE_LOG")"
	sleep 0.05
done
URL=$(sed -n 's/^stewardd: listening on //p' "$SITE.out")
MAIN=$(sed -n 's/.*this process (pid \([0-9]*\)).*/\1/p' "$SITE_LOG")
SIGNER=$(sed -n 's/.*started the signer (pid \([0-9]*\)).*/\1/p' "$SITE_LOG")
[ -n "$MAIN" ] && [ -n "$SIGNER" ] || fail "pids not logged: $(cat "$SITE_LOG")"
PIDS="$MAIN $PIDS"

TOKEN=$(new_token --uses 2)
expect_exit 0 agent enroll --state "$TMP/d1" --token "$TOKEN" --hostname d1 --hardware-id hw-d1-00001
expect_exit 0 agent run --state "$TMP/d1" --once

for key in ca/ca.key ca/sign.key; do
	openers=$(grep "$key" "$TMP/trace" | grep -v ENOENT | awk '{print $1}' | sort -u)
	[ -n "$openers" ] || fail "nobody opened $key"
	[ "$openers" = "$SIGNER" ] || fail "$key opened by pids '$openers', signer is $SIGNER, main $MAIN"
done
grep "tls/server.key" "$TMP/trace" | awk '{print $1}' | sort -u | grep -qx "$MAIN" ||
	fail "the main process did not load its TLS key"
ok "only the signer (pid $SIGNER) opens ca.key and sign.key; stewardd (pid $MAIN) never does"

grep -q "signer\[info\]: signed client certificate serial=" "$SITE_LOG" ||
	fail "the signer did not log the signature"
grep -q "signer\[info\]: issued CRL number" "$SITE_LOG" || fail "CRL issue not logged"
ok "the signer logs every signature"

# The signer runs unprivileged with no_new_privs once the keys are loaded.
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/{print $2}' "/proc/$SIGNER/status")
	[ "$uid" != 0 ] || fail "signer still runs as root"
fi
grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$SIGNER/status" || fail "signer lacks no_new_privs"
ok "the signer dropped privileges"

kill "$MAIN"
wait "$SPID"
kill -0 "$SIGNER" 2>/dev/null && fail "signer outlived stewardd"
ok "the signer ends with the server"
