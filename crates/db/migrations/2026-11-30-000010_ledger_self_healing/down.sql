REVOKE SELECT ON stock_movements FROM inventory_ledger;
DROP INDEX ledger_entries_movement_key;
