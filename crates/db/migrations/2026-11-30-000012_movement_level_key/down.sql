ALTER TABLE stock_movements
    ADD CONSTRAINT stock_movements_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id),
    ADD CONSTRAINT stock_movements_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id),
    ADD CONSTRAINT stock_movements_level_id_fkey FOREIGN KEY (level_id) REFERENCES stock_levels (id);
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_level_fkey;
ALTER TABLE stock_levels DROP CONSTRAINT stock_levels_id_store_product_key;
