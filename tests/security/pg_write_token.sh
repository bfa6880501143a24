#!/usr/bin/env bash
# Attack (T-DB-4; docs/api.md "one write per token"): a token captured from one write is sent
# again to another server. Each server remembered the tokens used for writes in its own
# memory only, so with two servers behind a load balancer every write token could be used
# twice: a block created twice, a consent given again after the patient revoked it. Now the
# servers on one PostgreSQL database record each write token there, and the second server
# refuses the replay (401) and changes nothing. Fails without ob_pgsync_claim_once (the
# second POST is a 201).
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
. "$(dirname "$0")/../e2e/pg_lib.bash"
pg_two_servers
pg_block
t=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr")
post() { curl -s -o "$work/p.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $t" \
  -H 'Content-Type: application/fhir+json' "$1/fhir/Consent" --data-binary "$block"; }
n0=$(sql "SELECT count(*) FROM store_records WHERE type = 'block'")
eq "the patient's block on server a" "$(post "$addr_a")" 201
eq "the same token again on server b: refused" "$(post "$addr_b")" 401
has "... saying why" "$(cat "$work/p.json")" "used for a write already"
eq "the same token again on server a: refused" "$(post "$addr_a")" 401
eq "one block stored, not two" "$(sql "SELECT count(*) FROM store_records WHERE type = 'block'")" $((n0 + 1))
# a fresh token still writes, on either server
t=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr")
eq "a new token writes on b" "$(post "$addr_b")" 201
the_end
