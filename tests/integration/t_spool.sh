#!/bin/bash
# Durability (issue 4, point 4): agents spool every report and delete it only
# once acknowledged; the server acknowledges only after commit. The server is
# killed with SIGKILL in the middle of uploads: afterwards every message is
# in the database exactly once, once the agents have re-sent the rest.
. "$(dirname "$0")/lib.sh"

init_site sp --approval all
printf 'status_rate = 100000\nstatus_burst = 100000\nstatus_site_rate = 100000\n' >>"$SITE/steward.conf"
run_site
PORT=${URL##*:}
TOKEN=$(new_token --uses 5)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
N=1500
for n in 1 2 3; do
	expect_exit 0 agent enroll --state "$TMP/c$n" --token "$TOKEN" --hostname "c$n" --hardware-id "hw-spool-0$n"
done
count() {
	sqlite3 "$SITE/site.db" "SELECT COUNT(*) FROM status_messages WHERE component = 'bulk'" 2>/dev/null || echo 0
}
for n in 1 2 3; do
	"$BIN/steward-agent" send-status --state "$TMP/c$n" --component bulk --message-id 7 --count $N "m" \
		>"$TMP/send$n.out" 2>&1 &
	eval "P$n=\$!"
done
# Kill the server as soon as uploads are landing.
i=0
while [ "$(count)" -lt 200 ]; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail "uploads never started"
	sleep 0.02
done
kill -9 "$SITE_PID"
wait "$SITE_PID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $SITE_PID//")
AT_KILL=$(count)
wait "$P1" "$P2" "$P3"
cat "$TMP"/send*.out
[ "$AT_KILL" -lt $((3 * N)) ] || fail "the server was not killed mid-upload ($AT_KILL stored)"
waiting=$(cat "$TMP"/send*.out | sed -n 's/.*; \([0-9]*\) waiting in the spool/\1/p' | paste -sd+ - | bc)
[ "$waiting" -gt 0 ] || fail "nothing was left in the spools"
ok "SIGKILL mid-upload: $AT_KILL stored, $waiting still spooled on the agents"

run_site --listen "127.0.0.1:$PORT"
# An agent whose run fails keeps its spool and tries again next run, as a
# device would at its next interval.
for n in 1 2 3; do
	for try in 1 2 3; do
		OUT=$(agent run --state "$TMP/c$n" --once 2>&1) && break
		echo "agent $n run $try: $OUT"
		sleep 1
	done
done
[ "$(count)" = $((3 * N)) ] || fail "after re-sending: $(count) messages, expected $((3 * N))"
dups=$(sqlite3 "$SITE/site.db" "SELECT COUNT(*) FROM (SELECT client_id, uid FROM status_messages GROUP BY 1, 2 HAVING COUNT(*) > 1)")
[ "$dups" = 0 ] || fail "$dups duplicated messages"
for n in 1 2 3; do
	left=$(sqlite3 "$TMP/c$n/spool.db" "SELECT COUNT(*) FROM outbox")
	[ "$left" = 0 ] || fail "agent $n still holds $left reports"
done
ok "every acknowledged message survived; agents re-sent the rest, none twice ($((3 * N)) in all)"

# An empty spool is marked so: a check-in with nothing to report does not
# open the database at all (SQLite would make its -shm index at once).
C=$TMP/c1
[ -e "$C/spool.empty" ] || fail "an emptied spool was not marked empty"
rm -f "$C/spool.db-shm"
expect_exit 0 agent run --state "$C" --once
[ ! -e "$C/spool.db-shm" ] || fail "a check-in with nothing to report opened the spool"
ok "an empty spool is marked, and a quiet check-in leaves SQLite closed"

# A report added by another process while the site is down takes the
# marker away, and the next check-in sends it.
kill -9 "$SITE_PID"
wait "$SITE_PID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $SITE_PID//")
expect_exit 0 agent send-status --state "$C" --component late --message-id 8 "held"
expect_in "will be sent later"
[ ! -e "$C/spool.empty" ] || fail "a spooled report left the empty marker in place"
[ "$(sqlite3 "$C/spool.db" "SELECT COUNT(*) FROM outbox")" = 1 ] || fail "the report was not spooled"
run_site --listen "127.0.0.1:$PORT"
expect_exit 0 agent run --state "$C" --once
[ "$(sqlite3 "$SITE/site.db" "SELECT COUNT(*) FROM status_messages WHERE component = 'late'")" = 1 ] ||
	fail "the report spooled while the site was down was not sent"
[ -e "$C/spool.empty" ] || fail "the spool was not marked empty again"
ok "a report spooled by another process removes the marker and goes at the next check-in"
