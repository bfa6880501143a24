#!/usr/bin/env bash
# End-to-end check of the systemd units an operator installs (deploy/, docs/operations.md):
# overblik.service (the server) and overblik-expire.service + .timer (the access log's
# retention, R-LOG-5). systemd is not PID 1 on the test machine, so the units cannot be
# started here; instead:
#   1. `systemd-analyze verify` accepts them with no warning, and `systemd-analyze security
#      --offline` rates each service's sandbox at most 2.0 ("OK");
#   2. the release binary runs as an unprivileged user under strace, the way each unit
#      starts it: the server through reads, a write, /metrics, SIGHUP and SIGTERM, and the
#      retention job while that server runs (then the server answers, and the log verifies
#      with the old entries expired). For each, every system call is one the unit's
#      SystemCallFilter allows (the groups expanded by systemd-analyze), every socket is of a
#      family RestrictAddressFamilies allows, no memory is writable and executable
#      (MemoryDenyWriteExecute), nothing is written outside the state directory
#      (ProtectSystem=strict), nothing is read from home directories (ProtectHome) and no
#      /proc file is opened that the unit hides.
# A directive that would stop the server in production fails here first.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need systemd-analyze strace pgrep jq curl
units="$(dirname "$0")/../../deploy"
work=$(mktemp -d)
srv="" pid=""
cleanup() { [ -n "$srv" ] && kill "${pid:-$srv}" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# --- 1. the unit files
for f in overblik.service overblik-expire.service overblik-expire.timer; do
  sed "s|/usr/local/bin/overblik|$bin|" "$units/$f" >"$work/$f"
done
out=$(cd "$work" && systemd-analyze verify ./overblik.service ./overblik-expire.service \
  ./overblik-expire.timer 2>&1); rc=$?
eq "systemd-analyze verify: exit 0" "$rc" 0
eq "systemd-analyze verify: no warning" "$out" ""
for u in overblik.service overblik-expire.service; do
  out=$(cd "$work" && systemd-analyze security --offline=true "./$u" 2>&1)
  level=$(grep -o "Overall exposure level for $u: [0-9.]*" <<<"$out" | awk '{print $NF}')
  [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' && ok ||
    bad "$u: sandbox exposure at most 2.0 (got '$level')"
done
eq "ExecStart runs serve with a config file" "$(grep '^ExecStart=' "$units/overblik.service")" \
  "ExecStart=/usr/local/bin/overblik serve --config /etc/overblik/serve.conf"
has "ExecReload sends SIGHUP" "$(grep '^ExecReload=' "$units/overblik.service")" 'kill -HUP $MAINPID'
eq "the retention job expires the log" "$(grep '^ExecStart=' "$units/overblik-expire.service")" \
  "ExecStart=/usr/local/bin/overblik log expire --db /var/lib/overblik/overblik.db"
has "the timer runs it daily" "$(cat "$units/overblik-expire.timer")" "OnCalendar=daily"

# --- 2. the release binary under strace. A sanitizer build makes system calls of its own
# (and LeakSanitizer cannot work under a tracer), so that build checks only the files.
if grep -qa __asan_init "$bin"; then
  echo "deploy.sh: $bin is a sanitizer build; the strace part runs on the release build"
  the_end
  exit
fi

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

# sandboxed WHAT UNIT TRACE: whether what strace saw in TRACE stays inside UNIT's sandbox
sandboxed() {
  local what=$1 unit=$2 trace=$3 allow deny f families used_families
  grep -oE '^[0-9]+ +[a-z0-9_]+\(' "$trace" | awk '{print $2}' | tr -d '(' | sort -u >"$work/used"
  [ "$(wc -l <"$work/used")" -gt 20 ] && ok || bad "$what: strace saw its system calls"
  allow=$(grep '^SystemCallFilter=[^~]' "$unit" | cut -d= -f2-)
  deny=$(grep '^SystemCallFilter=~' "$unit" | cut -d= -f2- | tr -d '~')
  [ -n "$allow" ] && [ -n "$deny" ] && ok || bad "$what: an allow and a deny SystemCallFilter"
  # shellcheck disable=SC2086 # the groups are words
  expand $allow | sort -u >"$work/allowed"
  # shellcheck disable=SC2086
  expand $deny | sort -u >"$work/denied"
  eq "$what: every system call is in the allow list ($allow)" \
    "$(comm -23 "$work/used" "$work/allowed" | tr '\n' ' ')" ""
  eq "$what: no system call is in the deny list ($deny)" \
    "$(comm -12 "$work/used" "$work/denied" | tr '\n' ' ')" ""
  families=$(grep '^RestrictAddressFamilies=' "$unit" | cut -d= -f2-)
  used_families=$(grep -oE ' socket\(AF_[A-Z0-9]+' "$trace" | awk -F'(' '{print $2}' | sort -u)
  for f in $used_families; do
    [[ " $families " == *" $f "* ]] && ok || bad "$what: socket family $f is not in RestrictAddressFamilies ($families)"
  done
  eq "$what: no writable and executable memory" "$(grep -E \
    'mmap\(.*PROT_WRITE\|PROT_EXEC|mmap\(.*PROT_EXEC\|PROT_WRITE|mprotect\(.*PROT_EXEC' "$trace" | head -3)" ""
  # ProtectSystem=strict: files opened for writing are in the state directory
  eq "$what: writes only in the state directory" "$(grep -E 'open(at)?\(.*O_(WRONLY|RDWR|CREAT)' "$trace" |
    grep -v ' = -1 ' | grep -oE '"[^"]*"' | tr -d '"' | grep -v "^$state/" | grep -v '^/dev/null$' |
    sort -u | head -5)" ""
  # ProtectProc=invisible hides other processes; ProcSubset=pid would also hide /proc/sys,
  # where the log's search index reads the boot id
  local procs
  procs=$(grep -oE 'open(at)?\([^"]*"/proc/[^"]*"' "$trace" | grep -oE '"/proc/[^"]*"' |
    grep -vE '"/proc/(self|thread-self|[0-9]+)(/|")' | sort -u | head -5)
  if grep -q '^ProcSubset=pid' "$unit"; then
    eq "$what: ProcSubset=pid, and no /proc file but its own" "$procs" ""
  else
    eq "$what: /proc: only its own entries and the boot id" \
      "$(grep -v '/proc/sys/kernel/random/boot_id' <<<"$procs")" ""
  fi
  eq "$what: nothing from home directories" \
    "$(grep -oE 'open(at)?\([^"]*"/(home|root|run/user)/[^"]*"' "$trace" | head -3)" ""
}

