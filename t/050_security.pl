# The security suite: the attack families a hostile insider would try
# (object shadowing, context forgery, cross-kommune access, stopping or
# bypassing the access log, blocks, privileges), each a file in
# tests/security/.  A server of its own, its platform database set up by
# tests/security/setup.sql; every NN_*.sql file then runs as the superuser
# (it switches to the attackers' logins itself) and prints "ok - ..." /
# "not ok - ..." lines, each of which is an assertion here; a file that
# stops with an error fails.  (The access-log attacks, which need a server
# of their own, are t/060_access_log_attacks.pl.)
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use Test::More;

my $node = deling_node('security', 'platform');

# run_file(file): psql -XAtq -v ON_ERROR_STOP=1 -f file on the platform
# database (from the repository's top, as the files' backticks expect)
sub run_file
{
	my ($file) = @_;
	return $node->psql('platform', '', extra_params => [ '-f', $file ]);
}

my ($rc, $out, $err) = run_file(repo_path('tests/security/setup.sql'));
ok($rc == 0, 'the platform database is set up') or die "tests/security/setup.sql failed:\n$err";

for my $path (sort glob(repo_path('tests/security/[0-9]*.sql')))
{
	my ($f) = $path =~ m{([^/]+)$};
	($rc, $out, $err) = run_file($path);
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^ok - (.*)$/) { pass("$f: $1") }
		elsif ($line =~ /^not ok - (.*)$/) { fail("$f: $1") }
		elsif ($line ne '') { note($line) }
	}
	if ($rc != 0)
	{
		fail("$f stopped with an error (exit $rc)");
		diag($err);
	}
	elsif ($err ne '')
	{
		note($err);
	}
}

$node->stop;
done_testing();
