#!/bin/bash
# A tiny run of steward-loadgen so it cannot rot: two real identities poll
# the policy over mutual TLS for a second; every answer is a 200 or a 304.
. "$(dirname "$0")/lib.sh"

init_site lg --approval all
# Five answers a slice: a worker answers its held long-polls in several
# turns of its loop (below).
echo "notify_slice = 5" >>"$SITE/steward.conf"
run_site
# The site's listen queues are as long as the kernel allows
# (net.core.somaxconn), not libevent's 128: a collection told at once comes
# back faster than a busy worker accepts (below 128, devices waited a
# second or more for their handshakes to be retried).
PORT=${URL##*:}
WANT=$(cat /proc/sys/net/core/somaxconn)
[ "$WANT" -gt 65535 ] && WANT=65535
QS=$(ss -Hltn "( sport = :$PORT )" | awk '{print $3}' | sort -u)
[ -n "$QS" ] && [ "$QS" = "$WANT" ] || fail "listen queues of $QS, not $WANT"
ok "the site listens with queues of $WANT connections"
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

# Both identities hold twelve notification long-polls each (so that some
# worker holds more than a few of one client); "fetch policy now" to the
# collection they are in answers every one.
expect_exit 0 "$BIN/steward-loadgen" idle --url "$URL" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids" \
	--connections 24 --threads 1 --hold 1 --server-pid "$SITE_PID" --follow \
	--trigger "'$BIN/stewardctl' --dir '$SITE' clients notify --collection 'All Clients' policy >/dev/null"
python3 -c 'import json,sys
r=json.loads(sys.argv[1])
assert r["opened"]==24 and r["errors"]==0, r
assert r["answered_after_trigger"]==24 and r["all_answered_ms"]>=0, r
assert 0<=r["first_answer_ms"]<=r["all_answered_ms"] and r["loadgen_cpu_answering_ms"]>=0, r
assert r["trigger_ms"]>0, r
assert r["followed"]==24 and r["follow_failed"]==0 and r["follow_resumed"]==24, r
assert r["all_followed_ms"]>=r["all_answered_ms"] and r["follow_peak_server_cpu_pct"]>=0, r
assert r["reheld"]==24 and r["rehold_failed"]==0 and r["rehold_resumed"]==24, r
assert r["listen_overflows"]>=0 and r["loadgen_cpu_follow_ms"]>=0, r' "$(echo "$OUT" | tail -1)" ||
	fail "loadgen idle: $OUT"
ok "fetch policy now to a collection answered all 24 held long-polls, each then fetched its policy and held its next long-poll, both on resumed sessions, in $(echo "$OUT" | tail -1 | json_get all_answered_ms) ms"
# Each worker answered its share a slice at a time, at most five answers a
# turn of its loop (a worker that held five or fewer answered in one turn
# and says nothing).
python3 - "$SITE_LOG" "$(getconf _NPROCESSORS_ONLN)" <<'PY' || fail "slices: $(grep 'held long-polls in' "$SITE_LOG")"
import math, re, sys
lines = re.findall(r"worker \d+ answered (\d+) held long-polls in [0-9.]+ s, (\d+) slices",
                   open(sys.argv[1]).read())
assert lines, "no worker answered in slices"
n = sum(int(k) for k, _ in lines)
assert all(int(t) >= math.ceil(int(k) / 5) and int(t) > 1 for k, t in lines), lines
assert 24 - 5 * (int(sys.argv[2]) - len(lines)) <= n <= 24, (n, lines)
PY
ok "the workers answered the 24 held long-polls five at a time, serving what else waited between slices: $(grep -c 'held long-polls in' "$SITE_LOG") worker(s) in slices"
# The next long-polls acknowledged what they were told: nothing is pending.
PENDING=$(sqlite3 -cmd ".timeout 5000" "$SITE/site.db" "SELECT count(*) FROM notifications WHERE delivered_at IS NULL")
[ "$PENDING" = 0 ] || fail "$PENDING notifications still pending after the devices held their next long-polls"
ok "the devices' next long-polls acknowledged the notification: none is pending"

# Without a client certificate the site refuses every request.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=stranger \
	-keyout "$TMP/k.pem" -out "$TMP/c.pem" -days 1 2>/dev/null
expect_exit 1 "$BIN/steward-loadgen" policy --url "$URL" --ca "$SITE/ca/ca.crt" --cert "$TMP/c.pem" --key "$TMP/k.pem" \
	--connections 1 --threads 1 --duration 1 --json
python3 -c 'import json,sys
r=json.loads(sys.argv[1]); assert r["requests"]==0 and sum(r["errors"].values())>0, r' "$OUT" ||
	fail "a stranger got answers: $OUT"
ok "a certificate the site did not issue gets no answers (errors counted)"
# Bad command lines: exit 2 and one line that names what is wrong.
LG="$BIN/steward-loadgen"
A=(--url "$URL" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids")
bad_cli() {
	msg=$1
	shift
	expect_exit 2 "$LG" "$@"
	expect_in "$msg"
	[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] || fail "more than one line: $OUT"
}
bad_cli "--connections takes a whole number from 1 to 1000000" policy "${A[@]}" --connections 0
bad_cli "--connections takes a whole number from 1 to 1000000" policy "${A[@]}" --connections 12x
bad_cli "--duration takes a whole number from 1 to 3600" policy "${A[@]}" --duration
bad_cli "--url takes https://IPV4:PORT" policy --url "http://x" --ca "$SITE/ca/ca.crt" --ids "$TMP/ids"
bad_cli "unknown option '--conections'" policy "${A[@]}" --conections 4
bad_cli "unknown scenario 'polcy'" polcy "${A[@]}"
bad_cli "name a scenario"
bad_cli "--ca needs a value" policy --url "$URL" --ids "$TMP/ids" --ca
bad_cli "--ca is required" policy --url "$URL" --ids "$TMP/ids"
bad_cli "--url is required" policy --ca "$SITE/ca/ca.crt" --ids "$TMP/ids"
bad_cli "give --ids DIR, or --cert FILE and --key FILE" policy --url "$URL" --ca "$SITE/ca/ca.crt" --cert "$TMP/c.pem"
bad_cli "enroll needs --token, --out and --count" enroll --url "$URL" --ca "$SITE/ca/ca.crt" --out "$TMP/e"
bad_cli "--token: " enroll --url "$URL" --ca "$SITE/ca/ca.crt" --token stw1.garbage --out "$TMP/e" --count 2
bad_cli "--path takes /PATH" policy "${A[@]}" --path 'v1/policy'
bad_cli "--path takes /PATH" policy "${A[@]}" --path '/v1/policy HTTP/1.1'
bad_cli "--path takes /PATH" policy "${A[@]}" --path '/v1/"x'
bad_cli "--server-pid takes PID[,PID...]" policy "${A[@]}" --server-pid 12,x
bad_cli "--follow needs the idle scenario and --trigger" idle "${A[@]}" --follow
bad_cli "--follow needs the idle scenario and --trigger" policy "${A[@]}" --follow --trigger true
ok "bad command lines are refused with exit 2 and one line naming the fault"
expect_exit 0 "$LG" --help
expect_in "usage: steward-loadgen"
[ ! -d "$TMP/e" ] || fail "a refused enroll made its output directory"
ok "--help prints the usage and exits 0"
