#!/usr/bin/env bash
# make bench [SCALE=small]: the benchmarks in a throwaway cluster, one table
# of results.  Full scale loads 1M citizens, 3M services and 10M NEWS2
# measurements over 20 kommuner with the project's generator; SCALE=small
# is a 2-minute run of the same.  See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGCLUSTER
export LC_ALL=C.UTF-8 LANG=C.UTF-8
scale=${SCALE:-full}
echo "deling benchmarks, SCALE=$scale: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), $(free -g | awk '/Mem:/ {print $2}') GiB," \
     "$(date -u '+%Y-%m-%d %H:%M UTC'), $(pg_config --version)"
mapfile -t o < <(scripts/pg-options.sh postgres); opts=(); for x in "${o[@]}"; do opts+=(-o "$x"); done
# a server sized for the data set: 4 GB of shared buffers on this 24 GiB machine;
# fsync on, which pg_virtualenv turns off by default: the access-log entry of
# every read is flushed, and what that costs is part of what is measured
pg_virtualenv -t -v 15 "${opts[@]}" -o fsync=on -o shared_buffers=4GB -o max_wal_size=8GB -o checkpoint_timeout=30min \
  tests/bench/run.sh "$scale"
