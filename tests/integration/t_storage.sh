#!/bin/bash
# Storage (point 7): SQLite in WAL mode, versioned migrations applied at
# start, every acknowledged write committed (survives SIGKILL), the database
# private to the site, and stewardctl never opening it.
. "$(dirname "$0")/lib.sh"

start_site st --approval manual
DB=$SITE/site.db
[ "$(stat -c %a "$DB")" = 600 ] || fail "site.db is not 0600"
[ "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = wal ] || fail "site.db is not in WAL mode"
WANT=$(ls "$SRC/src/db/migrations" | sed 's/\.sql$//' | sort | paste -sd, -)
GOT=$(sqlite3 "$DB" 'SELECT group_concat(name) FROM (SELECT name FROM schema_migrations ORDER BY version)')
[ "$GOT" = "$WANT" ] || fail "migrations recorded: '$GOT', expected '$WANT'"
ok "site.db is 0600, WAL, with versioned migrations recorded"

TOKEN=$(new_token --uses 5)
expect_exit 3 agent enroll --state "$TMP/k1" --token "$TOKEN" --hostname k1 --hardware-id hw-k1-00001
ID=$(client_id_of "$TMP/k1")
expect_exit 0 ctl clients approve "$ID"
# Acknowledged: now kill without a chance to flush anything.
kill -9 "$SITE_PID"
wait "$SITE_PID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $SITE_PID//")
PORT=${URL##*:}
run_site --listen "127.0.0.1:$PORT"
expect_exit 0 ctl clients show "$ID" --json
expect_in '"status": "approved"'
expect_exit 0 agent enroll --state "$TMP/k1" --wait 10
expect_exit 0 agent run --state "$TMP/k1" --once
expect_exit 0 ctl audit list
expect_in "client.approve"
ok "an acknowledged approval survives SIGKILL of the server"

ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat -o "$TMP/ctl.trace" "$BIN/stewardctl" --dir "$SITE" clients list >/dev/null ||
	fail "stewardctl failed under strace"
grep -q "site.db" "$TMP/ctl.trace" && fail "stewardctl opened the database"
ok "stewardctl uses the admin API only; it never opens site.db"

# Restart applies no migration twice.
stop_site
run_site --listen "127.0.0.1:$PORT"
[ "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM schema_migrations')" = "$(ls "$SRC/src/db/migrations" | wc -l)" ] ||
	fail "a migration was applied twice"
ok "restarts apply each migration once"
