#!/bin/bash
# TLS sessions held by the site (tls_sessions): a device resumes with its
# ticket once, and with the new ticket it got after; the same ticket again
# makes a full handshake. tls_sessions = 0 keeps stateless tickets, which
# resume as often as they are shown. A bad value is refused. A resumed
# connection is the client its session was held for, blocked or not.
. "$(dirname "$0")/lib.sh"

init_site sess --approval all
run_site
TOKEN=$(new_token --uses 1)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname sess1 --hardware-id "hw-sess-0001"
PORT=${URL##*:}

# visit IN OUT: one request over openssl s_client, resuming from the
# session in IN (none: a full handshake), saving the new one in OUT;
# prints "Reused" or "New".
visit() {
	in=()
	[ "$1" != none ] && in=(-sess_in "$1")
	printf 'GET /v1/policy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SITE/ca/ca.crt" \
			-cert "$TMP/c1/cert.pem" -key "$TMP/c1/key.pem" "${in[@]}" -sess_out "$2" \
			-ign_eof >"$2.out" 2>&1
	grep -q "${WANT:-HTTP/1.1 200 OK}" "$2.out" || fail "no answer: $(tail -n 20 "$2.out")"
	sed -n 's/^\(Reused\|New\), TLSv1.3.*/\1/p' "$2.out" | head -n 1
}

[ "$(visit none "$TMP/s1")" = New ] || fail "the first handshake was not a full one"
[ "$(visit "$TMP/s1" "$TMP/s2")" = Reused ] || fail "the site's ticket did not resume"
[ "$(visit "$TMP/s1" "$TMP/s3")" = New ] || fail "a ticket resumed twice"
[ "$(visit "$TMP/s3" "$TMP/s4")" = Reused ] || fail "the ticket of a full handshake did not resume"
[ "$(visit "$TMP/s4" "$TMP/s5")" = Reused ] || fail "the ticket of a resumed handshake did not resume"
ok "a ticket resumes once; the new ticket each handshake gives resumes next"

# A connection without a client certificate (an enrollment, a CRL
# fetch) never resumes: its session is not held.
anon() {
	in=()
	[ "$1" != none ] && in=(-sess_in "$1")
	printf 'GET /v1/crl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SITE/ca/ca.crt" \
			"${in[@]}" -sess_out "$2" -ign_eof >"$2.out" 2>&1
	grep -q "HTTP/1.1 200 OK" "$2.out" || fail "no CRL: $(tail -n 20 "$2.out")"
	sed -n 's/^\(Reused\|New\), TLSv1.3.*/\1/p' "$2.out" | head -n 1
}
anon none "$TMP/a1" >/dev/null
[ "$(anon "$TMP/a1" "$TMP/a2")" = New ] || fail "a session without a client certificate was held"
ok "sessions without a client certificate are not held"

# The agent's own runs resume too.
expect_exit 0 agent run --state "$TMP/c1" --once
ls "$TMP"/c1/tls.session.* >/dev/null 2>&1 || fail "the agent kept no session"
expect_exit 0 agent run --state "$TMP/c1" --once

# After a restart the held sessions are gone: a full handshake, no error.
stop_site
run_site --listen "127.0.0.1:$PORT"
[ "$(visit "$TMP/s5" "$TMP/s6")" = New ] || fail "a session outlived the site's restart"
expect_exit 0 agent run --state "$TMP/c1" --once
ok "after a restart, tickets fall back to full handshakes"


stop_site
printf 'tls_sessions = 0\n' >>"$SITE/steward.conf"
run_site --listen "127.0.0.1:$PORT"
visit none "$TMP/t1" >/dev/null
[ "$(visit "$TMP/t1" "$TMP/t2")" = Reused ] || fail "a stateless ticket did not resume"
[ "$(visit "$TMP/t1" "$TMP/t3")" = Reused ] || fail "a stateless ticket did not resume twice"
ok "tls_sessions = 0: stateless tickets"

stop_site
printf 'tls_sessions = -1\n' >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" run --dir "$SITE"
expect_in "tls_sessions must be"
ok "a bad tls_sessions is refused"

# A resumed handshake presents no certificate: the site held the session
# with the identity the certificate of its full handshake gave (the
# policy answered above is the client's), and authorises that identity
# like any other. Blocked, the client is refused on a resumed connection
# too.
sed -i '/^tls_sessions/d' "$SITE/steward.conf"
run_site --listen "127.0.0.1:$PORT"
visit none "$TMP/b1" >/dev/null
[ "$(visit "$TMP/b1" "$TMP/b2")" = Reused ] || fail "no resumption"
expect_exit 0 ctl clients block "$(client_id_of "$TMP/c1")" --reason "resumed and refused"
[ "$(WANT="HTTP/1.1 403" visit "$TMP/b2" "$TMP/b3")" = Reused ] || fail "the blocked client's ticket did not resume"
grep -q "is blocked: resumed and refused" "$TMP/b3.out" || fail "the 403 does not name the block: $(tail -n 5 "$TMP/b3.out")"
ok "a resumed connection is the client its session was held for, and a block refuses it"
