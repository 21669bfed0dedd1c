-- 001_init: site settings, admins, tokens, clients, enrollment requests,
-- certificates and the audit trail. Times are Unix seconds (UTC).

CREATE TABLE site_settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE admins (
	name TEXT PRIMARY KEY,
	role TEXT NOT NULL,
	cert_serial TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
	id TEXT PRIMARY KEY,
	secret_hash TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	uses_max INTEGER NOT NULL,
	uses INTEGER NOT NULL DEFAULT 0,
	trusted INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER
);

CREATE TABLE clients (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL
		CHECK (status IN ('pending', 'approved', 'denied', 'blocked')),
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
	cert_serial TEXT
);
CREATE INDEX clients_status ON clients (status);
CREATE INDEX clients_hardware_id ON clients (hardware_id);

CREATE TABLE enroll_requests (
	id TEXT PRIMARY KEY,
	client_id TEXT NOT NULL REFERENCES clients (id),
	poll_hash TEXT NOT NULL,
	csr TEXT NOT NULL,
	source_addr TEXT,
	created_at INTEGER NOT NULL,
	cert_pem TEXT
);
CREATE INDEX enroll_requests_client ON enroll_requests (client_id);

CREATE TABLE certs (
	serial TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('client', 'admin', 'server')),
	fingerprint TEXT NOT NULL,
	hardware_id TEXT,
	not_after INTEGER NOT NULL,
	issued_at INTEGER NOT NULL,
	revoked_at INTEGER,
	revoke_reason TEXT
);
CREATE INDEX certs_client ON certs (client_id);

CREATE TABLE audit (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT
);
