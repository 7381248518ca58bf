// roles.test.mjs - the portal's staff views in a real browser (Debian's chromium driven by
// playwright-core) against the running cityos of tests/portal/run.sh, after portal.test.mjs:
// the city administrator (斎藤 裕子) publishes a purpose in the city view and sees the system's
// figures; 会津 太郎 grants his home-doctor consent in the citizen portal -> his family doctor
// (山口 健一, the portal's doctor view) sees the readings -> 太郎 withdraws -> the doctor's view
// shows the refusal; 太郎's data tracker shows each of those accesses; an online consultation
// goes through the doctor's queue (start, finish with notes and a fee); the doctor prescribes
// and the pharmacist (星 由美子) takes the prescription through guidance, dispensing and
// delivery. Every person signs in through the real provider in their own browser context;
// screenshots of every step go to $CITYOS_ARTIFACTS; any console error, page error or failed
// request fails the run (the refusals the test provokes are the only 403s allowed).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createKit, env as envOf, evidence, passwordsFrom } from './lib.mjs';

const env = (name) => envOf(name, 'roles.test.mjs');
const BASE = env('CITYOS_URL');
const ART = env('CITYOS_ARTIFACTS');
const PATIENT = env('CITYOS_PATIENT');
const kit = createKit({ base: BASE, art: ART, chromiumPath: env('CITYOS_CHROMIUM') });

const passwords = passwordsFrom(env('CITYOS_SIGNINS'));
const TARO = 'taro.aizu@example.jp';
const DOCTOR = 'dr.yamaguchi@minato-clinic.example.jp';
const PHARMACIST = 'hoshi@minato-pharmacy.example.jp';
const ADMIN = 'saito@city-office.example.jp';
for (const e of [TARO, DOCTOR, PHARMACIST, ADMIN]) assert.ok(passwords.has(e), `the demo town signs in ${e}`);

const people = kit.people; // email -> {ctx, page, problems, token, me}
const figures = {};
const screenshot = (page, name) => kit.screenshot(page, name);

before(() => kit.launch());

after(async () => {
  writeFileSync(`${ART}/figures.json`, `${JSON.stringify(figures, null, 2)}\n`);
  await kit.close();
});

function step(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      await kit.screenshotAll();
      throw e;
    }
  });
}

// chromium logs every 4xx answer as a console error ("Failed to load resource"). Those the test
// provokes (and only those) are expected: the doctor's refused reads and start. (The city view
// names a purpose's recipients through /api/v1/recipient-names first, so it no longer looks a
// client's id up as an organisation: a 404 there fails the run.)
const EXPECTED = [
  [403, /\/fhir\/Observation\/[^/?]+$/],
  [403, /\/api\/v1\/org\/appointments\/[^/]+\/start$/],
  [422, /\/api\/v1\/admin\/purposes$/], // the bad code the city view test sends on purpose
  [403, /\/api\/v1\/me\/family$/], // a family member acting for someone manages no links
];
const expected = (text, url) => EXPECTED.some(([code, re]) => text.includes(`status of ${code}`) && re.test(url));

const signIn = (email, opts) => kit.signIn(email, passwords.get(email), { ...opts, expected });

// Shows a view freshly rendered (lib.mjs): no step reads a view rendered before its own action.
const view = (p, name, query = '') => kit.view(p, `${name}${query ? `?${query}` : ''}`);
const call = (p, method, path, body) => kit.call(p, method, path, body);
const currentPurpose = (code) => kit.currentPurpose(code);

let doctor, pharmacist, admin, taro, clinic, pharmacy;

