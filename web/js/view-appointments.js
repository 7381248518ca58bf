// view-appointments.js - my appointments (docs/api.md "Visits", "Taxi"): each with its time,
// place, mode and status; the meeting link of an online consultation; cancelling and moving a
// booked one; for an in-person visit the taxi ordered for it (GET /api/v1/me/taxi/orders: when
// it comes, how long before, its status). And the taxi opt-in: choosing a taxi company grants
// the city's "mobility" consent to it, with the explanation shown and its hash checked here as
// the consents view does (PUT /api/v1/me/taxi with the evidence); DELETE turns it off. A finished
// consultation's notes: the appointment names its report (a DiagnosticReport "Consult note" in
// the citizen's own record), read through /fhir like every other part of the record.
import { api, ApiError, loadNames, nameOf as publicName } from './api.js';
import { field, h } from './dom.js';
import { lang, pick, t, when } from './i18n.js';
import { at, badge, currentPurpose, dayTitle, evidence, orgName, partHref, purposeExplanation, rememberOrgs, tokyoDay, yen } from './visit-common.js';

const safeUrl = (u) => (typeof u === 'string' && /^https:\/\/[^\s]+$/.test(u) ? u : null);

function taxiOrder(o) {
  return h(
    'div',
    { class: 'taxi', 'data-taxi': o.task, 'data-lead': o.lead_minutes },
    h('h5', {}, t('j.taxi.order')),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, t('j.taxi.pickup')),
      h('dd', {}, h('time', { datetime: o.pickup_at }, at(o.pickup_at)), ' ', t('j.taxi.before', { n: o.lead_minutes })),
      o.pickup_place ? [h('dt', {}, t('j.taxi.from')), h('dd', {}, o.pickup_place)] : null,
      h('dt', {}, t('j.taxi.to')),
      h('dd', {}, o.facility_name ?? ''),
      h('dt', {}, t('j.taxi.status')),
      h('dd', {}, badge('taxiStatus', o.status)),
      o.snow ? [h('dt', {}, t('j.taxi.weather')), h('dd', {}, t('j.taxi.snow'))] : null,
    ),
  );
}

// The doctor's notes of a fulfilled consultation, or why they cannot be shown.
async function consultNotes(a) {
  if (!a.report) return null;
  let text;
  let issued;
  try {
    const r = await api(`/fhir/DiagnosticReport/${encodeURIComponent(a.report)}`);
    text = typeof r?.conclusion === 'string' ? r.conclusion : '';
    issued = r?.issued;
  } catch (e) {
    const why = e instanceof ApiError && e.status === 403 ? t('j.notes.refused') : t('error', { reason: e.message });
    return h('div', { class: 'notes', 'data-notes': 'unavailable' }, h('h5', {}, t('j.notes.title')), h('p', { class: 'hint' }, why));
  }
  return h(
    'div',
    { class: 'notes', 'data-notes': a.report },
    h('h5', {}, t('j.notes.title')),
    issued ? h('p', { class: 'hint' }, t('j.notes.issued', { when: when(issued) })) : null,
    text ? h('p', { class: 'note-text' }, text) : h('p', { class: 'hint' }, t('j.notes.empty')),
  );
}

async function card(ctx, a, order, act) {
  const named = publicName(a.organization);
  const org = named ? pick(named.name) : await orgName(a.organization);
  const meeting = a.mode === 'online' && (a.status === 'booked' || a.status === 'arrived') ? safeUrl(a.meeting_url) : null;
  const actions = [];
  if (a.status === 'booked') {
    actions.push(
      h('a', { class: 'button secondary', href: partHref('booking', { reschedule: a.id, mode: a.mode }), 'data-action': 'reschedule' }, t('j.appt.reschedule')),
    );
    const cancel = h('form', { class: 'cancel' }, h('p', { class: 'hint' }, t('j.appt.cancelConfirm')),
      h('button', { type: 'submit', class: 'danger' }, t('j.appt.cancel')));
    cancel.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(() => api(`/api/v1/me/appointments/${encodeURIComponent(a.id)}/cancel`, { method: 'POST', body: {} }), t('j.appt.cancelDone'));
    });
    actions.push(cancel);
  }
  return h(
    'li',
    { class: `card appointment ${a.status}`, 'data-appointment': a.id, 'data-status': a.status, 'data-mode': a.mode },
    h('h4', {}, h('time', { datetime: a.start }, `${dayTitle(tokyoDay(a.start_ms))} ${at(a.start, true)}–${at(a.end, true)}`), ' ', badge('appt', a.status)),
    h('p', {}, org, ' · ', t(`j.mode.${a.mode}`)),
    meeting ? h('p', {}, h('a', { class: 'button primary meeting', href: meeting, target: '_blank', rel: 'noopener noreferrer' }, t('j.appt.join'))) : null,
    a.mode === 'online' && a.status === 'booked' ? h('p', { class: 'hint' }, t('j.appt.joinHint')) : null,
    a.invoice ? h('p', {}, h('a', { href: '#/wallet', 'data-invoice': a.invoice }, t('j.appt.invoice'))) : null,
    order ? taxiOrder(order) : a.mode === 'in-person' && a.status === 'booked' ? h('p', { class: 'hint' }, t('j.taxi.noOrder')) : null,
    a.status === 'fulfilled' ? await consultNotes(a) : null,
    actions,
  );
}

