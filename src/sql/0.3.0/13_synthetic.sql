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
