-- Product search (`GET /products?q=`): a `q` of three or more characters matches anywhere in the SKU
-- or name, served by the trigram indexes; a shorter one cannot be (a pattern under three characters
-- has no trigram), so it matches the start of the SKU or name, served by these b-tree indexes on
-- `lower(col) LIKE 'ab%'`. Partial, like the lists they serve (archived products are never listed).
CREATE INDEX products_sku_prefix_idx ON products (lower(sku) text_pattern_ops) WHERE archived_at IS NULL;
CREATE INDEX products_name_prefix_idx ON products (lower(name) text_pattern_ops) WHERE archived_at IS NULL;
