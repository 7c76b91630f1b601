-- Bounded queries: every service role gets a statement_timeout, so no request can hold a
-- connection (and the rows it reads) for long; the stock service answers a timeout 503 with
-- Retry-After. The ledger worker applies whole batches and rebuilds projections, so it gets more.
-- Roles are cluster-wide: these settings hold in every database of the cluster (tests override
-- them per database with ALTER ROLE ... IN DATABASE, which takes precedence).
--
-- The services tell transient database errors apart by SQLSTATE, which the driver keeps only as
-- the server's message for some codes (see crates/common/src/error/sqlstate.rs): pin the service
-- roles' messages to untranslated English. Only a superuser may set lc_messages; a migrator
-- without that right leaves the server's default (English unless the cluster was set otherwise).
--
-- Because roles are cluster-wide, migrators of two databases in one cluster (the migration lock is
-- per database) may reach this at the same moment, and two ALTER ROLE ... SET on one role race
-- ("tuple concurrently updated"). So a setting already in place is left untouched, and a lost race
-- is retried: the winner's row is then visible.
DO $$
DECLARE
    setting record;
    attempt int;
BEGIN
    FOR setting IN
        SELECT * FROM (VALUES
            ('inventory_auth', 'statement_timeout', '5s', false),
            ('inventory_catalog', 'statement_timeout', '5s', false),
            ('inventory_stock', 'statement_timeout', '5s', false),
            ('inventory_ledger', 'statement_timeout', '60s', false),
            ('inventory_auth', 'lc_messages', 'C', true),
            ('inventory_catalog', 'lc_messages', 'C', true),
            ('inventory_stock', 'lc_messages', 'C', true),
            ('inventory_ledger', 'lc_messages', 'C', true)
        ) AS s(role, name, value, needs_superuser)
    LOOP
        IF setting.needs_superuser
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'not a superuser: % of % left as it is', setting.name, setting.role;
            CONTINUE;
        END IF;
        FOR attempt IN 1..10 LOOP
            EXIT WHEN EXISTS (
                SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                WHERE s.setdatabase = 0 AND r.rolname = setting.role
                  AND format('%s=%s', setting.name, setting.value) = ANY (s.setconfig));
            BEGIN
                EXECUTE format('ALTER ROLE %I SET %I = %L', setting.role, setting.name, setting.value);
            EXCEPTION WHEN internal_error OR unique_violation THEN
                IF attempt = 10 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.05 * attempt);
            END;
        END LOOP;
    END LOOP;
END
$$;
