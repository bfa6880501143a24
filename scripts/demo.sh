#!/usr/bin/env bash
# make demo: a fresh installation with a synthetic data set, then the guided tour.
# Usage: scripts/demo.sh DIR PATIENTS
set -euo pipefail
dir=${1:-demo-data}
patients=${2:-20000}
bin=build/overblik
mkdir -p "$dir"
db="$dir/overblik.db"
"$bin" init --db "$db" --force
"$bin" gen --db "$db" --patients "$patients" --seed 1
"$bin" tour --db "$db"
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
cat <<MSG

Try it yourself (the database is $db):
  $bin decide --db $db <<< '{"actor":{"professional":"$gp-dr0"},"patient":"pt-0","category":"diagnosis","origin":"hosp-0-med","purpose":"TREAT"}'
  $bin block create --db $db --patient pt-0 --kind site --target hosp-0-psyk
  $bin block create --db $db --patient pt-0 --kind professional --target hosp-0-med-dr0   # refused: R-BLK-2
  $bin log show --db $db --patient pt-0
  $bin log verify --db $db
  $bin stats cluster --db $db --cluster klynge-0 --code T90 --from 2025-11-01 --to 2026-11-01 --report-date 2026-11-01
  $bin people list --db $db --limit 3                # whom to name in a command or a token
  $bin --help
MSG

# The HTTP server (issue 3) in the foreground, with development tokens minted from the
# key pair init wrote beside the database (production brings its own JWKS).
listen=${DEMO_LISTEN:-127.0.0.1:8080}
# the first patient with a shared, booked appointment, and that patient's own GP
pt=$(sqlite3 "$db" "select patient from appointments where shared=1 and status='booked' order by id limit 1")
pt=${pt:-pt-0}
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='$pt'")
# the GP's identity provider allows treatment, emergencies and decision support (R-ACC-15)
pro=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp" --ttl 86400 \
  --purposes TREAT,ETREAT,DECISIONSUPPORT)
# the citizen by internal id (the patient claim), so that the token printed holds no CPR
cit=$("$bin" token --db "$db" --kind citizen --patient "$pt" --ttl 86400)
mon=$("$bin" token --db "$db" --kind system --client-id demo-monitor --ttl 86400) # /metrics
cat <<MSG

The HTTP server: http://$listen  (FHIR base http://$listen/fhir; docs/api.md)
Development tokens, valid for 24 hours (overblik token --help makes more):
  PRO=$pro
  CIT=$cit
  MON=$mon
  PT=$pt
Try, in another terminal after pasting the four lines above:
  curl -s http://$listen/fhir/metadata | jq .
  curl -s -H "Authorization: Bearer \$PRO" -H "X-Purpose-Of-Use: TREAT" "http://$listen/fhir/Appointment?patient=Patient/\$PT" | jq .   # as \$PT's own GP
  curl -s -H "Authorization: Bearer \$PRO" -H "X-Purpose-Of-Use: DECISIONSUPPORT" "http://$listen/fhir/Patient/\\\$patients-like-me?patient=Patient/\$PT&code=T90" | jq .   # patients like \$PT, aggregated
  curl -s -H "Authorization: Bearer \$CIT" "http://$listen/fhir/AuditEvent?_count=5" | jq .   # $pt's own log; .link pages on
  curl -s -H "Authorization: Bearer \$CIT" "http://$listen/fhir/Appointment?date=ge$(date -u +%Y-%m-%d)&status=booked&_include=Appointment:patient" | jq .   # upcoming
  curl -s -H "Authorization: Bearer \$MON" http://$listen/metrics   # only for the monitor's token
Ctrl-C stops the server (requests in flight finish, the log is flushed).

MSG

