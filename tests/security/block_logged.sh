#!/usr/bin/env bash
# Attack (T-RULE-10; R-LOG-1, R-BLK-4): a professional reads around the patient's block and
# the patient cannot tell. The GP asks for the whole overview (Patient/$overview) or searches
# every type at once: the block withholds a hospital unit's items and the answer carries
# only the marker, but the log used to hold one permit for the look-up, so the patient's
# log showed no attempt on what the block protects. Now each category the block withheld is
# a denial in the patient's log (with what it withheld), written with the permit; the GP's
# answer is unchanged (the marker, nothing of the unit). Fails on 69b6731 (no denial).
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
# a patient with items from their GP clinic and from one hospital unit
read -r pid unit < <(jq -r 'select(.type=="item") | [.patient, .origin] | @tsv' "$nd" | sort -u |
  awk '{o[$1] = o[$1] " " $2} END {for (p in o) print p, o[p]}' | sort |
  awk '/ gp-/ && / hosp-/ {for (i = 2; i <= NF; i++) if ($i ~ /^hosp-/) {print $1, $i; exit}}')
[ -n "$pid" ] || { echo "no patient with GP and hospital items in the generated data"; exit 1; }
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp)
held=$(jq -r --arg p "$pid" --arg u "$unit" 'select(.type=="item" and .patient==$p and .origin==$u) | .id' "$nd")
rules_serve
cit=$(tok --kind citizen --cpr "$cpr")
dr0=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
block() { printf '{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/%s"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"%s"}}]}}' "$pid" "$1"; }
req "$cit" POST /fhir/Consent "$(block "Organization/$unit")"
eq "the patient blocks $unit" "$code" 201
denials() { req "$cit" GET "/fhir/AuditEvent?_count=200"; jq -r '.entry[].resource | select(.outcome != "0") | [.entity[]?.what.reference] | join(" ")' <<<"$body"; }
before=$(denials)
req "$dr0" POST '/fhir/Patient/$overview' '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/'"$pid"'"}}]}'
eq "the GP's overview answers" "$code" 200
ov=$body
has "... with the block marker" "$ov" "withheld by the patient's block"
for id in $held; do hasnt "... and nothing of $unit ($id)" "$ov" "$id"; done
after=$(denials)
for id in $held; do
  has "the patient's log shows the withheld $id as a denial" "$after" "$id"
  hasnt "... which was not there before" "$before" "$id"
done
the_end
