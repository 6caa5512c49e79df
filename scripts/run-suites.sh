#!/usr/bin/env bash
# Run every suite of make installcheck, each phase on its own so that one
# failing does not stop the others: pg_regress, pg_isolation_regress (each
# in a temporary instance of its own) and the TAP tests t/*.pl (prove -v);
# count the passes and failures of each suite and write one line per suite
# and the total, "N passed, M failed", to $DELING_SUMMARY (default: standard
# output).  Every pg_regress or isolation test and every TAP assertion
# counts; a TAP test that dies or ends short of its plan counts as failed.
# Each suite's own output goes to the terminal.  Not as root (initdb refuses):
# scripts/test.sh runs it as the postgres user.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0
declare -a summary

count() {   # count NAME PASSED FAILED [SKIPPED-REASON]
  passed=$((passed + $2)); failed=$((failed + $3))
  summary+=("$(printf '%-28s %4d passed, %d failed' "$1" "$2" "$3")${4:+ (skipped: $4)}")
}

# pg_regress and pg_isolation_regress: "test NAME ... ok" / "... FAILED" lines
regress_phase() {   # regress_phase NAME DIFFS make-arguments...
  local name=$1 diffs=$2 out rc ok bad
  shift 2
  out=$(make -s installcheck "$@" 2>&1); rc=$?
  echo "$out"
  ok=$(grep -cE '\.\.\. ok( |$)' <<<"$out")
  bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' <<<"$out")
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  [ "$rc" -ne 0 ] && [ -f "$diffs" ] && cat "$diffs"
  count "$name" "$ok" "$bad"
}
regress_phase regress regression.diffs REGRESS="$(cd sql && ls *.sql | sed 's/\.sql$//' | sort | paste -sd' ')"
regress_phase isolation tests/isolation/output_iso/regression.diffs \
  ISOLATION="$(cd tests/isolation/specs && ls *.spec | sed 's/\.spec$//' | sort | paste -sd' ')"

# TAP tests: prove -v prints each file's name, its TAP lines and its verdict
tap=$(mktemp)
make -s installcheck PROVE_TESTS="$(ls t/*.pl | sort | paste -sd' ')" PROVE_FLAGS=-v | tee "$tap"
while IFS=$'\t' read -r name ok bad skipped; do
  count "$name" "$ok" "$bad" "$skipped"
done < <(awk '
  function flush() {
    if (name == "") return
    if (verdict != "ok" && verdict !~ /^skipped/ && bad < 1) bad = 1
    if (short > bad) bad = short
    printf "%s\t%d\t%d\t%s\n", name, good, bad, (verdict ~ /^skipped/ ? substr(verdict, 10) : "")
    name = ""
  }
  /^t\/[^ ]+\.pl \.+ ?/ { flush(); name = $1; good = 0; bad = 0; short = 0; verdict = ""
                          # a skipped test says so on this line (prove -v: "t/x.pl .. skipped: why")
                          if (match($0, /skipped:.*/)) verdict = substr($0, RSTART); next }
  name == "" { next }
  /^ok [0-9]+/ { good++; next }
  /^not ok [0-9]+/ { if ($0 ~ /# TODO/) good++; else bad++; next }
  /^Failed [0-9]+\/[0-9]+ subtests/ { split($2, f, "/"); short = f[1]; verdict = "failed"; next }
  /^(ok|skipped:.*|Dubious.*|No subtests run|No plan found.*)$/ { verdict = $0; next }
  /^Test Summary Report/ { flush() }
  END { flush() }' "$tap")
# a TAP test prove never reported (a crash of prove itself) fails too
for t in t/*.pl; do
  grep -q "^${t//./\\.} \.\." "$tap" || count "$t" 0 1
done
rm -f "$tap"

{ printf '%s\n' "${summary[@]}"; echo "$passed passed, $failed failed"; } > "${DELING_SUMMARY:-/dev/stdout}"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
