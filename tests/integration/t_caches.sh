#!/bin/bash
# The management point's in-memory shortcuts never outlive what they stand
# for: on one keep-alive connection, a revoked certificate is refused at the
# next request, and a policy changed by an administrator is served in full
# even to a client presenting the old ETag.
. "$(dirname "$0")/lib.sh"

start_site ca --approval all
TOKEN=$(new_token --uses 2)
export STEWARD_ROOT=$SRC/tests/fixtures/root1
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname cc-01 --hardware-id hw-cc-0001
expect_exit 0 agent enroll --state "$TMP/c2" --token "$TOKEN" --hostname cc-02 --hardware-id hw-cc-0002
ID1=$(client_id_of "$TMP/c1")
ID2=$(client_id_of "$TMP/c2")
CRED1=$(agent_cred "$TMP/c1")
CRED2=$(agent_cred "$TMP/c2")
KA="python3 $SRC/tests/integration/keepalive.py $URL $SITE/ca/ca.crt"

# Policy: 200, then 304 with the ETag, then a custom setting changes the
# policy: the old ETag gets the new document (200, another ETag).
# open_conn N CRED: a keep-alive connection fed from fd N+2 into outN.
open_conn() {
	mkfifo "$TMP/in$1"
	$KA "$2" <"$TMP/in$1" >"$TMP/out$1" 2>&1 &
	PIDS="$PIDS $!"
	eval "exec $(($1 + 2))>\"$TMP/in$1\""
}
# ask N LINE COUNT: sends a request on connection N, waits for answer COUNT.
ask() {
	echo "$2" >&$(($1 + 2))
	i=0
	until [ "$(wc -l <"$TMP/out$1")" -ge "$3" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "no answer: $(cat "$TMP/out$1")"
		sleep 0.05
	done
}
say() { ask 1 "$1" "$2"; }
say2() { ask 2 "$1" "$2"; }
open_conn 1 "$CRED1"
say "GET /v1/policy" 1
E1=$(sed -n 1p "$TMP/out1" | cut -d' ' -f2)
[ "$(sed -n 1p "$TMP/out1" | cut -d' ' -f1)" = 200 ] || fail "first policy: $(cat "$TMP/out1")"
say "GET /v1/policy $E1" 2
[ "$(sed -n 2p "$TMP/out1")" = "304 $E1" ] || fail "unchanged policy: $(cat "$TMP/out1")"
say "GET /v1/policy $E1" 3
[ "$(sed -n 3p "$TMP/out1")" = "304 $E1" ] || fail "unchanged policy (cached): $(cat "$TMP/out1")"
expect_exit 0 ctl collections add all2 --include "All Clients"
expect_exit 0 ctl settings custom add --collection all2 --priority 1 --set log.level=debug
say "GET /v1/policy $E1" 4
L4=$(sed -n 4p "$TMP/out1")
[ "${L4%% *}" = 200 ] && [ "${L4#* }" != "$E1" ] || fail "changed policy answered '$L4' to the old ETag"
ok "on one keep-alive connection, a changed policy is served in full to the old ETag ($L4)"

# Trust: client 2's certificate is revoked (not blocked: its connections
# stay open); its next request on the same connection is refused.
open_conn 2 "$CRED2"
say2 "GET /v1/policy" 1
say2 "GET /v1/policy" 2
[ "$(cut -d' ' -f1 "$TMP/out2" | paste -sd,)" = "200,200" ] || fail "client 2 before: $(cat "$TMP/out2")"
expect_exit 0 ctl certs revoke --client "$ID2" --reason keyCompromise
say2 "GET /v1/policy" 3
case "$(sed -n 3p "$TMP/out2" | cut -d' ' -f1)" in
403 | CLOSED) ;;
*) fail "a revoked certificate was still served: $(cat "$TMP/out2")" ;;
esac
ok "a certificate revoked while its keep-alive connection is open is refused at the next request ($(sed -n 3p "$TMP/out2" | cut -d' ' -f1))"
say "GET /v1/policy" 5
[ "$(sed -n 5p "$TMP/out1" | cut -d' ' -f1)" = 200 ] || fail "client 1 suffered: $(cat "$TMP/out1")"
ok "other clients are unaffected"
exec 3>&- 4>&-
