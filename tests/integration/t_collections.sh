#!/bin/bash
# Collections (issue 5, point 1): query rules over inventory and discovery,
# direct, include, exclude and limiting collections, site-attributes-only
# collections a device cannot talk its way into, re-evaluation for a device
# whose inventory changes.
. "$(dirname "$0")/lib.sh"

start_site co --approval all
TOKEN=$(new_token --uses 5)
for n in 1 2 3; do
	cp -r "$SRC/tests/fixtures/root1" "$TMP/root$n"
done
sed -i 's/^MemTotal:.*/MemTotal:        2097152 kB/' "$TMP/root2/proc/meminfo"
sed -i 's/^ID=debian/ID=ubuntu/' "$TMP/root3/etc/os-release"
for n in 1 2 3; do
	expect_exit 0 agent enroll --state "$TMP/c$n" --token "$TOKEN" --hostname "web-0$n" --hardware-id "hw-coll-000$n"
	STEWARD_ROOT=$TMP/root$n expect_exit 0 agent run --state "$TMP/c$n" --once
	eval "ID$n=\$(client_id_of \"\$TMP/c\$n\")"
done
members() {
	ctl --json collections members "$1" | python3 -c 'import json,sys
print(" ".join(sorted(m["hostname"] for m in json.load(sys.stdin)["members"])))'
}

[ "$(members 'All Clients')" = "web-01 web-02 web-03" ] || fail "All Clients: $(members 'All Clients')"
expect_exit 0 ctl collections add big-debian --query 'os.id == "debian" and memory.total_mb >= 4096'
[ "$(members big-debian)" = "web-01" ] || fail "big-debian: $(members big-debian)"
expect_exit 0 ctl collections add old-ssh --query 'package["openssh-server"].version < "1:9.2p1-3"'
[ "$(members old-ssh)" = "web-01 web-02 web-03" ] || fail "old-ssh: $(members old-ssh)"
expect_exit 0 ctl collections add new-ssh --query 'package["openssh-server"].version >= "1:9.2p1-3"'
[ "$(members new-ssh)" = "" ] || fail "new-ssh: $(members new-ssh)"
expect_exit 0 ctl collections add ssh-not-big --include old-ssh --exclude big-debian
[ "$(members ssh-not-big)" = "web-02 web-03" ] || fail "include/exclude: $(members ssh-not-big)"
expect_exit 0 ctl collections add big-limited --limit big-debian --query 'host.name ~ "web-*"'
[ "$(members big-limited)" = "web-01" ] || fail "limit: $(members big-limited)"
expect_exit 0 ctl collections add pinned --client "$ID2" --query 'os.id in ["ubuntu", "arch"]'
[ "$(members pinned)" = "web-02 web-03" ] || fail "direct + in: $(members pinned)"
ok "query, direct, include, exclude and limiting rules select the right devices"

expect_exit 1 ctl collections add broken --query 'os.id = "debian"'
expect_in "queries[0]: column 7: '=' must be '=='"
expect_exit 1 ctl collections add lying --site-attributes-only --query 'os.id == "debian"'
expect_in "'os' is reported by the device"
expect_exit 0 ctl collections add prod --site-attributes-only --query 'tag["env"] == "prod"'
[ "$(members prod)" = "" ] || fail "prod before tagging: $(members prod)"
expect_exit 0 ctl clients tag "$ID3" env=prod
[ "$(members prod)" = "web-03" ] || fail "prod after tagging: $(members prod)"
ok "parse errors point at the column; site-attributes-only collections follow admin tags only"

# Web-02 gets more memory: its next inventory moves it into big-debian.
sed -i 's/^MemTotal:.*/MemTotal:        8388608 kB/' "$TMP/root2/proc/meminfo"
python3 - "$TMP/c2/inventory.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["next_due"] = 0
json.dump(d, open(sys.argv[1], "w"))
PY
STEWARD_ROOT=$TMP/root2 expect_exit 0 agent run --state "$TMP/c2" --once
[ "$(members big-debian)" = "web-01 web-02" ] || fail "re-evaluation: $(members big-debian)"
[ "$(members ssh-not-big)" = "web-03" ] || fail "dependent collection: $(members ssh-not-big)"
ok "a device's new inventory re-evaluates its memberships, dependents included"

expect_exit 0 ctl clients block "$ID1"
[ "$(members 'All Clients')" = "web-02 web-03" ] || fail "blocked client still a member"
expect_exit 1 ctl collections delete big-debian
expect_in "is used by"
expect_exit 0 ctl collections delete big-limited
expect_exit 1 ctl collections delete "All Clients"
expect_exit 0 ctl collections list
expect_in "All Clients"
echo "$OUT" | grep -q big-limited && fail "deleted collection still listed"
expect_exit 0 ctl collections show old-ssh --json
expect_in '"kind": "query"'
expect_exit 0 ctl audit list
expect_in "collection.add"
expect_in "client.tag"
ok "blocked clients leave collections; deletion respects dependencies; all audited"
