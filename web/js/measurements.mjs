// measurements.mjs - "Mine målinger" (R-PRD-1): the patient's systolic blood pressures, and a
// home measurement added by the patient (POST /fhir/Observation, LOINC 8480-6 in mm[Hg],
// 40-300); the server tags it patient-reported.
import { start, api, el, $, t, fmtDate, subject, ext, matches, outcomeText, say } from './app.mjs';
import { attorneyChoice } from './attorney.mjs';

async function load() {
  const s = subject();
  const r = await api(`/fhir/Observation?patient=${encodeURIComponent(`Patient/${s.id}`)}&code=${encodeURIComponent('http://loinc.org|8480-6')}&_sort=-date&_count=200`, { headers: s.headers });
  if (!r.ok) return void $('#list').replaceChildren(el('li', { class: 'notice bad', role: 'alert' }, t('error.load')));
  const list = matches(r.json).filter((o) => o.resourceType === 'Observation');
  $('#list').replaceChildren(...(list.length ? list.map((o) => {
    const own = ext(o, 'patient-reported')?.valueBoolean === true;
    return el('li', { class: 'card' },
      el('strong', {}, `${o.valueQuantity?.value} ${o.valueQuantity?.unit || 'mmHg'}`), ' ',
      own ? el('span', { class: 'tag' }, t('meas.own')) : el('span', { class: 'tag' }, o.performer?.[0]?.display || t('meas.clinic')),
      el('p', { class: 'hint' }, fmtDate(o.effectiveDateTime)));
  }) : [el('li', {}, t('meas.none'))]));
}

await start('citizen');
attorneyChoice($('#attorney-choice'));
if (subject().attorney) $('#add').classList.add('hidden');
const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
$('#when').value = now.toISOString().slice(0, 16);
$('#add').addEventListener('submit', async (e) => {
  e.preventDefault();
  const v = Number($('#sys').value);
  if (!(v >= 40 && v <= 300)) return void say($('#msg'), 'bad', t('meas.range'));
  const when = new Date($('#when').value).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const s = subject();
  const r = await api('/fhir/Observation', {
    method: 'POST',
    body: {
      resourceType: 'Observation', status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      subject: { reference: `Patient/${s.id}` },
      effectiveDateTime: when,
      valueQuantity: { value: v, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
  });
  if (r.status === 201 || r.ok) {
    say($('#msg'), 'good', t('meas.saved'));
    $('#sys').value = '';
    await load();
  } else say($('#msg'), 'bad', t('meas.failed'), ' ', outcomeText(r));
});
document.addEventListener('ob-lang', load);
await load();
