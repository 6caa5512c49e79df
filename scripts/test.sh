#!/usr/bin/env bash
# Run every deling test suite (make installcheck: pg_regress, isolation and
# the TAP tests t/*.pl, each in servers of its own) and end with one line,
# "N passed, M failed".  Called by `make test` after bootstrap, build and
# install.
#
# initdb and PostgreSQL::Test::Cluster refuse to run as root.  As root (CI
# runs make test as root on a clean clone), the suites run as the postgres
# user in a copy of the working tree, in a temporary directory only that
# user (and root) can enter, with a copy of the FHIR validator's npm
# packages; the repository itself is never made writable by anyone else.
# As any other user they run in the working tree.
set -uo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGCLUSTER PGDATA   # the suites' servers set their own
export LC_ALL=C.UTF-8 LANG=C.UTF-8             # expected outputs are UTF-8 (æ, ø, å)

work=$(mktemp -d "${TMPDIR:-/tmp}/deling-test.XXXXXX")   # RS256 test keys (made per run, never committed), the summary
trap 'rm -rf "$work"' EXIT
mkdir "$work/keys" "$work/fhir"
# the FHIR documents pg_regress writes for t/040_fhir.pl: this run's, wherever the suites run
export DELING_TEST_KEYS=$work/keys DELING_SUMMARY=$work/summary DELING_FHIR_OUT=$work/fhir

if [ "$(id -u)" -eq 0 ]; then
  runas=postgres
  id -u "$runas" >/dev/null 2>&1 || { echo "test: there is no user $runas to run the suites as (postgresql-15 creates it)"; echo "0 passed, 1 failed"; exit 1; }
  mkdir "$work/deling" "$work/cache"
  # the tree as it is (built files too: t/020_upgrade.pl checks the release scripts), without
  # git's data and earlier runs' output
  tar -cf - --exclude=./.git --exclude='./tmp_check*' --exclude=./results --exclude=./log \
      --exclude=./regression.diffs --exclude=./regression.out --exclude=./tests/isolation/output_iso . |
    tar -C "$work/deling" -xf -
  . tests/tools/fhir-validate/cache.sh
  if [ -d "$fhir_validate_cache" ]; then
    mkdir -p "$work/cache/deling-tools"
    cp -a "$fhir_validate_cache" "$work/cache/deling-tools/"
  fi
  chown -R "$runas": "$work"
  # the suites' servers are children of this runuser: at its end none is left (each suite stops its own)
  runuser -u "$runas" -- env HOME="$work" XDG_CACHE_HOME="$work/cache" TMPDIR="$work" \
    "$work/deling/scripts/run-suites.sh"
  rc=$?
else
  scripts/run-suites.sh
  rc=$?
fi
echo
if [ -s "$DELING_SUMMARY" ]; then
  cat "$DELING_SUMMARY"
else
  echo "0 passed, 1 failed"      # the runner did not get as far as its summary
  rc=1
fi
exit $rc
