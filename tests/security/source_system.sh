#!/usr/bin/env bash
# Attack: a registered source system probes for CPR numbers, or writes appointments that
# pass for another source's (docs/security.md T-ORC-2, T-SRC-1; R-APT-1, R-LOG-1, R-SRC-1).
# A real `overblik serve` over 400 generated patients and its source systems. At 6e667cd an
# unknown CPR answered 400 "unknown patient" without a log entry or a count, and any source
# could create appointments with another source's identifier system.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl jq sqlite3
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 400 --seed 13 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 400 --seed 13 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4 | tr -d -)
# valid CPR numbers (a real date, a fitting century digit) that no generated patient has
unknown=()
for d in 0101 0202 0303 0404 0505 0606; do
  c="${d}011234"
  grep -q "\"cpr\":\"${c:0:6}-${c:6}\"" "$work/d.ndjson" || unknown+=("$c")
done
[ -n "$cpr" ] && [ "${#unknown[@]}" -ge 5 ] && ok || { bad "a known CPR and five unknown ones"; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --metrics-clients monitor
[ -n "$addr" ] || { bad "server started"; cat "$work/err.txt"; exit 1; }
tok() { mint "$db" --ttl 600 "$@"; } # fresh TOKEN: a twin for each write (one write per token)
t_hosp=$(tok --kind system --client-id epj-hosp-0 --site hosp-0)
t_gp=$(tok --kind system --client-id gpsys-0 --site gp-0)
t_mon=$(tok --kind system --client-id monitor)
apt() { # SYSTEM VALUE CPR
  printf '{"resourceType":"Appointment","identifier":[{"system":"%s","value":"%s"}],"status":"booked","start":"2027-01-10T09:00:00Z","participant":[{"actor":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}},"status":"accepted"}]}' "$1" "$2" "$3"
}
post() { # TOKEN BODY
  curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $(fresh "$1")" \
    -H "Content-Type: application/fhir+json" --data-binary "$2" "$addr/fhir/Appointment"
}
before=$(log_max "$db")

# T-SRC-1: identifier systems belong to the source that uses them
eq "the hospital creates an appointment with its system" "$(post "$t_hosp" "$(apt urn:hosp0:booking H-1 "$cpr")")" 201
eq "T-SRC-1: the GP system cannot use the hospital's identifier system" \
  "$(post "$t_gp" "$(apt urn:hosp0:booking H-1 "$cpr")")" 403
eq "T-SRC-1: ... nor update through it" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
  -H "Authorization: Bearer $(fresh "$t_gp")" -H "Content-Type: application/fhir+json" \
  --data-binary "$(apt urn:hosp0:booking H-1 "$cpr")" "$addr/fhir/Appointment?identifier=urn:hosp0:booking|H-1")" 403
eq "T-SRC-1: ... nor a system the generator gave the hospital" \
  "$(post "$t_gp" "$(apt urn:overblik:gen:epj-hosp-0 X-1 "$cpr")")" 403
eq "T-SRC-1: the GP system's own system is fine" "$(post "$t_gp" "$(apt urn:gp0:booking G-1 "$cpr")")" 201
eq "T-SRC-1: one appointment has the hospital's system, and it is the hospital's" \
  "$(dbq "$db" "select group_concat(source) from appointments where ident_system='urn:hosp0:booking'" \
    "select string_agg(source, ',') from store_appointments where ident_system='urn:hosp0:booking'")" epj-hosp-0
eq "T-SRC-1: the refusals are logged with the client that tried" \
  "$(log_of "$db" "$before" --actor gpsys-0 | jq -s 'map(select(.decision == "deny" and .rule == "R-APT-1")) | length')" 3

# T-ORC-2: probing for CPR numbers is logged and counted per source
i=0
for c in "${unknown[@]}"; do
  i=$((i + 1))
  eq "T-ORC-2: an unknown CPR number is refused" "$(post "$t_gp" "$(apt urn:gp0:booking "P-$i" "$c")")" 400
  hasnt "T-ORC-2: ... without quoting it" "$(cat "$work/body")" "$c"
done
n=${#unknown[@]}
eq "T-ORC-2: every probe is logged as a refused write by that client" \
  "$(log_of "$db" "$before" --actor gpsys-0 | jq -s 'map(select(.decision == "deny" and .rule == "R-APT-2")) | length')" "$n"
m=$(curl -s -H "Authorization: Bearer $t_mon" "$addr/metrics")
has "T-ORC-2: /metrics counts the probes per client" "$m" "overblik_source_unknown_patient_total{client=\"gpsys-0\"} $n"
hasnt "T-ORC-2: no CPR number in the server's log" "$(cat "$work/err.txt")" "${unknown[0]}"
hasnt "T-ORC-2: no CPR number in the access log entries" \
  "$(log_of "$db" "$before" --actor gpsys-0; log_of "$db" "$before" --actor epj-hosp-0)" "${unknown[0]}"

the_end
