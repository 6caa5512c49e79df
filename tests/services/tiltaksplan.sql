-- tiltaksplan (issue 19): the plan of measures as FHIR CarePlan.  Run by
-- tests/tap/services.sh as the superuser in a platform database set up by
-- tests/security/setup.sql; each check a line "ok - ..." / "not ok - ..."
-- (sec.ok), each FHIR document a line "fhir <name> <json>" validated
-- against the R4 schema.  Callers act with real tokens (sec.claims,
-- tests/tools/mint-jwt) or as the integrations' bound logins.
--
-- The test's own citizens are new (Tenor numbers no one else uses), so
-- that whatever the setup ingested does not change what is counted here.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- helpers: a failure as {state, message, detail}; a valid plan and a valid
-- activity with fields replaced (a JSON null removes one)
CREATE SCHEMA tp;
GRANT USAGE ON SCHEMA tp TO PUBLIC;
CREATE FUNCTION tp.failure(sql text) RETURNS jsonb
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
    RETURN jsonb_build_object('state', st, 'message', msg, 'detail', nullif(det, ''));
END
$$;
CREATE FUNCTION tp.act(o jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls('{"code": "359962006", "text": "Snu pasienten i sengen", "status": "in-progress",
                               "frequency": 1, "period": 2, "period_unit": "h", "start": "2026-09-01",
                               "description": "Snu hver 2. time, også om natten", "performer_name": "Hjemmesykepleien sentrum"}'::jsonb || o);
$$;
CREATE FUNCTION tp.plan(pid text, source_id text, o jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'pid', pid, 'source_system', 'tp-test', 'source_id', source_id, 'status', 'active',
        'title', 'Tiltaksplan hjemmesykepleie', 'description', 'Forebygge trykksår og sikre ernæring',
        'period_start', '2026-09-01', 'created', '2026-08-30T10:15:00+02:00',
        'unit_name', 'Hjemmesykepleien sentrum', 'unit_orgnr', (SELECT k.orgnr FROM deling.kommune k WHERE k.kommune_nr = '1804'),
        'goal', 'Unngå trykksår',
        'addresses', jsonb_build_array(
            jsonb_build_object('service', 'diagnoser', 'source_id', 'diag-' || source_id, 'display', 'Demens i Alzheimers sykdom'),
            jsonb_build_object('service', 'kartlegginger', 'source_system', 'urn:oid:2.16.578.1.12.4.1.2.99', 'source_id', 'braden-' || source_id,
                               'display', 'Braden 12: høy risiko')),
        'activities', jsonb_build_array(
            tp.act(),
            tp.act('{"code": "39857003", "text": "Vekt ukentlig", "frequency": 1, "period": 1, "period_unit": "wk",
                     "description": "Veies mandag før frokost", "kind": "ServiceRequest"}'),
            tp.act('{"code": "18629005", "text": "Medisinhjelp morgen og kveld", "frequency": 2, "period": 1, "period_unit": "d",
                     "when": ["MORN", "EVE"], "description": null, "performer_orgnr": "972418013"}'),
            tp.act('{"code": null, "text": null, "description": "Trykkavlastende madrass", "status": "completed", "frequency": null,
                     "period": null, "period_unit": null, "end": "2026-09-30", "kind": "DeviceRequest"}')))
        || o);
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tp TO PUBLIC;

-- the test's citizens: Bodø (a, b, c, blocked), Bærum (d), Asker (e)
SELECT deling.synthetic_fnr('1938-04-11', 7) AS pa, deling.synthetic_fnr('1938-04-12', 7) AS pb,
       deling.synthetic_fnr('1938-04-13', 7) AS pc, deling.synthetic_fnr('1938-04-14', 7) AS pblk,
       deling.synthetic_fnr('1938-04-15', 7) AS pd, deling.synthetic_fnr('1938-04-16', 7) AS pe,
       deling.fhir_source_system('tp-test') AS src_uri \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.citizen WHERE pid IN (:'pa', :'pb', :'pc', :'pblk', :'pd', :'pe'))
              AND NOT EXISTS (SELECT FROM deling.tiltaksplan WHERE pid IN (:'pa', :'pb', :'pc', :'pblk', :'pd', :'pe')),
              'the test''s citizens are new');

-- ---------------------------------------------------------------------------
-- the declaration and what it made
-- ---------------------------------------------------------------------------
SELECT sec.ok(s.available AND s.declaration->>'code' = 'tiltaksplan' AND s.declaration->'read'->>'function' = 'tiltaksplan',
              'tiltaksplan is a declared, available sharing service')
FROM deling.service s WHERE s.service_code = 'tiltaksplan';
SELECT sec.ok(to_regprocedure('api.tiltaksplan(text, text, boolean, integer, text, text)') IS NOT NULL
              AND to_regprocedure('api.tiltaksplan_ingest(jsonb)') IS NOT NULL
              AND to_regprocedure('api.tiltaksplan_ingest_batch(jsonb)') IS NOT NULL
              AND to_regprocedure('api.tiltaksplan_ingest_fhir(jsonb)') IS NOT NULL
              AND to_regclass('deling.tiltaksplan_history') IS NOT NULL,
              'the generator made its table, history, ingest (single, batch, FHIR) and read');
SELECT sec.ok(c.relrowsecurity AND c.relforcerowsecurity, format('%s has forced row-level security', c.oid::regclass))
FROM pg_class c WHERE c.oid IN ('deling.tiltaksplan'::regclass, 'deling.tiltaksplan_history'::regclass) ORDER BY c.relname;
SELECT sec.ok(to_regprocedure(s.declaration->>'synthetic' || '(text, text[], integer)') IS NOT NULL,
              'its declaration names its synthetic items: ' || (s.declaration->>'synthetic'))
FROM deling.service s WHERE s.service_code = 'tiltaksplan';
SELECT sec.ok(pg_get_functiondef('api.legevakt_summary(text, text, text)'::regprocedure) LIKE '%deling.tiltaksplan_rows%',
              'the legevakt summary has a tiltaksplan part');

-- opt-in: off by default.  A kommune that joins the platform has not enabled it
SELECT deling.add_kommune('1865', 'Vågan', deling.synthetic_orgnr(1865)) IS NOT NULL AS added \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.kommune_service WHERE kommune_nr = '1865' AND service_code = 'tiltaksplan'),
              'a new kommune has not enabled tiltaksplan (off by default)');
-- this test switches it on and off itself: off everywhere to start with
SELECT count(deling.disable_service(k.kommune_nr, 'tiltaksplan')) AS disabled FROM deling.kommune k \gset

-- ---------------------------------------------------------------------------
-- opt-in off: no ingest, no read
-- ---------------------------------------------------------------------------
\c - sec_epj_bodo
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest(%L)', tp.plan(:'pa', 'off-1'))) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '42501' AND (:'f')::jsonb->>'message' LIKE '%has not enabled the sharing service "tiltaksplan"%',
              'opt-in off: ingest is refused with 42501: ' || ((:'f')::jsonb->>'message'));
\c - sec_lege
SELECT sec.claims('lege_bodo') AS claims \gset
\set lege_bodo_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT tp.failure(format('SELECT api.tiltaksplan(%L)', :'pa')) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '42501' AND (:'f')::jsonb->>'message' LIKE '%reaches no kommune that shares through "tiltaksplan"%',
              'opt-in off: a doctor''s read is refused with 42501: ' || ((:'f')::jsonb->>'message'));

