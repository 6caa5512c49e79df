-- The access log: every sharing read, granted or denied, is one entry,
-- logged before data is returned; the entry survives ROLLBACK and READ ONLY;
-- one hash chain over the whole log catches a superuser's edits (and, with
-- an anchor taken earlier, their re-hashed edits and deletions); nobody else
-- can change it or forge entries; caller values are bounded; a message the
-- log cannot take is quarantined and the log carries on; the citizen sees
-- who read their data (without free-text reasons); the privacy officer
-- reviews emergency reads, denials, gaps and quarantined messages.
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

SELECT s.worker_running, s.ready, s.slot_exists, s.slot_held_by_worker, s.slot_wal_status, s.gap, s.wal_level
FROM deling.status s;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT coalesce(max(seq), 0) AS mark FROM deling.access_log \gset

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

-- the entries, drained into the log: one per read, listing the kommuner it concerned
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT l.seq - :mark AS n, l.kind, l.kommuner, l.entry->>'service' AS service, l.entry->>'decision' AS decision,
       l.entry->>'why' AS why, l.entry->>'resources' AS resources, l.entry->>'hpr' AS hpr, l.entry->>'orgnr_child' AS unit,
       l.entry->>'purpose' AS purpose, l.entry->>'request_id' AS request_id, l.entry->>'emergency' AS emergency,
       l.entry->>'reason' AS reason, l.entry->>'role' AS role, l.citizen_pid = :'pid' AS citizen
FROM deling.access_log l WHERE l.seq > :mark ORDER BY l.seq;
SELECT l.entry ? 'token_id' AS has_token_id, l.entry->'decision_ref'->>'id' AS decision_ref
FROM deling.access_log l WHERE l.seq > :mark AND l.entry->>'request_id' = 'req-4711';
-- one entry per read over the whole log, seq without holes; draining again appends nothing
SELECT count(*) = count(DISTINCT lsn) AS one_entry_per_message, max(seq) = count(*) AS gapless,
       count(*) FILTER (WHERE kind <> 'access') AS not_reads
FROM deling.access_log;
SELECT deling.access_log_drain() AS appended_again;

-- the whole chain verifies; each kommune's entries are counted
SELECT deling.verify_access_log(NULL) - 'entries' - 'log_entries' AS verification;
SELECT k, v->>'valid' AS valid, (v->>'entries')::int = (SELECT count(*) FROM deling.access_log l WHERE l.kommuner @> ARRAY[k]) AS counted
FROM (SELECT k, deling.verify_access_log(k) AS v FROM unnest(ARRAY['1804', '3201', '3203']) k) x ORDER BY k;

-- a superuser's edits are caught (each tried in a transaction that is rolled back)
BEGIN;
UPDATE deling.access_log SET entry = jsonb_set(entry, '{hpr}', '"999999"') WHERE seq = (SELECT max(seq) - 1 FROM deling.access_log);
SELECT deling.verify_access_log(NULL)->'first_problem'->>'problem' AS after_update;
ROLLBACK;
BEGIN;
UPDATE deling.access_log SET citizen_pid = '01010199999' WHERE seq = 3;
SELECT deling.verify_access_log(NULL)->'first_problem' AS after_citizen_edit;
ROLLBACK;
BEGIN;
DELETE FROM deling.access_log WHERE seq = 2;
SELECT deling.verify_access_log(NULL)->'first_problem' AS after_delete;
ROLLBACK;
BEGIN;
UPDATE deling.access_log SET seq = seq + 1000000000 WHERE seq IN (2, 3);
UPDATE deling.access_log SET seq = CASE seq WHEN 1000000002 THEN 3 ELSE 2 END WHERE seq > 1000000000;
SELECT deling.verify_access_log(NULL)->'first_problem' AS after_reorder;
ROLLBACK;
BEGIN;
UPDATE deling.access_log SET entry = entry || '{"hpr": "1"}',
       content_hash = deling.access_log_content(kind, lsn, entry || '{"hpr": "1"}') WHERE seq = 1;
SELECT deling.verify_access_log(NULL)->'first_problem' AS after_rehashed_edit;
ROLLBACK;
BEGIN;
DELETE FROM deling.access_log WHERE seq > (SELECT max(seq) - 2 FROM deling.access_log);
SELECT deling.verify_access_log(NULL)->'first_problem'->>'problem' AS after_deleting_the_newest;
ROLLBACK;

