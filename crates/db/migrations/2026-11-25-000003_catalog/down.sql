DROP TABLE audit_log;
DROP TABLE stores;
DROP TABLE products;