\c - postgres
SELECT deling.enable_service('1804', 'tiltaksplan') IS NULL AS on_bodo, deling.enable_service('3201', 'tiltaksplan') IS NULL AS on_baerum \gset
SELECT sec.ok((SELECT array_agg(kommune_nr ORDER BY kommune_nr) FROM deling.kommune_service WHERE service_code = 'tiltaksplan') = '{1804,3201}',
              'opt-in per kommune: Bodø and Bærum enabled tiltaksplan, Asker and Vågan did not');

-- ---------------------------------------------------------------------------
-- ingest: one plan (JSON), idempotency, amendment, withdrawal
-- ---------------------------------------------------------------------------
\c - sec_epj_bodo
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-1')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'created' AND (:'r')::jsonb->>'version' = '1' AND (:'r')::jsonb->>'status' = 'active'
              AND (:'r')::jsonb->>'plan_id' ~ '^[0-9a-f-]{36}$',
              'a plan is created (its report: result, plan_id, status, version)');
SELECT (:'r')::jsonb->>'plan_id' AS plan1 \gset
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-1')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'unchanged' AND (:'r')::jsonb->>'plan_id' = :'plan1' AND (:'r')::jsonb->>'version' = '1',
              'sending it again changes nothing (idempotent on source_system + source_id)');
-- explicit nulls are the same as absent fields, at the plan's level and the activities'
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-1') || jsonb_build_object('period_end', NULL, 'activities',
           jsonb_set(tp.plan(:'pa', 'tp-1')->'activities', '{0,kind}', 'null'))) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'unchanged', 'explicit nulls are no change (period_end null, an activity''s kind null)');
-- the activities' order is the plan's: another order is a change
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-1') || jsonb_build_object('activities',
           (SELECT jsonb_agg(a ORDER BY o DESC) FROM jsonb_array_elements(tp.plan(:'pa', 'tp-1')->'activities') WITH ORDINALITY x(a, o)))) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'version' = '2', 'activities in another order amend the plan (version 2)');
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-1')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'version' = '3', 'and back: amended again (version 3)');
-- an amendment: the first activity is put on hold
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-1', jsonb_build_object('activities',
           jsonb_set(tp.plan(:'pa', 'tp-1')->'activities', '{0,status}', '"on-hold"')))) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'plan_id' = :'plan1' AND (:'r')::jsonb->>'version' = '4',
              'a changed activity amends the plan (same plan_id, version 4)');
\c - postgres
SELECT sec.ok((SELECT count(*) FROM deling.tiltaksplan_history h WHERE h.plan_id = :'plan1') = 3
              AND (SELECT h.activities->0->>'status' FROM deling.tiltaksplan_history h WHERE h.plan_id = :'plan1' AND h.version = 3) = 'in-progress'
              AND (SELECT t.activities->0->>'status' FROM deling.tiltaksplan t WHERE t.plan_id = :'plan1') = 'on-hold',
              'the history keeps every version an amendment replaced, whole');
SELECT sec.ok((SELECT t.addresses FROM deling.tiltaksplan t WHERE t.plan_id = :'plan1')
              = jsonb_build_array(
                  jsonb_build_object('service', 'diagnoser', 'source_system', 'tp-test', 'source_id', 'diag-tp-1',
                                     'display', 'Demens i Alzheimers sykdom', 'system', :'src_uri'),
                  jsonb_build_object('service', 'kartlegginger', 'source_system', 'urn:oid:2.16.578.1.12.4.1.2.99', 'source_id', 'braden-tp-1',
                                     'display', 'Braden 12: høy risiko', 'system', 'urn:oid:2.16.578.1.12.4.1.2.99')),
              'a reference without a source_system is to a record of the plan''s own source system; each is stored with its identifier system');

-- a withdrawal: status entered-in-error; no read returns it any more
\c - sec_epj_bodo
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-w')) AS r \gset
SELECT (:'r')::jsonb->>'plan_id' AS planw \gset
SELECT api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-w', '{"status": "entered-in-error"}')) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'status' = 'entered-in-error' AND (:'r')::jsonb->>'plan_id' = :'planw',
              'a withdrawal (status entered-in-error) is recorded as an amendment');
SELECT sec.ok(NOT EXISTS (SELECT FROM jsonb_array_elements((api.tiltaksplan(:'pa', include_history => true))::jsonb->'entry') e
                          WHERE e->'resource'->>'id' = :'planw'),
              'a withdrawn plan is in no read, not even with include_history');
SELECT sec.ok((api.tiltaksplan_ingest(tp.plan(:'pa', 'tp-w', '{"status": "entered-in-error"}')))->>'result' = 'unchanged',
              'withdrawing it again changes nothing');

-- ---------------------------------------------------------------------------
-- a batch: all or nothing, a report per item
-- ---------------------------------------------------------------------------
SELECT api.tiltaksplan_ingest_batch(jsonb_build_array(
           tp.plan(:'pb', 'tp-b1', '{"period_start": "2026-01-05", "period_end": "2026-03-31", "status": "completed", "title": "Etter sykehusopphold"}'),
           tp.plan(:'pb', 'tp-b2', '{"period_start": "2026-06-01", "status": "on-hold", "title": "Ernæring", "goal": null, "addresses": null}'),
           tp.plan(:'pb', 'tp-b3', '{"period_start": "2026-10-01", "status": "draft", "title": "Rehabilitering", "unit_orgnr": null}'),
           tp.plan(:'pb', 'tp-b4', '{"period_start": "2025-02-01", "period_end": "2025-05-31", "status": "revoked", "title": "Gammel plan"}'),
           tp.plan(:'pa', 'tp-1', jsonb_build_object('activities',
               jsonb_set(tp.plan(:'pa', 'tp-1')->'activities', '{0,status}', '"on-hold"'))))) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'received' = '5' AND (:'r')::jsonb->>'created' = '4' AND (:'r')::jsonb->>'unchanged' = '1'
              AND (:'r')::jsonb->>'amended' = '0' AND (:'r')::jsonb->>'kommune_nr' = '1804'
              AND jsonb_array_length((:'r')::jsonb->'items') = 5
              AND (SELECT bool_and(i->>'item' = o::text AND i ? 'plan_id' AND i ? 'result')
                   FROM jsonb_array_elements((:'r')::jsonb->'items') WITH ORDINALITY x(i, o)),
              'a batch of five: four created, one unchanged, one report per item in order');
SELECT count(*) AS before FROM deling.tiltaksplan \gset
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest_batch(%L)', jsonb_build_array(
           tp.plan(:'pc', 'tp-c1'),
           tp.plan(:'pc', 'tp-c2', '{"status": "planned"}'),
           tp.plan(:'pc', 'tp-c3'),
           tp.plan(:'pc', 'tp-c4', '{"period_end": "2026-08-31"}')))) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '22023'
              AND (:'f')::jsonb->>'message' = 'Tiltaksplan batch rejected: 2 of 4 item(s) invalid; nothing was written'
              AND ((:'f')::jsonb->>'detail')::jsonb @> '[{"item": 2, "source_id": "tp-c2"}, {"item": 4, "source_id": "tp-c4"}]'
              AND jsonb_array_length(((:'f')::jsonb->>'detail')::jsonb) = 2,
              'a batch with two bad plans is rejected whole (22023), the detail naming items 2 and 4: ' || ((:'f')::jsonb->>'detail'));
