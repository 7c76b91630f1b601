-- The ledger heals itself from the source of truth (issue 12): every movement has exactly one
-- entry, whichever way it arrives. A movement delivered by the stream (keyed by its event id) and
-- by the backfill from stock_movements (keyed by the movement id) is inserted once: the second
-- insert hits this index and changes nothing. REORDER_LEVEL_SET entries have no movement; their
-- movement_id is their event id, so they never collide with a movement.
CREATE UNIQUE INDEX ledger_entries_movement_key ON ledger_entries (movement_id);
-- The backfill, `reconcile` and `rebuild` read the movements.
GRANT SELECT ON stock_movements TO inventory_ledger;
