-- The ledger worker's projections of the stock event stream. Keyed by event id, so a redelivered
-- event changes nothing; every aggregate is order-independent (sums, and "latest" by level version).
CREATE TABLE ledger_entries (
    event_id        uuid PRIMARY KEY,
    movement_id     uuid NOT NULL,
    store_id        uuid NOT NULL,
    product_id      uuid NOT NULL,
    movement_type   text NOT NULL,
    delta           bigint NOT NULL,
    quantity_after  bigint NOT NULL,
    level_version   bigint NOT NULL,
    user_id         uuid NOT NULL,
    occurred_at     timestamptz NOT NULL,
    applied_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_store_idx ON ledger_entries (store_id, occurred_at);

CREATE TABLE ledger_daily (
    store_id         uuid NOT NULL,
    product_id       uuid NOT NULL,
    day              date NOT NULL,
    qty_in           bigint NOT NULL DEFAULT 0,
    qty_out          bigint NOT NULL DEFAULT 0,
    closing          bigint NOT NULL,
    closing_version  bigint NOT NULL,
    PRIMARY KEY (store_id, day, product_id)
);

CREATE TABLE ledger_levels (
    store_id       uuid NOT NULL,
    product_id     uuid NOT NULL,
    quantity       bigint NOT NULL,
    reorder_level  bigint NOT NULL DEFAULT 0,
    version        bigint NOT NULL,
    last_event_at  timestamptz NOT NULL,
    PRIMARY KEY (store_id, product_id)
);

CREATE TABLE low_stock_alerts (
    id             uuid PRIMARY KEY,
    store_id       uuid NOT NULL,
    product_id     uuid NOT NULL,
    quantity       bigint NOT NULL,
    reorder_level  bigint NOT NULL,
    opened_at      timestamptz NOT NULL,
    closed_at      timestamptz
);
-- At most one open alert per level.
CREATE UNIQUE INDEX low_stock_alerts_open_key ON low_stock_alerts (store_id, product_id) WHERE closed_at IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON ledger_entries, ledger_daily, ledger_levels, low_stock_alerts TO inventory_ledger;
GRANT SELECT ON stock_levels, products, stores TO inventory_ledger;
-- Reports are served by the stock service from the ledger's tables.
GRANT SELECT ON ledger_entries, ledger_daily, ledger_levels, low_stock_alerts TO inventory_stock;
