# The benchmark harness itself (make bench), at a tiny scale (SCALE=tiny:
# 2,000 citizens, about 25 s) in a node of its own, so that it cannot rot
# between benchmark runs: every benchmark runs to the end with its own
# correctness checks (the scoring variants agree on every row, the FHIR
# builders give the same resources, every lookup is in the access log), and
# the table has every area's rows.  Times at this scale mean nothing and are
# not checked.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use Test::More;

# fsync on, as make bench runs: the access-log entry of every read is flushed
my $node = deling_node('bench', 'postgres', 'fsync = on');
local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';

IPC::Run::run([ repo_path('tests/bench/run.sh'), 'tiny' ], '>&', \my $out);
my $rc = $? >> 8;
ok($rc == 0, "make bench's harness runs every benchmark to the end (SCALE=tiny)")
  or diag(join "\n", (split /\n/, $out)[-20 .. -1]);
sub val { my ($rc, $o) = $node->psql('postgres', $_[0]); return $o; }
for my $area ('load', 'NEWS2 scoring', 'tenant isolation', 'ingest', 'FHIR rendering', 'legevakt lookup', 'memory', 'sharing services')
{
	cmp_ok(val("SELECT count(*) FROM bench.result WHERE area = '$area'") || 0, '>', 0, "the table has rows for $area");
}
like($out, qr/deling benchmarks \(ratio = value \/ baseline/, "the table is printed with the goals' verdicts");
is(val(q{SELECT count(*) FILTER (WHERE met) || '/' || count(*) FROM bench.result WHERE goal LIKE '= every %'}), '3/3',
	"every lookup and every floor read (with the lookup's entry or the least one) is in the access log after the drain");
is(val('SELECT count(*) FROM bench.result WHERE (ratio IS NULL) <> (baseline IS NULL)'), '0',
	'every ratio is the value over a baseline of the same run');
is(val('SELECT count(*) FROM bench.result WHERE goal IS NOT NULL AND met IS NULL'), '0', 'every goal has a verdict');
is(val(q{SELECT count(*) FROM bench.result WHERE area = 'NEWS2 scoring' AND measure LIKE '% of 20000 stored rows'}), '5',
	'scan, C, C without the pin, SQL CASE and PL/pgSQL each scored all 20000 stored rows');
is(val(q{SELECT count(*) FROM bench.result WHERE area = 'tenant isolation' AND measure LIKE 'floor: %' AND met IS NOT NULL}), '1',
	"tenant isolation's floor (policies comparing with a plain setting) has its verdict");
is(val(q{SELECT count(*) FROM pg_policy WHERE polname IN ('news2_measurement_integrasjon', 'municipal_service_integrasjon')
	AND pg_get_expr(polqual, polrelid) LIKE '%current_setting(''deling.caller_kommune_for_%'}), '2',
	"the benchmarks leave the integrations' policies as installed (tenant isolation replaces two for a round)");
is(val(q{SELECT count(*) FROM pg_proc WHERE pronamespace IN ('deling'::regnamespace, 'api'::regnamespace) AND proconfig IS NULL}), '0',
	"the benchmarks leave every function of deling pinned");

is(val(q{SELECT string_agg(s.service_code, ', ') FROM deling.service s WHERE s.declaration ? 'synthetic'
	AND (SELECT count(*) FROM bench.result r WHERE r.area = 'sharing services' AND r.measure LIKE s.service_code || ' %') < 10}), '',
	'every declared service with a generator has its load, ingest and its floor, and read and its floor in the table');

$node->stop;
done_testing();
