# Hot standbys (docs/operations.md, "Hot standbys"): a primary with deling
# and a hot standby streaming from it.  A standby can neither write the
# access log nor hold a logical slot (PostgreSQL 15), so every sharing read
# there is refused (55000, saying so) and leaves no entry anywhere; the
# access log's state is reported by deling.status there (no worker, not
# ready, the reads it refused); the replicated log can be verified and
# reviewed there; the primary keeps serving and logging reads, and the
# standby replays its entries.  Promoted, the standby's worker finds no
# slot (a dropped gap): reads wait for a DBA's acknowledgement, then are
# served and logged on the new primary.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use PostgreSQL::Test::Cluster;
use Test::More;

my $pid = '14833800095';    # deling.synthetic_fnr('1938-03-14', 0)
my $primary = deling_node('primary', 'platform');
my $pub = mint_token('pubkey', 'standby1');
$primary->safe_psql('platform', qq{
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(20, 3);
SELECT deling.add_trusted_key('standby1', \$\$$pub\$\$);
CREATE ROLE reader LOGIN IN ROLE deling_integrasjon;
CREATE ROLE dba LOGIN IN ROLE deling_admin;
SELECT deling.bind_integration('reader', '3201');
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', '$pid');
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
SELECT '3201', '$pid', now() - i * interval '1 hour', 16 + i, 96, false, 120, 80, 'A', 37.5, 'standby', 's' || i
FROM generate_series(1, 3) i;
});
ok(wait_access_log($primary, 'platform'), "the primary's access log takes entries");

# a legevakt doctor's read as PostgREST makes it (token verified by deling.pre_request)
my $now = time();
my $unit = $primary->safe_psql('platform', q{SELECT orgnr FROM deling.organisation WHERE name = 'Asker og Bærum legevakt'});
my $token = mint_token('RS256', 'standby1', qq({"iss":"https://helseid-sts.nhn.no","aud":"nhn:deling","iat":$now,"exp":${\ ($now + 600)},
 "scope":["openid","nhn:deling/helsepersonell"],
 "helseid://claims/identity/pid":"13916300004","helseid://claims/identity/security_level":"4",
 "helseid://claims/identity/assurance_level":"high","helseid://claims/hpr/hpr_number":"565501872",
 "helseid://claims/client/claims/orgnr_parent":"935478715","helseid://claims/client/claims/orgnr_child":"$unit",
 "authorization_details":{"type":"nhn:tillitsrammeverk:parameters","toa":$now,
   "care_relationship":{"purpose_of_use":{"code":"TREAT"}}}}));
my $n = 0;
sub doctor_read
{
	my ($node) = @_;
	$n++;
	return sql_as($node, 'platform', 'deling_authenticator', qq{BEGIN READ ONLY;
SELECT set_config('role', 'deling_helsepersonell', true) IS NOT NULL;
SELECT set_config('request.headers', '{"authorization": "Bearer $token", "x-request-id": "standby-$n"}', true) IS NOT NULL;
SELECT deling.pre_request();
SELECT 'total=' || ((api.news2_observations('$pid'))->>'total');
COMMIT;}, '-v', 'VERBOSITY=verbose');
}
my $integration_read = "SELECT (api.news2_observations('$pid'))->>'total'";
like(doctor_read($primary), qr/^total=3$/m, "a doctor's read on the primary is served");
is(sql_as($primary, 'platform', 'reader', $integration_read), '3', "an EPJ's read on the primary is served");

# a hot standby, streaming from the primary
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->safe_psql('platform', 'SELECT deling.access_log_drain()');
$primary->wait_for_catchup('standby');
my $entries = $primary->safe_psql('platform', 'SELECT count(*) FROM deling.access_log');
is($standby->safe_psql('platform', q{SELECT pg_is_in_recovery() || ' ' || (SELECT count(*) FROM deling.access_log)}),
	"true $entries", "the standby is in recovery and holds the primary's access log ($entries entries)");

