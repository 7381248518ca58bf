// view-city.js - the city administrator (a practitioner of the city office in the
// `city_administrator` role, with `cityos.admin` in the token: id_principal_require_admin):
// the purposes and every version of each (GET /api/v1/purposes?history=true, the explanation
// hash recomputed here), publishing a new version (POST /api/v1/admin/purposes), the
// organisations and services the purposes name (their kind and public name from
// GET /api/v1/recipient-names, then the detail from GET /api/v1/admin/organisations/{id} or
// /api/v1/admin/clients/{id}, whichever the id is: no lookup that 404s), the ledger's verification (GET /api/v1/wallet/verify), and a few
// key series of the Prometheus text at /metrics.
import { api, loadNames, nameOf } from './api.js';
import { field, h } from './dom.js';
import { category, pick, t, when } from './i18n.js';
import { explanationHash } from './view-consents.js';

const CATEGORIES = ['vitals', 'checkups', 'claims', 'medications', 'lab_results', 'genome', 'lifelog', 'care_records',
  'school_health', 'maternal_child', 'location', 'payments', 'contact', 'clinical', 'alerts', 'appointments'];
const BASES = ['consent', 'law', 'vital_interest', 'public_health', 'academic_research'];

function failed(e) {
  return h('p', { class: 'error', role: 'alert' }, t('city.failed', { reason: e.message }));
}

// ---- purposes ---------------------------------------------------------------------------------

async function purposes(ctx, all) {
  const codes = [...new Set(all.map((p) => p.code))].sort();
  const hashes = new Map();
  for (const p of all) hashes.set(`${p.code}@${p.version}`, (await explanationHash(p)) === p.explanation_hash);
  return h(
    'section',
    { 'aria-labelledby': 'purposes-h' },
    h('h3', { id: 'purposes-h' }, t('city.purposes')),
    codes.map((code) => {
      const versions = all.filter((p) => p.code === code).sort((a, b) => b.version - a.version);
      return h(
        'article',
        { class: 'card purpose-admin', 'data-purpose': code },
        h('h4', {}, `${pick(versions[0].title)} (${code})`),
        h(
          'table',
          {},
          h('caption', {}, t('city.versions', { n: versions.length })),
          h('thead', {}, h('tr', {}, ['version', 'published', 'change', 'categories', 'recipients', 'hash'].map((k) => h('th', { scope: 'col' }, t(`city.col.${k}`))))),
          h(
            'tbody',
            {},
            versions.map((p) =>
              h(
                'tr',
                { 'data-version': p.version, class: p.current ? 'current' : '' },
                h('td', {}, String(p.version), p.current ? ` (${t('city.current')})` : ''),
                h('td', {}, when(p.published_at), h('br', {}), h('span', { class: 'hint' }, p.published_by ?? '')),
                h('td', {}, p.change ?? ''),
                h('td', {}, (p.categories ?? []).map(category).join(', ')),
                h('td', {}, String((p.recipients ?? []).length)),
                h('td', { class: hashes.get(`${p.code}@${p.version}`) ? 'verified' : 'error' }, hashes.get(`${p.code}@${p.version}`) ? t('city.hashOk') : t('city.hashBad')),
              ),
            ),
          ),
        ),
      );
    }),
    publishForm(ctx, all),
  );
}

