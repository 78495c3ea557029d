// The console's shell: sign-in, the views a token may use, one stream shared by them.

import {ApiError, api, get, isSession, openStream, setToken, signIn, takeTokenFromLink, token} from './api.js';
import {clear, h, language, problemText, replace, setLanguage, t} from './dom.js';
import * as agentView from './agent.js';
import * as liveView from './live.js';
import * as rulesView from './rules.js';
import * as reportsView from './reports.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const conn = document.getElementById('conn');

let me = null;
let stream = null;
let mounted = null; // {path, view: {unmount(), navigate(args)}}
const listeners = new Map(); // message type -> Set of handlers

function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(fn);
  return () => listeners.get(type).delete(fn);
}

function dispatch(msg) {
  for (const fn of listeners.get(msg.type) || []) fn(msg.data);
  for (const fn of listeners.get('*') || []) fn(msg);
}

function views() {
  const out = [];
  if (me.agent) out.push({path: 'agent', label: 'agent', view: agentView});
  if (me.role === 'supervisor' || me.role === 'admin') {
    out.push({path: 'live', label: 'live', view: liveView});
    out.push({path: 'rules', label: 'rules', view: rulesView});
    out.push({path: 'reports', label: 'reports', view: reportsView});
  }
  return out;
}

function unmountView() {
  if (mounted) mounted.view.unmount();
  mounted = null;
}

function route(force = false) {
  if (!me) return;
  const [path, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const all = views();
  const current = all.find((v) => v.path === path) || all[0];
  replace(nav, all.map((v) => h('a', {href: `#/${v.path}`, 'aria-current': v === current ? 'page' : false}, t(v.label))));
  if (mounted && current && mounted.path === current.path && !force) {
    mounted.view.navigate(rest);
    return;
  }
  unmountView();
  clear(main);
  if (!current) {
    main.append(h('p', {class: 'empty'}, `${me.role}: this token has no view in the console.`));
    return;
  }
  mounted = {path: current.path, view: current.view.mount(main, {me, on, args: rest})};
}

function signInForm(message) {
  replace(nav);
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  // An agent id and password (a session), or a pasted token.
  const agentId = h('input', {id: 'agent_id', autocomplete: 'username', required: true, size: 32});
  const password = h('input', {id: 'password', type: 'password', autocomplete: 'current-password', required: true, size: 32});
  const withPassword = h('form', {class: 'signin-password', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const session = await signIn(agentId.value.trim(), password.value);
      setToken(session.token, true);
      start();
    } catch (err) {
      signInForm(err instanceof ApiError ? `${err.status}: ${err.problem && err.problem.detail || err.message}` : String(err));
    }
  }},
  h('label', {for: 'agent_id'}, t('agent_id')), agentId,
  h('label', {for: 'password'}, t('password')), password,
  h('button', {type: 'submit', class: 'primary'}, t('sign_in')));
  const input = h('input', {id: 'token', type: 'password', autocomplete: 'off', required: true, size: 48});
  const withToken = h('form', {class: 'signin-token', onsubmit: (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    start();
  }},
  h('p', {class: 'help'}, t('sign_in_help')),
  h('label', {for: 'token'}, t('token')),
  input,
  h('button', {type: 'submit'}, t('use_token')));
  const card = h('div', {class: 'card signin'},
    h('h1', {}, t('sign_in')),
    message ? h('p', {class: 'error'}, message) : null,
    withPassword, withToken);
  replace(main, card);
  agentId.focus();
}

async function start() {
  if (!token()) {
    signInForm();
    return;
  }
  try {
    me = await get('/v1/me');
  } catch (err) {
    setToken(null);
    signInForm(err instanceof ApiError && err.status === 401 ? '401: unknown or revoked token' : problemText(err));
    return;
  }
  document.getElementById('who').textContent = me.agent ? `${me.agent} · ${me.role}` : me.role;
  const logout = document.getElementById('logout');
  logout.hidden = false;
  logout.onclick = async () => {
    if (isSession()) {
      // The session ends on the server, not only in this tab; if that fails it ends at
      // its time all the same.
      await api('DELETE', '/v1/sessions/current').catch(() => {});
    }
    setToken(null);
    if (stream) stream.close();
    stream = null;
    me = null;
    unmountView();
    signInForm();
  };
  if (me.agent || me.role === 'supervisor' || me.role === 'admin') {
    stream = openStream(dispatch, (state) => {
      conn.dataset.t = state === 'open' ? 'connected' : 'disconnected';
      conn.textContent = t(conn.dataset.t);
      conn.className = `conn ${state}`;
      dispatch({type: state === 'open' ? 'stream_open' : 'stream_closed', data: null});
    });
  }
  route();
}

// The shell's own words (marked data-t) in the current language.
function translateShell() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
}

const langSelect = document.getElementById('lang');
langSelect.value = language();
setLanguage(language());
langSelect.addEventListener('change', () => {
  setLanguage(langSelect.value);
  translateShell();
  route(true);
});
translateShell();

window.addEventListener('hashchange', () => {
  const [path] = location.hash.replace(/^#\/?/, '').split('/');
  if (path.startsWith('token=')) {
    takeTokenFromLink();
    start();
    return;
  }
  route();
});

takeTokenFromLink();
start();
