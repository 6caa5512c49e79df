-- A platform with data in every table, through the extension's own
-- functions (as the oldest release offers them): kommuner, organisations
-- and reach, opt-ins, a trusted key and an integration binding, citizens
-- with services, NEWS2 and their history, a citizen's block, KPR
-- reporting with contacts and a message, a research study, and access-log
-- entries from reads.  Run as a superuser with psql from the repository's
-- root (DELING_TEST_KEYS set); used by t/020_upgrade.pl and
-- t/030_dump_restore.pl.
SET client_min_messages = warning;
-- (KPR and sharing reads wait for the access log)
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN deling.access_log_ready();
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT deling.generate_synthetic(150, 3) IS NOT NULL AS platform;
SELECT deling.generate_synthetic_records(300, 450) IS NOT NULL AS records;
\set pub `tests/tools/mint-jwt pubkey load1`
SELECT deling.add_trusted_key('load1', :'pub');
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'load_epj') THEN
        CREATE ROLE load_epj LOGIN IN ROLE deling_integrasjon;
        CREATE ROLE load_lege LOGIN IN ROLE deling_helsepersonell;
        CREATE ROLE load_forsker LOGIN IN ROLE deling_forskning;
    END IF;
END $$;
SELECT deling.bind_integration('load_epj', '1804');

-- corrections keep history: amend a NEWS2 measurement and a service
UPDATE deling.news2_measurement SET pulse = pulse + 1, version = version + 1
WHERE (kommune_nr, measurement_id) IN (SELECT kommune_nr, measurement_id FROM deling.news2_measurement ORDER BY 1, 2 LIMIT 3);
UPDATE deling.municipal_service SET weekly_hours = coalesce(weekly_hours, 0) + 1, version = version + 1
WHERE (kommune_nr, service_id) IN (SELECT kommune_nr, service_id FROM deling.municipal_service ORDER BY 1, 2 LIMIT 3);

-- every service declared on the machinery (0.3.0 on) that has a synthetic
-- generator: opted in by Bodø and Bærum, records for some citizens, and an
-- amendment of a few, so that its table and its history hold rows too
DO $$
DECLARE
    s record;
BEGIN
    IF to_regprocedure('deling.generate_synthetic_services(text[], integer, integer)') IS NULL THEN
        RETURN;
    END IF;
    FOR s IN SELECT service_code, declaration->>'table' AS tbl, declaration->>'record_id' AS id
             FROM deling.service WHERE declaration ? 'synthetic' ORDER BY 1 LOOP
        PERFORM deling.enable_service(k, s.service_code) FROM unnest(ARRAY['1804', '3201']) k
        WHERE NOT EXISTS (SELECT FROM deling.kommune_service ks WHERE ks.kommune_nr = k AND ks.service_code = s.service_code);
        PERFORM deling.generate_synthetic_services(ARRAY[s.service_code], 10);
        EXECUTE format('UPDATE deling.%I SET version = version + 1 WHERE (kommune_nr, %I) IN '
                       '(SELECT kommune_nr, %I FROM deling.%I ORDER BY 1, 2 LIMIT 3)', s.tbl, s.id, s.id, s.tbl);
    END LOOP;
END $$;

-- a block the kommune registered
INSERT INTO deling.citizen_block (kommune_nr, pid, sharing_service, registered_by)
SELECT '3201', min(pid), 'news2', 'kommune' FROM deling.citizen WHERE kommune_nr = '3201';

-- KPR: Bodø reports; contacts; one message; a research study
SELECT kpr.start_reporting('1804', current_date - 365);
SELECT kpr.add_contact(NULL, 1, 'NHN drift', 'drift@nhn.no'), kpr.add_contact(NULL, 15, 'deling', 'deling@nhn.no'),
       kpr.add_contact('1804', 16, 'Kari KPR', 'kpr@bodo.kommune.no', '+47 75 55 50 00'),
       kpr.add_contact('1804', 17, 'Per KPR', 'innsending@bodo.kommune.no');
SET deling.kpr_test_mode = on;
SELECT length(kpr.xpr_ipl_message('1804')) > 0 AS message;
-- an event that cannot be reported validly is held back (a stop from
-- -infinity, written past the ingest checks)
UPDATE deling.municipal_service SET stops = ARRAY[daterange('-infinity', current_date - 3, '[]')], version = version + 1
WHERE (kommune_nr, service_id) = (SELECT kommune_nr, service_id FROM deling.municipal_service
                                  WHERE kommune_nr = '1804' AND service_code IN ('18', '19', '20', '21', '29') AND status = 'active'
                                  ORDER BY service_id LIMIT 1);
SELECT length(kpr.xpr_ipl_message('1804')) > 0 AS message;
RESET deling.kpr_test_mode;
SELECT kpr.add_research_study('load-study', 'Lasting', ARRAY['1804'], 'load_forsker');

-- reads, so that the access log has entries: a doctor at Bodø legevakt
SELECT jsonb_build_object('iss', 'https://helseid-sts.nhn.no', 'aud', 'nhn:deling',
         'iat', extract(epoch FROM now())::int - 10, 'exp', extract(epoch FROM now())::int + 600, 'jti', 'load-lege',
         'scope', jsonb_build_array('openid', 'nhn:deling/helsepersonell'),
         'helseid://claims/identity/pid', '13916300004', 'name', 'Lege Legevaktsen',
         'helseid://claims/identity/security_level', '4', 'helseid://claims/identity/assurance_level', 'high',
         'helseid://claims/hpr/hpr_number', '565501872',
         'helseid://claims/client/claims/orgnr_parent', (SELECT orgnr FROM deling.kommune WHERE kommune_nr = '1804'),
         'helseid://claims/client/claims/orgnr_child', (SELECT orgnr FROM deling.organisation WHERE name = 'Bodø legevakt'),
         'authorization_details', jsonb_build_object('type', 'nhn:tillitsrammeverk:parameters',
             'toa', extract(epoch FROM now())::int - 60,
             'care_relationship', jsonb_build_object('purpose_of_use', jsonb_build_object('code', 'TREAT'))))::text AS claims \gset
\set tok `tests/tools/mint-jwt RS256 load1 :'claims'`
SELECT pid AS bodo_pid FROM deling.citizen WHERE kommune_nr = '1804' ORDER BY pid LIMIT 1 \gset
SET SESSION AUTHORIZATION load_lege;
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated;
SELECT (api.legevakt_summary(:'bodo_pid'))::jsonb->>'resourceType' AS summary;
SELECT (api.news2_observations(:'bodo_pid'))::jsonb->>'total' IS NOT NULL AS news2;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
-- a message the access log cannot take is quarantined (written by hand, it
-- is not counted, so the drain does not wait for it: wait for the worker)
SELECT pg_logical_emit_message(false, 'deling.access_log', 'not json') IS NOT NULL AS emitted;
SELECT deling.access_log_drain() >= 0 AS drained;
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT FROM deling.access_log_quarantine);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
