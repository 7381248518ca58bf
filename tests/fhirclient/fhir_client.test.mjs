// fhir_client.test.mjs - a real FHIR client library (fhir-kit-client, from npm) talks to a
// running cityos the way a PHR app would: it reads the CapabilityStatement, creates 会津 太郎's
// blood-pressure Observation, reads it, updates it (version 1 -> 2), searches it by patient and
// code, and posts a transaction Bundle of two Observations with urn:uuid fullUrls; without a
// token it is refused (401), and writing for another citizen is refused (403).
//
// It starts nothing: tests/fhirclient/run.sh seeds a demo town, starts `cityos serve` with an
// operator token and runs this file. To run it by hand against a server of your own (its
// --issuer must be the URL, and it must have been started with that operator token):
//
//   CITYOS_URL=http://127.0.0.1:8080 CITYOS_ADMIN_TOKEN=... CITYOS_SIGNINS=data/demo-sign-ins.txt \
//     node --test tests/fhirclient/fhir_client.test.mjs
//
// The app is registered through the admin API (POST /api/v1/admin/clients) as a public client
// with the scopes "openid launch/patient patient/*.cruds"; the people sign in with the
// authorization-code flow and PKCE S256, played here with fetch and a cookie jar as a browser
// would (as tests/oidc does); every FHIR call after that is fhir-kit-client's own.

import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Client } from 'fhir-kit-client';

// ---- settings -------------------------------------------------------------------------------

const BASE = process.env.CITYOS_URL;
const ADMIN_TOKEN = process.env.CITYOS_ADMIN_TOKEN;
const SIGNINS = process.env.CITYOS_SIGNINS;
for (const [name, value] of Object.entries({ CITYOS_URL: BASE, CITYOS_ADMIN_TOKEN: ADMIN_TOKEN, CITYOS_SIGNINS: SIGNINS })) {
  if (value === undefined || value === '') {
    console.error(`fhir_client.test.mjs: ${name} is not set (see the comment at the top of this file)`);
    process.exit(2);
  }
}
const FHIR_BASE = `${BASE}/fhir`;
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const SCOPE = 'openid launch/patient patient/*.cruds';
const TARO = 'taro.aizu@example.jp';
const HANAKO = 'hanako.aizu@example.jp';

// The demo's published passwords, from the sign-ins file `cityos demo` writes
// ("      email=... password=..." under each cast member).
function passwordOf(email) {
  const text = readFileSync(SIGNINS, 'utf8');
  const m = text.match(new RegExp(`email=${email.replace(/[.]/g, '\\.')} password=(\\S+)`));
  assert.ok(m, `no password for ${email} in ${SIGNINS}`);
  return m[1];
}

// ---- the browser: cookies, redirects and forms (one jar per person) ---------------------------

class Browser {
  constructor() {
    this.jar = new Map();
  }