SELECT sec.ok(count(*) = :before AND NOT EXISTS (SELECT FROM deling.tiltaksplan t WHERE t.pid = :'pc'),
              'nothing of the rejected batch was written') FROM deling.tiltaksplan;
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest_batch(%L)', jsonb_build_array(tp.plan(:'pc', 'tp-c1'), tp.plan(:'pc', 'tp-c1')))) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '22023' AND (:'f')::jsonb->>'detail' LIKE '%source_id appears more than once in the batch%',
              'a batch naming one plan twice is refused');
SELECT sec.ok((tp.failure('SELECT api.tiltaksplan_ingest_batch(''[]'')'))->>'state' = '22023'
              AND (tp.failure('SELECT api.tiltaksplan_ingest_batch(''{}'')'))->>'state' = '22023',
              'an empty batch and a batch that is no array are refused with 22023');

-- ---------------------------------------------------------------------------
-- refusals: each a 22023 whose per-item report says what is wrong
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE bad (n serial, label text, item jsonb, says text);
INSERT INTO bad (label, item, says)
SELECT label, tp.plan(:'pc', 'tp-bad', o::jsonb), says FROM (VALUES
    ('a status outside request-status', '{"status": "planned"}', 'status "planned" is not one of draft, active, on-hold, revoked, completed, entered-in-error, unknown'),
    ('a status in other case', '{"status": "Active"}', 'status "Active" is not one of'),
    ('no status', '{"status": null}', 'missing field(s): status'),
    ('no title', '{"title": null}', 'missing field(s): title'),
    ('no period_start', '{"period_start": null}', 'missing field(s): period_start'),
    ('period_end before period_start', '{"period_start": "2026-09-01", "period_end": "2026-08-31"}', 'period_end 2026-08-31 is before period_start 2026-09-01'),
    ('a period_start that is no date', '{"period_start": "2026-02-30"}', 'period_start "2026-02-30" is not a date (YYYY-MM-DD)'),
    ('a period_start in the 1800s', '{"period_start": "1899-12-31"}', 'period_start 1899-12-31 is before 1900-01-01'),
    ('created in the future', format('{"created": "%s"}', to_char(now() + interval '2 days', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')), 'is in the future'),
    ('created without an offset', '{"created": "2026-08-30T10:15:00"}', 'must be an ISO 8601 date and time with a UTC offset'),
    ('a title of 201 characters', jsonb_build_object('title', repeat('x', 201))::text, 'title is longer than 200 characters'),
    ('a description of 2001 characters', jsonb_build_object('description', repeat('x', 2001))::text, 'description is longer than 2000 characters'),
    ('a goal of 1001 characters', jsonb_build_object('goal', repeat('x', 1001))::text, 'goal is longer than 1000 characters'),
    ('a unit_name of 201 characters', jsonb_build_object('unit_name', repeat('x', 201))::text, 'unit_name is longer than 200 characters'),
    ('a bad unit_orgnr', '{"unit_orgnr": "972418014"}', 'unit_orgnr "972418014" is not a valid organisasjonsnummer'),
    ('a title that is no string', '{"title": 7}', 'title must be a string, not 7'),
    ('an unknown field', '{"priority": "high"}', 'unknown field(s): priority'),
    ('an invalid pid', '{"pid": "12345678901"}', 'pid "12345678901" is not a valid identity number'),
    ('a bad source_system', '{"source_system": "has space"}', 'source_system "has space" must be 1-100 characters'),
    ('activities that are no array', '{"activities": {"text": "x"}}', 'activities must be an array of activity objects'),
    ('101 activities', jsonb_build_object('activities', (SELECT jsonb_agg(tp.act()) FROM generate_series(1, 101)))::text, 'activities has 101 activities; a plan has at most 100'),
    ('an activity that is no object', '{"activities": ["Snu pasienten"]}', 'activities[0] must be an object, not "Snu pasienten"'),
    ('an activity without code, text or description', jsonb_build_object('activities', jsonb_build_array(tp.act(), tp.act('{"code": null, "text": null, "description": null}')))::text,
        'activities[1] needs a code, a text or a description of what is done'),
    ('an activity with only blanks', jsonb_build_object('activities', jsonb_build_array(tp.act('{"code": null, "text": " ", "description": ""}')))::text,
        'activities[0] needs a code, a text or a description of what is done'),
    ('an activity without status', jsonb_build_object('activities', jsonb_build_array(tp.act('{"status": null}')))::text, 'activities[0] needs a status'),
    ('an activity status outside care-plan-activity-status', jsonb_build_object('activities', jsonb_build_array(tp.act(), tp.act(), tp.act('{"status": "active"}')))::text,
        'activities[2].status "active" is not one of not-started, scheduled, in-progress, on-hold, completed, cancelled, stopped, unknown, entered-in-error'),
    ('an activity with a bad SNOMED CT code', jsonb_build_object('activities', jsonb_build_array(tp.act('{"code": "359962007"}')))::text,
        'activities[0].code "359962007" is not a SNOMED CT concept id'),
    ('an activity kind outside care-plan-activity-kind', jsonb_build_object('activities', jsonb_build_array(tp.act('{"kind": "Procedure"}')))::text,
        'activities[0].kind "Procedure" is not one of Appointment'),
    ('a frequency of 0', jsonb_build_object('activities', jsonb_build_array(tp.act('{"frequency": 0}')))::text, 'activities[0].frequency must be a whole number from 1 to 100, not 0'),
    ('a frequency of 1.5', jsonb_build_object('activities', jsonb_build_array(tp.act('{"frequency": 1.5}')))::text, 'activities[0].frequency must be a whole number from 1 to 100, not 1.5'),
    ('a frequency in a string', jsonb_build_object('activities', jsonb_build_array(tp.act('{"frequency": "2"}')))::text, 'activities[0].frequency must be a whole number from 1 to 100, not "2"'),
    ('a frequency without its period', jsonb_build_object('activities', jsonb_build_array(tp.act('{"period": null}')))::text,
        'activities[0]: frequency, period and period_unit go together'),
    ('a period of 0', jsonb_build_object('activities', jsonb_build_array(tp.act('{"period": 0}')))::text, 'activities[0].period must be a number above 0 and at most 1000, not 0'),
    ('a period unit "day"', jsonb_build_object('activities', jsonb_build_array(tp.act('{"period_unit": "day"}')))::text, 'activities[0].period_unit "day" is not one of min, h, d, wk, mo, a'),
    ('a time of day outside the list', jsonb_build_object('activities', jsonb_build_array(tp.act('{"when": ["MORN", "LUNCH"]}')))::text,
        'activities[0].when must be an array of distinct MORN, NOON, AFT, EVE, NIGHT'),
    ('a time of day twice', jsonb_build_object('activities', jsonb_build_array(tp.act('{"when": ["EVE", "EVE"]}')))::text,
        'activities[0].when must be an array of distinct'),
    ('a time of day without a frequency', jsonb_build_object('activities', jsonb_build_array(tp.act('{"frequency": null, "period": null, "period_unit": null, "when": ["MORN"]}')))::text,
        'activities[0].when needs frequency, period and period_unit'),
    ('an activity ending before it starts', jsonb_build_object('activities', jsonb_build_array(tp.act('{"start": "2026-09-01", "end": "2026-08-01"}')))::text,
        'activities[0].end 2026-08-01 is before its start 2026-09-01'),
    ('an activity start that is no date', jsonb_build_object('activities', jsonb_build_array(tp.act('{"start": "1. september"}')))::text,
        'activities[0].start "1. september" is not a date (YYYY-MM-DD)'),
    ('an activity with a bad performer_orgnr', jsonb_build_object('activities', jsonb_build_array(tp.act('{"performer_orgnr": "12345678"}')))::text,
        'activities[0].performer_orgnr "12345678" is not a valid organisasjonsnummer'),
    ('an activity text of 201 characters', jsonb_build_object('activities', jsonb_build_array(tp.act(jsonb_build_object('text', repeat('x', 201)))))::text,
        'activities[0].text is longer than 200 characters'),
    ('an activity description of 1001 characters', jsonb_build_object('activities', jsonb_build_array(tp.act(jsonb_build_object('description', repeat('x', 1001)))))::text,
        'activities[0].description is longer than 1000 characters'),
    ('a performer_name of 201 characters', jsonb_build_object('activities', jsonb_build_array(tp.act(jsonb_build_object('performer_name', repeat('x', 201)))))::text,
        'activities[0].performer_name is longer than 200 characters'),
    ('an unknown activity field', jsonb_build_object('activities', jsonb_build_array(tp.act('{"dose": "2 mg"}')))::text, 'activities[0] has unknown field(s): dose'),
    ('an activity status that is no string', jsonb_build_object('activities', jsonb_build_array(tp.act('{"status": true}')))::text, 'activities[0].status must be a string, not true'),
    ('addresses that are no array', '{"addresses": "diag-1"}', 'addresses must be an array of references'),
    ('a reference to another service', '{"addresses": [{"service": "news2", "source_id": "m-1"}]}', 'addresses[0].service must be diagnoser'),
    ('a reference without service', '{"addresses": [{"source_id": "d-1"}]}', 'addresses[0].service must be diagnoser (a diagnosis the plan addresses) or kartlegginger (an assessment it rests on), not missing'),
    ('a reference without source_id', '{"addresses": [{"service": "diagnoser", "display": "Demens"}]}', 'addresses[0].source_id (the record''s key in its source system) must be 1-200 characters'),
    ('a reference with a bad source_system', '{"addresses": [{"service": "diagnoser", "source_id": "d-1", "source_system": "a b"}]}', 'addresses[0].source_system "a b" must be 1-100 characters'),
    ('a reference display of 501 characters', jsonb_build_object('addresses', jsonb_build_array(jsonb_build_object('service', 'diagnoser', 'source_id', 'd', 'display', repeat('x', 501))))::text,
        'addresses[0].display is longer than 500 characters'),
    ('a reference with an unknown field', '{"addresses": [{"service": "diagnoser", "source_id": "d-1", "code": "F00"}]}', 'addresses[0] has unknown field(s): code'),
    ('the same record referenced twice', '{"addresses": [{"service": "diagnoser", "source_id": "d-1"}, {"service": "kartlegginger", "source_id": "d-1"}, {"service": "diagnoser", "source_system": "tp-test", "source_id": "d-1"}]}',
        'addresses[2] names the same record as addresses[0]'),
    ('51 references', jsonb_build_object('addresses', (SELECT jsonb_agg(jsonb_build_object('service', 'diagnoser', 'source_id', 'd-' || i)) FROM generate_series(1, 51) i))::text,
        'addresses has 51 references; a plan has at most 50')
) x(label, o, says);

SELECT sec.ok(f->>'state' = '22023' AND (f->>'detail')::jsonb->0->>'error' LIKE '%' || b.says || '%',
              format('refused (22023): %s: %s', b.label, coalesce((f->>'detail')::jsonb->0->>'error', f::text)))
FROM bad b, LATERAL (SELECT tp.failure(format('SELECT api.tiltaksplan_ingest(%L)', b.item)) AS f) x
ORDER BY b.n;
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.tiltaksplan t WHERE t.pid = :'pc'), 'none of the refused plans was written');
-- another kommune's plan, and the ingest of a kommune that is not the caller's
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest(%L)', tp.plan(:'pd', 'tp-x') || '{"kommune_nr": "3201"}')) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '42501', 'a plan for Bærum from Bodø''s integration is refused with 42501: ' || ((:'f')::jsonb->>'message'));

-- ---------------------------------------------------------------------------
-- a FHIR Bundle of CarePlans
-- ---------------------------------------------------------------------------
\c - postgres
SELECT jsonb_build_object('resourceType', 'Bundle', 'type', 'transaction', 'entry', jsonb_build_array(
    jsonb_build_object('fullUrl', 'urn:uuid:0b9e0f7a-1111-4b6e-9a55-000000000001',
                       'resource', jsonb_build_object('resourceType', 'Patient', 'identifier', jsonb_build_array(deling.fhir_pid_identifier(:'pc')))),
    jsonb_build_object('fullUrl', 'urn:uuid:0b9e0f7a-1111-4b6e-9a55-000000000002', 'resource', $cp$
    {"resourceType": "CarePlan",
     "identifier": [{"system": "https://deling.nhn.no/fhir/NamingSystem/source/gerica", "value": "cp-1"}],
     "status": "active", "intent": "plan", "title": "Tiltaksplan hjemmesykepleie",
     "subject": {"reference": "urn:uuid:0b9e0f7a-1111-4b6e-9a55-000000000001"},
     "period": {"start": "2026-10-01"},
     "created": "2026-09-28T09:00:00+02:00",
     "author": {"type": "Organization", "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "972418013"}, "display": "Hjemmesykepleien Bodø sentrum"},
     "contained": [{"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active", "description": {"text": "Bo trygt hjemme"},
                    "subject": {"reference": "urn:uuid:0b9e0f7a-1111-4b6e-9a55-000000000001"}}],
     "goal": [{"reference": "#g1"}],
     "addresses": [{"type": "Condition", "identifier": {"system": "https://deling.nhn.no/fhir/NamingSystem/source/gerica", "value": "diag-9"}, "display": "Hjertesvikt"}],
     "supportingInfo": [{"type": "Observation", "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.2.99", "value": "mna-3"}}],
     "activity": [
       {"detail": {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "18629005"}], "text": "Medisinhjelp"},
                   "status": "in-progress", "kind": "MedicationRequest",
                   "scheduledTiming": {"repeat": {"boundsPeriod": {"start": "2026-10-01", "end": "2026-12-31"},
                                                  "frequency": 2, "period": 1, "periodUnit": "d", "when": ["MORN", "EVE"]}},
                   "performer": [{"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "972418013"}, "display": "Hjemmesykepleien"}],
                   "description": "Multidose"}},
       {"detail": {"description": "Hjelp til dusj", "status": "scheduled",
                   "scheduledPeriod": {"start": "2026-10-05", "end": "2026-11-05"}}}]}$cp$::jsonb),
    jsonb_build_object('fullUrl', 'urn:uuid:0b9e0f7a-1111-4b6e-9a55-000000000003', 'resource', $cp$
    {"resourceType": "CarePlan",
     "identifier": [{"system": "https://deling.nhn.no/fhir/NamingSystem/source/gerica", "value": "cp-2"}],
     "status": "completed", "intent": "plan", "title": "Korttidsopphold",
     "subject": {"reference": "urn:uuid:0b9e0f7a-1111-4b6e-9a55-000000000001"},
     "period": {"start": "2026-03-01T00:00:00+01:00", "end": "2026-03-20"},
     "activity": [{"detail": {"code": {"text": "Opptrening"}, "status": "completed"}}]}$cp$::jsonb))) AS bundle \gset
