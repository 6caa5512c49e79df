#!/usr/bin/env bash
# Every FHIR document the pg_regress suite wrote to $DELING_FHIR_OUT must
# pass the official HL7 FHIR R4 JSON schema (shared/tools/fhir-validate).
# Each file is one TAP line; a missing file fails too.
set -uo pipefail
cd "$(dirname "$0")/../.."
validator=${DELING_SHARED:-../shared}/tools/fhir-validate/fhir-validate
if [ ! -x "$validator" ]; then
  echo "not ok 1 - the FHIR validator is not at $validator (shared/ must sit beside the checkout, or set DELING_SHARED)"
  exit 1
fi
out=${DELING_FHIR_OUT:?run by scripts/run-suites.sh, which sets DELING_FHIR_OUT}
expected=(news2_observations.json news2_max1.json news2_empty.json municipal_services.json
          municipal_services_history.json legevakt_summary.json blocked_services.json emergency_services.json
          blocked_news2.json my_access_log.json access_log_export.json)
n=0
for f in "${expected[@]}" $(cd "$out" && ls *.json 2>/dev/null | grep -vxF "$(printf '%s\n' "${expected[@]}")"); do
  n=$((n + 1))
  if [ ! -s "$out/$f" ]; then
    echo "not ok $n - $f was not written"
    continue
  fi
  result=$("$validator" "$out/$f" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then
    echo "ok $n - $f: ${result##*$'\n'}"
  else
    echo "not ok $n - $f"; echo "$result" | sed 's/^/# /'
  fi
done
