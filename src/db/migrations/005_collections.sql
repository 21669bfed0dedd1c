-- 005_collections: collections of clients (rules and current members) and
-- the tags administrators set on clients.

CREATE TABLE collections (
	name TEXT PRIMARY KEY,
	limit_name TEXT,
	site_only INTEGER NOT NULL DEFAULT 0,
	builtin INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	evaluated_at INTEGER
);
INSERT INTO collections (name, builtin, created_by, created_at)
VALUES ('All Clients', 1, 'site', 0);

CREATE TABLE collection_rules (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('query', 'include', 'exclude',
		'client')),
	value TEXT NOT NULL
);
CREATE INDEX collection_rules_collection ON collection_rules (collection);

CREATE TABLE collection_members (
	collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
	client_id TEXT NOT NULL,
	PRIMARY KEY (collection, client_id)
);
CREATE INDEX collection_members_client ON collection_members (client_id);

CREATE TABLE client_tags (
	client_id TEXT NOT NULL,
	key TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (client_id, key)
);