function publishForm(ctx, all) {
  const current = new Map(all.filter((p) => p.current).map((p) => [p.code, p]));
  const code = h('input', { name: 'code', required: true, pattern: '[a-z0-9_\\-]{1,64}', list: 'purpose-codes', autocomplete: 'off' });
  const titleJa = h('input', { name: 'title_ja', required: true, maxlength: 200 });
  const titleEn = h('input', { name: 'title_en', required: true, maxlength: 200, lang: 'en' });
  const textJa = h('textarea', { name: 'explanation_ja', required: true, rows: 4, maxlength: 20000 });
  const textEn = h('textarea', { name: 'explanation_en', required: true, rows: 4, maxlength: 20000, lang: 'en' });
  const recipients = h('textarea', { name: 'recipients', rows: 3 });
  const basis = h('select', { name: 'legal_basis' }, BASES.map((b) => h('option', { value: b }, t(`city.basis.${b}`))));
  const retention = h('input', { name: 'retention_days', type: 'number', min: 1, max: 36500, step: 1, value: 1825, required: true, inputmode: 'numeric' });
  const boxes = CATEGORIES.map((c) => h('input', { type: 'checkbox', name: 'categories', value: c, id: `pub-cat-${c}` }));
  const fill = () => {
    const p = current.get(code.value.trim());
    if (!p) return;
    titleJa.value = p.title?.ja ?? '';
    titleEn.value = p.title?.en ?? '';
    textJa.value = p.explanation?.ja ?? '';
    textEn.value = p.explanation?.en ?? '';
    recipients.value = (p.recipients ?? []).join('\n');
    basis.value = p.legal_basis;
    retention.value = p.retention_days;
    for (const b of boxes) b.checked = (p.categories ?? []).includes(b.value);
  };
  code.addEventListener('change', fill);
  return h(
    'form',
    {
      class: 'publish',
      'aria-labelledby': 'publish-h',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = {
          code: code.value.trim(),
          title: { ja: titleJa.value.trim(), en: titleEn.value.trim() },
          explanation: { ja: textJa.value.trim(), en: textEn.value.trim() },
          categories: boxes.filter((b) => b.checked).map((b) => b.value),
          recipients: recipients.value.split(/[\s,]+/).filter(Boolean),
          legal_basis: basis.value,
          retention_days: Number(retention.value),
        };
        try {
          const p = await api('/api/v1/admin/purposes', { method: 'POST', body });
          ctx.flash(t('city.published', { code: p.code, version: p.version }));
        } catch (e) {
          ctx.flash(t('city.publishFailed', { reason: e.message }), true);
        }
        await ctx.rerender();
      },
    },
    h('h4', { id: 'publish-h' }, t('city.publish')),
    h('p', { class: 'hint' }, t('city.publishHint')),
    h('datalist', { id: 'purpose-codes' }, [...current.keys()].map((c) => h('option', { value: c }))),
    field(t('city.code'), code, t('city.codeHint')),
    field(t('city.titleJa'), titleJa),
    field(t('city.titleEn'), titleEn),
    field(t('city.textJa'), textJa),
    field(t('city.textEn'), textEn),
    h('fieldset', { class: 'categories' }, h('legend', {}, t('consents.categories')),
      boxes.map((b) => h('label', { for: b.id, class: 'check' }, b, ' ', category(b.value)))),
    field(t('city.recipients'), recipients, t('city.recipientsHint')),
    field(t('city.basis'), basis),
    field(t('city.retention'), retention),
    h('button', { type: 'submit', class: 'primary' }, t('city.publishButton')),
  );
}

// ---- the organisations and services the purposes name ----------------------------------------

async function recipient(id) {
  const n = nameOf(id);
  if (n?.kind === 'organisation') {
    const o = await api(`/api/v1/admin/organisations/${encodeURIComponent(id)}`);
    return { id, kind: t('city.organisation', { kind: o.kind }), name: pick({ ja: o.name_ja, en: o.name_en || o.name_ja }), detail: o.district ?? '' };
  }
  if (n?.kind === 'service') {
    const c = await api(`/api/v1/admin/clients/${encodeURIComponent(id)}`);
    return { id, kind: t('city.client', { kind: c.kind }), name: c.name, detail: c.scopes ?? '' };
  }
  return { id, kind: t('city.unknown'), name: '', detail: '' };
}

async function services(all) {
  const ids = [...new Set(all.filter((p) => p.current).flatMap((p) => p.recipients ?? []))];
  let rows;
  try {
    await loadNames(ids);
    rows = await Promise.all(ids.map(recipient));
  } catch (e) {
    return h('section', { 'aria-labelledby': 'svc-h' }, h('h3', { id: 'svc-h' }, t('city.services')), failed(e));
  }
  return h(
    'section',
    { 'aria-labelledby': 'svc-h' },
    h('h3', { id: 'svc-h' }, t('city.services')),
    h('p', { class: 'hint' }, t('city.servicesHint')),
    h(
      'table',
      { class: 'services' },
      h('thead', {}, h('tr', {}, ['name', 'kind', 'detail', 'id'].map((k) => h('th', { scope: 'col' }, t(`city.svc.${k}`))))),
      h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id }, h('td', {}, r.name), h('td', {}, r.kind), h('td', { class: 'detail' }, r.detail), h('td', {}, h('code', {}, r.id))))),
    ),
  );
}

// ---- verification and metrics -----------------------------------------------------------------

async function verification() {
  let ledger;
  try {
    const r = await api('/api/v1/wallet/verify');
    ledger = h(
      'p',
      { class: r.ok ? 'flash' : 'error', 'data-ledger': r.ok ? 'ok' : 'broken', role: r.ok ? 'status' : 'alert' },
      r.ok ? t('city.ledgerOk', { entries: r.entries ?? 0, accounts: r.accounts ?? 0, issued: r.issued ?? 0 }) : t('city.ledgerBad', { detail: r.detail ?? '' }),
    );
  } catch (e) {
    ledger = failed(e);
  }
  return h(
    'section',
    { 'aria-labelledby': 'verify-h' },
    h('h3', { id: 'verify-h' }, t('city.verification')),
    ledger,
    await trailCheck(),
  );
}

