#!/usr/bin/env bash
# deling on a Citus cluster (docs/scale-out.md), tested against a single
# node given the same data.  Servers of its own: a coordinator and two
# workers with Citus and deling preloaded (a third worker joins later), and
# a single node with deling alone.  CREATE EXTENSION deling through the
# coordinator, deling.distribute() and its refusals; the same platform and
# data on both (tests/security/setup.sql, the single node's data copied);
# then every answer of reads.sql, answers.sql and log.sql compared line by
# line; the attacks that matter through the coordinator (attacks.sql); a
# lookup routed to one shard, its time against the single node's printed; the
# access log: one writer, every entry, a chain that verifies, idle workers;
# the cluster grown by a worker, rebalanced and a kommune isolated on a
# shard of its own, and the reads compared again.  Every declared service
# is in the answers (its reads, its synthetic items ingested, the attacks);
# the services' own test files (tests/services/*.sql) are not run here:
# they check what a single node does and a cluster does not (forced RLS, a
# caller's direct read of its own kommune's rows).  TAP lines.
#
# Skipped, saying so, where Citus is not installed for this PostgreSQL
# (pg_config's pkglibdir has no citus.so, or its extension directory no
# citus.control).  KEEP=1 keeps the servers' directory for a post-mortem.
set -uo pipefail
cd "$(dirname "$0")/../.."
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$pg_config" ] || pg_config=$(command -v pg_config)
bindir=$("$pg_config" --bindir)
libdir=$("$pg_config" --pkglibdir)
sharedir=$("$pg_config" --sharedir)
if [ ! -f "$libdir/citus.so" ] || [ ! -f "$sharedir/extension/citus.control" ]; then
  echo "1..0 # SKIP Citus is not installed for this PostgreSQL (no citus.so in $libdir): the Citus tests did not run"
  exit 0
fi

