// The agent's view: presence and load, offers pushed live with a countdown, "my cases",
// the case page (timeline, reply, note, transfer, hand off, resolve) and the customer panel.

import {ApiError, all, api, get, post} from './api.js';
import {badge, clear, flash, h, problemText, replace, t, when} from './dom.js';
import {CLOSED, caseLine, casesOf, eventView} from './timeline.js';

const REASONS = ['upsell', 'renewal', 'technical', 'billing', 'onboarding', 'escalation', 'other'];
const OUTCOMES = ['won', 'lost', 'resolved', 'no_action'];

export function mount(root, ctx) {
  const me = ctx.me.agent;
  const offers = new Map(); // offer id -> {offer, caseData, deadline, total, el}
  const cases = new Map(); // case id -> case (open, assigned to me)
  let agent = null;
  let current = null; // the case id shown
  let refreshTimer = null;
  let shown = null; // the case page on screen: {id, head, timeline, work, complete}
  const offs = [];

  const presenceButtons = ['available', 'away', 'offline'].map((p) => h('button', {
    type: 'button',
    class: `presence-${p}`,
    'aria-pressed': 'false',
    'data-presence': p,
    onclick: () => setPresence(p),
  }, t(p)));
  const wrapUp = badge(t('wrap_up'), 'wrap_up');
  wrapUp.hidden = true;
  const presenceBox = h('div', {class: 'presence', role: 'group', 'aria-label': t('presence')}, presenceButtons, wrapUp);
  const loadBox = h('div', {class: 'load'});
  const offersList = h('div', {class: 'offers', 'aria-live': 'polite'});
  const casesList = h('ul', {class: 'cases'});
  const casePane = h('section', {class: 'case-pane card', 'aria-label': 'case'});
  const customerPane = h('aside', {class: 'customer-pane card', 'aria-label': t('customer')});

  root.append(h('div', {class: 'agent-grid'},
    h('div', {class: 'column'},
      h('section', {class: 'card', id: 'presence-card'}, h('h2', {}, t('presence')), presenceBox, loadBox),
      h('section', {class: 'card', id: 'offers-card'}, h('h2', {}, t('offers')), offersList),
      h('section', {class: 'card', id: 'cases-card'}, h('h2', {}, t('my_cases')), casesList)),
    casePane,
    customerPane));

  // ---- presence and load

  function renderAgent() {
    if (!agent) return;
    const presence = agent.presence;
    // The buttons stay (only their state changes), so keyboard focus stays where it was.
    for (const button of presenceButtons) {
      button.setAttribute('aria-pressed', button.dataset.presence === presence ? 'true' : 'false');
    }
    wrapUp.hidden = presence !== 'wrap_up';
    replace(loadBox, Object.entries(agent.capacity).map(([channel, cap]) => {
      const used = agent.load[channel] || 0;
      return h('div', {class: 'load-row', 'data-channel': channel},
        h('span', {class: 'load-channel'}, channel),
        h('meter', {min: 0, max: cap, value: used, 'aria-label': `${channel} ${used} / ${cap}`}),
        h('span', {class: 'load-figure'}, `${used} / ${cap}`));
    }));
  }

  async function setPresence(p) {
    try {
      agent = await api('PUT', `/v1/agents/${me}/presence`, {presence: p});
      renderAgent();
    } catch (err) {
      flash(problemText(err));
    }
  }

  async function loadAgent() {
    try {
      agent = await get(`/v1/agents/${me}`);
      renderAgent();
    } catch (err) {
      flash(problemText(err));
    }
  }

  // ---- offers

  function renderOffers() {
    if (offers.size === 0) {
      replace(offersList, h('p', {class: 'empty'}, t('no_offers')));
    } else {
      replace(offersList, [...offers.values()].map((o) => o.el));
    }
    document.title = offers.size ? `(${offers.size}) ${t('new_offer')} · Baton` : 'Baton';
  }

  function addOffer(data) {
    if (data.agent_id !== me || data.status !== 'pending' || offers.has(data.id)) return;
    const caseData = data.case || {id: data.case_id, subject: '', channel: '', priority: '', queue: ''};
    // The time left by this machine's clock when it agrees with the server's (an offer sent
    // again after a reconnect is already partly spent); the whole time-out otherwise.
    const total = Date.parse(data.expires_at) - Date.parse(data.created_at);
    const byClock = Date.parse(data.expires_at) - Date.now();
    const left = byClock > 0 && byClock <= total ? byClock : total;
    const entry = {offer: data, caseData, deadline: performance.now() + left, total};
    const countdown = h('span', {class: 'countdown', 'aria-label': t('expires_in')});
    const bar = h('progress', {max: 1000, value: 1000, 'aria-hidden': 'true'});
    const history = h('div', {class: 'history'}, t('loading'));
    const customerName = h('span', {class: 'customer-name'});
    const reasonInput = h('input', {type: 'text', class: 'decline-reason', 'aria-label': t('decline_reason'), placeholder: t('decline_reason')});
    const declineForm = h('form', {class: 'decline-form', hidden: true, onsubmit: (e) => {
      e.preventDefault();
      decline(entry, reasonInput.value.trim());
    }}, reasonInput,
    h('button', {type: 'submit'}, t('confirm_decline')),
    h('button', {type: 'button', onclick: () => {
      declineForm.hidden = true;
    }}, t('cancel')));
    entry.countdown = countdown;
    entry.bar = bar;
    entry.el = h('article', {class: 'offer alert', 'data-offer': data.id, 'data-case': caseData.id},
      h('header', {},
        h('strong', {class: 'subject'}, caseData.subject || caseData.id),
        countdown),
      bar,
      h('div', {class: 'meta'},
        badge(caseData.channel, 'channel'), badge(`P${caseData.priority}`, `priority p${caseData.priority}`),
        badge(caseData.queue, 'queue'), badge(caseData.type || '', 'type'), customerName),
      h('h3', {}, t('recent_history')),
      history,
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'primary accept', onclick: () => accept(entry)}, t('accept')),
        h('button', {type: 'button', class: 'decline', onclick: () => {
          declineForm.hidden = false;
          reasonInput.focus();
        }}, t('decline'))),
      declineForm);
    offers.set(data.id, entry);
    tick();
    renderOffers();
    if (caseData.customer_id) {
      get(`/v1/customers/${caseData.customer_id}`).then((c) => {
        customerName.textContent = c.name || c.id;
      }).catch(() => {});
      get(`/v1/customers/${caseData.customer_id}/timeline?limit=100`).then((page) => {
        const earlier = casesOf(page.data).filter((k) => k.id !== caseData.id).slice(0, 3);
        replace(history, earlier.length ? h('ul', {}, earlier.map((k) => h('li', {'data-case': k.id}, caseLine(k))))
          : h('p', {class: 'empty'}, t('no_history')));
      }).catch((err) => replace(history, problemText(err)));
    }
  }

  function removeOffer(id, why) {
    const entry = offers.get(id);
    if (!entry) return;
    offers.delete(id);
    renderOffers();
    if (why) flash(`${entry.caseData.subject || entry.caseData.id}: ${why}`, 'info');
  }

  function tick() {
    const now = performance.now();
    for (const entry of offers.values()) {
      const left = Math.max(0, entry.deadline - now);
      const s = Math.ceil(left / 1000);
      entry.countdown.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
      entry.bar.value = entry.total > 0 ? Math.round((1000 * left) / entry.total) : 0;
      entry.el.classList.toggle('urgent', left < 10000);
    }
  }
  const ticker = setInterval(tick, 250);

  async function accept(entry) {
    try {
      const r = await post(`/v1/offers/${entry.offer.id}/accept`);
      removeOffer(entry.offer.id);
      cases.set(r.case.id, r.case);
      renderCases();
      loadAgent();
      location.hash = `#/agent/${r.case.id}`;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 404)) removeOffer(entry.offer.id);
      flash(problemText(err));
    }
  }

  async function decline(entry, reason) {
    try {
      await post(`/v1/offers/${entry.offer.id}/decline`, reason ? {reason} : {});
      removeOffer(entry.offer.id);
      loadAgent();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) removeOffer(entry.offer.id);
      flash(problemText(err));
    }
  }

  // ---- my cases

  function renderCases() {
    const open = [...cases.values()].filter((c) => !CLOSED.has(c.status))
      .sort((a, b) => a.priority - b.priority || a.created_at.localeCompare(b.created_at));
    if (!open.length) {
      replace(casesList, h('li', {class: 'empty'}, t('no_cases')));
      return;
    }
    replace(casesList, open.map((c) => h('li', {'data-case': c.id},
      h('a', {href: `#/agent/${c.id}`, 'aria-current': c.id === current ? 'true' : false},
        h('span', {class: 'subject'}, c.subject || c.id),
        h('span', {class: 'meta'}, badge(c.channel, 'channel'), badge(t(c.status), `status ${c.status}`))))));
  }

  async function loadCases() {
    try {
      // By open status: an agent's closed history may be long, its open work is short.
      const [assigned, pending] = await Promise.all([
        all(`/v1/cases?assignee=${me}&status=assigned`, 1000),
        all(`/v1/cases?assignee=${me}&status=pending`, 1000),
      ]);
      cases.clear();
      for (const c of [...assigned, ...pending]) cases.set(c.id, c);
      renderCases();
    } catch (err) {
      flash(problemText(err));
    }
  }

  // ---- the case page

  // refresh: the same case again (after an action or a pushed change): its page is
  // updated in place, so what the agent is typing stays; the customer panel (a whole
  // timeline) is read again only when a handoff touched the case.
  async function showCase(id, refresh = false, customerToo = false) {
    current = id;
    renderCases();
    if (!id) {
      shown = null;
      replace(casePane, h('p', {class: 'empty'}, t('select_case')));
      replace(customerPane);
      return;
    }
    const again = refresh && shown && shown.id === id;
    if (!again) {
      shown = null;
      replace(casePane, h('p', {class: 'empty'}, t('loading')));
    }
    try {
      const [c, events] = await Promise.all([get(`/v1/cases/${id}`), all(`/v1/cases/${id}/events`, 1000)]);
      if (current !== id) return;
      renderCase(c, events);
      if (!again || customerToo) showCustomer(c, again);
    } catch (err) {
      shown = null;
      replace(casePane, h('p', {class: 'error'}, problemText(err)));
    }
  }

  function field(label, ...control) {
    return h('label', {class: 'field'}, h('span', {}, label), ...control);
  }

  async function act(fn) {
    try {
      await fn();
      await showCase(current, true);
      loadAgent();
    } catch (err) {
      flash(problemText(err));
    }
  }

  function renderCase(c, events) {
    if (!shown || shown.id !== c.id) {
      shown = {id: c.id, head: h('header', {class: 'case-head'}),
        timeline: h('ol', {class: 'timeline', id: 'case-timeline'}), ...caseTools(c)};
      replace(casePane, shown.head, h('h3', {}, t('timeline')), shown.timeline, shown.work, shown.complete);
    }
    const sla = c.sla || {};
    const open = !CLOSED.has(c.status);
    shown.work.hidden = !open;
    replace(shown.head,
      h('h2', {class: 'subject'}, c.subject || c.id),
      h('div', {class: 'meta'},
        h('code', {}, c.id), badge(c.status, `status ${c.status}`), badge(`P${c.priority}`, `priority p${c.priority}`),
        badge(c.channel, 'channel'), badge(c.queue, 'queue'), badge(c.type, 'type'),
        c.assignee ? badge(c.assignee, 'assignee') : null),
      h('dl', {class: 'sla'},
        h('dt', {}, t('first_response_due')), h('dd', {class: sla.first_response_breached ? 'breached' : ''}, when(sla.first_response_due), sla.first_response_breached ? ` (${t('breached')})` : ''),
        h('dt', {}, t('resolution_due')), h('dd', {class: sla.resolution_breached ? 'breached' : ''}, when(sla.resolution_due), sla.resolution_breached ? ` (${t('breached')})` : '')));
    const atEnd = shown.timeline.scrollTop + shown.timeline.clientHeight >= shown.timeline.scrollHeight - 8;
    replace(shown.timeline, events.map((e) => h('li', {class: `event ${e.type}`, 'data-type': e.type}, eventView(e))));
    if (atEnd || !shown.scrolled) shown.timeline.scrollTop = shown.timeline.scrollHeight;
    shown.scrolled = true;
  }

  // The composer and the action forms of a case, made once per case page.
  function caseTools(c) {
    const body = h('textarea', {id: 'composer', rows: 3, 'aria-label': t('reply')});
    const send = (what) => act(async () => {
      const text = body.value.trim();
      if (!text) return;
      if (what === 'reply') await post(`/v1/cases/${c.id}/messages`, {direction: 'out', body: text});
      else await post(`/v1/cases/${c.id}/notes`, {body: text});
      body.value = '';
    });

    const toAgent = h('input', {type: 'text', name: 'to_agent', placeholder: 'agt_…'});
    const toQueue = h('input', {type: 'text', name: 'to_queue', placeholder: 'support'});
    const transferNote = h('input', {type: 'text', name: 'note'});
    const transfer = h('details', {class: 'action', id: 'transfer'}, h('summary', {}, t('transfer')),
      h('form', {onsubmit: (e) => {
        e.preventDefault();
        const payload = toAgent.value.trim() ? {to_agent: toAgent.value.trim()} : {to_queue: toQueue.value.trim()};
        if (transferNote.value.trim()) payload.note = transferNote.value.trim();
        act(() => post(`/v1/cases/${c.id}/transfer`, payload));
      }}, field(t('to_agent'), toAgent), field(t('to_queue'), toQueue), field(t('note'), transferNote),
      h('button', {type: 'submit'}, t('do_transfer'))));

    const target = h('select', {name: 'to'},
      h('option', {value: 'sales_owner'}, t('sales_owner')),
      h('option', {value: 'team:sales'}, t('team_sales')),
      h('option', {value: 'team:support'}, t('team_support')));
    const reason = h('select', {name: 'reason'}, REASONS.map((r) => h('option', {value: r}, r)));
    if (c.suggested_handoffs && c.suggested_handoffs.length) reason.value = c.suggested_handoffs[0];
    const handoffNote = h('textarea', {name: 'note', rows: 2});
    const move = h('input', {type: 'checkbox', name: 'transfer'});
    const handoff = h('details', {class: 'action', id: 'handoff', open: c.suggested_handoffs && c.suggested_handoffs.length ? true : false},
      h('summary', {}, t('hand_off'), c.suggested_handoffs && c.suggested_handoffs.length ? badge(`→ ${c.suggested_handoffs[0]}`, 'suggested') : null),
      h('form', {onsubmit: (e) => {
        e.preventDefault();
        act(async () => {
          const hof = await post(`/v1/cases/${c.id}/handoffs`, {to: target.value, reason: reason.value, note: handoffNote.value.trim(), transfer: move.checked});
          flash(`${hof.id} → ${hof.to_agent || hof.to}`, 'info');
        });
      }}, field(t('hand_off_to'), target), field(t('reason'), reason), field(t('note'), handoffNote),
      h('label', {class: 'check'}, move, t('move_case')),
      h('button', {type: 'submit'}, t('do_hand_off'))));

    const resolution = h('input', {type: 'text', name: 'resolution'});
    const resolve = h('details', {class: 'action', id: 'resolve'}, h('summary', {}, t('resolve')),
      h('form', {onsubmit: (e) => {
        e.preventDefault();
        act(async () => {
          await post(`/v1/cases/${c.id}/resolve`, resolution.value.trim() ? {resolution: resolution.value.trim()} : {});
          cases.delete(c.id);
          renderCases();
        });
      }}, field(t('resolution'), resolution), h('button', {type: 'submit', class: 'primary'}, t('do_resolve'))));

    let complete = null;
    if (c.from_handoff) {
      const outcome = h('select', {name: 'outcome'}, OUTCOMES.map((o) => h('option', {value: o}, t(o))));
      complete = h('details', {class: 'action', id: 'complete'}, h('summary', {}, t('complete_handoff')),
        h('form', {onsubmit: (e) => {
          e.preventDefault();
          act(() => post(`/v1/handoffs/${c.from_handoff}/complete`, {outcome: outcome.value}));
        }}, field(t('outcome'), outcome), h('button', {type: 'submit'}, t('do_complete'))));
    }

    const work = h('div', {class: 'work'},
      h('div', {class: 'composer'}, body,
        h('div', {class: 'actions'},
          h('button', {type: 'button', class: 'primary', id: 'send-reply', onclick: () => send('reply')}, t('send_reply')),
          h('button', {type: 'button', id: 'add-note', onclick: () => send('note')}, t('add_note')))),
      h('div', {class: 'case-actions'}, transfer, handoff, resolve));
    return {work, complete: complete ? h('div', {class: 'case-actions'}, complete) : null};
  }

  // ---- the customer panel

  async function showCustomer(c, refresh = false) {
    if (!refresh) replace(customerPane, h('p', {class: 'empty'}, t('loading')));
    try {
      const [customer, timeline] = await Promise.all([
        get(`/v1/customers/${c.customer_id}`),
        all(`/v1/customers/${c.customer_id}/timeline`, 500),
      ]);
      const [account, summary] = customer.account_id ? await Promise.all([
        get(`/v1/accounts/${customer.account_id}`),
        get(`/v1/accounts/${customer.account_id}/summary`),
      ]) : [null, null];
      if (current !== c.id) return;
      const handoffs = new Map();
      for (const e of timeline) if (e.handoff) handoffs.set(e.handoff.id, e.handoff);
      if (summary) for (const hf of summary.open_handoffs) handoffs.set(hf.id, hf);
      const openHandoffs = [...handoffs.values()].filter((x) => x.status !== 'completed');
      replace(customerPane,
        h('h2', {}, t('customer')),
        h('p', {class: 'customer-name'}, customer.name || customer.id),
        h('h3', {}, t('identities')),
        h('ul', {class: 'identities'}, customer.identities.map((i) => h('li', {}, badge(i.channel, 'channel'), ' ', i.address))),
        h('h3', {}, t('account')),
        account ? h('dl', {class: 'account'},
          h('dt', {}, t('name')), h('dd', {}, account.name),
          h('dt', {}, t('tier')), h('dd', {}, account.tier || '–'),
          h('dt', {}, t('sales_owner')), h('dd', {class: 'sales-owner'}, account.sales_owner || '–'),
          summary && summary.csat.count ? [h('dt', {}, t('csat')), h('dd', {}, `${summary.csat.mean} (${summary.csat.count})`)] : null)
          : h('p', {class: 'empty'}, t('none')),
        h('h3', {}, t('earlier_cases')),
        h('ul', {class: 'customer-cases'}, casesOf(timeline).map((k) => h('li', {'data-case': k.id, class: k.id === c.id ? 'current' : ''}, caseLine(k)))),
        h('h3', {}, t('open_handoffs')),
        openHandoffs.length ? h('ul', {class: 'handoffs'}, openHandoffs.map((x) => h('li', {'data-handoff': x.id},
          badge(x.reason, 'reason'), ' ', badge(x.status, 'status'), ' → ', x.to_agent || x.to, x.note ? h('p', {class: 'note'}, x.note) : null)))
          : h('p', {class: 'empty'}, t('none')));
    } catch (err) {
      replace(customerPane, h('p', {class: 'error'}, problemText(err)));
    }
  }

  // ---- the stream

  let customerDue = false; // a refresh waiting to run also owes the customer panel
  function refreshCurrentSoon(customerToo = false) {
    customerDue = customerDue || customerToo;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      const withCustomer = customerDue;
      customerDue = false;
      showCase(current, true, withCustomer);
    }, 150);
  }

  offs.push(ctx.on('offer', addOffer));
  offs.push(ctx.on('offer_revoked', (o) => removeOffer(o.id, o.status === 'timed_out' ? 'timed out' : o.status)));
  offs.push(ctx.on('agent_updated', (a) => {
    if (a.id === me) {
      agent = a;
      renderAgent();
    }
  }));
  offs.push(ctx.on('case_updated', (c) => {
    // An offer answered elsewhere (another tab of this agent, a supervisor) leaves too.
    for (const [id, o] of offers) if (o.caseData.id === c.id && c.offer_id !== id) removeOffer(id);
    if (c.assignee === me && !CLOSED.has(c.status)) cases.set(c.id, c);
    else cases.delete(c.id);
    renderCases();
    if (c.id === current) refreshCurrentSoon();
  }));
  offs.push(ctx.on('handoff', (x) => {
    if (current && (x.from_case === current || x.to_case === current)) refreshCurrentSoon(true);
  }));
  offs.push(ctx.on('stream_open', () => {
    loadAgent();
    loadCases();
  }));

  loadAgent();
  loadCases();
  renderOffers();
  showCase(ctx.args[0] || null);

  return {
    navigate(args) {
      showCase(args[0] || null);
    },
    unmount() {
      clearInterval(ticker);
      clearTimeout(refreshTimer);
      for (const off of offs) off();
      document.title = 'Baton';
      clear(root);
    },
  };
}
