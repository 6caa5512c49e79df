-- kartlegginger: standardized assessments (Braden, MNA-SF, Morse Fall
-- Scale) and IPLOS function assessments.  Run by t/055_services.pl as
-- the superuser in the security suite's platform database; every check a
-- line "ok - ..." / "not ok - ...", every FHIR document a line "fhir <name>
-- <json>" that the runner validates against the FHIR R4 schema.  Callers
-- act as the suite's logins: Bodø's and Bærum's EPJ integrations (bound
-- logins, and one by token), doctors at Bodø legevakt and at Asker og
-- Bærum legevakt (HelseID tokens with a Tillitsrammeverk attestation), the
-- citizen's channel.  Totals and bands are computed here independently of
-- the platform (the points of each answer written out below, the bands as
-- the definitions' sources give them).
\c - postgres
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS kt CASCADE;
CREATE SCHEMA kt;
GRANT USAGE ON SCHEMA kt TO PUBLIC;

-- refusal(sql): the error a statement raises as the caller, as
-- {"state", "message", "detail" (a batch's per-item report, parsed)}; NULL
-- when it succeeds
CREATE FUNCTION kt.refusal(sql text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN jsonb_build_object('state', st, 'message', msg,
                              'detail', CASE WHEN det LIKE '[%' THEN det::jsonb ELSE to_jsonb(nullif(det, '')) END);
END
$$;

-- item(pid, source_id, instrument, items, performed_at, extra): an ingest item
CREATE FUNCTION kt.item(pid text, source_id text, instrument text, items jsonb, performed_at text, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT jsonb_build_object('pid', pid, 'source_system', 'kt-test', 'source_id', source_id, 'instrument', instrument,
                              'items', items, 'performed_at', performed_at) || extra;
$$;

-- points: every answer's points as the instruments' forms print them
-- (Braden & Bergstrom; Morse; MNA-SF), by answer code or by points
CREATE TABLE kt.answer (instrument text, code text, points integer);
INSERT INTO kt.answer VALUES
    ('braden', 'LA9603-7', 1), ('braden', 'LA9604-5', 2), ('braden', 'LA9605-2', 3), ('braden', 'LA9606-0', 4),
    ('braden', 'LA9607-8', 1), ('braden', 'LA9608-6', 2), ('braden', 'LA9609-4', 3), ('braden', 'LA9610-2', 4),
    ('braden', 'LA6742-6', 1), ('braden', 'LA9611-0', 2), ('braden', 'LA9612-8', 3), ('braden', 'LA9613-6', 4),
    ('braden', 'LA9614-4', 1), ('braden', 'LA120-8', 4),
    ('braden', 'LA9615-1', 1), ('braden', 'LA9616-9', 2), ('braden', 'LA8913-1', 3), ('braden', 'LA9206-9', 4),
    ('braden', 'LA9617-7', 1), ('braden', 'LA9618-5', 2), ('braden', 'LA9619-3', 3),
    ('morse-yes', 'LA32-8', 0), ('morse-aid', 'LA13030-4', 0), ('morse-aid', 'LA13031-2', 15), ('morse-aid', 'LA13032-0', 30),
    ('morse-gait', 'LA13033-8', 0), ('morse-gait', 'LA13034-6', 10), ('morse-gait', 'LA13035-3', 20),
    ('morse-mental', 'LA13036-1', 0), ('morse-mental', 'LA13037-9', 15);
-- the Morse "Yes" answer (LA33-6) is worth what its item gives
CREATE FUNCTION kt.points(instrument text, item text, v jsonb) RETURNS numeric
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT CASE
        WHEN jsonb_typeof(v) = 'number' AND instrument = 'mna-sf' AND item = 'F1'
             THEN CASE WHEN v::numeric < 19 THEN 0 WHEN v::numeric < 21 THEN 1 WHEN v::numeric < 23 THEN 2 ELSE 3 END
        WHEN jsonb_typeof(v) = 'number' AND instrument = 'mna-sf' AND item = 'F2'
             THEN CASE WHEN v::numeric < 31 THEN 0 ELSE 3 END
        WHEN jsonb_typeof(v) = 'number' THEN v::numeric
        WHEN v #>> '{}' = 'LA33-6' THEN CASE item WHEN 'history_of_falling' THEN 25 WHEN 'secondary_diagnosis' THEN 15 WHEN 'iv_access' THEN 20 END
        ELSE (SELECT a.points FROM kt.answer a WHERE a.code = v #>> '{}' LIMIT 1) END;
$$;
CREATE FUNCTION kt.total(instrument text, items jsonb) RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT sum(kt.points(instrument, e.key, e.value))::integer FROM jsonb_each(items) e;
$$;
-- the bands: Braden (VA/Braden & Bergstrom) <=9, 10-12, 13-14, 15-18, 19-23;
-- MNA-SF 0-7, 8-11, 12-14; Morse (LOINC answer list) 0-24, 25-45 (49), 50+
CREATE FUNCTION kt.band(instrument text, total integer) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE instrument
        WHEN 'braden' THEN CASE WHEN total <= 9 THEN 'very-high' WHEN total <= 12 THEN 'high' WHEN total <= 14 THEN 'moderate'
                                WHEN total <= 18 THEN 'mild' ELSE 'none' END
        WHEN 'mna-sf' THEN CASE WHEN total <= 7 THEN 'malnourished' WHEN total <= 11 THEN 'at-risk' ELSE 'normal' END
        WHEN 'morse' THEN CASE WHEN total <= 24 THEN 'low' WHEN total <= 49 THEN 'moderate' ELSE 'high' END END;
$$;
-- obs(bundle): the Observations of a Bundle
CREATE FUNCTION kt.obs(bundle jsonb) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT e->'resource' FROM jsonb_array_elements(coalesce(bundle->'entry', '[]')) e
    WHERE e->'resource'->>'resourceType' = 'Observation';
$$;
-- source(o): an Observation's source id (its identifier's value)
CREATE FUNCTION kt.source(o jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT o->'identifier'->0->>'value';
$$;
GRANT SELECT ON ALL TABLES IN SCHEMA kt TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kt TO PUBLIC;

-- the citizens of this test: new to the platform (registered by ingest)
SELECT deling.synthetic_fnr('1931-03-07', 41) AS p1, deling.synthetic_fnr('1934-05-11', 42) AS p2,
       deling.synthetic_fnr('1940-10-20', 43) AS p3, deling.synthetic_fnr('1929-12-01', 44) AS p4,
       deling.synthetic_fnr('1952-08-15', 45) AS p5 \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.citizen c WHERE c.pid IN (:'p1', :'p2', :'p3', :'p4', :'p5')),
              'the test''s five citizens are new to the platform');
SELECT sec.pid('1804', 3) AS bodo_synthetic \gset

-- =====================================================================
-- Opt-in: off for every existing kommune after the update, and for a
-- kommune added later
-- =====================================================================
SELECT sec.ok(s.available AND s.declaration->>'table' = 'assessment' AND s.declaration ? 'synthetic',
              'kartlegginger is declared (table deling.assessment, synthetic items declared)')
FROM deling.service s WHERE s.service_code = 'kartlegginger';
DROP DATABASE IF EXISTS kartlegginger_upgrade;
CREATE DATABASE kartlegginger_upgrade;
\c kartlegginger_upgrade postgres
SET client_min_messages = warning;
CREATE EXTENSION deling VERSION '0.2.0';
SELECT deling.generate_synthetic(30, 3) IS NOT NULL AS loaded \gset
SELECT count(*) AS before FROM deling.kommune_service \gset
ALTER EXTENSION deling UPDATE TO '0.3.0';
SELECT count(*) AS after FROM deling.kommune_service \gset
SELECT deling.add_kommune('1841', 'Fauske', deling.synthetic_orgnr(1841)) IS NOT NULL AS added \gset
SELECT (:before = :after AND NOT EXISTS (SELECT FROM deling.kommune_service WHERE service_code = 'kartlegginger')
        AND EXISTS (SELECT FROM deling.service WHERE service_code = 'kartlegginger' AND available)) AS off_by_default \gset
SELECT (deling.current_kommune_for('kartlegginger') IS NULL) AS x \gset
\c platform postgres
DROP DATABASE kartlegginger_upgrade;
SELECT sec.ok(:'off_by_default', 'updating 0.2.0 to 0.3.0 adds kartlegginger off for every kommune (Bodø, Bærum, Asker), and a kommune added later has it off');
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.kommune_service WHERE kommune_nr = '3203' AND service_code = 'kartlegginger'),
              'here Asker has not opted in');
-- Bodø and Bærum opt in (the suite's setup does; again here, idempotent)
SELECT deling.enable_service('1804', 'kartlegginger') IS NULL AS e1, deling.enable_service('3201', 'kartlegginger') IS NULL AS e2 \gset
-- Asker's EPJ integration, for the refusals of a kommune that has not opted in
DROP ROLE IF EXISTS kt_epj_asker;
CREATE ROLE kt_epj_asker LOGIN IN ROLE deling_integrasjon;
SELECT deling.bind_integration('kt_epj_asker', '3203') IS NULL AS bound \gset
-- an integration login with no binding: its kommune comes from its token
DROP ROLE IF EXISTS kt_epj_token;
CREATE ROLE kt_epj_token LOGIN IN ROLE deling_integrasjon;

-- =====================================================================
-- Ingest (JSON): one assessment
-- =====================================================================
\c - sec_epj_bodo
SELECT api.kartlegginger_ingest(kt.item(:'p1', 'braden-1', 'braden',
           '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}',
           '2026-03-02T09:30:00+01:00',
           '{"performer": "565501872", "unit_name": "Hjemmesykepleien sone 2", "unit_orgnr": "972418013"}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'created' AND (:'r')::jsonb->>'status' = 'final' AND (:'r')::jsonb->>'version' = '1'
              AND ((:'r')::jsonb->>'total')::int = 14 AND (:'r')::jsonb->>'band' = 'moderate'
              AND (:'r')::jsonb->>'assessment_id' ~ '^[0-9a-f-]{36}$',
              'one Braden assessment: created, its report gives the platform''s total 14 and band moderate (' || (:'r')::jsonb::text || ')');
SELECT (:'r')::jsonb->>'assessment_id' AS braden1 \gset
SELECT sec.ok(a.total = kt.total('braden', '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}')
              AND a.band = kt.band('braden', a.total) AND a.variable IS NULL AND a.performer = '565501872'
              AND a.unit_orgnr = '972418013' AND a.kommune_nr = '1804' AND a.pid = :'p1'
              AND a.performed_at = '2026-03-02 08:30:00+00',
              'it is stored with the total and band computed here, its performer, unit and time')
FROM deling.assessment a WHERE a.assessment_id = :'braden1';
-- re-sent: nothing changes
SELECT api.kartlegginger_ingest(kt.item(:'p1', 'braden-1', 'braden',
           '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}',
           '2026-03-02T09:30:00+01:00',
           '{"performer": "565501872", "unit_name": "Hjemmesykepleien sone 2", "unit_orgnr": "972418013"}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'unchanged' AND (:'r')::jsonb->>'assessment_id' = :'braden1' AND (:'r')::jsonb->>'version' = '1',
              're-sending it is idempotent: unchanged, the same assessment_id, version 1');
-- the same answers by their LOINC answer codes, and the sender's (right) total
SELECT api.kartlegginger_ingest(kt.item(:'p1', 'braden-1', 'braden',
           '{"sensory_perception": "LA9605-2", "moisture": "LA9608-6", "activity": "LA9611-0", "mobility": "LA9605-2", "nutrition": "LA9616-9", "friction_shear": "LA9618-5"}',
           '2026-03-02T09:30:00+01:00',
           '{"total": 14, "performer": "565501872", "unit_name": "Hjemmesykepleien sone 2", "unit_orgnr": "972418013"}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'unchanged',
              'the same answers sent as LOINC answer codes with the sender''s total are the same assessment: unchanged');
SELECT sec.ok(a.items = '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}',
              'items are stored as points, whichever form the sender used')
FROM deling.assessment a WHERE a.assessment_id = :'braden1';
-- a later Braden of the same citizen
SELECT api.kartlegginger_ingest(kt.item(:'p1', 'braden-2', 'braden',
           '{"sensory_perception": 2, "moisture": 2, "activity": 1, "mobility": 2, "nutrition": 2, "friction_shear": 1}',
           '2026-04-06T10:00:00+02:00', '{"total": 10}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'created' AND (:'r')::jsonb->>'total' = '10' AND (:'r')::jsonb->>'band' = 'high',
              'a later Braden with the sender''s total 10: created, band high');
SELECT (:'r')::jsonb->>'assessment_id' AS braden2 \gset

-- amendment: a changed item amends the assessment, the old version kept
SELECT api.kartlegginger_ingest(kt.item(:'p1', 'braden-1', 'braden',
           '{"sensory_perception": 3, "moisture": 3, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}',
           '2026-03-02T09:30:00+01:00',
           '{"performer": "565501872", "unit_name": "Hjemmesykepleien sone 2", "unit_orgnr": "972418013"}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'status' = 'amended' AND (:'r')::jsonb->>'version' = '2'
              AND (:'r')::jsonb->>'total' = '15' AND (:'r')::jsonb->>'band' = 'mild' AND (:'r')::jsonb->>'assessment_id' = :'braden1',
              'a corrected item amends it: status amended, version 2, total 15 and band mild recomputed, the same id');
SELECT sec.ok(count(*) = 1 AND min(h.total) = 14 AND min(h.band) = 'moderate' AND min(h.version) = 1 AND min(h.status) = 'final',
              'the history keeps version 1 (total 14, moderate, final)')
FROM deling.assessment_history h WHERE h.assessment_id = :'braden1';

-- =====================================================================
-- Ingest (JSON): a batch, all or nothing with a per-item report
-- =====================================================================
SELECT count(*) AS rows_before FROM deling.assessment \gset
SELECT kt.refusal(format('SELECT api.kartlegginger_ingest_batch(%L)', jsonb_build_array(
    kt.item(:'p2', 'batch-ok-1', 'morse', '{"history_of_falling": 0, "secondary_diagnosis": 15, "ambulatory_aid": 15, "iv_access": 0, "gait": 10, "mental_status": 0}', '2026-05-01T08:00:00+02:00'),
    kt.item(:'p2', 'batch-bad-1', 'morse', '{"history_of_falling": 25, "secondary_diagnosis": 15, "ambulatory_aid": 0, "iv_access": 0, "gait": 10, "mental_status": 0}', '2026-05-01T08:00:00+02:00', '{"total": 45}'),
    kt.item(:'p2', 'batch-ok-2', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00'),
    kt.item(:'p2', 'batch-bad-2', 'braden', '{"sensory_perception": 3, "moisture": 5, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}', '2026-05-01T08:00:00+02:00'),
    kt.item(:'p2', 'batch-bad-3', 'katz', '{"bathing": 1}', '2026-05-01T08:00:00+02:00')))) AS e \gset
SELECT sec.ok((:'e')::jsonb->>'state' = '22023' AND (:'e')::jsonb->>'message' LIKE 'Kartlegginger batch rejected: 3 of 5 item(s) invalid; nothing was written',
              'a batch with three bad assessments of five is refused whole (22023): ' || ((:'e')::jsonb->>'message'));
SELECT sec.ok(jsonb_array_length((:'e')::jsonb->'detail') = 3
              AND (:'e')::jsonb->'detail'->0 @> '{"item": 2, "source_id": "batch-bad-1", "error": "morse: the sender''s total 45 disagrees with the items'' total 50"}'
              AND (:'e')::jsonb->'detail'->1 @> '{"item": 4, "source_id": "batch-bad-2"}'
              AND (:'e')::jsonb->'detail'->1->>'error' LIKE 'braden: item "moisture" is 5, not one of its answers: 1 (LA9607-8), 2 (LA9608-6), 3 (LA9609-4), 4 (LA9610-2)%'
              AND (:'e')::jsonb->'detail'->2 @> '{"item": 5, "source_id": "batch-bad-3", "error": "instrument \"katz\" is not one of braden, iplos, mna-sf, morse"}',
              'its report names every bad item (2: total disagrees, 4: moisture 5, 5: unknown instrument): ' || ((:'e')::jsonb->>'detail'));
SELECT sec.ok(count(*) = :rows_before, 'nothing of the refused batch was written') FROM deling.assessment;
SELECT api.kartlegginger_ingest_batch(jsonb_build_array(
    kt.item(:'p2', 'batch-ok-1', 'morse', '{"history_of_falling": 0, "secondary_diagnosis": 15, "ambulatory_aid": 15, "iv_access": 0, "gait": 10, "mental_status": 0}', '2026-05-01T08:00:00+02:00'),
    kt.item(:'p2', 'batch-ok-2', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00'),
    kt.item(:'p2', 'batch-ok-3', 'mna-sf', '{"A": 1, "B": 2, "C": 1, "D": 2, "E": 1, "F2": 30.5}', '2026-05-01T08:00:00+02:00', '{"total": 7}'),
    kt.item(:'p1', 'braden-2', 'braden', '{"sensory_perception": 2, "moisture": 2, "activity": 1, "mobility": 2, "nutrition": 2, "friction_shear": 1}', '2026-04-06T10:00:00+02:00'))) AS r \gset
SELECT sec.ok((:'r')::jsonb @> '{"kommune_nr": "1804", "received": 4, "created": 3, "amended": 0, "unchanged": 1}'
              AND (SELECT array_agg(x->>'result' || ':' || coalesce(x->>'total', '-') || ':' || coalesce(x->>'band', '-') ORDER BY (x->>'item')::int)
                   FROM jsonb_array_elements((:'r')::jsonb->'items') x)
                  = ARRAY['created:40:moderate', 'created:-:-', 'created:7:malnourished', 'unchanged:10:high'],
              'the corrected batch: a per-item report (Morse 40 moderate; IPLOS with no total or band; MNA-SF 7 malnourished; a re-sent Braden unchanged): '
              || ((:'r')::jsonb->>'items'));
SELECT sec.ok(a.variable = 'syn' AND a.total IS NULL AND a.band IS NULL AND a.items = '{"syn": 2}',
              'an IPLOS assessment is one variable: stored with its variable, no total, no band')
FROM deling.assessment a WHERE a.source_id = 'batch-ok-2';

-- =====================================================================
-- Refusals, each with its SQLSTATE and message
-- =====================================================================
CREATE TEMP TABLE refusals AS
SELECT what, expected_state, expected, kt.refusal(format('SELECT api.kartlegginger_ingest(%L)', item)) AS e
FROM (VALUES
    ('an unknown instrument', '22023', 'instrument "barthel" is not one of braden, iplos, mna-sf, morse',
     kt.item(:'p3', 'r1', 'barthel', '{"x": 1}', '2026-05-01T08:00:00+02:00')),
    ('an unknown item', '22023', 'braden: unknown item "turning" (its items: sensory_perception, moisture, activity, mobility, nutrition, friction_shear)',
     kt.item(:'p3', 'r2', 'braden', '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2, "turning": 1}', '2026-05-01T08:00:00+02:00')),
    ('a missing item', '22023', 'braden: item "friction_shear" is missing',
     kt.item(:'p3', 'r3', 'braden', '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2}', '2026-05-01T08:00:00+02:00')),
    ('another item''s answer code', '22023', 'braden: item "moisture" is "LA9603-7", not one of its answers%',
     kt.item(:'p3', 'r4', 'braden', '{"sensory_perception": 3, "moisture": "LA9603-7", "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}', '2026-05-01T08:00:00+02:00')),
    ('points as a string', '22023', 'braden: item "moisture" is "3", not one of its answers%',
     kt.item(:'p3', 'r5', 'braden', '{"sensory_perception": 3, "moisture": "3", "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}', '2026-05-01T08:00:00+02:00')),
    ('items that are not an object', '22023', 'braden: the items must be a JSON object of item codes and their values',
     kt.item(:'p3', 'r6', 'braden', '[3, 2, 2, 3, 2, 2]', '2026-05-01T08:00:00+02:00')),
    ('a disagreeing total', '22023', 'braden: the sender''s total 16 disagrees with the items'' total 14',
     kt.item(:'p3', 'r7', 'braden', '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}', '2026-05-01T08:00:00+02:00', '{"total": 16}')),
    ('a total that is not a whole number', '22023', 'total must be a whole number, not 14.5',
     kt.item(:'p3', 'r8', 'braden', '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 3, "nutrition": 2, "friction_shear": 2}', '2026-05-01T08:00:00+02:00', '{"total": 14.5}')),
    ('MNA-SF with both F1 and F2', '22023', 'mna-sf: items "F1", "F2" are alternatives: give exactly one, not 2',
     kt.item(:'p3', 'r9', 'mna-sf', '{"A": 1, "B": 2, "C": 1, "D": 2, "E": 1, "F1": 22, "F2": 33}', '2026-05-01T08:00:00+02:00')),
    ('MNA-SF with neither F1 nor F2', '22023', 'mna-sf: one of the items "F1", "F2" is missing',
     kt.item(:'p3', 'r10', 'mna-sf', '{"A": 1, "B": 2, "C": 1, "D": 2, "E": 1}', '2026-05-01T08:00:00+02:00')),
    ('a BMI outside the plausible', '22023', 'mna-sf: item "F1" 4.99 kg/m2 is outside 5-100',
     kt.item(:'p3', 'r11', 'mna-sf', '{"A": 1, "B": 2, "C": 1, "D": 2, "E": 1, "F1": 4.99}', '2026-05-01T08:00:00+02:00')),
    ('a BMI with a decimal comma', '22023', 'mna-sf: item "F1" is "22,5", not a number (kg/m2)',
     kt.item(:'p3', 'r12', 'mna-sf', '{"A": 1, "B": 2, "C": 1, "D": 2, "E": 1, "F1": "22,5"}', '2026-05-01T08:00:00+02:00')),
    ('two IPLOS variables in one assessment', '22023', 'iplos: an assessment holds one variable, not 2 (each variable stands alone: send one item per variable)',
     kt.item(:'p3', 'r13', 'iplos', '{"syn": 2, "alminnelig_husarbeid": 3}', '2026-05-01T08:00:00+02:00')),
    ('an IPLOS score outside 1-5 and 9', '22023', 'iplos: item "syn" is 6, not one of its answers%',
     kt.item(:'p3', 'r14', 'iplos', '{"syn": 6}', '2026-05-01T08:00:00+02:00')),
    ('a total for IPLOS', '22023', 'iplos has no total score, but the sender gave 2',
     kt.item(:'p3', 'r15', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', '{"total": 2}')),
    ('no items', '22023', 'iplos: no items',
     kt.item(:'p3', 'r16', 'iplos', '{}', '2026-05-01T08:00:00+02:00')),
    ('a bad identity number', '22023', 'pid "07833104954" is not a valid identity number%',
     kt.item('07833104954', 'r17', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00')),
    ('a time without a UTC offset', '22023', 'performed_at "2026-05-01T08:00:00" must be an ISO 8601 date and time with a UTC offset%',
     kt.item(:'p3', 'r18', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00')),
    ('a time in the future', '22023', 'performed_at 2099-05-01T08:00:00+02:00 is in the future',
     kt.item(:'p3', 'r19', 'iplos', '{"syn": 2}', '2099-05-01T08:00:00+02:00')),
    ('a performer that is no HPR number', '22023', 'performer "Kari Nordmann" is not an HPR number',
     kt.item(:'p3', 'r20', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', '{"performer": "Kari Nordmann"}')),
    ('an invalid organisasjonsnummer', '22023', 'unit_orgnr "972418014" is not a valid organisasjonsnummer',
     kt.item(:'p3', 'r21', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', '{"unit_orgnr": "972418014"}')),
    ('an over-long unit name', '22023', 'unit_name is longer than 200 characters',
     kt.item(:'p3', 'r22', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', jsonb_build_object('unit_name', repeat('x', 201)))),
    ('an over-long instrument code', '22023', 'instrument is longer than 40 characters',
     kt.item(:'p3', 'r23', repeat('b', 41), '{"syn": 2}', '2026-05-01T08:00:00+02:00')),
    ('an over-long source id', '22023', 'source_id must be 1-200 characters',
     kt.item(:'p3', repeat('s', 201), 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00')),
    ('a status FHIR has but the service does not', '22023', 'status "preliminary" is not one of final, amended, entered-in-error',
     kt.item(:'p3', 'r24', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', '{"status": "preliminary"}')),
    ('the band (the platform''s to compute)', '22023', 'unknown field(s): band',
     kt.item(:'p3', 'r25', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', '{"band": "low"}')),
    ('a missing time', '22023', 'missing field(s): performed_at',
     kt.item(:'p3', 'r26', 'iplos', '{"syn": 2}', NULL)),
    ('an assessment for another kommune', '42501', 'item 1 is for kommune 3201, but this integration acts for kommune 1804',
     kt.item(:'p3', 'r27', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00', '{"kommune_nr": "3201"}'))
) AS v(what, expected_state, expected, item);
SELECT sec.ok(e->>'state' = expected_state AND (e->>'message' LIKE expected OR e->'detail'->0->>'error' LIKE expected),
              format('refused (%s): %s: %s', expected_state, what, coalesce(e->'detail'->0->>'error', e->>'message', 'not refused')))
FROM refusals ORDER BY what;
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.assessment a WHERE a.pid = :'p3'), 'none of the refused assessments was written');
SELECT sec.ok((kt.refusal('SELECT api.kartlegginger_ingest_batch(''[]'')'))->>'state' = '22023'
              AND (kt.refusal('SELECT api.kartlegginger_ingest_batch(''{"pid": 1}'')'))->>'message' = 'the batch must be a JSON array',
              'an empty batch, and a batch that is not an array, are refused (22023)');
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger_ingest_batch(%L)', jsonb_build_array(
                   kt.item(:'p3', 'dup', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00'),
                   kt.item(:'p3', 'dup', 'iplos', '{"syn": 3}', '2026-05-02T08:00:00+02:00')))))->'detail'->1->>'error'
              = 'source_id appears more than once in the batch',
              'a source id twice in one batch is refused');

-- a kommune that has not opted in writes nothing
\c - kt_epj_asker
SELECT kt.refusal(format('SELECT api.kartlegginger_ingest(%L)', kt.item(:'p3', 'asker-1', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00'))) AS e \gset
SELECT sec.ok((:'e')::jsonb->>'state' = '42501' AND (:'e')::jsonb->>'message' = 'kommune 3203 has not enabled the sharing service "kartlegginger"',
              'Asker, which has not opted in, cannot ingest (42501): ' || ((:'e')::jsonb->>'message'));
-- a login with no kommune to act for
\c - kt_epj_token
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger_ingest(%L)', kt.item(:'p3', 'x', 'iplos', '{"syn": 2}', '2026-05-01T08:00:00+02:00'))))->>'state' = '42501',
              'an integration without a verified token or binding cannot ingest (42501)');
-- the same login with Bodø's EPJ token writes for Bodø
SELECT sec.claims('epj_bodo') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger_ingest(kt.item(:'p3', 'token-1', 'iplos', '{"alminnelig_husarbeid": 4}', '2026-05-03T12:00:00+02:00')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'created', 'with Bodø''s EPJ token (HelseID client credentials) the integration writes for Bodø');
\c - postgres
SELECT sec.ok(a.kommune_nr = '1804', 'that assessment is Bodø''s') FROM deling.assessment a WHERE a.source_id = 'token-1';

-- =====================================================================
-- Scoring at every band edge, against totals and bands computed here
-- =====================================================================
\c - sec_epj_bodo
CREATE TEMP TABLE edges (source_id text, instrument text, items jsonb);
INSERT INTO edges VALUES
    -- Braden 6 / 9 | 10 / 12 | 13 / 14 | 15 / 18 | 19 / 23
    ('edge-braden-6', 'braden', '{"sensory_perception": 1, "moisture": 1, "activity": 1, "mobility": 1, "nutrition": 1, "friction_shear": 1}'),
    ('edge-braden-9', 'braden', '{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 1, "nutrition": 1, "friction_shear": 1}'),
    ('edge-braden-10', 'braden', '{"sensory_perception": "LA9604-5", "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 1, "friction_shear": 1}'),
    ('edge-braden-12', 'braden', '{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 2}'),
    ('edge-braden-13', 'braden', '{"sensory_perception": 3, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 2}'),
    ('edge-braden-14', 'braden', '{"sensory_perception": 3, "moisture": "LA9609-4", "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 2}'),
    ('edge-braden-15', 'braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 2, "nutrition": 2, "friction_shear": 2}'),
    ('edge-braden-18', 'braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 3}'),
    ('edge-braden-19', 'braden', '{"sensory_perception": 4, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 3}'),
    ('edge-braden-23', 'braden', '{"sensory_perception": "LA9606-0", "moisture": "LA9610-2", "activity": "LA9613-6", "mobility": "LA120-8", "nutrition": "LA9206-9", "friction_shear": "LA9619-3"}'),
    -- MNA-SF 0 / 7 | 8 / 11 | 12 / 14, and BMI and calf circumference at their cut-offs
    ('edge-mna-0', 'mna-sf', '{"A": 0, "B": 0, "C": 0, "D": 0, "E": 0, "F1": 18.99}'),
    ('edge-mna-7', 'mna-sf', '{"A": 1, "B": 1, "C": 1, "D": 2, "E": 1, "F1": 19}'),
    ('edge-mna-8', 'mna-sf', '{"A": 1, "B": 1, "C": 1, "D": 2, "E": 1, "F1": 21}'),
    ('edge-mna-11', 'mna-sf', '{"A": 2, "B": 2, "C": 1, "D": 2, "E": 2, "F1": 22.99}'),
    ('edge-mna-12', 'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 20.999}'),
    ('edge-mna-12f2', 'mna-sf', '{"A": 1, "B": 2, "C": 2, "D": 2, "E": 2, "F2": 31}'),
    ('edge-mna-9f2', 'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 0, "F2": 30.99}'),
    ('edge-mna-14', 'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 23}'),
    -- Morse 0 / 20 (the highest low total) | 25 / 45 | 50 / 125
    ('edge-morse-0', 'morse', '{"history_of_falling": "LA32-8", "secondary_diagnosis": 0, "ambulatory_aid": "LA13030-4", "iv_access": 0, "gait": "LA13033-8", "mental_status": "LA13036-1"}'),
    ('edge-morse-20', 'morse', '{"history_of_falling": 0, "secondary_diagnosis": 0, "ambulatory_aid": 0, "iv_access": "LA33-6", "gait": 0, "mental_status": 0}'),
    ('edge-morse-25', 'morse', '{"history_of_falling": "LA33-6", "secondary_diagnosis": 0, "ambulatory_aid": 0, "iv_access": 0, "gait": 0, "mental_status": 0}'),
    ('edge-morse-45', 'morse', '{"history_of_falling": 0, "secondary_diagnosis": 15, "ambulatory_aid": "LA13032-0", "iv_access": 0, "gait": 0, "mental_status": 0}'),
    ('edge-morse-50', 'morse', '{"history_of_falling": 25, "secondary_diagnosis": 0, "ambulatory_aid": 15, "iv_access": 0, "gait": 10, "mental_status": 0}'),
    ('edge-morse-125', 'morse', '{"history_of_falling": "LA33-6", "secondary_diagnosis": "LA33-6", "ambulatory_aid": "LA13032-0", "iv_access": "LA33-6", "gait": "LA13035-3", "mental_status": "LA13037-9"}');
SELECT api.kartlegginger_ingest_batch(jsonb_agg(kt.item(:'p4', source_id, instrument, items, '2025-11-20T08:00:00+01:00') ORDER BY source_id)) AS r
FROM edges \gset
SELECT sec.ok((:'r')::jsonb->>'created' = (SELECT count(*)::text FROM edges), 'the band-edge assessments are ingested in one batch');
SELECT sec.ok(a.total = kt.total(e.instrument, e.items) AND a.total::text = substring(e.source_id FROM '([0-9]+)(f2)?$')
              AND a.band = kt.band(e.instrument, a.total),
              format('%s: total %s (computed here %s), band %s (computed here %s)', e.source_id, a.total, kt.total(e.instrument, e.items),
                     a.band, kt.band(e.instrument, kt.total(e.instrument, e.items))))
FROM edges e LEFT JOIN deling.assessment a ON a.source_system = 'kt-test' AND a.source_id = e.source_id
ORDER BY e.source_id;
-- the sender's total is accepted exactly when it is the right one
SELECT sec.ok(count(*) FILTER (WHERE deling.kartlegginger_item_problem(kt.item(:'p4', 'x', e.instrument, e.items, '2025-11-20T08:00:00+01:00',
                                                   jsonb_build_object('total', kt.total(e.instrument, e.items)))) IS NULL) = count(*)
              AND count(*) FILTER (WHERE deling.kartlegginger_item_problem(kt.item(:'p4', 'x', e.instrument, e.items, '2025-11-20T08:00:00+01:00',
                                                   jsonb_build_object('total', kt.total(e.instrument, e.items) + d)))
                                   LIKE '%the sender''s total % disagrees with the items'' total %') = count(*),
              'at every edge the sender''s total is accepted when right and refused one above or below')
FROM edges e, (VALUES (-1), (1)) AS x(d) ;

-- =====================================================================
-- Ingest (FHIR Bundle)
-- =====================================================================
SELECT jsonb_build_object('resourceType', 'Bundle', 'type', 'transaction', 'entry', jsonb_build_array(
    jsonb_build_object('fullUrl', 'urn:uuid:6b1f3c52-3f3e-4e5a-9d55-0c3c4b8f7a01', 'resource', jsonb_build_object(
        'resourceType', 'Patient', 'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p5'))),
        'request', jsonb_build_object('method', 'POST', 'url', 'Patient')),
    jsonb_build_object('fullUrl', 'urn:uuid:6b1f3c52-3f3e-4e5a-9d55-0c3c4b8f7a02', 'resource', '{
        "resourceType": "Observation", "status": "final",
        "identifier": [{"system": "https://deling.nhn.no/fhir/NamingSystem/source/profil", "value": "fhir-braden-1"}],
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "38227-5", "display": "Braden scale total score"}]},
        "subject": {"reference": "urn:uuid:6b1f3c52-3f3e-4e5a-9d55-0c3c4b8f7a01"},
        "effectiveDateTime": "2026-06-10T14:00:00+02:00",
        "performer": [{"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144889"}},
                      {"type": "Organization", "display": "Sykehjemmet, avdeling 2", "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "972418013"}}],
        "valueQuantity": {"value": 11, "unit": "score", "system": "http://unitsofmeasure.org", "code": "{score}"},
        "component": [
          {"code": {"coding": [{"system": "http://loinc.org", "code": "38222-6"}]}, "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9604-5"}]}},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "38229-1"}]}, "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9608-6"}]}},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "38223-4"}]}, "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9611-0"}]}},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "38224-2"}]}, "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9604-5"}]}},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "38225-9"}]}, "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9616-9"}]}},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "38226-7"}]}, "valueInteger": 1}]}'::jsonb,
        'request', jsonb_build_object('method', 'POST', 'url', 'Observation')),
    jsonb_build_object('fullUrl', 'urn:uuid:6b1f3c52-3f3e-4e5a-9d55-0c3c4b8f7a03', 'resource', '{
        "resourceType": "Observation", "status": "final",
        "identifier": [{"system": "https://deling.nhn.no/fhir/NamingSystem/source/profil", "value": "fhir-mna-1"}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "107107-5"}]},
        "subject": {"reference": "urn:uuid:6b1f3c52-3f3e-4e5a-9d55-0c3c4b8f7a01"},
        "effectiveDateTime": "2026-06-10T14:10:00+02:00",
        "component": [
          {"code": {"coding": [{"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "A"}]}, "valueInteger": 2},
          {"code": {"coding": [{"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "B"}]}, "valueInteger": 1},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "107110-9"}]}, "valueInteger": 2},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "107111-7"}]}, "valueInteger": 0},
          {"code": {"coding": [{"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "E"}]}, "valueInteger": 2},
          {"code": {"coding": [{"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "F2"}]}, "valueQuantity": {"value": 33, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"}}]}'::jsonb),
    jsonb_build_object('fullUrl', 'urn:uuid:6b1f3c52-3f3e-4e5a-9d55-0c3c4b8f7a04', 'resource', jsonb_build_object(
        'resourceType', 'Observation', 'status', 'final',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'profil', 'value', 'fhir-iplos-1')),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'https://deling.nhn.no/fhir/CodeSystem/iplos-funksjon', 'code', 'alminnelig_husarbeid'))),
        'subject', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p5')),
        'effectiveDateTime', '2026-06-11T09:00:00+02:00',
        'valueInteger', 3)))) AS fhir_bundle \gset
SELECT 'fhir kartlegginger-ingest-bundle ' || (:'fhir_bundle')::jsonb::text;
SELECT api.kartlegginger_ingest_fhir(:'fhir_bundle') AS r \gset
SELECT sec.ok((:'r')::jsonb @> '{"received": 3, "created": 3}'
              AND (SELECT array_agg(x->>'source_id' || ':' || coalesce(x->>'total', '-') || ':' || coalesce(x->>'band', '-') ORDER BY (x->>'item')::int)
                   FROM jsonb_array_elements((:'r')::jsonb->'items') x)
                  = ARRAY['fhir-braden-1:11:high', 'fhir-mna-1:10:at-risk', 'fhir-iplos-1:-:-'],
              'a FHIR transaction Bundle (Patient, Braden by LOINC answer codes with its total, MNA-SF by its panel code with F2 in cm, an IPLOS variable): created, scored '
              || ((:'r')::jsonb->>'items'));
SELECT sec.ok(a.pid = :'p5' AND a.instrument = 'braden' AND a.performer = '9144889' AND a.unit_orgnr = '972418013'
              AND a.unit_name = 'Sykehjemmet, avdeling 2' AND a.performed_at = '2026-06-10 12:00:00+00' AND a.source_system = 'profil'
              AND a.items = '{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 1}'
              AND a.total = kt.total('braden', a.items),
              'the Braden Observation: its Patient by reference into the Bundle, performer by HPR, unit by orgnr, answers stored as points')
FROM deling.assessment a WHERE a.source_id = 'fhir-braden-1';
SELECT sec.ok(a.items = '{"A": 2, "B": 1, "C": 2, "D": 0, "E": 2, "F2": 33}' AND a.total = kt.total('mna-sf', a.items),
              'the MNA-SF Observation: items by their codings (LOINC and the platform''s), the calf circumference measured')
FROM deling.assessment a WHERE a.source_id = 'fhir-mna-1';
SELECT sec.ok(a.instrument = 'iplos' AND a.variable = 'alminnelig_husarbeid' AND a.items = '{"alminnelig_husarbeid": 3}' AND a.pid = :'p5',
              'the IPLOS Observation: its variable by Observation.code, its score from valueInteger, its Patient by identifier')
FROM deling.assessment a WHERE a.source_id = 'fhir-iplos-1';
SELECT sec.ok((api.kartlegginger_ingest_fhir(:'fhir_bundle'))->>'unchanged' = '3', 'the same Bundle again: all unchanged');
-- all or nothing: one good and three bad Observations
SELECT count(*) AS rows_before FROM deling.assessment \gset
SELECT kt.refusal(format('SELECT api.kartlegginger_ingest_fhir(%L)', jsonb_build_object('resourceType', 'Bundle', 'type', 'collection', 'entry', jsonb_build_array(
    jsonb_build_object('resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'profil', 'value', 'fhir-good')),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'https://deling.nhn.no/fhir/CodeSystem/iplos-funksjon', 'code', 'syn'))),
        'subject', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p5')),
        'effectiveDateTime', '2026-06-11T09:00:00+02:00', 'valueInteger', 1)),
    jsonb_build_object('resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'profil', 'value', 'fhir-bad-code')),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '9017-7'))),
        'subject', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p5')),
        'effectiveDateTime', '2026-06-11T09:00:00+02:00', 'valueQuantity', jsonb_build_object('value', 12))),
    jsonb_build_object('resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'profil', 'value', 'fhir-bad-total')),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '59460-6'))),
        'subject', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p5')),
        'effectiveDateTime', '2026-06-11T09:00:00+02:00', 'valueQuantity', jsonb_build_object('value', 30),
        'component', (SELECT jsonb_agg(jsonb_build_object('code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', c))),
                                                          'valueCodeableConcept', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', a)))))
                      FROM (VALUES ('59454-9', 'LA33-6'), ('59455-6', 'LA32-8'), ('59456-4', 'LA13030-4'), ('59457-2', 'LA32-8'),
                                   ('59458-0', 'LA13034-6'), ('59459-8', 'LA13036-1')) v(c, a)))),
    jsonb_build_object('resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'profil', 'value', 'fhir-bad-item')),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '59460-6'))),
        'subject', jsonb_build_object('reference', 'Patient/nowhere'),
        'effectiveDateTime', '2026-06-11T09:00:00+02:00',
        'component', jsonb_build_array(jsonb_build_object('code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '59454-9'))),
                                                          'valueInteger', 25)))))))) AS e \gset
SELECT sec.ok((:'e')::jsonb->>'state' = '22023' AND jsonb_array_length((:'e')::jsonb->'detail') = 3
              AND (:'e')::jsonb->'detail'->0->>'error' LIKE 'Observation.code (http://loinc.org|9017-7) is the code of no instrument%'
              AND (:'e')::jsonb->'detail'->1->>'error' = 'morse: the sender''s total 30 disagrees with the items'' total 35'
              AND (:'e')::jsonb->'detail'->2->>'error' = 'reference "Patient/nowhere" is not a resource in the Bundle',
              'a Bundle with three bad Observations of four is refused whole, each named (an unknown code, a total that disagrees, a Patient not in the Bundle): '
              || ((:'e')::jsonb->>'detail'));
SELECT sec.ok(count(*) = :rows_before, 'nothing of that Bundle was written') FROM deling.assessment;
SELECT sec.ok((kt.refusal('SELECT api.kartlegginger_ingest_fhir(''{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]}'')'))->>'message'
              = 'the Bundle has no Observation resources'
              AND (kt.refusal('SELECT api.kartlegginger_ingest_fhir(''{"resourceType": "Observation"}'')'))->>'state' = '22023',
              'a Bundle without Observations, and an Observation that is no Bundle, are refused (22023)');

-- =====================================================================
-- IPLOS: the latest per variable; instruments: the latest of each
-- =====================================================================
SELECT api.kartlegginger_ingest_batch(jsonb_build_array(
    kt.item(:'p1', 'iplos-syn-1', 'iplos', '{"syn": 3}', '2026-01-15T10:00:00+01:00'),
    kt.item(:'p1', 'iplos-husarbeid-1', 'iplos', '{"alminnelig_husarbeid": 2}', '2026-02-15T10:00:00+01:00'),
    kt.item(:'p1', 'iplos-syn-2', 'iplos', '{"syn": 4}', '2026-03-15T10:00:00+01:00'),
    kt.item(:'p1', 'mna-1', 'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 24.1}', '2026-02-20T10:00:00+01:00'),
    kt.item(:'p1', 'morse-1', 'morse', '{"history_of_falling": 25, "secondary_diagnosis": 15, "ambulatory_aid": 15, "iv_access": 0, "gait": 20, "mental_status": 15}', '2026-02-21T10:00:00+01:00'))) AS r \gset

\c - sec_lege
SELECT sec.claims('lege_bodo') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p1') AS current \gset
SELECT 'fhir kartlegginger-current ' || (:'current')::jsonb::text;
SELECT sec.ok((:'current')::jsonb->>'total' = '5'
              AND (SELECT array_agg(kt.source(o) ORDER BY kt.source(o)) FROM kt.obs((:'current')::jsonb) o)
                  = ARRAY['braden-2', 'iplos-husarbeid-1', 'iplos-syn-2', 'mna-1', 'morse-1'],
              'Bodø legevakt reads the current assessments: the latest Braden (not the earlier one), MNA-SF and Morse, and of IPLOS the latest Syn and the latest Alminnelig husarbeid');
SELECT sec.ok((SELECT count(*) FROM jsonb_array_elements((:'current')::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'Patient') = 1
              AND (:'current')::jsonb->'entry'->-1->'search'->>'mode' = 'include',
              'the Bundle includes the Patient once');
SELECT api.kartlegginger(:'p1', include_history => true) AS history \gset
SELECT 'fhir kartlegginger-history ' || (:'history')::jsonb::text;
SELECT sec.ok((:'history')::jsonb->>'total' = '7'
              AND (SELECT array_agg(kt.source(o)) FROM kt.obs((:'history')::jsonb) o)
                  = ARRAY['braden-2', 'iplos-syn-2', 'braden-1', 'morse-1', 'mna-1', 'iplos-husarbeid-1', 'iplos-syn-1'],
              'include_history gives every assessment, newest first');
SELECT sec.ok((api.kartlegginger(:'p1', include_history => true, since => '2026-03-01'))::jsonb->>'total' = '3',
              'since 2026-03-01 (Norwegian time): the three assessments from then on');

-- the Observations
SELECT o AS braden_obs FROM kt.obs((:'current')::jsonb) o WHERE kt.source(o) = 'braden-2' \gset
SELECT sec.ok((:'braden_obs')::jsonb @> '{"resourceType": "Observation", "status": "final",
                  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
                  "code": {"coding": [{"system": "http://loinc.org", "code": "38227-5", "display": "Braden scale total score"}]},
                  "effectiveDateTime": "2026-04-06T10:00:00+02:00",
                  "valueQuantity": {"value": 10, "unit": "score", "system": "http://unitsofmeasure.org", "code": "{score}"},
                  "interpretation": [{"coding": [{"system": "http://loinc.org", "code": "LA9193-9", "display": "High"}], "text": "High"}],
                  "method": {"coding": [{"system": "http://snomed.info/sct", "code": "781128005"}]},
                  "identifier": [{"system": "https://deling.nhn.no/fhir/NamingSystem/source/kt-test", "value": "braden-2"}]}'
              AND (:'braden_obs')::jsonb->'subject'->'identifier' = jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p1')
              AND (:'braden_obs')::jsonb->'subject'->>'reference' = 'urn:uuid:' || ((:'current')::jsonb->'entry'->-1->'resource'->>'id'),
              'a Braden Observation: category survey, code LOINC 38227-5, valueQuantity 10 {score}, interpretation LA9193-9 High, method SNOMED CT 781128005, subject the Patient');
SELECT sec.ok(jsonb_array_length((:'braden_obs')::jsonb->'component') = 6
              AND (:'braden_obs')::jsonb->'component' @> '[{"code": {"coding": [{"system": "http://loinc.org", "code": "38224-2"}]},
                      "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9604-5", "display": "Very limited"}], "text": "Very limited"}},
                    {"code": {"coding": [{"system": "http://loinc.org", "code": "38226-7"}]},
                      "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9617-7", "display": "Problem"}]}}]'
              AND (SELECT array_agg(c->'code'->'coding'->0->>'code') FROM jsonb_array_elements((:'braden_obs')::jsonb->'component') c)
                  = ARRAY['38222-6', '38229-1', '38223-4', '38224-2', '38225-9', '38226-7'],
              'its six components: each item''s LOINC code with its LOINC answer, in the instrument''s order');
