// view-record.js - "my record": the citizen's FHIR record (Patient/$everything, every page)
// as a timeline grouped by life stage, newest first.
import { api } from './api.js';
import { h } from './dom.js';
import { t, when } from './i18n.js';

const PAGES_MAX = 20; // 20 pages of 100: enough for a citizen's record on one screen

// The date an entry is about, by the resource's own clinical time before its bookkeeping time.
export function dateOf(r) {
  return (
    r.effectiveDateTime ||
    r.effectivePeriod?.start ||
    r.occurrenceDateTime ||
    r.authoredOn ||
    r.issued ||
    r.recordedDate ||
    r.onsetDateTime ||
    r.performedDateTime ||
    r.sent ||
    r.start ||
    r.period?.start ||
    r.date ||
    r.meta?.lastUpdated ||
    null
  );
}

function text(cc) {
  return cc?.text || cc?.coding?.find((c) => c.display)?.display || cc?.coding?.[0]?.code || '';
}

function quantity(q) {
  return q && q.value !== undefined ? `${q.value} ${q.unit ?? q.code ?? ''}`.trim() : '';
}

// One line saying what the entry is.
export function summary(r) {
  switch (r.resourceType) {
    case 'Observation': {
      const comps = (r.component ?? []).map((c) => quantity(c.valueQuantity)).filter(Boolean);
      const value = quantity(r.valueQuantity) || r.valueString || text(r.valueCodeableConcept) || comps.join(' / ');
      return [text(r.code), value].filter(Boolean).join(': ');
    }
    case 'Condition':
    case 'Procedure':
    case 'AllergyIntolerance':
      return text(r.code);
    case 'MedicationRequest':
    case 'MedicationDispense':
    case 'MedicationAdministration':
      return text(r.medicationCodeableConcept) || r.medicationReference?.display || '';
    case 'Immunization':
      return text(r.vaccineCode);
    case 'Encounter':
      return text(r.type?.[0]) || r.class?.display || r.class?.code || '';
    case 'RiskAssessment':
      return r.note?.[0]?.text || text(r.prediction?.[0]?.outcome) || '';
    case 'Communication':
      return r.payload?.[0]?.contentString || '';
    case 'Device':
      return r.deviceName?.[0]?.name || text(r.type);
    case 'DiagnosticReport':
      return text(r.code) || r.conclusion || '';
    case 'Appointment':
      return r.description || text(r.serviceType?.[0]);
    default:
      return text(r.code) || r.description || r.title || '';
  }
}

function ageAt(birthDate, iso) {
  if (!birthDate || !iso) return null;
  const b = new Date(birthDate);
  const d = new Date(iso);
  let age = d.getUTCFullYear() - b.getUTCFullYear();
  if (d.getUTCMonth() < b.getUTCMonth() || (d.getUTCMonth() === b.getUTCMonth() && d.getUTCDate() < b.getUTCDate()))
    age--;
  return age;
}

function stageOf(age) {
  if (age === null) return 'unknown';
  if (age < 15) return 'child';
  if (age < 65) return 'adult';
  return 'senior';
}

export async function loadEverything(patient) {
  const resources = [];
  let url = `/fhir/Patient/${encodeURIComponent(patient)}/$everything?_count=100`;
  for (let page = 0; url && page < PAGES_MAX; page++) {
    const bundle = await api(url);
    for (const e of bundle.entry ?? []) if (e.resource) resources.push(e.resource);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    url = next ? new URL(next, window.location.origin).pathname + new URL(next, window.location.origin).search : null;
  }
  return resources;
}

export async function render({ session }) {
  const all = await loadEverything(session.patient);
  const patient = all.find((r) => r.resourceType === 'Patient');
  const entries = all
    .filter((r) => r.resourceType !== 'Patient')
    .map((r) => ({ r, at: dateOf(r) }))
    .sort((a, b) => (b.at ?? '').localeCompare(a.at ?? ''));
  const groups = new Map();
  for (const e of entries) {
    const stage = stageOf(ageAt(patient?.birthDate ?? session.birthdate, e.at));
    if (!groups.has(stage)) groups.set(stage, []);
    groups.get(stage).push(e);
  }
  return h(
    'section',
    { 'aria-labelledby': 'record-h' },
    h('h2', { id: 'record-h' }, t('record.title')),
    h('p', { class: 'lead' }, t('record.lead')),
    entries.length === 0 ? h('p', {}, t('record.empty')) : null,
    ['senior', 'adult', 'child', 'unknown']
      .filter((st) => groups.has(st))
      .map((st) =>
        h(
          'section',
          { class: 'stage', 'aria-labelledby': `stage-${st}` },
          h('h3', { id: `stage-${st}` }, t(`stage.${st}`), ' ', h('span', { class: 'count' }, t('record.count', { n: groups.get(st).length }))),
          h(
            'ol',
            { class: 'timeline' },
            groups.get(st).map(({ r, at }) =>
              h(
                'li',
                { 'data-type': r.resourceType },
                h('time', { datetime: at ?? '' }, when(at)),
                h('span', { class: 'kind' }, r.resourceType),
                h('span', { class: 'what' }, summary(r)),
              ),
            ),
          ),
        ),
      ),
  );
}
