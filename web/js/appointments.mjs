// appointments.mjs - "Mine aftaler" (R-APT-1..7): every shared appointment, upcoming and past,
// as a list and a month calendar; cancelled ones marked; a made-up end time (the source sent
// none, R-APT-4) marked as such; the place and the responsible clinic.
import { start, api, el, $, t, fmtDate, subject, ext, matches, formatter } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

let apts = [];
let month = new Date();
month.setDate(1);

function place(a) {
  const loc = a.participant?.find((p) => p.actor?.type === 'Location' || p.actor?.reference?.startsWith('Location/'));
  return loc?.actor?.display || ext(a, 'meeting-address')?.valueString || '';
}

function card(a) {
  const cancelled = a.status === 'cancelled';
  const fictive = ext(a, 'fictive-end')?.valueBoolean === true;
  const clinic = ext(a, 'responsible-clinic')?.valueReference;
  return el('li', { class: 'card', 'data-id': a.id },
    el('h3', {}, cancelled ? el('span', { class: 'tag cancelled' }, t('apt.cancelled')) : null, fmtDate(a.start)),
    el('dl', { class: 'kv' },
      el('dt', {}, t('apt.ends')), el('dd', {}, a.end ? fmtDate(a.end) : '—',
        fictive ? [' ', el('span', { class: 'tag fictive', title: t('apt.fictive.long') }, t('apt.fictive'))] : null),
      clinic ? [el('dt', {}, t('apt.clinic')), el('dd', {}, clinic.display || clinic.reference)] : null,
      place(a) ? [el('dt', {}, t('apt.place')), el('dd', {}, place(a))] : null,
      a.serviceType?.[0]?.text ? [el('dt', {}, t('apt.what')), el('dd', {}, a.serviceType[0].text)] : null),
    fictive ? el('p', { class: 'hint' }, t('apt.fictive.long')) : null);
}

function calendar() {
  const y = month.getFullYear();
  const m = month.getMonth();
  const first = new Date(y, m, 1);
  const days = new Date(y, m + 1, 0).getDate();
  const lead = (first.getDay() + 6) % 7; // Monday first
  const names = [...Array(7)].map((_, i) => formatter({ weekday: 'short' }).format(new Date(Date.UTC(2024, 0, 1 + i, 12))));
  const hm = formatter({ hour: '2-digit', minute: '2-digit' });
  const byDay = new Map();
  for (const a of apts) {
    const d = new Date(a.start);
    if (d.getFullYear() === y && d.getMonth() === m) byDay.set(d.getDate(), [...(byDay.get(d.getDate()) || []), a]);
  }
  const today = new Date();
  const rows = [];
  let cells = [];
  for (let i = 0; i < lead; i++) cells.push(el('td', {}));
  for (let d = 1; d <= days; d++) {
    const list = byDay.get(d) || [];
    const isToday = today.getFullYear() === y && today.getMonth() === m && today.getDate() === d;
    cells.push(el('td', { class: [list.length ? 'has' : '', isToday ? 'today' : ''].join(' ').trim() || null },
      String(d),
      list.length ? el('span', { class: 'dots' }, list.map((a) => `${hm.format(new Date(a.start))}${a.status === 'cancelled' ? ` (${t('apt.cancelled.short')})` : ''}`).join(', ')) : null));
    if (cells.length === 7) {
      rows.push(el('tr', {}, cells));
      cells = [];
    }
  }
  if (cells.length) {
    while (cells.length < 7) cells.push(el('td', {}));
    rows.push(el('tr', {}, cells));
  }
  const title = formatter({ month: 'long', year: 'numeric' }).format(new Date(Date.UTC(y, m, 15)));
  $('#cal').replaceChildren(el('table', { class: 'cal' },
    el('caption', {}, title),
    el('thead', {}, el('tr', {}, names.map((n) => el('th', { scope: 'col' }, n)))),
    el('tbody', {}, rows)));
}

function render() {
  const now = Date.now();
  const up = apts.filter((a) => new Date(a.start).getTime() >= now).sort((a, b) => a.start.localeCompare(b.start));
  const past = apts.filter((a) => new Date(a.start).getTime() < now).sort((a, b) => b.start.localeCompare(a.start));
  $('#upcoming').replaceChildren(...(up.length ? up.map(card) : [el('li', {}, t('apt.none'))]));
  $('#past').replaceChildren(...(past.length ? past.map(card) : [el('li', {}, t('apt.none'))]));
  calendar();
}

async function load() {
  const s = subject();
  const r = await api(`/fhir/Appointment?patient=${encodeURIComponent(`Patient/${s.id}`)}&_count=500`, { headers: s.headers });
  if (!r.ok) return void $('#upcoming').replaceChildren(el('li', { class: 'notice bad', role: 'alert' }, t('error.load')));
  apts = matches(r.json).filter((a) => a.resourceType === 'Appointment');
  // open the calendar on the month of the next appointment, else this month
  const nextApt = apts.filter((a) => new Date(a.start) >= new Date()).sort((a, b) => a.start.localeCompare(b.start))[0];
  if (nextApt) month = new Date(new Date(nextApt.start).getFullYear(), new Date(nextApt.start).getMonth(), 1);
  render();
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
$('#prev').addEventListener('click', () => { month = new Date(month.getFullYear(), month.getMonth() - 1, 1); calendar(); });
$('#next').addEventListener('click', () => { month = new Date(month.getFullYear(), month.getMonth() + 1, 1); calendar(); });
document.addEventListener('ob-lang', render);
await load();
