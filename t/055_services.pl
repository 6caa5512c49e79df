# The sharing services' own tests: each declared service has one file,
# tests/services/<service>.sql (docs/architecture.md, "Adding a sharing
# service").  Each runs as the superuser against a platform database set up
# like the security suite's (tests/security/setup.sql: synthetic data, a
# trusted key, the sec helpers) and prints "ok - ..." / "not ok - ..." lines,
# each an assertion here, and, for every FHIR document it produced, a line
# "fhir <name> <json on one line>", which must pass the official FHIR R4 JSON
# schema (tests/tools/fhir-validate).  A file that stops with an error
# fails.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use Test::More;

my $validator = repo_path('tests/tools/fhir-validate/fhir-validate');
my $node = deling_node('services', 'platform');
sub run_file { return $node->psql('platform', '', extra_params => [ '-f', $_[0] ]); }

my ($rc, $out, $err) = run_file(repo_path('tests/security/setup.sql'));
ok($rc == 0, 'the platform database is set up') or die "tests/security/setup.sql failed:\n$err";

my $ran = 0;
for my $path (sort glob(repo_path('tests/services/*.sql')))
{
	my ($name) = $path =~ m{([^/]+)$};
	($rc, $out, $err) = run_file($path);
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^ok - (.*)$/) { pass("$name: $1"); $ran++ }
		elsif ($line =~ /^not ok - (.*)$/) { fail("$name: $1"); $ran++ }
		elsif ($line =~ /^fhir (\S+) (.*)$/)
		{
			my ($what, $doc) = ($1, $2);
			IPC::Run::run([$validator], '<', \"$doc\n", '>&', \my $msg);
			ok($? == 0, "$name: $what is valid FHIR R4") or diag(join "\n", grep { defined } (split /\n/, $msg)[0 .. 19]);
			$ran++;
		}
		elsif ($line ne '') { note($line) }
	}
	if ($rc != 0)
	{
		fail("$name stopped with an error (exit $rc)");
		diag($err);
		$ran++;
	}
	elsif ($err ne '')
	{
		note($err);
	}
}
note('no service test file') unless $ran;

$node->stop;
done_testing();
