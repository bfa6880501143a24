# setup.bash - what the browser tests (tests/e2e/web.sh) and the screenshots
# (tests/web/screenshots.sh) share: a generated world with the web story added, the loopback
# OpenID Connect provider whose users are that world's people, and `overblik serve` with
# the provider configured for login. Sourced after tests/e2e/lib.bash; needs $bin, $src and
# $work. Sets: db, cpr (pt-3's CPR, from the generated file only), port, addr, idp_pid,
# srv, issuer_cit, issuer_pro.

web_world() {
  "$bin" gen --out "$work/world.ndjson" --patients 200 --seed 1 >/dev/null || return 1
  cat "$work/world.ndjson" "$src/tests/web/story.ndjson" >"$work/all.ndjson"
  db="$work/w.db"
  "$bin" init --db "$db" >/dev/null || return 1
  "$bin" load --db "$db" "$work/all.ndjson" >/dev/null || return 1
  # what "Hvad bruges mine data til" shows: a cluster release and a research read of pt-3
  "$bin" stats cluster --db "$db" --cluster klynge-0 --code T90 --from 2025-11-01 --to 2026-11-01 \
    --report-date 2026-11-01 >/dev/null || return 1
  "$bin" decide --db "$db" >/dev/null <<<'{"actor":{"professional":"forsker-1"},"patient":"pt-3","category":"lab_result","origin":"hosp-0-med","purpose":"HRESCH","project":"prj-diabetes"}' || return 1
  "$bin" people list --db "$db" --limit 10000000 >"$work/people.ndjson" || return 1
  cpr=$(jq -r 'select(.type=="patient" and .id=="pt-3") | .cpr' "$work/world.ndjson")
  [ -n "$cpr" ]
}

# a free loopback port: the provider must know overblik's redirect URI before either starts
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

web_idp() {
  port=$(free_port)
  node "$src/tests/web/idp.mjs" --people "$work/people.ndjson" --out "$work/idp.json" \
    --redirect "http://127.0.0.1:$port/auth/callback" --post-logout "http://127.0.0.1:$port/" \
    --secret "$WEB_CLIENT_SECRET" >"$work/idp.out" 2>&1 &
  idp_pid=$!
  for _ in $(seq 1 150); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
  issuer_cit=$(jq -r .citizen "$work/idp.json" 2>/dev/null)
  issuer_pro=$(jq -r .professional "$work/idp.json" 2>/dev/null)
  [ -n "$issuer_cit" ] && [ "$issuer_cit" != null ]
}

web_serve() {
  cat >"$work/oidc.json" <<EOF
{"issuers": [
  {"issuer": "$issuer_cit", "audience": "overblik", "kind": "citizen", "claims": {"patient": "patient"},
   "name": "citizen", "label": "MitID (demo)", "client_id": "overblik-web",
   "client_secret": "$WEB_CLIENT_SECRET", "redirect_uri": "http://127.0.0.1:$port/auth/callback", "scope": "openid"},
  {"issuer": "$issuer_pro", "audience": "overblik", "kind": "professional",
   "claims": {"sub": {"claim": "fhirUser", "prefix": "Practitioner/"}, "site": "dk:sor"},
   "name": "professional", "label": "Sundhedsfagligt login (demo)", "client_id": "overblik-web",
   "client_secret": "$WEB_CLIENT_SECRET", "redirect_uri": "http://127.0.0.1:$port/auth/callback", "scope": "openid"}
]}
EOF
  local webdir=()
  [ -n "${OB_WEB_DIR:-}" ] && webdir=(--web-dir "$OB_WEB_DIR")
  serve_bg srv addr "$work/serve.out" "$work/serve.err" --db "$db" --listen "127.0.0.1:$port" \
    --threads 2 --oidc "$work/oidc.json" "${webdir[@]}" "$@"
  [ -n "$addr" ]
}

WEB_CLIENT_SECRET=${WEB_CLIENT_SECRET:-overblik-web-test-$RANDOM$RANDOM}
