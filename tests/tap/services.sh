#!/usr/bin/env bash
# The sharing services' own tests: each declared service has one file,
# tests/services/<service>.sql (docs/architecture.md, "Adding a sharing
# service").  Each runs as the superuser against a platform database set up
# like the security suite's (tests/security/setup.sql: synthetic data, a
# trusted key, the sec helpers), prints TAP lines ("ok - ..." / "not ok -
# ...", numbered here) and, for every FHIR document it produced, a line
# "fhir <name> <json on one line>" that is checked here against the official
# FHIR R4 JSON schema.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/own-cluster.sh
validator=tests/tools/fhir-validate/fhir-validate
mapfile -t settings < <(scripts/pg-options.sh platform)
own_cluster 42000 "${settings[@]}"
start
export DELING_TEST_KEYS=$dir/keys PGHOST=$dir PGPORT=$port
mkdir -p "$DELING_TEST_KEYS"
psql -X -q -U postgres -d postgres -c 'CREATE DATABASE platform' >/dev/null
check "the platform database is set up" \
  psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d platform -f tests/security/setup.sql -o /dev/null

for f in tests/services/*.sql; do
  [ -e "$f" ] || continue
  name=${f##*/}
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d platform -f "$f" 2>&1); rc=$?
  while IFS= read -r line; do
    case "$line" in
      "ok - "*)     n=$((n + 1)); echo "ok $n - $name: ${line#ok - }" ;;
      "not ok - "*) n=$((n + 1)); echo "not ok $n - $name: ${line#not ok - }" ;;
      "fhir "*)
        rest=${line#fhir }; doc=${rest#* }; what=${rest%% *}
        n=$((n + 1))
        if msg=$(printf '%s\n' "$doc" | "$validator" 2>&1); then
          echo "ok $n - $name: $what is valid FHIR R4"
        else
          echo "not ok $n - $name: $what is valid FHIR R4"; printf '%s\n' "$msg" | sed 's/^/# /' | head -20
        fi ;;
      *)            [ -n "$line" ] && echo "# $line" ;;
    esac
  done <<<"$out"
  [ "$rc" -eq 0 ] || { n=$((n + 1)); echo "not ok $n - $name stopped with an error (exit $rc)"; }
done
