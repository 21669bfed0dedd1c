#!/bin/bash
# The admin lists of clients and certificates come a page at a time (a
# whole site's list in one answer was tens of MB: past about 4,400 clients
# stewardctl could not read it): ?limit=N&after=NEXT, in creation order, no
# row twice or missed, a clear 400 for a bad page; stewardctl follows the
# pages and prints one table or one JSON object, as before. The same for a
# collection's members and a deployment's devices, in host name order.
. "$(dirname "$0")/lib.sh"

start_site paging --approval all
ADMIN=$SITE/admin/admin.pem
N=9
TOKEN=$(new_token --uses $N)
expect_exit 0 "$BIN/steward-loadgen" enroll --url "$URL" --ca "$SITE/ca/ca.crt" --token "$TOKEN" \
	--out "$TMP/ids" --count $N --connections 3 --threads 1 --json

# The API, three rows a page: 3, 3, 3 and no "next" after a short page.
pages() { # what: follows "next" from $1 (a path with ?limit=); prints each page's row count, then every key ($2) of the list ($3, else the path's last part)
	python3 - "$URL" "$ADMIN" "$SITE/ca/ca.crt" "$1" "$2" "${3-}" <<'EOF'
import json, ssl, sys, urllib.request
url, cred, ca, path, key, name = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cred)
ctx.check_hostname = False
name = name or path.split("?")[0].rsplit("/", 1)[1]
after, counts, keys = None, [], []
while True:
    with urllib.request.urlopen(url + path + ("&after=" + after if after else ""), context=ctx) as r:
        o = json.load(r)
    counts.append(len(o[name]))
    keys += [row[key] for row in o[name]]
    after = o.get("next")
    if after is None:
        break
print(" ".join(map(str, counts)))
print(" ".join(keys))
EOF
}
OUT=$(pages "/v1/admin/clients?limit=3" id) || fail "paging the clients: $OUT"
[ "$(echo "$OUT" | head -1)" = "3 3 3 0" ] || [ "$(echo "$OUT" | head -1)" = "3 3 3" ] ||
	fail "pages of clients: $(echo "$OUT" | head -1)"
IDS=$(echo "$OUT" | tail -1)
[ "$(echo "$IDS" | tr ' ' '\n' | sort -u | wc -l)" = $N ] || fail "the pages held $(echo "$IDS" | wc -w) rows, not $N distinct"
ALL=$(ccurl "$ADMIN" "$URL/v1/admin/clients" | python3 -c 'import json,sys; print(" ".join(c["id"] for c in json.load(sys.stdin)["clients"]))')
[ "$IDS" = "$ALL" ] || fail "the pages' order differs from one page's"
OUT=$(pages "/v1/admin/clients?limit=4&status=approved" id) || fail "paging approved clients: $OUT"
[ "$(echo "$OUT" | head -1)" = "4 4 1" ] || fail "pages of approved clients: $(echo "$OUT" | head -1)"
OUT=$(pages "/v1/admin/certs?limit=2" serial) || fail "paging the certificates: $OUT"
SERIALS=$(echo "$OUT" | tail -1)
NCERTS=$(ccurl "$ADMIN" "$URL/v1/admin/certs" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["certs"]))')
[ "$(echo "$SERIALS" | tr ' ' '\n' | sort -u | wc -l)" = "$NCERTS" ] || fail "certificate pages: $SERIALS against $NCERTS"
ok "GET /v1/admin/clients and /certs page by page: every row once, in order ($N clients, $NCERTS certificates)"

check() { # what: a bad page gets 400 with a JSON error
	code=$(ccurl "$ADMIN" -o "$TMP/body" -w '%{http_code}' "$URL$1")
	[ "$code" = 400 ] || fail "$1: HTTP $code"
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["error"]' "$TMP/body" || fail "$1: $(cat "$TMP/body")"
}
for q in "limit=0" "limit=10001" "limit=abc" "limit=" "after=zz" "after=1:XYZ" "after=:ab" "after=12:" \
	"after=-1:ab" "after=1:ab:cd" "after=99999999999999999999:ab" "after=$(printf '1:%0200d' 0)" \
	"status=$(printf 'a%.0s' $(seq 1 40))"; do
	check "/v1/admin/clients?$q"
