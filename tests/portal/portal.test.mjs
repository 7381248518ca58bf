// portal.test.mjs - the citizen portal in a real browser (Debian's chromium driven by
// playwright-core) against a running cityos with the demo town: 会津 太郎 signs in with the
// regional ID, reads his record and his blood-pressure chart, withdraws his consents, grants
// one again with the explanation shown, and withdraws it; between the steps his family doctor
// (signed in through the same provider in another browser context) reads his readings through
// the API and is permitted or refused accordingly; the data tracker shows each of those
// accesses. Screenshots of every step go to $CITYOS_ARTIFACTS.
//
// It starts nothing: tests/portal/run.sh prepares the server and sets the variables below.
// Exit status 77 (a skip, printed loudly) only when chromium cannot start.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createKit, env as envOf } from './lib.mjs';

const env = (name) => envOf(name, 'portal.test.mjs');
const BASE = env('CITYOS_URL');
const ART = env('CITYOS_ARTIFACTS');
const PATIENT = env('CITYOS_PATIENT');
const EMAIL = env('CITYOS_EMAIL');
const PASSWORD = env('CITYOS_PASSWORD');
const DR_EMAIL = env('CITYOS_DOCTOR_EMAIL');
const DR_PASSWORD = env('CITYOS_DOCTOR_PASSWORD');
const DR_CLIENT = env('CITYOS_DOCTOR_CLIENT');
const kit = createKit({ base: BASE, art: ART, chromiumPath: env('CITYOS_CHROMIUM') });

let browser;
let context;
let page;
const problems = []; // console errors (CSP violations show there), page errors, failed requests
const figures = {};
let shot = 0;

async function screenshot(name) {
  shot += 1;
  const file = `${ART}/${String(shot).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
}

// Shows a view freshly rendered: the current <main> is marked stale first and only a new one
// counts, so no step reads what an earlier render left (a hash change renders again; the same
// address is reloaded).
async function view(name) {
  const url = `${BASE}/#/${name}`;
  await page.evaluate(() => document.querySelector('main')?.setAttribute('data-stale', ''));
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await page.locator(`main:not([data-stale])[data-view="${name}"][aria-busy="false"]`).waitFor();
}

// Runs act (a click that makes the view render again) and waits for the new render of name.
async function rerendered(name, act) {
  await page.evaluate(() => document.querySelector('main')?.setAttribute('data-stale', ''));
  await act();
  await page.locator(`main:not([data-stale])[data-view="${name}"][aria-busy="false"]`).waitFor();
  return page.locator('main');
}

// The tracker shows 50 entries a page, newest first: follows "Show more" (each page appended
// when its answer is in) until rows holds at least min entries or there is no further page.
async function untilListed(main, rows, min) {
  for (;;) {
    if ((await rows.count()) >= min) return;
    const more = main.locator('.more button');
    if ((await more.count()) === 0) return;
    const before = await main.locator('ol.accesses li').count();
    await more.click();
    await main.locator(`ol.accesses li:nth-child(${before + 1}), .more:not(:has(button))`).first().waitFor();
  }
}

before(async () => {
  browser = await kit.launch(); // exits 77 (a loud skip) when chromium cannot start
  // a phone: the portal is made for it
  context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-GB', deviceScaleFactor: 1 });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
});

after(async () => {
  writeFileSync(`${ART}/figures.json`, `${JSON.stringify(figures, null, 2)}\n`);
  await browser?.close();
});

// A test that leaves a screenshot of the page as it was when it failed.
function step(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      await screenshot('FAILED').catch(() => {});
      throw e;
    }
  });
}

// ---- the family doctor, in his own browser, through the same provider ------------------------

const b64url = (buf) => buf.toString('base64url');
let doctorToken = null;

