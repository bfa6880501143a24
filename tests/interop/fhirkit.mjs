// fhirkit.mjs - the fhir-kit-client scenario: what a generic FHIR R4 client does with
// overblik, each step checked on a concrete value (status, id, version, count).
import { Client, RESPONSE_KEY } from 'fhir-kit-client';
import { env, fhirBase, eq, truthy, ok, bad, note, tokens, sample, status, P_DIG } from './lib.mjs';

const client = (token) => new Client({ baseUrl: fhirBase(), bearerToken: token });
const etagOf = (res) => res?.[RESPONSE_KEY]?.headers.get('etag');
const headerOf = (res, h) => res?.[RESPONSE_KEY]?.headers.get(h);
// expectStatus(what, promise, code): the call must fail with that HTTP status
async function expectStatus(what, p, code) {
  try {
    const r = await p;
    bad(`${what}: wanted HTTP ${code}, the call succeeded (${JSON.stringify(r).slice(0, 200)})`);
    return undefined;
  } catch (e) {
    eq(`${what}: HTTP ${code}`, status(e), code);
    if (e?.response?.data?.resourceType) sample(`${what} (error body)`, e.response.data);
    return e;
  }
}

// an Appointment for pt-p (the patient named by CPR, as a source system sends it)
export function appointment(ident, start, extra = {}) {
  return {
    resourceType: 'Appointment',
    identifier: [{ system: 'urn:sp:booking', value: ident }],
    status: 'booked',
    start,
    participant: [
      { actor: { identifier: { system: 'urn:oid:1.2.208.176.1.2', value: P_DIG } }, status: 'accepted' },
      { actor: { type: 'Location', display: 'Indgang 20, Odense' }, status: 'accepted' },
    ],
    ...extra,
  };
}
const matchIds = (b) => (b.entry || []).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id).sort();

