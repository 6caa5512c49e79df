-- The extension's objects as one canonical listing, for comparing an
-- upgraded database with a fresh install object for object: every member
-- of the extension (functions with their bodies, settings, security,
-- volatility, owner and privileges; tables with columns, defaults,
-- constraints, indexes, triggers, policies and RLS flags; views; types and
-- domains; sequences; comments), the schemas' privileges and the tables
-- pg_dump keeps.  Run with psql -At; diff the outputs.
WITH members AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
    WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'deling')),
fns AS (
    SELECT 'function ' || p.oid::regprocedure::text
           || ' returns ' || pg_catalog.format_type(p.prorettype, NULL) || (CASE WHEN p.proretset THEN ' set' ELSE '' END)
           || ' lang ' || l.lanname || ' kind ' || p.prokind::text || ' vol ' || p.provolatile::text || ' strict ' || p.proisstrict
           || ' secdef ' || p.prosecdef || ' leakproof ' || p.proleakproof || ' parallel ' || p.proparallel::text
           || ' config ' || coalesce(p.proconfig::text, '-') || ' owner ' || pg_catalog.pg_get_userbyid(p.proowner)
           || ' acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.proacl) a), '-')
           || ' args ' || coalesce(pg_catalog.pg_get_function_arguments(p.oid), '')
           || ' body ' || md5(coalesce(p.prosrc, '') || '|' || coalesce(p.probin, '')) AS line
    FROM members m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = m.objid
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang),
rels AS (
    SELECT 'relation ' || c.oid::regclass::text || ' kind ' || c.relkind::text || ' owner ' || pg_catalog.pg_get_userbyid(c.relowner)
           || ' rls ' || c.relrowsecurity || ' force ' || c.relforcerowsecurity
           || ' acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) a), '-')
           || ' options ' || coalesce(c.reloptions::text, '-')
           || CASE WHEN c.relkind = 'v' THEN ' view ' || md5(pg_catalog.pg_get_viewdef(c.oid)) ELSE '' END AS line
    FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::regclass AND c.oid = m.objid),
cols AS (
    SELECT 'column ' || a.attrelid::regclass::text || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || ' notnull ' || a.attnotnull || ' generated ' || a.attgenerated::text || ' identity ' || a.attidentity::text
           || ' default ' || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '-')
           || ' acl ' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x), '-') AS line
    FROM members m JOIN pg_catalog.pg_attribute a ON m.classid = 'pg_catalog.pg_class'::regclass AND a.attrelid = m.objid
    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped),
cons AS (
    SELECT 'constraint ' || co.conrelid::regclass::text || ' ' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid) AS line
    FROM members m JOIN pg_catalog.pg_constraint co ON m.classid = 'pg_catalog.pg_class'::regclass AND co.conrelid = m.objid),
idx AS (
    SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid) AS line
    FROM members m JOIN pg_catalog.pg_index i ON m.classid = 'pg_catalog.pg_class'::regclass AND i.indrelid = m.objid),
trg AS (
    SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text AS line
    FROM members m JOIN pg_catalog.pg_trigger t ON m.classid = 'pg_catalog.pg_class'::regclass AND t.tgrelid = m.objid
    WHERE NOT t.tgisinternal),
pol AS (
    SELECT 'policy ' || p.schemaname || '.' || p.tablename || ' ' || p.policyname || ' ' || p.permissive || ' ' || p.roles::text
           || ' ' || p.cmd || ' using ' || coalesce(p.qual, '-') || ' check ' || coalesce(p.with_check, '-') AS line
    FROM pg_catalog.pg_policies p
    WHERE (p.schemaname || '.' || p.tablename)::regclass IN (SELECT m.objid::regclass FROM members m WHERE m.classid = 'pg_catalog.pg_class'::regclass)),
typs AS (
    SELECT 'type ' || t.oid::regtype::text || ' ' || t.typtype::text || ' base ' || coalesce(nullif(t.typbasetype, 0)::regtype::text, '-')
           || ' owner ' || pg_catalog.pg_get_userbyid(t.typowner)
           || ' checks ' || coalesce((SELECT string_agg(pg_catalog.pg_get_constraintdef(co.oid), ' ' ORDER BY co.conname)
                                      FROM pg_catalog.pg_constraint co WHERE co.contypid = t.oid), '-') AS line
    FROM members m JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::regclass AND t.oid = m.objid),
comments AS (
    SELECT 'comment ' || m.classid::regclass::text || ' '
           || pg_catalog.pg_describe_object(m.classid, m.objid, 0) || ' ' || md5(d.description) AS line
    FROM members m JOIN pg_catalog.pg_description d ON d.classoid = m.classid AND d.objoid = m.objid AND d.objsubid = 0
    UNION ALL
    SELECT 'comment column ' || d.objoid::regclass::text || '.' || a.attname || ' ' || md5(d.description)
    FROM members m JOIN pg_catalog.pg_description d ON m.classid = 'pg_catalog.pg_class'::regclass AND d.classoid = m.classid
         AND d.objoid = m.objid AND d.objsubid > 0
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid),
other AS (
    SELECT 'member ' || pg_catalog.pg_describe_object(m.classid, m.objid, 0) AS line FROM members m
    WHERE m.classid NOT IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_class'::regclass, 'pg_catalog.pg_type'::regclass)),
schemas AS (
    SELECT 'schema ' || n.nspname || ' owner ' || pg_catalog.pg_get_userbyid(n.nspowner)
           || ' acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(n.nspacl) a), '-') AS line
    FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('deling', 'api', 'kpr')),
config AS (
    SELECT 'dumped ' || c::regclass::text || ' ' || coalesce(e.extcondition[i], '') AS line
    FROM pg_catalog.pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS x(c, i)
    WHERE e.extname = 'deling')
SELECT line FROM (SELECT line FROM fns UNION ALL SELECT line FROM rels UNION ALL SELECT line FROM cols
                  UNION ALL SELECT line FROM cons UNION ALL SELECT line FROM idx UNION ALL SELECT line FROM trg
                  UNION ALL SELECT line FROM pol UNION ALL SELECT line FROM typs UNION ALL SELECT line FROM comments
                  UNION ALL SELECT line FROM other UNION ALL SELECT line FROM schemas UNION ALL SELECT line FROM config) all_lines
ORDER BY line COLLATE "C";