async function taxiSection(ctx, act) {
  const shownAt = Date.now();
  const [mine, companies, { purpose, verified }] = await Promise.all([
    api('/api/v1/me/taxi'),
    api('/api/v1/taxi-companies', { auth: false }),
    currentPurpose('mobility'),
  ]);
  const list = companies.companies ?? [];
  const nameOf = (id) => {
    const c = list.find((x) => x.id === id);
    return c ? (lang() === 'ja' ? c.name_ja : c.name_en) : id;
  };
  const section = h('section', { class: 'card taxi-optin', 'aria-labelledby': 'taxi-h', 'data-enabled': String(Boolean(mine.enabled)) },
    h('h3', { id: 'taxi-h' }, t('j.taxi.title')), h('p', { class: 'lead' }, t('j.taxi.lead')));
  if (mine.enabled) {
    const off = h('form', {}, h('button', { type: 'submit', class: 'danger' }, t('j.taxi.off')));
    off.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(() => api('/api/v1/me/taxi', { method: 'DELETE' }), t('j.taxi.turnedOff'));
    });
    section.append(h('p', { class: 'verified' }, t('j.taxi.on', { company: nameOf(mine.company) })), off);
    return section;
  }
  if (!purpose || list.length === 0) {
    section.append(h('p', { class: 'pending' }, t('j.taxi.notOffered')));
    return section;
  }
  const sel = h('select', { name: 'company' }, list.map((c) => h('option', { value: c.id }, `${lang() === 'ja' ? c.name_ja : c.name_en} (${c.district})`)));
  const form = h('form', { class: 'grant' }, field(t('j.taxi.company'), sel), purposeExplanation(purpose, verified),
    h('button', { type: 'submit', class: 'primary', disabled: !verified }, t('j.taxi.agree')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(() => api('/api/v1/me/taxi', { method: 'PUT', body: { company: sel.value, evidence: evidence(purpose.explanation_hash, shownAt) } }), t('j.taxi.turnedOn'));
  });
  section.append(form);
  return section;
}

export async function render(ctx) {
  async function act(fn, message) {
    try {
      await fn();
      ctx.flash(message);
    } catch (e) {
      ctx.flash(t('error', { reason: e.message }), true);
    }
    await ctx.rerender();
  }
  const [appts, orders] = await Promise.all([api('/api/v1/me/appointments'), api('/api/v1/me/taxi/orders')]);
  const items = appts.items ?? [];
  rememberOrgs((orders.orders ?? []).map((o) => [o.facility, o.facility_name]));
  await loadNames(items.map((a) => a.organization));
  const orderOf = new Map((orders.orders ?? []).map((o) => [o.appointment, o]));
  const now = Date.now();
  const upcoming = items.filter((a) => a.end_ms >= now && a.status !== 'cancelled' && a.status !== 'fulfilled').sort((x, y) => x.start_ms - y.start_ms);
  const past = items.filter((a) => !upcoming.includes(a)).sort((x, y) => y.start_ms - x.start_ms);
  const cards = async (list) => Promise.all(list.map((a) => card(ctx, a, orderOf.get(a.id), act)));
  return h(
    'section',
    { 'aria-labelledby': 'appts-h', class: 'part appointments' },
    h('h3', { id: 'appts-h' }, t('j.part.appointments')),
    h('p', {}, h('a', { class: 'button primary', href: partHref('triage') }, t('j.appt.start'))),
    h('h4', {}, t('j.appt.upcoming')),
    upcoming.length ? h('ul', { class: 'appointments upcoming' }, await cards(upcoming)) : h('p', {}, t('j.appt.none')),
    past.length ? [h('h4', {}, t('j.appt.past')), h('ul', { class: 'appointments past' }, await cards(past))] : null,
    await taxiSection(ctx, act),
    h('p', { class: 'hint' }, t('j.appt.feesHint', { example: yen(1500) })),
  );
}
