-- diagnoser: diagnoses (ICPC-2, ICD-10, SNOMED CT) as FHIR Condition.
-- Run by t/055_services.pl as the superuser in the security suite's
-- platform (tests/security/setup.sql); each check prints "ok - ..." or
-- "not ok - ...", each FHIR document "fhir <name> <json>" (validated
-- against the R4 schema by the runner).  Callers use real tokens (minted
-- with the suite's test key) over bound logins, as PostgREST's would.

\c - postgres
SET client_min_messages = warning;
-- the file's own helpers, in a schema of its own
CREATE SCHEMA diag;
GRANT USAGE ON SCHEMA diag TO PUBLIC;

-- try(sql): run a one-value statement as the caller: its value, or its
-- SQLSTATE, message, detail and hint
CREATE FUNCTION diag.try(sql text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    v text;
    st text;
    msg text;
    det text;
    hnt text;
BEGIN
    EXECUTE sql INTO v;
    RETURN jsonb_build_object('state', 'ok', 'value', v);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN jsonb_strip_nulls(jsonb_build_object('state', st, 'message', msg, 'detail', nullif(det, ''), 'hint', nullif(hnt, '')));
END
$$;

-- item(pid, overrides): a valid diagnosis item, with fields replaced (a
-- JSON null removes one)
CREATE FUNCTION diag.item(pid text, overrides jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'pid', pid, 'source_system', 'gerica', 'source_id', 'diag-test',
        'code_system', 'icpc-2', 'code', 'K86', 'display', 'Hypertensjon ukomplisert',
        'clinical_status', 'active', 'verification_status', 'confirmed',
        'onset', '2019-04-01', 'recorded_at', '2019-04-02T10:15:00+02:00', 'recorder_hpr', '565501872') || overrides);
$$;

-- refusal(item): what api.diagnoser_ingest says of an item: "<SQLSTATE>:
-- <the item's error in the per-item report, or the message>"
CREATE FUNCTION diag.refusal(item jsonb) RETURNS text
LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT r->>'state' || ': ' || coalesce(CASE WHEN r->>'detail' LIKE '[%' THEN (r->>'detail')::jsonb->0->>'error' END,
                                          r->>'message', r->>'value')
    FROM diag.try(format('SELECT api.diagnoser_ingest(%L::jsonb)', item)) r;
$$;

-- ok(passed, description, got): sec.ok, with what came instead when it failed
CREATE FUNCTION diag.ok(passed boolean, description text, got text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE WHEN coalesce(passed, false) THEN 'ok - ' || description
                ELSE 'not ok - ' || description || ' (got: ' || coalesce(left(got, 400), 'NULL') || ')' END;
$$;

-- conditions(bundle): the Condition resources of a Bundle
CREATE FUNCTION diag.conditions(bundle jsonb) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT e->'resource' FROM jsonb_array_elements(bundle->'entry') e WHERE e->'resource'->>'resourceType' = 'Condition';
$$;

-- codes(bundle): the codes of a Bundle's Conditions, sorted, as text
CREATE FUNCTION diag.codes(bundle jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(string_agg(c->'code'->'coding'->0->>'code', ' ' ORDER BY c->'code'->'coding'->0->>'code'), '')
    FROM diag.conditions(bundle) c;
$$;

-- outcome(bundle): the issue code of a Bundle's OperationOutcome, if any
CREATE FUNCTION diag.outcome(bundle jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT e->'resource'->'issue'->0->>'code' FROM jsonb_array_elements(bundle->'entry') e
    WHERE e->'resource'->>'resourceType' = 'OperationOutcome';
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA diag TO PUBLIC;

-- the citizens: p1 is the citizen of the innbygger token (Bodø's first), p2
-- and p3 Bodø's next, pb Bærum's first
SELECT sec.pid('1804', 0) AS p1, sec.pid('1804', 1) AS p2, sec.pid('1804', 2) AS p3, sec.pid('3201', 0) AS pb \gset
SELECT sec.ok((:'p1') = (sec.claims('innbygger')::jsonb->>'helseid://claims/identity/pid'), 'p1 is the citizen of the innbygger token');

-- the tokens: Bodø's and Bærum's EPJ, a doctor at Bodø legevakt (TREAT
-- attested), the same doctor without an attested purpose, one at Asker og
-- Bærum legevakt, and the citizen's channel
SELECT sec.claims('epj_bodo') AS c_epj_bodo, sec.claims('epj_baerum') AS c_epj_baerum, sec.claims('lege_bodo') AS c_lege,
       sec.claims('lege_bodo', '{"authorization_details": null}') AS c_lege_nopurpose,
       sec.claims('lege_baerum') AS c_lege_baerum, sec.claims('innbygger') AS c_innbygger \gset
\set t_epj_bodo `tests/tools/mint-jwt RS256 sec1 :'c_epj_bodo'`
\set t_epj_baerum `tests/tools/mint-jwt RS256 sec1 :'c_epj_baerum'`
\set t_lege `tests/tools/mint-jwt RS256 sec1 :'c_lege'`
\set t_lege_nopurpose `tests/tools/mint-jwt RS256 sec1 :'c_lege_nopurpose'`
\set t_lege_baerum `tests/tools/mint-jwt RS256 sec1 :'c_lege_baerum'`
\set t_innbygger `tests/tools/mint-jwt RS256 sec1 :'c_innbygger'`

-- ---------------------------------------------------------------------------
-- the declaration and the opt-in
-- ---------------------------------------------------------------------------
SELECT sec.ok(deling.declaration_problem(s.declaration) IS NULL AND s.available AND s.name = 'Diagnoser',
              'diagnoser is declared (a valid declaration) and available')
FROM deling.service s WHERE s.service_code = 'diagnoser';
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.kommune_service WHERE service_code = 'diagnoser'),
              'no kommune shares diagnoser until it opts in');
SELECT sec.ok(to_regprocedure(f) IS NOT NULL, 'generated: ' || f)
FROM unnest(ARRAY['api.diagnoser_ingest(jsonb)', 'api.diagnoser_ingest_batch(jsonb)', 'api.diagnoser_ingest_fhir(jsonb)',
                  'api.diagnoser(text, text, integer, text, text)', 'deling.diagnoser_item_problem(jsonb)']) f;
SELECT sec.ok(c.relrowsecurity AND c.relforcerowsecurity, format('%s has row-level security, forced', c.oid::regclass))
FROM pg_class c WHERE c.oid IN ('deling.diagnosis'::regclass, 'deling.diagnosis_history'::regclass) ORDER BY c.relname;

\c - sec_epj_bodo
SELECT deling.authenticate(:'t_epj_bodo', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '42501' AND r->>'message' LIKE '%has not enabled the sharing service "diagnoser"%',
               'opt-in off: Bodø''s ingest is refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest(%L::jsonb)', diag.item(:'p1'))) r;

\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '42501' AND r->>'message' LIKE '%reaches no kommune that shares through "diagnoser"%',
               'opt-in off: a doctor''s read is refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L)', :'p1')) r;
SELECT api.legevakt_summary(:'p1') AS summary_off \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM diag.conditions((:'summary_off')::jsonb)) AND jsonb_array_length((:'summary_off')::jsonb->'entry') > 1,
              'opt-in off: the legevakt summary has the other services and no Condition');

\c - postgres
SELECT deling.enable_service('1804', 'diagnoser') IS NULL AS enabled \gset

