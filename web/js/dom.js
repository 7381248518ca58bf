// dom.js - building the page without HTML strings: every text goes in as a text node, so no
// data from the server can become markup (the CSP also requires Trusted Types and allows no
// string-to-HTML sink at all).

const SVG_NS = 'http://www.w3.org/2000/svg';

function put(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h('p', {class: 'x'}, 'text', child, [more]) -> an HTML element.
export function h(tag, attrs, ...children) {
  return put(document.createElement(tag), attrs, children);
}

// s('rect', {x: 1}) -> an SVG element.
export function s(tag, attrs, ...children) {
  return put(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// A labelled form control: <label for=id>text</label> + the control.
let nextId = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++nextId}`;
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}
