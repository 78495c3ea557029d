// The web console in real browsers against the real `baton serve` on a loopback port with a
// fresh database per browser: Debian's chromium (DevTools protocol) and Debian's firefox-esr
// (WebDriver BiDi), both driven by playwright-core. Screenshots of every view go to
// BATON_ARTIFACTS (build/console-screenshots/<browser>-<view>.png under ctest).
//
//   BATON_BINARY=build/cli/baton BATON_SOURCE_DIR=. node tests/web/console.test.mjs
//   BATON_BROWSERS=chromium …   (one of them only)

import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {chromium, firefox} from 'playwright-core';

const source = path.resolve(process.env.BATON_SOURCE_DIR || '.');
const binary = path.resolve(process.env.BATON_BINARY || path.join(source, 'build/cli/baton'));
const artifacts = path.resolve(process.env.BATON_ARTIFACTS || path.join(source, 'build/console-screenshots'));
const browsers = {
  chromium: () => chromium.launch({executablePath: process.env.BATON_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox']}),
  firefox: () => firefox.launch({channel: 'moz-firefox', executablePath: process.env.BATON_FIREFOX || '/usr/bin/firefox-esr'}),
};
const chosen = (process.env.BATON_BROWSERS || 'chromium,firefox').split(',').filter(Boolean);
rmSync(artifacts, {recursive: true, force: true});

for (const browserName of chosen) describe(browserName, () => {
const dir = mkdtempSync(path.join(tmpdir(), `baton-console-${browserName}-`));
const db = path.join(dir, 'baton.db');
const common = ['--config', path.join(source, 'config/baton.toml'), '--db', db];
const env = {...process.env, BATON_STREAM_QUEUE_STATS_INTERVAL: '300ms', BATON_LOG_LEVEL: 'warn'};

let server;
let base;
let browser;
const tokens = {};
const externalRequests = [];
const pageErrors = [];
const dialogs = [];

function baton(...args) {
  return execFileSync(binary, [...args, ...common], {cwd: source, env, encoding: 'utf8'}).trim();
}

async function call(token, method, url, body, headers = {}) {
  const res = await fetch(base + url, {
    method,
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers};
}

async function ok(token, method, url, body, headers) {
  const r = await call(token, method, url, body, headers);
  assert.ok(r.status < 300, `${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function waitFor(what, fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function newPage(token, hash = '') {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}, locale: 'en-US'});
  const page = await context.newPage();
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(base) && !url.startsWith(base.replace('http:', 'ws:')) && !url.startsWith('data:')) {
      externalRequests.push(url);
    }
  });
  page.on('pageerror', (err) => {
    // Firefox reports the style playwright injects into the page while it takes a
    // screenshot as refused by the console's policy; that one is the harness's own.
    if (shooting && String(err).startsWith('Content-Security-Policy')) return;
    pageErrors.push(String(err));
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  await page.goto(`${base}/#token=${token}`);
  if (hash) await page.evaluate((h) => { location.hash = h; }, hash);
  return page;
}

let shooting = false;
async function shot(page, name) {
  shooting = true;
  try {
    await page.screenshot({path: path.join(artifacts, `${browserName}-${name}.png`), fullPage: true});
  } finally {
    shooting = false;
  }
}

before(async () => {
  mkdirSync(artifacts, {recursive: true});
  baton('migrate');
  tokens.admin = baton('token', 'create', '--role', 'admin');
  tokens.supervisor = baton('token', 'create', '--role', 'supervisor');
  tokens.gateway = baton('token', 'create', '--role', 'gateway');
  tokens.ana = baton('token', 'create', '--role', 'agent', '--agent', 'agt_ana');
  tokens.sam = baton('token', 'create', '--role', 'agent', '--agent', 'agt_sam');
  server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', ...common], {cwd: source, env, stdio: ['ignore', 'ignore', 'pipe']});
  base = await new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`baton serve did not start: ${log}`)), 15000);
    server.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/"msg":"listening".*?"address":"([^"]+)"/);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    });
    server.on('exit', (code) => reject(new Error(`baton serve exited ${code}: ${log}`)));
  });
  await ok(tokens.admin, 'POST', '/v1/agents', {id: 'agt_ana', name: 'Ana Kim (김아나)', role: 'agent', teams: ['support'],
    skills: {billing: 7}, languages: ['ko', 'en'], capacity: {chat: 2, email: 3}});
  await ok(tokens.admin, 'POST', '/v1/agents', {id: 'agt_sam', name: 'Sam Park', role: 'sales', teams: ['sales'],
    capacity: {chat: 2, email: 3}});
  browser = await browsers[browserName]();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  rmSync(dir, {recursive: true, force: true});
});

