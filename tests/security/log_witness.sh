#!/usr/bin/env bash
# ATTACK: wipe, truncate, roll back or fork the access log (R-LOG-4, R-LOG-7; threat
# rows T-LOG-FMT-1..4 in docs/security.md). A witness outside the database keeps the
# newest checkpoint it has seen (overblik witness); each attack must be caught by the
# witness's next update and by `overblik log verify --witness`. At a78fde3 a wiped log
# verified ("0 entries", exit 0) and there was no witness.
# Also: verification and proof checks with the published public keys only, the secret
# key file withheld (R-LOG-8, T-LOG-FMT-5), and proofs whose shown fields or repeated
# keys differ from what was hashed (T-LOG-FMT-6, T-LOG-FMT-7).
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need sqlite3 jq curl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/t.db"

"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 40 --seed 5 >/dev/null || { echo "gen failed"; exit 1; }
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
decide() { # decide DB N [CATEGORY]: N logged reads
  local i
  for i in $(seq 1 "$2"); do
    echo "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-$((i % 20))\",\"category\":\"${3:-lab_result}\",\"origin\":\"$gp\",\"purpose\":\"TREAT\"}"
  done | "$bin" decide --db "$1" >/dev/null
}
cut_now() { "$bin" log prove --db "$1" --seq 1 --checkpoint-now >/dev/null; }
snapshot() { sqlite3 "$1" ".backup '$2'"; }

decide "$db" 15 && cut_now "$db"
"$bin" witness init --key "$work/w.key" --name witness.example/w1 >"$work/w.vkey"; rc=$?
eq "witness init" "$rc" 0
has "witness key is a cosignature vkey" "$(cat "$work/w.vkey")" "witness.example/w1+"
wit() { "$bin" witness update --state "$1" --log-key "$work/t.log-pub" --key "$work/w.key" --from "$2" "${@:3}"; }
out=$(wit "$work/state" "$db" --store 2>&1); rc=$?
eq "first witness update ($out)" "$rc" 0
snapshot "$db" "$work/old.db"
size_old=$(sed -n 2p "$work/state")
decide "$db" 12 && cut_now "$db"
out=$(wit "$work/state" "$db" --store 2>&1); rc=$?
eq "witness follows an honest log ($out)" "$rc" 0
size_now=$(sed -n 2p "$work/state")
[ "$size_now" -gt "$size_old" ] && ok || bad "witness state moved on ($size_old -> $size_now)"
has "the state is cosigned" "$(cat "$work/state")" "— witness.example/w1 "
out=$("$bin" log verify --db "$db" --witness "$work/state" 2>&1); rc=$?
eq "verify --witness on the honest log ($out)" "$rc" 0

attack() { # attack NAME DBCOPY: the witness and verify --witness must both refuse
  cp "$work/state" "$work/state.$1"
  out=$(wit "$work/state.$1" "$2" 2>&1); rc=$?
  eq "R-LOG-7 witness catches $1 ($out)" "$rc" 4
  has "R-LOG-7 witness says ALARM on $1" "$out" "ALARM"
  cmp -s "$work/state" "$work/state.$1" && ok || bad "witness state unchanged after $1"
  out=$("$bin" log verify --db "$2" --key "$work/t.log-pub" --witness "$work/state" 2>&1); rc=$?
  eq "R-LOG-4 verify --witness catches $1 ($out)" "$rc" 4
}

# T-LOG-FMT-1 wipe: all three tables emptied (on its own, verify says "0 entries")
snapshot "$db" "$work/wipe.db"
sqlite3 "$work/wipe.db" "delete from log_entries; delete from log_checkpoints; delete from log_head"
out=$("$bin" log verify --db "$work/wipe.db" --key "$work/t.log-pub" 2>&1)
attack wipe "$work/wipe.db"
# T-LOG-FMT-2 truncate: the newest entries, checkpoints and the head row's claim cut back
snapshot "$db" "$work/trunc.db"
sqlite3 "$work/trunc.db" "delete from log_entries where seq > $size_old; delete from log_checkpoints where size > $size_old;
  delete from log_head"
attack truncate "$work/trunc.db"
# T-LOG-FMT-3 rollback to an older backup copy of the file
attack rollback "$work/old.db"
# T-LOG-FMT-4 fork: the old copy goes on differently, further than the witnessed size
cp "$work/old.db" "$work/fork.db"; cp "$work/t.cpr-key" "$work/fork.cpr-key"; cp "$work/t.log-key" "$work/fork.log-key"
# (other reads than the honest log's: the same reads within the same second would give the
# same leaves, and a log that says the same is no fork)
decide "$work/fork.db" 30 diagnosis && cut_now "$work/fork.db"
attack fork "$work/fork.db"

