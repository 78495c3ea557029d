// Small SVG charts: lines over time and stacked bars. Labels are text nodes (no markup).

import {h, s} from './dom.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const W = 640;
const H = 220;
const PAD = {left: 48, right: 12, top: 12, bottom: 28};

export function color(i) {
  return COLORS[i % COLORS.length];
}

function legend(names) {
  return h('ul', {class: 'legend'}, names.map((n, i) => h('li', {},
    h('span', {class: 'swatch', style: `background:${color(i)}`}), n)));
}

// A chart: its caption, the SVG drawing and the legend of its series.
function figure(title, names, ...drawing) {
  return h('figure', {class: 'chart'},
    h('figcaption', {}, title),
    s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title}, drawing),
    legend(names));
}

// The y axis of a bar chart of counts up to `max`: whole numbers only.
function countAxis(max, format) {
  const ih = H - PAD.top - PAD.bottom;
  return [...new Set([0, Math.round(max / 2), max])].map((v) => s('text',
    {x: PAD.left - 6, y: PAD.top + ih - (v / max) * ih + 4, class: 'axis', 'text-anchor': 'end'}, format(v)));
}

// series: [{name, values: [number|null]}], labels: [string] (one per x), format(y) for the axis.
export function lineChart({title, labels, series, yMax, format = String}) {
  const max = yMax !== undefined ? yMax : Math.max(1, ...series.flatMap((x) => x.values.filter((v) => v !== null)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (labels.length <= 1 ? iw / 2 : (i * iw) / (labels.length - 1));
  const y = (v) => PAD.top + ih - (v / max) * ih;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => [
    s('line', {x1: PAD.left, x2: W - PAD.right, y1: y(f * max), y2: y(f * max), class: 'grid-line'}),
    s('text', {x: PAD.left - 6, y: y(f * max) + 4, class: 'axis', 'text-anchor': 'end'}, format(f * max)),
  ]);
  const step = Math.max(1, Math.ceil(labels.length / 8));
  const ticks = labels.map((l, i) => (i % step === 0
    ? s('text', {x: x(i), y: H - 8, class: 'axis', 'text-anchor': 'middle'}, l) : null));
  const lines = series.map((ser, k) => {
    const segs = [];
    let d = '';
    ser.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        d = '';
        return;
      }
      d += `${d ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      segs.push(s('circle', {cx: x(i), cy: y(v), r: 3, fill: color(k)}, s('title', {}, `${ser.name} ${labels[i]}: ${format(v)}`)));
      if (i === ser.values.length - 1 || ser.values[i + 1] === null || ser.values[i + 1] === undefined) {
        segs.unshift(s('path', {d, fill: 'none', stroke: color(k), 'stroke-width': 2}));
      }
    });
    return s('g', {'data-series': ser.name}, segs);
  });
  return figure(title, series.map((x) => x.name), grid, ticks, lines);
}

// bars: [{label, parts: [number]}], parts named by `names` (stacked).
export function stackedBars({title, bars, names, format = String}) {
  const max = Math.max(1, ...bars.map((b) => b.parts.reduce((a, v) => a + v, 0)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const slot = iw / Math.max(1, bars.length);
  const bw = Math.min(48, slot * 0.6);
  const y = (v) => (v / max) * ih;
  const groups = bars.map((b, i) => {
    let base = PAD.top + ih;
    const x0 = PAD.left + i * slot + (slot - bw) / 2;
    const rects = b.parts.map((v, k) => {
      if (!v) return null;
      const hgt = y(v);
      base -= hgt;
      return s('rect', {x: x0, y: base, width: bw, height: hgt, fill: color(k)}, s('title', {}, `${b.label} ${names[k]}: ${format(v)}`));
    });
    return s('g', {'data-bar': b.label}, rects,
      s('text', {x: x0 + bw / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle'}, b.label));
  });
  return figure(title, names, countAxis(max, format), groups);
}

// bars: [{label, values: [number]}], one bar per name side by side in each group.
export function groupedBars({title, bars, names, format = String}) {
  const max = Math.max(1, ...bars.flatMap((b) => b.values));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const slot = iw / Math.max(1, bars.length);
  const bw = Math.min(24, (slot * 0.8) / names.length);
  const groups = bars.map((b, i) => {
    const x0 = PAD.left + i * slot + (slot - bw * names.length) / 2;
    return s('g', {'data-bar': b.label},
      b.values.map((v, k) => s('rect', {x: x0 + k * bw, y: PAD.top + ih - (v / max) * ih, width: bw - 2, height: (v / max) * ih, fill: color(k)},
        s('title', {}, `${b.label} ${names[k]}: ${format(v)}`))),
      s('text', {x: x0 + (bw * names.length) / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle'}, b.label));
  });
  return figure(title, names, countAxis(max, format), groups);
}
