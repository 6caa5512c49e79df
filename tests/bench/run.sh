#!/usr/bin/env bash
# Inside the benchmark cluster: load the data set, run every benchmark, print
# one table.  tests/bench/run.sh SCALE (full, small, or tiny: the
# harness's own test, t/100_bench.pl); called by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
case "$1" in
  full)  load=(-v citizens=1000000 -v kommuner=20 -v services=3000000 -v measurements=10000000)
         lookups=20000 batches=20 bundles=2000 secs=60 svc=(-v citizens=2500 -v reads=2000) ;;
  small) load=(-v citizens=50000 -v kommuner=20 -v services=150000 -v measurements=500000)
         lookups=5000 batches=6 bundles=300 secs=15 svc=(-v citizens=500 -v reads=1000) ;;
  tiny)  load=(-v citizens=2000 -v kommuner=20 -v services=6000 -v measurements=20000)
         lookups=200 batches=2 bundles=20 secs=3 svc=(-v citizens=50 -v reads=50) ;;
  *) echo "SCALE must be full, small or tiny, not $1" >&2; exit 2 ;;
esac
p() { echo "== $1 ($(date -u +%H:%M:%S))" >&2; shift; psql -X -q -v ON_ERROR_STOP=1 "$@" >/dev/null; }
for _ in $(seq 100); do pg_isready -q && break; sleep 0.2; done
[ "$(psql -XAtc 'SHOW fsync')" = on ] || { echo "the benchmark cluster must run with fsync = on" >&2; exit 1; }
p load "${load[@]}" -f tests/bench/setup.sql
p scoring -f tests/bench/news2_scoring.sql
p "tenant isolation" -v lookups="$lookups" -f tests/bench/rls.sql
p ingest -v batches="$batches" -v batch=1000 -f tests/bench/ingest.sql
p "FHIR rendering" -v bundles="$bundles" -f tests/bench/fhir.sql
echo "== legevakt lookup ($(date -u +%H:%M:%S))" >&2
tests/bench/legevakt.sh "$secs"
p memory -f tests/bench/memory.sql
# after the legevakt lookup: it opts every kommune in to the declared services
p "sharing services" "${svc[@]}" -v batches="$batches" -v batch=1000 -f tests/bench/services.sql
psql -X -q -v ON_ERROR_STOP=1 -P footer=off <<'SQL'
\pset title 'deling benchmarks (ratio = value / baseline, both measured in this run)'
SELECT area, measure, value, unit, baseline, ratio, goal,
       CASE met WHEN true THEN 'met' WHEN false THEN 'MISSED' END AS met
FROM bench.result ORDER BY o;
SQL
