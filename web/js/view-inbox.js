// view-inbox.js - alerts and advice with their reasons (the home doctor's Communications: the
// rule that fired, its guideline, the explanation with the numbers, the advice, the readings
// used), and the notices of the inbox (city services, break-glass reads, re-consent requests).
import { api } from './api.js';
import { h } from './dom.js';
import { pick, t, when } from './i18n.js';

function alert(a) {
  return h(
    'article',
    { class: `card alert ${a.priority ?? ''}`, 'data-rule': a.rule },
    h('h4', {}, h('time', { datetime: a.sent }, when(a.sent)), ' ', a.priority === 'urgent' ? '⚠ ' : '', pick(a.text).split('\n')[0]),
    h('p', { class: 'explanation' }, pick(a.text)),
    h('p', { class: 'rule' }, t('inbox.rule', { rule: a.rule })),
    a.guideline ? h('p', { class: 'source' }, t('inbox.guideline', { text: a.guideline })) : null,
    a.advice?.length ? [h('h5', {}, t('inbox.advice')), h('ul', {}, a.advice.map((x) => h('li', {}, pick(x))))] : null,
    a.basis?.length ? h('p', { class: 'hint' }, t('inbox.basis', { n: a.basis.length })) : null,
  );
}

function item(i) {
  let text = i.text ? pick(i.text) : i.detail;
  if (i.kind === 'break_glass_notice') text = `${t('inbox.breakGlass')} ${i.detail ?? ''}`;
  if (i.kind === 'reconsent') text = t('consents.reconsentItem', { purpose: i.purpose, from: i.from_version, to: i.to_version });
  return h(
    'li',
    { class: `card item ${i.kind}`, 'data-kind': i.kind },
    h('time', { datetime: i.created_at }, when(i.created_at)),
    ' ',
    h('span', {}, text),
    i.kind === 'reconsent' && !i.resolved_at ? [' ', h('a', { href: '#/consents' }, t('nav.consents'))] : null,
    i.resolved_at ? h('span', { class: 'resolved' }, ` (${t('inbox.resolved')})`) : null,
  );
}

export async function render() {
  const inbox = await api('/api/v1/me/inbox');
  const alerts = inbox.alerts ?? [];
  const items = inbox.items ?? [];
  return h(
    'section',
    { 'aria-labelledby': 'inbox-h' },
    h('h2', { id: 'inbox-h' }, t('inbox.title')),
    h('h3', {}, t('inbox.alerts')),
    alerts.length ? alerts.map(alert) : h('p', {}, t('inbox.noAlerts')),
    h('h3', {}, t('inbox.items')),
    items.length ? h('ul', { class: 'items' }, items.map(item)) : h('p', {}, t('inbox.noItems')),
  );
}
