-- Citizen blocks (sperring): by the citizen's channel or by the kommune, on
-- everything, on service types, or towards organisations; every read
-- honours them and says that something is withheld, without what; an
-- emergency (ETREAT with a reason) opens them and says so.
\set VERBOSITY terse
\i sql/include/fhir_dir.psql
SELECT deling.synthetic_fnr('1941-04-09', 0) AS pid \gset
SELECT deling.synthetic_fnr('1938-03-14', 0) AS news2_pid \gset
SELECT orgnr AS ab_legevakt FROM deling.organisation WHERE name = 'Asker og Bærum legevakt' \gset
SELECT orgnr AS vestre_viken FROM deling.organisation WHERE name = 'Vestre Viken HF' \gset
SELECT deling_test.claims('lege_ab') AS p \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('lege_ab', jsonb_build_object('helseid://claims/client/claims/orgnr_parent', :'vestre_viken',
                                                        'helseid://claims/client/claims/orgnr_child', NULL)) AS p \gset
\set vv_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('lege_ab') AS p \gset
SELECT jsonb_set((:'p')::jsonb, '{authorization_details,0,care_relationship,purpose_of_use,code}', '"ETREAT"')::text AS p \gset
\set etreat_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('innbygger') AS p \gset
\set citizen_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('innbygger', jsonb_build_object('helseid://claims/identity/pid', :'news2_pid')) AS p \gset
\set other_citizen_tok `tests/tools/mint-jwt RS256 k1 :'p'`

-- what the doctor sees before any block
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true)->>'purpose' AS purpose;
SELECT api.municipal_services_count(:'pid') AS before_block;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;

-- the citizen blocks sharing of home nursing (9151 code 15) through the citizen's channel
SET SESSION AUTHORIZATION regress_innbygger;
SELECT deling.authenticate(:'citizen_tok', for_session => true)->>'kind' AS kind;
SELECT deling_test.mask(api.block_sharing(:'pid', service_codes => ARRAY['015'], kommuner => ARRAY['3203'])) AS block;
SELECT api.sharing_blocks(:'pid') AS b \gset
SELECT (:'b')::jsonb->0->>'block_id' AS code_block \gset
SELECT jsonb_array_length((:'b')::jsonb) AS blocks, (:'b')::jsonb->0->'service_codes' AS codes;
-- a citizen manages their own blocks only, and cannot read through sharing services
SELECT deling_test.try(format('SELECT api.block_sharing(%L)', :'news2_pid'));
SELECT deling_test.try(format('SELECT api.sharing_blocks(%L)', :'news2_pid'));
SELECT deling_test.try(format('SELECT api.municipal_services(%L)', :'pid'));
SELECT deling.logout();
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT api.municipal_services(:'pid') AS b \gset
SELECT (:'b')::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/blocked_services.json
-- home nursing is withheld, the rest shown; the Bundle says something is withheld, not what
SELECT (:'b')::jsonb->>'total' AS total, (:'b')::jsonb->'meta'->'security'->0->>'code' AS security,
       (SELECT string_agg(e->'resource'->'type'->0->'coding'->0->>'code', ',' ORDER BY 1)
        FROM jsonb_array_elements((:'b')::jsonb->'entry') e WHERE e->'search'->>'mode' = 'match') AS codes;
SELECT e->'search'->>'mode' AS mode, e->'resource'->'issue' AS issue
FROM jsonb_array_elements((:'b')::jsonb->'entry') e WHERE e->'resource'->>'resourceType' = 'OperationOutcome';
SELECT position('"code": "15"' IN (:'b')) = 0 AND position('Helsetjenester i hjemmet' IN (:'b')) = 0
       AND position('Hjemmesykepleien Asker sentrum' IN (:'b')) = 0 AS withheld_service_not_revealed;
SELECT api.municipal_services_count(:'pid') AS count_with_block;
-- emergency: ETREAT needs a reason; with one the block opens and the Bundle says so
SELECT deling.logout();
SELECT deling.authenticate(:'etreat_tok', for_session => true)->>'purpose' AS purpose;
SELECT deling_test.try(format('SELECT api.municipal_services(%L)', :'pid'));
SELECT api.municipal_services(:'pid', reason => 'Bevisstløs pasient, pårørende oppgir hjemmesykepleie') AS b \gset
SELECT (:'b')::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/emergency_services.json
SELECT (:'b')::jsonb->>'total' AS total, (:'b')::jsonb->'meta' ? 'security' AS redacted,
       (SELECT e->'resource'->'issue'->0->>'severity' FROM jsonb_array_elements((:'b')::jsonb->'entry') e
        WHERE e->'resource'->>'resourceType' = 'OperationOutcome') AS outcome;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;

