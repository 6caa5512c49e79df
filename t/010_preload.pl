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

$node->stop;
done_testing();
