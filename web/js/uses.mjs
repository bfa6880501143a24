// uses.mjs - "Hvad bruges mine data til": the statistics releases and research projects that
// included the patient's data, from the hub's own release and access records, with the rule
// that allowed each (A's Patient/$uses operation; the answer's shape is read leniently:
// a Parameters resource with one "use" part per release or project, or a Bundle).
import { start, api, el, $, t, fmtDate, subject } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

const val = (x) => x && (x.valueString ?? x.valueCode ?? x.valueDateTime ?? x.valueDate ?? x.valueInteger ?? x.valueBoolean ?? x.valueReference?.display ?? x.valueReference?.reference);

function useCard(u) {
  const kind = u.kind;
  return el('li', { class: 'card' },
    el('h3', {}, kind ? t(`uses.kind.${kind}`) : t('uses.use'), u.title ? `: ${u.title}` : ''),
    el('p', {}, kind === 'statistics' || kind === 'research' ? t(`uses.say.${kind}`) : ''),
    el('dl', { class: 'kv' },
      u.when ? [el('dt', {}, t('uses.when')), el('dd', {}, fmtDate(u.when))] : null,
      u.by ? [el('dt', {}, t('uses.by')), el('dd', {}, u.by)] : null,
      u.purpose ? [el('dt', {}, t('uses.purpose')), el('dd', {}, t(`purpose.${u.purpose}`))] : null,
      u.what ? [el('dt', {}, t('uses.what')), el('dd', {}, u.what)] : null,
      u.approval ? [el('dt', {}, t('uses.approval')), el('dd', {}, u.approval)] : null,
      u.rule ? [el('dt', {}, t('uses.rule')), el('dd', {}, u.rule)] : null,
      u.basis ? [el('dt', {}, t('uses.basis')), el('dd', {}, u.basis)] : null,
      u.identifiable !== undefined && u.identifiable !== null ? [el('dt', {}, t('uses.identifiable')), el('dd', {}, u.identifiable ? t('yes') : t('no'))] : null,
      u.explanation ? [el('dt', {}, t('uses.explanation')), el('dd', { lang: 'en' }, u.explanation)] : null));
}

// A's Patient/$uses: Parameters, one "use" per release or project, its parts flat
function normalise(json) {
  const out = [];
  for (const p of json?.resourceType === 'Parameters' ? json.parameter || [] : []) {
    if (!p.part) continue;
    const o = p.part.reduce((a, x) => ({ ...a, [x.name]: val(x) }), {});
    out.push({
      kind: o.kind,
      title: o.title || o.project,
      when: o.date || o.when || o.created,
      by: o.recipient || o.by,
      purpose: o.purpose,
      what: [o.category ? t(`cat.${o.category}`) : null, o.release ? `${t('uses.release')} ${o.release}` : null, o.mode].filter(Boolean).join(', '),
      approval: o.approval,
      rule: o.rule,
      basis: o.legalBasis || o.legal_basis,
      identifiable: o.identifiable,
      explanation: o.explanation,
    });
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
