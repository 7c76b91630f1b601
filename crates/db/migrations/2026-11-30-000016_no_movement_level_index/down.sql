-- Builds the index over the whole history and blocks writes to stock_movements meanwhile; on a
-- large table, build it by hand with CREATE INDEX CONCURRENTLY first (this then does nothing).
CREATE INDEX IF NOT EXISTS stock_movements_level_idx ON stock_movements (level_id);
