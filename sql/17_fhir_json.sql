-- FHIR output as json written once (issue 19): the FHIR constants, the JSON
-- writer (its text is exactly jsonb::text of the same value), and the json
-- renderers, which must give, byte for byte, what the jsonb builders they
-- replaced printed, on every row the suite has stored by now: those
-- builders, re-stated in SQL (sql/include/fhir_sql_builders.psql, schema
-- fhir_sql: every constant spelled out, dates and ids computed in SQL), are
-- the oracle.  A Bundle built from the renderers goes to $DELING_FHIR_OUT
-- for the FHIR R4 schema.
\set VERBOSITY terse
\i sql/include/fhir_dir.psql
\set ECHO none
\i sql/include/fhir_sql_builders.psql
\set ECHO all

-- the constants: defined once in C, read by name; the table is in name
-- order (looked up by bisection) and every name finds its value
SELECT count(*) AS constants, bool_and(deling.fhir_constant(name) = value) AS every_name_found,
       array_agg(name ORDER BY o) = array_agg(name ORDER BY name COLLATE "C") AS in_name_order,
       count(DISTINCT split_part(name, '.', 1)) AS kinds
FROM deling.fhir_constants() WITH ORDINALITY c(name, value, o);
SELECT name, value FROM deling.fhir_constants() WHERE name LIKE 'system.%' ORDER BY name;
SELECT deling_test.try($$SELECT deling.fhir_constant('system.nope')$$) AS unknown_constant;
SELECT deling.fhir_constant(NULL) IS NULL AS null_for_null;
-- SQL reads the constants by name: a citizen's identifier (every stored
-- citizen's and an H-nummer's) as the oracle spells it, and the name-based ids (C) as
-- the oracle computes them in SQL, also of names that are not ASCII
SELECT count(*) AS citizens, count(DISTINCT deling.fnr_kind(c.pid)) AS kinds,
       count(*) FILTER (WHERE deling.fhir_pid_identifier(c.pid) = fhir_sql.pid_identifier(c.pid)) AS same_identifier,
       deling.fhir_pid_identifier(NULL) IS NULL AS null_for_null
FROM (SELECT pid FROM deling.citizen
      UNION ALL SELECT min(h) FROM (SELECT deling_test.with_checks('015240' || n) AS h FROM generate_series(100, 200) n) x
                WHERE h IS NOT NULL AND deling.fnr_kind(h) = 'hnr') c;
SELECT count(*) AS names, count(*) FILTER (WHERE deling.fhir_name_uuid(n) = fhir_sql.name_uuid(n)) AS same_id
FROM (SELECT 'deling-unit:' || kommune_nr || ':' || coalesce(unit_orgnr, '') || ':' || coalesce(unit_name, '') AS n FROM deling.municipal_service
      UNION ALL SELECT m.measurement_id || ':' || v FROM deling.news2_measurement m, unnest(ARRAY['bp', 'resp']) v
      UNION ALL VALUES (''), ('æøå €'), (repeat('x', 1000))) x;

-- the writer: any JSON as jsonb prints it, keys in jsonb's order (shorter
-- first, then bytewise), a repeated key keeping its last value, escapes as
-- escape_json, numbers as numeric_out
SELECT j AS input, deling.json_canonical(j::json) AS written, deling.json_canonical(j::json)::text = j::jsonb::text AS same_as_jsonb
FROM unnest(ARRAY[
    '{"b":1,"a":2,"aa":3,"B":4,"é":5,"z":6,"a":7,"":8}',
    '{"resourceType":"Observation","id":"x","code":{"text":"t"},"status":"final"}',
    '{"a":{"y":1,"x":{"d":1,"c":2,"d":3}},"a":[3,{"k":1,"j":2}]}',
    '[1, 2.50, -0, -0.0, 1e2, 1E+2, 1.5e-3, -2.5E1, 0.1e1, 100000000000000000000000000000000000.000]',
    '["\u00e9\/", "\b\f\n\r\t", "\u0001\u001f\u007f", "q\"q", "\\", "\ud83d\ude00", "a\u2028b", ""]',
    '{}', '[]', '[{}, [], [[]], {"a": {}}]', '"text"', '-12.5000', 'true', 'false', 'null',
    '  { "spaced" :  [ 1 , 2 ] ,"x":null }  ']) j;
