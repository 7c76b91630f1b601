-- The worker's periodic reconciliation compares what changed since the last check that found the
-- ledger in sync, not the whole history every minute (issue 13: one full comparison took 8.8 s of
-- PostgreSQL time at a million levels, and held a repeatable-read snapshot that long, which keeps
-- every dead level version from being pruned meanwhile).
--
-- A check of recent changes sums the ledger entries of each (store, product, day) it looks at: the
-- index below finds them. It replaces `ledger_entries_store_idx` (store, time), which no query
-- reads (reports read ledger_daily), so the ledger writes as many index entries as before.
-- Builds over every entry and blocks the ledger's writes (not the stock service's) meanwhile; on a
-- large table, build it by hand with CREATE INDEX CONCURRENTLY first (this then does nothing).
CREATE INDEX IF NOT EXISTS ledger_entries_level_day_idx
    ON ledger_entries (store_id, product_id, occurred_at);
DROP INDEX IF EXISTS ledger_entries_store_idx;

-- What the workers have checked, shared by all of them (one row).
CREATE TABLE ledger_checks (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- Every change made before this was found in sync (or repaired) by some check; the next check
    -- of recent changes starts a margin before it.
    in_sync_before    timestamptz,
    -- When a worker last took the turn to compare everything (one worker per interval).
    full_started_at   timestamptz,
    -- When a comparison of everything last found the ledger in sync, or a repair (which repairs
    -- everything) last ran; for operators.
    full_in_sync_at   timestamptz
);
INSERT INTO ledger_checks (id) VALUES (true);
GRANT SELECT, UPDATE ON ledger_checks TO inventory_ledger;
