-- Bounded queries: every service role gets a statement_timeout, so no request can hold a
-- connection (and the rows it reads) for long; the stock service answers a timeout 503 with
-- Retry-After. The ledger worker applies whole batches and rebuilds projections, so it gets more.
-- Roles are cluster-wide: these settings hold in every database of the cluster (tests override
-- them per database with ALTER ROLE ... IN DATABASE, which takes precedence).
ALTER ROLE inventory_auth SET statement_timeout = '5s';
ALTER ROLE inventory_catalog SET statement_timeout = '5s';
ALTER ROLE inventory_stock SET statement_timeout = '5s';
ALTER ROLE inventory_ledger SET statement_timeout = '60s';

-- The services tell transient database errors apart by SQLSTATE, which the driver keeps only as
-- the server's message for some codes (see crates/common/src/error/sqlstate.rs): pin the service
-- roles' messages to untranslated English. Only a superuser may set lc_messages; a migrator
-- without that right leaves the server's default (English unless the cluster was set otherwise).
DO $$
DECLARE
    r text;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        FOREACH r IN ARRAY ARRAY['inventory_auth', 'inventory_catalog', 'inventory_stock', 'inventory_ledger'] LOOP
            EXECUTE format('ALTER ROLE %I SET lc_messages = %L', r, 'C');
        END LOOP;
    ELSE
        RAISE NOTICE 'not a superuser: lc_messages of the service roles left as they are';
    END IF;
END
$$;
