// shots.mjs OUTDIR - a screenshot of every page at desktop (1280 px) and phone (360 px) width,
// after a short story so that the pages have something to show: pt-3 blocks the cardiology
// department, a doctor at the medical department is told something is withheld and
// overrides with a justification, and the citizen checks a log entry in the browser.
// Run by tests/web/screenshots.sh against a real server and the loopback provider.
import { chromium } from 'playwright-core';
import { lib } from './lib.mjs';

const out = process.argv[2];
const base = process.env.OB_URL;
const CPR = process.env.OB_CPR;
const { newContext, login, visit, browserClose } = await lib(chromium, base);

async function story() {
  const cit = await newContext();
  const cp = await login(cit, 'citizen', 'pt-3');
  await visit(cp, '/blocks.html');
  await cp.fill('#site-q', 'hosp-0-kard');
  await cp.click('#f-site button[type=submit]');
  await (await cp.waitForSelector('#site-results li button')).click();
  await cp.waitForSelector('#msg .notice');
  await cit.close();
}

async function lookup(page, breakGlass) {
  await visit(page, '/pro.html');
  await page.fill('#cpr', CPR);
  await page.click('#find button[type=submit]');
  await page.waitForSelector('#result:not(.hidden) #overview > *');
  if (breakGlass) {
    await page.fill('#bg-reason', 'Patienten er indlagt akut med brystsmerter og kan ikke svare selv');
    await page.click('#bg button[type=submit]');
    await page.waitForSelector('#msg .notice');
  }
  await page.waitForLoadState('networkidle');
}

const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 360, height: 740 } };
await story();
{
  const pro = await newContext();
  const pp = await login(pro, 'professional', 'hosp-0-med-dr0');
  await lookup(pp, true);
  await pro.close();
}
for (const [size, viewport] of Object.entries(SIZES)) {
  const shot = (page, name) => page.screenshot({ path: `${out}/${name}-${size}.png`, fullPage: false });
  const anon = await newContext({ viewport });
  const ap = await anon.newPage();
  await visit(ap, '/');
  await ap.waitForSelector('#providers a');
  await shot(ap, 'login');
  await anon.close();

  const cit = await newContext({ viewport });
  const cp = await login(cit, 'citizen', 'pt-3');
  for (const name of ['mine-data', 'blocks', 'consents', 'appointments', 'measurements', 'uses']) {
    await visit(cp, `/${name}.html`);
    await shot(cp, name);
  }
  await visit(cp, '/log.html');
  await cp.waitForSelector('#overrides .card button');
  await cp.click('#overrides .card button');
  await cp.waitForSelector('#overrides .verify-result[data-result]');
  await shot(cp, 'log');
  await cit.close();

  const att = await newContext({ viewport });
  const atp = await login(att, 'citizen', 'pt-4');
  await atp.selectOption('#actfor', 'pt-3');
  await atp.waitForSelector('#attorney-banner');
  await atp.waitForLoadState('networkidle');
  await shot(atp, 'attorney');
  await att.close();

  const pro = await newContext({ viewport });
  const pp = await login(pro, 'professional', 'hosp-0-med-dr0');
  await lookup(pp, false);
  await pp.evaluate(() => document.querySelector('#withheld').scrollIntoView());
  await shot(pp, 'pro');
  await pro.close();

  const co = await newContext({ viewport });
  const cop = await login(co, 'professional', 'gp-0-dr0');
  await visit(cop, '/cluster.html');
  await cop.fill('#from', '2025-11-01');
  await cop.fill('#to', '2026-11-01');
  await cop.click('#q button[type=submit]');
  await cop.waitForSelector('#report:not(.hidden)', { timeout: 60000 });
  await cop.evaluate(() => document.querySelector('#report').scrollIntoView());
  await shot(cop, 'cluster');
  await co.close();
}
await browserClose();
console.log(`screenshots written to ${out}`);
