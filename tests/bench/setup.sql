-- Benchmark set-up: the extension, the results table every benchmark writes
-- to, and the synthetic national data set loaded with the project's own
-- generator (timed: the load itself is one of the results).
-- psql -v citizens=N -v kommuner=K -v services=S -v measurements=M -f tests/bench/setup.sql
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS deling;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO PUBLIC;

-- one row per measured number; ratio = value / baseline (both measured in this run)
CREATE TABLE bench.result (
    o        serial,
    area     text NOT NULL,
    measure  text NOT NULL,
    value    numeric NOT NULL,
    unit     text NOT NULL,
    baseline text,
    ratio    numeric,
    goal     text,
    met      boolean
);
GRANT SELECT, INSERT ON bench.result TO PUBLIC;
GRANT USAGE ON SEQUENCE bench.result_o_seq TO PUBLIC;

-- fail(message): stop the benchmark; a check of its results did not hold
CREATE FUNCTION bench.fail(message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'BENCH FAILED: %', message;
END
$$;
GRANT EXECUTE ON FUNCTION bench.fail(text) TO PUBLIC;

-- best_ms(q, runs): the best wall time of running q, in ms
CREATE FUNCTION bench.best_ms(q text, runs int DEFAULT 5) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best numeric;
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best, 2);
END
$$;

-- per_call_us(q, n): the best of three of running q n times, µs per run
CREATE FUNCTION bench.per_call_us(q text, n integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best numeric;
BEGIN
    FOR r IN 1..3 LOOP
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP
            EXECUTE q;
        END LOOP;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n);
    END LOOP;
    RETURN round(best, 1);
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bench TO PUBLIC;

-- the load, timed
SELECT clock_timestamp() AS t0 \gset
SELECT deling.generate_synthetic(:citizens, :kommuner) AS citizens_loaded;
SELECT clock_timestamp() AS t1 \gset
SELECT deling.generate_synthetic_records(:services, :measurements) AS records_loaded;
SELECT clock_timestamp() AS t2 \gset
VACUUM ANALYZE;
SELECT clock_timestamp() AS t3 \gset
-- the load's pages written out now, not by a checkpoint during the benchmarks
CHECKPOINT;
INSERT INTO bench.result (area, measure, value, unit, goal, met)
SELECT 'load', format('%s citizens, %s services, %s NEWS2 over %s kommuner (generator + VACUUM ANALYZE)',
                      :citizens, :services, :measurements, :kommuner),
       round(extract(epoch FROM :'t3'::timestamptz - :'t0'::timestamptz) / 60, 1), 'min',
       '< 15 min at full scale', extract(epoch FROM :'t3'::timestamptz - :'t0'::timestamptz) < 900;
INSERT INTO bench.result (area, measure, value, unit)
VALUES ('load', 'of which citizens', round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz)::numeric, 1), 's'),
       ('load', 'of which services and NEWS2 (one statement each)', round(extract(epoch FROM :'t2'::timestamptz - :'t1'::timestamptz)::numeric, 1), 's'),
       ('load', 'database size after load', round(pg_database_size(current_database()) / 1024.0 ^ 3, 2), 'GiB');

-- the benchmark's callers: an EPJ integration for Bodø (direct SQL), and a
-- legevakt doctor at Bodø legevakt (PostgREST, token signed with a key the
-- DBA trusts; bench.sh mints it)
DO $$ BEGIN   -- roles outlive a database: a rerun in a kept cluster finds it
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_epj') THEN
        CREATE ROLE bench_epj LOGIN IN ROLE deling_integrasjon;
    END IF;
END $$;
SELECT deling.bind_integration('bench_epj', '1804');
ALTER ROLE deling_authenticator PASSWORD 'bench';

-- the citizens a Bodø legevakt lookup picks from (the kommuner it reaches)
CREATE TABLE bench.lookup AS
SELECT row_number() OVER (ORDER BY c.kommune_nr, c.pid) AS n, c.kommune_nr::text AS kommune_nr, c.pid::text AS pid
FROM deling.citizen c
WHERE c.kommune_nr IN (SELECT r.kommune_nr FROM deling.organisation_reach r
                       JOIN deling.organisation o USING (orgnr) WHERE o.name = 'Bodø legevakt');
CREATE UNIQUE INDEX ON bench.lookup (n);
GRANT SELECT ON bench.lookup TO PUBLIC;
