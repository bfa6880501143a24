#!/usr/bin/env bash
# A full disk over the wire (R-LOG-1, "fail closed"): the database on a small tmpfs, a real
# `overblik serve`, then the filesystem filled to the last byte while the server runs.
# While it is full:
# - every request that would reveal or change data answers 503 "transient" with
#   Retry-After, and the answer is byte for byte the same for an existing, a hidden and an
#   absent record (a failing log must not tell which records exist);
# - an appointment create and a citizen's block are refused and are not stored;
# - /metrics counts the failed appends; stderr names the failure and holds no CPR number;
#   /healthz still answers 200 (docs/decisions.md says why).
# After the space is freed, with no restart:
# - the same requests answer 200/201, the refused create and block go through when sent
#   again, the log holds exactly one entry per answered read and none for refused ones;
# - SIGTERM stops the server cleanly and `overblik log verify` passes, index included.
# Last, the filesystem remounted read-only: serve refuses to start, naming the file, and
# `log verify` and `log show` still work on a backup there (read-only backup media).
# Needs root (it mounts a tmpfs); prints "skipped" and exits 0 without it.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq sqlite3
work=$(mktemp -d)
mnt="$work/disk"
mkdir -p "$mnt"
srv=""
cleanup() {
  [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
  wait 2>/dev/null
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=16m tmpfs "$mnt" 2>/dev/null; then
  echo "diskfull.sh: skipped (needs root to mount a tmpfs)"
  exit 0
fi

db="$mnt/f.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 300 --seed 3 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/f.ndjson" --patients 300 --seed 3 >/dev/null 2>&1
field() { grep -m1 "\"id\":\"$1\"" "$work/f.ndjson" | grep -o "\"$2\":\"[^\"]*\"" | cut -d'"' -f4; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --metrics-clients epj-hosp-0
[ -n "$addr" ] || { echo "server did not start"; cat "$work/err.txt"; exit 1; }

gp=$(field pt-0 gp)
cpr=$(field pt-0 cpr); cpr=${cpr/-/}
pro=$(mint "$db" --kind professional --sub "$gp-dr0" --site "$gp" --ttl 600)
cit=$(mint "$db" --kind citizen --cpr "$cpr" --ttl 600)
sys=$(mint "$db" --kind system --client-id epj-hosp-0 --site hosp-0 --ttl 600)
# a patient of another practice, whose appointments this GP may not see
other=$(sqlite3 "$db" "select patient from appointments where shared=1 and patient<>'pt-0'
  and patient not in (select json_extract(json,'\$.patient') from records where type='relationship'
  and json_extract(json,'\$.org')='$gp') limit 1")
own_apt=$(sqlite3 "$db" "select id from appointments where patient='pt-0' and shared=1 limit 1")
hid_apt=$(sqlite3 "$db" "select id from appointments where patient='$other' limit 1")
[ -n "$other" ] && [ -n "$own_apt" ] && [ -n "$hid_apt" ] || { echo "no test data"; exit 1; }

# req NAME TOKEN [curl args...]: status into $work/NAME.code, headers and body beside it
req() {
  local name=$1 tok=$2; shift 2
  [[ " $* " == *" -X POST "* ]] && tok=$(fresh "$tok") # one write per token
  curl -s -D "$work/$name.hdr" -o "$work/$name.body" -w '%{http_code}' \
       -H "Authorization: Bearer $tok" "$@" >"$work/$name.code"
}
code() { cat "$work/$1.code"; }
entries() { sqlite3 "$db" "select count(*) from log_entries where actor_id='$1' and patient='$2'"; }
apt_body() {
  echo "{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":\"urn:full\",\"value\":\"F-1\"}],\"status\":\"booked\",\"start\":\"2026-12-02T09:00:00Z\",\"participant\":[{\"actor\":{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"$cpr\"}},\"status\":\"accepted\"}]}"
}
block_body() {
  echo "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/consentscope\",\"code\":\"patient-privacy\"}]},\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"59284-0\"}]}],\"patient\":{\"reference\":\"Patient/pt-0\"},\"provision\":{\"type\":\"deny\",\"actor\":[{\"role\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ParticipationType\",\"code\":\"IRCP\"}]},\"reference\":{\"reference\":\"Organization/hosp-1-med\"}}]}}"
}
J=(-H "Content-Type: application/fhir+json")

req before "$pro" "$addr/fhir/Appointment?patient=Patient/pt-0"
eq "before: the GP's search answers 200" "$(code before)" 200
[ "$(jq '.total' "$work/before.body")" -ge 1 ] && ok || bad "before: the GP sees pt-0's appointments"
gp_before=$(entries "$gp-dr0" pt-0)
req m0 "$sys" "$addr/metrics"
free0=$(awk '$1 == "overblik_disk_free_bytes" {print $2}' "$work/m0.body")
[ "${free0:-0}" -gt 1000000 ] && [ "$free0" -le 16777216 ] && ok \
  || bad "before: /metrics shows the tmpfs's free space (got '$free0')"

# Fill the filesystem to the last byte while the server runs.
dd if=/dev/zero of="$mnt/filler" bs=64k >/dev/null 2>&1
# The WAL may still have room for a commit or two: the first refused answer marks the start.
for _ in $(seq 1 200); do
  req probe "$pro" "$addr/fhir/Appointment?patient=Patient/pt-0"
  [ "$(code probe)" = 503 ] && break
done
eq "full: a search is refused" "$(code probe)" 503
full_base=$(entries "$gp-dr0" pt-0)

req s_own "$pro" "$addr/fhir/Appointment?patient=Patient/pt-0"
req s_hidden "$pro" "$addr/fhir/Appointment?patient=Patient/$other"
req s_absent "$pro" "$addr/fhir/Appointment?patient=Patient/pt-999999"
req r_own "$pro" "$addr/fhir/Appointment/$own_apt"
req r_hidden "$pro" "$addr/fhir/Appointment/$hid_apt"
req r_absent "$pro" "$addr/fhir/Appointment/apt-999999"
req audit "$cit" "$addr/fhir/AuditEvent"
req create "$sys" "${J[@]}" -X POST --data-binary "$(apt_body)" "$addr/fhir/Appointment"
req block "$cit" "${J[@]}" -X POST --data-binary "$(block_body)" "$addr/fhir/Consent"
for n in s_own s_hidden s_absent r_own r_hidden r_absent audit create block; do
  eq "full: $n answers 503" "$(code $n)" 503
  grep -qi '^Retry-After: 5' "$work/$n.hdr" && ok || bad "full: $n has Retry-After"
  grep -qi '^Content-Type: application/fhir+json' "$work/$n.hdr" && ok || bad "full: $n is FHIR JSON"
  eq "full: $n is a transient OperationOutcome" \
     "$(jq -r '.resourceType + " " + .issue[0].code' "$work/$n.body")" "OperationOutcome transient"
done
# reads answer alike whatever exists; a refused write says what was not stored
for n in s_hidden s_absent r_own r_hidden r_absent audit; do
  cmp -s "$work/s_own.body" "$work/$n.body" && ok || bad "full: $n's body differs from s_own's"
done
grep -q "the appointment could not be stored" "$work/create.body" && ok || bad "full: create says what failed"
grep -q "$cpr" "$work/create.body" && bad "full: the refused create echoes the CPR number" || ok
eq "full: no entry for the refused reads" "$(entries "$gp-dr0" pt-0)" "$full_base"
eq "full: /healthz still answers 200 (the process is up)" \
   "$(curl -s -o /dev/null -w '%{http_code}' "$addr/healthz")" 200
req metrics "$sys" "$addr/metrics"
eq "full: /metrics answers" "$(code metrics)" 200
fails=$(grep '^overblik_log_append_failures_total' "$work/metrics.body" | awk '{s+=$2} END {print s+0}')
[ "$fails" -ge 9 ] && ok || bad "full: /metrics counts the failed appends (got $fails)"
eq "full: /metrics shows no disk space left" \
   "$(awk '$1 == "overblik_disk_free_bytes" {print $2}' "$work/metrics.body")" 0
grep -q "answered 503, the access log failed" "$work/err.txt" && ok || bad "full: stderr names the failure"
grep -q "$cpr" "$work/err.txt" && bad "full: stderr holds the CPR number" || ok

# Free the space; no restart.
rm -f "$mnt/filler"
req after "$pro" "$addr/fhir/Appointment?patient=Patient/pt-0"
eq "freed: the GP's search answers 200 again" "$(code after)" 200
cmp -s <(jq -S '.entry' "$work/before.body") <(jq -S '.entry' "$work/after.body") \
  && ok || bad "freed: the search shows what it showed before"
req create2 "$sys" "${J[@]}" -X POST --data-binary "$(apt_body)" "$addr/fhir/Appointment"
eq "freed: the refused create, sent again, answers 201" "$(code create2)" 201
eq "freed: the create is stored once" \
   "$(sqlite3 "$db" "select count(*) from appointments where ident_system='urn:full'")" 1
req block2 "$cit" "${J[@]}" -X POST --data-binary "$(block_body)" "$addr/fhir/Consent"
eq "freed: the refused block, sent again, answers 201" "$(code block2)" 201
req consents "$cit" "$addr/fhir/Consent"
eq "freed: the patient has exactly that one block" \
   "$(jq '[.entry[]?.resource | select(.provision.type == "deny")] | length' "$work/consents.body")" 1
# the GP's answered searches about pt-0: before, the ones that fitted before the disk
# filled (probe loop), and after; each has its entry, the refused ones none
acked=$(( full_base - gp_before + 1 ))
eq "the log has one entry per answered search, none for refused ones" \
   "$(( $(entries "$gp-dr0" pt-0) - gp_before ))" "$acked"

kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
eq "SIGTERM after the full disk: exit 0" "$rc" 0
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after the full disk" "$rc" 0
[ $rc -eq 0 ] || echo "$out" | tail -3
echo "$out" | grep -q "search index complete" && ok || bad "the search index caught up ($out)"

# A read-only filesystem at start: refused with the file and what it needs, nothing started.
# Beside it, a backup made as docs/operations.md says (`overblik backup`, the key file
# copied), then the file system made read-only, as on read-only backup media.
"$bin" backup --db "$db" --out "$mnt/backup.db" >/dev/null; eq "overblik backup beside it" "$?" 0
cp "$mnt/f.cpr-key" "$mnt/backup.cpr-key"; cp "$mnt/f.log-key" "$mnt/backup.log-key"
mount -o remount,ro "$mnt"
out=$(timeout 10 "$bin" serve --db "$db" --listen 127.0.0.1:0 2>&1); rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok || bad "read-only: serve refuses to start (rc=$rc)"
grep -qF "cannot open database $db for writing" <<<"$out" && ok || bad "read-only: names the file ($out)"
grep -q "must be writable" <<<"$out" && ok || bad "read-only: says what it needs ($out)"
out=$("$bin" log verify --db "$mnt/backup.db" 2>&1); rc=$?
eq "read-only backup: log verify passes" "$rc" 0
grep -q "^log verified" <<<"$out" && ok || bad "read-only backup: log verify says so ($out)"
out=$("$bin" log show --db "$mnt/backup.db" --patient pt-0 2>&1); rc=$?
eq "read-only backup: log show works" "$rc" 0
[ "$(grep -c " decision .* appointment " <<<"$out")" -ge 2 ] && ok \
  || bad "read-only backup: log show lists the GP's searches ($out)"

the_end
