-- 002_lifecycle: blocking and unblocking, re-enrollment of a known device,
-- certificate use tracking for renewal, and queued notifications.

-- clients gains the 'unblocked' status (a device that must enroll again),
-- the client a re-enrollment replaces, and when a block happened. SQLite
-- cannot alter a CHECK constraint, so the table is rebuilt (migrations run
-- with foreign-key enforcement off and are checked before commit).
CREATE TABLE clients_v2 (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL
		CHECK (status IN ('pending', 'approved', 'denied', 'blocked',
			'unblocked')),
	status_reason TEXT,
	hostname TEXT NOT NULL,
	hardware_id TEXT NOT NULL,
	approval_source TEXT,
	token_id TEXT,
	created_at INTEGER NOT NULL,
	decided_at INTEGER,
	decided_by TEXT,
	last_seen INTEGER,
	discovery TEXT,
	cert_serial TEXT,
	replaces TEXT,
	blocked_at INTEGER
);
INSERT INTO clients_v2 (id, status, status_reason, hostname, hardware_id,
	approval_source, token_id, created_at, decided_at, decided_by,
	last_seen, discovery, cert_serial)
SELECT id, status, status_reason, hostname, hardware_id, approval_source,
	token_id, created_at, decided_at, decided_by, last_seen, discovery,
	cert_serial FROM clients;
DROP TABLE clients;
ALTER TABLE clients_v2 RENAME TO clients;
CREATE INDEX clients_status ON clients (status);
CREATE INDEX clients_hardware_id ON clients (hardware_id);

-- When a certificate was first used: a renewed certificate's predecessor
-- is revoked once the new one is in use.
ALTER TABLE certs ADD COLUMN first_used_at INTEGER;
CREATE INDEX certs_not_after ON certs (not_after);
CREATE INDEX certs_revoked ON certs (revoked_at);

-- Messages for a client's notification channel, kept until delivered.
CREATE TABLE notifications (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	delivered_at INTEGER
);
CREATE INDEX notifications_pending ON notifications (client_id, delivered_at);
