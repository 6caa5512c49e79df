-- ---------------------------------------------------------------------------
-- 39 the integrations' read policies compare with read-only settings that
-- deling computes from the caller context (src/context.c): kommune_nr =
-- current_setting('deling.caller_kommune_for_<slot>'), the caller's kommune
-- if it has enabled the table's sharing service (each service has a slot,
-- deling.service.rls_slot), else ''; deling.citizen's with
-- deling.caller_kommune.  Nobody can SET them; their values are looked up
-- once per transaction and context.  Such a policy costs a statement no init
-- plan, no call of a pinned function and one function in all (every one
-- costs a privilege check when a statement starts): RLS measured 1.2-1.3 x
-- no RLS before, issue 20's goal is 1.1 x (docs/benchmarks.md).  The right
-- side reads no column, so it is an index condition, computed once per index
-- scan.  Writes keep their checks (an init plan, once per statement, where
-- a setting would be read once per written row).
-- ---------------------------------------------------------------------------

-- every sharing service has a slot: the number of the setting its tables'
-- policies compare with (1-32, src/context.c defines that many)
ALTER TABLE deling.service ADD COLUMN rls_slot integer UNIQUE CHECK (rls_slot BETWEEN 1 AND 32);
UPDATE deling.service s SET rls_slot = n.slot
FROM (SELECT x.service_code, row_number() OVER (ORDER BY x.service_code) AS slot FROM deling.service x) n
WHERE n.service_code = s.service_code;
ALTER TABLE deling.service ALTER COLUMN rls_slot SET NOT NULL;
COMMENT ON COLUMN deling.service.rls_slot IS
    'The service''s read-only setting deling.caller_kommune_for_<rls_slot>, which its tables'' policies towards integrations compare with (assigned when the service is added)';

-- service_rls_slot: a service keeps its slot (also when a restore or a
-- declaration inserts its row again: the policies of this database use
-- it); a new service takes the given slot if free, else the lowest free
-- one.  Named to fire before reference_row_insert, which turns the insert
-- of an existing service into an update of it.
CREATE FUNCTION deling.service_rls_slot() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kept integer := (SELECT s.rls_slot FROM deling.service s WHERE s.service_code = NEW.service_code);
BEGIN
    IF kept IS NOT NULL THEN
        NEW.rls_slot := kept;
    ELSIF NEW.rls_slot IS NULL OR EXISTS (SELECT FROM deling.service s WHERE s.rls_slot = NEW.rls_slot) THEN
        NEW.rls_slot := (SELECT min(n) FROM generate_series(1, 32) n
                         WHERE NOT EXISTS (SELECT FROM deling.service s WHERE s.rls_slot = n));
        IF NEW.rls_slot IS NULL THEN
            RAISE EXCEPTION 'no free slot for sharing service "%": the platform has room for 32', NEW.service_code
                USING ERRCODE = '54000';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER assign_rls_slot BEFORE INSERT ON deling.service
    FOR EACH ROW EXECUTE FUNCTION deling.service_rls_slot();

-- current_kommune_slots_lookup: the slots of the sharing services the
-- calling integration's kommune has enabled, as ',1,4,' (NULL for none);
-- the settings' show hooks ask for it, remembered per transaction and
-- caller context.
CREATE FUNCTION deling.current_kommune_slots_lookup() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT ',' || string_agg(s.rls_slot::text, ',' ORDER BY s.rls_slot) || ','
            FROM deling.kommune_service ks JOIN deling.service s USING (service_code)
            WHERE ks.kommune_nr = deling.current_kommune());
END
$$;

-- integration_read_qual: the USING expression of a sharing table's policy
-- towards integrations: the rows of the caller's kommune, if it has
-- enabled the service ('' otherwise: no row)
CREATE FUNCTION deling.integration_read_qual(service text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    slot integer := (SELECT s.rls_slot FROM deling.service s WHERE s.service_code = integration_read_qual.service);
BEGIN
    IF slot IS NULL THEN
        RAISE EXCEPTION 'unknown sharing service "%"', service USING ERRCODE = '22023';
    END IF;
    RETURN format('kommune_nr = pg_catalog.current_setting(%L)', 'deling.caller_kommune_for_' || slot);
END
$$;
COMMENT ON FUNCTION deling.integration_read_qual(text) IS
    'Install scripts: the USING expression of a sharing table''s policy towards integrations (the caller''s kommune''s rows, if it has enabled the service)';

-- the sharing tables so far: their integration policies read the settings
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT pol.polrelid::regclass AS tbl, pol.polname,
                    substring(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) FROM 'current_kommune_for\(''([^'']+)''') AS service
             FROM pg_catalog.pg_policy pol
             JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
             WHERE c.relnamespace = 'deling'::regnamespace AND pol.polname = c.relname || '_integrasjon'
    LOOP
        IF p.service IS NOT NULL THEN
            EXECUTE format('ALTER POLICY %I ON %s USING (%s)', p.polname, p.tbl, deling.integration_read_qual(p.service));
        END IF;
    END LOOP;
END
$$;
ALTER POLICY citizen_integrasjon ON deling.citizen
    USING (kommune_nr = pg_catalog.current_setting('deling.caller_kommune'));
