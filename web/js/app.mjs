// app.mjs - what every page shares (issue 26): the session (GET /auth/session), calls to
// /fhir and /auth with the session cookie (credentials same-origin; X-CSRF-Token on every
// write; never a token in storage), the language switch (Danish first), the header's menu,
// the development-login and power-of-attorney banners, and a small DOM builder that never
// parses text as HTML (the CSP forbids inline script; building nodes keeps data inert).
import { STRINGS } from './i18n.mjs';

export let lang = localStorage.getItem('ob-lang') === 'en' ? 'en' : 'da';
export const t = (key, ...args) => {
  // a code without a word yet (a new category, role or purpose) shows as the code itself
  const s = STRINGS[lang][key] ?? STRINGS.da[key] ?? key.replace(/^(cat|role|cap|purpose|event|cpurpose|kind|form|col|uses\.kind)\./, '');
  return typeof s === 'function' ? s(...args) : s;
};

// el('p', {class: 'x'}, 'text', child, ...): attributes and children; strings become text
export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) n.append(c instanceof Node ? c : String(c));
  return n;
}
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const n of $$('[data-i18n]', root)) n.textContent = t(n.dataset.i18n);
  for (const n of $$('[data-i18n-label]', root)) n.setAttribute('aria-label', t(n.dataset.i18nLabel));
  for (const n of $$('[data-i18n-placeholder]', root)) n.setAttribute('placeholder', t(n.dataset.i18nPlaceholder));
  const title = $('title');
  if (title?.dataset.i18n) document.title = `${t(title.dataset.i18n)} — overblik`;
}

// ------------------------------------------------------------------ the session and calls

export let session = null;
let csrf = '';

