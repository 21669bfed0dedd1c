"""ingest.py - inventory ingest (rows/s) next to a raw SQLite insert of the
same rows, status messages/s, and a quiet client's latency while another
floods /v1/status. Usage: ingest.py URL CA STATE_DIR...(3 or more agents)"""
import http.client
import json
import os
import socket
import sqlite3
import ssl
import statistics
import sys
import tempfile
import threading
import time

url, ca, states = sys.argv[1], sys.argv[2], sys.argv[3:]
host, port = url[len("https://"):].rsplit(":", 1)
port = int(port)


def conn(state):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(os.path.join(state, "cert.pem"),
                        os.path.join(state, "key.pem"))
    c = http.client.HTTPSConnection(host, port, context=ctx, timeout=60)
    c.connect()
    # http.client writes headers and body separately: without NODELAY,
    # Nagle and delayed ACKs add 40 ms to every request.
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def post(c, path, body):
    t0 = time.perf_counter()
    c.request("POST", path, body=body,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    return r.status, time.perf_counter() - t0, data


def packages(n, gen):
    return [{"name": "pkg%05d" % i, "version": "1.%d-%d" % (gen, i),
             "arch": "amd64", "source": "dpkg"} for i in range(n)]


results = {}

# 1. Inventory: full reports of 2,000 packages, each a new version of
# every package (2,000 changed rows + 2,000 history rows per report).
ROWS, REPORTS = 2000, 10
c = conn(states[0])
elapsed = 0.0
for gen in range(1, REPORTS + 1):
    body = json.dumps({"kind": "full", "seq": gen,
                       "classes": {"packages": packages(ROWS, gen)}})
    st, dt, data = post(c, "/v1/inventory", body)
    assert st == 200, (st, data)
    if gen > 1:  # the first report only inserts
        elapsed += dt
steward_rows = ROWS * (REPORTS - 1) / elapsed
# The same rows into a bare SQLite table: one upsert plus one history row
# per package, one transaction per report, WAL and synchronous=FULL.
tmp = tempfile.mkdtemp()
db = sqlite3.connect(os.path.join(tmp, "raw.db"))
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE inv (client_id TEXT, class TEXT, key TEXT, data TEXT,"
           " updated_at INTEGER, PRIMARY KEY (client_id, class, key))")
db.execute("CREATE TABLE hist (id INTEGER PRIMARY KEY AUTOINCREMENT, "
           "client_id TEXT, at INTEGER, class TEXT, key TEXT, op TEXT, "
           "data TEXT)")
raw_elapsed = 0.0
for gen in range(1, REPORTS + 1):
    rows = [("c", "packages", p["name"] + ":amd64",
             json.dumps(p, sort_keys=True, separators=(",", ":")), gen)
            for p in packages(ROWS, gen)]
    t0 = time.perf_counter()
    with db:
        db.executemany("INSERT INTO inv VALUES (?,?,?,?,?) ON CONFLICT "
                       "(client_id, class, key) DO UPDATE SET "
                       "data=excluded.data, updated_at=excluded.updated_at",
                       rows)
        db.executemany("INSERT INTO hist (client_id, at, class, key, op, "
                       "data) VALUES (?,?,?,?,'change',?)",
                       [(r[0], r[4], r[1], r[2], r[3]) for r in rows])
    if gen > 1:
        raw_elapsed += time.perf_counter() - t0
raw_rows = ROWS * (REPORTS - 1) / raw_elapsed
results["inventory_rows_per_s"] = round(steward_rows)
results["raw_sqlite_rows_per_s"] = round(raw_rows)
results["inventory_vs_raw_sqlite"] = round(steward_rows / raw_rows, 3)

# 2. Status messages/s: batches of 100 from three clients at once.
BATCHES = 30
uid = [1000000]
lock = threading.Lock()


def sender(state, out):
    c = conn(state)
    n = 0
    for b in range(BATCHES):
        with lock:
            base = uid[0]
            uid[0] += 100
        msgs = [{"uid": base + i, "component": "bench", "message_id": 1,
                 "severity": "info", "time": int(time.time()),
                 "strings": ["message %d" % i]} for i in range(100)]
        st, _, data = post(c, "/v1/status", json.dumps({"messages": msgs}))
        assert st == 200, (st, data)
        n += 100
    out.append(n)


out = []
t0 = time.perf_counter()
ts = [threading.Thread(target=sender, args=(s, out)) for s in states[:3]]
for t in ts:
    t.start()
for t in ts:
    t.join()
results["status_messages_per_s"] = round(sum(out) /
                                         (time.perf_counter() - t0))


# 3. A quiet client's heartbeat latency, alone and while another floods.
def heartbeat_latencies(state, n):
    c = conn(state)
    body = json.dumps({"hostname": "quiet", "hardware_id": "bench-hw-0002"})
    lat = []
    for _ in range(n):
        st, dt, data = post(c, "/v1/heartbeat", body)
        assert st == 200, (st, data)
        lat.append(dt)
    return statistics.median(lat)


alone = heartbeat_latencies(states[1], 200)
stop = threading.Event()
codes = {}


def flood(state):
    c = conn(state)
    body = json.dumps({"messages": [{"uid": 1, "component": "x",
                                     "message_id": 1, "severity": "info",
                                     "time": int(time.time())}]})
    while not stop.is_set():
        st, _, _ = post(c, "/v1/status", body)
        codes[st] = codes.get(st, 0) + 1


fl = [threading.Thread(target=flood, args=(states[2],)) for _ in range(4)]
for t in fl:
    t.start()
time.sleep(0.5)
during = heartbeat_latencies(states[1], 200)
stop.set()
for t in fl:
    t.join()
results["quiet_p50_ms_alone"] = round(alone * 1000, 3)
results["quiet_p50_ms_during_flood"] = round(during * 1000, 3)
results["flood_slowdown"] = round(during / alone, 2)
results["flood_responses"] = codes
print(json.dumps(results, indent=2))
