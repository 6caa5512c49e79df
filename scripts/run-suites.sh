#!/usr/bin/env bash
# Inside a throwaway cluster: run each suite, count its passes and failures,
# print the total.  Each suite's own output goes to the terminal as well.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0
declare -a summary

count() {   # count NAME PASSED FAILED
  passed=$((passed + $2)); failed=$((failed + $3))
  summary+=("$(printf '%-14s %4d passed, %d failed' "$1" "$2" "$3")")
}

# FHIR documents the suites write, for the fhir suite to validate
export DELING_FHIR_OUT=${DELING_FHIR_OUT:-$(mktemp -d)}
chmod 755 "$DELING_FHIR_OUT"

# 1. pg_regress and isolation tests (make installcheck)
out=$(make -s installcheck 2>&1); rc=$?
echo "$out"
ok=$(grep -cE '^(ok|test| ).*\.\.\. ok|^ok [0-9]+ ' <<<"$out")
bad=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ ' <<<"$out")
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
[ -f regression.diffs ] && cat regression.diffs
[ -f tests/isolation/output_iso/regression.diffs ] && cat tests/isolation/output_iso/regression.diffs
count "regress+iso" "$ok" "$bad"

# 2. TAP-style suites: tests/tap/*.sh print "ok N - ..." / "not ok N - ..."
for t in tests/tap/*.sh; do
  [ -e "$t" ] || continue
  out=$(bash "$t" 2>&1); rc=$?
  echo "$out"
  ok=$(grep -cE '^ok [0-9]+' <<<"$out")
  bad=$(grep -cE '^not ok [0-9]+' <<<"$out")
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  count "$(basename "$t" .sh)" "$ok" "$bad"
done

{ printf '%s\n' "${summary[@]}"; echo "$passed passed, $failed failed"; } > "${DELING_SUMMARY:-/dev/stdout}"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
