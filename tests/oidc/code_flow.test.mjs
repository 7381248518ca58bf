// code_flow.test.mjs - a real OpenID Connect client library (oauth4webapi) completes the
// authorization code flow with PKCE against a running cityos, so that we know a client written
// by someone else accepts our discovery document, JWKS, ID tokens, userinfo, refresh and
// revocation.
//
// It starts nothing: tests/oidc/run.sh seeds a demo town, starts `cityos serve` and runs this
// file. To run it by hand against a server of your own:
//
//   CITYOS_URL=http://127.0.0.1:8080 CITYOS_CLIENT_ID=... CITYOS_EMAIL=... CITYOS_PASSWORD=... \
//     node --test tests/oidc/code_flow.test.mjs
//
// (or the same as arguments after the file: --url= --client-id= --email= --password=
// --redirect-uri= --scope=). The URL must be the server's --issuer exactly.
//
// Everything a client library does is done by oauth4webapi: discovery and its issuer check,
// PKCE S256, state and nonce, the authorization response check (state, iss), the code exchange
// with the ID token's claims (iss, aud, azp, nonce, exp, iat) and its EdDSA signature against
// the issuer's JWKS, userinfo (sub must match the ID token's), refresh and revocation. Only the
// browser's part (following redirects, the sign-in form, the approval page) is played here with
// fetch, as a person's browser would.

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { test } from 'node:test';

// Node 18 (Debian 12's) has WebCrypto, Ed25519 included, but not as the global `crypto` the
// library uses; Node 19 and later have it. Set before the library is loaded.
if (globalThis.crypto === undefined) globalThis.crypto = webcrypto;
const oauth = await import('oauth4webapi');

// ---- settings -------------------------------------------------------------------------------

function setting(arg, env, fallback) {
  const prefix = `--${arg}=`;
  const fromArg = process.argv.find((a) => a.startsWith(prefix));
  if (fromArg !== undefined) return fromArg.slice(prefix.length);
  if (process.env[env] !== undefined && process.env[env] !== '') return process.env[env];
  return fallback;
}

const BASE = setting('url', 'CITYOS_URL');
const CLIENT_ID = setting('client-id', 'CITYOS_CLIENT_ID');
const EMAIL = setting('email', 'CITYOS_EMAIL');
const PASSWORD = setting('password', 'CITYOS_PASSWORD');
const REDIRECT_URI = setting('redirect-uri', 'CITYOS_REDIRECT_URI', 'http://127.0.0.1:8765/callback');
const SCOPE = setting(
  'scope',
  'CITYOS_SCOPE',
  'openid profile fhirUser offline_access launch/patient patient/*.rs',
);

for (const [name, value] of Object.entries({ CITYOS_URL: BASE, CITYOS_CLIENT_ID: CLIENT_ID, CITYOS_EMAIL: EMAIL, CITYOS_PASSWORD: PASSWORD })) {
  if (value === undefined) {
    console.error(`code_flow.test.mjs: ${name} is not set (see the comment at the top of this file)`);
    process.exit(2);
  }
}

// The test server speaks plain HTTP on loopback; oauth4webapi refuses http:// unless told.
const INSECURE = { [oauth.allowInsecureRequests]: true };
const ISSUER = new URL(BASE);

// ---- the browser: cookies, redirects and forms ----------------------------------------------

// A small cookie jar: name -> {value, path}; Max-Age=0 deletes. Enough for one host.
const jar = new Map();

function keepCookies(res) {
  const lines =
    typeof res.headers.getSetCookie === 'function'
      ? res.headers.getSetCookie()
      : (res.headers.get('set-cookie') ?? '').split(/,(?=\s*[A-Za-z0-9_-]+=)/).filter(Boolean);
  for (const line of lines) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let gone = value === '';
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      if (k.toLowerCase() === 'path') path = v;
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) gone = true;
    }
    if (gone) jar.delete(name);
    else jar.set(name, { value, path });
  }
}

function cookieHeader(url) {
  const path = new URL(url).pathname;
  return [...jar]
    .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
    .map(([n, c]) => `${n}=${c.value}`)
    .join('; ');
}

// One request as a browser sends it, without following redirects.
async function browse(url, { method = 'GET', form } = {}) {
  const headers = { 'Accept-Language': 'en' };
  const cookies = cookieHeader(url);
  if (cookies) headers.Cookie = cookies;
  let body;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  keepCookies(res);
  return res;
}

