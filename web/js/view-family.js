// view-family.js - family: what each right of a family link lets a family member do (the
// rules of docs/internals/consent.md). Listing the citizen's own links needs an endpoint the
// regional ID does not have yet: the place is marked, nothing is made up.
import { h } from './dom.js';
import { t } from './i18n.js';

const RIGHTS = ['see_record', 'see_alerts', 'book_appointments', 'manage_consents', 'everything'];

export async function render() {
  return h(
    'section',
    { 'aria-labelledby': 'family-h' },
    h('h2', { id: 'family-h' }, t('family.title')),
    h('p', { class: 'lead' }, t('family.lead')),
    h('h3', {}, t('family.links')),
    h('p', { class: 'pending', 'data-pending': 'family-links' }, t('family.notYet')),
    h('h3', {}, t('family.rights')),
    h('ul', { class: 'rights' }, RIGHTS.map((r) => h('li', { 'data-right': r }, t(`family.right.${r}`)))),
  );
}