-- the same on 1,500 random documents (every escape, number form, repeated
-- and reordered key, nesting, spacing)
CREATE FUNCTION pg_temp.rnd_key() RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['a', 'b', 'aa', 'ab', 'B', 'id', 'é', 'æøå', '', 'a"b', E'a\\b', E'tab\there', E'nl\n', 'x y',
                  'resourceType', 'zz', 'Z', '€', E'\u0001c', '/'])[1 + floor(random() * 20)::int] $$;
CREATE FUNCTION pg_temp.rnd_scalar() RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['0', '-0', '1', '-1', '1.50', '0.0', '-0.0', '1e2', '1E+2', '1.5e-3', '-2.5E1',
                  '12345678901234567890.123456789', '0.000001', '1e-10', '-0.001', '7.0',
                  '"plain"', '"\u00e9"', '"\/"', '"\b\f\n\r\t"', '"\u0001\u001f"', '"q\"q"', '"\\\\"', '"æøå €"',
                  '"\ud83d\ude00"', '""', '"\u007f"', '"a\u2028b"', 'true', 'false', 'null'])[1 + floor(random() * 31)::int] $$;
CREATE FUNCTION pg_temp.rnd_json(depth int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float := random();
    s text;
    sep text := (ARRAY[',', ' , ', E',\n  '])[1 + floor(random() * 3)::int];
BEGIN
    IF depth <= 0 OR r < 0.3 THEN
        RETURN pg_temp.rnd_scalar();
    ELSIF r < 0.65 THEN
        SELECT '{' || coalesce(string_agg(to_json(pg_temp.rnd_key())::text || (ARRAY[':', ' : '])[1 + floor(random() * 2)::int]
                                          || pg_temp.rnd_json(depth - 1), sep), '') || '}'
        INTO s FROM generate_series(1, floor(random() * 6)::int);
    ELSE
        SELECT '[' || coalesce(string_agg(pg_temp.rnd_json(depth - 1), sep), '') || ']' INTO s FROM generate_series(1, floor(random() * 6)::int);
    END IF;
    RETURN s;
END
$$;
SELECT setseed(0.19);
SELECT count(*) AS documents, count(*) FILTER (WHERE deling.json_canonical(j)::text = j::jsonb::text) AS same_as_jsonb,
       count(*) FILTER (WHERE j::text ~ '"([^"\\]|\\.)*"\s*:.*"\1"\s*:') > 0 AS some_with_repeated_keys
FROM (SELECT pg_temp.rnd_json(5)::json AS j FROM generate_series(1, 1500)) x;
-- what jsonb refuses the writer refuses too
SELECT deling_test.try($$SELECT deling.json_canonical('"\u0000"')$$) AS nul_escape, deling_test.try($$SELECT '"\u0000"'::json::jsonb$$) AS jsonb_too;

-- NEWS2: every stored measurement, with and without its vital signs, one
-- at a time and all in one call, against the oracle
SELECT count(*) AS measurements,
       count(*) FILTER (WHERE deling.news2_entries_json(ARRAY[m])::text = fhir_sql.news2_entries(m)::text) AS same_with_vital_signs,
       count(*) FILTER (WHERE deling.news2_entries_json(ARRAY[m], vital_signs => false)::text = fhir_sql.news2_entries(m, false)::text) AS same_totals,
       count(*) FILTER (WHERE deling.news2_entries_json(ARRAY[m])::jsonb = fhir_sql.news2_entries(m)) AS same_as_jsonb,
       count(DISTINCT m.pid) AS citizens, count(*) FILTER (WHERE m.oxygen_flow IS NOT NULL) AS with_flow,
       count(*) FILTER (WHERE m.recorded_by IS NULL) AS without_performer, count(DISTINCT m.status) AS statuses
FROM deling.news2_measurement m;
SELECT deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m ORDER BY m.measured_at DESC, m.measurement_id))::text
       = (SELECT jsonb_agg(e ORDER BY m.measured_at DESC, m.measurement_id, o)::text
          FROM deling.news2_measurement m, jsonb_array_elements(fhir_sql.news2_entries(m)) WITH ORDINALITY x(e, o)) AS all_in_one_call,
       deling.news2_entries_json('{}')::text AS no_rows;
