DROP TABLE ledger_checks;
CREATE INDEX IF NOT EXISTS ledger_entries_store_idx ON ledger_entries (store_id, occurred_at);
DROP INDEX IF EXISTS ledger_entries_level_day_idx;
