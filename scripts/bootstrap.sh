#!/usr/bin/env bash
# Install what deling needs to build, run and test, on Debian 12: Debian's
# packages, then the FHIR validator's pinned npm packages; does nothing (and
# prints nothing) when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  postgresql-15 postgresql-server-dev-15   # server (contrib is part of it on Debian 12), PGXS, pg_regress, isolation tester, PostgreSQL::Test::Cluster, pg_virtualenv
  build-essential pkg-config libxml2-dev libssl-dev              # the C build (libxml2, OpenSSL)
  openssl                                                        # tests mint RS256 tokens with the CLI
  valgrind                                                       # memcheck suite
  libxml2-utils                                                  # xmllint: the KPR scenario checks every message against the official XSD
  libipc-run-perl                                                # PostgreSQL::Test::Cluster (the TAP tests t/*.pl) runs everything through IPC::Run
)
# node and npm run the FHIR validator, tests/tools/fhir-validate (the official FHIR R4 JSON schema)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: run as root (or install: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a default cluster with the server package; deling's commands use throwaway clusters.
fi

# The validator's npm packages, exactly as package-lock.json pins them, in a cache outside the
# working tree named by the lock's hash (tests/tools/fhir-validate/cache.sh).  npm ci runs in a
# temporary directory renamed into place at the end, so the directory exists only when complete.
. tests/tools/fhir-validate/cache.sh
if [ ! -d "$fhir_validate_cache" ]; then
  echo "bootstrap: installing the FHIR validator's npm packages into $fhir_validate_cache"
  mkdir -p "$(dirname "$fhir_validate_cache")"
  tmp=$(mktemp -d "$fhir_validate_cache.XXXXXX")
  cp tests/tools/fhir-validate/package.json tests/tools/fhir-validate/package-lock.json "$tmp/"
  if ! log=$(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund 2>&1); then
    echo "$log" >&2
    rm -rf "$tmp"
    echo "bootstrap: npm ci failed for tests/tools/fhir-validate (is the npm registry reachable?)" >&2
    exit 1
  fi
  mv -T "$tmp" "$fhir_validate_cache" 2>/dev/null || rm -rf "$tmp"   # else a concurrent bootstrap was first
fi
