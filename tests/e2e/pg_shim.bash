#!/usr/bin/env bash
# pg_shim.bash - stands in for the overblik binary when an end-to-end script runs on
# PostgreSQL (tests/e2e/on_pg.bash; issue 18: "one test suite, two backends"). The scripts
# name SQLite files (`--db $work/t.db`); here each such file F stands for its own database
# in the throwaway PostgreSQL server that on_pg.bash started:
# - `init --db F` runs as written (it makes the key files beside F: F.cpr-key, F.log-key,
#   F.log-pub, F.jwt.pem, F.jwks.json) and then creates F's database afresh;
# - a command that runs on PostgreSQL (the list in src/cli/main.c: serve, load, gen,
#   decide, the changes, people, listing, source, stats, witness, and log show/assistants/verify/prove/expire) gets
#   F's database URI instead of F, with F's keys (--keys F.key); serve also gets the
#   development token keys (--jwks F.jwks.json, as on SQLite, even beside --oidc; not with
#   OB_SHIM_NO_JWKS=1); log verify and prove get the log's public key (--key F.log-pub);
# - `load` and `gen` put the same data into F too, for `token --patient ID`, which looks
#   the patient up in F;
# - every other command (token, tour, backup, ...) runs on F as written.
# A script that reads F itself (sqlite3) or relies on a file-bound command seeing the data
# cannot run here; those do not carry on_pg.bash's marker line.
# Environment (set by on_pg.bash): OB_REAL_BIN, the binary; OB_PG_DIR and OB_PG_PORT, the
# server's socket directory and port.
set -uo pipefail
real=${OB_REAL_BIN:?}
pgdir=${OB_PG_DIR:?}
pgport=${OB_PG_PORT:?}
ci="host=$pgdir port=$pgport user=postgres dbname=postgres"

cmd=${1:-}
sub=${2:-}
on_pg=""
case $cmd in
  serve | load | gen | decide | block | consent | grant | people | listing | source | stats | witness) on_pg=1 ;;
  log) case $sub in show | assistants | verify | prove | expire) on_pg=1 ;; esac ;;
esac

# the --db argument (either form), and whether --keys, --jwks, --oidc are given
db="" dbi=-1 has_keys="" has_jwks="" has_key=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --db) db=${args[i + 1]:-}; dbi=$((i + 1)) ;;
    --db=*) db=${args[i]#--db=}; dbi=$i ;;
    --keys | --keys=*) has_keys=1 ;;
    --jwks | --jwks=*) has_jwks=1 ;;
    --key | --key=*) has_key=1 ;;
  esac
done

# dbname F: F's database (a name PostgreSQL takes, from F's absolute path)
dbname() {
  local abs
  abs=$(realpath -m -- "$1")
  printf 'ob_%s' "$(printf '%s' "$abs" | md5sum | cut -c1-20)"
}
psql_() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -t -A "$ci" -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }

if [ "$cmd" = init ] && [ -n "$db" ]; then
  "$real" "$@" || exit $?
  n=$(dbname "$db")
  psql_ "DROP DATABASE IF EXISTS $n WITH (FORCE)" && psql_ "CREATE DATABASE $n" ||
    { echo "pg_shim: could not create the database for $db" >&2; exit 1; }
  exit 0
fi

if [ -z "$on_pg" ] || [ -z "$db" ] || [[ $db == postgresql:* || $db == postgres:* ]]; then
  exec "$real" "$@"
fi

n=$(dbname "$db")
base=${db%.db}
# a file never made by init (a command's own first open): its keys and database now, as
# a first open on SQLite makes them
if [ ! -e "$db" ] && [ -d "$(dirname -- "$db")" ]; then
  "$real" init --db "$db" >/dev/null 2>&1
fi
if [ -z "$(psql -X -q -t -A "$ci" -c "SELECT 1 FROM pg_database WHERE datname = '$n'")" ]; then
  psql_ "CREATE DATABASE $n" 2>/dev/null
fi
uri="postgresql://postgres@/$n?host=$pgdir&port=$pgport"
if [[ ${args[dbi]} == --db=* ]]; then args[dbi]="--db=$uri"; else args[dbi]=$uri; fi
[ -z "$has_keys" ] && [ -e "$base.log-key" ] && args+=(--keys "$base.key")
# the log's public key, which the commands on SQLite find beside F
[ "$cmd" = log ] && [[ $sub == verify || $sub == prove ]] && [ -z "$has_key" ] &&
  [ -e "$base.log-pub" ] && args+=(--key "$base.log-pub")
# as on SQLite, the development token keys beside F are taken too when --oidc is given
[ "$cmd" = serve ] && [ -z "$has_jwks" ] && [ -z "${OB_SHIM_NO_JWKS:-}" ] && [ -e "$base.jwks.json" ] && args+=(--jwks "$base.jwks.json")
if [ "$cmd" = load ] || { [ "$cmd" = gen ] && [[ " $* " != *" --out "* ]]; }; then
  # the same data into F too, so that `token --patient ID` (file-bound) knows the patients
  "$real" "${args[@]}" || exit $?
  "$real" "$@" >/dev/null 2>&1
  exit 0
fi
exec "$real" "${args[@]}"
