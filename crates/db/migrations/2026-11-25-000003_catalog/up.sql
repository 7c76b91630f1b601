CREATE TABLE products (
    id           uuid PRIMARY KEY,
    sku          text NOT NULL CHECK (char_length(sku) BETWEEN 1 AND 64),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description  text CHECK (char_length(description) <= 2000),
    price_cents  bigint NOT NULL CHECK (price_cents >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    archived_at  timestamptz
);
-- An archived product frees its SKU for a new product; history keeps pointing at the old row.
CREATE UNIQUE INDEX products_sku_active_key ON products (sku) WHERE archived_at IS NULL;
CREATE INDEX products_sku_trgm_idx ON products USING gin (lower(sku) gin_trgm_ops);
CREATE INDEX products_name_trgm_idx ON products USING gin (lower(name) gin_trgm_ops);

CREATE TABLE stores (
    id           uuid PRIMARY KEY,
    code         text CHECK (char_length(code) BETWEEN 1 AND 64),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    address      text CHECK (char_length(address) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    archived_at  timestamptz
);
CREATE UNIQUE INDEX stores_code_active_key ON stores (code) WHERE code IS NOT NULL AND archived_at IS NULL;

-- Who changed what in the catalog and in user administration; written in the same transaction as the change.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    actor_id    uuid,
    actor_role  text,
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   uuid,
    before      jsonb,
    after       jsonb,
    request_id  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

GRANT SELECT, INSERT, UPDATE ON products, stores TO inventory_catalog;
GRANT INSERT ON audit_log TO inventory_catalog, inventory_auth;
-- Auth checks that assigned stores exist.
GRANT SELECT ON stores TO inventory_auth;
