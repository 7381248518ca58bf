// view-triage.js - the symptom check (docs/api.md "Triage"): the FHIR Questionnaire of
// GET /api/v1/triage/questionnaire in the portal's language, asked as a form that follows the
// items' enableWhen (a question not asked is hidden and its answer not sent), required and
// answer types (yes/no, one choice, whole or decimal numbers with their bounds); the answers go
// as a QuestionnaireResponse to POST /api/v1/me/triage, and the result is shown with its level
// colour, department, the rules and answers that decided it, and "book" when it says so.
import { ApiError, api } from './api.js';
import { clear, field, h } from './dom.js';
import { lang, pick, t } from './i18n.js';
import { department, partHref } from './visit-common.js';

const EXT_MIN = 'http://hl7.org/fhir/StructureDefinition/minValue';
const EXT_MAX = 'http://hl7.org/fhir/StructureDefinition/maxValue';

function bound(item, url) {
  const e = (item.extension ?? []).find((x) => x.url === url);
  if (!e) return undefined;
  return e.valueInteger ?? e.valueDecimal;
}

// The answer of a form control group as its typed value, or undefined when not answered.
function readAnswer(form, item) {
  const name = `q-${item.linkId}`;
  if (item.type === 'boolean' || item.type === 'choice') {
    const checked = form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
    if (!checked) return undefined;
    if (item.type === 'boolean') return checked.value === 'true';
    return checked.value;
  }
  const input = form.querySelector(`input[name="${CSS.escape(name)}"]`);
  if (!input || input.value.trim() === '') return undefined;
  const n = Number(input.value);
  if (!Number.isFinite(n)) return NaN;
  return n;
}

function expected(cond) {
  if ('answerBoolean' in cond) return cond.answerBoolean;
  if ('answerCoding' in cond) return cond.answerCoding?.code;
  if ('answerInteger' in cond) return cond.answerInteger;
  if ('answerDecimal' in cond) return cond.answerDecimal;
  return undefined;
}

// FHIR enableWhen: a question not answered satisfies no condition (as on the server).
function holds(cond, answers) {
  const a = answers.get(cond.question);
  if (a === undefined || Number.isNaN(a)) return false;
  const v = expected(cond);
  switch (cond.operator) {
    case '=':
      return a === v;
    case '!=':
      return a !== v;
    case '>':
      return a > v;
    case '<':
      return a < v;
    case '>=':
      return a >= v;
    case '<=':
      return a <= v;
    case 'exists':
      return v === true;
    default:
      return false;
  }
}

function enabled(item, answers) {
  const conds = item.enableWhen ?? [];
  if (conds.length === 0) return true;
  return item.enableBehavior === 'any' ? conds.some((c) => holds(c, answers)) : conds.every((c) => holds(c, answers));
}

// Walks the items in order: the answers of enabled items only (a hidden item's answer counts
// for nothing, so what depends on it is hidden too).
function collect(form, items) {
  const answers = new Map();
  const shown = new Set();
  for (const item of items) {
    if (!enabled(item, answers)) continue;
    shown.add(item.linkId);
    const a = readAnswer(form, item);
    if (a !== undefined) answers.set(item.linkId, a);
  }
  return { answers, shown };
}

function ageFrom(birthdate) {
  if (!birthdate || !/^\d{4}-\d{2}-\d{2}$/.test(birthdate)) return null;
  const today = new Date(Date.now() + 9 * 3600 * 1000).toISOString().slice(0, 10);
  let age = Number(today.slice(0, 4)) - Number(birthdate.slice(0, 4));
  if (today.slice(5) < birthdate.slice(5)) age -= 1;
  return age >= 0 && age <= 130 ? age : null;
}

function question(item, session) {
  const name = `q-${item.linkId}`;
  const req = item.required ? h('span', { class: 'req' }, ` (${t('j.required')})`) : null;
  let body;
  if (item.type === 'boolean' || item.type === 'choice') {
    const opts =
      item.type === 'boolean'
        ? [
            ['true', t('j.yes')],
            ['false', t('j.no')],
          ]
        : (item.answerOption ?? []).map((o) => [o.valueCoding.code, o.valueCoding.display ?? o.valueCoding.code]);
    body = h(
      'fieldset',
      { class: `answers ${item.type}` },
      h('legend', {}, item.text, req),
      opts.map(([value, text]) =>
        h('label', { class: 'check' }, h('input', { type: 'radio', name, value, required: item.required }), text),
      ),
    );
  } else {
    const min = bound(item, EXT_MIN);
    const max = bound(item, EXT_MAX);
    const input = h('input', {
      type: 'number',
      name,
      inputmode: item.type === 'integer' ? 'numeric' : 'decimal',
      step: item.type === 'integer' ? '1' : '0.1',
      min,
      max,
      required: item.required,
    });
    let hint = min !== undefined && max !== undefined ? t('j.range', { min, max }) : null;
    if (item.linkId === 'age') {
      const age = ageFrom(session?.birthdate);
      if (age !== null) {
        input.value = String(age);
        hint = `${hint ?? ''} ${t('j.ageFromId')}`.trim();
      }
    }
    body = field([item.text, req], input, hint);
  }
  return h('div', { class: 'q', 'data-link-id': item.linkId }, body);
}

function showOnly(form, items) {
  const { shown } = collect(form, items);
  for (const el of form.querySelectorAll('div.q')) {
    const on = shown.has(el.dataset.linkId);
    el.hidden = !on;
    for (const input of el.querySelectorAll('input')) input.disabled = !on;
  }
}

