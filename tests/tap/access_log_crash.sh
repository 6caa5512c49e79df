#!/usr/bin/env bash
# Durability of the access log under a crash: four clients read NEWS2
# through PostgREST's flow, each with its own request id, and record the id
# once the data has reached them; the postmaster and every backend (the
# access-log worker too) are then killed with SIGKILL mid-stream.  After a
# restart, every recorded request must be in the access log exactly once,
# and the hash chain must verify.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/own-cluster.sh
psql_() { psql -X -q -At -h "$dir" -p "$port" "$@"; }

mapfile -t settings < <(scripts/pg-options.sh postgres)
own_cluster 30000 "${settings[@]}"
start

export DELING_TEST_KEYS=${DELING_TEST_KEYS:-$dir/keys}; mkdir -p "$DELING_TEST_KEYS"
pub=$(tests/tools/mint-jwt pubkey crash1)
psql_ -U postgres -d postgres >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION deling;
SELECT deling.generate_synthetic(100, 3);
SELECT deling.add_trusted_key('crash1', \$\$$pub\$\$);
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('3201', deling.synthetic_fnr('1938-03-14', 0));
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
SELECT '3201', deling.synthetic_fnr('1938-03-14', 0), now() - i * interval '1 hour', 16 + i, 96, false, 120, 80, 'A', 37.5, 'crash', 'c' || i
FROM generate_series(1, 3) i;
SQL
for i in $(seq 1 100); do
  [ "$(psql_ -U postgres -d postgres -c 'SELECT deling.access_log_ready()')" = t ] && break
  sleep 0.2
done
check "the access log is ready" test "$(psql_ -U postgres -d postgres -c 'SELECT deling.access_log_ready()')" = t

now=$(date +%s)
unit=$(psql_ -U postgres -d postgres -c "SELECT orgnr FROM deling.organisation WHERE name = 'Asker og Bærum legevakt'")
pid=$(psql_ -U postgres -d postgres -c "SELECT deling.synthetic_fnr('1938-03-14', 0)")
payload="{\"iss\":\"https://helseid-sts.nhn.no\",\"aud\":\"nhn:deling\",\"iat\":$now,\"exp\":$((now + 600)),
 \"scope\":[\"openid\",\"nhn:deling/helsepersonell\"],
 \"helseid://claims/identity/pid\":\"13916300004\",\"helseid://claims/identity/security_level\":\"4\",
 \"helseid://claims/identity/assurance_level\":\"high\",\"helseid://claims/hpr/hpr_number\":\"565501872\",
 \"helseid://claims/client/claims/orgnr_parent\":\"935478715\",\"helseid://claims/client/claims/orgnr_child\":\"$unit\",
 \"authorization_details\":{\"type\":\"nhn:tillitsrammeverk:parameters\",\"toa\":$now,
   \"care_relationship\":{\"purpose_of_use\":{\"code\":\"TREAT\"}}}}"
token=$(tests/tools/mint-jwt RS256 crash1 "$payload")

client() {   # client NAME: read until the server dies; record each request id whose data arrived
  local i=0 out
  while :; do
    i=$((i + 1))
    out=$(psql_ -U deling_authenticator -d postgres 2>>"$dir/client.err" <<SQL
BEGIN READ ONLY;
SELECT set_config('role', 'deling_helsepersonell', true) IS NOT NULL;
SELECT set_config('request.headers', '{"authorization": "Bearer $token", "x-request-id": "$1-$i"}', true) IS NOT NULL;
SELECT deling.pre_request();
SELECT 'total=' || ((api.news2_observations('$pid'))->>'total');
COMMIT;
SQL
) || break
    grep -q '^total=3$' <<<"$out" && echo "$1-$i" >> "$dir/returned"
  done
}
for c in a b c d; do client "$c" & done
sleep 3
pm=$(head -1 "$dir/data/postmaster.pid")
# stop the postmaster first, so that it forks no backend the kill would miss
# (an orphaned backend would keep a client waiting on it for ever)
kill -STOP "$pm"
kill -9 $(pgrep -P "$pm") "$pm" 2>/dev/null
wait
returned=$(wc -l < "$dir/returned" 2>/dev/null || echo 0)
check "clients received data before the crash ($returned reads)" test "$returned" -gt 10

rm -f "$dir/data/postmaster.pid" "$dir"/.s.PGSQL.*.lock   # as a reboot would
start
logged() {
  psql_ -U postgres -d postgres -c "SELECT entry->>'request_id' FROM deling.access_log WHERE entry ? 'request_id'" 2>/dev/null
}
for i in $(seq 1 150); do
  missing=$(sort -u "$dir/returned" | comm -23 - <(logged | sort -u) | wc -l)
  [ "$missing" -eq 0 ] && break
  sleep 0.2
done
check "every read whose data was returned is in the access log after the crash ($missing missing)" test "$missing" -eq 0
check "every read is in the log once" test "$(logged | sort | uniq -d | wc -l)" -eq 0
check "the hash chain verifies after the crash" test "$(psql_ -U postgres -d postgres -c \
  "SELECT deling.verify_access_log(NULL)->>'valid'")" = true
check "the worker is running again and holds the slot" test "$(psql_ -U postgres -d postgres -c \
  'SELECT worker_running AND slot_held_by_worker AND ready AND NOT gap FROM deling.status')" = t
