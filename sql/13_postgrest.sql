-- The api schema as PostgREST 13 serves it, replayed from PostgREST's
-- source (docs/postgrest.md, "Tested how"): for every endpoint and every
-- kind of caller, the statements PostgREST sends, exactly, as
-- deling_authenticator, with tokens as HelseID issues them (a scope array,
-- no role claim).  Requests PostgREST refuses itself (a bad or expired
-- token, an Accept it has no handler for) send no SQL: the suite prints
-- what PostgREST answers.  Each request prints one line and PostgREST's
-- answer: the HTTP status (from the SQLSTATE as Error.hs maps it), the
-- Content-Type and the body's first byte on the wire.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET client_min_messages = warning;
\i sql/include/fhir_dir.psql
\i sql/include/pgrst_setup.psql
SELECT deling.synthetic_fnr('1938-03-14', 0) AS pid \gset
SELECT deling.synthetic_fnr('1933-12-24', 0) AS moved_pid \gset
SELECT deling.synthetic_fnr('1955-05-05', 0) AS new_pid \gset

-- tokens as HelseID issues them; the KPR client's is a client-credentials
-- token of its own organisation
SELECT deling_test.claims('lege_ab') AS lege_claims \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'lege_claims'`
SELECT deling_test.claims('epj_baerum') AS epj_claims \gset
\set epj_tok `tests/tools/mint-jwt RS256 k1 :'epj_claims'`
SELECT deling_test.claims('innbygger', jsonb_build_object('helseid://claims/identity/pid', :'pid')) AS citizen_claims \gset
\set citizen_tok `tests/tools/mint-jwt RS256 k1 :'citizen_claims'`
SELECT deling_test.claims('epj_bodo', jsonb_build_object('scope', jsonb_build_array('nhn:deling/kpr'),
    'helseid://claims/client/claims/orgnr_parent', deling.synthetic_orgnr(900002),
    'helseid://claims/client/client_id', 'kpr-rapportering')) AS kpr_claims \gset
\set kpr_tok `tests/tools/mint-jwt RS256 k1 :'kpr_claims'`
-- the doctor's token decoded: a scope array with the one nhn:deling scope,
-- no "role" claim; PostgREST's filter picks the role from the scope
SELECT k AS claim, CASE WHEN k IN ('iat', 'nbf', 'exp') THEN '<time>' WHEN k = 'authorization_details' THEN '[…]' ELSE v::text END AS value
FROM jsonb_each((:'lege_claims')::jsonb) x(k, v) ORDER BY k;
SELECT (pg_temp.auth(13, 'Bearer ' || :'lege_tok', 'deling_anon')).role AS postgrest13_role,
       (pg_temp.auth(12, 'Bearer ' || :'lege_tok', 'deling_anon')).role AS postgrest12_role;

-- request bodies as a client sends them (compact JSON)
SELECT pg_temp.aeson(jsonb_build_object('measurement', jsonb_build_object('pid', :'new_pid',
    'measured_at', '2026-11-21T10:00:00+01:00', 'resp_rate', 18, 'spo2', 95, 'on_oxygen', false, 'systolic_bp', 132,
    'pulse', 88, 'consciousness', 'A', 'temperature', 37.8, 'source_system', 'pgrst', 'source_id', 'p-1'))) AS b_ingest \gset
SELECT pg_temp.aeson(jsonb_build_object('measurements', jsonb_build_array(jsonb_build_object('pid', :'new_pid')))) AS b_bad_batch \gset
SELECT pg_temp.aeson(jsonb_build_object('bundle', jsonb_build_object('resourceType', 'Bundle', 'type', 'batch'))) AS b_news2_fhir_bad \gset
SELECT pg_temp.aeson(jsonb_build_object('service', jsonb_build_object('pid', :'new_pid', 'service_code', '15', 'status', 'active',
    'period_start', '2026-11-01', 'source_system', 'pgrst', 'source_id', 's-1'))) AS b_service \gset
SELECT pg_temp.aeson(jsonb_build_object('services', jsonb_build_array(jsonb_build_object('pid', :'new_pid', 'service_code', '1',
    'status', 'active', 'period_start', '2026-11-01', 'source_system', 'pgrst', 'source_id', 's-2')))) AS b_services \gset
SELECT pg_temp.aeson(jsonb_build_object('bundle', jsonb_build_object(
    'resourceType', 'Bundle', 'type', 'batch', 'entry', jsonb_build_array(jsonb_build_object('resource', jsonb_build_object(
        'resourceType', 'EpisodeOfCare', 'status', 'active',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'pgrst', 'value', 's-3')),
        'type', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
            'system', 'urn:oid:2.16.578.1.12.4.1.1.9151', 'code', '5')))),
        'patient', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'new_pid')),
        'period', jsonb_build_object('start', '2026-11-02'))))))) AS b_services_fhir \gset
SELECT pg_temp.aeson(jsonb_build_object('pid', :'pid', 'sharing_service', 'news2', 'kommuner', jsonb_build_array('1804'))) AS b_block \gset
SELECT pg_temp.aeson(jsonb_build_object('block_id', '00000000-0000-0000-0000-000000000000')) AS b_unblock_none \gset
SELECT pg_temp.aeson(jsonb_build_object('pid', deling.synthetic_fnr('1966-06-06', 0))) AS b_citizen \gset
SELECT pg_temp.aeson(jsonb_build_object('pid', deling.synthetic_fnr('1966-06-06', 1), 'kommune_nr', '1804')) AS b_citizen_bodo \gset
RESET client_min_messages;

-- PostgREST's schema cache: the media type handlers its query finds (the
-- query of SchemaCache.hs, run as the authenticator): one per FHIR read,
-- so Accept: application/fhir+json is served, not refused with 406.  The
-- same rows from PostgREST 12's version of the query.
SET SESSION AUTHORIZATION deling_authenticator;
CREATE TEMP TABLE pgrst13_media_handlers AS EXECUTE pgrst_media_handlers(ARRAY['"api"']);
CREATE TEMP TABLE pgrst12_media_handlers AS EXECUTE pgrst12_media_handlers(ARRAY['api']);
RESET SESSION AUTHORIZATION;
SELECT * FROM pgrst13_media_handlers ORDER BY target_name;
SELECT count(*) AS handlers_v12_and_v13_differ FROM (
    (TABLE pgrst12_media_handlers EXCEPT TABLE pgrst13_media_handlers)
    UNION ALL (TABLE pgrst13_media_handlers EXCEPT TABLE pgrst12_media_handlers)) x;
-- every function that returns FHIR has a handler, and its domain is over
-- json: PostgREST sends the send function's bytes, jsonb_send's start 0x01
SELECT p.proname, h.media_type IS NOT NULL AS has_handler, t.typbasetype::regtype AS domain_over, t.typsend AS sends_with
FROM pg_proc p JOIN pg_type t ON t.oid = p.prorettype
LEFT JOIN pg_temp.pgrst_media_handlers h ON h.target_schema = 'api' AND h.target_name = p.proname
WHERE p.pronamespace = 'api'::regnamespace AND (t.typbasetype <> 0 OR p.proname IN (
    'news2_observations', 'municipal_services', 'legevakt_summary', 'my_access_log'))
ORDER BY 1;
-- PostgREST puts a role's ALTER ROLE ... SET settings into the prelude;
-- the roles it switches to have none, so the prelude below is complete
SELECT count(*) AS role_settings FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
WHERE r.rolname LIKE 'nhn:deling/%' OR r.rolname IN ('deling_anon', 'deling_authenticator');

\set dialect 13
\set anon_role deling_anon
\set req_n 0
\set qs ''
\set body ''
\set accept ''
\set authorization ''

\echo '=== every endpoint, every kind of caller'
\echo '--- anonymous (no Authorization header): db-anon-role deling_anon'
\set authorization ''
\i sql/include/pgrst_every_endpoint.psql
\echo '--- the legevakt doctor: scope nhn:deling/helsepersonell'
\set authorization 'Bearer ' :lege_tok
\i sql/include/pgrst_every_endpoint.psql
\echo '--- the Bærum EPJ: scope nhn:deling/integrasjon'
\set authorization 'Bearer ' :epj_tok
\i sql/include/pgrst_every_endpoint.psql
\echo '--- the citizen''s channel: scope nhn:deling/innbygger'
-- (the access log drained first, so its count does not depend on the worker's timing)
SELECT deling.access_log_drain() >= 0 AS drained;
\set authorization 'Bearer ' :citizen_tok
\i sql/include/pgrst_every_endpoint.psql
\echo '--- KPR: scope nhn:deling/kpr (its kpr functions are not in db-schemas)'
\set authorization 'Bearer ' :kpr_tok
\i sql/include/pgrst_every_endpoint.psql

\echo '=== Accept: application/fhir+json: the handler''s body expression; the body on the wire starts with "{" (0x7b)'
\set authorization 'Bearer ' :lege_tok
\set accept 'application/fhir+json'
\set method GET
\set path /rpc/news2_observations
\set qs 'pid=' :pid
\set show
\i sql/include/pgrst_request.psql
SELECT :'resp_body' \g (format=unaligned tuples_only=on) :fhir_dir/pgrst_news2_observations.json
\set path /rpc/municipal_services
\set qs 'pid=' :moved_pid '&include_history=true'
\i sql/include/pgrst_request.psql
SELECT :'resp_body' \g (format=unaligned tuples_only=on) :fhir_dir/pgrst_municipal_services.json
\set path /rpc/legevakt_summary
\set qs 'pid=' :moved_pid
\i sql/include/pgrst_request.psql
SELECT :'resp_body' \g (format=unaligned tuples_only=on) :fhir_dir/pgrst_legevakt_summary.json
\echo '--- the same with Accept: application/json or */* (the builtin JSON aggregate)'
\set accept 'application/json'
\set show
\i sql/include/pgrst_request.psql
\set accept '*/*'
\i sql/include/pgrst_request.psql
\echo '--- refused by PostgREST: a media type with parameters or another case, ?select=, a view'
\set accept 'application/fhir+json; fhirVersion=4.0'
\i sql/include/pgrst_request.psql
\set accept 'application/FHIR+json'
\i sql/include/pgrst_request.psql
\set accept 'application/fhir+json'
\set qs 'pid=' :moved_pid '&select=*'
\i sql/include/pgrst_request.psql
\set path /citizens
\set qs 'limit=5'
\set authorization 'Bearer ' :epj_tok
\i sql/include/pgrst_request.psql

\echo '=== the role comes from the token''s scope; deling re-verifies the token'
\set method GET
\set path /rpc/news2_observations
\set qs 'pid=' :pid
\set accept 'application/fhir+json'
\echo '--- two nhn:deling scopes: PostgREST takes the first, deling refuses the token'
SELECT deling_test.claims('lege_ab', '{"scope": ["openid", "nhn:deling/helsepersonell", "nhn:deling/integrasjon"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- no nhn:deling scope: PostgREST runs it as db-anon-role, deling refuses the token'
SELECT deling_test.claims('lege_ab', '{"scope": ["openid", "profile"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- a scope the platform has no role for: PostgreSQL refuses the role (22023, 401 since PostgREST 13.0.1)'
SELECT deling_test.claims('lege_ab', '{"scope": ["nhn:deling/ny"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- a "role" claim (HelseID issues none): PostgREST 13 ignores it, deling refuses the token'
SELECT deling_test.claims('lege_ab', '{"role": "deling_admin"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- what PostgREST does not check: the issuer, an audience list that also names another API'
SELECT deling_test.claims('lege_ab', '{"iss": "https://evil.example"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT deling_test.claims('lege_ab', '{"aud": ["nhn:deling", "nhn:other-api"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- not a bearer token: no token for PostgREST (db-anon-role), refused by deling'
\set authorization 'Basic ZGVsaW5nOmRlbGluZw=='
\i sql/include/pgrst_request.psql

\echo '=== refused by PostgREST itself, before any SQL (Auth.hs, Error.hs: 401 PGRST301/302/303)'
\echo '--- expired: long ago; 45 s ago (PostgREST allows 30 s of clock skew, deling 60 s: its own expiry check never sees such a token)'
SELECT deling_test.claims('lege_ab', '{"exp": 1000000000}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT deling_test.claims('lege_ab', jsonb_build_object('exp', extract(epoch FROM now())::bigint - 45)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT deling.verify_token(:'tok')->>'role' AS deling_alone_would_accept;
\echo '--- expired 15 s ago: within both leeways, served'
SELECT deling_test.claims('lege_ab', jsonb_build_object('exp', extract(epoch FROM now())::bigint - 15)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- not yet valid, issued in the future, another audience, exp not a number'
SELECT deling_test.claims('lege_ab', jsonb_build_object('nbf', extract(epoch FROM now())::bigint + 600)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT deling_test.claims('lege_ab', jsonb_build_object('iat', extract(epoch FROM now())::bigint + 600)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT deling_test.claims('lege_ab', '{"aud": "nhn:other-api"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT deling_test.claims('lege_ab', '{"exp": "9999999999"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\echo '--- forged: a key that is not in the JWKS, a bad signature, alg none, two parts, an empty token'
SELECT deling_test.claims('lege_ab') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k3 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\set tok `tests/tools/mint-jwt badsig k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
\set tok `tests/tools/mint-jwt none k1 :'p'`
\set authorization 'Bearer ' :tok
\i sql/include/pgrst_request.psql
SELECT 'Bearer ' || split_part(:'lege_tok', '.', 1) || '.' || split_part(:'lege_tok', '.', 2) AS authorization \gset
\i sql/include/pgrst_request.psql
\set authorization 'Bearer '
\i sql/include/pgrst_request.psql
\echo '--- no token and no db-anon-role configured; a function that does not exist'
\set authorization ''
\set anon_role ''
\i sql/include/pgrst_request.psql
\set anon_role deling_anon
\set authorization 'Bearer ' :lege_tok
\set path /rpc/news2_observation
\i sql/include/pgrst_request.psql

