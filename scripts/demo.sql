-- make demo: deling at work.  Each step says what it shows.
\pset footer off
\set VERBOSITY terse
SET client_min_messages = warning;
\echo '== 1. A DBA installs deling and loads the synthetic Bodø/Bærum/Asker data set'
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(3000, 3) AS loaded;
-- no log, no read: wait for the access-log worker to create its slot
DO $$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN deling.access_log_ready(); PERFORM pg_sleep(0.1); END LOOP; END $$;
SELECT kommune_nr, name, orgnr, (SELECT count(*) FROM deling.citizen c WHERE c.kommune_nr = k.kommune_nr) AS citizens,
       (SELECT string_agg(service_code, ', ' ORDER BY service_code) FROM deling.kommune_service s WHERE s.kommune_nr = k.kommune_nr) AS services
FROM deling.kommune k ORDER BY 1;
SELECT o.name, o.kind, string_agg(r.kommune_nr, ', ' ORDER BY r.kommune_nr) AS reaches
FROM deling.organisation o JOIN deling.organisation_reach r USING (orgnr) WHERE o.kind <> 'kommune' GROUP BY 1, 2 ORDER BY 2, 1;

\echo
\echo '== 2. The DBA trusts the token issuer''s signing key (HelseID''s JWKS in production)'
\set demo_pub `tests/tools/mint-jwt pubkey demo-key`
SET deling.jwt_issuer = 'https://helseid-sts.nhn.no';
SELECT deling.add_trusted_key('demo-key', :'demo_pub');
CREATE ROLE demo_epj_bodo LOGIN IN ROLE deling_integrasjon;
CREATE ROLE demo_lege LOGIN IN ROLE deling_helsepersonell;

-- tokens as HelseID would issue them: the Bodø EPJ system, and a doctor at Asker og Bærum legevakt
SELECT jsonb_build_object('iss', 'https://helseid-sts.nhn.no', 'aud', 'nhn:deling',
         'iat', extract(epoch FROM now())::int, 'exp', extract(epoch FROM now())::int + 300, 'jti', gen_random_uuid(),
         'scope', jsonb_build_array('nhn:deling/integrasjon'),
         'helseid://claims/client/claims/orgnr_parent', '972418013', 'helseid://claims/client/client_id', 'bodo-epj')::text AS p \gset
\set epj_token `tests/tools/mint-jwt RS256 demo-key :'p'`
SELECT jsonb_build_object('iss', 'https://helseid-sts.nhn.no', 'aud', 'nhn:deling',
         'iat', extract(epoch FROM now())::int, 'exp', extract(epoch FROM now())::int + 300, 'jti', gen_random_uuid(),
         'scope', jsonb_build_array('openid', 'profile', 'nhn:deling/helsepersonell'),
         'helseid://claims/identity/pid', '13916300004', 'name', 'Lege Legevaktsen',
         'helseid://claims/identity/security_level', '4', 'helseid://claims/identity/assurance_level', 'high',
         'helseid://claims/hpr/hpr_number', '565501872',
         'helseid://claims/client/claims/orgnr_parent', '935478715',
         'helseid://claims/client/claims/orgnr_child', (SELECT orgnr FROM deling.organisation WHERE name = 'Asker og Bærum legevakt'),
         'authorization_details', jsonb_build_object('type', 'nhn:tillitsrammeverk:parameters',
             'toa', extract(epoch FROM now())::int - 60,
             'care_relationship', jsonb_build_object('purpose_of_use', jsonb_build_object('code', 'TREAT'),
                                                     'decision_ref', jsonb_build_object('id', 'kontakt-4711'))))::text AS p \gset
\set lege_token `tests/tools/mint-jwt RS256 demo-key :'p'`

\echo
\echo '== 3. Tenant isolation: the Bodø EPJ sees and writes Bodø only'
SELECT deling.synthetic_fnr('1950-01-01', 90) AS new_pid \gset
SET SESSION AUTHORIZATION demo_epj_bodo;
SELECT deling.authenticate(:'epj_token', for_session => true) - 'session_user' AS "Bodø EPJ context";
SELECT kommune_nr, count(*) AS citizens_visible FROM api.citizens GROUP BY 1;
\echo 'Bodø EPJ tries to register a citizen in Bærum (3201):'
\set ON_ERROR_STOP 0
INSERT INTO api.citizens (kommune_nr, pid) VALUES ('3201', :'new_pid');
\echo 'Bodø EPJ tries to forge its context:'
SET deling.ctx_kommune_nr = '3201';
\set ON_ERROR_STOP 1
RESET SESSION AUTHORIZATION;

