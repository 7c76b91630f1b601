-- The outbox relay claims rows with SELECT ... FOR UPDATE SKIP LOCKED, which PostgreSQL allows only
-- to roles with UPDATE on the table. The relay never updates rows: it deletes them once published.
GRANT UPDATE ON outbox TO inventory_stock;
