#!/bin/bash
# Protected logs (issue 4, point 6): the server's, the signer's and the
# agent's log files are root-owned 0640 in directories only root writes,
# every record is hash-chained, and verify-log finds an edited, deleted or
# missing record.
. "$(dirname "$0")/lib.sh"

start_site l --approval all
TOKEN=$(new_token --uses 1)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-logs-0001
STEWARD_ROOT=$SRC/tests/fixtures/root1 expect_exit 0 agent run --state "$TMP/c1" --once
PORT=${URL##*:}
stop_site
run_site --listen "127.0.0.1:$PORT" # the chain continues across restarts
stop_site

for f in "$SITE/log/stewardd.log" "$SITE/log/signer.log" "$TMP/c1/log/agent.log"; do
	[ "$(stat -c '%a %U' "$f")" = "640 root" ] || fail "$f is $(stat -c '%a %U' "$f")"
	[ "$(stat -c '%a' "$(dirname "$f")")" = 750 ] || fail "$(dirname "$f") is not 0750"
	grep -q "|chain 1 " "$f" || fail "$f records are not chained"
done
grep -q "signed client certificate" "$SITE/log/signer.log" || fail "signatures not in the signer's log"
grep -q "inventory sent" "$TMP/c1/log/agent.log" || fail "agent log lacks its work"
expect_exit 0 "$BIN/stewardd" verify-log "$SITE/log/stewardd.log"
expect_in "chain intact"
expect_exit 0 "$BIN/stewardd" verify-log "$SITE/log/signer.log"
expect_exit 0 agent verify-log "$TMP/c1/log/agent.log"
ok "logs are root-owned 0640 in 0750 directories, chained across restarts, and verify"

L=$SITE/log/stewardd.log
cp "$L" "$TMP/orig.log"
sed -i '3s/info/INFO/' "$L"
expect_exit 1 "$BIN/stewardd" verify-log "$L"
expect_in "record 3 (line 3) was altered"
cp "$TMP/orig.log" "$L"
sed -i '4d' "$L"
expect_exit 1 "$BIN/stewardd" verify-log "$L"
expect_in "record 4 is missing"
cp "$TMP/orig.log" "$L"
sed -i '1,2d' "$L"
expect_exit 1 "$BIN/stewardd" verify-log "$L"
expect_in "records 1 to 2 are missing"
cp "$TMP/orig.log" "$L"
echo "2026-01-01T00:00:00Z stewardd[info]: forged line" >>"$L"
expect_exit 1 "$BIN/stewardd" verify-log "$L"
expect_in "not a chained record"
cp "$TMP/orig.log" "$L"
expect_exit 1 agent verify-log "$TMP/nothing.log"
ok "verify-log reports the first edited, deleted, missing or inserted record"

chmod 770 "$SITE/log"
expect_exit 1 "$BIN/stewardd" run --dir "$SITE"
expect_in "writable by group or others"
chmod 750 "$SITE/log"
ok "the server refuses a log directory others can write"