-- ---------------------------------------------------------------------------
-- ingest: one item, idempotency, amendment, withdrawal
-- ---------------------------------------------------------------------------
\c - sec_epj_bodo
SELECT deling.authenticate(:'t_epj_bodo', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser_ingest(diag.item(:'p1', '{"source_id": "d-t90", "code": "t90", "display": "Diabetes type 2", "onset": "2015-03-01", "recorded_at": "2015-03-02T09:00:00+01:00"}')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'result' = 'created' AND (:'r')::jsonb->>'code' = 'T90' AND (:'r')::jsonb->>'code_system' = 'icpc-2'
               AND (:'r')::jsonb->>'diagnosis_id' ~ '^[0-9a-f-]{36}$' AND (:'r')::jsonb->>'version' = '1',
               'a single ICPC-2 item is created, its code stored canonical (t90 -> T90)', :'r');
SELECT (:'r')::jsonb->>'diagnosis_id' AS id_t90 \gset
SELECT api.diagnoser_ingest(diag.item(:'p1', '{"source_id": "d-t90", "code": "T90", "display": "Diabetes type 2", "onset": "2015-03-01", "recorded_at": "2015-03-02T09:00:00+01:00"}')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'result' = 'unchanged' AND (:'r')::jsonb->>'diagnosis_id' = :'id_t90',
               'sending it again is a no-op (unchanged, same id)', :'r');
SELECT api.diagnoser_ingest(diag.item(:'p1', '{"source_id": "d-t90", "code_system": "urn:oid:2.16.578.1.12.4.1.1.7170", "code": "T90", "display": "Diabetes type 2", "onset": "2015-03-01", "recorded_at": "2015-03-02T08:00:00Z"}')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'result' = 'unchanged',
               'the Volven OID 7170 for ICPC-2 and the same instant written in UTC are the same diagnosis (unchanged)', :'r');
SELECT api.diagnoser_ingest(diag.item(:'p1', '{"source_id": "d-t90", "code": "T90", "display": "Diabetes mellitus type 2", "onset": "2015-03-01", "recorded_at": "2015-03-02T09:00:00+01:00"}')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'version' = '2' AND (:'r')::jsonb->>'diagnosis_id' = :'id_t90',
               'a changed text amends it (version 2, same id)', :'r');

-- a batch: ICD-10 without the dot, with the HL7 URI and the Volven OID 7110, SNOMED CT
SELECT api.diagnoser_ingest_batch(jsonb_build_array(
    diag.item(:'p1', '{"source_id": "d-e11", "code_system": "icd-10", "code": "e119", "display": "Diabetes mellitus type 2 uten komplikasjoner", "onset": "2016-05-10T14:30:00+02:00", "recorded_at": "2016-05-10T15:00:00+02:00"}'),
    diag.item(:'p1', '{"source_id": "d-i10", "code_system": "http://hl7.org/fhir/sid/icd-10-no", "code": "I10", "display": "Essensiell (primær) hypertensjon", "onset": "2017-01-01", "recorded_at": "2017-01-03T10:00:00+01:00"}'),
    diag.item(:'p1', '{"source_id": "d-f32", "code_system": "urn:oid:2.16.578.1.12.4.1.1.7110", "code": "F321", "display": "Moderat depressiv episode", "clinical_status": "remission", "onset": "2020-02-01", "abatement": "2021-06-30", "recorded_at": "2020-02-03T11:00:00+01:00"}'),
    diag.item(:'p1', '{"source_id": "d-p76", "code": "P76", "display": "Depressiv lidelse", "onset": "2020-01-20", "recorded_at": "2020-01-21T12:00:00+01:00", "recorder_hpr": null}'),
    diag.item(:'p1', '{"source_id": "d-sct", "code_system": "http://snomed.info/sct", "code": "13645005", "display": "Kronisk obstruktiv lungesykdom", "verification_status": "provisional", "onset": "2022-09-01", "recorded_at": "2022-09-02T08:30:00+02:00"}'),
    diag.item(:'p1', '{"source_id": "d-u71", "code": "U71", "display": "Cystitt/urinveisinfeksjon IKA", "clinical_status": "resolved", "onset": "2023-03-01", "abatement": "2023-03-01T16:00:00+01:00", "recorded_at": "2023-03-01T10:00:00+01:00"}'),
    diag.item(:'p1', '{"source_id": "d-r96", "code": "R96", "display": "Astma", "verification_status": "refuted", "onset": "2024-04-01", "recorded_at": "2024-04-02T09:00:00+02:00"}'))) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'created' = '7' AND (:'r')::jsonb->>'received' = '7'
               AND (SELECT string_agg(i->>'code_system' || ' ' || (i->>'code'), ', ' ORDER BY (i->>'item')::int) FROM jsonb_array_elements((:'r')::jsonb->'items') i)
                   = 'icd-10 E11.9, icd-10 I10, icd-10 F32.1, icpc-2 P76, snomed-ct 13645005, icpc-2 U71, icpc-2 R96',
               'a batch of seven is created, each system by its short name and each code canonical (e119 -> E11.9, F321 -> F32.1)', :'r');
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' = 'Diagnoser batch rejected: 2 of 3 item(s) invalid; nothing was written'
               AND jsonb_array_length((r->>'detail')::jsonb) = 2
               AND (r->>'detail')::jsonb->0 @> '{"item": 2, "source_id": "b-2"}' AND (r->>'detail')::jsonb->0->>'error' LIKE 'code "K301" is not a valid ICPC-2 code: %'
               AND (r->>'detail')::jsonb->1 = '{"item": 3, "source_id": "b-3", "error": "abatement 2018-01-01 is before onset 2019-04-01"}'
               AND r->>'hint' LIKE 'Correct the items listed%',
               'a batch with two bad items is refused whole (22023), the per-item report naming items 2 and 3 and what is wrong', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest_batch(%L::jsonb)', jsonb_build_array(
    diag.item(:'p1', '{"source_id": "b-1"}'), diag.item(:'p1', '{"source_id": "b-2", "code": "K301"}'),
    diag.item(:'p1', '{"source_id": "b-3", "clinical_status": "resolved", "abatement": "2018-01-01"}')))) r;
SELECT diag.ok(r->>'state' = '22023' AND (r->>'detail')::jsonb @> '[{"item": 1, "error": "source_id appears more than once in the batch"}, {"item": 2, "error": "source_id appears more than once in the batch"}]',
               'a batch naming one source key twice is refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest_batch(%L::jsonb)', jsonb_build_array(
    diag.item(:'p1', '{"source_id": "b-1"}'), diag.item(:'p1', '{"source_id": "b-1", "code": "K87"}')))) r;
SELECT sec.ok(count(*) = 8, 'nothing of the refused batch was written (8 diagnoses)') FROM deling.diagnosis WHERE pid = :'p1';

-- withdrawal: entered-in-error (no clinical status needed) withdraws; the
-- same item again puts it back
SELECT api.diagnoser_ingest(diag.item(:'p1', '{"source_id": "d-i10", "code_system": "icd-10", "code": "I10", "display": "Essensiell (primær) hypertensjon", "onset": "2017-01-01", "recorded_at": "2017-01-03T10:00:00+01:00", "clinical_status": null, "verification_status": "entered-in-error"}')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'result' = 'amended' AND (:'r')::jsonb->>'verification_status' = 'entered-in-error',
               'entered-in-error withdraws a diagnosis (amended, entered-in-error)', :'r');

