// log.mjs - "Hvem har set mine data": the patient's access log (GET /fhir/AuditEvent, R-LOG-3)
// in plain words — who (name, role, place), when, why (the purpose in words), what — newest
// first, filtered by period and place (the citizen's own look-ups only on request); overrides (værdispring) stand out with their
// justification; an assistant and the professional they worked for; denied attempts apart.
// Each entry can be verified in the browser (R-LOG-4): its $prove answer is checked with
// web/verify (WebCrypto Ed25519 + Merkle inclusion) against the log's published key.
import { start, api, el, $, t, fmtDate, subject, ext } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

let entries = [];
let next = null;
let keys = null;
const names = new Map(); // Practitioner/<id> -> name, from the directory (no log entry)

async function resolveNames(list) {
  const refs = new Set();
  for (const ev of list) for (const a of ev.agent || []) if (!a.who?.display && a.who?.reference?.startsWith('Practitioner/') && !names.has(a.who.reference)) refs.add(a.who.reference);
  await Promise.all([...refs].map(async (ref) => {
    const r = await api(`/fhir/${ref}`);
    const n = r.ok ? r.json?.name?.[0]?.text || [r.json?.name?.[0]?.given?.join(' '), r.json?.name?.[0]?.family].filter(Boolean).join(' ') : '';
    names.set(ref, n || ref);
  }));
}

const detail = (ev, name) => ev.entity?.[0]?.detail?.find((d) => d.type === name)?.valueString;
const purposeCode = (ev) => ev.purposeOfEvent?.[0]?.coding?.[0]?.code;

function describe(ev) {
  const a0 = ev.agent?.[0] || {};
  const place = ev.agent?.find((a, i) => i > 0 && a.type?.text === 'organisation') || ev.agent?.[1];
  const resp = ev.agent?.find((a) => a.type?.coding?.some((c) => c.code === 'RESP'));
  const cap = a0.type?.coding?.[0]?.code;
  const role = a0.role?.[0]?.text;
  const override = ext(ev, 'audit-override')?.valueBoolean === true;
  const just = ext(ev, 'audit-override-justification')?.valueString;
  const cat = detail(ev, 'category');
  const what = [];
  if (cat) what.push(t(`cat.${cat}`));
  const n = (ev.entity || []).length - 1;
  if (n > 0) what.push(t('log.items', n));
  const event = detail(ev, 'event');
  return {
    id: ev.id,
    when: ev.recorded,
    who: a0.name || a0.who?.display || a0.who?.reference || '?',
    role: role ? t(`role.${role}`) : cap ? t(`cap.${cap}`) : '',
    place: place?.who?.display || ev.source?.observer?.display || '',
    placeId: place?.who?.reference || place?.who?.display || '',
    onBehalf: resp ? resp.who?.display || names.get(resp.who?.reference) || resp.who?.reference : null,
    assistant: cap === 'assistant',
    own: cap === 'citizen' && a0.who?.reference === `Patient/${subject().id}` && (!event || event === 'decision'),
    why: purposeCode(ev) ? t(`purpose.${purposeCode(ev)}`) : '',
    whyCode: purposeCode(ev),
    event: event && event !== 'decision' ? t(`event.${event}`) : null,
    what: what.join(', '),
    permit: ev.outcome === '0',
    reason: ev.outcomeDesc,
    override,
    just,
  };
}

function card(d) {
  const res = el('p', { class: 'verify-result', role: 'status', 'aria-live': 'polite' });
  const btn = el('button', { type: 'button', class: 'secondary', 'data-seq': d.id, onclick: () => verify(d, btn, res) }, t('verify.button'));
  return el('li', { class: `card${d.override ? ' override' : ''}`, id: `e-${d.id}` },
    el('h3', {}, d.override ? el('span', { class: 'tag' }, t('log.override.tag')) : null, fmtDate(d.when)),
    el('dl', { class: 'kv' },
      el('dt', {}, t('log.who')), el('dd', { class: 'who-name' }, d.who, d.role ? ` (${d.role})` : ''),
      d.onBehalf ? [el('dt', {}, t('log.onbehalf')), el('dd', { class: 'on-behalf' }, t('log.assistantfor', d.onBehalf))] : null,
      d.place ? [el('dt', {}, t('log.where')), el('dd', {}, d.place)] : null,
      d.why ? [el('dt', {}, t('log.why')), el('dd', {}, d.why)] : null,
      d.event ? [el('dt', {}, t('log.event')), el('dd', {}, d.event)] : null,
      d.what ? [el('dt', {}, t('log.what')), el('dd', {}, d.what)] : null,
      !d.permit && d.reason ? [el('dt', {}, t('log.reason')), el('dd', {}, d.reason)] : null,
      d.override ? [el('dt', {}, t('log.justification')), el('dd', { class: 'justification' }, d.just || '—')] : null),
    el('div', { class: 'verify' }, btn, res));
}

