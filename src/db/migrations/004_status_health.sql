-- 004_status_health: status messages bound to their sending client, status
-- filter rules, client health reports, and the site maintenance tasks.

CREATE TABLE status_messages (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL,
	uid INTEGER NOT NULL, -- the agent's own number: a resend is ignored
	component TEXT NOT NULL,
	message_id INTEGER NOT NULL,
	severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
	at INTEGER NOT NULL,
	received_at INTEGER NOT NULL,
	strings TEXT NOT NULL
);
CREATE UNIQUE INDEX status_messages_uid ON status_messages (client_id, uid);
CREATE INDEX status_messages_received ON status_messages (received_at);

CREATE TABLE status_rules (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id INTEGER NOT NULL,
	component TEXT,
	action TEXT NOT NULL CHECK (action IN ('log', 'mark-client')),
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

ALTER TABLE clients ADD COLUMN marked TEXT;

CREATE TABLE health (
	client_id TEXT PRIMARY KEY,
	at INTEGER NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('healthy', 'remediated', 'failing')),
	checks TEXT NOT NULL
);

CREATE TABLE health_history (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL,
	uid INTEGER NOT NULL,
	at INTEGER NOT NULL,
	state TEXT NOT NULL,
	checks TEXT NOT NULL
);
CREATE UNIQUE INDEX health_history_uid ON health_history (client_id, uid);
CREATE INDEX health_history_at ON health_history (at);

CREATE TABLE tasks (
	name TEXT PRIMARY KEY,
	retention INTEGER NOT NULL,
	enabled INTEGER NOT NULL DEFAULT 1,
	last_run INTEGER,
	last_deleted INTEGER,
	next_run INTEGER
);
