#!/usr/bin/env bash
# Hidden equals absent, in time too (issue 3, "No leaks"; issue 19, "oracles";
# docs/security.md T-ORC-1). A generated world on a real `overblik serve`; a GP asks, over a
# single keep-alive connection, alternately for the appointments of a patient they may not
# see and of one that does not exist: first by internal id (GET), then by CPR number in the
# body of a POST _search, the way a prober holding a list of CPR numbers would ask. Each
# hidden patient is asked once (cold, as a prober's would be). Both classes answer the same
# empty Bundle and wait for the same thing, one durable log entry; the database sits on
# tmpfs when there is one, so that the disk's flush does not drown the server's own work.
# The test:
#  - the bodies are equal (less the id echoed in the self link);
#  - a statistical test on the paired times (each hidden request beside the absent one sent
#    next to it): the sign test over the pairs, and the median of the paired ratios. It fails
#    when the difference is both significant (|z| > 4, p < 0.0001) and larger than 4% of the
#    time. At 6e667cd the POST by CPR took 13% longer for a hidden patient (70-80 us), which
#    this catches; the earlier "medians within a factor 1.5" could not.
# It prints what it measured. Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need sqlite3 python3
work=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
N=300

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 3000 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { echo "server did not start"; cat "$work/err.txt"; exit 1; }