function location(res, base) {
  const loc = res.headers.get('location');
  assert.ok(loc, `a ${res.status} from ${base} without a Location header`);
  return new URL(loc, base).href;
}

function unescapeHtml(s) {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27|#34);/g, (_, e) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#34': '"' })[e],
  );
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return m ? unescapeHtml(m[1]) : undefined;
}

// The first <form method="post"> of a page: its action and the fields a browser would send
// (hidden inputs, checked radios); buttons are left to the caller.
function parseForm(html, pageUrl) {
  const m = html.match(/<form\b[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i);
  assert.ok(m, `no POST form on ${pageUrl}`);
  const formTag = m[0].slice(0, m[0].indexOf('>') + 1);
  const action = new URL(attr(formTag, 'action') ?? pageUrl, pageUrl).href;
  const fields = {};
  for (const tag of m[1].match(/<input\b[^>]*>/gi) ?? []) {
    const type = (attr(tag, 'type') ?? 'text').toLowerCase();
    const name = attr(tag, 'name');
    if (!name) continue;
    if (type === 'hidden') fields[name] = attr(tag, 'value') ?? '';
    else if (type === 'radio' && /\schecked\b/.test(tag) && !(name in fields)) fields[name] = attr(tag, 'value') ?? '';
  }
  return { action, fields };
}

// ---- the flow, one step per test (each needs the ones before) --------------------------------

const s = {}; // what the steps hand on

test('discovery: the library accepts /.well-known/openid-configuration', async () => {
  const res = await oauth.discoveryRequest(ISSUER, { ...INSECURE, algorithm: 'oidc' });
  s.as = await oauth.processDiscoveryResponse(ISSUER, res); // checks issuer === ISSUER
  assert.equal(s.as.issuer, BASE);
  assert.ok(s.as.jwks_uri, 'jwks_uri');
  assert.ok(s.as.userinfo_endpoint, 'userinfo_endpoint');
  assert.ok(s.as.revocation_endpoint, 'revocation_endpoint');
  assert.ok(s.as.id_token_signing_alg_values_supported?.includes('EdDSA'), 'EdDSA listed');
  assert.deepEqual(s.as.code_challenge_methods_supported, ['S256']);
  assert.ok(s.as.response_types_supported.includes('code'));
  assert.ok(!s.as.response_types_supported.some((t) => t.includes('token')), 'no implicit flow');
  // a public client; ID tokens must come signed with EdDSA (the library refuses any other alg)
  s.client = { client_id: CLIENT_ID, id_token_signed_response_alg: 'EdDSA' };
});

test('authorization request: PKCE S256, state and nonce built by the library', async () => {
  assert.ok(s.as, 'discovery failed');
  s.verifier = oauth.generateRandomCodeVerifier();
  s.state = oauth.generateRandomState();
  s.nonce = oauth.generateRandomNonce();
  const challenge = await oauth.calculatePKCECodeChallenge(s.verifier);
  const url = new URL(s.as.authorization_endpoint);
  url.searchParams.set('client_id', CLIENT_ID);
  url.searchParams.set('redirect_uri', REDIRECT_URI);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', SCOPE);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', s.state);
  url.searchParams.set('nonce', s.nonce);
  s.authorizationUrl = url.href;
});