SELECT o AS mna_obs FROM kt.obs((:'current')::jsonb) o WHERE kt.source(o) = 'mna-1' \gset
SELECT sec.ok((:'mna_obs')::jsonb->'code'->'coding' = '[{"system": "http://loinc.org", "code": "107114-1", "display": "Total score"},
                  {"system": "http://loinc.org", "code": "107107-5", "display": "Mini Nutritional Assessment - Short Form (MNA-SF)"}]'
              AND (:'mna_obs')::jsonb->'valueQuantity'->>'value' = '14'
              AND (:'mna_obs')::jsonb->'interpretation'->0->>'text' = 'Normal nutritional status'
              AND (:'mna_obs')::jsonb->'component' @> '[{"code": {"coding": [{"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "A"}]}, "valueInteger": 2},
                    {"code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]},
                     "valueQuantity": {"value": 24.1, "unit": "kg/m2", "system": "http://unitsofmeasure.org", "code": "kg/m2"}}]'
              AND NOT (:'mna_obs')::jsonb ? 'method',
              'an MNA-SF Observation: code the total 107114-1 and the panel 107107-5, answers without a code as valueInteger points, BMI as valueQuantity kg/m2');
SELECT o AS syn_obs FROM kt.obs((:'current')::jsonb) o WHERE kt.source(o) = 'iplos-syn-2' \gset
SELECT sec.ok((:'syn_obs')::jsonb->'code' = '{"coding": [{"system": "https://deling.nhn.no/fhir/CodeSystem/iplos-funksjon", "code": "syn", "display": "Syn"}], "text": "Syn"}'
              AND (:'syn_obs')::jsonb->>'valueInteger' = '4'
              AND NOT (:'syn_obs')::jsonb ?| ARRAY['valueQuantity', 'component', 'interpretation'],
              'an IPLOS Observation: code the variable, valueInteger its score, no total, components or band');

