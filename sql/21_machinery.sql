-- The sharing-service machinery itself (src/sql/0.3.0/10-13): what a
-- declaration must hold, that only a release script declares a service,
-- the generic FHIR Bundle parser, the synthetic-records hook, and the
-- invariants every declared service's generated objects keep (forced RLS,
-- kommune_nr first in every key, pinned and commented functions owned by
-- deling_owner, nothing executable by PUBLIC).  Each service's own
-- behaviour is tested by its file in tests/services/ and, for the pilots,
-- by 08-11 here.
\set VERBOSITY terse

-- 1. a declaration is refused with what is wrong in it (its synthetic
-- generator: a function of the declared signature)
CREATE FUNCTION deling_test.merknad_synthetic(kommune_nr text, pids text[], seed integer) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '[]'::jsonb $$;
CREATE TABLE deling_test.decl AS SELECT $$
{"code": "merknad", "name": "Merknader", "description": "Notes a kommune flags for the legevakt (this test's own service)",
 "table": "merknad", "record_id": "merknad_id",
 "fields": [
   {"name": "noted_on", "type": "date", "required": true},
   {"name": "note", "type": "text", "required": true, "max_length": 200},
   {"name": "category", "type": "text", "enum": ["safety", "clinical"]},
   {"name": "status", "type": "text", "enum": ["active", "inactive", "entered-in-error"],
    "ingest": "coalesce(item->>'status', 'active')"}],
 "status": {"column": "status", "withdrawn": "entered-in-error"},
 "order": [{"column": "noted_on", "desc": true}],
 "read": {"function": "merknader", "paging": true, "max_default": 2, "max_limit": 100},
 "fhir": {"template": {
   "resourceType": "Flag", "id": "{{merknad_id}}",
   "identifier": [{"system": "{{source_system|string}}", "value": "{{source_id}}"}],
   "status": "{{status}}",
   "category": [{"$if": "category", "$then": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category",
                                                          "code": "{{category}}"}]}}],
   "code": {"text": "{{note}}"},
   "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
   "period": {"start": "{{noted_on|date}}"}}},
 "fhir_in": {"resource": "Flag", "map": {
   "noted_on": {"path": "$.period.start", "date": true},
   "note": "$.code.text",
   "category": "$.category[*].coding[*] ? (@.system == \"http://terminology.hl7.org/CodeSystem/flag-category\").code",
   "status": "$.status"}},
 "summary": {"position": 90, "max": 3, "label": "Merknader", "describes": "the three newest notes"},
 "synthetic": "deling_test.merknad_synthetic",
 "kpr": false}
$$::jsonb AS d;

SELECT k AS change, deling.declaration_problem(x) AS problem
FROM deling_test.decl, LATERAL (VALUES
    ('none', d),
    ('not an object', '[]'::jsonb),
    ('code', d || '{"code": "Merknad!"}'),
    ('no name', d - 'name'),
    ('table', d || '{"table": "merknad; drop"}'),
    ('no fields', d || '{"fields": []}'),
    ('field type', jsonb_set(d, '{fields,0,type}', '"money"')),
    ('no order', d - 'order'),
    ('read function', jsonb_set(d, '{read,function}', '"Merknader"')),
    ('no fhir', d - 'fhir'),
    ('no fhir_in', d - 'fhir_in'),
    ('fhir_in resource', jsonb_set(d, '{fhir_in,resource}', '"flag"')),
    ('fhir_in parser', jsonb_set(d, '{fhir_in}', '{"parser": "deling_test.no_such_parser"}')),
    ('fhir_in parser and map', jsonb_set(jsonb_set(d, '{fhir_in,parser}', '"deling.news2_items_from_fhir"'),
                                         '{fhir_in,map,_own}', '"$.code ? ("')),
    ('fhir_in not an object', jsonb_set(d, '{fhir_in}', '"Flag"')),
    ('fhir_in path', jsonb_set(d, '{fhir_in,map,note}', '"$.code.text["')),
    ('fhir_in key', jsonb_set(d, '{fhir_in,map,note}', '{"path": "$.code.text", "first": true}')),
    ('fhir_in field', jsonb_set(d, '{fhir_in,map,author}', '"$.author.display"')),
    ('fhir_in each', jsonb_set(d, '{fhir_in,map,note}', '{"path": "$.code", "each": {}}')),
    ('fhir_in values', jsonb_set(d, '{fhir_in,map,note}', '{"path": "$.code", "values": ["a"]}')),
    ('synthetic', d || '{"synthetic": "deling_test.no_such_generator"}')) v(k, x)
