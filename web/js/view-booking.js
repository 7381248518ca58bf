// view-booking.js - booking a free slot (docs/api.md "Visits"): GET /api/v1/slots filtered by
// department, mode and day (from the triage's recommendation when the citizen came from it, the
// filters in the hash so a reload shows the same), grouped by day; choosing a time books it with
// POST /api/v1/me/appointments and the triage's questionnaire response, or moves an appointment
// there with POST .../reschedule. A slot someone else took first (409) is said so, and the list
// is shown again to choose another.
import { ApiError, api } from './api.js';
import { clear, field, h } from './dom.js';
import { t } from './i18n.js';
import { at, dayTitle, department, go, partHref, rememberOrgs, tokyoDay } from './visit-common.js';

export const DEPARTMENTS = [
  'family-medicine',
  'internal-medicine',
  'cardiology',
  'neurology',
  'neurosurgery',
  'respiratory',
  'gastroenterology',
  'orthopedics',
  'surgery',
  'otolaryngology',
];

function filters(q) {
  const dept = h(
    'select',
    { name: 'dept' },
    h('option', { value: '' }, t('j.any')),
    DEPARTMENTS.map((d) => h('option', { value: d, selected: q.get('dept') === d }, department(d))),
  );
  const mode = h(
    'select',
    { name: 'mode' },
    h('option', { value: '' }, t('j.any')),
    ['online', 'in-person'].map((m) => h('option', { value: m, selected: q.get('mode') === m }, t(`j.mode.${m}`))),
  );
  const from = h('input', { type: 'date', name: 'from', value: q.get('from') || tokyoDay(), min: tokyoDay() });
  const form = h(
    'form',
    { class: 'filters slot-filters' },
    h('h4', {}, t('j.booking.find')),
    field(t('j.booking.dept'), dept),
    field(t('j.booking.mode'), mode),
    field(t('j.booking.from'), from),
    h('button', { type: 'submit' }, t('j.booking.search')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go('booking', { dept: dept.value, mode: mode.value, from: from.value, qr: q.get('qr'), reschedule: q.get('reschedule') });
  });
  return form;
}

async function book(ctx, q, slot, mode, comment) {
  const reschedule = q.get('reschedule');
  try {
    if (reschedule) {
      await api(`/api/v1/me/appointments/${encodeURIComponent(reschedule)}/reschedule`, { method: 'POST', body: { slot: slot.id, mode } });
      ctx.flash(t('j.booking.moved', { when: at(slot.start) }));
    } else {
      const body = { slot: slot.id, mode };
      if (q.get('qr')) body.questionnaire_response = q.get('qr');
      if (comment) body.comment = comment;
      await api('/api/v1/me/appointments', { method: 'POST', body });
      ctx.flash(t('j.booking.booked', { when: at(slot.start) }));
    }
    go('appointments');
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) ctx.flash(t('j.booking.taken'), true);
    else ctx.flash(t('error', { reason: e.message }), true);
    await ctx.rerender();
  }
}

// The confirmation of one chosen slot: the mode when it offers both, an optional message.
function confirm(ctx, q, slot, place) {
  const both = slot.modes.length > 1;
  const wanted = q.get('mode');
  const modeSel = both
    ? h('fieldset', { class: 'answers' }, h('legend', {}, t('j.booking.mode')),
        slot.modes.map((m, i) => h('label', { class: 'check' },
          h('input', { type: 'radio', name: 'book-mode', value: m, checked: wanted ? m === wanted : i === 0 }), t(`j.mode.${m}`))))
    : null;
  const comment = q.get('reschedule') ? null : h('textarea', { name: 'comment', maxlength: '500', rows: '2' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t(q.get('reschedule') ? 'j.booking.moveHere' : 'j.booking.confirm'));
  const form = h(
    'form',
    { class: 'card confirm', 'aria-labelledby': 'confirm-h' },
    h('h4', { id: 'confirm-h', tabindex: '-1' }, t('j.booking.chosen', { when: `${dayTitle(tokyoDay(slot.start_ms))} ${at(slot.start, true)}`, org: slot.organization_name })),
    modeSel,
    comment ? field(t('j.booking.comment'), comment) : null,
    submit,
    h('button', { type: 'button', class: 'secondary', onclick: () => clear(place) }, t('j.cancelChoice')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    const mode = both ? form.querySelector('input[name="book-mode"]:checked')?.value : slot.modes[0];
    book(ctx, q, slot, mode, comment?.value.trim() || '');
  });
  clear(place).append(form);
  form.querySelector('#confirm-h').focus();
}

export async function render(ctx, q) {
  const search = new URLSearchParams();
  if (q.get('dept')) search.set('specialty', q.get('dept'));
  if (q.get('mode')) search.set('mode', q.get('mode'));
  if (q.get('from') && /^\d{4}-\d{2}-\d{2}$/.test(q.get('from')) && q.get('from') >= tokyoDay()) search.set('from', q.get('from'));
  const reschedule = q.get('reschedule');
  const [slots, moving] = await Promise.all([
    api(`/api/v1/slots${search.toString() ? `?${search}` : ''}`),
    reschedule ? api(`/api/v1/me/appointments/${encodeURIComponent(reschedule)}`) : null,
  ]);
  rememberOrgs((slots.items ?? []).map((s) => [s.organization, s.organization_name]));
  const days = new Map();
  for (const s of slots.items ?? []) {
    const d = tokyoDay(s.start_ms);
    if (!days.has(d)) days.set(d, []);
    days.get(d).push(s);
  }
  const place = h('div', { class: 'confirm-place', 'aria-live': 'polite' });
  const list = [...days.entries()].map(([d, items]) =>
    h(
      'section',
      { class: 'day', 'aria-label': dayTitle(d) },
      h('h4', {}, dayTitle(d)),
      h(
        'ul',
        { class: 'slots' },
        items.map((s) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: 'slot', 'data-slot': s.id, 'data-start': s.start, onclick: () => confirm(ctx, q, s, place) },
              h('strong', {}, at(s.start, true)),
              ' ',
              s.organization_name,
              q.get('dept') ? '' : ` · ${department(s.specialty)}`,
              q.get('mode') ? '' : ` · ${s.modes.map((m) => t(`j.mode.${m}`)).join(' / ')}`,
            ),
          ),
        ),
      ),
    ),
  );
  return h(
    'section',
    { 'aria-labelledby': 'booking-h', class: 'part booking' },
    h('h3', { id: 'booking-h' }, t(reschedule ? 'j.booking.rescheduleTitle' : 'j.part.booking')),
    moving ? h('p', { class: 'card moving' }, t('j.booking.moving', { when: at(moving.start) })) : null,
    q.get('qr') ? h('p', { class: 'hint', 'data-qr': q.get('qr') }, t('j.booking.withTriage')) : h('p', { class: 'hint' }, t('j.booking.noTriage'), ' ', h('a', { href: partHref('triage') }, t('j.part.triage'))),
    filters(q),
    place,
    list.length ? list : h('p', { class: 'empty' }, t('j.booking.none')),
  );
}