  keep(res) {
    const lines =
      typeof res.headers.getSetCookie === 'function'
        ? res.headers.getSetCookie()
        : (res.headers.get('set-cookie') ?? '').split(/,(?=\s*[A-Za-z0-9_-]+=)/).filter(Boolean);
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let gone = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) gone = true;
      }
      if (gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  // One request as a browser sends it, without following redirects.
  async go(url, { method = 'GET', form } = {}) {
    const headers = { 'Accept-Language': 'en' };
    if (this.jar.size > 0) headers.Cookie = [...this.jar].map(([n, v]) => `${n}=${v}`).join('; ');
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.keep(res);
    return res;
  }
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

// The first <form method="post"> of a page: its action, its hidden fields and the values of its
// radio buttons by name.
function parseForm(html, pageUrl) {
  const m = html.match(/<form\b[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i);
  assert.ok(m, `no POST form on ${pageUrl}`);
  const formTag = m[0].slice(0, m[0].indexOf('>') + 1);
  const action = new URL(attr(formTag, 'action') ?? pageUrl, pageUrl).href;
  const fields = {};
  const radios = {};
  for (const tag of m[1].match(/<input\b[^>]*>/gi) ?? []) {
    const type = (attr(tag, 'type') ?? 'text').toLowerCase();
    const name = attr(tag, 'name');
    if (!name) continue;
    if (type === 'hidden') fields[name] = attr(tag, 'value') ?? '';
    else if (type === 'radio') (radios[name] ??= []).push(attr(tag, 'value') ?? '');
  }
  return { action, fields, radios };
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// The authorization-code flow with PKCE S256 for one person acting as themself: sign-in, the
// approval page, the code, the token. Returns the token response.
async function signIn(clientId, email, password) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(16));
  const authorize = new URL(`${BASE}/oauth/authorize`);
  authorize.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: SCOPE,
    state,
    nonce: b64url(randomBytes(16)),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    aud: FHIR_BASE,
  }).toString();

  const browser = new Browser();
  let res = await browser.go(authorize.href);
  assert.equal(res.status, 303, `GET /oauth/authorize without a session: ${res.status}`);
  const signinUrl = location(res, authorize.href);
  res = await browser.go(signinUrl);
  assert.equal(res.status, 200, 'GET /signin');
  const signin = parseForm(await res.text(), signinUrl);
  res = await browser.go(signin.action, { method: 'POST', form: { ...signin.fields, email, password } });
  assert.equal(res.status, 303, `POST /signin for ${email}: ${res.status} ${res.status === 303 ? '' : await res.text()}`);
  const back = location(res, signin.action);

  res = await browser.go(back);
  assert.equal(res.status, 200, `the approval page: ${res.status}`);
  const approval = parseForm(await res.text(), back);
  const form = { ...approval.fields, decision: 'approve' };
  if (approval.radios.act_as) {
    const self = approval.radios.act_as.find((v) => v.startsWith('self'));
    assert.ok(self, `no "act as myself" choice on the approval page: ${approval.radios.act_as}`);
    form.act_as = self;
  }
  res = await browser.go(approval.action, { method: 'POST', form });
  assert.equal(res.status, 303, `POST approve: ${res.status}`);
  const callback = new URL(location(res, approval.action));
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI, 'redirected to the app');
  assert.equal(callback.searchParams.get('state'), state, 'the state comes back');
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback.href}`);

  res = await fetch(`${BASE}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: clientId,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }).toString(),
  });
  const tokens = await res.json();
  assert.equal(res.status, 200, `POST /oauth/token: ${JSON.stringify(tokens)}`);
  assert.ok(tokens.access_token, 'an access token');
  return tokens;
}

// The person's Patient id: the subject of their consents (as tests/api/test_fhir.c finds it).
async function patientIdOf(token) {
  const res = await fetch(`${BASE}/api/v1/me/consents`, { headers: { Authorization: `Bearer ${token}` } });
  const body = await res.json();
  assert.equal(res.status, 200, `GET /api/v1/me/consents: ${JSON.stringify(body)}`);
  assert.ok(typeof body.subject === 'string' && body.subject.length > 0, 'a subject');
  return body.subject;
}

// ---- resources ------------------------------------------------------------------------------

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

function bloodPressure(patient, systolic, diastolic, when) {
  const mmHg = (value) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
      },
    ],
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: when,
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: mmHg(systolic) },
      { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: mmHg(diastolic) },
    ],
  };
}

const systolicOf = (obs) => obs.component.find((c) => c.code.coding[0].code === '8480-6').valueQuantity.value;

// The HTTP status of a fhir-kit-client rejection (it throws an Error with response.status).
async function statusOf(promise) {
  try {
    await promise;
  } catch (e) {
    if (e?.response?.status) return e.response.status;
    throw e;
  }
  return 200;
}

// ---- the steps (each needs the ones before) --------------------------------------------------

const s = {};

