#!/usr/bin/env bash
# ATTACK: a witness that follows the log over HTTP only (R-LOG-4, R-LOG-7; threat row
# T-LOG-FMT-11 in docs/security.md): `overblik witness update --from URL` reads the
# server's GET /log/checkpoint and GET /log/consistency, with no access to its database,
# and must raise ALARM (exit 4, state unchanged) when the server it polls is put back on a
# rolled-back copy of the log or on a fork, while a server that is merely down is an error
# (exit 3), not a verdict. At a78fde3 there was no witness and no /log/ endpoints.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need sqlite3 jq curl
work=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"' EXIT
db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 30 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 30 --seed 5 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)
"$bin" log prove --db "$db" --seq 1 --checkpoint-now >/dev/null || bad "first checkpoint"
cit=$("$bin" token --db "$db" --kind citizen --cpr "$cpr")
"$bin" witness init --key "$work/w.key" --name witness.example/w1 >/dev/null || { echo "witness init failed"; exit 1; }

start() { # start DB: a server on it, $addr
  serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$1" --jwks "$work/t.jwks.json" --listen 127.0.0.1:0 --threads 2
  [ -n "$addr" ] || { bad "server did not start: $(tail -3 "$work/err.txt")"; the_end; exit 1; }
}
stop() { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=""; }
grow() { # grow [N]: the citizen reads her own log (N entries a page, 1) a few times, then asks
  # a proof: a new checkpoint
  local i newest
  for i in 1 2 3; do curl -s -o /dev/null -H "Authorization: Bearer $cit" "$addr/fhir/AuditEvent?_count=${1:-1}"; done
  newest=$(curl -s -H "Authorization: Bearer $cit" "$addr/fhir/AuditEvent?_count=1" | jq -r '.entry[0].resource.id')
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $cit" "$addr/fhir/AuditEvent/$newest/\$prove")
  eq "\$prove of $newest cuts a checkpoint" "$code" 200
}
wit() { "$bin" witness update --state "$1" --log-key "$work/t.log-pub" --key "$work/w.key" --from "$addr" 2>&1; }
size() { sed -n 2p "$1"; }

start "$db"
out=$(wit "$work/state"); eq "R-LOG-7 the witness follows the server over HTTP ($out)" "$?" 0
s0=$(size "$work/state")
stop
sqlite3 "$db" ".backup '$work/old.db'" # the copy an attacker will put back
cp "$work/t.cpr-key" "$work/old.cpr-key"; cp "$work/t.log-key" "$work/old.log-key"
start "$db"
grow
out=$(wit "$work/state"); eq "R-LOG-7 a grown log is accepted with GET /log/consistency ($out)" "$?" 0
s1=$(size "$work/state")
[ "$s1" -gt "$s0" ] && ok || bad "the witnessed size grew ($s0 -> $s1)"
has "the witness cosigned" "$(cat "$work/state")" "— witness.example/w1 "
out=$("$bin" witness update --state "$work/state" --log-key "$work/t.log-pub" --key "$work/w.key" \
  --from "$addr" --store 2>&1); rc=$?
eq "--store needs the database, not a URL" "$rc" 2
stop

# the server is down: an error, no alarm, the state kept
cp "$work/state" "$work/state.keep"
out=$(wit "$work/state"); rc=$?
eq "a server that is down: exit 3, not a verdict ($out)" "$rc" 3
hasnt "no ALARM for a server that is down" "$out" "ALARM"
cmp -s "$work/state" "$work/state.keep" && ok || bad "state unchanged while the server is down"

attack() { # attack NAME DB: a server on DB must make the witness raise ALARM
  start "$2"
  cp "$work/state" "$work/state.$1"
  out=$(wit "$work/state.$1"); rc=$?
  eq "R-LOG-4 the HTTP witness catches $1 ($out)" "$rc" 4
  has "R-LOG-7 ALARM on $1" "$out" "ALARM"
  cmp -s "$work/state" "$work/state.$1" && ok || bad "state unchanged after $1"
  stop
}
# T-LOG-FMT-11: the server restarted on an older copy of the file
cp "$work/old.db" "$work/rb.db"; cp "$work/old.cpr-key" "$work/rb.cpr-key"; cp "$work/old.log-key" "$work/rb.log-key"
attack rollback "$work/rb.db"
# ... and on that copy grown differently past the witnessed size (a fork)
cp "$work/old.db" "$work/fork.db"; cp "$work/old.cpr-key" "$work/fork.cpr-key"; cp "$work/old.log-key" "$work/fork.log-key"
start "$work/fork.db"
# (other reads than the honest log's: the same reads within the same second would give the
# same leaves, and a log that says the same is no fork)
for _ in 1 2 3 4; do grow 2; done
stop
attack fork "$work/fork.db"
# ... and wiped (no checkpoint at all)
cp "$work/old.db" "$work/wipe.db"; cp "$work/old.cpr-key" "$work/wipe.cpr-key"; cp "$work/old.log-key" "$work/wipe.log-key"
sqlite3 "$work/wipe.db" "delete from log_entries; delete from log_checkpoints; delete from log_head"
attack wipe "$work/wipe.db"
the_end
