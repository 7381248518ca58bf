// app.js - the portal's entry: language, sign-in, the layout and the views (hash routes, so
// the server serves one page: #/record, #/bp, #/consents, #/tracker, #/inbox, #/family, #/visit).
import { completeSignIn, loadConfig, session, signIn, signOut, staffSignInOffered } from './auth.js';
import { clear, h } from './dom.js';
import { lang, setLang, t } from './i18n.js';
import * as consents from './view-consents.js';
import * as family from './view-family.js';
import * as inbox from './view-inbox.js';
import * as journey from './view-journey.js';
import * as wallet from './view-wallet.js'; // H-journey
import * as record from './view-record.js';
import * as bp from './view-bp.js';
import * as tracker from './view-tracker.js';
import { forCitizen, forRole, principal } from './roles.js';
import * as doctor from './view-doctor.js';
import * as pharmacy from './view-pharmacy.js';
import * as city from './view-city.js';

const VIEWS = [
  ['record', record],
  ['bp', bp],
  ['consents', consents],
  ['tracker', tracker],
  ['inbox', inbox],
  ['family', family],
  ['visit', journey],
  ['wallet', wallet], // H-journey
  // --- H-views: staff views; a row's third item says whom it is for (default: a citizen or a
  // family member acting for one, roles.js) ---
  ['doctor', doctor, forRole('doctor', 'nurse')],
  ['pharmacy', pharmacy, forRole('pharmacist')],
  ['city', city, forRole('city_administrator')],
];
let who = null; // the principal of the current token (roles.js), for the menu
const visible = () => VIEWS.filter(([, , forWho]) => (forWho ?? forCitizen)(who));

const root = document.getElementById('app');
let notice = null; // a message shown once above the next rendering

function currentView() {
  const name = window.location.hash.replace(/^#\/?/, '').split('?')[0];
  const shown = visible();
  return shown.find(([n]) => n === name) ?? shown[0] ?? VIEWS[0];
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
      // H-views: a family member acting for someone (roles.js); the family view switches back
      who?.kind === 'delegate' ? h('span', { class: 'acting', 'data-testid': 'acting-for' }, t('actingFor')) : null,
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
      visible().map(([name]) =>
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
      !disabled && staffSignInOffered(await loadConfig())
        ? h('p', {}, h('button', { type: 'button', class: 'secondary', onclick: () => signIn(lang(), 'staff') }, t('signin.staff')))
        : null,
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
  try {
    who = await principal();
  } catch {
    who = null; // the citizen's menu; a view's own call shows the error
  }
  const [name, view] = currentView();
  const main = h('main', { id: 'main', tabindex: '-1', 'aria-busy': 'true' }, h('p', { class: 'loading' }, t('loading')));
  clear(root).append(header(s), nav(name), main);
  const ctx = {
    session: s,
    principal: who,
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