step('staff sign in through the portal in their roles and see only their own views', async () => {
  const t0 = Date.now();
  doctor = await signIn(DOCTOR, { staff: true });
  figures.staff_signin_ms = Date.now() - t0;
  assert.equal(doctor.me.kind, 'practitioner');
  assert.equal(doctor.me.role, 'doctor');
  clinic = doctor.me.org_id;
  await doctor.page.locator('main[data-view="doctor"]').waitFor();
  assert.deepEqual(await doctor.page.locator('nav a').allTextContents(), ['Consultations']);
  // the doctor's token has no patient context: the citizen's own views are not his
  assert.ok(!doctor.me.scope.split(' ').some((s) => s.startsWith('patient/')), doctor.me.scope);

  pharmacist = await signIn(PHARMACIST, { staff: true });
  assert.equal(pharmacist.me.role, 'pharmacist');
  pharmacy = pharmacist.me.org_id;
  assert.deepEqual(await pharmacist.page.locator('nav a').allTextContents(), ['Prescriptions']);

  admin = await signIn(ADMIN, { staff: true, viewport: { width: 1280, height: 900 } });
  assert.equal(admin.me.role, 'city_administrator');
  assert.ok(admin.me.scope.split(' ').includes('cityos.admin'));
  assert.deepEqual(await admin.page.locator('nav a').allTextContents(), ['City administration']);

  taro = await signIn(TARO, { staff: false });
  assert.equal(taro.me.kind, 'person');
  const nav = await taro.page.locator('nav a').allTextContents();
  assert.ok(nav.includes('Consents') && !nav.includes('Consultations') && !nav.includes('City administration'), nav.join());
  // a citizen's token cannot open a staff view by its address: the menu's first view instead
  await taro.page.goto(`${BASE}/#/city`);
  await taro.page.locator('main[data-view="record"][aria-busy="false"]').waitFor();
});

step('the city view: the ledger and the audit trail checked, system figures, purposes and versions, publishing a version', async () => {
  let main = await view(admin, 'city');
  await main.locator('[data-ledger="ok"]').waitFor();
  // the audit trail's integrity: never checked, then checked in the background and found intact
  await main.locator('[data-trail="never"]').waitFor();
  await main.getByRole('button', { name: 'Check now' }).click();
  await main.locator('[data-trail="ok"]').waitFor({ timeout: 60000 });
  const requests = Number(await main.locator('tr[data-metric="requests"] td').textContent());
  assert.ok(requests > 10, `requests counted: ${requests}`);
  assert.match(await main.locator('tr[data-metric="version"] td').textContent(), /\d+\.\d+/);
  const home = main.locator('article.purpose-admin[data-purpose="homedoctor"]');
  await home.waitFor();
  assert.ok((await home.locator('td.verified').count()) >= 1, 'the explanation hash is recomputed and matches');
  assert.equal(await home.locator('td.error').count(), 0);
  // the recipients of the purposes, named: the clinic is one of them
  await main.locator(`table.services tr[data-id="${clinic}"]`).filter({ hasText: 'Minato Family Clinic' }).waitFor();
  await screenshot(admin.page, 'city');

  // publish the e-prescription purpose (medications to the clinic and the pharmacy) in the form
  const before = await currentPurpose('pharmacy');
  const form = main.locator('form.publish');
  await form.getByLabel('Purpose code').fill('pharmacy');
  await form.getByLabel('Name (Japanese)').fill('電子処方箋');
  await form.getByLabel('Name (English)').fill('E-prescriptions');
  await form.getByLabel('Explanation (Japanese)').fill('かかりつけ医が出した処方箋を、あなたが選んだ薬局に送ります。薬局は処方箋と服薬の記録だけを見ます。');
  await form.getByLabel('Explanation (English)').fill('Your doctor sends your prescriptions to the pharmacy you chose. The pharmacy sees the prescriptions and medication records only.');
  await form.getByLabel('medications').check();
  await form.getByLabel('Recipients (organisation or service ids)').fill(`${clinic}\n${pharmacy}`);
  await form.getByRole('button', { name: 'Publish' }).click();
  const version = (before?.version ?? 0) + 1;
  await admin.page.locator('main[data-view="city"][aria-busy="false"] .flash').filter({ hasText: `"pharmacy" version ${version} published.` }).waitFor();
  main = admin.page.locator('main');
  await main.locator(`article.purpose-admin[data-purpose="pharmacy"] tr[data-version="${version}"].current`).waitFor();
  await screenshot(admin.page, 'city-published');
  const now = await currentPurpose('pharmacy');
  assert.deepEqual(now.categories, ['medications']);
  assert.deepEqual([...now.recipients].sort(), [clinic, pharmacy].sort());
  assert.equal(now.published_by !== 'operator', true, `published by the administrator: ${now.published_by}`);

  // a bad version is refused with the server's reason, nothing published
  await form.getByLabel('Purpose code').fill('Bad Code');
  await form.evaluate((f) => f.setAttribute('novalidate', ''));
  await form.getByRole('button', { name: 'Publish' }).click();
  await admin.page.locator('main[data-view="city"][aria-busy="false"] .error').filter({ hasText: 'Not published' }).waitFor();
  assert.equal((await currentPurpose('pharmacy')).version, version);
});

