-- Tenant isolation cost: the same per-citizen lookup (a Bodø citizen's
-- services and latest five NEWS2) by the Bodø EPJ integration, under the
-- forced row-level security policies, against the same integration role
-- with BYPASSRLS (so the only difference is RLS), and the DBA for
-- reference (a superuser also skips the privilege checks).  All must return
-- the same rows.
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

-- three rounds, the sides alternating so that a pause of the machine
-- (checkpoint, autovacuum, the access-log worker) does not land on one side
-- only; each side's best (per_call_us is itself the best of three)
CREATE TEMP TABLE rls_round (side text, us numeric);
GRANT INSERT ON rls_round TO PUBLIC;
-- the two policies the lookup meets, as installed: a round replaces them
-- for one measurement (rls_round.sql) and puts these back
SELECT pg_get_expr(p.polqual, p.polrelid) AS news2_qual FROM pg_policy p
WHERE p.polrelid = 'deling.news2_measurement'::regclass AND p.polname = 'news2_measurement_integrasjon' \gset
SELECT pg_get_expr(p.polqual, p.polrelid) AS services_qual FROM pg_policy p
WHERE p.polrelid = 'deling.municipal_service'::regclass AND p.polname = 'municipal_service_integrasjon' \gset
\ir rls_round.sql
\ir rls_round.sql
\ir rls_round.sql
SELECT min(us) FILTER (WHERE side = 'dba') AS dba, min(us) FILTER (WHERE side = 'no_rls') AS no_rls,
       min(us) FILTER (WHERE side = 'rls') AS rls, min(us) FILTER (WHERE side = 'rls_unpinned') AS rls_unpinned,
       min(us) FILTER (WHERE side = 'rls_setting') AS rls_setting FROM rls_round \gset
-- the policies put back as they were
SELECT count(*) = 2 AS policies_back FROM pg_policy p
WHERE (p.polname, pg_get_expr(p.polqual, p.polrelid)) IN (('news2_measurement_integrasjon', :'news2_qual'), ('municipal_service_integrasjon', :'services_qual')) \gset
\if :policies_back
\else
SELECT bench.fail('the integrations'' policies of news2_measurement and municipal_service are not as installed');
\endif
-- the pin put back as it was: every function of deling pins search_path
SELECT count(*) = 0 AS pinned FROM pg_proc WHERE oid = 'deling.current_kommune_for(text)'::regprocedure
   AND proconfig IS DISTINCT FROM '{"search_path=pg_catalog, pg_temp"}' \gset
\if :pinned
\else
SELECT bench.fail('deling.current_kommune_for lost its search_path pin');
\endif
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
    ('tenant isolation', 'per-citizen lookup (services + latest 5 NEWS2) by the DBA (superuser: no RLS, no privilege checks)', round(:dba, 1), 'µs', NULL, NULL, NULL, NULL),
    ('tenant isolation', 'the same lookup by the Bodø EPJ''s role with BYPASSRLS (no RLS)', round(:no_rls, 1), 'µs', NULL, NULL, NULL, NULL),
    ('tenant isolation', 'the same lookup under forced RLS (Bodø EPJ)', round(:rls, 1), 'µs', 'no RLS',
     round(:rls / :no_rls, 2), '<= 1.1 x no RLS', :rls <= 1.1 * :no_rls),
    ('tenant isolation', 'the same under forced RLS with the policies'' function (deling.current_kommune_for) unpinned, for this measurement only', round(:rls_unpinned, 1), 'µs', 'no RLS',
     round(:rls_unpinned / :no_rls, 2), NULL, NULL),
    ('tenant isolation', 'floor: no RLS plus what the pin alone costs (forced RLS - the same unpinned): a policy that asks one of deling''s functions, which issue 15 pins, pays it', round(:no_rls + :rls - :rls_unpinned, 1), 'µs', 'no RLS',
     round((:no_rls + :rls - :rls_unpinned) / :no_rls, 2), '<= 1.1 x no RLS, or the RLS goal is out of reach', :no_rls + :rls - :rls_unpinned <= 1.1 * :no_rls),
    ('tenant isolation', 'for comparison: forced RLS whose two policies take the tenant from a setting, kommune_nr = current_setting(…) (no function, no init plan; as it stands a caller could set it), for this measurement only', round(:rls_setting, 1), 'µs', 'no RLS',
     round(:rls_setting / :no_rls, 2), NULL, NULL);
