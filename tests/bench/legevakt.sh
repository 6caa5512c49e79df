#!/usr/bin/env bash
# Legevakt lookup under pgbench: api.legevakt_summary for a random citizen
# of the kommuner Bodø legevakt reaches, replayed as PostgREST runs it
# (role switch, request headers, deling.pre_request re-verifying the RS256
# token, the call), with the duty-need check and a durable access-log entry.
# 2 clients; p50, p99, lookups/s; against the floor (the same rows read in
# the same request, with and without the durable access-log entry), which
# also gives the access log's share of a lookup.
# tests/bench/legevakt.sh SECONDS (inside the benchmark cluster, after setup.sql)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export DELING_TEST_KEYS=$work/keys
q() { psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }

# a Bodø legevakt doctor's HelseID token (TREAT attested), signed with a key the DBA trusts
claims=$(q -c "SELECT jsonb_build_object(
    'iss', current_setting('deling.jwt_issuer'), 'aud', current_setting('deling.jwt_audience'),
    'iat', extract(epoch FROM now())::bigint - 10, 'nbf', extract(epoch FROM now())::bigint - 10,
    'exp', extract(epoch FROM now())::bigint + 3600, 'jti', 'bench-lege',
    'helseid://claims/identity/pid', '13916300004', 'helseid://claims/identity/security_level', '4',
    'helseid://claims/identity/assurance_level', 'high', 'helseid://claims/hpr/hpr_number', '565501872',
    'name', 'Lege Legevaktsen', 'scope', jsonb_build_array('openid', 'nhn:deling/helsepersonell'),
    'helseid://claims/client/claims/orgnr_parent', (SELECT orgnr FROM deling.kommune WHERE kommune_nr = '1804'),
    'helseid://claims/client/claims/orgnr_child', (SELECT orgnr FROM deling.organisation WHERE name = 'Bodø legevakt'),
    'authorization_details', jsonb_build_array(jsonb_build_object('type', 'nhn:tillitsrammeverk:parameters',
        'toa', extract(epoch FROM now())::bigint - 120,
        'practitioner', jsonb_build_object('authorization', jsonb_build_object('code', 'LE')),
        'care_relationship', jsonb_build_object(
            'purpose_of_use', jsonb_build_object('code', 'TREAT', 'system', 'urn:oid:2.16.840.1.113883.1.11.20448'),
            'decision_ref', jsonb_build_object('id', 'legevakt-kontakt-1', 'user_selected', false)))))")
kid=bench-$(date +%s)
tok=$(tests/tools/mint-jwt RS256 "$kid" "$claims")
q -v kid="$kid" -v key="$(tests/tools/mint-jwt pubkey "$kid")" -v tok="$tok" -v claims="$claims" <<'SQL'
SELECT deling.add_trusted_key(:'kid', :'key');
CREATE TABLE bench.request AS
SELECT jsonb_build_object('authorization', 'Bearer ' || :'tok')::text AS headers, :'claims'::text AS claims;
GRANT SELECT ON bench.request TO PUBLIC;
SQL
n=$(q -c "SELECT count(*) FROM bench.lookup")

# The floor: the same request reading the same rows the lookup returns (the
# citizen, the current services, the latest five NEWS2: same tables, same
# RLS, same reach) as plain JSON, with no FHIR, no gate and no blocks; once
# without and once with the lookup's durable access-log entry (the same
# eleven kommuner).  What no implementation of the lookup can go below.
q <<'SQL'
CREATE FUNCTION bench.legevakt_floor(pid text, logged boolean) RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    ms text[] := deling.reach_for('municipal-services');
    n2 text[] := deling.reach_for('news2');
    result json;