async function withdrawAll(code) {
  for (let i = 0; i < 10; i++) {
    const main = await view(taro, 'consents');
    const active = main.locator(code ? `li.consent.active[data-purpose="${code}"]` : 'li.consent.active');
    if ((await active.count()) === 0) return;
    await active.first().getByRole('button', { name: 'Withdraw' }).click();
    await taro.page.locator('main[data-view="consents"][aria-busy="false"] .flash').filter({ hasText: 'Consent withdrawn.' }).waitFor();
  }
  assert.fail(`${code ?? 'some'} consents remain active after 10 withdrawals`);
}

async function doctorOpensTaro() {
  const main = await view(doctor, 'doctor', `patient=${PATIENT}`);
  await main.locator(`section.patient[data-patient="${PATIENT}"]`).waitFor();
  await main.locator('section.patient table.readings, section.patient [data-none="readings"], section.patient [data-refused]').first().waitFor();
  return main.locator('section.patient');
}

step('consent grant -> the doctor sees the readings -> withdrawal -> the doctor is refused (doctor view)', async () => {
  await withdrawAll(); // the demo town starts with his opt-ins (portal.test.mjs withdrew them too)
  // the doctor opens 太郎 by his regional ID: nothing to show, and he is not among the patients
  // who consented
  let main = await view(doctor, 'doctor');
  await main.locator('section.patients ul.consenting, section.patients [data-none="patients"]').first().waitFor();
  assert.equal(await main.locator(`section.patients li[data-patient="${PATIENT}"]`).count(), 0, 'no consent, not listed');
  await main.getByLabel("Patient's regional ID").fill(PATIENT);
  await main.locator('form.open-patient').getByRole('button', { name: 'Open the patient' }).click();
  let panel = doctor.page.locator(`main[aria-busy="false"] section.patient[data-patient="${PATIENT}"]`);
  await panel.waitFor();
  await panel.locator('[data-none="readings"]').waitFor();
  await screenshot(doctor.page, 'doctor-no-consent');

  // 太郎 grants the home-doctor purpose in his portal, the explanation shown
  main = await view(taro, 'consents');
  const card = main.locator('article.purpose[data-purpose="homedoctor"]');
  await card.locator('.verified').waitFor();
  await card.getByRole('button', { name: 'I have read this explanation and agree' }).click();
  await taro.page.locator('main[data-view="consents"][aria-busy="false"] .flash').filter({ hasText: 'Consent given.' }).waitFor();

  // the doctor's list of patients who consented names him with the home-doctor consent; he is
  // opened from there (the readings, the alerts)
  main = await view(doctor, 'doctor');
  const listed = main.locator(`section.patients li[data-patient="${PATIENT}"]`);
  await listed.waitFor();
  await listed.locator('li[data-purpose="homedoctor"]').filter({ hasText: 'vitals' }).waitFor();
  assert.match(await listed.locator('h4').textContent(), /Name not shared/);
  await screenshot(doctor.page, 'doctor-patients');
  await listed.locator(`button[data-open="${PATIENT}"]`).click();
  panel = doctor.page.locator(`main[aria-busy="false"] section.patient[data-patient="${PATIENT}"]`);
  const table = panel.locator('table.readings');
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 14, 'the doctor reads the 14 readings');
  await panel.locator('ul.alerts, p.none, [data-refused]').nth(0).waitFor(); // his alerts (or none), under consent
  await screenshot(doctor.page, 'doctor-readings');
  // the listing is on his access log, with the doctor, before the list was shown
  const log = await call(taro, 'GET', '/api/v1/me/access-log?limit=50');
  assert.ok(log.body.items.some((e) => e.what?.action === 'list' && e.who?.id === doctor.me.sub && e.why?.reason === 'listed as a patient'), 'the listing is recorded');

  // 太郎 withdraws: the doctor's view shows a refusal, not an empty record
  await withdrawAll('homedoctor');
  panel = await doctorOpensTaro();
  await panel.locator('[data-refused="true"]').first().waitFor();
  assert.equal(await panel.locator('table.readings').count(), 0);
  await screenshot(doctor.page, 'doctor-refused');
  // and the very next list leaves him out
  main = await view(doctor, 'doctor');
  await main.locator('section.patients ul.consenting, section.patients [data-none="patients"]').first().waitFor();
  assert.equal(await main.locator(`section.patients li[data-patient="${PATIENT}"]`).count(), 0, 'withdrawn, not listed');
});

