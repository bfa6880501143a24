// directory.mjs - finding a professional by name and a site in the SOR tree for a block
// (GET /fhir/Practitioner?name=, GET /fhir/Organization?name=; the directory holds no
// patient data and a search of it writes no log entry). A name that is an id is also tried
// as a read, so that an exact id always works.
import { api, t, matches } from './app.mjs';

function sitesOf(p, bundle) {
  const out = [];
  for (const e of p.extension || []) {
    if (/works-at|site/.test(e.url) && e.valueReference)
      out.push({ id: e.valueReference.reference.replace(/^Organization\//, ''), name: e.valueReference.display || e.valueReference.reference });
  }
  for (const e of bundle?.entry || []) {
    const r = e.resource;
    if (r?.resourceType === 'PractitionerRole' && r.practitioner?.reference === `Practitioner/${p.id}` && r.organization)
      out.push({ id: r.organization.reference.replace(/^Organization\//, ''), name: r.organization.display || r.organization.reference, role: r.code?.[0]?.text || r.code?.[0]?.coding?.[0]?.code });
  }
  return out;
}

const nameOf = (r) => (typeof r.name === 'string' ? r.name : r.name?.[0]?.text || [r.name?.[0]?.given?.join(' '), r.name?.[0]?.family].filter(Boolean).join(' ')) || r.id;

export async function findPractitioners(q) {
  q = q.trim();
  if (q.length < 2) return { list: [] };
  const r = await api(`/fhir/Practitioner?name=${encodeURIComponent(q)}&_count=20`);
  let list = [];
  if (r.ok) {
    list = matches(r.json).filter((x) => x.resourceType === 'Practitioner').map((p) => ({ id: p.id, name: nameOf(p), sites: sitesOf(p, r.json), role: p.qualification?.[0]?.code?.text || p.qualification?.[0]?.code?.coding?.[0]?.code }));
  }
  if (!list.length && /^[A-Za-z0-9._-]+$/.test(q)) {
    const one = await api(`/fhir/Practitioner/${encodeURIComponent(q)}`);
    if (one.ok && one.json?.resourceType === 'Practitioner') list = [{ id: one.json.id, name: nameOf(one.json), sites: sitesOf(one.json) }];
  }
  if (!r.ok && !list.length && r.status !== 404) return { list, error: t('search.unsupported') };
  return { list };
}

export async function findOrganizations(q) {
  q = q.trim();
  if (q.length < 2) return { list: [] };
  const r = await api(`/fhir/Organization?name=${encodeURIComponent(q)}&_count=30`);
  let list = [];
  if (r.ok) list = matches(r.json).filter((x) => x.resourceType === 'Organization').map((o) => ({ id: o.id, name: o.name || o.id, parent: o.partOf?.display || o.partOf?.reference?.replace(/^Organization\//, '') }));
  if (!list.length && /^[A-Za-z0-9._-]+$/.test(q)) {
    const one = await api(`/fhir/Organization/${encodeURIComponent(q)}`);
    if (one.ok && one.json?.resourceType === 'Organization') list = [{ id: one.json.id, name: one.json.name || one.json.id, parent: one.json.partOf?.display }];
  }
  if (!r.ok && !list.length && r.status !== 404) return { list, error: t('search.unsupported') };
  // the tree: parents before their units
  list.sort((a, b) => (a.parent || a.name).localeCompare(b.parent || b.name) || (a.parent ? 1 : -1) - (b.parent ? 1 : -1));
  return { list };
}

// the units directly below a site (the SOR tree), or null when the server cannot say
export async function orgChildren(id) {
  const r = await api(`/fhir/Organization?partof=${encodeURIComponent(`Organization/${id}`)}&_count=100`);
  if (!r.ok) return null;
  return matches(r.json).filter((x) => x.resourceType === 'Organization').map((o) => ({ id: o.id, name: o.name || o.id, parent: o.partOf?.display }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export const orgLabel = (o) => (o.parent ? `${o.name} (${t('dir.under')} ${o.parent})` : o.name);
export const proLabel = (p) => [p.name, p.role ? t(`role.${p.role}`) : null, p.sites?.map((s) => s.name).join(', ')].filter(Boolean).join(', ');
