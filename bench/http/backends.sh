#!/usr/bin/env bash
# Issue 18's benchmark: the authorised appointment search of bench/http/appointments.sh
# (GET /fhir/Appointment?patient=..., decided and durably logged) on the two backends in
# one run: the same generated data loaded into a SQLite file and into a throwaway
# PostgreSQL 15 (scripts/pg/throwaway.sh: one node, no replica, synchronous_commit on), the
# same (token, patient) pairs, wrk against `overblik serve` on each in turn, alternating
# BENCH_ROUNDS times, so that the VM's drift falls on both. Prints requests/s and p50/p99
# for each run and the PostgreSQL/SQLite ratio of the medians.
# Env: BENCH_PATIENTS (20000), BENCH_SECONDS (10), BENCH_CONNECTIONS (40), BENCH_ROUNDS (3),
#      BENCH_SERVER_THREADS (the server's default, one per core; both backends),
#      BENCH_PAIRS (5000), BENCH_DIR (bench-data/backends), OB_BIN (build-bench/overblik;
#      set it to skip the build).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
patients=${BENCH_PATIENTS:-20000}
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-40}
rounds=${BENCH_ROUNDS:-3}
npairs=${BENCH_PAIRS:-5000}
sthreads=()
[ -n "${BENCH_SERVER_THREADS:-}" ] && sthreads=(--threads "$BENCH_SERVER_THREADS")
dir=${BENCH_DIR:-bench-data/backends}
if [ -z "${OB_BIN:-}" ]; then
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-bench -j2 --target overblik >/dev/null
  bin=$root/build-bench/overblik
else
  bin=$OB_BIN
fi
if ! command -v wrk >/dev/null; then # as bench/http/run.sh: a benchmark's tool, not the tests'
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
fi
for tool in wrk curl sqlite3 psql; do
  command -v $tool >/dev/null || { echo "bench/backends: needs $tool (scripts/install-deps.sh)"; exit 1; }
done
rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$dir"
dir=$(cd "$dir" && pwd)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; bash "$root/scripts/pg/throwaway.sh" stop "$dir/pg" >/dev/null 2>&1 || true' EXIT
db=$dir/overblik.db
"$bin" init --db "$db" >/dev/null
"$bin" gen --out "$dir/d.ndjson" --patients "$patients" --seed 1 >/dev/null 2>&1
t0=$(date +%s%N)
"$bin" load --db "$db" "$dir/d.ndjson" >/dev/null
t1=$(date +%s%N)
bash scripts/pg/throwaway.sh start "$dir/pg" >/dev/null
uri="postgresql://postgres@/postgres?host=$dir/pg&port=$(cat "$dir/pg/port")"
"$bin" load --db "$uri" --keys "$dir/overblik.key" "$dir/d.ndjson" >/dev/null
t2=$(date +%s%N)
echo "bench/backends: $patients patients ($(wc -l <"$dir/d.ndjson") records) loaded in" \
  "$(((t1 - t0) / 1000000)) ms into SQLite, $(((t2 - t1) / 1000000)) ms into PostgreSQL"
echo "bench/backends: host: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) CPUs"

# the pairs of appointments.sh: a doctor at an org the patient has a relationship with, the
# patient having a shared, booked appointment
sqlite3 -separator ' ' "$db" >"$dir/pairs" <<SQL
with rel as (select json_extract(json,'\$.org') org, json_extract(json,'\$.patient') pat
               from records where type='relationship'),
     pro as (select json_extract(r.json,'\$.id') id, s.value org
               from records r, json_each(json_extract(r.json,'\$.sites')) s
              where r.type='professional' and json_extract(r.json,'\$.role')='doctor'),
     chosen as (select id, org from pro order by random() limit 256),
     apt as (select distinct patient from appointments where shared=1 and status='booked')
select chosen.id, chosen.org, rel.pat from rel join apt on apt.patient=rel.pat
  join chosen on chosen.org=rel.org order by random() limit $npairs;
