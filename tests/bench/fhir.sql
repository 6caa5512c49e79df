-- FHIR rendering: Bundles per second for the two sharing services' reads,
-- rendering only (no gate, no log): a Bodø citizen's current services
-- (EpisodeOfCare + Organizations + Patient) and latest five NEWS2
-- (8 Observations each + Patient), as searchset Bundles, with the SQL
-- builders of before, the jsonb C builders, and the json renderers that
-- write each Bundle once (json_writer.c), which must give the same text.
-- psql -v bundles=N -f tests/bench/fhir.sql (as the DBA, after setup.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- The baselines: the SQL builders deling used before the C ones (src/fhir.c),
-- kept here so that every run compares them and checks they agree.
CREATE FUNCTION bench.fhir_concept(system text, code text, display text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', system, 'code', code, 'display', display)));
$$;
CREATE FUNCTION bench.source_system(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s ~ '^(urn:oid:|urn:uuid:|https?://)' THEN s ELSE 'https://deling.nhn.no/fhir/NamingSystem/source/' || s END;
$$;
CREATE FUNCTION bench.score(v integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('value', v, 'unit', 'score', 'system', 'http://unitsofmeasure.org', 'code', '{ScoreOf}');
$$;
CREATE FUNCTION bench.fhir_datetime_sql(ts timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN (ts AT TIME ZONE 'Europe/Oslo') < (ts AT TIME ZONE 'UTC') THEN '-' ELSE '+' END
        || to_char(abs(extract(epoch FROM (ts AT TIME ZONE 'Europe/Oslo') - (ts AT TIME ZONE 'UTC'))::int) / 3600, 'FM00')
        || ':'
        || to_char(abs(extract(epoch FROM (ts AT TIME ZONE 'Europe/Oslo') - (ts AT TIME ZONE 'UTC'))::int) % 3600 / 60, 'FM00')
$$;
CREATE FUNCTION bench.news2_fhir_sql(m deling.news2_measurement) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    -- PL/pgSQL, so the plan of this large query is cached per session
    RETURN (WITH base AS (
        SELECT jsonb_strip_nulls(jsonb_build_object(
                   'status', m.status,
                   'subject', jsonb_build_object('reference', 'urn:uuid:' || deling.fhir_patient_id(m.pid),
                                                 'identifier', deling.fhir_pid_identifier(m.pid)),
                   'effectiveDateTime', bench.fhir_datetime_sql(m.measured_at),
                   'issued', bench.fhir_datetime_sql(m.received_at),
                   'performer', (SELECT jsonb_agg(p) FROM (VALUES
                       (CASE WHEN m.recorded_by IS NOT NULL THEN jsonb_build_object('type', 'Practitioner', 'identifier',
                           jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.4', 'value', m.recorded_by)) END),
                       (CASE WHEN m.unit_orgnr IS NOT NULL OR m.unit_name IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
                           'type', 'Organization', 'identifier', CASE WHEN m.unit_orgnr IS NOT NULL THEN
                               jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.101', 'value', m.unit_orgnr) END,
                           'display', m.unit_name)) END)) v(p) WHERE p IS NOT NULL))) AS common,
               jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
                   'system', 'http://terminology.hl7.org/CodeSystem/observation-category',
                   'code', 'vital-signs', 'display', 'Vital Signs')))) AS vital,
               deling.news2_subscores(m.resp_rate, m.spo2, m.spo2_scale, m.on_oxygen, m.systolic_bp, m.pulse,
                                      m.consciousness, m.temperature) AS s),
    vs AS (
        SELECT name, deling.fhir_name_uuid(m.measurement_id::text || ':' || name) AS id, resource
        FROM base, LATERAL (VALUES
            ('resp', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/resprate')),
                'code', bench.fhir_concept('http://loinc.org', '9279-1', 'Respiratory rate'),
                'valueQuantity', jsonb_build_object('value', m.resp_rate, 'unit', 'breaths/minute',
                                                    'system', 'http://unitsofmeasure.org', 'code', '/min'))),
            ('spo2', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/oxygensat')),
                'code', jsonb_build_object('coding', jsonb_build_array(
                    jsonb_build_object('system', 'http://loinc.org', 'code', '2708-6', 'display', 'Oxygen saturation in Arterial blood'),
                    jsonb_build_object('system', 'http://loinc.org', 'code', '59408-5',
                                       'display', 'Oxygen saturation in Arterial blood by Pulse oximetry'))),
                'valueQuantity', jsonb_build_object('value', m.spo2, 'unit', '%',
                                                    'system', 'http://unitsofmeasure.org', 'code', '%'))),
            ('oxygen', jsonb_strip_nulls(jsonb_build_object(
                'code', CASE WHEN m.on_oxygen
                    THEN bench.fhir_concept('http://snomed.info/sct', '371825009', 'Patient on oxygen')
                    ELSE bench.fhir_concept('http://snomed.info/sct', '722742002', 'Breathing room air') END,
                'valueQuantity', CASE WHEN m.oxygen_flow IS NOT NULL THEN jsonb_build_object('value', m.oxygen_flow,
                    'unit', 'litre per minute', 'system', 'http://unitsofmeasure.org', 'code', 'l/min') END))),
            ('bp', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/bp')),
                'code', bench.fhir_concept('http://loinc.org', '85354-9', 'Blood pressure panel with all children optional'),
                'component', jsonb_build_array(jsonb_build_object(
                    'code', bench.fhir_concept('http://loinc.org', '8480-6', 'Systolic blood pressure'),
                    'valueQuantity', jsonb_build_object('value', m.systolic_bp, 'unit', 'mmHg',
                                                        'system', 'http://unitsofmeasure.org', 'code', 'mm[Hg]')),
                    jsonb_build_object(
                    'code', bench.fhir_concept('http://loinc.org', '8462-4', 'Diastolic blood pressure'),
                    'dataAbsentReason', bench.fhir_concept('http://terminology.hl7.org/CodeSystem/data-absent-reason',
                                                           'unsupported', 'Unsupported'))))),
            ('pulse', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/heartrate')),
                'code', bench.fhir_concept('http://loinc.org', '8867-4', 'Heart rate'),
                'valueQuantity', jsonb_build_object('value', m.pulse, 'unit', 'beats/minute',
                                                    'system', 'http://unitsofmeasure.org', 'code', '/min'))),
            ('consciousness', jsonb_build_object(
                'code', bench.fhir_concept('http://snomed.info/sct', '1104441000000107', 'ACVPU (alert, new confusion, voice, pain, unresponsive) scale score'),
                'valueCodeableConcept', jsonb_build_object('coding', jsonb_build_array(
                    jsonb_build_object('system', 'http://snomed.info/sct',
                        'code', CASE m.consciousness WHEN 'A' THEN '248234008' WHEN 'C' THEN '130987000' WHEN 'V' THEN '300202002'
                                                     WHEN 'P' THEN '450847001' ELSE '422768004' END,
                        'display', CASE m.consciousness WHEN 'A' THEN 'Mentally alert' WHEN 'C' THEN 'Acute confusion'
                                                        WHEN 'V' THEN 'Responds to voice' WHEN 'P' THEN 'Responds to pain'
                                                        ELSE 'Unresponsive' END),
                    jsonb_build_object(
                    'system', 'https://deling.nhn.no/fhir/CodeSystem/acvpu', 'code', m.consciousness,
                    'display', CASE m.consciousness WHEN 'A' THEN 'Alert' WHEN 'C' THEN 'New confusion' WHEN 'V' THEN 'Voice'
                                                    WHEN 'P' THEN 'Pain' ELSE 'Unresponsive' END))))),
            ('temperature', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/bodytemp')),
                'code', bench.fhir_concept('http://loinc.org', '8310-5', 'Body temperature'),
                'valueQuantity', jsonb_build_object('value', m.temperature, 'unit', 'C',
                                                    'system', 'http://unitsofmeasure.org', 'code', 'Cel')))
        ) AS v(name, resource))
    SELECT jsonb_build_array(jsonb_build_object('mode', 'match', 'resource',
               jsonb_build_object(
                   'resourceType', 'Observation',
                   'id', m.measurement_id,
                   'identifier', jsonb_build_array(jsonb_build_object('system', bench.source_system(m.source_system),
                                                                      'value', m.source_id)),
                   'category', jsonb_build_array(bench.fhir_concept(
                       'http://terminology.hl7.org/CodeSystem/observation-category', 'survey', 'Survey')),
                   'code', bench.fhir_concept('http://snomed.info/sct', '1104051000000101',
                       'Royal College of Physicians NEWS2 (National Early Warning Score 2) total score'),
                   'valueQuantity', jsonb_build_object('value', (s).total, 'unit', 'score',
                                                       'system', 'http://unitsofmeasure.org', 'code', '{ScoreOf}'),
                   'interpretation', jsonb_build_array(jsonb_build_object(
                       'coding', jsonb_build_array(jsonb_build_object('system', 'https://deling.nhn.no/fhir/CodeSystem/news2-risk',
                           'code', (s).risk,
                           'display', CASE (s).risk WHEN 'low' THEN 'Low clinical risk' WHEN 'low-medium' THEN 'Low-medium clinical risk (single parameter 3)'
                                                    WHEN 'medium' THEN 'Medium clinical risk' ELSE 'High clinical risk' END)),
                       'text', (SELECT r.monitoring || '; ' || r.response FROM deling.news2_response((s).total, (s).risk) r))),
                   'component', jsonb_build_array(
                       jsonb_build_object('code', bench.fhir_concept('http://snomed.info/sct', '1104301000000104', 'Respiration rate score'), 'valueQuantity', bench.score((s).respiration_rate)),
                       jsonb_build_object('code', CASE m.spo2_scale WHEN 1
                           THEN bench.fhir_concept('http://snomed.info/sct', '1104311000000102', 'Oxygen saturation scale 1 score')
                           ELSE bench.fhir_concept('http://snomed.info/sct', '1104321000000108', 'Oxygen saturation scale 2 score') END, 'valueQuantity', bench.score((s).spo2)),
                       jsonb_build_object('code', bench.fhir_concept('http://snomed.info/sct', '1104331000000105', 'Air or oxygen score'), 'valueQuantity', bench.score((s).air_or_oxygen)),
                       jsonb_build_object('code', bench.fhir_concept('http://snomed.info/sct', '1104341000000101', 'Systolic blood pressure score'), 'valueQuantity', bench.score((s).systolic_bp)),
                       jsonb_build_object('code', bench.fhir_concept('http://snomed.info/sct', '1104351000000103', 'Pulse score'), 'valueQuantity', bench.score((s).pulse)),
                       jsonb_build_object('code', bench.fhir_concept('http://snomed.info/sct', '1104361000000100', 'Consciousness score'), 'valueQuantity', bench.score((s).consciousness)),
                       jsonb_build_object('code', bench.fhir_concept('http://snomed.info/sct', '1104371000000107', 'Temperature score'), 'valueQuantity', bench.score((s).temperature))),
                   'derivedFrom', (SELECT jsonb_agg(jsonb_build_object('reference', 'urn:uuid:' || vs.id) ORDER BY vs.name) FROM vs))
               || common))
        || (SELECT jsonb_agg(jsonb_build_object('mode', 'include', 'resource',
                jsonb_build_object('resourceType', 'Observation', 'id', vs.id, 'category', vital) || vs.resource || common)
                ORDER BY vs.name) FROM vs)
    FROM base);
