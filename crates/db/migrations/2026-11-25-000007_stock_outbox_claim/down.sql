REVOKE UPDATE ON outbox FROM inventory_stock;
