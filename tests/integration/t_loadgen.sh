#!/bin/bash
# A tiny run of steward-loadgen so it cannot rot: two real identities poll
# the policy over mutual TLS for a second; every answer is a 200 or a 304.
. "$(dirname "$0")/lib.sh"

start_site lg --approval all
TOKEN=$(new_token --uses 2)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
mkdir -p "$TMP/ids"
expect_exit 0 agent enroll --state "$TMP/ids/a1" --token "$TOKEN" --hostname lg-01 --hardware-id hw-lg-0001
expect_exit 0 agent enroll --state "$TMP/ids/a2" --token "$TOKEN" --hostname lg-02 --hardware-id hw-lg-0002
expect_exit 0 "$BIN/steward-loadgen" policy --url "$URL" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids" \
	--connections 2 --threads 1 --duration 1 --server-pid "$SITE_PID" --json
python3 -c 'import json,sys
r=json.loads(sys.argv[1])
assert r["identities"]==2 and r["requests"]>10, r
assert r["ok_200"]>=2 and r["not_modified_304"]>0, r
assert sum(r["errors"].values())==0, r
assert r["p50_us"]>0 and r["p99_us"]>=r["p50_us"] and r["server_rss_kb"]>0, r' "$OUT" || fail "loadgen: $OUT"
ok "loadgen polled the policy with two identities: $(echo "$OUT" | json_get requests) requests, 304s after the first 200s, no errors"

# Both identities hold a notification long-poll; "fetch policy now" to the
# collection they are in answers each of them.
expect_exit 0 "$BIN/steward-loadgen" idle --url "$URL" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids" \
	--connections 2 --threads 1 --hold 1 --server-pid "$SITE_PID" \
	--trigger "'$BIN/stewardctl' --dir '$SITE' clients notify --collection 'All Clients' policy >/dev/null"
python3 -c 'import json,sys
r=json.loads(sys.argv[1])
assert r["opened"]==2 and r["errors"]==0, r
assert r["answered_after_trigger"]==2 and r["all_answered_ms"]>=0, r' "$(echo "$OUT" | tail -1)" ||
	fail "loadgen idle: $OUT"
ok "fetch policy now to a collection answered both held long-polls in $(echo "$OUT" | tail -1 | json_get all_answered_ms) ms"

# Without a client certificate the site refuses every request.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=stranger \
	-keyout "$TMP/k.pem" -out "$TMP/c.pem" -days 1 2>/dev/null
expect_exit 1 "$BIN/steward-loadgen" policy --url "$URL" --ca "$SITE/ca/ca.crt" --cert "$TMP/c.pem" --key "$TMP/k.pem" \
	--connections 1 --threads 1 --duration 1 --json
python3 -c 'import json,sys
r=json.loads(sys.argv[1]); assert r["requests"]==0 and sum(r["errors"].values())>0, r' "$OUT" ||
	fail "a stranger got answers: $OUT"
ok "a certificate the site did not issue gets no answers (errors counted)"
expect_exit 2 "$BIN/steward-loadgen" policy --url "$URL" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids" --connections 0
expect_exit 2 "$BIN/steward-loadgen" policy --url "http://x" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids"
ok "bad options are refused"