step("太郎's data tracker shows the doctor's permitted and refused reads through the portal", async () => {
  const main = await view(taro, 'tracker');
  const rows = main.locator('ol.accesses li').filter({ hasText: '山口 健一' });
  await rows.first().waitFor();
  assert.ok((await main.locator('ol.accesses li[data-decision="permit"]').filter({ hasText: '山口 健一' }).count()) >= 1, 'a permitted read');
  assert.ok((await main.locator('ol.accesses li[data-decision="deny"]').filter({ hasText: '山口 健一' }).count()) >= 1, 'the refused read');
  await screenshot(taro.page, 'tracker');
});

// Tomorrow in Tokyo, YYYY-MM-DD.
const tomorrow = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date(Date.now() + 86400000));

step('the online consultation queue: a booking shows, start is refused without consent, then start and finish', async () => {
  // the clinic opens tomorrow morning online; 太郎 books the first slot
  const slots = await call(doctor, 'POST', '/api/v1/org/slots', {
    practitioner: doctor.me.sub, date: tomorrow, from: '09:00', to: '10:00', minutes: 15, mode: 'online', specialty: 'family-medicine',
  });
  assert.ok([200, 201].includes(slots.status), JSON.stringify(slots.body));
  let booked = null;
  for (const s of slots.body.slots) {
    const r = await call(taro, 'POST', '/api/v1/me/appointments', { slot: s.id, mode: 'online' });
    if (r.status === 201) {
      booked = r.body;
      break;
    }
    assert.equal(r.status, 409, JSON.stringify(r.body)); // taken by an earlier run
  }
  assert.ok(booked, 'a free slot tomorrow');

  let main = await view(doctor, 'doctor', `date=${tomorrow}`);
  let li = main.locator(`li.appt[data-appointment="${booked.id}"]`);
  await li.waitFor();
  assert.equal(await li.getAttribute('data-status'), 'booked');
  await screenshot(doctor.page, 'doctor-queue');
  // without a consent covering clinical records to the clinic, starting is refused and shown
  await li.getByRole('button', { name: 'Start the consultation' }).click();
  await doctor.page.locator('main[data-view="doctor"][aria-busy="false"] p.error').filter({ hasText: 'Not done' }).waitFor();

  // the city publishes the online consultation purpose; 太郎 consents to his clinic (API)
  const pub = await call(admin, 'POST', '/api/v1/admin/purposes', {
    code: 'online-consult',
    title: { ja: 'オンライン診療', en: 'Online consultations' },
    explanation: { ja: 'オンライン診療の記録 (受診と診療メモ) をかかりつけ医が作成します。', en: 'Your doctor writes the records of your online consultations (the visit and its notes).' },
    categories: ['clinical'], recipients: [clinic], legal_basis: 'consent', retention_days: 1825,
  });
  assert.equal(pub.status, 201, JSON.stringify(pub.body));
  const g = await call(taro, 'POST', '/api/v1/me/consents', {
    purpose: { code: 'online-consult', version: pub.body.version }, recipient: { kind: 'organisation', id: clinic },
    categories: ['clinical'], actions: ['read', 'write'], evidence: evidence(pub.body.explanation_hash),
  });
  assert.equal(g.status, 201, JSON.stringify(g.body));

  main = await view(doctor, 'doctor', `date=${tomorrow}`);
  li = main.locator(`li.appt[data-appointment="${booked.id}"]`);
  await li.getByRole('button', { name: 'Start the consultation' }).click();
  await doctor.page.locator('main[data-view="doctor"][aria-busy="false"] .flash').filter({ hasText: 'Consultation started.' }).waitFor();
  li = doctor.page.locator(`li.appt[data-appointment="${booked.id}"][data-status="arrived"]`);
  await li.getByLabel('Consultation notes').fill('Home BP grade I for two weeks; continue amlodipine 5 mg, review in 4 weeks.');
  await li.getByLabel('Fee (yen)').fill('0');
  // (screenshots come after the clicks: a full-page screenshot at phone size leaves chromium's
  // view so that playwright's next click on a button far down the page does not reach it)
  await li.getByRole('button', { name: 'Finish the consultation' }).click();
  await doctor.page.locator('main[data-view="doctor"][aria-busy="false"] .flash').filter({ hasText: 'Consultation finished.' }).waitFor();
  await screenshot(doctor.page, 'doctor-consultation-finished');
  await doctor.page.locator(`li.appt[data-appointment="${booked.id}"][data-status="fulfilled"]`).waitFor();
  const mine = await call(taro, 'GET', `/api/v1/me/appointments/${booked.id}`);
  assert.equal(mine.body.status, 'fulfilled');
  assert.ok(mine.body.report, 'the notes are in his record');
});

