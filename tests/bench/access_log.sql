-- Cost of the durable access log per read: a read of a citizen's NEWS2
-- (gate, FHIR Bundle of 5 measurements, one flushed log entry) against the
-- log entry alone, and a bare flushed logical WAL message as the floor.
-- psql -v reads=N -f tests/bench/access_log.sql (in a database with deling, after news2_scoring.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DO $$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN deling.access_log_ready(); PERFORM pg_sleep(0.1); END LOOP; END $$;
SELECT deling.generate_synthetic(100, 3) IS NOT NULL AS data;
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', deling.synthetic_fnr('1938-03-14', 0)) ON CONFLICT DO NOTHING;
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
SELECT '3201', deling.synthetic_fnr('1938-03-14', 0), now() - i * interval '4 hours', 14 + i % 10, 95, false, 120, 80, 'A', 37.4, 'bench', 'b' || i
FROM generate_series(1, 5) i ON CONFLICT DO NOTHING;
CREATE ROLE bench_epj LOGIN IN ROLE deling_integrasjon;
SELECT deling.bind_integration('bench_epj', '3201');
CREATE SCHEMA IF NOT EXISTS bench;
GRANT USAGE ON SCHEMA bench TO PUBLIC;

CREATE FUNCTION bench.best_us(q text, n integer) RETURNS numeric LANGUAGE plpgsql AS $$
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
GRANT EXECUTE ON FUNCTION bench.best_us(text, integer) TO PUBLIC;

SET SESSION AUTHORIZATION bench_epj;
CREATE TEMP TABLE r AS
SELECT 'NEWS2 read (gate + Bundle + log entry)' AS what, 1 AS o,
       bench.best_us($$SELECT api.news2_observations('14833800095')$$, :reads) AS us_per_call;
RESET SESSION AUTHORIZATION;
INSERT INTO r SELECT 'log entry alone (emit + WAL flush)', 3,
       bench.best_us($$SELECT deling.access_log_emit('{"service": "bench", "kommuner": []}')$$, :reads);
INSERT INTO r SELECT 'plain WAL flush of a logical message (floor)', 4,
       bench.best_us($$SELECT pg_logical_emit_message(false, 'bench', 'x')$$, :reads);
SELECT what, :reads AS calls, us_per_call,
       round(us_per_call / (SELECT us_per_call FROM r WHERE o = 1), 2) AS share_of_read
FROM r ORDER BY o;
