# Attacks on the access log, in a server of its own (about 35 s):
#  - a superuser who deletes the newest entries, a kommune's whole set, or
#    edits and re-hashes the newest entry (and the head) is caught against an
#    anchor taken earlier; the worker writes anchors to the server log;
#  - an idle server: no server-log line and no WAL from deling;
#  - a login with only REPLICATION cannot advance the slot while the worker
#    holds it; once the worker is down it can, and then reads are refused
#    (55000) until a DBA acknowledges the gap, which is a chain entry;
#  - max_slot_wal_keep_size invalidates the slot while the worker is stopped:
#    reads are refused (55000) until the gap is acknowledged, then the worker
#    makes a new slot and the log carries on;
#  - DROP EXTENSION is refused while the log holds entries, done with the
#    superuser's setting, and the slot goes with the extension.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = deling_node('attacks', 'postgres',
	"deling.access_log_naptime = '100ms'", 'deling.access_log_restart_delay = 3',
	'deling.access_log_anchor_interval = 1', "max_slot_wal_keep_size = '32MB'", 'autovacuum = off');

# su(sql): the superuser's query, its output (errors fail the test)
sub su { return $node->safe_psql('postgres', $_[0]); }
# as(role, sql, psql options...): a login's query, its output or its error
sub as { my ($role, $sql, @opts) = @_; return sql_as($node, 'postgres', $role, $sql, @opts); }
sub waits { my ($sql, $expected, $seconds) = @_; return wait_for($node, 'postgres', $sql, $expected, $seconds); }

my $pid = '14833800095';    # deling.synthetic_fnr('1938-03-14', 0)
su(qq{
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(20, 3);
CREATE ROLE reader_baerum LOGIN IN ROLE deling_integrasjon;
CREATE ROLE reader_bodo LOGIN IN ROLE deling_integrasjon;
CREATE ROLE dba LOGIN IN ROLE deling_admin;
CREATE ROLE replicator LOGIN REPLICATION;
SELECT deling.bind_integration('reader_baerum', '3201');
SELECT deling.bind_integration('reader_bodo', '1804');
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', '$pid'), ('1804', '$pid');
});
my $read = "SELECT (api.news2_observations('$pid'))->>'total'";
sub read_as { return as($_[0], $read); }    # one NEWS2 read: the total, or the error
sub reads { my ($role, $n) = @_; read_as($role) for 1 .. $n; }
sub read_verbose { return as($_[0], $read, '-v', 'VERBOSITY=verbose'); }    # errors with SQLSTATE and hint
my $slot = su('SELECT deling.access_log_slot()');
ok(waits('SELECT deling.access_log_ready()', 't', 30), 'the access log is ready');

# --- anchors ---------------------------------------------------------------
reads('reader_baerum', 3);
reads('reader_bodo', 3);
su('SELECT deling.access_log_drain()');
my $anchor = as('dba', 'SELECT deling.access_log_anchor()');
is(su("SELECT deling.verify_access_log(NULL, '$anchor')->>'valid'"), 'true', "the DBA's anchor verifies");
my @logged = slurp_file($node->logfile) =~ /deling access log anchor: (.*)$/mg;
is(@logged ? su("SELECT deling.verify_access_log(NULL, '$logged[-1]')->>'valid'") : 'no anchor in the server log',
	'true', 'the worker wrote an anchor to the server log, and it verifies');
my $forged = su("SELECT jsonb_set('$anchor'::jsonb, '{chain_hash}', to_jsonb(repeat('0', 64)))");
is(su("SELECT deling.verify_access_log(NULL, '$forged')->'first_problem'->>'problem'"),
	"the anchor's signature is not valid", 'a forged anchor is refused (signature)');
reads('reader_baerum', 2);
su('SELECT deling.access_log_drain()');

# attack(sql): in a rolled-back transaction, "valid without anchor|problem with the anchor"
sub attack
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', qq{BEGIN;
$sql
SELECT (deling.verify_access_log(NULL)->>'valid') || '|' || (deling.verify_access_log(NULL, '$anchor')->'first_problem'->>'problem');
ROLLBACK;});
	my @lines = split /\n/, $rc == 0 ? $out : "$out\n$err";
	return $lines[-1] // '';
}
my $rehead = q{UPDATE deling.access_log_head SET last_seq = (SELECT max(seq) FROM deling.access_log),
          last_hash = (SELECT chain_hash FROM deling.access_log ORDER BY seq DESC LIMIT 1);};
my $out = attack("DELETE FROM deling.access_log WHERE seq >= ('$anchor'::jsonb->>'seq')::bigint; $rehead");
is($out, 'true|removed since the anchor',
	"deleting the newest entries (head rewritten): the chain alone is valid, the anchor catches it ($out)");
