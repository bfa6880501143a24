#!/usr/bin/env bash
# Attack (T-DB-8; issue 18): a server stalls (here SIGSTOP: a frozen machine, its lease still
# good for up to two seconds) while clients write through another. Every change on
# PostgreSQL is acknowledged only once every server whose lease holds has applied it, so
# each write waits up to a lease for the frozen one. That wait sat on an HTTP thread, and
# held the writers' lock that every other write (its one-write-per-token claim first) needs:
# two writes stopped a server with two threads from answering anything, /healthz included,
# so the load balancer took a healthy server out: one stalled server, and a few writes by
# any client, took the others out too. Now a change's answer is held on its suspended connection
# and sent when the acknowledgement comes (pg_sync's acker thread, no lock held meanwhile):
# with four writes waiting on server a (`--threads 2`), its /healthz and a read answer at
# once, and the writes are answered 201 once b's lease has lapsed (about a lease, well
# inside the deadline of two leases and a second). A server holding a lease that never
# applies: the write is answered 503 at that deadline (it may be in force), never 201; a
# server stopped while a write waits answers it 503 and exits cleanly. Fails on a857903 (before the deferred acknowledgement): /healthz
# waited for the writes (1.1 to 1.3 s), none of which was answered before it.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
. "$(dirname "$0")/../e2e/pg_lib.bash"
pg_two_servers
# a stopped process keeps a SIGTERM pending: thaw b before the cleanup stops the servers
trap 'kill -CONT "$pid_b" 2>/dev/null; cleanup' EXIT
pg_block
reader=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr")
# read NAME ADDR: the patient's own consents and blocks; "code seconds", the body in NAME.json
read_on() {
  curl -s --max-time 20 -o "$work/$1.json" -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer $reader" "$2/fhir/Consent?patient=Patient/$pid"
}
# post NAME ADDR TOKEN: the block POSTed in the background (its pid in $!); "code seconds" in
# NAME.code once answered, the body in NAME.json
post() {
  curl -s --max-time 30 -o "$work/$1.json" -w '%{http_code} %{time_total}' -X POST \
    -H "Authorization: Bearer $3" -H 'Content-Type: application/fhir+json' \
    "$2/fhir/Consent" --data-binary "$block" >"$work/$1.code" &
}
# healthz ADDR: "code seconds"
healthz() { curl -s --max-time 20 -o /dev/null -w '%{http_code} %{time_total}' "$1/healthz"; }
fast() { awk -v t="$1" 'BEGIN { exit !(t < 0.5) }'; }
waiting() { # how many of the four writes have no answer yet
  local i n=0
  for i in 1 2 3 4; do [ -s "$work/w$i.code" ] || n=$((n + 1)); done
  echo "$n"
}
eq "a read on a before" "$(read_on r0 "$addr_a" | cut -d' ' -f1)" 200
n0=$(sql "SELECT count(*) FROM store_records WHERE type = 'block'")

wt=()
for i in 1 2 3 4; do wt[$i]=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr"); done

# Freeze b, but not inside its lease renewal: a transaction stopped there would hold the
# changes' lock, and no server could write at all (a different stall, not this test's).
for _ in 1 2 3 4 5; do
  kill -STOP "$pid_b"
  sleep 0.05
  [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")" = 0 ] && break
  kill -CONT "$pid_b"
  sleep 0.2
done
wpids=()
for i in 1 2 3 4; do # four writes on a, each with its own token (one write per token)
  post "w$i" "$addr_a" "${wt[$i]}"
  wpids+=($!)
done
sleep 0.25
before=$(waiting)
# while they wait for b: a's /healthz and a read, at once (0.5 s: they take milliseconds;
# before the fix they waited for the writes, 1 to 2 s)
hz=$(healthz "$addr_a")
rd=$(read_on r1 "$addr_a")
after=$(waiting)
echo "# b frozen, writes on a waiting: $before; /healthz in ${hz#* } s, a read in ${rd#* } s; then still waiting: $after"
eq "the writes on a wait for the frozen b" "$before" 4
eq "a's /healthz answers while they wait" "${hz% *}" 200
fast "${hz#* }" && ok || bad "a's /healthz took ${hz#* } s (two threads held by writes waiting for b)"
eq "a read on a answers while they wait" "${rd% *}" 200
fast "${rd#* }" && ok || bad "a read on a took ${rd#* } s"
eq "... before any of the writes is answered" "$after" 4

