#!/usr/bin/env bash
# Run every deling test suite in a throwaway cluster (pg_virtualenv) with
# the settings the extension needs, and end with "N passed, N failed".
# Called by `make test` after bootstrap, build and install.
set -uo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGCLUSTER   # the throwaway cluster sets its own
export LC_ALL=C.UTF-8 LANG=C.UTF-8                  # expected outputs are UTF-8 (æ, ø, å)
DELING_TEST_KEYS=$(mktemp -d)          # RS256 test keys, made per run, never committed
DELING_SUMMARY=$(mktemp)
export DELING_TEST_KEYS DELING_SUMMARY
trap 'rm -rf "$DELING_TEST_KEYS" "$DELING_SUMMARY"' EXIT
mapfile -t o < <(scripts/pg-options.sh contrib_regression); opts=(); for x in "${o[@]}"; do opts+=(-o "$x"); done
pg_virtualenv -t -v 15 \
  "${opts[@]}" -o "max_prepared_transactions=10" \
  scripts/run-suites.sh
rc=$?
echo
if [ -s "$DELING_SUMMARY" ]; then
  cat "$DELING_SUMMARY"
else
  echo "0 passed, 1 failed"      # the cluster or the runner did not start
  rc=1
fi
exit $rc
