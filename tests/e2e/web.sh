#!/usr/bin/env bash
# web.sh - the browser tests of overblik's pages (issue 26): playwright-core driving Debian's
# chromium (headless) against a real `overblik serve` and a real OpenID Connect provider (npm
# oidc-provider, tests/web/idp.mjs) on loopback, whose users are a generated world's people
# with the web story of tests/web/story.ndjson added. tests/web/browser.mjs holds the tests
# (login, blocks and what a professional then sees, the denied attempt and the override in
# the citizen's log, in-browser log verification against a forged proof, power of attorney,
# logout, keyboard-only use, a 360 px phone, axe-core on every page, CSP, cookie flags,
# CSRF, no CPR in any URL). Prints "N passed, M failed"; exits non-zero on any failure, and
# fails (never skips) when node, npm, chromium or the npm packages are missing.
# OB_WEB_DIR=web serves the pages from disk (development); OB_WEB_ONLY=name runs one test.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.bash"
. "$src/tests/web/setup.bash"
need node npm jq flock python3
chromium=${OB_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "FAIL: $chromium is not installed (scripts/install-deps.sh installs Debian's chromium)"; exit 1; }
work=$(mktemp -d)
srv=""; idp_pid=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if bash "$src/tests/web/run.sh" --install; then ok; else bad "npm ci of tests/web"; the_end; exit 1; fi
web_world && ok || { bad "the world: gen, init, load"; the_end; exit 1; }
web_idp && ok || { bad "the OIDC provider did not start: $(cat "$work/idp.out")"; the_end; exit 1; }
web_serve && ok || { bad "overblik did not start: $(cat "$work/serve.err")"; the_end; exit 1; }

OB_URL=$addr OB_BIN=$bin OB_DB=$db OB_CPR=$cpr OB_CHROMIUM=$chromium OB_WORK=$work \
  timeout 600 bash "$src/tests/web/run.sh" browser.mjs ${OB_WEB_ONLY:-} | tee "$work/browser.out"
rc=${PIPESTATUS[0]}
last=$(tail -1 "$work/browser.out")
if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  pass=$((pass + BASH_REMATCH[1])); failn=$((failn + BASH_REMATCH[2]))
else
  bad "the browser tests did not finish (exit $rc)"
fi
[ "$rc" -eq 0 ] || [ "$failn" -gt 0 ] || bad "the browser tests exited $rc"
if [ "$failn" -gt 0 ]; then
  echo "--- overblik's stderr (last 20 lines)"; tail -20 "$work/serve.err"
  echo "--- the provider's output (last 10 lines)"; tail -10 "$work/idp.out"
fi
kill -0 "$srv" 2>/dev/null && ok || bad "overblik died during the run: $(tail -5 "$work/serve.err")"
kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
eq "overblik: SIGTERM, exit 0" "$rc" 0
out=$("$bin" log verify --db "$db" 2>&1); eq "log verify after the run" "$?" 0
the_end
