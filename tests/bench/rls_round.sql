-- One round of tests/bench/rls.sql: the lookup as the DBA, as the Bodø EPJ's
-- role with BYPASSRLS, as the Bodø EPJ under forced RLS, and the same with
-- the policies' function unpinned (what the pin costs), in that order.
INSERT INTO rls_round SELECT 'dba', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
SET SESSION AUTHORIZATION bench_epj_norls;
INSERT INTO rls_round SELECT 'no_rls', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
SET SESSION AUTHORIZATION bench_epj;
INSERT INTO rls_round SELECT 'rls', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
RESET SESSION AUTHORIZATION;
ALTER FUNCTION deling.current_kommune_for(text) RESET search_path;
SET SESSION AUTHORIZATION bench_epj;
INSERT INTO rls_round SELECT 'rls_unpinned', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
RESET SESSION AUTHORIZATION;
ALTER FUNCTION deling.current_kommune_for(text) SET search_path = pg_catalog, pg_temp;
