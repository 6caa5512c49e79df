#!/usr/bin/env bash
# Install what deling needs to build, run and test, on Debian 12, from
# Debian's packages only; does nothing when everything is present.
set -euo pipefail

packages=(
  postgresql-15 postgresql-server-dev-15   # server (contrib is part of it on Debian 12), PGXS, pg_virtualenv, isolation tester
  build-essential pkg-config libxml2-dev libssl-dev              # the C build (libxml2, OpenSSL)
  openssl                                                        # tests mint RS256 tokens with the CLI
  valgrind                                                       # memcheck suite
)
# node and npm run ../shared/tools/fhir-validate (the official FHIR R4 JSON schema)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "bootstrap: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: run as root (or install: apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a default cluster with the server package; deling's commands use throwaway clusters.