-- withdrawn: the latest Syn entered in error; the one before it is current again
\c - sec_epj_bodo
SELECT api.kartlegginger_ingest(kt.item(:'p1', 'iplos-syn-2', 'iplos', '{"syn": 4}', '2026-03-15T10:00:00+01:00', '{"status": "entered-in-error"}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'status' = 'entered-in-error' AND (:'r')::jsonb->>'result' = 'amended',
              'the integration withdraws the latest Syn (status entered-in-error)');
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p1') AS current \gset
SELECT sec.ok((SELECT array_agg(kt.source(o) || '=' || (o->>'valueInteger') ORDER BY kt.source(o)) FROM kt.obs((:'current')::jsonb) o WHERE o->'code'->'coding'->0->>'code' = 'syn')
              = ARRAY['iplos-syn-1=3'],
              'the withdrawn Syn is not read, and the Syn before it (3) is the latest again');
SELECT sec.ok((api.kartlegginger(:'p1', include_history => true))::jsonb->>'total' = '6', 'not in the history either');

-- =====================================================================
-- The gate: duty need and purpose, reach across kommuner, opt-in
-- =====================================================================
SELECT sec.claims('lege_bodo', '{"authorization_details": null}') AS claims \gset
\set tok_nopurpose `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok_nopurpose', for_session => true) IS NOT NULL AS authenticated \gset
SELECT kt.refusal(format('SELECT api.kartlegginger(%L)', :'p1')) AS e \gset
SELECT sec.ok((:'e')::jsonb->>'state' = '42501' AND (:'e')::jsonb->>'message' = 'a purpose of use is required: TREAT, ETREAT or COC',
              'a token without a purpose of use and none given: refused (42501)');
SELECT sec.ok((api.kartlegginger(:'p1', purpose => 'COC'))::jsonb->>'total' = '5', 'the purpose given as an argument (COC): read');
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L, purpose => %L)', :'p1', 'RESEARCH')))->>'state' = '22023',
              'purpose RESEARCH: refused (22023)');
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L, purpose => %L)', :'p1', 'ETREAT')))->>'message' = 'emergency access (ETREAT) needs a reason',
              'ETREAT without a reason: refused');
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L, purpose => %L)', '07833104954', 'TREAT')))->>'state' = '22023',
              'an invalid identity number: refused (22023)');
\c - sec_lege
SELECT sec.claims('lege_bodo', '{"helseid://claims/hpr/hpr_number": null}') AS claims \gset
\set tok_nohpr `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT kt.refusal(format('SELECT deling.authenticate(%L, for_session => true)', :'tok_nohpr')) AS e \gset
SELECT sec.ok((:'e')::jsonb->>'state' = '28000' AND (:'e')::jsonb->>'message' LIKE '%hpr_number%',
              'a health-personnel token without an HPR number is not accepted (28000): ' || ((:'e')::jsonb->>'message'));
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L)', :'p1')))->>'state' = '42501',
              'and with no token at all the read is refused (42501)');
