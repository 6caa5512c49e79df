# Upgrades: released scripts never change; the oldest release, loaded with
# data, updated to the default version equals a fresh install of it object
# for object (tests/upgrade/catalog.sql), keeps every row, and works.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use Digest::SHA;
use PostgreSQL::Test::Utils;
use Test::More;

# released scripts are frozen: the built files match the recorded checksums
for my $line (split /\n/, slurp_file(repo_path('tests/upgrade/released.sha256')))
{
	my ($sum, $file) = split /\s+/, $line;
	my $built = repo_path($file);
	ok(-f $built && Digest::SHA->new(256)->addfile($built)->hexdigest eq $sum,
		"released script $file is unchanged");
}

$ENV{DELING_TEST_KEYS} = PostgreSQL::Test::Utils::tempdir();
my $node = deling_node('upgrade', 'platform');
my $default = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'deling'");
my $oldest = $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = 'deling' "
	  . "ORDER BY string_to_array(version, '.')::int[] LIMIT 1");
isnt($oldest, $default, "there is an update path from $oldest to $default");
is($node->safe_psql('postgres',
		"SELECT path FROM pg_extension_update_paths('deling') WHERE source = '$oldest' AND target = '$default'") ne '',
	1, "pg_extension_update_paths knows the way from $oldest to $default");

# the oldest release, with data in every table
$node->safe_psql('platform', "CREATE EXTENSION deling VERSION '$oldest'");
my $catalog = slurp_file(repo_path('tests/upgrade/catalog.sql'));
my $tables = slurp_file(repo_path('tests/upgrade/tables.sql'));
$node->safe_psql('platform', slurp_file(repo_path('tests/upgrade/load.sql')));
my $before = $node->safe_psql('platform', $tables);
my $empty = join ', ', map { (split / /)[0] } grep { (split / /)[1] == 0 } split /\n/, $before;
is($empty, '', "every table of $oldest holds data before the update");
$node->safe_psql('platform', slurp_file(repo_path('tests/upgrade/snapshot.sql')));

# the update, as a DBA runs it
$node->safe_psql('platform', 'ALTER EXTENSION deling UPDATE');
is($node->safe_psql('platform', "SELECT extversion FROM pg_extension WHERE extname = 'deling'"),
	$default, "ALTER EXTENSION deling UPDATE reaches $default");

# object for object equal to a fresh install of the default version
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION deling');
my $updated = $node->safe_psql('platform', $catalog);
my $fresh = $node->safe_psql('fresh', $catalog);
my @u = split /\n/, $updated;
my @f = split /\n/, $fresh;
my %in_f = map { $_ => 1 } @f;
my %in_u = map { $_ => 1 } @u;
my @only_updated = grep { !$in_f{$_} } @u;
my @only_fresh = grep { !$in_u{$_} } @f;
ok(@u > 500 && !@only_updated && !@only_fresh,
	sprintf('the updated database equals a fresh install of %s object for object (%d lines)', $default, scalar @u))
  or diag(join "\n", (map { "only updated: $_" } @only_updated[0 .. ($#only_updated < 20 ? $#only_updated : 20)]),
	(map { "only fresh:   $_" } @only_fresh[0 .. ($#only_fresh < 20 ? $#only_fresh : 20)]));
like($updated, qr/^relation deling\.citizen kind r owner deling_owner rls true force true/m,
	'tables belong to deling_owner with row-level security forced');
unlike($updated, qr/^(function|relation|type) .* owner (?!deling_owner)/m,
	'every function, relation and type of the extension belongs to deling_owner');

# the data is intact and the platform works (tests/upgrade/snapshot.sql:
# every row of every table there before is still there, in the columns its
# table still has)
is($node->safe_psql('platform', "SELECT string_agg(m, ', ') FROM upgrade_check.missing() m"), '',
	'every row of every table is kept');
$node->safe_psql('platform', 'DROP SCHEMA upgrade_check CASCADE');
is($node->safe_psql('platform',
		"SELECT (deling.verify_access_log(NULL)->>'valid')::boolean"),
	't', 'the access log verifies after the update');
ok(wait_access_log($node, 'platform'), 'the access log takes entries after the update');
doctor_read_is_logged($node, 'platform', 'after-update', "a doctor's read works after the update",
	'and it is logged');

$node->stop;
done_testing();
