#!/usr/bin/env bash
# Every FHIR document the pg_regress suite wrote to $DELING_FHIR_OUT must
# pass the official HL7 FHIR R4 JSON schema (tests/tools/fhir-validate).
# Each file is one TAP line; a missing file fails too.  Then the validator
# must reject known-bad FHIR, so a validator that accepted anything fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
validator=tests/tools/fhir-validate/fhir-validate
out=${DELING_FHIR_OUT:?run by scripts/run-suites.sh, which sets DELING_FHIR_OUT}
expected=(news2_observations.json news2_max1.json news2_page2.json news2_empty.json municipal_services.json
          municipal_services_history.json legevakt_summary.json blocked_services.json emergency_services.json
          blocked_news2.json my_access_log.json access_log_export.json
          pgrst_news2_observations.json pgrst_municipal_services.json pgrst_legevakt_summary.json
          pgrst_my_access_log.json fhir_json_bundle.json template_condition.json template_careplan.json)
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

# rejects WHAT SUMMARY PATTERN JSON: the validator, given JSON, exits 1 (invalid, not "could not
# run"), ends with SUMMARY ("N valid, M invalid") and names the fault (PATTERN, an extended regex).
rejects() {
  n=$((n + 1))
  result=$("$validator" <<<"$4" 2>&1); rc=$?
  if [ $rc -eq 1 ] && [ "${result##*$'\n'}" = "$2" ] && grep -qE -- "$3" <<<"$result"; then
    echo "ok $n - rejected: $1"
  else
    echo "not ok $n - not rejected as expected (exit $rc): $1"; echo "$result" | sed 's/^/# /'
  fi
}
rejects "an Observation with status 'bogus'" "0 valid, 1 invalid" \
  "\(Observation/o1\): \.status should be equal to one of the allowed values" \
  '{"resourceType":"Observation","id":"o1","status":"bogus","code":{"text":"NEWS2"}}'
rejects "a Bundle whose entry's resource lacks resourceType (the Bundle, and the entry on its own)" "0 valid, 2 invalid" \
  "\.entry\[0\] \(\?/p1\): no resourceType" \
  '{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"id":"p1"}}]}'
rejects "a Patient with an unknown property" "0 valid, 1 invalid" \
  "\(Patient/p2\): .*additional properties 'favouriteColour'" \
  '{"resourceType":"Patient","id":"p2","favouriteColour":"blue"}'
rejects "JSON lines: a valid Patient passes, one with birthDate 1990-13-45 does not" "1 valid, 1 invalid" \
  "\(Patient/p4\): \.birthDate should match pattern" \
  $'{"resourceType":"Patient","id":"p3"}\n{"resourceType":"Patient","id":"p4","birthDate":"1990-13-45"}'