SQL
cut -d' ' -f1,2 "$dir/pairs" | sort -u | while read -r pro site; do
  echo "$pro $("$bin" token --db "$db" --kind professional --sub "$pro" --site "$site" --ttl 7200)"
done >"$dir/toks"
awk 'NR==FNR{t[$1]=$2; next} {print t[$1], $3}' "$dir/toks" "$dir/pairs" >"$dir/pairs.txt"
cat >"$dir/rotate.lua" <<'LUA'
local reqs, n, i = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local tok, pat = line:match("^(%S+) (%S+)$")
    n = n + 1
    reqs[n] = wrk.format("GET", "/fhir/Appointment?patient=Patient/" .. pat,
                         {["Authorization"] = "Bearer " .. tok, ["X-Purpose-Of-Use"] = "TREAT"})
  end
end
function request()
  i = i % n + 1
  return reqs[i]
end
LUA

run() { # run NAME DB [ARGS...]: one measured run; prints "NAME req/s p50_ms p99_ms"
  local name=$1 where=$2 pid addr res
  shift 2
  "$bin" serve --db "$where" --listen 127.0.0.1:0 "${sthreads[@]}" "$@" >"$dir/out" 2>"$dir/err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do grep -q "listening on" "$dir/out" && break; sleep 0.1; done
  addr=$(grep -o 'http://[0-9.]*:[0-9]*' "$dir/out" | head -1)
  [ -n "$addr" ] || { echo "bench/backends: $name did not start: $(cat "$dir/err")"; exit 1; }
  # a sample must answer 200 (a wrong token or pair would make the run meaningless)
  local tok pat code
  read -r tok pat < <(head -1 "$dir/pairs.txt")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
    -H "X-Purpose-Of-Use: TREAT" "$addr/fhir/Appointment?patient=Patient/$pat")
  [ "$code" = 200 ] || { echo "bench/backends: $name answered $code"; exit 1; }
  wrk -t1 -c"$conns" -d3s -s "$dir/rotate.lua" "$addr/" -- "$dir/pairs.txt" >/dev/null
  res=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$dir/rotate.lua" "$addr/" -- "$dir/pairs.txt")
  kill -TERM "$pid"
  wait "$pid" || true
  grep -q "Non-2xx" <<<"$res" && echo "bench/backends: $name: $(grep Non-2xx <<<"$res")"
  awk -v n="$name" '
    function ms(v,  u) { u = v; sub(/[0-9.]+/, "", u); v += 0
                         return u == "us" ? v / 1000 : u == "s" ? v * 1000 : v }
    /Requests\/sec/ {r = $2}
    /Latency Distribution/ {p = 1; next}
    p && $1 == "50%" {p50 = ms($2)}
    p && $1 == "99%" {p99 = ms($2)}
    END {printf "%s %.0f %.2f %.2f\n", n, r, p50, p99}' <<<"$res"
}

: >"$dir/results"
for r in $(seq 1 "$rounds"); do
  # alternate which goes first, so neither always runs on the warmer machine
  if [ $((r % 2)) -eq 1 ]; then order="sqlite pg"; else order="pg sqlite"; fi
  for b in $order; do
    if [ "$b" = sqlite ]; then
      run sqlite "$db" | tee -a "$dir/results"
    else
      run pg "$uri" --keys "$dir/overblik.key" --jwks "$dir/overblik.jwks.json" | tee -a "$dir/results"
    fi
  done
done
awk '{r[$1] = r[$1] " " $2; p[$1] = p[$1] " " $4}
  function median(s,  a, n, i, j, t) { n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) {t = a[i]; a[i] = a[j]; a[j] = t}
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END {s = median(r["sqlite"]); g = median(r["pg"])
       printf "bench/backends: median requests/s SQLite %.0f, PostgreSQL %.0f: PostgreSQL/SQLite %.2f\n", s, g, g / s
       printf "bench/backends: median p99 ms SQLite %.2f, PostgreSQL %.2f\n", median(p["sqlite"]), median(p["pg"])}' "$dir/results"