\echo '=== "+" in a GET value arrives as a space (ApiRequest/QueryParams.hs: parseQueryReplacePlus True); send %2B'
\set path /rpc/news2_observations
\set qs 'pid=' :pid '&since=2026-11-20T19:00:00+01:00'
\i sql/include/pgrst_request.psql
\set qs 'pid=' :pid '&since=2026-11-20T19:00:00%2B01:00'
\set show
\i sql/include/pgrst_request.psql

\echo '=== the transaction mode follows the function''s volatility (pg_proc.provolatile), as PostgREST chooses it'
\echo '--- POST to a STABLE function: READ ONLY'
\set method POST
\set qs ''
\set accept 'application/fhir+json'
SELECT pg_temp.aeson(jsonb_build_object('pid', :'pid', 'max', 1)) AS body \gset
\set show
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services
SELECT pg_temp.aeson(jsonb_build_object('pid', :'moved_pid', 'include_history', true)) AS body \gset
\i sql/include/pgrst_request.psql
\set path /rpc/news2_observations
\echo '--- GET on a VOLATILE function: READ ONLY too, so its write fails (25006: 405)'
\set method GET
\set accept 'application/json'
\set authorization 'Bearer ' :citizen_tok
\set path /rpc/block_sharing
\set qs 'pid=' :pid '&sharing_service=news2'
\i sql/include/pgrst_request.psql

