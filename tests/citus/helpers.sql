-- The Citus suite's helpers (tests/citus/run.sh), on the single node and on
-- the coordinator alike, after the security suite's platform
-- (tests/security/setup.sql): what two answers are compared as, and what
-- the answer files read.  A helper that reads a distributed table with a
-- parameter is PL/pgSQL: Citus cannot plan a LANGUAGE sql one.
SET client_min_messages = warning;
CREATE SCHEMA ct;
GRANT USAGE ON SCHEMA ct TO PUBLIC;

-- norm(answer): an answer as it is compared between the two deployments:
-- every UUID replaced by its place among the answer's UUIDs (the ids of a
-- Bundle, an OperationOutcome, a record ingested on each side are drawn at
-- random), the instants that say when it was made or when a record was
-- received replaced by a star
CREATE FUNCTION ct.norm(answer text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
DECLARE
    result text := answer;
    u text;
    n integer := 0;
BEGIN
    IF result IS NULL THEN
        RETURN 'NULL';
    END IF;
    FOR u IN SELECT m[1] FROM regexp_matches(answer, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'g')
                              WITH ORDINALITY AS x(m, o)
             GROUP BY m[1] ORDER BY min(o) LOOP
        n := n + 1;
        result := replace(result, u, 'uuid-' || n);
    END LOOP;
    result := regexp_replace(result, '"(timestamp|lastUpdated|issued|recorded|from|to|time|logged_at|appended_at|received_at|sent_at|built_at|state_at|registered_at|started_at)": "[^"]*"',
                             '"\1": "*"', 'g');
    result := regexp_replace(result, '(notifikasjonTid|hendelseRegTid|meldingsDato|opprettetTid)="[^"]*"', '\1="*"', 'g');
    RETURN result;
END
$$;

-- answer(sql): a query's one value as the caller, normalised, or its error
-- (SQLSTATE and message)
CREATE FUNCTION ct.answer(sql text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    v text;
BEGIN
    EXECUTE sql INTO v;
    RETURN ct.norm(v);
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE || ': ' || ct.norm(SQLERRM);
END
$$;

-- sample(): citizens to read: in each kommune the first and the last,
-- and every person registered in more than one kommune
CREATE FUNCTION ct.sample() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT pid FROM (
        SELECT min(c.pid) AS pid FROM deling.citizen c GROUP BY c.kommune_nr
        UNION SELECT max(c.pid) FROM deling.citizen c GROUP BY c.kommune_nr
        UNION SELECT c.pid FROM deling.citizen c GROUP BY c.pid HAVING count(*) > 1) x
    ORDER BY 1;
$$;

-- sec.pid as PL/pgSQL: the security suite's LANGUAGE sql helper reads a
-- distributed table with a parameter, which Citus cannot plan
CREATE OR REPLACE FUNCTION sec.pid(kommune text, n integer DEFAULT 0) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN (SELECT c.pid FROM deling.citizen c WHERE c.kommune_nr = kommune ORDER BY c.pid OFFSET n LIMIT 1);
END
$$;

-- KPR's message holds the synthetic (test) persons
ALTER DATABASE platform SET deling.kpr_test_mode = on;

-- count_functions: the declared services' count functions
CREATE FUNCTION ct.count_functions() RETURNS TABLE (fn text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.declaration->'read'->>'count_function' FROM deling.service s
    WHERE s.declaration->'read' ? 'count_function' ORDER BY 1;
$$;

-- measurements(pid): a citizen's NEWS2 measurements, newest first
CREATE FUNCTION ct.measurements(pid text) RETURNS TABLE (measured_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN QUERY SELECT m.measured_at FROM deling.news2_measurement m WHERE m.pid = measurements.pid
                 ORDER BY 1 DESC, m.measurement_id;
END
$$;

-- blocks_of(pid): a citizen's active blocks
CREATE FUNCTION ct.blocks_of(pid text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('block_id', b.block_id, 'kommune_nr', b.kommune_nr) ORDER BY b.kommune_nr), '[]')
            FROM deling.citizen_block b WHERE b.pid = blocks_of.pid AND b.revoked_at IS NULL);
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ct TO PUBLIC;


-- synthetic_items(service, kommune, pids, seed): a declared service's
-- synthetic ingest items (its declaration's generator) for these persons,
-- or NULL for a service without a generator
CREATE FUNCTION ct.synthetic_items(service text, kommune text, pids text[], seed integer) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    generator text := (SELECT s.declaration->>'synthetic' FROM deling.service s WHERE s.service_code = service);
    items jsonb;
BEGIN
    IF generator IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT %s($1, $2, $3)', generator) INTO items USING kommune, pids, seed;
    RETURN items;
END
$$;
GRANT EXECUTE ON FUNCTION ct.synthetic_items(text, text, text[], integer) TO PUBLIC;
