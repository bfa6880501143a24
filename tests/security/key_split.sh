#!/usr/bin/env bash
# ATTACK: the secret keys are separated by purpose (R-LOG-8, R-CPR-2; threat row
# T-LOG-FMT-10 in docs/security.md). Before, one file (<db>.key) held the CPR hash and
# encryption keys and the log signing key, so anything that signs or checks the log could
# read every CPR key. Now: <db>.cpr-key and <db>.log-key, each 0600; a process opens only
# the files its purpose needs, shown by making the others FIFOs (opening one to read would
# block, and the command would time out): verification and proofs open neither, rotating
# the log key never opens the CPR keys, a read-only hub never opens the log key. An
# installation with the single old file is migrated on first use: CPR lookups unchanged,
# old checkpoints still verify, the old file gone. At a78fde3 init made the one file.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need sqlite3 jq
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 30 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 30 --seed 5 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)
gp=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
by_cpr() { # a decision that names pt-0 by CPR: resolved through the CPR hash key
  echo "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient_cpr\":\"$cpr\",\"category\":\"lab_result\",\"origin\":\"$gp\",\"purpose\":\"TREAT\"}" |
    "$bin" decide --db "$1" | jq -c 'del(.log_seq)'
}

for f in t.cpr-key t.log-key; do [ -f "$work/$f" ] && ok || bad "R-LOG-8 init made $f"; done
[ ! -e "$work/t.key" ] && ok || bad "R-LOG-8 init made no single key file"
eq "both key files are 0600" "$(stat -c %a "$work/t.cpr-key" "$work/t.log-key" 2>&1 | sort -u)" 600
hasnt "the CPR key file holds no log key" "$(cat "$work/t.cpr-key" 2>&1)" "log_sign"
hasnt "the log key file holds no CPR key" "$(cat "$work/t.log-key" 2>&1)" "cpr_"
want=$(by_cpr "$db")
has "pt-0 found by CPR" "$want" '"decision":'
"$bin" log prove --db "$db" --seq 3 --checkpoint-now >"$work/p.json" || bad "prove"
"$bin" log consistency --db "$db" --from 1 --to 1 >/dev/null 2>&1 # (no checkpoint at 1: fine)

# only what a purpose needs: the other files become FIFOs, which block whoever opens them
fifo() { for f in "$@"; do mv "$work/$f" "$work/$f.real" && mkfifo -m 600 "$work/$f"; done; }
unfifo() { for f in "$@"; do rm -f "$work/$f" && mv "$work/$f.real" "$work/$f"; done; }
runs() { # runs WHAT CMD...: exits 0 well within the time a blocked open would take
  local out rc
  out=$(timeout 20 "${@:2}" 2>&1); rc=$?
  eq "R-LOG-8 $1 runs without opening the secret files it does not need ($out)" "$rc" 0
}
fifo t.cpr-key t.log-key
runs "log verify" "$bin" log verify --db "$db"
runs "log check" "$bin" log check --db "$db" --proof "$work/p.json"
runs "log prove" "$bin" log prove --db "$db" --seq 2
runs "log checkpoint" "$bin" log checkpoint --db "$db"
runs "log keys" "$bin" log keys --db "$db"
unfifo t.log-key
runs "log rotate-key (the log key only)" "$bin" log rotate-key --db "$db"
unfifo t.cpr-key
fifo t.log-key
runs "block list (a hub that writes no log: the CPR keys only)" "$bin" block list --db "$db" --patient pt-0
unfifo t.log-key
eq "CPR lookups after the rotation" "$(by_cpr "$db")" "$want"
out=$("$bin" log verify --db "$db" 2>&1); eq "verify after the rotation ($out)" "$?" 0

# migration: an installation of before the split, with the single file <db>.key
m="$work/m.db"
"$bin" init --db "$m" >/dev/null && "$bin" gen --db "$m" --patients 30 --seed 5 >/dev/null 2>&1 || bad "init m"
jq -s '{cpr_hash_key: .[0].cpr_hash_key, cpr_enc_key: .[0].cpr_enc_key, cluster_key: .[0].cluster_key,
        log_sign_sk: .[1].log_sign_sk, log_sign_pk: .[1].log_sign_pk, version: 1}' \
  "$work/m.cpr-key" "$work/m.log-key" >"$work/m.key" && chmod 600 "$work/m.key"
cp "$work/m.cpr-key" "$work/m.cpr-key.orig"; cp "$work/m.log-key" "$work/m.log-key.orig"
mwant=$(by_cpr "$m")
"$bin" log prove --db "$m" --seq 2 --checkpoint-now >"$work/mp.json" || bad "prove m"
rm "$work/m.cpr-key" "$work/m.log-key"
eq "R-CPR-2 CPR hashes unchanged through the migration" "$(by_cpr "$m")" "$mwant"
[ ! -e "$work/m.key" ] && ok || bad "the single key file is removed after the split"
for f in cpr-key log-key; do
  eq "migrated m.$f is 0600" "$(stat -c %a "$work/m.$f" 2>&1)" 600
  eq "migrated m.$f holds the same keys" "$(jq -cS 'del(.version, .purpose)' "$work/m.$f" 2>&1)" \
    "$(jq -cS 'del(.version, .purpose)' "$work/m.$f.orig")"
done
out=$("$bin" log verify --db "$m" 2>&1); eq "R-LOG-4 the migrated log verifies ($out)" "$?" 0
out=$("$bin" log check --db "$m" --proof "$work/mp.json" 2>&1); eq "an old proof checks ($out)" "$?" 0
"$bin" log prove --db "$m" --seq 40 --checkpoint-now >/dev/null && ok || bad "the migrated log signs on"
out=$("$bin" init --db "$m" 2>&1); rc=$?
eq "init refuses over split key files" "$rc" 1
the_end