async function verify(d, btn, res) {
  btn.disabled = true;
  res.className = 'verify-result';
  res.textContent = t('verify.running');
  try {
    // the verifier is loaded on the first check only (the page opens faster without it)
    const { parseKeyFile, verifyInclusion } = await import('/verify/overblik-verify.mjs');
    if (!keys) {
      const k = await fetch('/log/key', { credentials: 'same-origin' });
      keys = await parseKeyFile(await k.text());
    }
    const r = await api(`/fhir/AuditEvent/${encodeURIComponent(d.id)}/$prove`);
    if (!r.ok) throw Object.assign(new Error(t('verify.noproof', r.status)), { tamper: false });
    const out = await verifyInclusion(r.text, keys);
    // the proof must be of this very entry, as shown
    if (String(out.seq) !== String(d.id)) throw Object.assign(new Error(t('verify.otherentry')), { tamper: true });
    if (new Date(out.entry.time_utc).getTime() !== new Date(d.when).getTime())
      throw Object.assign(new Error(t('verify.othertime')), { tamper: true });
    res.className = 'verify-result ok';
    res.textContent = `✔ ${t('verify.ok', out.checkpoint.size)}`;
    res.dataset.result = 'ok';
  } catch (e) {
    res.className = 'verify-result bad';
    res.textContent = `✘ ${e.tamper === false ? t('verify.error') : t('verify.bad')} (${e.message})`;
    res.dataset.result = e.tamper === false ? 'error' : 'bad';
  } finally {
    btn.disabled = false;
  }
}

function render() {
  const place = $('#place').value;
  const mine = $('#own').checked;
  const ds = entries.map(describe).filter((d) => (!place || d.placeId === place) && (mine || !d.own));
  const seen = ds.filter((d) => d.permit && !d.override);
  const overrides = ds.filter((d) => d.override);
  const denied = ds.filter((d) => !d.permit);
  $('#overrides-sec').classList.toggle('hidden', !overrides.length);
  $('#overrides').replaceChildren(...overrides.map(card));
  $('#entries').replaceChildren(...(seen.length ? seen.map(card) : [el('li', {}, t('log.none'))]));
  $('#denied').replaceChildren(...(denied.length ? denied.map(card) : [el('li', {}, t('log.nodenied'))]));
  $('#count').textContent = t('log.count', ds.length);
  $('#more').classList.toggle('hidden', !next);
  // the places seen so far, for the filter
  const sel = $('#place');
  const known = new Set([...sel.options].map((o) => o.value));
  for (const d of entries.map(describe)) {
    if (d.placeId && !known.has(d.placeId)) {
      known.add(d.placeId);
      sel.append(el('option', { value: d.placeId }, d.place));
    }
  }
}

async function load(url) {
  const s = subject();
  const r = await api(url, { headers: s.headers });
  if (!r.ok) {
    $('#entries').replaceChildren(el('li', { class: 'notice bad', role: 'alert' }, t('error.load')));
    return;
  }
  const page = (r.json.entry || []).filter((e) => e.resource?.resourceType === 'AuditEvent').map((e) => e.resource);
  await resolveNames(page);
  entries = entries.concat(page);
  const n = (r.json.link || []).find((l) => l.relation === 'next');
  next = n ? new URL(n.url).pathname.replace(/^.*\/fhir\//, '/fhir/') + new URL(n.url).search : null;
  render();
}

function firstUrl() {
  const s = subject();
  const p = new URLSearchParams({ patient: `Patient/${s.id}`, _count: '100' });
  const from = $('#from').value;
  const to = $('#to').value;
  if (from) p.append('date', `ge${from}`);
  if (to) p.append('date', `le${to}`);
  return `/fhir/AuditEvent?${p}`;
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
$('#filter').addEventListener('submit', (e) => {
  e.preventDefault();
  entries = [];
  load(firstUrl());
});
$('#place').addEventListener('change', render);
$('#own').addEventListener('change', render);
$('#more').addEventListener('click', () => next && load(next));
document.addEventListener('ob-lang', render);
await load(firstUrl());
