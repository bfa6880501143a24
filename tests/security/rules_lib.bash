# rules_lib.bash - what the attack tests on the rules' own logic (rules_*.sh, threat rows
# T-RULE-* in docs/security.md) share: a generated database, a real server on loopback,
# tokens, requests, and a patient picked from the generated data. Sourced, not run.
# Needs $bin; sets $work, $db, $addr, $nd (the generated records), and tok/req/jqb.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.bash"
need jq curl
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
db="$work/t.db"
nd="$work/d.ndjson"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --out "$nd" --patients "${RULES_PATIENTS:-120}" --seed 7 >/dev/null 2>&1
"$bin" load --db "$db" "$nd" >/dev/null 2>&1 || { echo "load failed"; exit 1; }

# rules_serve: starts the server (again) on the database
rules_serve() {
  serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
  [ -n "$addr" ] || { echo "server did not start"; cat "$work/err.txt"; exit 1; }
}
rules_stop() { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=""; }
# tok ARGS: a development token. Where the server takes the purposes a holder may use from
# the token (ob_purposes, R-ACC-15), a professional's token lists the ones these attacks
# state, as an identity provider would for a role that has them.
if "$bin" token --help 2>&1 | grep -q -- '--purposes'; then rules_purposes=1; fi
tok() {
  if [ -n "${rules_purposes:-}" ] && [[ " $* " == *" professional "* ]]; then
    mint "$db" "$@" --purposes TREAT,ETREAT,HQUALIMP,PREVENTION,SHARING
  else
    mint "$db" "$@"
  fi
}
# req TOKEN METHOD PATH [BODY] [extra curl args] -> $code, $body
req() {
  local t=$1 m=$2 p=$3 b=${4:-}
  shift 3; [ $# -gt 0 ] && shift
  is_write "$m" "$p" && t=$(fresh "$t") # one write per token (docs/api.md)
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $t")
  [ -n "$b" ] && args+=(-H "Content-Type: application/fhir+json" --data-binary "$b")
  code=$(curl "${args[@]}" "$@" "$addr$p" 2>/dev/null)
  body=$(cat "$work/body")
}
# field PATIENT KEY: a string field of the patient's record in the generated data
field() { grep -m1 "\"type\":\"patient\",\"id\":\"$1\"" "$nd" | jq -r ".$2 // empty"; }