BEGIN
    result := json_build_object(
        'citizen', (SELECT row_to_json(c) FROM deling.citizen c
                    WHERE c.kommune_nr = ANY (ms || n2) AND c.pid = legevakt_floor.pid ORDER BY c.updated_at DESC LIMIT 1),
        'services', (SELECT json_agg(s) FROM deling.municipal_service s
                     WHERE s.kommune_nr = ANY (ms) AND s.pid = legevakt_floor.pid AND s.status IN ('active', 'on-hold', 'granted')),
        'news2', (SELECT json_agg(m) FROM (SELECT * FROM deling.news2_measurement m
                                           WHERE m.kommune_nr = ANY (n2) AND m.pid = legevakt_floor.pid
                                           ORDER BY m.measured_at DESC LIMIT 5) m));
    IF logged THEN
        PERFORM deling.log_access('bench-floor', pid, ARRAY(SELECT DISTINCT k FROM unnest(ms || n2) k ORDER BY 1),
                                  NULL, NULL, true, NULL, 1);
    END IF;
    RETURN result;
END
$$;
ALTER FUNCTION bench.legevakt_floor(text, boolean) OWNER TO deling_owner;
GRANT EXECUTE ON FUNCTION bench.legevakt_floor(text, boolean) TO deling_helsepersonell;
-- the floor with the least durable entry the log can take (about 100
-- bytes, written straight with deling.access_log_emit: on disk before the
-- read returns, appended by the worker), instead of the lookup's entry:
-- what durability alone costs a read
CREATE FUNCTION bench.legevakt_floor_minimal(pid text) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    result json := bench.legevakt_floor(pid, false);
BEGIN
    PERFORM deling.access_log_emit(jsonb_build_object('time', deling.access_log_now(), 'service', 'bench-minimal',
                                                      'decision', 'granted', 'kommuner', '["1804"]'::jsonb));
    RETURN result;
END
$$;
ALTER FUNCTION bench.legevakt_floor_minimal(text) OWNER TO deling_owner;
GRANT EXECUTE ON FUNCTION bench.legevakt_floor_minimal(text) TO deling_helsepersonell;
SQL

# the request as PostgREST sends it; the lookup itself is the last statement
prelude="BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', '\"api\", \"public\"', true), set_config('role', 'deling_helsepersonell', true), set_config('request.jwt.claims', r.claims, true), set_config('request.method', 'POST', true), set_config('request.path', '/rpc/legevakt_summary', true), set_config('request.headers', r.headers, true) FROM bench.request r;
SELECT deling.pre_request();"
printf '\\set i random(1, %s)\n%s\nSELECT length(api.legevakt_summary(l.pid)::text) FROM bench.lookup l WHERE l.n = :i;\nCOMMIT;\n' "$n" "$prelude" > "$work/lookup.sql"
printf '%s\nCOMMIT;\n' "$prelude" > "$work/request.sql"
for logged in false true; do
  printf '\\set i random(1, %s)\n%s\nSELECT length(bench.legevakt_floor(l.pid, %s)::text) FROM bench.lookup l WHERE l.n = :i;\nCOMMIT;\n' \
    "$n" "$prelude" "$logged" > "$work/floor-$logged.sql"
done
printf '\\set i random(1, %s)\n%s\nSELECT length(bench.legevakt_floor_minimal(l.pid)::text) FROM bench.lookup l WHERE l.n = :i;\nCOMMIT;\n' \
  "$n" "$prelude" > "$work/floor-minimal.sql"

