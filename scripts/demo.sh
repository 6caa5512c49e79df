#!/usr/bin/env bash
# Show deling at work in a throwaway cluster (pg_virtualenv): synthetic
# Bodø/Bærum/Asker data, tokens as HelseID would issue them (signed here
# with a key made for the demo), tenant isolation, and the sharing services.
# Called by `make demo` after bootstrap, build and install.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGCLUSTER
export LC_ALL=C.UTF-8 LANG=C.UTF-8
DELING_TEST_KEYS=$(mktemp -d)
export DELING_TEST_KEYS
trap 'rm -rf "$DELING_TEST_KEYS"' EXIT
mapfile -t o < <(scripts/pg-options.sh postgres); opts=(); for x in "${o[@]}"; do opts+=(-o "$x"); done
pg_virtualenv -t -v 15 "${opts[@]}" \
  psql -X -q -v ON_ERROR_STOP=1 -f scripts/demo.sql
