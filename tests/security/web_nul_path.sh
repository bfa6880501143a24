#!/usr/bin/env bash
# Attack: an encoded NUL (%00) in the request address (issue 26, R-CPR-2, R-API-7;
# docs/security.md T-WEB-41). libmicrohttpd decodes %00 into a NUL that ends the C string
# the server routes on, so "/metrics%00x" was answered as /metrics, "/auth/session%00.png"
# as /auth/session, "/index.html%00.png" as the page, and "/fhir/Patient/pt-1%00<CPR>" as
# Patient/pt-1: the server answered another address than the one a front proxy's rules, an
# access log or the page-path check (T-WEB-16: "no control character") saw, and a CPR number
# after the NUL rode along in the URL, past the check that refuses CPR numbers in addresses.
# Every address holding %00 (path or query): 400, nothing answered for it. Bounded: a few
# seconds. Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl jq
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 20 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 20 --seed 5 >/dev/null 2>&1
cpr=$(jq -r 'select(.type=="patient" and .id=="pt-1") | .cpr' "$work/d.ndjson" | tr -d -)
[ ${#cpr} -eq 10 ] || { echo "no CPR for pt-1"; exit 1; }
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --dev-login
[ -n "$addr" ] || { bad "server did not start"; cat "$work/err.txt"; exit 1; }
sess=$(curl -s -D - -o /dev/null -X POST -H "Origin: $addr" -H 'Sec-Fetch-Site: same-origin' \
  -H 'Content-Type: application/json' --data '{"kind":"patient","id":"pt-1"}' "$addr/auth/dev-login" |
  tr -d '\r' | grep -i '^set-cookie: __Host-ob_session=' | sed 's/^[^=]*=\([^;]*\).*/\1/')
[ ${#sess} -eq 43 ] && ok || bad "pt-1's session (dev login)"
S="Cookie: __Host-ob_session=$sess"
st() { curl -s -o "$work/body" -w '%{http_code}' --path-as-is "$@"; }

# the same addresses without the NUL are what the server answered
eq "Patient/pt-1 with the session: 200" "$(st -H "$S" "$addr/fhir/Patient/pt-1")" 200
eq "Patient/<CPR> refused (R-CPR-2)" "$(st -H "$S" "$addr/fhir/Patient/$cpr")" 400
for u in "/fhir/Patient/pt-1%00$cpr" "/fhir/Patient/pt-1%00" "/fhir/Patient?_id=pt-1%00$cpr" \
  "/auth/session%00.png" "/index.html%00.png" "/metrics%00x" "/healthz%00" "/fhir/metadata%00"; do
  eq "T-WEB-41: $u: 400" "$(st -H "$S" "$addr$u")" 400
  hasnt "T-WEB-41: $u: nothing of pt-1 or the page" "$(cat "$work/body")" '"resourceType":"Patient"'
  hasnt "T-WEB-41: $u: no CPR in the answer" "$(cat "$work/body")" "$cpr"
done
hasnt "stderr: no CPR" "$(cat "$work/err.txt")" "$cpr"
the_end
