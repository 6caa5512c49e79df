# KPR continuous reporting as a kommune runs it (HIS 1135:2021), through the
# public APIs only: the DBA (a deling_admin login) onboards Bodø, Bodø's EPJ
# (a login bound to 1804) records services with api.municipal_services_ingest_batch,
# and the KPR reporter (a deling_kpr login) takes a message after each step with
# kpr.xpr_ipl_message.  Every message is written to a file and validated with
# xmllint against the official XSD (not the extension's own validator); then
# a checker that knows only the XML and the specification's rules replays
# every notification as KPR would hold them: løpenummer and GUID chain,
# M and C referring to the live original N, one live start per service,
# nothing attached to a start or stop KPR does not hold, only types
# 18, 19, 20, 21 and 29.  Runs its own short-lived server.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use File::Compare;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $xsd = repo_path('kpr/xpr-ipl-56.0.0/XPR(ipl).xsd');
die('xmllint is not installed (Debian: libxml2-utils; scripts/bootstrap.sh installs it)')
  unless grep { -x "$_/xmllint" } split /:/, $ENV{PATH};
my $node = deling_node('kpr', 'postgres');
my $out = PostgreSQL::Test::Utils::tempdir();    # the messages, one file each

# valid(file): xmllint --schema accepts it
sub valid
{
	my ($file) = @_;
	return IPC::Run::run([ 'xmllint', '--noout', '--schema', $xsd, $file ], '>', \my $o, '2>', \my $e);
}
# run(user, sql, psql variables NAME=VALUE...): its output, in list context (exit code, output, errors)
sub run
{
	my ($user, $sql, @vars) = @_;
	my ($rc, $o, $e) = psql_as($node, 'postgres', $user, $sql, extra_params => [ map { ('-v', $_) } @vars ]);
	return wantarray ? ($rc, $o, $e) : $o;
}
# su(sql, vars...): as the superuser; an error is shown (the checks after it fail)
sub su
{
	my ($rc, $o, $e) = run('postgres', @_);
	diag("superuser's query failed: $e") if $rc != 0;
	return $o;
}
sub as { my ($who, @rest) = @_; return run($who, @rest); }
sub slurp { return -e $_[0] ? slurp_file($_[0]) : ''; }
sub spew { my ($file, $text) = @_; open my $fh, '>', $file or die "$file: $!"; print $fh $text; close $fh; }

su(<<'SQL');
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(0, 3);
CREATE ROLE scn_dba LOGIN IN ROLE deling_admin;
CREATE ROLE scn_epj LOGIN IN ROLE deling_integrasjon;
SELECT deling.bind_integration('scn_epj', '1804');
CREATE ROLE scn_kpr LOGIN IN ROLE deling_kpr;
-- the scenario's people are synthetic (Tenor) numbers, which production never reports
ALTER ROLE scn_kpr SET deling.kpr_test_mode = on;
-- the checker's own notes: never read by the extension
CREATE SCHEMA scenario;
CREATE TABLE scenario.service (source_id text PRIMARY KEY, service_id text NOT NULL);
CREATE TABLE scenario.msg (n serial PRIMARY KEY, name text NOT NULL, doc text NOT NULL);
SQL
ok(wait_for($node, 'postgres', 'SELECT deling.access_log_ready()', 't', 20), 'the access log is ready');

