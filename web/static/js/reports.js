// Reports: GET /v1/reports/summary for the whole range (the tables) and for each hour or
// day in it (the charts). The figures are the API's own, shown as it gives them.

import {get} from './api.js';
import {clear, flash, h, percent, problemText, replace, seconds, t} from './dom.js';
import {groupedBars, lineChart, stackedBars} from './charts.js';

const RANGES = {
  today: {label: 'today_by_hour', buckets() {
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    const out = [];
    const now = Date.now();
    for (let d = new Date(start); d.getTime() < now; d = new Date(d.getTime() + 3600e3)) {
      out.push({from: d, to: new Date(Math.min(d.getTime() + 3600e3, now)), label: `${String(d.getHours()).padStart(2, '0')}h`});
    }
    return out;
  }},
  week: {label: 'week_by_day', buckets: () => days(7)},
  month: {label: 'month_by_day', buckets: () => days(30)},
};

function days(n) {
  const out = [];
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const now = Date.now();
  for (let i = n - 1; i >= 0; i--) {
    const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i);
    const to = new Date(Math.min(new Date(today.getFullYear(), today.getMonth(), today.getDate() - i + 1).getTime(), now));
    out.push({from, to, label: `${from.getMonth() + 1}/${from.getDate()}`});
  }
  return out;
}

const summary = (from, to) => get(`/v1/reports/summary?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`);

function cell(value, text, field) {
  return h('td', {class: 'num', 'data-field': field, 'data-value': value === null || value === undefined ? '' : String(value)}, text);
}

