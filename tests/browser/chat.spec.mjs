// Browser test of Sala's web client, run by tests/browser.rs (cargo test):
//
//   node chat.spec.mjs <page-url> <tcp-host:port> <screenshot.png>
//   node chat.spec.mjs --features <page-url> <tcp-host:port>
//   node chat.spec.mjs --history <page-url> <tcp-host:port>
//   node chat.spec.mjs --tls <https-page-url> <tcp-host:port>
//
// Two Chromium users (ana, bob) and one CHAT/1 TCP client (carl) chat; a room
// is created, joined, left and deleted; whispers; a broadcast; a message with
// HTML in it is shown as text; the server restarts and the pages reconnect.
// Steps named by a number check that point of issue 16: long pastes split
// (1), unread counts on the phone (3), day separators (4), the "New messages"
// line (5), errors next to the box (6), the placeholder (7), the sidebar (8),
// broadcasts (9), colours, grouping, links and mentions (10), no needless
// "Load older messages" (11), /join /msg /me /nick (12), the disconnected
// state (13), the member list (14); and notifications, and axe-core (WCAG
// 2.1 A and AA) on the login form and the chat, desktop and phone (375x667).
//
// With --features (a second run, on a server of its own; see features() below):
// older history on scrolling up, a room locked with a key, an account
// registered and logged in to, a user kicked by a TCP owner; registering
// from the page (12); "Yesterday" and an error that stays (4, 6, on a page
// whose clock is a day ahead); a reload that stays logged in by its token,
// and logging out, which revokes it (2).
//
// With --history (a third run, on a server of its own with a data directory;
// see history() below): a registered user's room, its saved history across a
// restart, each message shown once when the page rejoins and pages back.
//
// With --tls (a fourth run, on a server with TLS on; see tls() below): the
// page over HTTPS (a secure context) and its WebSocket over WSS, chatting
// with a TCP client; the test's certificate is self-signed, so the browser
// context is told to accept it.
//
// The restart needs the Rust side: this script prints "STOP" and waits for
// "STOPPED" on stdin, then prints "START" and waits for "GO". Every wait is for
// something visible on the page (or a line from the server), with a timeout;
// nothing sleeps for a fixed time. Exit status 0 means every step passed.

import { chromium } from 'playwright-core';
import readline from 'node:readline';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LineClient } from './line-client.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const featuresRun = process.argv[2] === '--features';
const historyRun = process.argv[2] === '--history';
const tlsRun = process.argv[2] === '--tls';
const [url, tcpAddr, screenshot] = process.argv.slice(featuresRun || historyRun || tlsRun ? 3 : 2);
if (!url || !tcpAddr || (!screenshot && !featuresRun && !historyRun && !tlsRun)) {
  console.error('usage: node chat.spec.mjs <page-url> <tcp-host:port> <screenshot.png>');
  console.error('       node chat.spec.mjs --features <page-url> <tcp-host:port>');
  console.error('       node chat.spec.mjs --history <page-url> <tcp-host:port>');
  console.error('       node chat.spec.mjs --tls <https-page-url> <tcp-host:port>');
  process.exit(2);
}
const WAIT = 15_000; // ms any one visible state may take to appear

// ---- talking to the Rust side ------------------------------------------------
const stdin = readline.createInterface({ input: process.stdin });
const fromRust = [];
const rustWaiters = [];
stdin.on('line', (line) => {
  const waiter = rustWaiters.shift();
  if (waiter) waiter(line);
  else fromRust.push(line);
});
function askRust(say, expect) {
  console.log(say);
  return new Promise((resolve, reject) => {
    const done = (line) => (line === expect ? resolve() : reject(new Error(`expected ${expect}, got ${line}`)));
    if (fromRust.length) done(fromRust.shift());
    else rustWaiters.push(done);
  });
}

// ---- a CHAT/1 TCP client: ./line-client.mjs ------------------------------------

// ---- helpers on the page -------------------------------------------------------
async function login(page, nick) {
  await page.goto(url);
  await page.getByLabel('Nickname', { exact: true }).fill(nick);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.locator('#me', { hasText: `You are ${nick}` }).waitFor({ timeout: WAIT });
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT });
}

const pane = (page, key) => page.locator(`.pane[data-key="${key}"]`);

async function say(page, text) {
  await page.locator('#composer-text').fill(text);
  await page.locator('#composer-text').press('Enter');
}

async function seesMessage(page, key, nick, text) {
  await pane(page, key)
    .locator('.msg', { has: page.locator('.who', { hasText: nick }) })
    .filter({ has: page.locator('.text', { hasText: text }) })
    .first()
    .waitFor({ timeout: WAIT });
}

// Opens the "Join or create a room" form (folded away until asked for).
async function openJoin(page) {
  if (!(await page.locator('#join-details').evaluate((d) => d.open))) await page.locator('#join-details summary').click();
}

async function joinByForm(page, room) {
  await openJoin(page);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await pane(page, '#' + room.toLowerCase()).waitFor({ state: 'visible', timeout: WAIT });
}

function step(text) {
  console.error(`browser test: ${text}`);
}

// axe-core on the page as it is now: throws on any WCAG 2.1 A or AA
// violation. (Evaluated through DevTools, which the page's CSP does not
// restrict; the page itself still loads nothing from elsewhere.)
async function accessible(page, what) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  });
  if (violations.length) throw new Error(`${what}: axe-core found WCAG A/AA violations:\n  ${violations.join('\n  ')}`);
}

// The page's fake Notification and visibility, installed before its script runs:
// window.__notes collects notifications, window.__hidden is document.hidden.
function fakeNotifications() {
  window.__notes = [];
  window.__hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { get: () => window.__hidden, configurable: true });
  window.Notification = class {
    constructor(title, options) {
      window.__notes.push({ title, body: options && options.body });
    }
    static get permission() {
      return window.__permission || 'default';
    }
    static async requestPermission() {
      window.__permission = 'granted';
      return 'granted';
    }
  };
}

async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    window.__hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

