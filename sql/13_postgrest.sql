-- The api schema as PostgREST serves it: every endpoint replayed with the
-- SQL PostgREST 12 sends for the request (see sql/include/pgrst_request.psql
-- and docs/postgrest.md), for each role, plus anonymous, expired, forged and
-- wrong-role requests.  Errors show their SQLSTATE, which PostgREST maps to
-- the HTTP status (42501 -> 403, 28000 -> 403, 22023 -> 400, 23505 -> 409).
\set VERBOSITY sqlstate
SET client_min_messages = warning;
SELECT deling.synthetic_fnr('1938-03-14', 0) AS pid \gset
SELECT deling.synthetic_fnr('1933-12-24', 0) AS moved_pid \gset
SELECT deling.synthetic_fnr('1955-05-05', 0) AS new_pid \gset

-- the statements PostgREST 12 builds: a read of a view, and an RPC call with
-- its arguments from a JSON payload (GET query string or POST body)
CREATE FUNCTION pg_temp.view_query(view text, lim integer) RETURNS text LANGUAGE sql AS $$
    SELECT format('WITH pgrst_source AS ( SELECT %1$s.* FROM %1$s LIMIT %2$s OFFSET 0 ) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, coalesce(json_agg(_postgrest_t), ''[]'')::character varying AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers, nullif(current_setting(''response.status'', true), '''') AS response_status, '''' AS response_inserted FROM ( SELECT * FROM pgrst_source ) _postgrest_t',
                  '"api".' || quote_ident(view), lim);
