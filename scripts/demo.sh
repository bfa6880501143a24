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
exec "$bin" serve --db "$db" --listen "$listen" --metrics-clients demo-monitor
