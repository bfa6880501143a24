#!/usr/bin/env bash
# screenshots.sh [OUTDIR] - regenerates docs/screenshots/*.png: every page at desktop and phone
# width (tests/web/shots.mjs), against a fresh generated world, a real `overblik serve` (the
# pages compiled in, or OB_WEB_DIR) and the loopback OpenID Connect provider. Needs a built
# build/overblik (or OB_BIN), node, npm and Debian's chromium.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${OB_BIN:-$src/build/overblik}
outdir=$(realpath -m "${1:-$src/docs/screenshots}")
. "$src/tests/e2e/lib.bash"
. "$src/tests/web/setup.bash"
work=$(mktemp -d)
srv=""; idp_pid=""
trap '[ -n "$srv" ] && kill "$srv"; [ -n "$idp_pid" ] && kill "$idp_pid"; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$outdir"
bash "$src/tests/web/run.sh" --install
web_world
web_idp || { cat "$work/idp.out"; exit 1; }
web_serve || { cat "$work/serve.err"; exit 1; }
OB_URL=$addr OB_CPR=$cpr bash "$src/tests/web/run.sh" shots.mjs "$outdir"
ls -l "$outdir"/*.png | awk '{ printf "%7d  %s\n", $5, $9 }'
