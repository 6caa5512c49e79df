-- Tenant isolation cost: the same per-citizen lookup (a Bodø citizen's
-- services and latest five NEWS2) by the Bodø EPJ integration, under the
-- forced row-level security policies, against the DBA, whom RLS does not
-- apply to.  The two must return the same rows.
-- psql -v lookups=N -f tests/bench/rls.sql (as the DBA, after setup.sql)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- lookups(n): n lookups of deterministic Bodø citizens; a checksum of what they read
CREATE FUNCTION bench.lookups(n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
    p text;
    total bigint := 0;
    k bigint;
BEGIN
    SELECT min(l.n), max(l.n) INTO lo, hi FROM bench.lookup l WHERE l.kommune_nr = '1804';
    FOR i IN 1..n LOOP
        SELECT l.pid INTO p FROM bench.lookup l WHERE l.n = lo + (i::bigint * 7919) % (hi - lo + 1);
        SELECT count(*) INTO k FROM deling.municipal_service s
            WHERE s.kommune_nr = '1804' AND s.pid = p AND s.status IN ('active', 'on-hold', 'granted');
        total := total + k;
        SELECT coalesce(sum(x.score), 0) INTO k FROM (
            SELECT m.score FROM deling.news2_measurement m WHERE m.kommune_nr = '1804' AND m.pid = p
            ORDER BY m.measured_at DESC LIMIT 5) x;
        total := total + k;
    END LOOP;
    RETURN total;
END
$$;
GRANT EXECUTE ON FUNCTION bench.lookups(integer) TO PUBLIC;

SELECT bench.lookups(:lookups) AS as_dba \gset
SET SESSION AUTHORIZATION bench_epj;
SELECT bench.lookups(:lookups) AS as_epj \gset
RESET SESSION AUTHORIZATION;
SELECT :as_dba = :as_epj AS same_rows \gset
\if :same_rows
\else
SELECT bench_failed('RLS and no RLS read different rows');
\endif

SELECT bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups AS no_rls \gset
SET SESSION AUTHORIZATION bench_epj;
SELECT bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups AS rls \gset
RESET SESSION AUTHORIZATION;
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
    ('tenant isolation', 'per-citizen lookup (services + latest 5 NEWS2), no RLS (DBA)', round(:no_rls, 1), 'µs', NULL, NULL, NULL, NULL),
    ('tenant isolation', 'the same lookup under forced RLS (Bodø EPJ)', round(:rls, 1), 'µs', 'no RLS',
     round(:rls / :no_rls, 2), '<= 1.1 x no RLS', :rls <= 1.1 * :no_rls);
