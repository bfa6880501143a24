#!/usr/bin/env python3
"""stats_attacker.py - an independent attacker on published cluster statistics, for the attack
suite (tests/security/stats_attacks.sh; threat rows T-STAT-* in docs/security.md).

It reads what a reader of `overblik stats cluster --format json` keeps: every release (open
labels, so rows are named clinics), and models the labels as what they say - a number is
exact (rounded ones: +-2), "suppressed-small" (`<k`) is 1..k-1 (0..k-1 with zeros sensitive),
"suppressed" (`x`) is 0 or >= k (>= k with zeros sensitive) unless the release's
"label_meaning" says it can be any value - over integer counts of patient
types (clinic, fine blood-pressure band, check-up yes/no, which query codes match), one set of
counts per period: releases of the same period are linked through the finest band edges and
the code hierarchy (T90.1 within T90). Listed counts bound the diagnosed. Attackers: the
outsider, each clinic knowing its own patients, and each pair of clinics. For every figure
of every release, every fine band of every clinic and every listed-minus-diagnosed
complement the attacker does not know, GLPK's glpsol (a real MILP solver, a separate
program) gives the exact min and max; a LEAK is a target pinned to one value in 1..k-1.

usage: stats_attacker.py SPEC.json RELEASE.json... [--k K] [--zeros-sensitive] [--no-pairs]
                         [--attackers outsider|clinics|pairs]
SPEC is the stats_gen.py spec the data were made from (the insiders' own knowledge).
Exit 0: no leak; 1: a leak (printed); 2: usage or solver error."""
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile

args = [a for a in sys.argv[1:] if not a.startswith("--")]
opts = sys.argv[1:]
K = 5
if "--k" in opts:
    K = int(opts[opts.index("--k") + 1])
    args.remove(str(K))
ZS = "--zeros-sensitive" in opts
PAIRS = "--no-pairs" not in opts
ONLY = None  # --attackers outsider|clinics|pairs: only that kind of attacker
if "--attackers" in opts:
    ONLY = opts[opts.index("--attackers") + 1]
    args.remove(ONLY)
if len(args) < 2:
    sys.exit("usage: stats_attacker.py SPEC.json RELEASE.json...")
spec = json.load(open(args[0]))
clinics = sorted(spec["clinics"])
label_of = {"%06d" % (100000 + i * 7): c for i, c in enumerate(clinics)}
label_of.update({c: c for c in clinics})


def day(s):
    return s[:10]


def parse_pat(p):
    d = {"dx": "2025-01-01", "code": "T90", "mdate": "2026-03-01"}
    if "!" in p:
        p, d["dx"] = p.split("!", 1)
    if ":" in p:
        p, d["code"] = p.split(":", 1)
    if "@" in p:
        p, d["mdate"] = p.split("@", 1)
    d["chk"] = p.endswith("c")
    p = p.rstrip("c")
    d["sbp"] = None if p == "-" else int(p)
    return d


def norm(code):
    return code.replace(".", "").upper()


def edges_of(cols):
    e = []
    for c in cols:
        m = re.match(r"sbp(\d+)-(\d+)$", c)
        if m:
            e.append(int(m.group(1)))
        m = re.match(r"sbp>=(\d+)$", c)
        if m:
            e.append(int(m.group(1)))
    return sorted(set(e))


releases = []
for fn in args[1:]:
    r = json.load(open(fn))
    m = re.match(r"code (\S+), (\S+) to (\S+), (\w+)", r["release"]["filter"])
    r["code"], r["from"], r["to"], r["mode"] = m.group(1), m.group(2), m.group(3), m.group(4)
    r["edges"] = edges_of(r["columns"])
    if r.get("zeros_released") is False:  # the agreement hides zeros: `<k` is 0..k-1
        ZS = True
    r["nb"] = len(r["edges"]) + 1
    releases.append(r)

# one variable family per period
periods = sorted({(r["from"], r["to"]) for r in releases})


def band_index(edges, v):
    if v is None:
        return len(edges) + 1  # no measurement
    i = 0
    while i < len(edges) and v >= edges[i]:
        i += 1
    return i


class Model:
    def __init__(self):
        self.rows = []  # (name, {var: coef}, lo, hi)
        self.ints = set()
        self.bins = set()
        self.truth = {}

    def var(self, name, truth=None):
        self.ints.add(name)
        if truth is not None:
            self.truth[name] = truth
        return name


