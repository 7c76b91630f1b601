DROP TABLE idempotency_keys;
DROP TABLE outbox;
DROP TABLE stock_movements;
DROP TABLE stock_levels;
