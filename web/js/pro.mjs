// pro.mjs - the professional's page: the purpose of the look-up; a patient found by CPR sent
// in a POST body only (R-CPR-2); the overview the engine permits, by
// category; where a block withholds something, a notice and break-the-glass (R-BLK-4) with its
// grounds and a mandatory justification, saying that the patient will see it; an assistant
// acting for a chosen authorised colleague (R-ACC-3); and the patient's own GP acting for a
// patient who is not digital (R-BLK-3, seed 000): their log, appointments and blocks.
// The overview is one search per type (POST …/_search, the CPR in the form body).
import { start, api, el, $, t, fmtDate, categoryOf, controllerOf, titleOf, timeOf, outcomes, matches, outcomeText, say, session, ext } from './app.mjs';
import { findOrganizations, orgLabel } from './directory.mjs';

let cpr = ''; // held in memory for this page only, never in a URL or storage
let patient = null;

const CPR_SYSTEM = 'urn:oid:1.2.208.176.1.2';
const purposeHeaders = (extra = {}) => ({ 'X-Purpose-Of-Use': $('#purpose').value, ...extra });

function setupContext() {
  const purposes = Array.isArray(session.purposes) && session.purposes.length ? session.purposes : ['TREAT', 'ETREAT'];
  $('#purpose').replaceChildren(...purposes.map((p) => el('option', { value: p }, `${t(`purpose.${p}`)} (${p})`)));
  const colleagues = Array.isArray(session.colleagues) ? session.colleagues : [];
  if (colleagues.length) {
    $('#assist').classList.remove('hidden');
    const cur = session.acts_for?.id || '';
    $('#colleague').replaceChildren(el('option', { value: '' }, t('pro.nocolleague')),
      ...colleagues.map((c) => el('option', { value: c.id, selected: c.id === cur }, c.name || c.id)));
  }
}

function renderOverview(bundle) {
  const items = matches(bundle).filter((r) => r.resourceType !== 'Patient');
  const notes = outcomes(bundle);
  const groups = new Map();
  for (const r of items) {
    const c = categoryOf(r);
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c).push(r);
  }
  const parts = [];
  for (const n of notes.incomplete) parts.push(el('div', { class: 'notice warn', role: 'note' }, t('data.incomplete'), ' ', n));
  if (!items.length) parts.push(el('p', {}, t('pro.nothing')));
  for (const [c, list] of [...groups.entries()].sort()) {
    parts.push(el('section', {}, el('h3', {}, `${t(`cat.${c}`)} (${list.length})`),
      el('ul', { class: 'cards' }, list.sort((a, b) => timeOf(b).localeCompare(timeOf(a))).map((r) =>
        el('li', { class: 'card' }, el('strong', {}, titleOf(r)), ' ',
          r.status === 'cancelled' ? el('span', { class: 'tag cancelled' }, t('apt.cancelled')) : null,
          ext(r, 'fictive-end')?.valueBoolean ? el('span', { class: 'tag fictive' }, t('apt.fictive')) : null,
          el('p', { class: 'hint' }, [fmtDate(timeOf(r)), controllerOf(r)?.name].filter(Boolean).join(' · ')))))));
  }
  $('#overview').replaceChildren(...parts);
  const w = $('#withheld');
  if (notes.suppressed) {
    w.replaceChildren(el('div', { class: 'notice warn', role: 'alert', id: 'withheld-notice' },
      el('p', {}, el('strong', {}, t('pro.withheld'))), el('p', {}, t('pro.withheld.long')), breakGlassForm()));
  } else w.replaceChildren();
  return notes;
}

