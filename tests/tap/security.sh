#!/usr/bin/env bash
# The security suite: the attack families a hostile insider would try
# (object shadowing, context forgery, cross-kommune access, stopping or
# bypassing the access log, blocks, privileges), each a file in
# tests/security/.  Every NN_*.sql file runs as the attackers' logins
# against a platform database in a server of its own and prints TAP lines
# ("ok - ..." / "not ok - ...", numbered here); every *.sh file there is a
# self-contained TAP script with servers of its own.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/own-cluster.sh
mapfile -t settings < <(scripts/pg-options.sh platform)
own_cluster 40000 "${settings[@]}"
start
export DELING_TEST_KEYS=$dir/keys PGHOST=$dir PGPORT=$port
mkdir -p "$DELING_TEST_KEYS"
psql -X -q -U postgres -d postgres -c 'CREATE DATABASE platform' >/dev/null
check "the platform database is set up" \
  psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d platform -f tests/security/setup.sql -o /dev/null

for f in tests/security/[0-9]*.sql; do
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d platform -f "$f" 2>&1); rc=$?
  while IFS= read -r line; do
    case "$line" in
      "ok - "*)     n=$((n + 1)); echo "ok $n - ${f##*/}: ${line#ok - }" ;;
      "not ok - "*) n=$((n + 1)); echo "not ok $n - ${f##*/}: ${line#not ok - }" ;;
      *)            [ -n "$line" ] && echo "# $line" ;;
    esac
  done <<<"$out"
  [ "$rc" -eq 0 ] || { n=$((n + 1)); echo "not ok $n - ${f##*/} stopped with an error (exit $rc)"; }
done

for s in tests/security/*.sh; do
  [ -e "$s" ] || continue
  bash "$s" 2>&1 | sed "s|^\(\(not \)\{0,1\}ok [0-9]* - \)|\1${s##*/}: |"
done