-- ---------------------------------------------------------------------------
-- refusals: every one 22023 with the item's problem in the report
-- ---------------------------------------------------------------------------
SELECT diag.ok(got ~ ('^22023: ' || pattern), 'refused (22023): ' || what, got)
FROM (VALUES
    ('{"code": "K301"}', 'code "K301" is not a valid ICPC-2 code', 'ICPC-2 K301 (a fourth digit on a process code)'),
    ('{"code": "V01"}', 'code "V01" is not a valid ICPC-2 code', 'ICPC-2 V01 (V is not one of the 17 chapters)'),
    ('{"code": "K8"}', 'code "K8" is not a valid ICPC-2 code', 'ICPC-2 K8 (too short)'),
    ('{"code": "K00"}', 'code "K00" is not a valid ICPC-2 code', 'ICPC-2 K00'),
    ('{"code": "K30"}', 'code "K30" is an ICPC-2 process code \(component 2\), not a diagnosis', 'ICPC-2 K30 (a process code, not a diagnosis)'),
    ('{"code": "-30"}', 'code "-30" is an ICPC-2 process code', 'ICPC-2 -30 (a process code without a chapter)'),
    ('{"code": "K62"}', 'code "K62" is an ICPC-2 process code \(component 5\)', 'ICPC-2 K62 (administrative)'),
    ('{"code_system": "icd-10", "code": "D49"}', 'code "D49" is not a valid ICD-10 code', 'ICD-10 D49 (in no WHO chapter)'),
    ('{"code_system": "icd-10", "code": "U86"}', 'code "U86" is not a valid ICD-10 code', 'ICD-10 U86 (beyond chapter XXII)'),
    ('{"code_system": "icd-10", "code": "J21.8 B95.6"}', 'code "J21.8 B95.6" is not a valid ICD-10 code', 'ICD-10 dual coding in one code'),
    ('{"code_system": "icd-10", "code": "F32.123"}', 'code "F32.123" is not a valid ICD-10 code', 'ICD-10 F32.123 (three characters after the dot)'),
    ('{"code_system": "icd-10", "code": "-30"}', 'code "-30" is not a valid ICD-10 code', 'an ICPC-2 process code sent as ICD-10'),
    ('{"code_system": "snomed-ct", "code": "44054007"}', 'code "44054007" is not a valid SNOMED CT code', 'SNOMED CT with a wrong check digit'),
    ('{"code_system": "snomed-ct", "code": "04405400"}', 'code "04405400" is not a valid SNOMED CT code', 'SNOMED CT with a leading zero'),
    ('{"code_system": "snomed-ct", "code": "12345"}', 'code "12345" is not a valid SNOMED CT code', 'SNOMED CT too short'),
    ('{"code_system": "snomed-ct", "code": "E11.9"}', 'code "E11.9" is not a valid SNOMED CT code', 'an ICD-10 code sent as SNOMED CT'),
    ('{"code_system": "icd-11"}', 'code_system "icd-11" is not one diagnoser takes', 'an unknown system name (icd-11)'),
    ('{"code_system": "http://id.who.int/icd/release/11/mms"}', 'code_system "http://id.who.int/icd/release/11/mms" is not one diagnoser takes', 'an unknown system URI'),
    ('{"code_system": "HTTP://HL7.ORG/FHIR/SID/ICPC-2"}', 'code_system "HTTP://HL7.ORG/FHIR/SID/ICPC-2" is not one', 'a URI in the wrong case (URIs are case-sensitive)'),
    ('{"code": 86}', 'code must be a string', 'a code that is a number'),
    ('{"clinical_status": "resolved", "abatement": "2018-12-31"}', 'abatement 2018-12-31 is before onset 2019-04-01', 'abatement before onset (dates)'),
    ('{"clinical_status": "resolved", "onset": "2019-04-01T12:00:00+02:00", "abatement": "2019-04-01T11:59:00+02:00"}',
     'abatement 2019-04-01T11:59:00\+02:00 is before onset', 'abatement before onset (times)'),
    ('{"abatement": "2020-01-01"}', 'a diagnosis with an abatement has clinical_status inactive, remission or resolved, not active', 'abatement while active (FHIR con-4)'),
    ('{"clinical_status": "relapse", "abatement": "2020-01-01"}', 'a diagnosis with an abatement has clinical_status inactive, remission or resolved, not relapse', 'abatement while relapse (FHIR con-4)'),
    ('{"clinical_status": "cured"}', 'clinical_status "cured" is not one of active, recurrence, relapse, inactive, remission, resolved', 'clinical status cured'),
    ('{"verification_status": "maybe"}', 'verification_status "maybe" is not one of unconfirmed, provisional, differential, confirmed, refuted, entered-in-error', 'verification status maybe'),
    ('{"clinical_status": null}', 'clinical_status is required \(unless verification_status is entered-in-error\)', 'no clinical status (FHIR con-3)'),
    ('{"verification_status": null}', 'missing field\(s\): verification_status', 'no verification status'),
    ('{"display": "' || repeat('x', 501) || '"}', 'display is longer than 500 characters', 'a display text of 501 characters'),
    ('{"display": "   "}', 'display must not be empty', 'a blank display text'),
    ('{"display": "Astma\u0007"}', 'display must not contain control characters', 'a display text with a control character'),
    ('{"onset": "2999-01-01"}', 'onset 2999-01-01 is in the future', 'onset in the future'),
    ('{"onset": "2999-01-01T10:00:00+01:00"}', 'onset 2999-01-01T10:00:00\+01:00 is in the future', 'onset time in the future'),
    ('{"onset": "1899-12-31"}', 'onset 1899-12-31 is before 1900-01-01', 'onset before 1900'),
    ('{"onset": "2024-02-30"}', 'onset "2024-02-30" must be a date \(YYYY-MM-DD\) or an ISO 8601 date and time with a UTC offset', 'onset 2024-02-30 (no such day)'),
    ('{"onset": "2024-03"}', 'onset "2024-03" must be a date', 'onset of a month only'),
    ('{"onset": "01.03.2024"}', 'onset "01.03.2024" must be a date', 'onset written the Norwegian way'),
    ('{"recorded_at": "2024-03-01T10:00:00"}', 'recorded_at "2024-03-01T10:00:00" must be a date', 'recorded_at without a UTC offset'),
    ('{"recorded_at": "2999-03-01"}', 'recorded_at 2999-03-01 is in the future', 'recorded_at in the future'),
    ('{"abatement": "yesterday", "clinical_status": "resolved"}', 'abatement "yesterday" must be a date', 'abatement that is not a date'),
    ('{"onset": null}', 'missing field\(s\): onset', 'no onset'),
    ('{"recorded_at": null}', 'missing field\(s\): recorded_at', 'no recorded_at'),
    ('{"code": null, "display": null}', 'missing field\(s\): code, display', 'no code and no display'),
    ('{"recorder_hpr": "ABC"}', 'recorder_hpr "ABC" is not an HPR number', 'a recorder that is not an HPR number'),
    ('{"severity": "severe"}', 'unknown field\(s\): severity', 'an unknown field'),
    ('{"recorded_instant": "2020-01-01T00:00:00Z"}', 'unknown field\(s\): recorded_instant', 'the internal ordering column'),
    ('{"pid": "12345678901"}', 'pid "12345678901" is not a valid identity number', 'an invalid identity number'),
    ('{"source_id": ""}', 'source_id must be 1-200 characters', 'an empty source_id')
) AS x(overrides, pattern, what),
LATERAL diag.refusal(diag.item(:'p1', x.overrides::jsonb)) got;
SELECT diag.ok(r->>'state' = '42501' AND r->>'message' LIKE 'item 1 is for kommune 3201%',
               'an item for Bærum from Bodø''s integration is refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest(%L::jsonb)', diag.item(:'pb', '{"kommune_nr": "3201"}'))) r;
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' = 'the batch must be a JSON array', 'a batch that is not an array is refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest_batch(%L::jsonb)', diag.item(:'p1'))) r;
SELECT sec.ok(count(*) = 8, 'no refused item was written') FROM deling.diagnosis WHERE pid = :'p1';

