// What-if in the Routing rules view: the editor's text replayed on a window of recorded
// history (POST /v1/routing/simulate), shown beside the active rules and what was recorded
// per queue (service level, wait p90) with the change coloured, and the cases that would
// move, each a link that opens the case with the decision that placed it.

import {request} from './api.js';
import {flash, h, problemText, replace, t} from './dom.js';

const DAY_MS = 86_400_000;

function dateInput(id, label, value) {
  return h('label', {}, `${t(label)} `, h('input', {type: 'date', id, value}));
}

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function percent(x) {
  return typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '–';
}

function seconds(x) {
  return typeof x === 'number' ? `${x.toFixed(1)} s` : '–';
}

// A change, coloured by whether it is better: `higherIsBetter` for service levels.
function deltaCell(d, format, higherIsBetter) {
  if (typeof d !== 'number') {
    return h('td', {class: 'num delta'}, '–');  // the queue is on one side only
  }
  if (Math.abs(d) < 1e-9) {
    return h('td', {class: 'num delta same'}, '±0');
  }
  const better = higherIsBetter ? d > 0 : d < 0;
  const sign = d > 0 ? '+' : '−';
  return h('td', {class: `num delta ${better ? 'better' : 'worse'}`}, `${sign}${format(Math.abs(d))}`);
}

export function mount(root, sourceOf) {
  const now = Date.now();
  const from = dateInput('whatif-from', 'from', isoDay(now - 7 * DAY_MS));
  const to = dateInput('whatif-to', 'to', isoDay(now + DAY_MS));
  const status = h('div', {id: 'whatif-status', class: 'rules-status', role: 'status', 'aria-live': 'polite'});
  const results = h('div', {id: 'whatif-results'});
  const caseView = h('div', {id: 'whatif-case'});
  const run = h('button', {type: 'button', id: 'whatif-run', onclick: () => tryIt()}, t('try_week'));
  root.append(h('section', {class: 'card whatif'},
    h('h2', {}, t('what_if')),
    h('p', {class: 'muted'}, t('what_if_help')),
    h('div', {class: 'actions'}, run, from, to),
    status, results, caseView));

  function windowOf() {
    const f = root.querySelector('#whatif-from').value;
    const u = root.querySelector('#whatif-to').value;
    return {from: `${f}T00:00:00Z`, to: `${u}T00:00:00Z`};
  }

  async function tryIt() {
    run.disabled = true;
    status.className = 'rules-status';
    status.textContent = t('replaying');
    try {
      const r = await request('POST', '/v1/routing/simulate', {source: sourceOf(), ...windowOf()});
      show(r.body);
      status.textContent = `${r.body.cases} ${t('cases').toLowerCase()}, ${r.body.elapsed_ms} ms`;
      status.className = 'rules-status ok';
    } catch (err) {
      status.className = 'rules-status bad';
      status.textContent = problemText(err);
    } finally {
      run.disabled = false;
    }
  }

  function show(w) {
    const names = [...new Set([...Object.keys(w.active.queues), ...Object.keys(w.candidate.queues)])].sort();
    const rows = names.map((q) => {
      const rec = w.recorded.queues[q] || {};
      const act = w.active.queues[q] || {};
      const cand = w.candidate.queues[q] || {};
      const d = (w.delta.queues || {})[q] || {};
      return h('tr', {'data-queue': q},
        h('th', {scope: 'row'}, q),
        h('td', {class: 'num'}, percent(rec.service_level)),
        h('td', {class: 'num'}, percent(act.service_level)),
        h('td', {class: 'num'}, percent(cand.service_level)),
        deltaCell(d.service_level, (x) => percent(x), true),
        h('td', {class: 'num'}, seconds(rec.wait_p90_s)),
        h('td', {class: 'num'}, seconds(act.wait_p90_s)),
        h('td', {class: 'num'}, seconds(cand.wait_p90_s)),
        deltaCell(d.wait_p90_s, (x) => seconds(x), false));
    });
    const head = h('tr', {},
      h('th', {}, t('queue')),
      ...['recorded', 'active', 'candidate', 'change'].map((k) => h('th', {class: 'num'}, `${t('service_level_range')} · ${t(k)}`)),
      ...['recorded', 'active', 'candidate', 'change'].map((k) => h('th', {class: 'num'}, `${t('wait_p90')} · ${t(k)}`)));
    const moved = w.moved.map((m) => h('li', {},
      h('a', {href: `#/rules/${m.case_id}`}, m.case_id), ` ${m.active_queue} → ${m.candidate_queue}`));
    replace(results,
      h('table', {class: 'grid', id: 'whatif-table'}, h('thead', {}, head), h('tbody', {}, ...rows)),
      h('h3', {}, `${t('moved')} (${w.moved_total})`),
      moved.length ? h('ul', {id: 'whatif-moved'}, ...moved) : h('p', {id: 'whatif-moved', class: 'muted'}, t('none')),
      w.assumptions.length ? h('ul', {id: 'whatif-assumptions', class: 'muted'}, ...w.assumptions.map((a) => h('li', {}, a))) : null);
  }

  // #/rules/case_…: the case and the decision that placed it.
  async function openCase(id) {
    try {
      const c = (await request('GET', `/v1/cases/${id}`)).body;
      let last = null;
      try {
        last = ((await request('GET', `/v1/cases/${id}/routing?limit=1`)).body.data || [])[0] || null;
      } catch {
        last = null;  // decisions are kept a while; an old case may have none left
      }
      replace(caseView, h('div', {class: 'card', id: 'whatif-case-card'},
        h('h3', {}, `${c.id}: ${c.subject}`),
        h('p', {}, `${t('queue')}: ${c.queue} · ${c.type} · ${c.channel} · ${c.status}`),
        last ? h('p', {class: 'muted'}, [last.rule ? `${last.rule}: ` : '', last.why].join('')) : null));
      caseView.scrollIntoView({block: 'nearest'});
    } catch (err) {
      flash(problemText(err));
    }
  }

  return {openCase};
}
