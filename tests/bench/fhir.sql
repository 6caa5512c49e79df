-- FHIR rendering: Bundles per second for the two sharing services' reads,
-- rendering only (no gate, no log): a Bodø citizen's current services
-- (EpisodeOfCare + Organizations + Patient) and latest five NEWS2
-- (8 Observations each + Patient), as searchset Bundles, with the SQL
-- builders of before and with the json renderers the reads use, which
-- write each Bundle once (json_writer.c) and must give the same text.
-- psql -v bundles=N -f tests/bench/fhir.sql (as the DBA, after setup.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- The baselines: the SQL builders deling used before the C ones, with the
-- Patient, unit and Bundle of 0.1.0 re-stated in SQL (schema fhir_sql, the
-- oracle sql/17_fhir_json.sql checks the renderers against too)
\i sql/include/fhir_sql_builders.psql

-- correctness first: the json renderers give, byte for byte, the SQL
-- builders' text on every measurement (with and without its vital signs,
-- and the legevakt summary's), every citizen's services in a read's
-- order, every Patient, of 2,000 Bodø citizens (UUIDs and times included)
DO $$
DECLARE
    bad bigint;
    seen bigint;
BEGIN
    SELECT count(*) FILTER (WHERE deling.news2_entries_json(ARRAY[m])::text IS DISTINCT FROM fhir_sql.news2_entries(m)::text
                               OR deling.news2_entries_json(ARRAY[m], false)::text IS DISTINCT FROM fhir_sql.news2_entries(m, false)::text),
           count(*)
    INTO bad, seen
    FROM deling.news2_measurement m
    WHERE m.kommune_nr = '1804' AND m.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000);
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the json renderer and the SQL builder of NEWS2 differ on % of % measurements', bad, seen;
    END IF;
    SELECT count(*) FILTER (WHERE deling.news2_summary_entries_json(a)::text IS DISTINCT FROM
                                  (SELECT jsonb_agg(e ORDER BY i, o)::text FROM generate_subscripts(a, 1) i,
                                          jsonb_array_elements(fhir_sql.news2_entries(a[i], i = 1)) WITH ORDINALITY x(e, o))),
           count(*)
    INTO bad, seen
    FROM (SELECT (array_agg(m ORDER BY m.measured_at DESC, m.measurement_id))[1:5] AS a
          FROM deling.news2_measurement m
          WHERE m.kommune_nr = '1804' AND m.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000)
          GROUP BY m.pid) x;
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the json renderer and the SQL builder of the summary''s NEWS2 differ for % of % citizens', bad, seen;
    END IF;
    SELECT count(*) FILTER (WHERE deling.municipal_services_entries_json(a)::text IS DISTINCT FROM fhir_sql.services_entries(a)::text
                               OR deling.fhir_patient_json(pid, ARRAY['1804'])::text IS DISTINCT FROM fhir_sql.patient(pid, ARRAY['1804'])::text),
           count(*)
    INTO bad, seen
    FROM (SELECT s.pid, array_agg(s ORDER BY s.period_start DESC, s.service_code, s.service_id) AS a
          FROM deling.municipal_service s
          WHERE s.kommune_nr = '1804' AND s.pid IN (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 2000)
          GROUP BY s.pid) x;
    IF bad > 0 OR seen = 0 THEN
        RAISE EXCEPTION 'BENCH FAILED: the json renderers and the SQL builders of services or the Patient differ for % of % citizens', bad, seen;
    END IF;
    IF EXISTS (SELECT FROM generate_series(timestamptz '2026-01-01', '2027-01-01', interval '7 hours 13 minutes') t
               WHERE deling.fhir_datetime(t) IS DISTINCT FROM fhir_sql.datetime(t)) THEN
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
        IF kind = 'news2' THEN
            rows := ARRAY(SELECT m FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, 5, NULL, NULL) m);
            j := deling.fhir_searchset_json(deling.news2_entries_json(rows), deling.fhir_entry_json('include', deling.fhir_patient_json(p, k)), 5);
        ELSIF kind = 'services' THEN
            j := deling.fhir_searchset_json(deling.municipal_services_entries_json(ARRAY(SELECT s FROM deling.municipal_services_rows(p, k, '{}', '{}', true, NULL, NULL, NULL, NULL) s)),
                     deling.fhir_entry_json('include', deling.fhir_patient_json(p, k)), 1);
        ELSIF kind = 'news2-sql' THEN
            b := fhir_sql.bundle('searchset',
                     (SELECT coalesce(jsonb_agg(e ORDER BY m.measured_at DESC, m.measurement_id, o), '[]')
                      FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, 5, NULL, NULL) m,
                           jsonb_array_elements(fhir_sql.news2_entries(m)) WITH ORDINALITY AS x(e, o))
                     || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', fhir_sql.patient(p, k))), 5);
        ELSE
            b := fhir_sql.bundle('searchset',
                     fhir_sql.services_entries(ARRAY(SELECT s FROM deling.municipal_services_rows(p, k, '{}', '{}', true, NULL, NULL, NULL, NULL) s))
                     || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', fhir_sql.patient(p, k))), 1);
        END IF;
        IF count THEN
            resources := resources + CASE WHEN kind LIKE '%-sql' THEN jsonb_array_length(b->'entry') ELSE json_array_length(j->'entry') END;
        END IF;
    END LOOP;
    RETURN resources;
END
$$;

SELECT bench.render('news2', 10) > 0 AND bench.render('services', 10) > 0
       AND bench.render('news2-sql', 10) = bench.render('news2', 10) AND bench.render('services-sql', 10) = bench.render('services', 10) AS renders \gset
\if :renders
\else
SELECT bench.fail('nothing rendered');
\endif
SELECT bench.render('news2', :bundles) / :bundles::numeric AS news2_resources,
       bench.render('services', :bundles) / :bundles::numeric AS services_resources \gset
SELECT bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'news2-sql', :bundles), 1) / :bundles AS news2_sql_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'services-sql', :bundles), 1) / :bundles AS services_sql_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'news2', :bundles), 1) / :bundles AS news2_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s, false)', 'services', :bundles), 1) / :bundles AS services_us \gset
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio) VALUES
    ('FHIR rendering', format('NEWS2 searchset Bundle, latest 5 (%s resources on average), SQL builder (before)', round(:news2_resources, 1)),
     round(1e6 / :news2_sql_us), 'Bundles/s', NULL, NULL),
    ('FHIR rendering', 'the same Bundle, json renderers (deling.news2_entries_json, deling.fhir_searchset_json)', round(1e6 / :news2_us), 'Bundles/s',
     'SQL builder', round(:news2_sql_us / :news2_us, 2)),
    ('FHIR rendering', format('services searchset Bundle (%s resources on average), SQL builder (before)', round(:services_resources, 1)),
     round(1e6 / :services_sql_us), 'Bundles/s', NULL, NULL),
    ('FHIR rendering', 'the same Bundle, json renderers (deling.municipal_services_entries_json, deling.fhir_searchset_json)', round(1e6 / :services_us), 'Bundles/s',
     'SQL builder', round(:services_sql_us / :services_us, 2));