n=0
check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir=$(mktemp -d /tmp/deling-citus.XXXXXX); chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
export DELING_TEST_KEYS=$dir/keys
mkdir -p "$DELING_TEST_KEYS"; chmod 777 "$DELING_TEST_KEYS"
base=$((21000 + RANDOM % 20000))
declare -A port=([c]=$base [w1]=$((base + 1)) [w2]=$((base + 2)) [w3]=$((base + 3)) [s]=$((base + 9)))
nodes=()
cleanup() {
  for node in "${nodes[@]}"; do
    as_pg "$bindir/pg_ctl" -D "$dir/$node" -m immediate stop >/dev/null 2>&1
  done
  if [ -n "${KEEP:-}" ]; then echo "# kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# psql_ NODE [psql arguments]: psql as postgres in the platform database
psql_() { local node=$1; shift; as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "${port[$node]}" -U postgres -d platform "$@"; }
val() { local node=$1; shift; psql_ "$node" -At -c "$@" 2>&1; }
# sql_as NODE USER SQL: its output, or its error (for what a login is refused)
sql_as() { as_pg "$bindir/psql" -X -q -At -h "$dir" -p "${port[$1]}" -U "$2" -d platform -c "$3" 2>&1; }

mapfile -t deling_settings < <(scripts/pg-options.sh platform)
start_node() {   # start_node NAME PRELOAD
  local node=$1 d=$dir/$1
  as_pg "$bindir/initdb" -D "$d" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/$node.initdb.log" 2>&1 || return 1
  {
    for o in "${deling_settings[@]}"; do printf '%s\n' "$o"; done | grep -v '^shared_preload_libraries=' \
      | sed "s/^\([^=]*\)=\(.*\)$/\1 = '\2'/"
    echo "shared_preload_libraries = '$2'"
    echo "port = ${port[$node]}"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir'"
    echo "max_prepared_transactions = 20"
    echo "max_connections = 80"
    echo "fsync = off"
    echo "full_page_writes = off"
    echo "citus.node_conninfo = 'sslmode=prefer'"
  } >> "$d/postgresql.conf"
  # Citus' own plugins are allowed next to deling's (logical shard moves and tenant isolation)
  sed -i "s/^output_plugin_libraries = '\(.*\)'$/output_plugin_libraries = '\1, citus'/" "$d/postgresql.conf"
  # deling_owner logs in to the workers with a password the coordinator holds
  cat > "$d/pg_hba.conf" <<EOF
local all all trust
host all deling_owner 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
EOF
  as_pg "$bindir/pg_ctl" -D "$d" -l "$dir/$node.log" -w -t 120 start >/dev/null || { tail -20 "$dir/$node.log"; return 1; }
  nodes+=("$node")
  as_pg "$bindir/psql" -X -q -h "$dir" -p "${port[$node]}" -U postgres -d postgres -c 'CREATE DATABASE platform' >/dev/null
}
add_worker() {   # add_worker NAME: Citus there, the node added, deling_owner's login
  psql_ "$1" -c 'SET client_min_messages = warning; CREATE EXTENSION citus' &&
  psql_ c -c "SELECT citus_add_node('127.0.0.1', ${port[$1]})" >/dev/null &&
  psql_ "$1" -c "SET citus.enable_ddl_propagation = off; ALTER ROLE deling_owner LOGIN PASSWORD 'citus-test-owner'"
}

# 1. the servers ------------------------------------------------------------------
ok=true
for node in c w1 w2; do start_node "$node" 'citus,deling' || ok=false; done
start_node s deling || ok=false
check "a coordinator, two workers (citus,deling) and a single node (deling) started" $ok
$ok || exit 1
for node in c w1 w2; do psql_ "$node" -c 'SET client_min_messages = warning; CREATE EXTENSION citus' >/dev/null; done
psql_ c -c "SELECT citus_set_coordinator_host('127.0.0.1', ${port[c]})" -c "SELECT citus_add_node('127.0.0.1', ${port[w1]})" \
  -c "SELECT citus_add_node('127.0.0.1', ${port[w2]})" >/dev/null
check "the coordinator has two workers" test "$(val c 'SELECT count(*) FROM pg_dist_node WHERE groupid > 0')" = 2

# 2. the platform: deling through the coordinator, the same data on both ---------------
out=$(psql_ c -At -f tests/security/setup.sql 2>&1)
check "CREATE EXTENSION deling through the coordinator (its script's NOTIFY is no 2PC's)" grep -q '^t$' <<<"$out"
check "... and it is on every worker, at the coordinator's version" \
  test "$(val w1 "SELECT extversion FROM pg_extension WHERE extname = 'deling'")/$(val w2 "SELECT extversion FROM pg_extension WHERE extname = 'deling'")" \
       = "$(val c "SELECT extversion || '/' || extversion FROM pg_extension WHERE extname = 'deling'")"
psql_ s -At -f tests/security/setup.sql >/dev/null 2>&1
for node in s c; do psql_ "$node" -f tests/citus/helpers.sql >/dev/null || ok=false; done
check "the security suite's platform and the helpers on both" $ok
# every declared service with a synthetic generator enabled in Bodø and Bærum, with records (as the security suite has it)
out=$(psql_ s -At -f tests/security/05_declared_services.sql 2>&1)
check "every declared service with a generator has records in Bodø and Bærum" grep -q '^ok - ' <<<"$out"
# a person registered in two kommuner that Asker og Bærum legevakt reaches, with data in both
psql_ s >/dev/null <<'SQL'
INSERT INTO deling.citizen (kommune_nr, pid, given_name, family_name)
SELECT '3203', c.pid, c.given_name, 'Flyttet' FROM deling.citizen c WHERE c.kommune_nr = '3201'
ORDER BY (SELECT count(*) FROM deling.news2_measurement m WHERE m.pid = c.pid) DESC, c.pid LIMIT 1;
INSERT INTO deling.municipal_service (kommune_nr, pid, service_code, status, period_start, weekly_hours, source_system, source_id)
SELECT '3203', c.pid, '15', 'active', current_date - 100, 3, 'ct', 'moved-' || c.pid FROM deling.citizen c WHERE c.kommune_nr = '3203'
AND EXISTS (SELECT FROM deling.citizen x WHERE x.pid = c.pid AND x.kommune_nr = '3201');
SQL
# the single node's data, on the coordinator (measurements and ids are drawn at random)
tables="deling.kommune deling.organisation deling.organisation_reach deling.kommune_service deling.integration_binding
        deling.citizen deling.patient_index deling.kpr_report_state deling.kpr_contact
        $(val s "SELECT string_agg(x.t, ' ' ORDER BY s.service_code, x.o) FROM deling.service s,
                 LATERAL (VALUES (1, 'deling.' || (s.declaration->>'table')), (2, 'deling.' || (s.declaration->>'table') || '_history')) x(o, t)
                 WHERE s.declaration IS NOT NULL AND to_regclass(x.t) IS NOT NULL")"
psql_ c -c "TRUNCATE $(echo $tables | tr ' ' ',') CASCADE" >/dev/null 2>&1
for t in $tables; do
  cols=$(val s "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''")
  psql_ s -c "\\copy (SELECT $cols FROM $t) TO stdout" \
    | PGOPTIONS='-c session_replication_role=replica' psql_ c -c "\\copy $t ($cols) FROM stdin" || ok=false
done
same=true
for t in $tables; do
  [ "$(val s "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")" = \
    "$(val c "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")" ] || { same=false; echo "# $t differs"; }
done
check "the coordinator holds the single node's data" $same

# 3. distribute --------------------------------------------------------------------
err() { sed -n 's/^.*ERROR:  *//p' <<<"$1" | head -1; }
out=$(psql_ s -c 'SELECT deling.distribute()' 2>&1)
check "deling.distribute() on a node without Citus refuses: $(err "$out")" grep -q 'ERROR:  Citus is not installed in this database' <<<"$out"
out=$(psql_ w1 -c 'SELECT deling.distribute()' 2>&1)
check "deling.distribute() on a worker refuses: $(err "$out")" grep -q 'runs on the Citus coordinator; this node is a worker' <<<"$out"
out=$(psql_ c -c 'SELECT deling.distribute()' 2>&1)
check "deling.distribute() refuses while deling_owner cannot log in to the workers: $(err "$out")" \
  grep -q 'not every worker is ready for deling:.*deling_owner cannot log in' <<<"$out"
for node in w1 w2; do
  psql_ "$node" -c "SET citus.enable_ddl_propagation = off; ALTER ROLE deling_owner LOGIN PASSWORD 'citus-test-owner'" >/dev/null
done
psql_ c -c "INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, 'deling_owner', 'password=citus-test-owner')" >/dev/null
out=$(psql_ c -At -c 'SELECT deling.distribute(8)' 2>&1)
check "deling.distribute(8) on the coordinator" grep -q '"by_kommune"' <<<"$out" || echo "# $out"
check "... again: nothing left to do" test "$(val c 'SELECT deling.distribute(8)')" \
  = '{"local": ["deling.access_log", "deling.access_log_head", "deling.access_log_quarantine", "deling.access_log_key", "deling.deleted_reference_row", "deling.research_study", "deling.pseudonym_key", "deling.trusted_key", "deling.news2_clinical_response", "deling.instrument"], "by_person": [], "reference": [], "by_kommune": [], "shard_count": 8}'
check "citizen data by kommune_nr, colocated: $(val c "SELECT string_agg(logicalrelid::text, ', ' ORDER BY logicalrelid::text)
       FROM pg_dist_partition WHERE colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'deling.citizen'::regclass)")" \
  test "$(val c "SELECT count(*) FROM pg_dist_partition p JOIN pg_attribute a ON a.attrelid = p.logicalrelid AND a.attname = 'kommune_nr'
                 WHERE p.partmethod = 'h' AND column_to_column_name(p.logicalrelid, p.partkey) = 'kommune_nr'
                   AND p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'deling.citizen'::regclass)")" -ge 10
