// readings.mjs - NDJSON for `cityos import`: two weeks of home blood-pressure readings of the
// persona ($CITYOS_PATIENT) ending yesterday, a school check-up from his childhood and his
// hypertension diagnosis, so the record spans life stages and the chart has data.
const id = process.env.CITYOS_PATIENT;
if (!id) {
  console.error('readings.mjs: CITYOS_PATIENT is not set');
  process.exit(2);
}
const loinc = (code, display) => ({ coding: [{ system: 'http://loinc.org', code, ...(display ? { display } : {}) }] });
const mmHg = (value) => ({ value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
const out = [];
const day = 86400000;
const start = Date.now() - 14 * day;
for (let i = 0; i < 14; i++) {
  const at = new Date(start + i * day).toISOString().replace(/\.\d+Z$/, 'Z');
  out.push({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { ...loinc('85354-9', 'Blood pressure panel'), text: '家庭血圧 / home blood pressure' },
    subject: { reference: `Patient/${id}` },
    effectiveDateTime: at,
    component: [
      { code: loinc('8480-6'), valueQuantity: mmHg(128 + ((i * 7) % 23)) },
      { code: loinc('8462-4'), valueQuantity: mmHg(76 + ((i * 5) % 13)) },
    ],
  });
}
out.push({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'urn:cityos:record-category', code: 'school-health' }] }],
  code: { ...loinc('8302-2', 'Body height'), text: '身長 (学校健診) / height (school check-up)' },
  subject: { reference: `Patient/${id}` },
  effectiveDateTime: '1966-05-10',
  valueQuantity: { value: 142.5, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
});
out.push({
  resourceType: 'Condition',
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertensive disorder' }], text: '高血圧症 / hypertension' },
  subject: { reference: `Patient/${id}` },
  recordedDate: '2015-06-01',
});
console.log(out.map((o) => JSON.stringify(o)).join('\n'));
