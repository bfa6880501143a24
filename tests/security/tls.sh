#!/usr/bin/env bash
# Attack: the network between client and `overblik serve` (issue 19, R-SRC-5, R-API-2;
# docs/security.md T-DOOR-10 .. T-DOOR-13), end to end on loopback with a CA, a server
# certificate and client certificates made here by openssl:
# - TLS: curl --cacert answers over TLS 1.2 and 1.3; TLS 1.1, a non-AEAD suite and plain
#   HTTP to the TLS port get no answer; SIGHUP re-reads the certificate (a broken file
#   keeps the one in use).
# - RFC 8705: a system token must be bound to the client certificate it comes with
#   (cnf x5t#S256): without cnf, without a certificate, with another system's certificate
#   or with a self-made one that the client CA did not issue: 401. A professional's bearer
#   token needs no certificate.
# - A plain-HTTP listener on an address other than loopback refuses to start unless
#   --insecure-plain-http.
# Settings go through the environment, so that a server without them runs (and fails).
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need openssl curl jq
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work" || exit 1

# --- a CA, the server's certificate (127.0.0.1), two systems' client certificates, a rogue one
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 2 -subj "/CN=test CA"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >srv.ext
printf 'extendedKeyUsage=clientAuth\n' >cli.ext
leaf() { # leaf NAME CN EXTFILE: NAME.key, NAME.pem signed by the CA
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$3" -out "$1.pem"
}
leaf srv1 overblik-1 srv.ext
leaf srv2 overblik-2 srv.ext
leaf epj epj-test cli.ext
leaf lab lab-test cli.ext
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -out rogue.pem \
  -days 2 -subj "/CN=epj-test"
[ -s srv1.pem ] && [ -s epj.pem ] && [ -s rogue.pem ] && ok || { bad "openssl made the certificates"; exit 1; }
cp srv1.pem server.pem
cp srv1.key server.key

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 20 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
OVERBLIK_TLS_CERT=$work/server.pem OVERBLIK_TLS_KEY=$work/server.key \
  OVERBLIK_TLS_CLIENT_CA=$work/ca.pem "$bin" serve --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --metrics-clients "epj-test, lab-test" >out.txt 2>err.txt &
srv=$!
for _ in $(seq 1 100); do grep -q "listening on" out.txt 2>/dev/null && break; sleep 0.1; done
hostport=$(grep -o '127.0.0.1:[0-9]*' out.txt | head -1)
[ -n "$hostport" ] || { bad "server did not start"; cat err.txt; exit 1; }
has "T-DOOR-10: the server says it listens on https" "$(cat out.txt)" "listening on https://$hostport"
url="https://$hostport"

# code PATH [curl args]: the status over TLS, trusting the test CA ("000": no HTTP answer)
code() { local p=$1; shift; curl -s -o body.txt -w '%{http_code}' --max-time 5 --cacert ca.pem "$@" "$url$p"; }

# T-DOOR-10: every connection is TLS, 1.2 or 1.3, with an AEAD suite
eq "T-DOOR-10: /healthz over TLS" "$(code /healthz)" 200
eq "T-DOOR-10: TLS 1.3" "$(code /healthz --tlsv1.3)" 200
eq "T-DOOR-10: TLS 1.2" "$(code /healthz --tlsv1.2 --tls-max 1.2)" 200
eq "T-DOOR-10: TLS 1.1 refused" "$(code /healthz --tlsv1.1 --tls-max 1.1)" 000
eq "T-DOOR-10: TLS 1.2 with a CBC suite refused" \
  "$(code /healthz --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA)" 000
eq "T-DOOR-10: plain HTTP to the TLS port gets no answer" \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$hostport/healthz")" 000
eq "T-DOOR-10: an untrusted server certificate is noticed (no --cacert)" \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz")" 000

tok() { "$bin" token --db "$db" "$@"; }
pro=$(tok --kind professional --sub gp-0-dr0 --site gp-0)
eq "a professional's bearer token over TLS, no client certificate" \
  "$(code "/fhir/Appointment?patient=Patient/pt-0" -H "Authorization: Bearer $pro" -H "X-Purpose-Of-Use: TREAT")" 200

# T-DOOR-11: system tokens are bound to the system's client certificate (RFC 8705)
bound=$(tok --kind system --client-id epj-test --site gp-0 --cert epj.pem)
x5t=$(openssl x509 -in epj.pem -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
eq "overblik token --cert mints cnf x5t#S256 of the certificate" \
  "$(cut -d. -f2 <<<"$bound" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r '.cnf["x5t#S256"]' 2>/dev/null)" "$x5t"
unbound=$(tok --kind system --client-id epj-test --site gp-0)
eq "T-DOOR-11: bound token with its certificate" \
  "$(code /metrics -H "Authorization: Bearer $bound" --cert epj.pem --key epj.key)" 200
eq "T-DOOR-11: bound token without a certificate" "$(code /metrics -H "Authorization: Bearer $bound")" 401
eq "T-DOOR-11: bound token with another system's certificate" \
  "$(code /metrics -H "Authorization: Bearer $bound" --cert lab.pem --key lab.key)" 401
eq "T-DOOR-11: a system token without cnf, even with a certificate" \
  "$(code /metrics -H "Authorization: Bearer $unbound" --cert epj.pem --key epj.key)" 401
eq "T-DOOR-11: the 401 is an OperationOutcome" "$(jq -r .resourceType body.txt 2>/dev/null)" OperationOutcome
rogue=$(tok --kind system --client-id epj-test --site gp-0 --cert rogue.pem)
eq "T-DOOR-11: a token bound to a certificate the client CA did not issue" \
  "$(code /metrics -H "Authorization: Bearer $rogue" --cert rogue.pem --key rogue.key)" 401
eq "T-DOOR-11: a bound system token on the FHIR API" \
  "$(code "/fhir/Appointment?patient=Patient/pt-0" -H "Authorization: Bearer $unbound" --cert epj.pem --key epj.key)" 401

# T-DOOR-12: SIGHUP re-reads the certificate; a broken one keeps the one in use
subject() { openssl s_client -connect "$hostport" -CAfile ca.pem </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null; }
has "T-DOOR-12: the first certificate" "$(subject)" "overblik-1"
cp srv2.pem server.pem.new && cp srv2.key server.key.new && mv server.key.new server.key && mv server.pem.new server.pem
kill -HUP "$srv"; sleep 0.5
has "T-DOOR-12: SIGHUP: the new certificate at the next handshake" "$(subject)" "overblik-2"
echo "not a certificate" >server.pem
kill -HUP "$srv"; sleep 0.5
has "T-DOOR-12: a broken file: the certificate in use stays" "$(subject)" "overblik-2"
eq "T-DOOR-12: still serving" "$(code /healthz)" 200
has "T-DOOR-12: stderr says it was not reloaded" "$(cat err.txt)" "TLS certificate not reloaded"
kill "$srv"; wait "$srv" 2>/dev/null; srv=""

# T-DOOR-13: plain HTTP only on loopback, unless explicitly allowed
out=$(timeout 5 "$bin" serve --db "$db" --listen 0.0.0.0:0 2>&1); rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok || bad "T-DOOR-13: plain HTTP on 0.0.0.0 refused to start (rc $rc)"
has "T-DOOR-13: and says why" "$out" "not a loopback address"
OVERBLIK_INSECURE_PLAIN_HTTP=true timeout 2 "$bin" serve --db "$db" --listen 0.0.0.0:0 >p.txt 2>&1
has "T-DOOR-13: --insecure-plain-http allows it" "$(cat p.txt)" "listening on http://0.0.0.0:"
the_end
