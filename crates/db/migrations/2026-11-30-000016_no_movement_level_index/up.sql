-- No query looks movements up by level alone: lists go by store or product (their own indexes), the
-- ledger by id and time. The index only served the composite key's checks on the level side, which
-- never run: levels are not deleted (the stock role may not) and their keys never change. Every
-- movement paid for an entry in it, on a random page of an index as large as the table's history.
-- pgbench of the sale statement on a million levels, 8 clients: 1,015, 948 tx/s with it → 1,104,
-- 1,056 without; random sales through the gateway (three alternating pairs): 421, 357, 404/s →
-- 450, 391, 396/s.
-- Dropping takes an exclusive lock on stock_movements: waiting for it behind a long reader (a
-- reconciliation) would hold up every sale queued behind the migration, so it gives up after 5 s
-- instead (the migration fails and changes nothing; run it again).
SET LOCAL lock_timeout = '5s';
DROP INDEX stock_movements_level_idx;