END
$$;

CREATE FUNCTION bench.municipal_service_fhir_sql(s deling.municipal_service) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    -- PL/pgSQL, so the plan of this large query is cached per session
    RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
        'resourceType', 'EpisodeOfCare',
        'id', s.service_id,
        'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare'),
                                   'lastUpdated', deling.fhir_datetime(s.received_at)),
        'extension', (SELECT jsonb_agg(x ORDER BY o) FROM (VALUES
            (1, CASE WHEN s.weekly_hours IS NOT NULL THEN jsonb_build_object(
                'url', 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio',
                'valueRatio', jsonb_build_object(
                    'numerator', jsonb_build_object('value', s.weekly_hours, 'unit', 'h', 'system', 'http://unitsofmeasure.org', 'code', 'h'),
                    'denominator', jsonb_build_object('value', 1, 'unit', 'wk', 'system', 'http://unitsofmeasure.org', 'code', 'wk'))) END),
            (2, CASE WHEN s.description IS NOT NULL THEN jsonb_build_object(
                'url', 'http://hl7.no/fhir/ig/okt/StructureDefinition/ServiceDescriptionMarkdown',
                'valueMarkdown', s.description) END)) v(o, x) WHERE x IS NOT NULL),
        'identifier', jsonb_build_array(jsonb_build_object('system', bench.source_system(s.source_system), 'value', s.source_id)),
        'status', deling.municipal_service_fhir_status(s, (now() AT TIME ZONE 'Europe/Oslo')::date),
        'statusHistory', (SELECT jsonb_agg(jsonb_build_object('status', 'onhold', 'period', jsonb_strip_nulls(jsonb_build_object(
                              'start', to_char(first_day, 'YYYY-MM-DD'), 'end', to_char(last_day, 'YYYY-MM-DD'))))
                              ORDER BY first_day NULLS FIRST, o)
                          FROM (SELECT greatest(lower(r), s.period_start) AS first_day,
                                       least(CASE WHEN NOT upper_inf(r) THEN upper(r) - 1 END, s.period_end) AS last_day, o
                                FROM unnest(s.stops) WITH ORDINALITY AS u(r, o) WHERE NOT isempty(r)) st
                          WHERE first_day IS NULL OR last_day IS NULL OR first_day <= last_day),
        'type', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
                    'system', 'urn:oid:2.16.578.1.12.4.1.1.9151', 'code', s.service_code,
                    'display', (SELECT t.name FROM deling.service_type t WHERE t.code = s.service_code)))))
              || CASE WHEN s.stay_type IN ('dagopphold', 'korttidsopphold') THEN jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(
                    jsonb_build_object('system', 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs', 'code', s.stay_type,
                                       'display', initcap(s.stay_type))))) ELSE '[]' END,
        'patient', jsonb_build_object('reference', 'urn:uuid:' || deling.fhir_patient_id(s.pid),
                                      'identifier', deling.fhir_pid_identifier(s.pid)),
        'managingOrganization', jsonb_build_object(
            'reference', 'urn:uuid:' || deling.fhir_unit_id(s.kommune_nr, s.unit_orgnr, s.unit_name),
            'display', coalesce(s.unit_name, (SELECT k.name || ' kommune' FROM deling.kommune k WHERE k.kommune_nr = s.kommune_nr))),
        'period', jsonb_strip_nulls(jsonb_build_object('start', to_char(s.period_start, 'YYYY-MM-DD'),
                                                       'end', to_char(s.period_end, 'YYYY-MM-DD'))))));