ORDER BY k = 'none' DESC, k;

-- 2. only a release script declares a service: in a session, even a valid
-- declaration is refused before anything is made
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT deling.declare_service(d) FROM deling_test.decl;
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
\set VERBOSITY terse
SELECT deling.in_extension_script() AS in_script, to_regclass('deling.merknad') AS no_table,
       (SELECT count(*) FROM deling.service WHERE service_code = 'merknad') AS no_service;
SELECT deling.fill('a @x@ b @xy@', '{"x": 1, "xy": "two"}') AS filled;
SELECT deling.fill('a @y@', '{"x": 1}') AS unfilled;

-- 3. the FHIR Bundle parser's map: the first value, a filter by system,
-- a date from a dateTime, a value translated, every value, each value mapped
SELECT jsonb_pretty(deling.fhir_map($$
{"resourceType": "CarePlan", "status": "on-hold",
 "category": [{"coding": [{"system": "http://example.org/other", "code": "x"},
                          {"system": "http://snomed.info/sct", "code": "734163000"}]}],
 "period": {"start": "2026-10-30T09:00:00+01:00"},
 "note": [{"text": "one"}, {"text": "two"}],
 "activity": [{"detail": {"code": {"text": "Snu hver 2. time"}, "status": "in-progress"}},
              {"detail": {"description": "Vekt ukentlig", "status": "scheduled"}}]}
$$, $$
{"status": {"path": "$.status", "values": {"on-hold": "paused"}},
 "category": "$.category[*].coding[*] ? (@.system == \"http://snomed.info/sct\").code",
 "start": {"path": "$.period.start", "date": true},
 "notes": {"path": "$.note[*].text", "all": true},
 "activities": {"path": "$.activity[*].detail", "each": {"what": "$.code.text", "description": "$.description", "status": "$.status"}},
 "missing": "$.author.display",
 "none": {"path": "$.goal[*]", "all": true}}
$$)) AS item;
-- a value the table does not name is kept, for the item check to name it
SELECT deling.fhir_map('{"status": "revoked"}', '{"status": {"path": "$.status", "values": {"on-hold": "paused"}}}') AS kept;
SELECT m AS map, deling.fhir_map_problem(m) AS problem
FROM (VALUES ('{}'::jsonb), ('[]'), ('{"a": 1}'), ('{"a": {"all": true}}'), ('{"a": "$.x ? ("}'),
             ('{"a": {"path": "$.x", "each": {"b": 2}}}')) v(m);
SELECT deling.fhir_items('{"resourceType": "Bundle", "type": "collection", "entry": []}', 'news2');
SELECT deling.fhir_items('{"resourceType": "Bundle", "type": "collection", "entry": []}', 'no-such-service');
SELECT deling.fhir_items('{"resourceType": "Parameters"}', 'news2');

-- 4. every declared service keeps the machinery's invariants
CREATE FUNCTION deling_test.service_objects(d jsonb) RETURNS TABLE (kind text, oid oid, name text)
LANGUAGE sql AS $$
    SELECT 'table', c.oid, c.oid::regclass::text FROM pg_class c
    WHERE c.oid IN (to_regclass(format('deling.%I', d->>'table')), to_regclass(format('deling.%I', (d->>'table') || '_history')))
    UNION ALL
    SELECT 'function', p.oid, p.oid::regprocedure::text FROM pg_proc p
    WHERE (p.pronamespace = 'deling'::regnamespace
           AND p.proname IN (replace(d->>'code', '-', '_') || '_rows', coalesce(d->'ingest'->>'items_function', replace(d->>'code', '-', '_') || '_ingest_items')))
       OR (p.pronamespace = 'api'::regnamespace
           AND p.proname IN (d->'read'->>'function', coalesce(d->'ingest'->>'prefix', replace(d->>'code', '-', '_') || '_ingest'),
                             coalesce(d->'ingest'->>'prefix', replace(d->>'code', '-', '_') || '_ingest') || '_batch',
                             coalesce(d->'ingest'->>'prefix', replace(d->>'code', '-', '_') || '_ingest') || '_fhir'));
