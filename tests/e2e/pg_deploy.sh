#!/usr/bin/env bash
# The PostgreSQL cluster's units and configuration (issue 18; deploy/pg/, docs/operations.md
# "On PostgreSQL"). systemd is not PID 1 on the test machine, so nothing is started here:
#   1. `systemd-analyze verify` accepts every unit and timer in deploy/pg/ with no warning, and
#      they read the files docs/operations.md renders (/etc/overblik/pg/...);
#   2. what scripts/pg/cluster.sh writes for the loopback cluster (the one tests/e2e/
#      pg_failover.sh kills) is, byte for byte, what deploy/pg/render.sh renders from its
#      site file: one set of templates for the test and for production;
#   3. the production example (deploy/pg/site.env.example) renders with no placeholder left:
#      haproxy accepts its file (`haproxy -c`), the YAML parses, and Patroni's validator finds
#      nothing but what depends on the machine it runs on (addresses not here, etcd not
#      running); a site file without a value renders nothing (exit 2).
# Prints "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"
need systemd-analyze haproxy patroni python3
root=$(cd "$(dirname "$0")/../.." && pwd)
pgdeploy=$root/deploy/pg
render=$pgdeploy/render.sh
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# --- 1. the units
mkdir "$work/units"
for f in "$pgdeploy"/*.service "$pgdeploy"/*.timer; do
  sed "s|/usr/local/bin/overblik|$bin|" "$f" >"$work/units/$(basename "$f")"
done
rc=0
out=$(cd "$work/units" && systemd-analyze verify ./*.service ./*.timer 2>&1) || rc=$?
eq "systemd-analyze verify deploy/pg: exit 0" "$rc" 0
eq "systemd-analyze verify deploy/pg: no warning" "$out" ""
u=$pgdeploy
eq "etcd's unit reads the rendered etcd.yml" "$(grep '^ExecStart=' "$u/overblik-etcd.service")" \
  "ExecStart=/usr/bin/etcd --config-file /etc/overblik/pg/etcd.yml"
eq "Patroni's unit reads the rendered patroni.yml" "$(grep '^ExecStart=' "$u/overblik-patroni.service")" \
  "ExecStart=/usr/bin/patroni /etc/overblik/pg/patroni.yml"
has "haproxy's unit reads the rendered haproxy.cfg" "$(grep '^ExecStart=' "$u/overblik-haproxy.service")" \
  "-f /etc/overblik/pg/haproxy.cfg"
eq "Patroni stops PostgreSQL itself" "$(grep '^KillMode=' "$u/overblik-patroni.service")" "KillMode=process"
ops=$(cat "$root/docs/operations.md")
for f in etcd.yml patroni.yml haproxy.cfg; do
  has "docs/operations.md renders /etc/overblik/pg/$f" "$ops" ">/etc/overblik/pg/$f"
done
w=$(sed -n '/^ExecStart=/,/^[A-Z]/p' "$u/overblik-pg-witness.service" | tr -d '\\\n' | tr -s ' ')
has "the witness unit checks the last head" "$w" "--expect-head /var/lib/overblik-pg-witness/head"
has "... and records the new one" "$w" "--save-head /var/lib/overblik-pg-witness/head"
has "the witness timer runs it" "$(cat "$u/overblik-pg-witness.timer")" "OnCalendar=hourly"

# --- 2. the loopback cluster's files are the templates' (what pg_failover.sh runs)
c=$work/cluster
mkdir "$c"
bash "$root/scripts/pg/cluster.sh" config "$c" >/dev/null
for i in 1 2 3; do
  eq "cluster.sh n$i/patroni.yml = render.sh patroni $i" \
    "$(cmp "$c/n$i/patroni.yml" <(bash "$render" patroni "$c/site.env" "$i") 2>&1 && echo same)" same
done
eq "cluster.sh etcd.yml = render.sh etcd 1" \
  "$(cmp "$c/etcd/etcd.yml" <(bash "$render" etcd "$c/site.env" 1) 2>&1 && echo same)" same
eq "cluster.sh haproxy.cfg = render.sh haproxy" \
  "$(cmp "$c/haproxy.cfg" <(bash "$render" haproxy "$c/site.env") 2>&1 && echo same)" same
eq "the loopback cluster's patroni.yml is the postgres user's alone" "$(stat -c %a "$c/n1/patroni.yml")" 600
has "... archives WAL into the cluster's directory" "$(cat "$c/n1/patroni.yml")" \
  "archive_command: 'test ! -f $c/wal-archive/%f"
rc=0; out=$(haproxy -c -q -f "$c/haproxy.cfg" 2>&1) || rc=$?
eq "haproxy -c accepts the loopback cluster's file" "$rc" 0

# --- 3. the production example
site=$pgdeploy/site.env.example
for i in 1 2 3; do
  bash "$render" patroni "$site" "$i" >"$work/patroni$i.yml"
  bash "$render" etcd "$site" "$i" >"$work/etcd$i.yml"
done
bash "$render" haproxy "$site" >"$work/haproxy.cfg"
eq "no placeholder is left" "$(cat "$work"/*.yml "$work/haproxy.cfg" | grep -o '@[A-Z0-9_]*@' | head -3)" ""
has "members by name" "$(cat "$work/patroni2.yml")" "name: pg2"
has "haproxy checks every member's Patroni" "$(cat "$work/haproxy.cfg")" "server pg3 10.0.0.13:5432 check port 8008"
rc=0; out=$(haproxy -c -q -f "$work/haproxy.cfg" 2>&1) || rc=$?
eq "haproxy -c accepts the example's file" "$rc" 0
rc=0
out=$(python3 -c 'import sys, yaml
for f in sys.argv[1:]:
    d = yaml.safe_load(open(f))
    assert isinstance(d, dict) and d["name"], f' "$work"/*.yml 2>&1) || rc=$?
eq "every rendered YAML file parses" "$rc" "0"
chmod 644 "$work/patroni1.yml"
out=$(as_pg patroni --validate-config "$work/patroni1.yml" 2>&1 || true)
# what the validator checks against this machine: the example's addresses are not here, etcd
# does not run; pg_hba is given under postgresql:, not bootstrap:
eq "Patroni's validator: nothing but what depends on this machine" "$(grep -v -e 'is not reachable' \
  -e 'already in use' -e 'bootstrap.pg_hba  is not defined' -e '^Configuration file is valid' <<<"$out" |
  grep . || true)" ""
sed 's/ PW_REWIND=[^ ]*//' "$site" >"$work/short.env"
rc=0; out=$(bash "$render" patroni "$work/short.env" 1 2>&1) || rc=$?
eq "a site file without a value: exit 2" "$rc" 2
has "... naming it" "$out" "gives no PW_REWIND"
hasnt "... and nothing rendered" "$out" "scope:"
the_end
