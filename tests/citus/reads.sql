-- The sharing reads compared between the single node and the Citus
-- coordinator (tests/citus/run.sh runs this file on both, on the same
-- data, and compares the lines; again after the cluster has grown and been
-- rebalanced): each line is "section/label answer", the answer normalised
-- by ct.norm.  Every declared service's read, counts, the NEWS2 trend, the
-- services' history and the legevakt summary of a sample of citizens, by
-- two legevakter and an integration; paging, since, refusals; KPR's reads.
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
\c - postgres
SELECT deling.synthetic_fnr('1961-05-17', 0) AS new_pid \gset
SELECT sec.pid('1804') AS bodo_pid \gset
SELECT sec.pid('1804', 1) AS bodo_pid2 \gset
SELECT sec.pid('3201') AS baerum_pid \gset

-- reads ------------------------------------------------------------------------
\c - sec_lege
SELECT sec.claims('lege_bodo') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('bodo-legevakt/%s/%s %s', s.code, p, ct.answer(format('SELECT api.%I(%L)::text', s.read_fn, p)))
FROM ct.sample() p, sec.services() s ORDER BY 1;
SELECT format('bodo-legevakt/summary/%s %s', p, ct.answer(format('SELECT api.legevakt_summary(%L)::text', p)))
FROM ct.sample() p ORDER BY 1;
SELECT format('bodo-legevakt/count/%s/%s %s', c.fn, p, ct.answer(format('SELECT api.%I(%L)::text', c.fn, p)))
FROM ct.sample() p, ct.count_functions() c ORDER BY 1;
SELECT format('bodo-legevakt/trend/%s %s', p, ct.answer(format('SELECT api.news2_trend(%L, n => 3)::text', p)))
FROM ct.sample() p ORDER BY 1;
SELECT format('bodo-legevakt/history/%s %s', p, ct.answer(format('SELECT api.municipal_services(%L, include_history => true)::text', p)))
FROM ct.sample() p ORDER BY 1;
-- a page, the next page its link names, a read since a day
SELECT 'bodo-legevakt/page1 ' || ct.answer(format('SELECT api.news2_observations(%L, max => 2)::text', :'bodo_pid'));
SELECT 'bodo-legevakt/page2 ' || ct.answer(format('SELECT api.news2_observations(%L, max => 2, page => %L)::text', :'bodo_pid',
       substring((api.news2_observations(:'bodo_pid', max => 2))::jsonb->'link'->1->>'url' FROM 'page=([^&]+)')));
SELECT 'bodo-legevakt/since ' || ct.answer(format('SELECT api.news2_observations(%L, since => %L)::text', :'bodo_pid',
       (SELECT to_char(m.measured_at AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS') FROM ct.measurements(:'bodo_pid') m OFFSET 2 LIMIT 1)));
-- refusals: no purpose, a bad pid, a purpose the token did not attest
SELECT 'bodo-legevakt/refused-pid ' || ct.answer('SELECT api.news2_observations(''12345678901'')::text');
SELECT 'bodo-legevakt/refused-purpose ' || ct.answer(format('SELECT api.news2_observations(%L, purpose => %L)::text', :'bodo_pid', 'COC'));

\c - sec_lege
SELECT sec.claims('lege_baerum') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('ab-legevakt/%s/%s %s', s.code, p, ct.answer(format('SELECT api.%I(%L)::text', s.read_fn, p)))
FROM ct.sample() p, sec.services() s ORDER BY 1;
SELECT format('ab-legevakt/summary/%s %s', p, ct.answer(format('SELECT api.legevakt_summary(%L)::text', p)))
FROM ct.sample() p ORDER BY 1;

-- an integration reads its own kommune's citizens, and nothing of others
\c - sec_epj_bodo
SELECT format('epj-bodo/%s/%s %s', s.code, p, ct.answer(format('SELECT api.%I(%L)::text', s.read_fn, p)))
FROM ct.sample() p, sec.services() s ORDER BY 1;
SELECT format('epj-bodo/summary/%s %s', p, ct.answer(format('SELECT api.legevakt_summary(%L)::text', p)))
FROM ct.sample() p ORDER BY 1;

-- KPR's reads
\c - sec_kpr
SELECT 'kpr/events ' || ct.answer('SELECT jsonb_agg(to_jsonb(e) ORDER BY e.pid, e.event_date, e.event, e.service_code, e.stop_id, e.provider_orgnr)::text
                                   FROM kpr.service_events(''1804'', current_date - 4000, current_date) e');
SELECT 'kpr/quality ' || ct.answer('SELECT jsonb_agg(to_jsonb(q) ORDER BY to_jsonb(q)::text)::text FROM kpr.data_quality(''1804'') q');
SELECT 'kpr/statistics ' || ct.answer('SELECT jsonb_agg(to_jsonb(s) ORDER BY to_jsonb(s)::text)::text
                                       FROM kpr.service_statistics(''1804'', current_date - 4000, current_date) s');
SELECT 'kpr/contacts ' || ct.answer('SELECT jsonb_agg(to_jsonb(c) ORDER BY c.contact_type, c.email)::text FROM kpr.contacts(''1804'') c');
