// view-pharmacy.js - a pharmacist acting for their pharmacy (a practitioner token, roles.js):
// the prescription queue (GET /api/v1/pharmacy/tasks; orders the citizens' consents do not
// cover are withheld and only counted), one order with its prescription, the medication
// guidance record, dispensing with the fee, and the delivery status. The steps go in the order
// pharmacy law asks (requested -> guidance-given -> dispensed -> dispatched -> delivered); the
// server refuses any other (409) and records every read on the citizen's access log.
import { api } from './api.js';
import { field, h } from './dom.js';
import { pick, t, when } from './i18n.js';
import { loadPharmacyNames, orgName } from './roles.js';

function hashParams() {
  return new URLSearchParams(window.location.hash.split('?')[1] ?? '');
}

function medicationText(m) {
  return m?.text ?? m?.coding?.[0]?.display ?? m?.coding?.[0]?.code ?? '';
}

function task(o) {
  return h(
    'li',
    { class: `card order ${o.status}`, 'data-task': o.task, 'data-status': o.status },
    h('p', {}, h('time', { datetime: o.created }, when(o.created)), ' ', h('span', { class: 'status' }, t(`pharmacy.status.${o.status}`))),
    h('p', { class: 'medication' }, medicationText(o.medication)),
    h('p', { class: 'hint' }, t('pharmacy.patient'), ' ', h('code', {}, o.patient)),
    h('p', {}, h('a', { href: `#/pharmacy?task=${encodeURIComponent(o.task)}` }, t('pharmacy.open'))),
  );
}

async function queue() {
  const res = await api('/api/v1/pharmacy/tasks');
  const tasks = res?.tasks ?? [];
  return h(
    'section',
    { 'aria-labelledby': 'rxq-h' },
    h('h3', { id: 'rxq-h' }, t('pharmacy.queue')),
    h('p', { class: 'lead' }, t('pharmacy.lead', { pharmacy: orgName(res?.pharmacy) ?? res?.pharmacy ?? '' })),
    tasks.length ? h('ol', { class: 'orders' }, tasks.map(task)) : h('p', {}, t('pharmacy.empty')),
    res?.withheld ? h('p', { class: 'hint', 'data-withheld': res.withheld }, t('pharmacy.withheld', { n: res.withheld })) : null,
  );
}

// A form that posts body() to the step's endpoint and flashes the outcome.
function stepForm(ctx, id, step, body, done, ...fields) {
  return h(
    'form',
    {
      class: `step ${step}`,
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api(`/api/v1/pharmacy/tasks/${encodeURIComponent(id)}/${step}`, { method: 'POST', body: body() });
          ctx.flash(done);
        } catch (e) {
          ctx.flash(t('pharmacy.failed', { reason: e.message }), true);
        }
        await ctx.rerender();
      },
    },
    ...fields,
  );
}

function nextStep(ctx, o) {
  const id = o.task;
  if (o.status === 'requested') {
    const text = h('textarea', { name: 'guidance', rows: 3, required: true, maxlength: 1000 });
    const channel = h('select', { name: 'channel' }, h('option', { value: 'online' }, t('pharmacy.online')), h('option', { value: 'in-person' }, t('pharmacy.inPerson')));
    return stepForm(ctx, id, 'guidance', () => ({ text: text.value.trim(), channel: channel.value }), t('pharmacy.guided'),
      h('h4', {}, t('pharmacy.guidance')),
      field(t('pharmacy.guidanceText'), text, t('pharmacy.guidanceHint')),
      field(t('pharmacy.channel'), channel),
      h('button', { type: 'submit', class: 'primary' }, t('pharmacy.recordGuidance')));
  }
  if (o.status === 'guidance-given') {
    const fee = h('input', { name: 'fee', type: 'number', min: 1, max: 1000000, step: 1, required: true, inputmode: 'numeric' });
    const note = h('input', { name: 'note', maxlength: 1000 });
    return stepForm(ctx, id, 'dispense', () => (note.value.trim() ? { fee: Number(fee.value), note: note.value.trim() } : { fee: Number(fee.value) }), t('pharmacy.dispensed'),
      h('h4', {}, t('pharmacy.dispense')),
      field(t('pharmacy.fee'), fee, t('pharmacy.feeHint')),
      field(t('pharmacy.note'), note),
      h('button', { type: 'submit', class: 'primary' }, t('pharmacy.dispenseButton')));
  }
  if (o.status === 'dispensed' || o.status === 'dispatched') {
    const status = o.status === 'dispensed' ? 'dispatched' : 'delivered';
    return stepForm(ctx, id, 'delivery', () => ({ status }), t(`pharmacy.now.${status}`),
      h('h4', {}, t('pharmacy.delivery')),
      h('button', { type: 'submit', class: 'primary' }, t(`pharmacy.mark.${status}`)));
  }
  return h('p', { class: 'flash' }, t('pharmacy.complete'));
}

const STEPS = ['requested', 'guidance-given', 'dispensed', 'dispatched', 'delivered'];

async function detail(ctx, id) {
  const o = await api(`/api/v1/pharmacy/tasks/${encodeURIComponent(id)}`);
  const rx = o.prescription_resource ?? {};
  const dosage = (rx.dosageInstruction ?? []).map((d) => d.text).filter(Boolean).join(' / ');
  const q = rx.dispenseRequest?.quantity;
  const days = rx.dispenseRequest?.expectedSupplyDuration?.value;
  const at = STEPS.indexOf(o.status);
  return h(
    'section',
    { class: 'order-detail', 'aria-labelledby': 'rx-h', 'data-task': o.task, 'data-status': o.status },
    h('h3', { id: 'rx-h' }, medicationText(o.medication)),
    h('p', {}, h('a', { href: '#/pharmacy' }, t('pharmacy.back'))),
    h('ol', { class: 'steps', 'aria-label': t('pharmacy.progress') }, STEPS.map((s, i) => h('li', { class: i <= at ? 'done' : '', 'aria-current': i === at ? 'step' : false }, t(`pharmacy.status.${s}`)))),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, t('pharmacy.patient')), h('dd', {}, h('code', {}, o.patient)),
      h('dt', {}, t('pharmacy.prescribed')), h('dd', {}, when(o.created)),
      dosage ? [h('dt', {}, t('pharmacy.dosage')), h('dd', {}, dosage)] : null,
      q ? [h('dt', {}, t('pharmacy.quantity')), h('dd', {}, `${q.value} ${q.unit ?? ''}`)] : null,
      days ? [h('dt', {}, t('pharmacy.days')), h('dd', {}, String(days))] : null,
      (rx.note ?? []).length ? [h('dt', {}, t('pharmacy.rxNote')), h('dd', {}, rx.note.map((n) => n.text).join(' '))] : null,
      o.guidance ? [h('dt', {}, t('pharmacy.guidance')), h('dd', { class: 'guidance' }, `${when(o.guidance.at)}: ${o.guidance.text}`)] : null,
      o.dispense ? [h('dt', {}, t('pharmacy.fee')), h('dd', { class: 'fee' }, t('pharmacy.yen', { n: o.dispense.fee }))] : null,
    ),
    nextStep(ctx, o),
  );
}

export async function render(ctx) {
  await loadPharmacyNames(pick);
  const id = hashParams().get('task');
  return h(
    'section',
    { 'aria-labelledby': 'pharmacy-h' },
    h('h2', { id: 'pharmacy-h' }, t('pharmacy.title')),
    id ? await detail(ctx, id) : await queue(),
  );
}
