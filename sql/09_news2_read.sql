-- NEWS2 read through the sharing gate: a legevakt doctor sees the trend of
-- a deteriorating Bærum citizen as FHIR R4, newest first; reach, opt-in,
-- purpose of use and status decide what is returned.  Every Bundle is also
-- written to $DELING_FHIR_OUT for the fhir suite to validate against the
-- official FHIR R4 JSON schema.
\set VERBOSITY terse
\i sql/include/fhir_dir.psql
SELECT deling.synthetic_fnr('1938-03-14', 0) AS pid \gset
SELECT deling.synthetic_fnr('1944-06-06', 0) AS bodo_pid \gset
SELECT deling.synthetic_fnr('1951-09-09', 0) AS asker_pid \gset
SELECT deling.synthetic_fnr('1946-02-11', 7) AS many_pid \gset

-- follow(url): the read a Bundle.link names (rpc/<fn>?a=1&b=2, relative to
-- the API root), called with those arguments as PostgREST would
CREATE FUNCTION deling_test.url_decode(s text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r bytea := '';
    i integer := 1;
BEGIN
    WHILE i <= length(s) LOOP
        IF substr(s, i, 1) = '%' THEN
            r := r || decode(substr(s, i + 1, 2), 'hex');
            i := i + 3;
        ELSE
            r := r || convert_to(replace(substr(s, i, 1), '+', ' '), 'UTF8');
            i := i + 1;
        END IF;
    END LOOP;
    RETURN convert_from(r, 'UTF8');
END
$$;
CREATE FUNCTION deling_test.follow(url text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    EXECUTE format('SELECT api.%I(%s)', substring(url FROM '^rpc/([a-z0-9_]+)'),
                   (SELECT string_agg(format('%I => %L', split_part(a, '=', 1), deling_test.url_decode(split_part(a, '=', 2))), ', ')
                    FROM regexp_split_to_table(substring(url FROM '\?(.*)$'), '&') a))
    INTO result;
    RETURN result;
END
$$;
GRANT EXECUTE ON FUNCTION deling_test.url_decode(text), deling_test.follow(text) TO PUBLIC;

-- Bærum's home nursing records four measurements over a day, getting worse
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT (api.news2_ingest_batch(jsonb_agg(jsonb_build_object(
    'pid', :'pid', 'measured_at', t, 'resp_rate', rr, 'spo2', s, 'on_oxygen', o2, 'systolic_bp', bp, 'pulse', hr,
    'consciousness', c, 'temperature', temp, 'recorded_by', '9144889', 'unit_name', 'Hjemmesykepleien Sandvika',
    'unit_orgnr', '935478715', 'source_system', 'gerica', 'source_id', 'g-' || n)))) - 'items' AS report
FROM (VALUES
    (1, '2026-11-20T08:00:00+01:00', 16, 97, false, 128, 78, 'A', 37.2),
    (2, '2026-11-20T14:00:00+01:00', 20, 95, false, 118, 88, 'A', 38.1),
    (3, '2026-11-20T20:00:00+01:00', 23, 93, false, 104, 104, 'A', 38.6),
    (4, '2026-11-21T02:00:00+01:00', 26, 91, true, 96, 118, 'C', 39.3)) v(n, t, rr, s, o2, bp, hr, c, temp);
-- and twelve, two hours apart, for another citizen (since and paging)
SELECT (api.news2_ingest_batch(jsonb_agg(jsonb_build_object(
    'pid', :'many_pid', 'measured_at', format('2026-11-19T%s:00:00+01:00', lpad((2 * n)::text, 2, '0')), 'resp_rate', 14 + n,
    'spo2', 97, 'on_oxygen', false, 'systolic_bp', 125, 'pulse', 70 + n, 'consciousness', 'A', 'temperature', 37.0,
    'source_system', 'gerica', 'source_id', 'many-' || n)))) - 'items' AS report
FROM generate_series(0, 11) n;
-- and one it later marks as entered in error
SELECT api.news2_ingest(jsonb_build_object('pid', :'pid', 'measured_at', '2026-11-21T03:00:00+01:00', 'resp_rate', 12,
    'spo2', 99, 'on_oxygen', false, 'systolic_bp', 140, 'pulse', 60, 'consciousness', 'A', 'temperature', 36.5,
    'source_system', 'gerica', 'source_id', 'g-5', 'status', 'entered-in-error'))->>'status' AS g5;
RESET SESSION AUTHORIZATION;
-- a Bodø citizen with NEWS2 (Bodø shares news2) and an Asker citizen (Asker does not)
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('1804', :'bodo_pid'), ('3203', :'asker_pid');
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
VALUES ('1804', :'bodo_pid', '2026-11-20T09:00:00+01:00', 16, 97, false, 128, 78, 'A', 37.2, 'dba', 'b-1'),
       ('3203', :'asker_pid', '2026-11-20T09:00:00+01:00', 16, 97, false, 128, 78, 'A', 37.2, 'dba', 'a-1');

-- the doctor at Asker og Bærum legevakt (reaches Bærum and Asker)
SELECT deling_test.claims('lege_ab') AS p \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true)->'reach' AS reach;
SELECT api.news2_observations(:'pid') AS bundle \gset
SELECT :'bundle'::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/news2_observations.json

-- the Bundle: searchset, 4 matches (entered-in-error left out), 4 x (1 total + 7 vital signs) + the Patient
SELECT b->>'resourceType' AS type, b->>'type' AS bundle_type, b->>'total' AS total,
       jsonb_array_length(b->'entry') AS entries,
       (SELECT count(*) FROM jsonb_array_elements(b->'entry') e WHERE e->'search'->>'mode' = 'match') AS matches,
       (SELECT count(*) FROM jsonb_array_elements(b->'entry') e WHERE e->'resource'->>'resourceType' = 'Patient') AS patients
FROM (SELECT :'bundle'::jsonb AS b) x;
-- the NEWS2 totals, newest first, with score, risk, status and offset time
SELECT e->'resource'->>'effectiveDateTime' AS effective, e->'resource'->'valueQuantity'->>'value' AS score,
       e->'resource'->'interpretation'->0->'coding'->0->>'code' AS risk, e->'resource'->>'status' AS status,
       e->'resource'->'valueQuantity'->>'code' AS unit, jsonb_array_length(e->'resource'->'component') AS components,
       jsonb_array_length(e->'resource'->'derivedFrom') AS derived_from
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e WHERE e->'search'->>'mode' = 'match';
-- the newest total in full
\pset format unaligned
SELECT jsonb_pretty((SELECT (e->'resource') - 'id' - 'issued' - 'derivedFrom' - 'subject' FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
                     WHERE e->'search'->>'mode' = 'match' LIMIT 1)) AS newest_total;
\pset format aligned
-- every derivedFrom resolves to a vital sign in the Bundle, with LOINC and UCUM
SELECT count(*) AS unresolved FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e,
       jsonb_array_elements(e->'resource'->'derivedFrom') r
WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(:'bundle'::jsonb->'entry') f WHERE f->>'fullUrl' = r->>'reference');
SELECT DISTINCT c->>'system' AS system, c->>'code' AS code, coalesce(v->'resource'->'valueQuantity'->>'code',
       v->'resource'->'component'->0->'valueQuantity'->>'code', v->'resource'->'valueCodeableConcept'->'coding'->0->>'code') AS unit_or_value
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') v, jsonb_array_elements(v->'resource'->'code'->'coding') c
WHERE v->'search'->>'mode' = 'include' AND v->'resource'->>'resourceType' = 'Observation'
  AND v->'resource'->>'effectiveDateTime' = '2026-11-21T02:00:00+01:00'