function breakGlassForm() {
  const f = el('form', { id: 'bg', class: 'panel' },
    el('h3', {}, t('bg.title')),
    el('fieldset', {}, el('legend', {}, t('bg.grounds')),
      el('label', { class: 'inline' }, el('input', { type: 'radio', name: 'grounds', value: 'consent', checked: true }), t('bg.consent')),
      el('label', { class: 'inline' }, el('input', { type: 'radio', name: 'grounds', value: 'vital_interest' }), t('bg.vital'))),
    el('label', { for: 'bg-reason' }, t('bg.reason')),
    el('textarea', { id: 'bg-reason', required: true, minlength: 15, maxlength: 500, 'aria-describedby': 'bg-warn' }),
    el('p', { id: 'bg-warn', class: 'notice bad' }, t('bg.warning')),
    el('button', { type: 'submit', class: 'danger' }, t('bg.submit')));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const grounds = f.querySelector('input[name=grounds]:checked').value;
    const reason = $('#bg-reason').value.trim();
    if (!reason) return void say($('#msg'), 'bad', t('bg.needreason'));
    const headers = purposeHeaders({ 'X-Break-Glass': grounds, 'X-Break-Glass-Reason': encodeURIComponent(reason) });
    if (grounds === 'vital_interest') headers['X-Purpose-Of-Use'] = 'ETREAT';
    const r = await overview(headers);
    if (r.ok) say($('#msg'), 'warn', t('bg.done'));
    else say($('#msg'), 'bad', t('bg.failed'), ' ', outcomeText(r));
  });
  return f;
}

