-- The access log: every sharing read, granted or denied, is logged before
-- data is returned; the entry survives ROLLBACK and READ ONLY; the chain is
-- verifiable and catches a superuser's edits; nobody else can change it or
-- forge entries; the citizen sees who read their data (without free-text
-- reasons); the privacy officer reviews emergency reads and denials.
\set VERBOSITY terse
\i sql/include/fhir_dir.psql
SELECT deling.synthetic_fnr('1938-03-14', 0) AS pid \gset
SELECT deling_test.claims('lege_ab') AS p \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('lege_ab', '{"authorization_details": null}') AS p \gset
\set no_purpose_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('lege_ab') AS p \gset
SELECT jsonb_set((:'p')::jsonb, '{authorization_details,0,care_relationship,purpose_of_use,code}', '"ETREAT"')::text AS p \gset
\set etreat_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('innbygger', jsonb_build_object('helseid://claims/identity/pid', :'pid')) AS p \gset
\set citizen_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT jsonb_build_object('authorization', 'Bearer ' || :'lege_tok', 'x-request-id', 'req-4711')::text AS headers \gset

SELECT status.slot_exists, status.workers, status.wal_level FROM deling.access_log_status status;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT coalesce(max(lsn), '0/0') AS mark FROM deling.access_log \gset

