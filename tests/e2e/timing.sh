#!/usr/bin/env bash
# Hidden equals absent, in time too (issue 3, "No leaks": status, body and timing class).
# A generated world on a real `overblik serve`; a GP searches, over one keep-alive
# connection, alternately the appointments of patients they may not see (each patient
# once, so each search reads that patient's rows cold, as a prober's would) and patients
# that do not exist. Both answer the same empty Bundle, and both wait for the same thing:
# one durable log entry. The test checks the bodies are equal and that the median time to
# the whole answer of the one class is within a factor 1.5 of the other's; a path that
# skipped the log's commit, or did much more work for a hidden patient, is several times
# apart. It prints the medians and 90th percentiles it measured.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need sqlite3 python3
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
N=200

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
sqlite3 "$db" "select distinct patient from appointments where shared=1 and patient not in
  (select json_extract(json,'\$.patient') from records where type='relationship'
   and json_extract(json,'\$.org')='$gp') order by random() limit $N" >"$work/hidden"
[ "$(wc -l <"$work/hidden")" -eq $N ] || { echo "fewer than $N hidden patients"; exit 1; }
tok=$("$bin" token --db "$db" --kind professional --sub "$pro" --site "$gp" --ttl 600)

# one keep-alive connection (Python's http.client: curl's own per-transfer costs differed by
# URL, by ~100 us, and showed as a difference that was not the server's), requests
# alternating hidden / absent; per request: class, status, body bytes, microseconds from
# sending to the whole answer read
python3 - "$addr" "$tok" "$work/hidden" >"$work/times" <<'PY' || bad "the timing client failed"
import http.client, sys, time, urllib.parse
addr, tok, hidden = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlsplit(addr)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
hdrs = {"Authorization": "Bearer " + tok, "X-Purpose-Of-Use": "TREAT"}
def get(kind, patient):
    t0 = time.perf_counter()
    c.request("GET", "/fhir/Appointment?patient=Patient/" + patient, headers=hdrs)
    r = c.getresponse()
    body = r.read()
    us = (time.perf_counter() - t0) * 1e6
    if kind:  # the size less the id asked for, which the self link echoes
        print(kind, r.status, len(body) - len(patient), int(us))
get(None, "pt-999999")  # the connection and the server's token cache, warm
for i, line in enumerate(open(hidden)):
    get("H", line.strip())
    get("A", "pt-9%d" % (100000 + i))
PY
[ "$(wc -l <"$work/times")" -eq $((2 * N)) ] && ok || bad "every request was answered ($(wc -l <"$work/times") of $((2 * N)))"
nb=$(awk '$2 != 200' "$work/times" | head -3)
[ -z "$nb" ] && ok || bad "every answer is 200 ($nb)"
# hidden and absent answer the same number of bytes
awk '$1 == "A" {print $3}' "$work/times" | sort -u >"$work/absent_sizes"
[ "$(wc -l <"$work/absent_sizes")" -eq 1 ] && ok || bad "absent patients answer one body size"
same=$(awk -v s="$(cat "$work/absent_sizes")" '$1 == "H" && $3 == s' "$work/times" | wc -l)
[ "$same" -ge $((N * 9 / 10)) ] && ok || bad "hidden patients answer like absent ones ($same of $N)"

awk -v s="$(cat "$work/absent_sizes")" '$1 == "H" && $3 == s {print $4}' "$work/times" | sort -g >"$work/h"
awk '$1 == "A" {print $4}' "$work/times" | sort -g >"$work/a"
q() { awk -v f="$2" '{v[NR]=$1} END {i=int(NR*f); if (i < 1) i = 1; printf "%.0f", v[i]}' "$1"; }
hm=$(q "$work/h" 0.5); am=$(q "$work/a" 0.5); h9=$(q "$work/h" 0.9); a9=$(q "$work/a" 0.9)
echo "timing.sh: hidden median ${hm} us, p90 ${h9} us; absent median ${am} us, p90 ${a9} us ($same and $N searches)" >&2
awk -v h="$hm" -v a="$am" 'BEGIN {exit !(h > 0 && a > 0 && h <= 1.5 * a && a <= 1.5 * h)}' \
  && ok || bad "hidden and absent take about as long (medians ${hm} and ${am} us)"

the_end
