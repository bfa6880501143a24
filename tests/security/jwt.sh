#!/usr/bin/env bash
# Attack: forged and misused bearer tokens against `overblik serve` on loopback (issue 19,
# R-API-2; docs/security.md T-DOOR-7 .. T-DOOR-9, T-DOOR-14). Node's crypto forges each class of token
# an attacker could try; each must be refused over the wire with 401: alg "none"; HS256
# keyed with the server's public key; the high-s twin (r, n - s) of a valid signature
# (ECDSA malleability); kid confusion (a configured kid over an attacker's signature, an
# embedded jwk, a path-like kid); expired; another audience; a token signed by an
# unknown key. A valid token and its low-s form are accepted (the control is not "refuse
# everything"). A token's jti is good for one write: the second write with it is 401, as is a
# write with a token that has no jti. Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need node curl jq
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 20 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { bad "server did not start"; cat "$work/err.txt"; exit 1; }
pem=${db%.db}.jwt.pem
kid=$(jq -r '.keys[0].kid' "${db%.db}.jwks.json")
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt \
  -out "$work/evil.pem" 2>/dev/null
openssl pkey -in "$pem" -pubout -out "$work/pub.pem" 2>/dev/null

# forge MODE CLAIMS-JSON: a compact JWS made by Node's crypto in the given way
forge() {
  node -e '
    const c = require("crypto"), fs = require("fs");
    const [mode, claims, pem, evil, pub, kid] = process.argv.slice(1);
    const b = x => Buffer.from(x).toString("base64url");
    const n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;
    const es256 = (hdr, key, high) => {
      const h = b(JSON.stringify(hdr)), p = b(claims);
      const s = c.sign("sha256", Buffer.from(h + "." + p), {key, dsaEncoding: "ieee-p1363"});
      let v = BigInt("0x" + s.subarray(32).toString("hex"));
      if ((v > n / 2n) !== high) v = n - v;          // pick the low or the high twin
      s.set(Buffer.from(v.toString(16).padStart(64, "0"), "hex"), 32);
      return h + "." + p + "." + s.toString("base64url");
    };
    const key = fs.readFileSync(pem), evk = fs.readFileSync(evil);
    const ejwk = c.createPublicKey(evk).export({format: "jwk"});
    let t;
    switch (mode) {
    case "low": t = es256({alg: "ES256", typ: "JWT", kid}, key, false); break;
    case "high": t = es256({alg: "ES256", typ: "JWT", kid}, key, true); break;
    case "none": t = b(JSON.stringify({alg: "none", typ: "JWT"})) + "." + b(claims) + "."; break;
    case "hs256": {
      const h = b(JSON.stringify({alg: "HS256", typ: "JWT", kid})), p = b(claims);
      t = h + "." + p + "." + c.createHmac("sha256", fs.readFileSync(pub)).update(h + "." + p).digest("base64url");
      break; }
    case "kid-confusion": t = es256({alg: "ES256", typ: "JWT", kid}, evk, false); break;
    case "embedded-jwk": t = es256({alg: "ES256", typ: "JWT", jwk: ejwk}, evk, false); break;
    case "kid-path": t = es256({alg: "ES256", typ: "JWT", kid: "../../../../dev/null"}, evk, false); break;
    case "unknown-key": t = es256({alg: "ES256", typ: "JWT", kid: "attacker-1"}, evk, false); break;
    }
    console.log(t);' "$1" "$2" "$pem" "$work/evil.pem" "$work/pub.pem" "$kid"
}
now=$(date +%s)
claims() { # claims [exp-offset] [aud]
  printf '{"ob_kind":"professional","sub":"gp-0-dr0","site":"gp-0","aud":"%s","iat":%d,"exp":%d,"jti":"%s"}' \
    "${2:-overblik}" "$now" $((now + ${1:-300})) "$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}
code_of() { # code_of TOKEN -> the status of an authenticated read
  curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $1" -H "X-Purpose-Of-Use: TREAT" \
    "$addr/fhir/Appointment?patient=Patient/pt-0"
}
refused() { # refused WHAT TOKEN: 401 with an OperationOutcome
  local c
  c=$(code_of "$2")
  eq "$1: 401" "$c" 401
  eq "$1: an OperationOutcome" "$(jq -r .resourceType "$work/body" 2>/dev/null)" OperationOutcome
}

# the control's baseline: a valid token (low s) is accepted
cl=$(claims)
eq "a valid low-s token" "$(code_of "$(forge low "$cl")")" 200
# T-DOOR-7: the same claims, the same key, the signature's high-s twin
refused "high-s twin of a valid signature" "$(forge high "$cl")"
eq "the low-s original still works after the twin" "$(code_of "$(forge low "$cl")")" 200
# T-DOOR-8: algorithm and key confusion
refused "alg none" "$(forge none "$(claims)")"
refused "HS256 keyed with the public key" "$(forge hs256 "$(claims)")"
refused "kid of a configured key over an attacker's signature" "$(forge kid-confusion "$(claims)")"
refused "attacker's key embedded as jwk" "$(forge embedded-jwk "$(claims)")"
refused "path-like kid" "$(forge kid-path "$(claims)")"
refused "signed by an unknown key" "$(forge unknown-key "$(claims)")"
# T-DOOR-9: valid signatures over unacceptable claims
refused "expired (beyond the 60 s leeway)" "$(forge low "$(claims -600)")"
refused "another audience" "$(forge low "$(claims 300 someone-else)")"
# T-DOOR-14: one write per token: a captured token cannot be sent again to repeat a write
write_code() { # write_code TOKEN -> the status of a write (an appointment a professional may not create)
  curl -s -o "$work/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
    -H "Content-Type: application/fhir+json" --data-binary '{"resourceType":"Appointment"}' \
    "$addr/fhir/Appointment"
}
wt=$(forge low "$(claims)")
first=$(write_code "$wt")
[ "$first" != 401 ] && ok || bad "T-DOOR-14: the first write with a token is not refused as a replay ($first)"
eq "T-DOOR-14: the same token's jti on a second write" "$(write_code "$wt")" 401
has "T-DOOR-14: the refusal names the replay" "$(cat "$work/body")" "jti"
eq "T-DOOR-14: the token still reads" "$(code_of "$wt")" 200
nojti=$(forge low "$(claims | jq -c 'del(.jti)')")
eq "T-DOOR-14: a write with a token without jti" "$(write_code "$nojti")" 401
eq "T-DOOR-14: a read with a token without jti" "$(code_of "$nojti")" 200
# $end ends a grant: a write, so a replayed token is refused there too
end_code() {
  curl -s -o "$work/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
    -H "Content-Type: application/fhir+json" --data-binary '{"resourceType":"Parameters"}' \
    "$addr/fhir/PractitionerRole/\$end"
}
et=$(forge low "$(claims)")
first=$(end_code "$et")
[ "$first" != 401 ] && ok || bad "T-DOOR-14: a first \$end is not refused as a replay ($first)"
eq "T-DOOR-14: the same token's jti on a second \$end" "$(end_code "$et")" 401
# our own minting gives low s every time (a signer that does not would be refused at random)
high=0
for _ in $(seq 1 40); do
  t=$("$bin" token --db "$db" --kind professional --sub gp-0-dr0 --site gp-0)
  s=$(cut -d. -f3 <<<"$t" | tr '_-' '/+' | base64 -d 2>/dev/null | od -An -tx1 -j32 | tr -d ' \n')
  [[ "${s^^}" > "7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8" ]] && high=$((high + 1))
done
eq "overblik token: no high-s signature in 40" "$high" 0
the_end
