// view-tracker.js - "who saw my data": the citizen's audit trail (/api/v1/me/access-log) with
// filters (period, kind of data, outcome, organisation), the counts per organisation over the
// whole filtered period, and the accesses page by page.
import { api } from './api.js';
import { clear, field, h } from './dom.js';
import { category, t, when } from './i18n.js';

const CATEGORIES = ['vitals', 'checkups', 'claims', 'medications', 'lab_results', 'genome', 'lifelog', 'care_records',
  'school_health', 'maternal_child', 'location', 'payments', 'contact', 'clinical', 'alerts', 'appointments'];

let filters = {}; // kept while the tab lives, so coming back shows the same selection

function query(f, cursor) {
  const q = new URLSearchParams();
  if (f.from) q.set('from', new Date(`${f.from}T00:00:00+09:00`).toISOString());
  if (f.until) q.set('until', new Date(`${f.until}T00:00:00+09:00`).toISOString());
  if (f.category) q.set('category', f.category);
  if (f.decision) q.set('decision', f.decision);
  if (f.org) q.set('org', f.org);
  q.set('limit', '50');
  if (cursor) q.set('cursor', cursor);
  return `/api/v1/me/access-log?${q}`;
}

function who(w) {
  const name = w.name || w.id || w.kind;
  const bits = [name];
  if (w.role) bits.push(w.role);
  if (w.org?.name) bits.push(w.org.name);
  if (w.client?.name) bits.push(w.client.name);
  return bits.join(' · ');
}

function entry(e) {
  return h(
    'li',
    { class: `access ${e.decision}`, 'data-decision': e.decision, 'data-resource': e.what?.resourceType ?? '' },
    h('time', { datetime: e.time }, when(e.time)),
    h('span', { class: `decision ${e.decision}` }, t(e.decision === 'permit' ? 'tracker.permit' : 'tracker.deny')),
    h('span', { class: 'who' }, who(e.who ?? {})),
    h('span', { class: 'what' }, [t(`action.${e.what?.action}`), e.what?.resourceType, e.what?.category ? `(${category(e.what.category)})` : ''].filter(Boolean).join(' ')),
    h('span', { class: 'why' }, t('tracker.why', { why: [e.why?.purpose, e.why?.decidedBy, e.why?.reason].filter(Boolean).join(' · ') })),
  );
}

function countsTable(counts) {
  return h(
    'table',
    { class: 'counts' },
    h('caption', {}, t('tracker.counts')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('tracker.org')), h('th', { scope: 'col' }, t('tracker.permit')), h('th', { scope: 'col' }, t('tracker.deny')), h('th', { scope: 'col' }, t('tracker.total')))),
    h('tbody', {}, counts.map((c) =>
      h('tr', { 'data-org': c.org?.id ?? '' }, h('th', { scope: 'row' }, c.org ? c.org.name || c.org.id : t('tracker.noOrg')), h('td', {}, c.permit), h('td', {}, c.deny), h('td', {}, c.total)))),
  );
}

export async function render(ctx) {
  const first = await api(query(filters));
  const orgs = first.counts.filter((c) => c.org).map((c) => c.org);
  const sel = (name, options, value) =>
    h('select', { name }, h('option', { value: '' }, t('tracker.any')), options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
  const form = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'filters-h' },
    h('h3', { id: 'filters-h' }, t('tracker.filters')),
    field(t('tracker.from'), h('input', { type: 'date', name: 'from', value: filters.from ?? '' })),
    field(t('tracker.until'), h('input', { type: 'date', name: 'until', value: filters.until ?? '' })),
    field(t('tracker.category'), sel('category', CATEGORIES.map((c) => [c, category(c)]), filters.category)),
    field(t('tracker.decision'), sel('decision', [['permit', t('tracker.permit')], ['deny', t('tracker.deny')]], filters.decision)),
    field(t('tracker.org'), sel('org', orgs.map((o) => [o.id, o.name || o.id]), filters.org)),
    h('button', { type: 'submit' }, t('tracker.apply')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
    ctx.rerender();
  });
  const list = h('ol', { class: 'accesses' }, first.items.map(entry));
  const more = h('div', { class: 'more' });
  const addMore = (next) => {
    clear(more);
    if (!next) return;
    const cursor = new URL(next, window.location.origin).searchParams.get('cursor');
    const b = h('button', { type: 'button', class: 'secondary' }, t('tracker.more'));
    b.addEventListener('click', async () => {
      b.disabled = true;
      const page = await api(query(filters, cursor));
      list.append(...page.items.map(entry));
      addMore(page.next);
    });
    more.append(b);
  };
  addMore(first.next);
  return h(
    'section',
    { 'aria-labelledby': 'tracker-h' },
    h('h2', { id: 'tracker-h' }, t('tracker.title')),
    h('p', { class: 'lead' }, t('tracker.lead')),
    form,
    countsTable(first.counts),
    h('h3', {}, t('tracker.entries')),
    first.items.length === 0 ? h('p', {}, t('tracker.none')) : null,
    list,
    more,
  );
}
