-- The security suite's platform: synthetic Bodø, Bærum and Asker data with
-- services and NEWS2, a trusted test key, one login per kind of caller
-- (tokens are minted per file), and the sec schema of TAP helpers.
-- Run once as the superuser by t/050_security.pl.
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(90, 3) IS NOT NULL AS platform;
SELECT deling.generate_synthetic_records(180, 360) IS NOT NULL AS records;
\set sec1pub `tests/tools/mint-jwt pubkey sec1`
SELECT deling.add_trusted_key('sec1', :'sec1pub');

CREATE SCHEMA sec;
GRANT USAGE ON SCHEMA sec TO PUBLIC;

-- ok(passed, description): a TAP line (the runner numbers them)
CREATE FUNCTION sec.ok(passed boolean, description text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE WHEN coalesce(passed, false) THEN 'ok - ' ELSE 'not ok - ' END || description;
$$;

-- sqlstate(sql): run a statement as the caller; its SQLSTATE, or 'ok'
CREATE FUNCTION sec.sqlstate(sql text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- value(sql): the text value of a one-value query as the caller, or
-- 'ERROR: <message>'
CREATE FUNCTION sec.value(sql text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    v text;
BEGIN
    EXECUTE sql INTO v;
    RETURN v;
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR: ' || SQLERRM;
END
$$;

-- error(sql): run a statement as the caller; its error message, or NULL
CREATE FUNCTION sec.error(sql text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END
$$;

-- claims(who, overrides): the claims of a typical HelseID token for one
-- caller; overrides are merged in, a JSON null removes a claim
CREATE FUNCTION sec.claims(who text, overrides jsonb DEFAULT '{}') RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
            'iss', 'https://helseid-sts.nhn.no', 'aud', 'nhn:deling',
            'iat', extract(epoch FROM now())::bigint - 10, 'exp', extract(epoch FROM now())::bigint + 600,
            'jti', 'sec-' || who)
        || CASE
           WHEN who LIKE 'epj_%' THEN jsonb_build_object(
                'scope', jsonb_build_array('nhn:deling/integrasjon'),
                'helseid://claims/client/claims/orgnr_parent',
                (SELECT k.orgnr FROM deling.kommune k WHERE k.kommune_nr = CASE who WHEN 'epj_bodo' THEN '1804' ELSE '3201' END),
                'helseid://claims/client/client_id', who)
           WHEN who = 'innbygger' THEN jsonb_build_object(
                'scope', jsonb_build_array('openid', 'nhn:deling/innbygger'),
                'helseid://claims/identity/pid', (SELECT min(pid) FROM deling.citizen WHERE kommune_nr = '1804'),
                'helseid://claims/identity/security_level', '4', 'helseid://claims/identity/assurance_level', 'high',
                'helseid://claims/client/claims/orgnr_parent', deling.synthetic_orgnr(900001),
                'helseid://claims/client/client_id', 'innbyggerkanal')
           WHEN who LIKE 'lege_%' THEN jsonb_build_object(
                'scope', jsonb_build_array('openid', 'profile', 'nhn:deling/helsepersonell'),
                'helseid://claims/identity/pid', '13916300004',
                'helseid://claims/identity/security_level', '4', 'helseid://claims/identity/assurance_level', 'high',
                'helseid://claims/hpr/hpr_number', '565501872', 'name', 'Lege Legevaktsen',
                'helseid://claims/client/claims/orgnr_parent',
                (SELECT k.orgnr FROM deling.kommune k WHERE k.kommune_nr = CASE who WHEN 'lege_bodo' THEN '1804' ELSE '3201' END),
                'helseid://claims/client/claims/orgnr_child',
                (SELECT o.orgnr FROM deling.organisation o
                 WHERE o.name = CASE who WHEN 'lege_bodo' THEN 'Bodø legevakt' ELSE 'Asker og Bærum legevakt' END),
                'authorization_details', jsonb_build_array(jsonb_build_object(
                    'type', 'nhn:tillitsrammeverk:parameters', 'toa', extract(epoch FROM now())::bigint - 60,
                    'care_relationship', jsonb_build_object(
                        'purpose_of_use', jsonb_build_object('code', 'TREAT', 'system', 'urn:oid:2.16.840.1.113883.1.11.20448')))))
           ELSE '{}' END
        || overrides)::text;
$$;

-- pid(kommune, n): the n-th (from 0) citizen of a kommune
CREATE FUNCTION sec.pid(kommune text, n integer DEFAULT 0) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT c.pid FROM deling.citizen c WHERE c.kommune_nr = kommune ORDER BY c.pid OFFSET n LIMIT 1;
$$;

-- orgnr(of): the orgnr of a kommune (by number) or an organisation (by name)
CREATE FUNCTION sec.orgnr(of text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT k.orgnr FROM deling.kommune k WHERE k.kommune_nr = of),
                    (SELECT o.orgnr FROM deling.organisation o WHERE o.name = of));
$$;

-- services: every declared sharing service, with its FHIR read and its
-- ingest functions (as deling.declare_service names them), so that the
-- suite attacks every service there is, not the ones it knew of
CREATE FUNCTION sec.services() RETURNS TABLE (code text, read_fn text, ingest_fn text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.service_code::text, s.declaration->'read'->>'function',
           coalesce(s.declaration->'ingest'->>'prefix', replace(s.service_code, '-', '_') || '_ingest')
    FROM deling.service s WHERE s.declaration IS NOT NULL ORDER BY 1;
$$;

-- rows(sql): how many rows a query returns for the caller; NULL if refused
CREATE FUNCTION sec.rows(sql text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) q', sql) INTO n;
    RETURN n;
EXCEPTION WHEN insufficient_privilege THEN
    RETURN NULL;
END
$$;

-- affected(sql): how many rows a write affects for the caller, or its SQLSTATE
CREATE FUNCTION sec.affected(sql text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- citizen_tables: the tables that hold a kommune's citizen data (every
-- table with a kommune_nr column and an integration policy), with the
-- sharing service each belongs to
CREATE VIEW sec.citizen_tables AS
SELECT c.oid::regclass AS tbl, substring(p.with_check FROM 'current_kommune_for\(''([^'']+)''') AS service
FROM pg_class c JOIN pg_policies p ON p.schemaname = 'deling' AND p.tablename = c.relname AND p.policyname LIKE '%\_integrasjon'
WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind = 'r';
GRANT SELECT ON sec.citizen_tables TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA sec TO PUBLIC;

-- one login per kind of caller; the integrations bound to their kommune
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['sec_epj_bodo', 'sec_epj_baerum', 'sec_lege', 'sec_innbygger', 'sec_kpr', 'sec_dba'] LOOP
        EXECUTE format('CREATE ROLE %I LOGIN', r);
    END LOOP;
END $$;
GRANT deling_integrasjon TO sec_epj_bodo, sec_epj_baerum;
GRANT deling_helsepersonell TO sec_lege;
GRANT deling_innbygger TO sec_innbygger;
GRANT deling_kpr TO sec_kpr;
GRANT deling_admin TO sec_dba;
ALTER ROLE deling_authenticator PASSWORD NULL;
SELECT deling.bind_integration('sec_epj_bodo', '1804');
SELECT deling.bind_integration('sec_epj_baerum', '3201');
SELECT kpr.start_reporting('1804', current_date - 365);
SELECT kpr.add_contact(NULL, 1, 'NHN drift', 'drift@nhn.no'), kpr.add_contact(NULL, 15, 'deling', 'deling@nhn.no'),
       kpr.add_contact('1804', 16, 'Kari KPR', 'kpr@bodo.kommune.no', '+47 75 55 50 00'),
       kpr.add_contact('1804', 17, 'Per KPR', 'innsending@bodo.kommune.no');

-- sharing reads wait for the access log
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN deling.access_log_ready();
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT deling.access_log_ready() AS access_log_ready;
