-- NEWS2 scoring of stored rows, single process: the C function against the
-- same chart in PL/pgSQL and as one inlinable SQL CASE expression, and a
-- plain scan reading the same columns (the physical floor).  All variants
-- must agree on every row before any time is reported.
-- psql -v rows=N -f tests/bench/news2_scoring.sql (in a database with deling)
\set ON_ERROR_STOP 1
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

-- deterministic rows spread over every band
SELECT setseed(0.42);
CREATE TABLE bench.m AS
SELECT (4 + random() * 30)::int AS resp_rate, (80 + random() * 20)::int AS spo2, 1 + (random() < 0.1)::int AS spo2_scale,
       random() < 0.2 AS on_oxygen, (80 + random() * 160)::int AS systolic_bp, (35 + random() * 110)::int AS pulse,
       (ARRAY['A', 'A', 'A', 'A', 'C', 'V', 'P', 'U'])[1 + (random() * 7)::int] AS consciousness,
       round((34 + random() * 7)::numeric, 1) AS temperature
FROM generate_series(1, :rows);
VACUUM ANALYZE bench.m;

CREATE FUNCTION bench.news2_plpgsql(rr int, s int, scale int, o2 boolean, bp int, hr int, c text, t numeric)
RETURNS int LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    total int := 0;
BEGIN
    total := total + CASE WHEN rr <= 8 THEN 3 WHEN rr <= 11 THEN 1 WHEN rr <= 20 THEN 0 WHEN rr <= 24 THEN 2 ELSE 3 END;
    IF scale = 1 THEN
        total := total + CASE WHEN s <= 91 THEN 3 WHEN s <= 93 THEN 2 WHEN s <= 95 THEN 1 ELSE 0 END;
    ELSIF s <= 92 OR NOT o2 THEN
        total := total + CASE WHEN s <= 83 THEN 3 WHEN s <= 85 THEN 2 WHEN s <= 87 THEN 1 ELSE 0 END;
    ELSE
        total := total + CASE WHEN s <= 94 THEN 1 WHEN s <= 96 THEN 2 ELSE 3 END;
    END IF;
    IF o2 THEN total := total + 2; END IF;
    total := total + CASE WHEN bp <= 90 THEN 3 WHEN bp <= 100 THEN 2 WHEN bp <= 110 THEN 1 WHEN bp <= 219 THEN 0 ELSE 3 END;
    total := total + CASE WHEN hr <= 40 THEN 3 WHEN hr <= 50 THEN 1 WHEN hr <= 90 THEN 0 WHEN hr <= 110 THEN 1
                          WHEN hr <= 130 THEN 2 ELSE 3 END;
    IF upper(c) <> 'A' THEN total := total + 3; END IF;
    total := total + CASE WHEN t <= 35.0 THEN 3 WHEN t <= 36.0 THEN 1 WHEN t <= 38.0 THEN 0 WHEN t <= 39.0 THEN 1 ELSE 2 END;
    RETURN total;
END
$$;

CREATE FUNCTION bench.news2_sql(rr int, s int, scale int, o2 boolean, bp int, hr int, c text, t numeric)
RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN rr <= 8 THEN 3 WHEN rr <= 11 THEN 1 WHEN rr <= 20 THEN 0 WHEN rr <= 24 THEN 2 ELSE 3 END
         + CASE WHEN scale = 1 THEN CASE WHEN s <= 91 THEN 3 WHEN s <= 93 THEN 2 WHEN s <= 95 THEN 1 ELSE 0 END
                WHEN s <= 92 OR NOT o2 THEN CASE WHEN s <= 83 THEN 3 WHEN s <= 85 THEN 2 WHEN s <= 87 THEN 1 ELSE 0 END
                ELSE CASE WHEN s <= 94 THEN 1 WHEN s <= 96 THEN 2 ELSE 3 END END
         + CASE WHEN o2 THEN 2 ELSE 0 END
         + CASE WHEN bp <= 90 THEN 3 WHEN bp <= 100 THEN 2 WHEN bp <= 110 THEN 1 WHEN bp <= 219 THEN 0 ELSE 3 END
         + CASE WHEN hr <= 40 THEN 3 WHEN hr <= 50 THEN 1 WHEN hr <= 90 THEN 0 WHEN hr <= 110 THEN 1
                WHEN hr <= 130 THEN 2 ELSE 3 END
         + CASE WHEN upper(c) = 'A' THEN 0 ELSE 3 END
         + CASE WHEN t <= 35.0 THEN 3 WHEN t <= 36.0 THEN 1 WHEN t <= 38.0 THEN 0 WHEN t <= 39.0 THEN 1 ELSE 2 END
$$;

-- correctness first: every row scores the same three ways
SELECT count(*) AS disagreements FROM bench.m
WHERE deling.news2_score(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)
      <> bench.news2_sql(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)
   OR deling.news2_score(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)
      <> bench.news2_plpgsql(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature) \gset
\if :disagreements
\echo 'BENCH FAILED: the variants disagree on' :disagreements 'rows'
\quit
\endif

-- best of 5 runs of each query, in ms
CREATE FUNCTION bench.best_ms(q text, runs int DEFAULT 5) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best numeric;
    ms numeric;
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
        best := least(best, ms);
    END LOOP;
    RETURN round(best, 1);
END
$$;

WITH r AS (
    SELECT 'plain scan of the same columns' AS variant, 1 AS o, bench.best_ms($$SELECT sum(resp_rate + spo2 + spo2_scale + systolic_bp + pulse + on_oxygen::int), count(consciousness), count(temperature) FROM bench.m$$) AS ms
    UNION ALL SELECT 'C: deling.news2_score', 2, bench.best_ms($$SELECT sum(deling.news2_score(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)) FROM bench.m$$)
    UNION ALL SELECT 'SQL CASE (inlined)', 3, bench.best_ms($$SELECT sum(bench.news2_sql(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)) FROM bench.m$$)
    UNION ALL SELECT 'PL/pgSQL', 4, bench.best_ms($$SELECT sum(bench.news2_plpgsql(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)) FROM bench.m$$, 3))
SELECT variant, :rows AS rows, ms,
       round(ms / (SELECT ms FROM r WHERE o = 1), 2) AS x_plain_scan,
       round(ms / (SELECT ms FROM r WHERE o = 2), 2) AS x_c,
       round(:rows / ms * 1000) AS rows_per_s
FROM r ORDER BY o;
DROP SCHEMA bench CASCADE;
