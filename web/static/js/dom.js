// DOM helpers. Everything the console shows goes through h() and text nodes: customer text
// is untrusted, so no HTML string is ever parsed (no innerHTML anywhere in the console).

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('button', {class: 'x', onclick: f, 'aria-label': '…'}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements (charts).
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'style') {
      el.style.cssText = v; // through the CSSOM: the console's policy refuses style attributes
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// ---- words: English and Korean (the seed workspace's agents are Korean)

// Each word as [English, Korean].
const WORDS = {
  language: ['Language', '언어'],
  sign_out: ['Sign out', '로그아웃'],
  sign_in: ['Sign in', '로그인'],
  token: ['Access token', '액세스 토큰'],
  sign_in_help: ['Or paste the token from `baton token create`, or open the link `scripts/run` prints.', '또는 `baton token create`가 출력한 토큰을 붙여 넣거나 `scripts/run`이 출력한 링크를 여세요.'],
  agent_id: ['Agent id', '상담원 ID'],
  password: ['Password', '비밀번호'],
  use_token: ['Use token', '토큰 사용'],
  agent: ['Agent', '상담원'],
  supervisor: ['Supervisor', '관리자'],
  live: ['Live', '실시간'],
  rules: ['Routing rules', '라우팅 규칙'],
  reports: ['Reports', '보고서'],
  presence: ['Presence', '상태'],
  available: ['Available', '대기 중'],
  away: ['Away', '자리 비움'],
  offline: ['Offline', '오프라인'],
  wrap_up: ['Wrap-up', '후처리'],
  load: ['Load', '처리량'],
  offers: ['Offers', '배정 제안'],
  no_offers: ['No offers waiting.', '대기 중인 제안이 없습니다.'],
  accept: ['Accept', '수락'],
  decline: ['Decline', '거절'],
  decline_reason: ['Reason for declining', '거절 사유'],
  confirm_decline: ['Decline offer', '제안 거절'],
  cancel: ['Cancel', '취소'],
  my_cases: ['My cases', '내 케이스'],
  no_cases: ['No open cases.', '열린 케이스가 없습니다.'],
  expires_in: ['expires in', '남은 시간'],
  recent_history: ['Recent history', '최근 이력'],
  no_history: ['First contact.', '첫 문의입니다.'],
  reply: ['Reply', '답장'],
  send_reply: ['Send reply', '답장 보내기'],
  add_note: ['Add note', '메모 추가'],
  note: ['Internal note', '내부 메모'],
  transfer: ['Transfer', '이관'],
  to_agent: ['To agent (agt_…)', '상담원에게 (agt_…)'],
  to_queue: ['To queue', '대기열로'],
  do_transfer: ['Transfer case', '케이스 이관'],
  hand_off: ['Hand off', '인계'],
  hand_off_to: ['Hand off to', '인계 대상'],
  sales_owner: ['Account sales owner', '고객사 영업 담당'],
  team_sales: ['Sales team', '영업팀'],
  team_support: ['Support team', '지원팀'],
  reason: ['Reason', '사유'],
  move_case: ['Move the case too', '케이스도 함께 넘기기'],
  do_hand_off: ['Create handoff', '인계 생성'],
  resolve: ['Resolve', '해결'],
  resolution: ['Resolution', '해결 내용'],
  do_resolve: ['Resolve case', '케이스 해결'],
  complete_handoff: ['Complete handoff', '인계 완료'],
  outcome: ['Outcome', '결과'],
  do_complete: ['Complete', '완료'],
  customer: ['Customer', '고객'],
  identities: ['Identities', '연락처'],
  account: ['Account', '고객사'],
  tier: ['Tier', '등급'],
  earlier_cases: ['Cases across channels and teams', '채널·팀 전체 케이스'],
  open_handoffs: ['Open handoffs', '진행 중인 인계'],
  none: ['None', '없음'],
  select_case: ['Select a case or accept an offer.', '케이스를 선택하거나 제안을 수락하세요.'],
  timeline: ['Timeline', '타임라인'],
  status: ['Status', '상태'],
  priority: ['Priority', '우선순위'],
  queue: ['Queue', '대기열'],
  channel: ['Channel', '채널'],
  sla: ['SLA', 'SLA'],
  first_response_due: ['First response due', '첫 응답 기한'],
  resolution_due: ['Resolution due', '해결 기한'],
  breached: ['breached', '초과'],
  queues: ['Queues', '대기열'],
  waiting: ['Waiting', '대기'],
  oldest_wait: ['Oldest wait', '최장 대기'],
  service_level: ['Service level today', '오늘 서비스 수준'],
  agents_available: ['Available', '대기 중'],
  agents_busy: ['Busy', '응대 중'],
  agent_board: ['Agents', '상담원'],
  current_cases: ['Current cases', '진행 중 케이스'],
  name: ['Name', '이름'],
  version: ['Version', '버전'],
  validate: ['Validate', '검사'],
  save: ['Save', '저장'],
  saved: ['Saved as version', '저장된 버전'],
  valid: ['Valid', '올바름'],
  reload: ['Load the current version', '현재 버전 불러오기'],
  what_if: ['What if', '변경 시뮬레이션'],
  what_if_help: ['Replays the cases that arrived in the window, with the agents as they were, under the saved rules and under the text above. Nothing is saved.', '기간 안에 들어온 케이스를 당시 상담원 그대로 저장된 규칙과 위의 규칙으로 다시 재생합니다. 아무것도 저장하지 않습니다.'],
  try_week: ['Try on the last 7 days', '최근 7일로 시험'],
  replaying: ['Replaying…', '재생 중…'],
  from: ['From', '시작'],
  to: ['To', '끝'],
  recorded: ['recorded', '실제'],
  active: ['active', '현재 규칙'],
  candidate: ['candidate', '새 규칙'],
  change: ['change', '변화'],
  moved: ['Cases that move', '대기열이 바뀌는 케이스'],
  conflict: ['Conflict', '충돌'],
  conflict_text: ['The rules were changed since you loaded them. Your text is kept here and was not saved.', '불러온 뒤 규칙이 변경되었습니다. 작성한 내용은 저장되지 않고 그대로 남아 있습니다.'],
  range: ['Range', '기간'],
  service_level_range: ['Service level', '서비스 수준'],
  today_by_hour: ['Today, by hour', '오늘, 시간별'],
  week_by_day: ['Last 7 days, by day', '최근 7일, 일별'],
  month_by_day: ['Last 30 days, by day', '최근 30일, 일별'],
  service_level_over_time: ['Service level over time', '기간별 서비스 수준'],
  wait_over_time: ['Wait p90 over time (s)', '기간별 대기 p90 (초)'],
  per_queue: ['Per queue', '대기열별'],
  per_agent: ['Per agent', '상담원별'],
  handoffs_by_reason: ['Handoffs by reason and outcome', '사유·결과별 인계'],
  cases: ['Cases', '케이스'],
  answered: ['Answered', '응대'],
  abandoned: ['Abandoned', '포기'],
  resolved: ['Resolved', '해결'],
  wait_p50: ['Wait p50', '대기 p50'],
  wait_p90: ['Wait p90', '대기 p90'],
  first_response: ['First response p50', '첫 응답 p50'],
  handle: ['Handle p50', '처리 p50'],
  resolution_p50: ['Resolution p50', '해결 p50'],
  csat: ['CSAT', '만족도'],
  handoffs_sent: ['Handoffs sent', '보낸 인계'],
  handoffs_received: ['Handoffs received', '받은 인계'],
  created: ['Created', '생성'],
  accepted: ['Accepted', '수락'],
  completed: ['Completed', '완료'],
  won: ['Won', '성사'],
  lost: ['Lost', '실패'],
  no_action: ['No action', '조치 없음'],
  conversion: ['Conversion', '전환율'],
  open: ['Open', '진행 중'],
  refresh: ['Refresh', '새로 고침'],
  loading: ['Loading…', '불러오는 중…'],
  connected: ['live', '연결됨'],
  disconnected: ['reconnecting…', '재연결 중…'],
  new_offer: ['New offer', '새 제안'],
  no_data: ['No data in this range.', '이 기간에는 데이터가 없습니다.'],
  error: ['Error', '오류'],
};
const LANGUAGES = ['en', 'ko'];

let lang = localStorage.getItem('baton.lang') || (navigator.language.startsWith('ko') ? 'ko' : 'en');

export function t(key) {
  const w = WORDS[key];
  return w ? w[LANGUAGES.indexOf(lang)] || w[0] : key;
}

export function language() {
  return lang;
}

export function setLanguage(l) {
  lang = LANGUAGES.includes(l) ? l : 'en';
  localStorage.setItem('baton.lang', lang);
  document.documentElement.lang = lang;
}

// ---- formats

export function seconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} m`;
  return `${(s / 86400).toFixed(1)} d`;
}

export function percent(r) {
  return r === null || r === undefined ? '–' : `${(r * 100).toFixed(1)}%`;
}

export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString(lang, {hour: '2-digit', minute: '2-digit', second: '2-digit'})
    : d.toLocaleString(lang, {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}

export function badge(text, kind) {
  return h('span', {class: `badge ${kind || ''}`}, text);
}

// A message in the alert bar for a few seconds (errors of an action the user took).
export function flash(message, kind = 'error') {
  const bar = document.getElementById('alerts');
  const item = h('div', {class: `flash ${kind}`}, message);
  bar.append(item);
  setTimeout(() => item.remove(), 6000);
}

// The text of an API error: its title, detail and every field error.
export function problemText(err) {
  const p = err && err.problem;
  if (!p) return String(err && err.message ? err.message : err);
  const fields = (p.errors || []).map((e) => `${e.field}: ${e.message}`).join('; ');
  return `${p.status} ${p.title}${p.detail ? ` — ${p.detail}` : ''}${fields ? ` (${fields})` : ''}`;
}
