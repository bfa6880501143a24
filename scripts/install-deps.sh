#!/usr/bin/env bash
# Installs the Debian packages overblik builds, tests and benchmarks with.
# Idempotent: does nothing (and needs no network) when everything is present.
# PostgreSQL 15 and libpq are the second backend (issue 18: store/pg/log_pg.c, store/pg/pg_sync.c,
# tested on a throwaway server, scripts/pg/throwaway.sh). Patroni, etcd, haproxy and
# psycopg2 (the test's writers) are for the failover
# test cluster (scripts/pg/cluster.sh, tests/e2e/pg_failover.sh, docs/failover.md). Under
# systemd the packages start a `main` cluster on 5432, an etcd on 2379/2380 and an haproxy;
# the test cluster uses its own directories and free loopback ports, so they do not matter.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang clang-format libclang-rt-14-dev valgrind
      libtsan2 libsqlite3-dev sqlite3 libsodium-dev libjansson-dev libcmocka-dev
      libmicrohttpd-dev libgnutls28-dev libjwt-dev libssl-dev libcurl4-openssl-dev openssl curl
      jq python3 strace systemd libglpk-dev glpk-utils libxml2-utils librsvg2-bin
      chromium
      postgresql-15 postgresql-client-15 libpq-dev patroni etcd-server etcd-client haproxy
      python3-psycopg2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
