#!/usr/bin/env bash
# FHIR R4 validity of the API's answers (R-API-1): runs the API unit tests
# (build/api_test_*, from tests/unit/api/) with OB_FHIR_DUMP set, so that each writes
# every successful response body (resources, Bundles, Parameters) into one directory,
# then validates them all with tests/fhir/validate.sh (the npm `fhir` validator). The
# official R4 example Consents and AuditEvents (npm hl7.fhir.r4.examples) are validated
# too, as a check of the validator itself. Fails on any invalid resource, on a failing
# API test, or when nothing was dumped.
set -uo pipefail
src=${OB_SOURCE_DIR:?OB_SOURCE_DIR must point at the source tree}
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
build=$(dirname "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/dump"

# install the validator (and the official examples the API tests POST) first
if ! "$src/tests/fhir/validate.sh" --install; then
  echo "FAIL: the FHIR validator could not be installed"
  exit 1
fi

shopt -s nullglob
tests=("$build"/api_test_*)
if [ ${#tests[@]} -eq 0 ]; then
  echo "FAIL: no API unit tests (api_test_*) in $build"
  exit 1
fi
failn=0
for t in "${tests[@]}"; do
  [ -x "$t" ] || continue
  if ! OB_FHIR_DUMP="$work/dump" OB_SOURCE_DIR="$src" OB_BIN="$bin" "$t" >"$work/out" 2>&1; then
    cat "$work/out"
    echo "FAIL: $(basename "$t")"
    failn=$((failn+1))
  fi
done
n=$(ls "$work/dump" | wc -l)
if [ "$n" -eq 0 ]; then
  echo "FAIL: the API tests dumped no responses"
  exit 1
fi
echo "validating $n API responses"
"$src/tests/fhir/validate.sh" "$work/dump" || failn=$((failn+1))
ex="$src/tests/fhir/node_modules/hl7.fhir.r4.examples"
if [ -d "$ex" ]; then
  mkdir -p "$work/examples"
  cp "$ex"/Consent-*.json "$ex"/AuditEvent-*.json "$work/examples/"
  echo "validating the official R4 Consent and AuditEvent examples (validator self-check)"
  "$src/tests/fhir/validate.sh" "$work/examples" || failn=$((failn+1))
fi
if [ "$failn" -ne 0 ]; then
  echo "fhir_valid: $failn failures"
  exit 1
fi
echo "fhir_valid: all API responses are valid FHIR R4"