test('the console is served by baton with its own policy, and revalidates', async () => {
  const who = await ok(tokens.gateway, 'GET', '/v1/me');
  assert.deepEqual({role: who.role, agent: who.agent}, {role: 'gateway', agent: null});
  assert.equal((await ok(tokens.ana, 'GET', '/v1/me')).agent, 'agt_ana');
  assert.equal((await fetch(`${base}/v1/me`)).status, 401);
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  const etag = res.headers.get('etag');
  const again = await fetch(`${base}/`, {headers: {'If-None-Match': etag}});
  assert.equal(again.status, 304);
  const js = await fetch(`${base}/js/agent.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(`${base}/nope.js`)).status, 404);
});

test('sign in by pasting a token; a bad one is refused; sign out', async () => {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}});
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.goto(`${base}/`);
  await page.locator('#token').fill('btn_not_a_token');
  await page.getByRole('button', {name: 'Use token'}).click();
  await page.locator('.signin .error', {hasText: '401'}).waitFor();
  await page.locator('#token').fill(tokens.supervisor);
  await page.keyboard.press('Enter');
  await page.locator('#nav a[aria-current="page"]', {hasText: 'Live'}).waitFor();
  assert.equal(await page.locator('#who').innerText(), 'supervisor');
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.locator('#token').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('baton.token')), null);
  await context.close();
});

test('sign in with agent id and password; a wrong one is refused; sign out ends the session', async () => {
  await call(tokens.admin, 'PUT', '/v1/agents/agt_sam/password', {password: 'sam의 비밀번호 long enough'});
  const context = await browser.newContext({viewport: {width: 1280, height: 800}, locale: 'en-US'});
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    if (shooting && String(err).startsWith('Content-Security-Policy')) return;  // the screenshot's own style
    pageErrors.push(String(err));
  });
  await page.goto(`${base}/`);
  await page.locator('#agent_id').fill('agt_sam');
  await page.locator('#password').fill('not sam password');
  await page.getByRole('button', {name: 'Sign in', exact: true}).click();
  await page.locator('.signin .error', {hasText: '401'}).waitFor();
  await page.locator('#agent_id').fill('agt_sam');
  await page.locator('#password').fill('sam의 비밀번호 long enough');
  await page.locator('#password').press('Enter');
  await waitFor('signed in as sam', async () => (await page.locator('#who').innerText()) === 'agt_sam · agent');
  const session = await page.evaluate(() => sessionStorage.getItem('baton.token'));
  assert.ok(session.startsWith('btn_'));
  assert.equal((await call(session, 'GET', '/v1/me')).status, 200);
  await shot(page, 'signed-in-with-password');
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.locator('#agent_id').waitFor();
  await waitFor('the session ended on the server', async () => (await call(session, 'GET', '/v1/me')).status === 401);
  await context.close();
});

test('agent: available, offer within 1 s, accept, reply, hand off to sales, resolve', async () => {
  const account = await ok(tokens.admin, 'POST', '/v1/accounts', {name: 'Hanbit Co', tier: 'gold', sales_owner: 'agt_sam'});
  const customer = await ok(tokens.gateway, 'POST', '/v1/customers', {name: '이민지', account_id: account.id,
    identities: [{channel: 'chat', address: 'web:8812'}, {channel: 'email', address: 'minji@example.com'}]});
  const ana = await newPage(tokens.ana);
  const sam = await newPage(tokens.sam);
  await ana.getByRole('button', {name: 'Available'}).click();
  await waitFor('ana available', async () => (await ok(tokens.admin, 'GET', '/v1/agents/agt_ana')).presence === 'available');
  // An earlier e-mail case of the same customer that Ana handled, resolved: the panel shows
  // it (an agent sees the history of the cases it has handled, not its colleagues').
  const earlier = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'email', type: 'billing', subject: '세금계산서 재발행',
    customer: {id: customer.id}, body: '지난달 계산서를 다시 받을 수 있을까요?'});
  const earlierOffer = await waitFor('the earlier case offered to ana', async () =>
    (await ok(tokens.ana, 'GET', '/v1/offers?agent=agt_ana&status=pending')).data.find((o) => o.case_id === earlier.id));
  await ok(tokens.ana, 'POST', `/v1/offers/${earlierOffer.id}/accept`, {});
  await ok(tokens.ana, 'POST', `/v1/cases/${earlier.id}/resolve`, {resolution: 'sent'});
  await sam.getByRole('button', {name: 'Available'}).click();
  await waitFor('sam available', async () => (await ok(tokens.admin, 'GET', '/v1/agents/agt_sam')).presence === 'available');
  assert.equal(await ana.getByRole('button', {name: 'Available'}).getAttribute('aria-pressed'), 'true');

  const posted = Date.now();
  const created = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', type: 'support',
    subject: '요금제 업그레이드 문의 (40 seats)', customer: {channel: 'chat', address: 'web:8812'}, body: '팀 요금제로 바꾸고 싶어요.'});
  const offer = ana.locator(`.offer[data-case="${created.id}"]`);
  await offer.waitFor({state: 'visible', timeout: 1000});
  const offerMs = Date.now() - posted;
  assert.ok(offerMs <= 1000, `offer shown after ${offerMs} ms`);
  await offer.locator('.history li').first().waitFor();
  assert.match(await offer.locator('.history').innerText(), /세금계산서 재발행|지난달/);
  assert.match(await offer.locator('.countdown').innerText(), /^0:[0-3]\d$/);
  assert.match(await ana.title(), /^\(1\)/);
  await shot(ana, 'agent-offer');

  await offer.getByRole('button', {name: 'Accept'}).click();
  await ana.locator('.case-head .subject', {hasText: '요금제 업그레이드'}).waitFor();
  assert.equal((await ok(tokens.admin, 'GET', `/v1/cases/${created.id}`)).assignee, 'agt_ana');
  await ana.locator('#composer').fill('안녕하세요, 영업 담당자에게 연결해 드릴게요.');
  await ana.locator('#send-reply').click();
  await ana.locator('#case-timeline .event.message_out', {hasText: '영업 담당자'}).waitFor();
  await ana.locator('#composer').fill('40 seats, wants the team plan');
  await ana.locator('#add-note').click();
  await ana.locator('#case-timeline .event.note', {hasText: 'team plan'}).waitFor();

  // The customer panel: identities, account and owner, both cases across channels.
  const panel = ana.locator('.customer-pane');
  await panel.locator('.sales-owner', {hasText: 'agt_sam'}).waitFor();
  assert.match(await panel.locator('.identities').innerText(), /minji@example\.com/);
  assert.equal(await panel.locator('.customer-cases li').count(), 2);
  await shot(ana, 'agent-case');

  // Suggested by the rules: the hand-off form is open with the reason set.
  const form = ana.locator('#handoff');
  assert.equal(await form.locator('select[name=reason]').inputValue(), 'upsell');
  await form.locator('select[name=to]').selectOption('sales_owner');
  await form.locator('textarea[name=note]').fill('Asked about the team plan for 40 seats');
  await form.getByRole('button', {name: 'Create handoff'}).click();
  const handoff = await waitFor('the handoff', async () => {
    const list = await ok(tokens.admin, 'GET', '/v1/handoffs?reason=upsell');
    return list.data.find((x) => x.from_case === created.id);
  });
  assert.equal(handoff.to_agent, 'agt_sam');
  assert.equal(handoff.from_agent, 'agt_ana');
  await ana.locator('#case-timeline .event.handed_off').waitFor();

  // The sales owner gets the lead live, with its context, and accepts it.
  const lead = sam.locator(`.offer[data-case="${handoff.to_case}"]`);
  await lead.waitFor({timeout: 3000});
  await lead.getByRole('button', {name: 'Accept'}).click();
  await sam.locator('#case-timeline .event.note', {hasText: 'team plan for 40 seats'}).waitFor();
  await sam.locator('.customer-pane .handoffs li', {hasText: 'upsell'}).waitFor();
  assert.equal(await sam.locator('.customer-pane .customer-cases li').count(), 3);
  await shot(sam, 'agent-sales-lead');
  await sam.locator('#complete summary').click();
  await sam.locator('#complete select[name=outcome]').selectOption('won');
  await sam.locator('#complete').getByRole('button', {name: 'Complete'}).click();
  await waitFor('handoff won', async () => (await ok(tokens.admin, 'GET', `/v1/handoffs/${handoff.id}`)).outcome === 'won');

  await ana.locator('#resolve summary').click();
  await ana.locator('#resolve input[name=resolution]').fill('handed to sales');
  await ana.locator('#resolve').getByRole('button', {name: 'Resolve case'}).click();
  await waitFor('resolved', async () => (await ok(tokens.admin, 'GET', `/v1/cases/${created.id}`)).status === 'resolved');
  await ana.locator(`#cases-card li[data-case="${created.id}"]`).waitFor({state: 'detached'});
  await ana.context().close();
  await sam.context().close();
});

test('agent: keyboard presence, an offer accepted in another tab, transfer, reconnect, decline with a reason, a lapsed offer', async () => {
  const ana = await newPage(tokens.ana);
  // Keyboard: reach the presence buttons with Tab and switch with Enter.
  await ana.getByRole('button', {name: 'Away'}).focus();
  await ana.keyboard.press('Enter');
  await waitFor('away', async () => (await ok(tokens.admin, 'GET', '/v1/agents/agt_ana')).presence === 'away');
  await ana.keyboard.press('Shift+Tab');
  await ana.keyboard.press('Enter');
  await waitFor('available', async () => (await ok(tokens.admin, 'GET', '/v1/agents/agt_ana')).presence === 'available');

  // Two tabs of one agent: accepted in one, the offer leaves the other.
  const tab = await newPage(tokens.ana);
  const both = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', subject: 'Two tabs',
    customer: {channel: 'chat', address: 'web:9003'}});
  await ana.locator(`.offer[data-case="${both.id}"]`).waitFor({timeout: 1000});
  await tab.locator(`.offer[data-case="${both.id}"]`).getByRole('button', {name: 'Accept'}).click();
  await ana.locator(`.offer[data-case="${both.id}"]`).waitFor({state: 'detached', timeout: 2000});
  await ana.locator(`#cases-card li[data-case="${both.id}"]`).waitFor();
  await tab.context().close();
  // Transfer to another queue from the case page: the case leaves this agent.
  await ana.locator(`#cases-card li[data-case="${both.id}"] a`).click();
  await ana.locator('.case-head .subject', {hasText: 'Two tabs'}).waitFor();
  await ana.locator('#transfer summary').click();
  await ana.locator('#transfer input[name=to_queue]').fill('sales');
  await ana.locator('#transfer input[name=note]').fill('wrong queue');
  await ana.locator('#transfer').getByRole('button', {name: 'Transfer case'}).click();
  await ana.locator(`#cases-card li[data-case="${both.id}"]`).waitFor({state: 'detached'});
  const moved = await ok(tokens.admin, 'GET', `/v1/cases/${both.id}`);
  assert.equal(moved.queue, 'sales');
  assert.notEqual(moved.assignee, 'agt_ana');
  await ok(tokens.admin, 'POST', `/v1/cases/${both.id}/resolve`, {});

  const c = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', subject: 'Login fails',
    customer: {channel: 'chat', address: 'web:9001', name: 'Kim'}});
  const offer = ana.locator(`.offer[data-case="${c.id}"]`);
  await offer.waitFor({timeout: 1000});
  // A reload reconnects: the pending offer comes back with the time it has left, not anew.
  await new Promise((r) => setTimeout(r, 2500));
  await ana.reload();
  await offer.waitFor({timeout: 3000});
  const [mm, ss] = (await offer.locator('.countdown').innerText()).split(':').map(Number);
  assert.ok(mm * 60 + ss <= 28, `countdown after reconnect ${mm}:${ss}`);
  await offer.getByRole('button', {name: 'Decline'}).click();
  await offer.locator('.decline-reason').fill('not my language');
  await offer.getByRole('button', {name: 'Decline offer'}).click();
  await offer.waitFor({state: 'detached'});
  const offers = await ok(tokens.admin, 'GET', `/v1/offers?agent=agt_ana`);
  const declined = offers.data.find((o) => o.case_id === c.id);
  assert.equal(declined.status, 'declined');
  assert.equal(declined.reason, 'not my language');

  // An offer nobody answers: with the support queue's time-out at 2 s the card counts down,
  // goes when the server takes the offer back, and says so.
  const rules = await ok(tokens.admin, 'GET', '/v1/routing');
  const at = rules.source.indexOf('offer_timeout = "30s"');
  assert.ok(rules.source.indexOf('[queues.support]') < at && at < rules.source.indexOf('[queues.sales]'));
  const fast = rules.source.replace('offer_timeout = "30s"', 'offer_timeout = "2s"');
  await ok(tokens.admin, 'PUT', '/v1/routing', {source: fast}, {'If-Match': `"v${rules.version}"`});
  const lapsing = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', subject: 'Nobody answers',
    customer: {channel: 'chat', address: 'web:9002'}});
  const card = ana.locator(`.offer[data-case="${lapsing.id}"]`);
  await card.waitFor({timeout: 1000});
  assert.match(await card.locator('.countdown').innerText(), /^0:0[0-2]$/);
  await card.waitFor({state: 'detached', timeout: 5000});
  await ana.locator('.flash', {hasText: 'Nobody answers: timed out'}).waitFor();
  const lapsed = (await ok(tokens.admin, 'GET', '/v1/offers?agent=agt_ana')).data.find((o) => o.case_id === lapsing.id);
  assert.equal(lapsed.status, 'timed_out');
  await ok(tokens.admin, 'PUT', '/v1/routing', {source: rules.source}, {'If-Match': `"v${rules.version + 1}"`});
  await ok(tokens.admin, 'POST', `/v1/cases/${lapsing.id}/resolve`, {});
  await ana.context().close();
});

