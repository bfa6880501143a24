// smart.mjs - SMART's fhirclient through a whole standalone launch against a real OpenID
// Connect provider (idp.mjs, npm oidc-provider), then calls to overblik with its token:
// - a small app server (fhirclient's node adapter) on 127.0.0.1: /launch calls authorize()
//   with iss = overblik's FHIR base, so fhirclient reads overblik's
//   /fhir/.well-known/smart-configuration and redirects to the provider with PKCE (S256);
//   /callback calls ready(), which exchanges the code (with the verifier) for the token;
// - a "browser" (fetch, a cookie jar, manual redirects) follows the redirects and fills in the
//   provider's login and consent forms as a person would (login = overblik patient id pt-p);
// - with the token (a JWT for audience overblik carrying patient, fhirUser and a jti) the app
//   searches and reads at overblik, and makes one write (a block) - when overblik was started
//   with --oidc naming the provider (OB_OIDC=1); without, overblik must refuse the token (401);
// - key rotation: the provider comes back with a new key (ES256, then EdDSA) whose kid overblik
//   has never seen; a new launch's token must be accepted once overblik refetched the JWKS.
import http from 'node:http';
import smart from 'fhirclient';
import { createHash, randomBytes } from 'node:crypto';
import { Client as FhirKit } from 'fhir-kit-client';
import { env, fhirBase, eq, truthy, ok, bad, note, sample, tokens } from './lib.mjs';

const CLIENT_ID = 'overblik-smart-app';
const SCOPE = 'openid fhirUser launch/patient patient/Appointment.rs patient/AuditEvent.rs patient/Patient.rs patient/Consent.c';
const jwtParts = (t) => t.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));

// --- the app: fhirclient's node adapter on a plain http server, sessions by cookie
function startApp() {
  const sessions = new Map();
  const done = []; // resolved clients, in order
  const server = http.createServer(async (req, res) => {
    const sid = /app_sid=([\w-]+)/.exec(req.headers.cookie || '')?.[1] || crypto.randomUUID();
    if (!sessions.has(sid)) sessions.set(sid, {});
    req.session = sessions.get(sid);
    res.setHeader('set-cookie', `app_sid=${sid}; Path=/; HttpOnly`);
    const url = new URL(req.url, 'http://x');
    try {
      if (url.pathname === '/launch') {
        await smart(req, res).authorize({
          iss: fhirBase(), clientId: CLIENT_ID, scope: SCOPE,
          redirectUri: `${app.base}/callback`, pkceMode: 'required',
        });
      } else if (url.pathname === '/callback') {
        const client = await smart(req, res).ready();
        done.push(client);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('launched');
      } else res.writeHead(404).end();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`app error: ${e?.stack || e}`);
    }
  });
  const app = { server, done, base: '' };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    app.base = `http://127.0.0.1:${server.address().port}`;
    resolve(app);
  }));
}

// --- the browser: follows redirects, keeps cookies per host:port, submits the provider's forms
async function browse(start, login, stopAt = '') {
  const jar = new Map(); // host -> Map(name -> value)
  const trail = []; // "METHOD url -> status"
  const redirects = []; // every Location followed
  let url = start;
  let method = 'GET';
  let form = null;
  for (let hop = 0; hop < 20; hop++) {
    const u = new URL(url);
    const cookies = jar.get(u.host) || new Map();
    const headers = { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const r = await fetch(url, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
    trail.push(`${method} ${u.origin}${u.pathname} -> ${r.status}`);
    for (const c of r.headers.getSetCookie()) {
      const [nv] = c.split(';');
      const i = nv.indexOf('=');
      cookies.set(nv.slice(0, i).trim(), nv.slice(i + 1));
    }
    jar.set(u.host, cookies);
    form = null;
    method = 'GET';
    if (r.status >= 300 && r.status < 400) {
      url = new URL(r.headers.get('location'), url).href;
      redirects.push(url);
      if (stopAt && url.startsWith(stopAt)) return { status: r.status, text: '', trail, redirects, url };
      continue;
    }
    const text = await r.text();
    if (r.status === 200 && /<form/i.test(text)) { // the provider's login or consent page
      const action = /<form[^>]*action="([^"]*)"/i.exec(text)?.[1];
      form = {};
      for (const m of text.matchAll(/<input[^>]*>/gi)) {
        const name = /name="([^"]*)"/.exec(m[0])?.[1];
        if (!name) continue;
        form[name] = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
      }
      if ('login' in form) { form.login = login; form.password = 'any'; }
      url = new URL(action.replace(/&amp;/g, '&'), url).href;
      method = 'POST';
      continue;
    }
    return { status: r.status, text, trail, redirects, url };
  }
  return { status: 0, text: 'too many hops', trail, redirects, url };
}

