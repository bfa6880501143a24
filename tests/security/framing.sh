#!/usr/bin/env bash
# Attack: ambiguous HTTP/1.1 framing against `overblik serve` on loopback, over raw sockets
# (issue 19, R-API-7, RFC 9112 section 6.3; docs/security.md T-DOOR-4, T-DOOR-5, T-DOOR-6).
# A request with both Content-Length and Transfer-Encoding: chunked, or two different
# Content-Lengths, or an unknown transfer coding, each carrying a second request in its
# bytes (request smuggling behind a proxy that reads the framing the other way): one answer,
# 400 (501 for the coding) as an OperationOutcome, the connection closed, and the smuggled
# request never answered. HTTP/1.1 without Host: 400. A query of 300 or 2,000 parameters:
# a 400 at once, not a 30 s wait. Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need python3
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 20 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { bad "server did not start"; cat "$work/err.txt"; exit 1; }
tok=$("$bin" token --db "$db" --kind professional --sub gp-0-dr0 --site gp-0)

python3 - "${addr##*:}" "$tok" >"$work/py.txt" 2>&1 <<'PY'
import json, socket, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
AUTH = ("Authorization: Bearer %s\r\n" % tok).encode()
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

def exchange(raw, wait=4.0):
    """Sends raw bytes; reads until the server closes or `wait` s pass. Returns the answers
    (status, headers, body) parsed in order, whether it closed, and the seconds taken."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    t = time.time()
    s.sendall(raw)
    data, closed = b"", False
    try:
        while time.time() - t < wait:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            data += d
    except (socket.timeout, ConnectionResetError) as ex:
        closed = isinstance(ex, ConnectionResetError)
    took = time.time() - t
    s.close()
    answers = []
    while data.startswith(b"HTTP/"):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        answers.append((int(lines[0].split()[1]), hdrs, rest[:n]))
        data = rest[n:]
    return answers, closed, took

def case(name, raw, status, code=None, close=True, within=2.0):
    answers, closed, took = exchange(raw)
    def check(what, good):
        print(("ok " if good else "FAIL: ") + name + ": " + what)
    check("exactly one answer (got %d: %s)" % (len(answers), [a[0] for a in answers]),
          len(answers) == 1)
    if not answers:
        return
    st, hdrs, body = answers[0]
    check("status %d (got %d)" % (status, st), st == status)
    try:
        oo = json.loads(body)
    except ValueError:
        oo = {}
    check("an OperationOutcome", hdrs.get("content-type") == "application/fhir+json; charset=utf-8"
          and oo.get("resourceType") == "OperationOutcome")
    if code:
        got = (oo.get("issue") or [{}])[0].get("code")
        check("issue code %s (got %s)" % (code, got), got == code)
    if close:
        check("Connection: close and closed", hdrs.get("connection", "").lower() == "close"
              and closed)
    check("answered within %.0f s (took %.1f)" % (within, took), took < within)

body = b'{"resourceType":"Parameters"}'
chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
# T-DOOR-4: Content-Length and Transfer-Encoding together (CL.TE / TE.CL smuggling)
case("CL+TE", b"POST /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
     b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(chunked) + chunked + SMUGGLED,
     400, "structure")
case("TE+CL", b"POST /fhir/metadata HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Type: application/fhir+json\r\nContent-Length: 4\r\n\r\n" + chunked + SMUGGLED,
     400, "structure")
# T-DOOR-4: two Content-Lengths that disagree
case("CL twice", b"POST /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
     b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED, 400, "structure")
case("GET with CL twice", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
     b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED, 400, "structure")
# T-DOOR-4: a transfer coding we do not know, so the body's end is unknown
case("TE gzip,chunked", b"POST /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
     b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked + SMUGGLED, 501, "not-supported")
case("TE twice", b"POST /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + chunked + SMUGGLED,
     400, "structure")
# T-DOOR-5: HTTP/1.1 without Host
case("no Host", b"GET /fhir/metadata HTTP/1.1\r\nAccept: application/fhir+json\r\n\r\n", 400,
     "structure")
# T-DOOR-6: more parameters than allowed: a prompt 400 (it was a 30 s wait for nothing)
for n in (300, 2000):
    q = b"&".join(b"a%d=1" % i for i in range(n))
    case("%d parameters" % n, b"GET /fhir/Appointment?" + q + b" HTTP/1.1\r\nHost: x\r\n" + AUTH +
         b"\r\n", 400, "too-costly", close=False)
# and a well-framed request still works, kept alive for a second one
a, closed, took = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED, wait=1.0)
print(("ok " if [x[0] for x in a] == [200, 200] else "FAIL: ") + "two pipelined GETs: 200, 200")
PY
cat "$work/py.txt"
while read -r line; do
  case "$line" in ok\ *) ok ;; FAIL:*) failn=$((failn + 1)) ;; esac
done <"$work/py.txt"
grep -q "^ok two pipelined" "$work/py.txt" || bad "the client ran to the end"
the_end
