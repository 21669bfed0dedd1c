#!/usr/bin/env python3
"""widen.py - grows a site's "All Clients" to MEMBERS members by adding
approved clients that no device stands behind, in one transaction, with
the site running (its database is in WAL mode). A "fetch policy now" to
the collection then reads and queues as many notifications as a site of
that size would, while only the devices the machine can hold connect.
Usage: widen.py DB MEMBERS"""
import os
import sqlite3
import sys
import time

db = sqlite3.connect(sys.argv[1], timeout=60)
want = int(sys.argv[2])
have = db.execute("SELECT COUNT(*) FROM collection_members WHERE "
                  "collection = 'All Clients'").fetchone()[0]
now = int(time.time())
ids = [os.urandom(16).hex() for _ in range(max(0, want - have))]
db.executemany(
    "INSERT INTO clients (id, status, hostname, hardware_id, "
    "approval_source, created_at, decided_at, decided_by) "
    "VALUES (?, 'approved', ?, ?, 'auto:all', ?, ?, 'site')",
    [(c, "wide-%06d" % i, "wide-hw-%012d" % i, now, now)
     for i, c in enumerate(ids)])
db.executemany(
    "INSERT INTO collection_members (collection, client_id) "
    "VALUES ('All Clients', ?)", [(c,) for c in ids])
db.commit()
print(have + len(ids))