export async function run() {
  // --- discovery
  const anon = new Client({ baseUrl: fhirBase() });
  const cs = sample('CapabilityStatement', await anon.capabilityStatement());
  eq('capabilityStatement(): resourceType', cs.resourceType, 'CapabilityStatement');
  eq('capabilityStatement(): fhirVersion', cs.fhirVersion, '4.0.1');
  const aptDecl = cs.rest?.[0]?.resource?.find((r) => r.type === 'Appointment');
  eq('CapabilityStatement: Appointment conditionalUpdate', aptDecl?.conditionalUpdate, true);
  truthy('CapabilityStatement: AuditEvent is searchable',
    cs.rest?.[0]?.resource?.find((r) => r.type === 'AuditEvent')?.interaction?.some((i) => i.code === 'search-type'));
  // SMART discovery: fhir-kit-client races smart-configuration, metadata and
  // openid-configuration; every source overblik answers must name the same endpoints
  const meta = await anon.smartAuthMetadata();
  const wk = await (await fetch(`${fhirBase()}/.well-known/smart-configuration`)).json();
  const sec = cs.rest?.[0]?.security;
  const uris = sec?.extension?.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris')?.extension || [];
  const capSmart = 'CapabilityStatement: rest.security names the SMART-on-FHIR service and the same oauth-uris as smart-configuration (docs/api.md)';
  const discovered = [meta.authorizeUrl?.toString() ?? null, meta.tokenUrl?.toString() ?? null];
  eq(capSmart,
    [sec?.service?.[0]?.coding?.[0]?.code, uris.find((e) => e.url === 'authorize')?.valueUri, uris.find((e) => e.url === 'token')?.valueUri],
    ['SMART-on-FHIR', wk.authorization_endpoint, wk.token_endpoint]);
  eq('smartAuthMetadata(): the endpoints of overblik\'s smart-configuration', discovered, [wk.authorization_endpoint, wk.token_endpoint]);

  // --- create by the source, then read/vread and a conditional read
  const src = () => client(tokens.source());
  const created = await src().create({ resourceType: 'Appointment', body: appointment('IX-1', '2026-12-02T09:00:00Z') });
  sample('create Appointment', created);
  eq('create: HTTP 201', created[RESPONSE_KEY]?.status, 201);
  const id = created.id;
  truthy('create: an apt- id', /^apt-\d+$/.test(id || ''), id);
  eq('create: ETag W/"1"', etagOf(created), 'W/"1"');
  eq('create: Location', headerOf(created, 'location'), `${fhirBase()}/Appointment/${id}/_history/1`);

  const cit = client(tokens.citizen());
  const read1 = sample('read Appointment', await cit.read({ resourceType: 'Appointment', id }));
  eq('read: the same appointment', [read1.id, read1.start], [id, '2026-12-02T09:00:00Z']);
  eq('read: meta.versionId', read1.meta?.versionId, '1');
  const v1 = sample('vread Appointment', await cit.vread({ resourceType: 'Appointment', id, version: '1' }));
  eq('vread 1: the same id and version', [v1.id, v1.meta?.versionId], [id, '1']);
  await expectStatus('conditional read with the current ETag (If-None-Match)',
    cit.read({ resourceType: 'Appointment', id, options: { headers: { 'If-None-Match': 'W/"1"' } } }), 304);
  const stale = await cit.read({ resourceType: 'Appointment', id, options: { headers: { 'If-None-Match': 'W/"7"' } } });
  eq('conditional read with another ETag: the body', stale.id, id);

  // --- conditional update by the source's identifier (system|value)
  const upd = await src().update({
    resourceType: 'Appointment', searchParams: { identifier: 'urn:sp:booking|IX-1' },
    body: appointment('IX-1', '2026-12-02T11:00:00Z', { end: '2026-12-02T11:30:00Z' }),
  });
  sample('conditional update Appointment', upd);
  eq('conditional PUT: HTTP 200, same id, new start', [upd[RESPONSE_KEY]?.status, upd.id, upd.start],
    [200, id, '2026-12-02T11:00:00Z']);
  eq('conditional PUT: ETag W/"2"', etagOf(upd), 'W/"2"');
  const again = await cit.read({ resourceType: 'Appointment', id, options: { headers: { 'If-None-Match': 'W/"1"' } } });
  eq('conditional read after the update: the new version', [again.meta?.versionId, again.start], ['2', '2026-12-02T11:00:00Z']);
  const v2 = sample('vread Appointment 2', await cit.vread({ resourceType: 'Appointment', id, version: '2' }));
  eq('vread 2', v2.meta?.versionId, '2');
  const made = await src().update({
    resourceType: 'Appointment', searchParams: { identifier: 'urn:sp:booking|IX-2' },
    body: appointment('IX-2', '2026-12-03T09:00:00Z'),
  });
  eq('conditional PUT of a new identifier creates: 201', made[RESPONSE_KEY]?.status, 201);
  await expectStatus('conditional PUT with a stale If-Match',
    src().update({
      resourceType: 'Appointment', searchParams: { identifier: 'urn:sp:booking|IX-1' },
      body: appointment('IX-1', '2026-12-02T13:00:00Z'), options: { headers: { 'If-Match': 'W/"1"' } },
    }), 412);
  await expectStatus('a citizen cannot create', client(tokens.citizen()).create({
    resourceType: 'Appointment', body: appointment('IX-X', '2026-12-04T09:00:00Z') }), 403);

  // --- search: the citizen sees the imported G-1 and both new ones
  const all = sample('search Appointment', await cit.search({ resourceType: 'Appointment', searchParams: { patient: 'Patient/pt-p' } }));
  eq('search: total', all.total, 3);
  eq('search: the ids', matchIds(all).length, 3);
  truthy('search: the updated one is in it', matchIds(all).includes(id));
  // paging a search with nextPage (the appointments, one a page)
  let page = await cit.search({ resourceType: 'Appointment', searchParams: { patient: 'Patient/pt-p', _count: 1 } });
  const seen = [];
  for (let n = 0; page && n < 10; n++) {
    seen.push(...matchIds(page));
    page = await cit.nextPage({ bundle: page });
  }
  eq('nextPage over the appointments: each once', seen.sort(), matchIds(all));

  // --- the citizen's AuditEvent log, paged with nextPage while each page read adds entries
  await auditPaging(cit);

  // --- a block by the citizen (POST Consent), then the blocked doctor sees nothing
  const gpb = client(tokens.gpb());
  const before = await gpb.search({ resourceType: 'Appointment', searchParams: { patient: 'Patient/pt-p' } });
  eq('before the block: gp-b-dr (treatment relationship) sees all', before.total, 3);
  const consent = {
    resourceType: 'Consent', status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/pt-p' },
    provision: {
      type: 'deny',
      actor: [{
        role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
        reference: { reference: 'Practitioner/gp-b-dr' },
      }],
    },
  };
  const block = sample('create Consent', await client(tokens.citizen()).create({ resourceType: 'Consent', body: consent }));
  eq('block: HTTP 201', block[RESPONSE_KEY]?.status, 201);
  truthy('block: a block- id', /^block-/.test(block.id || ''), block.id);
  const after = sample('search after a block', await gpb.search({ resourceType: 'Appointment', searchParams: { patient: 'Patient/pt-p' } }));
  eq('after the block: gp-b-dr sees none', [after.total, matchIds(after).length], [0, 0]);
  eq('after the block: only the generic marker', (after.entry || []).map((e) => e.search?.mode), ['outcome']);
  await expectStatus('a doctor cannot block for the patient',
    client(tokens.med()).create({ resourceType: 'Consent', body: consent }), 403);

  // --- a batch with errors: each entry answered with its own status
  const bad400 = appointment('IX-B3', '2026-12-07T09:00:00Z');
  bad400.participant[0].actor.identifier.value = '3213901234'; // not a valid CPR
  const batch = {
    resourceType: 'Bundle', type: 'batch',
    entry: [
      { request: { method: 'POST', url: 'Appointment' }, resource: appointment('IX-B1', '2026-12-05T09:00:00Z') },
      { request: { method: 'POST', url: 'Appointment' }, resource: appointment('IX-1', '2026-12-05T10:00:00Z') },
      { request: { method: 'POST', url: 'Appointment' }, resource: bad400 },
      { request: { method: 'PUT', url: 'Appointment?identifier=urn%3Asp%3Abooking%7CIX-2' },
        resource: appointment('IX-2', '2026-12-03T10:00:00Z') },
      { request: { method: 'GET', url: 'Appointment/apt-999999' } },
    ],
  };
  const br = sample('batch-response', await src().batch({ body: batch }));
  eq('batch: a batch-response', br.type, 'batch-response');
  eq('batch: one answer per entry, each its own status',
    (br.entry || []).map((e) => (e.response?.status || '').split(' ')[0]), ['201', '409', '400', '200', '404']);
  truthy('batch: the refused entries carry an outcome',
    [1, 2].every((i) => br.entry?.[i]?.response?.outcome?.resourceType === 'OperationOutcome'), br.entry);
  for (const [i, e] of (br.entry || []).entries()) if (e.response?.outcome) sample(`batch outcome ${i}`, e.response.outcome);
  const afterBatch = await client(tokens.citizen()).search({ resourceType: 'Appointment', searchParams: { patient: 'Patient/pt-p' } });
  eq('after the batch: the one new appointment is there', afterBatch.total, 4);
  sample('a Patient read', await cit.read({ resourceType: 'Patient', id: 'pt-p' }));
  note(`base ${env.base}: ${id} created, updated, read; block ${block.id}`);
}