ORDER BY 1, 2;
-- profile rules (issue 18), on every measurement of the Bundle.  R4 bp: a
-- SystolicBP 8480-6 and a DiastolicBP 8462-4 component, the diastolic (not
-- held) with a dataAbsentReason and no value (vs-3, obs-6)
SELECT count(*) AS bp_observations,
       bool_and(jsonb_array_length(o->'component') = 2) AS two_components,
       bool_and(o->'component'->0->'code'->'coding' @> '[{"system": "http://loinc.org", "code": "8480-6"}]'
                AND o->'component'->0->'valueQuantity'->>'code' = 'mm[Hg]'
                AND o->'component'->0->'valueQuantity'->>'system' = 'http://unitsofmeasure.org') AS systolic_mm_hg,
       bool_and(coalesce(o->'component'->1->'code'->'coding' @> '[{"system": "http://loinc.org", "code": "8462-4"}]'
                AND o->'component'->1->'dataAbsentReason'->'coding' @> '[{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason"}]'
                AND NOT o->'component'->1 ? 'valueQuantity', false)) AS diastolic_absent_with_reason,
       bool_and(NOT o ? 'valueQuantity') AS no_top_level_value
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e, LATERAL (SELECT e->'resource' AS o) x
WHERE o->'meta'->'profile' ? 'http://hl7.org/fhir/StructureDefinition/bp';
SELECT DISTINCT e->'resource'->'component'->1 AS diastolic FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
WHERE e->'resource'->'meta'->'profile' ? 'http://hl7.org/fhir/StructureDefinition/bp';
-- the NEWS2 total and its seven sub-scores are Quantities in UCUM {ScoreOf}
-- (UK Core EarlyWarningTotalScore fixes system and code), never valueInteger
SELECT count(*) AS scores,
       bool_and(coalesce(q->>'system' = 'http://unitsofmeasure.org' AND q->>'code' = '{ScoreOf}' AND jsonb_typeof(q->'value') = 'number', false))
           AS all_scoreof_quantities,
       count(*) FILTER (WHERE c ? 'valueInteger') AS value_integers
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e,
     LATERAL (SELECT e->'resource'->'valueQuantity' AS q, e->'resource' AS c
              UNION ALL SELECT c->'valueQuantity', c FROM jsonb_array_elements(e->'resource'->'component') c) x
