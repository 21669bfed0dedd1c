-- 010_pending_index: the index that finds a client's pending notifications
-- holds only pending ones. Indexing every notification ever sent made a
-- "fetch policy now" to a collection insert its rows all over an index as
-- large as the whole table (30 days of them): at 19,000 members and
-- 380,000 rows the insert and its commit took 190 ms before any device
-- was told, and that grows with the table. A delivered row now leaves the
-- index, so it stays the size of what is pending.
DROP INDEX notifications_pending;
CREATE INDEX notifications_pending ON notifications (client_id, id)
	WHERE delivered_at IS NULL;
