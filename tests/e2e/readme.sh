#!/usr/bin/env bash
# The README's commands, run exactly as printed (issue 25: "every command in the README must
# be run by a test"). In a scratch directory holding build/overblik (the binary under test):
# scripts/demo.sh (what `make demo` runs after building) makes demo-data/ with its 20,000
# patients, runs the tour, prints the tokens and serves; every command of the README's "Over
# HTTP" block then runs with those tokens and must answer JSON that is not an error; after the
# server stops, every line of the "Five-minute tour" block runs, and must exit 0 except the
# one the README says is refused. The port is the README's 8080 unless something else holds
# it (then another, substituted in the commands).
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.bash"
need curl jq sqlite3 awk
work=$(mktemp -d)
demo=""
cleanup() { [ -n "$demo" ] && kill "$demo" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work" || exit 1
mkdir -p build scripts
ln -s "$bin" build/overblik
cp "$src/scripts/demo.sh" scripts/
readme="$src/README.md"

# the code block that follows a heading line starting with $1 (continuation lines joined)
block() {
  awk -v h="$1" '
    index($0, h) == 1 { want = 1; next }
    want && /^```/ { if (inside) exit; inside = 1; next }
    want && inside { print }' "$readme" |
    awk '{ if (sub(/\\$/, "")) { buf = buf $0; next } print buf $0; buf = "" }'
}
tour=$(block "## Five-minute tour")
http=$(block "Over HTTP")
[ "$(grep -c . <<<"$tour")" -ge 10 ] && ok || bad "the README's tour block was found"
[ "$(grep -c curl <<<"$http")" -ge 5 ] && ok || bad "the README's HTTP block was found"

port=8080
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  port=$(( 20000 + RANDOM % 20000 )) # 8080 is taken here: another, substituted below
fi
DEMO_LISTEN=127.0.0.1:$port bash scripts/demo.sh demo-data 20000 >"$work/demo.out" 2>&1 &
demo=$!
for _ in $(seq 1 600); do
  grep -q "^  PT=" "$work/demo.out" && curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
  kill -0 "$demo" 2>/dev/null || break
  sleep 0.2
done
has "make demo: the tour ran and ended with a verified log" "$(cat "$work/demo.out")" "verified"
for v in PRO CIT MON PT; do
  val=$(sed -n "s/^  $v=//p" "$work/demo.out" | head -1)
  [ -n "$val" ] && ok || bad "make demo printed $v"
  export "$v=$val"
done
n=0
while IFS= read -r line; do
  [ -n "$line" ] || continue
  n=$((n + 1))
  cmd=${line//127.0.0.1:8080/127.0.0.1:$port}
  out=$(bash -c "$cmd" 2>&1); rc=$?
  eq "README HTTP line $n exits 0: ${line:0:70}" "$rc" 0
  case "$line" in
    */metrics*) has "README HTTP line $n: the metrics" "$out" "overblik_" ;;
    *) jq -e 'type == "object" and .resourceType != "OperationOutcome"' >/dev/null 2>&1 <<<"$out" &&
         ok || bad "README HTTP line $n answers a resource, not an error: ${out:0:300}" ;;
  esac
done <<<"$http"
kill "$demo" 2>/dev/null; wait "$demo" 2>/dev/null; demo=""

# the tour's commands, in one shell (the first line sets b, db, t), each line's exit noted
script="$work/tour.sh"
{
  echo 'set -u'
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    case "$line" in "#"*) continue ;; esac
    printf '%s\necho "@@rc=$? %s"\n' "$line" "$(printf '%s' "$line" | tr -d '"$`\\')"
  done <<<"$tour"
} >"$script"
out=$(bash "$script" 2>&1)
while IFS= read -r r; do
  rc=${r#@@rc=}; rc=${rc%% *}; what=${r#@@rc=* }
  case "$what" in
    *"refused"*) [ "$rc" -ne 0 ] && ok || bad "README: '${what:0:70}' should be refused" ;;
    *) eq "README: '${what:0:70}' exits 0" "$rc" 0 ;;
  esac
done < <(grep '^@@rc=' <<<"$out")
[ "$(grep -c '^@@rc=' <<<"$out")" -ge 11 ] && ok || bad "every tour line ran"
has "README: the decide example permits (pt-0's own GP)" "$out" '"decision":"permit","rule":"R-ACC-1"'
has "README: the refused block says what to do instead" "$out" "block the site instead"
the_end