// the overview by category: one search per resource type, each with the CPR in its form
// body, each decided and logged by the engine on its own (a category the block withholds
// entirely is logged as a denied attempt, which the patient sees)
const TYPES = ['Appointment', 'Condition', 'Observation', 'MedicationStatement', 'Immunization', 'DocumentReference'];
async function overview(headers = purposeHeaders()) {
  const form = { 'patient.identifier': `${CPR_SYSTEM}|${cpr}`, _count: '200' };
  const answers = await Promise.all(TYPES.map((ty) => api(`/fhir/${ty}/_search`, { method: 'POST', form, headers })));
  $('#result').classList.remove('hidden');
  const failed = answers.find((r) => !r.ok);
  if (failed) {
    $('#overview').replaceChildren(el('div', { class: 'notice bad', role: 'alert' }, outcomeText(failed)));
    return failed;
  }
  const entry = answers.flatMap((r) => r.json.entry || []);
  const seen = new Set();
  renderOverview({ entry: entry.filter((e) => {
    const k = e.search?.mode === 'outcome' ? JSON.stringify(e.resource) : `${e.resource?.resourceType}/${e.resource?.id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }) });
  return answers[0];
}

async function find() {
  // the Patient (name, GP) by CPR in a form body, then the overview by CPR in a JSON body
  const r = await api('/fhir/Patient/_search', { method: 'POST', form: { identifier: `${CPR_SYSTEM}|${cpr}` }, headers: purposeHeaders() });
  patient = r.ok ? matches(r.json).find((x) => x.resourceType === 'Patient') || null : null;
  $('#patient').replaceChildren(patient
    ? el('dl', { class: 'kv' }, el('dt', {}, t('pro.name')), el('dd', { id: 'patient-name' }, patient.name?.[0]?.text || patient.id),
      patient.birthDate ? [el('dt', {}, t('pro.born')), el('dd', {}, fmtDate(patient.birthDate, false))] : null,
      patient.generalPractitioner?.[0] ? [el('dt', {}, t('pro.gp')), el('dd', {}, patient.generalPractitioner[0].display || patient.generalPractitioner[0].reference)] : null)
    : el('p', { class: 'hint' }, t('pro.nopatient')));
  await overview();
  const gpSite = patient?.generalPractitioner?.[0]?.reference?.replace(/^Organization\//, '');
  const mySites = [session.site].filter(Boolean);
  const isGp = gpSite && mySites.includes(gpSite) && session.role === 'doctor';
  $('#gp').classList.toggle('hidden', !isGp);
  if (isGp) await gpBlocks();
}

// ---------------------------------------------------------------- the GP, for the patient

async function gpBlocks() {
  const r = await api(`/fhir/Consent?patient=${encodeURIComponent(`Patient/${patient.id}`)}`, { headers: purposeHeaders() });
  const list = r.ok ? matches(r.json).filter((c) => c.provision?.type === 'deny') : [];
  $('#gp-blocks').replaceChildren(...(list.length ? list.map((c) => {
    const a = c.provision?.actor?.[0]?.reference;
    const active = c.status === 'active';
    return el('li', { class: 'card' }, el('span', {}, a?.display || a?.reference || t('blocks.kind.period')), ' ',
      el('span', { class: `tag ${active ? 'ok' : ''}` }, active ? t('status.active') : t('status.lifted')), ' ',
      active ? el('button', { type: 'button', class: 'danger', onclick: async () => {
        const x = await api(`/fhir/Consent/${encodeURIComponent(c.id)}`, { method: 'PUT', body: { ...c, status: 'inactive' } });
        say($('#gp-msg'), x.ok ? 'good' : 'bad', x.ok ? t('blocks.lifted') : outcomeText(x));
        await gpBlocks();
      } }, t('blocks.lift')) : null);
  }) : [el('li', {}, t('blocks.none'))]));
}

async function gpLog() {
  const r = await api(`/fhir/AuditEvent?patient=${encodeURIComponent(`Patient/${patient.id}`)}&_count=50`, { headers: { 'X-Purpose-Of-Use': $('#purpose').value, 'X-Shown-To-Patient': `Patient/${patient.id}` } });
  const list = r.ok ? matches(r.json).filter((x) => x.resourceType === 'AuditEvent') : [];
  const box = $('#gp-logbox');
  if (!r.ok || !list.length) return void box.replaceChildren(el('p', { class: 'notice' }, r.ok ? t('gp.nolog') : outcomeText(r)));
  box.replaceChildren(el('div', { class: 'scroll' }, el('table', {},
    el('caption', {}, t('gp.logcaption')),
    el('thead', {}, el('tr', {}, ['log.when', 'log.who', 'log.where', 'log.why', 'log.result'].map((k) => el('th', { scope: 'col' }, t(k))))),
    el('tbody', {}, list.map((ev) => el('tr', {},
      el('td', {}, fmtDate(ev.recorded)),
      el('td', {}, ev.agent?.[0]?.name || ev.agent?.[0]?.who?.display || ''),
      el('td', {}, ev.agent?.[1]?.who?.display || ''),
      el('td', {}, t(`purpose.${ev.purposeOfEvent?.[0]?.coding?.[0]?.code}`)),
      el('td', {}, ev.outcome === '0' ? t('log.permit') : t('log.deny'))))))));
}

await start('professional');
setupContext();
$('#set-colleague').addEventListener('click', async () => {
  const r = await api('/auth/acts-for', { method: 'POST', body: { on_behalf_of: $('#colleague').value || null } });
  if (r.ok) location.reload();
  else say($('#msg'), 'bad', outcomeText(r));
});
$('#find').addEventListener('submit', async (e) => {
  e.preventDefault();
  cpr = $('#cpr').value.replace(/\s/g, '');
  $('#cpr').value = '';
  await find();
});
$('#gp-log').addEventListener('click', gpLog);
$('#gp-block').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await findOrganizations($('#gp-site').value);
  $('#gp-site-results').replaceChildren(el('ul', { class: 'cards' }, r.list.map((o) => el('li', { class: 'card' }, orgLabel(o), ' ',
    el('button', { type: 'button', onclick: async () => {
      const body = {
        resourceType: 'Consent', status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${patient.id}` },
        provision: { type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Organization/${o.id}` } }] },
      };
      const x = await api('/fhir/Consent', { method: 'POST', body });
      say($('#gp-msg'), x.ok ? 'good' : 'bad', x.ok ? t('blocks.created', o.name) : outcomeText(x));
      await gpBlocks();
    } }, t('blocks.blockthis'))))));
});
