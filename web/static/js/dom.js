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

const WORDS = {
  en: {
    language: 'Language', sign_out: 'Sign out', sign_in: 'Sign in', token: 'Access token',
    sign_in_help: 'Paste the token from `baton token create`, or open the link `scripts/run` prints.',
    agent: 'Agent', supervisor: 'Supervisor', live: 'Live', rules: 'Routing rules', reports: 'Reports',
    presence: 'Presence', available: 'Available', away: 'Away', offline: 'Offline', wrap_up: 'Wrap-up',
    load: 'Load', offers: 'Offers', no_offers: 'No offers waiting.', accept: 'Accept', decline: 'Decline',
    decline_reason: 'Reason for declining', confirm_decline: 'Decline offer', cancel: 'Cancel',
    my_cases: 'My cases', no_cases: 'No open cases.', expires_in: 'expires in',
    recent_history: 'Recent history', no_history: 'First contact.',
    reply: 'Reply', send_reply: 'Send reply', add_note: 'Add note', note: 'Internal note',
    transfer: 'Transfer', to_agent: 'To agent (agt_…)', to_queue: 'To queue', do_transfer: 'Transfer case',
    hand_off: 'Hand off', hand_off_to: 'Hand off to', sales_owner: 'Account sales owner',
    team_sales: 'Sales team', team_support: 'Support team', reason: 'Reason', move_case: 'Move the case too',
    do_hand_off: 'Create handoff', resolve: 'Resolve', resolution: 'Resolution', do_resolve: 'Resolve case',
    complete_handoff: 'Complete handoff', outcome: 'Outcome', do_complete: 'Complete',
    customer: 'Customer', identities: 'Identities', account: 'Account', tier: 'Tier',
    earlier_cases: 'Cases across channels and teams', open_handoffs: 'Open handoffs', none: 'None',
    select_case: 'Select a case or accept an offer.', timeline: 'Timeline', status: 'Status',
    priority: 'Priority', queue: 'Queue', channel: 'Channel', sla: 'SLA', first_response_due: 'First response due',
    resolution_due: 'Resolution due', breached: 'breached',
    queues: 'Queues', waiting: 'Waiting', oldest_wait: 'Oldest wait', service_level: 'Service level today',
    agents_available: 'Available', agents_busy: 'Busy', agent_board: 'Agents', current_cases: 'Current cases',
    name: 'Name', version: 'Version', validate: 'Validate', save: 'Save', saved: 'Saved as version',
    valid: 'Valid', reload: 'Load the current version', conflict: 'Conflict',
    conflict_text: 'The rules were changed since you loaded them. Your text is kept here and was not saved.',
    range: 'Range', service_level_range: 'Service level', today_by_hour: 'Today, by hour', week_by_day: 'Last 7 days, by day', month_by_day: 'Last 30 days, by day',
    service_level_over_time: 'Service level over time', wait_over_time: 'Wait p90 over time (s)',
    per_queue: 'Per queue', per_agent: 'Per agent', handoffs_by_reason: 'Handoffs by reason and outcome',
    cases: 'Cases', answered: 'Answered', abandoned: 'Abandoned', resolved: 'Resolved', wait_p50: 'Wait p50',
    wait_p90: 'Wait p90', first_response: 'First response p50', handle: 'Handle p50', resolution_p50: 'Resolution p50',
    csat: 'CSAT', handoffs_sent: 'Handoffs sent', handoffs_received: 'Handoffs received', created: 'Created',
    accepted: 'Accepted', completed: 'Completed', won: 'Won', lost: 'Lost', no_action: 'No action', conversion: 'Conversion',
    open: 'Open', refresh: 'Refresh', loading: 'Loading…', connected: 'live', disconnected: 'reconnecting…',
    new_offer: 'New offer', no_data: 'No data in this range.', error: 'Error',
  },
  ko: {
    language: '언어', sign_out: '로그아웃', sign_in: '로그인', token: '액세스 토큰',
    sign_in_help: '`baton token create`가 출력한 토큰을 붙여 넣거나 `scripts/run`이 출력한 링크를 여세요.',
    agent: '상담원', supervisor: '관리자', live: '실시간', rules: '라우팅 규칙', reports: '보고서',
    presence: '상태', available: '대기 중', away: '자리 비움', offline: '오프라인', wrap_up: '후처리',
    load: '처리량', offers: '배정 제안', no_offers: '대기 중인 제안이 없습니다.', accept: '수락', decline: '거절',
    decline_reason: '거절 사유', confirm_decline: '제안 거절', cancel: '취소',
    my_cases: '내 케이스', no_cases: '열린 케이스가 없습니다.', expires_in: '남은 시간',
    recent_history: '최근 이력', no_history: '첫 문의입니다.',
    reply: '답장', send_reply: '답장 보내기', add_note: '메모 추가', note: '내부 메모',
    transfer: '이관', to_agent: '상담원에게 (agt_…)', to_queue: '대기열로', do_transfer: '케이스 이관',
    hand_off: '인계', hand_off_to: '인계 대상', sales_owner: '고객사 영업 담당',
    team_sales: '영업팀', team_support: '지원팀', reason: '사유', move_case: '케이스도 함께 넘기기',
    do_hand_off: '인계 생성', resolve: '해결', resolution: '해결 내용', do_resolve: '케이스 해결',
    complete_handoff: '인계 완료', outcome: '결과', do_complete: '완료',
    customer: '고객', identities: '연락처', account: '고객사', tier: '등급',
    earlier_cases: '채널·팀 전체 케이스', open_handoffs: '진행 중인 인계', none: '없음',
    select_case: '케이스를 선택하거나 제안을 수락하세요.', timeline: '타임라인', status: '상태',
    priority: '우선순위', queue: '대기열', channel: '채널', sla: 'SLA', first_response_due: '첫 응답 기한',
    resolution_due: '해결 기한', breached: '초과',
    queues: '대기열', waiting: '대기', oldest_wait: '최장 대기', service_level: '오늘 서비스 수준',
    agents_available: '대기 중', agents_busy: '응대 중', agent_board: '상담원', current_cases: '진행 중 케이스',
    name: '이름', version: '버전', validate: '검사', save: '저장', saved: '저장된 버전',
    valid: '올바름', reload: '현재 버전 불러오기', conflict: '충돌',
    conflict_text: '불러온 뒤 규칙이 변경되었습니다. 작성한 내용은 저장되지 않고 그대로 남아 있습니다.',
    range: '기간', service_level_range: '서비스 수준', today_by_hour: '오늘, 시간별', week_by_day: '최근 7일, 일별', month_by_day: '최근 30일, 일별',
    service_level_over_time: '기간별 서비스 수준', wait_over_time: '기간별 대기 p90 (초)',
    per_queue: '대기열별', per_agent: '상담원별', handoffs_by_reason: '사유·결과별 인계',
    cases: '케이스', answered: '응대', abandoned: '포기', resolved: '해결', wait_p50: '대기 p50',
    wait_p90: '대기 p90', first_response: '첫 응답 p50', handle: '처리 p50', resolution_p50: '해결 p50',
    csat: '만족도', handoffs_sent: '보낸 인계', handoffs_received: '받은 인계', created: '생성',
    accepted: '수락', completed: '완료', won: '성사', lost: '실패', no_action: '조치 없음', conversion: '전환율',
    open: '진행 중', refresh: '새로 고침', loading: '불러오는 중…', connected: '연결됨', disconnected: '재연결 중…',
    new_offer: '새 제안', no_data: '이 기간에는 데이터가 없습니다.', error: '오류',
  },
};

let lang = localStorage.getItem('baton.lang') || (navigator.language.startsWith('ko') ? 'ko' : 'en');

export function t(key) {
  return (WORDS[lang] && WORDS[lang][key]) || WORDS.en[key] || key;
}

export function language() {
  return lang;
}

export function setLanguage(l) {
  lang = WORDS[l] ? l : 'en';
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
