# Durability of the access log under a crash: four clients read NEWS2
# through PostgREST's flow, each with its own request id, and record the id
# once the data has reached them; the postmaster and every backend (the
# access-log worker too) are then killed with SIGKILL mid-stream.  After a
# restart, every recorded request must be in the access log exactly once,
# and the hash chain must verify.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use POSIX ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = deling_node('crash', 'postgres');
my $pub = mint_token('pubkey', 'crash1');
$node->safe_psql('postgres', qq{
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(100, 3);
SELECT deling.add_trusted_key('crash1', \$\$$pub\$\$);
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', deling.synthetic_fnr('1938-03-14', 0));
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
SELECT '3201', deling.synthetic_fnr('1938-03-14', 0), now() - i * interval '1 hour', 16 + i, 96, false, 120, 80, 'A', 37.5, 'crash', 'c' || i
FROM generate_series(1, 3) i;
});
ok(wait_for($node, 'postgres', 'SELECT deling.access_log_ready()', 't', 20), 'the access log is ready');

my $now = time();
my $unit = $node->safe_psql('postgres', q{SELECT orgnr FROM deling.organisation WHERE name = 'Asker og Bærum legevakt'});
my $pid = $node->safe_psql('postgres', q{SELECT deling.synthetic_fnr('1938-03-14', 0)});
my $payload = qq({"iss":"https://helseid-sts.nhn.no","aud":"nhn:deling","iat":$now,"exp":${\ ($now + 600)},
 "scope":["openid","nhn:deling/helsepersonell"],
 "helseid://claims/identity/pid":"13916300004","helseid://claims/identity/security_level":"4",
 "helseid://claims/identity/assurance_level":"high","helseid://claims/hpr/hpr_number":"565501872",
 "helseid://claims/client/claims/orgnr_parent":"935478715","helseid://claims/client/claims/orgnr_child":"$unit",
 "authorization_details":{"type":"nhn:tillitsrammeverk:parameters","toa":$now,
   "care_relationship":{"purpose_of_use":{"code":"TREAT"}}}});
my $token = mint_token('RS256', 'crash1', $payload);

my $dir = PostgreSQL::Test::Utils::tempdir();
my $returned_file = "$dir/returned";
# client(name): read until the server dies; record each request id whose data arrived
sub client
{
	my ($name) = @_;
	my $connstr = $node->connstr('postgres') . ' user=deling_authenticator';
	for (my $i = 1;; $i++)
	{
		my $sql = qq{BEGIN READ ONLY;
SELECT set_config('role', 'deling_helsepersonell', true) IS NOT NULL;
SELECT set_config('request.headers', '{"authorization": "Bearer $token", "x-request-id": "$name-$i"}', true) IS NOT NULL;
SELECT deling.pre_request();
SELECT 'total=' || ((api.news2_observations('$pid'))->>'total');
COMMIT;
};
		my ($out, $err) = ('', '');
		IPC::Run::run([ 'psql', '-X', '-q', '-At', '-d', $connstr ], '<', \$sql, '>', \$out, '2>', \$err) or last;
		if ($out =~ /^total=3$/m)
		{
			open my $fh, '>>', $returned_file or die;
			print $fh "$name-$i\n";
			close $fh;
		}
	}
}
my @clients;
for my $c (qw(a b c d))
{
	my $child = fork() // die "fork: $!";
	if ($child == 0)
	{
		client($c);
		POSIX::_exit(0);    # no END blocks: the node belongs to the parent
	}
	push @clients, $child;
}
sleep 3;
my ($pm) = slurp_file($node->data_dir . '/postmaster.pid') =~ /^(\d+)/;
# stop the postmaster first, so that it forks no backend the kill would miss
# (an orphaned backend would keep a client waiting on it for ever)
kill 'STOP', $pm;
my @children = split ' ', `pgrep -P $pm`;
kill 'KILL', @children, $pm;
waitpid($_, 0) for @clients;
my @returned = -e $returned_file ? split /\n/, slurp_file($returned_file) : ();
ok(@returned > 10, 'clients received data before the crash (' . scalar(@returned) . ' reads)');

# as a reboot would: no pid file, no socket lock
unlink $node->data_dir . '/postmaster.pid', glob($node->host . '/.s.PGSQL.*.lock');
$node->_update_pid(-1);
$node->start;
sub logged
{
	my ($rc, $out) = $node->psql('postgres', q{SELECT entry->>'request_id' FROM deling.access_log WHERE entry ? 'request_id'});
	return $rc == 0 ? split /\n/, $out : ();
}
my %want = map { $_ => 1 } @returned;
my @missing;
for (1 .. 150)
{
	my %have = map { $_ => 1 } logged();
	@missing = grep { !$have{$_} } sort keys %want;
	last if !@missing;
	usleep(200_000);
}
ok(!@missing, 'every read whose data was returned is in the access log after the crash (' . scalar(@missing) . ' missing)')
  or diag("missing: @missing");
my %seen;
my @twice = grep { $seen{$_}++ == 1 } logged();
ok(!@twice, 'every read is in the log once') or diag("twice: @twice");
is($node->safe_psql('postgres', q{SELECT deling.verify_access_log(NULL)->>'valid'}), 'true', 'the hash chain verifies after the crash');
is($node->safe_psql('postgres', 'SELECT worker_running AND slot_held_by_worker AND ready AND NOT gap FROM deling.status'), 't',
	'the worker is running again and holds the slot');

$node->stop;
done_testing();
