#!/usr/bin/env bash
# run.sh --install | [SCENARIO...] - the interop driver (driver.mjs: fhirkit, smart, medplum)
# against a running overblik named by OB_URL, OB_BIN, OB_DB (and OB_IDP, OB_OIDC for smart);
# tests/e2e/interop.sh sets those up. Installs the pinned packages of package-lock.json with
# `npm ci` first (once: a stamp file remembers the lock it installed), under a lock so that
# parallel test runs do not collide. Exit 0 when every check passed, 1 on a failure, 2 on
# usage or setup failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "run.sh: node is not installed" >&2; exit 2; }
command -v npm >/dev/null || { echo "run.sh: npm is not installed" >&2; exit 2; }
(
  flock 9
  if [ ! -d "$here/node_modules/fhir-kit-client" ] || ! cmp -s "$here/package-lock.json" "$here/.npm-stamp"; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
      { echo "run.sh: npm ci failed (is the npm registry reachable?)" >&2; exit 2; }
    cp "$here/package-lock.json" "$here/.npm-stamp"
  fi
) 9>"$here/.npm-lock"
[ "${1:-}" = --install ] && exit 0
cd "$here"
exec node driver.mjs "$@"
