// web_idp.mjs PORTFILE REDIRECT_URI - the identity providers of tests/e2e/web_auth.sh (issue
// 26), on 127.0.0.1, free ports; writes "REAL_ISSUER MOCK_ISSUER" into PORTFILE once both
// listen.
//
// REAL: npm oidc-provider (tests/interop's pinned package), a confidential client
// "overblik-web" (client_secret_basic, PKCE required), its devInteractions login and consent
// forms; the login name is an overblik patient id, carried in the ID token's "patient" claim.
//
// MOCK: a provider that misbehaves on purpose, to show that overblik's own checks of the ID
// token stop what a real provider never sends: discovery, a JWKS (ES256), an authorization
// endpoint that sends the browser back with code "<scenario>~<nonce>" (scenario from the
// extra query parameter "scenario" the test adds), and a token endpoint that checks the
// client's Basic credentials and answers an ID token for that scenario:
//   good       what a provider should send
//   aud        aud is another client's
//   azp        aud holds this client and another one, azp is the other
//   nonce      another login's nonce
//   iss        a token of another configured provider (MOCK/two, which publishes the same
//              key): valid in every other way, but not from the provider the login went to
//   expired    exp an hour ago
//   badsig     signed with a key that is not in the JWKS
//   none       alg none, no signature
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID, sign as cryptoSign } from 'node:crypto';

const Provider = (await import(new URL('../interop/node_modules/oidc-provider/lib/index.js', import.meta.url))).default;
const [portfile, redirect] = process.argv.slice(2);
const CLIENT_ID = 'overblik-web';
const SECRET = 'web-secret-3f9c';

// ---- the real provider ----
const realKey = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'real-1', alg: 'ES256', use: 'sig' };
const realServer = http.createServer();
let realIssuer = '';

// ---- the mock ----
const mockPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const mockPub = { ...mockPair.publicKey.export({ format: 'jwk' }), kid: 'mock-1', alg: 'ES256', use: 'sig' };
let mockIssuer = '';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwt(header, claims, key) {
  const input = `${b64(header)}.${b64(claims)}`;
  if (!key) return `${input}.`;
  const sig = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
function idToken(scenario, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const c = { iss: mockIssuer, sub: 'pt-0', patient: 'pt-0', aud: CLIENT_ID, iat: now, exp: now + 300, nonce };
  if (scenario === 'aud') c.aud = 'another-client';
  if (scenario === 'azp') { c.aud = [CLIENT_ID, 'another-client']; c.azp = 'another-client'; }
  if (scenario === 'nonce') c.nonce = 'a-nonce-of-another-login-0000000000000000000';
  if (scenario === 'iss') c.iss = `${mockIssuer}/two`; // another configured provider, same key
  if (scenario === 'expired') { c.iat = now - 7200; c.exp = now - 3600; }
  if (scenario === 'none') return jwt({ alg: 'none', typ: 'JWT' }, c, null);
  return jwt({ alg: 'ES256', kid: 'mock-1', typ: 'JWT' }, c, scenario === 'badsig' ? otherPair.privateKey : mockPair.privateKey);
}
const mockServer = http.createServer((req, res) => {
  const u = new URL(req.url, mockIssuer);
  const json = (status, o) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(o));
  if (u.pathname === '/two/.well-known/openid-configuration') { // a second provider, same keys
    return json(200, { issuer: `${mockIssuer}/two`, jwks_uri: `${mockIssuer}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'] });
  }
  if (u.pathname === '/.well-known/openid-configuration') {
    return json(200, { issuer: mockIssuer, authorization_endpoint: `${mockIssuer}/authorize`, token_endpoint: `${mockIssuer}/token`, jwks_uri: `${mockIssuer}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'] });
  }
  if (u.pathname === '/jwks') return json(200, { keys: [mockPub] });
  if (u.pathname === '/authorize') {
    const to = new URL(u.searchParams.get('redirect_uri'));
    to.searchParams.set('code', `${u.searchParams.get('scenario') || 'good'}~${u.searchParams.get('nonce')}`);
    to.searchParams.set('state', u.searchParams.get('state'));
    return res.writeHead(302, { location: to.href }).end();
  }
  if (u.pathname === '/token' && req.method === 'POST') {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const auth = req.headers.authorization || '';
      if (auth !== `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`) return json(401, { error: 'invalid_client' });
      const p = new URLSearchParams(body);
      const [scenario, nonce] = (p.get('code') || '').split('~');
      if (p.get('grant_type') !== 'authorization_code' || !p.get('code_verifier')) return json(400, { error: 'invalid_request' });
      json(200, { access_token: 'mock-access', token_type: 'Bearer', expires_in: 300, id_token: idToken(scenario, nonce) });
    });
    return undefined;
  }
  return json(404, { error: 'not found' });
});

let listening = 0;
function ready() {
  if (++listening < 2) return;
  writeFileSync(portfile, `${realIssuer} ${mockIssuer}\n`);
  console.log(`real idp ${realIssuer}, mock idp ${mockIssuer}`);
}
realServer.listen(0, '127.0.0.1', () => {
  realIssuer = `http://127.0.0.1:${realServer.address().port}`;
  const provider = new Provider(realIssuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [redirect],
      post_logout_redirect_uris: [redirect.replace(/\/auth\/callback$/, '/')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    }],
    jwks: { keys: [realKey] },
    cookies: { keys: [randomUUID()] },
    pkce: { required: () => true },
    scopes: ['openid', 'patient'],
    claims: { openid: ['sub'], patient: ['patient'] },
    conformIdTokenClaims: false, // the patient claim rides in the ID token
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, patient: id }) }),
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    ttl: { AccessToken: 600, Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, IdToken: 600 },
  });
  provider.on('server_error', (_ctx, err) => console.error('idp server_error', err));
  realServer.on('request', provider.callback());
  ready();
});
mockServer.listen(0, '127.0.0.1', () => {
  mockIssuer = `http://127.0.0.1:${mockServer.address().port}`;
  ready();
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { realServer.close(); mockServer.close(); process.exit(0); });