// fetch with the cookie; writes carry the CSRF token; JSON in and out
export async function api(path, { method = 'GET', body, form, headers = {} } = {}) {
  const h = { Accept: 'application/fhir+json, application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = csrf;
  let b;
  if (form) {
    h['Content-Type'] = 'application/x-www-form-urlencoded';
    b = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    h['Content-Type'] = path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json';
    b = JSON.stringify(body);
  }
  const r = await fetch(path, { method, headers: h, body: b, credentials: 'same-origin', cache: 'no-store' });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (r.status === 401 && path.startsWith('/fhir') && session) location.assign('/?expired=1');
  return { status: r.status, ok: r.ok, json, text, headers: r.headers };
}

// the text of an OperationOutcome, for a message
export function outcomeText(res) {
  const j = res.json;
  if (j?.resourceType === 'OperationOutcome') return j.issue?.map((i) => i.diagnostics || i.code).join('; ');
  return j?.error || `HTTP ${res.status}`;
}

// the acting-for choice of a relative with power of attorney: kept for the tab only
export function actingFor() {
  const id = sessionStorage.getItem('ob-actfor');
  const list = session?.kind === 'patient' ? session.acts_for : null;
  if (!id || !Array.isArray(list)) return null;
  return list.find((a) => (a.patient || a.id) === id) || null;
}
export function setActingFor(id) {
  if (id) sessionStorage.setItem('ob-actfor', id);
  else sessionStorage.removeItem('ob-actfor');
}
// whose data a citizen page shows, and the headers that say why
export function subject() {
  const a = actingFor();
  if (a) return { id: a.patient || a.id, name: a.name, headers: { 'X-Purpose-Of-Use': 'PWATRNY' }, attorney: a };
  return { id: session?.patient, name: session?.name, headers: {}, attorney: null };
}

// the menu is in each page's HTML (so the header does not move when the script runs); this
// fills in who is logged in
function header() {
  const who = $('#who');
  if (who && session) {
    const parts = [session.name];
    if (session.role && session.kind === 'professional') parts.push(t(`role.${session.role}`));
    const site = (session.sites || []).find((x) => x.id === session.site);
    if (site || session.site) parts.push(site?.name || session.site);
    who.textContent = parts.filter(Boolean).join(', ');
  }
}

function banners() {
  const box = $('#banners');
  if (!box) return;
  box.replaceChildren();
  if (session?.dev) box.append(el('div', { class: 'banner dev', role: 'note' }, t('banner.dev')));
  const a = actingFor();
  if (a) {
    const cats = a.categories || a.scope;
    const scope = Array.isArray(cats) ? cats.map((c) => t(`cat.${c}`)).join(', ') : '';
    box.append(
      el('div', { class: 'banner attorney', role: 'note', id: 'attorney-banner' },
        t('banner.attorney', a.name || a.patient, scope), ' ',
        el('button', { type: 'button', class: 'secondary', onclick: () => { setActingFor(null); location.reload(); } }, t('banner.attorney.stop'))),
    );
  }
  if (session?.kind === 'professional' && session.acts_for) {
    const c = session.acts_for;
    box.append(el('div', { class: 'banner onbehalf', role: 'note', id: 'onbehalf-banner' }, t('banner.onbehalf', c.name || c.id)));
  }
}

export async function logout() {
  const r = await api('/auth/logout', { method: 'POST' });
  if (!r.ok && r.status !== 401) { // not ended: say so, rather than leave a live session behind
    window.alert(t('logout.failed'));
    return;
  }
  sessionStorage.clear();
  localStorage.removeItem('ob-in');
  const end = r.json?.end_session;
  location.assign(end || '/?loggedout=1');
}

// start(kind?): loads the session (or sends to the login page), fills the header, applies
// the language; resolves to the session. kind: 'citizen' | 'professional' | null (any)
export async function start(kind = null, { optional = false, probe = true } = {}) {
  $('#lang')?.addEventListener('click', () => {
    lang = lang === 'da' ? 'en' : 'da';
    localStorage.setItem('ob-lang', lang);
    applyI18n();
    $('#lang').textContent = t('lang.switch');
    $('#lang').lang = lang === 'da' ? 'en' : 'da';
    header();
    banners();
    document.dispatchEvent(new CustomEvent('ob-lang'));
  });
  applyI18n();
  if ($('#lang')) {
    $('#lang').textContent = t('lang.switch');
    $('#lang').lang = lang === 'da' ? 'en' : 'da';
  }
  if (!probe) return null;
  const r = await api('/auth/session');
  if (r.status !== 200 || !r.json) {
    localStorage.removeItem('ob-in');
    if (optional) return null;
    location.assign('/');
    return new Promise(() => {});
  }
  session = r.json;
  csrf = session.csrf || '';
  localStorage.setItem('ob-in', '1'); // a hint for the login page only: no token, no name
  const k = session.kind === 'citizen' ? 'patient' : session.kind;
  if (kind === 'citizen' && k !== 'patient') {
    location.assign('/pro.html');
    return new Promise(() => {});
  }
  if (kind === 'professional' && k !== 'professional') {
    location.assign('/mine-data.html');
    return new Promise(() => {});
  }
  header();
  banners();
  $('#logout')?.addEventListener('click', logout);
  $('#logout')?.classList.remove('hidden');
  return session;
}

// ------------------------------------------------------------------ small formatting helpers

// Intl formatters are costly to make: one per language and options
const formatters = new Map();
export function formatter(o) {
  const key = `${lang}|${JSON.stringify(o)}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat(lang === 'da' ? 'da-DK' : 'en-GB', { timeZone: 'Europe/Copenhagen', ...o }));
  return formatters.get(key);
}
export function fmtDate(iso, withTime = true) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter(withTime && iso.length > 10 ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(d);
}

export const ext = (res, name) => (res?.extension || []).find((e) => e.url.endsWith(`/${name}`));

// the data category of a FHIR resource, as overblik names them
export function categoryOf(r) {
  switch (r.resourceType) {
    case 'Appointment': return 'appointment';
    case 'Condition': return 'diagnosis';
    case 'MedicationStatement': return 'medication';
    case 'Immunization': return 'vaccination';
    case 'Observation': {
      const c = r.category?.[0]?.coding?.[0]?.code;
      return c === 'laboratory' ? 'lab_result' : 'measurement';
    }
    case 'DocumentReference': {
      const c = (r.category || []).flatMap((x) => x.coding || []).find((x) => x.system?.endsWith('/data-category'))?.code;
      if (c) return c;
      const ty = r.type?.coding?.[0]?.code;
      return ty === '18842-5' ? 'discharge_summary' : ty === '42348-3' ? 'treatment_will' : 'clinical_note';
    }
    default: return 'other';
  }
}

// the data controller (R-SRC-1): the organisation a resource names as its source
export function controllerOf(r) {
  const ref = ext(r, 'responsible-clinic')?.valueReference
    || r.informationSource || r.custodian || r.performer?.[0]?.actor || r.performer?.[0] || r.recorder || r.asserter;
  if (!ref) return null;
  return { id: (ref.reference || '').replace(/^Organization\//, ''), name: ref.display || ref.reference || '' };
}

// a plain title for a resource
export function titleOf(r) {
  const cc = r.code || r.medicationCodeableConcept || r.vaccineCode || r.type || r.serviceType?.[0];
  const text = cc?.text || cc?.coding?.[0]?.display || cc?.coding?.[0]?.code;
  if (r.resourceType === 'Appointment') {
    const at = ext(r, 'responsible-clinic')?.valueReference?.display;
    const what = r.serviceType?.[0]?.text || (at ? t('item.appointmentat', at) : t('item.appointment'));
    return r.status === 'cancelled' ? `${what} (${t('apt.cancelled.short')})` : what;
  }
  if (r.resourceType === 'Observation' && r.valueQuantity) return `${text || ''}: ${r.valueQuantity.value} ${r.valueQuantity.unit || ''}`;
  if (r.resourceType === 'DocumentReference') return r.description || text || t(`cat.${categoryOf(r)}`);
  return text || r.id;
}
export function timeOf(r) {
  return r.start || r.effectiveDateTime || r.effectivePeriod?.start || r.recordedDate || r.occurrenceDateTime || r.date || r.onsetDateTime || '';
}

// notes in a searchset: block marker (suppressed) and interrupted sources (incomplete)
export function outcomes(bundle) {
  const out = { suppressed: false, incomplete: [] };
  for (const e of bundle?.entry || []) {
    if (e.search?.mode !== 'outcome' || e.resource?.resourceType !== 'OperationOutcome') continue;
    for (const i of e.resource.issue || []) {
      if (i.code === 'suppressed') out.suppressed = true;
      else if (i.code === 'incomplete') out.incomplete.push(i.diagnostics);
    }
  }
  return out;
}
export const matches = (bundle) => (bundle?.entry || []).filter((e) => e.search?.mode !== 'outcome' && e.resource).map((e) => e.resource);

// a live region for messages after an action
export function say(box, kind, ...content) {
  box.replaceChildren(el('div', { class: `notice ${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, ...content));
}
