-- One login role per service. Roles are cluster-wide, so creating them must tolerate another
-- database (or another migrator) having created them first.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['inventory_auth', 'inventory_catalog', 'inventory_stock', 'inventory_ledger'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

CREATE EXTENSION IF NOT EXISTS pg_trgm;
