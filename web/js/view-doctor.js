// view-doctor.js - a doctor acting for their clinic (a practitioner token, roles.js): the day's
// online consultation queue (GET /api/v1/org/appointments?mode=online), starting and finishing
// a consultation with notes and a fee, a patient's home readings and alerts read through /fhir
// under the patient's consent (a refusal is shown as a refusal, never as "no data"), and
// prescribing (POST /api/v1/prescriptions). The patients who consented (GET /api/v1/org/patients,
// page by page), each opened with one button. Every read here is on the patient's access log.
import { api, ApiError } from './api.js';
import { clear, field, h } from './dom.js';
import { category, pick, t, when } from './i18n.js';
import { loadPharmacyNames, orgName } from './roles.js';

const BP = 'http://loinc.org|85354-9';
const SEEN = 'cityos.portal.doctor.seen'; // per patient: the newest reading this tab was shown

function tokyoToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date());
}

function hashParams() {
  return new URLSearchParams(window.location.hash.split('?')[1] ?? '');
}

function go(params) {
  window.location.hash = `#/doctor?${new URLSearchParams(params)}`;
}

function seen() {
  try {
    return JSON.parse(sessionStorage.getItem(SEEN) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

function remember(patient, readingId) {
  const all = seen();
  all[patient] = readingId;
  sessionStorage.setItem(SEEN, JSON.stringify(all));
}

// An action button: runs fn, flashes the outcome, renders again.
function action(ctx, label, fn, attrs = {}) {
  return h(
    'button',
    {
      type: 'button',
      ...attrs,
      onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          ctx.flash(await fn());
        } catch (e) {
          ctx.flash(t('doctor.failed', { reason: e.message }), true);
        }
        await ctx.rerender();
      },
    },
    label,
  );
}

// ---- the queue -------------------------------------------------------------------------------

function finishForm(ctx, a) {
  const notes = h('textarea', { name: 'notes', rows: 3, maxlength: 20000 });
  const fee = h('input', { name: 'fee', type: 'number', min: 0, max: 100000000, step: 1, value: 0, required: true, inputmode: 'numeric' });
  return h(
    'form',
    {
      class: 'finish',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = { fee: Number(fee.value) };
        if (notes.value.trim()) body.notes = notes.value.trim();
        try {
          await api(`/api/v1/org/appointments/${encodeURIComponent(a.id)}/finish`, { method: 'POST', body });
          ctx.flash(t('doctor.finished'));
        } catch (e) {
          ctx.flash(t('doctor.failed', { reason: e.message }), true);
        }
        await ctx.rerender();
      },
    },
    field(t('doctor.notes'), notes),
    field(t('doctor.fee'), fee, t('doctor.feeHint')),
    h('button', { type: 'submit', class: 'primary' }, t('doctor.finish')),
  );
}

function appointment(ctx, a, date) {
  return h(
    'li',
    { class: `card appt ${a.status}`, 'data-appointment': a.id, 'data-status': a.status },
    h('p', {}, h('time', { datetime: a.start }, when(a.start)), ' ', h('span', { class: 'status' }, t(`doctor.status.${a.status}`))),
    h('p', {}, t('doctor.patient'), ' ', h('code', {}, a.patient ?? '-')),
    a.meeting_url ? h('p', {}, h('a', { href: a.meeting_url, rel: 'noopener noreferrer', target: '_blank' }, t('doctor.meeting'))) : null,
    a.report ? h('p', { class: 'hint' }, t('doctor.reportDone')) : null,
    h(
      'p',
      { class: 'actions' },
      a.patient ? h('button', { type: 'button', onclick: () => go({ date, patient: a.patient }) }, t('doctor.open')) : null,
      a.status === 'booked'
        ? action(ctx, t('doctor.start'), async () => {
            await api(`/api/v1/org/appointments/${encodeURIComponent(a.id)}/start`, { method: 'POST' });
            return t('doctor.started');
          }, { class: 'primary' })
        : null,
    ),
    a.status === 'arrived' ? finishForm(ctx, a) : null,
  );
}

async function queue(ctx, date) {
  const picker = h('input', { type: 'date', name: 'date', value: date });
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (ev) => {
        ev.preventDefault();
        go({ date: picker.value || tokyoToday() });
      },
    },
    field(t('doctor.date'), picker),
    h('button', { type: 'submit' }, t('doctor.show')),
  );
  let list;
  try {
    const res = await api(`/api/v1/org/appointments?date=${encodeURIComponent(date)}&mode=online`);
    const items = res?.items ?? [];
    list = items.length ? h('ol', { class: 'queue' }, items.map((a) => appointment(ctx, a, date))) : h('p', {}, t('doctor.queueEmpty'));
  } catch (e) {
    list = h('p', { class: 'error', role: 'alert' }, t('doctor.failed', { reason: e.message }));
  }
  return h('section', { 'aria-labelledby': 'queue-h' }, h('h3', { id: 'queue-h' }, t('doctor.queue')), form, list);
}

// ---- the patients who consented ---------------------------------------------------------------
// Each listing is on every listed patient's access log (the server records it before it
// answers), so the list is asked for when the view opens and page by page on request only.

