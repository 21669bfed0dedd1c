#!/bin/sh
# Policy requests/s over mutual-TLS keep-alive: N enrolled agents' identities
# polling GET /v1/policy with the ETag they were given (304s, as a fleet at
# rest), then without ETags (full signed documents). Reports requests/s,
# latency percentiles and the server's CPU per request and RSS.
# Usage: bench/policy.sh [AGENTS [CONNECTIONS [SECONDS]]]
. "$(dirname "$0")/lib.sh"
AGENTS=${1:-64}
CONNS=${2:-32}
SECS=${3:-10}
bench_site 'log_level = warning\n'
bench_agents "$AGENTS" "$W/ids"
LG="$B/steward-loadgen"
CA="$W/site/ca/ca.crt"
# Warm up: every identity's policy is built and signed once.
"$LG" policy --url "$URL" --ca "$CA" --ids "$W/ids" --connections "$AGENTS" --duration 2 >/dev/null
echo "== policy poll with ETag (304), $CONNS connections, ${SECS}s"
"$LG" policy --url "$URL" --ca "$CA" --ids "$W/ids" --connections "$CONNS" \
	--duration "$SECS" --server-pid "$SPID" ${JSON:+--json}
echo "== policy fetch without ETag (200, full signed document)"
"$LG" get --url "$URL" --ca "$CA" --ids "$W/ids" --connections "$CONNS" \
	--duration "$SECS" --server-pid "$SPID" ${JSON:+--json}
