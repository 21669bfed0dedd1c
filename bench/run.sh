#!/bin/sh
# make bench: Steward and its peers on this machine, in the same run, with
# the same load generator, connection counts and durations. Prints one table
# of figures and ratios; writes bench/results/latest.json and
# bench/results/latest.md (the table for docs/performance.md).
#
# Environment: BENCH_SECS (per measurement, default 10), BENCH_CONNS (keep-
# alive connections, default 32), BENCH_IDLE (identities enrolled by the
# load generator, and idle connections for P3: default 10000; 100000 with
# BENCH_LARGE=1), BENCH_ROUNDS and BENCH_ROUND_SECS (P1 and P2 run
# Steward and nginx in turn this many times, default 7, of this many
# seconds, default 6, and keep the median), BENCH_NO_PEERS=1 to measure
# Steward alone.
# Before anything starts: the server and the load generator inherit it.
ulimit -n 1048576 2>/dev/null || ulimit -n 262144 2>/dev/null || true
. "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECS:-10}
CONNS=${BENCH_CONNS:-32}
ROUNDS=${BENCH_ROUNDS:-7}
RSECS=${BENCH_ROUND_SECS:-6}
IDLE=${BENCH_IDLE:-10000}
[ -n "${BENCH_LARGE:-}" ] && IDLE=${BENCH_IDLE:-100000}
# One process holds every idle connection: the descriptor limit bounds it.
IDLE_WANT=$IDLE
FDMAX=$(ulimit -n)
if [ "$FDMAX" != unlimited ] && [ "$IDLE" -gt $((FDMAX - 1000)) ]; then
	printf 'bench: %s idle connections need more than this machine'"'"'s limit of %s descriptors per process; measuring %s\n' \
		"$IDLE" "$FDMAX" $((FDMAX - 1000)) >&2
	IDLE=$((FDMAX - 1000))
fi
LG="$B/steward-loadgen"
R=$W/results
mkdir -p "$R" bench/results