test('set-up: the app registered through the admin API; 太郎 and 花子 signed in (code flow, PKCE)', async () => {
  const res = await fetch(`${BASE}/api/v1/admin/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: 'fhir-kit-client test app',
      kind: 'public',
      scopes: SCOPE,
      grant_types: ['authorization_code'],
      redirect_uris: [REDIRECT_URI],
    }),
  });
  const client = await res.json();
  assert.equal(res.status, 201, `POST /api/v1/admin/clients: ${JSON.stringify(client)}`);
  assert.ok(client.client_id, 'a client_id');

  const taro = await signIn(client.client_id, TARO, passwordOf(TARO));
  const hanako = await signIn(client.client_id, HANAKO, passwordOf(HANAKO));
  s.taroId = await patientIdOf(taro.access_token);
  s.hanakoId = await patientIdOf(hanako.access_token);
  assert.notEqual(s.taroId, s.hanakoId);
  // SMART launch/patient: the patient context, when the server gives it, is the person himself
  if (taro.patient !== undefined) assert.equal(taro.patient, s.taroId, 'the token response\'s patient');
  s.fhir = new Client({ baseUrl: FHIR_BASE, bearerToken: taro.access_token });
  s.anonymous = new Client({ baseUrl: FHIR_BASE });
});

test('capabilityStatement(): FHIR 4.0.1 with Observation create, read, update and search', async () => {
  assert.ok(s.fhir, 'set-up failed');
  const cs = await s.fhir.capabilityStatement();
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');
  assert.ok(cs.format.some((f) => f.includes('json')), `format ${cs.format}`);
  const obs = cs.rest[0].resource.find((r) => r.type === 'Observation');
  assert.ok(obs, 'Observation in rest[0].resource');
  const interactions = obs.interaction.map((i) => i.code);
  for (const code of ['create', 'read', 'update', 'search-type']) assert.ok(interactions.includes(code), `interaction ${code}`);
  const params = obs.searchParam.map((p) => p.name);
  for (const p of ['patient', 'code']) assert.ok(params.includes(p), `search parameter ${p}`);
  s.capability = cs;
});

test('create(): 太郎\'s blood pressure, 201 with an id and version 1', async () => {
  assert.ok(s.taroId, 'set-up failed');
  const created = await s.fhir.create({
    resourceType: 'Observation',
    body: bloodPressure(s.taroId, 142, 88, '2026-11-24T07:30:00+09:00'),
  });
  const { response } = Client.httpFor(created);
  assert.equal(response.status, 201);
  assert.equal(created.resourceType, 'Observation');
  assert.ok(created.id, 'an id');
  assert.equal(created.meta?.versionId, '1');
  assert.match(response.headers.get('location') ?? '', new RegExp(`/fhir/Observation/${created.id}/_history/1$`));
  assert.equal(created.subject.reference, `Patient/${s.taroId}`);
  s.obs = created;
});

test('read(): the same Observation', async () => {
  assert.ok(s.obs, 'create failed');
  const read = await s.fhir.read({ resourceType: 'Observation', id: s.obs.id });
  assert.equal(read.id, s.obs.id);
  assert.equal(read.meta.versionId, '1');
  assert.equal(read.code.coding[0].code, '85354-9');
  assert.equal(systolicOf(read), 142);
  assert.equal(Client.httpFor(read).response.headers.get('etag'), 'W/"1"');
  s.read = read;
});

test('update(): with If-Match W/"1", meta.versionId 1 -> 2', async () => {
  assert.ok(s.read, 'read failed');
  const changed = { ...s.read, component: s.read.component.map((c) => structuredClone(c)) };
  changed.component.find((c) => c.code.coding[0].code === '8480-6').valueQuantity.value = 138;
  const updated = await s.fhir.update({
    resourceType: 'Observation',
    id: s.obs.id,
    body: changed,
    options: { headers: { 'If-Match': 'W/"1"' } },
  });
  assert.equal(updated.id, s.obs.id);
  assert.equal(updated.meta.versionId, '2');
  assert.equal(systolicOf(updated), 138);
  const again = await s.fhir.read({ resourceType: 'Observation', id: s.obs.id });
  assert.equal(again.meta.versionId, '2');
  assert.equal(systolicOf(again), 138);
  // a stale If-Match is refused (412), and stores nothing
  assert.equal(
    await statusOf(s.fhir.update({ resourceType: 'Observation', id: s.obs.id, body: changed, options: { headers: { 'If-Match': 'W/"1"' } } })),
    412,
  );
  s.updated = updated;
});

test('search(): by patient and code (GET and POST _search) finds the new reading', async () => {
  assert.ok(s.updated, 'update failed');
  const searchParams = { patient: s.taroId, code: `${LOINC}|85354-9` };
  for (const options of [{}, { postSearch: true }]) {
    const bundle = await s.fhir.search({ resourceType: 'Observation', searchParams, options });
    const how = options.postSearch ? 'POST _search' : 'GET';
    assert.equal(bundle.resourceType, 'Bundle', how);
    assert.equal(bundle.type, 'searchset', how);
    const hit = (bundle.entry ?? []).find((e) => e.resource?.id === s.obs.id);
    assert.ok(hit, `${how}: the created Observation ${s.obs.id} among ${(bundle.entry ?? []).length} entries`);
    assert.equal(hit.resource.meta.versionId, '2', `${how}: the current version`);
    for (const e of bundle.entry) {
      if (e.search?.mode === 'outcome' || e.resource?.resourceType !== 'Observation') continue;
      assert.equal(e.resource.subject.reference, `Patient/${s.taroId}`, `${how}: only 太郎's`);
      assert.equal(e.resource.code.coding[0].code, '85354-9', `${how}: only blood pressure`);
    }
  }
  // a code that is not there finds nothing of his
  const none = await s.fhir.search({ resourceType: 'Observation', searchParams: { patient: s.taroId, code: `${LOINC}|2339-0` } });
  assert.equal((none.entry ?? []).filter((e) => e.resource?.resourceType === 'Observation').length, 0);
});