async function setupIdp(body, idp = env.idp) {
  const r = await fetch(`${idp}/_test/setup`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`idp setup: ${r.status} ${await r.text()}`);
  return r.json();
}

// launch(app, label, want): one whole standalone launch; checks the token; returns the client
async function launch(app, label, want) {
  // the browser opens the app's launch page and takes it from there
  const n = app.done.length;
  const res = await browse(`${app.base}/launch`, 'pt-p');
  const to = new URL(res.redirects[0] || 'http://none/');
  eq(`${label}: the app redirects to the provider's authorization endpoint (from overblik's smart-configuration)`,
    to.origin + to.pathname, want.authorize);
  eq(`${label}: PKCE S256 and aud = overblik's FHIR base`,
    [to.searchParams.get('code_challenge_method'), !!to.searchParams.get('code_challenge'), to.searchParams.get('aud')],
    ['S256', true, fhirBase()]);
  eq(`${label}: the launch ends at the app's callback`, [res.status, res.text.slice(0, 200)], [200, 'launched']);
  if (res.status !== 200) {
    note(res.trail.join(' | '));
    note(res.text.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 600));
    return null;
  }
  truthy(`${label}: login and consent pages were filled in`, res.trail.filter((t) => t.startsWith('POST')).length >= 1, res.trail);
  const client = app.done[n];
  const tr = client.state.tokenResponse || {};
  eq(`${label}: a Bearer token`, String(tr.token_type).toLowerCase(), 'bearer');
  const [hdr, claims] = jwtParts(tr.access_token);
  eq(`${label}: signed with the provider's current key`, [hdr.alg, hdr.kid], [want.alg, want.kid]);
  eq(`${label}: iss, aud, patient, fhirUser`, [claims.iss, [].concat(claims.aud).includes('overblik'), claims.patient, claims.fhirUser],
    [env.idp, true, 'pt-p', 'Patient/pt-p']);
  truthy(`${label}: a jti`, typeof claims.jti === 'string' && claims.jti.length > 0, claims);
  truthy(`${label}: the granted scope`, /patient\/Appointment\.rs/.test(claims.scope || ''), claims.scope);
  eq(`${label}: fhirclient's patient context`, client.patient.id, 'pt-p');
  return client;
}
// calls(client, label): what the app does at overblik with the token
async function calls(client, label, { write }) {
  const tok = client.state.tokenResponse.access_token;
  if (!env.oidc) {
    const r = await fetch(`${fhirBase()}/Appointment?patient=Patient/pt-p`, { headers: { authorization: `Bearer ${tok}` } });
    eq(`${label}: overblik without --oidc refuses the provider's token`, r.status, 401);
    return;
  }
  // a new kid may take overblik one JWKS refetch, and it refetches at most once per few
  // seconds: probe with plain requests (fhirclient drops its token on a first 401)
  const t0 = Date.now();
  let probe;
  for (;;) {
    probe = await fetch(`${fhirBase()}/Appointment?patient=Patient/pt-p&_count=1`,
      { headers: { authorization: `Bearer ${tok}` } });
    if (probe.status !== 401 || Date.now() - t0 > 12000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (probe.status !== 200) {
    bad(`${label}: overblik accepts the provider's token: HTTP ${probe.status} ${(await probe.text()).slice(0, 300)}`);
    return;
  }
  const bundle = await client.request('Appointment?patient=Patient/pt-p');
  if (Date.now() - t0 > 500) note(`${label}: accepted after ${Date.now() - t0} ms (JWKS refetch)`);
  sample(`${label}: search Appointment`, bundle);
  eq(`${label}: a searchset`, bundle.resourceType, 'Bundle');
  truthy(`${label}: the patient's appointments`, bundle.total >= 1, bundle.total);
  const pt = sample(`${label}: read Patient`, await client.patient.read());
  eq(`${label}: client.patient.read()`, [pt.resourceType, pt.id], ['Patient', 'pt-p']);
  const log = await client.request('AuditEvent?_count=1');
  sample(`${label}: AuditEvent`, log);
  eq(`${label}: the read is logged as the citizen`, log.entry?.[0]?.resource?.agent?.[0]?.who?.reference, 'Patient/pt-p');
  if (write) {
    const block = (actor) => ({
      resourceType: 'Consent', status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: 'Patient/pt-p' },
      provision: { type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }] },
    });
    const c = await client.create(block('Organization/gp-b'), { includeResponse: true });
    eq(`${label}: a block written with the provider's token (its jti): 201`, c.response?.status, 201);
    try {
      await client.create(block('Organization/gp-a'));
      bad(`${label}: the same token's jti twice for a write was accepted`);
    } catch (e) {
      truthy(`${label}: the same token's jti twice for a write is refused`, e?.status >= 400 && e?.status < 500, e?.status);
    }
  }
  // a token whose signature was tampered with is refused
  const parts = tok.split('.');
  const flipped = parts[2][0] === 'A' ? 'B' : 'A';
  const r = await fetch(`${fhirBase()}/Appointment?patient=Patient/pt-p`, { headers: { authorization: `Bearer ${parts[0]}.${parts[1]}.${flipped}${parts[2].slice(1)}` } });
  eq(`${label}: a tampered signature: 401`, r.status, 401);
}

