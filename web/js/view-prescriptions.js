// view-prescriptions.js - my prescriptions and my pharmacy (docs/api.md "E-prescription"): the
// orders of GET /api/v1/me/prescriptions with their status (requested, guidance given,
// dispensed, on its way, delivered), the guidance and the fee; and choosing the pharmacy that
// receives them: PUT /api/v1/me/pharmacy grants the city's "pharmacy" consent to it, with its
// explanation shown and its hash checked here, as the consents view does.
import { api } from './api.js';
import { field, h } from './dom.js';
import { lang, t } from './i18n.js';
import { at, badge, currentPurpose, evidence, orgName, purposeExplanation, yen } from './visit-common.js';

const STEPS = ['requested', 'guidance-given', 'dispensed', 'dispatched', 'delivered'];

function order(o, pharmacyName, prescriber) {
  const step = STEPS.indexOf(o.status);
  return h(
    'li',
    { class: 'card prescription', 'data-task': o.task, 'data-status': o.status },
    h('h4', {}, o.medication?.text ?? o.medication?.coding?.[0]?.display ?? '', ' ', badge('rx', o.status)),
    h(
      'ol',
      { class: 'steps', 'aria-label': t('j.rx.progress') },
      STEPS.map((s, i) => h('li', { class: i <= step ? 'done' : 'todo', 'aria-current': i === step ? 'step' : false }, t(`j.rx.${s}`))),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, t('j.rx.prescribed')),
      h('dd', {}, h('time', { datetime: o.created }, at(o.created)), prescriber ? ` · ${prescriber}` : ''),
      h('dt', {}, t('j.rx.pharmacy')),
      h('dd', {}, pharmacyName),
      o.guidance ? [h('dt', {}, t('j.rx.guidance')), h('dd', {}, o.guidance.text)] : null,
      o.dispense ? [h('dt', {}, t('j.rx.fee')), h('dd', {}, yen(o.dispense.fee))] : null,
    ),
  );
}

export async function render(ctx) {
  const shownAt = Date.now();
  async function act(fn, message) {
    try {
      await fn();
      ctx.flash(message);
    } catch (e) {
      ctx.flash(t('error', { reason: e.message }), true);
    }
    await ctx.rerender();
  }
  const [rx, mine, pharmacies, { purpose, verified }] = await Promise.all([
    api('/api/v1/me/prescriptions'),
    api('/api/v1/me/pharmacy'),
    api('/api/v1/pharmacies', { auth: false }),
    currentPurpose('pharmacy'),
  ]);
  const list = pharmacies.pharmacies ?? [];
  const nameOf = (id) => {
    const p = list.find((x) => x.id === id);
    return p ? (lang() === 'ja' ? p.name_ja : p.name_en) : id ?? '';
  };
  const orders = rx.prescriptions ?? [];
  const prescribers = await Promise.all(orders.map((o) => orgName(o.prescriber_org)));

  const choice = h('section', { class: 'card pharmacy-choice', 'aria-labelledby': 'pharm-h', 'data-pharmacy': mine.pharmacy ?? '' },
    h('h3', { id: 'pharm-h' }, t('j.rx.choose')),
    mine.pharmacy ? h('p', { class: 'verified' }, t('j.rx.current', { name: nameOf(mine.pharmacy) })) : h('p', {}, t('j.rx.noneChosen')));
  if (!purpose || list.length === 0) {
    choice.append(h('p', { class: 'pending' }, t('j.rx.notOffered')));
  } else {
    const sel = h('select', { name: 'pharmacy' },
      list.map((p) => h('option', { value: p.id, selected: p.id === mine.pharmacy }, `${lang() === 'ja' ? p.name_ja : p.name_en} (${p.district})`)));
    const form = h('form', { class: 'grant' }, field(t('j.rx.pharmacy'), sel), purposeExplanation(purpose, verified),
      h('button', { type: 'submit', class: 'primary', disabled: !verified }, t('j.rx.agree')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(() => api('/api/v1/me/pharmacy', { method: 'PUT', body: { pharmacy: sel.value, evidence: evidence(purpose.explanation_hash, shownAt) } }),
        t('j.rx.chosen'));
    });
    choice.append(form);
  }
  return h(
    'section',
    { 'aria-labelledby': 'rx-h', class: 'part prescriptions' },
    h('h3', { id: 'rx-h' }, t('j.part.prescriptions')),
    orders.length
      ? h('ul', { class: 'prescriptions' }, orders.map((o, i) => order(o, nameOf(o.pharmacy), prescribers[i])))
      : h('p', {}, t('j.rx.none')),
    choice,
    h('p', { class: 'hint' }, t('j.rx.hint')),
  );
}
