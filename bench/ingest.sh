#!/bin/sh
# Inventory ingest next to raw SQLite, status messages/s, and a quiet
# client's latency under a status flood. Builds in release mode first.
set -eu
cd "$(dirname "$0")/.."
make -s build >/dev/null
B=$(pwd)/build
W=$(mktemp -d /tmp/steward-bench.XXXXXX)
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$W"' EXIT
"$B/stewardd" init --dir "$W/site" --listen 127.0.0.1:0 --approval all >/dev/null 2>&1
# Per-client status limits stay on (the flood must meet them); the bulk
# status senders get room by being three clients with a generous burst.
printf 'status_rate = 50\nstatus_burst = 100\nstatus_site_rate = 100000\nlog_level = warning\n' >>"$W/site/steward.conf"
"$B/stewardd" run --dir "$W/site" >"$W/out" 2>"$W/log" &
SPID=$!
until grep -q listening "$W/out" 2>/dev/null; do sleep 0.1; done
URL=$(sed -n 's/^stewardd: listening on //p' "$W/out")
T=$("$B/stewardctl" --dir "$W/site" token create --uses 3)
for n in 1 2 3; do
	"$B/steward-agent" enroll --state "$W/a$n" --token "$T" --hostname "bench$n" \
		--hardware-id "bench-hw-000$n" >/dev/null
done
python3 bench/ingest.py "$URL" "$W/site/ca/ca.crt" "$W/a1" "$W/a2" "$W/a3"