\echo
\echo '== 4. A doctor at Asker og Bærum legevakt: a person context reaching Bærum and Asker'
SET SESSION AUTHORIZATION demo_lege;
SELECT key, value FROM jsonb_each(deling.authenticate(:'lege_token')) WHERE key NOT IN ('session_user');
\echo 'The same token with the HPR number in its payload changed:'
\set ON_ERROR_STOP 0
SELECT split_part(:'lege_token', '.', 1) || '.' ||
       rtrim(translate(encode(convert_to(replace(convert_from(decode(
           rpad(translate(split_part(:'lege_token', '.', 2), '-_', '+/'),
                (length(split_part(:'lege_token', '.', 2)) + 3) / 4 * 4, '='), 'base64'), 'UTF8'),
           '565501872', '565501873'), 'UTF8'), 'base64'), E'+/\n', '-_'), '=') || '.' ||
       split_part(:'lege_token', '.', 3) AS forged \gset
SELECT deling.authenticate(:'forged');
\set ON_ERROR_STOP 1
RESET SESSION AUTHORIZATION;

\echo
\echo '== 5. NEWS2: Bærum home nursing records a patient getting worse over a night'
CREATE ROLE demo_epj_baerum LOGIN IN ROLE deling_integrasjon;
SELECT deling.bind_integration('demo_epj_baerum', '3201');
SELECT pid AS patient, given_name || ' ' || family_name AS name FROM deling.citizen WHERE kommune_nr = '3201' ORDER BY pid LIMIT 1 \gset
SET SESSION AUTHORIZATION demo_epj_baerum;
SELECT (api.news2_ingest_batch(jsonb_agg(jsonb_build_object(
    'pid', :'patient', 'measured_at', t, 'resp_rate', rr, 'spo2', s, 'on_oxygen', o2, 'systolic_bp', bp, 'pulse', hr,
    'consciousness', c, 'temperature', temp, 'recorded_by', '9144889', 'unit_name', 'Hjemmesykepleien Sandvika',
    'source_system', 'gerica', 'source_id', 'demo-' || t)))) - 'items' AS "ingest report"