model = Model()
fam = {}
for (f, t) in periods:
    rel = [r for r in releases if (r["from"], r["to"]) == (f, t)]
    edges = sorted(set(itertools.chain.from_iterable(r["edges"] for r in rel)))
    codes = sorted({norm(r["code"]) for r in rel})
    combos = [c for c in itertools.product([0, 1], repeat=len(codes)) if any(c) and all(
        not (c[j] and not c[i]) for i in range(len(codes)) for j in range(len(codes))
        if codes[j].startswith(codes[i]))]
    z = {}
    for ci, cl in enumerate(clinics):
        truth = {}
        for p in spec["clinics"][cl].get("pat", []):
            d = parse_pat(p)
            if not (d["dx"] < t):
                continue
            combo = tuple(int(norm(d["code"]).startswith(c)) for c in codes)
            if not any(combo):
                continue
            inper = d["sbp"] is not None and f <= d["mdate"] < t
            b = band_index(edges, d["sbp"] if inper else None)
            chk = int(f <= "2026-04-01" < t and d["chk"])
            truth[(b, chk, combo)] = truth.get((b, chk, combo), 0) + 1
        for b in range(len(edges) + 2):
            for chk in (0, 1):
                for combo in combos:
                    n = "z_%s_%d_%d_%d_%s" % (f.replace("-", ""), ci, b, chk,
                                             "".join(map(str, combo)))
                    z[(ci, b, chk, combo)] = model.var(n, truth.get((b, chk, combo), 0))
        ln = "L_%s_%d" % (f.replace("-", ""), ci)
        model.var(ln, spec["clinics"][cl]["listed"])
    fam[(f, t)] = (edges, codes, combos, z)


def terms(r, ci_list, col):
    """variables of the figure of release r for clinics ci_list, column col (None: row total)"""
    edges, codes, combos, z = fam[(r["from"], r["to"])]
    qi = codes.index(norm(r["code"]))
    nb = r["nb"]
    out = {}
    for (ci, b, chk, combo), n in z.items():
        if ci not in ci_list or not combo[qi]:
            continue
        if col is not None:
            if col < nb:  # band col of the release: fine bands within it
                lo = r["edges"][col - 1] if col > 0 else -1
                hi = r["edges"][col] if col < len(r["edges"]) else 10**6
                if b > len(edges) or not (
                        (edges[b - 1] if b > 0 else -1) >= lo and (
                            edges[b] if b < len(edges) else 10**6) <= hi):
                    continue
            elif col == nb:  # no measurement
                if b != len(edges) + 1:
                    continue
            elif col == nb + 1:
                if chk != 1:
                    continue
            elif chk != 0:
                continue
        out[n] = out.get(n, 0) + 1
    return out


targets = []  # (name, {var: coef}, owner clinic or None)
nbin = 0
for ri, r in enumerate(releases):
    rowsci = [clinics.index(label_of[row["clinic"]]) for row in r["rows"]]
    figs = []
    for row, ci in zip(r["rows"], rowsci):
        figs.append(("r%d %s diagnosed" % (ri, clinics[ci]), [ci], None, row["diagnosed"], ci))
        for j, v in enumerate(row["cells"]):
            figs.append(("r%d %s %s" % (ri, clinics[ci], r["columns"][j]), [ci], j, v, ci))
        ln = "L_%s_%d" % (r["from"].replace("-", ""), ci)
        lv = row["listed"]
        if isinstance(lv, int):
            d = 2 if r["mode"] == "round" or r.get("listed_rounding") else 0
            model.rows.append(("listed_r%d_%d" % (ri, ci), {ln: 1}, lv - d, lv + d))
        comp = dict(terms(r, [ci], None))
        comp = {k2: -v2 for k2, v2 in comp.items()}
        comp[ln] = 1
        model.rows.append(("cap_r%d_%d" % (ri, ci), comp, 0, None))
        targets.append(("r%d %s listed-diagnosed" % (ri, clinics[ci]), comp, ci))
    if len(r["rows"]) > 1 or "total" in r:
        tot = r["total"]
        figs.append(("r%d total diagnosed" % ri, rowsci, None, tot["diagnosed"], None))
        for j, v in enumerate(tot["cells"]):
            figs.append(("r%d total %s" % (ri, r["columns"][j]), rowsci, j, v, None))
    for name, cis, col, v, owner in figs:
        tm = terms(r, cis, col)
        targets.append((name, tm, owner))
        if isinstance(v, (int, float)):
            d = 2 if r["mode"] == "round" else 0
            model.rows.append((name, tm, v - d, v + d))
        elif v == "suppressed" and "label_meaning" in r:
            pass  # the release says `x` can be any value
        elif v == "suppressed-small" and col is None and owner is not None:
            # a row total is `<k` when it or listed - it is small: one of the two
            nbin += 1
            b = "b%d" % nbin
            model.bins.add(b)
            ln = "L_%s_%d" % (r["from"].replace("-", ""), owner)
            lo = 0 if ZS else 1
            m1 = dict(tm)
            m1[b] = 100000
            model.rows.append((name + " a", m1, lo, K - 1 + 100000))
            m2 = {k2: -v2 for k2, v2 in tm.items()}
            m2[ln] = 1
            m2[b] = -100000
            model.rows.append((name + " b", m2, lo - 100000, K - 1))
        elif v == "suppressed-small":
            model.rows.append((name, tm, 0 if ZS else 1, K - 1))
        elif v == "suppressed":
            if ZS:
                model.rows.append((name, tm, K, None))
            else:
                nbin += 1
                b = "b%d" % nbin
                model.bins.add(b)
                m1 = dict(tm)
                m1[b] = -100000
                model.rows.append((name + " ub", m1, None, 0))
                m2 = dict(tm)
                m2[b] = -K
                model.rows.append((name + " lb", m2, 0, None))
