DROP TABLE low_stock_alerts;
DROP TABLE ledger_levels;
DROP TABLE ledger_daily;
DROP TABLE ledger_entries;
