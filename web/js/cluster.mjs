// cluster.mjs - the quality cluster's page (R-STAT): the report of POST /api/stats/cluster
// with suppressed cells marked and explained ("<5": fewer than k; "x": hidden to protect
// another figure), the pseudonymised clinic labels, the systolic blood-pressure intervals as
// an SVG chart (built here as nodes: no inline style), and the cluster's release history.
import { start, api, el, $, t, fmtDate, outcomeText, say } from './app.mjs';

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1b7837', '#7fbf7b', '#f1b6da', '#c51b7d', '#8e0152', '#bdbdbd'];
let made = []; // releases made from this page, when the server has no history to list

function s(tag, attrs = {}, ...children) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

const cellText = (v) => (v === 'suppressed-small' ? '<5' : v === 'suppressed' ? 'x' : String(v));
const colName = (c) => t(`col.${c}`) || c;

const cell = (v) => (typeof v === 'string'
  ? el('td', { class: 'num suppressed', title: t(v === 'suppressed' ? 'cluster.x' : 'cluster.small') }, cellText(v), el('span', { class: 'visually-hidden' }, ` (${t(v === 'suppressed' ? 'cluster.x' : 'cluster.small')})`))
  : el('td', { class: 'num' }, String(v)));

function table(rep) {
  const head = el('tr', {}, el('th', { scope: 'col' }, t('cluster.clinic')), el('th', { scope: 'col', class: 'num' }, t('cluster.listed')),
    el('th', { scope: 'col', class: 'num' }, t('cluster.diagnosed')), rep.columns.map((c) => el('th', { scope: 'col', class: 'num' }, colName(c))));
  const row = (label, r, isTotal) => el('tr', {}, el(isTotal ? 'th' : 'td', isTotal ? { scope: 'row' } : {}, label),
    el('td', { class: 'num' }, String(r.listed)), cell(r.diagnosed), r.cells.map(cell));
  $('#table').replaceChildren(el('table', {}, el('caption', {}, t('cluster.caption', rep.release?.filter || '')),
    el('thead', {}, head), el('tbody', {}, rep.rows.map((r) => row(r.clinic, r, false)), rep.total ? row(t('cluster.total'), rep.total, true) : null)));
}

function chart(rep) {
  const bands = rep.columns.map((c, i) => ({ c, i })).filter(({ c }) => c.startsWith('sbp') || c === 'no-sbp');
  const rows = rep.rows;
  const W = 640, rowH = 34, left = 110, top = 10, barW = W - left - 20;
  const H = top + rows.length * rowH + 30;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title chart-desc' },
    s('title', { id: 'chart-title' }, t('cluster.chart')),
    s('desc', { id: 'chart-desc' }, t('cluster.chart.desc')),
    s('defs', {}, s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 6, height: 6, fill: '#ffffff' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#555555', 'stroke-width': 3 }))));
  rows.forEach((r, k) => {
    const y = top + k * rowH;
    const known = bands.reduce((a, { i }) => a + (typeof r.cells[i] === 'number' ? r.cells[i] : 0), 0);
    const hidden = bands.filter(({ i }) => typeof r.cells[i] !== 'number');
    // a hidden figure is drawn hatched: its share of what the known ones leave of the
    // diagnosed total, or, when that total is hidden too, a nominal 2.5 (the middle of 1-4)
    const total = typeof r.diagnosed === 'number' ? Math.max(r.diagnosed, known) : known + hidden.length * 2.5;
    const perHidden = hidden.length ? (typeof r.diagnosed === 'number' ? Math.max(0, total - known) / hidden.length : 2.5) : 0;
    let x = left;
    svg.append(s('text', { x: left - 8, y: y + 20, 'text-anchor': 'end', 'font-size': 13, fill: '#1a1a1a' }, r.clinic));
    for (const { c, i } of bands) {
      const v = r.cells[i];
      const share = typeof v === 'number' ? v : perHidden;
      const w = total ? (share / total) * barW : 0;
      if (w <= 0) continue;
      svg.append(s('rect', { class: 'bar', x, y: y + 4, width: w, height: rowH - 10, fill: typeof v === 'number' ? COLOURS[bands.findIndex((b) => b.c === c)] : 'url(#hatch)', stroke: '#333333', 'stroke-width': 0.5 },
        s('title', {}, `${r.clinic}: ${colName(c)} ${cellText(v)}`)));
      x += w;
    }
  });
  svg.append(s('text', { x: left, y: H - 8, 'font-size': 12, fill: '#1a1a1a' }, t('cluster.chart.axis')));
  const legend = el('ul', { class: 'legend' },
    bands.map(({ c }, k) => el('li', {}, el('span', { class: `sw sw${k}` }), colName(c))),
    el('li', {}, el('span', { class: 'sw swx' }), t('cluster.hidden')));
  $('#chart').replaceChildren(svg, legend);
}

async function history() {
  const cluster = $('#cluster').value;
  const r = await api(`/api/stats/releases?cluster=${encodeURIComponent(cluster)}`);
  let list = r.ok ? (Array.isArray(r.json) ? r.json : r.json?.releases || []) : [];
  let note = null;
  if (!r.ok) {
    list = made.filter((m) => m.cluster === cluster);
    note = el('p', { class: 'hint' }, t('cluster.history.local'));
  }
  $('#history').replaceChildren(note || '', list.length
    ? el('div', { class: 'scroll' }, el('table', {}, el('caption', { class: 'visually-hidden' }, t('cluster.history')),
      el('thead', {}, el('tr', {}, ['cluster.rel', 'cluster.when', 'cluster.filter', 'cluster.mode', 'cluster.state'].map((k) => el('th', { scope: 'col' }, t(k))))),
      el('tbody', {}, list.map((x) => el('tr', {}, el('td', {}, String(x.release ?? x.id ?? '')), el('td', {}, fmtDate(x.created || x.when || '')),
        el('td', {}, x.filter || [x.code, x.from && `${x.from} – ${x.to}`].filter(Boolean).join(', ')), el('td', {}, x.mode || ''),
        el('td', {}, x.expired ? t('cluster.expired') : t('cluster.kept')))))))
    : el('p', {}, t('cluster.history.none')));
}

await start('professional');
const today = new Date();
$('#to').value = today.toISOString().slice(0, 10);
$('#from').value = new Date(today.getFullYear() - 1, today.getMonth(), today.getDate() + 1).toISOString().slice(0, 10);
$('#q').addEventListener('submit', async (e) => {
  e.preventDefault();
  say($('#msg'), 'good', t('cluster.working'));
  const body = { cluster: $('#cluster').value, code: $('#code').value, from: $('#from').value, to: $('#to').value, format: 'json' };
  const r = await api('/api/stats/cluster', { method: 'POST', body });
  if (!r.ok || !r.json?.rows) {
    say($('#msg'), 'bad', r.status === 403 ? t('cluster.forbidden') : outcomeText(r));
    return;
  }
  $('#msg').replaceChildren();
  const rep = r.json;
  $('#report').classList.remove('hidden');
  table(rep);
  chart(rep);
  $('#audit').textContent = rep.audit?.passed ? t('cluster.audit.ok') : '';
  made.push({ cluster: body.cluster, release: rep.release?.id, created: new Date().toISOString(), filter: rep.release?.filter, mode: rep.release?.mode });
  await history();
});
await history();