test('browser: authorize -> sign-in -> approval -> redirect with a code', async () => {
  assert.ok(s.authorizationUrl, 'no authorization URL');
  // not signed in: sent to the sign-in page
  let res = await browse(s.authorizationUrl);
  assert.equal(res.status, 303, 'GET authorize without a session');
  const signinUrl = location(res, s.authorizationUrl);
  assert.equal(new URL(signinUrl).pathname, '/signin');

  res = await browse(signinUrl);
  assert.equal(res.status, 200, 'GET /signin');
  const signin = parseForm(await res.text(), signinUrl);
  assert.ok(signin.fields.login_csrf, 'the sign-in form has login_csrf');
  assert.ok(signin.fields.return_to, 'the sign-in form has return_to');
  assert.ok(jar.has('cityos_login_csrf'), 'GET /signin set the login CSRF cookie');

  res = await browse(signin.action, {
    method: 'POST',
    form: { ...signin.fields, email: EMAIL, password: PASSWORD },
  });
  assert.equal(res.status, 303, `POST /signin: ${res.status} ${res.status === 303 ? '' : await res.text()}`);
  assert.ok(jar.has('cityos_session'), 'signed in: a session cookie');
  const back = location(res, signin.action);
  assert.equal(new URL(back).pathname, new URL(s.as.authorization_endpoint).pathname, 'back to authorize');

  // signed in: the approval page
  res = await browse(back);
  assert.equal(res.status, 200, 'GET authorize with a session: the approval page');
  const approval = parseForm(await res.text(), back);
  assert.ok(approval.fields.csrf, 'the approval form has csrf');
  assert.equal(approval.fields.state, s.state, 'the approval form carries the state');
  assert.equal(approval.fields.nonce, s.nonce, 'the approval form carries the nonce');

  res = await browse(approval.action, { method: 'POST', form: { ...approval.fields, decision: 'approve' } });
  assert.equal(res.status, 303, `POST approve: ${res.status}`);
  s.callback = new URL(location(res, approval.action));
  assert.equal(`${s.callback.origin}${s.callback.pathname}`, REDIRECT_URI, 'redirected to the client');
});

test('callback: the library checks state and iss', async () => {
  assert.ok(s.callback, 'no callback');
  assert.equal(s.callback.searchParams.get('iss'), BASE, 'iss in the authorization response (RFC 9207)');
  // a wrong state must be refused by the library
  assert.throws(() => oauth.validateAuthResponse(s.as, s.client, s.callback, 'not-the-state'), /state/);
  // and a wrong iss
  const forged = new URL(s.callback);
  forged.searchParams.set('iss', 'https://evil.example');
  assert.throws(() => oauth.validateAuthResponse(s.as, s.client, forged, s.state), /iss/);
  s.params = oauth.validateAuthResponse(s.as, s.client, s.callback, s.state);
  assert.ok(s.params.get('code'), 'a code');
});

test('code exchange: ID token claims and EdDSA signature verified by the library', async () => {
  assert.ok(s.params, 'no authorization response');
  const res = await oauth.authorizationCodeGrantRequest(
    s.as, s.client, oauth.None(), s.params, REDIRECT_URI, s.verifier, INSECURE,
  );
  const raw = await res.clone().json();
  // iss, aud, azp, nonce, exp, iat checked here; the header's alg must be EdDSA
  s.tokens = await oauth.processAuthorizationCodeResponse(s.as, s.client, res, {
    expectedNonce: s.nonce,
    requireIdToken: true,
  });
  // the signature, against the keys at jwks_uri (WebCrypto Ed25519)
  await oauth.validateApplicationLevelSignature(s.as, res, INSECURE);
  const claims = oauth.getValidatedIdTokenClaims(s.tokens);
  assert.equal(claims.iss, BASE);
  assert.ok(claims.aud === CLIENT_ID || (Array.isArray(claims.aud) && claims.aud.includes(CLIENT_ID)), 'aud');
  assert.equal(claims.nonce, s.nonce);
  assert.ok(typeof claims.sub === 'string' && claims.sub.length > 0, 'sub');
  assert.ok(claims.exp > Date.now() / 1000, 'exp in the future');
  assert.equal(JSON.parse(Buffer.from(raw.id_token.split('.')[0], 'base64url')).alg, 'EdDSA');
  assert.equal(s.tokens.token_type, 'bearer');
  assert.ok(s.tokens.access_token, 'access_token');
  assert.ok(s.tokens.refresh_token, 'refresh_token (offline_access)');
  assert.ok(s.tokens.expires_in > 0 && s.tokens.expires_in <= 3600, 'expires_in <= 1 hour');
  s.sub = claims.sub;
  s.raw = raw;
});

// The checks above must be able to fail: the same token response with one bit of the signature
// flipped, or with a nonce the client did not send, is refused by the library.
test('the library refuses a tampered ID token and a wrong nonce', async () => {
  assert.ok(s.raw, 'no token response');
  const replay = (body) =>
    new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  const [h, p, sig] = s.raw.id_token.split('.');
  const bytes = Buffer.from(sig, 'base64url');
  bytes[0] ^= 1;
  const tampered = replay({ ...s.raw, id_token: `${h}.${p}.${bytes.toString('base64url')}` });
  await oauth.processAuthorizationCodeResponse(s.as, s.client, tampered, { expectedNonce: s.nonce });
  await assert.rejects(oauth.validateApplicationLevelSignature(s.as, tampered, INSECURE), /signature/i);

  await assert.rejects(
    oauth.processAuthorizationCodeResponse(s.as, s.client, replay(s.raw), { expectedNonce: 'another-nonce' }),
    /nonce/,
  );
  const wrongAud = { ...s.client, client_id: 'another-client' };
  await assert.rejects(
    oauth.processAuthorizationCodeResponse(s.as, wrongAud, replay(s.raw), { expectedNonce: s.nonce }),
    /aud/,
  );
});