export function mount(root) {
  let seq = 0;
  const select = h('select', {id: 'report-range', 'aria-label': t('range')},
    Object.entries(RANGES).map(([k, r]) => h('option', {value: k}, t(r.label))));
  const out = h('div', {class: 'report-body', id: 'report-body', 'aria-busy': 'false'});
  root.append(h('section', {class: 'card reports'},
    h('h2', {}, t('reports')),
    h('div', {class: 'controls'},
      h('label', {}, `${t('range')} `, select),
      h('button', {type: 'button', id: 'report-refresh', onclick: () => load()}, t('refresh'))),
    out));

  async function load() {
    const mine = ++seq;
    out.setAttribute('aria-busy', 'true');
    replace(out, h('p', {class: 'empty'}, t('loading')));
    try {
      const buckets = RANGES[select.value].buckets();
      const total = await summary(buckets[0].from, buckets[buckets.length - 1].to);
      // One at a time: reports run on one worker, and a burst would be turned away.
      const parts = [];
      for (const b of buckets) {
        if (mine !== seq) return;
        parts.push(await summary(b.from, b.to));
      }
      if (mine !== seq) return;
      render(total, buckets, parts);
      out.dataset.from = total.from;
      out.dataset.to = total.to;
    } catch (err) {
      replace(out, h('p', {class: 'error'}, problemText(err)));
      flash(problemText(err));
    } finally {
      if (mine === seq) out.setAttribute('aria-busy', 'false');
    }
  }

  function render(total, buckets, parts) {
    const labels = buckets.map((b) => b.label);
    const queueNames = [...new Set(parts.flatMap((p) => p.queues.map((q) => q.queue)).concat(total.queues.map((q) => q.queue)))];
    const per = (name, pick) => parts.map((p) => {
      const q = p.queues.find((x) => x.queue === name);
      return q ? pick(q) : null;
    });
    const charts = [
      lineChart({title: t('service_level_over_time'), labels, yMax: 1, format: (v) => `${Math.round(v * 100)}%`,
        series: queueNames.map((n) => ({name: n, values: per(n, (q) => q.service_level)}))}),
      lineChart({title: t('wait_over_time'), labels, format: (v) => v.toFixed(v < 10 ? 1 : 0),
        series: queueNames.map((n) => ({name: n, values: per(n, (q) => q.wait.p90_s)}))}),
    ];
    if (total.agents.length) {
      charts.push(groupedBars({title: t('per_agent'), names: [t('answered'), t('resolved'), t('handoffs_sent'), t('handoffs_received')],
        bars: total.agents.map((a) => ({label: a.agent.replace(/^agt_/, ''), values: [a.answered, a.resolved, a.handoffs_sent, a.handoffs_received]}))}));
    }
    const handoffNames = [t('won'), t('lost'), t('resolved'), t('no_action'), t('open')];
    if (total.handoffs.length) {
      charts.push(stackedBars({title: t('handoffs_by_reason'), names: handoffNames,
        bars: total.handoffs.map((x) => ({label: x.reason, parts: [x.outcomes.won, x.outcomes.lost, x.outcomes.resolved, x.outcomes.no_action, x.created - x.completed]}))}));
    }
    const queueTable = h('table', {class: 'grid', id: 'report-queues'},
      h('thead', {}, h('tr', {}, [t('queue'), t('cases'), t('answered'), t('abandoned'), t('resolved'), t('service_level_range'),
        t('wait_p50'), t('wait_p90'), t('first_response'), t('handle'), t('resolution_p50'), t('csat')].map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', {}, total.queues.map((q) => h('tr', {'data-queue': q.queue},
        h('th', {scope: 'row'}, q.queue),
        cell(q.cases, q.cases, 'cases'), cell(q.answered, q.answered, 'answered'), cell(q.abandoned, q.abandoned, 'abandoned'),
        cell(q.resolved, q.resolved, 'resolved'), cell(q.service_level, percent(q.service_level), 'service_level'),
        cell(q.wait.p50_s, seconds(q.wait.p50_s), 'wait.p50_s'), cell(q.wait.p90_s, seconds(q.wait.p90_s), 'wait.p90_s'),
        cell(q.first_response.p50_s, seconds(q.first_response.p50_s), 'first_response.p50_s'),
        cell(q.handle_time.p50_s, seconds(q.handle_time.p50_s), 'handle_time.p50_s'),
        cell(q.resolution_time.p50_s, seconds(q.resolution_time.p50_s), 'resolution_time.p50_s'),
        cell(q.csat.mean, q.csat.mean === null ? '–' : `${q.csat.mean} (${q.csat.count})`, 'csat.mean')))));
    const agentTable = h('table', {class: 'grid', id: 'report-agents'},
      h('thead', {}, h('tr', {}, [t('agent'), t('answered'), t('resolved'), t('handoffs_sent'), t('handoffs_received'),
        t('first_response'), t('handle'), t('csat')].map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', {}, total.agents.map((a) => h('tr', {'data-agent': a.agent},
        h('th', {scope: 'row'}, a.agent),
        cell(a.answered, a.answered, 'answered'), cell(a.resolved, a.resolved, 'resolved'),
        cell(a.handoffs_sent, a.handoffs_sent, 'handoffs_sent'), cell(a.handoffs_received, a.handoffs_received, 'handoffs_received'),
        cell(a.first_response.p50_s, seconds(a.first_response.p50_s), 'first_response.p50_s'),
        cell(a.handle_time.p50_s, seconds(a.handle_time.p50_s), 'handle_time.p50_s'),
        cell(a.csat.mean, a.csat.mean === null ? '–' : `${a.csat.mean} (${a.csat.count})`, 'csat.mean')))));
    const handoffTable = h('table', {class: 'grid', id: 'report-handoffs'},
      h('thead', {}, h('tr', {}, [t('reason'), t('created'), t('accepted'), t('completed'), t('won'), t('lost'), t('resolved'),
        t('no_action'), t('conversion')].map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', {}, total.handoffs.map((x) => h('tr', {'data-reason': x.reason},
        h('th', {scope: 'row'}, x.reason),
        cell(x.created, x.created, 'created'), cell(x.accepted, x.accepted, 'accepted'), cell(x.completed, x.completed, 'completed'),
        cell(x.outcomes.won, x.outcomes.won, 'outcomes.won'), cell(x.outcomes.lost, x.outcomes.lost, 'outcomes.lost'),
        cell(x.outcomes.resolved, x.outcomes.resolved, 'outcomes.resolved'), cell(x.outcomes.no_action, x.outcomes.no_action, 'outcomes.no_action'),
        cell(x.conversion, percent(x.conversion), 'conversion')))));
    const empty = !total.queues.length && !total.agents.length && !total.handoffs.length;
    replace(out,
      empty ? h('p', {class: 'empty'}, t('no_data')) : null,
      h('div', {class: 'charts'}, charts),
      h('h3', {}, t('per_queue')), queueTable,
      h('h3', {}, t('per_agent')), agentTable,
      h('h3', {}, t('handoffs_by_reason')), handoffTable);
  }

  select.addEventListener('change', load);
  load();

  return {
    navigate() {},
    unmount() {
      seq++;
      clear(root);
    },
  };
}
