// The console speaks only the public API v1 and its stream, with the token the user gave.
// The token lives in this tab's sessionStorage: a link `/#token=…` signs the tab in and the
// fragment (never sent to the server) is removed from the address bar at once.

const KEY = 'baton.token';

export function takeTokenFromLink() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (!m) return;
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

export function token() {
  return sessionStorage.getItem(KEY);
}

// `session`: the token came from signing in with a password (POST /v1/sessions), and
// signing out ends it on the server too.
export function setToken(t, session = false) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
  if (t && session) sessionStorage.setItem(`${KEY}.session`, '1');
  else sessionStorage.removeItem(`${KEY}.session`);
}

export function isSession() {
  return sessionStorage.getItem(`${KEY}.session`) === '1';
}

// POST /v1/sessions: {token, expires_at, role, agent}; throws ApiError (401, 429, …).
export async function signIn(agentId, password) {
  const res = await fetch('/v1/sessions', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({agent_id: agentId, password}),
  });
  const body = await res.json().catch(() => null);
  if (res.status >= 400) throw new ApiError(res.status, body);
  return body;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.title ? `${status} ${problem.title}` : `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// {status, body, headers}; throws ApiError for a status >= 400.
export async function request(method, path, body, headers = {}) {
  const init = {method, headers: {Authorization: `Bearer ${token()}`, ...headers}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = {title: text.slice(0, 200)};
    }
  }
  if (res.status >= 400) throw new ApiError(res.status, parsed);
  return {status: res.status, body: parsed, headers: res.headers};
}

export async function api(method, path, body) {
  return (await request(method, path, body)).body;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);

// Every page of a list, up to `max` items.
export async function all(path, max = 500) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=${Math.min(500, max)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

// The WebSocket stream, reconnecting with back-off. onMessage(msg) for every message;
// onState('open' | 'closed'). The server sends an agent's pending offers again on every
// new connection, so a reconnect loses nothing.
export function openStream(onMessage, onState) {
  let ws = null;
  let stopped = false;
  let delay = 250;
  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/v1/stream?access_token=${encodeURIComponent(token())}`);
    ws.addEventListener('open', () => {
      delay = 250;
      onState('open');
    });
    ws.addEventListener('message', (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      onMessage(msg);
    });
    ws.addEventListener('close', () => {
      onState('closed');
      if (!stopped) {
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 8000);
      }
    });
  }
  connect();
  return {
    close() {
      stopped = true;
      if (ws) ws.close();
    },
  };
}
