-- Stopping the access log from a read: every caller-supplied value is
-- bounded before it is logged, a refusal with an absurd argument is still
-- logged (clipped and marked), and the log goes on taking later reads.
\c - sec_lege
SELECT sec.claims('lege_baerum') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.pid('3201') AS pid \gset
SELECT string_agg(md5(i::text), '') AS huge FROM generate_series(1, 100) i \gset

SELECT sec.sqlstate(format('SELECT api.news2_observations(%L)', :'huge')) AS code \gset
SELECT sec.ok(:'code' = '22023', 'a 3,200-character pid is refused with 22023');
SELECT coalesce(sec.error(format('SELECT api.news2_observations(%L)', :'huge')), 'no error') AS err \gset
SELECT sec.ok(length(:'err') < 200, 'the refusal''s message shows the value clipped (' || length(:'err') || ' characters)');
SELECT sec.ok(sec.sqlstate(format('SELECT api.legevakt_summary(%L, reason => %L)', :'pid', repeat(:'huge', 2))) = '22023',
              'a 6,400-character reason is refused with 22023');
SELECT sec.ok(sec.sqlstate(format('SELECT api.news2_trend(%L, purpose => %L)', :'pid', :'huge')) IN ('22023', '42501'),
              'an absurd purpose is refused');
-- every declared service's read, the same
SELECT sec.ok(sec.sqlstate(format('SELECT api.%I(%L)', s.read_fn, :'huge')) = '22023',
              format('%s (api.%s): a 3,200-character pid is refused with 22023', s.code, s.read_fn))
FROM sec.services() s;
SELECT sec.ok(sec.sqlstate(format('SELECT api.%I(%L, reason => %L)', s.read_fn, :'pid', repeat(:'huge', 2))) = '22023',
              format('%s (api.%s): a 6,400-character reason is refused with 22023', s.code, s.read_fn))
FROM sec.services() s;
-- a read after them
SELECT (api.news2_observations(:'pid'))->>'resourceType' AS after_read \gset
SELECT sec.ok(:'after_read' = 'Bundle', 'a later read is served');
SELECT sec.ok(sec.value(format('SELECT (api.%I(%L))::jsonb->>''resourceType''', s.read_fn, :'pid')) = 'Bundle',
              format('a later read of %s (api.%s) is served', s.code, s.read_fn))
FROM sec.services() s;

\c - postgres
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'decision' = 'denied' AND l.entry->>'citizen' LIKE left(:'huge', 20) || '%'
                        AND l.entry->>'citizen' LIKE '%[truncated, 3200 characters]'
                        AND length(l.entry->>'citizen') < 100),
              'the refusal is in the access log with the pid clipped and marked');
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.access_log l WHERE length(l.entry::text) > 8000),
              'no access-log entry is larger than 8,000 characters');
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l WHERE l.entry->>'decision' = 'granted' AND l.entry->>'citizen' = :'pid'
                      AND l.entry->>'service' = 'news2'),
              'the later read reached the access log');
-- every declared service's refusals and its later read are in the log
-- under the service's code (the sharing gate and the generated reads log
-- every service the same way)
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'service' = s.code AND l.entry->>'decision' = 'denied'
                        AND l.entry->>'citizen' LIKE '%[truncated, 3200 characters]' AND length(l.entry->>'citizen') < 100),
              format('%s: the refusal of the absurd pid is in the access log, clipped and marked', s.code))
FROM sec.services() s;
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'service' = s.code AND l.entry->>'decision' = 'denied' AND l.entry->>'citizen' = :'pid'),
              format('%s: the refusal of the absurd reason is in the access log', s.code))
FROM sec.services() s;
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l
                      WHERE l.entry->>'service' = s.code AND l.entry->>'decision' = 'granted' AND l.entry->>'citizen' = :'pid'
                        AND l.kommuner @> ARRAY['3201']),
              format('%s: the later read is in the access log, for Bærum', s.code))
FROM sec.services() s;
SELECT sec.ok((deling.verify_access_log(NULL)->>'valid')::boolean, 'the access log verifies');