-- the legevakt summary's NEWS2: each citizen's latest with its vital signs,
-- the ones before it as totals, in one call
SELECT count(*) AS citizens,
       count(*) FILTER (WHERE deling.news2_summary_entries_json(a)::text
                              = (SELECT jsonb_agg(e ORDER BY i, o)::text FROM generate_subscripts(a, 1) i,
                                        jsonb_array_elements(fhir_sql.news2_entries(a[i], i = 1)) WITH ORDINALITY x(e, o))) AS same,
       count(*) FILTER (WHERE cardinality(a) > 1) AS with_a_trend, deling.news2_summary_entries_json('{}')::text AS no_rows
FROM (SELECT array_agg(m ORDER BY m.measured_at DESC, m.measurement_id) AS a FROM deling.news2_measurement m GROUP BY m.pid) x;
-- an H-nummer, a source system that is a URI, a Scale 2 and a flow on oxygen
BEGIN;
SELECT min(h) AS hnr FROM (SELECT deling_test.with_checks('015240' || n) AS h FROM generate_series(100, 200) n) x
WHERE h IS NOT NULL AND deling.fnr_kind(h) = 'hnr' \gset
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', :'hnr');
SELECT count(*) AS variants, count(*) FILTER (WHERE deling.news2_entries_json(ARRAY[v])::text = fhir_sql.news2_entries(v)::text) AS same
FROM deling.news2_measurement m,
     LATERAL (VALUES (jsonb_populate_record(m, jsonb_build_object('pid', :'hnr'))),
                     (jsonb_populate_record(m, '{"source_system": "urn:oid:2.16.578.1.12.4.1.2.110"}')),
                     (jsonb_populate_record(m, '{"spo2_scale": 2, "on_oxygen": true, "oxygen_flow": 2.50}')),
                     (jsonb_populate_record(m, '{"unit_orgnr": null, "unit_name": "Enhet \"Sentrum\" \\ Øst", "received_at": "infinity"}'))) x(v)
WHERE m.kommune_nr = '3201';
ROLLBACK;

-- municipal services: every service alone, each citizen's in the order a
-- read gives them, and all at once, and on other days (planned, on hold,
-- finished), against the oracle
SELECT count(*) AS services,
       count(*) FILTER (WHERE deling.municipal_services_entries_json(ARRAY[s])::text = fhir_sql.services_entries(ARRAY[s])::text) AS same,
       count(*) FILTER (WHERE deling.municipal_services_entries_json(ARRAY[s])::jsonb = fhir_sql.services_entries(ARRAY[s])) AS same_as_jsonb,
       count(*) FILTER (WHERE s.stops <> '{}') AS with_stops, count(*) FILTER (WHERE s.stay_type IS NOT NULL) AS with_stay_type,
       count(*) FILTER (WHERE s.unit_name IS NULL) AS without_unit_name
FROM deling.municipal_service s;
SELECT count(*) AS citizens, count(*) FILTER (WHERE deling.municipal_services_entries_json(a)::text = fhir_sql.services_entries(a)::text) AS same
FROM (SELECT array_agg(s ORDER BY s.period_start DESC, s.service_code, s.service_id) AS a FROM deling.municipal_service s GROUP BY s.pid) x;
SELECT deling.municipal_services_entries_json(a)::text = fhir_sql.services_entries(a)::text AS all_at_once, deling.municipal_services_entries_json('{}')::text AS none
FROM (SELECT array_agg(s ORDER BY s.kommune_nr, s.service_id) AS a FROM deling.municipal_service s) x;
SELECT count(*) AS services_and_days, count(DISTINCT deling.municipal_service_fhir_status(s, d)) AS statuses,
       count(*) FILTER (WHERE deling.municipal_services_entries_json(ARRAY[s], d)::text = fhir_sql.services_entries(ARRAY[s], d)::text) AS same
FROM deling.municipal_service s,
     unnest(ARRAY[date '2019-06-01', '2026-03-03', '2026-10-03', '2026-11-20', current_date, current_date + 60, '2031-01-01']) d;
-- a unit's Organization, every unit
SELECT count(*) AS units,
       count(*) FILTER (WHERE deling.fhir_unit_json(kommune_nr, unit_orgnr, unit_name, unit_phone)::text
                              = fhir_sql.unit(kommune_nr, unit_orgnr, unit_name, unit_phone)::text) AS same,
       deling.fhir_unit_json('9999', NULL, 'x', NULL) IS NULL AS none_outside_the_platform
FROM (SELECT DISTINCT kommune_nr, unit_orgnr, unit_name, unit_phone FROM deling.municipal_service
      UNION SELECT kommune_nr, orgnr, NULL, NULL FROM deling.kommune) u;

