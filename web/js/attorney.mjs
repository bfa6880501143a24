// attorney.mjs - a relative with power of attorney chooses whose data the citizen pages
// show (R-ACC-9): themself, or a person they act for; the choice lives in this tab only and
// every request then says PWATRNY. The banner (app.mjs) names the person while it holds.
import { session, el, t, actingFor, setActingFor } from './app.mjs';

export function attorneyChoice(box) {
  const list = session?.kind === 'patient' && Array.isArray(session.acts_for) ? session.acts_for : [];
  if (!box || !list.length) return;
  const cur = actingFor();
  const sel = el('select', { id: 'actfor' },
    el('option', { value: '' }, t('attorney.self')),
    list.map((a) => el('option', { value: a.patient || a.id, selected: cur && (a.patient || a.id) === (cur.patient || cur.id) }, a.name || a.patient)));
  sel.addEventListener('change', () => {
    setActingFor(sel.value || null);
    location.reload();
  });
  box.replaceChildren(el('div', { class: 'panel' }, el('label', { for: 'actfor' }, t('attorney.choose')), sel));
}
