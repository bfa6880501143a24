#!/usr/bin/env bash
# lighthouse.sh [OUTFILE] - Lighthouse 12.2.3, mobile profile, on the citizen pages (logged in
# through the loopback provider) against a fresh generated world and a real `overblik serve`
# (the pages compiled in, or OB_WEB_DIR). Prints one line per page; OUTFILE (default
# /tmp/lighthouse.json) gets the figures. Not part of make test (about a minute); the figures
# are in docs/performance.md.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${OB_BIN:-$src/build/overblik}
outfile=$(realpath -m "${1:-/tmp/lighthouse.json}")
. "$src/tests/e2e/lib.bash"
. "$src/tests/web/setup.bash"
work=$(mktemp -d)
srv=""; idp_pid=""
trap '[ -n "$srv" ] && kill "$srv"; [ -n "$idp_pid" ] && kill "$idp_pid"; wait 2>/dev/null; rm -rf "$work"' EXIT
bash "$src/tests/web/run.sh" --install
web_world
web_idp || { cat "$work/idp.out"; exit 1; }
web_serve || { cat "$work/serve.err"; exit 1; }
OB_URL=$addr OB_CPR=$cpr bash "$src/tests/web/run.sh" lighthouse.mjs "$outfile"
