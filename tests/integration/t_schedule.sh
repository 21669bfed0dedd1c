#!/bin/bash
# Scheduled collection evaluation: besides evaluating a device on each
# change, the site re-evaluates every collection every collections_interval,
# catching what no event announced (here, a tag written straight into the
# database).
. "$(dirname "$0")/lib.sh"

init_site sc --approval all
echo "collections_interval = 10s" >>"$SITE/steward.conf"
run_site
TOKEN=$(new_token)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname sc-01 --hardware-id hw-sc-0001
ID=$(client_id_of "$TMP/c1")
expect_exit 0 ctl collections add ring --site-attributes-only --query 'tag["ring"] == "fast"'
expect_exit 0 ctl collections members ring --json
expect_in '"members": []'
sqlite3 "$SITE/site.db" "PRAGMA busy_timeout=5000; INSERT INTO client_tags (client_id, key, value) VALUES ('$ID', 'ring', 'fast')" >/dev/null ||
	fail "cannot write the tag"
i=0
until ctl collections members ring --json | grep -q "$ID"; do
	i=$((i + 1))
	[ $i -gt 60 ] && fail "the scheduled evaluation did not pick the device up: $(cat "$SITE_LOG")"
	sleep 0.5
done
grep -q "scheduled collection evaluation done" "$SITE/log/stewardd.log" || fail "no log of the scheduled evaluation"
ok "the scheduled evaluation added the device within $((i / 2)) s of a change no event announced"
echo "collections_interval = 1s" >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" check --dir "$SITE"
expect_in "collections_interval"
ok "a collections_interval under 10s is refused"
