-- 003_inventory: the current inventory of each device, its history as
-- row-level changes, and when each client was last heard from per channel.

CREATE TABLE inventory (
	client_id TEXT NOT NULL,
	class TEXT NOT NULL,
	key TEXT NOT NULL,
	data TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (client_id, class, key)
);

CREATE TABLE inventory_history (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL,
	at INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	class TEXT NOT NULL,
	key TEXT NOT NULL,
	op TEXT NOT NULL CHECK (op IN ('add', 'change', 'remove')),
	data TEXT
);
CREATE INDEX inventory_history_client ON inventory_history (client_id, id);
CREATE INDEX inventory_history_at ON inventory_history (at);

-- The seq of the last report applied, which a delta must name as its base.
CREATE TABLE inventory_state (
	client_id TEXT PRIMARY KEY,
	seq INTEGER NOT NULL,
	full_at INTEGER,
	updated_at INTEGER NOT NULL
);

ALTER TABLE clients ADD COLUMN last_inventory_at INTEGER;
ALTER TABLE clients ADD COLUMN last_status_at INTEGER;
ALTER TABLE clients ADD COLUMN last_health_at INTEGER;
ALTER TABLE clients ADD COLUMN last_policy_at INTEGER;
