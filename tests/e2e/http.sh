#!/usr/bin/env bash
# End-to-end test of `overblik serve` on loopback (issue 3, R-API-2, R-CPR-2, R-API-5):
# /healthz, /metrics, /fhir/metadata; every 401 case over the wire (no token, garbage,
# expired, bad signature, wrong audience, alg none, unknown kid); a token signed by Node's
# crypto (interoperability of the ES256 raw R||S form); 403 and 400 from claims and
# headers; 413, 415, malformed JSON (not echoed), nesting depth; no CPR in the server's
# stderr; a writing CLI command refused while the server runs (one writing process);
# SIGTERM with a request in flight -> answered, exit 0, `log verify` passes; SIGHUP
# re-reads the JWKS (a key added, a key retired, a broken file keeps the keys in use).
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 400 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 400 --seed 5 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)
digits=${cpr/-/}
gp=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
[ -n "$digits" ] && [ -n "$gp" ] && ok || bad "found pt-0's CPR and GP in the generated data"

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --access-log --metrics-clients "monitor, gpsys-${gp#gp-}" \
  --smart-authorize https://idp.example/authorize --smart-token https://idp.example/token \
  --cors-origins "https://app.example, https://other.example"
[ -n "$addr" ] && ok || { bad "server did not print its address"; cat "$work/err.txt"; exit 1; }

