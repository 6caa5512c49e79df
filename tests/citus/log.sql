-- The access log compared between the single node and the Citus
-- coordinator (tests/citus/run.sh, after reads.sql and answers.sql): the
-- citizen's view, the DBA's review, the chain, and every entry.
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
\c - postgres
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
\c - sec_innbygger
SELECT sec.claims('innbygger') AS claims \gset
\set citizen_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'citizen_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT 'log/citizen ' || ct.answer('SELECT api.my_access_log()::text');
\c - sec_dba
SELECT 'log/review ' || ct.answer('SELECT (api.access_review(''1804'', now() - interval ''1 day'', now() + interval ''1 day''))::text');
\c - postgres
SELECT 'log/verify ' || ct.answer('SELECT deling.verify_access_log(''1804'')::text');
SELECT 'log/entries ' || ct.norm((SELECT jsonb_agg(jsonb_build_object('service', l.entry->>'service', 'decision', l.entry->>'decision',
                                             'citizen', l.citizen_pid, 'kommuner', l.kommuner, 'kind', l.kind,
                                             'resources', l.entry->'resources', 'reason', l.entry->>'reason') ORDER BY l.seq)::text
                                  FROM deling.access_log l));
