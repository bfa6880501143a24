#!/usr/bin/env bash
# HTTP benchmark: `overblik serve` on a generated database (100,000 patients by default),
# loaded by wrk (2 threads, 64 connections, 20 s) with a professional's bearer token and
# purpose header added by a Lua script. Prints requests/s and latency percentiles.
# Usage: bench/http/run.sh [PATH]   (default /fhir/metadata; e.g.
#        '/fhir/Appointment?patient=Patient/pt-0' once the FHIR layer serves it)
# Env: BENCH_PATIENTS (100000), BENCH_SECONDS (20), BENCH_CONNECTIONS (64),
#      BENCH_THREADS (wrk threads, 2), BENCH_DIR (bench-data/http), OB_BIN (build/overblik).
set -euo pipefail
cd "$(dirname "$0")/../.."
path=${1:-/fhir/metadata}
bin=${OB_BIN:-build/overblik}
patients=${BENCH_PATIENTS:-100000}
secs=${BENCH_SECONDS:-20}
conns=${BENCH_CONNECTIONS:-64}
wthreads=${BENCH_THREADS:-2}
dir=${BENCH_DIR:-bench-data/http}
[ -x "$bin" ] || { echo "bench/http: build first (make build)"; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "bench/http: installing wrk (Debian package)" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
fi
mkdir -p "$dir"
db="$dir/overblik-$patients.db"
if [ ! -f "$db" ]; then
  echo "bench/http: generating $patients patients into $db" >&2
  "$bin" init --db "$db" --force >/dev/null
  "$bin" gen --db "$db" --patients "$patients" --seed 1 >/dev/null
fi
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
token=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp" --ttl 3600)
out=$(mktemp); lua=$(mktemp --suffix=.lua)
"$bin" serve --db "$db" --listen 127.0.0.1:0 >"$out" 2>/dev/null &
srv=$!
trap 'kill -TERM $srv 2>/dev/null; wait $srv 2>/dev/null; rm -f "$out" "$lua"' EXIT
for _ in $(seq 1 600); do grep -q "listening on" "$out" && break; sleep 0.1; done
addr=$(grep -o 'http://[0-9.]*:[0-9]*' "$out" | head -1)
[ -n "$addr" ] || { echo "bench/http: the server did not start"; exit 1; }
cat >"$lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["X-Purpose-Of-Use"] = "TREAT"
LUA
echo "bench/http: $addr$path, $patients patients, wrk -t$wthreads -c$conns -d${secs}s"
res=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency -s "$lua" "$addr$path")
echo "$res" | grep -E 'Requests/sec|Non-2xx|Socket errors' || true
echo "$res" | awk '/Latency Distribution/{p=1;next} p&&/%/{sub("%","",$1); print "  p" $1 ": " $2; next} p&&!/%/{p=0}'
