#!/usr/bin/env bash
# Attack: the database's files are removed or replaced under a running server
# (T-LOG-OPS-2; R-LOG-1; issue 23). An operator's `mv`, a restore copied over the live
# file, an `rm` of the -wal: the server's open descriptors still point at the old files,
# so it would go on answering reads whose log entries land where no restart finds them.
# For each of the three: a search answers 200 before; afterwards every search answers 503
# and changes nothing visible, /healthz answers 503 saying which file moved, and stderr
# says so too, once, without any request (the server looks every 5 s). And `init --force`,
# which would remove the files, is refused while the server runs.
# Bounded: about 15 s. Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need jq curl
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# scenario NAME WAIT_FOR_WATCH HOW WANT: a fresh database and server, then HOW (a shell
# command run with $db set) under it; WANT is what /healthz must say
scenario() {
  local name=$1 watch=$2 how=$3 want=$4 dir="$work/$1" c body i
  mkdir -p "$dir"
  db="$dir/d.db"
  "$bin" init --db "$db" >/dev/null || { bad "$name: init failed"; return; }
  "$bin" gen --db "$db" --patients 20 --seed 2 >/dev/null 2>&1 || { bad "$name: gen failed"; return; }
  "$bin" gen --out "$dir/d.ndjson" --patients 20 --seed 2 >/dev/null 2>&1
  local gp; gp=$(grep -m1 '"id":"pt-0"' "$dir/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
  local tok; tok=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp" --ttl 600)
  serve_bg srv addr "$dir/out.txt" "$dir/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
  [ -n "$addr" ] || { bad "$name: server did not start"; cat "$dir/err.txt"; return; }
  search() { curl -s -o "$dir/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
               "$addr/fhir/Appointment?patient=Patient/pt-0"; }
  eq "$name: a search before answers 200" "$(search)" 200
  eq "$name: /healthz before answers 200" "$(curl -s -o /dev/null -w '%{http_code}' "$addr/healthz")" 200
  if [ "$name" = moved ]; then # init --force would remove the files: refused while serving
    "$bin" init --db "$db" --force >/dev/null 2>&1
    eq "$name: init --force under the server is refused" "$?" 3
    eq "$name: and the server still answers" "$(search)" 200
  fi
  eval "$how"
  if [ "$watch" = 1 ]; then # told without a request
    for i in $(seq 1 70); do grep -q "$want" "$dir/err.txt" && break; sleep 0.1; done
    has "$name: stderr says why, without a request" "$(cat "$dir/err.txt")" "$want"
  fi
  for i in 1 2 3; do
    c=$(search)
    eq "$name: search $i after answers 503" "$c" 503
    hasnt "$name: search $i after reveals no appointment" "$(cat "$dir/body")" '"Appointment"'
  done
  body=$(curl -s -w '\n%{http_code}' "$addr/healthz")
  eq "$name: /healthz after answers 503" "$(tail -1 <<<"$body")" 503
  has "$name: /healthz says why" "$body" "$want"
  has "$name: stderr says why" "$(cat "$dir/err.txt")" "$want"
  eq "$name: stderr says it once" "$(grep -c "$want" "$dir/err.txt" | head -1)" \
     "$(grep -c "answered 503" "$dir/err.txt" | awk '{print $1 + 1}')"
  kill -TERM "$srv"; wait "$srv" 2>/dev/null; srv=""
}

scenario moved 1 'mv "$db" "$db.away"' "the database is gone"
scenario replaced 0 'cp "$db" "$db.copy" && mv "$db.copy" "$db"' "the database was replaced by another file"
scenario walgone 0 'rm "$db-wal"' "its WAL is gone"
the_end
