// lighthouse.mjs OUTFILE - Lighthouse 12.2.3 (mobile profile, its default: a Moto G Power-class
// device, simulated slow 4G and 4x CPU slowdown) on the citizen pages, logged in: the session
// cookie comes from a real login through the loopback provider (playwright), and Lighthouse
// sends it with every request of its own chromium. Each page is audited LH_RUNS times (default
// 3) and the run with the median performance score is kept (Lighthouse's own advice for a
// noisy host). Writes the scores as JSON; prints a table.
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';
import { lib } from './lib.mjs';

const base = process.env.OB_URL;
const out = process.argv[2];
const { newContext, login, browserClose } = await lib(chromium, base);
const ctx = await newContext();
await login(ctx, 'citizen', 'pt-3');
const cookie = (await ctx.cookies()).find((c) => c.name === '__Host-ob_session');
await browserClose();

const PAGES = (process.env.LH_PAGES || 'index mine-data log blocks consents appointments measurements uses').split(' ');
const chrome = await chromeLauncher.launch({
  chromePath: process.env.OB_CHROMIUM || '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage'],
});
const results = [];
try {
  for (const name of PAGES) {
    const url = `${base}/${name === 'index' ? '' : `${name}.html`}`;
    // the login page is audited logged out (it is the page a visitor sees)
    const extraHeaders = name === 'index' ? {} : { Cookie: `__Host-ob_session=${cookie.value}` };
    const runs = [];
    for (let i = 0; i < Number(process.env.LH_RUNS || 3); i++) {
      runs.push(await lighthouse(url, {
        port: chrome.port, output: 'json', logLevel: 'error', extraHeaders,
        onlyCategories: ['performance', 'accessibility', 'best-practices'],
      }));
    }
    runs.sort((a, b) => a.lhr.categories.performance.score - b.lhr.categories.performance.score);
    const r = runs[Math.floor(runs.length / 2)];
    const c = r.lhr.categories;
    const row = {
      page: name,
      performance_runs: runs.map((x) => Math.round(x.lhr.categories.performance.score * 100)),
      performance: Math.round(c.performance.score * 100),
      accessibility: Math.round(c.accessibility.score * 100),
      best_practices: Math.round(c['best-practices'].score * 100),
      fcp_ms: Math.round(r.lhr.audits['first-contentful-paint'].numericValue),
      lcp_ms: Math.round(r.lhr.audits['largest-contentful-paint'].numericValue),
      tbt_ms: Math.round(r.lhr.audits['total-blocking-time'].numericValue),
      cls: r.lhr.audits['cumulative-layout-shift'].numericValue.toFixed(3),
      failed: Object.values(r.lhr.audits).filter((a) => a.score !== null && a.score < 1 && ['accessibility', 'best-practices'].some((k) => r.lhr.categories[k].auditRefs.some((x) => x.id === a.id && x.weight > 0))).map((a) => a.id),
    };
    results.push(row);
    console.log(`${name.padEnd(13)} perf ${row.performance}  a11y ${row.accessibility}  bp ${row.best_practices}  FCP ${row.fcp_ms} ms  LCP ${row.lcp_ms} ms  TBT ${row.tbt_ms} ms  CLS ${row.cls}${row.failed.length ? `  (not passed: ${row.failed.join(', ')})` : ''}`);
  }
} finally {
  chrome.kill();
}
writeFileSync(out, `${JSON.stringify({ lighthouse: '12.2.3', chromium: process.env.OB_CHROMIUM || '/usr/bin/chromium', results }, null, 2)}\n`);
