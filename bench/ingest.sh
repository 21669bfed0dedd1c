#!/bin/sh
# Inventory ingest next to raw SQLite, status messages/s, and a quiet
# client's latency under a status flood. Usage: bench/ingest.sh
. "$(dirname "$0")/lib.sh"
# Per-client limits stay on (the flood must meet them); three bulk senders
# with a generous burst measure throughput.
bench_site 'status_rate = 50\nstatus_burst = 100\nstatus_site_rate = 100000\nlog_level = warning\n'
bench_agents 3
python3 bench/ingest.py "$URL" "$W/site/ca/ca.crt" "$W/a1" "$W/a2" "$W/a3"
