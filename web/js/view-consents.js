// view-consents.js - the citizen's consents: the city's purposes with their explanations (the
// text's SHA-256 recomputed here before "agree" is offered), granting with that explanation as
// evidence, narrowing, withdrawing, the re-consent inbox and the signed receipts to download.
import { api, loadNames, nameOf } from './api.js';
import { h } from './dom.js';
import { category, pick, t, when } from './i18n.js';

// The explanation hash of docs/internals/consent.md: SHA-256 of the tag and, each after one
// 0x00 byte, code, version, title ja, explanation ja, title en, explanation en, categories,
// recipients (canonical comma lists), legal basis, retention days.
export async function explanationHash(p) {
  const parts = [
    p.code,
    String(p.version),
    p.title?.ja ?? '',
    p.explanation?.ja ?? '',
    p.title?.en ?? '',
    p.explanation?.en ?? '',
    (p.categories ?? []).join(','),
    (p.recipients ?? []).join(','),
    p.legal_basis ?? '',
    String(p.retention_days),
  ];
  const enc = new TextEncoder();
  const chunks = [enc.encode('cityos.consent.explanation.v1')];
  for (const part of parts) chunks.push(new Uint8Array([0]), enc.encode(part));
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function evidence(hash, shownAt) {
  const now = Date.now();
  return { explanation_hash: hash, shown_at: rfc3339(Math.min(shownAt, now)), agreed_at: rfc3339(now), channel: 'portal' };
}

function checkboxes(name, cats, checked) {
  return h(
    'fieldset',
    { class: 'cats' },
    h('legend', {}, t('consents.categories')),
    cats.map((c) =>
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: c, checked: checked.includes(c) }), category(c)),
    ),
  );
}

function chosen(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

// The recipients' public names (loadNames in render), an id only where none is known.
function recipientNames(ids) {
  if (!ids?.length) return null;
  return h('ul', { class: 'recipient-names' }, ids.map((id) => {
    const n = nameOf(id);
    return h('li', { 'data-recipient': id }, n ? pick(n.name) : h('code', {}, id));
  }));
}

// One purpose version as the citizen reads it; verified says whether its hash checked out.
function explanation(p, verified) {
  return [
    h('p', { class: 'explanation' }, pick(p.explanation)),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, t('consents.categories')),
      h('dd', {}, p.categories.map(category).join('、')),
      h('dt', {}, t('consents.recipients')),
      h('dd', { class: 'recipients' }, t('consents.recipientsAll', { n: p.recipients.length }), recipientNames(p.recipients)),
      h('dt', {}, t('consents.legal')),
      h('dd', {}, p.legal_basis),
      h('dt', {}, t('consents.retentionLabel')),
      h('dd', {}, t('consents.retention', { n: p.retention_days })),
    ),
    h('p', { class: verified ? 'verified' : 'error', role: verified ? null : 'alert' }, t(verified ? 'consents.hashOk' : 'consents.hashBad')),
  ];
}

function download(receipt) {
  const blob = new Blob([receipt.jws], { type: 'application/jose' });
  const a = h('a', { href: URL.createObjectURL(blob), download: `consent-receipt-${receipt.id}.jws`, class: 'receipt' },
    t('consents.download', { action: receipt.action, when: when(receipt.created_at) }));
  return a;
}

