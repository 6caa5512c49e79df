#!/usr/bin/env bash
# CREATE EXTENSION deling on a server started without the preload fails and
# tells the DBA exactly what to set; with it, the extension installs.
# Runs its own short-lived server (initdb in a temp dir) next to the suite's.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/own-cluster.sh
own_cluster 20000
start
out=$(psql -X -h "$dir" -p "$port" -U postgres -d postgres -c 'CREATE EXTENSION deling' 2>&1)
check "CREATE EXTENSION without the preload fails" grep -q 'ERROR:  deling must be loaded at server start' <<<"$out"
check "the hint names shared_preload_libraries and wal_level" grep -q "shared_preload_libraries = 'deling' and wal_level = logical" <<<"$out"
out=$(psql -X -h "$dir" -p "$port" -U postgres -d postgres -c 'LOAD '"'"'deling'"'" 2>&1)
check "LOAD without the preload fails the same way" grep -q 'deling must be loaded at server start' <<<"$out"
as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
echo "shared_preload_libraries = 'deling'" >> "$dir/data/postgresql.conf"
start
out=$(psql -X -h "$dir" -p "$port" -U postgres -d postgres -Atc 'CREATE EXTENSION deling' -c "SELECT extversion FROM pg_extension WHERE extname = 'deling'" 2>&1)
check "with the preload the extension installs (the default version, through the update chain)" grep -qx "$(sed -n "s/^default_version = '\(.*\)'/\1/p" deling.control)" <<<"$out"
out=$(psql -X -h "$dir" -p "$port" -U postgres -d postgres -Atc 'DROP EXTENSION deling' -c 'CREATE EXTENSION deling' 2>&1)
check "drop and re-create works (roles are kept, not duplicated)" grep -q 'CREATE EXTENSION' <<<"$out"