for p in "${wpids[@]}"; do wait "$p"; done
for i in 1 2 3 4; do
  read -r code secs <"$work/w$i.code"
  echo "# write $i: $code after $secs s"
  eq "write $i answered once b's lease lapsed" "$code" 201
  has "... with the block" "$(cat "$work/w$i.json")" '"resourceType":"Consent"'
done
eq "four blocks stored" "$(sql "SELECT count(*) FROM store_records WHERE type = 'block'")" $((n0 + 4))
hasnt "a answered no write 503" "$(cat "$work/a.err")" "answered 503"

# b thawed: it answers again only once it has applied them (its lease), and then shows them
kill -CONT "$pid_b"
for _ in $(seq 1 100); do
  [ "$(healthz "$addr_b" | cut -d' ' -f1)" = 200 ] && break
  sleep 0.1
done
eq "b answers again" "$(read_on rb "$addr_b" | cut -d' ' -f1)" 200
read_on ra "$addr_a" >/dev/null
entries() { jq '[.entry[]?] | length' "$work/$1.json"; }
eq "... with the blocks made on a while it was frozen" "$(entries rb)" "$(entries ra)"
eq "... four more than before" "$(entries ra)" $(($(entries r0) + 4))

# A server that holds a lease and never applies (its row renewed an hour ahead: a stalled
# renewal's worst case): a write on a is not acknowledged within two leases and a second,
# and is answered 503 saying it may not be in force yet (never the 201, nor "nothing
# changed": it committed); /healthz meanwhile at once.
sql "INSERT INTO sync_lease VALUES ('stuck', 0, now() + interval '1 hour')" >/dev/null
t=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr")
post w5 "$addr_a" "$t"
w5=$!
sleep 0.25
hz=$(healthz "$addr_a")
wait "$w5"
read -r code secs <"$work/w5.code"
echo "# a lease that never applies: the write answered $code after $secs s; /healthz meanwhile in ${hz#* } s"
eq "a write not acknowledged in time: 503" "$code" 503
awk -v t="$secs" 'BEGIN { exit !(t >= 4.5 && t < 10) }' && ok || bad "answered after $secs s, not at the deadline (5 s)"
eq "... an OperationOutcome" "$(jq -r .resourceType "$work/w5.json")" OperationOutcome
hasnt "... naming no block" "$(cat "$work/w5.json")" "block-"
has "... saying it may not be in force" "$(cat "$work/w5.json")" "read it back before you send it again"
eq "... /healthz answered meanwhile" "${hz% *}" 200
fast "${hz#* }" && ok || bad "a's /healthz took ${hz#* } s"
has "... the operator told why" "$(cat "$work/a.err")" "answered 503, the change was not acknowledged"

# The server stopped (SIGTERM) while a write waits for its acknowledgement: the stop answers
# it itself after its shutdown timeout (503, nothing of the change, never the 201), then the
# close fails the waiter (its done once, after the answer: no use after free) and the
# server exits cleanly.
serve_bg pid_c addr_c "$work/c.out" "$work/c.err" --db "$uri" --keys "$work/k.key" \
  --jwks "$work/k.jwks.json" --listen 127.0.0.1:0 --threads 2 --server-id c --shutdown-timeout 1
pids+=("$pid_c")
t=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr")
post w6 "$addr_c" "$t"
w6=$!
sleep 0.5
kill -TERM "$pid_c"
wait "$w6"
wait "$pid_c"
eq "a server stopped with a write waiting exits cleanly" "$?" 0
eq "... the write answered 503 by the stop" "$(cut -d' ' -f1 "$work/w6.code")" 503
hasnt "... naming no block" "$(cat "$work/w6.json")" "block-"
sql "DELETE FROM sync_lease WHERE id = 'stuck'" >/dev/null
the_end
