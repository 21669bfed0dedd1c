#!/bin/bash
# Parked long-polls (issue 6, P3): a held GET /v1/notify gives up its TLS
# state and is answered with records sealed by the server itself. Real
# OpenSSL clients must read the answer under each TLS 1.3 cipher suite,
# then a clean close_notify; a parked client that goes away costs nothing;
# notify_park = no keeps the connection as before.
. "$(dirname "$0")/lib.sh"

init_site park --approval all
run_site
TOKEN=$(new_token --uses 2)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname park1 --hardware-id "hw-park-0001"
CRED=$(agent_cred "$TMP/c1")
ID=$(client_id_of "$TMP/c1")
PORT=${URL##*:}

# The newest notification id the client has (its "after").
last_id() {
	ccurl "$CRED" "$URL/v1/notify?wait=0&after=${1:-0}" | python3 -c '
import json, sys
ids = [n["id"] for n in json.load(sys.stdin)["notifications"]]
print(max(ids + [int(sys.argv[1])]))' "${1:-0}"
}

# hold SUITE OUT [SECS]: holds a long-poll over openssl s_client with
# SUITE, has the site notify the client, and leaves the answer in OUT (the
# client gives up after SECS, 10 by default, if the site does not close).
hold() {
	(
		printf 'GET /v1/notify?after=%s&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n' "$LAST"
		sleep 3
	) | timeout "${3:-10}" openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SITE/ca/ca.crt" \
		-cert "$TMP/c1/cert.pem" -key "$TMP/c1/key.pem" -ciphersuites "$1" \
		-quiet -ign_eof >"$2" 2>"$2.err" &
	hp=$!
	sleep 1
	expect_exit 0 ctl clients notify "$ID" policy
	wait $hp
}

LAST=$(last_id)
for suite in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	hold "$suite" "$TMP/ans.$suite"
	grep -q '^HTTP/1.1 200 OK' "$TMP/ans.$suite" || fail "$suite: no answer: $(cat "$TMP/ans.$suite" "$TMP/ans.$suite.err")"
	grep -q '^Connection: close' "$TMP/ans.$suite" || fail "$suite: the parked answer does not close"
	grep -q '^Date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] 20[0-9][0-9] [0-9:]* GMT' "$TMP/ans.$suite" ||
		fail "$suite: the parked answer has no Date"
	grep -q '"kind":"policy"' "$TMP/ans.$suite" || fail "$suite: no policy notification in: $(cat "$TMP/ans.$suite")"
	if grep -qiE 'error|bad record mac|decrypt|alert' "$TMP/ans.$suite.err"; then
		fail "$suite: the client saw a TLS error: $(cat "$TMP/ans.$suite.err")"
	fi
	LAST=$(python3 -c 'import json,sys
t = open(sys.argv[1]).read()
print(max(n["id"] for n in json.loads(t[t.index("{"):])["notifications"]))' "$TMP/ans.$suite")
done
ok "parked long-polls answered, then closed cleanly, under all three TLS 1.3 suites"

# A client that had the server update its key before (K: an update it
# requests back, k: its own) is still answered under the right key: every
# KeyUpdate the server wrote is counted.
(
	sleep 0.5
	printf 'K\n'
	sleep 0.3
	printf 'k\n'
	sleep 0.3
	printf 'GET /v1/notify?after=%s&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n' "$LAST"
	sleep 3
) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SITE/ca/ca.crt" \
	-cert "$TMP/c1/cert.pem" -key "$TMP/c1/key.pem" >"$TMP/ans.ku" 2>&1 &
hp=$!
sleep 2
expect_exit 0 ctl clients notify "$ID" policy
wait $hp
[ "$(grep -o 'KEYUPDATE' "$TMP/ans.ku" | wc -l)" -eq 2 ] || fail "the client did not update keys: $(tail -5 "$TMP/ans.ku")"
grep -q '"kind":"policy"' "$TMP/ans.ku" || fail "no answer after key updates: $(tail -20 "$TMP/ans.ku")"
grep -qiE 'bad record mac|decrypt' "$TMP/ans.ku" && fail "answer sealed under the wrong key: $(tail -5 "$TMP/ans.ku")"
LAST=$(last_id "$LAST")
ok "a parked answer after key updates the client asked for is sealed under the right key"

# The agent's own client: a notification reaches a running agent through a
# parked long-poll, and again through the next one it opens.
"$BIN/steward-agent" run --state "$TMP/c1" --interval 3600 >"$TMP/agent.out" 2>&1 &
APID=$!
PIDS="$PIDS $APID"
for round in 1 2; do
	sleep 1.5
	expect_exit 0 ctl clients notify "$ID" policy
	i=0
	until [ "$(grep -c 'notification from the site: policy' "$TMP/c1/log/agent.log")" -ge "$round" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "notification $round did not reach the agent: $(tail -5 "$TMP/c1/log/agent.log")"
		sleep 0.05
	done
done
kill "$APID"
wait "$APID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $APID//")
LAST=$(last_id "$LAST")
ok "the agent receives notifications through parked long-polls, one after another"

# A parked client that goes away: nothing breaks, the site answers others.
python3 - "$PORT" "$SITE/ca/ca.crt" "$TMP/c1/cert.pem" "$TMP/c1/key.pem" "$LAST" <<'PY'
import socket, ssl, sys, time
port, ca, cert, key, last = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))))
s.sendall(b"GET /v1/notify?after=%s&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n" % last.encode())
time.sleep(1)
s.close()
PY
sleep 0.5
expect_exit 0 ctl clients notify "$ID" policy
ccurl "$CRED" -o /dev/null -w '%{http_code}' "$URL/v1/policy" >"$TMP/code"
[ "$(cat "$TMP/code")" = 200 ] || fail "the site stopped answering after a parked client left"
kill -0 "$SITE_PID" || fail "stewardd died"
grep -q "cannot free the TLS state" "$SITE_LOG" && fail "a parked connection's TLS state was not freed"
LAST=$(last_id "$LAST")
ok "a parked client that closes is forgotten; the site goes on"

# notify_park = no: the held connection keeps its TLS state and stays open.
stop_site
echo "notify_park = no" >>"$SITE/steward.conf"
run_site
PORT=${URL##*:}
hold TLS_AES_128_GCM_SHA256 "$TMP/ans.nopark" 4
grep -q '"kind":"policy"' "$TMP/ans.nopark" || fail "notify_park = no: no answer: $(cat "$TMP/ans.nopark")"
grep -q '^Connection: close' "$TMP/ans.nopark" && fail "notify_park = no: the answer closed the connection"
# A held answer carries the time it went, not the time of the request.
T0=$(date +%s)
D=$(ccurl "$CRED" -D - -o /dev/null "$URL/v1/notify?wait=2&after=999999999" | tr -d '\r' | sed -n 's/^Date: //p')
[ -n "$D" ] && [ "$(date -d "$D" +%s)" -ge $((T0 + 1)) ] || fail "a held answer's Date '$D' is not the time of the answer (asked at $T0)"
echo "notify_park = maybe" >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" run --dir "$SITE"
expect_in "notify_park must be yes or no"
ok "notify_park = no holds long-polls as before; a bad value is refused"
