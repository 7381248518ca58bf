// auth.js - signing in with the regional ID: OpenID Connect authorization code flow with PKCE
// (S256), state and nonce, against cityos's own provider. The page is a public client: the
// client id comes from /portal/config.json, the endpoints from discovery. Tokens stay in this
// tab's sessionStorage (gone when the tab closes; never localStorage, never a cookie).

const SESSION = 'cityos.portal.session';
const PENDING = 'cityos.portal.pending';

let config = null;
let discovery = null;

function b64url(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(bytes) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return b64url(new Uint8Array(digest));
}

async function getJson(path) {
  const res = await fetch(path, { credentials: 'omit', cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.detail || `${path}: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

// The portal's client and the provider's endpoints; throws with the server's reason when the
// portal has no registered client.
export async function loadConfig() {
  if (!config) config = await getJson('/portal/config.json');
  if (!discovery) discovery = await getJson('/.well-known/openid-configuration');
  if (discovery.issuer !== config.issuer) throw new Error('the discovery issuer is not this server');
  return config;
}

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) ?? 'null');
    if (s && s.expires_at > Date.now()) return s;
  } catch {
    /* a damaged entry counts as signed out */
  }
  return null;
}

export function accessToken() {
  return session()?.access_token ?? null;
}

export function expireSession() {
  const had = sessionStorage.getItem(SESSION) !== null;
  sessionStorage.removeItem(SESSION);
  if (had) window.dispatchEvent(new Event('cityos:signed-out'));
}

// The scopes a sign-in asks for, from the client's registered ones: a citizen (or a family
// member acting for one) everything but the practitioner's `user/` scopes and `cityos.admin`;
// staff (a doctor, a pharmacist, the city office) the identity scopes and those only. Asking a
// subset keeps the approval page to what the person will use, and offers the practitioner's
// roles only to staff (docs/internals/oauth.md, the approval page).
export function scopeFor(kind, registered) {
  const all = String(registered ?? '').split(/\s+/).filter(Boolean);
  const staffOnly = (x) => x.startsWith('user/') || x === 'cityos.admin';
  if (kind === 'staff') return all.filter((x) => staffOnly(x) || ['openid', 'profile', 'fhirUser'].includes(x)).join(' ');
  return all.filter((x) => !staffOnly(x)).join(' ');
}

// Does the portal's client let staff sign in (user/ scopes registered)?
export function staffSignInOffered(cfg) {
  return scopeFor('staff', cfg?.scope).split(' ').some((x) => x.startsWith('user/'));
}

// Sends the browser to the provider's sign-in and approval pages; kind 'citizen' or 'staff'.
export async function signIn(lang, kind = 'citizen') {
  const cfg = await loadConfig();
  const verifier = randomText(32); // 43 characters
  const state = randomText(16);
  const nonce = randomText(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, at: Date.now() }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.client_id,
    redirect_uri: cfg.redirect_uri,
    scope: scopeFor(kind, cfg.scope),
    state,
    nonce,
    code_challenge: await s256(verifier),
    code_challenge_method: 'S256',
    lang,
  }).toString();
  window.location.assign(url.href);
}

function claimsOf(idToken) {
  const part = idToken?.split('.')[1];
  if (!part) return {};
  const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

// On the way back from the provider (?code&state&iss, or ?error): checks state and iss,
// redeems the code with the verifier and keeps the session. Returns true when it handled a
// response, throws with the reason when the response is refused.
export async function completeSignIn() {
  const params = new URLSearchParams(window.location.search);
  if (!params.has('code') && !params.has('error')) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  window.history.replaceState(null, '', '/' + window.location.hash); // the code leaves the URL
  const cfg = await loadConfig();
  if (!pending || params.get('state') !== pending.state)
    throw new Error('the sign-in answer does not belong to this tab (state)');
  if (params.get('iss') !== cfg.issuer) throw new Error('the sign-in answer comes from another issuer');
  if (params.has('error')) throw new Error(params.get('error_description') || params.get('error'));
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    credentials: 'omit',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: cfg.client_id,
      code: params.get('code'),
      redirect_uri: cfg.redirect_uri,
      code_verifier: pending.verifier,
    }),
  });
  const tok = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(tok.error_description || tok.error || `token: HTTP ${res.status}`);
  // The ID token came straight from the token endpoint of this origin (OIDC Core 3.1.3.7: its
  // signature check may be skipped then); its claims are still checked.
  const claims = claimsOf(tok.id_token);
  if (claims.iss !== cfg.issuer || claims.aud !== cfg.client_id || claims.nonce !== pending.nonce)
    throw new Error('the ID token is not for this sign-in');
  sessionStorage.setItem(
    SESSION,
    JSON.stringify({
      access_token: tok.access_token,
      expires_at: Date.now() + (tok.expires_in ?? 900) * 1000 - 5000,
      scope: tok.scope,
      patient: tok.patient ?? claims.sub,
      sub: claims.sub,
      name: claims.name ?? '',
      birthdate: claims.birthdate ?? null,
    }),
  );
  return true;
}

// Revokes the access token at the provider and forgets the session.
export async function signOut() {
  const token = accessToken();
  expireSession();
  if (token && discovery?.revocation_endpoint && config) {
    await fetch(discovery.revocation_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      credentials: 'omit',
      body: new URLSearchParams({ client_id: config.client_id, token }),
    }).catch(() => {});
  }
}