-- the citizen lifts the block; everything is visible again
SET SESSION AUTHORIZATION regress_innbygger;
SELECT deling.authenticate(:'citizen_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT api.unblock_sharing(:'code_block');
SELECT deling_test.try(format('SELECT api.unblock_sharing(%L)', :'code_block'));   -- already lifted
-- now a block towards Asker og Bærum legevakt only, in every kommune on the platform
SELECT jsonb_array_length(api.block_sharing(:'pid', organisations => ARRAY[:'ab_legevakt'])->'blocks') AS kommuner_covered;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT (api.municipal_services(:'pid'))->>'total' AS legevakt_sees, api.municipal_services_count(:'pid') AS legevakt_count;
SELECT deling.logout();
SELECT deling.authenticate(:'vv_tok', for_session => true)->'reach' AS hospital_reach;
SELECT (api.municipal_services(:'pid'))->>'total' AS hospital_sees;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;

-- the kommune blocks NEWS2 for a Bærum citizen (at the citizen's request made at the service office)
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT deling_test.mask(api.block_sharing(:'news2_pid', sharing_service => 'news2')) AS kommune_block;
SELECT api.sharing_blocks(:'news2_pid')->0->>'block_id' AS kommune_block \gset
SELECT deling_test.try(format('SELECT api.block_sharing(%L, kommuner => ARRAY[%L])', :'news2_pid', '3203'));
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT api.news2_observations(:'news2_pid') AS b \gset
SELECT (:'b')::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/blocked_news2.json
SELECT (:'b')::jsonb->>'total' AS news2_total, (:'b')::jsonb->'meta'->'security'->0->>'code' AS security;
SELECT api.news2_trend(:'news2_pid') AS trend;
SELECT (SELECT count(*) FROM jsonb_array_elements(api.legevakt_summary(:'news2_pid')::jsonb->'entry') e
        WHERE e->'resource'->>'resourceType' = 'Observation') AS summary_observations;
-- a doctor cannot register or lift blocks
SELECT deling_test.try(format('SELECT api.block_sharing(%L)', :'news2_pid'));
SELECT deling_test.try(format('SELECT api.unblock_sharing(%L)', :'kommune_block'));
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
-- the citizen cannot lift the kommune's block; the kommune can
SET SESSION AUTHORIZATION regress_innbygger;
SELECT deling.authenticate(:'other_citizen_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT deling_test.try(format('SELECT api.unblock_sharing(%L)', :'kommune_block'));
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT deling_test.try(format('SELECT api.unblock_sharing(%L)', :'kommune_block'));   -- another kommune
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT api.unblock_sharing(:'kommune_block');
RESET SESSION AUTHORIZATION;

-- bad block requests
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT deling_test.try(format('SELECT api.block_sharing(%L, service_codes => ARRAY[%L])', :'pid', '10'));
SELECT deling_test.try(format('SELECT api.block_sharing(%L, sharing_service => %L, service_codes => ARRAY[%L])', :'pid', 'news2', '15'));
SELECT deling_test.try(format('SELECT api.block_sharing(%L, organisations => ARRAY[%L])', :'pid', '123'));
SELECT deling_test.try(format('SELECT api.block_sharing(%L, sharing_service => %L)', :'pid', 'no-such'));
SELECT deling_test.try(format('SELECT api.block_sharing(%L)', '02013299998'));
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling_test.try(format('SELECT api.block_sharing(%L)', :'pid'));
RESET SESSION AUTHORIZATION;
-- blocks are citizen data: RLS forced, no direct access but the DBA's
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT deling_test.try('SELECT count(*) FROM deling.citizen_block');
RESET SESSION AUTHORIZATION;
SELECT registered_by, sharing_service, service_codes IS NOT NULL AS by_code, organisations IS NOT NULL AS by_org,
       revoked_at IS NOT NULL AS revoked, count(*)
FROM deling.citizen_block GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
