#!/bin/bash
# Constrained trust (issue 3, point 7, G20): client certificates are
# digitalSignature + clientAuth only, the MP certificate serverAuth only, the
# CA pathlen 0; a client certificate can neither serve TLS to agents nor
# sign a certificate the site accepts.
. "$(dirname "$0")/lib.sh"

start_site k --approval all
TOKEN=$(new_token --uses 5)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-constr-001
ID=$(client_id_of "$TMP/c1")
txt=$(openssl x509 -in "$TMP/c1/cert.pem" -noout -text)
echo "$txt" | grep -A1 "X509v3 Key Usage: critical" | grep -q "^ *Digital Signature$" || fail "client KU is not digitalSignature only"
echo "$txt" | grep -A1 "Extended Key Usage" | grep -q "^ *TLS Web Client Authentication$" || fail "client EKU is not clientAuth only"
echo "$txt" | grep -q "CA:FALSE" || fail "client cert is not CA:FALSE"
ok "client certificate: KU digitalSignature, EKU clientAuth, CA:FALSE"

openssl verify -purpose sslserver -CAfile "$SITE/ca/ca.crt" "$TMP/c1/cert.pem" >/dev/null 2>&1 &&
	fail "a client certificate verifies as a server certificate"
# A client certificate serving TLS: the agent refuses it.
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -quiet -accept "127.0.0.1:$PORT2" -cert "$TMP/c1/cert.pem" -key "$TMP/c1/key.pem" \
	-CAfile "$SITE/ca/ca.crt" -www >/dev/null 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do # up to 10 s for s_server to listen
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		"$PORT2" 2>/dev/null && break
	sleep 0.1
done
cp -r "$TMP/c1" "$TMP/evil"
sed -i "s#\"url\": \".*\"#\"url\": \"https://127.0.0.1:$PORT2\"#" "$TMP/evil/state.json"
expect_exit 1 agent run --state "$TMP/evil" --once
expect_in "unsuitable certificate purpose"
ok "a client certificate cannot act as a server certificate"

# A client certificate signing another certificate.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/f.key" \
	-subj "/CN=forged" -out "$TMP/f.csr" 2>/dev/null
printf 'subjectAltName=URI:urn:steward:client:%s\nextendedKeyUsage=clientAuth\n' "$ID" >"$TMP/f.ext"
openssl x509 -req -in "$TMP/f.csr" -CA "$TMP/c1/cert.pem" -CAkey "$TMP/c1/key.pem" \
	-CAcreateserial -days 5 -extfile "$TMP/f.ext" -out "$TMP/f.crt" 2>/dev/null || fail "cannot forge"
cat "$TMP/f.key" "$TMP/f.crt" "$TMP/c1/cert.pem" >"$TMP/forged.pem"
ccurl "$TMP/forged.pem" -o /dev/null -X POST -d '{}' "$URL/v1/heartbeat" 2>/dev/null &&
	fail "the site accepted a certificate signed by a client certificate"
grep -q "refused client certificate" "$SITE_LOG" || fail "no log of the refused chain"
openssl verify -CAfile "$SITE/ca/ca.crt" -untrusted "$TMP/c1/cert.pem" "$TMP/f.crt" >/dev/null 2>&1 &&
	fail "openssl accepts the forged chain"
ok "a certificate signed by a client certificate is refused"
