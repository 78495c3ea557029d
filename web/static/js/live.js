// The supervisor's live view: queues (from the stream's queue_stats) and the agent board
// (agent_updated and case_updated), without reloads.

import {all, get} from './api.js';
import {badge, clear, flash, h, percent, problemText, replace, seconds, t} from './dom.js';
import {CLOSED} from './timeline.js';

export function mount(root, ctx) {
  const agents = new Map();
  const cases = new Map(); // open cases with an assignee or an offer
  const offs = [];
  const queueBody = h('tbody');
  const boardBody = h('tbody');
  const updated = h('span', {class: 'updated', 'aria-live': 'off'});

  root.append(h('div', {class: 'live'},
    h('section', {class: 'card', id: 'queues'},
      h('h2', {}, t('queues'), ' ', updated),
      h('table', {class: 'grid'},
        h('thead', {}, h('tr', {},
          h('th', {scope: 'col'}, t('queue')), h('th', {scope: 'col'}, t('waiting')), h('th', {scope: 'col'}, t('oldest_wait')),
          h('th', {scope: 'col'}, t('service_level')), h('th', {scope: 'col'}, t('answered')),
          h('th', {scope: 'col'}, t('agents_available')), h('th', {scope: 'col'}, t('agents_busy')))),
        queueBody)),
    h('section', {class: 'card', id: 'board'},
      h('h2', {}, t('agent_board')),
      h('table', {class: 'grid'},
        h('thead', {}, h('tr', {},
          h('th', {scope: 'col'}, t('name')), h('th', {scope: 'col'}, t('presence')), h('th', {scope: 'col'}, t('load')),
          h('th', {scope: 'col'}, t('current_cases')))),
        boardBody))));

  function renderQueues(queues) {
    replace(queueBody, queues.map((q) => {
      const sl = q.service_level_today;
      const low = sl !== null && sl !== undefined && q.sla_target && sl < q.sla_target;
      return h('tr', {'data-queue': q.name},
        h('th', {scope: 'row'}, q.name),
        h('td', {class: 'num waiting'}, q.waiting),
        h('td', {class: 'num oldest'}, seconds(q.oldest_wait_s)),
        h('td', {class: `num sl ${low ? 'low' : ''}`}, percent(sl), q.sla_target ? h('small', {}, ` / ${percent(q.sla_target)}`) : null),
        h('td', {class: 'num answered'}, q.answered_today),
        h('td', {class: 'num available'}, q.agents_available),
        h('td', {class: 'num busy'}, q.agents_busy));
    }));
    updated.textContent = new Date().toLocaleTimeString();
  }

  function renderBoard() {
    const byAgent = new Map();
    for (const c of cases.values()) {
      if (!c.assignee || CLOSED.has(c.status)) continue;
      if (!byAgent.has(c.assignee)) byAgent.set(c.assignee, []);
      byAgent.get(c.assignee).push(c);
    }
    const list = [...agents.values()].sort((a, b) => a.name.localeCompare(b.name));
    replace(boardBody, list.map((a) => h('tr', {'data-agent': a.id},
      h('th', {scope: 'row'}, a.name, h('small', {}, ` ${a.id}`)),
      h('td', {class: 'board-presence'}, badge(t(a.presence), `presence ${a.presence}`)),
      h('td', {class: 'board-load'}, Object.entries(a.capacity).map(([ch, cap]) => h('span', {class: 'load-cell'}, `${ch} ${a.load[ch] || 0}/${cap}`))),
      h('td', {class: 'board-cases'}, (byAgent.get(a.id) || []).map((c) => h('span', {class: 'case-chip', title: c.id},
        badge(c.status, `status ${c.status}`), ' ', c.subject || c.id))))));
  }

  async function load() {
    try {
      const [queues, list, assigned, offered, pending] = await Promise.all([
        get('/v1/queues'),
        all('/v1/agents', 1000),
        all('/v1/cases?status=assigned', 2000),
        all('/v1/cases?status=offered', 2000),
        all('/v1/cases?status=pending', 2000),
      ]);
      renderQueues(queues.data);
      agents.clear();
      for (const a of list) agents.set(a.id, a);
      cases.clear();
      for (const c of [...assigned, ...offered, ...pending]) cases.set(c.id, c);
      renderBoard();
    } catch (err) {
      flash(problemText(err));
    }
  }

  offs.push(ctx.on('queue_stats', (d) => renderQueues(d.queues)));
  offs.push(ctx.on('agent_updated', (a) => {
    agents.set(a.id, a);
    renderBoard();
  }));
  offs.push(ctx.on('case_updated', (c) => {
    if (CLOSED.has(c.status) || !c.assignee) cases.delete(c.id);
    else cases.set(c.id, c);
    renderBoard();
  }));
  offs.push(ctx.on('stream_open', load));
  load();

  return {
    navigate() {},
    unmount() {
      for (const off of offs) off();
      clear(root);
    },
  };
}
