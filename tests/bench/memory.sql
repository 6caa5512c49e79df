-- Peak backend memory for the largest single read (a citizen's 1,000 NEWS2
-- measurements, the read's maximum, as one FHIR Bundle), whose goal is a
-- peak of at most 4 x the JSON it returns; the read's rendering alone (no
-- gate, no log) with the json renderers that write it once (json_writer.c;
-- the jsonb builders they replaced peaked at 163 MiB for the 10.1 MB of
-- this read, docs/fhir-output.md); and the largest batch (10,000 NEWS2
-- measurements).  Measured from the kernel: the backend's peak resident
-- set (VmHWM, reset through /proc/PID/clear_refs) above its resident set
-- just before.  The read and its rendering: in a new session, first call,
-- less the same first call for a citizen with (almost) no measurements.
-- The batch: after a warm-up run of the same kind has touched the same
-- shared buffers.  Needs to run as root on the server.
-- psql -f tests/bench/memory.sql (as the DBA, after setup.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid \gset

-- a Bodø citizen with 1,000 measurements, and two batches of 10,000 items
SELECT pid AS big FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 1 \gset
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
SELECT '1804', :'big', now() - i * interval '1 hour', 12 + i % 14, 88 + i % 12, i % 5 = 0, 95 + i % 120, 45 + i % 90,
       'A', round(35.2 + (i % 50) / 10.0, 1), 'bench-mem', 'big' || i
FROM generate_series(1, 1000) i;
CREATE TABLE bench.big_batch AS
SELECT b, jsonb_agg(jsonb_build_object(
           'pid', l.pid, 'measured_at', to_char(now() - (i % 97) * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SSOF'),
           'resp_rate', 12 + i % 14, 'spo2', 88 + i % 12, 'on_oxygen', i % 5 = 0, 'systolic_bp', 95 + i % 120,
           'pulse', 45 + i % 90, 'consciousness', 'A', 'temperature', round(35.2 + (i % 50) / 10.0, 1),
           'source_system', 'bench-mem', 'source_id', 'b' || b || '-' || i)) AS items
FROM generate_series(1, 2) b, generate_series(1, 10000) i,
     LATERAL (SELECT pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n OFFSET i % 1000 LIMIT 1) l
GROUP BY b;
GRANT SELECT ON bench.big_batch TO PUBLIC;

SET SESSION AUTHORIZATION bench_epj;
-- the batch: warm up with the first, measure the second
SELECT api.news2_ingest_batch((SELECT items FROM bench.big_batch WHERE b = 1))->'created' AS warm_batch \gset
\set rss1 `awk '/VmRSS/ {print $2}' /proc/:pid/status; echo 5 > /proc/:pid/clear_refs`
SELECT api.news2_ingest_batch((SELECT items FROM bench.big_batch WHERE b = 2))->'created' AS batch_created \gset
\set hwm_batch `awk '/VmHWM/ {print $2}' /proc/:pid/status`
RESET SESSION AUTHORIZATION;

-- the read's rendering alone, as api.news2_observations builds it; the
-- same text as the SQL builders of before (sql/include/fhir_sql_builders.psql,
-- loaded by fhir.sql) give
CREATE FUNCTION bench.render_read(p text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    k text[] := ARRAY['1804'];
    rows deling.news2_measurement[] := ARRAY(SELECT m FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, 1001, NULL, NULL) m);
    matches integer := (SELECT count(*) FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, NULL, NULL, NULL));
    links jsonb := jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', p, 'max', '1000']));
BEGIN
    RETURN deling.fhir_searchset_of('deling.news2_entries_json', rows[1:1000],
               deling.fhir_entry_json('include', deling.fhir_patient_json(p, k)), matches, NULL, links);
END
$$;
CREATE FUNCTION bench.render_read_sql(p text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    k text[] := ARRAY['1804'];
    rows deling.news2_measurement[] := ARRAY(SELECT m FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, 1000, NULL, NULL) m);
    matches integer := (SELECT count(*) FROM deling.news2_rows(p, k, '{}', '{}', false, NULL, NULL, NULL, NULL));
    links jsonb := jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', p, 'max', '1000']));
    entries jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(e ORDER BY i, o), '[]') INTO entries
    FROM generate_subscripts(rows, 1) i, jsonb_array_elements(fhir_sql.news2_entries(rows[i])) WITH ORDINALITY AS x(e, o);
    entries := entries || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', fhir_sql.patient(p, k)));
    RETURN fhir_sql.bundle('searchset', entries, matches, NULL, links);
