#!/usr/bin/env bash
# The server settings deling needs, as pg_virtualenv/pg_createcluster -o
# options (NAME=VALUE), one per line, for a server whose access log is
# that of database $1 (default postgres).  They come from tests/deling.conf
# (the one source, which make installcheck's temporary instances read as
# it is), and, on PostgreSQL builds that have the output-plugin allow-list,
# from tests/output-plugins.conf.
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:-postgres}
files=(tests/deling.conf)
if /usr/lib/postgresql/15/bin/postgres --describe-config 2>/dev/null | grep '^output_plugin_libraries' >/dev/null; then
  files+=(tests/output-plugins.conf)
fi
# NAME = 'VALUE'  # comment   ->   NAME=VALUE
sed -n "s/^[[:space:]]*\([A-Za-z_.]*\)[[:space:]]*=[[:space:]]*'\([^']*\)'.*$/\1=\2/p; t; s/^[[:space:]]*\([A-Za-z_.]*\)[[:space:]]*=[[:space:]]*\([^'[:space:]#][^[:space:]#]*\).*$/\1=\2/p" "${files[@]}" |
  sed "s/^deling\.access_log_database=.*/deling.access_log_database=$db/"
