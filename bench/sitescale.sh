#!/bin/sh
# A whole site's database (175,000 clients, 88,000 revoked certificates:
# what a site of the reference product's size keeps at steady state):
# the site's start, its two CRLs, 1,000 enrollments and the same 1,000
# again (each revoking a certificate), and the administrator's list and
# report. Prints one JSON object. Usage: bench/sitescale.sh [CLIENTS REVOKED]
. "$(dirname "$0")/lib.sh"
CLIENTS=${1:-175000}
REVOKED=${2:-88000}
N=1000
"$B/stewardd" init --dir "$W/site" --listen 127.0.0.1:0 --approval all >/dev/null 2>&1
python3 bench/sitescale.py "$W/site/site.db" "$CLIENTS" "$REVOKED"
t0=$(date +%s.%N)
"$B/stewardd" run --dir "$W/site" >"$W/out" 2>"$W/log" &
SPID=$!
until grep -q listening "$W/out" 2>/dev/null; do sleep 0.05; done
t1=$(date +%s.%N)
URL=$(sed -n 's/^stewardd: listening on //p' "$W/out")
SPIDS=$(echo "$SPID $(ps -o pid= --ppid "$SPID")" | tr -s ' \n' ',' | sed 's/,$//')
CA=$W/site/ca/ca.crt
crl=$(curl -s --cacert "$CA" "$URL/v1/crl" | wc -c)
scrl=$(curl -s --cacert "$CA" "$URL/v1/crl/servers" | wc -c)
T=$("$B/stewardctl" --dir "$W/site" token create --uses $((2 * N)) --ttl 1d)
for run in fresh again; do
	"$B/steward-loadgen" enroll --url "$URL" --ca "$CA" --token "$T" \
		--out "$W/$run" --count $N --connections 8 --duration 600 \
		--server-pid "$SPIDS" --json >"$W/$run.json"
done
c0=$(grep -c "issued CRL number" "$W/log" || true)
timed() { # what: seconds of wall time of a command, its output dropped
	python3 -c 'import subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print("%.2f" % (time.monotonic() - t))' "$@"
}
list_s=$(timed "$B/stewardctl" --dir "$W/site" clients list)
report_s=$(timed "$B/stewardctl" --dir "$W/site" report health)
rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$SPID/status")
python3 - "$W" "$CLIENTS" "$REVOKED" "$t0" "$t1" "$crl" "$scrl" \
	"$c0" "$list_s" "$report_s" "$rss" <<'PY'
import json, sys
w, clients, revoked, t0, t1, crl, scrl, crls, list_s, report_s, rss = sys.argv[1:]
start = float(t1) - float(t0)
load = lambda n: json.load(open("%s/%s.json" % (w, n)))
print(json.dumps({"clients": int(clients), "revoked": int(revoked),
                  "start_s": float(start), "crl_bytes": int(crl),
                  "crl_servers_bytes": int(scrl), "fresh": load("fresh"),
                  "again": load("again"), "crls_issued": int(crls),
                  "list_s": float(list_s), "report_s": float(report_s),
                  "server_rss_kb": int(rss)}))
PY