-- the Patient: every citizen, from every kommune and from their own
SELECT count(*) AS citizens,
       count(*) FILTER (WHERE deling.fhir_patient_json(c.pid, k.all)::text = fhir_sql.patient(c.pid, k.all)::text) AS same,
       count(*) FILTER (WHERE deling.fhir_patient_json(c.pid, ARRAY[c.kommune_nr::text])::text
                              = fhir_sql.patient(c.pid, ARRAY[c.kommune_nr::text])::text) AS same_own_kommune,
       count(*) FILTER (WHERE c.given_name IS NOT NULL) AS named, count(*) FILTER (WHERE c.birth_date IS NULL) AS birth_date_from_number
FROM deling.citizen c, (SELECT array_agg(kommune_nr::text) AS all FROM deling.kommune) k;
SELECT deling_test.try(format('SELECT deling.fhir_patient_json(%L, ARRAY[%L])', deling.synthetic_fnr('1901-01-01', 3), '1804')) AS not_a_citizen;

-- the Bundle: searchset and collection, no outcome, withheld or opened,
-- no links, none, one or two, with and without a total, parts with NULLs,
-- and no entries at all; against the oracle's Bundle of the parts
-- concatenated (the Bundle's own id is random in both, so it is set aside)
CREATE FUNCTION pg_temp.unid(t text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN t LIKE '{"id": "%' THEN overlay(t placing '<id>' from 9 for 36) END $$;
WITH e AS (SELECT (SELECT jsonb_agg(x ORDER BY m.measurement_id, o) FROM deling.news2_measurement m,
                   jsonb_array_elements(fhir_sql.news2_entries(m)) WITH ORDINALITY AS y(x, o)) AS a,
                  fhir_sql.services_entries(ARRAY(SELECT s FROM deling.municipal_service s ORDER BY s.service_id)) AS b,
                  jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', fhir_sql.patient(
                      (SELECT min(pid) FROM deling.citizen WHERE kommune_nr = '1804'), ARRAY['1804']))) AS c),
     cases AS (SELECT t, o, l, CASE WHEN o IS NULL AND l IS NULL THEN NULL ELSE 7 END AS n FROM unnest(ARRAY['searchset', 'collection']) t,
                             unnest(ARRAY[NULL, deling.sharing_outcome(true, false), deling.sharing_outcome(false, true)]) o,
                             unnest(ARRAY[NULL, '[]', jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', 'a b+c', 'reason', 'økt puls'])),
                                          jsonb_build_array(deling.fhir_link('self', 'x', ARRAY['pid', 'a']), deling.fhir_link('next', 'x', ARRAY['page', '1.2']))]) l)
SELECT count(*) AS bundles,
       count(*) FILTER (WHERE pg_temp.unid(deling.fhir_bundle_json(t, ARRAY[c::json, NULL, a::json, '[]', b::json], n, o, l)::text)
                              = pg_temp.unid(fhir_sql.bundle(t, c || a || b, n, o, l)::text)) AS same_as_oracle,
       count(*) FILTER (WHERE l IS NULL) AS without_links,
       count(*) FILTER (WHERE l IS NULL AND pg_temp.unid(deling.fhir_bundle_json(t, ARRAY[c::json, NULL, a::json, b::json], n, o)::text)
                              = pg_temp.unid(fhir_sql.bundle(t, c || a || b, n, o)::text)) AS same_as_parts,
       count(*) FILTER (WHERE pg_temp.unid(deling.fhir_bundle_json(t, ARRAY['[]'::json, NULL], n, o, l)::text)
                              = pg_temp.unid(fhir_sql.bundle(t, '[]', n, o, l)::text)) AS same_when_empty,
       count(*) FILTER (WHERE pg_temp.unid(deling.fhir_bundle_json(t, ARRAY[deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m ORDER BY m.measurement_id)),
                                                                         deling.municipal_services_entries_json(ARRAY(SELECT s FROM deling.municipal_service s ORDER BY s.service_id))],
                                                                   n, o, l)::text)
                              = pg_temp.unid(fhir_sql.bundle(t, a || b, n, o, l)::text)) AS same_from_the_renderers,
       count(*) FILTER (WHERE t = 'searchset' AND pg_temp.unid(deling.fhir_searchset_json(a::json, c::json, n, o, l)::text)
                              = pg_temp.unid(fhir_sql.bundle(t, a || c, n, o, l)::text)) AS same_as_searchset_json
