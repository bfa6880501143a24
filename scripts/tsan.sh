#!/usr/bin/env bash
# The ThreadSanitizer job of `make test` (issue 24), about three minutes on two cores:
#  1. every unit test (OB_TEST_SCALE=40: 1/40 of the random property tables),
#  2. the log's group-commit benchmark, briefly (blocking and asynchronous appenders),
#  3. a short mixed load on a real server: concurrent appointment searches (GP, citizen),
#     the citizen's own log, appointment writes that move rows between patients and
#     cancel/unshare them, a citizen creating and lifting blocks, statistics releases,
#     SIGHUP (re-read the JWKS) every second, then SIGTERM with requests in flight; the
#     server must exit 0 and the log must verify.
# Any ThreadSanitizer report fails the job (halt_on_error; the server's reports go to
# files that are printed). scripts/tsan.supp holds only what is proven benign, each with
# why. Usage: scripts/tsan.sh [BUILD_DIR] (a build configured with -DOB_TSAN=ON);
# OB_TSAN_PARTS="unit bench load" (the default) picks parts, OB_TSAN_LOAD_SECONDS the load.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-tsan}
root=$PWD
work=$(mktemp -d)
pids=()
srv=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$srv" ] && kill -KILL "$srv" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export TSAN_OPTIONS="suppressions=$root/scripts/tsan.supp halt_on_error=1 exitcode=66 second_deadlock_stack=1"
# gcc's TSan maps its shadow at fixed addresses; a kernel with high mmap randomisation
# (vm.mmap_rnd_bits > 28) makes it fail at start: run without address randomisation then
norand=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then norand=(setarch -R); fi

parts=" ${OB_TSAN_PARTS:-unit bench load} "
t0=$SECONDS
if [[ $parts == *" unit "* ]]; then
echo "tsan: unit tests"
# (stats/test_api is single-threaded and minutes under TSan: left to the release and ASan runs)
(cd "$dir" && OB_TEST_SCALE=40 OB_TEST_NO_TIMING=1 "${norand[@]}" ctest -j2 -E '^(e2e|security)/|^stats/test_api$' --output-on-failure \
  --timeout 300) >"$work/unit.log" 2>&1 ||
  { grep -vE '^\[ +(OK|RUN) +\]' "$work/unit.log" | tail -150; echo "tsan: unit tests FAILED"; exit 1; }
echo "tsan: unit tests passed ($((SECONDS - t0)) s)"
fi

t1=$SECONDS
if [[ $parts == *" bench "* ]]; then
echo "tsan: log append benchmark"
"${norand[@]}" "$dir/bench_log_append" "$work" 0.5 4 8x8 >"$work/bench.log" 2>&1 ||
  { tail -60 "$work/bench.log"; echo "tsan: log benchmark FAILED"; exit 1; }
echo "tsan: log benchmark passed ($((SECONDS - t1)) s)"
fi