check "who holds a person and their blocks by pid, colocated" \
  test "$(val c "SELECT string_agg(logicalrelid::text || ':' || column_to_column_name(logicalrelid, partkey), ',' ORDER BY logicalrelid::text)
                 FROM pg_dist_partition WHERE logicalrelid IN ('deling.patient_index'::regclass, 'deling.citizen_block'::regclass)
                 HAVING count(DISTINCT colocationid) = 1")" = 'deling.citizen_block:pid,deling.patient_index:pid'
check "the catalog and code lists are reference tables" \
  test "$(val c "SELECT count(*) FROM pg_dist_partition WHERE partmethod = 'n' AND repmodel = 't'
                 AND logicalrelid IN ('deling.kommune'::regclass, 'deling.organisation'::regclass, 'deling.organisation_reach'::regclass,
                                      'deling.kommune_service'::regclass, 'deling.service'::regclass, 'deling.service_type'::regclass,
                                      'deling.integration_binding'::regclass)")" = 7
check "the access log, its key, the research keys and the catalog only the coordinator reads stay local to the coordinator" \
  test "$(val c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid IN ('deling.access_log'::regclass,
                 'deling.access_log_head'::regclass, 'deling.access_log_key'::regclass, 'deling.pseudonym_key'::regclass,
                 'deling.trusted_key'::regclass, 'deling.news2_clinical_response'::regclass, 'deling.instrument'::regclass)")" = 0