test('customer text is shown as text and never runs', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  const ana = await newPage(tokens.ana);
  const live = await newPage(tokens.supervisor, '#/live');
  await ana.getByRole('button', {name: 'Available'}).click();
  const c = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', subject: evil,
    body: '<script>window.__pwned = 1</script><b onmouseover=alert(2)>hi</b>',
    customer: {channel: 'chat', address: 'web:6666', name: '<svg onload=alert(3)>'}});
  const offer = ana.locator(`.offer[data-case="${c.id}"]`);
  await offer.waitFor({timeout: 1000});
  assert.equal(await offer.locator('.subject').innerText(), evil);
  await offer.getByRole('button', {name: 'Accept'}).click();
  await ana.locator('.case-head .subject', {hasText: evil}).waitFor();
  await ana.locator('#case-timeline .event.message_in', {hasText: '<script>'}).waitFor();
  await ana.locator('.customer-pane .customer-name', {hasText: '<svg onload=alert(3)>'}).waitFor();
  await live.locator('#board .case-chip', {hasText: evil}).waitFor();
  for (const page of [ana, live]) {
    assert.equal(await page.locator('img[src="x"], script:not([src]), svg[onload], b[onmouseover]').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  }
  assert.deepEqual(dialogs, []);
  await shot(ana, 'agent-escaped');
  await ok(tokens.admin, 'POST', `/v1/cases/${c.id}/resolve`, {});
  await ana.context().close();
  await live.context().close();
});

