-- Fixture shared by the pg_regress suite: synthetic platform data, the test
-- signing keys (generated per run by tests/tools/mint-jwt), a login role per
-- kind of caller, and a builder for token claims.
SET client_min_messages = warning;
SELECT deling.generate_synthetic(300, 3);

\set k1pub `tests/tools/mint-jwt pubkey k1`
SELECT deling.add_trusted_key('k1', :'k1pub');
SET deling.jwt_issuer = 'https://helseid-sts.test.nhn.no';
SET deling.jwt_audience = 'nhn:deling';
ALTER DATABASE :"DBNAME" SET deling.jwt_issuer = 'https://helseid-sts.test.nhn.no';

CREATE SCHEMA deling_test;
GRANT USAGE ON SCHEMA deling_test TO PUBLIC;

-- claims(who, overrides): the claims of a typical token for one caller, as
-- HelseID issues it (the role comes from the one nhn:deling scope, there
-- is no "role" claim); overrides are merged in and a JSON null removes a
-- claim.
CREATE FUNCTION deling_test.claims(who text, overrides jsonb DEFAULT '{}') RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls(
        jsonb_build_object(
            'iss', 'https://helseid-sts.test.nhn.no', 'aud', 'nhn:deling',
            'iat', extract(epoch FROM now())::bigint - 10,
            'nbf', extract(epoch FROM now())::bigint - 10,
            'exp', extract(epoch FROM now())::bigint + 300,
            'jti', 'jti-' || who)
        || CASE who
           WHEN 'epj_bodo' THEN jsonb_build_object(
                'scope', jsonb_build_array('nhn:deling/integrasjon'),
                'helseid://claims/client/claims/orgnr_parent', '972418013',
                'helseid://claims/client/client_id', 'epj-bodo')
           WHEN 'epj_baerum' THEN jsonb_build_object(
                'scope', jsonb_build_array('nhn:deling/integrasjon'),
                'helseid://claims/client/claims/orgnr_parent', '935478715',
                'helseid://claims/client/client_id', 'epj-baerum')
           WHEN 'innbygger' THEN jsonb_build_object(
                'scope', jsonb_build_array('openid', 'profile', 'nhn:deling/innbygger'),
                'helseid://claims/identity/pid', deling.synthetic_fnr('1941-04-09', 0),
                'helseid://claims/identity/security_level', '4',
                'helseid://claims/identity/assurance_level', 'high',
                'helseid://claims/client/claims/orgnr_parent', deling.synthetic_orgnr(900001),
                'helseid://claims/client/client_id', 'innbyggerkanal')
           WHEN 'lege_ab' THEN jsonb_build_object(
                'scope', jsonb_build_array('openid', 'profile', 'helseid://scopes/identity/pid', 'helseid://scopes/hpr/hpr_number',
                                           'nhn:deling/helsepersonell'),
                'helseid://claims/identity/pid', '13916300004',
                'helseid://claims/identity/security_level', '4',
                'helseid://claims/identity/assurance_level', 'high',
                'helseid://claims/hpr/hpr_number', '565501872',
                'name', 'Lege Legevaktsen',
                'helseid://claims/client/claims/orgnr_parent', '935478715',
                'helseid://claims/client/claims/orgnr_child', (SELECT orgnr FROM deling.organisation WHERE name = 'Asker og Bærum legevakt'),
                'authorization_details', jsonb_build_array(jsonb_build_object(
                    'type', 'nhn:tillitsrammeverk:parameters',
                    'toa', extract(epoch FROM now())::bigint - 120,
                    'practitioner', jsonb_build_object('authorization', jsonb_build_object('code', 'LE')),
                    'care_relationship', jsonb_build_object(
                        'purpose_of_use', jsonb_build_object('code', 'TREAT', 'system', 'urn:oid:2.16.840.1.113883.1.11.20448'),
                        'decision_ref', jsonb_build_object('id', 'legevakt-kontakt-4711', 'user_selected', false)))))
           END
        || overrides);
$$;

