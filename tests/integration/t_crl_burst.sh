#!/bin/bash
# A burst of revocations (devices re-imaged and enrolling again with the
# same hardware ids: each new identity supersedes the old one's
# certificate) costs about one CRL a second, not one per revocation, and
# every superseded certificate is in the CRL within two seconds of the
# burst. An administrator's revocation still re-issues it at once.
. "$(dirname "$0")/lib.sh"

start_site burst --approval all
N=40
TOKEN=$(new_token --uses $((2 * N + 1)))
LG="$BIN/steward-loadgen"
crl_number() {
	n=$(ccurl none "$URL/v1/crl" | openssl crl -inform DER -noout -crlnumber | cut -d= -f2)
	echo $((16#${n#0x}))
}
serials() {
	for c in "$1"/*/cert.pem; do
		openssl x509 -in "$c" -noout -serial | cut -d= -f2 | tr A-Z a-z
	done
}

expect_exit 0 "$LG" enroll --url "$URL" --ca "$SITE/ca/ca.crt" --token "$TOKEN" \
	--out "$TMP/first" --count $N --connections 8 --threads 1 --json
C0=$(crl_number)
srv_etag() {
	ccurl none -D - -o /dev/null "$URL/v1/crl/servers" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
}
SE0=$(srv_etag)
T0=$(date +%s)
# The same hardware ids again: N revocations as fast as the site enrolls.
expect_exit 0 "$LG" enroll --url "$URL" --ca "$SITE/ca/ca.crt" --token "$TOKEN" \
	--out "$TMP/second" --count $N --connections 8 --threads 1 --json
T1=$(date +%s)
[ "$(ls "$TMP/second" | wc -l)" -eq $N ] || fail "the second burst enrolled $(ls "$TMP/second" | wc -l) of $N"

# Every superseded certificate is listed within a few seconds.
for try in $(seq 1 20); do
	ccurl none -o "$TMP/crl" "$URL/v1/crl"
	openssl crl -inform DER -in "$TMP/crl" -noout -text | tr A-Z a-z >"$TMP/crl.txt"
	missing=0
	for s in $(serials "$TMP/first"); do
		grep -q "serial number: $s" "$TMP/crl.txt" || missing=$((missing + 1))
	done
	[ $missing -eq 0 ] && break
	sleep 0.25
done
[ $missing -eq 0 ] || fail "$missing of $N superseded certificates missing from the CRL after 5 s"
for s in $(serials "$TMP/second"); do
	grep -q "serial number: $s" "$TMP/crl.txt" && fail "a live certificate $s is in the CRL"
done
C1=$(crl_number)
ISSUED=$((C1 - C0))
# About one a second over the burst, and the one that follows it.
BOUND=$((T1 - T0 + 3))
[ $ISSUED -ge 1 ] && [ $ISSUED -le $BOUND ] ||
	fail "$ISSUED CRLs for $N revocations in $((T1 - T0)) s (at most $BOUND expected)"
ok "$N re-enrollments in $((T1 - T0)) s revoked $N certificates with $ISSUED CRLs; all $N listed, no live one"

# What agents fetch, the server certificates' CRL, is the same one: every
# agent keeps the CRL it holds (a 304) and its TLS session.
[ -n "$SE0" ] || fail "no ETag for the server certificates' CRL"
[ "$(srv_etag)" = "$SE0" ] || fail "the server certificates' CRL changed with client revocations"
ccurl none "$URL/v1/crl/servers" | openssl crl -inform DER -noout -text | grep -q "No Revoked Certificates" ||
	fail "the server certificates' CRL lists certificates"
ok "the server certificates' CRL stays the same through the burst, with nothing in it"

# An administrator's revocation is in the CRL at once, burst or not.
S=$(serials "$TMP/second" | head -n 1)
expect_exit 0 ctl certs revoke "$S" --reason keyCompromise
ccurl none "$URL/v1/crl" | openssl crl -inform DER -noout -text | tr A-Z a-z | grep -q "serial number: $S" ||
	fail "an administrator's revocation was not in the next CRL"
[ "$(crl_number)" -gt "$C1" ] || fail "the CRL number did not grow"
ok "an administrator's revocation is in the CRL at once"
