#!/bin/bash
# Revocation (issue 3, point 2): certs list/revoke, the CRL regenerated on
# every revocation and re-issued long before nextUpdate, revoked client
# certificates refused in the handshake, a revoked server certificate
# refused by the agent.
. "$(dirname "$0")/lib.sh"

init_site r --approval all
echo "crl_validity = 10s" >>"$SITE/steward.conf"
run_site
TOKEN=$(new_token --uses 10)
for n in 1 2; do
	expect_exit 0 agent enroll --state "$TMP/c$n" --token "$TOKEN" --hostname "c$n" --hardware-id "hw-revoke-00$n"
	agent_cred "$TMP/c$n" >/dev/null
done
ID1=$(client_id_of "$TMP/c1")
ID2=$(client_id_of "$TMP/c2")
S1=$(openssl x509 -in "$TMP/c1/cert.pem" -noout -serial | cut -d= -f2 | tr A-Z a-z)

expect_exit 0 ctl certs list
expect_in "$S1"
expect_in "server"
expect_exit 0 ctl certs list --client "$ID1" --json
expect_in "\"serial\": \"$S1\""
echo "$OUT" | grep -q "$ID2" && fail "certs list --client shows another client"
expect_exit 2 ctl certs list --expiring-within soon
ok "certs list, filtered by client, table and JSON"

crl_number() {
	ccurl none "$URL/v1/crl" | openssl crl -inform DER -noout -crlnumber | cut -d= -f2
}
crl_etag() {
	ccurl none -D - -o /dev/null "$@" "$URL/v1/crl" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
}
crl_code() {
	ccurl none -o /dev/null -w '%{http_code}' "$@" "$URL/v1/crl"
}
# The site re-issues this test's CRL every 5 s: the checks of one CRL are
# judged only when its ETag was the same after them (at most 3 tries).
for try in 1 2 3; do
	N0=$(crl_number)
	E0=$(crl_etag)
	SUM=$(ccurl none "$URL/v1/crl" | sha256sum | cut -c1-32)
	HELD=$(crl_code -H "If-None-Match: $E0")
	OTHER=$(crl_code -H 'If-None-Match: "00000000000000000000000000000000"')
	[ "$(crl_etag)" = "$E0" ] && break
	[ "$try" = 3 ] && fail "the site's CRL changed during each of 3 tries"
