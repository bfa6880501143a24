#!/usr/bin/env bash
# on_pg.bash SCRIPT [ARGS] - runs an end-to-end or attack script (tests/e2e/*.sh,
# tests/security/*.sh) on PostgreSQL instead of SQLite (issue 18: "one test suite, two
# backends"): starts a throwaway PostgreSQL 15 (scripts/pg/throwaway.sh), puts
# tests/e2e/pg_shim.bash in the binary's place ($OB_BIN), so that every database file the
# script names is a database of that server, runs the script with OB_BACKEND=postgresql,
# and stops the server. The script's exit status is this one's. CMake registers the scripts
# that hold the line "# backends: sqlite postgresql" as pg/NAME too.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: on_pg.bash SCRIPT [ARGS]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OB_BIN:?OB_BIN must point at the overblik binary}"
dir=$(mktemp -d /tmp/obonpg.XXXXXX)
chmod 755 "$dir"
stop() { bash "$root/scripts/pg/throwaway.sh" stop "$dir/pg"; rm -rf "$dir"; }
trap stop EXIT
bash "$root/scripts/pg/throwaway.sh" start "$dir/pg" >/dev/null || { echo "no PostgreSQL"; exit 1; }
OB_REAL_BIN=$(realpath "$OB_BIN") OB_PG_DIR=$dir/pg OB_PG_PORT=$(cat "$dir/pg/port") \
  OB_BACKEND=postgresql OB_BIN=$root/tests/e2e/pg_shim.bash bash "$@"