done
check "/v1/admin/certs?after=1:g0"
check "/v1/admin/status?limit=10001"
expect_exit 2 ctl status list --limit 10001
check "/v1/admin/certs?client=$(printf 'a%.0s' $(seq 1 60))"
ok "a malformed limit, cursor or filter gets 400 with a JSON error"

# stewardctl follows the pages: two rows a page gives the same table and
# the same JSON as one page.
paged_same() { # what: ctl "$@" prints the same with 2 rows a page as with one page ($OUT: the paged one)
	local one
	expect_exit 0 ctl "$@"
	one=$OUT
	STEWARD_CTL_PAGE=2 expect_exit 0 ctl "$@"
	[ "$OUT" = "$one" ] || fail "'ctl $*' a page at a time differs: $OUT"
}
json_check() { # what: python assertions ($1) on the JSON in $OUT, N and NCERTS given
	python3 -c "import json,sys
o = json.loads(sys.argv[1]); n, ncerts = int(sys.argv[2]), int(sys.argv[3])
$1" "$OUT" $N "$NCERTS" || fail "$1: $OUT"
}
paged_same clients list
[ "$(echo "$OUT" | wc -l)" = $((N + 1)) ] || fail "the table has $(echo "$OUT" | wc -l) lines"
paged_same --json clients list
json_check 'assert len(o["clients"]) == n'
paged_same --json certs list
json_check 'assert len(o["certs"]) == ncerts'
STEWARD_CTL_PAGE=0 expect_exit 2 ctl clients list
ok "stewardctl follows the pages: the same table and JSON with 2 rows a page as with one page"

# A collection's members and a deployment's devices, by host name.
OUT=$(pages "/v1/admin/collections/members?name=All%20Clients&limit=4" id) || fail "paging the members: $OUT"
[ "$(echo "$OUT" | head -1)" = "4 4 1" ] || fail "pages of members: $(echo "$OUT" | head -1)"
[ "$(echo "$OUT" | tail -1 | tr ' ' '\n' | sort -u | wc -l)" = $N ] || fail "members: $(echo "$OUT" | tail -1)"
check "/v1/admin/collections/members?name=All%20Clients&after=a/b:ab"
paged_same collections members "All Clients"
[ "$(echo "$OUT" | wc -l)" = $((N + 1)) ] || fail "paged members table: $OUT"
paged_same --json collections members "All Clients"
json_check 'm = [x["hostname"] for x in o["members"]]
assert o["name"] == "All Clients" and len(m) == n and m == sorted(m)'
printf '#!/bin/sh\necho paged\n' >"$TMP/p.sh"
SHA=$(ctl content add "$TMP/p.sh" | tail -n 1)
expect_exit 0 ctl deploy script --name paged --collection "All Clients" --content "$SHA" --required --max-runtime 10m
DEP=$(ctl --json deployments list | python3 -c 'import json,sys; print(json.load(sys.stdin)["deployments"][0]["id"])')
OUT=$(pages "/v1/admin/deployments/$DEP?limit=3" id devices) || fail "paging the devices: $OUT"
[ "$(echo "$OUT" | head -1)" = "3 3 3 0" ] || fail "pages of devices: $(echo "$OUT" | head -1)"
paged_same deployments show "$DEP"
expect_in "paged"
paged_same --json deployments show "$DEP"
json_check 'assert o["name"] == "paged" and len(o["devices"]) == n
assert all(d["state"] == "pending" for d in o["devices"])'
ok "a collection's members and a deployment's devices page by host name; stewardctl's output is the same"
