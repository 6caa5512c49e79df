-- ---------------------------------------------------------------------------
-- 80 synthetic records: deterministic municipal services and NEWS2
-- measurements for the synthetic citizens (50_synthetic), at any scale up to
-- a national benchmark (3 million services, 10 million measurements).
-- Written directly, as the DBA, in two set-based statements; the values
-- come from hashes of the row number, so the same citizens always get the
-- same clinical values.
-- ---------------------------------------------------------------------------

-- synthetic_hash: a deterministic non-negative integer below n for row i
-- and stream k.
CREATE FUNCTION deling.synthetic_hash(i bigint, k integer, n integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ((hashint8extended(i, k) & 2147483647) % n)::integer;
$$;

CREATE FUNCTION deling.generate_synthetic_records(services bigint, measurements bigint) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- weighted towards what kommuner report most: home nursing (15) and
    -- practical assistance (1); institution stays carry a stay type
    codes CONSTANT text[] := ARRAY['15', '15', '15', '15', '1', '1', '1', '5', '4', '29', '9', '7', '11', '17',
                                   '18', '19', '20', '21', '21', '22', '25', '2', '3', '8'];
    citizens bigint;
    added_services bigint;
    added_measurements bigint;
BEGIN
    IF services < 0 OR services > 50000000 OR measurements < 0 OR measurements > 100000000 THEN
        RAISE EXCEPTION 'services must be between 0 and 50000000 and measurements between 0 and 100000000'
            USING ERRCODE = '22023';
    END IF;
    SELECT count(*) INTO citizens FROM deling.citizen;
    IF citizens = 0 AND services + measurements > 0 THEN
        RAISE EXCEPTION 'no citizens to give records to' USING ERRCODE = '55000',
            HINT = 'Run deling.generate_synthetic(citizens, kommuner) first.';
    END IF;
    IF EXISTS (SELECT FROM deling.municipal_service WHERE source_system = 'synthetic')
       OR EXISTS (SELECT FROM deling.news2_measurement WHERE source_system = 'synthetic') THEN
        RAISE EXCEPTION 'synthetic records have already been generated in this database' USING ERRCODE = '55000',
            HINT = 'Generate them once, into a fresh database (they are not meant to be added to).';
    END IF;
    -- the citizens numbered 0..citizens-1; row i (from 1) belongs to citizen (i - 1) % citizens
    CREATE TEMP TABLE pg_temp.synthetic_citizen ON COMMIT DROP AS
        SELECT (row_number() OVER (ORDER BY c.kommune_nr, c.pid) - 1) AS n, c.kommune_nr::text AS kommune_nr, c.pid::text AS pid
        FROM deling.citizen c;
    ANALYZE pg_temp.synthetic_citizen;

    -- services: about services/citizens per citizen; 80 % current, the rest ended, on hold,
    -- granted for later or applied
    INSERT INTO deling.municipal_service (kommune_nr, pid, service_code, status, vedtak_date, period_start,
                                          period_end, stops, weekly_hours, stay_type, unit_name, source_system, source_id)
    SELECT c.kommune_nr, c.pid, code,
           CASE WHEN st < 80 THEN 'active' WHEN st < 90 THEN 'ended' WHEN st < 95 THEN 'on-hold'
                WHEN st < 98 THEN 'granted' ELSE 'applied' END,
           start - 14, CASE WHEN st BETWEEN 95 AND 97 THEN current_date + 30 ELSE start END,
           CASE WHEN st BETWEEN 80 AND 89 THEN start + 30 + deling.synthetic_hash(i, 3, 300) END,
           CASE WHEN st BETWEEN 90 AND 94 THEN ARRAY[daterange(current_date - 10, NULL, '[]')] ELSE '{}' END,
           CASE WHEN code IN ('1', '2', '3', '15', '7', '9') THEN round((1 + deling.synthetic_hash(i, 4, 80)) / 2.0, 1) END,
           CASE code WHEN '17' THEN 'dagopphold' WHEN '22' THEN 'nattopphold' WHEN '21' THEN 'langtidsopphold'
                     WHEN '18' THEN 'korttidsopphold' WHEN '19' THEN 'korttidsopphold'
                     WHEN '20' THEN 'korttidsopphold' WHEN '25' THEN 'korttidsopphold' END,
           'Hjemmetjenesten sone ' || (1 + deling.synthetic_hash(i, 5, 9)), 'synthetic', 's' || i
    FROM pg_temp.synthetic_citizen c, generate_series(0, services / citizens) q,
         LATERAL (SELECT q * citizens + c.n + 1 AS i) r,
         LATERAL (SELECT codes[1 + deling.synthetic_hash(i, 1, array_length(codes, 1))] AS code,
                         deling.synthetic_hash(i, 2, 100) AS st,
                         current_date - 60 - deling.synthetic_hash(i, 6, 3000) AS start) s
    WHERE i <= services
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added_services = ROW_COUNT;

    -- NEWS2: about measurements/citizens per citizen, one every six hours
    -- or so backwards from now, values spread over every band of the chart
    INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, spo2_scale, on_oxygen,
                                          oxygen_flow, systolic_bp, pulse, consciousness, temperature, recorded_by,
                                          unit_name, source_system, source_id)
    SELECT c.kommune_nr, c.pid, now() - (q * 6 + deling.synthetic_hash(i, 7, 6)) * interval '1 hour',
           8 + deling.synthetic_hash(i, 8, 20), 85 + deling.synthetic_hash(i, 9, 15),
           1 + (deling.synthetic_hash(i, 10, 10) = 0)::int, o2, CASE WHEN o2 THEN 1 + deling.synthetic_hash(i, 11, 4) END,
           85 + deling.synthetic_hash(i, 12, 140), 38 + deling.synthetic_hash(i, 13, 100),
           (ARRAY['A', 'A', 'A', 'A', 'A', 'A', 'C', 'V', 'P', 'U'])[1 + deling.synthetic_hash(i, 14, 10)],
           round((345 + deling.synthetic_hash(i, 15, 60))::numeric / 10, 1),
           NULL, 'Hjemmetjenesten', 'synthetic', 'm' || i
    FROM pg_temp.synthetic_citizen c, generate_series(0, measurements / citizens) q,
         LATERAL (SELECT q * citizens + c.n + 1 AS i) r,
         LATERAL (SELECT deling.synthetic_hash(i, 16, 5) = 0 AS o2) s
    WHERE i <= measurements
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added_measurements = ROW_COUNT;
    DROP TABLE pg_temp.synthetic_citizen;
    RETURN jsonb_build_object('services_added', added_services, 'measurements_added', added_measurements);
END
$$;
COMMENT ON FUNCTION deling.generate_synthetic_records(bigint, bigint) IS
    'DBA/benchmarks: deterministic municipal services and NEWS2 measurements spread over the synthetic citizens (up to 50M / 100M)';
