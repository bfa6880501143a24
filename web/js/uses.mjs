// uses.mjs - "Hvad bruges mine data til": the statistics releases and research projects that
// included the patient's data, from the hub's own release and access records, with the rule
// that allowed each (A's Patient/$uses operation; the answer's shape is read leniently:
// a Parameters resource with one "use" part per release or project, or a Bundle).
import { start, api, el, $, t, fmtDate, subject } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

const part = (p, name) => p.part?.find((x) => x.name === name);
const val = (x) => x && (x.valueString ?? x.valueCode ?? x.valueDateTime ?? x.valueDate ?? x.valueInteger ?? x.valueBoolean ?? x.valueReference?.display ?? x.valueReference?.reference);

function useCard(u) {
  const kind = u.kind;
  return el('li', { class: 'card' },
    el('h3', {}, kind ? t(`uses.kind.${kind}`) : t('uses.use'), u.title ? `: ${u.title}` : ''),
    el('dl', { class: 'kv' },
      u.when ? [el('dt', {}, t('uses.when')), el('dd', {}, fmtDate(u.when))] : null,
      u.by ? [el('dt', {}, t('uses.by')), el('dd', {}, u.by)] : null,
      u.what ? [el('dt', {}, t('uses.what')), el('dd', {}, u.what)] : null,
      u.rule ? [el('dt', {}, t('uses.rule')), el('dd', {}, u.rule)] : null,
      u.basis ? [el('dt', {}, t('uses.basis')), el('dd', {}, u.basis)] : null,
      u.identifiable !== undefined ? [el('dt', {}, t('uses.identifiable')), el('dd', {}, u.identifiable ? t('yes') : t('no'))] : null));
}

function normalise(json) {
  const out = [];
  if (json?.resourceType === 'Parameters') {
    for (const p of json.parameter || []) {
      if (!p.part) continue;
      out.push({
        kind: val(part(p, 'kind')) || p.name,
        title: val(part(p, 'title')) || val(part(p, 'name')) || val(part(p, 'project')) || val(part(p, 'cluster')),
        when: val(part(p, 'when')) || val(part(p, 'date')) || val(part(p, 'created')),
        by: val(part(p, 'by')) || val(part(p, 'recipient')) || val(part(p, 'organisation')),
        what: val(part(p, 'what')) || val(part(p, 'categories')) || val(part(p, 'filter')),
        rule: val(part(p, 'rule')),
        basis: val(part(p, 'legal_basis')) || val(part(p, 'basis')),
        identifiable: val(part(p, 'identifiable')),
      });
    }
  } else if (Array.isArray(json?.uses)) {
    for (const u of json.uses) out.push({ kind: u.kind, title: u.title || u.project || u.cluster, when: u.when || u.created, by: u.by || u.recipient, what: u.what || u.filter, rule: u.rule, basis: u.legal_basis, identifiable: u.identifiable });
  }
  return out;
}

async function load() {
  const s = subject();
  const r = await api(`/fhir/Patient/${encodeURIComponent(s.id)}/$uses`, { headers: s.headers });
  const box = $('#uses');
  if (!r.ok) {
    box.replaceChildren(el('div', { class: 'notice warn', role: 'note' }, [400, 404, 405, 501].includes(r.status) ? t('uses.unavailable') : t('error.load')));
    return;
  }
  const list = normalise(r.json);
  box.replaceChildren(list.length ? el('ul', { class: 'cards' }, list.map(useCard)) : el('p', {}, t('uses.none')));
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
document.addEventListener('ob-lang', load);
await load();