-- ---------------------------------------------------------------------------
-- ingest from FHIR: a Bundle of Condition resources, all or nothing
-- ---------------------------------------------------------------------------
SELECT jsonb_build_object('resourceType', 'Bundle', 'type', 'transaction', 'entry', jsonb_build_array(
    jsonb_build_object('fullUrl', 'urn:uuid:0b8c1d52-93a4-4f7e-8d1c-2e5f6a7b8c9d', 'resource', jsonb_build_object(
        'resourceType', 'Patient', 'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p2')))),
    jsonb_build_object('fullUrl', 'urn:uuid:1c9d2e63-a4b5-4c8f-9e2d-3f6a7b8c9d0e', 'resource', jsonb_build_object(
        'resourceType', 'Condition',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'https://deling.nhn.no/fhir/NamingSystem/source/gerica', 'value', 'fhir-r95')),
        'clinicalStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-clinical', 'code', 'active'))),
        'verificationStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'code', 'confirmed'))),
        'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-category', 'code', 'problem-list-item')))),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.1.7170', 'code', 'r95', 'display', 'Kronisk obstruktiv lungesykdom'))),
        'subject', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p1')),
        'onsetDateTime', '2018-02-03',
        'recordedDate', '2018-02-05T09:30:00+01:00',
        'recorder', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.4', 'value', '565501872')))),
    jsonb_build_object('fullUrl', 'urn:uuid:2d0e3f74-b5c6-4d9a-8f3e-4a7b8c9d0e1f', 'resource', jsonb_build_object(
        'resourceType', 'Condition',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'https://deling.nhn.no/fhir/NamingSystem/source/gerica', 'value', 'fhir-f32')),
        'clinicalStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-clinical', 'code', 'remission'))),
        'verificationStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'code', 'confirmed'))),
        'code', jsonb_build_object('coding', jsonb_build_array(
                    jsonb_build_object('system', 'http://example.org/lokale-koder', 'code', 'DEP-2'),
                    jsonb_build_object('system', 'http://hl7.org/fhir/sid/icd-10', 'code', 'F32.1'),
                    jsonb_build_object('system', 'http://hl7.org/fhir/sid/icpc-2', 'code', 'P76')),
                 'text', 'Moderat depressiv episode'),
        'subject', jsonb_build_object('reference', 'urn:uuid:0b8c1d52-93a4-4f7e-8d1c-2e5f6a7b8c9d'),
        'onsetDateTime', '2023-01-10T08:00:00+01:00',
        'abatementDateTime', '2024-05-01',
        'recordedDate', '2023-01-10')),
    jsonb_build_object('fullUrl', 'urn:uuid:3e1f4a85-c6d7-4eab-9a4f-5b8c9d0e1f2a', 'resource', jsonb_build_object(
        'resourceType', 'Condition',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.2.9999', 'value', 'fhir-i10')),
        'clinicalStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-clinical', 'code', 'active'))),
        'verificationStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'code', 'unconfirmed'))),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.1.7110', 'code', 'I10', 'display', 'Essensiell (primær) hypertensjon'))),
        'subject', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'p2')),
        'onsetDateTime', '2021-11-11',
        'recordedDate', '2021-11-12T13:14:15.5+01:00'))))::text AS fhir_bundle \gset
SELECT api.diagnoser_ingest_fhir(:'fhir_bundle') AS r \gset
SELECT diag.ok((:'r')::jsonb->>'created' = '3'
               AND (SELECT string_agg(concat_ws(' ', i->>'source_id', i->>'code_system', i->>'code'), ', ' ORDER BY (i->>'item')::int)
                    FROM jsonb_array_elements((:'r')::jsonb->'items') i) = 'fhir-r95 icpc-2 R95, fhir-f32 icd-10 F32.1, fhir-i10 icd-10 I10',
               'a FHIR Bundle of three Conditions is created: Volven OIDs 7170 and 7110, HL7 URIs, the first coding in a known system', :'r');
SELECT diag.ok((:'r')::jsonb->'items'->1->>'warning' LIKE 'code.coding also has icpc-2 P76: a diagnosis has one code, and icd-10 F32.1 was recorded%'
               AND NOT (:'r')::jsonb->'items'->0 ? 'warning',
               'a second code in a known system is reported as a warning, the local code left out silently', :'r');
\c - postgres
SELECT sec.ok(d.pid = :'p1' AND d.display = 'Kronisk obstruktiv lungesykdom' AND d.onset = '2018-02-03'
              AND d.recorded_at = '2018-02-05T09:30:00+01:00' AND d.recorder_hpr = '565501872' AND d.source_system = 'gerica',
              'FHIR in: subject by identifier, the display from the coding, onset, recordedDate, recorder HPR, source key')
FROM deling.diagnosis d WHERE d.source_id = 'fhir-r95';
SELECT sec.ok(d.pid = :'p2' AND d.display = 'Moderat depressiv episode' AND d.clinical_status = 'remission'
              AND d.onset = '2023-01-10T08:00:00+01:00' AND d.abatement = '2024-05-01' AND d.recorded_at = '2023-01-10',
              'FHIR in: subject by reference to a Patient in the Bundle, code.text, abatement, a recordedDate that is a date')
FROM deling.diagnosis d WHERE d.source_id = 'fhir-f32';
SELECT sec.ok(d.source_system = 'urn:oid:2.16.578.1.12.4.1.2.9999' AND d.verification_status = 'unconfirmed'
              AND d.recorded_at = '2021-11-12T13:14:15+01:00' AND d.recorder_hpr IS NULL,
              'FHIR in: an OID identifier system kept as the source system, a time stored to the second (as every time deling writes)')
FROM deling.diagnosis d WHERE d.source_id = 'fhir-i10';
SELECT count(*) AS before_bad_bundle FROM deling.diagnosis \gset
\c - sec_epj_bodo
SELECT deling.authenticate(:'t_epj_bodo', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '22023' AND (r->>'detail')::jsonb @> '[{"item": 2, "source_id": "fhir-bad"}]'
               AND (r->>'detail')::jsonb->0->>'error' LIKE 'code.coding has no coding in ICPC-2, ICD-10 or SNOMED CT (systems: http://example.org/lokale-koder)%'
               AND jsonb_array_length((r->>'detail')::jsonb) = 1,
               'a Bundle with a Condition in no known code system is refused whole (22023, the item named)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest_fhir(%L::jsonb)', jsonb_set(jsonb_set(jsonb_set((:'fhir_bundle')::jsonb,
         '{entry,2,resource,code}', '{"coding": [{"system": "http://example.org/lokale-koder", "code": "DEP-2"}]}'),
         '{entry,2,resource,identifier,0,value}', '"fhir-bad"'), '{entry,1,resource,identifier,0,value}', '"fhir-new"'))) r;
