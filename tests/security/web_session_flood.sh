#!/usr/bin/env bash
# Attack: one account fills the web session table (issue 26, R-API-7; docs/security.md
# T-WEB-40). Whoever has any login (a citizen, or a professional whose provider signs them
# in again without asking) logs in over and over, never sends the old session cookie (so
# no login ends the one before) and keeps each session alive with a GET /auth/session every
# few minutes: the table holds 65,536 sessions, after which every login of everyone fails
# ("busy") for up to eight hours. Driven against a real `overblik serve` and the real npm
# oidc-provider (tests/e2e/web_idp.mjs) on loopback with curl as the browser: the same
# person logs in 17 times; at most 16 of their sessions live (the least recently used one
# ended), and another person's session is untouched. Bounded: about 20 s. Prints
# "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
src=${OB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../e2e/lib.bash"
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
"$bin" gen --db "$db" --patients 20 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redirect="http://127.0.0.1:$port/auth/callback"
node "$src/tests/e2e/web_idp.mjs" "$work/idp.txt" "$redirect" >"$work/idp.log" 2>&1 &
idp=$!
for _ in $(seq 1 100); do [ -s "$work/idp.txt" ] && break; sleep 0.1; done
read -r real _ <"$work/idp.txt" || { echo "the identity provider did not start"; cat "$work/idp.log"; exit 1; }
printf 'web-secret-3f9c\n' >"$work/secret"
cat >"$work/oidc.json" <<JSON
{"issuers": [
  {"issuer": "$real", "name": "citizen", "label": "MitID (demo)", "audience": "overblik",
   "kind": "citizen", "claims": {"patient": "patient"}, "client_id": "overblik-web",
   "client_secret_file": "$work/secret", "redirect_uri": "$redirect", "scope": "openid patient"}
]}
JSON
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen "127.0.0.1:$port" \
  --threads 2 --oidc "$work/oidc.json" --dev-login
[ -n "$addr" ] || { bad "server did not start"; cat "$work/err.txt"; exit 1; }

# the attacker's browser: /auth/login, the provider's forms (login name pt-0; its own
# cookie jar, so the provider remembers the login), our callback; prints the session id
login_once() {
  local u loc jar="$work/idp.jar" h action data n v
  h=$(curl -s -D - -o /dev/null "$addr/auth/login?as=citizen" | tr -d '\r')
  local lc; lc=$(grep -i '^set-cookie: __Host-ob_login=' <<<"$h" | sed 's/^[^=]*=\([^;]*\).*/\1/')
  u=$(grep -i '^location:' <<<"$h" | cut -d' ' -f2-)
  local method=GET
  for _ in $(seq 1 15); do
    if [ "$method" = POST ]; then
      curl -s -o "$work/ib" -D "$work/ih" -b "$jar" -c "$jar" --data "$data" "$u" >/dev/null 2>&1
    else
      curl -s -o "$work/ib" -D "$work/ih" -b "$jar" -c "$jar" "$u" >/dev/null 2>&1
    fi
    method=GET
    loc=$(tr -d '\r' <"$work/ih" | grep -i '^location:' | head -1 | cut -d' ' -f2-)
    if [ -n "$loc" ]; then
      [[ $loc == /* ]] && loc="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$u")$loc"
      if [[ $loc == "$redirect"* ]]; then
        curl -s -D - -o /dev/null -H "Cookie: __Host-ob_login=$lc" "$loc" | tr -d '\r' |
          grep -i '^set-cookie: __Host-ob_session=' | head -1 | sed 's/^[^=]*=\([^;]*\).*/\1/'
        return 0
      fi
      u=$loc
      continue
    fi
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
  return 1
}
status() { curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-ob_session=$1" "$addr/auth/session"; }

# another person, logged in before the flood
other=$(curl -s -D - -o /dev/null -X POST -H "Origin: $addr" -H 'Sec-Fetch-Site: same-origin' \
  -H 'Content-Type: application/json' --data '{"kind":"patient","id":"pt-1"}' "$addr/auth/dev-login" |
  tr -d '\r' | grep -i '^set-cookie: __Host-ob_session=' | sed 's/^[^=]*=\([^;]*\).*/\1/')
[ ${#other} -eq 43 ] && ok || bad "pt-1's session (dev login)"

# the flood: 17 logins of pt-0, never sending the session cookie back (each a second
# apart, so that the first is the least recently used)
sessions=()
for i in $(seq 1 17); do
  s=$(login_once) || s=""
  [ ${#s} -eq 43 ] || { bad "login $i through the provider gave a session"; break; }
  sessions+=("$s")
  sleep 1.1
done
eq "17 logins of one person" "${#sessions[@]}" 17
live=0
for t in "${sessions[@]:1}"; do [ "$(status "$t")" = 200 ] && live=$((live + 1)); done
eq "T-WEB-40: the person's first session was ended by their 17th login" "$(status "${sessions[0]}")" 401
eq "T-WEB-40: ... the 16 later ones live" "$live" 16
eq "T-WEB-40: another person's session is untouched" "$(status "$other")" 200
hasnt "stderr: no session id" "$(cat "$work/err.txt")" "${sessions[0]}"
the_end
