#!/usr/bin/env bash
# validate.sh DIR | --install - validates every *.json file in DIR as a FHIR R4 resource with the
# npm `fhir` package (FHIR.js; see validate.js for what it checks). Installs the pinned
# packages of package-lock.json with `npm ci` first (once: a stamp file remembers the
# lock it installed), under a lock so that parallel test runs do not collide.
# Exit 0 when every file validates, 1 on any error, 2 on usage or setup failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-}"
if [ -z "$dir" ] || { [ "$dir" != --install ] && [ ! -d "$dir" ]; }; then
  echo "usage: validate.sh DIR | --install" >&2
  exit 2
fi
command -v node >/dev/null || { echo "validate.sh: node is not installed" >&2; exit 2; }
(
  flock 9
  if [ ! -d "$here/node_modules/fhir" ] || ! cmp -s "$here/package-lock.json" "$here/.npm-stamp"; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
      { echo "validate.sh: npm ci failed (is the npm registry reachable?)" >&2; exit 2; }
    cp "$here/package-lock.json" "$here/.npm-stamp"
  fi
) 9>"$here/.npm-lock"
[ "$dir" = --install ] && exit 0
shopt -s nullglob
files=("$dir"/*.json)
if [ ${#files[@]} -eq 0 ]; then
  echo "validate.sh: no *.json files in $dir" >&2
  exit 1
fi
exec node "$here/validate.js" "${files[@]}"