// The problems of the answers, each {linkId, text}; empty when they can be sent.
function problems(form, items) {
  const { answers, shown } = collect(form, items);
  const out = [];
  for (const item of items) {
    if (!shown.has(item.linkId)) continue;
    const a = answers.get(item.linkId);
    if (a === undefined) {
      if (item.required) out.push({ linkId: item.linkId, text: t('j.missing', { q: item.text }) });
      continue;
    }
    if (item.type === 'integer' || item.type === 'decimal') {
      const min = bound(item, EXT_MIN);
      const max = bound(item, EXT_MAX);
      if (Number.isNaN(a) || (item.type === 'integer' && !Number.isInteger(a)) || (min !== undefined && a < min) || (max !== undefined && a > max))
        out.push({ linkId: item.linkId, text: t('j.badNumber', { q: item.text, min: min ?? '', max: max ?? '' }) });
    }
  }
  return out;
}

function response(q, form) {
  const { answers } = collect(form, q.item);
  const item = [];
  for (const it of q.item) {
    if (!answers.has(it.linkId)) continue;
    const a = answers.get(it.linkId);
    let answer;
    if (it.type === 'boolean') answer = { valueBoolean: a };
    else if (it.type === 'choice') answer = { valueCoding: { system: it.answerOption[0].valueCoding.system, code: a } };
    else if (it.type === 'integer') answer = { valueInteger: a };
    else answer = { valueDecimal: a };
    item.push({ linkId: it.linkId, answer: [answer] });
  }
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: q.version ? `${q.url}|${q.version}` : q.url,
    status: 'completed',
    item,
  };
}

export function result(r) {
  const rec = r.recommendation ?? {};
  const book =
    rec.action === 'book'
      ? h(
          'a',
          {
            class: 'button primary',
            href: partHref('booking', { dept: rec.department, mode: rec.mode, qr: r.questionnaire_response }),
            'data-action': 'book',
          },
          t('j.triage.book', { dept: pick(r.department_name) || department(rec.department) }),
        )
      : null;
  return h(
    'section',
    { class: `card triage-result level-${r.level}`, 'data-level': r.level, 'aria-labelledby': 'triage-result-h' },
    h('h3', { id: 'triage-result-h', tabindex: '-1' }, h('span', { class: `level level-${r.level}` }, t(`j.level.${r.level}`)), ' ', pick(r.level_text)),
    r.department ? h('p', { class: 'department' }, t('j.triage.department', { dept: pick(r.department_name) })) : null,
    r.within ? h('p', {}, t('j.triage.within', { n: r.within })) : null,
    r.level === 'green' || r.level === 'yellow'
      ? h('p', { class: 'mode' }, t(rec.mode === 'online' ? 'j.triage.online' : 'j.triage.inPerson'))
      : null,
    h('h4', {}, t('j.triage.reasons')),
    h(
      'ul',
      { class: 'reasons' },
      (r.reasons ?? []).map((x) => h('li', { 'data-rule': x.rule }, pick(x.text), ' ', h('span', { class: 'source' }, `(${x.rule}, ${x.source})`))),
    ),
    rec.action === 'call-119' ? h('p', { class: 'call' }, h('a', { class: 'button danger', href: 'tel:119' }, t('j.triage.call119'))) : null,
    rec.action === 'self-care' ? h('p', {}, t('j.triage.selfCare')) : null,
    book,
    h('p', { class: 'hint' }, t('j.triage.notDiagnosis')),
  );
}

export async function render(ctx) {
  const q = await api(`/api/v1/triage/questionnaire?lang=${lang()}`);
  const items = q.item ?? [];
  const errors = h('div', { class: 'errors' });
  const out = h('div', { class: 'triage-out', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('j.triage.send'));
  const form = h(
    'form',
    { class: 'triage', novalidate: true, 'aria-describedby': 'triage-desc' },
    items.map((it) => question(it, ctx.session)),
    errors,
    submit,
  );
  form.addEventListener('change', () => showOnly(form, items));
  form.addEventListener('input', () => showOnly(form, items));
  showOnly(form, items);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(errors);
    const bad = problems(form, items);
    if (bad.length) {
      errors.append(h('div', { class: 'error', role: 'alert' }, h('p', {}, t('j.triage.fix')), h('ul', {}, bad.map((b) => h('li', {}, b.text)))));
      form.querySelector(`div.q[data-link-id="${CSS.escape(bad[0].linkId)}"] input`)?.focus();
      return;
    }
    submit.disabled = true;
    try {
      const r = await api('/api/v1/me/triage', { method: 'POST', body: response(q, form) });
      clear(out).append(result(r));
      form.hidden = true;
      out.append(
        h('button', { type: 'button', class: 'secondary', onclick: () => { clear(out); form.hidden = false; submit.disabled = false; } }, t('j.triage.again')),
      );
      out.querySelector('#triage-result-h')?.focus();
    } catch (e) {
      submit.disabled = false;
      const reason = e instanceof ApiError ? e.message : String(e);
      errors.append(h('p', { class: 'error', role: 'alert' }, t('error', { reason })));
    }
  });
  return h(
    'section',
    { 'aria-labelledby': 'triage-h', class: 'part triage' },
    h('h3', { id: 'triage-h' }, pick(q.title) || t('j.part.triage')),
    h('p', { class: 'lead', id: 'triage-desc' }, q.description ?? ''),
    h('p', { class: 'hint' }, t('j.triage.emergency'), ' ', h('a', { href: 'tel:119' }, '119')),
    form,
    out,
  );
}