test('transaction(): a Bundle of two Observations with urn:uuid fullUrls, all stored', async () => {
  assert.ok(s.taroId, 'set-up failed');
  const entry = [
    bloodPressure(s.taroId, 131, 82, '2026-11-22T07:30:00+09:00'),
    bloodPressure(s.taroId, 129, 80, '2026-11-23T07:30:00+09:00'),
  ].map((resource) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource, request: { method: 'POST', url: 'Observation' } }));
  const body = { resourceType: 'Bundle', type: 'transaction', entry };
  // fhir-kit-client posts a transaction to the base URL with a trailing slash (POST /fhir/), as
  // clients commonly do; a server must take it there.
  let answer;
  let notServed;
  try {
    answer = await s.fhir.transaction({ body });
  } catch (e) {
    const st = e?.response?.status;
    if (st !== 404 && st !== 405) throw e;
    notServed = `POST ${FHIR_BASE}/ (fhir-kit-client's transaction()) answered ${st}: batch/transaction Bundles are not served at the FHIR base`;
    // the same Bundle to the base without the slash, so that the failure says whether it is
    // only the route or the whole interaction that is missing
    try {
      answer = await s.fhir.request(FHIR_BASE, { method: 'POST', body, options: { headers: { 'content-type': 'application/fhir+json' } } });
    } catch (e2) {
      const st2 = e2?.response?.status;
      if (st2 === undefined) throw e2;
      assert.fail(`${notServed}; POST ${FHIR_BASE} answered ${st2} too: ${JSON.stringify(e2.response.data).slice(0, 300)}`);
    }
  }
  assert.equal(answer.resourceType, 'Bundle');
  assert.equal(answer.type, 'transaction-response');
  assert.equal(answer.entry?.length, 2, 'two answers');
  const ids = [];
  for (const [i, e] of answer.entry.entries()) {
    assert.match(e.response?.status ?? '', /^201/, `entry ${i}: ${JSON.stringify(e.response)}`);
    const m = (e.response.location ?? '').match(/Observation\/([^/]+)\/_history\/1$/);
    assert.ok(m, `entry ${i}: location ${e.response.location}`);
    ids.push(m[1]);
  }
  assert.notEqual(ids[0], ids[1]);
  for (const [i, id] of ids.entries()) {
    const read = await s.fhir.read({ resourceType: 'Observation', id });
    assert.equal(read.subject.reference, `Patient/${s.taroId}`);
    assert.equal(systolicOf(read), [131, 129][i]);
  }
  if (notServed) assert.fail(`${notServed} (POST ${FHIR_BASE} without the slash works; the route for "/fhir/" is missing)`);
});

test('refused: reading without a token (401), writing for another citizen (403)', async () => {
  assert.ok(s.obs, 'create failed');
  assert.equal(await statusOf(s.anonymous.read({ resourceType: 'Observation', id: s.obs.id })), 401, 'read without a token');
  assert.equal(
    await statusOf(s.anonymous.search({ resourceType: 'Observation', searchParams: { patient: s.taroId } })),
    401,
    'search without a token',
  );
  const before = await s.fhir.search({ resourceType: 'Observation', searchParams: { patient: s.hanakoId, _summary: 'count' } });
  assert.equal(
    await statusOf(s.fhir.create({ resourceType: 'Observation', body: bloodPressure(s.hanakoId, 120, 75, '2026-11-24T08:00:00+09:00') })),
    403,
    '太郎 creating an Observation for 花子',
  );
  // and nothing was stored: what he may count of hers is unchanged
  const after = await s.fhir.search({ resourceType: 'Observation', searchParams: { patient: s.hanakoId, _summary: 'count' } });
  assert.equal(after.total, before.total);
});