export async function run() {
  if (!env.idp) { bad('no OIDC provider (OB_IDP) - tests/e2e/interop.sh starts one'); return; }
  if (!env.oidc) note('SKIP (partly): this overblik has no `serve --oidc` yet; the launch and token are checked, overblik must refuse the token (401)');
  const app = await startApp();
  try {
    const disc = await (await fetch(`${env.idp}/.well-known/openid-configuration`)).json();
    const cfg = await (await fetch(`${fhirBase()}/.well-known/smart-configuration`)).json();
    eq('overblik\'s SMART configuration names the provider\'s endpoints',
      [cfg.authorization_endpoint, cfg.token_endpoint], [disc.authorization_endpoint, disc.token_endpoint]);
    truthy('overblik\'s SMART configuration: PKCE S256', (cfg.code_challenge_methods_supported || []).includes('S256'));
    const want = { authorize: disc.authorization_endpoint };
    const common = { redirect_uri: `${app.base}/callback`, resource: fhirBase() };
    // the first with the key the provider had when overblik started, then each a rotation: a
    // new key whose kid overblik has not seen (OB_SMART_ALGS, default RS256,ES256,EdDSA)
    const algs = (process.env.OB_SMART_ALGS || 'RS256,ES256,EdDSA').split(',');
    for (const [i, alg] of algs.entries()) {
      Object.assign(want, await setupIdp({ ...common, alg, rotate: i > 0 }));
      const label = i === 0 ? `${alg} launch` : `after rotation to ${alg}`;
      const c = await launch(app, label, want);
      if (c) await calls(c, label, { write: i === 0 });
    }
    if (env.idpPro) await professional(app);
  } finally {
    app.server.close();
  }
}

// professional(app): a second provider, of professionals (overblik maps fhirUser
// Practitioner/<id> to sub and dk:sor to site): a plain authorization code flow with PKCE as
// any OAuth client does it, then fhir-kit-client with the token as the hospital doctor
async function professional(app) {
  const redirect = `${app.base}/pro-callback`; // the browser stops at the redirect: the code
  const { kid } = await setupIdp({ redirect_uri: redirect, resource: fhirBase(), alg: 'ES256', rotate: false, site: 'hosp-med' }, env.idpPro);
  const disc = await (await fetch(`${env.idpPro}/.well-known/openid-configuration`)).json();
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirect, scope: 'openid user/Appointment.rs',
    state: 's1', resource: fhirBase(),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  const res = await browse(`${disc.authorization_endpoint}?${q}`, 'med-dr', redirect);
  const code = new URL(res.url).searchParams.get('code');
  truthy('professional: the provider redirects back with a code', !!code, res.trail);
  if (!code) return;
  const tr = await (await fetch(disc.token_endpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: CLIENT_ID, code_verifier: verifier, resource: fhirBase() }),
  })).json();
  const [hdr, claims] = jwtParts(tr.access_token || 'e30.e30');
  eq('professional: an ES256 JWT with fhirUser and dk:sor', [hdr.alg, hdr.kid, claims.fhirUser, claims['dk:sor'], [].concat(claims.aud).includes('overblik')],
    ['ES256', kid, 'Practitioner/med-dr', 'hosp-med', true]);
  if (!env.oidc) return;
  const doc = new FhirKit({ baseUrl: fhirBase(), bearerToken: tr.access_token });
  const b = sample('professional: search Appointment', await doc.search({ resourceType: 'Appointment', searchParams: { patient: 'Patient/pt-p' } }));
  truthy('professional: the treating doctor sees the patient\'s appointments', b.total >= 1, b.total);
  const log = await (await fetch(`${fhirBase()}/AuditEvent?_count=1`, { headers: { authorization: `Bearer ${tokens.citizen()}` } })).json();
  eq('professional: the patient\'s log names the doctor from the provider\'s claims',
    log.entry?.[0]?.resource?.agent?.[0]?.who?.reference, 'Practitioner/med-dr');
}
