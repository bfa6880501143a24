#!/usr/bin/env bash
# ATTACK: forged access-log proofs against the independent verifier (R-LOG-4, R-LOG-8;
# threat rows T-LOG-FMT-8, T-LOG-FMT-9 in docs/security.md). web/verify/verify.mjs is a
# second implementation, in JavaScript, written from docs/log.md alone. On a real log
# (checkpoints at several sizes, a key rotation, a witness's cosignature) it must agree with
# the C verifier (`overblik log check`) on every proof the CLI and the server make:
# inclusion proofs of several seqs (`log prove`, the citizen's $prove), consistency proofs
# between many pairs of checkpoint sizes (`log consistency`, GET /log/consistency) and the
# checkpoints themselves (with the witness's cosignature); and both must refuse every
# forged copy (a flipped byte in a signature, root, path node, leaf input, shown field or
# tree size; a repeated key; a wrong key). At a78fde3 there was neither: no JS verifier and
# no checkpoint notes, cosignatures or consistency proofs to check.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.bash"
need sqlite3 jq curl node
js="$here/../../web/verify/verify.mjs"
forge="$here/js_verifier_forge.mjs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/t.db"
pub="$work/t.log-pub"

"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 40 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 40 --seed 5 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
decide() { # decide N: N logged reads
  local i
  for i in $(seq 1 "$1"); do
    echo "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-$((i % 20))\",\"category\":\"lab_result\",\"origin\":\"$gp\",\"purpose\":\"TREAT\"}"
  done | "$bin" decide --db "$db" >/dev/null
}
cut_now() { "$bin" log prove --db "$db" --seq 1 --checkpoint-now >/dev/null; }

# a log with checkpoints at several sizes, a rotation in the middle, a witness at the end
"$bin" witness init --key "$work/w.key" --name witness.example/w1 >"$work/w.vkey" || { echo "witness init failed"; exit 1; }
wvkey=$(cat "$work/w.vkey")
for n in 1 3 6 17; do decide "$n"; cut_now; done
"$bin" log rotate-key --db "$db" >/dev/null || bad "rotate-key"
for n in 2 31 5; do decide "$n"; cut_now; done
"$bin" witness update --state "$work/state" --log-key "$pub" --key "$work/w.key" --from "$db" --store >/dev/null \
  || bad "witness update"
eq "the key file lists both keys" "$(grep -c + "$pub")" 2
mapfile -t sizes < <(sqlite3 "$db" "select size from log_checkpoints where note is not null order by size")
last=${sizes[${#sizes[@]}-1]}
[ "${#sizes[@]}" -ge 8 ] && ok || bad "at least 8 checkpoints (${sizes[*]})"

# agree KIND FILE [ARGS]: the C and the JS verifier both say it holds
c_check() { # c_check KIND FILE [ARGS]
  case $1 in
    inclusion) "$bin" log check --proof "$2" --key "$pub" "${@:3}" ;;
    consistency) "$bin" log check --consistency "$2" --key "$pub" "${@:3}" ;;
    checkpoint) "$bin" log check --checkpoint "$2" --key "$pub" "${@:3}" ;;
  esac
}
agree() {
  local out rc
  out=$(c_check "$@" 2>&1); rc=$?
  eq "C verifier: $1 $(basename "$2") holds ($out)" "$rc" 0
  out=$(node "$js" "$1" --keys "$pub" "${@:3}" "$2" 2>&1); rc=$?
  eq "R-LOG-8 JS verifier agrees: $1 $(basename "$2") holds ($out)" "$rc" 0
}
# refuse KIND FILE WHAT [ARGS]: neither verifier says it holds
refuse() {
  local kind=$1 f=$2 what=$3 out rc
  shift 3
  out=$(node "$js" "$kind" --keys "${KEYS:-$pub}" "$@" "$f" 2>&1); rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && ok || bad "R-LOG-4 JS refuses $kind with $what (rc=$rc: $out)"
  hasnt "JS: $kind with $what does not hold" "$out" "holds"
  case $kind in
    inclusion) out=$("$bin" log check --proof "$f" --key "${KEYS:-$pub}" "$@" 2>&1) ;;
    consistency) out=$("$bin" log check --consistency "$f" --key "${KEYS:-$pub}" "$@" 2>&1) ;;
    checkpoint) out=$("$bin" log check --checkpoint "$f" --key "${KEYS:-$pub}" "$@" 2>&1) ;;
  esac
  rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && ok || bad "C refuses $kind with $what too (rc=$rc: $out)"
}

