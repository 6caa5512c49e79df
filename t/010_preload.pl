# CREATE EXTENSION deling on a server started without the preload fails and
# tells the DBA exactly what to set; with it, the extension installs (the
# default version, through the update chain) and can be dropped and made
# again.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = plain_node('preload');
$node->start;
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION deling');
like($err, qr/ERROR:  deling must be loaded at server start/, 'CREATE EXTENSION without the preload fails');
like($err, qr/shared_preload_libraries = 'deling' and wal_level = logical/,
	'the hint names shared_preload_libraries and wal_level');
($ret, $out, $err) = $node->psql('postgres', q{LOAD 'deling'});
like($err, qr/deling must be loaded at server start/, 'LOAD without the preload fails the same way');

$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'deling'");
$node->start;
my ($default) = slurp_file(repo_path('deling.control')) =~ /^default_version = '(.*)'/m;
($ret, $out, $err) = $node->psql('postgres',
	"CREATE EXTENSION deling; SELECT extversion FROM pg_extension WHERE extname = 'deling'");
is($out, $default, 'with the preload the extension installs (the default version, through the update chain)');
($ret, $out, $err) = $node->psql('postgres',
	"DROP EXTENSION deling; CREATE EXTENSION deling; SELECT count(*) FROM pg_extension WHERE extname = 'deling'");
ok($ret == 0 && $out eq '1', 'drop and re-create works (roles are kept, not duplicated)')
  or diag($err);

# the integrations' read policies compare with read-only settings; on a
# server restarted without the preload a session could SET a placeholder
# of the same name, so the policies fail closed there instead
($ret, $out, $err) = $node->psql('postgres', q{
SELECT deling.generate_synthetic(40, 2) IS NOT NULL;
SELECT deling.generate_synthetic_records(40, 100) IS NOT NULL;
CREATE ROLE t_epj LOGIN IN ROLE deling_integrasjon;
SELECT deling.bind_integration('t_epj', (SELECT min(kommune_nr) FROM deling.kommune));
SELECT deling.enable_service((SELECT min(kommune_nr) FROM deling.kommune), 'news2');
SET SESSION AUTHORIZATION t_epj;
SELECT count(*) > 0 AND count(*) = count(*) FILTER (WHERE kommune_nr = current_setting('deling.caller_kommune'))
FROM deling.citizen;
SELECT count(*) > 0 FROM deling.news2_measurement;});
like($out, qr/t\nt$/, 'with the preload the bound integration reads its own kommune\'s citizens and NEWS2') or diag($err);
my ($other) = $node->safe_psql('postgres', 'SELECT max(kommune_nr) FROM deling.kommune');
my ($slot) = $node->safe_psql('postgres', "SELECT rls_slot FROM deling.service WHERE service_code = 'news2'");
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;
($ret, $out, $err) = $node->psql('postgres', qq{SET SESSION AUTHORIZATION t_epj;
SET deling.caller_kommune = '$other'; SELECT count(*) FROM deling.citizen});
ok($ret != 0 && $out eq '', 'without the preload a placeholder deling.caller_kommune reads no citizen') or diag($out);
like($err, qr/deling must be loaded at server start/, 'the read fails on loading deling');
($ret, $out, $err) = $node->psql('postgres', qq{SET SESSION AUTHORIZATION t_epj;
SET deling.caller_kommune_for_$slot = '$other'; SELECT count(*) FROM deling.news2_measurement});
ok($ret != 0 && $out eq '', 'nor a placeholder deling.caller_kommune_for_<slot> a NEWS2 measurement') or diag($out);

$node->stop;
done_testing();
