#!/usr/bin/env bash
# throwaway.sh - a throwaway PostgreSQL 15 server for tests (issue 18: "one test suite, two
# backends"): initdb in DIR, listening only on a Unix socket in DIR, owned and run by an
# unprivileged user (PostgreSQL refuses root: the `postgres` account that Debian's package
# creates), fsync on as in production. Nothing outside DIR is touched; `stop DIR` and
# `rm -rf DIR` leave nothing behind.
#
#   throwaway.sh start DIR   starts it, prints a libpq conninfo on stdout
#   throwaway.sh stop DIR    stops it (fast shutdown), waits
#
# The settings are written into DIR/data/postgresql.conf, not given on the command line, so
# a copy of the data directory (pg_basebackup, tests/e2e/pg_backup.sh) starts with them too.
# OB_PG_CONF: more lines for postgresql.conf (e.g. archive_mode = on).
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: throwaway.sh start|stop DIR" >&2; exit 2; }
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || { echo "throwaway.sh: PostgreSQL 15 is not installed (bash scripts/install-deps.sh)" >&2; exit 1; }
user=postgres
as() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi; }
case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$user" "$dir"
  chmod 700 "$dir"
  as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # socket only, in DIR; a port number is still part of the socket's name
  port=$(( 20000 + RANDOM % 20000 ))
  printf "%s\n" "# throwaway.sh" "listen_addresses = ''" "unix_socket_directories = '$dir'" \
    "port = $port" "fsync = on" "synchronous_commit = on" "max_connections = 50" \
    "${OB_PG_CONF:-}" >>"$dir/data/postgresql.conf"
  as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { tail -20 "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "host=$dir port=$port dbname=postgres user=postgres"
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  ;;
*) echo "usage: throwaway.sh start|stop DIR" >&2; exit 2 ;;
esac