\c - sec_innbygger
SELECT sec.claims('innbygger') AS claims \gset
\set tok_citizen `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok_citizen', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L)', :'p1')))->>'state' = '42501',
              'the citizen''s channel cannot read it (42501)');

-- reach: Bodø ingests for p2 and Bærum for p2 (registered in both)
\c - sec_epj_baerum
SELECT api.kartlegginger_ingest_batch(jsonb_build_array(
    kt.item(:'p2', 'baerum-braden-1', 'braden', '{"sensory_perception": 4, "moisture": 4, "activity": 4, "mobility": 4, "nutrition": 4, "friction_shear": 3}', '2026-06-01T10:00:00+02:00'),
    kt.item(:'p2', 'baerum-iplos-1', 'iplos', '{"syn": 5}', '2026-06-01T10:00:00+02:00'))) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'created' = '2' AND (:'r')::jsonb->>'kommune_nr' = '3201', 'Bærum''s EPJ records assessments of the same citizen in Bærum');
SELECT sec.ok((api.kartlegginger(:'p2'))::jsonb->>'total' = '2', 'Bærum''s integration reads its own kommune''s two');
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p2') AS b \gset
SELECT sec.ok((SELECT array_agg(kt.source(o) ORDER BY kt.source(o)) FROM kt.obs((:'b')::jsonb) o) = ARRAY['batch-ok-1', 'batch-ok-2', 'batch-ok-3'],
              'Bodø legevakt (reaching the 18xx kommuner) reads Bodø''s assessments of that citizen, not Bærum''s');
SELECT sec.claims('lege_baerum') AS claims \gset
\set tok_baerum `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok_baerum', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p2') AS b \gset
SELECT sec.ok((SELECT array_agg(kt.source(o) ORDER BY kt.source(o)) FROM kt.obs((:'b')::jsonb) o) = ARRAY['baerum-braden-1', 'baerum-iplos-1'],
              'Asker og Bærum legevakt reads Bærum''s, not Bodø''s');