done
case "$E0" in \"????????????????????????????????\") ;; *) fail "CRL ETag '$E0'" ;; esac
[ "$SUM" = "$(echo "$E0" | tr -d '"')" ] || fail "the CRL's ETag is not the start of its SHA-256"
[ "$HELD" = 304 ] || fail "the CRL held was sent again"
[ "$OTHER" = 200 ] || fail "another ETag did not get the CRL"
ok "GET /v1/crl: ETag $E0, 304 to the CRL held"
expect_exit 0 ctl certs revoke "$S1" --reason keyCompromise
N1=$(crl_number)
[ "$N1" != "$N0" ] || fail "CRL not regenerated on revocation"
[ "$(crl_code -H "If-None-Match: $E0")" = 200 ] || fail "the CRL before the revocation still answered 304"
ccurl none -o "$TMP/crl" "$URL/v1/crl"
openssl crl -inform DER -in "$TMP/crl" -noout -text | tr A-Z a-z >"$TMP/crl.txt"
grep -q "serial number: $S1" "$TMP/crl.txt" || fail "revoked serial not in the CRL"
grep -q "key compromise" "$TMP/crl.txt" || fail "CRL reason missing"
openssl crl -inform DER -in "$TMP/crl" -CAfile "$SITE/ca/ca.crt" -noout 2>&1 | grep -q "verify OK" ||
	fail "CRL not signed by the site CA"
ok "revocation regenerates the CRL (number $N0 -> $N1) with the serial and reason"

# The server certificates' CRL, what agents fetch: signed by the site CA,
# marked as that partition (a critical issuingDistributionPoint, end-entity
# certificates only), and without the client certificate just revoked.
ccurl none -o "$TMP/scrl" "$URL/v1/crl/servers"
openssl crl -inform DER -in "$TMP/scrl" -CAfile "$SITE/ca/ca.crt" -noout 2>&1 | grep -q "verify OK" ||
	fail "the server certificates' CRL is not signed by the site CA"
openssl crl -inform DER -in "$TMP/scrl" -noout -text | tr A-Z a-z >"$TMP/scrl.txt"
grep -q "issuing distribution point: critical" "$TMP/scrl.txt" || fail "the server certificates' CRL has no critical IDP"
grep -q "cn = server certificates" "$TMP/scrl.txt" || fail "the partition is not named"
grep -q "only user certificates" "$TMP/scrl.txt" || fail "the partition does not say it holds end-entity certificates only"
grep -q "serial number: $S1" "$TMP/scrl.txt" && fail "a client certificate is in the server certificates' CRL"
ok "GET /v1/crl/servers: the site CA's partition of server certificates, no client certificate in it"

if ccurl "$TMP/c1/cred.pem" -o /dev/null -X POST -d '{}' "$URL/v1/heartbeat" 2>"$TMP/err"; then
	fail "a revoked certificate completed a request"
fi
grep -q "refused revoked certificate $S1" "$SITE_LOG" || fail "no log of the handshake refusal"
expect_exit 1 agent run --state "$TMP/c1" --once
expect_in "revoked or expired"
ok "the TLS layer refuses the revoked certificate during the handshake"

expect_exit 1 ctl certs revoke "$S1"
expect_in "already revoked"
expect_exit 1 ctl certs revoke "$S1" --reason becauseIsaidso
expect_in "'reason' must be"
expect_exit 1 ctl certs revoke 00ff
expect_in "no certificate"
expect_exit 0 ctl certs revoke --client "$ID2" --reason cessationOfOperation
expect_exit 1 agent run --state "$TMP/c2" --once
expect_exit 0 ctl audit list
expect_in "cert.revoke"
ok "revoke by client, clear errors for repeats and bad reasons, audited"

# Left running past the first CRL's nextUpdate, the site still serves a
# current one.
FIRST_NEXT=$(openssl crl -inform DER -in "$TMP/crl" -noout -nextupdate | cut -d= -f2)
sleep 12
ccurl none -o "$TMP/crl2" "$URL/v1/crl"
NEXT=$(openssl crl -inform DER -in "$TMP/crl2" -noout -nextupdate | cut -d= -f2)
[ "$(date -d "$NEXT" +%s)" -gt "$(date +%s)" ] || fail "served CRL is stale: nextUpdate $NEXT"
[ "$(date +%s)" -gt "$(date -d "$FIRST_NEXT" +%s)" ] || fail "test did not outlive the first CRL"
openssl crl -inform DER -in "$TMP/crl2" -CAfile "$SITE/ca/ca.crt" -noout 2>&1 | grep -q "verify OK" ||
	fail "re-issued CRL does not verify"
grep -q "re-issued the CRL" "$SITE_LOG" || fail "no CRL re-issue logged"
ok "past the old nextUpdate ($FIRST_NEXT) the site serves a CRL valid until $NEXT"

# The agent checks the server against the CRL: revoke the MP certificate.
expect_exit 0 agent enroll --state "$TMP/c3" --token "$TOKEN" --hostname c3 --hardware-id hw-revoke-003
# What a check-in needs of the held CRL is kept beside it: its ETag is
# the site's, and a garbled record is ignored and written again. The site
# re-issues this test's CRL every 5 s, so a run is judged only when the
# site's CRL was the same before and after it (at most 3 tries).
srv_etag() {
	ccurl none -D - -o /dev/null "$URL/v1/crl/servers" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
}
meta_etag() { sed -n 's/^v1 \([0-9]* \)\{6\}\([0-9a-f]\{32\}\)$/"\2"/p' "$TMP/c3/crl.meta"; }
run_names_crl() { # what: runs the agent once; the meta must name the site's CRL
	local try before after
	for try in 1 2 3; do
		[ -n "${2-}" ] && printf '%s\n' "$2" >"$TMP/c3/crl.meta"
		before=$(srv_etag)
		expect_exit 0 agent run --state "$TMP/c3" --once
		after=$(srv_etag)
		[ "$before" = "$after" ] || continue
		[ -n "$(meta_etag)" ] && [ "$(meta_etag)" = "$after" ] && return 0
		fail "$1: crl.meta '$(cat "$TMP/c3/crl.meta" 2>&1)' does not name the site's CRL $after"
	done
	fail "$1: the site's CRL changed during each of 3 runs"
}
run_names_crl "after a first run"
run_names_crl "a garbled crl.meta was not written again" 'v1 1 2 3 4 5 6 zz'
ok "the agent keeps its CRL's ETag and nextUpdate beside it"
SRV=$(ctl --json certs list | python3 -c 'import json,sys
print([c["serial"] for c in json.load(sys.stdin)["certs"] if c["kind"]=="server"][0])')
expect_exit 0 ctl certs revoke "$SRV" --reason keyCompromise
ccurl none "$URL/v1/crl/servers" | openssl crl -inform DER -noout -text | tr A-Z a-z |
	grep -q "serial number: $SRV" || fail "the revoked server certificate is not in the server certificates' CRL"
expect_exit 1 agent run --state "$TMP/c3" --once
expect_in "certificate revoked"
ok "the agent fetches the server certificates' CRL and refuses a revoked server certificate"
