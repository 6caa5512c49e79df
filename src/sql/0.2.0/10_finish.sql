-- ---------------------------------------------------------------------------
-- 10 finish: what every install and update script ends with, whoever runs
-- it.  An object a script creates belongs to whoever runs the script (a
-- superuser, who bypasses forced row-level security) unless the script
-- hands it over; so every object of the extension is handed to the
-- NOLOGIN deling_owner, nothing is left to PUBLIC, and a function without
-- the search_path pin fails the script.  Each release's files grant what
-- they create to the roles that need it.
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.finish_script() RETURNS void
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
      AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'functions without search_path = pg_catalog, pg_temp: %', missing;
    END IF;
END
$$;
COMMENT ON FUNCTION deling.finish_script() IS
    'Install and update scripts: hand every object of the extension to deling_owner, revoke PUBLIC, refuse a function without the search_path pin';