FROM e, cases;
-- an entry is parsed, not trusted: spacing, key order, repeated keys, an
-- entry's other keys and a mode that is not a string are as jsonb has them
SELECT pg_temp.unid(deling.fhir_bundle_json('searchset', ARRAY[j::json], 1)::text) = pg_temp.unid(fhir_sql.bundle('searchset', j::jsonb, 1)::text) AS same,
       deling_test.mask((deling.fhir_bundle_json('searchset', ARRAY[j::json], 1)::jsonb)->'entry') AS entries
FROM unnest(ARRAY[
    '[ {"resource" : {"resourceType":"Patient", "id" : "p1", "active": true}, "mode":"match" } ]',
    '[{"mode": "match", "mode": "include", "resource": {"id": "p1", "id": "p2", "resourceType": "Patient"}, "x": [1, {"resource": 2}]}]',
    '[{"mode": ["match"], "resource": {"resourceType": "Patient", "id": 5, "link": [{"id": "not this"}]}}]',
    '[{"resource": {"resourceType": "Patient"}, "resource": {"resourceType": "Group", "id": "g"}}]']) j;
-- fhir_entry_json: one resource as a part of one entry
SELECT deling.fhir_entry_json('include', '{"resourceType": "Patient", "id": "p1"}') AS entry,
       deling.fhir_entry_json(NULL, '{"id" : "p1"}') AS without_mode,
       deling_test.try($$SELECT deling.fhir_entry_json('include', NULL)$$) AS without_resource;
-- the Bundle's refusals (as 0.1.0's fhir_bundle refused, and for the outcome)
SELECT v AS parts, deling_test.try(format('SELECT deling.fhir_bundle_json(%L, %L::json[], 1)', t, v)) AS result
FROM (VALUES ('history', '{"[]"}'), ('collection', '{"{\"mode\": \"match\"}"}'), ('collection', '{"[{\"resource\": {}}, 1]"}'),
             ('collection', '{"[{\"mode\": \"match\"}]"}'), ('collection', '{"[{\"resource\": [1]}]"}'),
             ('collection', '{"[[]]"}'), ('collection', '{"5"}'), ('collection', '{{"[]"}, {"[]"}}')) x(t, v);
SELECT deling.fhir_searchset_json(NULL, NULL, 0)::jsonb - 'id' - 'meta' - 'timestamp' AS empty_searchset,
       deling_test.try($$SELECT deling.fhir_searchset_json('[1]', NULL, 1)$$) AS searchset_entry_not_an_object;
-- fhir_searchset_of: a read's Bundle with the entries its renderer gives
-- for the rows rendered inside it: the same as fhir_searchset_json of
-- them, the renderer's other arguments defaulted (an SQL one too), no
-- entries for NULL rows; what is not a renderer of those rows refused.
-- fhir_bundle_entries counts a Bundle's entries (the top level's "entry")
CREATE FUNCTION pg_temp.totals(rows deling.news2_measurement[], extra integer DEFAULT 2) RETURNS json
LANGUAGE sql AS $$ SELECT deling.news2_entries_json(rows, false) $$;
WITH r AS (SELECT ARRAY(SELECT m FROM deling.news2_measurement m ORDER BY m.measurement_id) AS rows,
                  deling.fhir_entry_json('include', '{"resourceType": "Patient", "id": "p1"}') AS inc,
                  jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', 'a b'])) AS links,
                  deling.sharing_outcome(true, false) AS o)
SELECT cardinality(rows) > 0 AND o IS NOT NULL AS has_rows_and_outcome,
       pg_temp.unid(deling.fhir_searchset_of('deling.news2_entries_json', rows, inc, 16, o, links)::text)
       = pg_temp.unid(deling.fhir_searchset_json(deling.news2_entries_json(rows), inc, 16, o, links)::text) AS same_as_searchset_json,
       pg_temp.unid(deling.fhir_searchset_of('pg_temp.totals', rows, NULL, 3)::text)
       = pg_temp.unid(deling.fhir_searchset_json(deling.news2_entries_json(rows, false), NULL, 3)::text) AS same_with_an_sql_renderer,
       pg_temp.unid(deling.fhir_searchset_of('deling.news2_entries_json', NULL::deling.news2_measurement[], inc, 0)::text)
       = pg_temp.unid(deling.fhir_searchset_json(NULL, inc, 0)::text) AS no_rows_no_entries,
       deling.fhir_bundle_entries(deling.fhir_searchset_of('deling.news2_entries_json', rows, inc, 16, o, links))
       = json_array_length(deling.news2_entries_json(rows)) + 2 AS entries_counted
