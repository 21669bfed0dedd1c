-- 007_settings: custom client settings assigned to collections; a client's
-- effective settings are the defaults overlaid by the custom settings of its
-- collections, the lowest priority number first.

CREATE TABLE custom_settings (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	collection TEXT NOT NULL,
	priority INTEGER NOT NULL,
	key TEXT NOT NULL,
	value TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX custom_settings_collection ON custom_settings (collection);