$$;
CREATE FUNCTION pg_temp.rpc_query(fn text, args jsonb, types jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN types = '{}' THEN format('WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT "api".%I() pgrst_scalar) pgrst_call) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, ''null'') AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers, nullif(current_setting(''response.status'', true), '''') AS response_status, '''' AS response_inserted FROM (SELECT * FROM pgrst_source) _postgrest_t', fn)
    ELSE format('WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT %L::json AS json_data) pgrst_payload, LATERAL (SELECT %s FROM json_to_record(pgrst_payload.json_data) AS _(%s) LIMIT 1) pgrst_args, LATERAL (SELECT "api".%I(%s) pgrst_scalar) pgrst_call) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, ''null'') AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers, nullif(current_setting(''response.status'', true), '''') AS response_status, '''' AS response_inserted FROM (SELECT * FROM pgrst_source) _postgrest_t',
                  args::text::json,
                  (SELECT string_agg(quote_ident(k), ', ' ORDER BY k) FROM jsonb_object_keys(types) k),
                  (SELECT string_agg(quote_ident(k) || ' ' || (types->>k), ', ' ORDER BY k) FROM jsonb_object_keys(types) k),
                  fn,
                  (SELECT string_agg(format('%1$I := pgrst_args.%1$I', k), ', ' ORDER BY k) FROM jsonb_object_keys(types) k)) END;
$$;
SELECT pg_temp.view_query('citizens', 5) AS q_citizens \gset
SELECT pg_temp.rpc_query('news2_observations', jsonb_build_object('pid', :'pid'), '{"pid": "text"}') AS q_news2 \gset
SELECT pg_temp.rpc_query('news2_trend', jsonb_build_object('pid', :'pid'), '{"pid": "text"}') AS q_trend \gset
SELECT pg_temp.rpc_query('municipal_services', jsonb_build_object('pid', :'moved_pid', 'include_history', true),
                         '{"pid": "text", "include_history": "boolean"}') AS q_services \gset
SELECT pg_temp.rpc_query('municipal_services_count', jsonb_build_object('pid', :'moved_pid'), '{"pid": "text"}') AS q_count \gset
SELECT pg_temp.rpc_query('legevakt_summary', jsonb_build_object('pid', :'pid'), '{"pid": "text"}') AS q_summary \gset
SELECT pg_temp.rpc_query('news2_ingest', jsonb_build_object('measurement', jsonb_build_object('pid', :'new_pid',
    'measured_at', '2026-11-21T10:00:00+01:00', 'resp_rate', 18, 'spo2', 95, 'on_oxygen', false, 'systolic_bp', 132,
    'pulse', 88, 'consciousness', 'A', 'temperature', 37.8, 'source_system', 'pgrst', 'source_id', 'p-1')),
    '{"measurement": "jsonb"}') AS q_ingest \gset
SELECT pg_temp.rpc_query('news2_ingest_batch', jsonb_build_object('measurements', jsonb_build_array(jsonb_build_object('pid', :'new_pid'))),
    '{"measurements": "jsonb"}') AS q_bad_batch \gset
SELECT pg_temp.rpc_query('municipal_services_ingest', jsonb_build_object('service', jsonb_build_object('pid', :'new_pid',
    'service_code', '15', 'status', 'active', 'period_start', '2026-11-01', 'source_system', 'pgrst', 'source_id', 's-1')),
    '{"service": "jsonb"}') AS q_service_ingest \gset
SELECT pg_temp.rpc_query('block_sharing', jsonb_build_object('pid', :'pid', 'sharing_service', 'news2', 'kommuner', jsonb_build_array('1804')),
    '{"pid": "text", "sharing_service": "text", "kommuner": "text[]"}') AS q_block \gset
SELECT pg_temp.rpc_query('sharing_blocks', jsonb_build_object('pid', :'pid'), '{"pid": "text"}') AS q_blocks \gset
SELECT pg_temp.rpc_query('my_access_log', '{}', '{}') AS q_my_log \gset
SELECT pg_temp.rpc_query('municipal_services_ingest_batch', jsonb_build_object('services', jsonb_build_array(
    jsonb_build_object('pid', :'new_pid', 'service_code', '1', 'status', 'active', 'period_start', '2026-11-01',
                       'source_system', 'pgrst', 'source_id', 's-2'))), '{"services": "jsonb"}') AS q_services_batch \gset
SELECT pg_temp.rpc_query('municipal_services_ingest_fhir', jsonb_build_object('bundle', jsonb_build_object(
    'resourceType', 'Bundle', 'type', 'batch', 'entry', jsonb_build_array(jsonb_build_object('resource', jsonb_build_object(
        'resourceType', 'EpisodeOfCare', 'status', 'active',
        'identifier', jsonb_build_array(jsonb_build_object('system', 'pgrst', 'value', 's-3')),
        'type', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
            'system', 'urn:oid:2.16.578.1.12.4.1.1.9151', 'code', '5')))),
        'patient', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'new_pid')),
        'period', jsonb_build_object('start', '2026-11-02')))))), '{"bundle": "jsonb"}') AS q_services_fhir \gset
SELECT pg_temp.rpc_query('news2_ingest_fhir', jsonb_build_object('bundle', jsonb_build_object('resourceType', 'Bundle', 'type', 'batch')),
    '{"bundle": "jsonb"}') AS q_news2_fhir_bad \gset
-- POST /citizens: an insert through the view, as PostgREST builds it
SELECT format('WITH pgrst_source AS (INSERT INTO "api"."citizens"("pid") SELECT "pgrst_body"."pid" FROM (SELECT %L::json AS json_data) pgrst_payload, LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = ''array'' THEN pgrst_payload.json_data ELSE json_build_array(pgrst_payload.json_data) END AS val) pgrst_uniform_json, LATERAL (SELECT * FROM json_to_recordset(pgrst_uniform_json.val) AS _("pid" text) ) pgrst_body  RETURNING 1) SELECT '''' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, array[]::text[] AS header, ''''::text AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers, nullif(current_setting(''response.status'', true), '''') AS response_status, '''' AS response_inserted FROM (SELECT * FROM pgrst_source) _postgrest_t',
              jsonb_build_object('pid', deling.synthetic_fnr('1966-06-06', 0))) AS q_insert \gset
