# The cache of verified tokens (src/token_cache.c, docs/access-log.md,
# "Verified tokens"): a token verified once is answered from the backend's
# cache, but never where the full check would refuse it:
#  - a key revoked, removed or rotated out, an organisation or kommune made
#    inactive in ANOTHER session: the cached token is refused at once;
#  - a change in the session's own open transaction: refused there, and
#    accepted again after its ROLLBACK;
#  - exp, the attestation's age: a cached token is refused once its time
#    is up; a token not yet valid (nbf) is not remembered;
#  - another audience or issuer: refused;
#  - memory is bounded: at most the cache's capacity, however many tokens.
# Each refusal is checked after a hit proved the token was in the cache.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use PostgreSQL::Test::Cluster;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = deling_node('tokencache', 'postgres');
my %pub = map { $_ => mint_token('pubkey', $_) } qw(tc1 tc2 tc3);
$node->safe_psql('postgres', qq{
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(20, 3);
SELECT deling.add_trusted_key('tc1', \$\$$pub{tc1}\$\$);
SELECT deling.add_trusted_key('tc2', \$\$$pub{tc2}\$\$);
CREATE FUNCTION try_verify(tok text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE ctx jsonb;
BEGIN
    ctx := deling.verify_token(tok);
    RETURN 'accepted ' || (ctx->>'kind') || coalesce(' ' || (ctx->>'kommune_nr'), '');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END \$\$;
});
my $unit = $node->safe_psql('postgres', q{SELECT orgnr FROM deling.organisation WHERE name = 'Asker og Bærum legevakt'});

# token(kid, claims to add or override (JSON members)): a signed token
my $jti = 0;
sub token
{
	my ($kid, %over) = @_;
	my $now = int(time());
	my %c = (
		iss => '"https://helseid-sts.nhn.no"', aud => '"nhn:deling"', iat => $now, exp => $now + 600,
		jti => '"t' . ++$jti . '"',
		scope => '["openid","nhn:deling/helsepersonell"]',
		'helseid://claims/identity/pid' => '"13916300004"', 'helseid://claims/identity/security_level' => '"4"',
		'helseid://claims/identity/assurance_level' => '"high"', 'helseid://claims/hpr/hpr_number' => '"565501872"',
		'helseid://claims/client/claims/orgnr_parent' => '"935478715"',
		'helseid://claims/client/claims/orgnr_child' => qq("$unit"),
		%over);
	return mint_token('RS256', $kid, '{' . join(',', map { qq("$_":$c{$_}) } grep { defined $c{$_} } sort keys %c) . '}');
}
# an integration token of Bærum kommune (its kommune comes from the organisation table)
sub integration_token
{
	return token('tc1', scope => '["nhn:deling/integrasjon"]', 'helseid://claims/client/claims/orgnr_child' => undef,
		'helseid://claims/hpr/hpr_number' => undef, 'helseid://claims/identity/pid' => undef,
		'helseid://claims/client/client_id' => '"epj-baerum"');
}

# session A: one backend for the whole test (its cache); changes come from
# other sessions (safe_psql: a connection of its own each)
my $a = $node->background_psql('postgres', on_error_stop => 0);
sub in_a { my $out = $a->query($_[0]); $a->{stderr} = ''; return $out; }
sub verify { return in_a("SELECT try_verify('$_[0]')"); }
sub stat_a { return in_a("SELECT deling.token_cache_status()->>'$_[0]'"); }
sub other { return $node->safe_psql('postgres', $_[0]); }

# verified_then_hit(token, expected, name): verified (a miss), then answered
# from the cache (a hit); returns true when both happened
sub verified_then_hit
{
	my ($tok, $expected, $name) = @_;
	my ($hits, $misses) = (stat_a('hits'), stat_a('misses'));
	my $first = verify($tok);
	my $second = verify($tok);
	my ($hits2, $misses2) = (stat_a('hits'), stat_a('misses'));
	return ok($first eq $expected && $second eq $expected && $misses2 == $misses + 1 && $hits2 == $hits + 1,
		"$name: verified once, then answered from the cache")
	  || diag("first: $first; second: $second; hits $hits -> $hits2, misses $misses -> $misses2");
}

# --- a hit, and the PostgREST path -------------------------------------------
my $tok = token('tc1');
verified_then_hit($tok, 'accepted person', 'a person token');
is(stat_a('entries'), '1', 'one entry in the cache');
my $hits = stat_a('hits');
is(in_a(qq{BEGIN; SET LOCAL ROLE deling_helsepersonell;
SELECT set_config('request.headers', '{"authorization": "Bearer $tok"}', true) IS NOT NULL;
SELECT deling.pre_request(); SELECT deling.whoami()->>'hpr'; COMMIT;}), "t\n\n565501872",
	'deling.pre_request (as PostgREST calls it) sets the context from the cached token');
is(stat_a('hits'), $hits + 1, 'deling.pre_request answered from the cache');

# --- keys changed in another session ----------------------------------------
other(q{SELECT deling.revoke_trusted_key('tc1')});
like(verify($tok), qr/^28000: invalid token: key id "tc1" is not a trusted key/,
	'a key revoked in another session: the cached token is refused');
other(qq{SELECT deling.add_trusted_key('tc1', \$\$$pub{tc1}\$\$)});
verified_then_hit($tok, 'accepted person', 'the key trusted again');
other(q{DELETE FROM deling.trusted_key WHERE kid = 'tc1'});
like(verify($tok), qr/^28000: invalid token: key id "tc1" is not a trusted key/,
	'a key removed in another session: the cached token is refused');
other(qq{SELECT deling.add_trusted_key('tc1', \$\$$pub{tc1}\$\$)});

# rotation: tc3 added, tc2 revoked
my $tok2 = token('tc2');
verified_then_hit($tok2, 'accepted person', 'a token of the key rotated out');
other(qq{SELECT deling.add_trusted_key('tc3', \$\$$pub{tc3}\$\$); SELECT deling.revoke_trusted_key('tc2');});
like(verify($tok2), qr/^28000: invalid token: key id "tc2" is not a trusted key/,
	'keys rotated in another session: the cached token of the old key is refused');
verified_then_hit(token('tc3'), 'accepted person', 'a token of the new key');

# a change in another session's open transaction: not yet seen, and the full check agrees
verified_then_hit($tok, 'accepted person', 'the first token again');
my $b = $node->background_psql('postgres');
$b->query_safe(q{BEGIN; SELECT deling.revoke_trusted_key('tc1');});
is(verify($tok), 'accepted person', 'a revocation not yet committed elsewhere: still accepted (as by the full check)');
$b->query_safe('COMMIT');
like(verify($tok), qr/^28000: invalid token: key id "tc1" is not a trusted key/, 'once it commits: refused');
$b->quit;
other(qq{SELECT deling.add_trusted_key('tc1', \$\$$pub{tc1}\$\$)});

# --- a change in the session's own transaction ------------------------------
verified_then_hit($tok, 'accepted person', 'the first token again');
like(in_a(q{BEGIN; SELECT deling.revoke_trusted_key('tc1');} . "SELECT try_verify('$tok');"),
	qr/^28000: invalid token: key id "tc1" is not a trusted key/m, 'revoked in its own open transaction: refused there');
is(in_a("ROLLBACK; SELECT try_verify('$tok')"), 'accepted person', 'after the ROLLBACK: accepted');

# --- organisations and kommuner ---------------------------------------------
my $itok = integration_token();
verified_then_hit($itok, 'accepted integration 3201', 'an integration token of Bærum');
other(q{UPDATE deling.organisation SET active = false WHERE orgnr = '935478715'});
like(verify($itok), qr/^42501: organisation 935478715 does not act for an active kommune/,
	'its organisation made inactive in another session: refused');
other(q{UPDATE deling.organisation SET active = true WHERE orgnr = '935478715'});
verified_then_hit($itok, 'accepted integration 3201', 'the organisation active again');
other(q{UPDATE deling.kommune SET active = false WHERE kommune_nr = '3201'});
like(verify($itok), qr/^42501: organisation 935478715 does not act for an active kommune/,
	'its kommune made inactive in another session: refused');
other(q{UPDATE deling.kommune SET active = true WHERE kommune_nr = '3201'});

# --- audience and issuer -----------------------------------------------------
verified_then_hit($tok, 'accepted person', 'the first token again');
like(in_a("SET deling.jwt_audience = 'nhn:other'; SELECT try_verify('$tok')"),
	qr/^28000: invalid token: "aud" must be the single audience "nhn:other"/, 'another audience: refused');
like(in_a("RESET deling.jwt_audience; SET deling.jwt_issuer = 'https://other'; SELECT try_verify('$tok')"),
	qr/^28000: invalid token: issuer "https:\/\/helseid-sts.nhn.no" is not trusted/, 'another issuer: refused');
in_a('RESET deling.jwt_issuer');

# --- time ---------------------------------------------------------------------
# valid for about 10 more seconds: exp 50 s ago (the leeway is 60 s), an
# attestation 3,590 s old (its maximum age is 3,600 s); and one valid in
# about 8 seconds (nbf 68 s ahead); margins for a loaded machine
my $t0 = int(time());
my $expiring = token('tc1', exp => $t0 - 50, iat => $t0 - 120);
my $aging = token('tc1', authorization_details =>
	  qq({"type":"nhn:tillitsrammeverk:parameters","toa":${\ ($t0 - 3590)},"care_relationship":{"purpose_of_use":{"code":"TREAT"}}}));
my $early = token('tc1', nbf => $t0 + 68);
verified_then_hit($expiring, 'accepted person', 'a token about to expire');
verified_then_hit($aging, 'accepted person', 'a token whose attestation is about to be too old');
my $entries = stat_a('entries');
like(verify($early), qr/^28000: invalid token: not yet valid/, 'a token not yet valid (nbf) is refused');
is(stat_a('entries'), $entries, 'and not remembered');
sleep($t0 + 11.5 - time());
like(verify($expiring), qr/^28000: invalid token: expired/, 'once past exp and the leeway: the cached token is refused');
like(verify($aging), qr/^28000: invalid token: attestation \("toa"\) is older than 60 minutes/,
	'once the attestation is too old: the cached token is refused');
verified_then_hit($early, 'accepted person', 'the token once its nbf has come');

# --- bounded -----------------------------------------------------------------
my $capacity = stat_a('capacity');
ok($capacity > 0 && $capacity <= 1024, "the cache holds at most $capacity tokens");
my @many = map { token('tc1') } 1 .. $capacity + 10;
my $accepted = grep { $_ eq 'accepted person' } map { verify($_) } @many;
is($accepted, $capacity + 10, ($capacity + 10) . ' different tokens verified');
is(stat_a('entries'), $capacity, "the cache holds $capacity of them");
my $before = stat_a('misses');
verify($many[0]);
is(stat_a('misses'), $before + 1, 'the oldest was let go: verified again');
is(stat_a('changes_under_way'), '0', 'no change under way once every change has ended');

$a->quit;
$node->stop;
done_testing();