WHERE e->'search'->>'mode' = 'match';
-- ACVPU: the SNOMED CT answer (UK Core ACVPU value set) first, the platform's code second
SELECT DISTINCT e->'resource'->'valueCodeableConcept'->'coding' AS acvpu_codings FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
WHERE e->'resource'->'code'->'coding' @> '[{"code": "1104441000000107"}]' ORDER BY 1;
-- air or oxygen: coded as UK Core InspiredOxygen (722742002 room air, 371825009 on oxygen), value the flow when known
SELECT e->'resource'->'code' AS air_or_oxygen, e->'resource'->'valueQuantity' AS flow, count(*)
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
WHERE e->'resource'->'code'->'coding' @> '[{"system": "http://snomed.info/sct"}]'
  AND e->'resource'->'category'->0->'coding'->0->>'code' = 'vital-signs'
  AND NOT e->'resource'->'code'->'coding' @> '[{"code": "1104441000000107"}]'
GROUP BY 1, 2 ORDER BY 1::text;
-- the Patient: no-basis profile, fødselsnummer system, and the subject of every Observation
SELECT deling_test.mask(e->'resource') AS patient FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
WHERE e->'resource'->>'resourceType' = 'Patient';
-- Patient.id: a random RFC 4122 UUID (version 4) kept with the person, not
-- derived from the number; every id and urn:uuid reference in the Bundle is
-- an RFC 4122 UUID (random, or name-based version 3 for derived resources)
SELECT e->'resource'->>'id' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS random_uuid,
       (e->'resource'->>'id')::uuid <> md5('deling-patient:' || :'pid')::uuid AS not_md5_of_the_number
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'Patient';
SELECT count(*) AS uuids, count(*) FILTER (WHERE u !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[345][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS not_rfc4122
FROM (SELECT e->'resource'->>'id' AS u FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
      UNION ALL SELECT substr(m[1], 10) FROM regexp_matches(:'bundle', 'urn:uuid:[0-9a-f-]{36}', 'g') m) x;
SELECT count(DISTINCT e->'resource'->'subject'->>'reference') AS subjects,
       bool_and(e->'resource'->'subject'->>'reference' = (SELECT f->>'fullUrl' FROM jsonb_array_elements(:'bundle'::jsonb->'entry') f
                WHERE f->'resource'->>'resourceType' = 'Patient')) AS all_point_to_patient
FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'Observation';

-- since and max
SELECT (api.news2_observations(:'pid', since => '2026-11-20T19:00:00+01:00'))->>'total' AS since_evening;
-- since without an offset, and a bare date, are Norwegian time (the other
-- citizen's measurements are at 00, 02, ..., 22 on 19 November)
SELECT v AS since, (api.news2_observations(:'many_pid', since => v))->>'total' AS total
FROM unnest(ARRAY['2026-11-19T19:30:00', '2026-11-19T19:30', '2026-11-19 19:30', '2026-11-19T19:30:00+01:00',
                  '2026-11-19T18:30:00Z', '2026-11-19T20:30:00Z', '2026-11-19', '2026-11-20']) v;
SELECT deling_test.try(format('SELECT api.news2_observations(%L, since => %L)', :'many_pid', v))
FROM unnest(ARRAY['yesterday', '2026-11-20T19:00:00 01:00', '2026-13-01', '2026-11-20T25:00']) v;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT api.news2_observations(:'many_pid', since => '2026-11-20T19:00:00 01:00');   -- a + sent unencoded in a URL
\set SHOW_CONTEXT errors
\set VERBOSITY terse
SELECT b->>'total' AS total, (SELECT count(*) FROM jsonb_array_elements(b->'entry') e WHERE e->'search'->>'mode' = 'match') AS returned
FROM (SELECT api.news2_observations(:'pid', max => 1)::jsonb AS b) x;
SELECT api.news2_observations(:'pid', max => 1) \g (format=unaligned tuples_only=on) :fhir_dir/news2_max1.json
-- paging: max measurements per page; Bundle.link self (this read's
-- arguments) and next (only while more match) are PostgREST RPC URLs
-- relative to the API root.  Following next from the first page reads
-- every match once, in order, as one read of them all does.
SELECT api.news2_observations(:'many_pid', since => '2026-11-19T00:00:00+01:00', max => 5) AS page1 \gset
SELECT b->>'total' AS total, (SELECT count(*) FROM jsonb_array_elements(b->'entry') e WHERE e->'search'->>'mode' = 'match') AS returned,
       l->>'relation' AS relation, regexp_replace(l->>'url', 'page=[0-9]+\.[0-9a-f-]{36}', 'page=<token>') AS url
FROM (SELECT :'page1'::jsonb AS b) x, jsonb_array_elements(b->'link') l;
WITH RECURSIVE pages(n, b) AS (
    SELECT 1, :'page1'::jsonb
    UNION ALL
    SELECT n + 1, deling_test.follow((SELECT l->>'url' FROM jsonb_array_elements(b->'link') l WHERE l->>'relation' = 'next'))
    FROM pages WHERE b->'link' @> '[{"relation": "next"}]' AND n < 10),
paged AS (
    SELECT n, ord, e->'resource'->>'id' AS id FROM pages, jsonb_array_elements(b->'entry') WITH ORDINALITY AS x(e, ord)
    WHERE e->'search'->>'mode' = 'match'),
whole AS (
    SELECT ord, e->'resource'->>'id' AS id
    FROM jsonb_array_elements(api.news2_observations(:'many_pid', since => '2026-11-19T00:00:00+01:00', max => 12)::jsonb->'entry') WITH ORDINALITY AS x(e, ord)
    WHERE e->'search'->>'mode' = 'match')
SELECT (SELECT string_agg(format('page %s: %s of %s, %s', n, (SELECT count(*) FROM paged p WHERE p.n = pages.n), b->>'total',
                                 CASE WHEN b->'link' @> '[{"relation": "next"}]' THEN 'next' ELSE 'no next' END), '; ' ORDER BY n) FROM pages) AS pages,
       (SELECT count(*) FROM paged) AS read, (SELECT count(DISTINCT id) FROM paged) AS distinct_read,
       (SELECT array_agg(id ORDER BY n, ord) FROM paged) = (SELECT array_agg(id ORDER BY ord) FROM whole) AS same_order_no_gaps;
-- the same Patient.id on every page (stable across reads)
SELECT count(DISTINCT e->'resource'->>'id') AS patient_ids
FROM (VALUES (:'page1'::jsonb), (deling_test.follow((SELECT l->>'url' FROM jsonb_array_elements(:'page1'::jsonb->'link') l
                                                      WHERE l->>'relation' = 'next')))) b(b),
     jsonb_array_elements(b->'entry') e WHERE e->'resource'->>'resourceType' = 'Patient';
-- the second page, as a client gets it (validated), and its self link gives it again
SELECT deling_test.follow((SELECT l->>'url' FROM jsonb_array_elements(:'page1'::jsonb->'link') l WHERE l->>'relation' = 'next')) AS page2 \gset
SELECT :'page2'::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/news2_page2.json
SELECT l->>'relation' AS relation, regexp_replace(l->>'url', 'page=[0-9]+\.[0-9a-f-]{36}', 'page=<token>') AS page2_url
FROM jsonb_array_elements(:'page2'::jsonb->'link') l;
SELECT deling_test.follow((SELECT l->>'url' FROM jsonb_array_elements(:'page2'::jsonb->'link') l WHERE l->>'relation' = 'self'))->'entry'
       = :'page2'::jsonb->'entry' AS self_repeats_the_read;
-- a page token that is not one is refused
SELECT deling_test.try(format('SELECT api.news2_observations(%L, max => 5, page => %L)', :'many_pid', v))
FROM unnest(ARRAY['5', 'x.00000000-0000-0000-0000-000000000000', '1795000000000000']) v;
-- the trend for the legevakt view
SELECT deling_test.mask(api.news2_trend(:'pid', n => 3)) AS trend;

-- outside reach (Bodø), and a reachable kommune that does not share news2 (Asker): nothing
SELECT api.news2_observations(:'bodo_pid') AS b \gset
SELECT deling_test.mask(:'b'::jsonb) AS bodo_citizen;
SELECT :'b'::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/news2_empty.json
SELECT (api.news2_observations(:'asker_pid'))->>'total' AS asker_citizen;
SELECT api.news2_trend(:'asker_pid') AS asker_trend;
-- bad arguments
SELECT deling_test.try(format('SELECT api.news2_observations(%L)', '02013299998'));
SELECT deling_test.try(format('SELECT api.news2_observations(NULL)'));
SELECT deling_test.try(format('SELECT api.news2_observations(%L, max => 0)', :'pid'));
SELECT deling_test.try(format('SELECT api.news2_trend(%L, n => 101)', :'pid'));
SELECT deling_test.try(format('SELECT api.news2_observations(%L, %L)', :'pid', 'COC'));   -- differs from the attested TREAT
SELECT deling.logout();

-- purpose of use: a token without attestation needs the argument
SELECT deling_test.claims('lege_ab', '{"authorization_details": null}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling.authenticate(:'tok', for_session => true)->>'purpose' AS attested;
SELECT deling_test.try(format('SELECT api.news2_observations(%L)', :'pid'));
SELECT (api.news2_observations(:'pid', 'TREAT'))->>'total' AS with_purpose_argument;
-- the links repeat every argument given, URL-encoded (UTF-8; a + is %2B)
SELECT l->>'relation' AS relation, regexp_replace(l->>'url', 'page=[0-9]+\.[0-9a-f-]{36}', 'page=<token>') AS url
FROM jsonb_array_elements(api.news2_observations(:'many_pid', 'TREAT', since => '2026-11-19T08:00+01:00', max => 2,
                                                 reason => 'Forverring? Ja & økt puls')::jsonb->'link') l;
SELECT deling_test.try(format('SELECT api.news2_observations(%L, %L)', :'pid', 'SNOOP'));
SELECT deling.logout();
-- no context at all
SELECT deling_test.try(format('SELECT api.news2_observations(%L)', :'pid'));
RESET SESSION AUTHORIZATION;

-- the Bodø legevakt doctor reaches Bodø only
SELECT deling_test.claims('lege_ab', jsonb_build_object('helseid://claims/client/claims/orgnr_parent', '972418013',
    'helseid://claims/client/claims/orgnr_child', (SELECT orgnr FROM deling.organisation WHERE name = 'Bodø legevakt'))) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'tok', for_session => true)->'reach' AS reach;
SELECT (api.news2_observations(:'pid'))->>'total' AS baerum_citizen, (api.news2_observations(:'bodo_pid'))->>'total' AS bodo_citizen;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;

-- integrations read their own kommune only
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT (api.news2_observations(:'pid'))->>'total' AS baerum_reads_own;
-- what the platform writes, it reads: the doctor's Bundle sent back by
-- Bærum's EPJ (as a collection) is the same four measurements, unchanged
-- (identifier system, subject, SNOMED CT codings, units, scale, oxygen)
SELECT r->>'unchanged' AS unchanged, r->>'created' AS created, r->>'amended' AS amended,
       (SELECT count(*) FROM jsonb_array_elements(r->'items') i WHERE i ? 'warning') AS warnings
FROM api.news2_ingest_fhir(jsonb_set(:'bundle'::jsonb, '{type}', '"collection"')) r;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_bodo;
SELECT (api.news2_observations(:'pid'))->>'total' AS bodo_reads_baerum;
RESET SESSION AUTHORIZATION;
-- anonymous and KPR: no access
SET ROLE deling_anon;
SELECT deling_test.try(format('SELECT api.news2_observations(%L)', :'pid'));
RESET ROLE;
SET SESSION AUTHORIZATION regress_kpr;
SELECT deling_test.try(format('SELECT api.news2_observations(%L)', :'pid'));
RESET SESSION AUTHORIZATION;

-- FHIR dateTimes are Norwegian local time with the offset of that instant:
-- both sides of the spring and autumn DST changes, and no value for infinity
SELECT t AS instant, deling.fhir_datetime(t) FROM unnest(ARRAY['2026-03-29 00:59:59+00', '2026-03-29 01:00:00+00',
    '2026-10-25 00:59:59.9+00', '2026-10-25 01:00:00+00', 'infinity']::timestamptz[]) t;
-- since: the instant in UTC; without an offset Norwegian time, winter and summer
SELECT v, to_char(deling.oslo_instant(v) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS utc
FROM unnest(ARRAY['2026-11-21', '2026-07-01', '2026-07-01T12:00', '2026-03-29T03:00', '2026-11-20T19:30:00.5-05:00']) v;
-- derived ids (vital signs, units) are RFC 4122 name-based UUIDs, version
-- 3, in the platform's namespace: as Python's uuid.uuid3 computes them
SELECT deling.fhir_name_uuid('deling-unit:3203:944382038:Hjemmesykepleien Asker sentrum') = 'a7aa38fb-f63e-35ef-b5f0-e6769f61d45a' AS unit,
       deling.fhir_name_uuid('æøå') = 'c9d31d35-cc60-3ff2-9e24-fce7d9584abc' AS utf8_name,
       bool_and((SELECT array_agg(e->'resource'->>'id' ORDER BY o) FROM jsonb_array_elements(deling.news2_entries_json(ARRAY[m])::jsonb) WITH ORDINALITY x(e, o) WHERE o > 1)
                = (SELECT array_agg(deling.fhir_name_uuid(m.measurement_id || ':' || n)::text ORDER BY n)
                   FROM unnest(ARRAY['bp', 'consciousness', 'oxygen', 'pulse', 'resp', 'spo2', 'temperature']) n)) AS c_vital_ids_agree
FROM deling.news2_measurement m;
-- identifier systems: a source system that is an absolute URI is echoed as
-- the sender wrote it; another name is a NamingSystem the platform owns
SELECT s AS source_system, deling.news2_entries_json(ARRAY[jsonb_populate_record(m, jsonb_build_object('source_system', s))], false)
                               ->0->'resource'->'identifier'->0->>'system' AS identifier_system
FROM deling.news2_measurement m, unnest(ARRAY['gerica', 'dips:arena', 'urn:oid:2.16.578.1.12.4.1.2.110',
    'urn:uuid:5b2a8d1e-3f4c-4e7a-9d6b-2c1f0e9a8b7c', 'http://dips.no/fhir/namingsystem/externalId', 'https://tools.ietf.org/html/rfc4122']) s
WHERE m.source_id = 'g-4';
-- an H-nummer (no national system): the platform's NamingSystem, no-basis's type HNR; C and SQL agree
SELECT min(h) AS hnr FROM (SELECT deling_test.with_checks('015240' || n) AS h FROM generate_series(100, 200) n) x
WHERE h IS NOT NULL AND deling.fnr_kind(h) = 'hnr' \gset
BEGIN;
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', :'hnr');
SELECT deling.fhir_pid_identifier(:'hnr') AS hnr_identifier,
       (deling.news2_entries_json(ARRAY[jsonb_populate_record(m, jsonb_build_object('pid', :'hnr'))], false)::jsonb)->0->'resource'->'subject'->'identifier'
       = deling.fhir_pid_identifier(:'hnr') AS c_agrees
FROM deling.news2_measurement m WHERE m.source_id = 'g-4';
ROLLBACK;
-- the patient index: a person registered by a kommune gets one random
-- Patient id; a second kommune registering the same person keeps it
BEGIN;
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('1804', :'hnr');
SELECT patient_id AS first_id FROM deling.patient_index WHERE pid = :'hnr' \gset
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', :'hnr');
SELECT count(*) AS kommuner, (SELECT array_agg(DISTINCT patient_id) FROM deling.patient_index WHERE pid = :'hnr') = ARRAY[:'first_id']::uuid[] AS same_id,
       deling.fhir_patient_id(:'hnr') = :'first_id' AS fhir_patient_id
FROM deling.citizen WHERE pid = :'hnr';
ROLLBACK;
-- keyset paging: a measurement recorded between two pages (newer than all,
-- so on page 1) shifts nothing on the next page, as an offset would
BEGIN;
SELECT deling.page_token(m.measured_at, m.measurement_id) AS token
FROM deling.news2_rows(:'many_pid', ARRAY['3201'], '{}', '{}', false, NULL, 5, NULL, NULL) m OFFSET 4 \gset
SELECT string_agg(m.source_id, ',' ORDER BY m.measured_at DESC) AS page2_before
FROM deling.page_after(:'token') a, deling.news2_rows(:'many_pid', ARRAY['3201'], '{}', '{}', false, NULL, 5, a.after_at, a.after_id) m \gset
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
VALUES ('3201', :'many_pid', '2026-11-19T23:00:00+01:00', 16, 97, false, 125, 70, 'A', 37.0, 'gerica', 'many-late');
SELECT :'page2_before' AS page2, string_agg(m.source_id, ',' ORDER BY m.measured_at DESC) = :'page2_before' AS unchanged
FROM deling.page_after(:'token') a, deling.news2_rows(:'many_pid', ARRAY['3201'], '{}', '{}', false, NULL, 5, a.after_at, a.after_id) m;
ROLLBACK;
-- on oxygen with a known flow: UK Core InspiredOxygen's value in l/min
SELECT e->'resource'->'code'->'coding'->0->>'code' AS code, e->'resource'->'valueQuantity' AS flow
FROM deling.news2_measurement m, jsonb_array_elements(deling.news2_entries_json(ARRAY[jsonb_populate_record(m, '{"on_oxygen": true, "oxygen_flow": 2.5}')])::jsonb) e
WHERE m.source_id = 'g-4' AND e->'resource'->'code'->'coding'->0->>'code' IN ('371825009', '722742002');
-- the renderer refuses a hand-built row that lacks what the table requires
SELECT deling_test.try($$SELECT deling.news2_entries_json(ARRAY[ROW('1804', gen_random_uuid(), NULL, now(), 16, 98, 1, false, NULL,
    120, 70, 'A', 37.0, NULL, NULL, NULL, 'x', 'y', 'final', 1, now(), 0, 'low')::deling.news2_measurement])$$);
-- without vital signs (the legevakt's trend): the same total, minus derivedFrom
SELECT count(*) > 0 AS measurements, bool_and(deling.news2_entries_json(ARRAY[m], vital_signs => false)::jsonb
       = jsonb_build_array(jsonb_set(e->0, '{resource}', (e->0->'resource') - 'derivedFrom')))
       AS total_alone
FROM deling.news2_measurement m, LATERAL (SELECT deling.news2_entries_json(ARRAY[m])::jsonb AS e) x;
-- the Bundle assembler: no entry array when empty, and clear errors
SELECT deling.fhir_bundle_json('searchset', ARRAY['[]'::json], 0)::jsonb - 'id' - 'meta' - 'timestamp' AS empty_searchset;
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('history', ARRAY['[]'::json], 0)$$);
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('collection', ARRAY['{"mode": "match"}'::json], NULL)$$);
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('collection', ARRAY['[{"mode": "match"}]'::json], NULL)$$);
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('collection', ARRAY['[1]'::json], NULL)$$);
-- from parts: the same Bundle as from the parts concatenated, a NULL part
-- empty, and the same errors, counting entries across the parts
SELECT deling.fhir_bundle_json('searchset', ARRAY[a::json, NULL, '[]', b::json], 3, o)::jsonb - 'id' - 'timestamp'
       = deling.fhir_bundle_json('searchset', ARRAY[(a || b)::json], 3, o)::jsonb - 'id' - 'timestamp' AS parts_as_concatenated
FROM (SELECT '[{"mode": "match", "resource": {"resourceType": "Patient", "id": "p1"}}]'::jsonb AS a,
             '[{"mode": "match", "resource": {"resourceType": "Patient", "id": "p2"}},
               {"mode": "include", "resource": {"resourceType": "Organization", "id": "o1"}}]'::jsonb AS b,
             deling.sharing_outcome(true, false) AS o) x;
SELECT deling.fhir_bundle_json('collection', '{}', NULL)::jsonb - 'id' - 'meta' - 'timestamp' AS no_parts;
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('collection', ARRAY['[{"resource": {}}]', '{"mode": "match"}']::json[], NULL)$$);
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('collection', ARRAY['[{"resource": {}}]', '[{"resource": {}}, 1]']::json[], NULL)$$);
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('collection', ARRAY[['[]'], ['[]']]::json[], NULL)$$);
SELECT deling_test.try($$SELECT deling.fhir_bundle_json('history', ARRAY['[]']::json[], NULL)$$);
