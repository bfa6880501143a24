#!/usr/bin/env bash
# interop.sh [SCENARIO...] - standard FHIR clients, a SMART app and a real OpenID Connect
# provider against a real `overblik serve` on loopback (issue 25; tests/interop/README.md):
# - fhirkit: fhir-kit-client - discovery, search and paging (nextPage) of appointments and of
#   the citizen's AuditEvent log that the paging itself adds to (no entry twice or skipped),
#   create, read, vread, a conditional read (304), a conditional PUT by identifier, a block
#   (POST Consent) and a batch with errors (each entry its own status);
# - smart: SMART's fhirclient through a standalone launch at npm oidc-provider (PKCE, JWT access
#   tokens), calls to overblik with its token, key rotation (ES256, then EdDSA, new kids); a
#   second provider, of professionals (fhirUser and dk:sor mapped), through a plain code flow;
# - medplum: @medplum/core's R4 validator (invariants included) over every answer sampled.
# A hand-made world (one patient, her GP, three doctors, two source systems), the providers
# (tests/interop/idp.mjs) and overblik on free ports, the node driver (tests/interop/run.sh,
# which installs the pinned npm packages once). Without `serve --oidc` in this overblik the
# smart scenario checks the launch and token but that overblik refuses the token.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.bash"
need node npm curl flock
work=$(mktemp -d)
srv=""; idp=""; idp2=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  [ -n "$idp" ] && kill "$idp" 2>/dev/null
  [ -n "$idp2" ] && kill "$idp2" 2>/dev/null
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

if bash "$src/tests/interop/run.sh" --install; then ok; else bad "npm ci of tests/interop"; the_end; exit 1; fi

