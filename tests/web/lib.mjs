// lib.mjs - what the browser tests and the screenshots share: the checks and their count,
// chromium (Debian's, headless, through playwright-core), browser contexts that record every
// URL a page requests (for the no-CPR-in-URLs check), and logging in through the loopback
// OpenID Connect provider's own login page, as a person would.
import { existsSync } from 'node:fs';

export async function lib(chromium, base) {
  const executablePath = process.env.OB_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is not installed`);
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  let pass = 0;
  let fail = 0;
  const requested = [];

  const check = (name, ok, detail = '') => {
    if (ok) pass++;
    else {
      fail++;
      console.log(`FAIL: ${name}${detail !== '' ? ` (${String(detail).replace(/\s+/g, ' ').slice(0, 500)})` : ''}`);
    }
  };
  const finish = () => {
    console.log(`${pass} passed, ${fail} failed`);
    process.exit(fail ? 1 : 0);
  };

  async function newContext(opts = {}) {
    const ctx = await browser.newContext({ baseURL: base, locale: 'da-DK', timezoneId: 'Europe/Copenhagen', ...opts });
    ctx.setDefaultTimeout(15000);
    ctx.on('request', (r) => requested.push(r.url()));
    ctx.on('page', (p) => {
      p.on('pageerror', (e) => console.log(`pageerror on ${p.url()}: ${e.message}`));
    });
    return ctx;
  }

  async function visit(page, path) {
    await page.goto(path);
    await page.waitForLoadState('networkidle');
  }

  // provider: 'citizen' | 'professional'; user: the IdP login (an overblik id, id@site)
  async function login(ctx, provider, user) {
    const page = await ctx.newPage();
    await page.goto('/');
    const link = page.locator(`#providers a[href*="as=${provider}"]`);
    await link.waitFor();
    await link.click();
    await page.waitForSelector('#login');
    await page.fill('#login', user);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/(mine-data|pro)\.html$/, { timeout: 20000 });
    await page.waitForLoadState('networkidle');
    return page;
  }

  return { check, finish, newContext, login, visit, requested, browser, browserClose: () => browser.close() };
}