END
$$;

-- the services' entries as deling.municipal_services_entries makes them, with the SQL builder
CREATE FUNCTION bench.municipal_services_entries_sql(services deling.municipal_service[]) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    RETURN coalesce((SELECT jsonb_agg(jsonb_build_object('mode', 'match', 'resource', bench.municipal_service_fhir_sql(services[i]))
                                      ORDER BY i)
                     FROM generate_subscripts(services, 1) i), '[]')
        || coalesce((SELECT jsonb_agg(jsonb_build_object('mode', 'include', 'resource', u) ORDER BY u->>'id')
                     FROM (SELECT DISTINCT deling.fhir_unit(s.kommune_nr, s.unit_orgnr, s.unit_name, s.unit_phone) AS u
                           FROM unnest(services) s) units), '[]');
END
$$;

-- correctness first: the C builders give the same resources as the SQL ones
-- on every measurement and every service of 2,000 citizens (UUIDs and
-- times included)
DO $$
DECLARE
    bad bigint;
    seen bigint;
BEGIN
    SELECT count(*) FILTER (WHERE deling.news2_fhir(m) IS DISTINCT FROM bench.news2_fhir_sql(m)), count(*)
    INTO bad, seen
    FROM deling.news2_measurement m
    WHERE m.kommune_nr = '1804' AND m.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000);
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the C and SQL NEWS2 builders differ on % of % measurements', bad, seen;
    END IF;
    SELECT count(*) FILTER (WHERE deling.municipal_service_fhir(s, deling.municipal_service_fhir_status(s, (now() AT TIME ZONE 'Europe/Oslo')::date),
                                                                t.name, k.name)
                                  IS DISTINCT FROM jsonb_build_object('mode', 'match', 'resource', bench.municipal_service_fhir_sql(s))),
           count(*)
    INTO bad, seen
    FROM deling.municipal_service s
    LEFT JOIN deling.service_type t ON t.code = s.service_code
    LEFT JOIN deling.kommune k ON k.kommune_nr = s.kommune_nr
    WHERE s.kommune_nr = '1804' AND s.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000);
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the C and SQL EpisodeOfCare builders differ on % of % services', bad, seen;
    END IF;
    -- the json renderers give, byte for byte, the jsonb builders' text: every
    -- measurement (with and without its vital signs), every citizen's
    -- services in a read's order, every Patient, of the same 2,000 citizens
    SELECT count(*) FILTER (WHERE deling.news2_entries_json(ARRAY[m])::text IS DISTINCT FROM deling.news2_fhir(m)::json::text
                               OR deling.news2_entries_json(ARRAY[m], false)::text IS DISTINCT FROM deling.news2_fhir(m, false)::json::text),
           count(*)
    INTO bad, seen
    FROM deling.news2_measurement m
    WHERE m.kommune_nr = '1804' AND m.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000);
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the json and jsonb NEWS2 renderers differ on % of % measurements', bad, seen;
    END IF;
    SELECT count(*) FILTER (WHERE deling.municipal_services_entries_json(a)::text IS DISTINCT FROM deling.municipal_services_entries(a)::json::text
                               OR deling.fhir_patient_json(pid, ARRAY['1804'])::text IS DISTINCT FROM deling.fhir_patient(pid, ARRAY['1804'])::json::text),
           count(*)
    INTO bad, seen
    FROM (SELECT s.pid, array_agg(s ORDER BY s.period_start DESC, s.service_code, s.service_id) AS a
          FROM deling.municipal_service s
          WHERE s.kommune_nr = '1804' AND s.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000)
          GROUP BY s.pid) x;
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the json and jsonb services or Patient renderers differ for % of % citizens', bad, seen;
    END IF;
    IF EXISTS (SELECT FROM generate_series(timestamptz '2026-01-01', '2027-01-01', interval '7 hours 13 minutes') t
               WHERE deling.fhir_datetime(t) IS DISTINCT FROM bench.fhir_datetime_sql(t)) THEN
        RAISE EXCEPTION 'BENCH FAILED: the C and SQL fhir_datetime differ';
    END IF;
