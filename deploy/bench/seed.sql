-- Seeds :stores stores × :products products with a stock level each (psql variables). Quantities
-- are large so that sales never run out.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO stores (id, code, name)
SELECT gen_random_uuid(), 'BENCH-' || n, 'Bench store ' || n FROM generate_series(1, :stores) AS n;
INSERT INTO products (id, sku, name, price_cents)
SELECT gen_random_uuid(), 'BENCH-SKU-' || n, 'Bench product ' || n, 100 + n FROM generate_series(1, :products) AS n;
INSERT INTO stock_levels (id, store_id, product_id, quantity, reorder_level)
SELECT gen_random_uuid(), s.id, p.id, 1000000000, 10
FROM stores s CROSS JOIN products p
WHERE s.code LIKE 'BENCH-%' AND p.sku LIKE 'BENCH-SKU-%';
COMMIT;
-- Settled before anything is measured, as a store's data would be: hint bits set and pages all-visible
-- (no first-touch writes or autovacuum of the fresh million rows during a scenario), statistics
-- current, and the seed's dirty pages written out by a checkpoint instead of during a scenario.
VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
