// lib.mjs - what the interop scenarios share: pass/fail counters with their checks, the
// environment interop.sh hands over, dev tokens minted with `overblik token`, and the bodies
// sampled from every answer (validated at the end by the medplum scenario).
import { execFileSync } from 'node:child_process';

export const env = {
  base: process.env.OB_URL, // http://127.0.0.1:PORT (overblik serve)
  bin: process.env.OB_BIN,
  db: process.env.OB_DB,
  idp: process.env.OB_IDP || '', // the OIDC provider's issuer (idp.mjs), if one runs
  idpPro: process.env.OB_IDP_PRO || '', // a second one, of professionals
  oidc: process.env.OB_OIDC === '1', // overblik was started with --oidc naming that provider
};
export const fhirBase = () => `${env.base}/fhir`;

let passed = 0;
let failed = 0;
let scenario = '';
export function setScenario(name) { scenario = name; }
export function ok() { passed++; }
export function bad(what) { failed++; console.log(`FAIL [${scenario}]: ${what}`); }
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
// eq(what, got, want): equal as JSON
export function eq(what, got, want) {
  if (JSON.stringify(got) === JSON.stringify(want)) ok();
  else bad(`${what} (got ${show(got)?.slice(0, 400)}, wanted ${show(want)})`);
}
export function truthy(what, v, detail = '') {
  if (v) ok(); else bad(`${what}${detail ? ` (${show(detail).slice(0, 400)})` : ''}`);
}
// knownBug(what, detail): a server bug already reported, tolerated so that ctest stays green
// until it is fixed - printed loudly every run, and a failure under OB_INTEROP_STRICT=1
let known = 0;
export function knownBug(what, detail) {
  known++;
  if (process.env.OB_INTEROP_STRICT === '1') bad(`known bug: ${what}`);
  else console.log(`KNOWN-BUG [${scenario}]: ${what}${detail ? ` (${show(detail).slice(0, 300)})` : ''}`);
}
export function note(msg) { console.log(`  [${scenario}] ${msg}`); }
export function counts() { return { passed, failed, known }; }

// mint(args...): a development token from `overblik token --db DB args...` (a new jti each
// time: the server takes each token's jti for one write only)
export function mint(...args) {
  return execFileSync(env.bin, ['token', '--db', env.db, ...args], { encoding: 'utf8' }).trim();
}
export const tokens = {
  citizen: () => mint('--kind', 'citizen', '--patient', 'pt-p'),
  source: () => mint('--kind', 'system', '--client-id', 'epj-hosp', '--site', 'hosp'),
  gpb: () => mint('--kind', 'professional', '--sub', 'gp-b-dr', '--site', 'gp-b'),
  med: () => mint('--kind', 'professional', '--sub', 'med-dr', '--site', 'hosp-med'),
};

// every body a client received, with where it came from (the medplum scenario validates them)
export const samples = [];
export function sample(label, body) {
  if (body && typeof body === 'object' && body.resourceType) samples.push({ label, body });
  return body;
}

// status(err): the HTTP status a client's error carries (fhir-kit-client throws on !ok)
export const status = (e) => e?.response?.status ?? e?.status ?? `no status: ${e?.message ?? e}`;

// the CPR of the world's patient pt-p (interop.sh's world.ndjson), without its hyphen
export const P_DIG = '0101901234';
