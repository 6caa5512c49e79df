-- ---------------------------------------------------------------------------
-- 43 the row-level security policies' C functions run without the
-- search_path pin.  Every policy calls one of them once per statement (an
-- init plan); with the pin each call went through PostgreSQL's
-- fmgr_security_definer: search_path set and restored around the call, and
-- the restored path recomputed from its text at the caller's next
-- statement (PostgreSQL 15 keeps no cache of it), about 3 µs per statement,
-- which made RLS cost 1.3-1.5 x a lookup without it at SCALE=small
-- (docs/benchmarks.md, "Tenant isolation").  The pin protects a function
-- whose code resolves names through search_path; these resolve none: they
-- read deling's own settings and role memberships, and call their lookups
-- (pinned PL/pgSQL) by schema-qualified name (src/context.c says so above
-- each).  deling.unpinned_functions() is the reviewed list; finish_script,
-- sql/05_tenancy.sql and the security suite accept exactly these without
-- the pin, and only while each is LANGUAGE C, not SECURITY DEFINER and has
-- no other setting.  A function is added to the list only by the same
-- review.
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.unpinned_functions() RETURNS regprocedure[]
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY['deling.ctx_citizen_pid()', 'deling.current_kommune()', 'deling.current_kommune_for(text)',
                 'deling.kpr_reading()', 'deling.reach_for(text)']::pg_catalog.regprocedure[];
$$;
COMMENT ON FUNCTION deling.unpinned_functions() IS
    'The C functions of the RLS policies that run without the search_path pin (they resolve no name through it): the reviewed list the invariant checks accept';
GRANT EXECUTE ON FUNCTION deling.unpinned_functions() TO deling_admin;

ALTER FUNCTION deling.ctx_citizen_pid() RESET search_path;
ALTER FUNCTION deling.current_kommune() RESET search_path;
ALTER FUNCTION deling.current_kommune_for(text) RESET search_path;
ALTER FUNCTION deling.kpr_reading() RESET search_path;
ALTER FUNCTION deling.reach_for(text) RESET search_path;

-- finish_script: as in 0.2.0, but a function of deling.unpinned_functions()
-- may go without the pin while it is C, not SECURITY DEFINER, and has no
-- setting at all
CREATE OR REPLACE FUNCTION deling.finish_script() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    o record;
    missing text;
BEGIN
    FOR o IN
        SELECT d.classid, d.objid, pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS what,
               CASE d.classid
                   WHEN 'pg_catalog.pg_class'::regclass THEN
                       (SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                              WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END
                        FROM pg_catalog.pg_class c WHERE c.oid = d.objid)
                   WHEN 'pg_catalog.pg_proc'::regclass THEN
                       (SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END
                        FROM pg_catalog.pg_proc p WHERE p.oid = d.objid)
                   WHEN 'pg_catalog.pg_type'::regclass THEN
                       (SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END FROM pg_catalog.pg_type t WHERE t.oid = d.objid)
                   WHEN 'pg_catalog.pg_namespace'::regclass THEN 'SCHEMA'
               END AS kind,
               CASE d.classid
                   WHEN 'pg_catalog.pg_class'::regclass THEN d.objid::regclass::text
                   WHEN 'pg_catalog.pg_proc'::regclass THEN d.objid::regprocedure::text
                   WHEN 'pg_catalog.pg_type'::regclass THEN d.objid::regtype::text
                   WHEN 'pg_catalog.pg_namespace'::regclass THEN pg_catalog.quote_ident(d.objid::regnamespace::text)
               END AS name
        FROM pg_catalog.pg_depend d
        WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
          AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'deling')
          AND d.classid IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_proc'::regclass,
                            'pg_catalog.pg_type'::regclass, 'pg_catalog.pg_namespace'::regclass)
        ORDER BY d.classid, d.objid
    LOOP
        IF o.kind = 'AGGREGATE' THEN
            EXECUTE pg_catalog.format('ALTER AGGREGATE %s OWNER TO deling_owner', o.name);
        ELSE
            EXECUTE pg_catalog.format('ALTER %s %s OWNER TO deling_owner', o.kind, o.name);
        END IF;
    END LOOP;
    REVOKE ALL ON ALL TABLES IN SCHEMA deling, api, kpr FROM PUBLIC;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA deling, api, kpr FROM PUBLIC;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA deling, api, kpr FROM PUBLIC;
    SELECT pg_catalog.string_agg(p.oid::regprocedure::text, ', ') INTO missing
    FROM pg_catalog.pg_proc p
    WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
      AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
      AND NOT (p.oid = ANY (deling.unpinned_functions()::oid[]) AND p.proconfig IS NULL AND NOT p.prosecdef
               AND p.prolang = (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c'));
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'functions without search_path = pg_catalog, pg_temp: %', missing;
    END IF;
END
$$;
COMMENT ON FUNCTION deling.finish_script() IS
    'Install and update scripts: hand every object of the extension to deling_owner, revoke PUBLIC, refuse a function without the search_path pin (but for the reviewed C functions of deling.unpinned_functions())';
