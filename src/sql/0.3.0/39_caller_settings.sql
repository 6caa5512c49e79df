-- ---------------------------------------------------------------------------
-- 39 the integrations' read policies compare with two read-only settings,
-- deling.caller_kommune and deling.caller_services (src/context.c).  Their
-- values are computed from the caller context when read, once per
-- transaction, and nobody can SET them.  A policy that reads them through
-- current_setting, a built-in, costs a statement no init plan and no call
-- of a pinned function: RLS at 1.2-1.3 x no RLS before, issue 20's goal
-- is 1.1 x (docs/benchmarks.md).  The policy compares kommune_nr with the
-- kommune caller_services lists for the table's service: an expression
-- that reads no column, so an index condition, computed once per index
-- scan.  (A separate "has the service" check would be a filter on every
-- row: the planner keeps a policy's column-free condition at its table.)
-- Writes keep their checks (an init plan, once per statement, where a
-- setting would be read once per written row).
-- ---------------------------------------------------------------------------

-- current_kommune_services_lookup: the sharing services the calling
-- integration's kommune has enabled, each with the kommune, as
-- ',code=kommune,code=kommune,' (NULL for none); deling.caller_services
-- shows it, remembered per transaction and caller context.
CREATE FUNCTION deling.current_kommune_services_lookup() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT ',' || string_agg(ks.service_code || '=' || ks.kommune_nr, ',' ORDER BY ks.service_code) || ','
            FROM deling.kommune_service ks WHERE ks.kommune_nr = deling.current_kommune());
END
$$;

-- integration_read_qual: the USING expression of a sharing table's policy
-- towards integrations: the rows of the kommune deling.caller_services
-- lists for the service ('' when it is not listed: no row).  Service codes
-- are [a-z][a-z0-9-]*, so ',code=' finds that service and no other.
CREATE FUNCTION deling.integration_read_qual(service text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF service IS NULL OR service !~ '^[a-z][a-z0-9-]*$' THEN
        RAISE EXCEPTION 'invalid sharing service code "%"', service USING ERRCODE = '22023';
    END IF;
    RETURN format('kommune_nr = pg_catalog.split_part(pg_catalog.split_part('
                  'pg_catalog.current_setting(''deling.caller_services''), %L, 2), '','', 1)',
                  ',' || service || '=');
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
