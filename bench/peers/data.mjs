// data.mjs - loads the data bench_decide --export DIR wrote (orgs.csv, rels.csv,
// blocks.csv, requests.csv) into plain JS structures shared by the Cedar and Casbin
// peers of the single-rule comparison (bench/peers/run.sh, docs/bench-decide.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function rows(dir, name, fn) {
  const text = readFileSync(join(dir, name), 'utf8');
  let start = text.indexOf('\n') + 1; // skip the header
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) fn(text.slice(start, end).split(','));
    start = end + 1;
  }
}

// Returns { parent: Int32Array, relPros: Map<patient, number[]>, relOrgs: Map<patient,
// number[]>, blocked: Map<patient, number[]>, requests: [{pro, site, patient, expect}] }.
// Relationships and blocks are those current at the benchmark's "now" (bench_decide
// resolves the time validity when it exports).
export function load(dir, maxRequests) {
  const orgs = [];
  rows(dir, 'orgs.csv', (r) => orgs.push(Number(r[1])));
  const parent = Int32Array.from(orgs);
  const relPros = new Map(), relOrgs = new Map(), blocked = new Map();
  const push = (m, k, v) => {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  };
  let nrels = 0, nblocks = 0;
  rows(dir, 'rels.csv', (r) => {
    const pat = Number(r[0]), pro = Number(r[1]), org = Number(r[2]);
    if (pro >= 0) push(relPros, pat, pro);
    else push(relOrgs, pat, org);
    nrels++;
  });
  rows(dir, 'blocks.csv', (r) => {
    push(blocked, Number(r[0]), Number(r[1]));
    nblocks++;
  });
  const requests = [];
  rows(dir, 'requests.csv', (r) => {
    if (requests.length < maxRequests)
      requests.push({ pro: Number(r[0]), site: Number(r[1]), patient: Number(r[2]), expect: r[3] === '1' });
  });
  return { parent, relPros, relOrgs, blocked, requests, nrels, nblocks };
}

// Median of the per-round rates.
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
