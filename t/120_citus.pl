# deling on a Citus cluster (docs/scale-out.md): tests/citus/run.sh starts
# a coordinator and two workers (Citus and deling preloaded, a third worker
# joins later) and a single node (deling alone), and compares every answer
# of the cluster with the single node's on the same data; each of its
# "ok N - ..." / "not ok N - ..." lines is an assertion here.  The script
# starts and stops its own servers (none is left running, also when it
# fails).
#
# Skipped, saying so, where Citus is not installed for this PostgreSQL:
# deling does not depend on Citus, and make test stays green without it.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use Test::More;

my $pg_config = $ENV{PG_CONFIG} || '/usr/lib/postgresql/15/bin/pg_config';
$pg_config = 'pg_config' unless -x $pg_config;
chomp(my $libdir = `$pg_config --pkglibdir`);
chomp(my $sharedir = `$pg_config --sharedir`);
plan skip_all => "Citus is not installed for this PostgreSQL (no citus.so in $libdir): the Citus tests did not run"
  unless -f "$libdir/citus.so" && -f "$sharedir/extension/citus.control";

my $out = '';
IPC::Run::run([ repo_path('tests/citus/run.sh') ], '>', \$out, '2>&1');
my $rc = $? >> 8;
my $seen = 0;
for my $line (split /\n/, $out)
{
	if ($line =~ /^ok \d+ - (.*)$/) { pass($1); $seen++ }
	elsif ($line =~ /^not ok \d+ - (.*)$/) { fail($1); $seen++ }
	elsif ($line =~ /^# (.*)$/) { diag($1) }
	elsif ($line =~ /^1\.\.(\d+)/) { is($seen, $1, "tests/citus/run.sh ran every one of its $1 checks") }
	elsif ($line ne '') { note($line) }
}
ok($rc == 0, 'tests/citus/run.sh ended normally') or diag("exit status $rc");
ok($out =~ /^1\.\.\d+$/m, 'tests/citus/run.sh got to its end');
done_testing();
