-- 008_deployments: content addressed by SHA-256 (the bytes live in the site
-- directory's content/, named by their hash), deployments of content or of a
-- command line to a collection, what each device last reported about each
-- deployment, and maintenance windows on collections.

CREATE TABLE content (
	sha256 TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	name TEXT NOT NULL,
	added_by TEXT NOT NULL,
	added_at INTEGER NOT NULL
);

CREATE TABLE deployments (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('script', 'package', 'file',
		'command')),
	collection TEXT NOT NULL REFERENCES collections (name),
	content TEXT REFERENCES content (sha256),
	command TEXT,
	path TEXT,
	mode TEXT,
	owner TEXT,
	required INTEGER NOT NULL,
	deadline INTEGER,
	max_runtime INTEGER NOT NULL,
	run_as TEXT,
	override_windows INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX deployments_collection ON deployments (collection);
CREATE INDEX deployments_content ON deployments (content);

CREATE TABLE deployment_states (
	deployment_id INTEGER NOT NULL REFERENCES deployments (id)
		ON DELETE CASCADE,
	client_id TEXT NOT NULL,
	state TEXT NOT NULL,
	exit_code INTEGER,
	output TEXT,
	detail TEXT,
	reported_at INTEGER NOT NULL,
	PRIMARY KEY (deployment_id, client_id)
);

CREATE TABLE windows (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	collection TEXT NOT NULL REFERENCES collections (name),
	start TEXT NOT NULL,
	duration INTEGER NOT NULL,
	recur TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX windows_collection ON windows (collection);
