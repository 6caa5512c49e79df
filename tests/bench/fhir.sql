-- FHIR rendering: Bundles per second for the two sharing services' reads,
-- rendering only (no gate, no log): a Bodø citizen's current services
-- (EpisodeOfCare + Organizations + Patient) and latest five NEWS2
-- (8 Observations each + Patient), as searchset Bundles.
-- psql -v bundles=N -f tests/bench/fhir.sql (as the DBA, after setup.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- render(kind, n): n Bundles of deterministic Bodø citizens; the resources rendered
CREATE FUNCTION bench.render(kind text, n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
    p text;
    k text[] := ARRAY['1804'];
    b jsonb;
    resources bigint := 0;
BEGIN
    SELECT min(l.n), max(l.n) INTO lo, hi FROM bench.lookup l WHERE l.kommune_nr = '1804';
    FOR i IN 1..n LOOP
        SELECT l.pid INTO p FROM bench.lookup l WHERE l.n = lo + (i::bigint * 7919) % (hi - lo + 1);
        IF kind = 'news2' THEN
            b := deling.fhir_bundle('searchset',
                     (SELECT coalesce(jsonb_agg(e ORDER BY m.measured_at DESC, m.measurement_id, o), '[]')
                      FROM deling.news2_rows(p, k, NULL, 5) m, jsonb_array_elements(deling.news2_fhir(m)) WITH ORDINALITY AS x(e, o))
                     || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(p, k))), 5);
        ELSE
            b := deling.fhir_bundle('searchset',
                     deling.municipal_services_entries((deling.municipal_services_of(p, k, 'TREAT', false)).services)
                     || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(p, k))), 1);
        END IF;
        resources := resources + jsonb_array_length(b->'entry');
    END LOOP;
    RETURN resources;
END
$$;

SELECT bench.render('news2', 10) > 0 AND bench.render('services', 10) > 0 AS renders \gset
\if :renders
\else
SELECT bench_failed('nothing rendered');
\endif
SELECT bench.render('news2', :bundles) / :bundles::numeric AS news2_resources,
       bench.render('services', :bundles) / :bundles::numeric AS services_resources \gset
SELECT bench.per_call_us(format('SELECT bench.render(%L, %s)', 'news2', :bundles), 1) / :bundles AS news2_us,
       bench.per_call_us(format('SELECT bench.render(%L, %s)', 'services', :bundles), 1) / :bundles AS services_us \gset
INSERT INTO bench.result (area, measure, value, unit) VALUES
    ('FHIR rendering', format('NEWS2 searchset Bundle, latest 5 (%s resources on average), SQL builder', round(:news2_resources, 1)),
     round(1e6 / :news2_us), 'Bundles/s'),
    ('FHIR rendering', format('services searchset Bundle (%s resources on average), SQL builder', round(:services_resources, 1)),
     round(1e6 / :services_us), 'Bundles/s');