t2=$SECONDS
if [[ $parts == *" load "* ]]; then
echo "tsan: mixed load on the server"
bin=$root/$dir/overblik
db=$work/t.db
"$bin" init --db "$db" >/dev/null
"$bin" gen --db "$db" --patients 1000 --seed 7 >/dev/null 2>&1
"$bin" gen --out "$work/d.ndjson" --patients 1000 --seed 7 >/dev/null 2>&1
cpr_of() { grep -m1 "\"id\":\"$1\"" "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4; }
gp0=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
cpr0=$(cpr_of pt-0) cpr1=$(cpr_of pt-1)
coord=$(sqlite3 "$db" "select json_extract(json,'\$.coordinators[0]') from records where type='cluster' and json_extract(json,'\$.id')='klynge-0'")
csite=$(sqlite3 "$db" "select json_extract(json,'\$.sites[0]') from records where type='professional' and json_extract(json,'\$.id')='$coord'")
mkdir -p "$work/reports"
TSAN_OPTIONS="$TSAN_OPTIONS log_path=$work/reports/server" "${norand[@]}" "$bin" serve --db "$db" \
  --listen 127.0.0.1:0 --threads 4 >"$work/out.txt" 2>"$work/err.txt" &
srv=$!
for _ in $(seq 1 300); do grep -q "listening on" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/out.txt" | head -1)
[ -n "$addr" ] || { cat "$work/err.txt" "$work"/reports/* 2>/dev/null; echo "tsan: the server did not start"; exit 1; }
tok() { "$bin" token --db "$db" "$@"; }
GP=$(tok --kind professional --sub "$gp0-dr0" --site "$gp0")
CIT=$(tok --kind citizen --cpr "$cpr0")
COORD=$(tok --kind professional --sub "$coord" --site "$csite")
H=(-s -o /dev/null --max-time 30)
# searches: each curl runs 4 at a time over keep-alive connections
searches() {
  local cfg=$work/search.cfg i
  : >"$cfg"
  for i in $(seq 0 39); do
    printf 'url = "%s/fhir/Appointment?patient=Patient/pt-%d"\noutput = "/dev/null"\n' "$addr" $((i % 20)) >>"$cfg"
  done
  while :; do
    curl -s --no-progress-meter --parallel --parallel-max 4 -H "Authorization: Bearer $GP" -H "X-Purpose-Of-Use: TREAT" -K "$cfg" || true
    curl "${H[@]}" -H "Authorization: Bearer $CIT" "$addr/fhir/Appointment?patient=Patient/pt-0" || true
    curl "${H[@]}" -H "Authorization: Bearer $CIT" "$addr/fhir/AuditEvent?_count=5" || true
  done
}
apt() {
  printf '{"resourceType":"Appointment","identifier":[{"system":"urn:t","value":"w-%s"}],"status":"%s","start":"2026-12-20T09:00:00Z","participant":[{"actor":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}},"status":"accepted"}],"extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/shared","valueBoolean":%s}]}' "$@"
}
writes() {
  local i=0
  while :; do
    local c=$cpr0 st=booked sh=true
    [ $((i % 3)) -eq 1 ] && c=$cpr1
    [ $((i % 2)) -eq 1 ] && st=cancelled sh=false
    # one write per token (docs/api.md): a fresh one each time
    curl "${H[@]}" -X PUT -H "Authorization: Bearer $(tok --kind system --client-id epj-hosp-0 --site hosp-0)" -H "Content-Type: application/fhir+json" \
      --data-binary "$(apt $((i % 4)) "$st" "$c" "$sh")" "$addr/fhir/Appointment?identifier=urn:t%7Cw-$((i % 4))" || true
    i=$((i + 1))
  done
}
blocks() {
  local b='{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/pt-0"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hosp-0"}}]}}'
  while :; do
    local made
    made=$(curl -s --max-time 30 -X POST -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr0")" -H "Content-Type: application/fhir+json" \
      --data-binary "$b" "$addr/fhir/Consent" || true)
    local id
    id=$(jq -r '.id // empty' <<<"$made" 2>/dev/null || true)
    [ -n "$id" ] && curl "${H[@]}" -X PUT -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr0")" -H "Content-Type: application/fhir+json" \
      --data-binary "$(jq -c '.status="inactive"' <<<"$made")" "$addr/fhir/Consent/$id" || true
  done
}
stats() {
  local q='{"cluster":"klynge-0","code":"T90","from":"2025-11-01","to":"2026-11-01","report_date":"2026-11-01","format":"json"}'
  while :; do
    curl "${H[@]}" -X POST -H "Authorization: Bearer $COORD" -H "Content-Type: application/json" \
      --data-binary "$q" "$addr/api/stats/cluster" || true
  done
}
searches & pids+=($!)
searches & pids+=($!)
writes & pids+=($!)
blocks & pids+=($!)
stats & pids+=($!)
for _ in $(seq 1 ${OB_TSAN_LOAD_SECONDS:-25}); do
  sleep 1
  kill -HUP "$srv" 2>/dev/null || break
done
kill -TERM "$srv" 2>/dev/null || true # with requests in flight
rc=0
wait "$srv" || rc=$?
srv=""
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
if ls "$work"/reports/server* >/dev/null 2>&1; then
  cat "$work"/reports/server*
  echo "tsan: ThreadSanitizer reported on the server"
  exit 1
fi
[ "$rc" -eq 0 ] || { tail -20 "$work/err.txt"; echo "tsan: the server exited $rc"; exit 1; }
"$bin" log verify --db "$db" >/dev/null || { echo "tsan: log verify failed after the load"; exit 1; }
# the load did what it says: every kind of request was answered at least once
q() { sqlite3 "$db" "select count(*) from log_entries where $1" 2>/dev/null || echo 0; }
n=$(q 1) lifts=$(q "event = 2") writes=$(q "event = 10 and category = 'appointment'")
releases=$(q "event = 9") reads=$(q "event = 0 and permit = 1")
echo "tsan: $n log entries: $reads permitted reads, $writes appointment writes, $lifts block lifts, $releases statistics releases"
[ "$lifts" -gt 0 ] && [ "$writes" -gt 0 ] && [ "$releases" -gt 0 ] && [ "$reads" -gt 0 ] ||
  { tail -20 "$work/err.txt"; echo "tsan: the load did not reach every kind of request"; exit 1; }
echo "tsan: mixed load passed ($((SECONDS - t2)) s)"
fi
echo "tsan: all passed ($((SECONDS - t0)) s)"
