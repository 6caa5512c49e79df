-- The attack families that matter on Citus, through the coordinator
-- (tests/citus/run.sh; the single node's answers are the security suite's):
-- another kommune's citizens stay out of reach when every shard's policy
-- lets deling's functions through; a caller's role reaching a shard
-- directly is refused with an error, never answered with nothing; the
-- context cannot be forged, also not with Citus' own settings and names;
-- Citus' functions that run SQL on other nodes are the superuser's.
-- Self-asserting: "ok - ..." / "not ok - ..." lines (sec.ok).
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
\c - postgres
SELECT sec.pid('3201') AS baerum_pid \gset
SELECT sec.pid('1804') AS bodo_pid \gset
SELECT deling.synthetic_fnr('1999-09-09', 5) AS unregistered_pid \gset

-- cross-kommune --------------------------------------------------------------------
\c - sec_epj_bodo
SELECT sec.ok(sec.value(format('SELECT (api.%I(%L))::jsonb->>''total''', s.read_fn, :'baerum_pid')) = '0',
              format('Bodø''s integration: %s (api.%s) of a Bærum citizen gives nothing', s.code, s.read_fn))
FROM sec.services() s;
SELECT sec.ok(coalesce(jsonb_array_length((api.legevakt_summary(:'baerum_pid'))::jsonb->'entry'), 0) = 0,
              'Bodø''s integration: legevakt_summary of a Bærum citizen gives nothing');
SELECT sec.ok(sec.sqlstate(format('SELECT api.%I(%L)', s.ingest_fn, jsonb_build_object('kommune_nr', '3201', 'pid', :'baerum_pid',
              'source_system', 'ct', 'source_id', 'x-' || s.code))) = '42501',
              format('Bodø''s integration: a %s item for Bærum is refused (api.%s)', s.code, s.ingest_fn))
FROM sec.services() s;
SELECT sec.ok(sec.value(format('SELECT api.sharing_blocks(%L)::text', :'baerum_pid')) = '[]',
              'Bodø''s integration sees none of a Bærum citizen''s blocks');
\c - sec_lege
SELECT sec.claims('lege_bodo') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok(sec.value(format('SELECT (api.%I(%L))::jsonb->>''total''', s.read_fn, :'baerum_pid')) = '0',
              format('Bodø legevakt: %s of a Bærum citizen gives nothing', s.code))
FROM sec.services() s;
SELECT sec.ok(sec.value(format('SELECT api.news2_trend(%L)->>''measurements''', :'baerum_pid')) = '0',
              'Bodø legevakt: the NEWS2 trend of a Bærum citizen gives nothing');
SELECT sec.ok(sec.value(format('SELECT (api.%I(%L))::jsonb->>''total''', 'news2_observations', :'bodo_pid'))::int > 0,
              'Bodø legevakt reads a Bodø citizen');

-- a caller's role on a shard: refused, never answered with nothing -------------------
\c - sec_epj_bodo
SELECT sec.ok(sec.error('SELECT count(*) FROM api.citizens') LIKE '%read and written only through deling''s functions%',
              'Bodø''s integration reading api.citizens directly is refused: ' || sec.error('SELECT count(*) FROM api.citizens'));
SELECT sec.ok(sec.error(format('SELECT count(*) FROM %s WHERE kommune_nr = ''9999''', t.tbl)) IS NOT NULL,
              format('... and so is reading %s where no row could match', t.tbl))
FROM sec.citizen_tables t ORDER BY t.tbl::text;
SELECT sec.ok(sec.sqlstate(format('INSERT INTO api.citizens (kommune_nr, pid) VALUES (''1804'', %L)', :'unregistered_pid'))
              <> 'ok', 'Bodø''s integration cannot register a citizen directly either');
\c - sec_lege
SELECT sec.ok(sec.rows('SELECT FROM deling.citizen') IS NULL, 'a doctor reads no table directly');

-- the context cannot be forged ---------------------------------------------------------
\c - sec_epj_bodo
SELECT sec.ok(sec.sqlstate('SET deling.ctx_kommune_nr = ''3201''') = '42501', 'SET of a context setting is refused');
SELECT sec.ok(sec.sqlstate('SELECT set_config(''deling.ctx_kind'', ''person'', true)') = '42501', 'set_config of a context setting is refused');
SELECT sec.ok(sec.sqlstate('SET citus.propagate_set_commands = ''local''') = 'ok'
              AND sec.sqlstate('SET LOCAL deling.ctx_kommune_nr = ''3201''') = '42501',
              'SET LOCAL of a context setting is refused, also when Citus would carry it to the workers');
RESET citus.propagate_set_commands;
SELECT sec.ok(sec.sqlstate('SELECT deling.set_context_value(''deling.ctx_kind'', ''person'', true)') = '42501',
              'the context writer is not the caller''s');
SET application_name = 'citus_internal gpid=10000000001';
SELECT sec.ok(sec.value(format('SELECT (api.news2_observations(%L))::jsonb->>''total''', :'baerum_pid')) = '0'
              AND sec.value(format('SELECT (api.news2_observations(%L))::jsonb->>''total''', :'bodo_pid'))::int > 0,
              'a caller naming itself a Citus connection reads what it read before, no more');
SELECT sec.ok(sec.sqlstate('SET deling.ctx_kommune_nr = ''3201''') = '42501', '... and still cannot set the context');
RESET application_name;

-- Citus' functions that run SQL on other nodes are the superuser's --------------------------
SELECT sec.ok(sec.sqlstate(format('SELECT %s', f)) = '42501', format('%s is refused to a login', f))
FROM unnest(ARRAY['run_command_on_workers(''SELECT 1'')', 'run_command_on_all_nodes(''SELECT 1'')',
                  'run_command_on_shards(''deling.citizen'', ''SELECT 1'')',
                  'run_command_on_placements(''deling.citizen'', ''SELECT 1'')', 'run_command_on_coordinator(''SELECT 1'')']) f;
