#!/usr/bin/env python3
"""pg_http_load.py - HTTP clients of `overblik serve` for tests/e2e/pg_failover_http.sh
(issue 18: the failover with the real product). Python 3 standard library only.

Each client sends one request at a time until SIGTERM and writes one line per request to
OUT, with the wall clock (time.time(), as the test's own `date +%s.%N`):

  write FRONT PATIENT UNIT TOKENS READTOKEN OUT
      the patient blocks the hospital unit (POST /fhir/Consent) and lifts the block again
      (PUT /fhir/Consent/<id>), over and over, one fresh token (a line of TOKENS) per write:
        B start end status id      a block; id when it was acknowledged (201)
        L start end status id      a lift of block id (200; 409: an earlier try did it)
      A lift that failed (503, 5xx, no answer) is sent again, with a new token, until it is
      answered 200 or 409. A block that failed without a 4xx may have been committed
      anyway (its answer lost in the failure): the client then lists the patient's Consents
      (GET /fhir/Consent, READTOKEN, logged like any read) until answered and lifts every
      active block of the unit it finds:
        C start end status         the list
        U id                       an unacknowledged block found committed (then lifted)
  overview FRONT GPTOKEN PATIENT:UNIT[,PATIENT:UNIT...] OUT
      the GP's overview (POST /fhir/Patient/$overview) of each patient in turn:
        O start end status patient shown   shown: 1 when the answer names the unit, 0 when
                                           not, - when it was not a 200
  read FRONT GPTOKEN PATIENT[,PATIENT...] OUT
      the GP's plain read (GET /fhir/Patient/<id>), one log entry per 200:
        R start end status

status is the HTTP status, or 0 when no answer came (refused, reset, timed out).

  analyse EVENTS OUT...
      reads the clients' files and the test's EVENTS ("K n time what": a kill) and prints:
        checked N / stale N               overviews that began after a block's 201 and ended
                                          before its lift was sent / those that showed the unit
        checked_lifted N / unlifted N     overviews that began after a lift's 200 and ended
                                          before the next block was sent / those that did not
                                          show the unit
        acked_blocks N / acked_lifts N / logged N (200s and 201s of requests that log)
        outage n what writes reads overview max   seconds without service per kill
      and the acknowledged changes as "ack block ID" / "ack lift ID" lines, for the test
      to look up in store_records.
"""
import http.client
import json
import signal
import sys
import time

stop = False


def on_term(*_):
    global stop
    stop = True


TIMEOUT = 20  # seconds; a write may wait two leases (4 s) and a reconnect
PAUSE = 0.05  # seconds a writer leaves the block in force, and lifted, before the next write


def request(front, method, path, token, body=None):
    """(status, text, server): status 0 when no HTTP answer came; server: the front's
    X-Served-By header (which server answered), or -."""
    host, port = front.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        headers = {"Authorization": "Bearer " + token, "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/fhir+json"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), r.getheader("X-Served-By", "-")
    except (OSError, http.client.HTTPException):
        return 0, "", "-"
    finally:
        conn.close()


def consent(patient, unit, status, cid=None):
    c = {
        "resourceType": "Consent",
        "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/" + patient},
        "provision": {"type": "deny", "actor": [{
            "role": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "IRCP"}]},
            "reference": {"reference": "Organization/" + unit}}]},
    }
    if cid:
        c["id"] = cid
    return json.dumps(c)


def pause(s):
    end = time.time() + s
    while not stop and time.time() < end:
        time.sleep(min(0.01, end - time.time()) if end > time.time() else 0)


class Tokens:
    def __init__(self, path):
        with open(path) as f:
            self.left = [line.strip() for line in f if line.strip()]
        self.left.reverse()

    def next(self):
        if not self.left:
            return None
        return self.left.pop()