// The audit trail's integrity (every citizen's hash chain and the signed checkpoints): the last
// check's result, and a button that starts one (POST) and follows it until it is done.
function trailResult(v) {
  if (v.state === 'never') return h('p', { 'data-trail': 'never' }, t('city.trailNever'));
  if (v.state === 'running') return h('p', { 'data-trail': 'running', role: 'status' }, t('city.trailRunning', { started: when(v.started) }));
  if (v.state === 'failed') return h('p', { class: 'error', 'data-trail': 'failed', role: 'alert' }, t('city.trailFailed', { error: v.error ?? '' }));
  if (v.ok)
    return h('p', { class: 'flash', 'data-trail': 'ok', role: 'status' },
      t('city.trailOk', { chains: v.chains, entries: v.entries, checkpoints: v.checkpoints, finished: when(v.finished) }));
  return h('p', { class: 'error', 'data-trail': 'broken', role: 'alert' }, t('city.trailBad', { detail: v.detail ?? '', finished: when(v.finished) }));
}

async function trailCheck() {
  const out = h('div', { 'aria-live': 'polite' });
  const show = (v) => out.replaceChildren(trailResult(v));
  const follow = async (v) => {
    show(v);
    for (let i = 0; v.state === 'running' && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      v = await api('/api/v1/admin/audit/verification');
      show(v);
    }
  };
  try {
    show(await api('/api/v1/admin/audit/verification'));
  } catch (e) {
    out.replaceChildren(failed(e));
  }
  const button = h('button', {
    type: 'button',
    onclick: async () => {
      button.disabled = true;
      try {
        await follow(await api('/api/v1/admin/audit/verification', { method: 'POST' }));
      } catch (e) {
        out.replaceChildren(failed(e));
      }
      button.disabled = false;
    },
  }, t('city.trailCheck'));
  return h('div', { class: 'trail-check' }, h('h4', {}, t('city.trail')), out, button);
}

// Prometheus text format 0.0.4: `name{labels} value` lines; comments skipped.
export function parseMetrics(text) {
  const out = [];
  for (const line of String(text).split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

async function metrics() {
  let rows;
  try {
    const res = await fetch('/metrics', { credentials: 'omit', cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const all = parseMetrics(await res.text());
    const sum = (name, pred = () => true) => all.filter((s) => s.name === name && pred(s.labels)).reduce((n, s) => n + s.value, 0);
    const status = (c) => (l) => String(l.status ?? '').startsWith(c);
    const commits = sum('cityos_store_commit_seconds_count');
    const version = all.find((s) => s.name === 'cityos_build_info')?.labels.version ?? '';
    rows = [
      ['version', version],
      ['uptime', t('city.seconds', { n: Math.round(sum('cityos_uptime_seconds')) })],
      ['requests', String(sum('cityos_http_requests_total'))],
      ['2xx', String(sum('cityos_http_requests_total', status('2')))],
      ['4xx', String(sum('cityos_http_requests_total', status('4')))],
      ['5xx', String(sum('cityos_http_requests_total', status('5')))],
      ['inflight', String(sum('cityos_http_inflight_requests'))],
      ['writesOk', String(sum('cityos_store_writes_total', (l) => l.outcome === 'ok'))],
      ['writesFailed', String(sum('cityos_store_writes_total', (l) => l.outcome === 'failed'))],
      ['commitMean', commits ? t('city.ms', { n: ((sum('cityos_store_commit_seconds_sum') / commits) * 1000).toFixed(2) }) : '-'],
    ];
  } catch (e) {
    return h('section', { 'aria-labelledby': 'metrics-h' }, h('h3', { id: 'metrics-h' }, t('city.metrics')), failed(e));
  }
  return h(
    'section',
    { 'aria-labelledby': 'metrics-h' },
    h('h3', { id: 'metrics-h' }, t('city.metrics')),
    h('table', { class: 'metrics' }, h('tbody', {}, rows.map(([k, v]) => h('tr', { 'data-metric': k }, h('th', { scope: 'row' }, t(`city.m.${k}`)), h('td', {}, v))))),
    h('p', { class: 'hint' }, t('city.metricsHint')),
  );
}

export async function render(ctx) {
  const history = await api('/api/v1/purposes?history=true', { auth: false });
  const all = history?.purposes ?? [];
  const [p, s, v, m] = await Promise.all([purposes(ctx, all), services(all), verification(), metrics()]);
  return h('section', { 'aria-labelledby': 'city-h' }, h('h2', { id: 'city-h' }, t('city.title')), v, m, p, s);
}