tok() { mint "$db" "$@"; }
pro=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
cit=$(tok --kind citizen --cpr "$cpr")
# a system token is a registered source's, for its own site (issue 24)
sys=$(tok --kind system --client-id "gpsys-${gp#gp-}" --site "$gp")
# req METHOD PATH [curl args...] -> sets $code, $ctype, $hdrs, $body
req() {
  local m=$1 p=$2 a args=(); shift 2
  for a in "$@"; do # one write per token: a write goes with a twin of the token
    is_write "$m" "$p" && [[ $a == "Authorization: Bearer "* ]] && a="Authorization: Bearer $(fresh "${a#Authorization: Bearer }")"
    args+=("$a")
  done
  curl -s -o "$work/body" -D "$work/hdrs" -X "$m" "${args[@]}" "$addr$p" >/dev/null 2>&1
  hdrs=$(tr -d '\r' <"$work/hdrs"); body=$(cat "$work/body")
  code=$(grep '^HTTP/' <<<"$hdrs" | tail -1 | awk '{print $2}')
  ctype=$(grep -i '^content-type:' <<<"$hdrs" | head -1 | cut -d' ' -f2-)
}
outcome() { # outcome "what" status issue-code
  eq "$1: status" "$code" "$2"
  eq "$1: content type" "$ctype" "application/fhir+json; charset=utf-8"
  eq "$1: OperationOutcome" "$(jq -r .resourceType <<<"$body" 2>/dev/null)" "OperationOutcome"
  [ -n "${3:-}" ] && eq "$1: issue code" "$(jq -r '.issue[0].code' <<<"$body" 2>/dev/null)" "$3"
}

# --- the open endpoints
req GET /healthz; eq "healthz" "$code" 200; has "healthz body" "$body" "ok"
# issue 25: how a SMART app logs in, readable without a token, at both places apps look
for p in /fhir/.well-known/smart-configuration /.well-known/smart-configuration; do
  req GET "$p"
  eq "SMART configuration at $p without a token: 200" "$code" 200
  eq "SMART configuration at $p: the authorize endpoint" \
    "$(jq -r .authorization_endpoint <<<"$body")" https://idp.example/authorize
  eq "SMART configuration at $p: PKCE S256" "$(jq -r '.code_challenge_methods_supported[0]' <<<"$body")" S256
done
req GET /fhir/metadata
eq "rest.security says SMART-on-FHIR" "$(jq -r '.rest[0].security.service[0].coding[0].code' <<<"$body")" SMART-on-FHIR
eq "rest.security names the token endpoint" \
  "$(jq -r '.rest[0].security.extension[0].extension[] | select(.url == "token") | .valueUri' <<<"$body")" \
  https://idp.example/token
eq "rest.security: cors" "$(jq -r '.rest[0].security.cors' <<<"$body")" true
# CORS (R4 http.html#cors): a listed origin may read, its preflight is answered; others not
req OPTIONS /fhir/Appointment -H "Origin: https://app.example" -H "Access-Control-Request-Method: GET" \
  -H "Access-Control-Request-Headers: authorization"
eq "CORS preflight: 204" "$code" 204
has "CORS preflight: the origin" "$hdrs" "Access-Control-Allow-Origin: https://app.example"
has "CORS preflight: Authorization may be sent" "$hdrs" "Access-Control-Allow-Headers: Authorization"
req GET /fhir/metadata -H "Origin: https://app.example"
has "CORS: a listed origin reads the answer" "$hdrs" "Access-Control-Allow-Origin: https://app.example"
has "CORS: and the Location and ETag headers" "$hdrs" "Access-Control-Expose-Headers: Location, ETag"
# HEAD is GET without a body (issue 25)
code=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -I "$addr/fhir/metadata")
eq "HEAD /fhir/metadata: 200 and no body" "$code" "200 0"
code=$(curl -s -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $pro" \
  "$addr/fhir/Appointment?patient=Patient/pt-0")
eq "HEAD of a search: 200" "$code" 200
# SMART scopes narrow (issue 25): a token for observations only reads no appointments
narrow=$(tok --kind professional --sub "$gp-dr0" --site "$gp" --scope "openid patient/Observation.rs")
req GET "/fhir/Observation?patient=Patient/pt-0" -H "Authorization: Bearer $narrow"
eq "scope patient/Observation.rs: observations read" "$code" 200
req GET "/fhir/Appointment?patient=Patient/pt-0" -H "Authorization: Bearer $narrow"
outcome "scope patient/Observation.rs: no appointments" 403 forbidden
req GET /fhir/metadata -H "Origin: https://evil.example"
hasnt "CORS: another origin does not" "$hdrs" "Access-Control-Allow-Origin"
req OPTIONS /fhir/Appointment -H "Origin: https://evil.example" -H "Access-Control-Request-Method: GET"
hasnt "CORS: another origin's preflight is not allowed" "$hdrs" "Access-Control-Allow-Origin"
req GET /fhir/metadata
eq "metadata 200" "$code" 200; eq "metadata content type" "$ctype" "application/fhir+json; charset=utf-8"
eq "metadata is a CapabilityStatement" "$(jq -r .resourceType <<<"$body")" "CapabilityStatement"
req GET /nowhere; outcome "unknown path" 404 not-found
req GET /api/stats/x -H "Authorization: Bearer $pro"; outcome "unknown stats operation" 404 not-found
req POST /healthz; eq "healthz POST" "$code" 405

# --- content negotiation: FHIR JSON, or 406 to a client that excludes it
req GET /fhir/metadata -H "Accept: application/fhir+xml"; outcome "Accept: FHIR XML" 406 not-supported
req GET "/fhir/metadata?_format=xml"; outcome "_format=xml" 406 not-supported
req GET "/fhir/Appointment?patient=Patient/pt-0&_format=application/fhir%2Bxml" \
  -H "Authorization: Bearer $pro"; outcome "_format FHIR XML on a search" 406 not-supported
req GET /fhir/metadata -H "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
eq "a browser's Accept: 200" "$code" 200
req GET "/fhir/metadata?_format=json" -H "Accept: application/fhir+json; fhirVersion=4.0"
eq "_format=json and Accept FHIR JSON: 200" "$code" 200
req GET /fhir/metadata -H "Accept: application/fhir+json; fhirVersion=3.0"
outcome "issue 25: Accept of FHIR STU3 (fhirVersion=3.0) is a 406, not R4" 406 not-supported

# --- Prefer: handling=lenient: a search parameter the server does not know is ignored
req GET "/fhir/Appointment?patient=Patient/pt-0&colour=red" -H "Authorization: Bearer $pro" \
  -H "X-Purpose-Of-Use: TREAT"
outcome "an unknown parameter, strict by default" 400 not-supported
req GET "/fhir/Appointment?patient=Patient/pt-0&colour=red" -H "Authorization: Bearer $pro" \
  -H "X-Purpose-Of-Use: TREAT" -H "Prefer: handling=lenient"
eq "an unknown parameter with handling=lenient: 200" "$code" 200
eq "handling=lenient: a searchset" "$(jq -r .type <<<"$body")" "searchset"

# --- _elements: the matches keep what was named and what R4 makes mandatory (participant),
# tagged SUBSETTED (as the GP of a patient with appointments)
ap=$(grep '"type":"appointment"' "$work/d.ndjson" | grep -v '"shared":false' | head -1 |
  grep -o '"patient":"[^"]*"' | cut -d'"' -f4)
apgp=$(grep -m1 "\"id\":\"$ap\"" "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
req GET "/fhir/Appointment?patient=Patient/$ap&_elements=status" \
  -H "Authorization: Bearer $(tok --kind professional --sub "$apgp-dr0" --site "$apgp")" \
  -H "X-Purpose-Of-Use: TREAT"
eq "_elements: 200" "$code" 200
eq "_elements: the matches' elements" \
  "$(jq -c '[.entry[]? | select(.search.mode == "match") | .resource | keys] | unique' <<<"$body")" \
  '[["id","meta","participant","resourceType","status"]]'
eq "_elements: tagged" "$(jq -r '[.entry[]? | .resource.meta.tag[]?.code] | unique | join(",")' <<<"$body")" \
  "SUBSETTED"
# If-None-Match (issue 25): a read the client already holds is a 304 without a body
aptok=$(tok --kind professional --sub "$apgp-dr0" --site "$apgp")
apid=$(jq -r '[.entry[]? | select(.search.mode == "match") | .resource.id][0]' <<<"$body")
req GET "/fhir/Appointment/$apid" -H "Authorization: Bearer $aptok"
etag=$(grep -i '^etag:' <<<"$hdrs" | head -1 | cut -d' ' -f2-)
eq "a read of $apid: 200 with an ETag" "$code $([ -n "$etag" ] && echo etag)" "200 etag"
req GET "/fhir/Appointment/$apid" -H "Authorization: Bearer $aptok" -H "If-None-Match: $etag"
eq "If-None-Match with its ETag: 304" "$code" 304
eq "304: no body" "$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $aptok" \
  -H "If-None-Match: $etag" "$addr/fhir/Appointment/$apid")" 0
req GET "/fhir/Appointment/$apid" -H "Authorization: Bearer $aptok" -H 'If-None-Match: W/"999999"'
eq "If-None-Match with another ETag: 200" "$code" 200

# --- 401 over the wire (R-API-2)
req GET /fhir/Appointment; outcome "no token" 401 login
has "no token: challenge" "$hdrs" 'WWW-Authenticate: Bearer realm="overblik"'
hasnt "no token: no error= without a token" "$hdrs" "invalid_token"
unauth() { # unauth "what" token [expected message part]
  req GET "/fhir/Appointment?patient=Patient/pt-0" -H "Authorization: Bearer $2"
  outcome "$1" 401 login
  has "$1: invalid_token" "$hdrs" 'error="invalid_token"'
  [ -n "${3:-}" ] && has "$1: says why" "$body" "$3"
}
unauth "garbage token" "not-a-jwt" "compact JWS"
unauth "bad signature" "${pro%?????}AAAAA" "signature"
unauth "wrong audience" "$(tok --kind professional --sub "$gp-dr0" --site "$gp" --aud other)" "audience"
unauth "not yet valid" "$(tok --kind professional --sub "$gp-dr0" --site "$gp" --nbf 600)" "not yet valid"
b64() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
claims=$(cut -d. -f2 <<<"$pro")
unauth "alg none" "$(b64 '{"alg":"none","kid":"x"}').$claims." "algorithm"
unauth "unknown kid" "$(b64 '{"alg":"ES256","kid":"nope"}').$claims.$(cut -d. -f3 <<<"$pro")" "kid"
unauth "unknown professional" "$(tok --kind professional --sub nobody --site "$gp")" "professional"
req GET /metrics; outcome "metrics without a token" 401 login

# Node's crypto as an independent ES256 signer (ieee-p1363 = JOSE raw R||S)
if command -v node >/dev/null; then
  kid=$(jq -r '.keys[0].kid' "${db%.db}.jwks.json")
  nsign() {
    node -e '
      const c=require("crypto"),fs=require("fs");const [pem,kid,claims]=process.argv.slice(1);
      const b=x=>Buffer.from(x).toString("base64url");
      const h=b(JSON.stringify({alg:"ES256",typ:"JWT",kid})),p=b(claims);
      const s=c.sign("sha256",Buffer.from(h+"."+p),{key:fs.readFileSync(pem),dsaEncoding:"ieee-p1363"});
      const n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;  // low-s only
      let v=BigInt("0x"+s.subarray(32).toString("hex"));if(v>n/2n)v=n-v;
      s.set(Buffer.from(v.toString(16).padStart(64,"0"),"hex"),32);
      console.log(h+"."+p+"."+s.toString("base64url"));' "${db%.db}.jwt.pem" "$kid" "$1"
  }
  now=$(date +%s)
  ntok=$(nsign "{\"ob_kind\":\"system\",\"client_id\":\"gpsys-${gp#gp-}\",\"site\":\"$gp\",\"aud\":\"overblik\",\"exp\":$((now+300))}")
  req GET /fhir/Appointment -H "Authorization: Bearer $ntok"
  [ "$code" != 401 ] && ok || bad "a Node-signed ES256 token is accepted ($body)"
  unauth "expired" "$(nsign "{\"ob_kind\":\"system\",\"client_id\":\"n\",\"site\":\"$gp\",\"aud\":\"overblik\",\"exp\":$((now-600))}")" "expired"
  # alg confusion: HS256 keyed with the public key's PEM (libjwt 1.10's jwt_decode accepts
  # exactly this, which is why verification is done with OpenSSL directly)
  openssl pkey -in "${db%.db}.jwt.pem" -pubout -out "$work/pub.pem" 2>/dev/null
  hs=$(node -e '
    const c=require("crypto"),fs=require("fs");const [pem,claims]=process.argv.slice(1);
    const b=x=>Buffer.from(x).toString("base64url");const h=b(JSON.stringify({alg:"HS256",typ:"JWT"})),p=b(claims);
    console.log(h+"."+p+"."+c.createHmac("sha256",fs.readFileSync(pem)).update(h+"."+p).digest("base64url"));' \
    "$work/pub.pem" "{\"ob_kind\":\"system\",\"client_id\":\"n\",\"site\":\"$gp\",\"aud\":\"overblik\",\"exp\":$((now+300))}")
  unauth "HS256 keyed with the public key" "$hs" "algorithm"
else
  echo "note: node not found, skipping the Node interoperability checks"
fi

# --- claims and headers that authenticate but are refused
req GET /fhir/Appointment -H "Authorization: Bearer $(tok --kind professional --sub "$gp-dr0" --site hosp-0)"
outcome "professional at a site they do not work at" 403 forbidden
req GET /fhir/Appointment -H "Authorization: Bearer $pro" -H "X-Purpose-Of-Use: MARKETING"
outcome "unknown purpose" 400 invalid
req GET /fhir/Appointment -H "Authorization: Bearer $pro" -H "X-Break-Glass: vital_interest"
outcome "break-the-glass without a reason" 400 invalid
for tp in "$pro TREATMENT" "$cit REQUEST" "$sys TREATMENT"; do
  t=${tp% *}
  req GET "/fhir/Appointment?patient=Patient/pt-0" -H "Authorization: Bearer $t" -H "X-Purpose-Of-Use: ${tp#* }"
  [ "$code" != 401 ] && [ "$code" != 403 ] && ok || bad "good token passes authentication ($code $body)"
done

# --- bodies (R-API-5)
head -c $((2*1024*1024)) /dev/zero | tr '\0' 'a' >"$work/big"
req POST /fhir/Appointment -H "Authorization: Bearer $pro" -H "Content-Type: application/fhir+json" --data-binary @"$work/big"
outcome "body over 1 MiB" 413 too-costly
req POST /fhir/Appointment -H "Authorization: Bearer $pro" -H "Content-Type: application/fhir+json" \
  -H "Transfer-Encoding: chunked" --data-binary @"$work/big"
outcome "chunked body over 1 MiB" 413 too-costly
req POST /fhir/Appointment -H "Authorization: Bearer $pro" -H "Content-Type: text/plain" --data-binary 'hello'
outcome "unsupported content type" 415 not-supported
req POST /fhir/Appointment -H "Authorization: Bearer $pro" -H "Content-Type: application/fhir+json" \
  --data-binary "{\"resourceType\":\"Patient\",\"identifier\":$digits x"
outcome "malformed JSON" 400 invalid
has "malformed JSON: says so" "$body" "not valid JSON"
hasnt "malformed JSON: does not echo the input (R-CPR-2)" "$body" "$digits"
deep=$(printf '%0.s[' $(seq 1 100))
req POST /fhir/Appointment -H "Authorization: Bearer $pro" -H "Content-Type: application/json" --data-binary "$deep"
outcome "nesting depth" 400 too-costly
has "nesting depth: says so" "$body" "deeper than 64"
req POST /fhir/Appointment/_search -H "Authorization: Bearer $pro" \
  -H "Content-Type: application/x-www-form-urlencoded" --data-binary "patient=Patient%2Fpt-0&_count=5"
[ "$code" != 415 ] && [ "$code" != 400 ] && ok || bad "form _search is accepted by the transport ($code)"
req POST /fhir/Appointment -H "Authorization: Bearer $pro" \
  -H "Content-Type: application/x-www-form-urlencoded" --data-binary "a=b"
outcome "form body outside _search" 415 not-supported
req GET "/fhir/Patient/$digits" -H "Authorization: Bearer $cit"
req GET "/fhir/Patient/$cpr" -H "Authorization: Bearer $pro"
long=$(head -c 3000 /dev/zero | tr '\0' 'x')
req GET "/fhir/$long" -H "Authorization: Bearer $pro"; outcome "path too long" 414

# --- metrics: only for the system tokens the operator listed (--metrics-clients). Its
# counters follow what is decided about whom: a professional who could watch them while
# searching for a patient would tell a hidden patient from an absent one.
req GET /metrics -H "Authorization: Bearer $pro"; outcome "metrics: a professional's token" 403 forbidden
req GET /metrics -H "Authorization: Bearer $cit"; outcome "metrics: a citizen's token" 403 forbidden
req GET /metrics -H "Authorization: Bearer $(tok --kind system --client-id epj-other --site "$gp")"
outcome "metrics: a system token not listed" 403 forbidden
mon=$(tok --kind system --client-id monitor) # a scraper speaks for no site
dsum() { awk '$1 ~ /^overblik_decisions_total/ {s += $2} END {print s + 0}' <<<"$body"; }
req GET /metrics -H "Authorization: Bearer $mon"; eq "metrics: the monitor's token" "$code" 200
d0=$(dsum)
req GET /fhir/Appointment -H "Authorization: Bearer $pro" -H "X-Purpose-Of-Use: TREAT" \
  --get --data-urlencode "patient=Patient/pt-0"
req GET /metrics -H "Authorization: Bearer $mon"
eq "metrics: a search counts one logged decision" "$(($(dsum) - d0))" 1
req GET /fhir/Appointment -H "Authorization: Bearer $mon"
outcome "the monitor's token is not for the FHIR API" 401
req GET /metrics -H "Authorization: Bearer $sys"
eq "metrics 200" "$code" 200
has "metrics: requests" "$body" 'overblik_http_requests_total{method="GET",code="4xx"}'
has "metrics: latency histogram" "$body" 'overblik_http_request_duration_seconds_bucket{le="+Inf"}'
has "metrics: decisions by rule" "$body" 'overblik_decisions_total{rule="R-ACC-1",outcome="permit"}'
has "metrics: log appends" "$body" "overblik_log_appends_total"
has "metrics: search index" "$body" "overblik_log_indexed"
has "metrics: commit durations" "$body" 'overblik_log_commit_seconds_bucket{le="+Inf"}'
# every commit in the histogram, once: its count is the commit counter, and it is not zero
# (the requests above were logged)
ncommits=$(awk '$1 == "overblik_log_commits_total" {print $2}' <<<"$body")
nhist=$(awk '$1 == "overblik_log_commit_seconds_count" {print $2}' <<<"$body")
eq "metrics: commit histogram counts every commit" "$nhist" "$ncommits"
[ "${ncommits:-0}" -gt 0 ] && ok || bad "metrics: no commits counted"
has "metrics: auth failures" "$body" "overblik_http_auth_failures_total"

# --- one writing process per database: while the server runs, a writing CLI command is
# refused at once with a message saying what to do, and changes nothing (its log append
# would have broken the server's chain and its block would not reach the server's index);
# reading commands work, and the server still answers afterwards. (On PostgreSQL a CLI
# write is one more writer in the order of changes: tests/e2e/pg_servers.sh.)
if ! on_pg; then
n0=$(sqlite3 "$db" "select count(*) from log_entries")
out=$("$bin" block create --db "$db" --patient pt-0 --kind site --target "$gp" 2>&1); rc=$?
eq "one writer: a CLI write while serving exits 3" "$rc" 3
has "one writer: says why" "$out" "another overblik process (a running server?) is writing"
has "one writer: says what to do" "$out" "send the change to the server over HTTP"
eq "one writer: nothing appended" "$(sqlite3 "$db" "select count(*) from log_entries")" "$n0"
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "one writer: log verify works while serving" "$rc" 0
req GET /fhir/Appointment -H "Authorization: Bearer $pro" -H "X-Purpose-Of-Use: TREAT" \
  --get --data-urlencode "patient=Patient/pt-0"
eq "one writer: the server still answers" "$code" 200
fi

# --- SIGTERM with a request in flight: it is answered, the server exits 0
printf '{"resourceType":"Parameters","pad":"%s"}' "$(head -c 300000 /dev/zero | tr '\0' 'p')" >"$work/slow.json"
curl -s -o /dev/null -w '%{http_code}' --limit-rate 150k -X POST -H "Authorization: Bearer $pro" \
  -H "Content-Type: application/fhir+json" --data-binary @"$work/slow.json" \
  "$addr/fhir/Appointment/_search" >"$work/slow.code" 2>/dev/null &
slow=$!
sleep 0.7
kill -TERM "$srv"
wait "$slow"
slowcode=$(cat "$work/slow.code")
[ -n "$slowcode" ] && [ "$slowcode" != 000 ] && ok || bad "the request in flight was answered (got '$slowcode')"
wait "$srv"; rc=$?; srv=""
eq "SIGTERM: exit 0" "$rc" 0
has "SIGTERM: announced" "$(cat "$work/err.txt")" "SIGTERM received"
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after shutdown" "$rc" 0
if ! on_pg; then # SQLite's own index of the log (PostgreSQL indexes its table)
  size=$(sqlite3 "$db" "select max(seq) from log_entries")
  has "a clean stop leaves the search index complete" "$out" "search index complete through $size"
fi
curl -s -o /dev/null "$addr/healthz" && bad "server still answers after SIGTERM" || ok

# --- configuration: flag > environment > file > default
cat >"$work/serve.conf" <<CONF
# test config
db = $(db_at "$db")
listen = 127.0.0.1:0
audience = from-file   # a comment after the value is not part of it
access_log = true
CONF
on_pg && printf 'keys = %s\njwks = %s\n' "${db%.db}.key" "${db%.db}.jwks.json" >>"$work/serve.conf"
start2() { # start2 [args...]: a second server with the config file; sets $srv and $addr
  serve_bg srv addr "$work/out2.txt" "$work/err2.txt" --config "$work/serve.conf" "$@"
}
stop2() { kill -TERM "$srv"; wait "$srv"; srv=""; }
aud_ok() { # aud_ok "what" audience expected-status
  req GET /fhir/Appointment -H "Authorization: Bearer $(tok --kind system --client-id "gpsys-${gp#gp-}" --site "$gp" --aud "$2")"
  if [ "$3" = 401 ]; then eq "$1" "$code" 401; else [ "$code" != 401 ] && ok || bad "$1 ($code)"; fi
}
start2
aud_ok "config file: its audience is used" from-file 200
# a port in use is refused, even though the server's own threads share it (SO_REUSEPORT)
"$bin" init --db "$work/other.db" >/dev/null 2>&1
out=$(timeout 60 "$bin" serve --db "$work/other.db" --listen "127.0.0.1:${addr##*:}" 2>&1); rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok || bad "a second server on a port in use started ($rc)"
has "a port in use is named" "$out" "Address already in use"
aud_ok "config file: the default audience is not" overblik 401
has "config file: access_log = true" "$(cat "$work/err2.txt")" "GET /fhir/Appointment"
has "no metrics client listed: said at start" "$(cat "$work/err2.txt")" \
  "/metrics answers 403 to every token: no scraper is listed"
hasnt "metrics clients listed: no such notice" "$(cat "$work/err.txt")" "no scraper is listed"
stop2
OVERBLIK_AUDIENCE=from-env start2
aud_ok "environment beats the file" from-env 200
aud_ok "environment beats the file (file value refused)" from-file 401
stop2
OVERBLIK_AUDIENCE=from-env start2 --audience from-flag
aud_ok "flag beats the environment" from-flag 200
stop2
printf 'colour = red\n' >"$work/bad.conf"
out=$("$bin" serve --config "$work/bad.conf" 2>&1); rc=$?
eq "unknown config key: exit 2" "$rc" 2
has "unknown config key: named with its line" "$out" "bad.conf:1: unknown setting 'colour'"
out=$("$bin" serve --db "$db" --jwks "$work/missing.json" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "a missing JWKS file stops the server"
has "a missing JWKS file is named" "$out" "missing.json"

# --- SIGHUP re-reads the JWKS: an identity provider's new key without a restart, the old one
# retired the same way, and a file that does not load keeps the keys in use
cp "${db%.db}.jwks.json" "$work/live.jwks.json"
serve_bg srv addr "$work/out3.txt" "$work/err3.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --jwks "$work/live.jwks.json" --metrics-clients c
[ -n "$addr" ] && ok || bad "server with a JWKS of its own started"
old=$(tok --kind system --client-id c --site "$gp")
new=$(tok --kind system --client-id c --site "$gp" --key "$work/other.jwt.pem")
hup() { # hup N: sends SIGHUP and waits for the server's Nth answer to one on stderr
  kill -HUP "$srv"
  for _ in $(seq 1 50); do [ "$(grep -c 'SIGHUP' "$work/err3.txt")" -ge "$1" ] && break; sleep 0.1; done
}
with() { req GET /metrics -H "Authorization: Bearer $1"; } # both tokens are client "c", a listed metrics client
with "$old"; eq "JWKS: the configured key is accepted" "$code" 200
with "$new"; eq "JWKS: a key not yet configured is refused" "$code" 401
jq -s '{keys: (.[0].keys + .[1].keys)}' "${db%.db}.jwks.json" "$work/other.jwks.json" >"$work/next.json"
mv "$work/next.json" "$work/live.jwks.json"
hup 1
has "SIGHUP: the reload is announced" "$(cat "$work/err3.txt")" "JWKS $work/live.jwks.json reloaded, 2 key(s)"
with "$new"; eq "SIGHUP: the added key is accepted at once" "$code" 200
with "$old"; eq "SIGHUP: the old key still, while both are listed" "$code" 200
cp "$work/other.jwks.json" "$work/live.jwks.json"
hup 2
with "$old"; eq "SIGHUP: a retired key is refused, though its token was verified before" "$code" 401
with "$new"; eq "SIGHUP: the remaining key is accepted" "$code" 200
# five reloads while a client keeps the server busy: each is taken at once, and no
# request of the client fails meanwhile
python3 - "${addr#http://}" "$new" >"$work/load.txt" <<'PY' &
import http.client, sys, time
c = http.client.HTTPConnection(sys.argv[1])
n, failed, t0 = 0, 0, time.time()
while time.time() - t0 < 3:
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + sys.argv[2]})
    r = c.getresponse()
    r.read()
    n, failed = n + 1, failed + (r.status != 200)
print(n, failed)
PY
loadpid=$!
sleep 0.5
for i in 3 4 5 6 7; do hup "$i"; done
eq "SIGHUP under load: five reloads taken" "$(grep -c 'reloaded, 1 key' "$work/err3.txt")" 6
wait "$loadpid"
read -r nreq nfailed <"$work/load.txt"
[ "${nreq:-0}" -gt 100 ] && ok || bad "SIGHUP under load: the client made requests (${nreq:-0})"
eq "SIGHUP under load: none of them failed" "${nfailed:-x}" 0
printf '{"keys":[' >"$work/live.jwks.json"
hup 8
has "SIGHUP: a broken file is named, the keys kept" "$(cat "$work/err3.txt")" \
  "JWKS not reloaded, the 1 key(s) in use stay"
with "$old"; eq "SIGHUP: and does not bring back a retired one" "$code" 401
with "$new"; eq "SIGHUP: a broken file keeps the key in use" "$code" 200
has "metrics: reloads taken" "$body" 'overblik_jwks_reloads_total{result="ok"} 7'
has "metrics: reloads failed" "$body" 'overblik_jwks_reloads_total{result="failed"} 1'
kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
eq "SIGHUP: the server still stops cleanly" "$rc" 0

# --- R-CPR-2: the server's stderr (access log included) never shows a CPR
err=$(cat "$work/err.txt")
hasnt "no CPR (digits) in stderr" "$err" "$digits"
hasnt "no CPR (hyphenated) in stderr" "$err" "$cpr"
has "access log has lines" "$err" "GET /fhir/metadata 200"
hasnt "access log has no query strings" "$err" "patient=Patient"

the_end
