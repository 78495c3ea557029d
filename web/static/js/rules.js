// The routing rules editor: the active rules with their version, validation as one types
// (every fault at its line and column), and a save that sends the ETag it loaded: when the
// rules changed meanwhile the server answers 412 and the editor shows the conflict, keeping
// the supervisor's text, instead of overwriting the other change.

import {ApiError, request} from './api.js';
import {clear, flash, h, problemText, replace, t} from './dom.js';
import * as whatIf from './whatif.js';

export function mount(root) {
  let etag = null;
  let version = null;
  let timer = null;
  let seq = 0;

  const editor = h('textarea', {id: 'rules-source', class: 'code', spellcheck: 'false', rows: 28, 'aria-label': t('rules'),
    'aria-describedby': 'rules-status'});
  const gutter = h('pre', {class: 'gutter', 'aria-hidden': 'true'});
  const status = h('div', {id: 'rules-status', class: 'rules-status', role: 'status', 'aria-live': 'polite'});
  const errors = h('ul', {id: 'rules-errors', class: 'rules-errors'});
  const conflict = h('div', {id: 'rules-conflict', class: 'conflict', role: 'alert', hidden: true});
  const versionLabel = h('span', {id: 'rules-version'});
  const save = h('button', {type: 'button', class: 'primary', id: 'rules-save', onclick: () => doSave()}, t('save'));

  root.append(h('section', {class: 'card rules'},
    h('h2', {}, t('rules'), ' ', versionLabel),
    conflict,
    h('div', {class: 'editor'}, gutter, editor),
    status,
    errors,
    h('div', {class: 'actions'}, save,
      h('button', {type: 'button', id: 'rules-reload', onclick: () => load()}, t('reload')))));
  // Tried before it is saved: the editor's text on recorded history.
  const trial = whatIf.mount(root, () => editor.value);

  function lines() {
    const n = editor.value.split('\n').length;
    gutter.textContent = Array.from({length: n}, (_, i) => i + 1).join('\n');
    gutter.scrollTop = editor.scrollTop;
  }

  // Moves the caret to a 1-based line and column.
  function goTo(line, column) {
    const rows = editor.value.split('\n');
    let at = 0;
    for (let i = 0; i < Math.min(line - 1, rows.length); i++) at += rows[i].length + 1;
    at += Math.max(0, column - 1);
    editor.focus();
    editor.setSelectionRange(at, at + 1);
  }

  function showErrors(list) {
    replace(errors, list.map((e) => h('li', {},
      h('button', {type: 'button', class: 'link', onclick: () => goTo(e.line || 1, e.column || 1)},
        e.line ? `${e.line}:${e.column}` : e.field),
      ` ${e.field}: ${e.message}`)));
    editor.setAttribute('aria-invalid', list.length ? 'true' : 'false');
  }

  async function validate() {
    const mine = ++seq;
    try {
      const r = await request('POST', '/v1/routing/validate', {source: editor.value});
      if (mine !== seq) return;
      status.textContent = `${t('valid')}: ${r.body.queues} ${t('queues').toLowerCase()}, ${r.body.rules} rules`;
      status.className = 'rules-status ok';
      showErrors([]);
    } catch (err) {
      if (mine !== seq) return;
      status.className = 'rules-status bad';
      if (err instanceof ApiError && err.status === 422) {
        status.textContent = err.problem.detail || err.problem.title;
        showErrors(err.problem.errors || []);
      } else {
        status.textContent = problemText(err);
      }
    }
  }

  function showVersion() {
    versionLabel.textContent = version === null ? '' : `${t('version')} ${version}`;
  }

  async function load() {
    try {
      const r = await request('GET', '/v1/routing');
      etag = r.headers.get('ETag');
      version = r.body.version;
      editor.value = r.body.source;
      conflict.hidden = true;
      showVersion();
      lines();
      validate();
    } catch (err) {
      flash(problemText(err));
    }
  }

  async function doSave() {
    try {
      const r = await request('PUT', '/v1/routing', {source: editor.value}, {'If-Match': etag});
      etag = r.headers.get('ETag');
      version = r.body.version;
      showVersion();
      conflict.hidden = true;
      status.textContent = `${t('saved')} ${version}`;
      status.className = 'rules-status ok';
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        let theirs = null;
        try {
          theirs = (await request('GET', '/v1/routing')).body.version;
        } catch {
          theirs = null;
        }
        replace(conflict,
          h('strong', {}, `${t('conflict')}: `),
          `${t('conflict_text')} (${t('version')} ${version} → ${theirs === null ? '?' : theirs})`);
        conflict.hidden = false;
        status.textContent = '';
      } else if (err instanceof ApiError && err.status === 422) {
        showErrors(err.problem.errors || []);
        status.textContent = err.problem.detail || err.problem.title;
        status.className = 'rules-status bad';
      } else {
        flash(problemText(err));
      }
    }
  }

  editor.addEventListener('input', () => {
    lines();
    clearTimeout(timer);
    timer = setTimeout(validate, 250);
  });
  editor.addEventListener('scroll', () => {
    gutter.scrollTop = editor.scrollTop;
  });
  editor.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 's') {
      e.preventDefault();
      doSave();
    }
  });
  load();

  return {
    navigate(args) {
      if (args && args[0]) trial.openCase(args[0]);
    },
    unmount() {
      clearTimeout(timer);
      clear(root);
    },
  };
}
