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
  $bin --help
MSG
