#!/usr/bin/env bash
# Legevakt lookup under pgbench: api.legevakt_summary for a random citizen
# of the kommuner Bodø legevakt reaches, replayed as PostgREST runs it
# (role switch, request headers, deling.pre_request re-verifying the RS256
# token, the call), with the duty-need check and a durable access-log entry.
# 2 clients; p50, p99, lookups/s, and the share of the time that is the
# access log: the flushed entry in the request plus the drain worker's CPU.
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
    'name', 'Lege Legevaktsen', 'role', 'deling_helsepersonell',
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

# the request as PostgREST sends it; the lookup itself is the last statement
prelude="BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', '\"api\", \"public\"', true), set_config('role', 'deling_helsepersonell', true), set_config('request.jwt.claims', r.claims, true), set_config('request.method', 'POST', true), set_config('request.path', '/rpc/legevakt_summary', true), set_config('request.headers', r.headers, true) FROM bench.request r;
SELECT deling.pre_request();"
printf '\\set i random(1, %s)\n%s\nSELECT length(api.legevakt_summary(l.pid)::text) FROM bench.lookup l WHERE l.n = :i;\nCOMMIT;\n' "$n" "$prelude" > "$work/lookup.sql"
printf '%s\nCOMMIT;\n' "$prelude" > "$work/request.sql"
printf "SELECT deling.log_access('bench-floor', l.pid, ARRAY[l.kommune_nr], 'TREAT', NULL, true, NULL, 17) FROM bench.lookup l WHERE l.n = 1;\n" > "$work/log_entry.sql"

run() {   # run NAME FILE [PostgREST]: pgbench with 2 clients; prints "p50 p99 tps count" (ms, ms, /s, transactions)
  rm -f "$work/log-$1".*
  local as=(); [ -n "${3:-}" ] && as=(PGUSER=deling_authenticator PGPASSWORD=bench)
  env "${as[@]}" pgbench -n -c 2 -j 2 -T "$secs" -f "$2" -l --log-prefix="$work/log-$1" >"$work/$1.out" 2>&1 ||
    { cat "$work/$1.out"; return 1; }
  grep -q 'number of failed transactions: 0 ' "$work/$1.out" || { cat "$work/$1.out"; return 1; }
  local tps; tps=$(awk '/^tps/ {print $3; exit}' "$work/$1.out")
  cat "$work/log-$1".[0-9]* | awk '{print $3}' | sort -n | awk -v tps="$tps" '
    { v[NR] = $1 } END { printf "%.3f %.3f %.0f %d\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, tps, NR }'
}
logged() {   # lookups the access log holds, once the worker has drained them all (or after 5 minutes)
  local last=-1 now
  for _ in $(seq 300); do
    now=$(q -c "SELECT count(DISTINCT lsn) FROM deling.access_log WHERE entry->>'service' = 'legevakt-summary' AND lsn > '$start'")
    [ "$now" = "$last" ] && [ "$now" -ge "$1" ] && break
    last=$now; sleep 1
  done
  echo "$now"
}
worker_cpu() {   # CPU seconds the access-log worker has used so far
  local p; p=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'deling access log'")
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$p/stat"
}

c0=$(worker_cpu)
start=$(q -c "SELECT pg_current_wal_lsn()")
run lookup "$work/lookup.sql" PostgREST > "$work/lookup.result"
read -r l50 l99 ltps lookups < "$work/lookup.result"
logged=$(logged "$lookups")
c1=$(worker_cpu)
run request "$work/request.sql" PostgREST > "$work/request.result"
read -r r50 _ _ _ < "$work/request.result"
run log_entry "$work/log_entry.sql" > "$work/log_entry.result"
read -r e50 _ _ _ < "$work/log_entry.result"

q -v l50="$l50" -v l99="$l99" -v ltps="$ltps" -v r50="$r50" -v e50="$e50" -v lookups="$lookups" \
  -v wcpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" -v logged="$logged" <<'SQL'
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio, goal, met) VALUES
  ('legevakt lookup', 'api.legevakt_summary, 2 clients: p50', :l50, 'ms', NULL, NULL, '< 1 ms', :l50 < 1),
  ('legevakt lookup', 'p99', :l99, 'ms', NULL, NULL, '< 5 ms', :l99 < 5),
  ('legevakt lookup', 'throughput', :ltps, 'lookups/s', NULL, NULL, '>= 2,000/s', :ltps >= 2000),
  ('legevakt lookup', 'the request without the lookup (token check, context): p50', :r50, 'ms', 'lookup p50', round(:r50 / :l50, 3), NULL, NULL),
  ('legevakt lookup', 'one flushed access-log entry, 2 clients: p50', :e50, 'ms', 'lookup p50', round(:e50 / :l50, 3), NULL, NULL),
  ('legevakt lookup', 'access-log drain worker CPU per lookup', round(:wcpu * 1000 / :lookups, 3), 'ms', 'lookup p50',
   round(:wcpu * 1000 / :lookups / :l50, 3), NULL, NULL),
  ('legevakt lookup', 'access log share of a lookup (entry + drain)', round(100 * (:e50 + :wcpu * 1000 / :lookups) / :l50, 1), '%',
   NULL, NULL, NULL, NULL),
  ('legevakt lookup', 'lookups in the access log after the drain', :logged, 'entries', 'lookups', round(:logged / :lookups::numeric, 3),
   '= every lookup', :logged = :lookups);
SQL
