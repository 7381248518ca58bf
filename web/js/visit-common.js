// visit-common.js - what the views of the visit journey share (view-journey.js and its parts):
// the part and its parameters in the hash (#/visit?p=booking&dept=...), links between parts,
// consent evidence for a purpose whose explanation is checked here, money in yen, organisation
// names, and the one call that needs a header api.js does not set (Idempotency-Key).
import { ApiError, api } from './api.js';
import { accessToken, expireSession } from './auth.js';
import { h } from './dom.js';
import { category, lang, pick, t, when } from './i18n.js';
import { explanationHash } from './view-consents.js';

// The parameters after '?' in the hash: #/visit?p=booking&dept=cardiology -> {p, dept}.
export function params() {
  const hash = window.location.hash;
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

// '#/visit?p=booking&dept=...' with the values that are set.
export function partHref(part, values = {}) {
  const q = new URLSearchParams({ p: part });
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return `#/visit?${q.toString()}`;
}

export function go(part, values) {
  window.location.hash = partHref(part, values).slice(1);
}

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// The consent evidence of consent.md: the hash of the explanation shown, when it was shown, when
// the citizen agreed (now), and the channel.
export function evidence(hash, shownAt) {
  const now = Date.now();
  return { explanation_hash: hash, shown_at: rfc3339(Math.min(shownAt, now)), agreed_at: rfc3339(now), channel: 'portal' };
}

// The current version of purpose code with whether its published hash is the one recomputed
// here ({purpose, verified}); purpose null when the city has not published it.
export async function currentPurpose(code) {
  const list = await api('/api/v1/purposes', { auth: false });
  const p = (list.purposes ?? []).find((x) => x.code === code) ?? null;
  if (!p) return { purpose: null, verified: false };
  return { purpose: p, verified: (await explanationHash(p)) === p.explanation_hash };
}

// A purpose's explanation as the citizen reads it before agreeing (the same facts as the
// consents view) and whether the text is the published one.
export function purposeExplanation(p, verified) {
  return h(
    'div',
    { class: 'purpose-text', 'data-purpose': p.code },
    h('h4', {}, pick(p.title), ' ', h('span', { class: 'version' }, t('consents.version', { n: p.version }))),
    h('p', { class: 'explanation' }, pick(p.explanation)),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, t('consents.categories')),
      h('dd', {}, p.categories.map(category).join('、')),
      h('dt', {}, t('consents.legal')),
      h('dd', {}, p.legal_basis),
      h('dt', {}, t('consents.retentionLabel')),
      h('dd', {}, t('consents.retention', { n: p.retention_days })),
    ),
    h('p', { class: verified ? 'verified' : 'error', role: verified ? null : 'alert' }, t(verified ? 'consents.hashOk' : 'consents.hashBad')),
  );
}

export function yen(n) {
  if (typeof n !== 'number') return '';
  return new Intl.NumberFormat(lang() === 'ja' ? 'ja-JP' : 'en-GB', { style: 'currency', currency: 'JPY', currencyDisplay: 'narrowSymbol' }).format(n);
}

// 'Mon 1 Dec 2026, 09:00' in Tokyo time; the time only with short=true.
export function at(iso, short = false) {
  if (!short) return when(iso);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso ?? '';
  return new Intl.DateTimeFormat(lang() === 'ja' ? 'ja-JP' : 'en-GB', { timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(d);
}

// The Tokyo calendar day of an instant, YYYY-MM-DD.
export function tokyoDay(ms = Date.now()) {
  return new Date(ms + 9 * 3600 * 1000).toISOString().slice(0, 10);
}

export function dayTitle(day) {
  const d = new Date(`${day}T00:00:00+09:00`);
  return new Intl.DateTimeFormat(lang() === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'full', timeZone: 'Asia/Tokyo' }).format(d);
}

// Organisation names for ids. No citizen endpoint names an organisation by id, so the names
// are gathered from what the APIs do send (the slots' organization_name, the pharmacies, the
// taxi orders' facility_name, the access log's counts) and kept for the tab in sessionStorage
// (public names, not personal data); what is still unknown is read from the access log once.
const ORGS = 'cityos.portal.orgs';
function known() {
  try {
    return JSON.parse(sessionStorage.getItem(ORGS) ?? '{}') ?? {};
  } catch {
    return {};
  }
}
export function rememberOrgs(pairs) {
  const k = known();
  let changed = false;
  for (const [id, name] of pairs) {
    if (typeof id === 'string' && typeof name === 'string' && name && k[id] !== name) {
      k[id] = name;
      changed = true;
    }
  }
  if (changed) sessionStorage.setItem(ORGS, JSON.stringify(k));
}
let lookedUp = null;
export async function orgName(id) {
  if (!id) return '';
  const name = known()[id];
  if (name) return name;
  if (!lookedUp) {
    lookedUp = Promise.all([
      api('/api/v1/me/access-log?limit=1').catch(() => null),
      api('/api/v1/pharmacies', { auth: false }).catch(() => null),
    ]).then(([log, ph]) => {
      rememberOrgs((log?.counts ?? []).filter((c) => c.org?.id).map((c) => [c.org.id, c.org.name]));
      rememberOrgs((ph?.pharmacies ?? []).map((p) => [p.id, lang() === 'ja' ? p.name_ja : p.name_en]));
    });
  }
  await lookedUp;
  return known()[id] ?? t('j.org.unnamed');
}

export function department(code) {
  if (!code) return '';
  const key = `j.dept.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

// A POST that moves money: api.js's rules plus the Idempotency-Key header. The same key is sent
// again when the citizen retries, so a payment whose answer was lost is answered, not repeated.
export async function postIdempotent(path, key, body = {}) {
  const token = accessToken();
  if (!token) {
    expireSession();
    throw new ApiError(401, 'not signed in');
  }
  const res = await fetch(path, {
    method: 'POST',
    headers: {
      Accept: 'application/json, application/problem+json',
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': key,
    },
    body: JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (res.status === 401) expireSession();
  if (!res.ok) throw new ApiError(res.status, parsed?.detail || parsed?.title || `HTTP ${res.status}`, parsed);
  return parsed;
}

// A status word as a badge with its class (status.booked, status.paid, ...).
export function badge(kind, value) {
  return h('span', { class: `status ${value}`, 'data-status': value }, t(`j.${kind}.${value}`));
}
