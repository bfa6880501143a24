#!/usr/bin/env bash
# End-to-end check of deploy/overblik.service, the systemd unit an operator installs
# (docs/operations.md). systemd is not PID 1 on the test machine, so the unit cannot be
# started here; instead:
#   1. `systemd-analyze verify` accepts it with no warning, and `systemd-analyze security
#      --offline` rates its sandbox at most 2.0 ("OK");
#   2. the real server, started with the unit's arguments, runs under strace through a
#      session (reads, a write, /metrics, SIGHUP, SIGTERM), and every system call it makes
#      is one the unit's SystemCallFilter allows (the groups expanded by systemd-analyze),
#      with no writable+executable memory (MemoryDenyWriteExecute), no write outside its
#      state directory (ProtectSystem=strict), nothing from home directories (ProtectHome)
#      and no /proc file the unit hides.
# A directive that would stop the server in production fails here first.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need systemd-analyze strace pgrep jq curl
unit="$(dirname "$0")/../../deploy/overblik.service"
work=$(mktemp -d)
srv="" pid=""
cleanup() { [ -n "$srv" ] && kill "${pid:-$srv}" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
keep=${KEEP:-}

# --- 1. the unit file itself
sed "s|/usr/local/bin/overblik|$bin|" "$unit" >"$work/overblik.service"
out=$(cd "$work" && systemd-analyze verify ./overblik.service 2>&1); rc=$?
eq "systemd-analyze verify: exit 0" "$rc" 0
eq "systemd-analyze verify: no warning" "$out" ""
out=$(cd "$work" && systemd-analyze security --offline=true ./overblik.service 2>&1)
level=$(grep -o 'Overall exposure level for overblik.service: [0-9.]*' <<<"$out" | awk '{print $NF}')
[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' && ok ||
  bad "sandbox exposure at most 2.0 (got '$level')"
exec_line=$(grep '^ExecStart=' "$unit")
eq "ExecStart runs serve with a config file" "$exec_line" \
  "ExecStart=/usr/local/bin/overblik serve --config /etc/overblik/serve.conf"
has "ExecReload sends SIGHUP" "$(grep '^ExecReload=' "$unit")" 'kill -HUP $MAINPID'

# --- 2. the server under strace, as the unit starts it. Production runs the release build;
# a sanitizer build makes system calls of its own (and LeakSanitizer cannot work under a
# tracer), so that build checks only the unit file.
if grep -qa __asan_init "$bin"; then
  echo "deploy.sh: $bin is a sanitizer build; the strace part runs on the release build"
  the_end
  exit
fi
state="$work/state"
mkdir -m 700 "$state"
db="$state/overblik.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 200 --seed 3 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 200 --seed 3 >/dev/null 2>&1
gp=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
cat >"$work/serve.conf" <<CONF
db = $db
listen = 127.0.0.1:0
jwks = ${db%.db}.jwks.json
access_log = true
CONF
# The unit runs the server as its own user (User=overblik), never as root: as root SQLite
# would fchown its side files, which the unit's filter refuses (@privileged).
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  chmod 755 "$work"
  chown -R nobody "$state"
  as_user=(-u nobody)
fi
: >"$work/out.txt"
strace -f -qq "${as_user[@]}" -o "$work/trace" "$bin" serve --config "$work/serve.conf" \
  >"$work/out.txt" 2>"$work/err.txt" &
srv=$! # strace, which exits with the server's status; signals go to the server itself
for _ in $(seq 1 200); do grep -q "listening on" "$work/out.txt" && break; sleep 0.1; done
pid=$(pgrep -P "$srv" -x overblik | head -1)
addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/out.txt" | head -1)
[ -n "$addr" ] && [ -n "$pid" ] && ok || { bad "the server started under strace"; cat "$work/err.txt"; exit 1; }
pro=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp")
cit=$("$bin" token --db "$db" --kind citizen --cpr "$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" |
  grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)")
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
eq "healthz" "$(code "$addr/healthz")" 200
eq "a professional's search" "$(code -H "Authorization: Bearer $pro" -H "X-Purpose-Of-Use: TREAT" \
  "$addr/fhir/Appointment?patient=Patient/pt-0")" 200
eq "the patient's own log" "$(code -H "Authorization: Bearer $cit" "$addr/fhir/AuditEvent")" 200
block='{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/pt-0"},"provision":{"type":"deny","dataPeriod":{"start":"2020-01-01","end":"2020-12-31"}}}'
eq "a write (a block)" "$(code -X POST -H "Authorization: Bearer $cit" \
  -H "Content-Type: application/fhir+json" --data "$block" "$addr/fhir/Consent")" 201
eq "metrics" "$(code -H "Authorization: Bearer $pro" "$addr/metrics")" 200
kill -HUP "$pid"
for _ in $(seq 1 100); do grep -q "SIGHUP" "$work/err.txt" && break; sleep 0.1; done
has "SIGHUP under strace: reloaded" "$(cat "$work/err.txt")" "reloaded, 1 key(s)"
kill -TERM "$pid"; wait "$srv"; rc=$?; srv=""
eq "SIGTERM under strace: exit 0" "$rc" 0

hasnt "no boot-id warning where /proc/sys is readable" "$(cat "$work/err.txt")" "boot id"
# where the boot id cannot be read (a sandbox with ProcSubset=pid), the server says so at start
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
  mkdir "$work/empty"
  out=$(unshare -m bash -c 'mount --bind "$1" /proc/sys/kernel/random && exec timeout 3 "$2" serve \
    --db "$3" --listen 127.0.0.1:0' _ "$work/empty" "$bin" "$db" 2>&1)
  has "no boot id: the server warns at start" "$out" "boot id (/proc/sys/kernel/random/boot_id) cannot be read"
  has "no boot id: and serves" "$out" "listening on"
else
  echo "deploy.sh: no mount namespace here; the boot-id warning is not checked"
fi

# the system calls made, by name
grep -oE '^[0-9]+ +[a-z0-9_]+\(' "$work/trace" | awk '{print $2}' | tr -d '(' | sort -u \
  >"$work/used"
[ "$(wc -l <"$work/used")" -gt 20 ] && ok || bad "strace saw the server's system calls"

# expand NAME...: the system calls a filter group stands for, one a line
expand() {
  local n m
  for n in "$@"; do
    if [[ $n == @* ]]; then
      for m in $(systemd-analyze syscall-filter "$n" | tail -n +2 | grep -v '^ *#' | awk 'NF {print $1}'); do
        expand "$m"
      done
    else
      echo "$n"
    fi
  done
}
allow=$(grep '^SystemCallFilter=[^~]' "$unit" | cut -d= -f2-)
deny=$(grep '^SystemCallFilter=~' "$unit" | cut -d= -f2- | tr -d '~')
[ -n "$allow" ] && [ -n "$deny" ] && ok || bad "the unit has an allow and a deny SystemCallFilter"
# shellcheck disable=SC2086 # the groups are words
expand $allow | sort -u >"$work/allowed"
# shellcheck disable=SC2086
expand $deny | sort -u >"$work/denied"
outside=$(comm -23 "$work/used" "$work/allowed" | tr '\n' ' ')
eq "every system call is in the allow list ($allow)" "$outside" ""
hit=$(comm -12 "$work/used" "$work/denied" | tr '\n' ' ')
eq "no system call is in the deny list ($deny)" "$hit" ""

# RestrictAddressFamilies: the sockets it opens are of the families the unit allows
families=$(grep '^RestrictAddressFamilies=' "$unit" | cut -d= -f2-)
used_families=$(grep -oE ' socket\(AF_[A-Z0-9]+' "$work/trace" | awk -F'(' '{print $2}' | sort -u)
[ -n "$used_families" ] && ok || bad "strace saw the listening sockets"
for f in $used_families; do
  [[ " $families " == *" $f "* ]] && ok || bad "socket family $f is not in RestrictAddressFamilies ($families)"
done

# MemoryDenyWriteExecute: no mapping both writable and executable, no mprotect to executable
wx=$(grep -E 'mmap\(.*PROT_WRITE\|PROT_EXEC|mmap\(.*PROT_EXEC\|PROT_WRITE|mprotect\(.*PROT_EXEC' \
  "$work/trace" | head -3)
eq "no writable and executable memory" "$wx" ""
# ProtectSystem=strict: files opened for writing are in the state directory (or PrivateTmp's /tmp)
writes=$(grep -E 'open(at)?\(.*O_(WRONLY|RDWR|CREAT)' "$work/trace" | grep -v ' = -1 ' |
  grep -oE '"[^"]*"' | tr -d '"' | grep -v "^$state/" | grep -v '^/dev/null$' | sort -u | head -5)
eq "writes only in the state directory" "$writes" ""
# ProtectProc=invisible hides other processes; ProcSubset=pid would also hide /proc/sys,
# where the log's search index reads the boot id. Every /proc file the server opens must
# stay visible under the unit.
procs=$(grep -oE 'open(at)?\([^"]*"/proc/[^"]*"' "$work/trace" | grep -oE '"/proc/[^"]*"' |
  grep -vE '"/proc/(self|thread-self|[0-9]+)(/|")' | sort -u | head -5)
if grep -q '^ProcSubset=pid' "$unit"; then
  eq "ProcSubset=pid: no /proc file but its own" "$procs" ""
else
  eq "/proc: only its own entries and the boot id" "$(grep -v '/proc/sys/kernel/random/boot_id' <<<"$procs")" ""
fi
# ProtectHome=yes: nothing under /home or /root
homes=$(grep -oE 'open(at)?\([^"]*"/(home|root|run/user)/[^"]*"' "$work/trace" | head -3)
eq "nothing from home directories" "$homes" ""

the_end
