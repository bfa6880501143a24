// mine-data.mjs - "Mine data": everything shared about the patient (Patient/$everything),
// by category or by source with each item's data controller (R-SRC-1), and every source's
// state from GET /fhir/Endpoint (R-SRC-2), so that a gap is not read as "nothing there".
import { start, api, el, $, $$, t, fmtDate, categoryOf, controllerOf, titleOf, timeOf, outcomes, matches, subject, ext } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

let items = [];
let notes = { suppressed: false, incomplete: [] };
let endpoints = [];

function renderSources() {
  const box = $('#sources');
  // a line above the data: whether every source is connected (the list is below it)
  const down = endpoints.filter((e) => e.status !== 'active').length;
  $('#sources-summary').replaceChildren(el('a', { href: '#sources-h' },
    down ? t('data.sources.down', down, endpoints.length) : t('data.sources.allup', endpoints.length)));
  $('#sources-summary').classList.toggle('notice', !!down);
  $('#sources-summary').classList.toggle('warn', !!down);
  if (!endpoints.length) {
    box.replaceChildren(el('p', {}, t('data.sources.none')));
    return;
  }
  // a list, not a table: it reads at 360 px without sideways scrolling
  box.replaceChildren(el('ul', { class: 'cards sources' }, endpoints.map((e) => {
    const last = ext(e, 'last-delivery')?.valueDateTime || ext(e, 'last-delivery')?.valueInstant;
    const since = ext(e, 'interrupted-since')?.valueDateTime;
    const why = ext(e, 'interruption-reason')?.valueString;
    const ok = e.status === 'active';
    return el('li', { class: 'card' },
      el('strong', {}, e.name || e.identifier?.[0]?.value), ' ',
      el('span', { class: `tag ${ok ? 'ok' : 'err'}` }, ok ? t('src.active') : t('src.interrupted')),
      el('dl', { class: 'kv' },
        el('dt', {}, t('src.site')), el('dd', {}, e.managingOrganization?.display || e.managingOrganization?.reference || ''),
        el('dt', {}, t('src.last')), el('dd', {}, last ? fmtDate(last) : t('src.never')),
        since ? [el('dt', {}, t('src.since')), el('dd', {}, fmtDate(since))] : null,
        why ? [el('dt', {}, t('src.why')), el('dd', {}, why)] : null));
  })));
}

function renderItems() {
  const box = $('#items');
  const by = $('input[name=group]:checked').value;
  const groups = new Map();
  for (const r of items) {
    const c = controllerOf(r);
    const key = by === 'category' ? categoryOf(r) : c?.name || t('data.unknownsource');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const parts = [];
  for (const n of notes.incomplete) parts.push(el('div', { class: 'notice warn', role: 'note' }, t('data.incomplete'), ' ', n));
  if (notes.suppressed) parts.push(el('div', { class: 'notice', role: 'note' }, t('data.suppressed')));
  if (!items.length) parts.push(el('p', {}, t('data.empty')));
  const keys = [...groups.keys()].sort();
  for (const k of keys) {
    const list = groups.get(k).sort((a, b) => timeOf(b).localeCompare(timeOf(a)));
    parts.push(el('section', { class: 'group' },
      el('h3', {}, by === 'category' ? `${t(`cat.${k}`)} (${list.length})` : `${k} (${list.length})`),
      el('ul', { class: 'cards' }, list.map((r) => {
        const c = controllerOf(r);
        return el('li', { class: 'card' },
          el('strong', {}, titleOf(r)),
          el('dl', { class: 'kv' },
            el('dt', {}, t('item.when')), el('dd', {}, fmtDate(timeOf(r)) || '—'),
            by === 'source' ? [el('dt', {}, t('item.category')), el('dd', {}, t(`cat.${categoryOf(r)}`))] : null,
            el('dt', {}, t('item.controller')), el('dd', {}, c?.name || t('data.unknownsource'))));
      }))));
  }
  box.replaceChildren(...parts);
}

async function load() {
  const s = subject();
  const [ev, ep] = await Promise.all([
    api(`/fhir/Patient/${encodeURIComponent(s.id)}/$everything?_count=500`, { headers: s.headers }),
    api('/fhir/Endpoint', { headers: s.headers }),
  ]);
  endpoints = ep.ok ? matches(ep.json) : [];
  renderSources();
  if (!ev.ok) {
    $('#items').replaceChildren(el('div', { class: 'notice bad', role: 'alert' }, t('error.load')));
    return;
  }
  items = matches(ev.json).filter((r) => r.resourceType !== 'Patient');
  notes = outcomes(ev.json);
  renderItems();
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
for (const r of $$('input[name=group]')) r.addEventListener('change', renderItems);
document.addEventListener('ob-lang', () => { renderSources(); renderItems(); });
await load();
