# lib.sh - what the benchmark scripts share: a release build and a site on
# loopback with enrolled agents. Sourced; sets B, W, SPID, URL.
set -eu
cd "$(dirname "$0")/.."
# A release build of its own (-O3, no debug assertions), beside the others.
sh scripts/deps.sh >/dev/null
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j "$(nproc)" >/dev/null
B=$(pwd)/build-release
W=$(mktemp -d /tmp/steward-bench.XXXXXX)
SPID=""
PEER_STOP=""
trap 'if [ -n "$SPID" ]; then kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; fi; if [ -n "$PEER_STOP" ]; then eval "$PEER_STOP"; fi; rm -rf "$W"' EXIT
# A signal ends the script through its EXIT trap (dash skips it otherwise).
trap 'exit 1' INT TERM HUP

# bench_site "settings lines": init, configure, start.
bench_site() {
	"$B/stewardd" init --dir "$W/site" --listen 127.0.0.1:0 --approval all >/dev/null 2>&1
	printf '%b' "$1" >>"$W/site/steward.conf"
	${STEWARD_ENV:-} "$B/stewardd" run --dir "$W/site" >"$W/out" 2>"$W/log" &
	SPID=$!
	until grep -q listening "$W/out" 2>/dev/null; do sleep 0.1; done
	URL=$(sed -n 's/^stewardd: listening on //p' "$W/out")
}

# bench_agents N [DIR]: enrolls agents DIR/a1 .. DIR/aN (DIR: $W).
bench_agents() {
	T=$("$B/stewardctl" --dir "$W/site" token create --uses "$1")
	d=${2:-$W}
	mkdir -p "$d"
	n=1
	while [ "$n" -le "$1" ]; do
		"$B/steward-agent" enroll --state "$d/a$n" --token "$T" \
			--hostname "bench$n" --hardware-id "bench-hw-000$n" >/dev/null
		n=$((n + 1))
	done
}
