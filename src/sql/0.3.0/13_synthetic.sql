-- ---------------------------------------------------------------------------
-- 13 synthetic records of every declared service: a declaration may name
-- "synthetic": a function (kommune_nr text, pids text[], seed integer)
-- returning a JSON array of valid ingest items for those citizens.  The
-- DBA's deling.generate_synthetic_services writes them through the
-- service's own generated ingest, as the kommune's integration would, so
-- the demo, the test suites and the benchmarks get every service's data
-- without naming the services.
-- ---------------------------------------------------------------------------

-- generate_synthetic_services: for each declared service with a synthetic
-- generator (or only those named), for each kommune that enabled it, the
-- generator's items for up to citizens citizens of the kommune, ingested in
-- batches of 500 citizens under a transaction-local integration context
-- of that kommune (for the session user: a context holds only for the
-- session user it was made for); returns the items written per service.
-- Run by a superuser, not as deling_owner (SECURITY DEFINER): the ingest
-- writes the service's tables, whose forced row-level security lets
-- deling_owner read them but not write them.
CREATE FUNCTION deling.generate_synthetic_services(services text[] DEFAULT NULL, citizens integer DEFAULT NULL,
                                                   seed integer DEFAULT 1) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k text;
    pids text[];
    items jsonb;
    written bigint;
    result jsonb := '{}';
    unknown text;
BEGIN
    IF citizens IS NOT NULL AND citizens < 0 THEN
        RAISE EXCEPTION 'citizens must be at least 0, not %', citizens USING ERRCODE = '22023';
    END IF;
    unknown := (SELECT string_agg(x, ', ') FROM unnest(services) x
                WHERE NOT EXISTS (SELECT FROM deling.service v WHERE v.service_code = x AND v.declaration ? 'synthetic'));
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'no synthetic generator is declared for: %', deling.clip(unknown, 200) USING ERRCODE = '22023';
    END IF;
    FOR s IN SELECT v.service_code, v.declaration->>'synthetic' AS generator,
                    format('deling.%I', deling.service_vars(v.declaration)->>'items_fn') AS items_fn
             FROM deling.service v
             WHERE v.declaration ? 'synthetic' AND (services IS NULL OR v.service_code = ANY (services))
             ORDER BY v.service_code
    LOOP
        written := 0;
        FOR k IN SELECT ks.kommune_nr::text FROM deling.kommune_service ks JOIN deling.kommune x USING (kommune_nr)
                 WHERE ks.service_code = s.service_code AND x.active ORDER BY 1
        LOOP
            PERFORM deling.apply_context(jsonb_build_object('kind', 'integration', 'role', 'deling_integrasjon',
                                                            'kommune_nr', k, 'client_id', 'synthetic',
                                                            'session_user', session_user), true);
            FOR pids IN
                SELECT array_agg(c.pid::text ORDER BY c.pid)
                FROM (SELECT c.pid, (row_number() OVER (ORDER BY c.pid) - 1) / 500 AS batch
                      FROM deling.citizen c WHERE c.kommune_nr = k
                      ORDER BY c.pid LIMIT citizens) c
                GROUP BY c.batch ORDER BY c.batch
            LOOP
                EXECUTE format('SELECT %s($1, $2, $3)', s.generator) INTO items USING k, pids, seed;
                IF jsonb_array_length(items) > 0 THEN
                    EXECUTE format('SELECT %s($1)', s.items_fn) USING items;
                    written := written + jsonb_array_length(items);
                END IF;
            END LOOP;
            PERFORM deling.apply_context('{}', true);
        END LOOP;
        result := result || jsonb_build_object(s.service_code, written);
    END LOOP;
    RETURN result;
END
$$;
COMMENT ON FUNCTION deling.generate_synthetic_services(text[], integer, integer) IS
    'DBA, demo and tests: write each declared service''s synthetic items (its "synthetic" generator) for the kommuner that enabled it, through its ingest; returns the items written per service';

