#!/usr/bin/env bash
# render.sh - the PostgreSQL cluster's configuration files from their templates in deploy/pg/
# (docs/operations.md "On PostgreSQL"): one site file of KEY=value lines describes the whole
# cluster; each host's files are rendered from it. scripts/pg/cluster.sh renders the loopback
# test cluster with this same script, so what the failover test runs is what is deployed.
#
#   render.sh patroni SITE N   Patroni's YAML for member N (1, 2 or 3)
#   render.sh etcd SITE N      etcd's configuration file for member N
#   render.sh haproxy SITE     haproxy's configuration (the same on every host that runs one)
#
# SITE (see deploy/pg/site.env.example) is sourced by bash. A placeholder @KEY@ takes the
# site's KEY; in a member's file @NAME@ @HOST@ @PG_PORT@ @API_PORT@ @DATA_DIR@ @SOCKET_DIR@
# @PGPASS@ take NAME_N, HOST_N, ... . A placeholder without a value is an error: nothing is
# printed then.
set -euo pipefail
die() { echo "render.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: render.sh patroni|etcd SITE N | render.sh haproxy SITE"
what=$1 site=$2 n=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
case $what in
  patroni | etcd) [[ $n =~ ^[123]$ ]] || die "$what needs a member number, 1 to 3" ;;
  haproxy) [ -z "$n" ] || die "haproxy takes no member number" ;;
  *) die "unknown file '$what' (patroni, etcd, haproxy)" ;;
esac
[ -r "$site" ] || die "cannot read the site file $site"
# shellcheck source=/dev/null
. "$site"
per_member=" NAME HOST PG_PORT API_PORT DATA_DIR SOCKET_DIR PGPASS "
case $what in
  patroni) text=$(<"$here/patroni.yml.in") ;;
  etcd) text=$(<"$here/etcd.yml.in") ;;
  haproxy) text=$(<"$here/haproxy.cfg.in") ;;
esac
for ph in $(grep -o '@[A-Z0-9_]*@' <<<"$text" | sort -u); do
  key=${ph//@/}
  var=$key
  [ -n "$n" ] && [[ $per_member == *" $key "* ]] && var=${key}_$n
  [ -n "${!var:-}" ] || die "$site gives no $var (for $ph in $what)"
  text=${text//"$ph"/"${!var}"}
done
printf '%s\n' "$text"
