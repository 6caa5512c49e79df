#!/usr/bin/env bash
# Run the benchmarks in a throwaway cluster and print their tables.
# SCALE=small for a quick run.  Called by `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGCLUSTER
export LC_ALL=C.UTF-8 LANG=C.UTF-8
rows=1000000
reads=2000
[ "${SCALE:-}" = small ] && rows=200000 && reads=500
echo "deling benchmarks on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d), $(pg_config --version)"
mapfile -t o < <(scripts/pg-options.sh postgres); opts=(); for x in "${o[@]}"; do opts+=(-o "$x"); done
pg_virtualenv -t -v 15 "${opts[@]}" -o "shared_buffers=1GB" \
  sh -c "psql -X -q -c 'CREATE EXTENSION deling' && psql -X -q -v rows=$rows -f tests/bench/news2_scoring.sql && psql -X -q -v reads=$reads -f tests/bench/access_log.sql"
