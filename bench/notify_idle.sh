#!/bin/sh
# Measures stewardd's RSS per idle notification connection with 1,000 and
# 10,000 open (numbers as arguments). Builds in release mode first.
# Usage: bench/notify_idle.sh [N...]
set -eu
cd "$(dirname "$0")/.."
make -s build >/dev/null
B=$(pwd)/build
W=$(mktemp -d /tmp/steward-bench.XXXXXX)
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$W"' EXIT
"$B/stewardd" init --dir "$W/site" --listen 127.0.0.1:0 --approval all >/dev/null 2>&1
echo "notify_hold = 10m" >>"$W/site/steward.conf"
${STEWARD_ENV:-} "$B/stewardd" run --dir "$W/site" >"$W/out" 2>"$W/log" &
SPID=$!
until grep -q listening "$W/out" 2>/dev/null; do sleep 0.1; done
URL=$(sed -n 's/^stewardd: listening on //p' "$W/out")
T=$("$B/stewardctl" --dir "$W/site" token create --uses 1)
"$B/steward-agent" enroll --state "$W/a" --token "$T" --hostname bench --hardware-id bench-hw-0001 >/dev/null
python3 bench/notify_idle.py "$URL" "$W/site/ca/ca.crt" "$W/a/cert.pem" "$W/a/key.pem" "$SPID" "${@:-1000 10000}"