SELECT diag.ok(r->>'state' = '22023' AND (r->>'detail')::jsonb->0->>'error' = 'missing field(s): onset',
               'a Condition whose onset is a Period is refused (missing field onset)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest_fhir(%L::jsonb)',
         jsonb_set((:'fhir_bundle')::jsonb #- '{entry,1,resource,onsetDateTime}', '{entry,1,resource,onsetPeriod}', '{"start": "2018-02-03"}'))) r;
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' = 'the Bundle has no Condition resources', 'a Bundle without Conditions is refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest_fhir(%L::jsonb)',
         jsonb_build_object('resourceType', 'Bundle', 'type', 'collection', 'entry', jsonb_build_array((:'fhir_bundle')::jsonb->'entry'->0)))) r;
SELECT sec.ok(count(*) = :before_bad_bundle, 'nothing of the refused Bundles was written') FROM deling.diagnosis;
SELECT api.diagnoser_ingest_fhir(:'fhir_bundle') AS r \gset
SELECT diag.ok((:'r')::jsonb->>'unchanged' = '3', 'the same Bundle again changes nothing', :'r');
-- withdrawal from FHIR: entered-in-error and no clinicalStatus (con-5)
SELECT api.diagnoser_ingest_fhir(jsonb_set((:'fhir_bundle')::jsonb #- '{entry,3,resource,clinicalStatus}',
           '{entry,3,resource,verificationStatus,coding,0,code}', '"entered-in-error"')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'amended' = '1' AND (:'r')::jsonb->'items'->2->>'verification_status' = 'entered-in-error',
               'a Condition sent again as entered-in-error (without clinicalStatus) withdraws it', :'r');

-- a citizen with five diagnoses for paging
SELECT api.diagnoser_ingest_batch(jsonb_agg(diag.item(:'p3', jsonb_build_object(
           'source_id', 'page-' || i, 'code', (ARRAY['T90', 'K86', 'K77', 'K78', 'P70'])[i],
           'display', (ARRAY['Diabetes type 2', 'Hypertensjon ukomplisert', 'Hjertesvikt', 'Atrieflimmer/flutter', 'Demens'])[i],
           'onset', format('201%s-01-01', i), 'recorded_at', format('201%s-01-02T10:00:00+01:00', i))) ORDER BY i))->>'created' AS created
FROM generate_series(1, 5) i \gset
SELECT sec.ok(:'created' = '5', 'five diagnoses of a third citizen, for paging');

-- ---------------------------------------------------------------------------
-- history
-- ---------------------------------------------------------------------------
\c - postgres
SELECT sec.ok(count(*) = 1 AND min(h.display) = 'Diabetes type 2' AND min(h.version) = 1,
              'the amendment kept the old version in the history (the one history shape)')
FROM deling.diagnosis_history h WHERE h.diagnosis_id = :'id_t90';
SELECT sec.ok(count(*) = 2, 'each withdrawal kept the version it replaced')
FROM deling.diagnosis_history h JOIN deling.diagnosis d USING (kommune_nr, diagnosis_id)
WHERE d.verification_status = 'entered-in-error';
SELECT sec.ok(bool_and(d.code = deling.code_canonical(d.code_system, d.code) AND d.code_system IN ('icpc-2', 'icd-10', 'snomed-ct')
                       AND d.recorded_instant = deling.oslo_instant(d.recorded_at)),
              'every stored code is canonical in a short-named system, and its ordering instant is its recorded_at')
FROM deling.diagnosis d;

-- ---------------------------------------------------------------------------
-- the read: FHIR Condition through the sharing gate
-- ---------------------------------------------------------------------------
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser(:'p1') AS b \gset
SELECT 'fhir diagnoser-read ' || (:'b')::jsonb::text;
SELECT diag.ok((:'b')::jsonb->>'type' = 'searchset' AND (:'b')::jsonb->>'total' = '8'
               AND diag.codes((:'b')::jsonb) = '13645005 E11.9 F32.1 P76 R95 R96 T90 U71'
               AND (SELECT count(*) FROM jsonb_array_elements((:'b')::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'Patient') = 1
               AND diag.outcome((:'b')::jsonb) IS NULL,
               'a doctor reads every diagnosis not withdrawn (I10 withdrawn; resolved, refuted and provisional ones shown), with the Patient',
               diag.codes((:'b')::jsonb) || ' total ' || ((:'b')::jsonb->>'total'));
\c - postgres
SELECT diag.ok(bool_and(c->'code'->'coding'->0->>'system' = deling.code_system_uri(d.code_system)
                        AND c->'code'->'coding'->0->>'code' = d.code AND c->'code'->'coding'->0->>'display' = d.display
                        AND c->'code'->>'text' = d.display),
               'each Condition''s coding has the system URI deling.code_system_uri gives (icpc-2, icd-10-no, sct), the stored code and the sender''s text',
               string_agg(c->'code'->'coding'->0->>'system', ' '))
FROM diag.conditions((:'b')::jsonb) c JOIN deling.diagnosis d ON d.diagnosis_id = (c->>'id')::uuid;
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(bool_and(c->'category' = '[{"coding": [{"code": "problem-list-item", "system": "http://terminology.hl7.org/CodeSystem/condition-category", "display": "Problem List Item"}]}]'
                        AND c->'verificationStatus'->'coding'->0->>'system' = 'http://terminology.hl7.org/CodeSystem/condition-ver-status'
                        AND c->'clinicalStatus'->'coding'->0->>'system' = 'http://terminology.hl7.org/CodeSystem/condition-clinical'
                        AND c->'subject'->>'reference' = (SELECT e->>'fullUrl' FROM jsonb_array_elements((:'b')::jsonb->'entry') e
                                                           WHERE e->'resource'->>'resourceType' = 'Patient')
                        AND c->'subject'->'identifier'->>'value' = :'p1'
                        AND c->'identifier'->0->>'system' = 'https://deling.nhn.no/fhir/NamingSystem/source/gerica'),
               'each Condition: category problem-list-item, both statuses in their HL7 code systems, subject the Patient in the Bundle, the source identifier',
               string_agg(c::text, ' '))
FROM diag.conditions((:'b')::jsonb) c;
SELECT diag.ok(c->'clinicalStatus'->'coding'->0->>'code' = 'resolved' AND c->>'onsetDateTime' = '2023-03-01'
               AND c->>'abatementDateTime' = '2023-03-01T16:00:00+01:00' AND c->>'recordedDate' = '2023-03-01T10:00:00+01:00'
               AND c->'recorder' = '{"type": "Practitioner", "identifier": {"value": "565501872", "system": "urn:oid:2.16.578.1.12.4.1.4.4"}}',
               'U71: resolved, onset a date, abatement and recordedDate Norwegian times, the recorder by HPR number', c::text)
FROM diag.conditions((:'b')::jsonb) c WHERE c->'code'->'coding'->0->>'code' = 'U71';
SELECT diag.ok(c->>'onsetDateTime' = '2016-05-10T14:30:00+02:00' AND c->'verificationStatus'->'coding'->0->>'code' = 'confirmed',
               'E11.9: an onset with a time keeps it (Norwegian summer time)', c::text)
FROM diag.conditions((:'b')::jsonb) c WHERE c->'code'->'coding'->0->>'code' = 'E11.9';
SELECT diag.ok(NOT c ? 'recorder' AND c->'code'->'coding'->0->>'system' = 'http://hl7.org/fhir/sid/icpc-2',
               'P76: no recorder when none was sent', c::text)
FROM diag.conditions((:'b')::jsonb) c WHERE c->'code'->'coding'->0->>'code' = 'P76';
SELECT diag.ok(string_agg(c->'code'->'coding'->0->>'code', ' ' ORDER BY o) = 'R96 U71 13645005 F32.1 P76 R95 E11.9 T90',
               'most recently recorded first', string_agg(c->'code'->'coding'->0->>'code', ' ' ORDER BY o))
FROM jsonb_array_elements((:'b')::jsonb->'entry') WITH ORDINALITY AS x(e, o), LATERAL (SELECT e->'resource' AS c) r
WHERE c->>'resourceType' = 'Condition';

-- the duty-need gate: purpose of use, reach
SELECT deling.authenticate(:'t_lege_nopurpose', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '42501' AND r->>'message' = 'a purpose of use is required: TREAT, ETREAT or COC',
               'without an attested purpose and none given: refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L)', :'p1')) r;
