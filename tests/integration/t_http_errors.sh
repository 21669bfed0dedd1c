#!/bin/bash
# The routing table and wire errors (point 3): roles checked before bodies,
# 400/401/403/404/405/413 with JSON errors, TLS 1.3 and handshake-time
# certificate verification.
. "$(dirname "$0")/lib.sh"

start_site h --approval all
ADMIN=$SITE/admin/admin.pem
TOKEN=$(new_token --uses 5)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-c1-00001
CLIENT=$(agent_cred "$TMP/c1")

check() { # check WANT_CODE WANT_TEXT curl-args...
	want=$1
	text=$2
	shift 2
	code=$(ccurl "$@" -o "$TMP/body" -w '%{http_code}')
	[ "$code" = "$want" ] || fail "$*: got $code, want $want: $(cat "$TMP/body")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))["error"]' "$TMP/body" ||
		fail "$*: error body is not JSON with 'error': $(cat "$TMP/body")"
	grep -q "$text" "$TMP/body" || fail "$*: '$text' not in $(cat "$TMP/body")"
}

check 404 "no such endpoint" none "$URL/v1/nothing"
check 405 "not allowed" none -X DELETE "$URL/v1/crl"
check 401 "client certificate" none -X POST -d '{}' "$URL/v1/heartbeat"
check 403 "administrator credential" none "$URL/v1/admin/clients"
check 403 "administrator credential" "$CLIENT" "$URL/v1/admin/clients"
check 403 "not a client certificate" "$ADMIN" -X POST -d '{}' "$URL/v1/heartbeat"
check 400 "malformed JSON" "$CLIENT" -X POST -d '{"hostname":' "$URL/v1/heartbeat"
check 400 "unknown field" "$CLIENT" -X POST -d '{"hostname":"x","hardware_id":"hw-c1-00001","evil":1}' "$URL/v1/heartbeat"
check 400 "malformed JSON" none -X POST -d 'not json' "$URL/v1/enroll"
check 400 "missing field 'token'" none -X POST -d '{}' "$URL/v1/enroll"
check 400 "must be" "$ADMIN" -X POST -d '{"ttl":"soon"}' "$URL/v1/admin/tokens"
check 400 "JSON object" "$ADMIN" -X POST -d '[1]' "$URL/v1/admin/tokens"
head -c 20000 /dev/zero | tr '\0' ' ' >"$TMP/big"
check 413 "over the" "$CLIENT" -X POST --data-binary @"$TMP/big" "$URL/v1/heartbeat"
head -c 40000 /dev/zero | tr '\0' ' ' >"$TMP/big"
check 413 "over the" none -X POST --data-binary @"$TMP/big" "$URL/v1/enroll"
# A body over the role check: no certificate, huge body, still 401 first.
check 401 "client certificate" none -X POST --data-binary @"$TMP/big" "$URL/v1/heartbeat"
ok "404, 405, 401, 403, 400, 413 each with a JSON error that says what is wrong"

code=$(ccurl none -o "$TMP/crl" -w '%{http_code}' "$URL/v1/crl")
[ "$code" = 200 ] || fail "CRL gave $code"
openssl crl -inform DER -in "$TMP/crl" -CAfile "$SITE/ca/ca.crt" -noout 2>&1 | grep -q "verify OK" ||
	fail "CRL does not verify against the site CA"
openssl crl -inform DER -in "$TMP/crl" -noout -nextupdate | grep -q nextUpdate || fail "CRL lacks nextUpdate"
ok "GET /v1/crl serves a valid CRL signed by the site CA"

# TLS: 1.2 refused; a certificate from a foreign CA fails the handshake.
if curl -sS --cacert "$SITE/ca/ca.crt" --tls-max 1.2 "$URL/v1/crl" -o /dev/null 2>/dev/null; then
	fail "TLS 1.2 was accepted"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/f.key" \
	-out "$TMP/f.crt" -days 2 -subj "/CN=foreign" -addext "subjectAltName=URI:urn:steward:admin:admin" 2>/dev/null
cat "$TMP/f.key" "$TMP/f.crt" >"$TMP/f.pem"
if ccurl "$TMP/f.pem" "$URL/v1/admin/clients" -o /dev/null 2>/dev/null; then
	fail "a foreign certificate was accepted"
fi
ok "TLS 1.2 and certificates from other CAs are refused in the handshake"

# stewardctl turns server errors into one line and exit 1.
expect_exit 1 ctl clients show 0123456789abcdef0123456789abcdef
expect_in "no client"
[ "$(echo "$OUT" | wc -l)" -eq 1 ] || fail "ctl error is not one line: $OUT"
expect_exit 2 ctl clients show nope
expect_exit 2 ctl
expect_exit 1 "$BIN/stewardctl" --server "$URL" --cred "$TMP/missing.pem" site show
expect_exit 0 "$BIN/stewardctl" --server "$URL" --cred "$SITE/admin/admin.pem" --json site show
expect_in '"ca_fingerprint"'
cp "$SITE/admin/admin.pem" "$TMP/loose.pem"
chmod 644 "$TMP/loose.pem"
expect_exit 1 "$BIN/stewardctl" --server "$URL" --cred "$TMP/loose.pem" site show
expect_in "must be 0600"
ok "stewardctl errors are one line with a non-zero exit"

# A mistyped command or option, in any of the programs: exit 2 and one
# line naming it, before anything is opened or changed.
one_line() {
	expect_exit 2 "$@"
	[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] || fail "'$*' did not answer in one line: $OUT"
}
one_line ctl clinets list
expect_in "unknown command 'clinets'"
one_line "$BIN/stewardctl" clinets list
expect_in "unknown command 'clinets'"
one_line "$BIN/stewardctl" --dri "$SITE" clients list
expect_in "unknown option '--dri'"
one_line "$BIN/stewardctl" --dir
expect_in "--dir needs a value"
one_line ctl clients list --bogus
expect_in "clients list: unknown option '--bogus'"
one_line ctl token create --uses many
expect_in "--uses takes"
one_line ctl clients show nope
expect_in "'nope' is not a client id"
# A batch with a mistyped id is refused whole: no request for the good one.
one_line ctl clients approve 0123456789abcdef0123456789abcdef nope
expect_in "'nope' is not a client id"
one_line "$BIN/stewardd" rnu --dir "$TMP/nosite"
expect_in "unknown command 'rnu'"
one_line "$BIN/stewardd" check --dir "$SITE" --approval all
expect_in "unknown option '--approval' for check"
one_line agent rnu --state "$TMP/noagent"
expect_in "unknown command 'rnu'"
one_line agent run --state "$TMP/noagent" --onse
expect_in "unknown option '--onse' for run"
[ ! -e "$TMP/noagent" ] && [ ! -e "$TMP/nosite" ] || fail "a refused command line made a directory"
ok "a mistyped command, option or argument is refused in one line with exit 2, and nothing is made"
