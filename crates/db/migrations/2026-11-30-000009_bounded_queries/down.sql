ALTER ROLE inventory_auth RESET statement_timeout;
ALTER ROLE inventory_catalog RESET statement_timeout;
ALTER ROLE inventory_stock RESET statement_timeout;
ALTER ROLE inventory_ledger RESET statement_timeout;
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE inventory_auth RESET lc_messages;
        ALTER ROLE inventory_catalog RESET lc_messages;
        ALTER ROLE inventory_stock RESET lc_messages;
        ALTER ROLE inventory_ledger RESET lc_messages;
    END IF;
END
$$;