# fine bands per clinic, per period and code
for (f, t), (edges, codes, combos, z) in fam.items():
    for ci in range(len(clinics)):
        for qi, c in enumerate(codes):
            for b in range(len(edges) + 2):
                tm = {n: 1 for (c2, b2, chk, combo), n in z.items()
                      if c2 == ci and b2 == b and combo[qi]}
                targets.append(("%s..%s %s %s fine band %d" % (f, t, clinics[ci], c, b), tm, ci))


def lin(d):
    s = " + ".join("%d %s" % (v, k) if v >= 0 else "" for k, v in d.items() if v >= 0)
    neg = " ".join("- %d %s" % (-v, k) for k, v in d.items() if v < 0)
    s = (s + " " + neg).strip()
    return s if s else "0 dummy"


def solve(obj, sense, fixed):
    lines = ["Maximize" if sense == "max" else "Minimize", " obj: " + lin(obj), "Subject To"]
    for i, (name, d, lo, hi) in enumerate(model.rows):
        if not d:
            continue
        if lo is not None and hi is not None and lo == hi:
            lines.append(" c%d: %s = %d" % (i, lin(d), lo))
        else:
            if lo is not None:
                lines.append(" l%d: %s >= %d" % (i, lin(d), lo))
            if hi is not None:
                lines.append(" h%d: %s <= %d" % (i, lin(d), hi))
    for i, (v, val) in enumerate(fixed.items()):
        lines.append(" f%d: %s = %d" % (i, v, val))
    lines.append("Bounds")
    lines.append(" dummy = 0")
    for v in sorted(model.ints):
        lines.append(" 0 <= %s <= 100000" % v)
    lines.append("General")
    lines.extend(" " + v for v in sorted(model.ints))
    if model.bins:
        lines.append("Binary")
        lines.extend(" " + v for v in sorted(model.bins))
    lines.append("End")
    with tempfile.TemporaryDirectory() as td:
        lp = os.path.join(td, "m.lp")
        out = os.path.join(td, "o.txt")
        open(lp, "w").write("\n".join(lines) + "\n")
        p = subprocess.run(["glpsol", "--lp", lp, "-o", out, "--tmlim", "20"],
                           capture_output=True, text=True)
        txt = open(out).read() if os.path.exists(out) else ""
    if "INTEGER OPTIMAL" not in txt and "OPTIMAL" not in txt:
        if "EMPTY" in txt or "INFEASIBLE" in txt or "NO PRIMAL" in txt or \
                "no primal feasible" in p.stdout.lower():
            return None
        sys.stderr.write(p.stdout[-2000:])
        sys.exit(2)
    m = re.search(r"Objective:\s+obj = (-?[\d.e+-]+)", txt)
    return round(float(m.group(1)))


def truth_of(d, att=()):
    """true value of the part of a target the attacker does not know (its own patients are
    no disclosure to it)"""
    return sum(c * model.truth.get(v, 0) for v, c in d.items()
               if not (v[0] in "zL" and int(v.split("_")[2]) in att))


attackers = [()] + [(c,) for c in range(len(clinics))]
if PAIRS:
    attackers += list(itertools.combinations(range(len(clinics)), 2))
if ONLY:
    attackers = [a for a in attackers if len(a) == {"outsider": 0, "clinics": 1, "pairs": 2}[ONLY]]
leaks = 0
cache = {}
for att in attackers:
    fixed = {}
    for v in model.ints:
        parts = v.split("_")
        if int(parts[2]) in att:
            fixed[v] = model.truth.get(v, 0)
    if solve({}, "max", fixed) is None:
        print("attacker %s: the published figures contradict the data (model error)" % (att,))
        sys.exit(2)
    for name, d, owner in targets:
        if not d or (owner is not None and owner in att):
            continue
        key = (att, tuple(sorted(d.items())))
        if key in cache:
            continue
        tv = truth_of(d, att)
        if not (0 < tv < K):
            cache[key] = 1
            continue
        lo = solve(d, "min", fixed)
        hi = solve(d, "max", fixed)
        cache[key] = 1
        if lo == hi:
            who = "outsider" if not att else "+".join(clinics[c] for c in att)
            print("LEAK %s: %s = %d exactly (true %d)" % (who, name, lo, tv))
            leaks += 1
print("%d leak(s)" % leaks)
sys.exit(1 if leaks else 0)
