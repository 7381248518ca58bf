// roles.js - who is signed in, as the server sees the token (GET /api/v1/me/token): a citizen
// for themselves (`person`), a family member acting for one (`delegate`, `acting_for`), or staff
// acting for an organisation in a role (`practitioner`, `org_id`, `role`: doctor, pharmacist,
// city_administrator, ...). The ID token names only the person who signed in; whom they act for
// is the grant's, so the portal asks the server once per token and picks the menu from it.
import { api } from './api.js';
import { accessToken } from './auth.js';

let cached = null; // {token, principal}

export async function principal() {
  const token = accessToken();
  if (!token) return null;
  if (cached?.token === token) return cached.principal;
  const p = await api('/api/v1/me/token');
  cached = { token, principal: p };
  return p;
}

// The audience a view is for, against a principal.
export const forCitizen = (p) => !p || p.kind === 'person' || p.kind === 'delegate';
export const forRole = (...roles) => (p) => p?.kind === 'practitioner' && roles.includes(p.role);

// Organisation names for ids: the public lists (pharmacies, slots' organisations) do not cover
// every kind, so a name is looked up where the caller may, else the id is shown.
const orgNames = new Map();
export function rememberOrg(id, name) {
  if (id && name) orgNames.set(id, name);
}
export function orgName(id) {
  return orgNames.get(id) ?? null;
}

// The pharmacies' names are public (GET /api/v1/pharmacies); loaded once.
let pharmaciesLoaded = false;
export async function loadPharmacyNames(pick) {
  if (pharmaciesLoaded) return;
  const res = await api('/api/v1/pharmacies', { auth: false }).catch(() => null);
  for (const p of res?.pharmacies ?? []) rememberOrg(p.id, pick({ ja: p.name_ja, en: p.name_en || p.name_ja }));
  pharmaciesLoaded = Boolean(res);
}
