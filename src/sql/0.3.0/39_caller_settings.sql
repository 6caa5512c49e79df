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

-- preloaded: true; the planner folds it (IMMUTABLE) when it plans a
-- statement under a read policy, which then fails on a server that did not
-- preload deling, where current_setting would read a placeholder any
-- session can SET (src/deling.c)
CREATE FUNCTION deling.preloaded() RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_preloaded' LANGUAGE C IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.preloaded() IS
    'True: named by the integrations'' read policies, folded when a statement is planned; loading deling outside shared_preload_libraries fails';

-- every sharing service has a slot: the number of the setting its tables'
-- policies compare with (1-32, src/context.c defines that many)
ALTER TABLE deling.service ADD COLUMN rls_slot integer UNIQUE CHECK (rls_slot BETWEEN 1 AND 32);
UPDATE deling.service s SET rls_slot = n.slot
FROM (SELECT x.service_code, row_number() OVER (ORDER BY x.service_code) AS slot FROM deling.service x) n
WHERE n.service_code = s.service_code;
ALTER TABLE deling.service ALTER COLUMN rls_slot SET NOT NULL;
COMMENT ON COLUMN deling.service.rls_slot IS
    'The service''s read-only setting deling.caller_kommune_for_<rls_slot>, which its tables'' policies towards integrations compare with (assigned when the service is added, never changed, never given to another service)';

-- rls_slot_taken: a service has the slot, or a policy names its setting (a
-- deleted service's slot stays with its tables' policies)
CREATE FUNCTION deling.rls_slot_taken(slot integer) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN EXISTS (SELECT FROM deling.service s WHERE s.rls_slot = rls_slot_taken.slot)
        OR EXISTS (SELECT FROM pg_catalog.pg_policy p
                   WHERE pg_catalog.strpos(pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                                           pg_catalog.quote_literal('deling.caller_kommune_for_' || rls_slot_taken.slot)) > 0);
END
$$;

-- free_rls_slot: the lowest slot not taken; when none is left, an error
-- (54000), or NULL when not must (the column's default, computed before
-- the trigger below knows whether the service is new)
CREATE FUNCTION deling.free_rls_slot(must boolean DEFAULT true) RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    slot integer := (SELECT min(n) FROM pg_catalog.generate_series(1, 32) n WHERE NOT deling.rls_slot_taken(n));
BEGIN
    IF slot IS NULL AND must THEN
        RAISE EXCEPTION 'no free slot for a sharing service: the platform has room for 32' USING ERRCODE = '54000';
    END IF;
    RETURN slot;
END
$$;
ALTER TABLE deling.service ALTER COLUMN rls_slot SET DEFAULT deling.free_rls_slot(false);

-- service_rls_slot: a service keeps its slot when its row is inserted
-- again (a restore, or a declaration, whose insert reference_row_insert
-- turns into an update: the policies of this database name that slot); a
-- service deleted and added again takes the slot its tables' policies
-- still name; a slot given that another service has or a policy names is
-- replaced by a free one.  Named to fire before reference_row_insert.  (On
-- Citus, where deling.distribute() drops the reference tables' triggers,
-- the column's default gives a new service its slot, and a declaration's
-- upsert leaves an existing one's alone.)
CREATE FUNCTION deling.service_rls_slot() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kept integer := (SELECT s.rls_slot FROM deling.service s WHERE s.service_code = NEW.service_code);
BEGIN
    IF kept IS NULL THEN
        -- the integration policy whose writes name the service reads its slot
        kept := (SELECT (pg_catalog.substring(pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                                              'deling\.caller_kommune_for_([0-9]+)'))::integer
                 FROM pg_catalog.pg_policy p
                 WHERE pg_catalog.strpos(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
                                         'current_kommune_for(' || pg_catalog.quote_literal(NEW.service_code)) > 0
                   AND pg_catalog.strpos(pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'deling.caller_kommune_for_') > 0
                 LIMIT 1);
    END IF;
    IF kept IS NOT NULL THEN
        NEW.rls_slot := kept;
    ELSIF NEW.rls_slot IS NULL OR deling.rls_slot_taken(NEW.rls_slot) THEN
        NEW.rls_slot := deling.free_rls_slot();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER assign_rls_slot BEFORE INSERT ON deling.service
    FOR EACH ROW EXECUTE FUNCTION deling.service_rls_slot();
-- the DBA's role adds services (the slot's default and 0.2.0's restore
-- triggers call and write these; its policy on deleted_reference_row has
-- been there since 0.2.0, the grant was missing)
GRANT EXECUTE ON FUNCTION deling.free_rls_slot(boolean), deling.rls_slot_taken(integer), deling.reference_key(regclass, jsonb)
    TO deling_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON deling.deleted_reference_row TO deling_admin;

-- service_rls_slot_kept: a service's slot never changes (its tables'
-- policies name it)
CREATE FUNCTION deling.service_rls_slot_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.rls_slot IS DISTINCT FROM OLD.rls_slot THEN
        RAISE EXCEPTION 'the rls_slot of sharing service "%" cannot change', OLD.service_code
            USING ERRCODE = '55000',
                  DETAIL = format('The policies of its tables towards integrations read deling.caller_kommune_for_%s.', OLD.rls_slot);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rls_slot_kept BEFORE UPDATE OF rls_slot ON deling.service
    FOR EACH ROW EXECUTE FUNCTION deling.service_rls_slot_kept();

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
    RETURN format('kommune_nr = pg_catalog.current_setting(%L) AND deling.preloaded()', 'deling.caller_kommune_for_' || slot);
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
    USING (kommune_nr = pg_catalog.current_setting('deling.caller_kommune') AND deling.preloaded());
GRANT EXECUTE ON FUNCTION deling.preloaded() TO deling_integrasjon;