my $today = su(q{SELECT to_char((now() AT TIME ZONE 'Europe/Oslo')::date, 'YYYY-MM-DD')});
sub day { return su("SELECT to_char(date '$today' + ($_[0]), 'YYYY-MM-DD')"); }    # day(-30): 30 days ago
sub oslo
{
	return su(qq{SELECT to_char(timestamp '$_[0]' AT TIME ZONE 'Europe/Oslo' AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
}
my $yesterday_morning = oslo(day(-1) . ' 08:00');
my $this_morning = oslo("$today 00:01");
my ($A, $B, $C) = map { su("SELECT deling.synthetic_orgnr($_)") } 401, 402, 403;
sub pid { return su("SELECT deling.synthetic_fnr(date '$_[0]', 50)"); }
my ($P1, $P2, $P3, $P4, $P5) = map { pid($_) } qw(1931-01-11 1944-04-14 1952-02-22 1939-09-19 1960-06-16);

# epj(json array): Bodø's EPJ sends a batch; the service ids it gets back are noted
sub epj
{
	my ($batch) = @_;
	my ($rc, $r, $e) = as('scn_epj', 'SELECT api.municipal_services_ingest_batch($j$' . $batch . '$j$::jsonb)');
	if ($rc != 0)
	{
		diag("ingest failed: $e");
		return;
	}
	su(q{INSERT INTO scenario.service SELECT i->>'source_id', i->>'service_id' FROM jsonb_array_elements($j$} . $r
		  . q{$j$::jsonb->'items') i ON CONFLICT (source_id) DO NOTHING});
}
# svc(source_id, pid, code, status, start, end|null, orgnr|null, [stops json], [registered_at]): one service as JSON
sub svc
{
	my ($source, $pid, $code, $status, $start, $end, $org, $stops, $reg) = @_;
	my $q = sub { my ($v) = @_; return defined $v && $v ne 'null' ? qq{"$v"} : 'null' };
	return sprintf('{"source_system": "gerica", "source_id": "%s", "pid": "%s", "service_code": "%s", "status": "%s", '
		  . '"period_start": "%s", "period_end": %s, "unit_orgnr": %s, "stops": %s, "registered_at": %s}',
		$source, $pid, $code, $status, $start, $q->($end), $q->($org), $stops // '[]', $q->($reg));
}
sub stop { my ($from, $to) = @_; return $to eq 'open' ? qq({"from": "$from"}) : qq({"from": "$from", "to": "$to"}); }

# take(name): the KPR reporter takes the next message; it is written to a file
# and must validate against the official XSD with xmllint
sub take
{
	my ($name) = @_;
	my $f = "$out/$name.xml";
	my ($rc, $doc, $err) = as('scn_kpr', q{SELECT kpr.xpr_ipl_message('1804')});
	spew($f, $rc == 0 ? "$doc\n" : '');
	my $lint = '';
	my $valid = IPC::Run::run([ 'xmllint', '--noout', '--schema', $xsd, $f ], '>', \my $o, '2>', \$lint);
	ok($valid && -s $f, "message $name validates against XPR(ipl).xsd (xmllint)");
	diag($err) if $err ne '';
	diag(join "\n", grep { defined } (grep { !/validates$/ } split /\n/, $lint)[0 .. 4]) if !$valid;
	su(q{INSERT INTO scenario.msg (name, doc) VALUES (:'name', :'doc');}, "doc=" . slurp($f), "name=$name");
}
# list(name): the message's notifications, one a line: status event source_id [day offset] [provider A/B/C]
sub list
{
	my ($name) = @_;
	return su(<<'SQL', 'doc=' . slurp("$out/$name.xml"), "A=$A", "B=$B", "C=$C", "today=$today");
SELECT concat_ws(' ', (xpath('/*/@statusNotifikasjon', x))[1]::text, (xpath('local-name(/*/*)', x))[1]::text,
       coalesce(s.source_id, '?'),
       ((xpath('/*/*/@hendelseDato', x))[1]::text::date - date :'today')::text,
       CASE (xpath('/*/*/@tjenesteOrgNr', x))[1]::text WHEN :'A' THEN 'A' WHEN :'B' THEN 'B' WHEN :'C' THEN 'C' END)
FROM unnest(xpath('/k:Melding/k:Notifikasjon', :'doc'::xml, ARRAY[ARRAY['k', 'http://www.npr.no/xmlstds/56_0_0_ipl']]))
     WITH ORDINALITY AS n(x, i)
LEFT JOIN scenario.service s ON s.service_id = (xpath('/*/*/@tjenesteID', x))[1]::text
ORDER BY i;
SQL
}
# expect(name, description, lines): the message holds exactly these notifications, in this order
sub expect
{
	my ($name, $description, $lines) = @_;
	is(list($name), $lines, "message $name: $description");
}
sub dq
{
	return as('scn_kpr', q{SELECT source_id || ': ' || problem FROM kpr.data_quality('1804') WHERE problem NOT LIKE 'test person%' ORDER BY 1});
}

# 0. xmllint itself rejects a message without its Kommune (the check can fail)
spew("$out/broken.xml", '<?xml version="1.0"?><Melding xmlns="http://www.npr.no/xmlstds/56_0_0_ipl" versjon="56.0.0" meldingstype="K" leverandor="x" navnEPJ="x" versjonEPJ="1" versjonUt="1"><Kontaktperson kontPerson="x" meldEpost1="x@y.no" typeKontaktperson="16"/></Melding>');
ok(!valid("$out/broken.xml"), 'xmllint rejects a message without Kommune');

# 1. onboarding: the DBA starts Bodø's reporting with a cut-off date 90 days back
as('scn_dba', "SELECT kpr.start_reporting('1804', '${\ day(-90)}')");
my (undef, $r, $r_err) = as('scn_kpr', q{SELECT kpr.xpr_ipl_message('1804')});
ok($r_err =~ /has no KPR contact person of type 1 \(Teknisk produksjon\), 15 .*, 16 \(IPLOS kontaktperson\), 17 \(IPLOS innsendingsansvarlig\)/
	  && $r_err =~ /HINT:.*kpr\.add_contact/,
	'no message without the IPLOS contact persons (55000, with a hint)') or diag($r_err);
as('scn_dba', <<'SQL');
SELECT kpr.add_contact(NULL, 1, 'NHN drift', 'drift@nhn.no', '+47 24 20 00 00');
SELECT kpr.add_contact(NULL, 15, 'deling meldingsvalidering', 'deling@nhn.no');
SELECT kpr.add_contact('1804', 16, 'Kari IPLOS', 'iplos@bodo.kommune.no', '+47 900 00 016');
SELECT kpr.add_contact('1804', 17, 'Per Innsending', 'kpr@bodo.kommune.no', '+47 900 00 017');
SQL

# 2. Bodø's EPJ records its services, registered yesterday morning
my $nh_stops = '[' . stop(day(-95), day(-80)) . ', ' . stop(day(-300), day(-290)) . ']';
my $s_nh = svc('s-nh', $P1, 21, 'active', day(-400), 'null', $A, $nh_stops, $yesterday_morning);
my $s_bolig = svc('s-bolig', $P2, 29, 'active', day(-200), 'null', $C, '[]', $yesterday_morning);
my $s_kort = svc('s-kort', $P3, 18, 'ended', day(-30), day(-16), $A, '[]', $yesterday_morning);
my $s_avl = svc('s-avl', $P4, 20, 'on-hold', day(-50), 'null', $B, '[]', $yesterday_morning);
my $rehab_stops = '[' . stop(day(-14), day(-12)) . ']';
my $s_rehab = svc('s-rehab', $P5, 19, 'active', day(-14), 'null', $B, $rehab_stops, $yesterday_morning);
my $s_home = svc('s-home', $P1, 15, 'active', day(-60), 'null', $A, '[]', $yesterday_morning);
my $s_kad = svc('s-kad', $P2, 25, 'ended', day(-9), day(-7), $A, '[]', $yesterday_morning);
my $s_old = svc('s-old', $P3, 21, 'ended', day(-500), day(-100), $A, '[]', $yesterday_morning);
epj("[$s_nh, $s_bolig, $s_kort, $s_avl, $s_rehab, $s_home, $s_kad, $s_old]");

# 3. the first message is the initial load
take('01-initial');
expect('01-initial',
	'the initial load: starts of services active on the cut-off, the stop open on it, then events since; start first; no 15, 25 or older',
	"N TjenesteStart s-nh -400 A
N TjenesteStart s-bolig -200 C
N MidlertidigStoppFra s-nh -95 A
N MidlertidigStoppTil s-nh -80 A
N TjenesteStart s-avl -50 B
N TjenesteStart s-kort -30 A
N TjenesteSlutt s-kort -16 A
N TjenesteStart s-rehab -14 B
N MidlertidigStoppFra s-rehab -14 B
N MidlertidigStoppTil s-rehab -12 B");
my $reg = su(<<'SQL', 'doc=' . slurp("$out/01-initial.xml"));
SELECT string_agg(DISTINCT (xpath('//@hendelseRegTid', x))[1]::text, ',')
FROM unnest(xpath('/k:Melding/k:Notifikasjon', :'doc'::xml, ARRAY[ARRAY['k', 'http://www.npr.no/xmlstds/56_0_0_ipl']])) x;
SQL
is($reg, day(-1) . 'T08:00:00',
	'hendelseRegTid is when the source registered the services (yesterday 08:00 Oslo), not when the message was built');
like(dq(), qr/^s-avl: on hold without an ongoing temporary stop/m,
	'the on-hold service without stop dates is listed by kpr.data_quality');
take('02-nothing');
expect('02-nothing', 'nothing new: an empty message', '');

# 4. two provider changes of the nursing home this morning (a mistyped orgnr corrected)
epj('[' . svc('s-nh', $P1, 21, 'active', day(-400), 'null', $B, $nh_stops, $this_morning) . ']');
epj('[' . svc('s-nh', $P1, 21, 'active', day(-400), 'null', $C, $nh_stops, $this_morning) . ']');
take('03-provider');
expect('03-provider', 'each provider change is its own event, dated today, with its new orgnr; start and stops are not re-sent',
	"N TjenesteutforerEndret s-nh 0 B
N TjenesteutforerEndret s-nh 0 C");
take('04-after-provider');
expect('04-after-provider', "the kommune's reporting goes on", '');
# 5. the orgnr removed after the changes
epj('[' . svc('s-nh', $P1, 21, 'active', day(-400), 'null', 'null', $nh_stops, $this_morning) . ']');
take('05-orgnr-removed');
expect('05-orgnr-removed', 'a removed orgnr rewrites nothing already sent', '');
like(dq(), qr/^s-nh: no provider organisation number/m, 'the nursing home without an orgnr is listed by kpr.data_quality');

# 6. the short stay's start corrected to two days earlier
epj('[' . svc('s-kort', $P3, 18, 'ended', day(-32), day(-16), $A, '[]', $this_morning) . ']');
take('06-start-corrected');
expect('06-start-corrected', 'a corrected start date is one M of the start', 'M TjenesteStart s-kort -32 A');

# 7. the rehabilitation stay ends; the end is withdrawn; entered again; corrected
epj('[' . svc('s-rehab', $P5, 19, 'ended', day(-14), day(-1), $B, $rehab_stops, $this_morning) . ']');
take('07-end');
epj('[' . svc('s-rehab', $P5, 19, 'active', day(-14), 'null', $B, $rehab_stops, $this_morning) . ']');
take('08-end-withdrawn');
epj('[' . svc('s-rehab', $P5, 19, 'ended', day(-14), day(-1), $B, $rehab_stops, $this_morning) . ']');
take('09-end-again');
epj('[' . svc('s-rehab', $P5, 19, 'ended', day(-14), day(-2), $B, $rehab_stops, $this_morning) . ']');
take('10-end-corrected');
is(join("\n", map { list($_) } qw(07-end 08-end-withdrawn 09-end-again 10-end-corrected)),
	"N TjenesteSlutt s-rehab -1 B
C TjenesteSlutt s-rehab -1 B
N TjenesteSlutt s-rehab -1 B
M TjenesteSlutt s-rehab -2 B", 'end, withdrawn, again, corrected: N, C, N, M');

# 8. the housing service deleted (entered in error), the deletion undone, then its start corrected
epj('[' . svc('s-bolig', $P2, 29, 'entered-in-error', day(-200), 'null', $C, '[]', $this_morning) . ']');
take('11-deleted');
epj('[' . svc('s-bolig', $P2, 29, 'active', day(-200), 'null', $C, '[]', $this_morning) . ']');
take('12-undone');
epj('[' . svc('s-bolig', $P2, 29, 'active', day(-201), 'null', $C, '[]', $this_morning) . ']');
take('13-corrected');
is(join("\n", map { list($_) } qw(11-deleted 12-undone 13-corrected)),
	"C TjenesteStart s-bolig -200 C
N TjenesteStart s-bolig -200 C
M TjenesteStart s-bolig -201 C", 'deleted, undone, corrected: C, N (a new original), M');

# 9. the short stay corrected to the withdrawn code 6, then back
epj('[' . svc('s-kort', $P3, 6, 'ended', day(-32), day(-16), $A, '[]', $this_morning) . ']');
take('14-withdrawn-code');
expect('14-withdrawn-code', 'no M with code 6 and no C: held back', '');
is(scalar(() = dq() =~ /^s-kort: .* held back from KPR: service code 6 is withdrawn/mg), 2,
	'the held-back changes are listed by kpr.data_quality with the reason');
epj('[' . svc('s-kort', $P3, 18, 'ended', day(-32), day(-16), $A, '[]', $this_morning) . ']');
take('15-code-back');
expect('15-code-back', 'corrected back: nothing to send', '');
unlike(dq(), qr/^s-kort/m, 'nothing of the short stay is listed any more');

# 10. the on-hold service gets its stop date
epj('[' . svc('s-avl', $P4, 20, 'on-hold', day(-50), 'null', $B, '[' . stop(day(-5), 'open') . ']', $this_morning) . ']');
take('16-stop');
expect('16-stop', 'the stop goes as MidlertidigStoppFra', 'N MidlertidigStoppFra s-avl -5 B');
unlike(dq(), qr/^s-avl/m, 'the on-hold service is no longer listed');

# 11. KPR's view, replayed from the messages alone
su(<<'SQL');
CREATE FUNCTION scenario.replay() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    prev_nr bigint := 0;
    prev_guid text := '00000000-0000-0000-0000-000000000000';
    orig jsonb := '{}';        -- original N guid -> {el, id, stopp, live}
    o jsonb;
    guids text[] := '{}';
BEGIN
    FOR r IN
        SELECT m.n, m.name, (xpath('/*/@notifikasjonLopeNr', x))[1]::text::bigint AS nr,
               (xpath('/*/@notifikasjonGUID', x))[1]::text AS guid, (xpath('/*/@notifikasjonForrigeGUID', x))[1]::text AS forrige,
               (xpath('/*/@statusNotifikasjon', x))[1]::text AS st, (xpath('/*/@notifikasjonRef', x))[1]::text AS ref,
               (xpath('local-name(/*/*)', x))[1]::text AS el, (xpath('/*/*/@tjenesteID', x))[1]::text AS id,
               (xpath('/*/*/@midlertidigStoppID', x))[1]::text AS stopp, (xpath('/*/*/@tjenesteType', x))[1]::text AS type,
               (xpath('/*/*/@hendelseGUID', x))[1]::text AS hguid
        FROM scenario.msg m,
             unnest(xpath('/k:Melding/k:Notifikasjon', m.doc::xml, ARRAY[ARRAY['k', 'http://www.npr.no/xmlstds/56_0_0_ipl']])) WITH ORDINALITY AS n(x, i)
        ORDER BY m.n, n.i
    LOOP
        IF r.nr <> prev_nr + 1 THEN RETURN NEXT format('%s: løpenummer %s after %s', r.name, r.nr, prev_nr); END IF;
        IF r.forrige <> prev_guid THEN RETURN NEXT format('%s: %s does not chain to %s', r.name, r.nr, prev_guid); END IF;
        IF r.guid = ANY (guids) OR r.hguid = ANY (guids) THEN RETURN NEXT format('%s: %s reuses a GUID', r.name, r.nr); END IF;
        guids := guids || r.guid || r.hguid;
        IF r.type NOT IN ('18', '19', '20', '21', '29') THEN RETURN NEXT format('%s: %s reports type %s', r.name, r.nr, r.type); END IF;
        IF r.st = 'N' THEN
            IF r.ref IS NOT NULL THEN RETURN NEXT format('%s: N %s has a reference', r.name, r.nr); END IF;
            IF r.el <> 'TjenesteutforerEndret' AND EXISTS (SELECT FROM jsonb_each(orig) e WHERE (e.value->>'live')::boolean
                   AND e.value->>'el' = r.el AND e.value->>'id' = r.id AND e.value->>'stopp' IS NOT DISTINCT FROM r.stopp) THEN
                RETURN NEXT format('%s: N %s %s while KPR holds one', r.name, r.nr, r.el);
            END IF;
            orig := orig || jsonb_build_object(r.guid, jsonb_build_object('el', r.el, 'id', r.id, 'stopp', r.stopp, 'live', true));
        ELSIF r.st IN ('M', 'C') THEN
            o := orig->r.ref;
            IF o IS NULL THEN RETURN NEXT format('%s: %s %s refers to no N', r.name, r.st, r.nr);
            ELSIF NOT (o->>'live')::boolean THEN RETURN NEXT format('%s: %s %s refers to a cancelled original', r.name, r.st, r.nr);
            ELSIF o->>'el' <> r.el OR o->>'id' <> r.id THEN RETURN NEXT format('%s: %s %s refers to another event', r.name, r.st, r.nr);
            END IF;
            IF r.st = 'C' AND o IS NOT NULL THEN
                orig := jsonb_set(orig, ARRAY[r.ref, 'live'], 'false');
                IF r.el IN ('TjenesteStart', 'MidlertidigStoppFra') AND EXISTS (SELECT FROM jsonb_each(orig) e
                       WHERE (e.value->>'live')::boolean AND e.value->>'id' = r.id
                         AND (r.el = 'TjenesteStart' OR (e.value->>'el' = 'MidlertidigStoppTil' AND e.value->>'stopp' = r.stopp))) THEN
                    RETURN NEXT format('%s: C %s of a %s while KPR holds what attaches to it', r.name, r.nr, r.el);
                END IF;
            END IF;
        ELSE
            RETURN NEXT format('%s: %s has status %s', r.name, r.nr, r.st);
        END IF;
        IF r.st <> 'C' AND r.el <> 'TjenesteStart' AND NOT EXISTS (SELECT FROM jsonb_each(orig) e WHERE (e.value->>'live')::boolean
               AND e.value->>'el' = 'TjenesteStart' AND e.value->>'id' = r.id) THEN
            RETURN NEXT format('%s: %s %s while KPR holds no start of the service', r.name, r.st, r.el);
        END IF;
        IF r.st <> 'C' AND r.el = 'MidlertidigStoppTil' AND NOT EXISTS (SELECT FROM jsonb_each(orig) e WHERE (e.value->>'live')::boolean
               AND e.value->>'el' = 'MidlertidigStoppFra' AND e.value->>'stopp' = r.stopp) THEN
            RETURN NEXT format('%s: %s StoppTil while KPR holds no StoppFra', r.name, r.st);
        END IF;
        prev_nr := r.nr;
        prev_guid := r.guid;
    END LOOP;
END
$$;
SQL
my $problems = su('SELECT * FROM scenario.replay()');
is($problems, '',
	'replayed as KPR holds them: numbered and chained, M and C refer to the live original N, one start at a time, nothing without its start or stop, only types 18-21 and 29');
my $contacts = su(q{SELECT string_agg(t, ',' ORDER BY t::int) FROM unnest(xpath('/k:Melding/k:Kontaktperson/@typeKontaktperson', :'doc'::xml, ARRAY[ARRAY['k', 'http://www.npr.no/xmlstds/56_0_0_ipl']])::text[]) t;},
	'doc=' . slurp("$out/16-stop.xml"));
is($contacts, '1,15,16,17', 'every message names contacts of types 1, 15, 16 and 17 (code list 8471)');

# 12. administration: the overview, a failed message re-sent byte for byte, re-send for one person
my $overview = as('scn_kpr', q{SELECT count(*) || ' ' || sum(notifications) FROM kpr.messages('1804') WHERE kind = 'continuous'});
my @taken = glob("$out/[0-9]*.xml");
is($overview, scalar(@taken) . ' '
	  . su(q{SELECT sum((SELECT count(*) FROM unnest(xpath('/k:Melding/k:Notifikasjon', doc::xml, ARRAY[ARRAY['k', 'http://www.npr.no/xmlstds/56_0_0_ipl']])))) FROM scenario.msg}),
	'the overview lists every message with its notifications');
my $last = as('scn_kpr', q{SELECT max(message_id) FROM kpr.messages('1804') WHERE kind = 'continuous'});
as('scn_kpr', "SELECT kpr.mark_message($last, 'failed', 'KPR: timeout')");
spew("$out/resend-failed.xml", as('scn_kpr', "SELECT kpr.resend_message($last)") . "\n");
ok(compare("$out/resend-failed.xml", "$out/16-stop.xml") == 0, 'a failed message is re-sent byte for byte');
is(as('scn_kpr', "SELECT state || ': ' || state_reason FROM kpr.messages('1804') WHERE message_id = $last"), 'failed: KPR: timeout',
	'the overview shows it failed, and why');
spew("$out/resend-person.xml", as('scn_kpr', "SELECT kpr.xpr_ipl_message_for_person('1804', '$P5')") . "\n");
ok(valid("$out/resend-person.xml"), 'the re-send for one person validates (xmllint)');
is(list('resend-person'),
	join("\n", grep { /s-rehab/ } split /\n/, list('01-initial')) . "\n"
	  . join("\n", map { list($_) } qw(07-end 08-end-withdrawn 09-end-again 10-end-corrected)),
	'it holds every notification sent about that person, as sent, in løpenummer order');
spew("$out/resend-lopenr.xml", as('scn_kpr', q{SELECT kpr.xpr_ipl_message('1804', 5::bigint)}) . "\n");
ok(valid("$out/resend-lopenr.xml"), 'the re-send from løpenummer 5 validates (xmllint)');
my @counted = split /\n/, su(q{SELECT deling.access_log_drain() >= 0; SELECT count(DISTINCT entry->>'report') FROM deling.access_log WHERE entry->>'service' = 'kpr' AND entry->>'report' LIKE 'xpr_ipl_message%'});
cmp_ok($counted[-1] // 0, '>=', 3, "KPR's reads and re-sends are in the access log");

$node->stop;
done_testing();