\c - sec_epj_bodo
SELECT api.tiltaksplan_ingest_fhir(:'bundle') AS r \gset
SELECT sec.ok((:'r')::jsonb->>'created' = '2' AND (:'r')::jsonb->'items'->0->>'source_id' = 'cp-1'
              AND (:'r')::jsonb->'items'->1->>'status' = 'completed',
              'a FHIR Bundle of two CarePlans creates two plans: ' || (:'r')::text);
SELECT (:'r')::jsonb->'items'->0->>'plan_id' AS fplan \gset
\c - postgres
SELECT sec.ok(t.source_system = 'gerica' AND t.status = 'active' AND t.period_start = '2026-10-01' AND t.created = '2026-09-28T09:00:00+02:00'
              AND t.unit_orgnr = '972418013' AND t.unit_name = 'Hjemmesykepleien Bodø sentrum' AND t.goal = 'Bo trygt hjemme'
              AND t.addresses = jsonb_build_array(
                    jsonb_build_object('service', 'diagnoser', 'source_system', 'gerica', 'source_id', 'diag-9', 'display', 'Hjertesvikt',
                                       'system', 'https://deling.nhn.no/fhir/NamingSystem/source/gerica'),
                    jsonb_build_object('service', 'kartlegginger', 'source_system', 'urn:oid:2.16.578.1.12.4.1.2.99', 'source_id', 'mna-3',
                                       'system', 'urn:oid:2.16.578.1.12.4.1.2.99'))
              AND t.activities = '[{"code": "18629005", "text": "Medisinhjelp", "status": "in-progress", "kind": "MedicationRequest",
                                    "start": "2026-10-01", "end": "2026-12-31", "frequency": 2, "period": 1, "period_unit": "d",
                                    "when": ["MORN", "EVE"], "performer_name": "Hjemmesykepleien", "performer_orgnr": "972418013",
                                    "description": "Multidose"},
                                   {"description": "Hjelp til dusj", "status": "scheduled", "start": "2026-10-05", "end": "2026-11-05"}]'::jsonb,
              'the CarePlan''s fields, goal, references (addresses and supportingInfo) and activities are read from FHIR')
