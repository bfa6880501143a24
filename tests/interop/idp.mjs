// idp.mjs [PORTFILE [patient|practitioner]] - a real OpenID Connect provider (npm
// oidc-provider) on 127.0.0.1, a free port, for the SMART scenario; writes its issuer URL into
// PORTFILE (and prints it) once it listens. It issues JWT access tokens for the resource
// "overblik" (audience overblik) with PKCE required, carrying the SMART patient context
// (patient, fhirUser Patient/<login>: the login name is an overblik patient id) - or, as a
// provider of professionals (practitioner), fhirUser Practitioner/<login> and the site in
// "dk:sor" (POST /_test/setup's "site"). Its login and consent pages are oidc-provider's own
// devInteractions forms, which the SMART scenario fills in like a browser would.
//
// POST /_test/setup {"redirect_uri", "resource", "alg", "rotate"} (from the test driver,
// loopback only) builds a new provider instance for that app; with rotate (the default) it
// signs with a NEW key of that alg (RS256, ES256, EdDSA) whose kid was never published before
// - key rotation as a restarted provider does it (same issuer, only the new key in its JWKS);
// without, it keeps the key it has when the alg is the same. Answers {"kid", "alg"}.
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const CLIENT_ID = 'overblik-smart-app';
const RS_SCOPES = 'patient/*.rs patient/Appointment.rs patient/AuditEvent.rs patient/Patient.rs patient/Consent.c user/*.rs user/Appointment.rs';
const PROFILE = process.argv[3] || 'patient';
let current = null; // the provider instance serving now
let issuer = '';

function newKey(alg) {
  let pair;
  if (alg === 'RS256') pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (alg === 'ES256') pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519');
  else throw new Error(`unsupported alg ${alg}`);
  return { ...pair.privateKey.export({ format: 'jwk' }), kid: `k-${alg}-${randomUUID().slice(0, 8)}`, alg, use: 'sig' };
}

function build({ redirect_uri, resource, alg, rotate = true, site = '' }) {
  const key = !rotate && current?.key.alg === alg ? current.key : newKey(alg);
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none', // a public client (the SMART app), PKCE instead of a secret
      application_type: 'native', // may redirect to http://127.0.0.1:<any port>
      redirect_uris: [redirect_uri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: alg, // the provider has only the one key
    }],
    jwks: { keys: [key] },
    cookies: { keys: [randomUUID()] },
    pkce: { required: () => true },
    scopes: ['openid', 'fhirUser', 'launch/patient'],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, fhirUser: `Patient/${id}` }) }),
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf || resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: RS_SCOPES,
          audience: 'overblik',
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        }),
      },
    },
    // the SMART launch context rides in the access token (overblik maps patient -> patient)
    extraTokenClaims: (_ctx, token) => {
      if (token.kind !== 'AccessToken') return undefined;
      if (PROFILE === 'practitioner') return { fhirUser: `Practitioner/${token.accountId}`, 'dk:sor': site };
      return { patient: token.accountId, fhirUser: `Patient/${token.accountId}` };
    },
    ttl: { AccessToken: 600, Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, IdToken: 600 },
  });
  // SMART: the token response names the patient in context too
  provider.use(async (ctx, next) => {
    await next();
    if (PROFILE === 'patient' && ctx.oidc?.route === 'token' && ctx.body?.access_token) {
      const claims = JSON.parse(Buffer.from(ctx.body.access_token.split('.')[1], 'base64url'));
      ctx.body = { ...ctx.body, patient: claims.patient };
    }
  });
  provider.on('server_error', (_ctx, err) => console.error('idp server_error', err));
  current = { provider, handler: provider.callback(), key };
  return { kid: key.kid, alg };
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/_test/setup') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try {
        const out = build(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e?.stack || e));
      }
    });
    return;
  }
  if (!current) { res.writeHead(503).end('not set up yet: POST /_test/setup'); return; }
  current.handler(req, res);
});
server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  // a first instance so that discovery answers before the driver's setup (overblik may look)
  build({ redirect_uri: 'http://127.0.0.1/none', resource: 'http://127.0.0.1/none', alg: 'RS256' });
  if (process.argv[2]) writeFileSync(process.argv[2], `${issuer}\n`);
  console.log(`idp listening on ${issuer}`);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { server.close(); process.exit(0); });
