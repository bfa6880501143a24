// idp.mjs - the loopback OpenID Connect identity provider of the web pages' tests and of
// `make demo` (issue 26): npm oidc-provider, two issuers in one process, each on its own free
// port of 127.0.0.1 — "citizen" (a MitID broker's role) and "professional" (a region's or
// clinic's IdP) — whose users are the synthetic people of an overblik database, as
// `overblik people list` prints them (one JSON object a line).
//
//   node idp.mjs --people FILE --out FILE --redirect URI [--redirect URI]... [--post-logout URI]...
//                [--client-id ID] [--secret S | --public]
//
// Writes {"citizen":"http://127.0.0.1:P1","professional":"http://127.0.0.1:P2"} to --out once
// both listen. Authorization code flow with PKCE (S256) required; the client authenticates
// with client_secret_basic (or none with --public). Claims, in the ID token and at userinfo:
//   citizen:       sub = patient = the overblik patient id, name
//   professional:  sub = the professional id, fhirUser = Practitioner/<id>, dk:sor = the site,
//                  name, role. A login "id@site" picks one of the professional's sites.
// The login page is this file's own (no inline script or style): a user id, no password —
// a test provider. Consent is implied for the one first-party client.
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const opt = { redirect: [], postLogout: [], clientId: 'overblik-web', secret: 'overblik-web-demo-secret', pub: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--people') opt.people = args[++i];
  else if (a === '--out') opt.out = args[++i];
  else if (a === '--redirect') opt.redirect.push(args[++i]);
  else if (a === '--post-logout') opt.postLogout.push(args[++i]);
  else if (a === '--client-id') opt.clientId = args[++i];
  else if (a === '--secret') opt.secret = args[++i];
  else if (a === '--public') opt.pub = true;
  else {
    console.error(`idp.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!opt.people || !opt.redirect.length) {
  console.error('usage: node idp.mjs --people FILE --out FILE --redirect URI [--post-logout URI] [--client-id ID] [--secret S | --public]');
  process.exit(2);
}

const people = { citizen: new Map(), professional: new Map() };
for (const line of readFileSync(opt.people, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const p = JSON.parse(line);
  if (p.kind === 'patient') people.citizen.set(p.id, p);
  else if (p.kind === 'professional') people.professional.set(p.id, p);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// "id" or "id@site" -> the account, or null
function lookup(kind, login) {
  const [id, site] = String(login || '').trim().split('@');
  const p = people[kind].get(id);
  if (!p) return null;
  if (kind === 'professional') {
    const s = site || p.sites?.[0];
    if (!p.sites?.includes(s)) return null;
    return { accountId: `${id}@${s}`, p, site: s };
  }
  return { accountId: id, p };
}

function claimsOf(kind, accountId) {
  const [id, site] = accountId.split('@');
  const p = people[kind].get(id);
  if (!p) return null;
  if (kind === 'citizen') return { sub: id, patient: id, name: p.name };
  return { sub: id, fhirUser: `Practitioner/${id}`, 'dk:sor': site, name: p.name, role: p.role };
}

const CSS = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
label{display:block;font-weight:600;margin:.5rem 0}input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box}
button{margin-top:1rem;font-size:1rem;padding:.6rem 1.2rem;background:#0b5394;color:#fff;border:0;border-radius:4px}
.err{color:#a00000}code{background:#eee;padding:0 .2rem}`;

function page(title, body) {
  return `<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/idp.css"></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function build(kind, issuer) {
  const label = kind === 'citizen' ? 'MitID (demo)' : 'Sundhedsfagligt login (demo)';
  const client = {
    client_id: opt.clientId,
    redirect_uris: opt.redirect,
    post_logout_redirect_uris: opt.postLogout,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    application_type: 'web',
    token_endpoint_auth_method: opt.pub ? 'none' : 'client_secret_basic',
    ...(opt.pub ? {} : { client_secret: opt.secret }),
  };
  const claimNames = kind === 'citizen' ? ['sub', 'patient', 'name'] : ['sub', 'fhirUser', 'dk:sor', 'name', 'role'];
  const provider = new Provider(issuer, {
    clients: [client],
    cookies: { keys: [randomUUID()] },
    pkce: { required: () => true },
    scopes: ['openid', 'profile'],
    claims: { openid: claimNames, profile: ['name'] },
    conformIdTokenClaims: false, // the claims ride in the ID token too (the client reads them there)
    findAccount: (_ctx, id) => {
      const c = claimsOf(kind, id);
      return c ? { accountId: id, claims: () => c } : undefined;
    },
    // the one first-party client needs no consent screen
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile');
      grant.addOIDCClaims(claimNames);
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Log ud', `<p>Vil du logge ud af ${esc(label)}?</p>${form.replace(/<script[\s\S]*?<\/script>/g, '')}
<button form="op.logoutForm" type="submit" name="logout" value="yes">Log ud</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Du er logget ud', '<p>Du er logget ud. Du kan lukke vinduet.</p>');
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 900, IdToken: 900, AuthorizationCode: 60, Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600 },
  });
  provider.on('server_error', (_ctx, err) => console.error(`idp ${kind} server_error`, err));
  const handler = provider.callback();

  const demo = [...people[kind].values()].slice(0, 3).map((p) => `<code>${esc(p.id)}</code> (${esc(p.name)})`).join(', ');
  async function interaction(req, res, uid) {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) throw new Error('interaction mismatch');
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(page(`Log ind — ${label}`, loginForm(uid, '', demo)));
        return;
      }
      let body = '';
      for await (const c of req) body += c;
      const login = new URLSearchParams(body).get('login') || '';
      const acct = lookup(kind, login);
      if (!acct) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(page(`Log ind — ${label}`, loginForm(uid, 'Ukendt bruger. Prøv igen.', demo)));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: acct.accountId } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`login failed: ${e.message}`);
    }
  }

  return http.createServer((req, res) => {
    const url = new URL(req.url, issuer);
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(url.pathname);
    if (m) return void interaction(req, res, m[1]);
    if (url.pathname === '/idp.css') {
      res.writeHead(200, { 'content-type': 'text/css' });
      return void res.end(CSS);
    }
    handler(req, res);
  });
}

function loginForm(uid, error, demo) {
  return `${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="login">Bruger-id</label>
<input id="login" name="login" autocomplete="username" autofocus required>
<button type="submit">Log ind</button></form>
<p>Demo-brugere: ${demo}. En behandler kan skrive <code>id@sted</code> for at vælge arbejdssted.</p>`;
}

// one server per issuer: the issuer URL needs the port, so listen first, then build
const out = {};
const servers = [];
for (const kind of ['citizen', 'professional']) {
  const holder = http.createServer();
  await new Promise((r) => holder.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${holder.address().port}`;
  const real = build(kind, issuer);
  holder.on('request', (req, res) => real.emit('request', req, res));
  servers.push(holder);
  out[kind] = issuer;
}
if (opt.out) writeFileSync(opt.out, `${JSON.stringify(out)}\n`);
console.log(`idp listening: ${JSON.stringify(out)}`);
for (const s of ['SIGTERM', 'SIGINT'])
  process.on(s, () => {
    for (const sv of servers) sv.close();
    process.exit(0);
  });
