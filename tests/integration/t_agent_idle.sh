#!/bin/bash
# A waiting agent gives back the library pages its check-in brought in
# (src/agent/idle.c), and again after each long-poll it opens while it
# waits: the handshake and the session ticket that follows bring libcrypto's
# code back. Measured on libcrypto's code mapping (not the whole RSS, which
# the sanitizers' shadow memory makes meaningless here). The site holds a
# long-poll 5 s, so the daemon opens one every 5 s.
. "$(dirname "$0")/lib.sh"

init_site idle --approval all
echo "notify_hold = 5s" >>"$SITE/steward.conf"
run_site
export STEWARD_ROOT=$SRC/tests/fixtures/root1
expect_exit 0 agent enroll --state "$TMP/c1" --token "$(new_token)" --hostname idle-01 --hardware-id hw-idle-0001
expect_exit 0 agent run --state "$TMP/c1" --once
"$BIN/steward-agent" run --state "$TMP/c1" --interval 3600 >"$TMP/agent.out" 2>&1 &
APID=$!
PIDS="$PIDS $APID"
# KiB of libcrypto's code resident in the agent, every quarter second for
# 16 s: four long-polls.
code_kb() {
	awk '/^[0-9a-f]+-/ { c = ($2 == "r-xp" && $6 ~ /libcrypto/) }
		c && /^Rss:/ { n += $2 } END { print n + 0 }' "/proc/$APID/smaps"
}
S=""
for _ in $(seq 64); do
	sleep 0.25
	S="$S $(code_kb)"
done
kill -0 "$APID" || fail "the agent stopped: $(cat "$TMP/agent.out")"
# After the first long-poll opened while waiting (5 s in), the code must
# be given back within two one-second slices, and again after each later
# one: the lowest of the last 10 s is what is left between them.
LOW=$(echo "$S" | tr ' ' '\n' | sed -n '25,64p' | sort -n | head -1)
[ "$LOW" -le 256 ] || fail "libcrypto's code stays resident while the agent waits: $LOW KiB (quarter seconds:$S)"
ok "a waiting agent gives back libcrypto's code after each long-poll it opens (lowest $LOW KiB between them; quarter seconds:$S)"