SELECT diag.ok(r->>'state' = 'ok' AND (r->>'value')::jsonb->>'total' = '8', 'with purpose COC given: read', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L, purpose => %L)', :'p1', 'COC')) r;
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' LIKE 'purpose of use "HMARKT" is not TREAT, ETREAT or COC',
               'a purpose that is no duty need (HMARKT): refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L, purpose => %L)', :'p1', 'HMARKT')) r;
SELECT diag.ok(r->>'state' = '42501' AND r->>'message' = 'emergency access (ETREAT) needs a reason',
               'emergency access without a reason: refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L, purpose => %L)', :'p1', 'ETREAT')) r;
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '42501' AND r->>'message' = 'purpose COC differs from the purpose TREAT attested in the token',
               'a purpose other than the attested one: refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L, purpose => %L)', :'p1', 'COC')) r;
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' LIKE 'invalid identity number "12345678901"%', 'an invalid pid: refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L)', '12345678901')) r;
SELECT diag.ok(r->>'state' = 'ok' AND (r->>'value')::jsonb->>'total' = '0' AND NOT (r->>'value')::jsonb ? 'entry',
               'Bodø legevakt reads nothing of a Bærum citizen (Bærum is beyond its reach)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L)', :'pb')) r;

-- paging
SELECT api.diagnoser(:'p3', max => 2) AS page1 \gset
SELECT substring((SELECT l->>'url' FROM jsonb_array_elements((:'page1')::jsonb->'link') l WHERE l->>'relation' = 'next') FROM '[?&]page=([^&]+)') AS tok1 \gset
SELECT api.diagnoser(:'p3', max => 2, page => :'tok1') AS page2 \gset
SELECT substring((SELECT l->>'url' FROM jsonb_array_elements((:'page2')::jsonb->'link') l WHERE l->>'relation' = 'next') FROM '[?&]page=([^&]+)') AS tok2 \gset
SELECT api.diagnoser(:'p3', max => 2, page => :'tok2') AS page3 \gset
SELECT 'fhir diagnoser-page2 ' || (:'page2')::jsonb::text;
SELECT diag.ok(string_agg(x.codes, ' | ' ORDER BY x.n) = 'P70 K78 | K77 K86 | T90'
               AND bool_and(x.b->>'total' = '5')
               AND bool_and((SELECT count(*) FROM jsonb_array_elements(x.b->'link') l WHERE l->>'relation' = 'next') = CASE WHEN x.n < 3 THEN 1 ELSE 0 END),
               'paging: max 2 gives pages of 2, 2 and 1 diagnoses, newest first, total 5 on each, next links on all but the last',
               string_agg(x.codes || ' total ' || (x.b->>'total'), ' | ' ORDER BY x.n))
FROM (SELECT n, b, (SELECT string_agg(c->'code'->'coding'->0->>'code', ' ' ORDER BY o)
                    FROM jsonb_array_elements(b->'entry') WITH ORDINALITY AS e(e, o), LATERAL (SELECT e->'resource' AS c) r
                    WHERE c->>'resourceType' = 'Condition') AS codes
      FROM (VALUES (1, (:'page1')::jsonb), (2, (:'page2')::jsonb), (3, (:'page3')::jsonb)) v(n, b)) x;
SELECT diag.ok((SELECT l->>'url' FROM jsonb_array_elements((:'page1')::jsonb->'link') l WHERE l->>'relation' = 'self')
               = format('rpc/diagnoser?pid=%s&max=2', :'p3'), 'the self link repeats the read', (:'page1')::jsonb->>'link');
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' = 'max must be between 1 and 1000, not 0', 'max 0: refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L, max => 0)', :'p3')) r;
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' LIKE 'page "not-a-page" is not a page of this read', 'a made-up page: refused (22023)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L, page => %L)', :'p3', 'not-a-page')) r;

-- ---------------------------------------------------------------------------
-- the legevakt summary: current diagnoses, when the kommune shares them
-- ---------------------------------------------------------------------------
SELECT api.legevakt_summary(:'p1') AS summary \gset
SELECT 'fhir diagnoser-summary ' || (:'summary')::jsonb::text;
SELECT diag.ok(diag.codes((:'summary')::jsonb) = '13645005 E11.9 P76 R95 T90'
               AND (:'summary')::jsonb->'entry'->0->'resource'->>'resourceType' = 'Patient'
               AND jsonb_array_length((:'summary')::jsonb->'entry') - 5 = jsonb_array_length((:'summary_off')::jsonb->'entry'),
               'the legevakt summary adds the current diagnoses (active and not refuted: not F32.1 in remission, U71 resolved or R96 refuted) to what it had',
               diag.codes((:'summary')::jsonb));