// Records page errors and console errors (other than a refused WebSocket) of `page`.
function watch(name, page, problems) {
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED/.test(m.text())) {
      problems.push(`${name}: console error: ${m.text()}`);
    }
  });
  page.on('dialog', (d) => d.accept());
}

async function tcpLogin(client, nick) {
  await client.connect(tcpAddr);
  await client.waitFor('WELCOME', (l) => l.startsWith('WELCOME '));
  client.send(`NICK ${nick}`);
  await client.waitFor(`NICK ... ${nick}`, (l) => new RegExp(`^NICK guest\\d+ ${nick}$`).test(l));
}

// The texts of the messages (not the notices) shown in a pane, top to bottom.
const texts = (page, key) => pane(page, key).locator('.msg .text').allTextContents();

// ---- the second run (--features) ----------------------------------------------------
// Older history on scrolling up, a room key, an account, a kick. Returns the exit status.
async function features(browser) {
  const olga = new LineClient('olga');
  const problems = [];
  try {
    const context = () => browser.newContext({ viewport: { width: 1100, height: 700 } });
    const [erin, fred, dora] = await Promise.all([context(), context(), context()].map(async (c) => (await c).newPage()));
    for (const [name, page] of [['erin', erin], ['fred', fred], ['dora', dora]]) watch(name, page, problems);

    step('features: olga (TCP) says 70 numbered messages in archive');
    await tcpLogin(olga, 'olga');
    olga.send('JOIN archive');
    await olga.waitLine('END HISTORY archive');
    const all = Array.from({ length: 70 }, (_, i) => `msg-${String(i + 1).padStart(3, '0')}`);
    for (const text of all) olga.send(`SAY archive ${text}`);
    await olga.waitLine('MSG archive olga msg-070');

    step('features: erin joins archive and sees the latest 50');
    await login(erin, 'erin');
    await joinByForm(erin, 'archive');
    await seesMessage(erin, '#archive', 'olga', 'msg-070');
    const latest = await texts(erin, '#archive');
    if (JSON.stringify(latest) !== JSON.stringify(all.slice(20))) {
      throw new Error(`erin: on joining, expected msg-021..msg-070, saw ${JSON.stringify(latest)}`);
    }

    step('features: erin scrolls up and the older ones appear, in order, once');
    const log = pane(erin, '#archive').locator('.log');
    await log.hover();
    await erin.mouse.wheel(0, -100_000);
    await seesMessage(erin, '#archive', 'olga', 'msg-001');
    const shown = await texts(erin, '#archive');
    if (JSON.stringify(shown) !== JSON.stringify(all)) {
      throw new Error(`erin: after scrolling up, expected msg-001..msg-070 once each, saw ${JSON.stringify(shown)}`);
    }
    await log.hover();
    await erin.mouse.wheel(0, -100_000);
    await pane(erin, '#archive').locator('.notice', { hasText: 'This is the beginning of the room.' }).waitFor({ timeout: WAIT });
    await pane(erin, '#archive').getByRole('button', { name: 'Load older messages' }).waitFor({ state: 'hidden', timeout: WAIT });
    const final = await texts(erin, '#archive');
    if (JSON.stringify(final) !== JSON.stringify(all)) {
      throw new Error(`erin: at the beginning of the room, saw ${JSON.stringify(final)}`);
    }

    step('features: erin creates vault with a key; fred is refused without it, then joins with it');
    await openJoin(erin);
    await erin.getByLabel('Room', { exact: true }).fill('vault');
    await erin.getByLabel('Key').fill('k3y');
    await erin.getByRole('button', { name: 'Join', exact: true }).click();
    await pane(erin, '#vault').waitFor({ state: 'visible', timeout: WAIT });
    await say(erin, 'plans behind the key');
    await seesMessage(erin, '#vault', 'erin', 'plans behind the key');
    await login(fred, 'fred');
    await openJoin(fred);
    await fred.getByLabel('Room', { exact: true }).fill('vault');
    await fred.getByRole('button', { name: 'Join', exact: true }).click();
    await fred.locator('#alert', { hasText: 'vault is locked: wrong or missing key' }).waitFor({ timeout: WAIT });
    if (await pane(fred, '#vault').count()) throw new Error('fred: a pane opened for vault without its key');
    await fred.getByLabel('Room', { exact: true }).fill('vault');
    await fred.getByLabel('Key').fill('k3y');
    await fred.getByRole('button', { name: 'Join', exact: true }).click();
    await pane(fred, '#vault').waitFor({ state: 'visible', timeout: WAIT });
    await seesMessage(fred, '#vault', 'erin', 'plans behind the key');
    await say(fred, 'fred made it in');
    await seesMessage(erin, '#vault', 'fred', 'fred made it in');

    step('features: olga (TCP, owner of archive) kicks fred');
    await joinByForm(fred, 'archive');
    await olga.waitLine('JOIN archive fred');
    olga.send('KICK archive fred too noisy');
    await olga.waitLine('KICKED archive fred olga too noisy');
    await pane(fred, '#archive').waitFor({ state: 'detached', timeout: WAIT });
    await fred.locator('#alert', { hasText: 'olga removed you from archive: too noisy' }).waitFor({ timeout: WAIT });
    await pane(fred, '#vault').waitFor({ state: 'visible', timeout: WAIT });
    await fred.locator('#mine li[data-key="#archive"]').waitFor({ state: 'detached', timeout: WAIT });
    await pane(erin, '#archive').locator('.notice', { hasText: 'olga removed fred: too noisy' }).waitFor({ state: 'attached', timeout: WAIT });

    step('features (12): fred registers his nickname from the page');
    await fred.locator('#account summary').click();
    await fred.locator('#register-password').fill('fredpass');
    await fred.getByRole('button', { name: 'Register', exact: true }).click();
    await fred.locator('#alert', { hasText: 'fred is now registered.' }).waitFor({ timeout: WAIT });
    await fred.locator('#me', { hasText: 'You are fred (registered)' }).waitFor({ timeout: WAIT });

    step('features (4, 6): a day later: "Yesterday" and "Today"; an error stays until dismissed');
    const tess = await (await context()).newPage();
    watch('tess', tess, problems);
    await tess.clock.install({ time: Date.now() + 24 * 3600 * 1000 });
    await login(tess, 'tess');
    await openJoin(tess);
    await tess.getByLabel('Room', { exact: true }).fill('vault');
    await tess.getByRole('button', { name: 'Join', exact: true }).click();
    await tess.locator('#alert', { hasText: 'vault is locked' }).waitFor({ timeout: WAIT });
    await tess.clock.fastForward('00:30');
    await tess.locator('#alert', { hasText: 'vault is locked' }).waitFor({ timeout: WAIT }).catch(() => {
      throw new Error('tess: the error vanished by itself');
    });
    await joinByForm(tess, 'archive');
    await pane(tess, '#archive').locator('.day', { hasText: 'Yesterday' }).first().waitFor({ timeout: WAIT });
    await say(tess, 'a message of the next day');
    await seesMessage(tess, '#archive', 'tess', 'a message of the next day');
    const days = await pane(tess, '#archive').locator('.day').allTextContents();
    if (JSON.stringify(days) !== JSON.stringify(['Yesterday', 'Today'])) throw new Error(`tess: day separators ${days}`);

    step('features: dora registers her nickname');
    await dora.goto(url);
    await dora.getByLabel('Nickname', { exact: true }).fill('dora');
    await dora.locator('#login-password').fill('sesame');
    await dora.getByLabel('Register this nickname with this password').check();
    await dora.getByRole('button', { name: 'Enter' }).click();
    await dora.locator('#me', { hasText: 'You are dora' }).waitFor({ timeout: WAIT });
    await dora.locator('#alert', { hasText: 'dora is now registered.' }).waitFor({ timeout: WAIT });
    await joinByForm(dora, 'archive');
    await olga.waitLine('JOIN archive dora');

    step('features (2): a reload keeps dora logged in (her token) and rejoins her rooms');
    await dora.waitForFunction(() => /"token"/.test(localStorage.getItem('sala.session') || ''), null, { timeout: WAIT });
    const saved = JSON.parse(await dora.evaluate(() => localStorage.getItem('sala.session')));
    if (JSON.stringify(saved).includes('sesame')) throw new Error('dora: the password was stored in the page');
    await dora.reload();
    await olga.waitFor('QUIT dora', (l) => l.startsWith('QUIT dora '));
    await olga.waitLine('JOIN archive dora');
    await dora.locator('#me', { hasText: 'You are dora' }).waitFor({ timeout: WAIT });
    await pane(dora, '#archive').waitFor({ state: 'attached', timeout: WAIT });
    if (await dora.locator('#login').isVisible()) throw new Error('dora: asked to log in again after a reload');

    step('features (2): a second tab finds dora in use, and leaves her saved session alone');
    const tab = await dora.context().newPage();
    watch('dora tab 2', tab, problems);
    await tab.goto(url);
    await tab.locator('#login-error', { hasText: 'dora is already in use' }).waitFor({ timeout: WAIT });
    if (!(await tab.evaluate(() => localStorage.getItem('sala.session')))) throw new Error('dora: the second tab dropped the saved session');
    await tab.close();

    step('features (2, 12): dora logs out from the page: the token is revoked, the password is needed');
    await dora.locator('#account summary').click();
    await dora.getByRole('button', { name: 'Log out' }).click();
    await olga.waitFor('QUIT dora', (l) => l.startsWith('QUIT dora '));
    await dora.getByLabel('Nickname', { exact: true }).waitFor({ timeout: WAIT });
    if (await dora.evaluate(() => localStorage.getItem('sala.session'))) throw new Error('dora: the session stayed after logging out');
    olga.send(`RESUME ${saved.token}`);
    await olga.waitFor('ERR BAD_TOKEN', (l) => l.startsWith('ERR BAD_TOKEN '));
    await dora.getByLabel('Nickname', { exact: true }).fill('dora');
    await dora.getByRole('button', { name: 'Enter' }).click();
    await dora.locator('#login-error', { hasText: 'dora is registered' }).waitFor({ timeout: WAIT });
    await dora.locator('#login-password').fill('wrong');
    await dora.getByRole('button', { name: 'Enter' }).click();
    await dora.locator('#login-error', { hasText: 'wrong password for dora' }).waitFor({ timeout: WAIT });
    if (await dora.locator('#app').isVisible()) throw new Error('dora: in without the right password');
    await dora.locator('#login-password').fill('sesame');
    await dora.getByRole('button', { name: 'Enter' }).click();
    await dora.locator('#me', { hasText: 'You are dora' }).waitFor({ timeout: WAIT });
    await dora.locator('#app').waitFor({ state: 'visible', timeout: WAIT });

    if (problems.length) throw new Error(problems.join('\n'));
    step('features: all steps passed');
    return 0;
  } catch (e) {
    console.error(`browser test (--features) FAILED: ${e.stack || e}`);
    if (problems.length) console.error(problems.join('\n'));
    return 1;
  } finally {
    olga.close();
  }
}

