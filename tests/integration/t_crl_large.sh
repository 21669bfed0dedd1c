#!/bin/bash
# A whole site's revocations: every renewal supersedes a certificate, listed
# until it expires, so a 175,000-client site holds about 88,000. Until the
# signer's messages could carry them (64 MiB), a site past about 82,000
# issued no CRL and did not start. Here 90,000 unexpired revoked client
# certificates (and 1,000 expired long ago, which no list keeps) are put in
# the database of a site before it starts: it starts, its full CRL lists the
# 90,000, the server certificates' CRL stays empty and small, an agent
# enrolls and checks in, and a supersession reaches the large CRL.
. "$(dirname "$0")/lib.sh"

N=90000
init_site large --approval all
python3 - "$SITE/site.db" $N <<'EOF'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
now = int(time.time())
def serial():  # as the site makes them: 16 random bytes, the first 01xxxxxx
    raw = bytearray(os.urandom(16))
    raw[0] = raw[0] & 0x3f | 0x40
    return raw.hex()
rows = [(serial(), "f" * 32, "client", "x" * 64, None, now + 200 * 86400,
         now - 100 * 86400, now - 86400, "superseded") for i in range(n)]
# Expired 40 days ago: past the month the revoked set keeps them.
rows += [(serial(), "e" * 32, "client", "x" * 64, None, now - 40 * 86400,
          now - 400 * 86400, now - 300 * 86400, "superseded")
         for i in range(1000)]
db.executemany("INSERT INTO certs (serial, client_id, kind, fingerprint, "
               "hardware_id, not_after, issued_at, revoked_at, revoke_reason) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.commit()
EOF
run_site
grep -q "issued CRL number 1 with $N entries" "$SITE_LOG" || fail "no CRL of $N entries at start: $(grep CRL "$SITE_LOG")"
ccurl none -o "$TMP/crl" "$URL/v1/crl"
SIZE=$(stat -c %s "$TMP/crl")
[ "$SIZE" -gt $((4 * 1024 * 1024)) ] || fail "a CRL of $N entries in only $SIZE bytes"
LISTED=$(openssl crl -inform DER -in "$TMP/crl" -noout -text | grep -c "Serial Number:")
[ "$LISTED" = $N ] || fail "the CRL lists $LISTED certificates, not $N"
openssl crl -inform DER -in "$TMP/crl" -CAfile "$SITE/ca/ca.crt" -noout 2>&1 | grep -q "verify OK" ||
	fail "the large CRL does not verify"
ccurl none -o "$TMP/scrl" "$URL/v1/crl/servers"
[ "$(stat -c %s "$TMP/scrl")" -lt 1024 ] || fail "the server certificates' CRL is $(stat -c %s "$TMP/scrl") bytes"
ok "a site with $N revoked certificates starts; its CRL lists them ($SIZE bytes), the servers' CRL stays small"

TOKEN=$(new_token --uses 5)
expect_exit 0 agent enroll --state "$TMP/a1" --token "$TOKEN" --hostname a1 --hardware-id hw-large-001
expect_exit 0 agent run --state "$TMP/a1" --once
[ "$(stat -c %s "$TMP/a1/crl.pem")" -lt 2048 ] || fail "the agent holds a CRL of $(stat -c %s "$TMP/a1/crl.pem") bytes"
ok "an agent enrolls and checks in, holding only the servers' CRL"

# A supersession (the same hardware id enrolling again): the next full CRL
# lists it (after crl_coalesce_ms of the last one's issuing time).
expect_exit 0 agent enroll --state "$TMP/a2" --token "$TOKEN" --hostname a1 --hardware-id hw-large-001
OLD=$(openssl x509 -in "$TMP/a1/cert.pem" -noout -serial | cut -d= -f2 | tr A-Z a-z)
for _ in $(seq 1 120); do
	grep -q "issued CRL number [0-9]* with $((N + 1)) entries" "$SITE_LOG" && break
	sleep 0.5
done
grep -q "issued CRL number [0-9]* with $((N + 1)) entries" "$SITE_LOG" || fail "the superseded certificate never reached the CRL"
ccurl none "$URL/v1/crl" | openssl crl -inform DER -noout -text | tr A-Z a-z | grep -q "serial number: $OLD" ||
	fail "the superseded certificate $OLD is not in the CRL"
ok "a supersession reaches the large CRL"
