// view-wallet.js - my wallet in the regional currency (docs/api.md "Wallet"): the balance and
// what expires when; the statement, newest first, a page at a time ("show more" with the
// `next` cursor); the invoices the city's services sent me, an open one paid with an
// Idempotency-Key made here (crypto.randomUUID, kept for the page so a retry of the same
// payment is answered, never paid twice); and the mandates that let a clinic or pharmacy be
// paid automatically up to a monthly limit: grant and revoke.
import { ApiError, api } from './api.js';
import { field, h } from './dom.js';
import { lang, t } from './i18n.js';
import { at, badge, orgName, postIdempotent, yen } from './visit-common.js';

const PAGE = 10;
const payKeys = new Map(); // invoice id -> the Idempotency-Key of its payment (this page's life)

function entry(e, names) {
  const name = names.get(e.counterparty) ?? e.counterparty ?? '';
  return h(
    'li',
    { class: `entry ${e.amount < 0 ? 'debit' : 'credit'}`, 'data-kind': e.kind, 'data-seq': e.seq },
    h('time', { datetime: e.created }, at(e.created)),
    h('span', { class: 'what' }, t(`j.wallet.kind.${e.kind}`), name ? ` · ${name}` : '', e.memo ? ` · ${e.memo}` : ''),
    h('span', { class: 'amount' }, `${e.amount > 0 ? '+' : ''}${yen(e.amount)}`),
    h('span', { class: 'after' }, t('j.wallet.after', { n: yen(e.balance_after) })),
  );
}

async function namesOf(ids) {
  const names = new Map();
  await Promise.all(
    [...new Set(ids)].filter((id) => typeof id === 'string').map(async (id) => {
      if (id === 'city' || id === 'mint') names.set(id, t('j.wallet.city'));
      else if (id.startsWith('org:')) names.set(id, await orgName(id.slice(4)));
      else if (id.startsWith('person:')) names.set(id, '');
      else names.set(id, await orgName(id));
    }),
  );
  return names;
}