END
$$;
SELECT overlay(bench.render_read(:'big')::text placing '' from 9 for 36)
       = overlay(bench.render_read_sql(:'big')::text placing '' from 9 for 36) AS same_text \gset
\if :same_text
\else
SELECT bench.fail('the json renderers and the SQL builders give different text for the largest read');
\endif
-- The read and its rendering are each measured in a new session, first
-- call (a warm-up would leave freed memory that malloc keeps and the next
-- call reuses unseen), less the same first call for a citizen with
-- (almost) no measurements: what is left is the read's own.
-- pg_column_size takes the value as the function returns it (a cast to
-- text is an I/O conversion: two more copies of it, which a read does not
-- make).
SELECT l.pid AS few FROM (SELECT * FROM bench.lookup WHERE kommune_nr = '1804' AND pid <> :'big' ORDER BY n LIMIT 500) l
ORDER BY (SELECT count(*) FROM deling.news2_measurement m WHERE m.kommune_nr = '1804' AND m.pid = l.pid), l.n LIMIT 1 \gset

-- The read as a client gets it: api.news2_observations as the Bodø EPJ,
-- gate, blocks, rows, rendering and access log.  Its resources are
-- counted afterwards, in a statement of their own.
\connect
SET SESSION AUTHORIZATION bench_epj;
SELECT pg_backend_pid() AS pid \gset
\set rss `awk '/VmRSS/ {print $2}' /proc/:pid/status; echo 5 > /proc/:pid/clear_refs`
SELECT pg_column_size(api.news2_observations(:'few', max => 1000)) AS few_read_bytes \gset
\set hwm_read_base `awk '/VmHWM/ {print $2}' /proc/:pid/status`
\set rss_read_base :rss
\connect
SET SESSION AUTHORIZATION bench_epj;
SELECT pg_backend_pid() AS pid \gset
\set rss `awk '/VmRSS/ {print $2}' /proc/:pid/status; echo 5 > /proc/:pid/clear_refs`
SELECT pg_column_size(api.news2_observations(:'big', max => 1000)) AS read_bytes \gset
\set hwm_read `awk '/VmHWM/ {print $2}' /proc/:pid/status`
\set rss_read :rss
SELECT json_array_length(api.news2_observations(:'big', max => 1000)->'entry') AS read_resources \gset
RESET SESSION AUTHORIZATION;
SELECT (:hwm_read - :rss_read) - (:hwm_read_base - :rss_read_base) AS read_kib \gset
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
    ('memory', format('peak backend memory, largest read: 1,000 NEWS2 as one Bundle (%s resources, %s MB of JSON), as api.news2_observations returns it',
                      :read_resources, round(:read_bytes / 1e6, 1)), round(:read_kib / 1024.0, 1), 'MiB', NULL, NULL,
     format('at most 4 x the JSON returned (%s MiB)', round(4 * :read_bytes / 1048576.0, 1)), :read_kib * 1024.0 <= 4 * :read_bytes);

-- the rendering alone (bench.render_read), measured the same way
\connect
SELECT pg_backend_pid() AS pid \gset
\set rss `awk '/VmRSS/ {print $2}' /proc/:pid/status; echo 5 > /proc/:pid/clear_refs`
SELECT pg_column_size(bench.render_read(:'few')) AS few_json_bytes \gset
\set hwm_json_base `awk '/VmHWM/ {print $2}' /proc/:pid/status`
\set rss_json_base :rss
\connect
SELECT pg_backend_pid() AS pid \gset
\set rss `awk '/VmRSS/ {print $2}' /proc/:pid/status; echo 5 > /proc/:pid/clear_refs`
SELECT pg_column_size(bench.render_read(:'big')) AS json_bytes \gset
\set hwm_json `awk '/VmHWM/ {print $2}' /proc/:pid/status`
\set rss_json :rss
SELECT (:hwm_json - :rss_json) - (:hwm_json_base - :rss_json_base) AS json_kib \gset
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
    ('memory', format('peak backend memory, the largest read''s rendering alone (%s MB of JSON), json renderers (news2_entries_json, fhir_searchset_of)',
                      round(:json_bytes / 1e6, 1)), round(:json_kib / 1024.0, 1), 'MiB', NULL, NULL,
     format('at most 4 x the JSON returned (%s MiB)', round(4 * :json_bytes / 1048576.0, 1)), :json_kib * 1024.0 <= 4 * :json_bytes);

INSERT INTO bench.result (area, measure, value, unit) VALUES
    ('memory', format('peak backend memory, largest batch: 10,000 NEWS2 (%s created)', :batch_created),
     round((:hwm_batch - :rss1) / 1024.0, 1), 'MiB');