FROM deling.tiltaksplan t WHERE t.plan_id = :'fplan';
\c - sec_epj_bodo
SELECT sec.ok((api.tiltaksplan_ingest_fhir(:'bundle'))->>'unchanged' = '2', 'the same Bundle again changes nothing');
-- all or nothing: one bad CarePlan rejects the Bundle
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest_fhir(%L)',
           jsonb_set(jsonb_set(:'bundle'::jsonb, '{entry,2,resource,status}', '"finished"'), '{entry,1,resource,title}', '"Endret"'))) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '22023' AND ((:'f')::jsonb->>'detail')::jsonb->0->>'error' LIKE 'status "finished" is not one of%'
              AND ((:'f')::jsonb->>'detail')::jsonb->0->>'item' = '2',
              'a Bundle with one bad CarePlan is rejected whole (22023), naming it: ' || ((:'f')::jsonb->>'detail'));
SELECT sec.ok((SELECT t.title FROM deling.tiltaksplan t WHERE t.plan_id = :'fplan') = 'Tiltaksplan hjemmesykepleie',
              'and its good CarePlan was not written either');
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest_fhir(%L)',
           jsonb_set(:'bundle'::jsonb, '{entry,1,resource,addresses,0}', '{"identifier": {"value": "diag-9"}}'))) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '22023' AND (:'f')::jsonb->>'detail' LIKE '%Reference.type Condition or Observation%',
              'a reference without its type is refused, saying so: ' || (((:'f')::jsonb->>'detail')::jsonb->0->>'error'));
SELECT tp.failure(format('SELECT api.tiltaksplan_ingest_fhir(%L)',
           jsonb_set(:'bundle'::jsonb, '{entry,1,resource,activity,0,detail,scheduledTiming,repeat,periodUnit}', '"day"'))) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '22023'
              AND ((:'f')::jsonb->>'detail')::jsonb->0->>'error' LIKE 'activities[0].period_unit "day" is not one of%',
              'a FHIR activity with a bad periodUnit is refused, naming the activity');
SELECT sec.ok((tp.failure('SELECT api.tiltaksplan_ingest_fhir(''{"resourceType": "Bundle", "type": "collection", "entry": []}'')'))->>'message'
              = 'the Bundle has no CarePlan resources', 'a Bundle without CarePlans is refused');

-- ---------------------------------------------------------------------------
-- the read: a doctor at Bodø legevakt (token: HPR, purpose TREAT attested)
-- ---------------------------------------------------------------------------
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.tiltaksplan(:'pa')::jsonb AS b \gset
SELECT 'fhir read-one-plan ' || (:'b')::jsonb::text;
SELECT (:'b')::jsonb->'entry'->0->'resource' AS cp \gset
SELECT sec.ok((:'b')::jsonb->>'type' = 'searchset' AND (:'b')::jsonb->>'total' = '1' AND jsonb_array_length((:'b')::jsonb->'entry') = 2
              AND (:'b')::jsonb->'entry'->1->'resource'->>'resourceType' = 'Patient',
              'the read is a searchset Bundle: the plan (match) and the Patient (include); the withdrawn plan is not in it');
SELECT sec.ok((:'cp')::jsonb->>'resourceType' = 'CarePlan' AND (:'cp')::jsonb->>'id' = :'plan1' AND (:'cp')::jsonb->>'status' = 'active'
              AND (:'cp')::jsonb->>'intent' = 'plan' AND (:'cp')::jsonb->>'title' = 'Tiltaksplan hjemmesykepleie'
              AND (:'cp')::jsonb->'period' = '{"start": "2026-09-01"}' AND (:'cp')::jsonb->>'created' = '2026-08-30T10:15:00+02:00'
              AND (:'cp')::jsonb->'identifier' = jsonb_build_array(jsonb_build_object('system', :'src_uri', 'value', 'tp-1'))
              AND (:'cp')::jsonb->'subject'->>'reference' = (:'b')::jsonb->'entry'->1->>'fullUrl',
              'CarePlan: id, identifier (source key), status, intent plan, title, period, created, subject the Patient');
SELECT sec.ok((:'cp')::jsonb->'author' = jsonb_build_object('type', 'Organization', 'display', 'Hjemmesykepleien sentrum',
                  'identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.101', 'value', sec.orgnr('1804'))),
              'author: the unit as an Organization by orgnr');
SELECT sec.ok((:'cp')::jsonb->'goal' = '[{"reference": "#goal"}]'
              AND (:'cp')::jsonb->'contained'->0 @> '{"resourceType": "Goal", "id": "goal", "lifecycleStatus": "active", "description": {"text": "Unngå trykksår"}}'
              AND (:'cp')::jsonb->'contained'->0->'subject' = (:'cp')::jsonb->'subject',
              'goal: a contained Goal (lifecycleStatus from the plan''s status, the goal text, the same subject)');
SELECT sec.ok((:'cp')::jsonb->'addresses' = jsonb_build_array(jsonb_build_object('type', 'Condition', 'display', 'Demens i Alzheimers sykdom',
                  'identifier', jsonb_build_object('system', :'src_uri', 'value', 'diag-tp-1')))
              AND (:'cp')::jsonb->'supportingInfo' = jsonb_build_array(jsonb_build_object('type', 'Observation', 'display', 'Braden 12: høy risiko',
                  'identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.2.99', 'value', 'braden-tp-1'))),
              'the diagnosis is in addresses (Reference(Condition)), the assessment in supportingInfo, each by identifier: keys that name nothing deling holds are read all the same');