let purposeTitles = null; // code -> {ja, en}, from the public purposes
async function titles() {
  if (!purposeTitles) {
    const res = await api('/api/v1/purposes', { auth: false }).catch(() => null);
    purposeTitles = new Map((res?.purposes ?? []).map((p) => [p.code, p.title]));
  }
  return purposeTitles;
}

function consentLine(c, names) {
  const title = names.get(c.purpose?.code);
  return h(
    'li',
    { 'data-consent': c.id, 'data-purpose': c.purpose?.code ?? '' },
    h('span', { class: 'purpose' }, title ? pick(title) : c.purpose?.code ?? ''),
    ' · ',
    (c.categories ?? []).map(category).join(t('doctor.pt.sep')),
    ' · ',
    (c.actions ?? []).map((a) => t(`doctor.pt.action.${a}`)).join(t('doctor.pt.sep')),
    ' · ',
    c.valid_until ? t('doctor.pt.until', { date: when(c.valid_until, false) }) : t('doctor.pt.openEnded'),
  );
}

function patientItem(p, date, names) {
  const who = p.name ? `${p.name.kanji}${p.name.kana ? ` (${p.name.kana})` : ''}` : t('doctor.pt.noName');
  return h(
    'li',
    { class: 'card consenting', 'data-patient': p.patient },
    h('h4', { id: `pt-${p.patient}` }, who),
    h('p', {}, t('doctor.patient'), ' ', h('code', {}, p.patient)),
    h('ul', { class: 'consents' }, (p.consents ?? []).map((c) => consentLine(c, names))),
    h('p', { class: 'actions' }, h('button', { type: 'button', 'data-open': p.patient, 'aria-describedby': `pt-${p.patient}`, onclick: () => go({ date, patient: p.patient }) }, t('doctor.open'))),
  );
}

async function consenting(date) {
  const section = h('section', { 'aria-labelledby': 'pt-h', class: 'patients' }, h('h3', { id: 'pt-h' }, t('doctor.pt.title')), h('p', { class: 'hint' }, t('doctor.pt.hint')));
  let first;
  const names = await titles();
  try {
    first = await api('/api/v1/org/patients?_count=20');
  } catch (e) {
    section.append(h('p', { class: 'error', role: 'alert' }, t('doctor.failed', { reason: e.message })));
    return section;
  }
  const list = h('ul', { class: 'consenting', 'data-count': first.items.length }, first.items.map((p) => patientItem(p, date, names)));
  const more = h('div', { class: 'more' });
  const addMore = (next) => {
    clear(more);
    if (!next) return;
    const b = h('button', { type: 'button', class: 'secondary' }, t('doctor.pt.more'));
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const page = await api(`/api/v1/org/patients?_count=20&cursor=${encodeURIComponent(next)}`);
        list.append(...page.items.map((p) => patientItem(p, date, names)));
        list.dataset.count = String(list.children.length);
        addMore(page.next);
      } catch (e) {
        b.disabled = false;
        more.append(h('p', { class: 'error', role: 'alert' }, t('doctor.failed', { reason: e.message })));
      }
    });
    more.append(b);
  };
  addMore(first.next);
  section.append(first.items.length ? list : h('p', { class: 'none', 'data-none': 'patients' }, t('doctor.pt.none')), more);
  return section;
}

// ---- the patient -----------------------------------------------------------------------------

function component(obs, code) {
  return obs.component?.find((c) => c.code?.coding?.some((x) => x.code === code))?.valueQuantity?.value;
}

function refusal(e) {
  return h('p', { class: 'error refused', role: 'alert', 'data-refused': 'true' }, t('doctor.refused', { reason: e.message }));
}