test('userinfo through the library: sub matches the ID token', async () => {
  assert.ok(s.tokens, 'no tokens');
  const res = await oauth.userInfoRequest(s.as, s.client, s.tokens.access_token, INSECURE);
  const info = await oauth.processUserInfoResponse(s.as, s.client, s.sub, res);
  assert.equal(info.sub, s.sub);
  assert.ok(info.name || info.family_name || info.given_name, 'profile claims (scope profile)');
  // and a sub other than the ID token's is refused by the library
  const again = await oauth.userInfoRequest(s.as, s.client, s.tokens.access_token, INSECURE);
  await assert.rejects(oauth.processUserInfoResponse(s.as, s.client, 'someone-else', again), /sub/);
});

test('refresh through the library: new tokens, the refresh token rotated', async () => {
  assert.ok(s.tokens, 'no tokens');
  const res = await oauth.refreshTokenGrantRequest(s.as, s.client, oauth.None(), s.tokens.refresh_token, INSECURE);
  s.refreshed = await oauth.processRefreshTokenResponse(s.as, s.client, res);
  if (s.refreshed.id_token) {
    await oauth.validateApplicationLevelSignature(s.as, res, INSECURE);
    assert.equal(oauth.getValidatedIdTokenClaims(s.refreshed).sub, s.sub, 'the refreshed ID token has the same sub');
  }
  assert.ok(s.refreshed.access_token, 'a new access token');
  assert.notEqual(s.refreshed.access_token, s.tokens.access_token);
  assert.ok(s.refreshed.refresh_token, 'a new refresh token');
  assert.notEqual(s.refreshed.refresh_token, s.tokens.refresh_token, 'rotated');
  const info = await oauth.processUserInfoResponse(
    s.as, s.client, s.sub, await oauth.userInfoRequest(s.as, s.client, s.refreshed.access_token, INSECURE),
  );
  assert.equal(info.sub, s.sub);
});

test('revocation through the library: the access token and the refresh token stop working', async () => {
  assert.ok(s.refreshed, 'no refreshed tokens');
  // RFC 7009: the access token first
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(s.as, s.client, oauth.None(), s.refreshed.access_token, {
      ...INSECURE,
      additionalParameters: { token_type_hint: 'access_token' },
    }),
  );
  const res = await oauth.userInfoRequest(s.as, s.client, s.refreshed.access_token, INSECURE);
  assert.equal(res.status, 401, 'userinfo with a revoked access token');
  await assert.rejects(oauth.processUserInfoResponse(s.as, s.client, s.sub, res));

  // then the refresh token: refreshing with it is refused
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(s.as, s.client, oauth.None(), s.refreshed.refresh_token, {
      ...INSECURE,
      additionalParameters: { token_type_hint: 'refresh_token' },
    }),
  );
  const again = await oauth.refreshTokenGrantRequest(s.as, s.client, oauth.None(), s.refreshed.refresh_token, INSECURE);
  await assert.rejects(
    oauth.processRefreshTokenResponse(s.as, s.client, again),
    (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
  );
  // revoking an unknown token is still a 200 (RFC 7009 2.2)
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(s.as, s.client, oauth.None(), 'not-a-token', INSECURE),
  );
});

// Last, as the server then revokes the whole grant (RFC 6749 4.1.2).
test('the same code a second time is refused (invalid_grant)', async () => {
  assert.ok(s.tokens, 'no tokens');
  const res = await oauth.authorizationCodeGrantRequest(
    s.as, s.client, oauth.None(), s.params, REDIRECT_URI, s.verifier, INSECURE,
  );
  await assert.rejects(
    oauth.processAuthorizationCodeResponse(s.as, s.client, res, { expectedNonce: s.nonce }),
    (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
  );
});
