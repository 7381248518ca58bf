// view-journey.js - the places of the visit journey (issue 7: triage, booking, appointments and
// transport, the wallet). Marked as not yet available until those services land; no data is
// shown that the server did not send.
import { h } from './dom.js';
import { t } from './i18n.js';

const PARTS = ['triage', 'booking', 'appointments', 'wallet'];

export async function render() {
  return h(
    'section',
    { 'aria-labelledby': 'visit-h' },
    h('h2', { id: 'visit-h' }, t('visit.title')),
    h('p', { class: 'lead' }, t('visit.lead')),
    PARTS.map((p) =>
      h('section', { class: 'card pending', 'data-pending': p, 'aria-labelledby': `visit-${p}` },
        h('h3', { id: `visit-${p}` }, t(`visit.${p}`)),
        h('p', {}, t('visit.pending'))),
    ),
  );
}
