#!/usr/bin/env bash
# run.sh --install | [node script args...] - installs the pinned packages of package-lock.json
# with `npm ci` (once: a stamp file remembers the lock it installed), under a lock so that
# parallel test runs do not collide, then runs `node ARGS` here (e.g. `run.sh browser.mjs`).
# Exit 2 on a setup failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "tests/web/run.sh: node is not installed" >&2; exit 2; }
command -v npm >/dev/null || { echo "tests/web/run.sh: npm is not installed" >&2; exit 2; }
(
  flock 9
  if [ ! -d "$here/node_modules/playwright-core" ] || ! cmp -s "$here/package-lock.json" "$here/.npm-stamp"; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
      { echo "tests/web/run.sh: npm ci failed (is the npm registry reachable?)" >&2; exit 2; }
    cp "$here/package-lock.json" "$here/.npm-stamp"
  fi
) 9>"$here/.npm-lock"
[ "${1:-}" = --install ] && exit 0
cd "$here"
exec node "$@"