async function doctorSignsIn() {
  const ctx = await browser.newContext({ locale: 'en-GB' });
  const p = await ctx.newPage();
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const url = new URL(`${BASE}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: DR_CLIENT,
    redirect_uri: `${BASE}/doctor-callback`,
    scope: 'openid fhirUser user/*.rs',
    state,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();
  await p.goto(url.href);
  await p.fill('input[name=email]', DR_EMAIL);
  await p.fill('input[name=password]', DR_PASSWORD);
  await p.click('button[type=submit]');
  await p.locator('button[name=decision][value=approve]').waitFor();
  const role = p.locator('input[name=act_as]:not([value=self])');
  if ((await role.count()) > 0) await role.first().check();
  await Promise.all([p.waitForURL(/doctor-callback/), p.click('button[name=decision][value=approve]')]);
  const back = new URL(p.url());
  assert.equal(back.searchParams.get('state'), state);
  const res = await fetch(`${BASE}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: DR_CLIENT,
      code: back.searchParams.get('code'),
      redirect_uri: `${BASE}/doctor-callback`,
      code_verifier: verifier,
    }),
  });
  const tok = await res.json();
  assert.equal(res.status, 200, JSON.stringify(tok));
  const me = await (await fetch(`${BASE}/api/v1/me/token`, { headers: { Authorization: `Bearer ${tok.access_token}` } })).json();
  assert.equal(me.kind, 'practitioner', 'the doctor acts for his clinic');
  await ctx.close();
  doctorToken = tok.access_token;
}

// What the doctor gets when he reads 太郎's readings: the search's count and one reading's status.
async function doctorReads(readingId) {
  const h = { Authorization: `Bearer ${doctorToken}`, Accept: 'application/fhir+json' };
  const search = await fetch(`${BASE}/fhir/Observation?patient=Patient/${PATIENT}&code=http://loinc.org|85354-9`, { headers: h });
  const body = await search.json();
  const found = search.status === 200 ? (body.entry ?? []).filter((e) => e.resource?.resourceType === 'Observation').length : 0;
  const read = await fetch(`${BASE}/fhir/Observation/${readingId}`, { headers: h });
  await read.arrayBuffer();
  return { searchStatus: search.status, found, readStatus: read.status };
}

// ---- the citizen -------------------------------------------------------------------------------

let readingId = null;

step('the portal loads under its strict CSP and offers sign-in in English and Japanese', async () => {
  const t0 = Date.now();
  await page.goto(`${BASE}/`);
  const signIn = page.getByRole('button', { name: 'Sign in with the regional ID' });
  await signIn.waitFor();
  figures.signin_first_render_ms = Date.now() - t0;
  const csp = (await page.request.get(`${BASE}/`)).headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  await screenshot('signin-en');
  await page.getByRole('button', { name: /Switch to Japanese/ }).click();
  await page.getByRole('button', { name: '地域IDでサインイン' }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  await screenshot('signin-ja');
  await page.getByRole('button', { name: /Switch to English/ }).click();
  await signIn.waitFor();
  // keyboard: the first Tab reaches the skip link
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip');
});

step('a sign-in answer this tab did not ask for is refused', async () => {
  await page.goto(`${BASE}/?code=forged-code&state=forged-state&iss=${encodeURIComponent(BASE)}`);
  await page.getByRole('alert').filter({ hasText: 'does not belong to this tab' }).waitFor();
  assert.ok(!page.url().includes('code='), 'the forged code is removed from the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('cityos.portal.session')), null);
  await screenshot('forged-answer-refused');
});

step('会津 太郎 signs in with the regional ID (authorization code + PKCE)', async () => {
  await page.getByRole('button', { name: 'Sign in with the regional ID' }).click();
  await page.waitForURL(/\/signin/);
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.locator('button[name=decision][value=approve]').waitFor();
  await screenshot('approval');
  const t0 = Date.now();
  await page.click('button[name=decision][value=approve]');
  await page.locator('main[data-view="record"][aria-busy="false"]').waitFor();
  figures.record_after_approval_ms = Date.now() - t0;
  assert.ok(!page.url().includes('code='), 'the code is removed from the address bar');
  await page.getByTestId('who').filter({ hasText: '会津 太郎' }).waitFor();
  // the token is in this tab's sessionStorage, nothing in localStorage but the language
  const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('cityos.portal.session'), local: Object.keys(localStorage) }));
  assert.ok(JSON.parse(stored.session).access_token);
  assert.deepEqual(stored.local.filter((k) => k !== 'cityos.portal.lang'), []);
});

