#!/usr/bin/env bash
# End-to-end test of the web pages' login (issue 26, docs/security.md T-WEB-1..19): a real
# `overblik serve` and a real OpenID Connect provider (npm oidc-provider, tests/e2e/web_idp.mjs,
# with tests/interop's pinned packages) on loopback, driven with curl as a browser would:
# /auth/login -> the provider's login and consent forms (devInteractions) -> /auth/callback ->
# a session -> FHIR reads and a write through the session cookie (logged like a bearer
# token's) -> logout -> the session is gone. Then the attacks, each refused: a wrong state, a
# replayed callback and a replayed code, the callback without the login cookie, a write sent
# cross-site or without the CSRF token, a cookie beside a bearer token; and, from a provider
# that misbehaves on purpose (the mock in web_idp.mjs), ID tokens for another client (aud,
# azp), with another login's nonce, another issuer, expired, a foreign key, alg none.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
src=${OB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.bash"
need curl jq node npm python3
work=$(mktemp -d)
srv="" idp=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  [ -n "$idp" ] && kill "$idp" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

bash "$src/tests/interop/run.sh" --install >/dev/null || { echo "npm packages (tests/interop) could not be installed"; exit 1; }
db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 200 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 200 --seed 5 >/dev/null 2>&1
gp=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr="http://127.0.0.1:$port"
redirect="$addr/auth/callback"
node "$src/tests/e2e/web_idp.mjs" "$work/idp.txt" "$redirect" >"$work/idp.log" 2>&1 &
idp=$!
for _ in $(seq 1 100); do [ -s "$work/idp.txt" ] && break; sleep 0.1; done
read -r real mock <"$work/idp.txt" || { echo "the identity providers did not start"; cat "$work/idp.log"; exit 1; }
printf 'web-secret-3f9c\n' >"$work/secret"
cat >"$work/oidc.json" <<JSON
{"issuers": [
  {"issuer": "$real", "name": "citizen", "label": "MitID (demo)", "audience": "overblik",
   "kind": "citizen", "claims": {"patient": "patient"}, "client_id": "overblik-web",
   "client_secret_file": "$work/secret", "redirect_uri": "$redirect", "scope": "openid patient"},
  {"issuer": "$mock", "name": "mock", "label": "Mock", "audience": "overblik", "kind": "citizen",
   "claims": {"patient": "patient"}, "client_id": "overblik-web",
   "client_secret": "web-secret-3f9c", "redirect_uri": "$redirect"},
  {"issuer": "$mock/two", "name": "mock2", "audience": "overblik", "kind": "citizen",
   "claims": {"patient": "patient"}}
]}
JSON
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen "127.0.0.1:$port" \
  --threads 2 --oidc "$work/oidc.json"
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; exit 1; }

# get URL [curl args...] -> $code, $hdrs, $body, $loc; cookies are set by hand (-H Cookie:)
get() {
  local u=$1; shift
  curl -s -o "$work/body" -D "$work/hdrs" "$@" "$u" >/dev/null 2>&1
  hdrs=$(tr -d '\r' <"$work/hdrs"); body=$(cat "$work/body")
  code=$(grep '^HTTP/' <<<"$hdrs" | tail -1 | awk '{print $2}')
  loc=$(grep -i '^location:' <<<"$hdrs" | head -1 | cut -d' ' -f2-)
}
# setcookie NAME -> the value of the Set-Cookie NAME of the last answer ("" if none)
setcookie() { grep -i "^set-cookie: $1=" <<<"$hdrs" | head -1 | sed "s/^[^=]*=\([^;]*\).*/\1/"; }
setcookie_line() { grep -i "^set-cookie: $1=" <<<"$hdrs" | head -1; }

