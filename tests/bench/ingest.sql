-- Ingest: the NEWS2 and services batch APIs as the Bodø EPJ integration
-- sends them (validation, scoring on write, forced RLS, per-item report),
-- against the floor of the same rows inserted directly by the DBA.
-- psql -v batches=B -v batch=N -f tests/bench/ingest.sql (as the DBA, after setup.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- B batches of N new items each for (up to) 1,000 Bodø citizens, built before any timing
CREATE TABLE bench.bodo AS
SELECT row_number() OVER (ORDER BY n) - 1 AS k, pid
FROM (SELECT n, pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 1000) l;
CREATE TABLE bench.news2_batch AS
SELECT b, jsonb_agg(jsonb_build_object(
           'pid', l.pid, 'measured_at', to_char(now() - (i % 97) * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SSOF'),
           'resp_rate', 12 + i % 14, 'spo2', 88 + i % 12, 'on_oxygen', i % 5 = 0, 'systolic_bp', 95 + i % 120,
           'pulse', 45 + i % 90, 'consciousness', CASE WHEN i % 9 = 0 THEN 'C' ELSE 'A' END,
           'temperature', round(35.2 + (i % 50) / 10.0, 1), 'recorded_by', '9144889', 'unit_name', 'Hjemmetjenesten',
           'source_system', 'bench-epj', 'source_id', 'n' || b || '-' || i)) AS items
FROM generate_series(1, :batches) b, generate_series(1, :batch) i,
     bench.bodo l WHERE l.k = (b * :batch + i) % (SELECT count(*) FROM bench.bodo)
GROUP BY b;
CREATE TABLE bench.services_batch AS
SELECT b, jsonb_agg(jsonb_build_object(
           'pid', l.pid, 'service_code', (ARRAY['15', '1', '4', '5', '9'])[1 + i % 5], 'status', 'active',
           'vedtak_date', '2026-10-01', 'period_start', '2026-10-15', 'weekly_hours', 1 + i % 20,
           'unit_name', 'Hjemmetjenesten Sentrum', 'source_system', 'bench-epj', 'source_id', 's' || b || '-' || i)) AS items
FROM generate_series(1, :batches) b, generate_series(1, :batch) i,
     bench.bodo l WHERE l.k = (b * :batch + i) % (SELECT count(*) FROM bench.bodo)
GROUP BY b;
GRANT SELECT ON bench.news2_batch, bench.services_batch TO PUBLIC;

-- ingest(kind, first, last): send batches first..last through the API; the items written
CREATE FUNCTION bench.ingest(kind text, first integer, last integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    n bigint := 0;
BEGIN
    FOR i IN first..last LOOP
        IF kind = 'news2' THEN
            r := api.news2_ingest_batch((SELECT items FROM bench.news2_batch WHERE b = i));
        ELSE
            r := api.municipal_services_ingest_batch((SELECT items FROM bench.services_batch WHERE b = i));
        END IF;
        n := n + (r->>'created')::bigint;
    END LOOP;
    RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION bench.ingest(text, integer, integer) TO PUBLIC;

-- the API: the second half of the batches (the first half is the direct floor)
\set half (:batches / 2)
SET SESSION AUTHORIZATION bench_epj;
SELECT clock_timestamp() AS t0 \gset
SELECT bench.ingest('news2', :half + 1, :batches) AS news2_created \gset
SELECT clock_timestamp() AS t1 \gset
SELECT bench.ingest('services', :half + 1, :batches) AS services_created \gset
SELECT clock_timestamp() AS t2 \gset
RESET SESSION AUTHORIZATION;

-- the floor: the same kind of rows inserted directly by the DBA (no JSON
-- validation, no report; scoring on write and the constraints still run)
SELECT clock_timestamp() AS f0 \gset
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, recorded_by, unit_name, source_system, source_id)
SELECT '1804', x.pid, x.measured_at, x.resp_rate, x.spo2, x.on_oxygen, x.systolic_bp, x.pulse, x.consciousness,
       x.temperature, x.recorded_by, x.unit_name, x.source_system, x.source_id
FROM bench.news2_batch, jsonb_to_recordset(items) AS x(pid text, measured_at timestamptz, resp_rate int, spo2 int,
     on_oxygen boolean, systolic_bp int, pulse int, consciousness text, temperature numeric, recorded_by text,
     unit_name text, source_system text, source_id text)
WHERE b <= :half;
SELECT clock_timestamp() AS f1 \gset
INSERT INTO deling.municipal_service (kommune_nr, pid, service_code, status, vedtak_date, period_start, weekly_hours,
                                      unit_name, source_system, source_id)
SELECT '1804', x.pid, x.service_code, x.status, x.vedtak_date, x.period_start, x.weekly_hours, x.unit_name,
       x.source_system, x.source_id
FROM bench.services_batch, jsonb_to_recordset(items) AS x(pid text, service_code text, status text, vedtak_date date,
     period_start date, weekly_hours numeric, unit_name text, source_system text, source_id text)
WHERE b <= :half;
SELECT clock_timestamp() AS f2 \gset

-- the contract's floor: what idempotent ingest with a per-item report does
-- even when it checks nothing, by the DBA: the same rows (the first half,
-- under new source ids) upserted on their source key, RETURNING what the
-- report needs, and the report of every item joined to its input
SELECT clock_timestamp() AS u0 \gset
WITH input AS (
    SELECT nb.b, x.*, x.ordinality AS ord, x.source_id || '-u' AS key
    FROM bench.news2_batch nb, ROWS FROM (jsonb_to_recordset(nb.items) AS (pid text, measured_at timestamptz,
         resp_rate int, spo2 int, on_oxygen boolean, systolic_bp int, pulse int, consciousness text, temperature numeric,
         recorded_by text, unit_name text, source_system text, source_id text)) WITH ORDINALITY AS x
    WHERE nb.b <= :half),
written AS (
    INSERT INTO deling.news2_measurement AS m (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                               consciousness, temperature, recorded_by, unit_name, source_system, source_id)
    SELECT '1804', pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse, consciousness, temperature,
           recorded_by, unit_name, source_system, key
    FROM input
    ON CONFLICT (kommune_nr, source_system, source_id) DO UPDATE SET
        pid = excluded.pid, measured_at = excluded.measured_at, resp_rate = excluded.resp_rate, spo2 = excluded.spo2,
        on_oxygen = excluded.on_oxygen, systolic_bp = excluded.systolic_bp, pulse = excluded.pulse,
        consciousness = excluded.consciousness, temperature = excluded.temperature, recorded_by = excluded.recorded_by,
        unit_name = excluded.unit_name, version = m.version + 1
    WHERE (m.pid, m.measured_at, m.resp_rate, m.spo2, m.on_oxygen, m.systolic_bp, m.pulse, m.consciousness, m.temperature,
           m.recorded_by, m.unit_name)
          IS DISTINCT FROM (excluded.pid, excluded.measured_at, excluded.resp_rate, excluded.spo2, excluded.on_oxygen,
                            excluded.systolic_bp, excluded.pulse, excluded.consciousness, excluded.temperature,
                            excluded.recorded_by, excluded.unit_name)
    RETURNING m.source_system, m.source_id, m.measurement_id, m.xmax = 0 AS created, m.status, m.score, m.risk)
SELECT sum(created) AS news2_upserted, sum(length(report::text)) > 0 AS news2_reported
FROM (SELECT count(*) FILTER (WHERE w.created) AS created,
             jsonb_agg(jsonb_build_object('item', i.ord, 'source_id', i.source_id,
                                          'result', CASE WHEN w.created THEN 'created' ELSE 'amended' END,
                                          'measurement_id', w.measurement_id, 'status', w.status, 'score', w.score,
                                          'risk', w.risk) ORDER BY i.ord) AS report
      FROM input i LEFT JOIN written w ON w.source_system = i.source_system AND w.source_id = i.key
      GROUP BY i.b) r \gset
SELECT clock_timestamp() AS u1 \gset
WITH input AS (
    SELECT sb.b, x.*, x.ordinality AS ord, x.source_id || '-u' AS key
    FROM bench.services_batch sb, ROWS FROM (jsonb_to_recordset(sb.items) AS (pid text, service_code text,
         status text, vedtak_date date, period_start date, weekly_hours numeric, unit_name text, source_system text,
         source_id text)) WITH ORDINALITY AS x
    WHERE sb.b <= :half),
written AS (
    INSERT INTO deling.municipal_service AS m (kommune_nr, pid, service_code, status, vedtak_date, period_start, weekly_hours,
                                               unit_name, source_system, source_id)
    SELECT '1804', pid, service_code, status, vedtak_date, period_start, weekly_hours, unit_name, source_system, key
    FROM input
    ON CONFLICT (kommune_nr, source_system, source_id) DO UPDATE SET
        pid = excluded.pid, service_code = excluded.service_code, status = excluded.status,
        vedtak_date = excluded.vedtak_date, period_start = excluded.period_start, weekly_hours = excluded.weekly_hours,
        unit_name = excluded.unit_name, version = m.version + 1
    WHERE (m.pid, m.service_code, m.status, m.vedtak_date, m.period_start, m.weekly_hours, m.unit_name)
          IS DISTINCT FROM (excluded.pid, excluded.service_code, excluded.status, excluded.vedtak_date,
                            excluded.period_start, excluded.weekly_hours, excluded.unit_name)
    RETURNING m.source_system, m.source_id, m.service_id, m.xmax = 0 AS created, m.status, m.version)
SELECT sum(created) AS services_upserted, sum(length(report::text)) > 0 AS services_reported
FROM (SELECT count(*) FILTER (WHERE w.created) AS created,
             jsonb_agg(jsonb_build_object('item', i.ord, 'source_id', i.source_id,
                                          'result', CASE WHEN w.created THEN 'created' ELSE 'amended' END,
                                          'service_id', w.service_id, 'status', w.status, 'version', w.version)
                       ORDER BY i.ord) AS report
      FROM input i LEFT JOIN written w ON w.source_system = i.source_system AND w.source_id = i.key
      GROUP BY i.b) r \gset
SELECT clock_timestamp() AS u2 \gset

SELECT :news2_created = (:batches - :half) * :batch AND :services_created = (:batches - :half) * :batch AS all_created \gset
\if :all_created
\else
SELECT bench.fail('the batch APIs did not create every item');
\endif
SELECT :news2_upserted = :half * :batch AND :services_upserted = :half * :batch AND :'news2_reported'::boolean AND :'services_reported'::boolean AS all_upserted \gset
\if :all_upserted
\else
SELECT bench.fail('the contract''s floor did not create and report every item');
\endif
WITH t AS (
    SELECT :half * :batch AS floor_rows, (:batches - :half) * :batch AS api_rows,
           extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz) AS news2_api,
           extract(epoch FROM :'t2'::timestamptz - :'t1'::timestamptz) AS services_api,
           extract(epoch FROM :'f1'::timestamptz - :'f0'::timestamptz) AS news2_floor,
           extract(epoch FROM :'f2'::timestamptz - :'f1'::timestamptz) AS services_floor,
           extract(epoch FROM :'u1'::timestamptz - :'u0'::timestamptz) AS news2_contract,
           extract(epoch FROM :'u2'::timestamptz - :'u1'::timestamptz) AS services_contract)
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met)
SELECT 'ingest', format('NEWS2 direct INSERT by the DBA (floor), %s rows', floor_rows), round(floor_rows / news2_floor), 'rows/s',
       NULL, NULL, NULL, NULL FROM t