FROM r;
SELECT deling_test.try(format('SELECT deling.fhir_searchset_of(%L, ARRAY(SELECT m FROM deling.news2_measurement m), NULL, 1)', f)) AS not_a_renderer
FROM unnest(ARRAY['deling.fhir_constant', 'deling.municipal_services_entries_json', 'deling.fhir_render_entries', NULL]) f;
SELECT j, deling.fhir_bundle_entries(j::json) AS entries
FROM unnest(ARRAY['{"entry": [1, 2, 3]}', '{ "entry" : [1, {"entry": [1, 2]}] , "link": [1, 2]}', E'{\n"entry"\t:\n[1, 2]}',
                  '{"xentry": [1]}', '{"a\"entry": [1]}', '{"a": "\"entry", "b": [1]}', '{"a": {"entry": [1, 2]}, "entry": [5]}',
                  '{"entry": [1], "entry": [1, 2]}', '{"link": [1], "entry": []}', '[{"entry": [1]}]', '{}']) j;
SELECT deling_test.try($$SELECT deling.fhir_bundle_entries('{"entry": [1,')$$) AS not_json;
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('searchset', '{}', 0, NULL, '{"relation": "self"}')$$) AS links_not_an_array,
       deling_test.try($$SELECT deling.fhir_bundle_json('searchset', '{}', 0, '[1]')$$) AS outcome_not_an_object,
       deling_test.try($$SELECT deling.fhir_bundle_json(NULL, '{}', 0)$$) AS no_type;

-- the renderers' own refusals
SELECT deling_test.try($$SELECT deling.news2_entries_json(ARRAY[NULL]::deling.news2_measurement[])$$) AS null_row,
       deling_test.try($$SELECT deling.news2_entries_json(ARRAY[ARRAY[m]]) FROM deling.news2_measurement m LIMIT 1$$) AS two_dimensions,
       deling_test.try($$SELECT deling.news2_entries_json(ARRAY[ROW('1804', gen_random_uuid(), NULL, now(), 16, 98, 1, false, NULL,
           120, 70, 'A', 37.0, NULL, NULL, NULL, 'x', 'y', 'final', 1, now(), 0, 'low')::deling.news2_measurement])$$) AS no_pid;
SELECT deling_test.try($$SELECT deling.municipal_services_entries_json(ARRAY[NULL]::deling.municipal_service[])$$) AS null_service,
       deling_test.try($$SELECT deling.municipal_services_entries_json(ARRAY[jsonb_populate_record(s, '{"kommune_nr": "9999"}')])
                         FROM deling.municipal_service s LIMIT 1$$) AS kommune_not_on_the_platform,
       deling_test.try($$SELECT deling.municipal_services_entries_json(ARRAY[jsonb_populate_record(s, '{"pid": null}')])
                         FROM deling.municipal_service s LIMIT 1$$) AS no_pid,
       deling_test.try($$SELECT deling.municipal_services_entries_json(ARRAY[jsonb_populate_record(s, '{"period_start": "0044-03-15 BC"}')])
                         FROM deling.municipal_service s LIMIT 1$$) AS bc_date;

-- a read as it will be built: the Patient, then a citizen's NEWS2 and
-- services in one collection; valid FHIR R4 (the fhir suite)
SELECT pid AS many FROM deling.news2_measurement GROUP BY pid ORDER BY count(*) DESC, pid LIMIT 1 \gset
SELECT deling.fhir_bundle_json('collection',
           ARRAY[deling.fhir_entry_json('include', deling.fhir_patient_json(:'many', ARRAY(SELECT kommune_nr::text FROM deling.kommune))),
                 deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m WHERE m.pid = :'many' ORDER BY m.measured_at DESC)),
                 deling.municipal_services_entries_json(ARRAY(SELECT s FROM deling.municipal_service s ORDER BY s.kommune_nr, s.source_system, s.source_id LIMIT 6))],
           NULL, deling.sharing_outcome(true, false)) AS bundle \gset
SELECT :'bundle'::json \g (format=unaligned tuples_only=on) :fhir_dir/fhir_json_bundle.json
SELECT b->>'type' AS type, jsonb_array_length(b->'entry') AS entries, b->'meta'->'security'->0->>'code' AS security,
       (SELECT count(*) FROM jsonb_array_elements(b->'entry') e WHERE e ? 'fullUrl') AS with_full_url