run() {   # run NAME FILE [PostgREST]: pgbench with 2 clients for $secs / 3 seconds, one round of NAME
  local as=(); [ -n "${3:-}" ] && as=(PGUSER=deling_authenticator PGPASSWORD=bench)
  local r=$((++round))
  env "${as[@]}" pgbench -n -c 2 -j 2 -T "$((secs / 3))" -f "$2" -l --log-prefix="$work/log-$1-$r" >"$work/$1-$r.out" 2>&1 ||
    { cat "$work/$1-$r.out"; return 1; }
  grep -q 'number of failed transactions: 0 ' "$work/$1-$r.out" || { cat "$work/$1-$r.out"; return 1; }
}
result() {   # result NAME: "p50 p99 tps count" (ms, ms, /s, transactions) over all rounds of NAME
  local tx=0 s=0
  for f in "$work/$1"-*.out; do
    tx=$((tx + $(awk '/actually processed/ {print $NF}' "$f")))
    s=$((s + $(awk '/^duration/ {print $2}' "$f")))
  done
  cat "$work/log-$1"-*.[0-9]* | awk '{print $3}' | sort -n | awk -v tps="$(awk -v t="$tx" -v s="$s" 'BEGIN { print t / s }')" '
    { v[NR] = $1 } END { printf "%.3f %.3f %.0f %d\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, tps, NR }'
}
logged() {   # reads the access log holds since the start, once the worker has drained them all (or after 5 minutes)
  local last=-1 now
  for _ in $(seq 300); do
    now=$(q -c "SELECT count(DISTINCT lsn) FILTER (WHERE entry->>'service' = '$1') FROM deling.access_log WHERE lsn > '$start'")
    [ "$now" = "$last" ] && [ "$now" -ge "$2" ] && break
    last=$now; sleep 1
  done
  echo "$now"
}
worker_pid() {   # the access-log worker's process (waits up to 30 s for it; the run fails without it)
  local p=""
  for _ in $(seq 30); do
    p=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'deling access log'")
    [ -n "$p" ] && [ -r "/proc/$p/stat" ] && break
    p=""; sleep 1
  done
  [ -n "$p" ] || { echo "legevakt.sh: the access-log worker is not running: its CPU cannot be measured" >&2; exit 1; }
  echo "$p"
}
worker_cpu() {   # CPU seconds process $1 has used so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# the worker's CPU counts from when it has read the earlier steps' WAL (the
# load's, the ingest's, autovacuum's): what it had left is shown, not counted
behind=$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), read_upto) FROM deling.access_log_worker_status()")
q -c "SELECT deling.access_log_drain('30 minutes')" >/dev/null
wpid=$(worker_pid)
c0=$(worker_cpu "$wpid")
start=$(q -c "SELECT pg_current_wal_lsn()")

# three rounds, the lookup and its three floors alternating, so that a slow
# spell of the machine does not land on one of them only
round=0
for _ in 1 2 3; do
  run lookup "$work/lookup.sql" PostgREST
  run floor "$work/floor-false.sql" PostgREST
  run floor_logged "$work/floor-true.sql" PostgREST
  run floor_minimal "$work/floor-minimal.sql" PostgREST
done
read -r l50 l99 ltps lookups < <(result lookup)
read -r f50 _ ftps _ < <(result floor)
read -r g50 g99 gtps floor_logged < <(result floor_logged)
read -r _ _ mtps floor_minimal < <(result floor_minimal)
logged=$(logged legevakt-summary "$lookups")
logged_floor=$(logged bench-floor "$floor_logged")
logged_minimal=$(logged bench-minimal "$floor_minimal")
# the same worker, or its CPU is not what the step cost
[ "$(worker_pid)" = "$wpid" ] || { echo "legevakt.sh: the access-log worker restarted during the step" >&2; exit 1; }
c1=$(worker_cpu "$wpid")
awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(b > a) }' ||
  { echo "legevakt.sh: the access-log worker (pid $wpid) used no CPU while it drained the step's entries" >&2; exit 1; }
wal=$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$start')")
run request "$work/request.sql" PostgREST
read -r r50 _ _ _ < <(result request)

