#!/usr/bin/env python3
"""keepalive.py - requests on ONE mutual-TLS keep-alive connection, driven
by lines on stdin: "GET PATH [ETAG]" prints "STATUS ETAG" per request, or
"CLOSED -" (and ends) when the server closed it; the connection is never
reopened."""
import http.client
import ssl
import sys


def main():
    url, ca, cred = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cred)
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(host, int(port), context=ctx)
    conn.connect()
    sock = conn.sock
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        headers = {}
        if len(parts) > 2:
            headers["If-None-Match"] = parts[2]
        try:
            conn.request(parts[0], parts[1], headers=headers)
            r = conn.getresponse()
            r.read()
        except (http.client.HTTPException, OSError):
            print("CLOSED -", flush=True)
            return 0
        if conn.sock is not sock:
            print("REOPENED")
            return 1
        print(r.status, r.getheader("ETag") or "-", flush=True)
    return 0


sys.exit(main())
