#!/usr/bin/env bash
# Attack: slowloris and connection floods against `overblik serve` on loopback (issue 19,
# R-API-7; docs/security.md T-DOOR-1, T-DOOR-2, T-DOOR-3). One client (127.0.0.2) opens
# 1,100 connections and keeps each alive with one byte a second, which no idle timeout
# catches; another client (127.0.0.1) must still be answered at once, the flooder must hold
# no more than its per-address share, and every slow connection must be cut once its
# header deadline passes. A request whose body trickles in is cut at its body deadline.
# Bounded: about 15 s. Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need python3
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
# The door's limits, small so the test is short: 32 connections from one address, 3 s to
# send a request's headers, 4 s for its body (defaults: 128, 10 s, 60 s). Set through the
# environment, so that a server without these settings runs (and fails the checks).
export OVERBLIK_MAX_CONNECTIONS_PER_IP=32 OVERBLIK_HEADER_TIMEOUT=3 OVERBLIK_BODY_TIMEOUT=4
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { bad "server did not start"; cat "$work/err.txt"; exit 1; }
port=${addr##*:}

python3 - "$port" >"$work/py.txt" 2>&1 <<'PY'
import resource, socket, sys, time
port = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
except ValueError:
    pass

def victim():
    """A well-behaved client on another address: seconds to a 200 from /healthz, or None."""
    t = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
        s.close()
        return time.time() - t if out.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None

def alive(s):
    try:
        return s.recv(1, socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False

# the flood: 1,100 connections from 127.0.0.2, each a request line's first byte
conns = []
for i in range(1100):
    s = socket.socket()
    try:
        s.bind(("127.0.0.2", 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        s.send(b"G")
        conns.append(s)
    except OSError:
        s.close()
print("opened", len(conns))
t0 = time.time()
slow = [b"E", b"T", b" ", b"/", b"h", b"e", b"a", b"l", b"t", b"h"]
held_max = 0
victims = []
k = 0
while time.time() - t0 < 7.5:
    time.sleep(1)
    for s in conns:
        try:
            s.send(slow[k % len(slow)])  # a byte a second: never idle
        except OSError:
            pass
    k += 1
    held = sum(alive(s) for s in conns)
    held_max = max(held_max, held) if time.time() - t0 > 1.5 else held_max
    if len(victims) < 3:
        victims.append(victim())
    print("t=%.1f held=%d" % (time.time() - t0, held))
print("held_max", held_max)
print("victims", " ".join("none" if v is None else "%.3f" % v for v in victims))
print("held_end", sum(alive(s) for s in conns))
for s in conns:
    s.close()

# a body that trickles: headers at once, then a byte a second of a 1,000-byte body
s = socket.create_connection(("127.0.0.1", port), timeout=2)
s.sendall(b"POST /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
          b"Content-Length: 1000\r\n\r\n{")
t = time.time()
s.setblocking(False)
cut = None
while time.time() - t < 8 and cut is None:
    time.sleep(0.5)
    try:
        s.send(b" ")
    except OSError:
        cut = time.time() - t
    if cut is None and not alive(s):
        cut = time.time() - t
print("body_cut", "none" if cut is None else "%.1f" % cut)
PY
cat "$work/py.txt"
val() { grep "^$1 " "$work/py.txt" | head -1 | cut -d' ' -f2-; }
held=$(val held_max); held_end=$(val held_end); victims=$(val victims); body=$(val body_cut)

# T-DOOR-1: the flooder holds at most its share (32, and one more per accepting thread)
[ -n "$held" ] && [ "$held" -le 34 ] && ok || bad "T-DOOR-1: one address held $held connections (limit 32)"
# T-DOOR-1: the other client is answered promptly, each time
for v in $victims; do
  if [ "$v" != none ] && awk -v v="$v" 'BEGIN{exit !(v < 1.5)}'; then ok
  else bad "T-DOOR-1: a second client was not answered within 1.5 s during the flood ($v)"; fi
done
[ "$(wc -w <<<"$victims")" -eq 3 ] && ok || bad "T-DOOR-1: three probes made ($victims)"
# T-DOOR-2: slow senders are cut at the header deadline though they never go idle
eq "T-DOOR-2: slow connections still open after the header deadline" "$held_end" 0
# T-DOOR-3: a trickled body is cut at the body deadline (4 s), long before the idle timeout
if [ "$body" != none ] && awk -v v="$body" 'BEGIN{exit !(v >= 3 && v <= 6.5)}'; then ok
else bad "T-DOOR-3: a trickling body was cut after ${body} s (wanted about 4)"; fi
# and the server still serves
code=$(curl -s -o /dev/null -w '%{http_code}' "$addr/healthz")
eq "served after the attack" "$code" 200
the_end
