// blocks.mjs - "Spærringer" (R-BLK-1..5): the patient's blocks (Consent, provision deny) with
// who set them (the GP on the patient's behalf is shown as such, R-BLK-3), lifting (PUT
// status inactive), and the three kinds of new block: a professional (found by name), a site
// (found in the SOR tree, with or without its sub-units) and a data period. The R-BLK-2
// refusal (a hospital professional) is shown as a helpful message offering the site block.
import { start, api, el, $, t, fmtDate, subject, ext, matches, outcomeText, say, session } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';
import { findPractitioners, findOrganizations, orgChildren, orgLabel, proLabel } from './directory.mjs';

const BASE = 'https://overblik.dk/fhir/StructureDefinition/';
let readOnly = false;

function describe(c) {
  const actor = c.provision?.actor?.[0]?.reference;
  const ref = actor?.reference || '';
  let kind = 'period';
  if (ref.startsWith('Practitioner/')) kind = 'professional';
  else if (ref.startsWith('Organization/')) kind = 'site';
  else if (ext(c, 'consent-notes-within-sector')) kind = 'notes';
  const sub = ext(c, 'consent-include-subunits')?.valueBoolean !== false;
  const dp = c.provision?.dataPeriod;
  const gp = ext(c, 'consent-set-by-gp')?.valueReference;
  return { c, kind, target: actor?.display || ref, sub, dp, gp, active: c.status === 'active' };
}

function card(d) {
  const lift = d.active && !readOnly
    ? el('button', { type: 'button', class: 'danger', onclick: () => liftBlock(d.c) }, t('blocks.lift'))
    : null;
  return el('li', { class: 'card', 'data-id': d.c.id },
    el('h3', {}, t(`blocks.kind.${d.kind}`), d.target ? `: ${d.target}` : '',
      ' ', el('span', { class: `tag ${d.active ? 'ok' : ''}` }, d.active ? t('status.active') : t('status.lifted'))),
    el('dl', { class: 'kv' },
      d.kind === 'site' ? [el('dt', {}, t('blocks.subunits')), el('dd', {}, d.sub ? t('yes') : t('no'))] : null,
      d.dp ? [el('dt', {}, t('blocks.dataperiod')), el('dd', {}, `${fmtDate(d.dp.start, false)} – ${fmtDate(d.dp.end, false)}`)] : null,
      d.c.provision?.class?.length ? [el('dt', {}, t('item.category')), el('dd', {}, d.c.provision.class.map((x) => t(`cat.${x.code}`)).join(', '))] : null,
      d.gp ? [el('dt', {}, t('blocks.setby')), el('dd', {}, el('span', { class: 'tag gp' }, t('blocks.bygp')), ' ', d.gp.display || d.gp.reference)] : null,
      ext(d.c, 'consent-revoked-at') ? [el('dt', {}, t('blocks.liftedat')), el('dd', {}, fmtDate(ext(d.c, 'consent-revoked-at').valueDateTime))] : null),
    lift);
}

async function load() {
  const s = subject();
  const r = await api(`/fhir/Consent?patient=${encodeURIComponent(`Patient/${s.id}`)}&_count=500`, { headers: s.headers });
  if (!r.ok) {
    $('#list').replaceChildren(el('li', { class: 'notice bad', role: 'alert' }, t('error.load')));
    return;
  }
  const blocks = matches(r.json).filter((c) => c.provision?.type === 'deny').map(describe);
  $('#list').replaceChildren(...(blocks.length ? blocks.map(card) : [el('li', {}, t('blocks.none'))]));
}

async function liftBlock(c) {
  const r = await api(`/fhir/Consent/${encodeURIComponent(c.id)}`, { method: 'PUT', body: { ...c, status: 'inactive' } });
  if (r.ok) say($('#msg'), 'good', t('blocks.lifted'));
  else say($('#msg'), 'bad', t('blocks.failed'), ' ', outcomeText(r));
  await load();
  $('#msg').focus?.();
}