test('supervisor: live queues and agent board follow the stream', async () => {
  const page = await newPage(tokens.supervisor, '#/live');
  const waiting = page.locator('#queues tr[data-queue="support"] .waiting');
  await waiting.waitFor();
  const before = Number(await waiting.innerText());
  await ok(tokens.admin, 'PUT', '/v1/agents/agt_ana/presence', {presence: 'away'});
  await page.locator('#board tr[data-agent="agt_ana"] .board-presence .badge', {hasText: 'Away'}).waitFor({timeout: 2000});
  const c = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', subject: 'waiting case',
    customer: {channel: 'chat', address: 'web:7777'}});
  await waitFor('waiting +1', async () => Number(await waiting.innerText()) === before + 1, 3000);
  await shot(page, 'supervisor-live');
  await ok(tokens.admin, 'POST', `/v1/cases/${c.id}/resolve`, {});
  await waitFor('waiting back', async () => Number(await waiting.innerText()) === before, 3000);
  await page.context().close();
});

test('supervisor: rules validate as one types, save with the ETag, a stale save shows the conflict', async () => {
  const page = await newPage(tokens.supervisor, '#/rules');
  const editor = page.locator('#rules-source');
  await page.locator('#rules-status', {hasText: 'Valid'}).waitFor();
  const original = await editor.inputValue();
  const v0 = (await ok(tokens.admin, 'GET', '/v1/routing')).version;
  assert.equal(await page.locator('#rules-version').innerText(), `Version ${v0}`);

  await editor.fill(`${original}\n[[rules]]\nname = "broken"\nwhen = 'priority >'\nqueue = "support"\n`);
  const fault = page.locator('#rules-errors li', {hasText: 'when'});
  await fault.waitFor();
  assert.match(await fault.innerText(), /^\d+:\d+ /);
  assert.equal(await editor.getAttribute('aria-invalid'), 'true');
  await shot(page, 'supervisor-rules-error');

  const mine = `${original}\n# tuned in the console\n`;
  await editor.fill(mine);
  await page.locator('#rules-status', {hasText: 'Valid'}).waitFor();
  await page.locator('#rules-save').click();
  await page.locator('#rules-status', {hasText: `Saved as version ${v0 + 1}`}).waitFor();
  const saved = await ok(tokens.admin, 'GET', '/v1/routing');
  assert.equal(saved.version, v0 + 1);
  assert.equal(saved.source, mine);

  // Someone else saves meanwhile; this editor's save must not overwrite it.
  const theirs = `${mine}# changed elsewhere\n`;
  await ok(tokens.admin, 'PUT', '/v1/routing', {source: theirs}, {'If-Match': `"v${v0 + 1}"`});
  await editor.fill(`${mine}# my stale change\n`);
  await page.locator('#rules-save').click();
  await page.locator('#rules-conflict', {hasText: 'Conflict'}).waitFor();
  assert.match(await page.locator('#rules-conflict').innerText(), new RegExp(`${v0 + 1} → ${v0 + 2}`));
  const after = await ok(tokens.admin, 'GET', '/v1/routing');
  assert.equal(after.version, v0 + 2);
  assert.equal(after.source, theirs);
  assert.match(await editor.inputValue(), /my stale change/);
  await shot(page, 'supervisor-rules-conflict');
  await page.locator('#rules-reload').click();
  await page.locator('#rules-version', {hasText: `Version ${v0 + 2}`}).waitFor();
  assert.equal(await page.locator('#rules-conflict').isHidden(), true);
  await page.context().close();
});