async function readings(patient) {
  const q = `/fhir/Observation?patient=Patient/${encodeURIComponent(patient)}&code=${encodeURIComponent(BP)}&_sort=-date&_count=50`;
  let bundle;
  try {
    bundle = await api(q);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return refusal(e);
    return h('p', { class: 'error', role: 'alert' }, t('doctor.failed', { reason: e.message }));
  }
  const obs = (bundle?.entry ?? []).map((x) => x.resource).filter((r) => r?.resourceType === 'Observation');
  if (obs.length) {
    remember(patient, obs[0].id);
    return h(
      'table',
      { class: 'readings', 'data-count': obs.length },
      h('caption', {}, t('doctor.readingsCount', { n: obs.length })),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('bp.when')), h('th', { scope: 'col' }, t('bp.sys')), h('th', { scope: 'col' }, t('bp.dia')))),
      h(
        'tbody',
        {},
        obs.map((o) => h('tr', { 'data-id': o.id }, h('td', {}, when(o.effectiveDateTime ?? o.issued)), h('td', {}, component(o, '8480-6') ?? ''), h('td', {}, component(o, '8462-4') ?? ''))),
      ),
    );
  }
  // A search leaves out what the patient's consent does not cover; a reading this tab was
  // shown before, read by its id, tells a refusal from an empty record.
  const before = seen()[patient];
  if (before) {
    try {
      await api(`/fhir/Observation/${encodeURIComponent(before)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) return refusal(e);
    }
  }
  return h('p', { class: 'none', 'data-none': 'readings' }, t('doctor.noReadings'));
}

async function alerts(patient) {
  let bundle;
  try {
    bundle = await api(`/fhir/Communication?patient=Patient/${encodeURIComponent(patient)}&_count=20`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return refusal(e);
    return h('p', { class: 'error', role: 'alert' }, t('doctor.failed', { reason: e.message }));
  }
  const list = (bundle?.entry ?? [])
    .map((x) => x.resource)
    .filter((r) => r?.resourceType === 'Communication')
    .sort((a, b) => String(b.sent ?? '').localeCompare(String(a.sent ?? '')));
  if (!list.length) return h('p', { class: 'none' }, t('doctor.noAlerts'));
  return h(
    'ul',
    { class: 'alerts' },
    list.map((c) =>
      h(
        'li',
        { class: `card alert ${c.priority ?? ''}` },
        h('time', { datetime: c.sent }, when(c.sent)),
        ' ',
        c.priority === 'urgent' ? '⚠ ' : '',
        (c.payload ?? []).map((p) => p.contentString).filter(Boolean).join(' '),
      ),
    ),
  );
}

function prescribeForm(ctx, patient) {
  const code = h('input', { name: 'code', required: true, maxlength: 64, autocomplete: 'off' });
  const display = h('input', { name: 'display', required: true, maxlength: 200, autocomplete: 'off' });
  const dosage = h('input', { name: 'dosage', required: true, maxlength: 1000 });
  const qty = h('input', { name: 'quantity', type: 'number', min: 1, max: 100000, step: 1, required: true, inputmode: 'numeric' });
  const unit = h('input', { name: 'unit', required: true, maxlength: 20 });
  const days = h('input', { name: 'days', type: 'number', min: 1, max: 365, step: 1, required: true, inputmode: 'numeric' });
  const note = h('textarea', { name: 'note', rows: 2, maxlength: 1000 });
  return h(
    'form',
    {
      class: 'prescribe',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = {
          patient,
          medication: { code: code.value.trim(), display: display.value.trim() },
          dosage: dosage.value.trim(),
          quantity: { value: Number(qty.value), unit: unit.value.trim() },
          days: Number(days.value),
        };
        if (note.value.trim()) body.note = note.value.trim();
        try {
          const res = await api('/api/v1/prescriptions', { method: 'POST', body });
          ctx.flash(t('doctor.prescribed', { pharmacy: orgName(res?.pharmacy) ?? res?.pharmacy ?? '' }));
        } catch (e) {
          ctx.flash(t('doctor.prescribeFailed', { reason: e.message }), true);
        }
        await ctx.rerender();
      },
    },
    h('h4', {}, t('doctor.prescribe')),
    field(t('doctor.medCode'), code, t('doctor.medCodeHint')),
    field(t('doctor.medName'), display),
    field(t('doctor.dosage'), dosage),
    field(t('doctor.quantity'), qty),
    field(t('doctor.unit'), unit),
    field(t('doctor.days'), days),
    field(t('doctor.note'), note),
    h('button', { type: 'submit', class: 'primary' }, t('doctor.issue')),
  );
}

async function patientPanel(ctx, patient, date) {
  const [r, a] = await Promise.all([readings(patient), alerts(patient)]);
  return h(
    'section',
    { class: 'patient', 'aria-labelledby': 'patient-h', 'data-patient': patient },
    h('h3', { id: 'patient-h' }, t('doctor.patientTitle', { id: patient })),
    h('p', { class: 'hint' }, t('doctor.consentNote')),
    h('p', {}, h('button', { type: 'button', onclick: () => go({ date, patient }) }, t('doctor.reload')), ' ', h('button', { type: 'button', class: 'secondary', onclick: () => go({ date }) }, t('doctor.close'))),
    h('h4', {}, t('doctor.readings')),
    r,
    h('h4', {}, t('doctor.alerts')),
    a,
    prescribeForm(ctx, patient),
  );
}

function openForm(date) {
  const id = h('input', { name: 'patient', required: true, autocomplete: 'off', spellcheck: 'false' });
  return h(
    'form',
    {
      class: 'open-patient',
      onsubmit: (ev) => {
        ev.preventDefault();
        if (id.value.trim()) go({ date, patient: id.value.trim() });
      },
    },
    field(t('doctor.patientId'), id, t('doctor.patientIdHint')),
    h('button', { type: 'submit' }, t('doctor.open')),
  );
}

export async function render(ctx) {
  const params = hashParams();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') ?? '') ? params.get('date') : tokyoToday();
  const patient = params.get('patient');
  await loadPharmacyNames(pick);
  return h(
    'section',
    { 'aria-labelledby': 'doctor-h' },
    h('h2', { id: 'doctor-h' }, t('doctor.title')),
    h('p', { class: 'lead' }, t('doctor.lead')),
    await queue(ctx, date),
    patient ? null : await consenting(date),
    h('section', { 'aria-labelledby': 'find-h' }, h('h3', { id: 'find-h' }, t('doctor.find')), openForm(date)),
    patient ? await patientPanel(ctx, patient, date) : null,
  );
}