step('the doctor prescribes; the pharmacist takes it through guidance, dispensing and delivery', async () => {
  // 太郎 lets the clinic write and the pharmacy read his medications, and chooses the pharmacy
  const purpose = await currentPurpose('pharmacy');
  const g = await call(taro, 'POST', '/api/v1/me/consents', {
    purpose: { code: 'pharmacy', version: purpose.version }, recipient: { kind: 'organisation', id: clinic },
    categories: ['medications'], actions: ['read', 'write'], evidence: evidence(purpose.explanation_hash),
  });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  const choice = await call(taro, 'PUT', '/api/v1/me/pharmacy', { pharmacy, evidence: evidence(purpose.explanation_hash) });
  assert.equal(choice.status, 200, JSON.stringify(choice.body));

  const panel = await doctorOpensTaro();
  const form = panel.locator('form.prescribe');
  await form.getByLabel('Medication code').fill('2171022F1ZZZ');
  await form.getByLabel('Medication name').fill('アムロジピン錠5mg');
  await form.getByLabel('Dosage').fill('1日1回 朝食後 1錠');
  await form.getByLabel('Quantity').fill('28');
  await form.getByLabel('Unit').fill('錠');
  await form.getByLabel('Days').fill('28');
  await form.getByRole('button', { name: 'Issue the prescription' }).click();
  await doctor.page.locator('main[data-view="doctor"][aria-busy="false"] .flash').filter({ hasText: 'Prescription sent to Minato Pharmacy.' }).waitFor();
  await screenshot(doctor.page, 'doctor-prescribed');

  // the pharmacy's queue
  let main = await view(pharmacist, 'pharmacy');
  const order = main.locator('li.order[data-status="requested"]').filter({ hasText: 'アムロジピン錠5mg' }).first();
  await order.waitFor();
  await screenshot(pharmacist.page, 'pharmacy-queue');
  await order.getByRole('link', { name: 'Open' }).click();
  const detail = pharmacist.page.locator('main[data-view="pharmacy"][aria-busy="false"] section.order-detail');
  await detail.waitFor();
  assert.match(await detail.locator('dl.facts').textContent(), /1日1回 朝食後 1錠/);
  // dispensing before the guidance is not offered; the guidance first
  assert.equal(await detail.locator('form.dispense').count(), 0);
  await detail.getByLabel('Guidance given').fill('血圧の薬です。毎朝同じ時間に飲んでください。ふらつきがあれば連絡を。');
  await detail.getByLabel('How').selectOption('online');
  await detail.getByRole('button', { name: 'Record the guidance' }).click();
  await pharmacist.page.locator('main[aria-busy="false"] .flash').filter({ hasText: 'Guidance recorded.' }).waitFor();
  await pharmacist.page.locator('section.order-detail[data-status="guidance-given"]').getByLabel('Fee (yen)').fill('520');
  await pharmacist.page.getByRole('button', { name: 'Record the dispense' }).click();
  await pharmacist.page.locator('main[aria-busy="false"] .flash').filter({ hasText: 'Dispense recorded.' }).waitFor();
  await pharmacist.page.locator('section.order-detail[data-status="dispensed"] dd.fee').filter({ hasText: '520 yen' }).waitFor();
  await pharmacist.page.getByRole('button', { name: 'Mark as sent' }).click();
  await pharmacist.page.locator('main[aria-busy="false"] .flash').filter({ hasText: 'Marked as sent.' }).waitFor();
  await pharmacist.page.getByRole('button', { name: 'Mark as handed over' }).click();
  await pharmacist.page.locator('section.order-detail[data-status="delivered"]').waitFor();
  await screenshot(pharmacist.page, 'pharmacy-delivered');
  main = await view(pharmacist, 'pharmacy');
  await main.locator('li.order[data-status="delivered"]').filter({ hasText: 'アムロジピン錠5mg' }).first().waitFor();
  const rx = await call(taro, 'GET', '/api/v1/me/prescriptions');
  assert.ok(rx.body.prescriptions.some((o) => o.status === 'delivered'), JSON.stringify(rx.body));
});