# rechain(filter): keep the entries filter selects, renumbered and chained anew, the head to match
sub rechain
{
	my ($filter) = @_;
	return qq{
CREATE TEMP TABLE kept AS SELECT row_number() OVER (ORDER BY seq) AS n, * FROM deling.access_log WHERE $filter;
DELETE FROM deling.access_log;
INSERT INTO deling.access_log (seq, lsn, kind, logged_at, appended_at, citizen_pid, kommuner, entry, content_hash, prev_hash, chain_hash)
SELECT k.n, k.lsn, k.kind, k.logged_at, k.appended_at, k.citizen_pid, k.kommuner, k.entry, k.content_hash,
       coalesce(c.chain[k.n - 1], deling.access_log_genesis()), c.chain[k.n]
FROM kept k, (SELECT deling.sha256_chain(deling.access_log_genesis(), array_agg(content_hash ORDER BY n)) AS chain FROM kept) c;
$rehead};
}
$out = attack(rechain(q{NOT kommuner @> '{3201}'}));
is($out, 'true|removed since the anchor',
	"deleting a kommune's whole set and re-chaining the rest: valid alone, the anchor catches it ($out)");
$out = attack(qq{
UPDATE deling.access_log SET entry = entry || '{"decision": "denied"}',
       content_hash = deling.access_log_content(kind, lsn, entry || '{"decision": "denied"}')
WHERE seq = ('$anchor'::jsonb->>'seq')::bigint;
${\ rechain('true')}});
is($out, 'true|altered since the anchor',
	"editing and re-hashing the anchored entry and everything after it: the anchor catches it ($out)");

# --- an idle server ---------------------------------------------------------
my $window = 20;
su('SELECT deling.access_log_drain()');
sleep 2;
my $lines0 = () = slurp_file($node->logfile) =~ /\n/g;
my $lsn0 = su('SELECT pg_current_wal_flush_lsn()');
sleep $window;
my $lsn1 = su('SELECT pg_current_wal_flush_lsn()');
my @all_lines = split /\n/, slurp_file($node->logfile);
my @idle_lines = @all_lines[ $lines0 .. $#all_lines ];
my $deling_lines = grep { /deling|logical decoding/i } @idle_lines;
my $wal = su("SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')");
my $records = '';
if ($lsn0 ne $lsn1)
{
	IPC::Run::run([ 'pg_waldump', '-p', $node->data_dir . '/pg_wal', '-s', $lsn0, '-e', $lsn1 ],
		'>', \$records, '2>', \my $ignored);
}
# PostgreSQL's own housekeeping does not count: the bgwriter logs a
# running-transactions record up to every 15 s after any other WAL, and the
# first reader of a page holding dead rows (here: of the attacks' rolled-back
# transactions) prunes it once; a recurring PRUNE needs new dead rows, that
# is other WAL, which counts
my $deling_wal = 0;
for my $r (grep { /^rmgr:/ } split /\n/, $records)
{
	note("WAL: $r");
	next if $r =~ /desc: RUNNING_XACTS/ || $r =~ /desc: PRUNE/;
	$deling_wal += $1 if $r =~ /\(rec\/tot\): *[0-9]+\/ *([0-9]+)/;
}
note(sprintf('idle %d s: %d server-log lines (%d from deling), %s bytes of WAL (%d bytes other than the bgwriter\'s running-transactions records and one-off pruning)',
	$window, scalar(grep { /./ } @idle_lines), $deling_lines, $wal, $deling_wal));
is($deling_lines, 0, "idle: no server-log line from deling in $window s")
  or diag(join "\n", grep { /deling|logical decoding/i } @idle_lines);
is($deling_wal, 0, "idle: no WAL from deling in $window s");

# --- a REPLICATION-only login advances the slot -------------------------------
is(read_as('reader_baerum'), '0', 'reads are served and logged');
my $adv = as('replicator', "SELECT pg_replication_slot_advance('$slot', pg_current_wal_lsn())");
like($adv, qr/is active for PID/, 'a REPLICATION login cannot advance the slot while the worker holds it');
su('SELECT pg_terminate_backend(worker_pid) FROM deling.status');
waits("SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'", 'f', 5);
# the worker's appends commit without waiting for their flush and confirm
# the slot once that is on disk; leaving, it flushes and confirms the last
my $before = su("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'");
is(su('SELECT confirmed_lsn FROM deling.access_log_head'), $before, 'the worker leaves the slot where the log\'s head is');
like(read_as('reader_baerum'), qr/55000|not running/, 'reads are refused while no worker holds the slot');
# entries in flight when the worker went (written straight, as a read would)
su(q{SELECT deling.access_log_emit(jsonb_build_object('time', deling.access_log_now(), 'service', 'in-flight',
          'decision', 'granted', 'kommuner', '["3201"]'::jsonb)) FROM generate_series(1, 3)});
$adv = as('replicator', "SELECT pg_replication_slot_advance('$slot', pg_current_wal_lsn()) IS NOT NULL");
is($adv, 't', 'with the worker down, the REPLICATION login advances the slot past 3 entries');
ok(waits('SELECT gap FROM deling.status', 't', 10), 'the restarted worker finds the gap');
$out = read_verbose('reader_baerum');
ok($out =~ /55000: the access log has a gap no DBA has acknowledged/ && $out =~ /HINT:.*deling\.access_log_acknowledge_gap/,
	'reads are refused (55000), the hint names the acknowledgement') or diag($out);
# every declared service's read (found in deling.service) and the legevakt summary: the same gate
for my $fn ((split /\n/, su(q{SELECT declaration->'read'->>'function' FROM deling.service WHERE declaration IS NOT NULL ORDER BY 1})),
	'legevakt_summary')
{
	like(as('reader_baerum', "SELECT api.$fn('$pid')", '-v', 'VERBOSITY=verbose'), qr/55000: the access log has a gap no DBA has acknowledged/,
		"api.$fn is refused (55000) too");
}
is(as('dba', "SELECT refused_reads > 0 AND gap_cause LIKE '%advanced%' AND NOT ready FROM deling.status"), 't',
	'deling.status counts the refused reads and names the cause');
my $ack = as('dba', "SELECT deling.access_log_acknowledge_gap('advanced by the replicator login during the attack test')");
like($ack, qr/"gap": "advanced"/, 'the DBA acknowledges the gap');
ok(waits('SELECT deling.access_log_ready()', 't', 10), 'reads are served again');
is(read_as('reader_baerum'), '0', 'a read after the acknowledgement is logged');
su('SELECT deling.access_log_drain()');
is(su(qq{SELECT count(*) FROM deling.access_log WHERE kind = 'gap' AND entry->>'gap' = 'advanced'
                   AND (entry->>'from_lsn')::pg_lsn <= '$before' AND (entry->>'to_lsn')::pg_lsn > '$before'
                   AND entry->>'acknowledged_by' = 'dba' AND entry->>'reason' LIKE 'advanced by the replicator%'}), '1',
	"the gap is a chain entry: from the log's position to the slot's, with who acknowledged it and why");
is(su(q{SELECT count(*) FILTER (WHERE entry->>'service' = 'in-flight') = 0 AND (deling.verify_access_log(NULL)->>'valid')::boolean FROM deling.access_log}),
	't', 'the in-flight entries are not in the log (that is the gap), the chain verifies');
is(as('dba', q{SELECT jsonb_array_length(api.access_review('3201', now() - interval '1 hour', now() + interval '1 minute')->'gaps')}),
	'1', 'the review shows the gap');

# --- max_slot_wal_keep_size invalidates the slot --------------------------------
my $wpid = su('SELECT worker_pid FROM deling.status');
kill 'STOP', $wpid;
su(q{SELECT pg_logical_emit_message(false, 'filler', 'x') IS NOT NULL, pg_switch_wal() IS NOT NULL FROM generate_series(1, 4)});
# the checkpoint waits for the stopped worker to give up the slot
my $checkpoint = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', 'CHECKPOINT' ],
	'>', \my $cp_out, '2>', \my $cp_err);
