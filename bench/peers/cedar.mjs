// cedar.mjs - the Cedar peer of the single-rule comparison (docs/bench-decide.md).
//
// Rule: a professional reads a patient's data iff a current treatment relationship
// exists (personal, or through the site they act from or a site above it) and the
// patient has no active block on that professional. In Cedar: a permit policy over the
// patient's attributes plus a forbid policy for blocks; the organisation tree is the
// entity hierarchy (Org parents), so `context.site in resource.treatingSites` walks it.
//
// cedar-wasm keeps policy sets (preparsePolicySet) but not entities between calls, so
// every call carries the entity slice for that request, as an application using Cedar
// would assemble it: the patient (with its sets) and the acting site with its ancestors.
// The slices are built before the timed loop; the timed loop is statefulIsAuthorized only.
//
// usage: node cedar.mjs DIR [N requests] [rounds]
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { load, median } from './data.mjs';

const dir = process.argv[2];
const maxN = Number(process.argv[3] || 200000);
const rounds = Number(process.argv[4] || 3);

const POLICIES = `
permit (principal is Professional, action == Action::"read", resource is Patient)
when { principal in resource.treatingProfessionals || context.site in resource.treatingSites };

forbid (principal is Professional, action == Action::"read", resource is Patient)
when { principal in resource.blockedProfessionals };
`;

const t0 = process.hrtime.bigint();
const d = load(dir, maxN);
const tLoad = Number(process.hrtime.bigint() - t0) / 1e9;

const pro = (id) => ({ __entity: { type: 'Professional', id: String(id) } });
const org = (id) => ({ __entity: { type: 'Org', id: String(id) } });
const ACTION = { type: 'Action', id: 'read' };

function entitiesFor(q) {
  const ents = [{
    uid: { type: 'Patient', id: String(q.patient) },
    attrs: {
      treatingProfessionals: (d.relPros.get(q.patient) || []).map(pro),
      treatingSites: (d.relOrgs.get(q.patient) || []).map(org),
      blockedProfessionals: (d.blocked.get(q.patient) || []).map(pro),
    },
    parents: [],
  }];
  for (let o = q.site; o >= 0; o = d.parent[o]) {
    const p = d.parent[o];
    ents.push({ uid: { type: 'Org', id: String(o) }, attrs: {}, parents: p >= 0 ? [{ type: 'Org', id: String(p) }] : [] });
  }
  ents.push({ uid: { type: 'Professional', id: String(q.pro) }, attrs: {}, parents: [] });
  return ents;
}

const pre = cedar.preparsePolicySet('overblik', { staticPolicies: POLICIES });
if (pre.type !== 'success') {
  console.error('cedar: policy set does not parse', JSON.stringify(pre));
  process.exit(1);
}
const t1 = process.hrtime.bigint();
const calls = d.requests.map((q) => ({
  principal: { type: 'Professional', id: String(q.pro) },
  action: ACTION,
  resource: { type: 'Patient', id: String(q.patient) },
  context: { site: org(q.site) },
  preparsedPolicySetId: 'overblik',
  entities: entitiesFor(q),
}));
const tBuild = Number(process.hrtime.bigint() - t1) / 1e9;

function decide(call) {
  const a = cedar.statefulIsAuthorized(call);
  if (a.type !== 'success') throw new Error('cedar: ' + JSON.stringify(a.errors));
  return a.response.decision === 'allow';
}

// correctness against the overblik engine, then warm-up
let mismatch = 0, permits = 0;
for (let i = 0; i < calls.length; i++) {
  const p = decide(calls[i]);
  permits += p;
  if (p !== d.requests[i].expect) mismatch++;
}
const rates = [];
for (let k = 0; k < rounds; k++) {
  const s = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < calls.length; i++) sink += decide(calls[i]);
  const el = Number(process.hrtime.bigint() - s) / 1e9;
  rates.push(calls.length / el);
  console.log(`cedar round ${k + 1}: ${calls.length} decisions in ${el.toFixed(3)} s = ${(calls.length / el).toFixed(0)} decisions/s (permits ${sink})`);
}
// the stateless API (policy text parsed on every call), on a smaller sample, for reference
const m = Math.min(20000, calls.length);
const plain = calls.slice(0, m).map((c) => ({ principal: c.principal, action: c.action, resource: c.resource, context: c.context, policies: { staticPolicies: POLICIES }, entities: c.entities }));
let s = process.hrtime.bigint();
for (const c of plain) cedar.isAuthorized(c);
const plainRate = m / (Number(process.hrtime.bigint() - s) / 1e9);
console.log(`cedar ${cedar.getCedarVersion()} (cedar-wasm ${cedar.getCedarSDKVersion()}): loaded ${d.nrels} relationships, ${d.nblocks} blocks in ${tLoad.toFixed(2)} s; built ${calls.length} entity slices in ${tBuild.toFixed(2)} s; permits ${permits}, disagreements with overblik ${mismatch}`);
console.log(`cedar isAuthorized (policy text per call): ${plainRate.toFixed(0)} decisions/s on ${m} requests`);
console.log(`RESULT cedar ${median(rates).toFixed(0)}`);
console.log(`RESULT cedar_mismatch ${mismatch}`);
console.log(`RESULT cedar_n ${calls.length}`);