UNION ALL
SELECT 'ingest', format('NEWS2 batch API, %s batches of %s, Bodø EPJ (RLS)', :batches - :half, :batch), round(api_rows / news2_api), 'rows/s',
       'direct INSERT', round((api_rows / news2_api) / (floor_rows / news2_floor), 2), '>= 0.8 x direct INSERT',
       (api_rows / news2_api) >= 0.8 * (floor_rows / news2_floor) FROM t
UNION ALL
SELECT 'ingest', format('services direct INSERT by the DBA (floor), %s rows', floor_rows), round(floor_rows / services_floor), 'rows/s',
       NULL, NULL, NULL, NULL FROM t
UNION ALL
SELECT 'ingest', format('services batch API, %s batches of %s, Bodø EPJ (RLS)', :batches - :half, :batch), round(api_rows / services_api), 'rows/s',
       'direct INSERT', round((api_rows / services_api) / (floor_rows / services_floor), 2), '>= 0.8 x direct INSERT',
       (api_rows / services_api) >= 0.8 * (floor_rows / services_floor) FROM t
UNION ALL
SELECT 'ingest', format('NEWS2 upsert on the source key with the per-item report, by the DBA (the contract''s floor, no checks), %s rows', floor_rows),
       round(floor_rows / news2_contract), 'rows/s', 'direct INSERT', round(news2_floor / news2_contract, 2),
       '>= 0.8 x direct INSERT, or the NEWS2 batch API''s goal is out of reach', news2_floor / news2_contract >= 0.8 FROM t
UNION ALL
SELECT 'ingest', format('services upsert on the source key with the per-item report, by the DBA (the contract''s floor, no checks), %s rows', floor_rows),
       round(floor_rows / services_contract), 'rows/s', 'direct INSERT', round(services_floor / services_contract, 2),
       '>= 0.8 x direct INSERT, or the services batch API''s goal is out of reach', services_floor / services_contract >= 0.8 FROM t;
