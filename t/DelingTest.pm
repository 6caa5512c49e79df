# DelingTest: what deling's TAP tests (t/*.pl, on PostgreSQL's own
# PostgreSQL::Test::Cluster) share: servers configured the way deling needs
# them, waiting for the access log, psql as a given login, tokens minted
# with the test tools.
#
# Every node's superuser is called postgres, whoever runs the tests (as the
# security suite's files expect: \c - postgres), and PGUSER says so.
package DelingTest;

use strict;
use warnings;
use Exporter 'import';
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(deling_node plain_node deling_settings wait_access_log wait_for
  psql_as sql_as mint_token doctor_read_is_logged repo_path);

$ENV{PGUSER} = 'postgres';

# the tests mint tokens with per-run keys (tests/tools/mint-jwt), never
# committed (after PostgreSQL::Test::Utils has made tmp_check)
INIT
{
	$ENV{DELING_TEST_KEYS} ||= PostgreSQL::Test::Utils::tempdir();
}

# repo_path(relative): a path in the repository the tests run from
sub repo_path
{
	my ($rel) = @_;
	return "$FindBin::RealBin/../$rel";
}

# plain_node(name, settings...): an initialised, not started server, with
# streaming and logical WAL allowed, sized as initdb sizes a server (not as
# small as PostgreSQL::Test::Cluster makes one), superuser postgres, and
# the given settings ("name = 'value'") appended
sub plain_node
{
	my ($name, @settings) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical', extra => [ '-U', 'postgres' ]);
	$node->append_conf('postgresql.conf',
		join("\n", "shared_buffers = '128MB'", 'max_connections = 100', @settings) . "\n");
	return $node;
}

# deling_settings(database): the settings deling needs (tests/deling.conf by
# way of scripts/pg-options.sh), the access log draining `database`
sub deling_settings
{
	my ($db) = @_;
	my @settings = split /\n/, `${\ repo_path('scripts/pg-options.sh')} $db`;
	die "scripts/pg-options.sh failed" if $? != 0 || !@settings;
	return map { my ($k, $v) = split /=/, $_, 2; "$k = '$v'" } @settings;
}

# deling_node(name, database, extra settings...): a started server with
# deling preloaded, logical WAL, and the access log's worker draining
# `database` (created here); extra settings ("name = value") come last
sub deling_node
{
	my ($name, $db, @extra) = @_;
	my $node = plain_node($name, deling_settings($db), @extra);
	$node->start;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"}) unless $db eq 'postgres';
	return $node;
}

# wait_access_log(node, database): wait until the access log takes entries
# (the worker holds its slot), so that sharing reads are allowed
sub wait_access_log
{
	my ($node, $db) = @_;
	return $node->poll_query_until($db, 'SELECT deling.access_log_ready()');
}

# psql_as(node, database, user, sql, psql params...): $node->psql as `user`
# (the method's return value: the exit code, or in list context (exit code,
# stdout, stderr))
sub psql_as
{
	my ($node, $db, $user, $sql, %params) = @_;
	return $node->psql($db, $sql, connstr => $node->connstr($db) . " user=$user", %params);
}

# sql_as(node, database, user, sql): stdout of psql -XAtq as `user` with
# ON_ERROR_STOP, errors (with stderr) appended as "ERROR: ..."; for checks
# on what a login sees, including what it is refused
sub sql_as
{
	my ($node, $db, $user, $sql, @psql_options) = @_;
	my ($ret, $out, $err) = psql_as($node, $db, $user, $sql, extra_params => \@psql_options);
	return $ret == 0 ? $out : join("\n", grep { $_ ne '' } $out, $err);
}

# wait_for(node, database, sql, expected, seconds): poll as the superuser
# until sql returns `expected` (at most `seconds`, default 10)
sub wait_for
{
	my ($node, $db, $sql, $expected, $seconds) = @_;
	my $until = time() + ($seconds // 10);
	while (1)
	{
		my ($ret, $out) = $node->psql($db, $sql);
		return 1 if $ret == 0 && $out eq $expected;
		return 0 if time() > $until;
		usleep(100_000);
	}
}

# mint_token(alg, kid, payload json, [extra header json]): a compact JWT from
# tests/tools/mint-jwt (RS256, none, HS256, badsig; keys in $DELING_TEST_KEYS)
sub mint_token
{
	my @args = @_;
	my ($out, $err);
	IPC::Run::run([ repo_path('tests/tools/mint-jwt'), @args ], '>', \$out, '2>', \$err)
	  or die "mint-jwt @args[0,1] failed: $err";
	chomp $out;
	return $out;
}

# doctor_read_is_logged(node, database, jti, works, logged): the platform
# loaded by tests/upgrade/load.sql serves a doctor: a Bodø legevakt doctor's
# HelseID token (key load1) authenticates load_lege, api.legevakt_summary of
# a Bodø citizen gives a Bundle (assertion `works`), and after a drain the
# read is exactly one new entry in the access log (assertion `logged`)
sub doctor_read_is_logged
{
	my ($node, $db, $jti, $works, $logged) = @_;
	my $claims = $node->safe_psql($db, qq{
	SELECT jsonb_build_object('iss', 'https://helseid-sts.nhn.no', 'aud', 'nhn:deling',
	  'iat', extract(epoch FROM now())::int - 10, 'exp', extract(epoch FROM now())::int + 600, 'jti', '$jti',
	  'scope', jsonb_build_array('nhn:deling/helsepersonell'),
	  'helseid://claims/identity/pid', '13916300004', 'helseid://claims/identity/security_level', '4',
	  'helseid://claims/identity/assurance_level', 'high', 'helseid://claims/hpr/hpr_number', '565501872',
	  'helseid://claims/client/claims/orgnr_parent', (SELECT orgnr FROM deling.kommune WHERE kommune_nr = '1804'),
	  'helseid://claims/client/claims/orgnr_child', (SELECT orgnr FROM deling.organisation WHERE name = 'Bodø legevakt'),
	  'authorization_details', jsonb_build_object('type', 'nhn:tillitsrammeverk:parameters',
	    'toa', extract(epoch FROM now())::int - 60,
	    'care_relationship', jsonb_build_object('purpose_of_use', jsonb_build_object('code', 'TREAT'))))});
	my $token = mint_token('RS256', 'load1', $claims);
	my $pid = $node->safe_psql($db, "SELECT min(pid) FROM deling.citizen WHERE kommune_nr = '1804'");
	my $seq = $node->safe_psql($db, 'SELECT max(seq) FROM deling.access_log');
	is($node->safe_psql($db, qq{
	SET SESSION AUTHORIZATION load_lege;
	SELECT deling.authenticate('$token', for_session => true) IS NOT NULL;
	SELECT (api.legevakt_summary('$pid'))::jsonb->>'resourceType';}),
		"t\nBundle", $works);
	$node->safe_psql($db, 'SELECT deling.access_log_drain()');
	is($node->safe_psql($db,
			"SELECT count(*) FROM deling.access_log WHERE seq > $seq AND entry->>'citizen' = '$pid' AND entry->>'service' = 'legevakt-summary'"),
		'1', $logged);
}

1;