step('family: 太郎 invites his wife with a code, she accepts, he changes the rights, she acts for him, he removes her', async () => {
  const HANAKO = 'hanako.aizu@example.jp';
  assert.ok(passwords.has(HANAKO));
  // 太郎 makes an invitation code in his portal: no e-mail address anywhere
  let main = await view(taro, 'family');
  await main.locator('ul.delegates li').filter({ hasText: '佐藤 美咲' }).waitFor(); // the demo link
  const invite = main.locator('form.invite');
  await invite.getByLabel('see alerts').check();
  await invite.getByRole('button', { name: 'Make an invitation code' }).click();
  const flash = taro.page.locator('main[data-view="family"][aria-busy="false"] .flash').filter({ hasText: 'Invitation code:' });
  await flash.waitFor();
  const code = /Invitation code: ([0-9a-z-]{39})/.exec(await flash.textContent())?.[1];
  assert.ok(code, 'the code is shown once');
  await taro.page.locator('ul.invitations li').first().waitFor();
  await screenshot(taro.page, 'family-invited');

  // his wife accepts it signed in as herself
  const hanako = await signIn(HANAKO, { staff: false });
  main = await view(hanako, 'family');
  await main.getByLabel('Invitation code').fill(code.toUpperCase());
  await main.getByRole('button', { name: 'Accept the invitation' }).click();
  await hanako.page.locator('main[data-view="family"][aria-busy="false"] .flash').filter({ hasText: 'Invitation accepted.' }).waitFor();
  await hanako.page.locator('ul.acting li').filter({ hasText: '会津 太郎' }).waitFor();

  // 太郎 sees her, gives her everything
  main = await view(taro, 'family');
  let li = main.locator('ul.delegates li').filter({ hasText: '会津 花子' });
  await li.waitFor();
  assert.match(await li.locator('.rights').textContent(), /^see alerts$/);
  assert.equal(await main.locator('ul.invitations').count(), 0, 'the invitation is used');
  await li.getByLabel('everything').check();
  await li.getByRole('button', { name: 'Change the rights' }).click();
  await taro.page.locator('main[data-view="family"][aria-busy="false"] .flash').filter({ hasText: 'Rights changed.' }).waitFor();
  li = taro.page.locator('main ul.delegates li').filter({ hasText: '会津 花子' });
  assert.match(await li.locator('.rights').textContent(), /^everything$/);
  await screenshot(taro.page, 'family-changed');

  // she acts for him: a new approval in which she picks him; the portal shows his record
  main = await view(hanako, 'family');
  await main.getByRole('button', { name: 'Act for 会津 太郎' }).click();
  await hanako.page.locator('button[name=decision][value=approve]').waitFor();
  await hanako.page.locator('input[name=act_as][value^="for:"]').first().check();
  await hanako.page.click('button[name=decision][value=approve]');
  await hanako.page.locator('main[data-view="record"][aria-busy="false"]').waitFor();
  const s2 = JSON.parse(await hanako.page.evaluate(() => sessionStorage.getItem('cityos.portal.session')));
  assert.equal(s2.patient, PATIENT, 'the token acts for 太郎');
  hanako.token = s2.access_token;
  await hanako.page.getByTestId('acting-for').waitFor();
  const before = await call(hanako, 'GET', `/fhir/Observation?patient=Patient/${PATIENT}&_count=5`);
  assert.ok((before.body?.entry ?? []).some((e) => e.resource?.resourceType === 'Observation'), 'with the link she reads his readings');
  await hanako.page.locator('main ol.timeline li[data-type="Observation"]').first().waitFor();
  await screenshot(hanako.page, 'family-acting-for');
  // acting for him, the family view says so and does not manage his links
  main = await view(hanako, 'family');
  await main.locator('[data-acting-for]').waitFor();

  // 太郎 removes her: her token acts for him no longer
  main = await view(taro, 'family');
  li = main.locator('ul.delegates li').filter({ hasText: '会津 花子' });
  await li.getByRole('button', { name: 'Remove this family member' }).click();
  await taro.page.locator('main[data-view="family"][aria-busy="false"] .flash').filter({ hasText: 'Family member removed.' }).waitFor();
  assert.equal(await taro.page.locator('main ul.delegates li').filter({ hasText: '会津 花子' }).count(), 0);
  const readings = (r) => (r.body?.entry ?? []).filter((e) => e.resource?.resourceType === 'Observation').length;
  const after = await call(hanako, 'GET', `/fhir/Observation?patient=Patient/${PATIENT}&_count=5`);
  assert.equal(after.status, 200);
  assert.equal(readings(after), 0, 'her token, still unexpired, reads nothing of his');
  // each change is on his access log
  main = await view(taro, 'tracker');
  await main.locator('ol.accesses li[data-resource="FamilyLink"]').first().waitFor();
  await screenshot(taro.page, 'family-tracker');
});

step('every control labelled in the staff views, Japanese works, no console errors', async () => {
  for (const [p, name] of [[doctor, 'doctor'], [pharmacist, 'pharmacy'], [admin, 'city']]) {
    await view(p, name, name === 'doctor' ? `patient=${PATIENT}` : '');
    const unlabelled = await p.page.evaluate(() =>
      [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, [], `unlabelled controls on ${name}`);
    assert.equal(await p.page.locator('main h2').count(), 1, `one h2 on ${name}`);
  }
  await admin.page.getByRole('button', { name: /Switch to Japanese/ }).click();
  await admin.page.getByRole('link', { name: '市の管理' }).waitFor();
  await admin.page.locator('main').getByRole('heading', { name: '利用目的と版' }).waitFor();
  await screenshot(admin.page, 'city-ja');
  await doctor.page.getByRole('button', { name: /Switch to Japanese/ }).click();
  await doctor.page.locator('main').getByRole('heading', { name: 'オンライン診療の待ち行列' }).waitFor();
  await screenshot(doctor.page, 'doctor-ja');
  const problems = Object.entries(people).flatMap(([email, p]) => p.problems.map((x) => `${email}: ${x}`));
  console.log(`figures: ${JSON.stringify(figures)}`);
  assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
});
