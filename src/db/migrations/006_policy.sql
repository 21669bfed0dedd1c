-- 006_policy: each client's signed policy document, cached until something
-- it depends on changes (dirty) or half its validity has passed.

CREATE TABLE policies (
	client_id TEXT PRIMARY KEY,
	serial INTEGER NOT NULL,
	etag TEXT NOT NULL,
	body TEXT NOT NULL,
	built_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	dirty INTEGER NOT NULL DEFAULT 0
);
INSERT INTO site_settings (key, value) VALUES ('policy_serial', '0')
ON CONFLICT (key) DO NOTHING;