same=true
for t in $tables; do
  [ "$(val s "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")" = \
    "$(val c "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")" ] || { same=false; echo "# $t differs"; }
done
check "the distributed tables hold the same rows" $same

# 4. every answer, compared -----------------------------------------------------------
compare() {   # compare FILE: run it on both; per section, every answer the same
  local f=$1 name=${1##*/} section differ total stray
  psql_ s -At -f "$f" > "$dir/$name.single" 2>&1
  psql_ c -At -f "$f" > "$dir/$name.cluster" 2>&1
  for section in $(sed -n 's|^\([a-z0-9-]*\)/.*|\1|p' "$dir/$name.single" | sort -u); do
    total=$(grep -c "^$section/" "$dir/$name.single")
    differ=$(awk -v s="^$section/" '$1 ~ s { if (NR == FNR) { a[$1] = $0; o[++n] = $1 } else b[$1] = $0 }
                  END { for (i = 1; i <= n; i++) if (!(o[i] in b) || a[o[i]] != b[o[i]]) print o[i]
                        for (l in b) if (!(l in a)) print l }' "$dir/$name.single" "$dir/$name.cluster")
    check "$name $section: $total answers, the same from the cluster as from the single node" test -z "$differ"
    for l in $differ; do
      echo "# $l"
      echo "#   single:  $(grep -F -m1 "$l " "$dir/$name.single" | cut -c1-800)"
      echo "#   cluster: $(grep -F -m1 "$l " "$dir/$name.cluster" | cut -c1-800)"
    done | head -60
  done
  # a line that is no answer is an error of the file itself
  stray=$(grep -hv '^[a-z0-9-]*/' "$dir/$name.single" "$dir/$name.cluster" | grep -v '^$' | head -5)
  check "$name ran through on both" test -z "$stray"
  [ -z "$stray" ] || sed 's/^/# /' <<<"$stray"
}
compare tests/citus/reads.sql
compare tests/citus/answers.sql
compare tests/citus/log.sql

# 5. the attacks that matter, through the coordinator ---------------------------------------
out=$(psql_ c -At -f tests/citus/attacks.sql 2>&1); rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok - "*)     check "attacks.sql: ${line#ok - }" true ;;
    "not ok - "*) check "attacks.sql: ${line#not ok - }" false ;;
    *)            [ -n "$line" ] && echo "# $line" ;;
  esac
done <<<"$out"
check "attacks.sql ran through" test "$rc" -eq 0
# ... and on a worker, where there is no caller context
lege_claims=$(val c "SELECT sec.claims('lege_bodo')")
lege_tok=$(tests/tools/mint-jwt RS256 sec1 "$lege_claims")
bodo_pid=$(val c "SELECT sec.pid('1804')")
out=$(sql_as w1 sec_lege "SELECT deling.authenticate('$lege_tok')")
check "a caller's token sets no context on a worker (the token keys are the coordinator's): $(err "$out")" \
  grep -q 'is not a trusted key\|ran on a Citus worker, which has no caller context' <<<"$out"
out=$(sql_as w1 postgres "SELECT deling.set_context_value('deling.ctx_kind', 'person', true)")
check "... and nothing sets one there, not even a superuser: $(err "$out")" grep -q 'ran on a Citus worker, which has no caller context' <<<"$out"
out=$(sql_as w1 sec_lege "SELECT api.news2_observations('$bodo_pid')")
check "a sharing read on a worker is refused: $(err "$out")" grep -q 'ran on a Citus worker, which has no caller context\|is a Citus worker, which keeps no access log' <<<"$out"
out=$(sql_as w1 postgres "SELECT deling.access_log_check()")
check "... and a worker is never ready for one, whoever asks: $(err "$out")" grep -q 'is a Citus worker, which keeps no access log' <<<"$out"
out=$(sql_as w1 postgres "SELECT deling.access_log_emit('{}')")
check "no access-log entry is written on a worker: $(err "$out")" grep -q 'ran on a Citus worker' <<<"$out"
out=$(sql_as w1 postgres "SELECT deling.reach_for(NULL)")
check "the caller's reach is not computed on a worker: $(err "$out")" grep -q 'ran on a Citus worker' <<<"$out"
out=$(as_pg "$bindir/psql" -X -At -h 127.0.0.1 -p "${port[w1]}" -U deling_owner -d platform -w -c 'SELECT 1' 2>&1)
check "deling_owner logs in to a worker only with its credential: $(sed -n 's/.*FATAL: *//p' <<<"$out" | head -1)" \
  grep -q 'password' <<<"$out"

# 6. a lookup by one citizen goes to that citizen's shards; time; the access log -------------
lookup_pids=$(val s "SELECT string_agg(c.pid, ',' ORDER BY c.pid) FROM (SELECT c.pid FROM deling.citizen c
                     WHERE c.kommune_nr = '1804' AND EXISTS (SELECT FROM deling.news2_measurement m WHERE m.pid = c.pid)
                       AND EXISTS (SELECT FROM deling.municipal_service m WHERE m.pid = c.pid) ORDER BY c.pid LIMIT 10) c")
lookup() {   # lookup NODE SQL...: as Bodø legevakt's doctor
  { echo "SELECT deling.authenticate('$lege_tok', for_session => true) IS NOT NULL AS authenticated \\gset"
    for s in "${@:2}"; do echo "$s;"; done; } | as_pg "$bindir/psql" -X -q -At -h "$dir" -p "${port[$1]}" -U sec_lege -d platform 2>&1
}
# every statement a lookup sends to a worker names one shard: the kommune's (citizen data) or the person's
out=$(lookup c "SET citus.log_remote_commands = on" "SET client_min_messages = log" \
               "SELECT length(api.legevakt_summary('$bodo_pid')::text) > 0" "SELECT length(api.news2_observations('$bodo_pid')::text) > 0" \
               "SELECT length(api.municipal_services('$bodo_pid')::text) > 0")
shards=$(grep -o 'deling\.[a-z0-9_]*_[0-9]\{6,\}' <<<"$out" | sed 's/.*_//' | sort -u | tr '\n' ',' | sed 's/,$//')
remote=$(grep -c 'issuing' <<<"$out")
stray=$(val c "SELECT string_agg(s.shardid::text || ' (' || s.logicalrelid::text || ')', ', ')
               FROM pg_dist_shard s JOIN pg_dist_partition p USING (logicalrelid)
               WHERE s.shardid IN (${shards:-0}) AND p.partmethod = 'h'
                 AND s.shardid <> get_shard_id_for_distribution_column(s.logicalrelid,
                                      CASE column_to_column_name(p.logicalrelid, p.partkey) WHEN 'pid' THEN '$bodo_pid' ELSE '1804' END)")
check "a legevakt lookup, a NEWS2 read and a services read of a Bodø citizen: $remote statements sent to workers, each to the shard of kommune 1804 or of the person" \
  test "$remote" -gt 0 -a -z "$stray"
[ -z "$stray" ] || echo "# other shards: $stray"
rows_sql="SELECT ROW(r.*)::deling.news2_measurement FROM deling.news2_measurement r WHERE r.kommune_nr = ANY ('{1804}'::text[]) AND r.pid = '$bodo_pid'"
check "EXPLAIN of a service's rows query for the kommune holding the citizen: a router plan (Task Count: 1)" \
  grep -q 'Task Count: 1' <<<"$(val c "EXPLAIN (COSTS OFF) $rows_sql")"
check "EXPLAIN of who holds the person: a router plan" \
  grep -q 'Task Count: 1' <<<"$(val c "EXPLAIN (COSTS OFF) SELECT i.kommune_nr FROM deling.patient_index i WHERE i.pid = '$bodo_pid' AND i.kommune_nr = ANY ('{1804,1840}')")"
# time: the legevakt lookup and the NEWS2 read as PostgREST requests them (a transaction each, as
# deling_authenticator: the doctor's role, the request's headers with the token, deling.pre_request,
# the read of one of ten Bodø citizens) under pgbench, one client, the single node and the cluster
# in turn, five rounds of 3 s each; each node's best round (the machine is shared: other work slows
# a round down, never up, and it slows the cluster's three processes per request more than the
# single node's one), every round printed
lookup_time() {   # lookup_time NODE FN: mean ms per request of one round
  local f=$dir/pgbench-$2.sql
  if [ ! -f "$f" ]; then
    printf '%s\n' '\set i random(1, 10)' 'BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;' \
      "SELECT set_config('search_path', '\"api\", \"public\"', true), set_config('role', 'deling_helsepersonell', true),
              set_config('request.jwt.claims', '$lege_claims', true), set_config('request.method', 'POST', true),
              set_config('request.path', '/rpc/$2', true),
              set_config('request.headers', '{\"authorization\": \"Bearer $lege_tok\"}', true);" \
      'SELECT deling.pre_request();' \
      "SELECT length(api.$2((string_to_array('$lookup_pids', ','))[:i])::text);" 'COMMIT;' > "$f"
    chmod 644 "$f"
  fi
  as_pg "$bindir/pgbench" -n -h "$dir" -p "${port[$1]}" -U deling_authenticator -c 1 -T 3 -f "$f" platform 2>&1 |
    awk '/number of failed transactions: [1-9]/ { failed = 1 } /^latency average/ { v = $4 } END { print (failed || v == "") ? "failed" : v }'
}
for fn in legevakt_summary news2_observations; do
  single=() cluster=()
  for r in 1 2 3 4 5; do single+=("$(lookup_time s "$fn")"); cluster+=("$(lookup_time c "$fn")"); done
  ms=$(printf '%s\n' "${single[@]}" | sort -g | head -1); mc=$(printf '%s\n' "${cluster[@]}" | sort -g | head -1)
  ratio=$(awk -v a="$mc" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')
  # the time is a measurement, not an assertion (performance goals live in the benchmarks): the
  # requests must succeed on both; the ratio to issue 21's goal (within 2 x) is printed
  check "api.$fn of a Bodø citizen as PostgREST requests it answers on the cluster and on the single node under pgbench" \
    awk -v a="$mc" -v b="$ms" 'BEGIN { exit !(a + 0 > 0 && b + 0 > 0) }'
  echo "# api.$fn: ${mc} ms on the cluster, ${ms} ms on the single node: ${ratio} x (goal: within 2 x; best of five rounds: ${cluster[*]} / ${single[*]})"
done
# the access log: the coordinator's, every entry; the workers keep none and do not decode
before=$(val c "SELECT deling.access_log_drain() IS NOT NULL; SELECT count(*) FROM deling.access_log" | tail -1)
lookup c "SELECT sum(length(api.news2_observations(p)::text)) FROM unnest(string_to_array('$lookup_pids', ',')) p" >/dev/null
after=$(val c "SELECT deling.access_log_drain() IS NOT NULL; SELECT count(*) FROM deling.access_log" | tail -1)
check "every read through the coordinator is one entry in its access log ($((after - before)) for $(tr ',' '\n' <<<"$lookup_pids" | grep -c .) reads)" \
  test "$((after - before))" -eq "$(tr ',' '\n' <<<"$lookup_pids" | grep -c .)"
check "the coordinator's access-log chain verifies: $(val c "SELECT deling.verify_access_log(NULL)->>'valid'")" \
  test "$(val c "SELECT deling.verify_access_log(NULL)->>'valid'")" = true
check "the workers keep no access log: no entries, no slot, not ready for entries" \
  test "$(val w1 "SELECT count(*) FROM deling.access_log")/$(val w2 "SELECT count(*) FROM deling.access_log")/$(val w1 "SELECT count(*) FROM pg_replication_slots")/$(val w2 "SELECT count(*) FROM pg_replication_slots")/$(val w1 "SELECT deling.access_log_ready()")" = 0/0/0/0/f
lines=$(cat "$dir/w1.log" "$dir/w2.log" | grep -c 'logical decoding\|replication slot "deling_access_log')
check "the workers' log workers decode nothing ($lines server-log lines about decoding)" test "$lines" -eq 0
check "the coordinator's log worker holds its slot" test "$(val c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'deling_access_log_%' AND active")" = 1

# 7. a third worker, a rebalance, a kommune on a shard of its own: the same answers ----------
start_node w3 'citus,deling' && add_worker w3 >/dev/null 2>&1
check "citus_add_node of a third worker creates deling there (its script's NOTIFY is no 2PC's either)" \
  test "$(val w3 "SELECT extversion FROM pg_extension WHERE extname = 'deling'")" = "$(val c "SELECT extversion FROM pg_extension WHERE extname = 'deling'")"
check "deling.distribute() again: the new worker is ready, nothing to distribute" grep -q '"by_kommune": \[\]' <<<"$(val c 'SELECT deling.distribute(8)')"
t0=$(date +%s)
out=$(psql_ c -At -c "SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')" -c 'SELECT citus_rebalance_wait()' 2>&1)
check "rebalanced onto the third worker in $(( $(date +%s) - t0 )) s: $(val c "SELECT count(*) FROM pg_dist_shard_placement WHERE nodeport = ${port[w3]}") shards there" \
  test "$(val c "SELECT count(*) FROM pg_dist_shard_placement WHERE nodeport = ${port[w3]}")" -gt 0
[ "$(val c "SELECT count(*) FROM pg_dist_shard_placement WHERE nodeport = ${port[w3]}")" -gt 0 ] || echo "# $out"
t0=$(date +%s)
out=$(psql_ c -At -c "SELECT isolate_tenant_to_new_shard('deling.citizen', '1804', 'CASCADE', shard_transfer_mode => 'force_logical')" 2>&1)
isolated=$(val c "SELECT get_shard_id_for_distribution_column('deling.citizen', '1804')")
check "kommune 1804 isolated on a shard of its own (and its colocated tables') in $(( $(date +%s) - t0 )) s" \
  test "$(val c "SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard WHERE shardid = $isolated")" = t
[ "$(val c "SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard WHERE shardid = $isolated")" = t ] || echo "# $out"
from=$(val c "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $isolated")
to=${port[w3]}; [ "$from" = "$to" ] && to=${port[w1]}
out=$(psql_ c -At -c "SELECT citus_move_shard_placement($isolated, '127.0.0.1', $from, '127.0.0.1', $to, shard_transfer_mode => 'force_logical')" 2>&1)
check "... and moved to a worker of its own choosing" test "$(val c "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $isolated")" = "$to"
[ "$(val c "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $isolated")" = "$to" ] || echo "# $out"
mv "$dir/reads.sql.single" "$dir/reads.sql.single.before"; mv "$dir/reads.sql.cluster" "$dir/reads.sql.cluster.before"
compare tests/citus/reads.sql

check "the access log verifies at the end: $(val c "SELECT deling.verify_access_log(NULL)")" \
  test "$(val c "SELECT deling.verify_access_log(NULL)->>'valid'")" = true
echo "1..$n"