-- Bærum opts out: the legevakt reaching Bærum and Asker (neither shares) is refused
\c - postgres
SELECT deling.disable_service('3201', 'kartlegginger') IS NULL AS disabled \gset
\c - sec_lege
SELECT deling.authenticate(:'tok_baerum', for_session => true) IS NOT NULL AS authenticated \gset
SELECT kt.refusal(format('SELECT api.kartlegginger(%L)', :'p2')) AS e \gset
SELECT sec.ok((:'e')::jsonb->>'state' = '42501' AND (:'e')::jsonb->>'message' = 'your organisation reaches no kommune that shares through "kartlegginger"',
              'with Bærum opted out, Asker og Bærum legevakt is refused (42501): ' || ((:'e')::jsonb->>'message'));
SELECT api.legevakt_summary(:'p2') AS s \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM kt.obs((:'s')::jsonb) o WHERE o->'category'->0->'coding'->0->>'code' = 'survey'),
              'and its legevakt summary has no assessments');
\c - sec_epj_baerum
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger_ingest(%L)', kt.item(:'p2', 'baerum-x', 'iplos', '{"syn": 2}', '2026-06-01T10:00:00+02:00'))))->>'state' = '42501'
              AND (kt.refusal(format('SELECT api.kartlegginger(%L)', :'p2')))->>'state' = '42501',
              'Bærum''s integration can neither write nor read it while opted out (42501)');