// ---- the third run (--history) -------------------------------------------------------
// The message rows of a pane whose text is exactly `text`.
const msgRows = (page, key, text) =>
  pane(page, key).locator('.msg').filter({ has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) });

// How many times the --history run restarts the server.
const RESTARTS = 2;

// Throttles the page's network to a slow link (DevTools network emulation), or
// lifts it. The doubled history was a race between the rejoin's page of
// history and the page's scroll event: on the bare loopback it showed in about
// 1 rejoin in 10; with the page's link this slow during the restarts, before
// the fix, it showed in every one of 10 runs (mostly at the second restart).
async function slowNetwork(cdp, slow) {
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: slow ? SLOW_BYTES_PER_S : -1,
    uploadThroughput: slow ? SLOW_BYTES_PER_S : -1,
  });
}
const SLOW_BYTES_PER_S = 4000;

// Waits until the pane's list overflows and is scrolled to its end.
async function scrolledToEnd(page, key) {
  await page.waitForFunction(
    (key) => {
      const log = document.querySelector(`.pane[data-key="${key}"] .log`);
      return log.scrollHeight > 2 * log.clientHeight && log.scrollHeight - log.scrollTop - log.clientHeight < 60;
    },
    key,
    { timeout: WAIT }
  );
}

// Throws unless `shown` (the texts of a pane's message rows, top to bottom) is
// `expected`: each text once, in order. Says which were shown more than once.
function expectOnce(who, shown, expected) {
  if (JSON.stringify(shown) === JSON.stringify(expected)) return;
  const counts = new Map();
  for (const t of shown) counts.set(t, (counts.get(t) || 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([t, n]) => `${t} ${n} times`);
  const missing = expected.filter((t) => !counts.has(t));
  throw new Error(
    `${who}: expected ${expected[0]}..${expected[expected.length - 1]} once each, in order (${expected.length} rows); ` +
      (twice.length ? `shown more than once: ${twice.join(', ')}; ` : '') +
      (missing.length ? `missing: ${missing.join(', ')}; ` : '') +
      `saw ${shown.length} rows: ${JSON.stringify(shown)}`
  );
}

// An account room's saved history across a restart: the Rust side restarts
// the server on the same ports with the same data directory. The page logs in
// again with its password and rejoins by itself; the rejoin empties the pane
// and refills it with the join's page of 50, which must not come twice (it
// did: the emptied list scrolled to the top and asked for "older" history
// before the join's page had come, and got the latest page again). Returns the
// exit status.
async function history(browser) {
  const ivo = new LineClient('ivo');
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const hana = await context.newPage();
    watch('hana', hana, problems);
    const cdp = await context.newCDPSession(hana);
    await cdp.send('Network.enable');
    await slowNetwork(cdp, false);

    step('history: hana registers her nickname and creates annals, an account room');
    await hana.goto(url);
    await hana.getByLabel('Nickname', { exact: true }).fill('hana');
    await hana.locator('#login-password').fill('sesame');
    await hana.getByLabel('Register this nickname with this password').check();
    await hana.getByRole('button', { name: 'Enter' }).click();
    await hana.locator('#me', { hasText: 'You are hana' }).waitFor({ timeout: WAIT });
    await hana.locator('#alert', { hasText: 'hana is now registered.' }).waitFor({ timeout: WAIT });
    await joinByForm(hana, 'annals');
    await pane(hana, '#annals').locator('.member.owner[data-nick="hana"]').waitFor({ state: 'attached', timeout: WAIT });

    step('history: ivo (TCP) says 60 numbered messages in annals');
    await tcpLogin(ivo, 'ivo');
    ivo.send('JOIN annals');
    await ivo.waitLine('END HISTORY annals');
    const all = Array.from({ length: 60 }, (_, i) => `note-${String(i + 1).padStart(3, '0')}`);
    for (const text of all) ivo.send(`SAY annals ${text}`);
    await ivo.waitLine('MSG annals ivo note-060');
    await msgRows(hana, '#annals', 'note-060').first().waitFor({ timeout: WAIT });
    expectOnce('hana, before the restart', await texts(hana, '#annals'), all);
    await scrolledToEnd(hana, '#annals');

    // Each restart is checked; the page's network is slow while it rejoins.
    for (let round = 1; round <= RESTARTS; round++) {
      step(`history: restart ${round} of ${RESTARTS}, same data directory and ports`);
      const before = await texts(hana, '#annals');
      await slowNetwork(cdp, true);
      await askRust('STOP', 'STOPPED');
      if (round === 1) {
        await ivo.waitLine('BYE server shutting down');
        ivo.close();
      }
      await hana.locator('#status[data-state="down"]').waitFor({ timeout: WAIT });
      await askRust('START', 'GO');

      const latest = all.slice(-50);
      step(`history: hana reconnects, logs in and rejoins annals by herself: ${latest[0]}..${latest[49]}, once`);
      await hana.locator('#status[data-state="up"]').waitFor({ timeout: 30_000 });
      await hana.locator('#me', { hasText: 'You are hana' }).waitFor({ timeout: WAIT });
      // The rejoin empties the pane (its top row goes) and shows the join's page.
      await msgRows(hana, '#annals', before[0]).waitFor({ state: 'detached', timeout: WAIT });
      await msgRows(hana, '#annals', latest[49]).first().waitFor({ timeout: WAIT });
      await pane(hana, '#annals').locator('.member.owner[data-nick="hana"]').waitFor({ state: 'attached', timeout: WAIT });
      // hana's own message comes back after the replies to all the page sent
      // before it (one connection, answered in order): a second page of
      // history asked for by the rejoin would be on the page when it shows.
      const mine = `note-${String(all.length + 1).padStart(3, '0')}`;
      all.push(mine);
      await say(hana, mine);
      await msgRows(hana, '#annals', mine).first().waitFor({ timeout: WAIT });
      expectOnce(`hana, after restart ${round}`, await texts(hana, '#annals'), all.slice(-51));
      await slowNetwork(cdp, false);
      // Nor did the rejoin bring up an error (a HISTORY the server refused).
      const alert = hana.locator('#alert');
      if ((await alert.isVisible()) && !/is now registered/.test(await alert.textContent())) {
        throw new Error(`hana, after restart ${round}: an alert: ${await alert.textContent()}`);
      }
      // Scrolled to the end again, as the next restart finds it.
      await scrolledToEnd(hana, '#annals');
    }

    step(`history: hana scrolls up: note-001..${all[all.length - 52]} come on top, then the beginning; each once`);
    const log = pane(hana, '#annals').locator('.log');
    await log.hover();
    await hana.mouse.wheel(0, -100_000);
    await msgRows(hana, '#annals', 'note-001').first().waitFor({ timeout: WAIT });
    expectOnce('hana, after scrolling up', await texts(hana, '#annals'), all);
    await log.hover();
    await hana.mouse.wheel(0, -100_000);
    await pane(hana, '#annals').locator('.notice', { hasText: 'This is the beginning of the room.' }).waitFor({ timeout: WAIT });
    await pane(hana, '#annals').getByRole('button', { name: 'Load older messages' }).waitFor({ state: 'hidden', timeout: WAIT });
    expectOnce('hana, at the beginning of the room', await texts(hana, '#annals'), all);

    step('history (2): after the restarts, a reload logs hana in by her token (kept in the database) and rejoins annals');
    await hana.reload();
    await hana.locator('#me', { hasText: 'You are hana' }).waitFor({ timeout: WAIT });
    await msgRows(hana, '#annals', all[all.length - 1]).first().waitFor({ timeout: WAIT });
    if (await hana.locator('#login').isVisible()) throw new Error('hana: asked to log in again after a reload');

    if (problems.length) throw new Error(problems.join('\n'));
    step('history: all steps passed');
    return 0;
  } catch (e) {
    console.error(`browser test (--history) FAILED: ${e.stack || e}`);
    if (problems.length) console.error(problems.join('\n'));
    return 1;
  } finally {
    ivo.close();
  }
}

