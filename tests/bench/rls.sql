-- Tenant isolation cost: the same per-citizen lookup (a Bodø citizen's
-- services and latest five NEWS2) by the Bodø EPJ integration, under the
-- forced row-level security policies, against the same integration role
-- with BYPASSRLS (so the only difference is RLS), and the DBA for
-- reference (a superuser also skips the privilege checks); the floor is the
-- same with the two policies it meets comparing with a plain setting, and a
-- policy naming the kommune is shown for comparison.  All must return the
-- same rows.
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

DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_epj_norls') THEN
        CREATE ROLE bench_epj_norls BYPASSRLS IN ROLE deling_integrasjon;
    END IF;
END $$;

SELECT bench.lookups(:lookups) AS as_dba \gset
SET SESSION AUTHORIZATION bench_epj;
SELECT bench.lookups(:lookups) AS as_epj \gset
SET SESSION AUTHORIZATION bench_epj_norls;
SELECT bench.lookups(:lookups) AS as_norls \gset
RESET SESSION AUTHORIZATION;
SELECT :as_dba = :as_epj AND :as_norls = :as_epj AS same_rows \gset
\if :same_rows
\else
SELECT bench.fail('RLS and no RLS read different rows');
\endif

-- five rounds, the sides alternating so that a pause of the machine
-- (checkpoint, autovacuum, the access-log worker) does not land on one side
-- only; each side's best (per_call_us is itself the best of three)
CREATE TEMP TABLE rls_round (side text, us numeric);
GRANT INSERT ON rls_round TO PUBLIC;
-- the two policies the lookup meets, as installed: a round replaces them
-- for two measurements (rls_round.sql) and puts these back
SELECT pg_get_expr(p.polqual, p.polrelid) AS news2_qual FROM pg_policy p
WHERE p.polrelid = 'deling.news2_measurement'::regclass AND p.polname = 'news2_measurement_integrasjon' \gset
SELECT pg_get_expr(p.polqual, p.polrelid) AS services_qual FROM pg_policy p
WHERE p.polrelid = 'deling.municipal_service'::regclass AND p.polname = 'municipal_service_integrasjon' \gset
\ir rls_round.sql
\ir rls_round.sql
\ir rls_round.sql
\ir rls_round.sql
\ir rls_round.sql
SELECT min(us) FILTER (WHERE side = 'dba') AS dba, min(us) FILTER (WHERE side = 'no_rls') AS no_rls,
       min(us) FILTER (WHERE side = 'rls') AS rls, min(us) FILTER (WHERE side = 'rls_setting') AS rls_setting,
       min(us) FILTER (WHERE side = 'rls_constant') AS rls_constant FROM rls_round \gset
-- the policies put back as they were
SELECT count(*) = 2 AS policies_back FROM pg_policy p
WHERE (p.polname, pg_get_expr(p.polqual, p.polrelid)) IN (('news2_measurement_integrasjon', :'news2_qual'), ('municipal_service_integrasjon', :'services_qual')) \gset
\if :policies_back
\else
SELECT bench.fail('the integrations'' policies of news2_measurement and municipal_service are not as installed');
\endif
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
    ('tenant isolation', 'per-citizen lookup (services + latest 5 NEWS2) by the DBA (superuser: no RLS, no privilege checks)', round(:dba, 1), 'µs', NULL, NULL, NULL, NULL),
    ('tenant isolation', 'the same lookup by the Bodø EPJ''s role with BYPASSRLS (no RLS)', round(:no_rls, 1), 'µs', NULL, NULL, NULL, NULL),
    ('tenant isolation', 'the same lookup under forced RLS (Bodø EPJ; the policies compare with deling.caller_kommune_for_<slot>)', round(:rls, 1), 'µs', 'no RLS',
     round(:rls / :no_rls, 2), '<= 1.1 x no RLS', :rls <= 1.1 * :no_rls),
    ('tenant isolation', 'floor: forced RLS whose two policies compare with a plain setting, kommune_nr = current_setting(''bench.kommune'') (no service check, and a caller could set it; for this measurement only): the least a policy costs whose kommune is known only when a statement runs, as a session''s cached plans serve every kommune it acts for', round(:rls_setting, 1), 'µs', 'no RLS',
     round(:rls_setting / :no_rls, 2), '<= 1.1 x no RLS, or the RLS goal is out of reach', :rls_setting <= 1.1 * :no_rls),
    ('tenant isolation', 'for comparison: forced RLS whose two policies name the kommune, kommune_nr = ''1804'' (the kommune fixed in the plan; for this measurement only)', round(:rls_constant, 1), 'µs', 'no RLS',
     round(:rls_constant / :no_rls, 2), NULL, NULL);