def writer(front, patient, unit, tokens_path, read_token, out):
    tokens = Tokens(tokens_path)

    def lift(cid):
        # until answered 200, or 409 (an earlier try lifted it); True once it is lifted
        while True:
            tok = tokens.next()
            if tok is None:
                out.write("X tokens exhausted\n")
                return False
            t0 = time.time()
            st, _, by = request(front, "PUT", "/fhir/Consent/" + cid, tok,
                                consent(patient, unit, "inactive", cid))
            out.write("L %.3f %.3f %d %s %s\n" % (t0, time.time(), st, cid, by))
            if st in (200, 409):
                return True
            if 400 <= st < 500:  # refused outright: nothing to retry
                return False
            pause(0.05)  # also after SIGTERM: a block is never left in force

    def sweep():
        # after a block with no answer: lift any active block of the unit that exists
        while True:
            t0 = time.time()
            st, text, by = request(front, "GET", "/fhir/Consent?patient=Patient/%s&_count=500"
                                   % patient, read_token)
            out.write("C %.3f %.3f %d %s\n" % (t0, time.time(), st, by))
            if st == 200:
                break
            if stop:
                return False
            pause(0.05)
        for e in json.loads(text).get("entry", []):
            r = e.get("resource", {})
            actors = r.get("provision", {}).get("actor", [])
            if (r.get("status") == "active" and r.get("provision", {}).get("type") == "deny"
                    and actors and actors[0].get("reference", {}).get("reference")
                    == "Organization/" + unit):
                out.write("U %s\n" % r["id"])
                if not lift(r["id"]):
                    return False
        return True

    while not stop:
        tok = tokens.next()
        if tok is None:
            out.write("X tokens exhausted\n")
            return
        t0 = time.time()
        st, text, by = request(front, "POST", "/fhir/Consent", tok,
                               consent(patient, unit, "active"))
        cid = "-"
        if st == 201:
            cid = json.loads(text).get("id", "-")
        out.write("B %.3f %.3f %d %s %s\n" % (t0, time.time(), st, cid, by))
        if st == 201:
            pause(PAUSE)  # a while blocked: the readers' overviews fall in it
            if not lift(cid):
                return
        elif st == 0 or st >= 500:
            if not sweep():
                return
        pause(PAUSE)  # a while lifted


def overview(front, token, pairs, out):
    pairs = [p.split(":") for p in pairs.split(",")]
    i = 0
    while not stop:
        patient, unit = pairs[i % len(pairs)]
        i += 1
        body = json.dumps({"resourceType": "Parameters", "parameter": [
            {"name": "patient", "valueReference": {"reference": "Patient/" + patient}}]})
        t0 = time.time()
        st, text, by = request(front, "POST", "/fhir/Patient/$overview", token, body)
        shown = "-"
        if st == 200:
            shown = "1" if ('"Organization/%s"' % unit) in text else "0"
        out.write("O %.3f %.3f %d %s %s %s\n" % (t0, time.time(), st, patient, shown, by))
        pause(0.01)


def reader(front, token, patients, out):
    patients = patients.split(",")
    i = 0
    while not stop:
        t0 = time.time()
        st, _, by = request(front, "GET", "/fhir/Patient/" + patients[i % len(patients)], token)
        i += 1
        out.write("R %.3f %.3f %d %s\n" % (t0, time.time(), st, by))
        pause(0.01)


def ok(kind, st):
    if kind == "L":
        return st in (200, 409)
    if kind == "B":
        return st == 201
    return st == 200


def lifted_windows(path):
    """A writer's [(a lift's 200, the next block's sending)]: the unit is surely unblocked
    then (a block whose answer was lost was found and lifted before the next lift's 200)."""
    out, since = [], None
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "B":
                if since is not None:
                    out.append((since, float(p[1])))
                since = None
            elif p[0] == "L" and int(p[3]) in (200, 409):
                since = float(p[2])
            elif p[0] == "U":  # another block found in force: lifted once it is
                since = None
    if since is not None:
        out.append((since, float("inf")))
    return out