sleep 1;
kill 'CONT', $wpid;
$checkpoint->finish;
ok(waits("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$slot'", 'lost', 10),
	'the slot is invalidated (wal_status lost)');
like(read_as('reader_bodo'), qr/not running|has a gap/, 'reads are refused at once (55000)');
ok(waits("SELECT gap AND gap_cause LIKE '%invalidated%' FROM deling.status", 't', 10),
	'the restarted worker finds the gap (invalidated)');
like(read_as('reader_bodo'), qr/has a gap no DBA has acknowledged/, 'reads stay refused until it is acknowledged');
as('dba', "SELECT deling.access_log_acknowledge_gap('slot lost to max_slot_wal_keep_size in the attack test')");
ok(waits("SELECT ready AND slot_wal_status = 'reserved' FROM deling.status", 't', 10),
	'after the acknowledgement the worker makes a new slot and reads are served');
is(read_as('reader_bodo'), '0', "a read is logged in the new slot's log");
su('SELECT deling.access_log_drain()');
is(su(q{SELECT count(*) FILTER (WHERE kind = 'gap' AND entry->>'gap' = 'invalidated') = 1 AND (deling.verify_access_log(NULL)->>'valid')::boolean
                   FROM deling.access_log}), 't', 'the invalidation is a chain entry and the chain verifies');

# --- DROP EXTENSION --------------------------------------------------------------
my ($rc, $o, $e) = $node->psql('postgres', 'DROP EXTENSION deling');
like($e, qr/holds entries, so it is not dropped/, 'DROP EXTENSION is refused while the log holds entries');
like(as('dba', 'SET deling.drop_extension_deletes_access_log = on'), qr/permission denied/, 'only a superuser may allow it');
($rc, $o, $e) = $node->psql('postgres', 'SET deling.drop_extension_deletes_access_log = on; DROP EXTENSION deling;');
ok($rc == 0 && $o eq '' && $e eq '', 'with the setting a superuser drops it') or diag($e);
ok(waits("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'", '0', 10), 'the slot goes with the extension');

$node->stop;
done_testing();
