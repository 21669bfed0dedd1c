-- 009_list_order: the orders the admin lists of clients and certificates
-- are paged in (GET /v1/admin/clients and /v1/admin/certs, a page at a
-- time after the last row of the one before), so that a page of a whole
-- site's 175,000 clients is an index range, not a scan and a sort.
CREATE INDEX clients_created ON clients (created_at, id);
CREATE INDEX certs_issued ON certs (issued_at, serial);