-- an anchor: the head, signed; a superuser who also rewrites the head
-- (deleting the newest entries, or editing and re-hashing the newest) is
-- caught against an anchor taken earlier
SET SESSION AUTHORIZATION regress_dba;
SELECT deling.access_log_anchor() AS anchor \gset
SELECT (:'anchor')::jsonb ?& ARRAY['system_identifier', 'database', 'seq', 'chain_hash', 'taken_at', 'public_key', 'signature'] AS complete,
       ((:'anchor')::jsonb->>'seq')::bigint = (SELECT max(seq) FROM deling.access_log) AS at_the_head;
SELECT deling.verify_access_log(NULL, :'anchor') - 'entries' - 'log_entries' - 'anchor_seq' AS against_the_anchor;
SELECT deling.verify_access_log(NULL, jsonb_set((:'anchor')::jsonb, '{seq}', '1'))->'first_problem'->>'problem' AS forged_anchor;
SELECT deling_test.try(format('SELECT deling.verify_access_log(NULL, %L)', '{"seq": 1}'));
SELECT deling_test.try('SELECT seed FROM deling.access_log_key');
RESET SESSION AUTHORIZATION;
BEGIN;
DELETE FROM deling.access_log WHERE seq > (SELECT max(seq) - 2 FROM deling.access_log);
UPDATE deling.access_log_head SET last_seq = (SELECT max(seq) FROM deling.access_log),
       last_hash = (SELECT chain_hash FROM deling.access_log ORDER BY seq DESC LIMIT 1);
SELECT deling.verify_access_log(NULL)->>'valid' AS valid_without_anchor,
       deling.verify_access_log(NULL, :'anchor')->'first_problem'->>'problem' AS with_the_anchor;
ROLLBACK;
BEGIN;
UPDATE deling.access_log SET entry = entry || '{"hpr": "1"}',
       content_hash = deling.access_log_content(kind, lsn, entry || '{"hpr": "1"}') WHERE seq = (SELECT max(seq) FROM deling.access_log);
UPDATE deling.access_log SET chain_hash = deling.sha256(prev_hash || content_hash) WHERE seq = (SELECT max(seq) FROM deling.access_log);
UPDATE deling.access_log_head SET last_hash = (SELECT chain_hash FROM deling.access_log ORDER BY seq DESC LIMIT 1);
SELECT deling.verify_access_log(NULL)->>'valid' AS valid_without_anchor,
       deling.verify_access_log(NULL, :'anchor')->'first_problem'->>'problem' AS with_the_anchor;
ROLLBACK;

-- nobody else changes the log, its head or quarantine, or forges entries
SET SESSION AUTHORIZATION regress_dba;
SELECT count(*) > 0 AS dba_reads FROM deling.access_log;
SELECT deling_test.try('UPDATE deling.access_log SET entry = ''{}''');
SELECT deling_test.try('DELETE FROM deling.access_log');
SELECT deling_test.try('UPDATE deling.access_log_head SET confirmed_lsn = ''0/0''');
SELECT deling_test.try('DELETE FROM deling.access_log_quarantine');
SELECT deling_test.try($$SELECT deling.access_log_emit('{"forged": true}')$$);
SELECT deling_test.try($$SELECT deling.access_log_append('{}', '{}')$$);
SELECT deling_test.try($$SELECT pg_logical_emit_message(false, 'deling.access_log', '{"forged": true}')$$);
SELECT deling_test.try($$SELECT deling.access_log_acknowledge_gap('nothing to see')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_bodo;
SELECT deling_test.try('SELECT count(*) FROM deling.access_log');
SELECT deling_test.try('SELECT * FROM deling.status');
SELECT deling_test.try($$SELECT pg_logical_emit_message(false, 'deling.access_log', '{"forged": true}')$$);
RESET SESSION AUTHORIZATION;
-- and the extension is not dropped while the log holds entries
SELECT deling_test.try('DROP EXTENSION deling');

-- a read whose pid is 3,200 characters: 22023 for the caller, and the
-- refusal logged with the value clipped and marked
SELECT coalesce(max(seq), 0) AS mark FROM deling.access_log \gset
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true) IS NOT NULL AS authenticated;
SELECT deling_test.try($$SELECT api.news2_observations((SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i))$$);
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT kind, entry->>'decision' AS decision, citizen_pid, citizen_pid = entry->>'citizen' AS indexed, length(entry::text) < 2000 AS small
FROM deling.access_log WHERE seq > :mark ORDER BY seq;

