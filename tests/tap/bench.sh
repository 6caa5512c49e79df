#!/usr/bin/env bash
# The benchmark harness itself (make bench), at a tiny scale in its own
# short-lived server, so that it cannot rot between benchmark runs: every
# benchmark runs to the end with its own correctness checks (the scoring
# variants agree on every row, the FHIR builders give the same resources,
# every lookup is in the access log), and the table has every area's rows.
# Times at this scale mean nothing and are not checked.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/own-cluster.sh
mapfile -t settings < <(scripts/pg-options.sh postgres)
own_cluster 40000 "${settings[@]}" fsync=on
start
export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres

out=$(tests/bench/run.sh tiny 2>&1); rc=$?
check "make bench's harness runs every benchmark to the end (SCALE=tiny)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || { echo "$out" | tail -20 | sed 's/^/# /'; tail -5 "$dir/log" | sed 's/^/# /'; }
q() { psql -X -At -c "$1" 2>/dev/null; }
for area in load "NEWS2 scoring" "tenant isolation" ingest "FHIR rendering" "legevakt lookup" memory; do
  check "the table has rows for $area" [ "$(q "SELECT count(*) FROM bench.result WHERE area = '$area'")" -gt 0 ]
done
check "the table is printed with the goals' verdicts" grep -q "deling benchmarks (ratio = value / baseline" <<<"$out"
check "every lookup and every floor read is in the access log after the drain" \
  [ "$(q "SELECT count(*) FILTER (WHERE met) || '/' || count(*) FROM bench.result WHERE goal LIKE '= every %'")" = 2/2 ]
check "every ratio is the value over a baseline of the same run" \
  [ "$(q "SELECT count(*) FROM bench.result WHERE (ratio IS NULL) <> (baseline IS NULL)")" = 0 ]
check "every goal has a verdict" [ "$(q "SELECT count(*) FROM bench.result WHERE goal IS NOT NULL AND met IS NULL")" = 0 ]
check "scan, C, SQL CASE and PL/pgSQL each scored all 20000 stored rows" \
  [ "$(q "SELECT count(*) FROM bench.result WHERE area = 'NEWS2 scoring' AND measure LIKE '% of 20000 stored rows'")" = 4 ]
