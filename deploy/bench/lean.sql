-- The lean limit's schema: a SALE's three writes with nothing else around them (integer keys, no
-- foreign keys, no secondary indexes), on the bench's private PostgreSQL. :levels rows (psql variable).
\set ON_ERROR_STOP on
CREATE TABLE levels (
    id integer PRIMARY KEY,
    quantity bigint NOT NULL CHECK (quantity >= 0),
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE movements (
    id bigserial PRIMARY KEY,
    level_id integer NOT NULL,
    quantity bigint NOT NULL,
    delta bigint NOT NULL,
    quantity_after bigint NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE outbox (
    seq bigserial PRIMARY KEY,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO levels (id, quantity) SELECT n, 1000000000 FROM generate_series(1, :levels) AS n;
VACUUM ANALYZE;
