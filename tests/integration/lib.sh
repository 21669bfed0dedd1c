# lib.sh - helpers for integration tests: real binaries, loopback, temporary
# directories, ephemeral ports. Sourced by each t_*.sh.
set -u

BIN=${STEWARD_BIN:?set STEWARD_BIN to the build directory}
SRC=${STEWARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d /tmp/steward-it.XXXXXX)
PIDS=""
FAILED=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	if [ "$FAILED" -ne 0 ]; then
		echo "--- kept $TMP for inspection"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	FAILED=1
	exit 1
}

ok() {
	echo "ok: $*"
}

# start_site NAME [init options...]: creates and starts a site; sets
# SITE (its directory), URL, SITE_PID, SITE_LOG.
init_site() {
	SITE=$TMP/$1
	shift
	"$BIN/stewardd" init --dir "$SITE" --listen 127.0.0.1:0 "$@" \
		>"$TMP/init.out" 2>&1 || fail "init: $(cat "$TMP/init.out")"
}

run_site() {
	SITE_LOG=$SITE.log
	# Emptied here, not by the background job's redirection: a second run
	# of the same site would otherwise find the first run's "listening"
	# line before the job had truncated the file, and go on too early.
	: >"$SITE.out"
	"$BIN/stewardd" run --dir "$SITE" "$@" >"$SITE.out" 2>"$SITE_LOG" &
	SITE_PID=$!
	PIDS="$PIDS $SITE_PID"
	i=0
	while ! grep -q "listening on" "$SITE.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "stewardd did not start: $(cat "$SITE_LOG")"
		kill -0 "$SITE_PID" 2>/dev/null ||
			fail "stewardd exited: $(cat "$SITE_LOG")"
		sleep 0.05
	done
	URL=$(sed -n 's/^stewardd: listening on //p' "$SITE.out")
}

start_site() {
	init_site "$@"
	run_site
}

stop_site() {
	kill "$SITE_PID"
	wait "$SITE_PID"
	rc=$?
	PIDS=$(echo "$PIDS" | sed "s/ $SITE_PID//")
	return $rc
}

ctl() {
	"$BIN/stewardctl" --dir "$SITE" "$@"
}

agent() {
	"$BIN/steward-agent" "$@"
}

# expect_exit CODE command...: runs it, output in $OUT.
expect_exit() {
	want=$1
	shift
	OUT=$("$@" 2>&1)
	got=$?
	[ "$got" -eq "$want" ] ||
		fail "'$*' exited $got, expected $want; output: $OUT"
}

expect_in() {
	case "$OUT" in
	*"$1"*) ;;
	*) fail "expected '$1' in: $OUT" ;;
	esac
}

json_get() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v=v[int(k)] if isinstance(v,list) else v.get(k)
print("" if v is None else v)' "$1"
}

client_id_of() {
	json_get client_id <"$1/state.json"
}

new_token() {
	ctl token create "$@" || fail "token create failed"
}

# curl as a given identity: ccurl CERT_PEM [curl args...]
ccurl() {
	cert=$1
	shift
	if [ "$cert" = none ]; then
		curl -sS --cacert "$SITE/ca/ca.crt" "$@"
	else
		curl -sS --cacert "$SITE/ca/ca.crt" --cert "$cert" "$@"
	fi
}

# agent_cred DIR: writes DIR/cred.pem (key + cert) for curl.
agent_cred() {
	cat "$1/key.pem" "$1/cert.pem" >"$1/cred.pem"
	chmod 600 "$1/cred.pem"
	echo "$1/cred.pem"
}
