#!/usr/bin/env python3
"""stats_gen.py - writes an NDJSON import (docs/formats.md) of a hand-shaped quality cluster
for the statistics attack suite (tests/security/stats_attacks.sh).

Spec (JSON on stdin):
  {"clinics": {"gp-a": {"listed": 88, "pat": ["145c", "-", "170:T90.1", "135@2026-09-01"]}},
   "cluster": {... extra cluster fields ...}, "planning": true}
Each "pat" entry is one diagnosed patient: a systolic value or "-" (no measurement), "c" for
an annual check-up, ":CODE" for another diagnosis code (default T90), "@DATE" for the date of
the measurement (default 2026-03-01), "!DATE" for the date of the diagnosis (default
2025-01-01). A clinic's other listed patients have no diagnosis. Listing starts 2015-01-01
("from" in the clinic spec overrides). Patient ids are <clinic>-<n>, stable across specs, so
two specs model the same population at two times."""
import json
import sys

spec = json.load(sys.stdin)
out = []
w = out.append
w({"type": "org", "id": "reg-0", "kind": "region", "name": "Region"})
w({"type": "org", "id": "mun-0", "kind": "municipality", "name": "Kommune", "parent": "reg-0"})
w({"type": "professional", "id": "mun-0-planner", "name": "Plan Lægger", "role": "planner",
   "sites": ["mun-0"]})
serial = 0
clinics = spec["clinics"]
for ci, (cid, c) in enumerate(sorted(clinics.items())):
    w({"type": "org", "id": cid, "kind": "gp_clinic", "name": "Klinik " + cid, "parent": "mun-0",
       "provider_number": "%06d" % (100000 + ci * 7)})
    w({"type": "professional", "id": cid + "-dr0", "name": "Læge " + cid, "role": "doctor",
       "authorisation_id": "A%04d" % ci, "sites": [cid]})
    pats = c.get("pat", [])
    for n in range(c["listed"]):
        pid = "%s-%d" % (cid, n)
        serial += 1
        day = 1 + serial % 28
        cpr = "%02d%02d%02d-%04d" % (day, 1 + (serial // 28) % 12, 60 + (serial // 336) % 30,
                                     1000 + serial % 9000)
        w({"type": "patient", "id": pid, "cpr": cpr, "gp": cid})
        w({"type": "relationship", "patient": pid, "org": cid, "kind": "listed",
           "from": c.get("from", "2015-01-01")})
        if n >= len(pats):
            continue
        p = pats[n]
        dx_date = "2025-01-01"
        if "!" in p:
            p, dx_date = p.split("!", 1)
        code = "T90"
        if ":" in p:
            p, code = p.split(":", 1)
        mdate = "2026-03-01"
        if "@" in p:
            p, mdate = p.split("@", 1)
        chk = p.endswith("c")
        p = p.rstrip("c")
        w({"type": "item", "id": pid + "-dx", "patient": pid, "category": "diagnosis",
           "origin": cid, "time": dx_date + "T10:00:00Z", "code": code})
        if p != "-":
            w({"type": "item", "id": pid + "-bp", "patient": pid, "category": "measurement",
               "origin": cid, "time": mdate + "T10:00:00Z", "code": "DNK05472",
               "value": int(p)})
        if chk:
            w({"type": "item", "id": pid + "-chk", "patient": pid, "category": "appointment",
               "origin": cid, "time": "2026-04-01T09:00:00Z", "code": "ANNUAL-CHECKUP"})
ids = sorted(clinics)
cl = {"type": "cluster", "id": "kl", "name": "Klynge", "members": ids,
      "coordinators": [ids[0] + "-dr0"], "agreement": "open", "k": 5, "retention": 12,
      "epsilon": 3}
cl.update(spec.get("cluster", {}))
w(cl)
for extra in spec.get("clusters", []):
    x = dict(cl)
    x.update(extra)
    w(x)
if spec.get("planning"):
    w({"type": "cluster", "id": "plan-mun-0", "kind": "planning", "municipality": "mun-0",
       "members": ids, "coordinators": ["mun-0-planner"], "agreement": "pseudonym", "k": 10,
       "retention": 12})
for o in out:
    print(json.dumps(o, ensure_ascii=False))
