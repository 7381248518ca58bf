// lib.mjs - what the portal's browser tests share (portal.test.mjs, roles.test.mjs,
// journey.test.mjs): the variables run.sh sets, launching Debian's chromium (exit 77, a loud
// skip, when it cannot start), numbered screenshots, signing a person in through the real
// provider in their own browser context, showing a view freshly rendered, and API calls with a
// person's token.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

// The value of a variable run.sh sets; exits 2 naming it when it is not set.
export function env(name, file) {
  const v = process.env[name];
  if (!v) {
    console.error(`${file}: ${name} is not set (run tests/portal/run.sh)`);
    process.exit(2);
  }
  return v;
}

// The demo town's sign-ins file (`email=... password=...` lines) as a Map.
export function passwordsFrom(path) {
  const passwords = new Map();
  for (const m of readFileSync(path, 'utf8').matchAll(/email=(\S+)\s+password=(\S+)/g)) passwords.set(m[1], m[2]);
  return passwords;
}

export const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
// The evidence of an agreement as the portal sends it: shown a minute ago, agreed a second ago.
export const evidence = (hash) => ({ explanation_hash: hash, shown_at: rfc3339(Date.now() - 60000), agreed_at: rfc3339(Date.now() - 1000), channel: 'portal' });

// One test file's browser and helpers. kit.launch() in before(), kit.close() in after().
export function createKit({ base, art, chromiumPath }) {
  mkdirSync(art, { recursive: true });
  let shot = 0;
  const kit = {
    browser: null,
    people: {}, // email -> {ctx, page, problems, token, me}

    async launch() {
      try {
        kit.browser = await chromium.launch({
          executablePath: chromiumPath,
          headless: true,
          args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
          timeout: 60000,
        });
      } catch (e) {
        console.error('');
        console.error('*************************************************************************');
        console.error(`* SKIPPED: chromium (${chromiumPath}) could not start:`);
        console.error(`* ${String(e.message).split('\n').slice(0, 6).join('\n* ')}`);
        console.error('*************************************************************************');
        process.exit(77);
      }
      return kit.browser;
    },

    async close() {
      await kit.browser?.close();
    },

    // A full-page screenshot numbered in the order taken; the capture's metrics undone after it.
    async screenshot(page, name) {
      shot += 1;
      await page.screenshot({ path: `${art}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
      await page.setViewportSize(page.viewportSize());
    },

    // Screenshots of every person's page, for a failed step.
    async screenshotAll(prefix = 'FAILED') {
      for (const [email, p] of Object.entries(kit.people)) await kit.screenshot(p.page, `${prefix}-${email.split('@')[0]}`).catch(() => {});
    },

    // email signs in with password through the portal's own button (staff: the staff button and
    // the first practitioner role offered) in a new context; console errors, page errors and
    // failed requests are collected in problems unless expected(message, url) says otherwise.
    async signIn(email, password, { staff, viewport = { width: 390, height: 844 }, expected = () => false }) {
      const ctx = await kit.browser.newContext({ viewport, locale: 'en-GB', deviceScaleFactor: 1 });
      const page = await ctx.newPage();
      const problems = [];
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const url = (m.location()?.url ?? '').split('?')[0];
        if (expected(m.text(), url)) return;
        problems.push(`console: ${m.text()} (${url})`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      await page.goto(`${base}/`);
      const button = staff
        ? page.getByRole('button', { name: 'Staff sign-in (clinic, pharmacy, city office)' })
        : page.getByRole('button', { name: 'Sign in with the regional ID' });
      await button.click();
      await page.waitForURL(/\/signin/);
      await page.fill('input[name=email]', email);
      await page.fill('input[name=password]', password);
      await page.click('button[type=submit]');
      await page.locator('button[name=decision][value=approve]').waitFor();
      if (staff) {
        const role = page.locator('input[name=act_as]:not([value=self])');
        assert.ok((await role.count()) >= 1, `${email} is offered a practitioner role`);
        await role.first().check();
      }
      await page.click('button[name=decision][value=approve]');
      await page.locator('main[aria-busy="false"]').waitFor();
      const session = JSON.parse(await page.evaluate(() => sessionStorage.getItem('cityos.portal.session')));
      assert.ok(session?.access_token, `${email} is signed in`);
      const me = await (await fetch(`${base}/api/v1/me/token`, { headers: { Authorization: `Bearer ${session.access_token}` } })).json();
      const person = { ctx, page, problems, token: session.access_token, me };
      kit.people[email] = person;
      return person;
    },

    // The view at #/<hash> freshly rendered: the page's current <main> is marked stale first and
    // only a new one counts (a hash change renders again; the same address is reloaded), so no
    // step reads a view rendered before its own action. Returns the <main> locator.
    async view(p, hash) {
      const name = hash.split('?')[0];
      const url = `${base}/#/${hash}`;
      await p.page.evaluate(() => document.querySelector('main')?.setAttribute('data-stale', ''));
      if (p.page.url() === url) await p.page.reload();
      else await p.page.goto(url);
      await p.page.locator(`main:not([data-stale])[data-view="${name}"][aria-busy="false"]`).waitFor();
      return p.page.locator('main');
    },

    // An API call with p's token: {status, body (parsed JSON or null)}.
    async call(p, method, path, body, headers = {}) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${p.token}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },

    // The current version of a purpose from the public list.
    async currentPurpose(code) {
      const all = (await (await fetch(`${base}/api/v1/purposes`)).json()).purposes;
      return all.find((p) => p.code === code);
    },
  };
  return kit;
}
