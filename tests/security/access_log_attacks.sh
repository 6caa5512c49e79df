#!/usr/bin/env bash
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
# TAP lines "ok N - ..." / "not ok N - ...".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/own-cluster.sh
psql_() { psql -X -q -At -h "$dir" -p "$port" -d postgres "$@"; }
su_() { psql_ -U postgres "$@"; }
wait_for() {   # wait_for SQL EXPECTED [SECONDS]: poll as the superuser until SQL returns EXPECTED
  local i
  for i in $(seq 1 $((${3:-10} * 10))); do
    [ "$(su_ -c "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

mapfile -t settings < <(scripts/pg-options.sh postgres)
own_cluster 50000 "${settings[@]}" deling.access_log_naptime=100ms deling.access_log_restart_delay=3 \
  deling.access_log_anchor_interval=1 max_slot_wal_keep_size=32MB autovacuum=off
start

pid=14833800095   # deling.synthetic_fnr('1938-03-14', 0)
su_ >/dev/null <<SQL
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
SQL
read_as() {   # read_as ROLE: one NEWS2 read; prints the total, or the error
  psql_ -U "$1" -c "SELECT (api.news2_observations('$pid'))->>'total'" 2>&1
}
reads() { local i; for i in $(seq 1 "$2"); do read_as "$1"; done; }
read_verbose() {   # read_verbose ROLE: the same read, errors with SQLSTATE and hint
  psql_ -U "$1" -v VERBOSITY=verbose -c "SELECT (api.news2_observations('$pid'))->>'total'" 2>&1
}
slot=$(su_ -c "SELECT deling.access_log_slot()")
check "the access log is ready" wait_for "SELECT deling.access_log_ready()" t 30

# --- anchors ---------------------------------------------------------------
reads reader_baerum 3 >/dev/null; reads reader_bodo 3 >/dev/null
su_ -c "SELECT deling.access_log_drain()" >/dev/null
anchor=$(psql_ -U dba -c "SELECT deling.access_log_anchor()")
check "the DBA's anchor verifies" \
  test "$(su_ -c "SELECT deling.verify_access_log(NULL, '$anchor')->>'valid'")" = true
check "the worker wrote an anchor to the server log, and it verifies" \
  test "$(su_ -c "SELECT deling.verify_access_log(NULL, '$(grep -o 'deling access log anchor: .*' "$dir/log" | tail -1 | cut -d' ' -f5-)')->>'valid'")" = true
forged=$(su_ -c "SELECT jsonb_set('$anchor'::jsonb, '{chain_hash}', to_jsonb(repeat('0', 64)))")
check "a forged anchor is refused (signature)" \
  test "$(su_ -c "SELECT deling.verify_access_log(NULL, '$forged')->'first_problem'->>'problem'")" = "the anchor's signature is not valid"
reads reader_baerum 2 >/dev/null
su_ -c "SELECT deling.access_log_drain()" >/dev/null
attack() {   # attack SQL: in a rolled-back transaction, "valid without anchor|problem with the anchor"
  su_ -v ON_ERROR_STOP=1 <<SQL 2>&1 | tail -1
BEGIN;
$1
SELECT (deling.verify_access_log(NULL)->>'valid') || '|' || (deling.verify_access_log(NULL, '$anchor')->'first_problem'->>'problem');
ROLLBACK;
SQL
}
rehead="UPDATE deling.access_log_head SET last_seq = (SELECT max(seq) FROM deling.access_log),
          last_hash = (SELECT chain_hash FROM deling.access_log ORDER BY seq DESC LIMIT 1);"
out=$(attack "DELETE FROM deling.access_log WHERE seq >= ('$anchor'::jsonb->>'seq')::bigint; $rehead")
check "deleting the newest entries (head rewritten): the chain alone is valid, the anchor catches it ($out)" \
  test "$out" = "true|removed since the anchor"
rechain() {   # rechain FILTER: keep the entries FILTER selects, renumbered and chained anew, the head to match
  echo "
CREATE TEMP TABLE kept AS SELECT row_number() OVER (ORDER BY seq) AS n, * FROM deling.access_log WHERE $1;
DELETE FROM deling.access_log;
INSERT INTO deling.access_log (seq, lsn, kind, logged_at, appended_at, citizen_pid, kommuner, entry, content_hash, prev_hash, chain_hash)
SELECT k.n, k.lsn, k.kind, k.logged_at, k.appended_at, k.citizen_pid, k.kommuner, k.entry, k.content_hash,
       coalesce(c.chain[k.n - 1], deling.access_log_genesis()), c.chain[k.n]
FROM kept k, (SELECT deling.sha256_chain(deling.access_log_genesis(), array_agg(content_hash ORDER BY n)) AS chain FROM kept) c;
$rehead"
}
out=$(attack "$(rechain "NOT kommuner @> '{3201}'")")
check "deleting a kommune's whole set and re-chaining the rest: valid alone, the anchor catches it ($out)" \
  test "$out" = "true|removed since the anchor"
out=$(attack "
UPDATE deling.access_log SET entry = entry || '{\"decision\": \"denied\"}',
       content_hash = deling.access_log_content(kind, lsn, entry || '{\"decision\": \"denied\"}')
WHERE seq = ('$anchor'::jsonb->>'seq')::bigint;
$(rechain true)")
check "editing and re-hashing the anchored entry and everything after it: the anchor catches it ($out)" \
  test "$out" = "true|altered since the anchor"

# --- an idle server ---------------------------------------------------------
window=20
su_ -c "SELECT deling.access_log_drain()" >/dev/null
sleep 2
lines0=$(wc -l < "$dir/log")
lsn0=$(su_ -c "SELECT pg_current_wal_flush_lsn()")
sleep "$window"
lsn1=$(su_ -c "SELECT pg_current_wal_flush_lsn()")
idle_lines=$(tail -n +"$((lines0 + 1))" "$dir/log")
deling_lines=$(grep -ci 'deling\|logical decoding' <<<"$idle_lines")
wal=$(su_ -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')")
records=""
if [ "$lsn0" != "$lsn1" ]; then
  records=$(as_pg "$bindir/pg_waldump" -p "$dir/data/pg_wal" -s "$lsn0" -e "$lsn1" 2>/dev/null)
fi
# PostgreSQL's own housekeeping does not count: the bgwriter logs a
# running-transactions record up to every 15 s after any other WAL, and the
# first reader of a page holding dead rows (here: of the attacks' rolled-back
# transactions) prunes it once; a recurring PRUNE needs new dead rows, that
# is other WAL, which counts
deling_wal=$(awk '/^rmgr:/ && !/desc: RUNNING_XACTS/ && !/desc: PRUNE/ { sub(/.*\(rec\/tot\): *[0-9]+\//, ""); s += $1 + 0 } END { print s + 0 }' <<<"$records")
grep '^rmgr:' <<<"$records" | sed 's/^/# WAL: /'
echo "# idle ${window} s: $(grep -c . <<<"$idle_lines") server-log lines ($deling_lines from deling), $wal bytes of WAL ($deling_wal bytes other than the bgwriter's running-transactions records and one-off pruning)"
check "idle: no server-log line from deling in ${window} s" test "$deling_lines" -eq 0
check "idle: no WAL from deling in ${window} s" test "$deling_wal" -eq 0

# --- a REPLICATION-only login advances the slot -------------------------------
check "reads are served and logged" test "$(read_as reader_baerum)" = 0
adv=$(psql_ -U replicator -c "SELECT pg_replication_slot_advance('$slot', pg_current_wal_lsn())" 2>&1)
check "a REPLICATION login cannot advance the slot while the worker holds it" grep -q 'is active for PID' <<<"$adv"
su_ -c "SELECT pg_terminate_backend(worker_pid) FROM deling.status" >/dev/null
wait_for "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'" f 5
# the worker's appends commit without waiting for their flush and confirm
# the slot once that is on disk; leaving, it flushes and confirms the last
before=$(su_ -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'")
check "the worker leaves the slot where the log's head is" \
  test "$(su_ -c "SELECT confirmed_lsn FROM deling.access_log_head")" = "$before"
check "reads are refused while no worker holds the slot" grep -q '55000\|not running' <<<"$(read_as reader_baerum)"
# entries in flight when the worker went (written straight, as a read would)
su_ -c "SELECT deling.access_log_emit(jsonb_build_object('time', deling.access_log_now(), 'service', 'in-flight',
          'decision', 'granted', 'kommuner', '[\"3201\"]'::jsonb)) FROM generate_series(1, 3)" >/dev/null
adv=$(psql_ -U replicator -c "SELECT pg_replication_slot_advance('$slot', pg_current_wal_lsn()) IS NOT NULL" 2>&1)
check "with the worker down, the REPLICATION login advances the slot past 3 entries" test "$adv" = t
check "the restarted worker finds the gap" wait_for "SELECT gap FROM deling.status" t 10
out=$(read_verbose reader_baerum)
check "reads are refused (55000), the hint names the acknowledgement" \
  bash -c "grep -q '55000: the access log has a gap no DBA has acknowledged' <<<\"\$1\" && grep -q 'HINT:.*deling.access_log_acknowledge_gap' <<<\"\$1\"" _ "$out"
check "deling.status counts the refused reads and names the cause" \
  test "$(psql_ -U dba -c "SELECT refused_reads > 0 AND gap_cause LIKE '%advanced%' AND NOT ready FROM deling.status")" = t
ack=$(psql_ -U dba -c "SELECT deling.access_log_acknowledge_gap('advanced by the replicator login during the attack test')")
check "the DBA acknowledges the gap" grep -q '"gap": "advanced"' <<<"$ack"
check "reads are served again" wait_for "SELECT deling.access_log_ready()" t 10
check "a read after the acknowledgement is logged" test "$(read_as reader_baerum)" = 0
su_ -c "SELECT deling.access_log_drain()" >/dev/null
check "the gap is a chain entry: from the log's position to the slot's, with who acknowledged it and why" \
  test "$(su_ -c "SELECT count(*) FROM deling.access_log WHERE kind = 'gap' AND entry->>'gap' = 'advanced'
                   AND (entry->>'from_lsn')::pg_lsn <= '$before' AND (entry->>'to_lsn')::pg_lsn > '$before'
                   AND entry->>'acknowledged_by' = 'dba' AND entry->>'reason' LIKE 'advanced by the replicator%'")" = 1
check "the in-flight entries are not in the log (that is the gap), the chain verifies" \
  test "$(su_ -c "SELECT count(*) FILTER (WHERE entry->>'service' = 'in-flight') = 0 AND (deling.verify_access_log(NULL)->>'valid')::boolean FROM deling.access_log")" = t
check "the review shows the gap" \
  test "$(psql_ -U dba -c "SELECT jsonb_array_length(api.access_review('3201', now() - interval '1 hour', now() + interval '1 minute')->'gaps')")" = 1

# --- max_slot_wal_keep_size invalidates the slot --------------------------------
wpid=$(su_ -c "SELECT worker_pid FROM deling.status")
kill -STOP "$wpid"
su_ -c "SELECT pg_logical_emit_message(false, 'filler', 'x') IS NOT NULL, pg_switch_wal() IS NOT NULL FROM generate_series(1, 4)" >/dev/null
su_ -c "CHECKPOINT" >/dev/null 2>&1 &     # waits for the stopped worker to give up the slot
sleep 1
kill -CONT "$wpid"
wait
check "the slot is invalidated (wal_status lost)" wait_for "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$slot'" lost 10
out=$(read_as reader_bodo)
check "reads are refused at once (55000)" grep -q 'not running\|has a gap' <<<"$out"
check "the restarted worker finds the gap (invalidated)" \
  wait_for "SELECT gap AND gap_cause LIKE '%invalidated%' FROM deling.status" t 10
check "reads stay refused until it is acknowledged" grep -q 'has a gap no DBA has acknowledged' <<<"$(read_as reader_bodo)"
psql_ -U dba -c "SELECT deling.access_log_acknowledge_gap('slot lost to max_slot_wal_keep_size in the attack test')" >/dev/null
check "after the acknowledgement the worker makes a new slot and reads are served" \
  wait_for "SELECT ready AND slot_wal_status = 'reserved' FROM deling.status" t 10
check "a read is logged in the new slot's log" test "$(read_as reader_bodo)" = 0
su_ -c "SELECT deling.access_log_drain()" >/dev/null
check "the invalidation is a chain entry and the chain verifies" \
  test "$(su_ -c "SELECT count(*) FILTER (WHERE kind = 'gap' AND entry->>'gap' = 'invalidated') = 1 AND (deling.verify_access_log(NULL)->>'valid')::boolean
                   FROM deling.access_log")" = t

# --- DROP EXTENSION --------------------------------------------------------------
out=$(su_ -c "DROP EXTENSION deling" 2>&1)
check "DROP EXTENSION is refused while the log holds entries" grep -q 'holds entries, so it is not dropped' <<<"$out"
out=$(psql_ -U dba -c "SET deling.drop_extension_deletes_access_log = on" 2>&1)
check "only a superuser may allow it" grep -q 'permission denied' <<<"$out"
out=$(su_ -c "SET deling.drop_extension_deletes_access_log = on" -c "DROP EXTENSION deling" 2>&1)
check "with the setting a superuser drops it" test -z "$out"
check "the slot goes with the extension" wait_for "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'" 0 10