state="$work/state"
mkdir -m 700 "$state"
db="$state/overblik.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 200 --seed 3 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" tour --db "$db" >/dev/null 2>&1 || { echo "tour failed"; exit 1; } # log entries to expire
"$bin" gen --out "$work/d.ndjson" --patients 200 --seed 3 >/dev/null 2>&1
gp=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
cat >"$work/serve.conf" <<CONF
db = $db
listen = 127.0.0.1:0
jwks = ${db%.db}.jwks.json
access_log = true
metrics_clients = monitor
CONF
# The units run as their own user (User=overblik), never as root: as root SQLite would
# fchown its side files, which the filter refuses (@privileged).
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  chmod 755 "$work"
  chown -R nobody "$state"
  as_user=(-u nobody)
  # the user must reach the binary: a build below a private directory (mktemp -d) is not
  cp "$bin" "$work/overblik" && chmod 755 "$work/overblik" && bin=$work/overblik
fi

# --- the server, as overblik.service starts it
: >"$work/out.txt"
strace -f -qq "${as_user[@]}" -o "$work/trace" "$bin" serve --config "$work/serve.conf" \
  >"$work/out.txt" 2>"$work/err.txt" &
srv=$! # strace, which exits with the server's status; signals go to the server itself
for _ in $(seq 1 200); do grep -q "listening on" "$work/out.txt" && break; sleep 0.1; done
addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/out.txt" | head -1)
pid=$(pgrep -P "$srv" -x overblik | head -1)
[ -n "$addr" ] && [ -n "$pid" ] && ok || { bad "the server started under strace"; cat "$work/err.txt"; exit 1; }
pro=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp")
cit=$("$bin" token --db "$db" --kind citizen --cpr "$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" |
  grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)")
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
search() { code -H "Authorization: Bearer $pro" -H "X-Purpose-Of-Use: TREAT" \
  "$addr/fhir/Appointment?patient=Patient/pt-0"; }
eq "healthz" "$(code "$addr/healthz")" 200
eq "a professional's search" "$(search)" 200
eq "the patient's own log" "$(code -H "Authorization: Bearer $cit" "$addr/fhir/AuditEvent")" 200
block='{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/pt-0"},"provision":{"type":"deny","dataPeriod":{"start":"2020-01-01","end":"2020-12-31"}}}'
eq "a write (a block)" "$(code -X POST -H "Authorization: Bearer $cit" \
  -H "Content-Type: application/fhir+json" --data "$block" "$addr/fhir/Consent")" 201
mon=$("$bin" token --db "$db" --kind system --client-id monitor)
eq "metrics" "$(code -H "Authorization: Bearer $mon" "$addr/metrics")" 200
kill -HUP "$pid"
for _ in $(seq 1 100); do grep -q "SIGHUP" "$work/err.txt" && break; sleep 0.1; done
has "SIGHUP under strace: reloaded" "$(cat "$work/err.txt")" "reloaded, 1 key(s)"
hasnt "no boot-id warning where /proc/sys is readable" "$(cat "$work/err.txt")" "boot id"

# --- the retention job, as overblik-expire.service starts it, while the server runs
# (--before tomorrow: the entries of the tour's sealed segments are all older)
out=$(strace -f -qq "${as_user[@]}" -o "$work/trace-expire" "$bin" log expire --db "$db" \
  --before "$(date -u -d tomorrow +%F)" 2>&1); rc=$?
eq "log expire while the server runs: exit 0" "$rc" 0
n=$(grep -o 'expired [0-9]*' <<<"$out" | awk '{print $2}')
[ "${n:-0}" -gt 0 ] && ok || bad "log expire removed the old entries ($out)"
eq "the server answers after the expiry" "$(search)" 200
kill -TERM "$pid"; wait "$srv"; rc=$?; srv=""
eq "SIGTERM under strace: exit 0" "$rc" 0
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after the expiry: exit 0" "$rc" 0
has "log verify: the old entries expired by retention" "$out" "expired by retention"

sandboxed "overblik.service" "$units/overblik.service" "$work/trace"
sandboxed "overblik-expire.service" "$units/overblik-expire.service" "$work/trace-expire"

# --- where the boot id cannot be read (a sandbox with ProcSubset=pid), the server says so
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
  mkdir "$work/empty"
  out=$(unshare -m bash -c 'mount --bind "$1" /proc/sys/kernel/random && exec timeout 3 "$2" serve \
    --db "$3" --listen 127.0.0.1:0' _ "$work/empty" "$bin" "$db" 2>&1)
  has "no boot id: the server warns at start" "$out" "boot id (/proc/sys/kernel/random/boot_id) cannot be read"
  has "no boot id: and serves" "$out" "listening on"
else
  echo "deploy.sh: no mount namespace here; the boot-id warning is not checked"
fi

the_end
