#!/bin/bash
# Site PKI (point 1): CA profile, key file modes from creation, server SANs,
# admin credential, refusal of loose key permissions, refusal to overwrite.
. "$(dirname "$0")/lib.sh"

umask 000 # keys must still be created 0600
init_site pki --site-name "pki test" --approval manual
umask 022
for k in ca/ca.key ca/sign.key tls/server.key admin/admin.pem; do
	m=$(stat -c %a "$SITE/$k")
	[ "$m" = 600 ] || fail "$k has mode $m, not 600"
done
ok "private keys are 0600 even under umask 000"

ca=$(openssl x509 -in "$SITE/ca/ca.crt" -noout -text)
echo "$ca" | grep -q "CA:TRUE, pathlen:0" || fail "CA lacks pathlen 0"
echo "$ca" | grep -A1 "X509v3 Key Usage: critical" | grep -q "^ *Certificate Sign, CRL Sign$" ||
	fail "CA key usage is not keyCertSign+cRLSign only"
echo "$ca" | grep -q "ASN1 OID: prime256v1" || fail "CA is not P-256"
openssl pkey -in "$SITE/ca/sign.key" -noout -text 2>/dev/null | grep -q ED25519 ||
	fail "signing key is not Ed25519"
ok "CA is P-256, CA:TRUE pathlen 0, keyCertSign+cRLSign; signing key Ed25519"

srv=$(openssl x509 -in "$SITE/tls/server.crt" -noout -text)
echo "$srv" | grep -q "DNS:localhost" || fail "server cert lacks localhost"
echo "$srv" | grep -q "IP Address:127.0.0.1" || fail "server cert lacks 127.0.0.1"
echo "$srv" | grep -A1 "Extended Key Usage" | grep -q "TLS Web Server Authentication$" ||
	fail "server cert EKU is not serverAuth only"
openssl verify -CAfile "$SITE/ca/ca.crt" "$SITE/tls/server.crt" >/dev/null ||
	fail "server cert does not verify"
adm=$(openssl x509 -in "$SITE/admin/admin.pem" -noout -text)
echo "$adm" | grep -q "URI:urn:steward:admin:admin" || fail "admin cert lacks admin URI"
echo "$adm" | grep -A1 "Extended Key Usage" | grep -q "TLS Web Client Authentication$" ||
	fail "admin cert EKU is not clientAuth"
ok "server certificate SANs and EKU; admin credential"

expect_exit 0 "$BIN/stewardd" check --dir "$SITE"
expect_in "configuration OK"
chmod 640 "$SITE/ca/ca.key"
expect_exit 1 "$BIN/stewardd" check --dir "$SITE"
expect_in "ca.key is accessible by group or others"
expect_exit 1 "$BIN/stewardd" run --dir "$SITE"
expect_in "ca.key is accessible by group or others"
chmod 600 "$SITE/ca/ca.key"
chmod 604 "$SITE/tls/server.key"
expect_exit 1 "$BIN/stewardd" check --dir "$SITE"
expect_in "server.key"
chmod 600 "$SITE/tls/server.key"
ok "check and run refuse group/world-readable keys"

echo "bogus = 1" >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" check --dir "$SITE"
expect_in "unknown setting 'bogus'"
sed -i '/bogus/d' "$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" check --dir "$TMP/nowhere"
expect_in "stewardd init"
ok "check reports configuration errors with the line"

before=$(sha256sum "$SITE/ca/ca.key")
expect_exit 1 "$BIN/stewardd" init --dir "$SITE"
expect_in "refusing to overwrite"
[ "$before" = "$(sha256sum "$SITE/ca/ca.key")" ] || fail "init touched the CA key"
expect_exit 1 "$BIN/stewardd" init --dir "$TMP/x" --approval sometimes
expect_in "--approval must be"
expect_exit 1 "$BIN/stewardd" init --dir "$TMP/y" --trusted-domain "bad domain"
expect_in "not a DNS suffix"
expect_exit 2 "$BIN/stewardd" init
ok "init refuses to overwrite a site and rejects bad options"