\echo '=== the citizen''s channel: a block, the list, lifting it (void: 204), the own access log'
\set method POST
\set qs ''
\set body :b_block
\i sql/include/pgrst_request.psql
\set method GET
\set path /rpc/sharing_blocks
\set qs 'pid=' :pid
\i sql/include/pgrst_request.psql
SELECT pg_temp.aeson(jsonb_build_object('block_id', (:'resp_body')::jsonb->0->>'block_id')) AS body \gset
\set method POST
\set path /rpc/unblock_sharing
\set qs ''
\set show
\i sql/include/pgrst_request.psql
\set method GET
\set path /rpc/sharing_blocks
\set qs 'pid=' :pid
\i sql/include/pgrst_request.psql
-- (every entry so far appended first, so the count does not depend on the worker's timing)
SELECT deling.access_log_drain() >= 0 AS drained;
\set path /rpc/my_access_log
\set qs ''
\set accept 'application/fhir+json'
\i sql/include/pgrst_request.psql
SELECT :'resp_body' \g (format=unaligned tuples_only=on) :fhir_dir/pgrst_my_access_log.json
SELECT e->'resource'->'agent'->0->'who'->'identifier'->>'value' AS who, count(*) AS accesses
FROM jsonb_array_elements((:'resp_body')::jsonb->'entry') e GROUP BY 1 ORDER BY 1;

\echo '=== the Bærum EPJ: an insert through the view, another kommune''s (row-level security), a re-sent measurement, a rejected batch'
\set authorization 'Bearer ' :epj_tok
\set method POST
\set accept 'application/json'
\set path /citizens
\set body :b_citizen_bodo
\set show
\i sql/include/pgrst_request.psql
\set path /rpc/news2_ingest
\set body :b_ingest
\i sql/include/pgrst_request.psql
\set path /rpc/news2_ingest_batch
\set body :b_bad_batch
\i sql/include/pgrst_request.psql
\set method GET
\set body ''
\set path /citizens
\set qs 'limit=5'
\set show
\i sql/include/pgrst_request.psql

\echo '=== PostgREST 12: it cannot parse the scope filter (jwt-role-claim-key stays .role), so a HelseID token runs as db-anon-role'
\set dialect 12
\set authorization 'Bearer ' :lege_tok
\set accept 'application/fhir+json'
\set path /rpc/news2_observations
\set qs 'pid=' :pid
\i sql/include/pgrst_request.psql
\echo '--- only a token with a "role" claim (not how HelseID issues them) gets further: GET arguments as a JSON object of strings through json_to_record'
SELECT deling_test.claims('lege_ab', '{"role": "nhn:deling/helsepersonell"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set authorization 'Bearer ' :tok
\set show
\i sql/include/pgrst_request.psql
\set qs 'pid=' :pid '&since=2026-11-20T19:00:00+01:00'
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services
\set qs 'pid=' :moved_pid '&include_history=true'
\i sql/include/pgrst_request.psql
\set dialect 13

\echo '=== every sharing service declared with a synthetic generator (deling.service, none named here): its FHIR read, ingest, batch and FHIR Bundle'
-- The DBA opts Bærum (the EPJ's kommune, which the doctor's legevakt
-- reaches) in to each; Bodø stays out.  Each service's requests come from
-- a psql file generated from the declarations, so a service declared later
-- is sent the same requests without a line of this file changing: the
-- Bærum EPJ records one item and a batch (from the service's generator)
-- and a batch it refuses, reads them back, and sends the read's own Bundle
-- to the FHIR ingest (as a collection, its entries in the order of their
-- identifiers: the read orders records of the same time by their random
-- ids); the doctor reads them (GET with application/fhir+json, POST, GET
-- with application/json); anonymous callers, Bodø's EPJ (not opted in)
-- and the doctor's write are refused.
SELECT max(pid) AS svc_pid FROM deling.citizen WHERE kommune_nr = '3201' \gset
SELECT deling_test.claims('epj_bodo') AS p \gset
\set epj_bodo_tok `tests/tools/mint-jwt RS256 k1 :'p'`
CREATE TEMP TABLE pgrst_svc_reads (service text, bundle jsonb);
SELECT count(deling.enable_service('3201', s.service_code)) AS enabled FROM deling.service s WHERE s.declaration ? 'synthetic' \gset
SELECT s.service_code AS service, ks.kommune_nr AS enabled_in FROM deling.service s
JOIN deling.kommune_service ks USING (service_code) WHERE s.declaration ? 'synthetic' ORDER BY 1, 2;
\set ECHO none
SELECT string_agg(format($inc$
\set ECHO none
\echo '--- %1$s: GET/POST /rpc/%2$s, POST /rpc/%3$s, /rpc/%3$s_batch, /rpc/%3$s_fhir (the read''s Bundle as a collection)'
SELECT pg_temp.aeson(jsonb_build_object(%4$L, i->0 || '{"source_id": "pgrst-%1$s-1"}')) AS b_svc_item,
       pg_temp.aeson(jsonb_build_object(%5$L, i)) AS b_svc_batch,
       pg_temp.aeson(jsonb_build_object(%5$L, jsonb_build_array(jsonb_build_object('pid', :'svc_pid', 'source_system', 'pgrst', 'source_id', 'bad')))) AS b_svc_bad
FROM (SELECT %6$s('3201', ARRAY[:'svc_pid'], seed) AS i FROM generate_series(1, 50) seed
      WHERE jsonb_array_length(%6$s('3201', ARRAY[:'svc_pid'], seed)) > 0 ORDER BY seed LIMIT 1) x \gset
\set authorization 'Bearer ' :epj_tok
\set method POST
\set accept 'application/json'
\set qs ''
\set path /rpc/%3$s
\set body :b_svc_item
\i sql/include/pgrst_request.psql
\set path /rpc/%3$s_batch
\set body :b_svc_batch
\i sql/include/pgrst_request.psql
\set body :b_svc_bad
\i sql/include/pgrst_request.psql
\set method GET
\set accept 'application/fhir+json'
\set path /rpc/%2$s
\set qs 'pid=' :svc_pid
\set body ''
\i sql/include/pgrst_request.psql
SELECT pg_temp.aeson(jsonb_build_object('bundle', b - 'total' - 'link' || jsonb_build_object('type', 'collection',
           'entry', (SELECT jsonb_agg(e - 'search' ORDER BY e->'resource'->'identifier'->0->>'value', o)
                     FROM jsonb_array_elements(b->'entry') WITH ORDINALITY x(e, o))))) AS b_svc_fhir
FROM (SELECT (:'resp_body')::jsonb AS b) x \gset
\set method POST
\set accept 'application/json'
\set path /rpc/%3$s_fhir
\set qs ''
\set body :b_svc_fhir
\i sql/include/pgrst_request.psql
\set authorization 'Bearer ' :lege_tok
\set method GET
\set accept 'application/fhir+json'
\set path /rpc/%2$s
\set qs 'pid=' :svc_pid
\set body ''
\i sql/include/pgrst_request.psql
SELECT :'resp_body' \g (format=unaligned tuples_only=on) :fhir_dir/pgrst_%1$s.json
INSERT INTO pg_temp.pgrst_svc_reads VALUES (%1$L, (:'resp_body')::jsonb);
\set accept 'application/json'
\i sql/include/pgrst_request.psql
\set method POST
\set accept 'application/fhir+json'
\set qs ''
SELECT pg_temp.aeson(jsonb_build_object('pid', :'svc_pid')) AS body \gset
\i sql/include/pgrst_request.psql
\set authorization ''
\set method GET
\set qs 'pid=' :svc_pid
\set body ''
\i sql/include/pgrst_request.psql
\set authorization 'Bearer ' :lege_tok
\set method POST
\set accept 'application/json'
\set path /rpc/%3$s
\set qs ''
\set body :b_svc_item
\i sql/include/pgrst_request.psql
\set authorization 'Bearer ' :epj_bodo_tok
\i sql/include/pgrst_request.psql
\set ECHO all
$inc$, s.service_code, s.declaration->'read'->>'function',
       coalesce(s.declaration->'ingest'->>'prefix', replace(s.service_code, '-', '_') || '_ingest'),
       coalesce(s.declaration->'ingest'->>'item_param', 'item'), coalesce(s.declaration->'ingest'->>'batch_param', 'items'),
       s.declaration->>'synthetic'), '' ORDER BY s.service_code)
FROM deling.service s WHERE s.declaration ? 'synthetic' \g (format=unaligned tuples_only=on) results/pgrst_declared_services.psql
\set ECHO all
\i results/pgrst_declared_services.psql
\echo '--- the doctor''s one-call lookup holds every one of them'
\set authorization 'Bearer ' :lege_tok
\set method GET
\set accept 'application/fhir+json'
\set path /rpc/legevakt_summary
\set qs 'pid=' :svc_pid
\set body ''
\i sql/include/pgrst_request.psql
SELECT :'resp_body' \g (format=unaligned tuples_only=on) :fhir_dir/pgrst_legevakt_summary_services.json
SELECT :'resp_body' AS svc_summary \gset
-- how many of each read's resources the summary holds (all, or fewer for
-- a service whose summary shows current records only), and that every
-- resource of the service's type in the summary is one its read gave
SELECT s.service_code AS service,
       (SELECT count(*) FROM jsonb_array_elements(r.bundle->'entry') e WHERE e->'search'->>'mode' = 'match') AS read_resources,
       (SELECT count(*) FROM jsonb_array_elements(r.bundle->'entry') e
        WHERE e->'search'->>'mode' = 'match'
          AND e->'resource' IN (SELECT x->'resource' FROM jsonb_array_elements((:'svc_summary')::jsonb->'entry') x)) AS in_summary,
       (SELECT count(*) FROM jsonb_array_elements((:'svc_summary')::jsonb->'entry') x
        WHERE x->'resource'->>'resourceType' = s.declaration->'fhir_in'->>'resource'
          AND x->'resource' NOT IN (SELECT e->'resource' FROM jsonb_array_elements(r.bundle->'entry') e)) AS in_summary_not_read
FROM deling.service s, pg_temp.pgrst_svc_reads r WHERE s.declaration ? 'synthetic' AND r.service = s.service_code ORDER BY 1;
SELECT count(deling.disable_service('3201', s.service_code)) AS disabled FROM deling.service s WHERE s.declaration ? 'synthetic' \gset
SELECT count(*) AS still_enabled_in_baerum FROM deling.kommune_service ks JOIN deling.service s USING (service_code)
WHERE ks.kommune_nr = '3201' AND s.declaration ? 'synthetic';

-- every declared service (the pilots by the requests further up, the
-- others by their generated ones) was sent, as PostgREST sends them: its
-- FHIR read with GET and application/fhir+json and with POST, answered 200;
-- its ingest, batch and FHIR Bundle ingest as an integration, answered by
-- the database (200, or 400 for a batch it refused); and its api functions
-- are in the OpenAPI description (a COMMENT each) for the roles that may call them
SELECT s.service_code AS service,
       coalesce(bool_or(l.method = 'GET' AND l.path = '/rpc/' || n.rd AND l.accept = 'application/fhir+json'
                        AND l.answer LIKE '200 application/fhir+json,%'), false) AS read_get,
       coalesce(bool_or(l.method = 'POST' AND l.path = '/rpc/' || n.rd AND l.answer LIKE '200 %'), false) AS read_post,
       coalesce(bool_or(l.method = 'POST' AND l.path = '/rpc/' || n.pf AND l.role = 'nhn:deling/integrasjon' AND l.answer ~ '^(200 |400 \(22023\))'), false) AS ingest,
       coalesce(bool_or(l.method = 'POST' AND l.path = '/rpc/' || n.pf || '_batch' AND l.role = 'nhn:deling/integrasjon' AND l.answer ~ '^(200 |400 \(22023\))'), false) AS batch,
       coalesce(bool_or(l.method = 'POST' AND l.path = '/rpc/' || n.pf || '_fhir' AND l.role = 'nhn:deling/integrasjon' AND l.answer ~ '^(200 |400 \(22023\))'), false) AS fhir,
       (SELECT bool_and(obj_description(p.oid, 'pg_proc') <> '') AND count(*) = 4 FROM pg_proc p
        WHERE p.pronamespace = 'api'::regnamespace AND p.proname IN (n.rd, n.pf, n.pf || '_batch', n.pf || '_fhir')) AS commented,
       (SELECT bool_and(has_function_privilege('deling_helsepersonell', p.oid, 'EXECUTE') = (p.proname = n.rd)
                        AND has_function_privilege('deling_integrasjon', p.oid, 'EXECUTE')
                        AND NOT has_function_privilege('deling_innbygger', p.oid, 'EXECUTE')
                        AND NOT has_function_privilege('deling_kpr', p.oid, 'EXECUTE')
                        AND NOT has_function_privilege('deling_anon', p.oid, 'EXECUTE')) FROM pg_proc p
        WHERE p.pronamespace = 'api'::regnamespace AND p.proname IN (n.rd, n.pf, n.pf || '_batch', n.pf || '_fhir')) AS granted_as_documented,
       EXISTS (SELECT FROM pg_temp.pgrst_media_handlers h WHERE h.target_schema = 'api' AND h.target_name = n.rd
               AND h.media_type = 'application/fhir+json') AS fhir_handler
FROM deling.service s
CROSS JOIN LATERAL (SELECT s.declaration->'read'->>'function' AS rd,
                           coalesce(s.declaration->'ingest'->>'prefix', replace(s.service_code, '-', '_') || '_ingest') AS pf) n
LEFT JOIN pg_temp.pgrst_log l ON l.path IN ('/rpc/' || n.rd, '/rpc/' || n.pf, '/rpc/' || n.pf || '_batch', '/rpc/' || n.pf || '_fhir')
WHERE s.declaration IS NOT NULL
GROUP BY s.service_code, n.rd, n.pf ORDER BY 1;

-- the exposed surface: every api object has a COMMENT (PostgREST's OpenAPI
-- summary is its first line); GET runs every function READ ONLY, POST
-- runs STABLE ones READ ONLY and VOLATILE ones READ WRITE; nothing is
-- executable by PUBLIC (05_tenancy)
SELECT c.oid::regclass AS uncommented_view FROM pg_class c
WHERE c.relnamespace = 'api'::regnamespace AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.oid::regprocedure AS uncommented_function FROM pg_proc p
WHERE p.pronamespace = 'api'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT p.proname, CASE p.provolatile WHEN 's' THEN 'STABLE: GET or POST, READ ONLY' WHEN 'v' THEN 'VOLATILE: POST, READ WRITE' ELSE 'IMMUTABLE' END AS http,
       p.prorettype::regtype AS returns, split_part(obj_description(p.oid, 'pg_proc'), E'\n', 1) AS openapi_summary
FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace ORDER BY 2, 1;