# the access log's cost per read, from the floor with and without it (ms of
# the two cores per read), and its share of a lookup's
q -v l50="$l50" -v l99="$l99" -v ltps="$ltps" -v r50="$r50" -v lookups="$lookups" \
  -v f50="$f50" -v ftps="$ftps" -v g50="$g50" -v g99="$g99" -v gtps="$gtps" -v floor_logged="$floor_logged" \
  -v mtps="$mtps" -v floor_minimal="$floor_minimal" -v logged_minimal="$logged_minimal" \
  -v behind="$behind" -v wal="$wal" -v wcpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" -v logged="$logged" -v logged_floor="$logged_floor" <<'SQL'
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
  ('legevakt lookup', 'floor: the same rows as plain JSON, no FHIR, no checks, no log: p50', :f50, 'ms', NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'floor: throughput', :ftps, 'reads/s', NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'api.legevakt_summary, 2 clients: p50', :l50, 'ms', 'floor p50', round(:l50 / :f50, 3),
   '<= 1.5 x the floor', :l50 <= 1.5 * :f50),
  ('legevakt lookup', 'p99', :l99, 'ms', NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'throughput', :ltps, 'lookups/s', 'floor', round(:ltps / :ftps::numeric, 3), '>= 0.6 x the floor',
   :ltps >= 0.6 * :ftps),
  ('legevakt lookup', 'the request without the lookup (token check, context): p50', :r50, 'ms', 'lookup p50', round(:r50 / :l50, 3), NULL, NULL),
  ('legevakt lookup', 'floor with the durable access-log entry: p50', :g50, 'ms', 'floor p50', round(:g50 / :f50, 3),
   '<= 1.5 x the floor, or the lookup''s p50 goal is out of reach', :g50 <= 1.5 * :f50),
  ('legevakt lookup', 'floor with the durable access-log entry: p99', :g99, 'ms', NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'floor with the durable access-log entry: throughput', :gtps, 'reads/s', 'floor', round(:gtps / :ftps::numeric, 3),
   '>= 0.6 x the floor, or the lookup''s throughput goal is out of reach', :gtps >= 0.6 * :ftps),
  ('legevakt lookup', 'access log per read (floor with log - floor, in time of the two cores)', round(2000 * (1 / :gtps::numeric - 1 / :ftps::numeric), 3), 'ms',
   NULL, NULL, '<= 0.25 ms', 2000 * (1 / :gtps::numeric - 1 / :ftps::numeric) <= 0.25),
  ('legevakt lookup', 'the least durable entry per read (floor with a 100-byte entry written straight - floor, in time of the two cores)',
   round(2000 * (1 / :mtps::numeric - 1 / :ftps::numeric), 3), 'ms', NULL, NULL,
   '<= 0.25 ms, or the access log''s goal is out of reach', 2000 * (1 / :mtps::numeric - 1 / :ftps::numeric) <= 0.25),
  ('legevakt lookup', 'access log share of a lookup', round(100 * :ltps * (1 / :gtps::numeric - 1 / :ftps::numeric), 1), '%', NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'access-log drain worker CPU per logged read', round(:wcpu * 1000 / (:lookups + :floor_logged + :floor_minimal), 3), 'ms',
   NULL, NULL, '<= 0.05 ms', :wcpu * 1000 / (:lookups + :floor_logged + :floor_minimal) <= 0.05),
  ('legevakt lookup', 'WAL the worker had left to read from the earlier steps (read before its CPU is counted)', round(:behind / 1048576.0, 1), 'MiB',
   NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'WAL the worker read per logged read (the reads'' entries, its own appends, autovacuum, checkpoints)',
   round(:wal / (:lookups + :floor_logged + :floor_minimal)::numeric), 'bytes', NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'lookups in the access log after the drain', :logged, 'entries', 'lookups', round(:logged / :lookups::numeric, 3),
   '= every lookup', :logged = :lookups),
  ('legevakt lookup', 'floor reads in the access log after the drain', :logged_floor, 'entries', 'floor reads',
   round(:logged_floor / :floor_logged::numeric, 3), '= every read', :logged_floor = :floor_logged),
  ('legevakt lookup', 'least durable entries in the access log after the drain', :logged_minimal, 'entries', 'floor reads',
   round(:logged_minimal / :floor_minimal::numeric, 3), '= every read', :logged_minimal = :floor_minimal);
SQL