END
$$;

-- render(kind, n, count): n Bundles of deterministic Bodø citizens; the
-- resources rendered (counted only when asked: the timed runs do not count)
CREATE FUNCTION bench.render(kind text, n integer, count boolean DEFAULT true) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
    p text;
    k text[] := ARRAY['1804'];
    b jsonb;
    j json;
    rows deling.news2_measurement[];
    resources bigint := 0;
BEGIN
    SELECT min(l.n), max(l.n) INTO lo, hi FROM bench.lookup l WHERE l.kommune_nr = '1804';
    FOR i IN 1..n LOOP
        SELECT l.pid INTO p FROM bench.lookup l WHERE l.n = lo + (i::bigint * 7919) % (hi - lo + 1);
        IF kind = 'news2-json' THEN
            rows := ARRAY(SELECT m FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, 5, NULL, NULL) m);
            j := deling.fhir_searchset_json(deling.news2_entries_json(rows), deling.fhir_entry_json('include', deling.fhir_patient_json(p, k)), 5);
            IF count THEN
                resources := resources + json_array_length(j->'entry');
            END IF;
            CONTINUE;
        ELSIF kind = 'services-json' THEN
            j := deling.fhir_searchset_json(deling.municipal_services_entries_json(ARRAY(SELECT s FROM deling.municipal_services_rows(p, k, '{}', '{}', true, NULL, NULL, NULL, NULL) s)),
                     deling.fhir_entry_json('include', deling.fhir_patient_json(p, k)), 1);
            IF count THEN
                resources := resources + json_array_length(j->'entry');
            END IF;
            CONTINUE;
        ELSIF kind IN ('news2', 'news2-sql') THEN
            b := deling.fhir_bundle('searchset',
                     (SELECT coalesce(jsonb_agg(e ORDER BY m.measured_at DESC, m.measurement_id, o), '[]')
                      FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, 5, NULL, NULL) m,
                           jsonb_array_elements(CASE kind WHEN 'news2' THEN deling.news2_fhir(m) ELSE bench.news2_fhir_sql(m) END)
                           WITH ORDINALITY AS x(e, o))
                     || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(p, k))), 5);
        ELSE
            b := deling.fhir_bundle('searchset',
                     CASE kind WHEN 'services'
                          THEN deling.municipal_services_entries(ARRAY(SELECT s FROM deling.municipal_services_rows(p, k, '{}', '{}', true, NULL, NULL, NULL, NULL) s))
                          ELSE bench.municipal_services_entries_sql(ARRAY(SELECT s FROM deling.municipal_services_rows(p, k, '{}', '{}', true, NULL, NULL, NULL, NULL) s)) END
                     || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(p, k))), 1);
        END IF;
        IF count THEN
            resources := resources + jsonb_array_length(b->'entry');
        END IF;
    END LOOP;
    RETURN resources;