SELECT sec.ok(jsonb_array_length((:'cp')::jsonb->'activity') = 4
              AND (:'cp')::jsonb->'activity'->0->'detail' = '{"code": {"coding": [{"system": "http://snomed.info/sct", "code": "359962006"}], "text": "Snu pasienten i sengen"},
                  "status": "on-hold", "scheduledTiming": {"repeat": {"boundsPeriod": {"start": "2026-09-01"}, "frequency": 1, "period": 2, "periodUnit": "h"}},
                  "performer": [{"type": "Organization", "display": "Hjemmesykepleien sentrum"}], "description": "Snu hver 2. time, også om natten"}'::jsonb,
              'activity 1: code (SNOMED CT and text), status, scheduledTiming (2-hourly from its start), performer, description');
SELECT sec.ok((:'cp')::jsonb->'activity'->1->'detail'->>'kind' = 'ServiceRequest'
              AND (:'cp')::jsonb->'activity'->1->'detail'->'scheduledTiming'->'repeat' @> '{"frequency": 1, "period": 1, "periodUnit": "wk"}'
              AND (:'cp')::jsonb->'activity'->2->'detail'->'scheduledTiming'->'repeat' @> '{"frequency": 2, "period": 1, "periodUnit": "d", "when": ["MORN", "EVE"]}'
              AND (:'cp')::jsonb->'activity'->2->'detail'->'performer'->0->'identifier' = '{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "972418013"}',
              'weekly (kind ServiceRequest); twice a day morning and evening (Timing.repeat.when), performer by orgnr');
SELECT sec.ok((:'cp')::jsonb->'activity'->3->'detail' = '{"kind": "DeviceRequest", "status": "completed", "description": "Trykkavlastende madrass",
                  "scheduledPeriod": {"start": "2026-09-01", "end": "2026-09-30"}, "performer": [{"type": "Organization", "display": "Hjemmesykepleien sentrum"}]}'::jsonb,
              'an activity without a frequency has its period as scheduledPeriod (scheduled[x] is one of Timing or Period, never both)');
SELECT sec.ok(NOT EXISTS (SELECT FROM jsonb_array_elements((:'cp')::jsonb->'activity') a
                          WHERE a->'detail' ? 'scheduledTiming' AND a->'detail' ? 'scheduledPeriod'),
              'no activity has both scheduledTiming and scheduledPeriod');

-- include_history, paging
SELECT api.tiltaksplan(:'pb')::jsonb AS b \gset
SELECT sec.ok((:'b')::jsonb->>'total' = '2'
              AND (SELECT array_agg(e->'resource'->>'status' ORDER BY o) FROM jsonb_array_elements((:'b')::jsonb->'entry') WITH ORDINALITY x(e, o)
                   WHERE e->'search'->>'mode' = 'match') = '{draft,on-hold}',
              'by default the current plans only (draft, on-hold), the newest period first');
SELECT api.tiltaksplan(:'pb', include_history => true)::jsonb AS b \gset
SELECT 'fhir read-with-history ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '4'
              AND (SELECT array_agg(e->'resource'->>'title' ORDER BY o) FROM jsonb_array_elements((:'b')::jsonb->'entry') WITH ORDINALITY x(e, o)
                   WHERE e->'search'->>'mode' = 'match') = '{Rehabilitering,Ernæring,"Etter sykehusopphold","Gammel plan"}',
              'include_history adds the completed and revoked plans, ordered by period_start, newest first');
SELECT sec.ok(NOT (:'b')::jsonb->'entry'->1->'resource' ? 'goal' AND NOT (:'b')::jsonb->'entry'->1->'resource' ? 'addresses'
              AND (:'b')::jsonb->'entry'->0->'resource'->'author' = '{"type": "Organization", "display": "Hjemmesykepleien sentrum"}',
              'a plan without goal or references has none; a unit without orgnr is an author by name');
SELECT api.tiltaksplan(:'pb', include_history => true, max => 1)::jsonb AS p1 \gset
SELECT 'fhir read-page-1 ' || (:'p1')::jsonb::text;
SELECT substring((SELECT l->>'url' FROM jsonb_array_elements((:'p1')::jsonb->'link') l WHERE l->>'relation' = 'next') FROM 'page=([^&]+)') AS page1 \gset
SELECT sec.ok((:'p1')::jsonb->>'total' = '4' AND jsonb_array_length((:'p1')::jsonb->'entry') = 2 AND :'page1' <> ''
              AND (:'p1')::jsonb->'entry'->0->'resource'->>'title' = 'Rehabilitering',
              'max 1: one plan, total 4, and a next link');
SELECT api.tiltaksplan(:'pb', include_history => true, max => 1, page => :'page1')::jsonb AS p2 \gset
SELECT substring((SELECT l->>'url' FROM jsonb_array_elements((:'p2')::jsonb->'link') l WHERE l->>'relation' = 'next') FROM 'page=([^&]+)') AS page2 \gset
SELECT api.tiltaksplan(:'pb', include_history => true, max => 2, page => :'page2')::jsonb AS p3 \gset
SELECT sec.ok((:'p2')::jsonb->'entry'->0->'resource'->>'title' = 'Ernæring'
              AND (SELECT array_agg(e->'resource'->>'title' ORDER BY o) FROM jsonb_array_elements((:'p3')::jsonb->'entry') WITH ORDINALITY x(e, o)
                   WHERE e->'search'->>'mode' = 'match') = '{"Etter sykehusopphold","Gammel plan"}'
              AND NOT EXISTS (SELECT FROM jsonb_array_elements((:'p3')::jsonb->'link') l WHERE l->>'relation' = 'next'),
              'following next: the second plan, then the last two and no next link');
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan(%L, page => %L)', :'pb', 'not-a-page')))->>'state' = '22023'
              AND (tp.failure(format('SELECT api.tiltaksplan(%L, max => 0)', :'pb')))->>'state' = '22023'
              AND (tp.failure(format('SELECT api.tiltaksplan(%L, max => 1001)', :'pb')))->>'state' = '22023',
              'a page that is no page, max 0 and max 1001 are refused with 22023');
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan(%L)', '12345678901')))->>'state' = '22023', 'an invalid pid is refused with 22023');

-- the FHIR-ingested plans read back, and sent again as they were read: unchanged
SELECT api.tiltaksplan(:'pc', include_history => true)::jsonb AS b \gset
SELECT 'fhir read-from-fhir-ingest ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '2'
              AND (:'b')::jsonb->'entry'->0->'resource'->'activity'->1->'detail'->'scheduledPeriod' = '{"start": "2026-10-05", "end": "2026-11-05"}'
              AND (:'b')::jsonb->'entry'->1->'resource'->'period' = '{"start": "2026-03-01", "end": "2026-03-20"}',
              'the FHIR-ingested plans are read (a dateTime period start read as its date)');
\c - sec_epj_bodo
SELECT sec.ok((api.tiltaksplan_ingest_fhir(jsonb_set(:'b'::jsonb, '{type}', '"collection"')))->>'unchanged' = '2',
              'the read''s Bundle sent back as FHIR ingest is the same two plans: unchanged (the mapping goes both ways)');
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset

-- the sharing gate: duty need and purpose of use
SELECT sec.claims('lege_bodo', '{"authorization_details": null}') AS claims \gset
\set nopurpose_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'nopurpose_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT tp.failure(format('SELECT api.tiltaksplan(%L)', :'pa')) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '42501' AND (:'f')::jsonb->>'message' LIKE 'a purpose of use is required%',
              'no purpose of use (none attested, none given): 42501');
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan(%L, purpose => %L)', :'pa', 'RESEARCH')))->>'state' = '22023',
              'purpose RESEARCH: 22023');