SELECT sec.ok(sec.rows('SELECT FROM deling.assessment') = 0, 'nor see its own rows in the table');
\c - postgres
SELECT deling.enable_service('3201', 'kartlegginger') IS NULL AS enabled \gset
\c - sec_lege
SELECT deling.authenticate(:'tok_baerum', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((api.kartlegginger(:'p2'))::jsonb->>'total' = '2', 'opted in again, the assessments are read again');

-- =====================================================================
-- Blocks: the whole service, one instrument; emergency access
-- =====================================================================
\c - sec_epj_bodo
SELECT (api.block_sharing(:'p1', 'kartlegginger'))->>'block_id' AS block_all \gset
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p1') AS b \gset
SELECT 'fhir kartlegginger-blocked ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '0' AND NOT EXISTS (SELECT FROM kt.obs((:'b')::jsonb))
              AND (:'b')::jsonb::text LIKE '%OperationOutcome%',
              'Bodø''s block of kartlegginger for the citizen: nothing read, an OperationOutcome says information is withheld');
SELECT sec.ok((api.news2_observations(:'bodo_synthetic'))::jsonb->>'resourceType' = 'Bundle', 'the block does not touch another citizen');
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L, purpose => %L, reason => %L)', :'p1', 'ETREAT', 'Bevisstløs pasient, akutt')))->>'message'
              = 'purpose ETREAT differs from the purpose TREAT attested in the token',
              'emergency access with a token attesting TREAT: refused (the purpose is the token''s)');