$$;
WITH s AS (SELECT service_code AS code, declaration AS d FROM deling.service WHERE declaration IS NOT NULL),
o AS (SELECT s.code, x.* FROM s, deling_test.service_objects(s.d) x)
SELECT (SELECT count(*) FROM s) >= 2 AS services_declared,
       (SELECT string_agg(code, ', ') FROM s WHERE (SELECT count(*) FROM o WHERE o.code = s.code AND kind = 'table') <> 2) AS without_two_tables,
       (SELECT string_agg(code, ', ') FROM s WHERE (SELECT count(*) FROM o WHERE o.code = s.code AND kind = 'function') < 6) AS without_every_function,
       (SELECT string_agg(name, ', ') FROM o JOIN pg_class c ON c.oid = o.oid
        WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity) OR NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)) AS without_forced_rls,
       (SELECT string_agg(DISTINCT name, ', ') FROM o JOIN pg_index i ON i.indrelid = o.oid
        WHERE (i.indisunique OR i.indisprimary) AND (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = o.oid AND a.attnum = i.indkey[0]) <> 'kommune_nr')
           AS key_not_led_by_kommune,
       (SELECT string_agg(name, ', ') FROM o JOIN pg_class c ON c.oid = o.oid WHERE has_table_privilege('public', c.oid, 'SELECT')) AS public_tables,
       (SELECT string_agg(name, ', ') FROM o JOIN pg_proc p ON p.oid = o.oid
        WHERE NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)) AS unpinned,
       (SELECT string_agg(name, ', ') FROM o JOIN pg_proc p ON p.oid = o.oid
        WHERE p.pronamespace = 'api'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL) AS api_uncommented,
       (SELECT string_agg(name, ', ') FROM o JOIN pg_proc p ON p.oid = o.oid
        WHERE has_function_privilege('public', p.oid, 'EXECUTE')) AS public_execute,
       (SELECT string_agg(name, ', ') FROM o
        WHERE (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = o.oid
               UNION ALL SELECT r.rolname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE p.oid = o.oid) <> 'deling_owner') AS not_owned,
       (SELECT string_agg(name, ', ') FROM o WHERE NOT EXISTS (SELECT FROM pg_depend e WHERE e.objid = o.oid AND e.deptype = 'e')) AS not_members,
       (SELECT string_agg(code, ', ') FROM s
        WHERE NOT has_function_privilege('deling_helsepersonell',
                  (SELECT o.oid FROM o WHERE o.code = s.code AND o.name LIKE 'api.' || (s.d->'read'->>'function') || '(%'), 'EXECUTE')) AS read_not_granted;
-- the generated rows query names kommune_nr beside the policies: a
-- statement per kommune, by kommune and citizen (on Citus, one shard)
SELECT s.service_code AS service, pg_get_functiondef(p.oid) ~ 'WHERE r\.kommune_nr = k AND r\.pid = ' AS names_kommune
FROM deling.service s JOIN pg_proc p ON p.proname = replace(s.service_code, '-', '_') || '_rows' AND p.pronamespace = 'deling'::regnamespace
WHERE s.declaration IS NOT NULL ORDER BY 1;

-- 5. synthetic records: only for services that declare a generator
SELECT deling.generate_synthetic_services(ARRAY['news2']);
SELECT deling.generate_synthetic_services(citizens => -1);
SELECT jsonb_typeof(deling.generate_synthetic_services(ARRAY[]::text[])) AS nothing_asked;

-- 6. the legevakt summary: the caller is checked once (the first service's
-- gate); each later service is checked to be available and read only where
-- the caller reaches a kommune that shares it
SELECT deling.sharing_reach('no-such-service');
SELECT count(*) FILTER (WHERE pg_get_functiondef('api.legevakt_summary(text, text, text)'::regprocedure) ~ 'sharing_gate\(') AS gates,
       (SELECT count(*) FROM deling.service s WHERE s.declaration ? 'summary') - 1
       = (SELECT count(*) FROM regexp_matches(pg_get_functiondef('api.legevakt_summary(text, text, text)'::regprocedure), 'sharing_reach\(', 'g')) AS later_services_reach;