-- messages the log cannot take (a superuser's by hand) are quarantined:
-- kept with the reason, recorded in the chain, and the log carries on
SELECT coalesce(max(seq), 0) AS mark FROM deling.access_log \gset
SELECT pg_logical_emit_message(false, 'deling.access_log', x) IS NOT NULL AS emitted
FROM unnest(ARRAY[
    'not JSON at all',
    '{"time": "yesterday", "service": "forged", "decision": "granted", "kommuner": []}',
    format('{"time": "2026-11-23T15:04:05.000000Z", "service": "forged", "decision": "denied", "kommuner": [], "citizen": "%s"}',
           (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i)),
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "forged", "decision": "granted", "kommuner": [], "n": 1e1000000}'
]) WITH ORDINALITY AS m(x, i) ORDER BY i;
SELECT pg_logical_emit_message(false, 'deling.access_log', '\xff00fe'::bytea) IS NOT NULL AS emitted;
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT (api.news2_observations(:'pid'))->>'total' AS read_after_quarantine;
RESET SESSION AUTHORIZATION;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT l.seq - :mark AS n, l.kind, l.entry->>'service' AS service, l.entry->>'reason' AS reason,
       l.entry->>'raw_length' AS raw_length, l.entry->>'raw_sha256' = encode(q.raw_sha256, 'hex') AS hash_kept
FROM deling.access_log l LEFT JOIN deling.access_log_quarantine q ON q.lsn = l.lsn
WHERE l.seq > :mark ORDER BY l.seq;
SELECT deling.verify_access_log(NULL) - 'entries' - 'log_entries' AS verification;
SET SESSION AUTHORIZATION regress_dba;
SELECT s.quarantined_entries, s.undrained_entries, s.lag_seconds, s.gap, s.refused_reads, s.ready,
       s.log_entries = (SELECT max(seq) FROM deling.access_log) AS log_entries,
       s.last_append > now() - interval '1 minute' AS recent_append, s.lag_bytes < 1000000 AS small_lag
FROM deling.status s;
SELECT count(*) AS quarantined, bool_and(raw_sha256 = deling.sha256(raw)) AS kept FROM deling.access_log_quarantine;
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
FROM deling.access_log WHERE entry->>'service' = 'access-log' ORDER BY seq;

-- the privacy officer's review of Bærum for today
SET SESSION AUTHORIZATION regress_dba;
SELECT r->'verification'->>'valid' AS chain_valid, jsonb_array_length(r->'emergency') AS emergency_reads,
       r->'emergency'->0->>'reason' AS reason, jsonb_array_length(r->'denials') >= 1 AS denials_listed,
       r->'unusual_volume' AS unusual, jsonb_array_length(r->'quarantined') AS quarantined, r->'gaps' AS gaps
FROM (SELECT api.access_review('3201', now() - interval '1 day', now() + interval '1 minute') AS r) x;
-- and the export as AuditEvents
SELECT deling.access_log_export('3201', now() - interval '1 day', now() + interval '1 minute') AS export \gset
SELECT (:'export')::jsonb \g (format=unaligned tuples_only=on) :fhir_dir/access_log_export.json
SELECT (:'export')::jsonb->>'type' AS type,
       jsonb_array_length((:'export')::jsonb->'entry') = (SELECT count(*) FROM deling.access_log WHERE kind = 'access'
           AND kommuner @> '{3201}' AND logged_at >= now() - interval '1 day') AS every_entry;
RESET SESSION AUTHORIZATION;
-- the chain helper agrees with chaining deling.sha256 one by one
SELECT deling.sha256_chain('\x00', ARRAY['\x61', '\x62', '\x63']::bytea[])
       = ARRAY[deling.sha256('\x0061'), deling.sha256(deling.sha256('\x0061') || '\x62'::bytea),
               deling.sha256(deling.sha256(deling.sha256('\x0061') || '\x62'::bytea) || '\x63'::bytea)] AS chain_agrees,
       deling.sha256_chain('\x00', '{}') AS empty_chain;