-- with_checks(nine digits): append K1 and K2 (old rule) computed here in SQL,
-- independently of the C code under test; NULL when no check digit exists.
CREATE FUNCTION deling_test.with_checks(d9 text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    WITH k1 AS (
        SELECT (11 - sum(substr(d9, i::int, 1)::int * w) % 11) % 11 AS k
        FROM unnest(ARRAY[3, 7, 6, 1, 8, 9, 4, 5, 2]) WITH ORDINALITY t(w, i)),
    k2 AS (
        SELECT (11 - sum(substr(d9 || k1.k, i::int, 1)::int * w) % 11) % 11 AS k
        FROM k1, unnest(ARRAY[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) WITH ORDINALITY t(w, i) GROUP BY k1.k)
    SELECT CASE WHEN k1.k < 10 AND k2.k < 10 THEN d9 || k1.k || k2.k END FROM k1, k2;
$$;

-- try_auth(token): authenticate, returning 'accepted' or SQLSTATE: message,
-- so that each refusal's code is part of the expected output.
CREATE FUNCTION deling_test.try_auth(tok text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deling.authenticate(tok);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
GRANT EXECUTE ON FUNCTION deling_test.try_auth(text) TO PUBLIC;

-- try(sql): run a statement, returning 'ok' or SQLSTATE: message | detail.
CREATE FUNCTION deling_test.try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' | ' || nullif(detail, ''), '');
END
$$;
GRANT EXECUTE ON FUNCTION deling_test.try(text) TO PUBLIC;

-- mask(json): the JSON as text with UUIDs and the request's own timestamps
-- masked, so reports and Bundles can be compared with expected output.
CREATE FUNCTION deling_test.mask(j jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(regexp_replace(j::text,
        '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
        '"(issued|timestamp|lastUpdated)": "[^"]*"', '"\1": "<now>"', 'g');
$$;
GRANT EXECUTE ON FUNCTION deling_test.mask(jsonb) TO PUBLIC;

-- m(source_id, overrides): a NEWS2 ingest item for the first Bodø test
-- citizen, scoring 0, with overrides merged in (a JSON null removes a field).
CREATE FUNCTION deling_test.m(source_id text, overrides jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'pid', (SELECT min(pid) FROM deling.citizen WHERE kommune_nr = '1804'),
        'measured_at', '2026-11-20T08:00:00+01:00', 'resp_rate', 16, 'spo2', 98, 'on_oxygen', false,
        'systolic_bp', 120, 'pulse', 70, 'consciousness', 'A', 'temperature', 37.0,
        'recorded_by', '9144889', 'unit_name', 'Hjemmetjenesten Sentrum', 'source_system', 'test-epj',
        'source_id', source_id) || overrides);
$$;
GRANT EXECUTE ON FUNCTION deling_test.m(text, jsonb) TO PUBLIC;

-- fhir_variant(bundle, source_id, edits): a FHIR Bundle whose entry 1 (the
-- resource ingested) gets the source id, with edits {path: value} applied
-- (jsonb_set; a JSON null removes the path).
CREATE FUNCTION deling_test.fhir_variant(b jsonb, source_id text, edits jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
BEGIN
    b := jsonb_set(b, '{entry,1,resource,identifier,0,value}', to_jsonb(source_id));
    FOR k IN SELECT jsonb_object_keys(edits) LOOP
        b := CASE WHEN edits->k = 'null' THEN b #- k::text[] ELSE jsonb_set(b, k::text[], edits->k) END;
    END LOOP;
    RETURN b;
END
$$;
GRANT EXECUTE ON FUNCTION deling_test.fhir_variant(jsonb, text, jsonb) TO PUBLIC;

-- rows_read(tbl): the rows this transaction has read from a table so far
-- (sequential reads and index fetches): a lookup that probes reads one row
-- per key, one that scans reads the table
CREATE FUNCTION deling_test.rows_read(tbl regclass) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.seq_tup_read, 0) + coalesce(s.idx_tup_fetch, 0) FROM pg_stat_xact_user_tables s WHERE s.relid = tbl;
$$;
GRANT EXECUTE ON FUNCTION deling_test.rows_read(regclass) TO PUBLIC;

-- summary(body): a short, stable description of a PostgREST response body
CREATE FUNCTION deling_test.summary(body text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN j IS NULL THEN 'empty body'
        WHEN j->>'resourceType' = 'Bundle' THEN format('Bundle %s, total %s: %s', j->>'type', coalesce(j->>'total', '-'),
            coalesce((SELECT string_agg(t || ' x' || n, ', ' ORDER BY t) FROM (SELECT e->'resource'->>'resourceType' AS t, count(*) AS n
                      FROM jsonb_array_elements(j->'entry') e GROUP BY 1) x), 'no entries'))
        WHEN jsonb_typeof(j) = 'array' THEN format('array of %s', jsonb_array_length(j))
        WHEN jsonb_typeof(j) = 'object' THEN deling_test.mask(j - 'measurement_id' - 'service_id' - 'block_id')
        ELSE j::text END
    FROM (SELECT nullif(body, '')::jsonb AS j) x;
$$;
GRANT EXECUTE ON FUNCTION deling_test.summary(text) TO PUBLIC;

-- direct-SQL integration login roles, one bound to Bodø and one to Bærum,
-- and one login role of each kind that has no binding
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['regress_epj_bodo', 'regress_epj_baerum', 'regress_epj_asker', 'regress_epj_unbound',
                             'regress_lege', 'regress_innbygger', 'regress_kpr', 'regress_dba'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
    END LOOP;
END $$;
GRANT deling_integrasjon TO regress_epj_bodo, regress_epj_baerum, regress_epj_asker, regress_epj_unbound;
GRANT deling_helsepersonell TO regress_lege;
GRANT deling_innbygger TO regress_innbygger;
GRANT deling_kpr TO regress_kpr;
GRANT deling_admin TO regress_dba;
SELECT deling.bind_integration('regress_epj_bodo', '1804');
SELECT deling.bind_integration('regress_epj_baerum', '3201');
SELECT deling.bind_integration('regress_epj_asker', '3203');
GRANT SELECT ON ALL TABLES IN SCHEMA deling_test TO PUBLIC;
RESET client_min_messages;

-- the access log must be running before any sharing read is allowed:
-- wait (at most 60 s) for the worker to create its slot in this database
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN deling.access_log_ready();
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT deling.access_log_ready() AS access_log_ready;

SELECT kommune_nr, count(*) AS citizens FROM deling.citizen GROUP BY 1 ORDER BY 1;
SELECT name, kind, host_kommune_nr, array_agg(r.kommune_nr ORDER BY r.kommune_nr) AS reaches
FROM deling.organisation o JOIN deling.organisation_reach r USING (orgnr)
GROUP BY 1, 2, 3 ORDER BY 1;
SELECT kommune_nr, array_agg(service_code ORDER BY service_code) FROM deling.kommune_service GROUP BY 1 ORDER BY 1;