step('my record is a timeline across life stages', async () => {
  await view('record');
  const main = page.locator('main');
  await main.getByRole('heading', { name: /Later life/ }).waitFor();
  await main.getByRole('heading', { name: /Childhood/ }).waitFor();
  assert.ok((await main.locator('ol.timeline li[data-type="Observation"]').count()) >= 14);
  await main.getByText('高血圧症 / hypertension').waitFor();
  await screenshot('record');
});

step('the blood-pressure chart shows the readings over the JSH2019 bands', async () => {
  await view('bp');
  const chart = page.locator('svg.bpchart');
  await chart.waitFor();
  assert.equal(await chart.locator('rect.band').count(), 6);
  assert.equal(await chart.locator('circle.pt.sys').count(), 14);
  await page.getByText('Grade I hypertension').first().waitFor();
  await screenshot('bp-chart');
  const session = JSON.parse(await page.evaluate(() => sessionStorage.getItem('cityos.portal.session')));
  const res = await fetch(`${BASE}/fhir/Observation?patient=Patient/${PATIENT}&code=http://loinc.org|85354-9&_count=1`, {
    headers: { Authorization: `Bearer ${session.access_token}` },
  });
  readingId = (await res.json()).entry[0].resource.id;
});

async function consentsView() {
  await view('consents');
  return page.locator('main');
}

async function withdrawEveryActiveConsent() {
  for (let i = 0; i < 10; i++) {
    const main = await consentsView();
    const active = main.locator('li.consent.active');
    if ((await active.count()) === 0) return;
    await active.first().getByRole('button', { name: 'Withdraw' }).click();
    await page.locator('main[data-view="consents"][aria-busy="false"] .flash').filter({ hasText: 'Consent withdrawn.' }).waitFor();
  }
  assert.fail('consents remain active after 10 withdrawals');
}

step('consent grant -> the doctor sees the readings -> withdrawal -> the doctor is refused', async () => {
  await doctorSignsIn();
  let main = await consentsView();
  await main.locator('article.purpose[data-purpose="homedoctor"] .verified').waitFor(); // hash checked in the browser
  await screenshot('consents-demo');

  // the demo town starts with his opt-ins: withdraw them all in the portal
  await withdrawEveryActiveConsent();
  await screenshot('consents-all-withdrawn');
  let seen = await doctorReads(readingId);
  assert.equal(seen.found, 0, `no consent: the doctor finds nothing (${JSON.stringify(seen)})`);
  assert.equal(seen.readStatus, 403, 'no consent: reading one reading is refused');

  // grant the home-doctor purpose again, with its explanation shown
  main = await consentsView();
  const card = main.locator('article.purpose[data-purpose="homedoctor"]');
  await card.locator('.explanation').waitFor();
  await card.getByRole('button', { name: 'I have read this explanation and agree' }).click();
  await page.locator('main[data-view="consents"][aria-busy="false"] .flash').filter({ hasText: 'Consent given.' }).waitFor();
  await page.locator('li.consent.active[data-purpose="homedoctor"]').waitFor();
  await screenshot('consent-granted');
  seen = await doctorReads(readingId);
  assert.equal(seen.searchStatus, 200);
  assert.equal(seen.found, 14, `with the consent the doctor reads the 14 readings (${JSON.stringify(seen)})`);
  assert.equal(seen.readStatus, 200);

  // receipts: one for the grant, downloadable
  const li = page.locator('li.consent.active[data-purpose="homedoctor"]');
  await li.getByRole('button', { name: 'Consent receipts' }).click();
  const link = li.locator('a.receipt').first();
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /^consent-receipt-.*\.jws$/);
  const jws = await (await download.createReadStream()).toArray();
  assert.equal(Buffer.concat(jws).toString().split('.').length, 3, 'a compact JWS');

  // withdraw it in the portal: refused at once
  await li.getByRole('button', { name: 'Withdraw' }).click();
  await page.locator('main[data-view="consents"][aria-busy="false"] .flash').filter({ hasText: 'Consent withdrawn.' }).waitFor();
  await screenshot('consent-withdrawn');
  seen = await doctorReads(readingId);
  assert.equal(seen.found, 0, `after the withdrawal the doctor finds nothing (${JSON.stringify(seen)})`);
  assert.equal(seen.readStatus, 403);
});