export async function render(ctx) {
  async function act(fn, message) {
    try {
      await fn();
      ctx.flash(message);
    } catch (e) {
      ctx.flash(t('error', { reason: e.message }), true);
    }
    await ctx.rerender();
  }
  const [account, statement, mandates, invoices, appts, pharmacies] = await Promise.all([
    api('/api/v1/wallet/accounts/me'),
    api(`/api/v1/wallet/accounts/me/statement?limit=${PAGE}`),
    api('/api/v1/wallet/mandates'),
    api('/api/v1/wallet/invoices'),
    api('/api/v1/me/appointments'),
    api('/api/v1/pharmacies', { auth: false }),
  ]);
  const invList = invoices.invoices ?? invoices.items ?? [];
  const mList = mandates.mandates ?? [];
  const names = await namesOf([
    ...(statement.items ?? []).map((e) => e.counterparty),
    ...invList.map((i) => i.issuer),
    ...mList.map((m) => m.org),
    ...(appts.items ?? []).map((a) => a.organization),
  ]);

  // balance
  const balance = h(
    'section',
    { class: 'card balance', 'aria-labelledby': 'bal-h' },
    h('h3', { id: 'bal-h' }, t('j.wallet.balance')),
    h('p', { class: 'big', 'data-balance': account.balance }, yen(account.balance)),
    account.available !== account.balance ? h('p', {}, t('j.wallet.available', { n: yen(account.available) })) : null,
    (account.lots ?? []).some((l) => l.expires)
      ? h('ul', { class: 'lots' }, account.lots.filter((l) => l.expires).map((l) => h('li', {}, t('j.wallet.expires', { n: yen(l.remaining), when: at(l.expires) }))))
      : null,
  );

  // invoices
  const invoiceItem = (i) => {
    const li = h('li', { class: `card invoice ${i.status}`, 'data-invoice': i.id, 'data-status': i.status },
      h('h4', {}, yen(i.amount), ' ', badge('inv', i.status)),
      h('p', {}, names.get(i.issuer) ?? i.issuer, i.description ? ` · ${i.description}` : ''),
      h('p', { class: 'hint' }, h('time', { datetime: i.created }, at(i.created)),
        i.status === 'paid' ? ` · ${t(i.mandate ? 'j.wallet.paidByMandate' : 'j.wallet.paidByYou', { when: i.paid ? at(i.paid) : '' })}` : ''));
    if (i.status === 'open') {
      const pay = h('button', { type: 'button', class: 'primary' }, t('j.wallet.pay', { n: yen(i.amount) }));
      pay.addEventListener('click', () => {
        pay.disabled = true;
        if (!payKeys.has(i.id)) payKeys.set(i.id, crypto.randomUUID());
        act(async () => {
          try {
            await postIdempotent(`/api/v1/wallet/invoices/${encodeURIComponent(i.id)}/pay`, payKeys.get(i.id));
          } catch (e) {
            if (e instanceof ApiError && e.status === 409 && /already paid/i.test(e.message)) return;
            throw e;
          }
        }, t('j.wallet.paid'));
      });
      li.append(pay);
    }
    return li;
  };
  const invoiceSection = h('section', { 'aria-labelledby': 'inv-h' }, h('h3', { id: 'inv-h' }, t('j.wallet.invoices')),
    invList.length ? h('ul', { class: 'invoices' }, invList.map(invoiceItem)) : h('p', {}, t('j.wallet.noInvoices')));

  // statement with paging
  const entries = h('ol', { class: 'statement' }, (statement.items ?? []).map((e) => entry(e, names)));
  const more = h('button', { type: 'button', class: 'secondary', hidden: !statement.next }, t('tracker.more'));
  let next = statement.next;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      // next is the server's link to the following page (same origin, this API only)
      const path = String(next).startsWith('/api/v1/wallet/') ? next : `/api/v1/wallet/accounts/me/statement?limit=${PAGE}&before=${encodeURIComponent(next)}`;
      const page = await api(path);
      const pageNames = await namesOf((page.items ?? []).map((e) => e.counterparty));
      for (const e of page.items ?? []) entries.append(entry(e, pageNames));
      next = page.next;
      more.hidden = !next;
    } catch (e) {
      more.after(h('p', { class: 'error', role: 'alert' }, t('error', { reason: e.message })));
    }
    more.disabled = false;
  });
  const statementSection = h('section', { 'aria-labelledby': 'st-h' }, h('h3', { id: 'st-h' }, t('j.wallet.statement')),
    (statement.items ?? []).length ? entries : h('p', {}, t('j.wallet.noEntries')), more);

  // mandates
  const mandateItem = (m) => {
    const li = h('li', { class: `card mandate ${m.status}`, 'data-mandate': m.id, 'data-org': m.org, 'data-status': m.status },
      h('h4', {}, names.get(m.org) ?? m.org, ' ', badge('mandate', m.status)),
      h('p', {}, t(`j.wallet.purpose.${m.purpose}`), ' · ', t('j.wallet.limit', { n: yen(m.limit), used: yen(m.used_this_month ?? 0) })));
    if (m.status === 'active') {
      const revoke = h('form', {}, h('button', { type: 'submit', class: 'danger' }, t('j.wallet.revoke')));
      revoke.addEventListener('submit', (ev) => {
        ev.preventDefault();
        act(() => api(`/api/v1/wallet/mandates/${encodeURIComponent(m.id)}`, { method: 'DELETE' }), t('j.wallet.revoked'));
      });
      li.append(revoke);
    }
    return li;
  };
  // the organisations that may ask for payment: those of my appointments, my invoices' issuers
  // and the pharmacies
  const orgs = new Map();
  for (const a of appts.items ?? []) if (a.organization) orgs.set(a.organization, { name: names.get(a.organization) ?? a.organization, purpose: 'clinic-fees' });
  for (const i of invList) if (i.issuer && !orgs.has(i.issuer)) orgs.set(i.issuer, { name: names.get(i.issuer) ?? i.issuer, purpose: i.purpose ?? 'clinic-fees' });
  for (const p of pharmacies.pharmacies ?? []) if (!orgs.has(p.id)) orgs.set(p.id, { name: lang() === 'ja' ? p.name_ja : p.name_en, purpose: 'pharmacy-fees' });
  const orgSel = h('select', { name: 'org' }, [...orgs.entries()].map(([id, o]) => h('option', { value: id, 'data-purpose': o.purpose }, o.name)));
  const purposeSel = h('select', { name: 'purpose' }, ['clinic-fees', 'pharmacy-fees'].map((p) => h('option', { value: p }, t(`j.wallet.purpose.${p}`))));
  const limit = h('input', { type: 'number', name: 'limit', min: '1', max: '100000000', step: '1', value: '20000', inputmode: 'numeric', required: true });
  const syncPurpose = () => {
    const p = orgSel.selectedOptions[0]?.dataset.purpose;
    if (p) purposeSel.value = p;
  };
  orgSel.addEventListener('change', syncPurpose);
  syncPurpose();
  const grant = h('form', { class: 'card grant-mandate', 'aria-labelledby': 'grant-h' },
    h('h4', { id: 'grant-h' }, t('j.wallet.grantTitle')),
    h('p', { class: 'hint' }, t('j.wallet.grantLead')),
    field(t('j.wallet.org'), orgSel), field(t('j.wallet.purposeLabel'), purposeSel), field(t('j.wallet.limitLabel'), limit, t('j.wallet.limitHint')),
    h('button', { type: 'submit', class: 'primary', disabled: orgs.size === 0 }, t('j.wallet.grant')));
  grant.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Number(limit.value);
    if (!Number.isInteger(n) || n < 1 || n > 100000000) {
      limit.setAttribute('aria-invalid', 'true');
      limit.focus();
      return;
    }
    act(() => api('/api/v1/wallet/mandates', { method: 'POST', body: { org: orgSel.value, purpose: purposeSel.value, limit: n } }), t('j.wallet.granted'));
  });
  const mandateSection = h('section', { 'aria-labelledby': 'mand-h' }, h('h3', { id: 'mand-h' }, t('j.wallet.mandates')),
    mList.length ? h('ul', { class: 'mandates' }, mList.map(mandateItem)) : h('p', {}, t('j.wallet.noMandates')), grant);

  return h(
    'section',
    { 'aria-labelledby': 'wallet-h', class: 'wallet' },
    h('h2', { id: 'wallet-h' }, t('j.wallet.title')),
    h('p', { class: 'lead' }, t('j.wallet.lead')),
    balance,
    invoiceSection,
    mandateSection,
    statementSection,
  );
}