my $refusal = qr/ERROR:  55000: this server is a hot standby, which cannot write the access log, so no sharing-service read is allowed\nHINT:  Sharing-service reads go to the primary\./;
my $out = doctor_read($standby);
like($out, $refusal, "a doctor's read on the standby is refused: 55000, it says why and where reads go") or diag($out);
$out = sql_as($standby, 'platform', 'reader', $integration_read, '-v', 'VERBOSITY=verbose');
like($out, $refusal, "an EPJ's read on the standby is refused the same way") or diag($out);
like(sql_as($standby, 'platform', 'dba', q{SELECT kpr.xpr_ipl_message('3201')}, '-v', 'VERBOSITY=verbose'),
	qr/ERROR:  55000: the access log is not running, so no KPR read is allowed/, 'a KPR message on the standby is refused (55000)');
is($standby->safe_psql('platform', 'SELECT deling.access_log_ready()'), 'f', 'deling.access_log_ready() is false on the standby');
is(sql_as($standby, 'platform', 'dba', q{SELECT concat_ws(' ', worker_running, ready, slot_exists, slot_held_by_worker,
		lag_bytes IS NULL, refused_reads, log_entries, gap) FROM deling.status}),
	"f f f f t 2 $entries f",
	"deling.status on the standby: no worker, not ready, no slot, no lag measured, the 2 refused sharing reads (KPR's refusal is not counted), the replicated log's $entries entries, no gap");
$primary->safe_psql('platform', 'SELECT deling.access_log_drain()');
is($primary->safe_psql('platform', 'SELECT count(*) FROM deling.access_log'), $entries,
	'the refused reads left no entry (a standby writes nothing)');
is($standby->safe_psql('platform', q{SELECT deling.verify_access_log(NULL)->>'valid'}), 'true',
	'the replicated log verifies on the standby');
is(sql_as($standby, 'platform', 'dba', q{SELECT api.access_review('3201', now() - interval '1 hour', now() + interval '1 minute')->>'accesses'}),
	'2', "a DBA's review of the replicated log works on the standby");

# the primary goes on serving and logging reads; the standby replays them
like(doctor_read($primary), qr/^total=3$/m, "after the standby's refusals, a doctor's read on the primary is served");
$primary->safe_psql('platform', 'SELECT deling.access_log_drain()');
is($primary->safe_psql('platform', q{SELECT count(*) FROM deling.access_log WHERE entry->>'request_id' = 'standby-' || } . $n),
	'1', 'and logged there');
is($primary->safe_psql('platform', q{SELECT concat_ws(' ', worker_running, ready, slot_held_by_worker, gap, refused_reads) FROM deling.status}),
	't t t f 0', "the primary's deling.status: worker running, ready, slot held, no gap, nothing refused");
$primary->wait_for_catchup('standby');
is($standby->safe_psql('platform', 'SELECT count(*) FROM deling.access_log'), $entries + 1,
	"the standby replays the primary's new entry");

# failover: the primary goes, the standby is promoted
$primary->stop;
$standby->promote;
ok(wait_for($standby, 'platform', q{SELECT gap AND gap_cause LIKE '%dropped%' FROM deling.status}, 't', 30),
	'promoted, its worker finds no slot: a dropped gap');
like(doctor_read($standby), qr/55000: the access log has a gap no DBA has acknowledged/,
	'reads are refused until a DBA acknowledges it');
like(sql_as($standby, 'platform', 'dba', q{SELECT deling.access_log_acknowledge_gap('failover to the standby in the standby test')}),
	qr/"gap": "dropped"/, 'the DBA acknowledges the gap');
ok(wait_access_log($standby, 'platform'), 'the access log takes entries on the new primary');
like(doctor_read($standby), qr/^total=3$/m, "a doctor's read on the new primary is served");
$standby->safe_psql('platform', 'SELECT deling.access_log_drain()');
is($standby->safe_psql('platform', q{SELECT count(*) FROM deling.access_log WHERE entry->>'request_id' = 'standby-' || } . $n
		  . q{ UNION ALL SELECT count(*) FROM deling.access_log WHERE kind = 'gap' AND entry->>'gap' = 'dropped'
		  UNION ALL SELECT (deling.verify_access_log(NULL)->>'valid')::boolean::int}),
	"1\n1\n1", 'it is logged there, after the gap entry, and the chain verifies');

$standby->stop;
done_testing();
