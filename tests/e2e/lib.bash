# lib.bash - what the end-to-end scripts (tests/e2e/*.sh) share: the pass/fail counters
# with their checks, and starting a real `overblik serve` in the background. Sourced, not
# run (CMake runs only the *.sh files). Needs $bin, the overblik binary.

# need TOOL...: stops the script (exit 1) when a tool it uses is not installed
need() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || { echo "$t is required"; exit 1; }; done
}

pass=0
failn=0
ok() { pass=$((pass + 1)); }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }
eq() { if [ "$2" = "$3" ]; then ok; else bad "$1 (got '$2', wanted '$3')"; fi; }
# has DESCRIPTION HAYSTACK NEEDLE / hasnt ...: whether the text holds the string (fixed, not a pattern)
has() { if grep -qF -- "$3" <<<"$2"; then ok; else bad "$1 (wanted '$3' in: ${2:0:400})"; fi; }
hasnt() { if grep -qF -- "$3" <<<"$2"; then bad "$1 (did not want '$3')"; else ok; fi; }

# noself JSON: the body, compact, without its Bundle's self link. The self link echoes the
# search as asked (FHIR: the parameters the server used), so a hidden patient's answer and
# an absent one's differ there and only there.
noself() {
  jq -c 'if (.link | type) == "array" then .link |= map(select(.relation != "self"))
         | if .link == [] then del(.link) else . end else . end' <<<"$1"
}

# serve_bg PIDVAR ADDRVAR OUT ERR ARGS...: runs `$bin serve ARGS` in the background, its
# stdout into OUT and its stderr appended to ERR; waits up to 10 s for it to listen; sets
# PIDVAR to its pid and ADDRVAR to its http://127.0.0.1:PORT ("" if it did not start).
serve_bg() {
  local -n serve_pid_=$1 serve_addr_=$2
  local out=$3 err=$4
  shift 4
  : >"$out"
  "$bin" serve "$@" >"$out" 2>>"$err" &
  serve_pid_=$!
  serve_addr_=""
  for _ in $(seq 1 100); do grep -q "listening on" "$out" 2>/dev/null && break; sleep 0.1; done
  serve_addr_=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -1)
}

# One write per token: the server refuses a token's jti the second time it is used for a
# write (docs/api.md). `mint DB ARGS...` mints with `overblik token --db DB ARGS...` and
# remembers the arguments (in $work/.tokens); `fresh TOKEN` mints a twin of a token made
# by mint (same claims, a new jti), or echoes TOKEN as it is; `is_write METHOD PATH` says
# whether the request is a write (PUT, PATCH, DELETE; a POST under /fhir that is not a
# _search or a reading operation; $end ends a grant, so it writes).
mint() {
  local db_=$1 t_
  shift
  t_=$("$bin" token --db "$db_" "$@") || return 1
  printf '%s\t%s\t%s\n' "$t_" "$db_" "$(printf '%q ' "$@")" >>"$work/.tokens"
  printf '%s\n' "$t_"
}
fresh() {
  local line_
  line_=$(grep -m1 -F "$1	" "$work/.tokens" 2>/dev/null) || { printf '%s\n' "$1"; return 0; }
  eval "\"\$bin\" token --db $(printf '%q' "$(cut -f2 <<<"$line_")") $(cut -f3 <<<"$line_")"
}
is_write() {
  case $1 in
    PUT | PATCH | DELETE) return 0 ;;
    POST) [[ $2 == /fhir/* && $2 != *_search* && ($2 != *'$'* || $2 == *'$end'*) ]] ;;
    *) return 1 ;;
  esac
}

# The backend the script runs on: sqlite, or postgresql under tests/e2e/on_pg.bash, where
# each database file the script names stands for a database of a throwaway server
# (tests/e2e/pg_shim.bash). on_pg TRUE: whether it is PostgreSQL.
on_pg() { [ "${OB_BACKEND:-sqlite}" = postgresql ]; }
# dbq DB SQLITE_SQL [PG_SQL]: asks the database directly (what the API does not show, such
# as the rows a killed server left), in the form for the backend it is on: SQLite's tables
# (records, appointments, log_entries) or PostgreSQL's (store_records, store_appointments,
# log_pg_entry); the statistics' tables (stats_*) have the same names and columns on both,
# so one form does. Output as sqlite3 prints it: one row a line, columns joined by '|'.
pg_ci() { printf 'host=%s port=%s user=postgres dbname=%s' "$OB_PG_DIR" "$OB_PG_PORT" "$(pg_dbname "$1")"; } # libpq conninfo of DB's database
pg_dbname() { printf 'ob_%s' "$(realpath -m -- "$1" | tr -d '\n' | md5sum | cut -c1-20)"; } # as pg_shim.bash
dbq() {
  if on_pg; then
    psql -X -q -t -A "$(pg_ci "$1")" -c "${3-$2}"
  else
    sqlite3 -cmd '.timeout 5000' "$1" "$2"
  fi
}

# log_max DB: the newest entry's seq in DB's log (0 when empty), on either backend
log_max() { dbq "$1" "select coalesce(max(seq), 0) from log_entries" "select coalesce(max(seq), 0) from log_pg_entry"; }
# log_of DB SINCE --patient ID | --actor ID ...: the log's entries after seq SINCE as JSON
# lines (`overblik log show --json`: the CLI's view, the same on either backend), for jq
log_of() {
  local db_=$1 since_=$2
  shift 2
  "$bin" log show --db "$db_" "$@" --json | jq -c --argjson s "$since_" 'select(.seq > $s)'
}

# db_at DB: where the server finds DB, for a configuration file that names it (the shim
# sees only the command line): the file itself, or its database's URI on PostgreSQL
db_at() {
  if on_pg; then
    printf 'postgresql://postgres@/%s?host=%s&port=%s' "$(pg_dbname "$1")" "$OB_PG_DIR" "$OB_PG_PORT"
  else
    printf '%s' "$1"
  fi
}

# the_end: prints the counts; the script's exit status says whether anything failed
the_end() {
  echo "$pass passed, $failn failed"
  [ "$failn" -eq 0 ]
}
