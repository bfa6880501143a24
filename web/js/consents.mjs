// consents.mjs - "Samtykker" (R-CON-1..3): the consents given (Consent, provision permit)
// with purpose, recipient, period, categories and form; revoking one is a PUT with status
// inactive. Revoked ones stay listed (R-CON-2: history kept).
import { start, api, el, $, t, fmtDate, subject, ext, matches, outcomeText, say } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

let readOnly = false;

function card(c) {
  const p = c.provision || {};
  const active = c.status === 'active';
  const purpose = p.purpose?.[0]?.code;
  const actor = p.actor?.[0]?.reference;
  const recipient = actor?.display || actor?.reference || (actor?.identifier ? t(`kind.${actor.identifier.value}`) : '');
  const form = ext(c, 'consent-form')?.valueCode;
  const behalf = ext(c, 'consent-recorded-on-behalf')?.valueBoolean;
  return el('li', { class: 'card', 'data-id': c.id },
    el('h3', {}, purpose ? t(`cpurpose.${purpose}`) : t('consents.consent'), ' ',
      el('span', { class: `tag ${active ? 'ok' : ''}` }, active ? t('status.active') : t('status.revoked'))),
    el('dl', { class: 'kv' },
      el('dt', {}, t('consents.recipient')), el('dd', {}, recipient || '—'),
      p.period ? [el('dt', {}, t('consents.period')), el('dd', {}, `${fmtDate(p.period.start, false)} – ${fmtDate(p.period.end, false)}`)] : null,
      p.class?.length ? [el('dt', {}, t('item.category')), el('dd', {}, p.class.map((x) => t(`cat.${x.code}`)).join(', '))] : null,
      form ? [el('dt', {}, t('consents.form')), el('dd', {}, t(`form.${form}`))] : null,
      c.dateTime ? [el('dt', {}, t('consents.given')), el('dd', {}, fmtDate(c.dateTime))] : null,
      behalf ? [el('dt', {}, t('consents.behalf')), el('dd', {}, t('yes'))] : null),
    active && !readOnly ? el('button', { type: 'button', class: 'danger', onclick: () => revoke(c) }, t('consents.revoke')) : null);
}

async function load() {
  const s = subject();
  const r = await api(`/fhir/Consent?patient=${encodeURIComponent(`Patient/${s.id}`)}&_count=500`, { headers: s.headers });
  if (!r.ok) return void $('#list').replaceChildren(el('li', { class: 'notice bad', role: 'alert' }, t('error.load')));
  const list = matches(r.json).filter((c) => c.provision?.type === 'permit');
  $('#list').replaceChildren(...(list.length ? list.map(card) : [el('li', {}, t('consents.none'))]));
}

async function revoke(c) {
  const r = await api(`/fhir/Consent/${encodeURIComponent(c.id)}`, { method: 'PUT', body: { ...c, status: 'inactive' } });
  if (r.ok) say($('#msg'), 'good', t('consents.revoked'));
  else say($('#msg'), 'bad', t('consents.failed'), ' ', outcomeText(r));
  await load();
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
readOnly = !!subject().attorney;
document.addEventListener('ob-lang', load);
await load();
