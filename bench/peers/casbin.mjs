// casbin.mjs - the Casbin (node-casbin) peer of the single-rule comparison
// (docs/bench-decide.md).
//
// Rule: a professional reads a patient's data iff a current treatment relationship
// exists (personal, or through the site they act from or a site above it) and the
// patient has no active block on that professional. In Casbin: RBAC role links, loaded
// through an in-memory adapter. g holds "u<pro> -> p<patient>" (personal relationship),
// "o<org> -> p<patient>" (relationship through a site) and "o<child> -> o<parent>" (the
// organisation tree), so g(site, patient) follows the tree; g2 holds the blocks
// "u<pro> -> p<patient>". One policy line (p, read) and the matcher
//   r.act == p.act && (g(r.sub, r.obj) || g(r.site, r.obj)) && !g2(r.sub, r.obj)
// A per-patient p line instead would make every enforce scan all lines (node-casbin
// does not index policies), which does not scale to a million patients.
//
// usage: node casbin.mjs DIR [N requests] [rounds]
import { newEnforcer, newModelFromString } from 'casbin';
import { load, median } from './data.mjs';

const dir = process.argv[2];
const maxN = Number(process.argv[3] || 100000);
const rounds = Number(process.argv[4] || 3);

const MODEL = `
[request_definition]
r = sub, site, obj, act

[policy_definition]
p = act

[role_definition]
g = _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && (g(r.sub, r.obj) || g(r.site, r.obj)) && !g2(r.sub, r.obj)
`;

// An in-memory adapter: hands the rules to the model the way node-casbin's own
// line loader does (appending to the assertion's policy list), without CSV parsing.
class MemoryAdapter {
  constructor(rules) { this.rules = rules; } // [[ptype, ...values]]
  async loadPolicy(model) {
    for (const [ptype, ...vals] of this.rules) {
      const ast = model.model.get(ptype[0]).get(ptype);
      ast.policy.push(vals);
    }
  }
  async savePolicy() { return false; }
  async addPolicy() {}
  async removePolicy() {}
  async removeFilteredPolicy() {}
}

const t0 = process.hrtime.bigint();
const d = load(dir, maxN);
const rules = [['p', 'read']];
for (let o = 0; o < d.parent.length; o++) if (d.parent[o] >= 0) rules.push(['g', 'o' + o, 'o' + d.parent[o]]);
for (const [pat, pros] of d.relPros) for (const u of pros) rules.push(['g', 'u' + u, 'p' + pat]);
for (const [pat, orgs] of d.relOrgs) for (const o of orgs) rules.push(['g', 'o' + o, 'p' + pat]);
for (const [pat, pros] of d.blocked) for (const u of pros) rules.push(['g2', 'u' + u, 'p' + pat]);
const e = await newEnforcer(newModelFromString(MODEL), new MemoryAdapter(rules));
const tLoad = Number(process.hrtime.bigint() - t0) / 1e9;

const reqs = d.requests.map((q) => ['u' + q.pro, 'o' + q.site, 'p' + q.patient, 'read']);
let mismatch = 0, permits = 0;
for (let i = 0; i < reqs.length; i++) {
  const p = e.enforceSync(...reqs[i]);
  permits += p;
  if (p !== d.requests[i].expect) mismatch++;
}
const rates = [];
for (let k = 0; k < rounds; k++) {
  const s = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < reqs.length; i++) sink += e.enforceSync(...reqs[i]);
  const el = Number(process.hrtime.bigint() - s) / 1e9;
  rates.push(reqs.length / el);
  console.log(`casbin round ${k + 1}: ${reqs.length} decisions in ${el.toFixed(3)} s = ${(reqs.length / el).toFixed(0)} decisions/s (permits ${sink})`);
}
console.log(`casbin: loaded ${rules.length} rules (${d.nrels} relationships, ${d.nblocks} blocks, org tree) in ${tLoad.toFixed(2)} s; permits ${permits}, disagreements with overblik ${mismatch}`);
console.log(`RESULT casbin ${median(rates).toFixed(0)}`);
console.log(`RESULT casbin_mismatch ${mismatch}`);
console.log(`RESULT casbin_n ${reqs.length}`);