\c - sec_lege
SELECT sec.claims('lege_bodo', '{"authorization_details": null}') AS claims \gset
\set tok_nopurpose `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok_nopurpose', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p1', purpose => 'ETREAT', reason => 'Bevisstløs pasient, akutt') AS b \gset
SELECT 'fhir kartlegginger-emergency ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '5' AND (:'b')::jsonb::text LIKE '%informational%',
              'emergency access (ETREAT with a reason) opens the block, and says so');
\c - sec_epj_bodo
SELECT api.unblock_sharing(:'block_all') IS NULL AS lifted \gset
SELECT (api.block_sharing(:'p1', 'kartlegginger', ARRAY['mna-sf']))->>'block_id' AS block_mna \gset
SELECT sec.ok((kt.refusal(format('SELECT api.block_sharing(%L, %L, ARRAY[%L])', :'p1', 'kartlegginger', 'barthel')))->>'message'
              = 'invalid code(s) for kartlegginger: barthel (instrument "barthel" is not one of braden, iplos, mna-sf, morse)',
              'a block of an instrument there is not: refused');
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p1') AS b \gset
SELECT sec.ok((SELECT array_agg(kt.source(o) ORDER BY kt.source(o)) FROM kt.obs((:'b')::jsonb) o)
              = ARRAY['braden-2', 'iplos-husarbeid-1', 'iplos-syn-1', 'morse-1'] AND (:'b')::jsonb::text LIKE '%OperationOutcome%',
              'a block of MNA-SF only: the other instruments are read, MNA-SF withheld and said to be');
\c - sec_epj_bodo
SELECT api.unblock_sharing(:'block_mna') IS NULL AS lifted \gset

-- =====================================================================
-- Paging
-- =====================================================================
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.kartlegginger(:'p4', include_history => true, max => 10) AS page1 \gset
SELECT 'fhir kartlegginger-page1 ' || (:'page1')::jsonb::text;
SELECT substring(l->>'url' FROM '[?&]page=([^&]+)') AS next1 FROM jsonb_array_elements((:'page1')::jsonb->'link') l WHERE l->>'relation' = 'next' \gset
SELECT sec.ok((:'page1')::jsonb->>'total' = '24' AND (SELECT count(*) FROM kt.obs((:'page1')::jsonb)) = 10
              AND :'next1' <> '' AND (SELECT l->>'url' FROM jsonb_array_elements((:'page1')::jsonb->'link') l WHERE l->>'relation' = 'next')
                  LIKE 'rpc/kartlegginger?pid=' || :'p4' || '&include_history=true&max=10&page=%',
              'paging: 24 assessments, a page of 10 with a next link');
SELECT api.kartlegginger(:'p4', include_history => true, max => 10, page => :'next1') AS page2 \gset
SELECT substring(l->>'url' FROM '[?&]page=([^&]+)') AS next2 FROM jsonb_array_elements((:'page2')::jsonb->'link') l WHERE l->>'relation' = 'next' \gset
SELECT api.kartlegginger(:'p4', include_history => true, max => 10, page => :'next2') AS page3 \gset
SELECT sec.ok((SELECT count(*) FROM kt.obs((:'page2')::jsonb)) = 10 AND (SELECT count(*) FROM kt.obs((:'page3')::jsonb)) = 4
              AND NOT EXISTS (SELECT FROM jsonb_array_elements((:'page3')::jsonb->'link') l WHERE l->>'relation' = 'next')
              AND (SELECT count(DISTINCT kt.source(o)) FROM (SELECT kt.obs((:'page1')::jsonb) UNION ALL SELECT kt.obs((:'page2')::jsonb)
                                                               UNION ALL SELECT kt.obs((:'page3')::jsonb)) x(o)) = 24,
              'following the next links: 10, 10 and 4, every assessment once, no next link on the last page');
SELECT sec.ok((api.kartlegginger(:'p4'))::jsonb->>'total' = '3', 'current only: one of each of the three instruments');
SELECT sec.ok((kt.refusal(format('SELECT api.kartlegginger(%L, max => 0)', :'p4')))->>'state' = '22023'
              AND (kt.refusal(format('SELECT api.kartlegginger(%L, max => 1001)', :'p4')))->>'state' = '22023'
              AND (kt.refusal(format('SELECT api.kartlegginger(%L, page => %L)', :'p4', 'not-a-token')))->>'state' = '22023'
              AND (kt.refusal(format('SELECT api.kartlegginger(%L, since => %L)', :'p4', 'yesterday')))->>'state' = '22023',
              'max 0 or 1001, a page that is not a token, a since that is no date: refused (22023)');

-- =====================================================================
-- The access log
-- =====================================================================
SELECT api.kartlegginger(:'p5') AS b \gset
\c - postgres
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l WHERE l.entry->>'service' = 'kartlegginger' AND l.entry->>'citizen' = :'p5'
                      AND l.entry->>'decision' = 'granted' AND l.entry->>'hpr' = '565501872' AND l.entry->>'purpose' = 'TREAT'
                      AND (l.entry->>'resources')::int = 4 AND l.entry->'kommuner' ? '1804'),
              'a read is in the access log: service kartlegginger, the citizen, granted, the doctor''s HPR number, purpose, 4 resources, the kommuner');
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l WHERE l.entry->>'service' = 'kartlegginger' AND l.entry->>'citizen' = :'p2'
                      AND l.entry->>'decision' = 'denied' AND l.entry->>'why' = 'your organisation reaches no kommune that shares through "kartlegginger"'),
              'a refused read is in the access log with why');
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l WHERE l.entry->>'service' = 'kartlegginger' AND l.entry->>'citizen' = :'p1'
                      AND l.entry->>'purpose' = 'ETREAT' AND (l.entry->>'emergency')::boolean AND (l.entry->>'opened_block')::boolean
                      AND l.entry->>'reason' = 'Bevisstløs pasient, akutt'),
              'emergency access that opened a block is flagged in the access log, with its reason');
SELECT sec.ok((deling.verify_access_log(NULL)->>'valid')::boolean, 'the access log verifies');

-- =====================================================================
-- The legevakt summary
-- =====================================================================
\c - sec_epj_bodo
SELECT api.kartlegginger_ingest_batch(jsonb_build_array(
    kt.item(:'bodo_synthetic', 'summary-braden', 'braden', '{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 2}', '2026-06-01T10:00:00+02:00'),
    kt.item(:'bodo_synthetic', 'summary-syn', 'iplos', '{"syn": 3}', '2026-06-01T10:00:00+02:00'))) AS r \gset
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.legevakt_summary(:'bodo_synthetic') AS s \gset
SELECT 'fhir kartlegginger-summary ' || (:'s')::jsonb::text;
SELECT sec.ok(EXISTS (SELECT FROM kt.obs((:'s')::jsonb) o WHERE kt.source(o) = 'summary-braden' AND o->'valueQuantity'->>'value' = '12')
              AND EXISTS (SELECT FROM kt.obs((:'s')::jsonb) o WHERE kt.source(o) = 'summary-syn')
              AND EXISTS (SELECT FROM jsonb_array_elements((:'s')::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'EpisodeOfCare'),
              'the legevakt summary holds the citizen''s current assessments beside the municipal services');
SELECT api.legevakt_summary(:'p1') AS s \gset
SELECT sec.ok((SELECT array_agg(kt.source(o) ORDER BY kt.source(o)) FROM kt.obs((:'s')::jsonb) o)
              = ARRAY['braden-2', 'iplos-husarbeid-1', 'iplos-syn-1', 'mna-1', 'morse-1']
              AND (SELECT count(*) FROM jsonb_array_elements((:'s')::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'Patient') = 1,
              'for a citizen with assessments only: the Patient and the current assessments (latest per instrument, IPLOS latest per variable)');
\c - postgres
SELECT deling.disable_service('1804', 'kartlegginger') IS NULL AS disabled \gset
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.legevakt_summary(:'bodo_synthetic') AS s \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM kt.obs((:'s')::jsonb) o WHERE kt.source(o) LIKE 'summary-%')
              AND EXISTS (SELECT FROM jsonb_array_elements((:'s')::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'EpisodeOfCare'),
              'Bodø opted out: the summary leaves the assessments out and keeps the rest');
\c - postgres
SELECT deling.enable_service('1804', 'kartlegginger') IS NULL AS enabled \gset

-- =====================================================================
-- Tenancy: row-level security on the table and its history
-- =====================================================================
\c - sec_epj_baerum
SELECT sec.ok(sec.rows('SELECT FROM deling.assessment WHERE kommune_nr <> ''3201''') = 0
              AND sec.rows('SELECT FROM deling.assessment_history WHERE kommune_nr <> ''3201''') = 0
              AND sec.rows('SELECT FROM deling.assessment') = 2,
              'Bærum''s integration sees only its own two assessments, none of Bodø''s, nor Bodø''s history');
SELECT sec.ok(sec.affected('UPDATE deling.assessment SET total = 0 WHERE kommune_nr = ''1804''') IN ('0', '42501')
              AND sec.affected('DELETE FROM deling.assessment_history WHERE kommune_nr = ''1804''') IN ('0', '42501'),
              'and changes none of them');
\c - sec_epj_bodo
SELECT sec.ok(sec.rows('SELECT FROM deling.assessment WHERE pid = ''' || :'p2' || '''') = 3,
              'Bodø''s integration sees its own assessments of the citizen Bærum also assessed, not Bærum''s');
\c - sec_lege
SELECT sec.ok(sec.rows('SELECT FROM deling.assessment') IS NULL, 'a doctor cannot read the table directly');

-- =====================================================================
-- Synthetic items (make demo, the security setup and make bench)
-- =====================================================================
\c - postgres
SELECT array_agg(c.pid ORDER BY c.pid) AS spids FROM (SELECT c.pid FROM deling.citizen c WHERE c.kommune_nr = '1804' ORDER BY c.pid LIMIT 4 OFFSET 20) c \gset
SELECT deling.kartlegginger_synthetic_items('1804', :'spids', 7) AS syn \gset
SELECT sec.ok(jsonb_array_length((:'syn')::jsonb) = 28 AND (:'syn')::jsonb = deling.kartlegginger_synthetic_items('1804', :'spids', 7)
              AND (:'syn')::jsonb <> deling.kartlegginger_synthetic_items('1804', :'spids', 8)
              AND (SELECT array_agg(DISTINCT x->>'instrument' ORDER BY x->>'instrument') FROM jsonb_array_elements((:'syn')::jsonb) x)
                  = ARRAY['braden', 'iplos', 'mna-sf', 'morse'],
              'deling.kartlegginger_synthetic_items: seven assessments per citizen across the four instruments, the same for the same seed');
SELECT sec.ok(bool_and(deling.kartlegginger_item_problem(x) IS NULL), 'every synthetic item passes the item check')
FROM jsonb_array_elements((:'syn')::jsonb) x;
\c - sec_epj_bodo
SELECT api.kartlegginger_ingest_batch(:'syn') AS r \gset
SELECT sec.ok((:'r')::jsonb->>'created' = '28' AND (api.kartlegginger_ingest_batch(:'syn'))->>'unchanged' = '28',
              'they ingest (28 created), and again unchanged');

-- =====================================================================
-- The FHIR read as the Bundle of an ingest: what deling writes it reads
-- =====================================================================
SELECT api.kartlegginger(:'p1', include_history => true) AS b \gset
SELECT jsonb_build_object('resourceType', 'Bundle', 'type', 'collection', 'entry',
           (SELECT jsonb_agg(jsonb_build_object('fullUrl', e->'fullUrl', 'resource', e->'resource')) FROM jsonb_array_elements((:'b')::jsonb->'entry') e)) AS c \gset
SELECT api.kartlegginger_ingest_fhir(:'c') AS r \gset
SELECT sec.ok((:'r')::jsonb->>'received' = '6' AND (:'r')::jsonb->>'unchanged' = '6',
              'the read''s Observations sent back as a collection Bundle: all six unchanged');

-- =====================================================================
-- The declaration and the machinery it uses
-- =====================================================================
\c - postgres
SELECT sec.ok(deling.declaration_problem(s.declaration) IS NULL
              AND deling.declaration_problem(jsonb_set(s.declaration, '{fhir,context}', '5')) = 'fhir.context is an SQL expression over the row r (a string), for a template',
              'the declaration is valid; a context that is not an SQL expression is refused')
FROM deling.service s WHERE s.service_code = 'kartlegginger';
SELECT sec.ok(c.relrowsecurity AND c.relforcerowsecurity, format('%s: row-level security enabled and forced', c.relname))
FROM pg_class c WHERE c.oid IN ('deling.assessment'::regclass, 'deling.assessment_history'::regclass) ORDER BY c.relname;
-- an instrument a DBA changed so that stored items no longer score: the
-- Observations lose their components, the read goes on
BEGIN;
UPDATE deling.instrument SET definition = jsonb_set(definition, '{items,5,code}', '"shear"')
WHERE code = 'braden';
SELECT deling.kartlegginger_entries(ARRAY(SELECT a FROM deling.assessment a WHERE a.source_id = 'braden-2')) AS e \gset
ROLLBACK;
SELECT sec.ok((:'e')::jsonb->0->'resource'->'code'->'coding'->0->>'code' = '38227-5' AND NOT (:'e')::jsonb->0->'resource' ? 'component'
              AND (:'e')::jsonb->0->'resource'->'valueQuantity'->>'value' = '10',
              'a definition changed under stored assessments: their Observations keep code and total, lose the components, and the read does not fail');

\c - postgres
DROP SCHEMA kt CASCADE;
DROP ROLE kt_epj_asker;
DROP ROLE kt_epj_token;
