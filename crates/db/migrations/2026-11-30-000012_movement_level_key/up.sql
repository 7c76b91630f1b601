-- A movement's store and product are its level's: one composite foreign key to the level says so,
-- and (with the level's own keys to stores and products) that they exist. It replaces three
-- single-column keys whose checks cost every movement three lookups and a KEY SHARE lock (a WAL
-- record, and a MultiXact when sales run concurrently) on its store's and its product's rows —
-- a third of a sale's execution time. The level's row is already locked by the statement that
-- changes it, so the one remaining check is cheap.
ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_id_store_product_key UNIQUE (id, store_id, product_id);
ALTER TABLE stock_movements
    ADD CONSTRAINT stock_movements_level_fkey FOREIGN KEY (level_id, store_id, product_id)
        REFERENCES stock_levels (id, store_id, product_id) NOT VALID;
-- Validated without blocking writes (SHARE UPDATE EXCLUSIVE).
ALTER TABLE stock_movements VALIDATE CONSTRAINT stock_movements_level_fkey;
ALTER TABLE stock_movements
    DROP CONSTRAINT stock_movements_store_id_fkey,
    DROP CONSTRAINT stock_movements_product_id_fkey,
    DROP CONSTRAINT stock_movements_level_id_fkey;
