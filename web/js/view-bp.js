// view-bp.js - the home blood-pressure chart: the citizen's readings (LOINC 85354-9) over time
// in plain SVG, the systolic bands of JSH2019 Table 2-5 (home BP column) behind them, the
// diastolic thresholds as dashed lines, and the same readings as a table for screen readers.
import { api } from './api.js';
import { h, s } from './dom.js';
import { t, when } from './i18n.js';

// JSH2019 Table 2-5, home BP: lower bounds of each category (src/services/homedoctor/bp_category.c
// uses the same numbers). Diastolic has no high-normal band.
export const SYS_BOUNDS = [115, 125, 135, 145, 160];
export const DIA_BOUNDS = [75, 85, 90, 100]; // elevated, grade I, II, III
const CATS = ['normal', 'highNormal', 'elevated', 'grade1', 'grade2', 'grade3'];

// The category of one reading: the higher of the systolic and diastolic categories.
export function category(sys, dia) {
  let cs = 0;
  while (cs < SYS_BOUNDS.length && sys >= SYS_BOUNDS[cs]) cs++;
  let cd = 0;
  while (cd < DIA_BOUNDS.length && dia >= DIA_BOUNDS[cd]) cd++;
  const fromDia = cd === 0 ? 0 : cd + 1; // elevated is index 2
  return CATS[Math.max(cs, fromDia)];
}

function component(o, code) {
  return o.component?.find((c) => c.code?.coding?.some((k) => k.code === code))?.valueQuantity?.value;
}

export function readingsOf(bundle) {
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((o) => o?.resourceType === 'Observation')
    .map((o) => ({
      id: o.id,
      at: o.effectiveDateTime,
      sys: component(o, '8480-6'),
      dia: component(o, '8462-4'),
    }))
    .filter((r) => r.at && typeof r.sys === 'number' && typeof r.dia === 'number')
    .sort((a, b) => a.at.localeCompare(b.at));
}

const W = 640;
const H = 320;
const PAD = { l: 44, r: 12, t: 12, b: 36 };
const Y0 = 50;
const Y1 = 200;

function chart(readings) {
  const t0 = Date.parse(readings[0].at);
  const t1 = Math.max(Date.parse(readings[readings.length - 1].at), t0 + 86400000);
  const x = (iso) => PAD.l + ((Date.parse(iso) - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => PAD.t + (1 - (Math.min(Math.max(v, Y0), Y1) - Y0) / (Y1 - Y0)) * (H - PAD.t - PAD.b);
  const bands = [Y0, ...SYS_BOUNDS, Y1];
  const line = (key) => readings.map((r, i) => `${i ? 'L' : 'M'}${x(r.at).toFixed(1)},${y(r[key]).toFixed(1)}`).join('');
  return s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'bpchart', role: 'img', 'aria-labelledby': 'bp-chart-title' },
    s('title', { id: 'bp-chart-title' }, t('bp.chartLabel')),
    bands.slice(0, -1).map((lo, i) =>
      s('rect', { class: `band band-${CATS[i]}`, x: PAD.l, width: W - PAD.l - PAD.r, y: y(bands[i + 1]), height: y(lo) - y(bands[i + 1]) }),
    ),
    DIA_BOUNDS.map((v) => s('line', { class: 'dia-threshold', x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) })),
    [60, 80, 100, 120, 140, 160, 180, 200].map((v) =>
      s('text', { class: 'axis', x: PAD.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)),
    ),
    s('text', { class: 'axis', x: PAD.l, y: H - 8 }, when(readings[0].at, false)),
    s('text', { class: 'axis', x: W - PAD.r, y: H - 8, 'text-anchor': 'end' }, when(readings[readings.length - 1].at, false)),
    s('path', { class: 'series sys', d: line('sys') }),
    s('path', { class: 'series dia', d: line('dia') }),
    readings.map((r) => [
      s('circle', { class: 'pt sys', cx: x(r.at), cy: y(r.sys), r: 3 }),
      s('circle', { class: 'pt dia', cx: x(r.at), cy: y(r.dia), r: 3 }),
    ]),
  );
}

export async function render({ session }) {
  const bundle = await api(
    `/fhir/Observation?patient=Patient/${encodeURIComponent(session.patient)}` +
      '&code=http://loinc.org|85354-9&_sort=-date&_count=200',
  );
  const readings = readingsOf(bundle);
  const legend = h(
    'ul',
    { class: 'legend' },
    h('li', {}, h('span', { class: 'swatch sys' }), t('bp.sys')),
    h('li', {}, h('span', { class: 'swatch dia' }), t('bp.dia')),
    CATS.map((c) => h('li', {}, h('span', { class: `swatch band-${c}` }), t(`bp.cat.${c}`))),
  );
  return h(
    'section',
    { 'aria-labelledby': 'bp-h' },
    h('h2', { id: 'bp-h' }, t('bp.title')),
    h('p', { class: 'lead' }, t('bp.lead')),
    readings.length === 0
      ? h('p', {}, t('bp.empty'))
      : [
          h('figure', { class: 'chart' }, chart(readings), h('figcaption', {}, legend, h('p', { class: 'source' }, t('bp.source')))),
          h(
            'details',
            {},
            h('summary', {}, t('bp.table')),
            h(
              'table',
              { class: 'readings' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('bp.when')), h('th', { scope: 'col' }, t('bp.sys')), h('th', { scope: 'col' }, t('bp.dia')), h('th', { scope: 'col' }, t('bp.category')))),
              h(
                'tbody',
                {},
                [...readings].reverse().map((r) =>
                  h('tr', {}, h('td', {}, when(r.at)), h('td', {}, r.sys), h('td', {}, r.dia), h('td', {}, t(`bp.cat.${category(r.sys, r.dia)}`))),
                ),
              ),
            ),
          ),
        ],
  );
}