END
$$;

SELECT bench.render('news2', 10) > 0 AND bench.render('services', 10) > 0
       AND bench.render('news2-json', 10) = bench.render('news2', 10) AND bench.render('services-json', 10) = bench.render('services', 10) AS renders \gset
\if :renders
\else
SELECT bench.fail('nothing rendered');
\endif
SELECT bench.render('news2', :bundles) / :bundles::numeric AS news2_resources,
       bench.render('services', :bundles) / :bundles::numeric AS services_resources \gset
SELECT bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'news2', :bundles), 1) / :bundles AS news2_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'news2-sql', :bundles), 1) / :bundles AS news2_sql_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'services', :bundles), 1) / :bundles AS services_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'services-sql', :bundles), 1) / :bundles AS services_sql_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'news2-json', :bundles), 1) / :bundles AS news2_json_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'services-json', :bundles), 1) / :bundles AS services_json_us \gset
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio) VALUES
    ('FHIR rendering', format('NEWS2 searchset Bundle, latest 5 (%s resources on average), SQL builder (before)', round(:news2_resources, 1)),
     round(1e6 / :news2_sql_us), 'Bundles/s', NULL, NULL),
    ('FHIR rendering', 'the same Bundle, C builder (deling.news2_fhir)', round(1e6 / :news2_us), 'Bundles/s',
     'SQL builder', round(:news2_sql_us / :news2_us, 2)),
    ('FHIR rendering', format('services searchset Bundle (%s resources on average), SQL builder (before)', round(:services_resources, 1)),
     round(1e6 / :services_sql_us), 'Bundles/s', NULL, NULL),
    ('FHIR rendering', 'the same Bundle, C builder (deling.municipal_service_fhir)', round(1e6 / :services_us), 'Bundles/s',
     'SQL builder', round(:services_sql_us / :services_us, 2)),
    ('FHIR rendering', 'the NEWS2 Bundle, json renderers (deling.news2_entries_json, deling.fhir_searchset_json)', round(1e6 / :news2_json_us), 'Bundles/s',
     'C builder', round(:news2_us / :news2_json_us, 2)),
    ('FHIR rendering', 'the services Bundle, json renderers (deling.municipal_services_entries_json, deling.fhir_searchset_json)', round(1e6 / :services_json_us), 'Bundles/s',
     'C builder', round(:services_us / :services_json_us, 2));
