# Every FHIR document the pg_regress suite wrote to $DELING_FHIR_OUT (the
# Makefile's tmp_check_fhir/ unless set) passes the official HL7 FHIR R4
# JSON schema (tests/tools/fhir-validate): one assertion per file, and a
# document the suite should have written but did not fails too.  Then the
# validator must reject known-bad FHIR, so a validator that accepted
# anything fails.  No server: run it after pg_regress (make installcheck
# does).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use Test::More;

my $validator = repo_path('tests/tools/fhir-validate/fhir-validate');
my $out = $ENV{DELING_FHIR_OUT};
plan skip_all => 'DELING_FHIR_OUT is not set: run through make installcheck, after pg_regress'
  unless defined $out && $out ne '';

# validate(input file or undef, stdin): (exit status, output)
sub validate
{
	my ($file, $stdin) = @_;
	my $result;
	IPC::Run::run([ $validator, defined $file ? ($file) : () ], '<', \($stdin // ''), '>&', \$result);
	return ($? >> 8, $result);
}

my @expected = qw(news2_observations.json news2_max1.json news2_page2.json news2_empty.json
  municipal_services.json municipal_services_history.json legevakt_summary.json blocked_services.json
  emergency_services.json blocked_news2.json my_access_log.json access_log_export.json
  pgrst_news2_observations.json pgrst_municipal_services.json pgrst_legevakt_summary.json
  pgrst_my_access_log.json fhir_json_bundle.json template_condition.json template_careplan.json);
my %listed = map { $_ => 1 } @expected;
opendir(my $dh, $out) or die "$out: $! (pg_regress writes the documents there)";
my @others = sort grep { /\.json$/ && !$listed{$_} } readdir $dh;
closedir $dh;

for my $f (@expected, @others)
{
	if (!-s "$out/$f")
	{
		fail("$f was not written");
		next;
	}
	my ($rc, $result) = validate("$out/$f");
	my ($last) = $result =~ /([^\n]*)\n?\z/;
	ok($rc == 0, "$f: $last") or diag($result);
}

# rejects(what, summary, pattern, json): the validator, given json, exits 1
# (invalid, not "could not run"), ends with summary ("N valid, M invalid")
# and names the fault (pattern)
sub rejects
{
	my ($what, $summary, $pattern, $json) = @_;
	my ($rc, $result) = validate(undef, $json);
	my ($last) = $result =~ /([^\n]*)\n?\z/;
	ok($rc == 1 && $last eq $summary && $result =~ $pattern, "rejected: $what")
	  or diag("exit $rc:\n$result");
}
rejects("an Observation with status 'bogus'", '0 valid, 1 invalid',
	qr{\(Observation/o1\): \.status should be equal to one of the allowed values},
	'{"resourceType":"Observation","id":"o1","status":"bogus","code":{"text":"NEWS2"}}');
rejects('a Bundle whose entry\'s resource lacks resourceType (the Bundle, and the entry on its own)',
	'0 valid, 2 invalid', qr{\.entry\[0\] \(\?/p1\): no resourceType},
	'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"id":"p1"}}]}');
rejects('a Patient with an unknown property', '0 valid, 1 invalid',
	qr{\(Patient/p2\): .*additional properties 'favouriteColour'},
	'{"resourceType":"Patient","id":"p2","favouriteColour":"blue"}');
rejects('JSON lines: a valid Patient passes, one with birthDate 1990-13-45 does not', '1 valid, 1 invalid',
	qr{\(Patient/p4\): \.birthDate should match pattern},
	qq({"resourceType":"Patient","id":"p3"}\n{"resourceType":"Patient","id":"p4","birthDate":"1990-13-45"}));

done_testing();