FROM (SELECT :'bundle'::jsonb AS b) x;

-- the 0.1.0 jsonb builders are gone from 0.3.0.  Their C symbols, which
-- the released install script names, stay for a database still at 0.1.0
-- or 0.2.0 whose library is already this one (its reads call them until
-- ALTER EXTENSION UPDATE): each is its json renderer parsed into jsonb,
-- as the builder gave it
SELECT count(*) AS builders_left
FROM unnest(ARRAY['deling.news2_fhir(deling.news2_measurement, boolean)', 'deling.municipal_service_fhir(deling.municipal_service, text, text, text)',
                  'deling.municipal_services_entries(deling.municipal_service[])', 'deling.fhir_unit(text, text, text, text)',
                  'deling.fhir_unit_id(text, text, text)', 'deling.fhir_patient(text, text[])',
                  'deling.fhir_bundle(text, jsonb, integer, jsonb, jsonb)', 'deling.fhir_bundle_parts(text, jsonb[], integer, jsonb)']) f
WHERE to_regprocedure(f) IS NOT NULL;
CREATE FUNCTION pg_temp.news2_fhir(m deling.news2_measurement, vital_signs boolean) RETURNS jsonb
    AS '$libdir/deling', 'deling_news2_fhir' LANGUAGE C STRICT;
CREATE FUNCTION pg_temp.municipal_service_fhir(s deling.municipal_service, status text, type_display text, kommune_name text) RETURNS jsonb
    AS '$libdir/deling', 'deling_municipal_service_fhir' LANGUAGE C;
CREATE FUNCTION pg_temp.fhir_bundle(type text, entries jsonb, matches integer, outcome jsonb, links jsonb) RETURNS jsonb
    AS '$libdir/deling', 'deling_fhir_bundle' LANGUAGE C;
CREATE FUNCTION pg_temp.fhir_bundle_parts(type text, parts jsonb[], matches integer, outcome jsonb) RETURNS jsonb
    AS '$libdir/deling', 'deling_fhir_bundle_parts' LANGUAGE C;
SELECT count(*) AS measurements,
       count(*) FILTER (WHERE pg_temp.news2_fhir(m, true) = fhir_sql.news2_entries(m)
                          AND pg_temp.news2_fhir(m, false) = fhir_sql.news2_entries(m, false)) AS news2_fhir_same
FROM deling.news2_measurement m;
SELECT count(*) AS services,
       count(*) FILTER (WHERE pg_temp.municipal_service_fhir(s, deling.municipal_service_fhir_status(s, (now() AT TIME ZONE 'Europe/Oslo')::date), t.name, k.name)
                              = fhir_sql.services_entries(ARRAY[s])->0) AS municipal_service_fhir_same,
       deling_test.try($$SELECT pg_temp.municipal_service_fhir(s, NULL, NULL, NULL) FROM deling.municipal_service s LIMIT 1$$) AS no_status,
       pg_temp.municipal_service_fhir(NULL, 'active', NULL, NULL) IS NULL AS null_row
FROM deling.municipal_service s
LEFT JOIN deling.service_type t ON t.code = s.service_code
LEFT JOIN deling.kommune k ON k.kommune_nr = s.kommune_nr;
WITH e AS (SELECT fhir_sql.news2_entries(m) AS a FROM deling.news2_measurement m ORDER BY m.measurement_id LIMIT 1)
SELECT pg_temp.fhir_bundle('searchset', a, 1, o, l) - 'id' = fhir_sql.bundle('searchset', a, 1, o, l) - 'id' AS fhir_bundle_same,
       pg_temp.fhir_bundle_parts('collection', ARRAY[a, NULL, a], NULL, o) - 'id' = fhir_sql.bundle('collection', a || a, NULL, o) - 'id' AS fhir_bundle_parts_same,
       deling_test.try($$SELECT pg_temp.fhir_bundle_parts('collection', ARRAY[['[]'], ['[]']]::jsonb[], NULL, NULL)$$) AS two_dimensional
FROM e, (VALUES (deling.sharing_outcome(true, false), jsonb_build_array(deling.fhir_link('self', 'x', ARRAY['pid', 'a'])))) x(o, l);
DROP SCHEMA fhir_sql CASCADE;
