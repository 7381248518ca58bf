// app.js - the portal's entry: language, sign-in, the layout and the views (hash routes, so
// the server serves one page: #/record, #/bp, #/consents, #/tracker, #/inbox, #/family, #/visit).
import { completeSignIn, loadConfig, session, signIn, signOut } from './auth.js';
import { clear, h } from './dom.js';
import { lang, setLang, t } from './i18n.js';
import * as consents from './view-consents.js';
import * as family from './view-family.js';
import * as inbox from './view-inbox.js';
import * as journey from './view-journey.js';
import * as record from './view-record.js';
import * as bp from './view-bp.js';
import * as tracker from './view-tracker.js';

const VIEWS = [
  ['record', record],
  ['bp', bp],
  ['consents', consents],
  ['tracker', tracker],
  ['inbox', inbox],
  ['family', family],
  ['visit', journey],
];

const root = document.getElementById('app');
let notice = null; // a message shown once above the next rendering

function currentView() {
  const name = window.location.hash.replace(/^#\/?/, '').split('?')[0];
  return VIEWS.find(([n]) => n === name) ?? VIEWS[0];
}

function header(s) {
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'skip', href: '#main' }, t('skip')),
    h('div', { class: 'brand' }, h('h1', {}, t('app.title')), h('p', { class: 'tagline' }, t('app.tagline'))),
    h(
      'div',
      { class: 'tools' },
      s ? h('span', { class: 'who', 'data-testid': 'who' }, t('signedInAs', { name: s.name || s.sub })) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'lang',
          lang: lang() === 'ja' ? 'en' : 'ja',
          'aria-label': t('lang.switchLabel'),
          onclick: () => {
            setLang(lang() === 'ja' ? 'en' : 'ja');
            render();
          },
        },
        t('lang.switch'),
      ),
      s
        ? h('button', { type: 'button', class: 'secondary', onclick: async () => { await signOut(); render(); } }, t('signout'))
        : null,
    ),
  );
}

function nav(active) {
  return h(
    'nav',
    { 'aria-label': t('nav.label') },
    h(
      'ul',
      {},
      VIEWS.map(([name]) =>
        h('li', {}, h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : false }, t(`nav.${name}`))),
      ),
    ),
  );
}

async function renderSignIn(message) {
  let disabled = false;
  let reason = message;
  try {
    await loadConfig();
  } catch (e) {
    disabled = true;
    reason = t('signin.noclient', { reason: e.message });
  }
  clear(root).append(
    header(null),
    h(
      'main',
      { id: 'main', tabindex: '-1', class: 'signin' },
      h('p', {}, t('signin.lead')),
      reason ? h('p', { class: 'error', role: 'alert' }, reason) : null,
      h('button', { type: 'button', class: 'primary', disabled, onclick: () => signIn(lang()) }, t('signin.button')),
    ),
  );
}

async function render() {
  document.title = t('app.title');
  const s = session();
  if (!s) {
    const message = notice?.text ?? null;
    notice = null;
    return renderSignIn(message);
  }
  const [name, view] = currentView();
  const main = h('main', { id: 'main', tabindex: '-1', 'aria-busy': 'true' }, h('p', { class: 'loading' }, t('loading')));
  clear(root).append(header(s), nav(name), main);
  const ctx = {
    session: s,
    rerender: render,
    flash(text, isError = false) {
      notice = { text, isError };
    },
  };
  const shown = notice;
  notice = null;
  try {
    const content = await view.render(ctx);
    const flash = shown
      ? h('p', { class: shown.isError ? 'error' : 'flash', role: shown.isError ? 'alert' : 'status' }, shown.text)
      : '';
    clear(main).append(flash, content);
  } catch (e) {
    clear(main).append(
      h('p', { class: 'error', role: 'alert' }, t('error', { reason: e.message })),
      h('button', { type: 'button', onclick: render }, t('retry')),
    );
  }
  main.setAttribute('aria-busy', 'false');
  main.dataset.view = name;
}

window.addEventListener('hashchange', () => {
  render().then(() => document.getElementById('main')?.focus());
});
window.addEventListener('cityos:signed-out', () => render());

(async () => {
  try {
    await completeSignIn();
  } catch (e) {
    notice = { text: t('signin.failed', { reason: e.message }), isError: true };
  }
  await render();
})();
