#!/usr/bin/env bash
# The server settings deling needs, as pg_virtualenv/pg_createcluster -o
# options, one per line: the preload, logical WAL for the access log, the
# database whose access log the worker drains, and (on PostgreSQL builds
# that have the allow-list) deling as a trusted output plugin.
db=${1:-postgres}
echo "shared_preload_libraries=deling"
echo "wal_level=logical"
echo "deling.access_log_database=$db"
if /usr/lib/postgresql/15/bin/postgres --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
  echo "output_plugin_libraries=pgoutput, test_decoding, deling"
fi
