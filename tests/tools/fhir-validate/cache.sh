# Sourced by scripts/bootstrap.sh (which installs there) and fhir-validate (which runs from there):
# sets fhir_validate_cache, the directory holding the validator's npm packages.  It is outside the
# working tree and named by the hash of package-lock.json, so a changed lock is installed afresh and
# an unchanged one is reused.
fhir_validate_cache=${XDG_CACHE_HOME:-$HOME/.cache}/deling-tools/fhir-validate-$(sha256sum < "$(dirname "${BASH_SOURCE[0]}")/package-lock.json" | cut -c1-16)