# The web pages (issue 26) log people in through an OpenID Connect provider: a real one
# (npm oidc-provider, tests/web/idp.mjs) on loopback whose users are this database's people.
# It needs node and npm (the pinned packages of tests/web are installed once); without them
# the server runs as before, without logins.
web=()
idp=""
if command -v node >/dev/null && command -v npm >/dev/null && bash tests/web/run.sh --install 2>"$dir/npm.log"; then
  "$bin" people list --db "$db" --limit 10000000 >"$dir/people.ndjson"
  secret=$(openssl rand -hex 16)
  rm -f "$dir/idp.json"
  node tests/web/idp.mjs --people "$dir/people.ndjson" --out "$dir/idp.json" \
    --redirect "http://$listen/auth/callback" --post-logout "http://$listen/" --secret "$secret" \
    >"$dir/idp.log" 2>&1 &
  idp=$!
  for _ in $(seq 1 100); do [ -s "$dir/idp.json" ] && break; sleep 0.1; done
  cit_iss=$(jq -r .citizen "$dir/idp.json" 2>/dev/null || true)
  pro_iss=$(jq -r .professional "$dir/idp.json" 2>/dev/null || true)
  if [ -n "$cit_iss" ] && [ "$cit_iss" != null ]; then
    (umask 077 && cat >"$dir/oidc.json" <<EOF
{"issuers": [
  {"issuer": "$cit_iss", "name": "citizen", "label": "MitID (demo)", "kind": "citizen", "audience": "overblik",
   "claims": {"patient": "patient"}, "client_id": "overblik-web", "client_secret": "$secret",
   "redirect_uri": "http://$listen/auth/callback"},
  {"issuer": "$pro_iss", "name": "professional", "label": "Sundhedsfagligt login (demo)", "kind": "professional",
   "audience": "overblik", "claims": {"sub": {"claim": "fhirUser", "prefix": "Practitioner/"}, "site": "dk:sor"},
   "client_id": "overblik-web", "client_secret": "$secret", "redirect_uri": "http://$listen/auth/callback"}
]}
EOF
    )
    web=(--oidc "$dir/oidc.json")
    # a relative who holds a power of attorney, and the CPR number the generator made up for
    # $pt (gen is deterministic: the same seed and size write the same people to a file)
    holder=$(sqlite3 "$db" "select json_extract(json,'\$.holder')||' (for '||json_extract(json,'\$.patient')||')' from records where type='relative' order by rowid limit 1")
    cpr=$("$bin" gen --out "$dir/people-with-cpr.ndjson" --patients "$patients" --seed 1 >/dev/null 2>&1 &&
      jq -r --arg p "$pt" 'select(.type=="patient" and .id==$p) | .cpr' "$dir/people-with-cpr.ndjson" | head -1)
    rm -f "$dir/people-with-cpr.ndjson"
    cat <<MSG
The web pages: http://$listen/   (log in through the demo identity provider; its login page
asks only for a user id: it is a test provider whose users are the demo's synthetic people)
  MitID (demo), citizens:       $pt ("Hvem har set mine data" shows the look-ups above)
                                ${holder:-} (a relative with power of attorney)
  Sundhedsfagligt login (demo): $gp-dr0 ($pt's GP: find $pt by the synthetic CPR ${cpr:-?})
                                hosp-0-med-dr0 (a hospital doctor), $gp-sec (a secretary:
                                chooses a doctor to work for), gp-0-dr0 (coordinates the
                                quality cluster klynge-0: "Kvalitetsklynge")
  A professional who works at several sites logs in as id@site.

MSG
  else
    echo "make demo: the demo identity provider did not start ($dir/idp.log); the pages run without login" >&2
  fi
else
  echo "make demo: node/npm or the npm packages are missing ($dir/npm.log); the pages run without login" >&2
fi
# The server runs as this script's child (the provider must be stopped after it), so a TERM
# or Ctrl-C to the script is passed on: the server finishes its requests and flushes the log,
# then the provider stops. (A script killed while it waits would leave the server running
# and the database held.)
"$bin" serve --db "$db" --listen "$listen" --metrics-clients demo-monitor "${web[@]}" &
srv=$!
stopping=0
trap 'stopping=1; kill -TERM "$srv" 2>/dev/null' TERM INT HUP
rc=0
wait "$srv" || rc=$?
if [ "$stopping" = 1 ]; then # the wait above was cut short: the server's own exit status
  rc=0
  wait "$srv" || rc=$?
fi
[ -n "$idp" ] && kill "$idp" 2>/dev/null
exit "$rc"