// ---- the fourth run (--tls) ------------------------------------------------------------
// The page over HTTPS and CHAT/1 over WSS, meeting a plain TCP client.
async function tls(browser) {
  const carl = new LineClient('carl');
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, ignoreHTTPSErrors: true });
    const tana = await context.newPage();
    watch('tana', tana, problems);
    step('the page over HTTPS');
    await login(tana, 'tana');
    if (!tana.url().startsWith('https://')) throw new Error(`not over HTTPS: ${tana.url()}`);
    if (!(await tana.evaluate(() => window.isSecureContext))) throw new Error('not a secure context');
    await tcpLogin(carl, 'carl');
    step('over WSS, with a TCP client');
    await joinByForm(tana, 'lobby');
    carl.send('JOIN lobby');
    await carl.waitLine('END HISTORY lobby');
    await say(tana, 'hello over wss');
    await carl.waitLine('MSG lobby tana hello over wss');
    carl.send('SAY lobby hi tana, carl on plain TCP');
    await seesMessage(tana, '#lobby', 'carl', 'hi tana, carl on plain TCP');
    if (problems.length) throw new Error(problems.join('\n'));
    console.error('browser test (--tls): all steps passed');
    return 0;
  } catch (e) {
    console.error(`browser test (--tls) FAILED: ${e.stack || e}`);
    return 1;
  } finally {
    carl.close();
  }
}

