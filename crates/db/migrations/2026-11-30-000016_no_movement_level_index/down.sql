CREATE INDEX stock_movements_level_idx ON stock_movements (level_id);
