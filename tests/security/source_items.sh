#!/usr/bin/env bash
# Attack: a registered source system writes medication and documents that pass for another
# source's, files them under a unit that is not its own, reaches another source's item by
# its id, smuggles a CPR number in base64 note text, or makes the hub fetch a link
# (docs/security.md T-SRC-1, T-SRC-3, T-SRC-4, T-TXT-3; R-SRC-1, R-CPR-3). A real `overblik serve` over
# generated patients. Before issue 20 none of these resources could be written at all.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl jq sqlite3 base64
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 200 --seed 13 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 200 --seed 13 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4 | tr -d -)
other=$(grep -m1 '"id":"pt-1"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4 | tr -d -)
[ -n "$cpr" ] && [ -n "$other" ] && ok || { bad "two CPR numbers"; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { bad "server started"; cat "$work/err.txt"; exit 1; }
tok() { mint "$db" --ttl 600 "$@"; }
t_hosp=$(tok --kind system --client-id epj-hosp-0 --site hosp-0)
t_gp=$(tok --kind system --client-id gpsys-0 --site gp-0)
med() { # SYSTEM VALUE CPR [EXTRA]
  printf '{"resourceType":"MedicationStatement","identifier":[{"system":"%s","value":"%s"}],"status":"active","medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"C09AA05"}]},"subject":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}},"effectiveDateTime":"2026-01-05T00:00:00Z"%s}' "$1" "$2" "$3" "${4:-}"
}
note() { # SYSTEM VALUE CPR TEXT [ATTACHMENT-EXTRA]
  printf '{"resourceType":"DocumentReference","identifier":[{"system":"%s","value":"%s"}],"status":"current","type":{"coding":[{"system":"http://loinc.org","code":"11506-3"}]},"subject":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}},"date":"2026-11-02T08:30:00Z","content":[{"attachment":{"contentType":"text/plain","data":"%s"%s}}]}' \
    "$1" "$2" "$3" "$(printf '%s' "$4" | base64 -w0)" "${5:-}"
}
send() { # METHOD TOKEN PATH BODY
  curl -s -o "$work/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $(fresh "$2")" \
    -H "Content-Type: application/fhir+json" --data-binary "$4" "$addr/fhir$3"
}
before=$(log_max "$db")
clinic() { printf ',"extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/responsible-clinic","valueReference":{"reference":"Organization/%s"}}]' "$1"; }

eq "the hospital writes a medication for its cardiology unit" \
  "$(send POST "$t_hosp" /MedicationStatement "$(med urn:hosp0:med M-1 "$cpr" "$(clinic hosp-0-kard)")")" 201
id=$(jq -r .id "$work/body")
has "R-SRC-1: the data controller is the unit" "$(cat "$work/body")" '"reference":"Organization/hosp-0-kard"'
# T-SRC-1: identifier systems belong to the source that uses them, items as appointments
eq "T-SRC-1: the GP system cannot write with the hospital's identifier system" \
  "$(send PUT "$t_gp" "/MedicationStatement?identifier=urn:hosp0:med|M-1" "$(med urn:hosp0:med M-1 "$cpr")")" 403
eq "T-SRC-1: ... nor withdraw the hospital's item with it" \
  "$(send PUT "$t_gp" "/MedicationStatement?identifier=urn:hosp0:med|M-1" "$(med urn:hosp0:med M-1 "$cpr" | sed 's/"active"/"entered-in-error"/')")" 403
eq "T-SRC-1: ... nor reach it by its id (no update by id)" \
  "$(send PUT "$t_gp" "/MedicationStatement/$id" "$(med urn:gp0:med M-1 "$cpr")")" 405
eq "T-SRC-1: the GP's own identifier M-1 is its own item" \
  "$(send PUT "$t_gp" "/MedicationStatement?identifier=urn:gp0:med|M-1" "$(med urn:gp0:med M-1 "$other")")" 201
eq "T-SRC-1: the hospital's item is unchanged (its patient, version 1)" \
  "$(dbq "$db" "select version || ':' || source from item_keys where ident_system='urn:hosp0:med'" \
    "select version || ':' || source from store_item_keys where ident_system='urn:hosp0:med'")" 1:epj-hosp-0
eq "T-SRC-1: refusals are logged with the client that tried" \
  "$(log_of "$db" "$before" --actor gpsys-0 | jq -s 'map(select(.decision == "deny" and .rule == "R-SRC-1")) | length')" 2
# T-SRC-3: the responsible unit must be the source's site or below it
eq "T-SRC-3: the hospital cannot file an item under another hospital's unit" \
  "$(send POST "$t_hosp" /MedicationStatement "$(med urn:hosp0:med M-2 "$cpr" "$(clinic hosp-1-med)")")" 400
eq "T-SRC-3: ... nor under a GP clinic" \
  "$(send POST "$t_hosp" /MedicationStatement "$(med urn:hosp0:med M-3 "$cpr" "$(clinic gp-0)")")" 400
# T-TXT-3: a CPR number hidden in base64 note text is still refused and kept nowhere
eq "T-TXT-3: a note whose text names a CPR number is refused" \
  "$(send POST "$t_hosp" /DocumentReference "$(note urn:hosp0:doc N-1 "$cpr" "Pårørende $other ringede")")" 400
hasnt "T-TXT-3: ... without quoting it" "$(cat "$work/body")" "$other"
eq "T-TXT-3: ... and it is nowhere in the database" \
  "$(dbq "$db" "select count(*) from items where json like '%$other%'" \
    "select count(*) from store_items where json like '%$other%'")" 0
# T-SRC-4: the hub fetches nothing a source points at
eq "T-SRC-4: an attachment by URL is refused" \
  "$(send POST "$t_hosp" /DocumentReference "$(note urn:hosp0:doc N-2 "$cpr" "x" ',"url":"http://127.0.0.1:1/secret"')")" 400
eq "a plain synthetic note goes in" \
  "$(send POST "$t_hosp" /DocumentReference "$(note urn:hosp0:doc N-3 "$cpr" "Syntetisk notat.")")" 201
# the patient reads both, each with its source's identifier; another patient's token sees none
t_pat=$(tok --kind citizen --cpr "$cpr")
curl -s -H "Authorization: Bearer $t_pat" "$addr/fhir/MedicationStatement?patient=Patient/pt-0" >"$work/b"
eq "the patient sees the hospital's medication" "$(jq -r '.total' "$work/b")" 1
has "R-SRC-1: with its identifier (round trip)" "$(cat "$work/b")" '"value":"M-1"'
hasnt "R-CPR-2: no CPR number in what the patient reads" "$(cat "$work/b")" "$cpr"
hasnt "no CPR number in the server's log" "$(cat "$work/err.txt" "$work/out.txt")" "$other"
the_end