function blockBody({ actor, sub, dataPeriod }) {
  const s = subject();
  const provision = { type: 'deny' };
  if (actor) provision.actor = [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }];
  if (dataPeriod) provision.dataPeriod = dataPeriod;
  const body = {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${s.id}` },
    provision,
  };
  if (sub === false) body.extension = [{ url: `${BASE}consent-include-subunits`, valueBoolean: false }];
  return body;
}

async function create(opts, label) {
  const r = await api('/fhir/Consent', { method: 'POST', body: blockBody(opts) });
  if (r.status === 201 || r.ok) {
    say($('#msg'), 'good', t('blocks.created', label));
    await load();
    return true;
  }
  if (r.status === 422 && opts.pro) {
    // R-BLK-2: a hospital professional cannot be blocked by name; offer their site
    const site = opts.pro.sites?.[0];
    const offer = site
      ? el('button', { type: 'button', onclick: () => create({ actor: `Organization/${site.id}`, sub: true }, site.name) }, t('blocks.offersite', site.name))
      : null;
    say($('#msg'), 'warn', el('p', {}, t('blocks.rblk2', opts.pro.name)), el('p', {}, outcomeText(r)), offer);
    offer?.focus();
    return false;
  }
  say($('#msg'), 'bad', t('blocks.failed'), ' ', outcomeText(r));
  return false;
}

function choices(box, list, labelOf, onPick) {
  if (!list.length) {
    box.replaceChildren(el('p', {}, t('search.none')));
    return;
  }
  box.replaceChildren(el('ul', { class: 'cards' }, list.map((x) =>
    el('li', { class: 'card' }, el('span', {}, labelOf(x)), ' ',
      el('button', { type: 'button', onclick: () => onPick(x) }, t('blocks.blockthis'))))));
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
readOnly = !!subject().attorney; // relatives read but do not create or lift (docs/decisions.md)
if (readOnly) {
  $('#new').classList.add('hidden');
  say($('#msg'), 'warn', t('blocks.readonly'));
}
$('#f-pro').addEventListener('submit', async (e) => {
  e.preventDefault();
  const box = $('#pro-results');
  const r = await findPractitioners($('#pro-q').value);
  if (r.error) return void box.replaceChildren(el('p', { class: 'notice bad' }, r.error));
  choices(box, r.list, proLabel, (p) => create({ actor: `Practitioner/${p.id}`, pro: p }, p.name));
});
$('#f-site').addEventListener('submit', async (e) => {
  e.preventDefault();
  const box = $('#site-results');
  const r = await findOrganizations($('#site-q').value);
  if (r.error) return void box.replaceChildren(el('p', { class: 'notice bad' }, r.error));
  box.replaceChildren(r.list.length ? tree(r.list, true) : el('p', {}, t('search.none')));
});

// a site and, on request, the units below it: the SOR tree, one level at a time
function tree(list, top) {
  return el('ul', { class: top ? 'cards tree' : 'tree' }, list.map((o) => {
    const sub = el('div', {});
    const open = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', onclick: async () => {
      if (open.getAttribute('aria-expanded') === 'true') {
        sub.replaceChildren();
        open.setAttribute('aria-expanded', 'false');
        return;
      }
      const kids = await orgChildren(o.id);
      if (kids === null) sub.replaceChildren(el('p', { class: 'hint' }, t('dir.nochildren')));
      else sub.replaceChildren(kids.length ? tree(kids, false) : el('p', { class: 'hint' }, t('dir.nounits')));
      open.setAttribute('aria-expanded', 'true');
    } }, t('dir.units'));
    return el('li', { class: top ? 'card' : null }, el('span', {}, top ? orgLabel(o) : o.name), ' ',
      el('button', { type: 'button', onclick: () => create({ actor: `Organization/${o.id}`, sub: $('#site-sub').checked }, o.name) }, t('blocks.blockthis')), ' ',
      open, sub);
  }));
}
$('#f-period').addEventListener('submit', async (e) => {
  e.preventDefault();
  const from = $('#p-from').value;
  const to = $('#p-to').value;
  if (to < from) return void say($('#msg'), 'bad', t('blocks.badperiod'));
  await create({ dataPeriod: { start: from, end: to } }, `${from} – ${to}`);
});
document.addEventListener('ob-lang', load);
void session;
await load();
