# pg_lib.bash - two `overblik serve` on one throwaway PostgreSQL 15 (issue 18), for the
# scripts that test several servers (tests/e2e/pg_servers.sh, tests/security/pg_*.sh).
# Sourced after lib.bash; needs $bin. pg_two_servers sets: work, uri, ci, nd (the generated
# data, loaded), addr_a/addr_b and pid_a/pid_b, and pids (killed at exit); sql runs SQL;
# start NAME starts another server. The keys and token keys come from a scratch SQLite
# installation ($work/k.*), kept empty as $work/k0/ (copy it for a SQLite server with the same
# keys). PG_GEN_PATIENTS and PG_GEN_SEED choose the data (300 patients, seed 7);
# PG_SERVE_ARGS, more arguments for every server.
# pg_block sets pid and cpr (the first patient), org (a hospital) and block (a Consent that
# blocks that hospital, for the patient to POST).
need psql jq curl
pg_two_servers() {
  root=$(cd "$(dirname "$0")/../.." && pwd)
  work=$(mktemp -d /tmp/obpgsrv.XXXXXX); chmod 755 "$work"
  pids=()
  cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    bash "$root/scripts/pg/throwaway.sh" stop "$work/pg"
    rm -rf "$work"
  }
  trap cleanup EXIT
  bash "$root/scripts/pg/throwaway.sh" start "$work/pg" >/dev/null || { echo "no PostgreSQL"; exit 1; }
  uri="postgresql://postgres@/postgres?host=$work/pg&port=$(cat "$work/pg/port")"
  ci="host=$work/pg port=$(cat "$work/pg/port") user=postgres dbname=postgres"
  sql() { psql -X -q -t -A "$ci" -c "$1"; }

  # keys and development token keys from a scratch SQLite installation; the data into PostgreSQL
  "$bin" init --db "$work/k.db" >/dev/null || { echo "init failed"; exit 1; }
  mkdir "$work/k0" && cp "$work"/k.* "$work/k0/"
  nd=$work/d.ndjson
  "$bin" gen --out "$nd" --patients "${PG_GEN_PATIENTS:-300}" --seed "${PG_GEN_SEED:-7}" >/dev/null 2>&1
  out=$("$bin" load --db "$uri" --keys "$work/k.key" "$nd" 2>&1)
  eq "overblik load into PostgreSQL" "$?" 0
  hasnt "... never prints the URI" "$out" "$work/pg"
  eq "... every record stored" "$(sql 'SELECT count(*) FROM store_records')" \
    "$(jq -c 'select(.type != "item" and .type != "appointment")' "$nd" | wc -l)"

  start() { # start NAME: a server on PostgreSQL, its pid and address in pid_NAME, addr_NAME
    local p a
    serve_bg p a "$work/$1.out" "$work/$1.err" --db "$uri" --keys "$work/k.key" \
      --jwks "$work/k.jwks.json" --listen 127.0.0.1:0 --threads 2 --server-id "$1" ${PG_SERVE_ARGS:-}
    pids+=("$p")
    printf -v "pid_$1" %s "$p"
    printf -v "addr_$1" %s "$a"
  }
  start a
  start b
  [ -n "$addr_a" ] && [ -n "$addr_b" ] && ok || { bad "the servers did not start"; cat "$work"/*.err; exit 1; }
  hasnt "the server's output never holds the URI" "$(cat "$work/a.out" "$work/a.err")" "$work/pg"
}
pg_block() {
  pid=$(jq -r 'select(.type=="patient") | .id' "$nd" | head -1)
  cpr=$(jq -r --arg p "$pid" 'select(.type=="patient" and .id==$p) | .cpr' "$nd")
  org=$(jq -r 'select(.type=="org") | .id' "$nd" | grep '^hosp-' | head -1)
  block=$(jq -cn --arg p "Patient/$pid" --arg u "Organization/$org" '
    {resourceType: "Consent", status: "active",
     scope: {coding: [{system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy"}]},
     category: [{coding: [{system: "http://loinc.org", code: "59284-0"}]}],
     patient: {reference: $p},
     provision: {type: "deny", actor: [{role: {coding: [{system:
       "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP"}]},
       reference: {reference: $u}}]}}')
}
