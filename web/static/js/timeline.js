// One case event as the console shows it: messages as bubbles, notes apart, the rest as a
// line naming what happened with its data. All of it as text (customer text is untrusted).

import {badge, h, when} from './dom.js';

const HIDDEN = new Set(['body', 'subject']);

// Statuses after which a case is no one's work.
export const CLOSED = new Set(['resolved', 'closed', 'abandoned']);

function value(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function eventView(e, {compact = false} = {}) {
  const data = e.data || {};
  const head = h('span', {class: 'event-head'},
    h('time', {datetime: e.at}, when(e.at)), ' ',
    badge(e.type, `event-type ${e.type}`),
    e.case_type && compact ? [' ', badge(e.case_type, 'type'), ' ', badge(e.channel || '', 'channel')] : null,
    e.actor && !compact ? h('span', {class: 'actor'}, ` ${e.actor}`) : null);
  const parts = [head];
  if (data.body !== undefined) {
    parts.push(h('p', {class: compact ? 'body compact' : 'body'}, compact ? value(data.body).slice(0, 140) : value(data.body)));
  } else if (data.subject !== undefined) {
    parts.push(h('p', {class: 'body subject'}, value(data.subject)));
  }
  if (!compact) {
    const rest = Object.entries(data).filter(([k]) => !HIDDEN.has(k));
    if (rest.length) {
      parts.push(h('dl', {class: 'event-data'}, rest.map(([k, v]) => [h('dt', {}, k), h('dd', {}, value(v))])));
    }
    if (e.handoff) {
      const x = e.handoff;
      parts.push(h('p', {class: 'handoff-ref'}, badge(x.reason, 'reason'), ' ', badge(x.status, 'status'),
        x.outcome ? [' ', badge(x.outcome, `outcome ${x.outcome}`)] : null, ` ${x.id} → ${x.to_agent || x.to}`));
    }
  }
  return h('div', {class: `event-view ${e.type}`}, parts);
}

// The cases of a customer timeline (newest activity first), each with its subject, type,
// channel, the latest time and the latest inbound message.
export function casesOf(timeline) {
  const byCase = new Map();
  for (const e of timeline) {
    if (!e.case_id) continue;
    const k = byCase.get(e.case_id) || {id: e.case_id, type: e.case_type, channel: e.channel, last: e.at, subject: null, message: null};
    if (e.type === 'created' && e.data && e.data.subject !== undefined) k.subject = e.data.subject;
    if (e.type === 'message_in' && k.message === null && e.data) k.message = e.data.body;
    byCase.set(e.case_id, k);
  }
  return [...byCase.values()];
}

export function caseLine(k) {
  return [
    h('span', {class: 'subject'}, k.subject || k.id),
    h('span', {class: 'meta'}, badge(k.type || '', 'type'), badge(k.channel || '', 'channel'), h('time', {datetime: k.last}, when(k.last))),
    k.message ? h('span', {class: 'last-message'}, String(k.message).slice(0, 140)) : null,
  ];
}