-- generate_synthetic_records: 0.1.0's, with its hash written inline.
-- deling.synthetic_hash is an SQL function that pins search_path, so it is
-- never inlined, and each of its 16 calls per row started an executor: at
-- national scale (13 million rows) that was most of the load's time.  The
-- same expression, so the same records.
CREATE OR REPLACE FUNCTION deling.generate_synthetic_records(services bigint, measurements bigint) RETURNS jsonb
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
           CASE WHEN st BETWEEN 80 AND 89 THEN start + 30 + ((hashint8extended(i, 3) & 2147483647) % 300)::integer END,
           CASE WHEN st BETWEEN 90 AND 94 THEN ARRAY[daterange(current_date - 10, NULL, '[]')] ELSE '{}' END,
           CASE WHEN code IN ('1', '2', '3', '15', '7', '9') THEN round((1 + ((hashint8extended(i, 4) & 2147483647) % 80)::integer) / 2.0, 1) END,
           CASE code WHEN '17' THEN 'dagopphold' WHEN '22' THEN 'nattopphold' WHEN '21' THEN 'langtidsopphold'
                     WHEN '18' THEN 'korttidsopphold' WHEN '19' THEN 'korttidsopphold'
                     WHEN '20' THEN 'korttidsopphold' WHEN '25' THEN 'korttidsopphold' END,
           'Hjemmetjenesten sone ' || (1 + ((hashint8extended(i, 5) & 2147483647) % 9)::integer), 'synthetic', 's' || i
    FROM pg_temp.synthetic_citizen c, generate_series(0, services / citizens) q,
         LATERAL (SELECT q * citizens + c.n + 1 AS i) r,
         LATERAL (SELECT codes[1 + ((hashint8extended(i, 1) & 2147483647) % array_length(codes, 1))::integer] AS code,
                         ((hashint8extended(i, 2) & 2147483647) % 100)::integer AS st,
                         current_date - 60 - ((hashint8extended(i, 6) & 2147483647) % 3000)::integer AS start) s
    WHERE i <= services
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added_services = ROW_COUNT;

    -- NEWS2: about measurements/citizens per citizen, one every six hours
    -- or so backwards from now, values spread over every band of the chart
    INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, spo2_scale, on_oxygen,
                                          oxygen_flow, systolic_bp, pulse, consciousness, temperature, recorded_by,
                                          unit_name, source_system, source_id)
    SELECT c.kommune_nr, c.pid, now() - (q * 6 + ((hashint8extended(i, 7) & 2147483647) % 6)::integer) * interval '1 hour',
           8 + ((hashint8extended(i, 8) & 2147483647) % 20)::integer, 85 + ((hashint8extended(i, 9) & 2147483647) % 15)::integer,
           1 + (((hashint8extended(i, 10) & 2147483647) % 10)::integer = 0)::int, o2, CASE WHEN o2 THEN 1 + ((hashint8extended(i, 11) & 2147483647) % 4)::integer END,
           85 + ((hashint8extended(i, 12) & 2147483647) % 140)::integer, 38 + ((hashint8extended(i, 13) & 2147483647) % 100)::integer,
           (ARRAY['A', 'A', 'A', 'A', 'A', 'A', 'C', 'V', 'P', 'U'])[1 + ((hashint8extended(i, 14) & 2147483647) % 10)::integer],
           round((345 + ((hashint8extended(i, 15) & 2147483647) % 60)::integer)::numeric / 10, 1),
           NULL, 'Hjemmetjenesten', 'synthetic', 'm' || i
    FROM pg_temp.synthetic_citizen c, generate_series(0, measurements / citizens) q,
         LATERAL (SELECT q * citizens + c.n + 1 AS i) r,
         LATERAL (SELECT ((hashint8extended(i, 16) & 2147483647) % 5)::integer = 0 AS o2) s
    WHERE i <= measurements
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added_measurements = ROW_COUNT;
    DROP TABLE pg_temp.synthetic_citizen;
    RETURN jsonb_build_object('services_added', added_services, 'measurements_added', added_measurements);
END
$$;
