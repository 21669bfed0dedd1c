"""connhold.py - opens keep-alive and long-poll mutual-TLS connections as
one client, runs a command (a block), and reports how long each connection
survived it. Usage: connhold.py URL CA CERT KEY N_IDLE N_POLL -- CMD..."""
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import time

url, ca, cert, key = sys.argv[1:5]
n_idle, n_poll = int(sys.argv[5]), int(sys.argv[6])
cmd = sys.argv[sys.argv.index("--") + 1:]
host, port = url[len("https://"):].rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)


def request(s, path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


socks = []
for i in range(n_idle + n_poll):
    raw = socket.create_connection((host, int(port)), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=host)
    if i < n_idle:
        request(s, "/v1/notify?wait=0")  # registers, then idles
        read_response(s)
    else:
        request(s, "/v1/notify?wait=300")  # held by the server
    socks.append(s)
time.sleep(0.5)  # let the held requests settle on the server

t0 = time.monotonic()
out = subprocess.run(cmd, capture_output=True, text=True)
if out.returncode != 0:
    print(json.dumps({"error": out.stderr}))
    sys.exit(1)
closed, times, blocked = 0, [], 0
pending = {s.fileno(): s for s in socks}
deadline = t0 + 5
bufs = {fd: b"" for fd in pending}
while pending and time.monotonic() < deadline:
    r, _, _ = select.select(list(pending), [], [], 0.05)
    for fd in r:
        s = pending[fd]
        try:
            chunk = s.recv(65536)
        except (ssl.SSLError, OSError):
            chunk = b""
        if chunk:
            bufs[fd] += chunk
            continue
        times.append(time.monotonic() - t0)
        closed += 1
        if b'"blocked"' in bufs[fd]:
            blocked += 1
        del pending[fd]
print(json.dumps({"open_before": len(socks), "closed": closed,
                  "max_close_secs": max(times) if times else None,
                  "notified_blocked": blocked}))