SELECT sec.ok((api.tiltaksplan(:'pa', purpose => 'COC'))->>'total' = '1', 'purpose COC given with the read: served');
SELECT sec.claims('lege_bodo', '{"helseid://claims/hpr/hpr_number": null}') AS claims \gset
\set nohpr_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
\c - sec_lege
SELECT tp.failure(format('SELECT deling.authenticate(%L, for_session => true)', :'nohpr_tok')) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '28000' AND (:'f')::jsonb->>'message' LIKE '%hpr_number%',
              'a health-personnel token without an HPR number is not accepted (28000): ' || ((:'f')::jsonb->>'message'));
SELECT tp.failure(format('SELECT api.tiltaksplan(%L)', :'pa')) AS f \gset
SELECT sec.ok((:'f')::jsonb->>'state' = '42501', 'no token at all: 42501');
SELECT sec.ok(sec.rows('SELECT FROM deling.tiltaksplan') IS NULL, 'a doctor reads no table directly');
\c - sec_innbygger
SELECT sec.claims('innbygger') AS claims \gset
\set innb_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'innb_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan(%L)', :'pa')))->>'state' = '42501', 'the citizen''s channel reads no sharing service: 42501');

-- reach: Bodø legevakt reaches the 18xx kommuner, Asker og Bærum legevakt 3201 and 3203
\c - sec_epj_baerum
SELECT api.tiltaksplan_ingest(tp.plan(:'pd', 'tp-d1', jsonb_build_object('unit_orgnr', sec.orgnr('3201'), 'title', 'Tiltaksplan Bærum'))) AS r \gset
SELECT sec.ok((:'r')::jsonb->>'result' = 'created', 'Bærum''s integration records a plan for a Bærum citizen');
\c - postgres
-- Asker has not enabled tiltaksplan; a plan there (written by the DBA) is not shared
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3203', :'pe');
INSERT INTO deling.tiltaksplan (kommune_nr, pid, status, title, period_start, addresses, activities, source_system, source_id)
VALUES ('3203', :'pe', 'active', 'Tiltaksplan Asker', '2026-05-01', '[]', '[]', 'tp-test', 'tp-e1');
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((api.tiltaksplan(:'pd'))->>'total' = '0', 'Bodø legevakt reads nothing of a Bærum citizen''s plans (no reach)');
SELECT sec.claims('lege_baerum') AS claims \gset
\set lege_baerum_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'lege_baerum_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.tiltaksplan(:'pd')::jsonb AS b \gset
SELECT 'fhir read-baerum ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '1' AND (:'b')::jsonb->'entry'->0->'resource'->>'title' = 'Tiltaksplan Bærum',
              'Asker og Bærum legevakt reads the Bærum plan');
SELECT sec.ok((api.tiltaksplan(:'pa'))->>'total' = '0', 'and nothing of a Bodø citizen''s');
SELECT sec.ok((api.tiltaksplan(:'pe'))->>'total' = '0', 'nor of an Asker citizen''s, though it reaches Asker: Asker has not opted in');
\c - postgres
SELECT deling.enable_service('3203', 'tiltaksplan') IS NULL AS on_asker \gset
\c - sec_lege
SELECT deling.authenticate(:'lege_baerum_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((api.tiltaksplan(:'pe'))->>'total' = '1', 'once Asker opts in, its plan is read');
\c - postgres
SELECT deling.disable_service('3203', 'tiltaksplan') IS NULL AS off_asker \gset

-- ---------------------------------------------------------------------------
-- the citizen's block, emergency access, the access log
-- ---------------------------------------------------------------------------
\c - sec_epj_bodo
SELECT api.tiltaksplan_ingest(tp.plan(:'pblk', 'tp-blk')) IS NOT NULL AS ingested \gset
\c - sec_innbygger
SELECT sec.claims('innbygger', jsonb_build_object('helseid://claims/identity/pid', :'pblk', 'jti', 'sec-innbygger-tp')) AS claims \gset
\set blk_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'blk_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT (api.block_sharing(:'pblk', 'tiltaksplan'))->>'block_id' AS block_id \gset
SELECT sec.ok(:'block_id' ~ '^[0-9a-f-]{36}$', 'the citizen blocks sharing of their tiltaksplan');
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.tiltaksplan(:'pblk')::jsonb AS b \gset
SELECT 'fhir read-blocked ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '0'
              AND (:'b')::jsonb->'entry'->0->'resource'->>'resourceType' = 'OperationOutcome'
              AND (:'b')::jsonb->'entry'->0->'resource'->'issue'->0->>'code' = 'suppressed'
              AND (:'b')::jsonb->'meta'->'security'->0->>'code' = 'REDACTED',
              'a blocked plan is withheld: total 0, an OperationOutcome (suppressed), the Bundle marked REDACTED');
SELECT sec.ok(NOT coalesce((api.news2_observations(:'pblk'))::jsonb->'meta'->'security' @> '[{"code": "REDACTED"}]', false)
              AND NOT coalesce((api.municipal_services(:'pblk'))::jsonb->'meta'->'security' @> '[{"code": "REDACTED"}]', false),
              'a block on tiltaksplan withholds nothing of another service (NEWS2 and the municipal services are not marked REDACTED)');
-- emergency access opens it, with a reason, and is flagged
SELECT sec.claims('lege_bodo', '{"authorization_details": null, "jti": "sec-lege-etreat"}') AS claims \gset
\set etreat_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'etreat_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan(%L, purpose => %L)', :'pblk', 'ETREAT')))->>'state' = '42501',
              'emergency access without a reason: 42501');
SELECT api.tiltaksplan(:'pblk', purpose => 'ETREAT', reason => 'Bevisstløs, trenger oversikt over tiltak')::jsonb AS b \gset
SELECT 'fhir read-emergency ' || (:'b')::jsonb::text;
SELECT sec.ok((:'b')::jsonb->>'total' = '1' AND (:'b')::jsonb->'entry'->0->'resource'->>'resourceType' = 'CarePlan'
              AND EXISTS (SELECT FROM jsonb_array_elements((:'b')::jsonb->'entry') e
                          WHERE e->'resource'->>'resourceType' = 'OperationOutcome' AND e->'resource'->'issue'->0->>'code' = 'informational'),
              'emergency access (ETREAT with a reason) shows the blocked plan and says so');
\c - sec_innbygger
SELECT deling.authenticate(:'blk_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.unblock_sharing(:'block_id') IS NULL AS lifted \gset
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((api.tiltaksplan(:'pblk'))->>'total' = '1', 'once the block is lifted the plan is read');

\c - postgres
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'service' = 'tiltaksplan' AND l.entry->>'citizen' = :'pa' AND l.entry->>'decision' = 'granted'
                        AND l.entry->>'kind' = 'person' AND l.entry->>'hpr' = '565501872' AND l.entry->>'purpose' = 'TREAT'
                        AND l.entry->'kommuner' = '["1804"]' AND (l.entry->>'resources')::int = 2),
              'a read is in the access log: service, citizen, who (HPR), purpose, kommuner read, resources returned');
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'service' = 'tiltaksplan' AND l.entry->>'citizen' = :'pa' AND l.entry->>'decision' = 'denied'
                        AND l.entry->>'why' LIKE 'a purpose of use is required%'),
              'a refused read is in the access log, with why');
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'service' = 'tiltaksplan' AND l.entry->>'citizen' = :'pblk' AND l.entry->>'decision' = 'granted'
                        AND (l.entry->>'emergency')::boolean AND (l.entry->>'opened_block')::boolean
                        AND l.entry->>'reason' = 'Bevisstløs, trenger oversikt over tiltak'),
              'emergency access that opened a block is logged as such, with its reason');
