# Backup and restore: pg_dump -Fc of a platform with data in every table,
# pg_restore into a new database on another server, keeps every row, the
# access log verifies and goes on, row-level security and policies are
# intact, and a doctor's read works and is logged there.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use PostgreSQL::Test::Utils;
use Test::More;

$ENV{DELING_TEST_KEYS} = PostgreSQL::Test::Utils::tempdir();
my $catalog = slurp_file(repo_path('tests/upgrade/catalog.sql'));
my $tables = slurp_file(repo_path('tests/upgrade/tables.sql'));

my $source = deling_node('source', 'platform');
$source->safe_psql('platform', 'CREATE EXTENSION deling');
$source->safe_psql('platform', slurp_file(repo_path('tests/upgrade/load.sql')));
# the DBA has changed reference data the scripts seed: a code's name, a
# service type KPR no longer receives, one it now receives
$source->safe_psql('platform', q{
	UPDATE deling.service_type SET name = name || ' (lokal tekst)' WHERE code = '5';
	DELETE FROM deling.kpr_reported_service_type WHERE code = '29';
	INSERT INTO deling.kpr_reported_service_type (code) VALUES ('25');});
$source->safe_psql('platform', 'SELECT deling.access_log_drain()');
my $before = $source->safe_psql('platform', $tables);
my $empty = join ', ', map { (split / /)[0] } grep { (split / /)[1] == 0 } split /\n/, $before;
is($empty, '', 'every table holds data before the dump');
my $anchor = $source->safe_psql('platform', 'SELECT deling.access_log_anchor()');

# the DBA's backup: the roles (cluster-wide), then the database
my $dir = PostgreSQL::Test::Utils::tempdir();
$source->command_ok(['pg_dumpall', '--roles-only', '-f', "$dir/roles.sql", '-d', $source->connstr('postgres')],
	'pg_dumpall --roles-only');
$source->command_ok(['pg_dump', '-Fc', '-f', "$dir/platform.dump", '-d', $source->connstr('platform')],
	'pg_dump -Fc of the platform database');

# restore on a new server
my $target = deling_node('target', 'platform');
$target->psql('postgres', undef, on_error_stop => 0, extra_params => ['-f', "$dir/roles.sql"]);   # ("role postgres already exists" is expected)
$target->command_ok(['pg_restore', '--exit-on-error', '-d', $target->connstr('platform'), "$dir/platform.dump"],
	'pg_restore into a new database');

# every row of every table, and the same objects, RLS flags and policies
is($target->safe_psql('platform', $tables), $before, 'every row of every table is restored');
is($target->safe_psql('platform', $catalog), $source->safe_psql('platform', $catalog),
	'the restored extension has the same objects, RLS flags, policies and privileges');
is($target->safe_psql('platform', q{
	SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind = 'r'
	  AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('pid', 'citizen_pid'))
	  AND NOT (c.relrowsecurity AND c.relforcerowsecurity)}), '0',
	'every table holding identity numbers has row-level security forced');
is($target->safe_psql('platform', "SELECT (deling.verify_access_log(NULL)->>'valid')::boolean"), 't',
	'the restored access log verifies');
is($target->safe_psql('platform', "SELECT (deling.verify_access_log(NULL, '$anchor'::jsonb)->>'valid')::boolean"), 't',
	'and verifies against the anchor taken before the dump (the signing key came along)');

# the restored platform works: a new slot, the chain goes on
ok(wait_access_log($target, 'platform'), 'the access log takes entries in the restored database');
doctor_read_is_logged($target, 'platform', 'after-restore', "a doctor's read works in the restored database",
	'and it is logged there, continuing the restored chain');
is($target->safe_psql('platform', "SELECT (deling.verify_access_log(NULL)->>'valid')::boolean"), 't',
	'the chain still verifies');
# identity columns go on after the restored rows
is($target->safe_psql('platform',
		"SELECT kpr.add_contact('3201', 16, 'Ny', 'ny\@baerum.kommune.no') > (SELECT max(contact_id) FROM deling.kpr_contact WHERE kommune_nr IS DISTINCT FROM '3201')"),
	't', 'identity sequences continue after the restored rows');

$source->stop;
$target->stop;
done_testing();
