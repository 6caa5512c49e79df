-- One round of tests/bench/rls.sql: the lookup as the DBA, as the Bodø EPJ's
-- role with BYPASSRLS, as the Bodø EPJ under forced RLS, the same with the
-- two policies it meets comparing with a plain setting instead (the floor:
-- the tenant known only when the statement runs), and the same with them
-- naming the kommune (the tenant fixed in the plan), in that order; the
-- replaced policies' lookups must read the same rows.
INSERT INTO rls_round SELECT 'dba', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
SET SESSION AUTHORIZATION bench_epj_norls;
INSERT INTO rls_round SELECT 'no_rls', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
SET SESSION AUTHORIZATION bench_epj;
INSERT INTO rls_round SELECT 'rls', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
RESET SESSION AUTHORIZATION;
ALTER POLICY news2_measurement_integrasjon ON deling.news2_measurement USING (kommune_nr = current_setting('bench.kommune'));
ALTER POLICY municipal_service_integrasjon ON deling.municipal_service USING (kommune_nr = current_setting('bench.kommune'));
SET bench.kommune = '1804';
SET SESSION AUTHORIZATION bench_epj;
SELECT bench.lookups(:lookups) = :as_epj AS same_setting \gset
INSERT INTO rls_round SELECT 'rls_setting', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
RESET SESSION AUTHORIZATION;
RESET bench.kommune;
ALTER POLICY news2_measurement_integrasjon ON deling.news2_measurement USING (kommune_nr = '1804');
ALTER POLICY municipal_service_integrasjon ON deling.municipal_service USING (kommune_nr = '1804');
SET SESSION AUTHORIZATION bench_epj;
SELECT bench.lookups(:lookups) = :as_epj AS same_constant \gset
INSERT INTO rls_round SELECT 'rls_constant', bench.per_call_us(format('SELECT bench.lookups(%s)', :lookups), 1) / :lookups;
RESET SESSION AUTHORIZATION;
ALTER POLICY news2_measurement_integrasjon ON deling.news2_measurement USING (:news2_qual);
ALTER POLICY municipal_service_integrasjon ON deling.municipal_service USING (:services_qual);
\if :same_setting
\else
SELECT bench.fail('RLS with the setting''s policies read other rows');
\endif
\if :same_constant
\else
SELECT bench.fail('RLS with the named kommune''s policies read other rows');
\endif
