// view-family.js - family: the people who may act for me and with which rights, the people I
// act for, inviting a family member with a code (GET/POST/PATCH/DELETE /api/v1/me/family, see
// docs/api.md "Family"), and acting for someone. Adding a family member never names an e-mail
// address: the citizen gives the code to the family member in person, who accepts it signed
// in, so the portal cannot be used to find out who has an account. Every change is on both
// people's access logs. Acting for someone is a new sign-in in which the provider's approval
// page offers the people one may act for (docs/internals/oauth.md); the token then acts for
// them within the rights, and the portal shows their record.
import { api, ApiError } from './api.js';
import { signIn } from './auth.js';
import { field, h } from './dom.js';
import { lang, t, when } from './i18n.js';

const RIGHTS = ['see_record', 'see_alerts', 'book_appointments', 'manage_consents', 'everything'];
const FAMILY = '/api/v1/me/family';

function rightsText(rights) {
  return (rights ?? []).map((r) => t(`family.rightName.${r}`)).join(', ');
}

// Checkboxes for rights; "everything" alone (the server refuses it with others).
function rightsPicker(prefix, chosen = []) {
  const boxes = RIGHTS.map((r) => h('input', { type: 'checkbox', name: 'rights', value: r, id: `${prefix}-${r}`, checked: chosen.includes(r) }));
  const all = boxes.find((b) => b.value === 'everything');
  for (const b of boxes)
    b.addEventListener('change', () => {
      if (b === all && all.checked) for (const o of boxes) if (o !== all) o.checked = false;
      if (b !== all && b.checked) all.checked = false;
    });
  const el = h('fieldset', { class: 'rights-picker' }, h('legend', {}, t('family.chooseRights')),
    boxes.map((b) => h('label', { for: b.id, class: 'check' }, b, ' ', t(`family.rightName.${b.value}`))));
  return { el, value: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

async function act(ctx, fn, done) {
  try {
    await fn();
    ctx.flash(done);
  } catch (e) {
    ctx.flash(t('family.failed', { reason: e.message }), true);
  }
  await ctx.rerender();
}

function delegateItem(ctx, l) {
  const picker = rightsPicker(`l-${l.id}`, l.rights);
  return h(
    'li',
    { class: 'card link', 'data-link': l.id, 'data-person': l.person.id },
    h('p', {}, h('strong', {}, l.person.name), ' ', h('span', { class: 'rights' }, rightsText(l.rights))),
    h('p', { class: 'hint' }, t('family.since', { from: when(l.valid_from, false) }), l.valid_until ? ` ${t('family.until', { until: when(l.valid_until, false) })}` : ''),
    l.kind === 'guardian'
      ? h('p', { class: 'hint' }, t('family.guardian'))
      : h(
          'form',
          {
            class: 'change-rights',
            onsubmit: (ev) => {
              ev.preventDefault();
              act(ctx, () => api(`${FAMILY}/links/${encodeURIComponent(l.id)}`, { method: 'PATCH', body: { rights: picker.value() } }), t('family.changed'));
            },
          },
          picker.el,
          h('p', { class: 'actions' },
            h('button', { type: 'submit' }, t('family.change')),
            h('button', { type: 'button', class: 'danger', onclick: () => act(ctx, () => api(`${FAMILY}/links/${encodeURIComponent(l.id)}`, { method: 'DELETE' }), t('family.removed')) }, t('family.remove'))),
        ),
  );
}

function actingItem(ctx, l) {
  return h(
    'li',
    { class: 'card link', 'data-link': l.id, 'data-person': l.person.id },
    h('p', {}, h('strong', {}, l.person.name), ' ', h('span', { class: 'rights' }, rightsText(l.rights))),
    h(
      'p',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', onclick: () => signIn(lang(), 'citizen') }, t('family.actFor', { name: l.person.name })),
      l.kind === 'guardian'
        ? null
        : h('button', { type: 'button', class: 'danger', onclick: () => act(ctx, () => api(`${FAMILY}/links/${encodeURIComponent(l.id)}`, { method: 'DELETE' }), t('family.stepped')) }, t('family.stepDown')),
    ),
  );
}

function inviteForm(ctx) {
  const picker = rightsPicker('inv');
  const until = h('input', { type: 'date', name: 'valid_until' });
  return h(
    'form',
    {
      class: 'invite',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = { rights: picker.value() };
        if (until.value) body.valid_until = until.value;
        try {
          const inv = await api(`${FAMILY}/invitations`, { method: 'POST', body });
          ctx.flash(t('family.invited', { code: inv.code_display, expires: when(inv.expires_at) }));
        } catch (e) {
          ctx.flash(t('family.failed', { reason: e.message }), true);
        }
        await ctx.rerender();
      },
    },
    h('h4', {}, t('family.invite')),
    h('p', { class: 'hint' }, t('family.inviteHint')),
    picker.el,
    field(t('family.lastDay'), until, t('family.lastDayHint')),
    h('button', { type: 'submit', class: 'primary' }, t('family.makeCode')),
  );
}

function acceptForm(ctx) {
  const code = h('input', { name: 'code', required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
  return h(
    'form',
    {
      class: 'accept',
      onsubmit: (ev) => {
        ev.preventDefault();
        act(ctx, () => api(`${FAMILY}/accept`, { method: 'POST', body: { code: code.value } }), t('family.accepted'));
      },
    },
    h('h4', {}, t('family.accept')),
    field(t('family.code'), code, t('family.codeHint')),
    h('button', { type: 'submit' }, t('family.acceptButton')),
  );
}

async function links(ctx) {
  let fam;
  try {
    fam = await api(FAMILY);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403 && ctx.principal?.kind === 'delegate')
      return h('section', { class: 'family-links', 'aria-labelledby': 'links-h' }, h('h3', { id: 'links-h' }, t('family.links')),
        h('p', { 'data-acting-for': ctx.principal.acting_for }, t('family.actingNow')),
        h('button', { type: 'button', onclick: () => signIn(lang(), 'citizen') }, t('family.switchBack')));
    return h('p', { class: 'error', role: 'alert' }, t('family.failed', { reason: e.message }));
  }
  return h(
    'section',
    { class: 'family-links', 'aria-labelledby': 'links-h' },
    h('h3', { id: 'links-h' }, t('family.links')),
    h('h4', {}, t('family.delegates')),
    fam.delegates?.length ? h('ul', { class: 'links delegates' }, fam.delegates.map((l) => delegateItem(ctx, l))) : h('p', {}, t('family.noDelegates')),
    fam.invitations?.length
      ? [h('h4', {}, t('family.pending')),
          h('ul', { class: 'invitations' }, fam.invitations.map((i) => h('li', { class: 'card', 'data-invitation': i.id },
            h('span', {}, rightsText(i.rights)), ' ', h('span', { class: 'hint' }, t('family.expires', { at: when(i.expires_at) })), ' ',
            h('button', { type: 'button', onclick: () => act(ctx, () => api(`${FAMILY}/invitations/${encodeURIComponent(i.id)}`, { method: 'DELETE' }), t('family.cancelled')) }, t('family.cancel')))))]
      : null,
    inviteForm(ctx),
    h('h4', {}, t('family.acting')),
    fam.acting_for?.length ? h('ul', { class: 'links acting' }, fam.acting_for.map((l) => actingItem(ctx, l))) : h('p', {}, t('family.noActing')),
    acceptForm(ctx),
  );
}

export async function render(ctx) {
  return h(
    'section',
    { 'aria-labelledby': 'family-h' },
    h('h2', { id: 'family-h' }, t('family.title')),
    h('p', { class: 'lead' }, t('family.lead')),
    await links(ctx),
    h('h3', {}, t('family.rights')),
    h('ul', { class: 'rights' }, RIGHTS.map((r) => h('li', { 'data-right': r }, t(`family.right.${r}`)))),
  );
}
