#!/bin/bash
# Approval modes (point 5): trusted tokens, enterprise-CA devices in trusted
# domains, "all" with its warnings, and set-approval at run time.
. "$(dirname "$0")/lib.sh"

# An enterprise CA and two device certificates, made with openssl.
E=$TMP/ent
mkdir -p "$E"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$E/ca.key" -out "$E/ca.crt" -days 30 -subj "/CN=Enterprise CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
	fail "cannot make the enterprise CA"
devcert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$E/$1.key" -out "$E/$1.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' "$2" >"$E/$1.ext"
	openssl x509 -req -in "$E/$1.csr" -CA "$E/ca.crt" -CAkey "$E/ca.key" \
		-CAcreateserial -days 30 -extfile "$E/$1.ext" -out "$E/$1.crt" 2>/dev/null ||
		fail "cannot make device cert $1"
}
devcert corp host1.corp.example.com
devcert other host2.example.org

start_site t --approval trusted --trusted-domain corp.example.com --enterprise-ca "$E/ca.crt"
PLAIN=$(new_token --uses 10)
TRUSTED=$(new_token --uses 10 --trusted)

expect_exit 0 agent enroll --state "$TMP/t1" --token "$TRUSTED" --hostname t1 --hardware-id hw-t1-0001
expect_exit 0 ctl clients show "$(client_id_of "$TMP/t1")"
expect_in "auto:trusted-token"
ok "trusted mode: a --trusted token is approved at once"

expect_exit 3 agent enroll --state "$TMP/t2" --token "$PLAIN" --hostname t2 --hardware-id hw-t2-0002
ok "trusted mode: a plain token stays pending"

expect_exit 0 agent enroll --state "$TMP/t3" --token "$PLAIN" --hostname host1 --hardware-id hw-t3-0003 \
	--enterprise-cert "$E/corp.crt" --enterprise-key "$E/corp.key"
expect_exit 0 ctl clients show "$(client_id_of "$TMP/t3")"
expect_in "auto:enterprise:host1.corp.example.com"
expect_exit 3 agent enroll --state "$TMP/t4" --token "$PLAIN" --hostname host2 --hardware-id hw-t4-0004 \
	--enterprise-cert "$E/other.crt" --enterprise-key "$E/other.key"
ok "trusted mode: enterprise cert in a trusted domain approved, other domain pending"

# An enterprise certificate is for enrollment only.
cat "$E/corp.key" "$E/corp.crt" >"$E/corp.pem"
code=$(ccurl "$E/corp.pem" -o "$TMP/body" -w '%{http_code}' -X POST -d '{}' "$URL/v1/heartbeat")
[ "$code" = 403 ] || fail "enterprise cert on heartbeat gave $code"
ok "enterprise certificates cannot act as client certificates"

expect_exit 0 ctl site set-approval manual
expect_exit 3 agent enroll --state "$TMP/t5" --token "$TRUSTED" --hostname t5 --hardware-id hw-t5-0005
ok "manual mode: even a trusted token is pending"

expect_exit 0 ctl site set-approval all
expect_in "WARNING"
expect_exit 0 agent enroll --state "$TMP/t6" --token "$PLAIN" --hostname t6 --hardware-id hw-t6-0006
expect_exit 0 ctl site show
expect_in "unsafe"
expect_exit 0 ctl --json site show
expect_in '"warning"'
grep -q "approval mode set to 'all'" "$SITE_LOG" || fail "no log warning for 'all'"
PORT=${URL##*:}
stop_site
run_site --listen "127.0.0.1:$PORT"
grep -q "approval mode is 'all'" "$SITE_LOG" || fail "run does not warn about 'all'"
ok "all mode approves everything and warns in site show, the log and at start"

expect_exit 0 ctl site set-approval trusted --trusted-domain example.org
expect_in "example.org"
expect_exit 0 agent enroll --state "$TMP/t7" --token "$PLAIN" --hostname host2 --hardware-id hw-t7-0007 \
	--enterprise-cert "$E/other.crt" --enterprise-key "$E/other.key"
expect_exit 1 ctl site set-approval sometimes
expect_in "mode"
expect_exit 1 ctl site set-approval trusted --trusted-domain "-bad domain"
expect_exit 0 ctl audit list
expect_in "site.set-approval"
ok "set-approval changes mode and domains at run time, validated and audited"
