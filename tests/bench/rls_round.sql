-- One round of tests/bench/rls.sql: the lookup as the DBA, as the Bodø EPJ's
-- role with BYPASSRLS, and as the Bodø EPJ under forced RLS, in that order.
INSERT INTO rls_round SELECT 'dba', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
SET SESSION AUTHORIZATION bench_epj_norls;
INSERT INTO rls_round SELECT 'no_rls', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
SET SESSION AUTHORIZATION bench_epj;
INSERT INTO rls_round SELECT 'rls', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
RESET SESSION AUTHORIZATION;