note() { printf '%s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

note "== Steward site (approval all); $IDLE identities enrolled by the load generator"
# Rate limits off for the report scenarios: they measure capacity.
bench_site 'log_level = warning\nnotify_hold = 30m\nstatus_rate = 1000000\nstatus_burst = 1000000\nstatus_site_rate = 1000000\n'
bench_agents 2 "$W/agents"
CA="$W/site/ca/ca.crt"
# The server's processes: stewardd and its signer.
SPIDS=$(echo "$SPID $(ps -o pid= --ppid "$SPID")" | tr -s ' \n' ',' | sed 's/,$//')
TOKEN=$("$B/stewardctl" --dir "$W/site" token create --uses "$IDLE" --ttl 1d)
"$LG" enroll --url "$URL" --ca "$CA" --token "$TOKEN" --out "$W/ids" \
	--count "$IDLE" --connections 8 --duration 3600 --server-pid "$SPIDS" \
	--json >"$R/enroll.json" || note "   (enrollment failed: $(cat "$R/enroll.json"))"
# The bytes a device fetches: the peer serves exactly these.
mkdir -p "$W/www"
# nginx's workers run as nobody: they must reach the file.
chmod 711 "$W"
chmod 755 "$W/www"
curl -sS --cacert "$CA" --cert "$W/ids/e000001/cert.pem" --key "$W/ids/e000001/key.pem" \
	"$URL/v1/policy" -o "$W/www/policy"
chmod 644 "$W/www/policy"

# run NAME PEER SCENARIO URL PATH PIDS [loadgen options]: one measurement.
run() {
	name=$1 peer=$2 sc=$3 url=$4 path=$5 pids=$6
	shift 6
	note "-- $name: $peer $sc"
	"$LG" "$sc" --url "$url" --ca "$CA" --ids "$W/ids" --path "$path" \
		--duration "${DUR:-$SECS}" --server-pid "$pids" --json "$@" >"$R/$name.$peer.json" ||
		note "   (failed: $(cat "$R/$name.$peer.json"))"
}

# median NAME PEER: keeps the round with the median requests/s as
# NAME.PEER.json, with every round's figure beside it.
median() {
	python3 - "$R" "$1" "$2" <<'PY'
import glob, json, sys
r, name, peer = sys.argv[1:]
runs = []
for f in sorted(glob.glob("%s/%s.%s.r*.json" % (r, name, peer))):
    try:
        runs.append(json.load(open(f)))
    except ValueError:
        pass
if runs:
    runs.sort(key=lambda x: x.get("rps", 0))
    m = dict(runs[len(runs) // 2])
    m["rounds_rps"] = [x.get("rps", 0) for x in runs]
    json.dump(m, open("%s/%s.%s.json" % (r, name, peer), "w"))
PY
}

# P1 and P2, Steward and nginx in turn, ROUNDS times each (figures on a
# shared 2-core machine move by about 10% between runs): the median counts.
side_by_side() {
	name=$1 sc=$2 conns=$3
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		DUR=$RSECS
		run "$name" steward.r$r "$sc" "$URL" /v1/policy "$SPIDS" --connections "$conns"
		[ -n "$NGINX" ] && run "$name" nginx.r$r "$sc" "$NGINX" /policy "$NPIDS" --connections "$conns"
		DUR=""
		r=$((r + 1))
	done
	median "$name" steward
	[ -n "$NGINX" ] && median "$name" nginx
	return 0
}

NGINX=""
if [ -z "${BENCH_NO_PEERS:-}" ]; then
	note "== nginx (Debian's), same CA, server certificate and key, mutual TLS, 2 workers"
	if sh bench/peers/nginx.sh install; then
		NPORT=$(free_port)
		sh bench/peers/nginx.sh start "$W" "$NPORT" "$CA" \
			"$W/site/tls/server.crt" "$W/site/tls/server.key"
		PEER_STOP="sh bench/peers/nginx.sh stop $W"
		NMASTER=$(cat "$W/nginx/nginx.pid")
		NPIDS=$(echo "$NMASTER $(ps -o pid= --ppid "$NMASTER")" | tr -s ' \n' ',' | sed 's/,$//')
		NGINX="https://127.0.0.1:$NPORT"
		nginx -v 2>&1 | sed 's/.*nginx\///' >"$R/nginx.version"
	else
		note "   nginx could not be installed: measuring Steward alone"
	fi
fi

side_by_side p1_policy policy "$CONNS"
side_by_side p1_get get "$CONNS"
side_by_side p2_handshake handshake 8
side_by_side p2_resume resume 8

# Device reports, Steward alone (no peer has them): inventory (a full
# report, then deltas), status batches, and the mixed steady state.
note "-- reports: inventory, status, mixed (16 connections)"
for sc in inventory status mixed; do
	"$LG" "$sc" --url "$URL" --ca "$CA" --ids "$W/ids" --connections 16 \
		--duration "$SECS" --server-pid "$SPIDS" --json \
		>"$R/reports_$sc.steward.json" || note "   ($sc failed)"
done

# The agent: idle RSS of a running agent (a check-in's cost is P4's),
# before P3's "fetch policy now": a notification still to act on (at its
# moment of the spread) is work, not idleness.
note "-- agent: idle RSS"
"$B/steward-agent" run --state "$W/agents/a2" --once >/dev/null 2>&1 || true
python3 - "$B/steward-agent" "$W/agents/a2" >"$R/agent.json" <<'PY'
import json, subprocess, sys, time
agent, state = sys.argv[1], sys.argv[2]
# The check-in's cost is P4's (cost p4_agent.steward); here only the RSS
# of a running agent between check-ins.
p = subprocess.Popen([agent, "run", "--state", state, "--interval", "3600"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(3)
rss = anon = pss = 0
with open("/proc/%d/status" % p.pid) as f:
    for line in f:
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("RssAnon:"):
            anon = int(line.split()[1])
with open("/proc/%d/smaps_rollup" % p.pid) as f:
    for line in f:
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
p.terminate()
p.wait()
print(json.dumps({"idle_rss_kb": rss, "anon_kb": anon, "pss_kb": pss}))
PY

# P3: idle connections. Steward holds notification long-polls, then "fetch
# policy now" to every client answers them; nginx holds idle keep-alive
# connections after one request. RSS per connection for both.
note "-- p3_idle: steward, $IDLE held notification long-polls, then fetch policy now; each device then fetches its policy at its moment of the spread"
"$LG" idle --url "$URL" --ca "$CA" --ids "$W/ids" --connections "$IDLE" \
	--server-pid "$SPIDS" --hold 3 --follow --trigger \
	"$B/stewardctl --dir $W/site clients notify --collection 'All Clients' policy >/dev/null" \
	>"$R/p3_idle.steward.json" || note "   (failed: $(cat "$R/p3_idle.steward.json"))"
if [ -n "$NGINX" ]; then
	note "-- p3_idle: nginx, $IDLE idle keep-alive connections"
	"$LG" idle --url "$NGINX" --ca "$CA" --ids "$W/ids" --path /policy \
		--connections "$IDLE" --server-pid "$NPIDS" --hold 3 \
		>"$R/p3_idle.nginx.json" || note "   (failed: $(cat "$R/p3_idle.nginx.json"))"
	sh bench/peers/nginx.sh stop "$W"
fi
# When the machine holds fewer connections than asked: "fetch policy now"
# to a collection of the size asked, with as many held as it allows. The
# rest of the members are clients with no device behind them (widen.py):
# the request reads and queues all of them, as a site of that size would;
# report.py projects the time to answer all of them from this run, on
# stewardd's workers (one per online core, as it counts them).
if [ "$IDLE" -lt "$IDLE_WANT" ]; then
	note "-- p3_wide: 'All Clients' grown to $IDLE_WANT members, $IDLE of them holding a long-poll, then fetch policy now"
	python3 bench/widen.py "$W/site/site.db" "$IDLE_WANT" >/dev/null
	"$LG" idle --url "$URL" --ca "$CA" --ids "$W/ids" --connections "$IDLE" \
		--server-pid "$SPIDS" --hold 3 --trigger \
		"$B/stewardctl --dir $W/site clients notify --collection 'All Clients' policy >/dev/null" \
		>"$R/p3_wide.steward.json" || note "   (failed: $(cat "$R/p3_wide.steward.json"))"
	echo "{\"members\": $IDLE_WANT, \"workers\": $(getconf _NPROCESSORS_ONLN)}" >"$R/p3_wide.site.json"
fi

# P4: Puppet Server's catalog requests against Steward's policy requests
# (same load generator, keep-alive, 8 connections), and the agent cost of a
# check-in: puppet agent -t, and CFEngine's cf-agent -K update run pulling
# from cf-serverd.
cost() {
	# cost RUNS NAME 'COMMAND' [NAME 'COMMAND'...]: median wall and CPU
	# seconds of RUNS runs of each, the commands in turn (the machine's
	# speed drifts over minutes: compared commands run side by side). A
	# command may start with VAR=value words: they go into its
	# environment, so that no shell is timed with it.
	python3 - "$R" "$@" <<'PY'
import json, os, resource, shlex, subprocess, sys, time
r, n = sys.argv[1], int(sys.argv[2])
pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
runs = {name: [] for name, _ in pairs}
def argv_env(cmd):
    words, env = shlex.split(cmd), dict(os.environ)
    while words and "=" in words[0] and not words[0].startswith("/"):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    return words, env
for _ in range(n):
    for name, cmd in pairs:
        words, env = argv_env(cmd)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run(words, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        t1 = time.monotonic()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs[name].append((t1 - t0, (r1.ru_utime - r0.ru_utime) +
                           (r1.ru_stime - r0.ru_stime)))
for name, x in runs.items():
    walls = sorted(w for w, _ in x)
    cpus = sorted(c for _, c in x)
    with open("%s/%s.json" % (r, name), "w") as f:
        json.dump({"wall_s": walls[len(x) // 2], "cpu_s": cpus[len(x) // 2],
                   "runs": len(x), "cpu_s_quartiles":
                   [cpus[len(x) // 4], cpus[(3 * len(x)) // 4]]}, f)
PY
}
STEWARD_RUN="$B/steward-agent run --state $W/agents/a2 --once"
if [ -z "${BENCH_NO_PEERS:-}" ]; then
	note "== Puppet Server (Debian's puppetserver), loopback only"
	if sh bench/peers/puppet.sh install && sh bench/peers/puppet.sh start "$W"; then
		PEER_STOP="${PEER_STOP:+$PEER_STOP; }sh bench/peers/puppet.sh stop $W"
		PS=/var/lib/puppet/ssl
		note "-- p4_catalog: puppet"
		"$LG" get --url https://127.0.0.1:8140 --verify-name localhost \
			--ca "$PS/certs/ca.pem" --cert "$PS/certs/localhost.pem" \
			--key "$PS/private_keys/localhost.pem" \
			--path "/puppet/v3/catalog/localhost?environment=production" \
			--connections 8 --duration "$SECS" \
			--server-pid "$(cat "$W/puppetserver.pid")" --json \
			>"$R/p4_catalog.puppet.json" || note "   (failed: $(cat "$R/p4_catalog.puppet.json"))"
		note "-- p4_agent: puppet agent -t"
		cost 11 p4_agent.puppet "puppet agent -t --http_keepalive_timeout 0"
		puppetserver --version 2>/dev/null | tail -n 1 >"$R/puppet.version" || true
		sh bench/peers/puppet.sh stop "$W"
	else
		note "   Puppet Server could not be set up"
	fi
	note "== CFEngine (Debian's cfengine3), cf-serverd on loopback"
	if sh bench/peers/cfengine.sh install && sh bench/peers/cfengine.sh start "$W" "$(free_port)"; then
		PEER_STOP="${PEER_STOP:+$PEER_STOP; }sh bench/peers/cfengine.sh stop $W"
		note "-- p4_agent: cf-agent -K update run and steward-agent run --once, in turn"
		cost 31 p4_agent.cfengine "$(sh bench/peers/cfengine.sh argv "$W")" \
			p4_agent.steward "$STEWARD_RUN"
		cf-agent --version 2>/dev/null | head -n 1 >"$R/cfengine.version" || true
		sh bench/peers/cfengine.sh stop "$W"
	else
		note "   CFEngine could not be set up"
	fi
fi
note "-- p4_catalog: steward (8 connections, full signed document and ETag poll)"
run p4_catalog steward get "$URL" /v1/policy "$SPIDS" --connections 8
[ -f "$R/p4_agent.steward.json" ] || cost 31 p4_agent.steward "$STEWARD_RUN"

# Re-enrollment: the first 2,000 hardware ids enroll again, so each
# enrollment supersedes (revokes) a certificate, as when a lab is re-imaged.
# Last, since it revokes identities the scenarios above use. Its cost per
# enrollment against the fresh ones above shows whether revocations cost
# more as they accumulate (they did: docs/performance.md).
REENROLL=$((IDLE < 2000 ? IDLE : 2000))
note "-- reenroll: $REENROLL devices enroll again (each supersedes a certificate)"
TOKEN=$("$B/stewardctl" --dir "$W/site" token create --uses "$REENROLL" --ttl 1d)
"$LG" enroll --url "$URL" --ca "$CA" --token "$TOKEN" --out "$W/ids2" \
	--count "$REENROLL" --connections 8 --duration 3600 --server-pid "$SPIDS" \
	--json >"$R/reenroll.json" || note "   (re-enrollment failed: $(cat "$R/reenroll.json"))"

# Inventory rows ingested against a raw SQLite insert of the same rows
# (and status messages/s, a quiet client under a flood): bench/ingest.sh
# runs its own site, with the default rate limits.
note "-- ingest: inventory rows against raw SQLite"
sh bench/ingest.sh >"$R/ingest.json" 2>/dev/null || note "   (ingest failed)"

# A whole site's database (175,000 clients, 88,000 revoked certificates):
# start, CRLs, re-enrollments, the administrator's list: bench/sitescale.sh
# runs its own site.
note "-- sitescale: a whole site's database"
sh bench/sitescale.sh >"$R/sitescale.json" 2>/dev/null || note "   (sitescale failed)"

python3 bench/report.py "$R" "$SECS" "$CONNS" "$IDLE" "$ROUNDS" "$RSECS" >"$R/table.txt"
cat "$R/table.txt"
NAME=latest${BENCH_LARGE:+-large}
cp "$R/latest.json" "bench/results/$NAME.json"
cp "$R/latest.md" "bench/results/$NAME.md"
note "written: bench/results/$NAME.json, bench/results/$NAME.md"