# --- inclusion proofs from the CLI: first, inside, at a checkpoint's edge, after rotation, last
mid=$((sizes[3] + 1))
for s in 1 2 "${sizes[0]}" $((sizes[0] + 1)) "$mid" "${sizes[4]}" $((last - 1)) "$last"; do
  "$bin" log prove --db "$db" --seq "$s" >"$work/p$s.json" || bad "prove $s"
  agree inclusion "$work/p$s.json"
done
has "the newest proof carries the cosignature" "$(jq -r .checkpoint "$work/p$last.json")" "— witness.example/w1 "
agree inclusion "$work/p$last.json" --witness-key "$wvkey"

# --- consistency proofs from every checkpoint size to itself, the next and the newest
npairs=0
nsz=${#sizes[@]}
for ((i = 0; i < nsz; i++)); do
  for j in $(printf '%s\n' "$i" $((i + 1)) $((nsz - 1)) | sort -nu); do
    [ "$j" -lt "$nsz" ] || continue
    f="$work/c${sizes[i]}-${sizes[j]}.json"
    "$bin" log consistency --db "$db" --from "${sizes[i]}" --to "${sizes[j]}" >"$f" || bad "consistency ${sizes[i]} ${sizes[j]}"
    agree consistency "$f"
    npairs=$((npairs + 1))
  done
done
[ "$npairs" -ge 20 ] && ok || bad "consistency pairs checked: $npairs"

# --- checkpoints: every stored note, and the witness's cosigned state
for s in "${sizes[@]}"; do
  sqlite3 "$db" "select note from log_checkpoints where size=$s" | head -c -1 >"$work/n$s.note"
done
for s in "${sizes[0]}" "${sizes[4]}" "$last"; do agree checkpoint "$work/n$s.note"; done
agree checkpoint "$work/state" --witness-key "$wvkey"

# --- the server: GET /log/checkpoint, /log/consistency, /log/key, and a citizen's $prove
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
if [ -n "$addr" ]; then
  curl -s "$addr/log/key" >"$work/http.pub"
  cmp -s "$work/http.pub" "$pub" && ok || bad "GET /log/key is the key file"
  curl -s "$addr/log/checkpoint" >"$work/http.note"
  agree checkpoint "$work/http.note"
  for pair in "${sizes[0]} ${sizes[5]}" "${sizes[2]} $last" "${sizes[6]} $last"; do
    set -- $pair
    curl -s "$addr/log/consistency?from=$1&to=$2" >"$work/hc$1-$2.json"
    agree consistency "$work/hc$1-$2.json"
  done
  # R-SRC-3: a source system's report of an access enters the same chain; its proof too
  t_src=$("$bin" token --db "$db" --kind system --client-id epj-hosp-0 --site hosp-0)
  body=$(printf '{"resourceType":"AuditEvent","type":{"code":"110110"},"recorded":"%s","agent":[{"who":{"display":"Dea Eng"},"requestor":true}],"source":{"observer":{"reference":"Organization/hosp-0"}},"entity":[{"what":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}}}]}' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(tr -d - <<<"$cpr")")
  code=$(curl -s -o "$work/rep.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $t_src" \
    -H "Content-Type: application/fhir+json" --data-binary "$body" "$addr/fhir/AuditEvent")
  eq "R-SRC-3: a source's report of an access enters the log" "$code" 201
  rep=$(jq -r .id "$work/rep.json")
  cit=$("$bin" token --db "$db" --kind citizen --cpr "$cpr")
  pt0=$(sqlite3 "$db" "select json_extract(json,'\$.id') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
  mapfile -t own < <(sqlite3 "$db" "select seq from log_entries where patient='$pt0' order by seq" | sed -n '1p;$p')
  [ "${#own[@]}" -ge 1 ] && ok || bad "pt-0 has log entries"
  own+=("$rep")
  for s in "${own[@]}"; do
    code=$(curl -s -o "$work/fhir$s.json" -w '%{http_code}' -H "Authorization: Bearer $cit" \
      "$addr/fhir/AuditEvent/$s/\$prove")
    eq "the citizen's \$prove of $s" "$code" 200
    eq "\$prove says its format" "$(jq -r '.parameter[] | select(.name == "format") | .valueString' "$work/fhir$s.json")" \
      overblik-log-proof-v2
    jq -r '.parameter[] | select(.name == "proof") | .valueString' "$work/fhir$s.json" >"$work/hp$s.json"
    agree inclusion "$work/hp$s.json"
    out=$(node "$js" inclusion --keys "$work/http.pub" "$work/fhir$s.json" 2>&1)
    eq "JS reads the FHIR Parameters answer itself ($out)" "$?" 0
  done
  kill "$srv"; wait "$srv" 2>/dev/null
else
  bad "server did not start: $(cat "$work/err.txt")"
fi

# --- forgeries. T-LOG-FMT-8: a forged inclusion proof or checkpoint
p="$work/p$last.json"
for op in sig root size size+tree tree_size path path-last path-drop path-add leaf leaf+entry \
  seq seq+index index time_utc event_name actor_name reason time drop-field extra-field \
  extra-key format origin nosig; do
  node "$forge" inclusion "$op" "$p" "$work/f.json" || { bad "forge $op"; continue; }
  refuse inclusion "$work/f.json" "$op"
done
p1="$work/p${sizes[0]}.json" # signed by the first key, before the rotation
for op in sig root leaf+entry; do
  node "$forge" inclusion "$op" "$p1" "$work/f.json" && refuse inclusion "$work/f.json" "$op (old key)"
done
node "$forge" inclusion cosig "$p" "$work/f.json" && refuse inclusion "$work/f.json" "cosig" --witness-key "$wvkey"
# a repeated key: a viewer may show one, a checker read the other (T-LOG-FMT-7)
sed '0,/"reason": /s//"reason": "forged", "reason": /' "$p" >"$work/f.json"
[ "$(grep -o '"reason"' "$work/f.json" | wc -l)" -eq 2 ] && ok || bad "duplicate key written"
refuse inclusion "$work/f.json" "a repeated reason key"
sed '0,/"seq": /s//"seq": 1, "seq": /' "$p" >"$work/f.json"
refuse inclusion "$work/f.json" "a repeated seq key"
# a wrong key: another log's key file, and the old key alone for a new proof
"$bin" init --db "$work/other.db" >/dev/null && "$bin" log keys --db "$work/other.db" >/dev/null
KEYS="$work/other.log-pub" refuse inclusion "$p" "another log's key"
head -1 "$pub" >"$work/first.pub"
KEYS="$work/first.pub" refuse inclusion "$p" "the rotated-out key alone"
# checkpoints
for op in sig root size origin nosig; do
  node "$forge" checkpoint "$op" "$work/n$last.note" "$work/f.note" && refuse checkpoint "$work/f.note" "$op"
done
for op in cosig cosigtime dropcosig; do
  node "$forge" checkpoint "$op" "$work/state" "$work/f.note" &&
    refuse checkpoint "$work/f.note" "$op" --witness-key "$wvkey"
done
KEYS="$work/other.log-pub" refuse checkpoint "$work/n$last.note" "another log's key"

# T-LOG-FMT-9: a forged consistency proof (a rolled-back or forked log passed off as an extension)
c="$work/c${sizes[1]}-$last.json"
for op in node node-last node-drop node-add from-root to-root from-sig to-sig to-size from to \
  swap same extra-key; do
  node "$forge" consistency "$op" "$c" "$work/f.json" || { bad "forge $op"; continue; }
  refuse consistency "$work/f.json" "$op"
done
sed '0,/"from": /s//"from": 1, "from": /' "$c" >"$work/f.json"
refuse consistency "$work/f.json" "a repeated from key"
KEYS="$work/other.log-pub" refuse consistency "$c" "another log's key"
# the notes of another pair with this pair's proof
refuse consistency "$c" "another pair's checkpoints" --from-note "$work/n${sizes[0]}.note" \
  --to-note "$work/n$last.note"
the_end
