DROP INDEX products_name_prefix_idx;
DROP INDEX products_sku_prefix_idx;