// ---- the test --------------------------------------------------------------------
// launch() starts Chromium with a fresh temporary profile (its own
// --user-data-dir), deleted when the browser closes.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
if (featuresRun || historyRun || tlsRun) {
  const status = await (featuresRun ? features(browser) : historyRun ? history(browser) : tls(browser));
  await browser.close();
  stdin.close();
  process.exit(status);
}
const carl = new LineClient('carl');
const problems = [];
let status = 1;
try {
  const contextA = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const contextB = await browser.newContext({ viewport: { width: 375, height: 667 } });
  await contextA.addInitScript(fakeNotifications);
  const ana = await contextA.newPage();
  const bob = await contextB.newPage();
  const dialogs = [];
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED/.test(m.text())) {
        problems.push(`${name}: console error: ${m.text()}`);
      }
    });
    page.on('dialog', (d) => {
      dialogs.push(`${name}: ${d.message()}`);
      d.accept();
    });
  }

  step('accessibility: the login form, desktop and phone (axe-core, WCAG 2.1 A and AA)');
  await ana.goto(url);
  await accessible(ana, 'ana, login form');
  await bob.goto(url);
  await accessible(bob, 'bob (phone), login form');

  step('two users pick nicknames');
  await login(ana, 'ana');
  await login(bob, 'bob'); // bob has a phone-sized screen (375x667)
  if (await ana.evaluate(() => window.__permission)) throw new Error('ana: notification permission asked on load');
  await ana.getByRole('button', { name: 'Notify me' }).waitFor({ timeout: WAIT });

  step('8: the join form is folded away until asked for');
  if (await ana.locator('#join-room').isVisible()) throw new Error('ana: the join form is open for good');
  await carl.connect(tcpAddr);
  await carl.waitFor('WELCOME', (l) => l.startsWith('WELCOME '));
  carl.send('NICK carl');
  await carl.waitFor('NICK ... carl', (l) => /^NICK guest\d+ carl$/.test(l));

  step('ana creates lobby; bob joins it from the room list; carl joins over TCP');
  await joinByForm(ana, 'lobby');
  await bob.getByRole('button', { name: 'Rooms' }).click();
  await bob.locator('#rooms li[data-room="lobby"] button').click({ timeout: WAIT });
  await pane(bob, '#lobby').waitFor({ state: 'visible', timeout: WAIT });
  carl.send('JOIN lobby');
  await carl.waitLine('END HISTORY lobby');
  await pane(ana, '#lobby').locator('.member[data-nick="carl"]').waitFor({ timeout: WAIT });
  await pane(ana, '#lobby').locator('.member.owner[data-nick="ana"] .owner-mark').waitFor({ timeout: WAIT });

  step('14: the member list has a count and an order (owner first, then by name)');
  await pane(ana, '#lobby').locator('.members-title', { hasText: 'Members (3)' }).waitFor({ timeout: WAIT });
  const order = await pane(ana, '#lobby').locator('.member').evaluateAll((els) => els.map((e) => e.dataset.nick));
  if (JSON.stringify(order) !== JSON.stringify(['ana', 'bob', 'carl'])) throw new Error(`ana: member order ${order}`);
  const danger = await pane(ana, '#lobby').getByRole('button', { name: 'Delete room' }).evaluate((e) => getComputedStyle(e).color);
  const plainColour = await pane(ana, '#lobby').getByRole('button', { name: 'Leave' }).evaluate((e) => getComputedStyle(e).color);
  if (danger === plainColour) throw new Error('ana: Delete room looks like Leave');

  step('8: a joined room is listed once (under "Your conversations"), never as selected in the room list');
  await ana.locator('#mine li[data-key="#lobby"]').waitFor({ timeout: WAIT });
  await ana.locator('#rooms li[data-room="lobby"]').waitFor({ state: 'detached', timeout: WAIT });
  if (await ana.locator('#rooms [aria-current]').count()) throw new Error('ana: a room in the room list looks selected');

  step('7, 11: the box names the room; no "Load older messages" when everything is shown');
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    const placeholder = await page.locator('#composer-text').getAttribute('placeholder');
    if (placeholder !== 'Message to #lobby') throw new Error(`${name}: placeholder ${placeholder}`);
    if (await pane(page, '#lobby').locator('.older').isVisible()) throw new Error(`${name}: "Load older messages" with nothing older`);
  }

  step('messages between the browsers and the TCP client');
  await say(ana, 'hello from the browser');
  await seesMessage(bob, '#lobby', 'ana', 'hello from the browser');
  await carl.waitLine('MSG lobby ana hello from the browser');
  carl.send('SAY lobby hi ana, carl here on plain TCP');
  await seesMessage(ana, '#lobby', 'carl', 'hi ana, carl here on plain TCP');
  await seesMessage(bob, '#lobby', 'carl', 'hi ana, carl here on plain TCP');
  await say(bob, 'bob on a phone says hi');
  await seesMessage(ana, '#lobby', 'bob', 'bob on a phone says hi');

  step('4: a day separator: "Today"');
  await pane(ana, '#lobby').locator('.day', { hasText: 'Today' }).first().waitFor({ timeout: WAIT });

  step('10: links (http/https only, rel noopener noreferrer nofollow), mentions, grouping, nick colours');
  carl.send('SAY lobby see https://example.com/a?b=1. or javascript:alert(1) or ftp://x.example, ana');
  await seesMessage(ana, '#lobby', 'carl', 'see https://example.com/a?b=1.');
  const link = pane(ana, '#lobby').locator('.msg .text a[href="https://example.com/a?b=1"]');
  await link.waitFor({ timeout: WAIT });
  if ((await link.getAttribute('rel')) !== 'noopener noreferrer nofollow') throw new Error('ana: link without rel noopener noreferrer nofollow');
  if ((await link.getAttribute('target')) !== '_blank') throw new Error('ana: link not in a new tab');
  if (await ana.locator('.msg a:not([href^="http://"]):not([href^="https://"])').count()) throw new Error('ana: a link of another scheme');
  await pane(ana, '#lobby').locator('.msg.mention', { hasText: 'javascript:alert(1)' }).waitFor({ timeout: WAIT });
  if (await pane(bob, '#lobby').locator('.msg.mention').count()) throw new Error('bob: a mention of ana highlighted for bob');
  carl.send('SAY lobby and a second line');
  await seesMessage(ana, '#lobby', 'carl', 'and a second line');
  if (!(await pane(ana, '#lobby').locator('.msg').last().evaluate((e) => e.classList.contains('cont')))) {
    throw new Error('ana: consecutive lines of carl are not grouped');
  }
  const colours = await pane(ana, '#lobby')
    .locator('.msg:not(.cont) .who')
    .evaluateAll((els) => [...new Set(els.map((e) => `${e.textContent}=${getComputedStyle(e).color}`))]);
  const distinct = new Set(colours.map((c) => c.split('=')[1]));
  if (distinct.size < 2) throw new Error(`ana: every nick has the same colour: ${colours}`);

  step('HTML in a message is shown as text');
  const evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold?</b>';
  await say(bob, evil);
  await seesMessage(ana, '#lobby', 'bob', evil);
  await carl.waitLine(`MSG lobby bob ${evil}`);
  const shown = await pane(ana, '#lobby').locator('.msg .text').last().textContent();
  if (shown !== evil) throw new Error(`the message was not shown as typed: ${shown}`);
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    const injected = await page.locator('.messages img, .messages script, .messages b').count();
    const pwned = await page.evaluate(() => window.pwned);
    if (injected || pwned !== undefined) throw new Error(`${name}: HTML from a message was interpreted`);
  }

  step('IRC formatting is styled, never shown raw; control characters are refused');
  carl.send('SAY lobby \x02bold\x02 and \x0304,01red\x03 and \x1ditalic\x1d');
  await seesMessage(ana, '#lobby', 'carl', 'bold and red and italic');
  const styledText = await pane(ana, '#lobby').locator('.msg .text').last().textContent();
  if (styledText !== 'bold and red and italic') throw new Error(`formatting shown raw: ${JSON.stringify(styledText)}`);
  await pane(ana, '#lobby').locator('.msg .text .fmt-b', { hasText: 'bold' }).last().waitFor({ timeout: WAIT });
  await pane(ana, '#lobby').locator('.msg .text .fmt-i', { hasText: 'italic' }).last().waitFor({ timeout: WAIT });
  carl.send('SAY lobby \x01ACTION waves\x01');
  await seesMessage(ana, '#lobby', 'carl', '* waves');
  carl.send('SAY lobby clear \x1b[2J screen');
  await carl.waitFor('ERR BAD_TEXT', (l) => l.startsWith('ERR BAD_TEXT '));

  step('screenshot');
  await say(ana, 'the owner is marked with a star in the member list');
  await seesMessage(ana, '#lobby', 'ana', 'the owner is marked');
  await ana.screenshot({ path: screenshot });

  step('1: a 5,000-character paste: a counter, then several messages split between words, nothing lost');
  const long = Array.from({ length: 520 }, (_, i) => `word${String(i).padStart(5, '0')}`).join(' ');
  if (long.length < 5000) throw new Error('the long text is short');
  await ana.locator('#composer-text').fill(long);
  await ana.locator('#composer-count', { hasText: 'goes as 3 messages' }).waitFor({ timeout: WAIT });
  if ((await ana.locator('#composer-text').inputValue()) !== long) throw new Error('ana: the box cut the paste');
  await ana.locator('#composer-text').press('Enter');
  const pieces = [];
  while (pieces.join(' ').length < long.length) {
    const line = await carl.waitFor('MSG lobby ana word...', (l) => l.startsWith('MSG lobby ana word'));
    pieces.push(line.slice('MSG lobby ana '.length));
  }
  if (pieces.join(' ') !== long) throw new Error(`carl: the long text did not arrive whole (${pieces.length} pieces)`);
  if (pieces.length !== 3 || pieces.some((p) => !/^word\d{5}( word\d{5})*$/.test(p))) throw new Error('carl: not split between words');
  await ana.locator('#alert', { hasText: 'went as 3 messages' }).waitFor({ timeout: WAIT });
  await bob.locator('#composer-text').fill(long);
  await bob.locator('#composer-count', { hasText: 'goes as 3 messages' }).waitFor({ timeout: WAIT });
  await bob.locator('#composer-text').fill('');

  step('whispers: bob clicks ana in the member list; carl whispers over TCP');
  await pane(bob, '#lobby').locator('.members-toggle').click();
  await pane(bob, '#lobby').locator('.member[data-nick="ana"] .who').click();
  await pane(bob, '@ana').waitFor({ state: 'visible', timeout: WAIT });
  await say(bob, 'psst, ana');
  await seesMessage(bob, '@ana', 'bob', 'psst, ana');
  await ana.locator('#mine li[data-key="@bob"] .badge', { hasText: '1' }).waitFor({ timeout: WAIT });
  await ana.locator('#mine li[data-key="@bob"] button').click();
  await seesMessage(ana, '@bob', 'bob', 'psst, ana');
  await say(ana, 'yes, bob?');
  await seesMessage(bob, '@ana', 'ana', 'yes, bob?');
  carl.send('WHISPER ana a word from TCP');
  await carl.waitLine('WHISPER carl ana a word from TCP');
  await ana.locator('#mine li[data-key="@carl"]').waitFor({ timeout: WAIT });
  await ana.locator('#mine li[data-key="@carl"] button').click();
  await seesMessage(ana, '@carl', 'carl', 'a word from TCP');
  await say(ana, 'got it, carl');
  await carl.waitLine('WHISPER ana carl got it, carl');

  step('notifications: mentioned or whispered while the tab is hidden (permission from a click)');
  await ana.getByRole('button', { name: 'Notify me' }).click();
  await ana.getByRole('button', { name: 'Notify me' }).waitFor({ state: 'hidden', timeout: WAIT });
  await setHidden(ana, true);
  carl.send('WHISPER ana are you there?');
  carl.send('SAY lobby ana, a question');
  carl.send('SAY lobby not for anyone');
  await carl.waitLine('MSG lobby carl not for anyone');
  await ana.waitForFunction(() => window.__notes.length >= 2, null, { timeout: WAIT });
  const notes = await ana.evaluate(() => window.__notes);
  await setHidden(ana, false);
  if (notes.length !== 2 || notes[0].title !== 'carl whispers' || notes[1].title !== 'carl in #lobby' || notes[1].body !== 'ana, a question') {
    throw new Error(`ana: notifications ${JSON.stringify(notes)}`);
  }

  step('3, 5: unread counts on the phone (the Rooms button), a "New messages" line');
  await ana.locator('#mine li[data-key="#lobby"] button').click();
  await say(ana, 'three new ones for bob');
  await bob.locator('#menu-unread', { hasText: '3 unread' }).waitFor({ timeout: WAIT });
  if (!(await bob.locator('#menu-unread').isVisible())) throw new Error('bob: the unread count is not visible on the phone');
  await bob.getByRole('button', { name: 'Rooms' }).click();
  await bob.locator('#mine li[data-key="#lobby"] button').click();
  const newLine = pane(bob, '#lobby').locator('.unread-line', { hasText: 'New messages' });
  await newLine.waitFor({ timeout: WAIT });
  const after = await newLine.evaluate((e) => e.nextElementSibling.textContent);
  if (!after.includes('ana, a question')) throw new Error(`bob: the "New messages" line is not before the first unread: ${after}`);
  await bob.locator('#menu-unread').waitFor({ state: 'hidden', timeout: WAIT });

  step('12: /me, /msg, /join, /nick from the message box');
  await say(ana, '/me waves');
  await carl.waitLine('MSG lobby ana \x01ACTION waves\x01');
  await say(ana, '/msg carl psst');
  await carl.waitLine('WHISPER ana carl psst');
  await pane(ana, '@carl').waitFor({ state: 'visible', timeout: WAIT });
  await say(ana, '/join extra');
  await pane(ana, '#extra').waitFor({ state: 'visible', timeout: WAIT });
  await say(ana, '/nick anna');
  await carl.waitLine('NICK ana anna');
  await ana.locator('#me', { hasText: 'You are anna' }).waitFor({ timeout: WAIT });
  await say(ana, '/nick ana');
  await carl.waitLine('NICK anna ana');
  await say(ana, '/frob');
  await ana.locator('#alert', { hasText: 'There is no command /frob' }).waitFor({ timeout: WAIT });
  await pane(ana, '#extra').getByRole('button', { name: 'Leave' }).click();
  await pane(ana, '#extra').waitFor({ state: 'detached', timeout: WAIT });

  step('6: an error shows next to the message box and states the limit');
  await ana.locator('#mine li[data-key="#lobby"] button').click();
  await say(ana, '/join a-room-name-far-longer-than-thirty-two');
  const alert = ana.locator('#alert', { hasText: '1-32 of' });
  await alert.waitFor({ timeout: WAIT });
  const [box, composer] = [await alert.boundingBox(), await ana.locator('#composer').boundingBox()];
  if (Math.abs(box.y + box.height - composer.y) > 2) throw new Error(`ana: the error is not next to the box: ${JSON.stringify([box, composer])}`);
  await ana.getByRole('button', { name: 'Dismiss the message' }).click();
  await alert.waitFor({ state: 'hidden', timeout: WAIT });
  await say(bob, '/frob');
  const bobAlert = bob.locator('#alert', { hasText: 'There is no command /frob' });
  await bobAlert.waitFor({ timeout: WAIT });
  const [bobBox, bobComposer] = [await bobAlert.boundingBox(), await bob.locator('#composer').boundingBox()];
  if (Math.abs(bobBox.y + bobBox.height - bobComposer.y) > 2) throw new Error('bob (phone): the error is not next to the box');
  await bob.getByRole('button', { name: 'Dismiss the message' }).click();

  step('accessibility: the chat, desktop and phone (axe-core, WCAG 2.1 A and AA)');
  await accessible(ana, 'ana, chat');
  await ana.locator('#account summary').click();
  await openJoin(ana);
  await accessible(ana, 'ana, chat with the Account menu and the join form open');
  await ana.locator('#account summary').click();
  await ana.locator('#join-details summary').click();
  await accessible(bob, 'bob (phone), chat');
  await bob.getByRole('button', { name: 'Rooms' }).click();
  await accessible(bob, 'bob (phone), room list');
  await bob.getByRole('button', { name: 'Rooms' }).click();

  step('a broadcast is shown as a banner');
  carl.send('BROADCAST <i>all</i> hands');
  await ana.locator('#banner-text', { hasText: '<i>all</i> hands' }).waitFor({ timeout: WAIT });
  await bob.locator('#banner-text', { hasText: '<i>all</i> hands' }).waitFor({ timeout: WAIT });

  step('9: Broadcast is lighter than Send, asks first, is there on the phone, and every broadcast is logged');
  const weight = async (page, sel) => page.locator(sel).evaluate((e) => getComputedStyle(e).backgroundColor);
  if ((await weight(ana, '#broadcast')) === (await weight(ana, '#composer button[type="submit"]'))) throw new Error('ana: Broadcast looks like Send');
  await bob.locator('#broadcast').waitFor({ state: 'visible', timeout: WAIT });
  await ana.locator('#composer-text').fill('meeting in five');
  const asked = dialogs.length;
  await ana.locator('#broadcast').click();
  await carl.waitLine('BROADCAST ana meeting in five');
  if (dialogs.length !== asked + 1 || !/everyone|people connected/.test(dialogs[asked])) throw new Error(`ana: no confirmation: ${dialogs.slice(asked)}`);
  await bob.locator('#banner-text', { hasText: 'meeting in five' }).waitFor({ timeout: WAIT });
  for (const text of ['<i>all</i> hands', 'meeting in five']) {
    await pane(bob, '#lobby').locator('.notice.broadcast', { hasText: text }).waitFor({ state: 'attached', timeout: WAIT });
  }

  step('a room is created, joined, left and deleted');
  await ana.locator('#mine li[data-key="#lobby"] button').click();
  await bob.getByRole('button', { name: 'Rooms' }).click();
  await joinByForm(bob, 'Side');
  await ana.locator('#rooms li[data-room="Side"] button').click({ timeout: WAIT });
  await pane(ana, '#side').waitFor({ state: 'visible', timeout: WAIT });
  await pane(bob, '#side').locator('.member[data-nick="ana"]').waitFor({ state: 'attached', timeout: WAIT });
  await pane(ana, '#side').locator('.member.owner[data-nick="bob"]').waitFor({ timeout: WAIT });
  await pane(ana, '#side').getByRole('button', { name: 'Delete room' }).waitFor({ state: 'hidden' });
  await pane(ana, '#side').getByRole('button', { name: 'Leave' }).click();
  await pane(ana, '#side').waitFor({ state: 'detached', timeout: WAIT });
  await pane(bob, '#side').locator('.notice', { hasText: 'ana left' }).waitFor({ timeout: WAIT });
  await pane(bob, '#side').getByRole('button', { name: 'Delete room' }).click();
  await pane(bob, '#side').waitFor({ state: 'detached', timeout: WAIT });
  await bob.locator('#alert', { hasText: 'Side was deleted by bob' }).waitFor({ timeout: WAIT });
  await ana.locator('#rooms li[data-room="Side"]').waitFor({ state: 'detached', timeout: WAIT });

  step('the server stops: the pages say so and retry');
  await askRust('STOP', 'STOPPED');
  await carl.waitLine('BYE server shutting down');
  carl.close();
  for (const page of [ana, bob]) {
    await page.locator('#status[data-state="down"]', { hasText: /Disconnected, retrying in \d+ s/ }).waitFor({ timeout: WAIT });
  }
  step('13: while disconnected, no stale people and no typing into the box');
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    if (!(await page.locator('#composer-text').isDisabled())) throw new Error(`${name}: the box takes typing while disconnected`);
    if (await page.locator('.member[data-nick], #users li[data-nick]').count()) throw new Error(`${name}: stale people while disconnected`);
  }
  await askRust('START', 'GO');

  step('the server is back on the same port: the pages reconnect and rejoin');
  for (const page of [ana, bob]) {
    await page.locator('#status[data-state="up"]').waitFor({ timeout: 30_000 });
    await pane(page, '#lobby').locator('.member[data-nick="ana"]').waitFor({ state: 'attached', timeout: WAIT });
    await pane(page, '#lobby').locator('.member[data-nick="bob"]').waitFor({ state: 'attached', timeout: WAIT });
  }
  await carl.connect(tcpAddr);
  await carl.waitFor('WELCOME', (l) => l.startsWith('WELCOME '));
  carl.send('NICK carl');
  await carl.waitFor('NICK ... carl', (l) => /^NICK guest\d+ carl$/.test(l));
  carl.send('JOIN lobby');
  await carl.waitFor('MEMBERS with ana and bob', (l) => /^MEMBERS lobby( \w+)*$/.test(l) && / ana\b/.test(l) && / bob\b/.test(l));
  await ana.locator('#mine li[data-key="#lobby"] button').click();
  await say(ana, 'back after the restart');
  await carl.waitLine('MSG lobby ana back after the restart');
  await seesMessage(bob, '#lobby', 'ana', 'back after the restart');

  if (problems.length) throw new Error(problems.join('\n'));
  step('all steps passed');
  status = 0;
} catch (e) {
  console.error(`browser test FAILED: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
} finally {
  carl.close();
  await browser.close();
  stdin.close();
}
process.exit(status);
