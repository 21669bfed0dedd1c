-- 011_notify_spread: a notification sent to a whole collection says over
-- how many seconds its devices should act on it, each at a random moment
-- of that span, so that "fetch policy now" to 100,000 devices does not
-- bring 100,000 policy requests (and as many TLS handshakes) in the same
-- second. 0: act at once (one device, or a small collection).
ALTER TABLE notifications ADD COLUMN spread INTEGER NOT NULL DEFAULT 0;