# browse URL: follows the provider's redirects and fills in its login and consent forms
# (login name pt-0) with a cookie jar of its own, until a redirect leads to our callback;
# prints the callback URL
browse() {
  local u=$1 method=GET data="" jar="$work/idp.jar" action n v
  for _ in $(seq 1 15); do
    if [ "$method" = POST ]; then
      curl -s -o "$work/ib" -D "$work/ih" -b "$jar" -c "$jar" --data "$data" "$u" >/dev/null 2>&1
    else
      curl -s -o "$work/ib" -D "$work/ih" -b "$jar" -c "$jar" "$u" >/dev/null 2>&1
    fi
    method=GET
    local h l
    h=$(tr -d '\r' <"$work/ih")
    l=$(grep -i '^location:' <<<"$h" | head -1 | cut -d' ' -f2-)
    if [ -n "$l" ]; then
      [[ $l == /* ]] && l="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$u")$l"
      if [[ $l == "$redirect"* ]]; then printf '%s\n' "$l"; return 0; fi
      u=$l
      continue
    fi
    grep -q '<form' "$work/ib" || { echo "no form at $u" >&2; return 1; }
    action=$(grep -o '<form[^>]*action="[^"]*"' "$work/ib" | head -1 | sed 's/.*action="\([^"]*\)"/\1/; s/&amp;/\&/g')
    [[ $action == /* ]] && action="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$u")$action"
    data=""
    while read -r inp; do
      n=$(grep -o 'name="[^"]*"' <<<"$inp" | head -1 | cut -d'"' -f2)
      [ -z "$n" ] && continue
      v=$(grep -o 'value="[^"]*"' <<<"$inp" | head -1 | cut -d'"' -f2)
      [ "$n" = login ] && v=pt-0
      [ "$n" = password ] && v=any
      data="$data&$n=$(jq -rn --arg v "$v" '$v|@uri')"
    done < <(grep -o '<input[^>]*>' "$work/ib")
    data=${data#&}
    u=$action
    method=POST
  done
  echo "too many hops" >&2
  return 1
}

# login AS [SCENARIO] -> $login_cookie, $authz (the provider's URL), then the callback URL in
# $cb after the provider (the mock's scenario appended to its authorize URL)
login() {
  get "$addr/auth/login?as=$1"
  login_cookie=$(setcookie __Host-ob_login)
  authz=$loc
  local u=$authz
  [ -n "${2:-}" ] && u="$u&scenario=$2"
  cb=$(browse "$u") || cb=""
}
# callback URL COOKIE -> the answer of our callback
callback() { get "$1" ${2:+-H "Cookie: __Host-ob_login=$2"}; }

# --- the providers the login page offers
get "$addr/auth/providers"
eq "providers: status" "$code" 200
eq "providers: names and labels" "$(jq -c '[.[] | [.name, .label, .kind]]' <<<"$body")" '[["citizen","MitID (demo)","citizen"],["mock","Mock","citizen"]]'
has "providers: CSP" "$hdrs" "Content-Security-Policy: default-src 'none'"
# T-WEB-17: the security headers on a page and on /auth answers
get "$addr/verify/verify.mjs"
eq "a page: 200" "$code" 200
for h in "Content-Security-Policy: default-src 'none'; script-src 'self'" "X-Frame-Options: DENY" \
  "X-Content-Type-Options: nosniff" "Referrer-Policy: no-referrer" \
  "Cross-Origin-Opener-Policy: same-origin" "Permissions-Policy: camera=()" \
  "Cache-Control: no-cache" "Content-Type: text/javascript"; do
  has "a page: $h" "$hdrs" "$h"
done
etag=$(grep -i '^etag:' <<<"$hdrs" | cut -d' ' -f2-)
get "$addr/verify/verify.mjs" -H "If-None-Match: $etag"
eq "a page again with its ETag: 304" "$code" 304
get "$addr/auth/session"
for h in "X-Frame-Options: DENY" "Cache-Control: no-store" "Referrer-Policy: no-referrer"; do
  has "/auth: $h" "$hdrs" "$h"
done
get "$addr/../../etc/passwd" --path-as-is
eq "T-WEB-16: a path out of the pages: 404" "$code" 404
get "$addr/.git/config"
eq "T-WEB-16: a hidden file: 404" "$code" 404
get "$addr/auth/login?as=nobody"
eq "login at an unknown provider: 404" "$code" 404

# --- T-WEB-1, 2, 3: the login goes to the provider with PKCE S256, state and nonce
get "$addr/auth/login?as=citizen"
eq "login: 302" "$code" 302
has "login: to the provider's authorization endpoint" "$loc" "$real/auth?"
has "login: code flow" "$loc" "response_type=code"
has "login: PKCE S256" "$loc" "code_challenge_method=S256"
has "login: a code challenge" "$loc" "code_challenge="
has "login: state" "$loc" "&state="
has "login: nonce" "$loc" "&nonce="
has "login: this client" "$loc" "client_id=overblik-web"
hasnt "login: never the client secret" "$loc" "web-secret"
lc=$(setcookie_line __Host-ob_login)
has "login cookie: HttpOnly" "$lc" "HttpOnly"
has "login cookie: Secure" "$lc" "Secure"
has "login cookie: Path=/" "$lc" "Path=/"
has "login cookie: SameSite=Lax (the provider's redirect back carries it)" "$lc" "SameSite=Lax"
has "login cookie: ten minutes" "$lc" "Max-Age=600"
verifier_leak=$(grep -o 'code_verifier' <<<"$hdrs$body" | head -1)
eq "login: the PKCE verifier stays on the server" "$verifier_leak" ""

# --- the whole flow
login citizen
[ -n "$cb" ] && ok || bad "the provider's forms led back to our callback (see $work/idp.log)"
has "callback: a code" "$cb" "code="
first_cb=$cb first_cookie=$login_cookie
callback "$cb" "$login_cookie"
eq "callback: 302" "$code" 302
eq "callback: to /?login=1 (a fixed address, no return address)" "$loc" "/?login=1"
sess=$(setcookie __Host-ob_session)
sc=$(setcookie_line __Host-ob_session)
[ ${#sess} -eq 43 ] && ok || bad "callback: a session cookie of 32 random bytes (got '${sess}')"
has "session cookie: HttpOnly" "$sc" "HttpOnly"
has "session cookie: Secure" "$sc" "Secure"
has "session cookie: SameSite=Strict" "$sc" "SameSite=Strict"
has "session cookie: Path=/" "$sc" "Path=/"
hasnt "session cookie: no Domain" "$sc" "Domain"
has "callback: the login cookie cleared" "$(setcookie_line __Host-ob_login)" "Max-Age=0"
hasnt "callback: no token in the answer" "$hdrs$body" "eyJ"
S="Cookie: __Host-ob_session=$sess"
get "$addr/auth/session" -H "$S"
eq "session: 200" "$code" 200
eq "session: the patient" "$(jq -r .patient <<<"$body")" "pt-0"
eq "session: a citizen" "$(jq -r .kind <<<"$body")" "patient"
eq "session: from the provider" "$(jq -r .provider <<<"$body")" "citizen"
eq "session: not a development login" "$(jq -r .dev <<<"$body")" "false"
csrf=$(jq -r .csrf <<<"$body")
[ ${#csrf} -eq 43 ] && ok || bad "session: a CSRF token"
hasnt "session: no token" "$body" "eyJ"
hasnt "session: no id_token" "$body" "id_token"

# the FHIR API through the session: the same caller, decided and logged
get "$addr/fhir/Appointment?_count=5" -H "$S"
eq "FHIR read with the session: 200" "$code" 200
eq "FHIR read: a searchset" "$(jq -r .type <<<"$body")" "searchset"
get "$addr/fhir/AuditEvent?_count=50" -H "$S"
eq "the patient's log: 200" "$code" 200
n_reads=$(jq '[.entry[]? | select(.resource.entity[]?.what.reference? // "" | test("Appointment"))] | length' <<<"$body")
[ "$(jq '.entry | length' <<<"$body")" -ge 1 ] && ok || bad "the read through the session is in the patient's log (got: ${body:0:300})"
: "$n_reads"
get "$addr/fhir/Appointment" -H "$S" -H "Authorization: Bearer x.y.z"
eq "T-WEB-9: a session cookie and a bearer token: 400" "$code" 400

# writes: a site block on the patient's GP (a Consent with provision deny)
block() { printf '{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/pt-0"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/%s"}}]}}' "$gp"; }
count_consents() { get "$addr/fhir/Consent?patient=Patient/pt-0" -H "$S"; jq '.total // (.entry | length)' <<<"$body"; }
before=$(count_consents)
J=(-H "Content-Type: application/fhir+json" --data-binary "$(block)")
get "$addr/fhir/Consent" -X POST -H "$S" "${J[@]}"
eq "T-WEB-5: a write without X-CSRF-Token: 403" "$code" 403
wrong="${csrf%?}A"; [ "$wrong" = "$csrf" ] && wrong="${csrf%?}B"
get "$addr/fhir/Consent" -X POST -H "$S" -H "X-CSRF-Token: $wrong" "${J[@]}"
eq "T-WEB-5: a write with a wrong X-CSRF-Token: 403" "$code" 403
get "$addr/fhir/Consent" -X POST -H "$S" -H "X-CSRF-Token: $csrf" -H "Sec-Fetch-Site: cross-site" "${J[@]}"
eq "T-WEB-6: a write sent cross-site (Sec-Fetch-Site): 403" "$code" 403
get "$addr/fhir/Consent" -X POST -H "$S" -H "X-CSRF-Token: $csrf" -H "Origin: http://evil.example" "${J[@]}"
eq "T-WEB-6: a write from another Origin: 403" "$code" 403
eq "the refused writes changed nothing" "$(count_consents)" "$before"
get "$addr/fhir/Consent" -X POST -H "$S" -H "X-CSRF-Token: $csrf" -H "Sec-Fetch-Site: same-origin" -H "Origin: $addr" "${J[@]}"
eq "a write from our own page: 201" "$code" 201
eq "... and it is there" "$(count_consents)" "$((before + 1))"

# --- T-WEB-2: the callback of another login (its state) is refused
get "$addr/auth/login?as=citizen"
c2=$(setcookie __Host-ob_login)
callback "$first_cb" "$c2"
eq "T-WEB-2: a callback whose state is not this browser's login's: refused" "$loc" "/?login_error=state"
eq "... no session" "$(setcookie __Host-ob_session)" ""
# --- T-WEB-3: the same callback again (replayed): the pending login was used
callback "$first_cb" "$first_cookie"
eq "T-WEB-3: a replayed callback: refused" "$loc" "/?login_error=no_login"
eq "... no session" "$(setcookie __Host-ob_session)" ""
callback "$first_cb"
eq "T-WEB-3: a callback without the login cookie: refused" "$loc" "/?login_error=no_login"
# a replayed code with a fresh login's state: the provider refuses the used code
get "$addr/auth/login?as=citizen"
c3=$(setcookie __Host-ob_login)
st3=$(grep -o 'state=[^&]*' <<<"$loc" | head -1 | cut -d= -f2)
old_code=$(grep -o 'code=[^&]*' <<<"$first_cb" | head -1 | cut -d= -f2)
callback "$redirect?code=$old_code&state=$st3" "$c3"
eq "T-WEB-3: a used code under a new login: refused" "$loc" "/?login_error=code"
eq "... no session" "$(setcookie __Host-ob_session)" ""

# --- the misbehaving provider: every bad ID token refused, the good one accepted
for sc in aud azp nonce iss expired badsig none; do
  login mock "$sc"
  callback "$cb" "$login_cookie"
  eq "T-WEB-8: an ID token ($sc): refused" "$loc" "/?login_error=id_token"
  eq "T-WEB-8: ($sc): no session" "$(setcookie __Host-ob_session)" ""
done
login mock good
callback "$cb" "$login_cookie"
eq "the mock's good ID token: a session" "$loc" "/?login=1"
mock_sess=$(setcookie __Host-ob_session)
[ ${#mock_sess} -eq 43 ] && ok || bad "the mock's good ID token gave a session"
[ "$mock_sess" != "$sess" ] && ok || bad "a new login gets a new session id"

# --- logout: with the CSRF token only; then the session is gone
get "$addr/auth/logout" -X POST -H "$S"
eq "T-WEB-5: logout without X-CSRF-Token: 403" "$code" 403
get "$addr/auth/session" -H "$S"
eq "... the session lives on" "$code" 200
get "$addr/auth/logout" -X POST -H "$S" -H "X-CSRF-Token: $csrf"
eq "logout: 200" "$code" 200
has "logout: the provider's end-session address" "$(jq -r .end_session <<<"$body")" "$real/session/end?client_id=overblik-web"
hasnt "logout: no id_token_hint (no token to the browser)" "$body" "id_token_hint"
has "logout: the cookie cleared" "$(setcookie_line __Host-ob_session)" "Max-Age=0"
get "$addr/auth/session" -H "$S"
eq "after logout: no session" "$code" 401
get "$addr/fhir/Appointment" -H "$S"
eq "after logout: the API refuses the cookie" "$code" 401

# T-WEB-4: a flood of /auth/login from one address cannot fill the pending logins and lock
# everyone out: one address holds at most 32; another address still logs in
refused=0
for _ in $(seq 1 40); do
  c=$(curl -s -o /dev/null -w '%{http_code}' "$addr/auth/login?as=citizen")
  [ "$c" = 503 ] && refused=$((refused + 1))
done
[ "$refused" -ge 8 ] && ok || bad "T-WEB-4: logins beyond 32 in progress from one address refused ($refused of 40)"
c=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$addr/auth/login?as=citizen")
eq "T-WEB-4: ... while another address still logs in" "$c" 302

# the server's stderr names no token and no secret
hasnt "stderr: no client secret" "$(cat "$work/err.txt")" "web-secret"
hasnt "stderr: no token" "$(cat "$work/err.txt")" "eyJ"
the_end