// auditPaging(client): follows `next` over the citizen's log. The log grows under the client's
// feet (each page read is logged at the top), so the links pin a snapshot (_at=<seq>): every
// entry of the snapshot exactly once, none of the entries the paging itself added.
async function auditPaging(cit) {
  let page = sample('AuditEvent page 1', await cit.search({ resourceType: 'AuditEvent', searchParams: { _count: 3 } }));
  const total = page.total;
  truthy('AuditEvent: the log has more than three pages of three', total > 9, total);
  const next0 = page.link?.find((l) => l.relation === 'next')?.url || '';
  truthy('AuditEvent: the next link pins the snapshot (_at=)', /[?&]_at=\d+/.test(next0), next0);
  const ids = [];
  let pages = 0;
  while (page && pages < 50) {
    pages++;
    ids.push(...(page.entry || []).map((e) => e.resource.id));
    page = await cit.nextPage({ bundle: page });
    if (page) sample(`AuditEvent page ${pages + 1}`, page);
  }
  eq('AuditEvent paging: pages of three', pages, Math.ceil(total / 3));
  eq('AuditEvent paging: as many entries as the first page\'s total', ids.length, total);
  eq('AuditEvent paging: no entry twice', new Set(ids).size, ids.length);
  const seqs = ids.map(Number);
  truthy('AuditEvent paging: newest first, strictly', seqs.every((s, i) => i === 0 || s < seqs[i - 1]), seqs);
  const fresh = await cit.search({ resourceType: 'AuditEvent', searchParams: { _count: 1 } });
  truthy('AuditEvent: the paging reads were logged meanwhile (the log grew by at least the pages read)',
    fresh.total >= total + pages, { before: total, pages, now: fresh.total });
  truthy('AuditEvent: and none of them was shown by the paging', Number(fresh.entry?.[0]?.resource?.id) > seqs[0]);
}
