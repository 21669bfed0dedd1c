#!/bin/sh
# Measures stewardd's RSS per idle notification connection with 1,000 and
# 10,000 open (or the numbers given). Usage: bench/notify_idle.sh [N...]
. "$(dirname "$0")/lib.sh"
bench_site 'notify_hold = 10m\n'
bench_agents 1
python3 bench/notify_idle.py "$URL" "$W/site/ca/ca.crt" "$W/a1/cert.pem" \
	"$W/a1/key.pem" "$SPID" "${@:-1000 10000}"
