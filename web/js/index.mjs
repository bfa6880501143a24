// index.mjs - the login page: the identity providers from GET /auth/providers, each a link to
// /auth/login?as=<name> (the server runs the code flow with PKCE and sets the session cookie);
// someone already logged in goes on to their start page.
import { start, api, el, $, t, say } from './app.mjs';

// ask whether the visitor is logged in only when they may be: just back from the provider
// (?login=1) or logged in before in this browser; otherwise the 401 is only noise
const q = new URLSearchParams(location.search);
const s = await start(null, { optional: true, probe: q.has('login') || localStorage.getItem('ob-in') === '1' });
if (s) location.replace(s.kind === 'professional' ? '/pro.html' : '/mine-data.html');
if (q.has('loggedout')) say($('#msg'), 'good', t('login.loggedout'));
if (q.has('expired')) say($('#msg'), 'warn', t('login.expired'));
if (q.has('login_error') || q.has('error')) say($('#msg'), 'bad', t('login.error'));
const r = await api('/auth/providers');
const list = Array.isArray(r.json) ? r.json : r.json?.providers || [];
$('#providers').replaceChildren(...(list.length
  ? list.map((p) => el('a', { class: 'button', href: `/auth/login?as=${encodeURIComponent(p.name)}` }, p.label || p.name))
  : [el('p', {}, t('login.none'))]));