-- ---------------------------------------------------------------------------
-- blocks: one diagnosis, a chapter, a range; emergency access opens them
-- ---------------------------------------------------------------------------
\c - sec_innbygger
SELECT deling.authenticate(:'t_innbygger', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.block_sharing(:'p1', 'diagnoser', service_codes => ARRAY['ICD-10:e119']) AS blk_code \gset
SELECT diag.ok((:'blk_code')::jsonb->'blocks'->0->'service_codes' = '["icd-10:E11.9"]'
               AND (:'blk_code')::jsonb->'blocks'->0->>'sharing_service' = 'diagnoser',
               'the citizen blocks one diagnosis, icd-10:E11.9 (stored canonical from ICD-10:e119)', :'blk_code');
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser(:'p1') AS b \gset
SELECT 'fhir diagnoser-blocked-code ' || (:'b')::jsonb::text;
SELECT diag.ok(diag.codes((:'b')::jsonb) = '13645005 F32.1 P76 R95 R96 T90 U71' AND (:'b')::jsonb->>'total' = '7'
               AND diag.outcome((:'b')::jsonb) = 'suppressed' AND (:'b')::jsonb->'meta'->'security'->0->>'code' = 'REDACTED',
               'a block on one code withholds exactly that diagnosis, and the OperationOutcome says information is withheld',
               diag.codes((:'b')::jsonb) || ' ' || coalesce(diag.outcome((:'b')::jsonb), 'no outcome'));
\c - sec_innbygger
SELECT deling.authenticate(:'t_innbygger', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.block_sharing(:'p1', 'diagnoser', service_codes => ARRAY['icpc-2:T', 'icd-10:F00-F99']) AS blk_chapter \gset
SELECT diag.ok((:'blk_chapter')::jsonb->'blocks'->0->'service_codes' = '["icd-10:F00-F99", "icpc-2:T"]',
               'the citizen blocks a chapter of each system: ICPC-2 T (endocrine) and ICD-10 F00-F99 (mental disorders)', :'blk_chapter');
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' LIKE 'invalid code(s) for diagnoser: ' || x.code || ' (' || x.pattern || '%)',
               'a malformed block is refused (22023), naming it and what is wrong: ' || x.what, r::text)
FROM (VALUES ('icpc-2:V', 'not an ICPC-2 chapter letter', 'icpc-2:V (not a chapter)'),
             ('icd-10:F99-F00', 'an ICD-10 range starts with its lower category', 'a range with its ends reversed'),
             ('T90', 'a code block is <system>:<code>', 'a code without its system'),
             ('icd-11:6A70', 'unknown code system', 'an unknown system'),
             ('icd-10:D49', 'the category is in no ICD-10 chapter', 'an ICD-10 category in no chapter')) x(code, pattern, what),
LATERAL diag.try(format('SELECT api.block_sharing(%L, %L, service_codes => ARRAY[%L])', :'p1', 'diagnoser', x.code)) r;
SELECT diag.ok(r->>'state' = '22023' AND r->>'message' LIKE 'invalid code(s) for diagnoser: icpc-2:V (%); icd-10:D49 (%)',
               'of several blocks sent together, each malformed one is named (22023) and none is stored', r::text)
FROM diag.try(format('SELECT api.block_sharing(%L, %L, service_codes => ARRAY[%L, %L, %L])', :'p1', 'diagnoser',
                     'icpc-2:V', 'icpc-2:K86', 'icd-10:D49')) r;
SELECT diag.ok(api.sharing_blocks(:'p1')::text LIKE '%icd-10:F00-F99%' AND api.sharing_blocks(:'p1')::text NOT LIKE '%icpc-2:K86%',
               'the well-formed block sent with them (icpc-2:K86) was not stored either', api.sharing_blocks(:'p1')::text);
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser(:'p1') AS b \gset
SELECT diag.ok(diag.codes((:'b')::jsonb) = '13645005 P76 R95 R96 U71' AND diag.outcome((:'b')::jsonb) = 'suppressed',
               'blocks on ICPC-2 T and ICD-10 F00-F99 withhold T90 and F32.1 as well; ICPC-2 P76 (depression in primary care) is not in an ICD-10 block',
               diag.codes((:'b')::jsonb));
SELECT api.legevakt_summary(:'p1') AS summary_blocked \gset
SELECT diag.ok(diag.codes((:'summary_blocked')::jsonb) = '13645005 P76 R95' AND diag.outcome((:'summary_blocked')::jsonb) = 'suppressed',
               'the legevakt summary withholds the blocked diagnoses too', diag.codes((:'summary_blocked')::jsonb));
SELECT diag.ok((api.diagnoser(:'p2'))::jsonb->>'total' = '1' AND diag.outcome((api.diagnoser(:'p2'))::jsonb) IS NULL,
               'another citizen''s diagnoses are not blocked', (api.diagnoser(:'p2'))::text);
-- emergency access opens every block, and says so
SELECT deling.authenticate(:'t_lege_nopurpose', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser(:'p1', purpose => 'ETREAT', reason => 'Bevisstløs pasient, trenger diagnoseliste') AS b \gset
SELECT 'fhir diagnoser-emergency ' || (:'b')::jsonb::text;
SELECT diag.ok(diag.codes((:'b')::jsonb) = '13645005 E11.9 F32.1 P76 R95 R96 T90 U71' AND diag.outcome((:'b')::jsonb) = 'informational',
               'emergency access (ETREAT with a reason) shows the blocked diagnoses and says the access is flagged',
               diag.codes((:'b')::jsonb) || ' ' || coalesce(diag.outcome((:'b')::jsonb), 'no outcome'));
\c - sec_innbygger
SELECT deling.authenticate(:'t_innbygger', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.unblock_sharing(((:'blk_code')::jsonb->>'block_id')::uuid) AS lifted_code,
       api.unblock_sharing(((:'blk_chapter')::jsonb->>'block_id')::uuid) AS lifted_chapter \gset
SELECT api.block_sharing(:'p1', 'diagnoser') AS blk_all \gset
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser(:'p1') AS b \gset
SELECT diag.ok((:'b')::jsonb->>'total' = '0' AND diag.outcome((:'b')::jsonb) = 'suppressed' AND (api.news2_observations(:'p1'))::jsonb->>'total' <> '0',
               'a block on the whole service withholds every diagnosis (and no NEWS2)', :'b');
\c - sec_innbygger
SELECT deling.authenticate(:'t_innbygger', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.unblock_sharing(((:'blk_all')::jsonb->>'block_id')::uuid) IS NULL AS lifted \gset
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok((api.diagnoser(:'p1'))::jsonb->>'total' = '8' AND diag.outcome((api.diagnoser(:'p1'))::jsonb) IS NULL,
               'the blocks lifted, every diagnosis is read again', (api.diagnoser(:'p1'))::text);

-- ---------------------------------------------------------------------------
-- the access log: every read and refusal
-- ---------------------------------------------------------------------------
\c - postgres
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
SELECT diag.ok(count(*) FILTER (WHERE l.entry->>'decision' = 'granted' AND l.entry->>'purpose' = 'TREAT' AND l.entry->>'hpr' = '565501872'
                                      AND l.kommuner = '{1804}' AND (l.entry->>'resources')::int = 9) >= 1
               AND count(*) FILTER (WHERE l.entry->>'decision' = 'denied' AND l.entry->>'why' = 'a purpose of use is required: TREAT, ETREAT or COC') = 1
               AND count(*) FILTER (WHERE (l.entry->>'emergency')::boolean AND (l.entry->>'opened_block')::boolean
                                      AND l.entry->>'reason' = 'Bevisstløs pasient, trenger diagnoseliste' AND l.entry->>'purpose' = 'ETREAT') = 1,
               'the access log has the doctor''s reads of p1 (8 Conditions and the Patient), the refusal with its reason, the flagged emergency access',
               jsonb_agg(l.entry - 'time' - 'token_id' - 'session_user')::text)
FROM deling.access_log l WHERE l.entry->>'service' = 'diagnoser' AND l.citizen_pid = :'p1';
SELECT diag.ok(count(*) >= 3, 'the legevakt summaries are logged too', count(*)::text)
FROM deling.access_log l WHERE l.entry->>'service' = 'legevakt-summary' AND l.citizen_pid = :'p1';
SELECT diag.ok(count(*) >= 1, 'the read refused before the opt-in was logged', count(*)::text)
FROM deling.access_log l WHERE l.entry->>'service' = 'diagnoser' AND l.entry->>'decision' = 'denied'
  AND l.entry->>'why' LIKE '%reaches no kommune that shares through "diagnoser"%';

-- ---------------------------------------------------------------------------
-- tenancy: Bærum opts in; its integration and legevakt see only Bærum
-- ---------------------------------------------------------------------------
SELECT deling.enable_service('3201', 'diagnoser') IS NULL AS enabled \gset
\c - sec_epj_baerum
SELECT deling.authenticate(:'t_epj_baerum', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok((api.diagnoser_ingest(diag.item(:'pb', '{"source_id": "baerum-1", "code_system": "icd-10", "code": "F03", "display": "Uspesifisert demens"}')))->>'result' = 'created',
               'Bærum, opted in, records a diagnosis', NULL);
SELECT sec.ok(count(*) = 1 AND bool_and(kommune_nr = '3201'), 'Bærum''s integration sees its own diagnosis and none of Bodø''s') FROM deling.diagnosis;
SELECT sec.ok(count(*) = 0, 'Bærum''s integration sees none of Bodø''s history') FROM deling.diagnosis_history;
SELECT sec.ok(sec.affected('UPDATE deling.diagnosis SET display = ''x'' WHERE kommune_nr = ''1804''') = '0'
              AND sec.affected('DELETE FROM deling.diagnosis WHERE kommune_nr = ''1804''') IN ('0', '42501'),
              'Bærum''s integration changes no Bodø diagnosis');
SELECT sec.ok(sec.affected(format('INSERT INTO deling.diagnosis (kommune_nr, pid, code_system, code, display, verification_status, onset, recorded_at, source_system, source_id) VALUES (''1804'', %L, ''icpc-2'', ''K86'', ''x'', ''confirmed'', ''2020-01-01'', ''2020-01-01'', ''x'', ''x'')', :'p1')) = '42501',
              'Bærum''s integration cannot write a diagnosis into Bodø');
SELECT diag.ok((api.diagnoser(:'p1'))::jsonb->>'total' = '0', 'Bærum''s integration reads nothing of a Bodø citizen', NULL);
\c - sec_epj_bodo
SELECT deling.authenticate(:'t_epj_bodo', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok(count(*) > 0 AND bool_and(kommune_nr = '1804'), 'Bodø''s integration sees only Bodø''s diagnoses') FROM deling.diagnosis;
SELECT diag.ok((api.diagnoser(:'p1'))::jsonb->>'total' = '8', 'Bodø''s integration reads its own citizen''s diagnoses', NULL);
-- what deling writes it reads back as the same diagnoses (the searchset
-- sent as a collection: an ingest takes transaction, batch or collection)
SELECT api.diagnoser(:'p1') AS own \gset
SELECT api.diagnoser_ingest_fhir(jsonb_set((:'own')::jsonb, '{type}', '"collection"')) AS r \gset
SELECT diag.ok((:'r')::jsonb->>'unchanged' = '8' AND (:'r')::jsonb->>'received' = '8'
               AND NOT EXISTS (SELECT FROM jsonb_array_elements((:'r')::jsonb->'items') i WHERE i ? 'warning'),
               'the read''s own Bundle sent back as a FHIR ingest is the same 8 diagnoses (unchanged, no warning)', :'r');
\c - sec_lege
SELECT deling.authenticate(:'t_lege_baerum', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok((api.diagnoser(:'pb'))::jsonb->>'total' = '1' AND (api.diagnoser(:'p1'))::jsonb->>'total' = '0',
               'Asker og Bærum legevakt reads the Bærum citizen''s diagnosis and nothing of Bodø''s', NULL);

-- opting out again: no ingest, no read, not in the summary; the data stays
\c - postgres
SELECT deling.disable_service('1804', 'diagnoser') IS NULL AS disabled \gset
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '42501', 'Bodø opted out: the read is refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser(%L)', :'p1')) r;
SELECT sec.ok(NOT EXISTS (SELECT FROM diag.conditions((api.legevakt_summary(:'p1'))::jsonb)), 'Bodø opted out: no Condition in the legevakt summary');
\c - sec_epj_bodo
SELECT deling.authenticate(:'t_epj_bodo', for_session => true) IS NOT NULL AS authenticated \gset
SELECT diag.ok(r->>'state' = '42501', 'Bodø opted out: its ingest is refused (42501)', r::text)
FROM diag.try(format('SELECT api.diagnoser_ingest(%L::jsonb)', diag.item(:'p1'))) r;
\c - postgres
SELECT sec.ok(count(*) > 0, 'Bodø opted out: its diagnoses stay') FROM deling.diagnosis WHERE kommune_nr = '1804';
SELECT deling.enable_service('1804', 'diagnoser') IS NULL AS enabled \gset

-- ---------------------------------------------------------------------------
-- synthetic items: valid, deterministic, written through the ingest
-- ---------------------------------------------------------------------------
SELECT array_agg(pid ORDER BY pid) AS synth_pids FROM (SELECT pid FROM deling.citizen WHERE kommune_nr = '1804' ORDER BY pid OFFSET 3 LIMIT 25) c \gset
SELECT deling.diagnoser_synthetic_items('1804', :'synth_pids', 7) AS synth \gset
SELECT sec.ok(jsonb_array_length((:'synth')::jsonb) BETWEEN 10 AND 75
              AND (:'synth')::jsonb = deling.diagnoser_synthetic_items('1804', :'synth_pids', 7)
              AND (:'synth')::jsonb <> deling.diagnoser_synthetic_items('1804', :'synth_pids', 8),
              format('synthetic items: %s for 25 citizens, the same for the same seed, others for another', jsonb_array_length((:'synth')::jsonb)));
SELECT diag.ok(bool_and(deling.diagnoser_item_problem(i) IS NULL), 'every synthetic item passes the item check',
               string_agg(deling.diagnoser_item_problem(i), '; '))
FROM jsonb_array_elements((:'synth')::jsonb) i;
SELECT diag.ok(count(DISTINCT i->>'code_system') = 3 AND count(DISTINCT i->>'clinical_status') >= 2
               AND bool_and(deling.diagnoser_instant(i->>'onset') >= deling.fnr_birth_date(i->>'pid')::timestamptz - interval '1 day'),
               'the synthetic items use all three code systems, several clinical statuses, and begin after the citizen''s birth',
               string_agg(DISTINCT i->>'code_system', ', '))
FROM jsonb_array_elements((:'synth')::jsonb) i;
SELECT sec.ok(deling.generate_synthetic_services(ARRAY['diagnoser'], 30, 3)->>'diagnoser' ~ '^[1-9][0-9]*$',
              'deling.generate_synthetic_services writes diagnoser''s synthetic items through its ingest');
SELECT c.pid AS psynth FROM deling.citizen c WHERE c.kommune_nr = '1804' AND c.pid <> ALL (ARRAY[:'p1', :'p2', :'p3'])
   AND EXISTS (SELECT FROM deling.diagnosis d WHERE d.kommune_nr = '1804' AND d.pid = c.pid AND d.source_system = 'syntetisk-epj')
ORDER BY c.pid LIMIT 1 \gset
\c - sec_lege
SELECT deling.authenticate(:'t_lege', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.diagnoser(:'psynth') AS b \gset
SELECT 'fhir diagnoser-synthetic ' || (:'b')::jsonb::text;
SELECT diag.ok(((:'b')::jsonb->>'total')::int > 0, 'a synthetic citizen''s diagnoses are read', :'b');

\c - postgres
DROP SCHEMA diag CASCADE;