SELECT sec.ok((deling.verify_access_log(NULL)->>'valid')::boolean, 'the access log verifies');

-- ---------------------------------------------------------------------------
-- the legevakt summary: the current plans, when the kommune has enabled it
-- ---------------------------------------------------------------------------
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.legevakt_summary(:'pb')::jsonb AS s \gset
SELECT 'fhir legevakt-summary ' || (:'s')::jsonb::text;
SELECT sec.ok((:'s')::jsonb->>'type' = 'collection' AND (:'s')::jsonb->'entry'->0->'resource'->>'resourceType' = 'Patient'
              AND (SELECT array_agg(e->'resource'->>'status' ORDER BY o) FROM jsonb_array_elements((:'s')::jsonb->'entry') WITH ORDINALITY x(e, o)
                   WHERE e->'resource'->>'resourceType' = 'CarePlan') = '{draft,on-hold}',
              'the legevakt summary has the Patient and the current plans (not the completed or revoked)');
\c - postgres
SELECT deling.disable_service('1804', 'tiltaksplan') IS NULL AS off_bodo \gset
\c - sec_lege
SELECT deling.authenticate(:'lege_bodo_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.legevakt_summary(:'pb')::jsonb AS s \gset
SELECT sec.ok(jsonb_typeof((:'s')::jsonb) = 'object'
              AND NOT EXISTS (SELECT FROM jsonb_array_elements(coalesce((:'s')::jsonb->'entry', '[]')) e
                              WHERE e->'resource'->>'resourceType' = 'CarePlan'),
              'once Bodø opts out, its plans are not in the summary (the rest of it is served)');
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan(%L)', :'pa')))->>'state' = '42501', 'nor read through tiltaksplan: 42501');
\c - sec_epj_bodo
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan_ingest(%L)', tp.plan(:'pa', 'tp-1'))))->>'state' = '42501',
              'nor written: its integration''s ingest is refused with 42501');
SELECT sec.ok(sec.rows('SELECT FROM deling.tiltaksplan') = 0, 'and its integration sees no rows of the table (the data stays, unshared)');
\c - postgres
SELECT sec.ok(count(*) > 0, 'the data stays') FROM deling.tiltaksplan WHERE kommune_nr = '1804';
SELECT deling.enable_service('1804', 'tiltaksplan') IS NULL AS on_bodo \gset

-- ---------------------------------------------------------------------------
-- row-level security across kommuner
-- ---------------------------------------------------------------------------
\c - sec_epj_bodo
SELECT sec.ok(sec.rows('SELECT FROM deling.tiltaksplan') > 0 AND sec.rows('SELECT FROM deling.tiltaksplan WHERE kommune_nr <> ''1804''') = 0
              AND sec.rows('SELECT FROM deling.tiltaksplan_history WHERE kommune_nr <> ''1804''') = 0,
              'Bodø''s integration sees its own plans and history, none of another kommune');
SELECT sec.ok(sec.affected('UPDATE deling.tiltaksplan SET title = ''x'' WHERE kommune_nr = ''3201''') = '0'
              AND sec.affected('DELETE FROM deling.tiltaksplan WHERE kommune_nr = ''3201''') IN ('0', '42501'),
              'Bodø''s integration updates and deletes no Bærum plan');
SELECT sec.ok(sec.affected(format('INSERT INTO deling.tiltaksplan (kommune_nr, pid, status, title, period_start, addresses, activities, source_system, source_id)
                                   VALUES (''3201'', %L, ''active'', ''x'', ''2026-01-01'', ''[]'', ''[]'', ''tp-test'', ''tp-rls'')', :'pd')) = '42501',
              'Bodø''s integration cannot write a Bærum plan into the table');
SELECT sec.ok(sec.affected(format('UPDATE deling.tiltaksplan SET kommune_nr = ''3201'' WHERE plan_id = %L', :'plan1')) IN ('42501', '23503'),
              'nor move one of its own plans to Bærum');
\c - sec_epj_baerum
SELECT sec.ok(sec.rows(format('SELECT FROM deling.tiltaksplan WHERE plan_id = %L', :'plan1')) = 0
              AND (api.tiltaksplan(:'pa'))->>'total' = '0',
              'Bærum''s integration sees nothing of Bodø''s plan, in the table or through the read');
SELECT sec.ok((tp.failure(format('SELECT api.tiltaksplan_ingest_batch(%L)', jsonb_build_array(tp.plan(:'pd', 'tp-d2'),
              tp.plan(:'pa', 'tp-d3') || '{"kommune_nr": "1804"}'))))->>'state' = '42501',
              'a Bærum batch with one plan for Bodø is refused whole (42501)');

-- ---------------------------------------------------------------------------
-- synthetic items: valid, deterministic, ingestible, readable
-- ---------------------------------------------------------------------------
\c - postgres
SELECT deling.tiltaksplan_synthetic_items('3201', ARRAY(SELECT pid FROM deling.citizen WHERE kommune_nr = '3201' ORDER BY pid LIMIT 12), 7) AS syn \gset
SELECT sec.ok(jsonb_array_length(:'syn') >= 12, format('synthetic items: %s plans for 12 citizens', jsonb_array_length(:'syn')));
SELECT sec.ok(bool_and(deling.tiltaksplan_item_problem(i) IS NULL), 'every synthetic item passes the item check')
FROM jsonb_array_elements(:'syn') i;
SELECT sec.ok(deling.tiltaksplan_synthetic_items('3201', ARRAY(SELECT pid FROM deling.citizen WHERE kommune_nr = '3201' ORDER BY pid LIMIT 12), 7) = :'syn'
              AND deling.tiltaksplan_synthetic_items('3201', ARRAY(SELECT pid FROM deling.citizen WHERE kommune_nr = '3201' ORDER BY pid LIMIT 12), 8) <> :'syn',
              'synthetic items are deterministic by seed (the same seed the same items, another seed others)');
SELECT sec.ok((SELECT count(DISTINCT a->>'status') FROM jsonb_array_elements(:'syn') i, jsonb_array_elements(i->'activities') a) >= 3
              AND (SELECT count(*) FROM jsonb_array_elements(:'syn') i, jsonb_array_elements(i->'activities') a WHERE a ? 'code') > 0
              AND (SELECT count(*) FROM jsonb_array_elements(:'syn') i, jsonb_array_elements(i->'activities') a WHERE a ? 'when') > 0,
              'synthetic plans vary: several activity statuses, coded activities, times of day');
\c - sec_epj_baerum
SELECT api.tiltaksplan_ingest_batch(:'syn') AS r \gset
SELECT sec.ok((:'r')::jsonb->>'received' = jsonb_array_length(:'syn')::text
              AND ((:'r')::jsonb->>'created')::int + ((:'r')::jsonb->>'unchanged')::int = jsonb_array_length(:'syn'),
              'Bærum''s integration ingests them: ' || ((:'r')::jsonb - 'items')::text);
SELECT api.tiltaksplan((:'syn')::jsonb->0->>'pid', include_history => true)::jsonb AS b \gset
SELECT 'fhir read-synthetic ' || (:'b')::jsonb::text;
SELECT sec.ok(((:'b')::jsonb->>'total')::int >= 1, 'a synthetic citizen''s plans are read');

\c - postgres
SET client_min_messages = warning;
DROP SCHEMA tp CASCADE;