SELECT replace(:'q_insert', '"pid")', '"pid", "kommune_nr")') AS q_insert_other \gset
SELECT replace(replace(:'q_insert_other', 'SELECT "pgrst_body"."pid" FROM', 'SELECT "pgrst_body"."pid", "pgrst_body"."kommune_nr" FROM'),
               'AS _("pid" text)', 'AS _("pid" text, "kommune_nr" text)') AS q_insert_other \gset
SELECT replace(:'q_insert_other', '"pid": "' || deling.synthetic_fnr('1966-06-06', 0) || '"',
               '"pid": "' || deling.synthetic_fnr('1966-06-06', 1) || '", "kommune_nr": "1804"') AS q_insert_other \gset

-- tokens and the request headers PostgREST passes on
SELECT deling_test.claims('lege_ab') AS lege_claims \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'lege_claims'`
SELECT deling_test.claims('epj_baerum') AS epj_claims \gset
\set epj_tok `tests/tools/mint-jwt RS256 k1 :'epj_claims'`
SELECT deling_test.claims('innbygger', jsonb_build_object('helseid://claims/identity/pid', :'pid')) AS citizen_claims \gset
\set citizen_tok `tests/tools/mint-jwt RS256 k1 :'citizen_claims'`
SELECT deling_test.claims('lege_ab', '{"exp": 1000000000}') AS expired_claims \gset
\set expired_tok `tests/tools/mint-jwt RS256 k1 :'expired_claims'`
SELECT jsonb_build_object('accept', 'application/json', 'authorization', 'Bearer ' || :'lege_tok')::text AS lege_headers \gset
SELECT jsonb_build_object('accept', 'application/json', 'authorization', 'Bearer ' || :'epj_tok')::text AS epj_headers \gset
SELECT jsonb_build_object('accept', 'application/json', 'authorization', 'Bearer ' || :'citizen_tok')::text AS citizen_headers \gset
SELECT jsonb_build_object('accept', 'application/json', 'authorization', 'Bearer ' || :'expired_tok')::text AS expired_headers \gset
\set anon_headers '{"accept": "application/json"}'
\set anon_claims '{"role": "deling_anon"}'
RESET client_min_messages;
SET SESSION AUTHORIZATION deling_authenticator;

\echo '--- anonymous: GET /citizens, GET /rpc/news2_observations'
\set txmode 'READ ONLY'
\set role deling_anon
\set method GET
\set claims :anon_claims
\set headers :anon_headers
\set path /citizens
\set query :q_citizens
\i sql/include/pgrst_request.psql
\set path /rpc/news2_observations
\set query :q_news2
\i sql/include/pgrst_request.psql

\echo '--- the Bærum EPJ (deling_integrasjon): GET /citizens, its own NEWS2, POST ingest'
\set role deling_integrasjon
\set claims :epj_claims
\set headers :epj_headers
\set path /citizens
\set query :q_citizens
\i sql/include/pgrst_request.psql
\set path /rpc/news2_observations
\set query :q_news2
\i sql/include/pgrst_request.psql
\set txmode 'READ WRITE'
\set method POST
\set path /rpc/news2_ingest
\set query :q_ingest
\i sql/include/pgrst_request.psql
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services_ingest
\set query :q_service_ingest
\i sql/include/pgrst_request.psql
\set path /rpc/news2_ingest_batch
\set query :q_bad_batch
\i sql/include/pgrst_request.psql
\set path /rpc/news2_ingest_fhir
\set query :q_news2_fhir_bad
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services_ingest_batch
\set query :q_services_batch
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services_ingest_fhir
\set query :q_services_fhir
\i sql/include/pgrst_request.psql
\echo '--- POST /citizens: a Bærum citizen (201), and one for Bodø (refused by row-level security)'
\set path /citizens
\set query :q_insert
\i sql/include/pgrst_request.psql
\set query :q_insert_other
\i sql/include/pgrst_request.psql

\echo '--- the legevakt doctor (deling_helsepersonell): every read; no views, no ingest'
\set role deling_helsepersonell
\set claims :lege_claims
\set headers :lege_headers
\set txmode 'READ ONLY'
\set method GET
\set path /rpc/news2_observations
\set query :q_news2
\i sql/include/pgrst_request.psql
\set path /rpc/news2_trend
\set query :q_trend
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services
\set query :q_services
\i sql/include/pgrst_request.psql
\set path /rpc/municipal_services_count
\set query :q_count
\i sql/include/pgrst_request.psql
\set path /rpc/legevakt_summary
\set query :q_summary
\i sql/include/pgrst_request.psql
\set path /citizens
\set query :q_citizens
\i sql/include/pgrst_request.psql
\set txmode 'READ WRITE'
\set method POST
\set path /rpc/news2_ingest
\set query :q_ingest
\i sql/include/pgrst_request.psql

\echo '--- the citizen''s channel (deling_innbygger): a block, the list, the own access log'
\set role deling_innbygger
\set claims :citizen_claims
\set headers :citizen_headers
\set path /rpc/block_sharing
\set query :q_block
\i sql/include/pgrst_request.psql
\set txmode 'READ ONLY'
\set method GET
\set path /rpc/sharing_blocks
\set query :q_blocks
\i sql/include/pgrst_request.psql
SELECT pg_temp.rpc_query('unblock_sharing', jsonb_build_object('block_id', (:'resp_body')::jsonb->0->>'block_id'),
                         '{"block_id": "uuid"}') AS q_unblock \gset
\set txmode 'READ WRITE'
\set method POST
\set path /rpc/unblock_sharing
\set query :q_unblock
\i sql/include/pgrst_request.psql
\set txmode 'READ ONLY'
\set method GET
\set path /rpc/sharing_blocks
\set query :q_blocks
\i sql/include/pgrst_request.psql
-- (every entry so far appended first, so the count does not depend on the worker's timing)
RESET SESSION AUTHORIZATION;
SELECT deling.access_log_drain() >= 0 AS drained;
SET SESSION AUTHORIZATION deling_authenticator;
\set path /rpc/my_access_log
\set query :q_my_log
\i sql/include/pgrst_request.psql
\set path /rpc/news2_observations
\set query :q_news2
\i sql/include/pgrst_request.psql

\echo '--- refused: an expired token, forged claims without a signed header, the wrong role, a non-Bearer header'
\set role deling_helsepersonell
\set claims :expired_claims
\set headers :expired_headers
\i sql/include/pgrst_request.psql
\set role deling_integrasjon
\set claims '{"role": "deling_integrasjon", "helseid://claims/client/claims/orgnr_parent": "972418013"}'
\set headers :anon_headers
\set path /citizens
\set query :q_citizens
\i sql/include/pgrst_request.psql
\set claims :lege_claims
\set headers :lege_headers
\i sql/include/pgrst_request.psql
\set headers '{"authorization": "Basic ZGVsaW5nOmRlbGluZw=="}'
\i sql/include/pgrst_request.psql
RESET SESSION AUTHORIZATION;

-- the exposed surface: every api object has a COMMENT (PostgREST's OpenAPI
-- summary is its first line), reads are STABLE (GET in a READ ONLY
-- transaction), writes VOLATILE (POST), nothing executable by PUBLIC
SELECT c.oid::regclass AS uncommented_view FROM pg_class c
WHERE c.relnamespace = 'api'::regnamespace AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.oid::regprocedure AS uncommented_function FROM pg_proc p
WHERE p.pronamespace = 'api'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT p.proname, CASE p.provolatile WHEN 's' THEN 'STABLE (GET)' WHEN 'v' THEN 'VOLATILE (POST)' ELSE 'IMMUTABLE' END AS http,
       split_part(obj_description(p.oid, 'pg_proc'), E'\n', 1) AS openapi_summary
FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace ORDER BY 2, 1;