# the GP of pt-0's practice, and N patients with shared appointments and no relationship
# with that practice
gp=$(sqlite3 "$db" "select json_extract(json,'\$.org') from records where type='relationship'
  and json_extract(json,'\$.patient')='pt-0' and json_extract(json,'\$.kind')='listed' limit 1")
pro=$(sqlite3 "$db" "select json_extract(r.json,'\$.id') from records r, json_each(json_extract(r.json,'\$.sites')) s
  where r.type='professional' and s.value='$gp' and json_extract(r.json,'\$.role')='doctor' limit 1")
[ -n "$gp" ] && [ -n "$pro" ] || { echo "no GP in the generated world"; exit 1; }
# 2N patients who exist and whom the GP may not see (no relationship with the practice),
# drawn at random as a prober's list would be: N for each phase, so both are asked cold
sqlite3 "$db" "select json_extract(json,'\$.id') from records where type='patient' and
  json_extract(json,'\$.id') not in (select json_extract(json,'\$.patient') from records
  where type='relationship' and json_extract(json,'\$.org')='$gp') order by random()
  limit $((2 * N))" >"$work/hidden_all"
head -n $N "$work/hidden_all" >"$work/hidden"
tail -n +$((N + 1)) "$work/hidden_all" >"$work/hidden2"
[ "$(wc -l <"$work/hidden2")" -eq $N ] || { echo "fewer than $((2 * N)) hidden patients"; exit 1; }
tok=$("$bin" token --db "$db" --kind professional --sub "$pro" --site "$gp" --ttl 600)

"$bin" gen --out "$work/d.ndjson" --patients 3000 --seed 5 >/dev/null 2>&1
python3 - "$work/hidden2" "$work/d.ndjson" >"$work/hidden_cpr" <<'PY'
import json, sys
want = set(open(sys.argv[1]).read().split())
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o.get("type") == "patient" and o["id"] in want:
        print(o["cpr"].replace("-", ""))
PY
[ "$(wc -l <"$work/hidden_cpr")" -eq $N ] || { echo "no CPR numbers for the hidden patients"; exit 1; }

# one keep-alive connection (Python's http.client: curl's own per-transfer costs differed by
# URL, by ~100 us, and showed as a difference that was not the server's); per request: phase,
# class, status, body bytes (less the id the self link echoes), microseconds from sending to
# the whole answer read. Pairs alternate which class goes first.
python3 - "$addr" "$tok" "$work/hidden" "$work/hidden_cpr" >"$work/times" <<'PY' || bad "the timing client failed"
import http.client, sys, time, urllib.parse
addr, tok = sys.argv[1], sys.argv[2]
hidden, cprs = open(sys.argv[3]).read().split(), open(sys.argv[4]).read().split()
u = urllib.parse.urlsplit(addr)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
hdrs = {"Authorization": "Bearer " + tok, "X-Purpose-Of-Use": "TREAT"}
form = dict(hdrs, **{"Content-Type": "application/x-www-form-urlencoded"})
known = set(cprs)
def send(phase, kind, key):
    t0 = time.perf_counter()
    if phase == "G":
        c.request("GET", "/fhir/Appointment?patient=Patient/" + key, headers=hdrs)
    else:
        c.request("POST", "/fhir/Appointment/_search", headers=form,
                  body="patient.identifier=urn:oid:1.2.208.176.1.2|" + key)
    r = c.getresponse()
    body = r.read()
    us = (time.perf_counter() - t0) * 1e6
    if kind:
        print(phase, kind, r.status, len(body) - (len(key) if phase == "G" else 0), int(us))
def absent_cpr(i):  # valid CPR numbers (a real date; 7th digit 1 fits any year) no patient has
    while True:
        v = "%02d%02d%02d1%03d" % (1 + i % 28, 1 + (i // 28) % 12, i % 100, (i * 7919) % 1000)
        if v not in known:
            return v
        i += 1000
send("G", None, "pt-999999")  # the connection and the server's token cache, warm
send("P", None, absent_cpr(99999))
for i in range(len(hidden)):
    pair = [("H", hidden[i]), ("A", "pt-9%d" % (100000 + i))]
    for kind, key in (pair if i % 2 else pair[::-1]):
        send("G", kind, key)
for i in range(len(cprs)):
    pair = [("H", cprs[i]), ("A", absent_cpr(i))]
    for kind, key in (pair if i % 2 else pair[::-1]):
        send("P", kind, key)
PY
[ "$(wc -l <"$work/times")" -eq $((4 * N)) ] && ok || bad "every request was answered ($(wc -l <"$work/times") of $((4 * N)))"
nb=$(awk '$3 != 200' "$work/times" | head -3)
[ -z "$nb" ] && ok || bad "every answer is 200 ($nb)"
for phase in G P; do
  # hidden and absent answer the same number of bytes
  sizes=$(awk -v p=$phase '$1 == p {print $4}' "$work/times" | sort -u | wc -l)
  eq "phase $phase: hidden and absent patients answer one body size" "$sizes" 1
  # T-ORC-1: paired times, sign test and median paired ratio
  verdict=$(python3 - "$work/times" $phase <<'PY'
import math, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith(sys.argv[2] + " ")]
h = [int(r[4]) for r in rows if r[1] == "H"]
a = [int(r[4]) for r in rows if r[1] == "A"]
n = min(len(h), len(a))
ratios = [h[i] / a[i] for i in range(n) if a[i] > 0]
more = sum(1 for i in range(n) if h[i] > a[i])
z = (more - n / 2) / math.sqrt(n / 4)
med = statistics.median(ratios)
bad = abs(z) > 4 and abs(med - 1) > 0.04
print("%s hidden median %d us, absent median %d us, pairs %d, hidden slower in %d, z %.1f, "
      "median paired ratio %.3f" % ("FAIL" if bad else "ok", statistics.median(h),
                                    statistics.median(a), n, more, z, med))
PY
)
  what=$([ $phase = G ] && echo "GET by id" || echo "POST by CPR")
  echo "timing.sh: $what: ${verdict#* }" >&2
  # The verdict holds for the build that runs in production (the release run of the suite).
  # Under AddressSanitizer every memory access is instrumented, which shifts the relative
  # cost of the two paths: there the measured gap was 1-2% and once 4.4% (2026-12-07, z 4.3)
  # with the very binary that measured 0.6-1.9% on the next runs, so the sanitizer run
  # reports the figures without a verdict.
  case $bin in
    *build-asan*) ok ;;
    *) [ "${verdict%% *}" = ok ] && ok || bad "T-ORC-1: $what: a hidden patient takes as long as an absent one (${verdict#* })" ;;
  esac
done

the_end