step('the data tracker shows each of those accesses, with counts per organisation', async () => {
  // every access of the doctor was recorded before he got its answer ("no record, no read"),
  // so a fresh render of the tracker has them all; nothing here waits on time
  await view('tracker');
  let main = page.locator('main');
  const clinic = main.locator('table.counts tbody tr').filter({ hasText: '湊ファミリークリニック' });
  await clinic.waitFor();
  const cells = await clinic.locator('td').allTextContents();
  assert.ok(Number(cells[0]) >= 1 && Number(cells[1]) >= 2, `clinic counts ${cells}`);
  const consents = main.locator('ol.accesses li[data-resource="Consent"]');
  await untilListed(main, consents, 3);
  assert.ok((await consents.count()) >= 3, 'the grant and the withdrawals by 太郎');
  await screenshot('tracker');

  // the clinic's accesses: the doctor's permitted read and his refused ones
  main = await rerendered('tracker', async () => {
    await main.getByLabel('Organisation').selectOption({ label: '湊ファミリークリニック' });
    await main.locator('form.filters').getByRole('button', { name: 'Show' }).click();
  });
  const permitted = main.locator('ol.accesses li[data-decision="permit"]').filter({ hasText: '山口 健一' });
  const refused = main.locator('ol.accesses li[data-decision="deny"]').filter({ hasText: '山口 健一' });
  await untilListed(main, permitted, 1);
  await untilListed(main, refused, 2);
  assert.ok((await permitted.count()) >= 1, 'a permitted read by the doctor');
  assert.ok((await refused.count()) >= 2, 'the refused reads before the grant and after the withdrawal');

  // filter: only refusals of the clinic
  main = await rerendered('tracker', async () => {
    await main.getByLabel('Outcome').selectOption('deny');
    await main.locator('form.filters').getByRole('button', { name: 'Show' }).click();
  });
  const rows = main.locator('ol.accesses li');
  await rows.first().waitFor();
  assert.ok((await rows.count()) >= 2);
  assert.equal(await main.locator('ol.accesses li[data-decision="permit"]').count(), 0);
  await screenshot('tracker-filtered');
});

step('alerts, family and the visit journey; every control has a label; no CSP violation', async () => {
  await view('inbox');
  await page.locator('main').getByRole('heading', { name: 'Alerts and advice from the home doctor' }).waitFor();
  await screenshot('inbox');
  await view('family');
  await page.locator('main section.family-links').waitFor();
  await screenshot('family');
  await view('visit');
  await page.locator('main section.journey[data-part="appointments"]').waitFor();
  await screenshot('visit');
  for (const name of ['record', 'bp', 'consents', 'tracker', 'inbox']) {
    await view(name);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, [], `unlabelled controls on ${name}`);
  }
  // Japanese on a wide screen
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole('button', { name: /日本語に切り替え/ }).click();
  await page.getByRole('link', { name: '利用履歴' }).waitFor();
  await view('consents');
  await screenshot('consents-ja-wide');
  // page weight of a cold load of the portal, from the browser's resource timing
  const cold = await browser.newContext();
  const p = await cold.newPage();
  const t0 = Date.now();
  await p.goto(`${BASE}/`);
  await p.getByRole('button', { name: /地域ID|regional ID/ }).waitFor();
  figures.cold_first_render_ms = Date.now() - t0;
  figures.cold_page_bytes = await p.evaluate(() =>
    performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).reduce((n, e) => n + (e.encodedBodySize || 0), 0),
  );
  await cold.close();
  console.log(`figures: ${JSON.stringify(figures)}`);
  assert.deepEqual(problems.filter((x) => !x.includes('doctor-callback')), [], 'no console errors, page errors or failed requests');
});