FROM (VALUES
    (to_char(now() - interval '18 hours', 'YYYY-MM-DD"T"HH24:MI:SSOF'), 16, 97, false, 128, 78, 'A', 37.2),
    (to_char(now() - interval '12 hours', 'YYYY-MM-DD"T"HH24:MI:SSOF'), 20, 95, false, 118, 88, 'A', 38.1),
    (to_char(now() - interval '6 hours', 'YYYY-MM-DD"T"HH24:MI:SSOF'), 23, 93, false, 104, 104, 'A', 38.6),
    (to_char(now() - interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SSOF'), 26, 91, true, 96, 118, 'new confusion', 39.3)
) v(t, rr, s, o2, bp, hr, c, temp);
\echo 'A malformed batch is rejected whole, with a report per item:'
\set ON_ERROR_STOP 0
\set VERBOSITY default
SELECT api.news2_ingest_batch(jsonb_build_array(
    jsonb_build_object('pid', :'patient', 'measured_at', '2026-11-20T08:00:00+01:00', 'resp_rate', 16, 'spo2', 104,
        'on_oxygen', false, 'systolic_bp', 120, 'pulse', 70, 'consciousness', 'A', 'temperature', 37.0,
        'source_system', 'gerica', 'source_id', 'bad-1'),
    jsonb_build_object('pid', '02013299998', 'measured_at', '2026-11-20T08:00:00', 'source_id', 'bad-2')));
\set VERBOSITY terse
\set ON_ERROR_STOP 1
RESET SESSION AUTHORIZATION;

\echo
\echo '== 6. The legevakt doctor looks the patient up: NEWS2 trend, then the FHIR R4 Bundle'
SET SESSION AUTHORIZATION demo_lege;
SELECT deling.authenticate(:'lege_token', for_session => true) IS NOT NULL AS authenticated;
\echo 'Patient:' :name :patient
\pset format unaligned
SELECT jsonb_pretty(api.news2_trend(:'patient')) AS "NEWS2 trend";
\pset format aligned
SELECT api.news2_observations(:'patient') AS bundle \gset
SELECT b->>'type' AS bundle, b->>'total' AS matches, jsonb_array_length(b->'entry') AS resources
FROM (SELECT :'bundle'::jsonb AS b) x;
\echo 'The newest NEWS2 total score Observation (vital signs and Patient are in the Bundle too):'
\pset format unaligned
SELECT jsonb_pretty(e->'resource') FROM jsonb_array_elements(:'bundle'::jsonb->'entry') e
WHERE e->'search'->>'mode' = 'match' LIMIT 1;
\pset format aligned
SELECT deling.logout();
RESET SESSION AUTHORIZATION;

\echo
\echo '== 7. Tenant isolation and opt-in for NEWS2'
SELECT regexp_replace(regexp_replace(convert_from(decode(rpad(translate(split_part(:'lege_token', '.', 2), '-_', '+/'),
           (length(split_part(:'lege_token', '.', 2)) + 3) / 4 * 4, '='), 'base64'), 'UTF8'),
       '"helseid://claims/client/claims/orgnr_child": "[0-9]+"',
       '"helseid://claims/client/claims/orgnr_child": "' || (SELECT orgnr FROM deling.organisation WHERE name = 'Bodø legevakt') || '"'),
       '"helseid://claims/client/claims/orgnr_parent": "[0-9]+"',
       '"helseid://claims/client/claims/orgnr_parent": "' || (SELECT orgnr FROM deling.kommune WHERE kommune_nr = '1804') || '"')
       AS p \gset
\set bodo_lege_token `tests/tools/mint-jwt RS256 demo-key :'p'`
SET SESSION AUTHORIZATION demo_lege;
SELECT deling.authenticate(:'bodo_lege_token', for_session => true)->'reach' AS "a Bodø legevakt doctor reaches";
SELECT (api.news2_observations(:'patient'))->>'total' AS "NEWS2 of the Bærum patient seen from Bodø legevakt";
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
CREATE ROLE demo_epj_asker LOGIN IN ROLE deling_integrasjon;
SELECT deling.bind_integration('demo_epj_asker', '3203');
SET SESSION AUTHORIZATION demo_epj_asker;
\echo 'Asker has not enabled NEWS2, so its EPJ cannot share it yet:'
\set ON_ERROR_STOP 0
SELECT api.news2_ingest(jsonb_build_object('pid', deling.fnr_check('01814512319')::text));
\set ON_ERROR_STOP 1
RESET SESSION AUTHORIZATION;

\echo
\echo '== 8. Oversikt over kommunale tjenester: Asker records a citizen''s services; the DBA opts Asker in to NEWS2'
SELECT deling.enable_service('3203', 'news2');
SELECT pid AS asker_patient, given_name || ' ' || family_name AS asker_name
FROM deling.citizen WHERE kommune_nr = '3203' ORDER BY pid LIMIT 1 \gset
SET SESSION AUTHORIZATION demo_epj_asker;
SELECT (api.municipal_services_ingest_batch(jsonb_build_array(
    jsonb_build_object('pid', :'asker_patient', 'service_code', '15', 'status', 'active', 'vedtak_date', '2026-08-25',
        'period_start', '2026-09-01', 'weekly_hours', 7.5, 'description', 'Medisiner morgen og kveld; sårstell',
        'unit_name', 'Hjemmesykepleien Asker sentrum', 'unit_orgnr', '944382038', 'unit_phone', '+47 66 90 00 00',
        'source_system', 'gerica', 'source_id', 'demo-15'),
    jsonb_build_object('pid', :'asker_patient', 'service_code', '1', 'status', 'active', 'period_start', '2026-01-01',
        'weekly_hours', 2, 'unit_name', 'Praktisk bistand Asker', 'unit_phone', '+47 66 90 10 10',
        'source_system', 'gerica', 'source_id', 'demo-1'),
    jsonb_build_object('pid', :'asker_patient', 'service_code', '5', 'status', 'active', 'period_start', '2026-02-01',
        'unit_name', 'Matombringing Asker', 'source_system', 'gerica', 'source_id', 'demo-5')))) - 'items' AS "services ingest";
SELECT (api.news2_ingest(jsonb_build_object('pid', :'asker_patient',
    'measured_at', to_char(now() - interval '2 hours', 'YYYY-MM-DD"T"HH24:MI:SSOF'), 'resp_rate', 22, 'spo2', 94,
    'on_oxygen', false, 'systolic_bp', 108, 'pulse', 96, 'consciousness', 'A', 'temperature', 38.4,
    'source_system', 'gerica', 'source_id', 'demo-n1'))) - 'measurement_id' AS "NEWS2 ingest";
RESET SESSION AUTHORIZATION;

\echo
\echo '== 9. The citizen blocks sharing of Matombringing (9151 code 5) through the citizen''s channel'
CREATE ROLE demo_innbygger LOGIN IN ROLE deling_innbygger;
SELECT jsonb_build_object('iss', 'https://helseid-sts.nhn.no', 'aud', 'nhn:deling',
         'iat', extract(epoch FROM now())::int, 'exp', extract(epoch FROM now())::int + 300,
         'scope', jsonb_build_array('openid', 'nhn:deling/innbygger'),
         'helseid://claims/identity/pid', :'asker_patient', 'helseid://claims/identity/security_level', '4',
         'helseid://claims/identity/assurance_level', 'high',
         'helseid://claims/client/claims/orgnr_parent', deling.synthetic_orgnr(900001))::text AS p \gset
\set citizen_token `tests/tools/mint-jwt RS256 demo-key :'p'`
SET SESSION AUTHORIZATION demo_innbygger;
SELECT deling.authenticate(:'citizen_token')->>'kind' AS caller,
       jsonb_array_length(api.block_sharing(:'asker_patient', service_codes => ARRAY['5'])->'blocks') AS "kommuner covered";
RESET SESSION AUTHORIZATION;

\echo
\echo '== 10. The Asker og Bærum legevakt doctor looks up the Asker citizen: one call, one FHIR Bundle'
SET SESSION AUTHORIZATION demo_lege;
SELECT deling.authenticate(:'lege_token', for_session => true) IS NOT NULL AS authenticated;
\echo 'Patient:' :asker_name :asker_patient
SELECT api.legevakt_summary(:'asker_patient') AS summary \gset
SELECT e->'resource'->>'resourceType' AS resource,
       coalesce(e->'resource'->'type'->0->'coding'->0->>'display',
                e->'resource'->'code'->'coding'->0->>'display',
                CASE e->'resource'->>'resourceType' WHEN 'Patient'
                     THEN (e->'resource'->'name'->0->'given'->>0) || ' ' || (e->'resource'->'name'->0->>'family')
                     ELSE e->'resource'->>'name' END,
                e->'resource'->'issue'->0->>'diagnostics', e->'resource'->'identifier'->0->>'value') AS what,
       coalesce(e->'resource'->>'status', e->'resource'->'valueQuantity'->>'value') AS status_or_value,
       coalesce(e->'resource'->'managingOrganization'->>'display', e->'resource'->'telecom'->0->>'value',
                e->'resource'->'interpretation'->0->'coding'->0->>'code') AS detail
FROM jsonb_array_elements(:'summary'::jsonb->'entry') e
WHERE e->'resource'->>'resourceType' <> 'Observation' OR e->'resource'->'category'->0->'coding'->0->>'code' = 'survey';
SELECT :'summary'::jsonb->'meta'->'security' AS "Bundle marker";
\echo 'The same lookup as emergency access (ETREAT) would show the blocked service and be flagged for review.'
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
\echo
\echo '== 11. The sharing services declared on the machinery (issue 19): every one with a synthetic generator'
\echo 'The DBA opts Bærum and Asker in to each (Bodø stays out) and loads synthetic records through each service''s own ingest:'
SELECT s.service_code AS service, s.name, s.declaration->'read'->>'function' AS "FHIR read",
       coalesce(s.declaration->'ingest'->>'prefix', replace(s.service_code, '-', '_') || '_ingest') AS "ingest (+ _batch, _fhir)",
       s.declaration->'fhir_in'->>'resource' AS resource
FROM deling.service s WHERE s.declaration ? 'synthetic' ORDER BY 1;
SELECT count(deling.enable_service(k, s.service_code)) AS enabled
FROM deling.service s, unnest(ARRAY(SELECT kommune_nr::text FROM deling.kommune WHERE kommune_nr IN ('3201', '3203') ORDER BY 1)) k
WHERE s.declaration ? 'synthetic' \gset
SELECT ks.kommune_nr, k.name, string_agg(ks.service_code, ', ' ORDER BY ks.service_code) AS "shares"
FROM deling.kommune_service ks JOIN deling.kommune k USING (kommune_nr) GROUP BY 1, 2 ORDER BY 1;
SELECT key AS service, value AS "synthetic records written" FROM jsonb_each(deling.generate_synthetic_services()) ORDER BY 1;
-- a Bærum citizen with records in every such service (the NEWS2 patient above when they qualify)
SELECT format('SELECT c.pid AS svc_patient, c.given_name || '' '' || c.family_name AS svc_name FROM deling.citizen c WHERE c.kommune_nr = ''3201''%s ORDER BY c.pid = %L DESC, c.pid LIMIT 1',
              coalesce(string_agg(format(' AND EXISTS (SELECT FROM deling.%I t WHERE t.kommune_nr = c.kommune_nr AND t.pid = c.pid)',
                                         s.declaration->>'table'), '' ORDER BY s.service_code), ''), :'patient') AS q
FROM deling.service s WHERE s.declaration ? 'synthetic' \gset
:q \gset
-- the services, for the callers below (who cannot read the catalog)
SELECT pid AS bodo_patient FROM deling.citizen WHERE kommune_nr = '1804' ORDER BY pid LIMIT 1 \gset
CREATE TEMP TABLE demo_svc (code text, read_fn text, ingest_fn text, bodo_item jsonb);
SELECT format('INSERT INTO pg_temp.demo_svc SELECT %L, %L, %L, (SELECT i->0 FROM generate_series(1, 20) seed, %s(''1804'', ARRAY[%L], seed) i WHERE jsonb_array_length(i) > 0 ORDER BY seed LIMIT 1)',
              service_code, declaration->'read'->>'function',
              coalesce(declaration->'ingest'->>'prefix', replace(service_code, '-', '_') || '_ingest'), declaration->>'synthetic', :'bodo_patient')
FROM deling.service WHERE declaration ? 'synthetic' \gexec
GRANT SELECT ON demo_svc TO PUBLIC;
SET SESSION AUTHORIZATION demo_lege;
SELECT deling.authenticate(:'lege_token', for_session => true) IS NOT NULL AS authenticated;
\echo 'The Asker og Bærum legevakt doctor reads each service of the Bærum citizen' :svc_name :svc_patient '(FHIR R4 searchset Bundles):'
SELECT string_agg(format('SELECT %L AS service, %L AS "FHIR read", b->>''type'' AS bundle, b->>''total'' AS matches, '
              '(SELECT string_agg(DISTINCT e->''resource''->>''resourceType'', '', '') FROM jsonb_array_elements(b->''entry'') e WHERE e->''search''->>''mode'' = ''match'') AS resources '
              'FROM (SELECT api.%I(%L)::jsonb AS b) x', s.code, 'api.' || s.read_fn, s.read_fn, :'svc_patient'), ' UNION ALL ' ORDER BY s.code)
FROM pg_temp.demo_svc s \gexec
\echo 'The first resource of each read:'
\pset format unaligned
SELECT format('SELECT jsonb_pretty(e->''resource'') AS %I FROM jsonb_array_elements(api.%I(%L)::jsonb->''entry'') e WHERE e->''search''->>''mode'' = ''match'' LIMIT 1',
              s.code || ' (api.' || s.read_fn || ')', s.read_fn, :'svc_patient')
FROM pg_temp.demo_svc s ORDER BY s.code \gexec
\pset format aligned
\echo 'The one-call lookup holds them too: api.legevakt_summary, resources by type:'
SELECT api.legevakt_summary(:'svc_patient') AS summary \gset
SELECT e->'resource'->>'resourceType' AS resource, count(*) AS "in the summary"
FROM jsonb_array_elements(:'summary'::jsonb->'entry') e GROUP BY 1 ORDER BY 1;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
\echo 'Bodø has not opted in: its EPJ cannot record these services, and a Bodø legevakt doctor reads none of them:'
\set ON_ERROR_STOP 0
SET SESSION AUTHORIZATION demo_epj_bodo;
SELECT deling.authenticate(:'epj_token', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('SELECT api.%I(%L) IS NOT NULL AS %I', s.ingest_fn, s.bodo_item, s.code || ' recorded')
FROM pg_temp.demo_svc s ORDER BY s.code \gexec
SELECT deling.logout() \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION demo_lege;
SELECT deling.authenticate(:'bodo_lege_token', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('SELECT api.%I(%L) IS NOT NULL AS %I', s.read_fn, :'bodo_patient', s.code || ' read')
FROM pg_temp.demo_svc s ORDER BY s.code \gexec
\set ON_ERROR_STOP 1
SELECT deling.logout() \gset
RESET SESSION AUTHORIZATION;

\echo
\echo '== 12. KPR: Asker''s continuous XPR(ipl) 56.0.0 message, validated against the official XSD'
\echo '(types 18, 19, 20, 21 and 29 are reported: the home nursing above is not, a short-term stay is;'
\echo ' test mode: every person in the demo is a synthetic Tenor number, which production never reports)'
SET SESSION AUTHORIZATION demo_epj_asker;
SELECT (api.municipal_services_ingest(jsonb_build_object('pid', :'asker_patient', 'service_code', '18', 'status', 'ended',
    'period_start', to_char(now() - interval '20 days', 'YYYY-MM-DD'), 'period_end', to_char(now() - interval '6 days', 'YYYY-MM-DD'),
    'unit_name', 'Asker helsehus', 'unit_orgnr', '944382038', 'registered_at', to_char(now() - interval '20 days', 'YYYY-MM-DD"T"HH24:MI:SSOF'),
    'source_system', 'gerica', 'source_id', 'demo-18')))->>'result' AS "short-term stay";
RESET SESSION AUTHORIZATION;
SELECT kpr.start_reporting('3203', (now() - interval '90 days')::date);
SELECT kpr.add_contact(NULL, 1, 'NHN drift', 'drift@nhn.no', '+47 24 20 00 00') > 0 AS "platform contact 1",
       kpr.add_contact(NULL, 15, 'deling meldingsvalidering', 'deling@nhn.no') > 0 AS "platform contact 15",
       kpr.add_contact('3203', 16, 'Kari Rapportør', 'iplos@asker.kommune.no', '+47 900 00 016') > 0 AS "IPLOS contact 16",
       kpr.add_contact('3203', 17, 'Per Innsender', 'kpr@asker.kommune.no', '+47 900 00 017') > 0 AS "sender 17";
SET deling.kpr_test_mode = on;
SELECT kpr.xpr_ipl_message('3203') AS xpr \gset
\pset format unaligned
\pset tuples_only on
SELECT :'xpr';
\pset format aligned
\pset tuples_only off
SELECT kpr.validate_xpr_ipl(:'xpr') AS "XSD errors (none)";
\echo
\echo '== 13. Innsyn i logg: the citizen sees who read their information; the DBA verifies the log'
SELECT deling.access_log_drain() >= 0 AS drained;
SET SESSION AUTHORIZATION demo_innbygger;
SELECT deling.authenticate(:'citizen_token', for_session => true) IS NOT NULL AS authenticated;
SELECT to_char((e->'resource'->>'recorded')::timestamptz AT TIME ZONE 'Europe/Oslo', 'DD.MM.YYYY HH24:MI:SS') AS "when",
       e->'resource'->'agent'->0->'who'->>'display' AS who,
       e->'resource'->'agent'->0->'who'->'identifier'->>'value' AS hpr,
       e->'resource'->'agent'->1->'who'->>'display' AS organisation,
       e->'resource'->'purposeOfEvent'->0->'coding'->0->>'code' AS purpose,
       e->'resource'->'entity'->0->>'description' AS service,
       CASE e->'resource'->>'outcome' WHEN '0' THEN 'granted' ELSE 'denied' END AS decision
FROM jsonb_array_elements(api.my_access_log()::jsonb->'entry') e;
RESET SESSION AUTHORIZATION;
SELECT k AS kommune_nr, (v->>'valid')::boolean AS chain_valid, v->>'entries' AS entries, v->>'log_entries' AS log_entries
FROM (SELECT k, deling.verify_access_log(k) AS v FROM (SELECT DISTINCT unnest(kommuner) AS k FROM deling.access_log) x) y ORDER BY 1;
SELECT worker_running, ready, slot_held_by_worker, undrained_entries, quarantined_entries, gap, refused_reads
FROM deling.status;
\echo
\echo 'Done: the cluster is thrown away now.'
