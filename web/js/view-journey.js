// view-journey.js - the visit journey (issue 7 through the portal): one menu entry, #/visit,
// with its parts in the hash (#/visit?p=triage|booking|appointments|prescriptions): the symptom
// check, booking a free slot for what it recommended, the appointments with their meeting links
// and taxis, and the prescriptions with the chosen pharmacy. The wallet is its own menu entry
// (#/wallet, view-wallet.js). Every part shows only what the server sent.
import { h } from './dom.js';
import { t } from './i18n.js';
import * as appointments from './view-appointments.js';
import * as booking from './view-booking.js';
import * as prescriptions from './view-prescriptions.js';
import * as triage from './view-triage.js';
import { params, partHref } from './visit-common.js';

const PARTS = [
  ['appointments', appointments],
  ['triage', triage],
  ['booking', booking],
  ['prescriptions', prescriptions],
];

function tabs(active) {
  return h(
    'nav',
    { class: 'subnav', 'aria-label': t('j.parts') },
    h(
      'ul',
      {},
      PARTS.map(([name]) =>
        h('li', {}, h('a', { href: partHref(name), 'aria-current': name === active ? 'page' : false, 'data-part': name }, t(`j.part.${name}`))),
      ),
    ),
  );
}

export async function render(ctx) {
  const q = params();
  const [name, part] = PARTS.find(([n]) => n === q.get('p')) ?? PARTS[0];
  const content = await part.render(ctx, q);
  return h(
    'section',
    { 'aria-labelledby': 'visit-h', class: 'journey', 'data-part': name },
    h('h2', { id: 'visit-h' }, t('visit.title')),
    tabs(name),
    content,
  );
}