-- a granted read through PostgREST's flow, with a request id
SET SESSION AUTHORIZATION deling_authenticator;
BEGIN READ ONLY;
SELECT set_config('role', 'deling_helsepersonell', true) IS NOT NULL AS r, set_config('request.headers', :'headers', true) IS NOT NULL AS h;
SELECT deling.pre_request();
SELECT (api.news2_observations(:'pid'))->>'total' AS total;
COMMIT;
-- a read whose transaction is rolled back, and one in a READ ONLY transaction
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true) IS NOT NULL AS authenticated;
BEGIN;
SELECT api.municipal_services_count(:'pid') AS rolled_back_read;
ROLLBACK;
BEGIN READ ONLY;
SELECT (api.news2_trend(:'pid', n => 2))->>'measurements' AS read_only_read;
COMMIT;
-- a denied read: the token attests no purpose and none is given
SELECT deling.logout();
SELECT deling.authenticate(:'no_purpose_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT deling_test.try(format('SELECT api.news2_observations(%L)', :'pid'));
-- an emergency read with a reason
SELECT deling.logout();
SELECT deling.authenticate(:'etreat_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT (api.legevakt_summary(:'pid', reason => 'Bevisstløs ved ankomst, ingen pårørende'))->>'type' AS emergency_read;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
-- an integration reading its own kommune is logged the same way
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT (api.news2_observations(:'pid'))->>'total' AS integration_read;
RESET SESSION AUTHORIZATION;

-- the entries, drained into the log
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT l.kommune_nr, l.entry->>'service' AS service, l.entry->>'decision' AS decision, l.entry->>'why' AS why,
       l.entry->>'resources' AS resources, l.entry->>'hpr' AS hpr, l.entry->>'orgnr_child' AS unit,
       l.entry->>'purpose' AS purpose, l.entry->>'request_id' AS request_id, l.entry->>'emergency' AS emergency,
       l.entry->>'reason' AS reason, l.entry->>'role' AS role, l.citizen_pid = :'pid' AS citizen
FROM deling.access_log l WHERE l.lsn > :'mark' ORDER BY l.lsn, l.kommune_nr;
SELECT l.entry ? 'token_id' AS has_token_id, l.entry->'decision_ref'->>'id' AS decision_ref
FROM deling.access_log l WHERE l.lsn > :'mark' AND l.entry->>'request_id' = 'req-4711';
-- draining again appends nothing twice
SELECT deling.access_log_drain() AS appended_again;

-- every chain verifies
SELECT k, deling.verify_access_log(k) - 'entries' AS verification
FROM (SELECT DISTINCT kommune_nr::text AS k FROM deling.access_log) x ORDER BY k;

-- a superuser's edits are caught (each tried in a transaction that is rolled back)
BEGIN;
UPDATE deling.access_log SET entry = jsonb_set(entry, '{hpr}', '"999999"')
WHERE kommune_nr = '3201' AND seq = (SELECT max(seq) - 1 FROM deling.access_log WHERE kommune_nr = '3201');
SELECT deling.verify_access_log('3201')->'first_problem'->>'problem' AS after_update;
ROLLBACK;
BEGIN;
DELETE FROM deling.access_log WHERE kommune_nr = '3201' AND seq = 2;
SELECT deling.verify_access_log('3201')->'first_problem' AS after_delete;
ROLLBACK;
BEGIN;
UPDATE deling.access_log SET seq = -seq WHERE kommune_nr = '3201' AND seq IN (2, 3);
UPDATE deling.access_log SET seq = CASE seq WHEN -2 THEN 3 ELSE 2 END WHERE kommune_nr = '3201' AND seq IN (-2, -3);
SELECT deling.verify_access_log('3201')->'first_problem' AS after_reorder;
ROLLBACK;
BEGIN;
UPDATE deling.access_log SET entry = entry || '{"hpr": "1"}', content_hash = deling.sha256(convert_to((entry || '{"hpr": "1"}')::text, 'UTF8'))
WHERE kommune_nr = '3201' AND seq = 1;
SELECT deling.verify_access_log('3201')->'first_problem' AS after_rehashed_edit;
ROLLBACK;

-- nobody else changes the log or forges entries
SET SESSION AUTHORIZATION regress_dba;
SELECT count(*) > 0 AS dba_reads FROM deling.access_log;
SELECT deling_test.try('UPDATE deling.access_log SET entry = ''{}''');
SELECT deling_test.try('DELETE FROM deling.access_log');
SELECT deling_test.try($$SELECT deling.access_log_emit('{"forged": true}')$$);
SELECT deling_test.try($$SELECT pg_logical_emit_message(false, 'deling.access_log', '{"forged": true}')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_bodo;
SELECT deling_test.try('SELECT count(*) FROM deling.access_log');
SELECT deling_test.try($$SELECT pg_logical_emit_message(false, 'deling.access_log', '{"forged": true}')$$);
RESET SESSION AUTHORIZATION;

-- the citizen's own access log, as FHIR AuditEvents, without free-text reasons
SET SESSION AUTHORIZATION regress_innbygger;
SELECT deling.authenticate(:'citizen_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT api.my_access_log() AS log \gset
SELECT (:'log')::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/my_access_log.json
SELECT (:'log')::jsonb->>'type' AS type, ((:'log')::jsonb->>'total')::int >= 6 AS at_least_six,
       position('Bevisstløs' IN (:'log')) = 0 AS no_free_text_reason;
SELECT e->'resource'->>'outcome' AS outcome, e->'resource'->'purposeOfEvent'->0->'coding'->0->>'code' AS purpose,
       e->'resource'->'agent'->0->'who'->'identifier'->>'value' AS hpr, e->'resource'->'agent'->1->'who'->>'display' AS organisation,
       e->'resource'->'entity'->0->>'description' AS service, count(*)
FROM jsonb_array_elements((:'log')::jsonb->'entry') e
WHERE (e->'resource'->>'recorded')::timestamptz > now() - interval '1 hour'
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
-- a doctor cannot read it; the citizen's reading is itself logged
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling_test.try('SELECT api.my_access_log()');
RESET SESSION AUTHORIZATION;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT entry->>'service' AS service, entry->>'decision' AS decision, entry->>'kind' AS kind
FROM deling.access_log WHERE entry->>'service' = 'access-log' ORDER BY lsn;

-- the privacy officer's review of Bærum for today
SET SESSION AUTHORIZATION regress_dba;
SELECT r->'verification'->>'valid' AS chain_valid, jsonb_array_length(r->'emergency') AS emergency_reads,
       r->'emergency'->0->>'reason' AS reason, jsonb_array_length(r->'denials') >= 1 AS denials_listed,
       r->'unusual_volume' AS unusual
FROM (SELECT api.access_review('3201', now() - interval '1 day', now() + interval '1 minute') AS r) x;
-- and the export as AuditEvents
SELECT deling.access_log_export('3201', now() - interval '1 day', now() + interval '1 minute') AS export \gset
SELECT (:'export')::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/access_log_export.json
SELECT (:'export')::jsonb->>'type' AS type,
       jsonb_array_length((:'export')::jsonb->'entry') = (SELECT count(*) FROM deling.access_log WHERE kommune_nr = '3201'
           AND logged_at >= now() - interval '1 day') AS every_entry;
RESET SESSION AUTHORIZATION;
-- the drain's chain helper agrees with chaining deling.sha256 one by one
SELECT deling.sha256_chain('\x00', ARRAY['\x61', '\x62', '\x63']::bytea[])
       = ARRAY[deling.sha256('\x0061'), deling.sha256(deling.sha256('\x0061') || '\x62'::bytea),
               deling.sha256(deling.sha256(deling.sha256('\x0061') || '\x62'::bytea) || '\x63'::bytea)] AS chain_agrees,
       deling.sha256_chain('\x00', '{}') AS empty_chain;
SELECT deling_test.try($$SELECT deling.sha256_chain('\x00', ARRAY['\x61', NULL]::bytea[])$$);

-- an entry the drain could not append (it would stop every later drain and
-- hold the WAL back) is refused before it is written: a bug in a sharing
-- function fails its read instead of the log
SELECT e AS entry, deling_test.try(format('SELECT deling.access_log_emit(%L)', e)) AS emitted
FROM unnest(ARRAY[
    '[]',
    '{"service": "refused-entry", "decision": "granted", "kommuner": []}',
    '{"time": "2026-11-23 15:04:05", "service": "refused-entry", "decision": "granted", "kommuner": []}',
    '{"time": "2026-11-23T15:04:05Z", "service": "refused-entry", "decision": "granted", "kommuner": []}',
    '{"time": "2026-02-30T15:04:05.000000Z", "service": "refused-entry", "decision": "granted", "kommuner": []}',
    '{"time": "2026-11-23T24:00:00.000000Z", "service": "refused-entry", "decision": "granted", "kommuner": []}',
    '{"time": 20261123, "service": "refused-entry", "decision": "granted", "kommuner": []}',
    '{"time": "2026-11-23T15:04:05.000000Z", "decision": "granted", "kommuner": []}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "", "decision": "granted", "kommuner": []}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "maybe", "kommuner": []}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "granted"}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "granted", "kommuner": "1804"}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "granted", "kommuner": [1804]}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "denied", "kommuner": ["1804", "18O4"]}',
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "denied", "kommuner": ["180"]}',
    '{"time": "2028-02-29T15:04:05.000000Z", "service": "accepted-entry", "decision": "denied", "kommuner": ["1804", "3201"]}'
]::jsonb[]) WITH ORDINALITY AS x(e, i) ORDER BY i;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT entry->>'service' AS service, kommune_nr, logged_at FROM deling.access_log
WHERE entry->>'service' IN ('refused-entry', 'accepted-entry') ORDER BY kommune_nr;