def analyse(events_path, paths):
    kills = []
    with open(events_path) as f:
        for line in f:
            p = line.split()
            if p and p[0] == "K":
                kills.append((int(p[1]), float(p[2]), p[3]))
    streams = {}  # file name -> [(start, end, succeeded)]
    overviews = []  # (start, patient, shown)
    acked_blocks, acked_lifts, logged = [], [], 0
    intervals = {}  # patient -> [(acknowledged, its lift first sent)]
    lifted = {}  # patient -> [(a lift's 200, the next block sent)]
    for path in paths:
        name = path.rsplit("/", 1)[-1]  # w-PATIENT.out, o-N.out, r-N.out
        reqs = []
        blocks, first_lift = {}, {}  # id -> acknowledged; id -> the first lift's start
        with open(path) as f:
            for line in f:
                p = line.split()
                if not p or p[0] not in ("B", "L", "C", "O", "R"):
                    continue
                kind, t0, t1, st = p[0], float(p[1]), float(p[2]), int(p[3])
                good = ok(kind, st)
                reqs.append((t0, t1, good))
                if good and not (kind == "L" and st == 409):
                    logged += 1  # every 200 or 201 of these requests is one log entry
                if kind == "B" and st == 201:
                    blocks[p[4]] = t1
                    acked_blocks.append(p[4])
                if kind == "L":
                    first_lift.setdefault(p[4], t0)
                    if st == 200:
                        acked_lifts.append(p[4])
                if kind == "O":
                    overviews.append((t0, t1, p[4], p[5], p[6]))
        streams[name] = reqs
        if name.startswith("w-"):
            patient = name[2:].rsplit(".", 1)[0]
            for cid, acked in blocks.items():
                intervals.setdefault(patient, []).append(
                    (acked, first_lift.get(cid, float("inf"))))
            lifted.setdefault(patient, []).extend(lifted_windows(path))
    stale = unlifted = checked = checked_lifted = 0
    # a read takes effect somewhere between its start and its end, a lift somewhere between
    # its sending and its answer: a read that showed the unit is stale when it began after
    # the block's 201 and ended before the lift was sent (when the two overlap, the read may
    # have come after the lift)
    for t0, t1, patient, shown, by in overviews:
        if shown not in ("0", "1"):
            continue
        for a, l in intervals.get(patient, []):
            if a < t0 and t1 < l:
                checked += 1
                if shown == "1":
                    stale += 1
                    print("stale_read %.3f-%.3f %s on server %s: block acknowledged %.3f, "
                          "lift sent %.3f" % (t0, t1, patient, by, a, l))
                break
        # and after a lift's 200, before the next block was sent, the unit is shown (R-BLK-5)
        for a, b in lifted.get(patient, []):
            if a < t0 and t1 < b:
                checked_lifted += 1
                if shown == "0":
                    unlifted += 1
                    print("unlifted_read %.3f-%.3f %s on server %s: lifted %.3f, next block "
                          "sent %.3f" % (t0, t1, patient, by, a, b))
                break
    print("checked %d" % checked)
    print("stale %d" % stale)
    print("checked_lifted %d" % checked_lifted)
    print("unlifted %d" % unlifted)
    print("acked_blocks %d" % len(acked_blocks))
    print("acked_lifts %d" % len(acked_lifts))
    print("logged %d" % logged)
    for cid in acked_blocks:
        print("ack block %s" % cid)
    for cid in acked_lifts:
        print("ack lift %s" % cid)
    # time without service, per kill and kind of client: from the first request that failed
    # (ending after the kill and before the next; counted from the kill when it began before
    # it) to the end of the next request of that client that succeeded
    bounds = [k[1] for k in kills] + [float("inf")]
    for i, (n, tk, what) in enumerate(kills):
        per = {"writes": 0.0, "reads": 0.0, "overview": 0.0}
        for name, reqs in streams.items():
            kind = "writes" if name.startswith("w-") else "overview" if name.startswith("o-") else "reads"
            fail = None
            gap = None
            for t0, t1, good in reqs:
                if fail is None:
                    if not good and tk < t1 < bounds[i + 1]:
                        fail = max(t0, tk)
                elif good:  # a client's requests follow one another
                    gap = t1 - fail
                    break
            if fail is not None and gap is None:
                gap = float("nan")  # never recovered
            if gap is not None and not (per[kind] >= gap):
                per[kind] = gap
        worst = max(per.values()) if all(v == v for v in per.values()) else float("nan")
        print("outage %d %s %.1f %.1f %.1f %.1f" % (n, what, per["writes"], per["reads"],
                                                  per["overview"], worst))


def main():
    signal.signal(signal.SIGTERM, on_term)
    mode = sys.argv[1]
    if mode == "analyse":
        analyse(sys.argv[2], sys.argv[3:])
        return
    args = sys.argv[2:]
    with open(args[-1], "a", buffering=1) as out:
        if mode == "write":
            writer(args[0], args[1], args[2], args[3], args[4], out)
        elif mode == "overview":
            overview(args[0], args[1], args[2], out)
        elif mode == "read":
            reader(args[0], args[1], args[2], out)
        else:
            sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
