CREATE TABLE stock_levels (
    id             uuid PRIMARY KEY,
    store_id       uuid NOT NULL REFERENCES stores (id),
    product_id     uuid NOT NULL REFERENCES products (id),
    quantity       bigint NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    reorder_level  bigint NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
    -- Increases with every change; carried by events so consumers can order them.
    version        bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store_id, product_id)
);

CREATE TABLE stock_movements (
    id              uuid PRIMARY KEY,
    store_id        uuid NOT NULL REFERENCES stores (id),
    product_id      uuid NOT NULL REFERENCES products (id),
    level_id        uuid NOT NULL REFERENCES stock_levels (id),
    movement_type   text NOT NULL CHECK (movement_type IN ('STOCK_IN', 'SALE', 'MANUAL_REMOVE', 'TRANSFER_OUT', 'TRANSFER_IN')),
    quantity        bigint NOT NULL CHECK (quantity > 0),
    delta           bigint NOT NULL CHECK (delta <> 0),
    quantity_after  bigint NOT NULL CHECK (quantity_after >= 0),
    level_version   bigint NOT NULL,
    reason          text,
    reference       text,
    transfer_id     uuid,
    user_id         uuid NOT NULL,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- Ids are UUIDv7 (time-ordered): "newest first" is id DESC, and the id is the cursor.
CREATE INDEX stock_movements_store_idx ON stock_movements (store_id, id DESC);
CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, id DESC);
CREATE INDEX stock_movements_level_idx ON stock_movements (level_id);
CREATE INDEX stock_movements_transfer_idx ON stock_movements (transfer_id) WHERE transfer_id IS NOT NULL;

-- Transactional outbox: written with the movement, published to Redis by the relay, then deleted.
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    event_type   text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
    user_id          uuid NOT NULL,
    idempotency_key  text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    request_hash     text NOT NULL,
    response_status  smallint NOT NULL,
    response_body    jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

GRANT SELECT, INSERT, UPDATE ON stock_levels TO inventory_stock;
GRANT SELECT, INSERT ON stock_movements TO inventory_stock;
GRANT SELECT, INSERT, DELETE ON outbox TO inventory_stock;
GRANT USAGE, SELECT ON SEQUENCE outbox_seq_seq TO inventory_stock;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO inventory_stock;
GRANT SELECT ON products, stores TO inventory_stock;
