#!/usr/bin/env python3
"""sitescale.py - seeds a site's database as a whole site's would be after
months of service: CLIENTS approved clients (each with a discovery record
like an agent's) and REVOKED revoked, unexpired client certificates (each
renewal supersedes one, listed until it expires), plus a thousand revoked
ones expired long ago. Usage: sitescale.py DB CLIENTS REVOKED"""
import json
import os
import sqlite3
import sys
import time

db = sqlite3.connect(sys.argv[1])
clients, revoked = int(sys.argv[2]), int(sys.argv[3])
now = int(time.time())


def serial():
    """As the site makes them: 16 random bytes, the first 01xxxxxx."""
    raw = bytearray(os.urandom(16))
    raw[0] = raw[0] & 0x3F | 0x40
    return raw.hex()


rows = []
for i in range(clients):
    host = "host-%06d" % i
    hw = "hw-%012d" % i
    disc = json.dumps({
        "addresses": ["10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                      "fe80::1"],
        "agent_version": "0.1", "hardware_id": hw, "hostname": host,
        "kernel": "Linux 6.1.0-18-amd64",
        "os": "Debian GNU/Linux 12 (bookworm)"})
    rows.append((os.urandom(16).hex(), "approved", host, hw, "auto:all",
                 "t" * 32, now - clients + i, now - clients + i, "site", now,
                 disc, serial()))
db.executemany(
    "INSERT INTO clients (id, status, hostname, hardware_id, approval_source, "
    "token_id, created_at, decided_at, decided_by, last_seen, discovery, "
    "cert_serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
certs = [(serial(), "f" * 32, "client", "x" * 64, None, now + 200 * 86400,
          now - 100 * 86400, now - 86400, "superseded")
         for _ in range(revoked)]
certs += [(serial(), "e" * 32, "client", "x" * 64, None, now - 40 * 86400,
           now - 400 * 86400, now - 300 * 86400, "superseded")
          for _ in range(1000)]
db.executemany(
    "INSERT INTO certs (serial, client_id, kind, fingerprint, hardware_id, "
    "not_after, issued_at, revoked_at, revoke_reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", certs)
db.commit()