SELECT deling_test.try($$SELECT deling.sha256_chain('\x00', ARRAY['\x61', NULL]::bytea[])$$);
-- Ed25519: a signature verifies under its key only, for its message only
SELECT deling.ed25519_verify('m', deling.ed25519_sign('m', k), deling.ed25519_public_key(k)) AS verifies,
       deling.ed25519_verify('n', deling.ed25519_sign('m', k), deling.ed25519_public_key(k)) AS other_message,
       deling.ed25519_verify('m', deling.ed25519_sign('m', k), deling.ed25519_public_key(deling.random_key())) AS other_key
FROM deling.random_key() k;
SELECT deling_test.try($$SELECT deling.ed25519_sign('m', '\x00')$$);

-- an entry the log could not take (it would be quarantined) is refused
-- before it is written: a bug in a sharing function fails its own read
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
    '{"time": "2026-11-23T15:04:05.000000Z", "service": "refused-entry", "decision": "denied", "kommuner": [], "citizen": 14833800095}',
    '{"time": "2028-02-29T15:04:05.000000Z", "service": "accepted-entry", "decision": "denied", "kommuner": ["1804", "3201"]}'
]::jsonb[]) WITH ORDINALITY AS x(e, i) ORDER BY i;
SELECT deling_test.try(format('SELECT deling.access_log_emit(%L)', jsonb_build_object('time', '2026-11-23T15:04:05.000000Z',
    'service', 'refused-entry', 'decision', 'granted', 'kommuner', '[]'::jsonb, 'padding', repeat('x', 17000))));
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT entry->>'service' AS service, kommuner, logged_at FROM deling.access_log
WHERE entry->>'service' IN ('refused-entry', 'accepted-entry') ORDER BY seq;

-- the worker fills every column of the rows it appends itself; a column
-- added to the log later (nullable, so that nothing else would fail) makes
-- it take the SQL way, which applies the column's default, until the
-- column is gone again
ALTER TABLE deling.access_log ADD COLUMN regress_note text DEFAULT 'by default';
SELECT deling.access_log_emit(jsonb_build_object('time', '2026-11-23T15:04:05.000000Z', 'service', 'added-column',
    'decision', 'granted', 'kommuner', '["1804", "1833"]'::jsonb, 'citizen', '13916300004')) IS NOT NULL AS emitted;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT kind, regress_note, kommuner, citizen_pid, logged_at FROM deling.access_log WHERE entry->>'service' = 'added-column';
ALTER TABLE deling.access_log DROP COLUMN regress_note;
SELECT deling.access_log_emit(jsonb_build_object('time', '2026-11-23T15:04:05.000000Z', 'service', 'dropped-column',
    'decision', 'denied', 'kommuner', '[]'::jsonb)) IS NOT NULL AS emitted;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT kind, kommuner, citizen_pid, logged_at FROM deling.access_log WHERE entry->>'service' = 'dropped-column';
SELECT deling.verify_access_log(NULL) - 'entries' - 'log_entries' AS verification;

-- likewise an insert trigger of the DBA's (here a statement trigger that
-- counts what is appended): the C way would not fire it, the SQL way does
CREATE TABLE deling_test.appended (entries bigint);
CREATE FUNCTION deling_test.count_appended() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO deling_test.appended SELECT count(*) FROM appended;
    RETURN NULL;
END
$$;
CREATE TRIGGER regress_count_appended AFTER INSERT ON deling.access_log
    REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION deling_test.count_appended();
SELECT deling.access_log_emit(jsonb_build_object('time', '2026-11-23T15:04:05.000000Z', 'service', 'counted-by-trigger',
    'decision', 'granted', 'kommuner', '["1804"]'::jsonb)) IS NOT NULL AS emitted;
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT sum(entries) >= 1 AS counted FROM deling_test.appended;
DROP TRIGGER regress_count_appended ON deling.access_log;
DROP FUNCTION deling_test.count_appended();
DROP TABLE deling_test.appended;
SELECT deling.verify_access_log(NULL) - 'entries' - 'log_entries' AS verification;
