#!/bin/sh
# Collection evaluation at scale: 100,000 synthetic devices (inventory with
# OS, memory and 40 packages; tags) against 500 query collections in a real
# SQLite site database; a full evaluation (first, then again unchanged) and
# one-device incremental evaluations. Prints one JSON line.
# Usage: bench/collections.sh [DEVICES [COLLECTIONS [SAMPLES]]]
. "$(dirname "$0")/lib.sh"
"$B/bench_collections" "$W/bench.db" "${1:-100000}" "${2:-500}" "${3:-1000}"