export async function render(ctx) {
  const shownAt = Date.now();
  const [purposes, history, mine, inbox] = await Promise.all([
    api('/api/v1/purposes', { auth: false }),
    api('/api/v1/purposes?history=true', { auth: false }),
    api('/api/v1/me/consents'),
    api('/api/v1/me/inbox'),
  ]);
  await loadNames([...history.purposes.flatMap((p) => p.recipients ?? []), ...mine.consents.map((c) => c.recipient?.id)]);
  const version = (code, v) => history.purposes.find((p) => p.code === code && p.version === v);
  const verified = new Map();
  for (const p of history.purposes) verified.set(`${p.code}@${p.version}`, (await explanationHash(p)) === p.explanation_hash);
  const ok = (p) => verified.get(`${p.code}@${p.version}`) === true;

  async function act(fn, message) {
    try {
      await fn();
      ctx.flash(message);
    } catch (e) {
      ctx.flash(t('error', { reason: e.message }), true);
    }
    await ctx.rerender();
  }

  const active = mine.consents.filter((c) => c.status === 'active');
  const reconsents = (inbox.items ?? []).filter((i) => i.kind === 'reconsent' && !i.resolved_at);

  const inboxSection = reconsents.length
    ? h(
        'section',
        { 'aria-labelledby': 'reconsent-h', class: 'reconsent' },
        h('h3', { id: 'reconsent-h' }, t('consents.inbox')),
        reconsents.map((item) => {
          const p = version(item.purpose, item.to_version);
          if (!p) return null;
          const form = h('form', { class: 'card' });
          form.append(
            h('p', {}, t('consents.reconsentItem', { purpose: pick(p.title), from: item.from_version, to: item.to_version })),
            explanation(p, ok(p)),
            h('button', { type: 'submit', class: 'primary', disabled: !ok(p) }, t('consents.accept')),
          );
          form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            act(() => api(`/api/v1/me/inbox/${encodeURIComponent(item.id)}/accept`, { method: 'POST', body: { evidence: evidence(p.explanation_hash, shownAt) } }), t('consents.granted'));
          });
          return form;
        }),
      )
    : null;

  const purposeSection = h(
    'section',
    { 'aria-labelledby': 'purposes-h' },
    h('h3', { id: 'purposes-h' }, t('consents.purposes')),
    purposes.purposes.map((p) => {
      const has = active.some((c) => c.purpose.code === p.code);
      const card = h('article', { class: 'card purpose', 'data-purpose': p.code },
        h('h4', {}, pick(p.title), ' ', h('span', { class: 'version' }, t('consents.version', { n: p.version }))),
        explanation(p, ok(p)));
      if (has) {
        card.append(h('p', { class: 'granted' }, t('consents.alreadyGranted')));
        return card;
      }
      const form = h('form', { class: 'grant' }, checkboxes(`cat-${p.code}`, p.categories, p.categories),
        h('button', { type: 'submit', class: 'primary', disabled: !ok(p) }, t('consents.grant')));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const categories = chosen(form, `cat-${p.code}`);
        act(() => api('/api/v1/me/consents', {
          method: 'POST',
          body: {
            purpose: { code: p.code, version: p.version },
            recipient: { kind: 'purpose' },
            categories,
            actions: ['read'],
            evidence: evidence(p.explanation_hash, shownAt),
          },
        }), t('consents.granted'));
      });
      card.append(form);
      return card;
    }),
  );

  const mineSection = h(
    'section',
    { 'aria-labelledby': 'mine-h' },
    h('h3', { id: 'mine-h' }, t('consents.mine')),
    mine.consents.length === 0 ? h('p', {}, t('consents.none')) : null,
    h('ul', { class: 'consents' }, mine.consents.map((c) => {
      const p = version(c.purpose.code, c.purpose.version);
      const title = p ? pick(p.title) : c.purpose.code;
      const li = h('li', { class: `card consent ${c.status}`, 'data-consent': c.id, 'data-purpose': c.purpose.code },
        h('h4', {}, title, ' ', h('span', { class: 'version' }, t('consents.version', { n: c.purpose.version })), ' ',
          h('span', { class: `status ${c.status}` }, t(`consents.status.${c.status}`))),
        h('p', {}, c.categories.map(category).join('、')),
        c.recipient?.id ? h('p', { class: 'recipient', 'data-recipient': c.recipient.id }, t('consents.to', { who: nameOf(c.recipient.id) ? pick(nameOf(c.recipient.id).name) : c.recipient.id })) : null,
        h('p', { class: 'period' }, t('consents.period', { from: when(c.period?.start, false), to: c.period?.end ? when(c.period.end, false) : t('consents.open') })));
      if (c.status === 'active' && p) {
        const narrow = h('form', { class: 'narrow' }, checkboxes(`n-${c.id}`, c.categories, c.categories),
          h('button', { type: 'submit' }, t('consents.narrow')));
        narrow.addEventListener('submit', (ev) => {
          ev.preventDefault();
          act(() => api(`/api/v1/me/consents/${encodeURIComponent(c.id)}`, {
            method: 'PATCH',
            body: { categories: chosen(narrow, `n-${c.id}`), evidence: evidence(p.explanation_hash, shownAt) },
          }), t('consents.narrowed'));
        });
        const withdraw = h('form', { class: 'withdraw' }, h('p', { class: 'hint' }, t('consents.withdrawConfirm')),
          h('button', { type: 'submit', class: 'danger' }, t('consents.withdraw')));
        withdraw.addEventListener('submit', (ev) => {
          ev.preventDefault();
          act(() => api(`/api/v1/me/consents/${encodeURIComponent(c.id)}/withdraw`, {
            method: 'POST',
            body: { evidence: evidence(p.explanation_hash, shownAt) },
          }), t('consents.withdrawn'));
        });
        li.append(narrow, withdraw);
      }
      const receipts = h('div', { class: 'receipts' });
      const show = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, t('consents.receipts'));
      show.addEventListener('click', async () => {
        show.disabled = true;
        try {
          const r = await api(`/api/v1/me/consents/${encodeURIComponent(c.id)}/receipts`);
          receipts.append(h('ul', {}, r.receipts.map((x) => h('li', {}, download(x)))));
          show.setAttribute('aria-expanded', 'true');
        } catch (e) {
          receipts.append(h('p', { class: 'error', role: 'alert' }, t('error', { reason: e.message })));
        }
      });
      li.append(show, receipts);
      return li;
    })),
  );

  return h('section', { 'aria-labelledby': 'consents-h' },
    h('h2', { id: 'consents-h' }, t('consents.title')),
    h('p', { class: 'lead' }, t('consents.lead')),
    inboxSection, mineSection, purposeSection);
}

