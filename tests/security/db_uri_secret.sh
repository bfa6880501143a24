#!/usr/bin/env bash
# Attack: the database URI's password in a terminal, a log or a support ticket (issue 18,
# docs/security.md T-DB-1). A PostgreSQL --db is a URI that may carry user:password; every
# command that took it derived file names from it (the JWKS "beside the database", a
# missing-database hint) and printed them, password included. Every command, with the URI
# as --db URI, --db=URI and OVERBLIK_DB: nothing it prints holds the password, and each but
# the few that run on PostgreSQL (serve, load, log verify/prove/expire, the hub's commands
# and stats, witness update) refuse plainly (exit 2); serve without the key files it needs there is a
# usage error too. The witness, which runs on PostgreSQL, is given its state file: none is
# named after the URI.
# Prints "N passed, M failed"; exits non-zero on any failure. A few seconds.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secret=Hunter2sEcReT
uri="postgresql://clinician:$secret@127.0.0.1:1/overblik?connect_timeout=2"
printf 'x' >"$work/key.pub"

cmds=("serve" "init" "token --kind citizen --patient pt-1" "backup --out $work/copy.db"
  "restore --from $work/copy.db" "tour" "log expire --before 2020-01-01"
  "cpr lookup")
for c in "${cmds[@]}"; do
  for form in arg eq env; do
    case $form in
    arg) out=$("$bin" $c --db "$uri" 2>&1); rc=$? ;;
    eq) out=$("$bin" $c "--db=$uri" 2>&1); rc=$? ;;
    env) out=$(OVERBLIK_DB="$uri" "$bin" $c 2>&1); rc=$? ;;
    esac
    if grep -q "$secret" <<<"$out"; then
      bad "'$c' ($form) printed the password: $(head -c 200 <<<"$out")"
    elif [ "$rc" -ne 2 ]; then
      bad "'$c' ($form) exit $rc, not the usage refusal: $(head -c 200 <<<"$out")"
    else
      ok
    fi
  done
done
# log verify and log prove do run on PostgreSQL: they fail to connect here, and say so
# without the password
out=$("$bin" log verify --db "$uri" --key "$work/key.pub" 2>&1)
grep -q "$secret" <<<"$out" && bad "log verify printed the password: $out" || ok
out=$("$bin" log prove --db "$uri" --seq 1 2>&1); rc=$?
grep -q "$secret" <<<"$out" && bad "log prove printed the password: $out" || ok
[ "$rc" -eq 3 ] && ok || bad "log prove: an unreachable server is a storage error (rc=$rc: $out)"
# the commands that run on PostgreSQL through the hub (with the key file named): unreachable,
# they say so and stop, without the password; without --keys, a plain refusal
"$bin" init --db "$work/k.db" >/dev/null 2>&1
for c in "gen --patients 5" "decide --pro p --patient pt-1" "block list --patient pt-1" \
  "consent list --patient pt-1" "grant list" "people list" "log show --patient pt-1" \
  "stats cluster --cluster c --code T90" "stats expire" "source list" "listing import -"; do
  for keys in "" "--keys $work/k.key"; do
    out=$("$bin" $c --db "$uri" $keys 2>&1 </dev/null); rc=$?
    if grep -q "$secret" <<<"$out"; then bad "'$c' $keys printed the password: $(head -c 200 <<<"$out")"
    elif [ "$rc" -eq 0 ]; then bad "'$c' $keys on an unreachable PostgreSQL: exit 0"
    else ok; fi
  done
done
# the witness reads the log on PostgreSQL (--db, OVERBLIK_DB or --from): unreachable, a
# storage error without the password, and no file named after the URI
"$bin" witness init --key "$work/w.key" --name witness.example/w >/dev/null 2>&1
wit=(witness update --state "$work/w.state" --log-key "$work/k.log-pub" --key "$work/w.key" --store)
for form in arg from env; do
  case $form in
  arg) out=$("$bin" "${wit[@]}" --db "$uri" 2>&1); rc=$? ;;
  from) out=$("$bin" "${wit[@]}" --from "$uri" 2>&1); rc=$? ;;
  env) out=$(cd "$work" && OVERBLIK_DB="$uri" "$bin" "${wit[@]}" 2>&1); rc=$? ;;
  esac
  grep -q "$secret" <<<"$out" && bad "witness update ($form) printed the password: $out" || ok
  [ "$rc" -eq 3 ] && ok || bad "witness update ($form) on an unreachable PostgreSQL: exit $rc ($out)"
done
out=$("$bin" witness cosign --db "$uri" 2>&1); rc=$?
grep -q "$secret" <<<"$out" && bad "witness cosign printed the password: $out" || ok
[ "$rc" -eq 2 ] && ok || bad "witness with no such subcommand: exit $rc"
[ -z "$(find "$work" -name "*$secret*" -o -name '*127.0.0.1*' -o -name '*overblik?*')" ] && ok ||
  bad "a file named after the URI: $(find "$work")"
echo '{"type":"org","id":"o1","name":"O"}' >"$work/one.ndjson"
out=$("$bin" load --db "$uri" --keys "$work/k.key" "$work/one.ndjson" 2>&1); rc=$?
grep -q "$secret" <<<"$out" && bad "load printed the password: $out" || ok
[ "$rc" -ne 0 ] && ok || bad "load into an unreachable PostgreSQL succeeded"
out=$(timeout 20 "$bin" serve --db "$uri" --keys "$work/k.key" --jwks "$work/k.jwks.json" \
  --listen 127.0.0.1:0 2>&1); rc=$?
grep -q "$secret" <<<"$out" && bad "serve printed the password: $out" || ok
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok || bad "serve on an unreachable PostgreSQL: exit $rc ($out)"
the_end
