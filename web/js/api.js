// api.js - every call to cityos: same origin only (the CSP allows nothing else), the bearer
// token from auth.js, JSON in and out, problem+json and OperationOutcome errors turned into
// one ApiError with a readable message.
import { accessToken, expireSession } from './auth.js';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function messageOf(status, body) {
  if (body && typeof body === 'object') {
    if (body.detail) return body.detail; // problem+json
    if (body.title) return body.title;
    if (Array.isArray(body.issue) && body.issue.length) {
      const i = body.issue[0];
      return i.diagnostics || i.details?.text || i.code; // OperationOutcome
    }
    if (body.error) return body.error_description || body.error; // OAuth
  }
  return `HTTP ${status}`;
}

// api('/api/v1/me/consents', {method: 'POST', body: {...}}) -> the parsed JSON (or null).
export async function api(path, { method = 'GET', body, auth = true } = {}) {
  const headers = { Accept: 'application/json, application/fhir+json, application/problem+json' };
  if (auth) {
    const token = accessToken();
    if (!token) {
      expireSession();
      throw new ApiError(401, 'not signed in');
    }
    headers.Authorization = `Bearer ${token}`;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit', // the bearer token is the credential; the sign-in cookie is not sent
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (res.status === 401 && auth) expireSession();
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, parsed), parsed);
  return parsed;
}

// ---- public names of organisations and registered services (H-portal) ----------------------
// GET /api/v1/recipient-names?ids=a,b,... answers the public name of each id that names an
// organisation or a registered service (others are left out, never a 404). Kept for the tab's
// life; loadNames() asks only for ids not asked before, in batches of 100; nameOf() is then
// synchronous: {kind, org_kind, name: {ja, en}} or null.
const names = new Map(); // id -> entry, or null when the server named nothing
export async function loadNames(ids) {
  const want = [...new Set((ids ?? []).filter((id) => typeof id === 'string' && /^[0-9a-hjkmnp-tv-z]{26}$/.test(id) && !names.has(id)))];
  for (let i = 0; i < want.length; i += 100) {
    const batch = want.slice(i, i + 100);
    const res = await api(`/api/v1/recipient-names?ids=${batch.join(',')}`, { auth: false }).catch(() => null);
    if (!res) continue; // not remembered: asked again next time
    for (const id of batch) names.set(id, null);
    for (const n of res.names ?? []) names.set(n.id, n);
  }
}
export function nameOf(id) {
  return names.get(id) ?? null;
}