# T-LOG-FMT-5: only the public key file; the secret key file withheld
mkdir "$work/away" && mv "$work/t.cpr-key" "$work/t.log-key" "$work/away/"
out=$("$bin" log verify --db "$db" --key "$work/t.log-pub" 2>&1); rc=$?
eq "R-LOG-8 verify with the public key only ($out)" "$rc" 0
out=$("$bin" log prove --db "$db" --seq 3 2>&1); rc=$?
eq "prove without the secret key" "$rc" 0
printf '%s\n' "$out" >"$work/p.json"
eq "the proof is v2" "$(jq -r .format "$work/p.json")" "overblik-log-proof-v2"
has "the proof carries the witness's cosignature" "$(jq -r .checkpoint "$work/p.json")" "— witness.example/w1 "
out=$("$bin" log check --proof "$work/p.json" --key "$work/t.log-pub" 2>&1); rc=$?
eq "R-LOG-8 check with the public key only ($out)" "$rc" 0
out=$("$bin" log consistency --db "$db" --from "$size_old" --to "$size_now" 2>&1); rc=$?
eq "consistency proof ($out)" "$rc" 0
eq "consistency proof has nodes" "$(jq '.proof | length' <<<"$out")" "$(jq '.proof | length' <<<"$out")"
mv "$work/away/"* "$work/"

# T-LOG-FMT-6: every shown field bound to the hashed leaf
refuse() { # refuse NAME FILE: log check must not say the proof holds
  out=$("$bin" log check --proof "$2" --key "$work/t.log-pub" 2>&1); rc=$?
  [ "$rc" -ne 0 ] && ok || bad "R-LOG-4 $1 refused (rc=$rc: $out)"
  hasnt "R-LOG-4 $1: no 'proof holds'" "$out" "proof holds"
}
for f in time_utc event_name reason actor_name patient purpose justification; do
  jq --arg f "$f" '.entry[$f] = "forged"' "$work/p.json" >"$work/f.json"
  refuse "changed $f" "$work/f.json"
done
jq '.entry.time = 1' "$work/p.json" >"$work/f.json"; refuse "changed time" "$work/f.json"
jq '.entry.permit = (.entry.permit | not)' "$work/p.json" >"$work/f.json"; refuse "flipped permit" "$work/f.json"
jq '.entry.extra = "x"' "$work/p.json" >"$work/f.json"; refuse "an extra field" "$work/f.json"
jq '.seq = 4' "$work/p.json" >"$work/f.json"; refuse "another seq" "$work/f.json"
jq '.inclusion[0] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="' "$work/p.json" >"$work/f.json"
refuse "a forged inclusion node" "$work/f.json"
jq '.checkpoint |= sub("\n[0-9]+\n"; "\n99999\n")' "$work/p.json" >"$work/f.json"
refuse "a checkpoint with another size" "$work/f.json"
# T-LOG-FMT-7: a repeated key (a viewer may show the second, a checker read the first)
sed '0,/"reason": /s//"reason": "forged", "reason": /' "$work/p.json" >"$work/f.json"
[ "$(grep -o '"reason"' "$work/f.json" | wc -l)" -eq 2 ] && ok || bad "duplicate key was written"
refuse "a duplicate reason key" "$work/f.json"

# the public face over HTTP: the newest checkpoint at a stable URL, consistency, keys
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
if [ -n "$addr" ]; then
  cp_http=$(curl -s "$addr/log/checkpoint")
  eq "GET /log/checkpoint is the newest note" "$cp_http" "$("$bin" log checkpoint --db "$db")"
  c=$(curl -s "$addr/log/consistency?from=$size_old&to=$size_now")
  eq "GET /log/consistency = the CLI's proof" "$(jq -c .proof <<<"$c")" \
     "$("$bin" log consistency --db "$db" --from "$size_old" --to "$size_now" | jq -c .proof)"
  eq "GET /log/key = the published key file" "$(curl -s "$addr/log/key")" "$(cat "$work/t.log-pub")"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$addr/log/consistency?from=9&to=x")
  eq "a bad consistency request: 400" "$code" 400
  kill "$srv"; wait "$srv" 2>/dev/null
else
  bad "server did not start: $(cat "$work/err.txt")"
fi
the_end
