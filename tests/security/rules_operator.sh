#!/usr/bin/env bash
# Attack (T-RULE-9; R-LOG-2, R-LOG-3, R-BLK-5, R-CON-1): the operator's CLI writes log
# entries in other people's names. `tour` logged an override by a real doctor on a real
# patient in any database; `block create`/`lift` and `consent create` without --by were
# logged as the patient doing it. The tour runs only on a database marked demo at
# `gen --db`; every CLI change names the operator who entered it. Fails on a78fde3.
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"   # a database loaded with `load`: not a demo one
show() { "$bin" log show --db "$db" --patient "$1" --json; }
before=$("$bin" log show --db "$db" --patient pt-0 --json | wc -l)
# the tour is file-bound (it refuses a PostgreSQL URI): on PostgreSQL, only the CLI's changes
if ! on_pg; then
  "$bin" tour --db "$db" >"$work/tour.txt" 2>&1
  eq "the tour refuses a database that is not a demo" "$?" 1
fi
hasnt "... and logs no override in anyone's name" "$(grep -h '"override":true' <(for p in $(seq 0 40); do show "pt-$p"; done))" '"override":true'
out=$(USER=eve SUDO_USER= "$bin" block create --db "$db" --patient pt-0 --kind site --target hosp-0-psyk)
bid=$(awk '{print $3}' <<<"$out")
last=$(show pt-0 | tail -1)
has "a CLI block is logged as the operator's entry" "$last" '"actor":"operator:eve"'
has "... in the capacity operator" "$last" '"capacity":"operator"'
hasnt "... not as the patient" "$last" '"role":"citizen"'
"$bin" block lift --db "$db" --patient pt-0 --id "$bid" --operator "Ops Olsen" >/dev/null 2>&1
has "a lift names the operator given" "$(show pt-0 | tail -1)" '"actor":"operator:Ops Olsen"'
USER=eve SUDO_USER= "$bin" consent create --db "$db" --patient pt-0 --kind prevention \
  --recipient-kind municipal_unit --categories diagnosis --from 2026-01-01 --to 2027-01-01 \
  --text "Skriftligt samtykke modtaget pr. brev." >/dev/null
has "a CLI consent is logged as the operator's entry" "$(show pt-0 | tail -1)" '"actor":"operator:eve"'
# a demo database made with gen --db: the tour runs there
if ! on_pg; then
  "$bin" init --db "$work/demo.db" >/dev/null && "$bin" gen --db "$work/demo.db" --patients 60 --seed 3 >/dev/null 2>&1
  "$bin" tour --db "$work/demo.db" >/dev/null 2>&1
  eq "the tour runs on a demo database" "$?" 0
fi
the_end