cat >"$work/world.ndjson" <<'EOF'
{"type":"org","id":"gp-a","kind":"gp_clinic","name":"Laegerne Torvet","provider_number":"100007"}
{"type":"org","id":"gp-b","kind":"gp_clinic","name":"Laegevagten","provider_number":"100015"}
{"type":"org","id":"hosp","kind":"hospital","name":"Odense Universitetshospital"}
{"type":"org","id":"hosp-med","kind":"department","parent":"hosp","name":"Medicinsk afdeling"}
{"type":"professional","id":"gp-a-dr","name":"Anne Holm","role":"doctor","authorisation_id":"0A1B2","sites":["gp-a"]}
{"type":"professional","id":"gp-b-dr","name":"Bo Vagt","role":"doctor","authorisation_id":"0B2C3","sites":["gp-b"]}
{"type":"professional","id":"med-dr","name":"Hans Berg","role":"doctor","authorisation_id":"0C3D4","sites":["hosp-med"]}
{"type":"patient","id":"pt-p","name":"Camilla Christensen","cpr":"010190-1234","gp":"gp-a"}
{"type":"relationship","patient":"pt-p","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"relationship","patient":"pt-p","org":"hosp-med","professional":"med-dr","kind":"treatment","from":"2026-01-01"}
{"type":"relationship","patient":"pt-p","org":"gp-b","professional":"gp-b-dr","kind":"treatment","from":"2026-01-01"}
{"type":"source","client_id":"epj-hosp","site":"hosp","go_live":"2020-01-01","name":"Hospital EPJ"}
{"type":"source","client_id":"gpsys","site":"gp-a","go_live":"2020-01-01","name":"XMO"}
{"type":"appointment","source":"gpsys","system":"urn:gp:booking","identifier":"G-1","patient":"pt-p","start":"2026-12-10T08:00:00Z","end":"2026-12-10T08:15:00Z"}
{"type":"item","id":"pt-p-d1","patient":"pt-p","category":"diagnosis","origin":"gp-a","time":"2024-05-02T10:00:00Z","code":"T90"}
EOF
db="$work/w.db"
"$bin" init --db "$db" >/dev/null && ok || { bad "init"; the_end; exit 1; }
out=$("$bin" load --db "$db" "$work/world.ndjson" 2>&1) && ok || { bad "load: $out"; the_end; exit 1; }

# the OpenID Connect providers first (citizens' with SMART, professionals'): overblik is told
# their issuers and discovers them at start
start_idp() { # start_idp PIDVAR URLVAR PROFILE
  local -n idp_pid_=$1 idp_url_=$2
  node "$src/tests/interop/idp.mjs" "$work/$3.url" "$3" >"$work/$3.out" 2>&1 &
  idp_pid_=$!
  for _ in $(seq 1 100); do [ -s "$work/$3.url" ] && break; sleep 0.1; done
  idp_url_=$(cat "$work/$3.url" 2>/dev/null)
  [ -n "$idp_url_" ] && ok || { bad "the OIDC provider ($3) did not start: $(cat "$work/$3.out")"; the_end; exit 1; }
}
start_idp idp issuer patient
start_idp idp2 issuer2 practitioner

smart=(--smart-authorize "$issuer/auth" --smart-token "$issuer/token")
oidc=0
if "$bin" serve --help 2>&1 | grep -q -- '--oidc'; then
  oidc=1
  cat >"$work/oidc.json" <<EOF
{"issuers": [
  {"issuer": "$issuer", "audience": "overblik", "kind": "citizen", "claims": {"patient": "patient"}, "smart": true},
  {"issuer": "$issuer2", "audience": "overblik", "kind": "professional",
   "claims": {"sub": {"claim": "fhirUser", "prefix": "Practitioner/"}, "site": "dk:sor"}}
]}
EOF
  smart=(--oidc "$work/oidc.json")
fi
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 --access-log "${smart[@]}"
[ -n "$addr" ] && ok || { bad "overblik did not start: $(cat "$work/err.txt")"; the_end; exit 1; }

OB_URL=$addr OB_BIN=$bin OB_DB=$db OB_IDP=$issuer OB_IDP_PRO=$issuer2 OB_OIDC=$oidc \
  timeout 120 bash "$src/tests/interop/run.sh" "$@" | tee "$work/driver.out"
rc=${PIPESTATUS[0]}
last=$(tail -1 "$work/driver.out")
if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  pass=$((pass + BASH_REMATCH[1])); failn=$((failn + BASH_REMATCH[2]))
else
  bad "the driver did not finish (exit $rc)"
fi
[ "$rc" -eq 0 ] || [ "$failn" -gt 0 ] || bad "the driver exited $rc"
if [ "$failn" -gt 0 ]; then
  echo "--- overblik's stderr (last 20 lines)"; tail -20 "$work/err.txt"
  echo "--- the providers' output (last 20 lines)"; tail -20 "$work/patient.out" "$work/practitioner.out"
fi
kill -0 "$srv" 2>/dev/null && ok || bad "overblik died during the run: $(tail -5 "$work/err.txt")"
kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
eq "overblik: SIGTERM, exit 0" "$rc" 0
out=$("$bin" log verify --db "$db" 2>&1); eq "log verify after the run" "$?" 0
if [ "${OB_BACKEND:-}" = postgresql ] && [ "$oidc" = 1 ]; then
  # on PostgreSQL a server may trust the identity providers alone (no development JWKS:
  # tests/e2e/on_pg.bash); it used to look for a JWKS file named after nothing and not start
  OB_SHIM_NO_JWKS=1 serve_bg srv addr "$work/out2.txt" "$work/err2.txt" --db "$db" \
    --listen 127.0.0.1:0 --threads 2 --oidc "$work/oidc.json"
  [ -n "$addr" ] && ok || bad "PostgreSQL, --oidc alone: overblik did not start: $(cat "$work/err2.txt")"
  if [ -n "$addr" ]; then
    has "... its JWKS is none" "$(cat "$work/out2.txt")" "JWKS none"
    eq "... /healthz" "$(curl -s -o /dev/null -w '%{http_code}' "$addr/healthz")" 200
    dev=$("$bin" token --db "$db" --kind citizen --patient pt-p)
    eq "... a development token is refused" "$(curl -s -o /dev/null -w '%{http_code}' \
      -H "Authorization: Bearer $dev" "$addr/fhir/Patient/pt-p")" 401
    kill -TERM "$srv"; wait "$srv"; srv=""
  fi
fi
# the driver's counts came out as one line; print the total as this script's own closing line
the_end