test('supervisor: a rule tried on the last 7 days shows recorded, active and candidate per queue, and the cases that move', async () => {
  const moving = [];
  for (let i = 0; i < 2; i++) {
    const c = await ok(tokens.gateway, 'POST', '/v1/cases', {channel: 'chat', type: 'support', subject: 'move me',
      customer: {channel: 'chat', address: `web:whatif-${i}`}});
    moving.push(c.id);
  }
  const page = await newPage(tokens.supervisor, '#/rules');
  const editor = page.locator('#rules-source');
  await page.locator('#rules-status', {hasText: 'Valid'}).waitFor();
  const original = await editor.inputValue();
  const at = original.indexOf('[[rules]]');
  await editor.fill(`${original.slice(0, at)}[[rules]]\nname = "try"\nwhen = 'subject == "move me"'\nqueue = "sales"\n\n${original.slice(at)}`);
  await page.locator('#rules-status', {hasText: 'Valid'}).waitFor();
  await page.locator('#whatif-run').click();
  await page.locator('#whatif-status', {hasText: 'ms'}).waitFor();
  // The same figures as the API's for the same window and text.
  const from = await page.locator('#whatif-from').inputValue();
  const to = await page.locator('#whatif-to').inputValue();
  const api = await ok(tokens.supervisor, 'POST', '/v1/routing/simulate',
    {source: await editor.inputValue(), from: `${from}T00:00:00Z`, to: `${to}T00:00:00Z`});
  for (const q of Object.keys(api.candidate.queues)) {
    const row = page.locator(`#whatif-table tr[data-queue="${q}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[2], `${(api.candidate.queues[q].service_level * 100).toFixed(1)}%`);
  }
  // Exactly the two cases move, support to sales, each a link to the case.
  const links = page.locator('#whatif-moved a');
  assert.deepEqual((await links.allInnerTexts()).sort(), [...moving].sort());
  assert.match(await page.locator('#whatif-moved').innerText(), /support → sales/);
  assert.deepEqual(api.moved.map((m) => m.case_id).sort(), [...moving].sort());
  // A change is coloured by whether it is better; a queue on one side only has none.
  for (const [q, d] of Object.entries(api.delta.queues)) {
    const cls = await page.locator(`#whatif-table tr[data-queue="${q}"] td.delta`).first().getAttribute('class');
    if (d.service_level === null) assert.doesNotMatch(cls, /better|worse|same/);
    else if (d.service_level > 0) assert.match(cls, /better/);
    else if (d.service_level < 0) assert.match(cls, /worse/);
    else assert.match(cls, /same/);
  }
  await shot(page, 'supervisor-what-if');
  await links.first().click();
  await page.locator('#whatif-case-card', {hasText: (await links.first().innerText())}).waitFor();
  assert.match(await page.locator('#whatif-case-card').innerText(), /move me/);
  // Nothing was saved.
  assert.equal((await ok(tokens.supervisor, 'GET', '/v1/routing')).source.includes('move me'), false);
  await page.context().close();
});

test('supervisor: reports show the API figures, as charts and tables', async () => {
  const page = await newPage(tokens.supervisor, '#/reports');
  const body = page.locator('#report-body[aria-busy="false"]');
  await body.locator('#report-queues').waitFor();
  const from = await page.locator('#report-body').getAttribute('data-from');
  const to = await page.locator('#report-body').getAttribute('data-to');
  const api = await ok(tokens.supervisor, 'GET', `/v1/reports/summary?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  const pick = (o, dotted) => dotted.split('.').reduce((x, k) => x[k], o);
  let checked = 0;
  for (const [table, key, rows] of [['#report-queues', 'queue', api.queues], ['#report-agents', 'agent', api.agents],
    ['#report-handoffs', 'reason', api.handoffs]]) {
    assert.equal(await page.locator(`${table} tbody tr`).count(), rows.length);
    for (const row of rows) {
      const cells = page.locator(`${table} tr[data-${key}="${row[key]}"] td[data-field]`);
      for (let i = 0; i < await cells.count(); i++) {
        const field = await cells.nth(i).getAttribute('data-field');
        const shown = await cells.nth(i).getAttribute('data-value');
        const want = pick(row, field);
        assert.equal(shown, want === null ? '' : String(want), `${table} ${row[key]} ${field}`);
        checked++;
      }
    }
  }
  assert.ok(api.handoffs.some((x) => x.reason === 'upsell' && x.outcomes.won === 1));
  assert.ok(checked > 20, `${checked} figures compared`);
  // Four charts: service level and wait over time, per agent, handoffs; the bars carry the
  // same figures as the tables.
  assert.equal(await page.locator('.chart svg').count(), 4);
  const upsell = api.handoffs.find((x) => x.reason === 'upsell');
  assert.equal(await page.locator('.chart g[data-bar="upsell"] rect title').first().textContent(), `upsell Won: ${upsell.outcomes.won}`);
  const ana = api.agents.find((a) => a.agent === 'agt_ana');
  assert.equal(await page.locator('.chart g[data-bar="ana"] rect title').first().textContent(), `ana Answered: ${ana.answered}`);
  await shot(page, 'supervisor-reports');
  // Korean labels render too.
  await page.locator('#lang').selectOption('ko');
  await page.locator('#nav a', {hasText: '보고서'}).waitFor();
  await body.locator('#report-queues').waitFor();
  await shot(page, 'supervisor-reports-ko');
  await page.locator('#lang').selectOption('en');
  await page.context().close();
});

test('no request leaves for another origin and no script error happened', () => {
  assert.deepEqual(externalRequests, []);
  assert.deepEqual(pageErrors, []);
});
});
